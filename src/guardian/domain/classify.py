"""Classify a queued timelock operation: hostile, risky or benign, against the playbook.

``guardian watch`` sees every ``CallScheduled`` on the playbook's timelock; this module says
what each queued call would do once the delay ends, from the calldata alone, and how much the
guardians should care:

- **hostile** (veto it): it grants a role, lowers the timelock delay, upgrades a proxy or
  hands over ownership or a proxy admin, strips the guardian Safe of a role (the instant
  pause power or the timelock veto), points an oracle at an address the playbook does not
  know, sets a playbook parameter outside its playbook bounds, or calls the Safe's own
  owner/module/guard/singleton functions;
- **risky** (look at it, veto unless it was agreed): any other function of
  ``policy.RISKY_FUNCTIONS`` (a revoke or renounce of some other role, a higher timelock
  delay, an oracle change to a contract the playbook knows), a target or selector the playbook
  does not know, a function of a guarded contract that is not a playbook action, a call that
  moves ether;
- **benign**: a playbook action (an unpause, an unfreeze, a parameter inside its bounds)
  routed through the timelock as the playbook says.

The operation takes the worst verdict of its calls. Pure: decoding uses the ``Context``'s ABI
registry (``Context.from_playbook``), no chain access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from guardian.domain.abi import format_value
from guardian.domain.intent import Context
from guardian.domain.multisend import Call
from guardian.domain.policy import CRITICAL, INFO, RISKY_FUNCTIONS, SAFE_ADMIN_FUNCTIONS, WARNING
from guardian.domain.values import ZERO_BYTES32, keccak, to_hex

HOSTILE, RISKY, BENIGN = "hostile", "risky", "benign"
VERDICT_ORDER = {HOSTILE: 0, RISKY: 1, BENIGN: 2}
# The alert severity a verdict maps to (policy's severities).
VERDICT_SEVERITY = {HOSTILE: CRITICAL, RISKY: WARNING, BENIGN: INFO}

# Role names guardian can put back on a bytes32 (OpenZeppelin AccessControl conventions).
KNOWN_ROLE_NAMES = (
    "GUARDIAN_ROLE",
    "GOVERNOR_ROLE",
    "OPERATOR_ROLE",
    "UPDATER_ROLE",
    "PAUSER_ROLE",
    "UNPAUSER_ROLE",
    "UPGRADER_ROLE",
    "MINTER_ROLE",
    "BURNER_ROLE",
    "ADMIN_ROLE",
    "PROPOSER_ROLE",
    "EXECUTOR_ROLE",
    "CANCELLER_ROLE",
    "TIMELOCK_ADMIN_ROLE",
)
ROLE_NAMES: dict[bytes, str] = {ZERO_BYTES32: "DEFAULT_ADMIN_ROLE", **{keccak(n.encode()): n for n in KNOWN_ROLE_NAMES}}

# Always hostile when queued: they hand control of a contract to someone else.
_TAKEOVER = ("upgradeTo(address)", "upgradeToAndCall(address,bytes)", "changeAdmin(address)", "transferOwnership(address)")
_ROLE_REMOVALS = ("revokeRole(bytes32,address)", "renounceRole(bytes32,address)")


def role_name(role: bytes) -> str:
    """``GOVERNOR_ROLE`` for keccak("GOVERNOR_ROLE"), else the hex of the role."""
    if not isinstance(role, (bytes, bytearray)):
        return str(role)
    return ROLE_NAMES.get(bytes(role), to_hex(role))


@dataclass(frozen=True)
class CallVerdict:
    """One queued call: what it is (decoded) and what guardian thinks of it."""

    index: int
    to: str
    value: int
    contract: str | None
    function: str | None
    args: dict[str, str]
    verdict: str
    reason: str

    def describe(self) -> str:
        who = self.contract or self.to
        if self.function is None:
            return f"{who}: unknown call"
        name = self.function.split("(")[0]
        value = f" with {self.value} wei" if self.value else ""
        return f"{who}.{name}(" + ", ".join(f"{k}={v}" for k, v in self.args.items()) + f"){value}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "target": self.to,
            "contract": self.contract,
            "function": self.function,
            "args": dict(self.args),
            "value": str(self.value),
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Classification:
    """The verdict on a whole operation (the worst of its calls) and each call's verdict."""

    verdict: str
    calls: tuple[CallVerdict, ...]

    @property
    def severity(self) -> str:
        return VERDICT_SEVERITY[self.verdict]

    @property
    def should_veto(self) -> bool:
        return self.verdict in (HOSTILE, RISKY)

    def reasons(self) -> list[str]:
        """The reasons of the calls that made the verdict (all calls if benign)."""
        return [c.reason for c in self.calls if c.verdict == self.verdict]

    def summary(self) -> str:
        parts = [f"{c.describe()} [{c.verdict}: {c.reason}]" for c in self.calls]
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "calls": [c.as_dict() for c in self.calls]}


def worst(verdicts: Sequence[str]) -> str:
    return min(verdicts, key=VERDICT_ORDER.__getitem__) if verdicts else BENIGN


def classify_operation(context: Context, calls: Sequence[Call], *, min_delay: int | None = None) -> Classification:
    """Classify the calls of one timelock operation (``min_delay``: the playbook's timelock delay)."""
    verdicts = tuple(classify_call(context, index, call, min_delay=min_delay) for index, call in enumerate(calls))
    return Classification(worst([v.verdict for v in verdicts]), verdicts)


