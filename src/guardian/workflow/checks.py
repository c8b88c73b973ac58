"""Evaluate playbook ``Check`` objects (action post-conditions, drill conditions) against a chain.

A check is either "a view equals a value" or "a call reverts, sent from an account". Strings
in ``args``, ``equals`` and ``from`` may hold ``{name}`` placeholders, filled from the action's
arguments (the proposal's intent args) and the drill's actors; a bare actor name in ``from``
(``from: attacker``) is resolved too.

    runner = CheckRunner(chain, playbook)
    result = runner.evaluate(check, values={"account": "0x...", "attacker": "0x..."})
    result.passed, result.actual, result.detail

The revert check is an ``eth_call`` with ``from`` set to the account: a node executes it as
that sender without needing its key, exactly as a transaction from it would run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from guardian.config import Check, Playbook
from guardian.errors import CallRevertedError, GuardianError, InputError, UnresolvedPlaceholderError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_\-]*)\}")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. ``actual`` / ``expected`` are display text."""

    description: str
    passed: bool
    expected: str
    actual: str
    detail: str = ""
    action: str | None = None  # the playbook action whose post-condition this is (None: a drill condition)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.description,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
            "detail": self.detail,
            "action": self.action,
        }


@dataclass(frozen=True)
class PendingCheck:
    """A check with the values its placeholders are filled from."""

    check: Check
    values: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    route: str = "safe"  # the intent route of the action: safe | timelock-schedule | timelock-execute


# --------------------------------------------------------------------------- placeholders


def fill(value: Any, values: dict[str, Any], where: str) -> Any:
    """``value`` with ``{name}`` placeholders replaced (recursively in lists)."""
    if isinstance(value, (list, tuple)):
        return type(value)(fill(item, values, where) for item in value)
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        name = whole.group(1)
        if name not in values:
            raise UnresolvedPlaceholderError(name, where, sorted(values))
        return values[name]

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise UnresolvedPlaceholderError(name, where, sorted(values))
        return str(values[name])

    return PLACEHOLDER.sub(substitute, value)


def resolve_sender(sender: str | None, values: dict[str, Any], actors: dict[str, str], where: str) -> str | None:
    """``from`` of a check or breach step: a placeholder, an actor name, or an address."""
    if sender is None:
        return None
    sender = str(fill(sender, values, where))
    return actors.get(sender, sender)


def resolve(check: Check, values: dict[str, Any], actors: dict[str, str] | None = None) -> Check:
    """The check with every placeholder filled and ``from`` turned into an address."""
    where = check.describe()
    return replace(
        check,
        args=tuple(fill(list(check.args), values, where)),
        equals=fill(check.equals, values, where),
        sender=resolve_sender(check.sender, values, actors or {}, where),
    )


def intent_checks(playbook: Playbook, intent_actions: list[dict], actors: dict[str, str] | None = None) -> list[PendingCheck]:
    """The post-conditions of every playbook action in a proposal's intent, with its args as values."""
    pending = []
    for entry in intent_actions:
        action = playbook.actions.get(entry.get("action", ""))
        if action is None:
            continue
        values = {**(actors or {}), **dict(entry.get("args") or {})}
        for check in action.postconditions:
            pending.append(PendingCheck(check, values, action.name, entry.get("route", "safe")))
    return pending


# --------------------------------------------------------------------------- evaluation


def _output_type(item: dict) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_output_type(c) for c in item.get("components", [])) + ")" + kind[len("tuple") :]
    return kind


