"""Custom errors a guardian meets under stress are explained in plain words."""

from guardian.domain.abi import AbiRegistry, abi_encode, FunctionSignature

ERROR = FunctionSignature.parse("TimelockUnexpectedOperationState(bytes32,bytes32)", keyword="error")


def revert_data(expected_bitmap: int) -> bytes:
    return ERROR.selector + abi_encode(["bytes32", "bytes32"], [b"\x11" * 32, expected_bitmap.to_bytes(32, "big")])


def test_not_ready_timelock_operation_is_explained():
    text = AbiRegistry().decode_revert(revert_data(1 << 2))
    assert text.startswith("TimelockUnexpectedOperationState(operationId=0x1111")
    assert text.endswith(": the operation is not ready (still waiting for its delay, already done, or cancelled)")


def test_other_expected_states_are_named():
    text = AbiRegistry().decode_revert(revert_data((1 << 1) | (1 << 2)))
    assert text.endswith(": the operation is not Waiting or Ready")