def classify_call(context: Context, index: int, call: Call, *, min_delay: int | None = None) -> CallVerdict:
    """Decode one queued call with the playbook's ABIs and judge it (see the module docstring)."""
    decoded = context.registry.decode_call(call.to, call.data, call.value)
    args = {arg.name: _shown(arg.type, arg.value) for arg in decoded.args}
    raw_args = {arg.name: arg.value for arg in decoded.args}
    contract = decoded.contract
    if contract is None and context.safe.lower() == call.to.lower():
        contract = "safe"

    def verdict(kind: str, reason: str) -> CallVerdict:
        return CallVerdict(index, call.to, call.value, contract, decoded.function, args, kind, reason)

    function = decoded.function
    if function is None:
        if not call.data:
            return verdict(RISKY, f"sends {call.value} wei to {contract or call.to} with no calldata")
        return verdict(RISKY, f"unknown selector {to_hex(call.data[:4])} on {contract or call.to}: the playbook's ABIs cannot say what it does")
    if decoded.error:
        return verdict(RISKY, f"{function} with arguments that do not decode: {decoded.error}")
    if call.to.lower() == context.safe.lower():
        meaning = SAFE_ADMIN_FUNCTIONS.get(function)
        if meaning:
            return verdict(HOSTILE, f"calls {function} on the guardian Safe: {meaning}")
        return verdict(RISKY, f"calls the guardian Safe itself ({function})")
    if contract is None:
        return verdict(RISKY, f"{call.to} is not a contract the playbook knows")
    risky = RISKY_FUNCTIONS.get(function)
    if risky is not None:
        return _judge_risky_function(context, verdict, function, risky, raw_args, min_delay)
    action = _playbook_action(context, call.to, function)
    if action is not None:
        out_of_bounds = _out_of_bounds(action, raw_args)
        if out_of_bounds:
            return verdict(HOSTILE, f"{action.name} sets {out_of_bounds}")
        if call.value:
            return verdict(RISKY, f"playbook action {action.name}, but it also sends {call.value} wei")
        return verdict(BENIGN, f"playbook action {action.name} ({action.kind})")
    if call.value:
        return verdict(RISKY, f"{function} on {contract} sends {call.value} wei")
    return verdict(RISKY, f"{function} on {contract} is not a playbook action")


def _judge_risky_function(context: Context, verdict, function: str, meaning: str, args: dict, min_delay: int | None) -> CallVerdict:
    values = list(args.values())  # by position: ABIs name arguments differently
    first = values[0] if values else None
    second = values[1] if len(values) > 1 else None
    if function == "grantRole(bytes32,address)":
        return verdict(HOSTILE, f"grants {role_name(first)} to {_who(context, second)}")
    if function in _ROLE_REMOVALS:
        word = "revokes" if function.startswith("revoke") else "renounces"
        if isinstance(second, str) and second.lower() == context.safe.lower():
            return verdict(HOSTILE, f"{word} {role_name(first)} of the guardian Safe: the guardians lose that power")
        return verdict(RISKY, f"{word} {role_name(first)} of {_who(context, second)}")
    if function == "updateDelay(uint256)":
        if min_delay is not None and isinstance(first, int) and first < min_delay:
            return verdict(HOSTILE, f"lowers the timelock delay from {min_delay}s to {first}s: less time to veto")
        return verdict(RISKY, f"changes the timelock delay to {first}s")
    if function in _TAKEOVER:
        return verdict(HOSTILE, f"{meaning} (to {_who(context, first)})")
    if function == "setOracle(address)":
        name = _known_name(context, first)
        if name is None:
            return verdict(HOSTILE, f"changes an oracle to {first}, an address the playbook does not know")
        return verdict(RISKY, f"changes an oracle to {name} ({first})")
    return verdict(RISKY, meaning)


def _shown(type_: str, value: Any) -> str:
    """Display text of an argument; a bytes32 that is a well-known role hash shows its name."""
    if type_ == "bytes32" and isinstance(value, (bytes, bytearray)) and bytes(value) in ROLE_NAMES and any(value):
        return ROLE_NAMES[bytes(value)]
    return format_value(type_, value)


def _known_name(context: Context, address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    for name, known in (context.contract_addresses or {}).items():
        if known.lower() == address.lower():
            return name
    return None


def _who(context: Context, address: Any) -> str:
    if not isinstance(address, str):
        return str(address)
    if address.lower() == context.safe.lower():
        return f"the guardian Safe ({address})"
    if context.timelock and address.lower() == context.timelock.lower():
        return f"the timelock ({address})"
    name = _known_name(context, address)
    return f"{name} ({address})" if name else address


def _playbook_action(context: Context, target: str, function: str):
    for action in context.actions:
        address = (context.contract_addresses or {}).get(action.contract)
        if address and address.lower() == target.lower() and action.function == function:
            return action
    return None


def _out_of_bounds(action, args: dict) -> str | None:
    """``name=value (min..max)`` for the first parameter outside its playbook bounds.

    Parameters are matched by position: the playbook names them for guardians, the ABI
    names them for the compiler (``leverage`` vs ``newMaxLeverage``).
    """
    values = list(args.values())
    for param, value in zip(action.params, values):
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        if (param.min is not None and value < param.min) or (param.max is not None and value > param.max):
            low = param.min if param.min is not None else "-"
            high = param.max if param.max is not None else "-"
            return f"{param.name}={value} (playbook bounds {low}..{high})"
    return None
