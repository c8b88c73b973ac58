"""OpenZeppelin TimelockController (5.x): operation ids and the calldata the Safe sends it.

    id (single) = keccak256(abi.encode(target, value, data, predecessor, salt))
    id (batch)  = keccak256(abi.encode(targets, values, payloads, predecessor, salt))

A single call scheduled with ``scheduleBatch`` gets the *batch* id, so the form (single or
batch) is part of an operation's identity and must be kept to execute it later
(``TimelockCall.batch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from guardian.domain.abi import FunctionSignature, abi_encode, decode_call, encode_call
from guardian.domain.multisend import Call
from guardian.domain.values import ZERO_BYTES32, keccak, parse_bytes32, parse_uint
from guardian.errors import InputError

SCHEDULE = FunctionSignature.parse("schedule(address,uint256,bytes,bytes32,bytes32,uint256)")
SCHEDULE_BATCH = FunctionSignature.parse("scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)")
EXECUTE = FunctionSignature.parse("execute(address,uint256,bytes,bytes32,bytes32)")
EXECUTE_BATCH = FunctionSignature.parse("executeBatch(address[],uint256[],bytes[],bytes32,bytes32)")
CANCEL = FunctionSignature.parse("cancel(bytes32)")
UPDATE_DELAY = FunctionSignature.parse("updateDelay(uint256)")

DEFAULT_ADMIN_ROLE = ZERO_BYTES32
PROPOSER_ROLE = keccak(b"PROPOSER_ROLE")
EXECUTOR_ROLE = keccak(b"EXECUTOR_ROLE")
CANCELLER_ROLE = keccak(b"CANCELLER_ROLE")

TIMELOCK_KINDS = ("schedule", "execute", "cancel")


def _bytes32(value: bytes | str, what: str) -> bytes:
    return parse_bytes32(value, what)


def _check_lengths(targets: Sequence, values: Sequence, payloads: Sequence) -> None:
    if not len(targets) == len(values) == len(payloads):
        raise InputError(
            "timelock batch",
            f"{len(targets)} targets, {len(values)} values, {len(payloads)} payloads",
            "targets, values and payloads must have the same length",
        )
    if not targets:
        raise InputError("timelock batch", "[]", "a timelock batch needs at least one call")


def operation_id(target: str, value: int, data: bytes, predecessor: bytes, salt: bytes) -> bytes:
    """``hashOperation``: the id of a single-call operation."""
    return keccak(
        abi_encode(
            ("address", "uint256", "bytes", "bytes32", "bytes32"),
            (target, value, data, _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")),
            "timelock operation",
        )
    )


def operation_id_batch(
    targets: Sequence[str], values: Sequence[int], payloads: Sequence[bytes], predecessor: bytes, salt: bytes
) -> bytes:
    """``hashOperationBatch``: the id of a batch operation (also for a batch of one)."""
    _check_lengths(targets, values, payloads)
    return keccak(
        abi_encode(
            ("address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"),
            (list(targets), list(values), list(payloads), _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")),
            "timelock batch operation",
        )
    )


def encode_schedule(target: str, value: int, data: bytes, predecessor: bytes, salt: bytes, delay: int) -> bytes:
    return encode_call(SCHEDULE, [target, value, data, _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt"), delay])


def encode_schedule_batch(
    targets: Sequence[str],
    values: Sequence[int],
    payloads: Sequence[bytes],
    predecessor: bytes,
    salt: bytes,
    delay: int,
) -> bytes:
    _check_lengths(targets, values, payloads)
    return encode_call(
        SCHEDULE_BATCH,
        [list(targets), list(values), list(payloads), _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt"), delay],
    )


def encode_execute(target: str, value: int, data: bytes, predecessor: bytes, salt: bytes) -> bytes:
    return encode_call(EXECUTE, [target, value, data, _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")])


def encode_execute_batch(
    targets: Sequence[str], values: Sequence[int], payloads: Sequence[bytes], predecessor: bytes, salt: bytes
) -> bytes:
    _check_lengths(targets, values, payloads)
    return encode_call(
        EXECUTE_BATCH,
        [list(targets), list(values), list(payloads), _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")],
    )


def encode_cancel(op_id: bytes) -> bytes:
    return encode_call(CANCEL, [_bytes32(op_id, "operation id")])


def encode_update_delay(delay: int) -> bytes:
    return encode_call(UPDATE_DELAY, [delay])


@dataclass(frozen=True)
class TimelockCall:
    """What a calldata does to the timelock.

    ``kind`` is schedule, execute or cancel; ``batch`` whether the batch form is used (it
    changes the operation id). For cancel only ``operation_id`` is known: ``calls`` is empty
    and predecessor, salt and delay are None. ``delay`` is None for execute.
    """

    kind: str
    batch: bool
    calls: tuple[Call, ...]
    predecessor: bytes | None
    salt: bytes | None
    delay: int | None
    operation_id: bytes

    def __post_init__(self) -> None:
        if self.kind not in TIMELOCK_KINDS:
            raise InputError("timelock kind", self.kind, f"must be one of {', '.join(TIMELOCK_KINDS)}")
        object.__setattr__(self, "calls", tuple(self.calls))

    def calldata(self) -> bytes:
        """Re-encode this operation as the calldata the Safe sends to the timelock."""
        if self.kind == "cancel":
            return encode_cancel(self.operation_id)
        targets = [c.to for c in self.calls]
        values = [c.value for c in self.calls]
        payloads = [c.data for c in self.calls]
        if self.kind == "schedule":
            if self.batch:
                return encode_schedule_batch(targets, values, payloads, self.predecessor, self.salt, self.delay)
            return encode_schedule(targets[0], values[0], payloads[0], self.predecessor, self.salt, self.delay)
        if self.batch:
            return encode_execute_batch(targets, values, payloads, self.predecessor, self.salt)
        return encode_execute(targets[0], values[0], payloads[0], self.predecessor, self.salt)


def operation_id_of(calls: Sequence[Call], predecessor: bytes, salt: bytes, batch: bool | None = None) -> bytes:
    """Id of an operation made of ``calls``: single form for one call unless ``batch`` is True."""
    batch = len(calls) != 1 if batch is None else batch
    if not batch:
        if len(calls) != 1:
            raise InputError("timelock operation", f"{len(calls)} calls", "the single form takes exactly one call")
        return operation_id(calls[0].to, calls[0].value, calls[0].data, predecessor, salt)
    return operation_id_batch([c.to for c in calls], [c.value for c in calls], [c.data for c in calls], predecessor, salt)


def schedule_operation(
    calls: Sequence[Call], predecessor: bytes, salt: bytes, delay: int, batch: bool | None = None
) -> TimelockCall:
    """The schedule of ``calls``: single ``schedule`` for one call, else ``scheduleBatch``."""
    calls = tuple(calls)
    _reject_delegatecall(calls)
    batch = len(calls) != 1 if batch is None else batch
    predecessor, salt = _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")
    delay = parse_uint(delay, "delay")
    return TimelockCall("schedule", batch, calls, predecessor, salt, delay, operation_id_of(calls, predecessor, salt, batch))


def execute_operation(calls: Sequence[Call], predecessor: bytes, salt: bytes, batch: bool) -> TimelockCall:
    """The execute of an operation scheduled earlier (same calls, predecessor, salt and form)."""
    calls = tuple(calls)
    _reject_delegatecall(calls)
    predecessor, salt = _bytes32(predecessor, "predecessor"), _bytes32(salt, "salt")
    return TimelockCall("execute", batch, calls, predecessor, salt, None, operation_id_of(calls, predecessor, salt, batch))


def cancel_operation(op_id: bytes) -> TimelockCall:
    return TimelockCall("cancel", False, (), None, None, None, _bytes32(op_id, "operation id"))


def _reject_delegatecall(calls: Sequence[Call]) -> None:
    for call in calls:
        if call.operation != 0:
            raise InputError("timelock call", call.to, "the timelock can only CALL, not DELEGATECALL")
    if not calls:
        raise InputError("timelock operation", "[]", "an operation needs at least one call")


def decode_timelock_call(calldata: bytes) -> TimelockCall | None:
    """Decode schedule/scheduleBatch/execute/executeBatch/cancel calldata; None for other selectors.

    Malformed arguments behind a known selector raise ``AbiError`` (or ``InputError`` for a
    batch whose arrays differ in length).
    """
    calldata = bytes(calldata)
    selector = calldata[:4]
    if selector == SCHEDULE.selector:
        target, value, data, predecessor, salt, delay = decode_call(SCHEDULE, calldata)
        calls = (Call(target, value, data),)
        return TimelockCall("schedule", False, calls, predecessor, salt, delay, operation_id(target, value, data, predecessor, salt))
    if selector == SCHEDULE_BATCH.selector:
        targets, values, payloads, predecessor, salt, delay = decode_call(SCHEDULE_BATCH, calldata)
        _check_lengths(targets, values, payloads)
        calls = tuple(Call(t, v, d) for t, v, d in zip(targets, values, payloads))
        op_id = operation_id_batch(targets, values, payloads, predecessor, salt)
        return TimelockCall("schedule", True, calls, predecessor, salt, delay, op_id)
    if selector == EXECUTE.selector:
        target, value, data, predecessor, salt = decode_call(EXECUTE, calldata)
        calls = (Call(target, value, data),)
        return TimelockCall("execute", False, calls, predecessor, salt, None, operation_id(target, value, data, predecessor, salt))
    if selector == EXECUTE_BATCH.selector:
        targets, values, payloads, predecessor, salt = decode_call(EXECUTE_BATCH, calldata)
        _check_lengths(targets, values, payloads)
        calls = tuple(Call(t, v, d) for t, v, d in zip(targets, values, payloads))
        op_id = operation_id_batch(targets, values, payloads, predecessor, salt)
        return TimelockCall("execute", True, calls, predecessor, salt, None, op_id)
    if selector == CANCEL.selector:
        (op_id,) = decode_call(CANCEL, calldata)
        return cancel_operation(op_id)
    return None
