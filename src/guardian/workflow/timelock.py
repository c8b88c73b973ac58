"""Use cases around the TimelockController: what is queued, and what a queued operation is.

``list_operations`` reads the timelock's ``CallScheduled``, ``CallSalt``, ``CallExecuted`` and
``Cancelled`` events and asks the contract (``getTimestamp``, ``isOperationReady``) for each
operation's state: pending (waiting for its delay), ready, done or cancelled.

``scheduled_operation`` rebuilds, from the events alone, the proposal ``timelock`` record of a
scheduled operation, so ``guardian propose timelock-execute OPID`` works even when the
proposal that scheduled it is not in the local proposals folder. The record is checked: its
calls, predecessor and salt must hash to the operation id.

Execute and cancel themselves go through Safe proposals (``timelock-execute`` /
``timelock-cancel``), signed and executed like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from guardian.domain.abi import FunctionSignature, abi_decode, encode_call
from guardian.domain.values import ZERO_BYTES32, keccak, parse_bytes32, to_hex

CALL_SCHEDULED = keccak(b"CallScheduled(bytes32,uint256,address,uint256,bytes,bytes32,uint256)")
CALL_EXECUTED = keccak(b"CallExecuted(bytes32,uint256,address,uint256,bytes)")
CALL_SALT = keccak(b"CallSalt(bytes32,bytes32)")
CANCELLED = keccak(b"Cancelled(bytes32)")
GET_TIMESTAMP = FunctionSignature.parse("getTimestamp(bytes32)")
IS_OPERATION_READY = FunctionSignature.parse("isOperationReady(bytes32)")
DONE_TIMESTAMP = 1  # OpenZeppelin's _DONE_TIMESTAMP; 0 = unset (never scheduled, or cancelled)

STATES = ("pending", "ready", "done", "cancelled")


@dataclass(frozen=True)
class OperationCall:
    index: int
    target: str
    value: int
    data: bytes
    description: str  # decoded: "market.setMaxLeverage(newMaxLeverage=5)"

    def as_dict(self) -> dict:
        return {"index": self.index, "target": self.target, "value": str(self.value), "data": to_hex(self.data), "call": self.description}


@dataclass
class Operation:
    """One timelock operation as events and the contract show it."""

    id: str
    calls: list[OperationCall]
    predecessor: str
    salt: str
    delay: int
    state: str  # pending | ready | done | cancelled
    ready_at: int | None  # unix time (None once done or cancelled)
    seconds_until_ready: int | None  # 0 when ready; None once done or cancelled
    scheduled_block: int
    scheduled_tx: str
    executed_block: int | None = None
    cancelled_block: int | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "state": self.state,
            "calls": [call.as_dict() for call in self.calls],
            "predecessor": self.predecessor,
            "salt": self.salt,
            "delay": self.delay,
            "ready_at": self.ready_at,
            "seconds_until_ready": self.seconds_until_ready,
            "scheduled_block": self.scheduled_block,
            "scheduled_tx": self.scheduled_tx,
            "executed_block": self.executed_block,
            "cancelled_block": self.cancelled_block,
        }


@dataclass
class _Schedule:
    calls: dict[int, tuple[str, int, bytes]]
    predecessor: bytes
    delay: int
    block: int
    tx_hash: bytes


def _logs(chain, timelock_address: str, topics: list, from_block: int = 0) -> list:
    return sorted(chain.get_logs(timelock_address, topics, from_block, "latest"), key=lambda log: (log.block_number, log.log_index))


def _schedules(logs) -> dict[bytes, _Schedule]:
    """id -> its latest schedule (a re-schedule after a cancel replaces the earlier one)."""
    schedules: dict[bytes, _Schedule] = {}
    for log in logs:
        if log.topics[0] != CALL_SCHEDULED or len(log.topics) < 3:
            continue
        op_id, index = log.topics[1], int.from_bytes(log.topics[2], "big")
        target, value, data, predecessor, delay = abi_decode(("address", "uint256", "bytes", "bytes32", "uint256"), log.data, "CallScheduled", strict=False)
        current = schedules.get(op_id)
        if current is None or current.tx_hash != log.tx_hash:
            current = schedules[op_id] = _Schedule({}, predecessor, delay, log.block_number, log.tx_hash)
        current.calls[index] = (target, value, data)
    return schedules


def _salts(logs) -> dict[bytes, bytes]:
    return {log.topics[1]: abi_decode(("bytes32",), log.data, "CallSalt", strict=False)[0] for log in logs if log.topics[0] == CALL_SALT and len(log.topics) >= 2}


def _timelock_call(op_id: bytes, schedule: _Schedule, salt: bytes):
    """The ``TimelockCall`` the events describe, in the form (single or batch) whose id matches."""
    from guardian.domain.multisend import Call
    from guardian.domain.timelock import TimelockCall, operation_id_of

    calls = tuple(Call(*schedule.calls[index]) for index in sorted(schedule.calls))
    forms = (False, True) if len(calls) == 1 else (True,)
    for batch in forms:
        if operation_id_of(calls, schedule.predecessor, salt, batch) == op_id:
            return TimelockCall("schedule", batch, calls, schedule.predecessor, salt, schedule.delay, op_id)
    return None


def scheduled_operation(chain, timelock_address: str, operation_id: bytes | str) -> dict | None:
    """The proposal ``timelock`` record (kind "schedule") of ``operation_id``, from its events; None if never scheduled.

    Returns None as well when the events do not hash to the id (a CallSalt event missing
    from a range the node refused, say): guardian never guesses an operation's content.
    """
    from guardian.domain.proposal import timelock_record

    op_id = parse_bytes32(operation_id, "timelock operation id")
    logs = _logs(chain, timelock_address, [[CALL_SCHEDULED, CALL_SALT], op_id])
    schedule = _schedules(logs).get(op_id)
    if schedule is None:
        return None
    call = _timelock_call(op_id, schedule, _salts(logs).get(op_id, ZERO_BYTES32))
    return None if call is None else timelock_record(timelock_address, call)


def _describe(registry, target: str, value: int, data: bytes) -> str:
    decoded = registry.decode_call(target, data, value)
    text = decoded.describe()
    return text + (f" value={value}" if value and decoded.function else "")


def list_operations(chain, timelock_address: str, registry=None, *, from_block: int = 0) -> list[Operation]:
    """Every operation scheduled on the timelock since ``from_block``, oldest first, with its state."""
    from guardian.domain.abi import AbiRegistry

    registry = registry or AbiRegistry()
    logs = _logs(chain, timelock_address, [[CALL_SCHEDULED, CALL_SALT, CALL_EXECUTED, CANCELLED]], from_block)
    schedules = _schedules(logs)
    salts = _salts(logs)
    executed: dict[bytes, int] = {}
    cancelled: dict[bytes, int] = {}
    for log in logs:
        if log.topics[0] == CALL_EXECUTED and len(log.topics) >= 2:
            executed[log.topics[1]] = log.block_number
        elif log.topics[0] == CANCELLED and len(log.topics) >= 2:
            cancelled[log.topics[1]] = log.block_number
    now = int((chain.get_block("latest") or {}).get("timestamp", "0x0"), 16)
    operations = []
    for op_id, schedule in sorted(schedules.items(), key=lambda item: (item[1].block, item[0])):
        timestamp = _uint(chain.call(timelock_address, encode_call(GET_TIMESTAMP, [op_id])))
        ready = bool(_uint(chain.call(timelock_address, encode_call(IS_OPERATION_READY, [op_id]))))
        cancelled_block = cancelled.get(op_id) if cancelled.get(op_id, -1) >= schedule.block else None
        if timestamp == DONE_TIMESTAMP:
            state, ready_at, remaining = "done", None, None
        elif timestamp == 0:
            state, ready_at, remaining = "cancelled", None, None
        else:
            state = "ready" if ready else "pending"
            ready_at, remaining = timestamp, max(timestamp - now, 0) if not ready else 0
        calls = [
            OperationCall(index, target, value, data, _describe(registry, target, value, data))
            for index, (target, value, data) in sorted(schedule.calls.items())
        ]
        operations.append(
            Operation(
                id=to_hex(op_id),
                calls=calls,
                predecessor=to_hex(schedule.predecessor),
                salt=to_hex(salts.get(op_id, ZERO_BYTES32)),
                delay=schedule.delay,
                state=state,
                ready_at=ready_at,
                seconds_until_ready=remaining,
                scheduled_block=schedule.block,
                scheduled_tx=to_hex(schedule.tx_hash),
                executed_block=executed.get(op_id) if state == "done" else None,
                cancelled_block=cancelled_block if state == "cancelled" else None,
            )
        )
    return operations


def _uint(raw: bytes) -> int:
    return int.from_bytes(raw[:32], "big") if len(raw) >= 32 else 0