class CheckRunner:
    """Reads views and tries calls on ``chain`` for the contracts of ``playbook``."""

    def __init__(self, chain, playbook: Playbook, actors: dict[str, str] | None = None):
        from guardian.domain.intent import Context

        self.chain = chain
        self.playbook = playbook
        self.actors = dict(actors or {})
        self.registry = Context.from_playbook(playbook).registry

    def _calldata(self, contract: str, function: str, args: tuple) -> tuple[str, bytes, list[str]]:
        from guardian.domain.abi import FunctionSignature, coerce_arg, encode_call

        config = self.playbook.contracts[contract]
        entry = config.functions()[function]
        signature = FunctionSignature.from_json(entry)
        if len(args) != len(signature.inputs):
            raise InputError(f"arguments of {contract}.{function}", list(args), f"expects {len(signature.inputs)}")
        coerced = [coerce_arg(t, a, f"{contract}.{function} argument {i}") for i, (t, a) in enumerate(zip(signature.inputs, args))]
        outputs = [_output_type(o) for o in entry.get("outputs", [])]
        return config.address, encode_call(signature, coerced), outputs

    def read(self, contract: str, function: str, args: tuple = (), sender: str | None = None) -> Any:
        """The decoded return value of a view (a single value unwrapped); ``CallRevertedError`` on revert."""
        from guardian.domain.abi import abi_decode

        address, data, outputs = self._calldata(contract, function, args)
        raw = self.chain.call(address, data, from_=sender)
        values = abi_decode(outputs, raw, f"return value of {contract}.{function}", strict=False)
        return values[0] if len(values) == 1 else values

    def display(self, contract: str, function: str, value: Any) -> str:
        from guardian.domain.abi import format_value

        entry = self.playbook.contracts[contract].functions()[function]
        outputs = [_output_type(o) for o in entry.get("outputs", [])]
        if len(outputs) == 1:
            return format_value(outputs[0], value)
        return "(" + ", ".join(format_value(t, v) for t, v in zip(outputs, value)) + ")"

    def revert_reason(self, error: CallRevertedError, address: str) -> str:
        return decode_revert_anywhere(self.registry, error.data, [address, *(c.address for c in self.playbook.contracts.values())]) if error.data else error.reason

    def observe(self, pending: PendingCheck) -> str:
        """The current state a check looks at, as text ("true", "12", "reverts: ...", "succeeds")."""
        check = resolve(pending.check, pending.values, self.actors)
        try:
            if check.call:
                return self.display(check.contract, check.call, self.read(check.contract, check.call, check.args))
            self.read(check.contract, check.reverts, check.args, sender=check.sender)
            return "succeeds"
        except CallRevertedError as error:
            return f"reverts: {self.revert_reason(error, self.playbook.contracts[check.contract].address)}"

    def evaluate(self, pending: PendingCheck) -> CheckResult:
        """Run one check now; a view that reverts or a value that differs is a failed check, not an error."""
        from guardian.domain.abi import coerce_arg

        check = resolve(pending.check, pending.values, self.actors)
        description = check.describe()
        address = self.playbook.contracts[check.contract].address
        if check.reverts:
            try:
                self.read(check.contract, check.reverts, check.args, sender=check.sender)
            except CallRevertedError as error:
                reason = self.revert_reason(error, address)
                return CheckResult(description, True, "reverts", "reverts", reason, pending.action)
            return CheckResult(description, False, "reverts", "succeeds", "the call did not revert", pending.action)
        try:
            actual = self.read(check.contract, check.call, check.args)
        except CallRevertedError as error:
            return CheckResult(description, False, str(check.equals), "reverts", self.revert_reason(error, address), pending.action)
        entry = self.playbook.contracts[check.contract].functions()[check.call]
        outputs = [_output_type(o) for o in entry.get("outputs", [])]
        shown = self.display(check.contract, check.call, actual)
        try:
            if len(outputs) == 1:
                expected = coerce_arg(outputs[0], check.equals, f"expected value of {description}")
                expected_text = self.display(check.contract, check.call, expected)
            else:
                expected = tuple(coerce_arg(t, v, f"expected value of {description}") for t, v in zip(outputs, check.equals))
                expected_text = self.display(check.contract, check.call, expected)
        except GuardianError as error:
            return CheckResult(description, False, str(check.equals), shown, f"expected value does not fit the return type: {error.one_line()}", pending.action)
        passed = expected_text == shown
        return CheckResult(description, passed, expected_text, shown, "" if passed else f"is {shown}, expected {expected_text}", pending.action)


def decode_revert_anywhere(registry, data: bytes, addresses: list[str]) -> str:
    """Decode revert data with the ABI of the first of ``addresses`` that knows its error."""
    text = registry.decode_revert(data)
    for address in addresses:
        if not text.startswith("unknown custom error"):
            return text
        text = registry.decode_revert(data, address)
    return text
