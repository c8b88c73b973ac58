"""TimelockController operation ids and calldata (on-chain agreement: tests/functional/test_hash_onchain.py)."""

from __future__ import annotations

import eth_abi
import pytest
from eth_utils import function_signature_to_4byte_selector

from guardian.domain.abi import decode_call, encode_call
from guardian.domain.multisend import Call
from guardian.domain.timelock import (
    CANCELLER_ROLE,
    EXECUTE,
    EXECUTOR_ROLE,
    PROPOSER_ROLE,
    SCHEDULE,
    SCHEDULE_BATCH,
    cancel_operation,
    decode_timelock_call,
    encode_cancel,
    encode_execute,
    encode_execute_batch,
    encode_schedule,
    encode_schedule_batch,
    execute_operation,
    operation_id,
    operation_id_batch,
    operation_id_of,
    schedule_operation,
)
from guardian.domain.values import keccak
from guardian.errors import AbiError, InputError

MARKET = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
VAULT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
ZERO = b"\x00" * 32
SALT = keccak(b"salt")
SET = encode_call("setMaxLeverage(uint256)", [5])
PAUSE = encode_call("pause()", [])


def test_roles():
    assert PROPOSER_ROLE.hex() == "b09aa5aeb3702cfd50b6b62bc4532604938f21248a27a1d5ca736082b6819cc1"
    assert EXECUTOR_ROLE == keccak(b"EXECUTOR_ROLE") and CANCELLER_ROLE == keccak(b"CANCELLER_ROLE")


def test_operation_ids_follow_hash_operation():
    single = operation_id(MARKET, 0, SET, ZERO, SALT)
    assert single == keccak(eth_abi.encode(["address", "uint256", "bytes", "bytes32", "bytes32"], [MARKET, 0, SET, ZERO, SALT]))
    batch = operation_id_batch([MARKET], [0], [SET], ZERO, SALT)
    assert batch == keccak(
        eth_abi.encode(["address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"], [[MARKET], [0], [SET], ZERO, SALT])
    )
    assert single != batch  # the form is part of the identity
    assert operation_id(MARKET, 0, SET, ZERO, keccak(b"other")) != single


def test_selectors():
    assert SCHEDULE.selector == function_signature_to_4byte_selector("schedule(address,uint256,bytes,bytes32,bytes32,uint256)")
    assert SCHEDULE_BATCH.selector == function_signature_to_4byte_selector("scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)")
    assert EXECUTE.selector == function_signature_to_4byte_selector("execute(address,uint256,bytes,bytes32,bytes32)")


def test_schedule_and_execute_round_trip_single():
    scheduled = schedule_operation([Call(MARKET, 0, SET)], ZERO, SALT, 3600)
    assert not scheduled.batch and scheduled.kind == "schedule" and scheduled.delay == 3600
    assert scheduled.calldata() == encode_schedule(MARKET, 0, SET, ZERO, SALT, 3600)
    assert decode_timelock_call(scheduled.calldata()) == scheduled
    executed = execute_operation(scheduled.calls, ZERO, SALT, batch=False)
    assert executed.operation_id == scheduled.operation_id and executed.delay is None
    assert executed.calldata() == encode_execute(MARKET, 0, SET, ZERO, SALT)
    assert decode_timelock_call(executed.calldata()) == executed


def test_schedule_and_execute_round_trip_batch():
    calls = [Call(MARKET, 0, SET), Call(VAULT, 7, PAUSE)]
    scheduled = schedule_operation(calls, ZERO, SALT, 60)
    assert scheduled.batch
    assert scheduled.operation_id == operation_id_batch([MARKET, VAULT], [0, 7], [SET, PAUSE], ZERO, SALT)
    assert scheduled.calldata() == encode_schedule_batch([MARKET, VAULT], [0, 7], [SET, PAUSE], ZERO, SALT, 60)
    assert decode_timelock_call(scheduled.calldata()) == scheduled
    executed = execute_operation(calls, ZERO, SALT, batch=True)
    assert executed.calldata() == encode_execute_batch([MARKET, VAULT], [0, 7], [SET, PAUSE], ZERO, SALT)
    assert decode_timelock_call(executed.calldata()).operation_id == scheduled.operation_id


def test_a_single_call_can_be_scheduled_as_a_batch():
    scheduled = schedule_operation([Call(MARKET, 0, SET)], ZERO, SALT, 60, batch=True)
    assert scheduled.operation_id == operation_id_batch([MARKET], [0], [SET], ZERO, SALT)
    assert decode_timelock_call(scheduled.calldata()) == scheduled
    assert operation_id_of([Call(MARKET, 0, SET)], ZERO, SALT) == operation_id(MARKET, 0, SET, ZERO, SALT)


def test_cancel():
    op_id = keccak(b"op")
    assert encode_cancel(op_id) == function_signature_to_4byte_selector("cancel(bytes32)") + op_id
    decoded = decode_timelock_call(encode_cancel(op_id))
    assert decoded == cancel_operation(op_id)
    assert decoded.kind == "cancel" and decoded.calls == () and decoded.salt is None and decoded.operation_id == op_id


def test_other_calldata_is_not_a_timelock_operation():
    assert decode_timelock_call(PAUSE) is None
    assert decode_timelock_call(encode_call("updateDelay(uint256)", [5])) is None
    assert decode_timelock_call(b"") is None


def test_bad_input():
    with pytest.raises(InputError, match="same length"):
        encode_schedule_batch([MARKET], [0, 1], [SET], ZERO, SALT, 1)
    with pytest.raises(InputError, match="at least one call"):
        operation_id_batch([], [], [], ZERO, SALT)
    with pytest.raises(InputError, match="32 bytes"):
        operation_id(MARKET, 0, SET, b"\x00", SALT)
    with pytest.raises(InputError, match="DELEGATECALL"):
        schedule_operation([Call(MARKET, 0, SET, 1)], ZERO, SALT, 1)
    with pytest.raises(InputError, match="exactly one call"):
        operation_id_of([Call(MARKET, 0, SET)] * 2, ZERO, SALT, batch=False)


def test_malformed_timelock_calldata_raises():
    with pytest.raises(AbiError):
        decode_timelock_call(encode_schedule(MARKET, 0, SET, ZERO, SALT, 1)[:-3])
    mismatched = encode_call("scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)", [[MARKET], [], [SET], ZERO, SALT, 1])
    with pytest.raises(InputError, match="same length"):
        decode_timelock_call(mismatched)
    assert decode_call(SCHEDULE, encode_schedule(MARKET, 0, SET, ZERO, SALT, 1))[0] == MARKET
