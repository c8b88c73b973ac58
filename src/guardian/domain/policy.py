"""Risk checks on a proposal: what a guardian must be warned about before signing.

Each check returns ``Finding`` objects with a severity. ``critical`` findings make ``verify``
exit non-zero and make ``sign`` refuse without ``--i-understand-the-risk``. The checks come
from real incidents:

- Bybit (2025): ``operation`` flipped to DELEGATECALL to an attacker contract that rewrote
  the Safe's singleton (storage slot 0).
- Gas-token refunds: a non-zero gasPrice/gasToken/refundReceiver pays the relayer out of
  the Safe.
- Owner/threshold/module/guard changes hidden in a batch or a timelock operation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from guardian.domain.intent import Context, FlatCall, action_for
from guardian.domain.values import ZERO_ADDRESS

CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITY_ORDER = {CRITICAL: 0, WARNING: 1, INFO: 2}

# Functions on the Safe itself that change who controls it.
SAFE_ADMIN_FUNCTIONS = {
    "addOwnerWithThreshold(address,uint256)": "adds an owner",
    "removeOwner(address,address,uint256)": "removes an owner",
    "swapOwner(address,address,address)": "swaps an owner",
    "changeThreshold(uint256)": "changes the signing threshold",
    "enableModule(address)": "enables a module (a backdoor that bypasses signatures)",
    "disableModule(address,address)": "disables a module",
    "setGuard(address)": "sets or removes the transaction guard",
    "setModuleGuard(address)": "sets or removes the module guard",
    "setFallbackHandler(address)": "changes the fallback handler",
    "changeMasterCopy(address)": "swaps the Safe's singleton (implementation)",
    "setup(address[],uint256,address,bytes,address,address,uint256,address)": "re-runs setup",
}

# Inner calls that are risky when queued in the timelock (issue 7's watch uses the same list).
RISKY_FUNCTIONS = {
    "grantRole(bytes32,address)": "grants a role",
    "revokeRole(bytes32,address)": "revokes a role",
    "renounceRole(bytes32,address)": "renounces a role",
    "updateDelay(uint256)": "changes the timelock delay",
    "upgradeTo(address)": "upgrades a proxy",
    "upgradeToAndCall(address,bytes)": "upgrades a proxy",
    "changeAdmin(address)": "changes a proxy admin",
    "transferOwnership(address)": "transfers ownership",
    "setOracle(address)": "changes an oracle",
}

# Official Safe MultiSend deployments that allow DELEGATECALL inside the batch.
KNOWN_MULTISEND = {
    "0xa238cbeb142c10ef7ad8442c6d1f9e89e07e7761": "MultiSend 1.3.0",
    "0x998739bfdaadde7c933b942a68053933098f9eda": "MultiSend 1.3.0 (eip155)",
    "0x38869bf66a61cf6bdb996a6ae40d5853fd43b526": "MultiSend 1.4.1",
    "0x8d29be29923b68abfdd21e541b9374737b49cdad": "MultiSend 1.1.1",
}

PAUSE_KINDS = ("pause", "freeze")


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str
    where: str = "tx"

    def as_dict(self) -> dict:
        return asdict(self)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.where, f.code))


def has_critical(findings: list[Finding]) -> bool:
    return any(f.severity == CRITICAL for f in findings)


def check_transaction(context: Context, tx, calls: list[FlatCall]) -> list[Finding]:
    """Static checks on the SafeTx fields and every (flattened) call."""
    findings = _check_refund_fields(tx)
    allowed = context.multisend_addresses
    if tx.operation == 1 and tx.to.lower() not in allowed:
        known = KNOWN_MULTISEND.get(tx.to.lower())
        if known:
            findings.append(Finding(CRITICAL, "multisend-not-call-only", f"DELEGATECALL to {known} ({tx.to}): a batch that may itself DELEGATECALL; guardian only batches through MultiSendCallOnly", "tx.operation"))
        else:
            findings.append(Finding(CRITICAL, "delegatecall", f"DELEGATECALL to {tx.to}, which is not an allowlisted MultiSendCallOnly: the target runs with the Safe's storage and can replace its singleton, owners or modules (the Bybit attack)", "tx.operation"))
    elif tx.operation not in (0, 1):
        findings.append(Finding(CRITICAL, "bad-operation", f"operation {tx.operation} is neither CALL (0) nor DELEGATECALL (1)", "tx.operation"))
    for call in calls:
        findings += _check_call(context, call)
    for call in calls:
        action = action_for(context, call)
        if call.value and action is not None and action.kind in PAUSE_KINDS:
            findings.append(Finding(WARNING, "value-on-pause", f"{action.name} sends {call.value} wei with a {action.kind}", call.where))
    return sort_findings(findings)


def _check_refund_fields(tx) -> list[Finding]:
    findings = []
    if tx.gas_price:
        findings.append(Finding(CRITICAL, "gas-refund", f"gasPrice is {tx.gas_price}: the Safe would refund gas to the executor (a refund drain)", "tx.gasPrice"))
    if tx.gas_token.lower() != ZERO_ADDRESS.lower():
        findings.append(Finding(CRITICAL, "gas-token", f"gasToken is {tx.gas_token}: refunds would be paid in that token", "tx.gasToken"))
    if tx.refund_receiver.lower() != ZERO_ADDRESS.lower():
        findings.append(Finding(CRITICAL, "refund-receiver", f"refundReceiver is {tx.refund_receiver}: refunds would go to that address", "tx.refundReceiver"))
    if tx.base_gas and not tx.gas_price:
        findings.append(Finding(WARNING, "base-gas", f"baseGas is {tx.base_gas} with no refund: unusual for an emergency action", "tx.baseGas"))
    return findings


def _check_call(context: Context, call: FlatCall) -> list[Finding]:
    findings = []
    where = call.where
    if call.where != "tx" and call.operation == 1:
        findings.append(Finding(CRITICAL, "hidden-delegatecall", f"a DELEGATECALL to {call.to} is hidden inside the batch", where))
    if call.to.lower() == context.safe.lower():
        meaning = SAFE_ADMIN_FUNCTIONS.get(call.function or "")
        if meaning:
            findings.append(Finding(CRITICAL, "safe-admin-call", f"calls {call.function} on the Safe itself: {meaning}", where))
        elif call.function == "approveHash(bytes32)":
            findings.append(Finding(WARNING, "safe-self-call", "approves another Safe transaction hash from inside this one", where))
        else:
            findings.append(Finding(WARNING, "safe-self-call", f"calls the Safe itself ({call.function or 'unknown selector'})", where))
        return findings
    if call.route.startswith("foreign-"):
        findings.append(Finding(CRITICAL, "foreign-timelock", f"{call.function or 'a call'} on {call.contract or call.to} goes through a timelock-like contract that is not the playbook's timelock", where))
    if call.error:
        findings.append(Finding(WARNING, "undecodable-arguments", f"{call.function} on {call.contract or call.to}: {call.error}", where))
    if "timelock" in call.route and call.function in RISKY_FUNCTIONS:
        findings.append(Finding(WARNING, "risky-timelock-call", f"the timelock operation {RISKY_FUNCTIONS[call.function]} ({call.function} on {call.contract or call.to})", where))
    if call.contract is None:
        findings.append(Finding(WARNING, "unknown-target", f"{call.to} is not a contract the playbook knows", where))
    elif call.function is None and call.data:
        findings.append(Finding(WARNING, "unknown-selector", f"selector 0x{call.data[:4].hex()} is not in {call.contract}'s ABI", where))
    if call.value and not call.container:
        findings.append(Finding(WARNING, "value-transfer", f"sends {call.value} wei to {call.contract or call.to}", where))
    return findings


def check_intent(stored: dict, derived: dict) -> list[Finding]:
    """The stored intent must be exactly what the calldata does; name the first difference."""
    difference = first_difference(stored, derived, "intent")
    if difference is None:
        return []
    path, stored_value, derived_value = difference
    return [
        Finding(
            CRITICAL,
            "intent-mismatch",
            f"{path} says {stored_value!r} but the calldata says {derived_value!r}: the words do not match the bytes",
            path,
        )
    ]


def first_difference(a, b, path: str):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}", a.get(key), b.get(key)
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def check_nonce(nonce: int, safe_nonce: int | None, other_nonces: dict[int, list[str]], own_hash: str) -> list[Finding]:
    """Stale (already used), duplicate (another proposal has it) or gap (skips nonces)."""
    findings = []
    if safe_nonce is not None and nonce < safe_nonce:
        findings.append(Finding(WARNING, "stale-nonce", f"nonce {nonce} is below the Safe's current nonce {safe_nonce}: it can never execute (or already did)", "tx.nonce"))
    duplicates = [h for h in other_nonces.get(nonce, []) if h.lower() != own_hash.lower()]
    if duplicates:
        findings.append(Finding(WARNING, "duplicate-nonce", f"nonce {nonce} is also used by {len(duplicates)} other proposal(s) ({', '.join(d[:12] for d in duplicates)}): only one can execute", "tx.nonce"))
    if safe_nonce is not None and nonce > safe_nonce:
        missing = [n for n in range(safe_nonce, nonce) if n not in other_nonces]
        if missing:
            findings.append(Finding(WARNING, "nonce-gap", f"nonce {nonce} leaves a gap: no proposal for nonce(s) {', '.join(map(str, missing[:5]))} (Safe is at {safe_nonce})", "tx.nonce"))
    return findings
