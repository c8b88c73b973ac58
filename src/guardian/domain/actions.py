"""Named playbook actions -> concrete calls -> one Safe transaction.

``plan_action`` turns "freeze-account 0xabc" into a ``PlannedCall`` (target, function, typed
arguments), checking every parameter against the playbook bounds before anything is written.
``assemble`` turns a list of planned calls into the Safe transaction's (to, value, data,
operation): Safe-routed calls go straight from the Safe; timelock-routed calls become one
``schedule`` / ``scheduleBatch`` call on the timelock; more than one call is batched through
MultiSendCallOnly (DELEGATECALL to it, never to MultiSend).

Pure: no chain access. The nonce, chain id and Safe version come from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardian.config import ActionConfig, ContractConfig, Param, Playbook
from guardian.domain.multisend import Call, encode_multisend
from guardian.domain.safe_tx import Operation
from guardian.domain.values import keccak
from guardian.errors import GuardianError, InputError, ParameterOutOfBoundsError

ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class PlannedCall:
    """One call a proposal will make, with the playbook action it came from."""

    action: str
    kind: str
    contract: str
    target: str
    function: str
    args: tuple[tuple[str, str, Any], ...]  # (name, abi type, python value)
    route: str
    description: str
    value: int = 0

    @property
    def data(self) -> bytes:
        from guardian.domain.abi import encode_call

        return encode_call(self.function, [value for _, _, value in self.args])

    def call(self) -> Call:
        return Call(to=self.target, value=self.value, data=self.data, operation=0)


@dataclass(frozen=True)
class Assembled:
    """The Safe transaction body built from planned calls."""

    to: str
    value: int
    data: bytes
    operation: int
    timelock_operation_id: bytes | None = None


def parse_param(action: str, param: Param, raw: Any, actors: dict[str, str] | None = None) -> Any:
    """A raw CLI/YAML value -> the typed ABI value, bounds-checked against the playbook."""
    from guardian.domain.abi import coerce_arg

    what = f"{action} argument {param.name} ({param.type})"
    if param.type == "address" and actors and raw in actors:
        raw = actors[raw]
    elif param.type == "bytes32" and isinstance(raw, str) and not raw.startswith("0x"):
        encoded = raw.encode()  # a market id written as text, e.g. ETH-PERP
        if len(encoded) > 32:
            raise InputError(what, raw, "text longer than 32 bytes")
        raw = "0x" + encoded.ljust(32, b"\x00").hex()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        raw = raw if param.type.startswith("int") else str(raw)
    value = coerce_arg(param.type, raw, what)
    if param.min is not None and value < param.min:
        raise ParameterOutOfBoundsError(action, param.name, value, param.min, param.max, "min")
    if param.max is not None and value > param.max:
        raise ParameterOutOfBoundsError(action, param.name, value, param.min, param.max, "max")
    return value


def plan_action(
    playbook: Playbook, name: str, raw_args: list[str] | dict[str, Any], actors: dict[str, str] | None = None
) -> PlannedCall:
    """Resolve a named action and its arguments (positional, `name=value`, or a mapping)."""
    action: ActionConfig = playbook.action(name)
    contract: ContractConfig = playbook.contracts[action.contract]
    values = _bind_args(action, raw_args)
    args = tuple((p.name, p.type, parse_param(name, p, values[p.name], actors)) for p in action.params)
    return PlannedCall(
        action=name,
        kind=action.kind,
        contract=contract.name,
        target=contract.address,
        function=action.function,
        args=args,
        route=action.route,
        description=action.description,
    )


def _bind_args(action: ActionConfig, raw_args: list[str] | dict[str, Any]) -> dict[str, Any]:
    names = [p.name for p in action.params]
    if isinstance(raw_args, dict):
        bound = dict(raw_args)
    else:
        bound = {}
        positional = []
        for raw in raw_args:
            key, sep, value = raw.partition("=")
            if sep and key in names:
                bound[key] = value
            else:
                positional.append(raw)
        free = [n for n in names if n not in bound]
        if len(positional) > len(free):
            raise InputError(f"arguments for {action.name}", " ".join(raw_args), f"too many (expects: {', '.join(names) or 'none'})")
        bound.update(zip(free, positional))
    unknown = sorted(set(bound) - set(names))
    if unknown:
        raise InputError(f"argument for {action.name}", unknown[0], f"unknown (expects: {', '.join(names) or 'none'})")
    missing = [n for n in names if n not in bound]
    if missing:
        raise MissingArgumentError(action.name, missing, names)
    return bound


class MissingArgumentError(InputError):
    def __init__(self, action: str, missing: list[str], expected: list[str]):
        self.action, self.missing = action, missing
        GuardianError.__init__(self, f"{action}: missing argument {', '.join(missing)} (usage: {action} {' '.join(expected)})")
        self.what, self.value, self.problem = f"arguments for {action}", None, "missing"


def timelock_salt(safe: str, nonce: int) -> bytes:
    """Deterministic salt: rebuilding the same proposal gives the same operation id."""
    return keccak(b"guardian:" + bytes.fromhex(safe[2:]) + nonce.to_bytes(32, "big"))


def assemble(
    playbook: Playbook, planned: list[PlannedCall], *, nonce: int, delay: int | None = None, extra_calls: list[Call] = ()
) -> Assembled:
    """Build the Safe transaction body for the planned calls (see module docstring)."""
    from guardian.domain import timelock as tl

    if not planned and not extra_calls:
        raise InputError("proposal", "", "no actions given")
    direct = [p.call() for p in planned if p.route == "safe"] + list(extra_calls)
    delayed = [p for p in planned if p.route == "timelock"]
    operation_id = None
    calls = list(direct)
    if delayed:
        timelock = playbook.timelock
        delay = timelock.min_delay if delay is None else delay
        if delay < timelock.min_delay:
            raise InputError("timelock delay", delay, f"below the timelock's minimum delay of {timelock.min_delay}s")
        salt = timelock_salt(playbook.safe.address, nonce)
        if len(delayed) == 1:
            only = delayed[0]
            data = tl.encode_schedule(only.target, only.value, only.data, ZERO32, salt, delay)
            operation_id = tl.operation_id(only.target, only.value, only.data, ZERO32, salt)
        else:
            targets, values, payloads = [p.target for p in delayed], [p.value for p in delayed], [p.data for p in delayed]
            data = tl.encode_schedule_batch(targets, values, payloads, ZERO32, salt, delay)
            operation_id = tl.operation_id_batch(targets, values, payloads, ZERO32, salt)
        calls.append(Call(to=timelock.address, value=0, data=data, operation=0))
    if len(calls) == 1:
        only = calls[0]
        return Assembled(only.to, only.value, only.data, int(Operation.CALL), operation_id)
    multisend = playbook.safe.multisend_call_only
    if not multisend:
        raise InputError("batch", f"{len(calls)} calls", "batching needs safe.multisend_call_only in the playbook")
    return Assembled(multisend, 0, encode_multisend(calls), int(Operation.DELEGATECALL), operation_id)
