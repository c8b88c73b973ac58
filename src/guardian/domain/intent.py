"""What a Safe transaction really does, derived from its calldata alone.

``flatten`` walks the transaction: a MultiSendCallOnly batch is unpacked, a timelock
``schedule``/``execute`` call is opened to show the calls it queues or runs. Every call is
decoded against the playbook's ABIs (plus the Safe's, MultiSend's and the timelock's own).

``derive_intent`` names those calls after the playbook's actions. ``propose`` stores the result
in the proposal file, and ``verify`` derives it again from the calldata and compares: a
proposal whose words say "pause" while its bytes do something else is caught here (the
Radiant lesson: never trust the text, trust the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardian.domain.values import to_hex



@dataclass(frozen=True)
class FlatCall:
    where: str  # "tx", "tx.batch[1]", "tx.batch[1].timelock[0]"
    to: str
    value: int
    data: bytes
    operation: int
    route: str  # safe | timelock-schedule | timelock-execute
    contract: str | None
    function: str | None
    args: tuple[tuple[str, str, Any], ...]
    container: bool = False  # a batch or timelock call whose inner calls follow
    error: str | None = None  # known selector whose arguments did not decode

    @property
    def selector(self) -> bytes | None:
        return self.data[:4] if len(self.data) >= 4 else None


@dataclass(frozen=True)
class Context:
    """What guardian knows about the addresses a transaction may touch."""

    registry: Any  # guardian.domain.abi.AbiRegistry
    safe: str
    multisend_addresses: frozenset[str]  # lower-case: allowlisted DELEGATECALL targets
    timelock: str | None = None
    actions: tuple = ()  # playbook ActionConfig objects, to name calls
    contract_addresses: dict[str, str] | None = None  # playbook contract name -> address

    @classmethod
    def from_playbook(cls, playbook, safe: str | None = None) -> "Context":
        safe = safe or playbook.safe.address
        timelock = playbook.timelock.address if playbook.timelock else None
        registry = _registry(safe, playbook.safe.multisend_call_only, timelock)
        for name, address, abi in playbook.abi_sources():
            registry.add(name, address, abi)
        allowed = {a.lower() for a in (playbook.safe.multisend_call_only, *playbook.safe.delegatecall_allowlist) if a}
        return cls(
            registry=registry,
            safe=safe,
            multisend_addresses=frozenset(allowed),
            timelock=timelock,
            actions=tuple(playbook.actions.values()),
            contract_addresses={c.name: c.address for c in playbook.contracts.values()},
        )

    @classmethod
    def bare(cls, safe: str, multisend: str | None = None, timelock: str | None = None) -> "Context":
        """Without a playbook: only the Safe's, MultiSend's and the timelock's own ABIs."""
        allowed = frozenset({multisend.lower()} if multisend else set())
        return cls(registry=_registry(safe, multisend, timelock), safe=safe, multisend_addresses=allowed, timelock=timelock)


def _registry(safe: str, multisend: str | None, timelock: str | None):
    from guardian.domain.abi import AbiRegistry

    registry = AbiRegistry()
    registry.add_builtin("safe", safe, "Safe")
    if multisend:
        registry.add_builtin("multisend", multisend, "MultiSend")
    if timelock:
        registry.add_builtin("timelock", timelock, "TimelockController")
    return registry


def flatten(context: Context, to: str, value: int, data: bytes, operation: int) -> list[FlatCall]:
    """Every call the transaction makes, outermost first, with where it sits.

    Batches (``multiSend``) and timelock ``schedule``/``execute`` calls are opened; a timelock
    call to an address that is not the playbook's timelock keeps its inner calls under a
    ``foreign-`` route so they are never mistaken for the guardians' own timelock.
    """
    root = context.registry.decode_nested(to, data, value, operation)
    calls: list[FlatCall] = []

    def walk(call, where: str, route: str) -> None:
        calls.append(
            FlatCall(
                where=where,
                to=call.address,
                value=call.value,
                data=call.data,
                operation=call.operation,
                route=route,
                contract=call.contract,
                function=call.function,
                args=tuple((arg.name, arg.type, arg.value) for arg in call.args),
                container=bool(call.inner_kind),
                error=call.error,
            )
        )
        for index, inner in enumerate(call.inner):
            if call.inner_kind == "multisend":
                walk(inner, f"{where}.batch[{index}]", "safe")
            else:
                ours = context.timelock is not None and call.address.lower() == context.timelock.lower()
                walk(inner, f"{where}.timelock[{index}]", call.inner_kind if ours else f"foreign-{call.inner_kind}")

    walk(root, "tx", "safe")
    return calls


def action_for(context: Context, call: FlatCall):
    """The playbook action this decoded call performs (same contract, function and route), or None."""
    for action in context.actions:
        address = (context.contract_addresses or {}).get(action.contract)
        if address and address.lower() == call.to.lower() and action.function == call.function:
            wanted_route = "safe" if action.route == "safe" else "timelock"
            if call.route.startswith(wanted_route):
                return action
    return None


def derive_intent(context: Context, calls: list[FlatCall]) -> dict:
    """The proposal's decoded intent: actions in words, derived from the calldata only."""
    from guardian.domain.abi import format_value

    actions = []
    for call in calls:
        if call.container:  # a batch or a timelock schedule/execute: its inner calls follow
            continue
        action = action_for(context, call)
        if action is not None:
            name, kind, description = action.name, action.kind, action.description
        elif context.timelock and call.to.lower() == context.timelock.lower() and call.function == "cancel(bytes32)":
            name, kind, description = "timelock-cancel", "veto", "Cancel (veto) a queued timelock operation"
        else:
            name, kind, description = "raw-call", "other", "A call the playbook does not declare"
        actions.append(
            {
                "action": name,
                "kind": kind,
                "contract": call.contract,
                "target": call.to,
                "function": call.function if not call.error else None,
                "args": _named_args(action, call, format_value),
                "route": call.route,
                "description": description,
            }
        )
    return {"summary": summarize(actions), "actions": actions}


def _named_args(action, call: FlatCall, format_value) -> dict[str, str]:
    """Arguments as text, named after the playbook's parameters when the call is a known action."""
    names = [arg_name for arg_name, _, _ in call.args]
    if action is not None and len(action.params) == len(call.args):
        names = [param.name for param in action.params]
    return {name: format_value(arg_type, value) for name, (_, arg_type, value) in zip(names, call.args)}


def summarize(actions: list[dict]) -> str:
    parts = []
    for action in actions:
        args = ", ".join(f"{k}={v}" for k, v in action["args"].items())
        text = f"{action['action']}({args})"
        if action["route"] == "timelock-schedule":
            text = f"schedule {text} via timelock"
        elif action["route"] == "timelock-execute":
            text = f"execute {text} via timelock"
        parts.append(text)
    return "; ".join(parts)


def timelock_details(context: Context, to: str, data: bytes) -> dict | None:
    """The proposal's ``timelock`` record: the operation the transaction schedules, executes or cancels."""
    from guardian.domain.multisend import decode_multisend, is_multisend
    from guardian.domain.proposal import timelock_record
    from guardian.domain.timelock import decode_timelock_call

    if not context.timelock:
        return None
    level_one = [(to, data)] + ([(c.to, c.data) for c in decode_multisend(data)] if is_multisend(data) else [])
    for target, payload in level_one:
        if target.lower() == context.timelock.lower():
            decoded = decode_timelock_call(payload)
            if decoded is not None:
                return timelock_record(target, decoded)
    return None
