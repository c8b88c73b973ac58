"""Use cases: propose a Safe transaction, load a proposal file, review it (show / verify)."""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

from guardian.config import Playbook
from guardian.domain.actions import assemble, plan_action
from guardian.domain.intent import Context, derive_intent, flatten, summarize, timelock_details
from guardian.domain.multisend import Call
from guardian.domain.policy import (
    CRITICAL,
    WARNING,
    Finding,
    check_intent,
    check_nonce,
    check_transaction,
    has_critical,
    sort_findings,
)
from guardian.domain.proposal import Proposal
from guardian.domain.safe_tx import SafeTx
from guardian.errors import GuardianError, InputError

FOLLOWUPS = ("timelock-execute", "timelock-cancel")
AUDIT_FILE = "guardian-audit.jsonl"


def audit(proposal_path: str | Path, event: str, **fields) -> None:
    """Append to the audit log that sits beside the proposal file (who did what, when; never keys)."""
    from guardian.adapters.audit import audit_log

    audit_log(Path(proposal_path).parent / AUDIT_FILE, event, proposal_file=Path(proposal_path).name, **fields)


@dataclass
class ProposeResult:
    proposal: Proposal
    path: Path
    findings: list[Finding]
    created: bool = True  # False: an identical proposal file already existed and was kept


@dataclass
class Review:
    proposal: Proposal
    findings: list[Finding]
    calls: list  # FlatCall
    derived_intent: dict
    onchain: dict = field(default_factory=dict)

    @property
    def critical(self) -> bool:
        return has_critical(self.findings)


def default_author() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def load_proposal(path: str | Path) -> Proposal:
    from guardian.adapters.files import read_text

    return Proposal.from_json(read_text(Path(path), what="proposal"), str(path))


def scan_nonces(folder: Path, exclude: Path | None = None) -> dict[int, list[str]]:
    """nonce -> safeTxHashes of the proposals in ``folder`` (unreadable files are skipped)."""
    nonces: dict[int, list[str]] = {}
    if not folder.is_dir():
        return nonces
    for path in sorted(folder.glob("*.json")):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        try:
            data = json.loads(path.read_text())
            nonces.setdefault(int(data["transaction"]["nonce"]), []).append(data["hashes"]["safe_tx"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return nonces


def find_scheduled_operation(folder: Path, operation_id: str) -> dict | None:
    """The ``timelock`` record of the local proposal that scheduled ``operation_id``."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text()).get("timelock")
        except (OSError, ValueError):
            continue
        if record and record.get("kind") == "schedule" and record.get("operation_id", "").lower() == operation_id.lower():
            return record
    return None


def _followup_call(playbook: Playbook, name: str, args: list[str], chain) -> Call:
    from guardian.domain import timelock as tl
    from guardian.domain.proposal import timelock_call_from_record
    from guardian.domain.values import parse_bytes32, to_hex

    if playbook.timelock is None:
        raise InputError("action", name, "the playbook declares no timelock")
    if len(args) != 1:
        raise InputError(f"arguments for {name}", " ".join(args), "expects exactly one operation id (0x + 64 hex digits)")
    operation_id = parse_bytes32(args[0], "timelock operation id")
    if name == "timelock-cancel":
        return Call(playbook.timelock.address, 0, tl.encode_cancel(operation_id))
    record = find_scheduled_operation(playbook.proposals_dir, to_hex(operation_id))
    if record is None and chain is not None:
        from guardian.workflow.timelock import scheduled_operation

        record = scheduled_operation(chain, playbook.timelock.address, operation_id)
    if record is None:
        raise InputError(
            "timelock operation", to_hex(operation_id), "not found in the proposals folder or the timelock's CallScheduled events"
        )
    scheduled = timelock_call_from_record(record)
    if len(scheduled.calls) == 1 and not scheduled.batch:
        only = scheduled.calls[0]
        data = tl.encode_execute(only.to, only.value, only.data, scheduled.predecessor, scheduled.salt)
    else:
        data = tl.encode_execute_batch(
            [c.to for c in scheduled.calls], [c.value for c in scheduled.calls], [c.data for c in scheduled.calls], scheduled.predecessor, scheduled.salt
        )
    return Call(playbook.timelock.address, sum(c.value for c in scheduled.calls), data)


def build_proposal(
    playbook: Playbook,
    items: list[tuple[str, list[str] | dict]],
    *,
    chain_id: int,
    nonce: int,
    delay: int | None = None,
    author: str | None = None,
    chain=None,
    actors: dict[str, str] | None = None,
) -> Proposal:
    """Pure apart from a timelock-execute lookup: actions -> SafeTx -> Proposal (unsigned)."""
    planned, extra = [], []
    for name, args in items:
        if name in FOLLOWUPS:
            extra.append(_followup_call(playbook, name, list(args), chain))
        else:
            planned.append(plan_action(playbook, name, args, actors))
    body = assemble(playbook, planned, nonce=nonce, delay=delay, extra_calls=extra)
    tx = SafeTx(
        safe=playbook.safe.address,
        chain_id=chain_id,
        safe_version=playbook.safe.version,
        to=body.to,
        value=body.value,
        data=body.data,
        operation=body.operation,
        nonce=nonce,
    )
    context = Context.from_playbook(playbook)
    intent = derive_intent(context, flatten(context, tx.to, tx.value, tx.data, tx.operation))
    timelock = timelock_details(context, tx.to, tx.data)
    return Proposal.create(tx, intent, author or default_author(), timelock=timelock)


def proposal_filename(proposal: Proposal) -> str:
    first = proposal.intent["actions"][0]["action"] if proposal.intent["actions"] else "tx"
    more = f"-and-{len(proposal.intent['actions']) - 1}" if len(proposal.intent["actions"]) > 1 else ""
    return f"{proposal.nonce:04d}-{first}{more}-{proposal.id}.json"


def save_new_proposal(proposal: Proposal, path: Path) -> bool:
    """Write atomically; never clobber signatures: an existing copy of the same transaction is kept."""
    from guardian.adapters.files import atomic_write_text

    if path.exists():
        try:
            existing = load_proposal(path)
        except GuardianError:
            existing = None
        if existing is not None and existing.hashes == proposal.hashes:
            return False
        raise InputError("output file", str(path), "already exists with a different proposal (choose another --out)")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, proposal.to_json())
    return True


def propose(
    playbook: Playbook,
    items: list[tuple[str, list[str] | dict]],
    *,
    network: str | None = None,
    rpc_url: str | None = None,
    rpc_timeout: float = 10.0,
    nonce: int | None = None,
    delay: int | None = None,
    out_path: str | Path | None = None,
    author: str | None = None,
    actors: dict[str, str] | None = None,
) -> ProposeResult:
    """Build a proposal from named actions and write it (atomically) to the proposals folder."""
    if not items:
        raise InputError("actions", "", "name at least one action")
    net = playbook.network(network)
    chain = None
    safe_nonce = None
    url = rpc_url or net.rpc_url
    needs_chain = nonce is None or any(name == "timelock-execute" for name, _ in items)
    if needs_chain:
        if not url:
            raise InputError("nonce", None, "give --nonce, or an RPC (--rpc or the playbook network's rpc_url) to read it")
        from guardian.adapters.chain import SafeReader, connect

        chain = connect(url, timeout=rpc_timeout)
        _check_chain_id(chain.chain_id(), net.chain_id, url)
        safe_nonce = SafeReader(chain, playbook.safe.address).nonce()
        nonce = safe_nonce if nonce is None else nonce
    proposal = build_proposal(
        playbook, items, chain_id=net.chain_id, nonce=nonce, delay=delay, author=author, chain=chain, actors=actors
    )
    path = Path(out_path) if out_path else playbook.proposals_dir / proposal_filename(proposal)
    context = Context.from_playbook(playbook)
    calls = flatten(context, proposal.to, proposal.value, proposal.data, proposal.operation)
    findings = check_transaction(context, proposal.safe_tx, calls)
    findings += check_nonce(proposal.nonce, safe_nonce, scan_nonces(path.parent, exclude=path), proposal.hashes["safe_tx"])
    if has_critical(findings):  # a playbook action should never be dangerous; refuse to write it
        worst = next(f for f in findings if f.severity == CRITICAL)
        raise InputError("proposal", proposal.id, f"refusing to write a proposal with a critical finding: {worst.message}")
    created = save_new_proposal(proposal, path)
    if created:
        audit(path, "propose", id=proposal.id, safe_tx_hash=proposal.hashes["safe_tx"], nonce=proposal.nonce, summary=proposal.intent["summary"], by=proposal.created["by"])
    return ProposeResult(proposal, path, sort_findings(findings), created)


def _check_chain_id(actual: int, expected: int, url: str) -> None:
    if actual != expected:
        raise ChainMismatchError(url, expected, actual)


class ChainMismatchError(GuardianError):
    def __init__(self, url: str, expected: int, actual: int):
        self.url, self.expected, self.actual = url, expected, actual
        super().__init__(f"{url} is chain {actual}, but the proposal/playbook is for chain {expected}", advice="check --rpc and --network")


def review(
    proposal: Proposal,
    playbook: Playbook | None,
    *,
    network: str | None = None,
    chain=None,
    proposals_dir: Path | None = None,
    own_path: Path | None = None,
) -> Review:
    """Everything `show` and `verify` report: decoded calls, findings, on-chain cross-checks."""
    if playbook is not None:
        context = Context.from_playbook(playbook, safe=proposal.safe)
    else:
        multisend = proposal.to if proposal.operation == 1 else None
        timelock = proposal.timelock["address"] if proposal.timelock else None
        context = Context.bare(proposal.safe, multisend=None, timelock=timelock)
        del multisend  # without a playbook no DELEGATECALL target is trusted
    calls = flatten(context, proposal.to, proposal.value, proposal.data, proposal.operation)
    derived = derive_intent(context, calls)
    findings = check_transaction(context, proposal.safe_tx, calls)
    if playbook is not None:
        findings += check_intent(proposal.intent, derived)
        findings += _check_against_playbook(proposal, playbook, network)
    else:
        findings += _check_bare_intent(proposal, derived)
    safe_nonce = None
    onchain: dict = {}
    if chain is not None:
        onchain, chain_findings, safe_nonce = cross_check(chain, proposal)
        findings += chain_findings
    folder = proposals_dir or (playbook.proposals_dir if playbook else None)
    if folder is not None:
        findings += check_nonce(proposal.nonce, safe_nonce, scan_nonces(folder, exclude=own_path), proposal.hashes["safe_tx"])
    elif safe_nonce is not None:
        findings += check_nonce(proposal.nonce, safe_nonce, {}, proposal.hashes["safe_tx"])
    return Review(proposal, sort_findings(_dedupe(findings)), calls, derived, onchain)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, unique = set(), []
    for finding in findings:
        if finding not in seen:
            seen.add(finding)
            unique.append(finding)
    return unique


def _check_bare_intent(proposal: Proposal, derived: dict) -> list[Finding]:
    """Without a playbook, action names cannot be checked, but every call must be listed, in
    order, with its target, function, route and arguments, and the summary must say so."""
    def calls(intent: dict) -> list[tuple]:
        return [(a["target"], a["function"], a["route"], tuple(a["args"].values())) for a in intent["actions"]]

    if calls(proposal.intent) != calls(derived):
        def describe(intent: dict) -> str:
            return "; ".join(f"{t}.{f or 'unknown function'}" for t, f, _, _ in calls(intent)) or "nothing"

        stored, actual = describe(proposal.intent), describe(derived)
        return [Finding(CRITICAL, "intent-mismatch", f"intent.actions list {stored} but the calldata does {actual}", "intent.actions")]
    expected = summarize(proposal.intent["actions"])
    if proposal.intent["summary"] != expected:
        return [Finding(CRITICAL, "intent-mismatch", f"intent.summary says {proposal.intent['summary']!r} but the actions say {expected!r}", "intent.summary")]
    return []


def _check_against_playbook(proposal: Proposal, playbook: Playbook, network: str | None) -> list[Finding]:
    findings = []
    if proposal.safe.lower() != playbook.safe.address.lower():
        findings.append(Finding(CRITICAL, "wrong-safe", f"the proposal is for Safe {proposal.safe}, the playbook's Safe is {playbook.safe.address}", "safe"))
    if proposal.safe_version != playbook.safe.version:
        findings.append(Finding(CRITICAL, "safe-version", f"safe_version {proposal.safe_version} differs from the playbook's {playbook.safe.version}", "safe_version"))
    expected_chain = playbook.network(network).chain_id
    if proposal.chain_id != expected_chain:
        findings.append(Finding(CRITICAL, "chain-id", f"chain_id {proposal.chain_id} is not the playbook network's {expected_chain}", "chain_id"))
    return findings


def cross_check(chain, proposal: Proposal) -> tuple[dict, list[Finding], int | None]:
    """Compare the proposal with the live Safe: hash, version, nonce, owners, signatures."""
    from guardian.adapters.chain import SafeReader
    from guardian.domain.values import to_hex

    findings: list[Finding] = []
    chain_id = chain.chain_id()
    onchain: dict = {"chain_id": chain_id}
    if chain_id != proposal.chain_id:
        findings.append(Finding(CRITICAL, "chain-id", f"the RPC is chain {chain_id}, the proposal is for chain {proposal.chain_id}", "chain_id"))
        return onchain, findings, None
    if not chain.get_code(proposal.safe):
        findings.append(Finding(CRITICAL, "no-safe", f"there is no contract at {proposal.safe} on chain {chain_id}", "safe"))
        return onchain, findings, None
    safe = SafeReader(chain, proposal.safe)
    tx = proposal.safe_tx
    onchain.update(version=safe.version(), singleton=safe.singleton(), nonce=safe.nonce(), threshold=safe.threshold(), owners=safe.owners())
    if onchain["version"] != proposal.safe_version:
        findings.append(Finding(CRITICAL, "safe-version", f"the Safe on chain is {onchain['version']}, the proposal says {proposal.safe_version}", "safe_version"))
    else:
        onchain_hash = safe.get_transaction_hash(
            to=tx.to, value=tx.value, data=tx.data, operation=tx.operation, nonce=tx.nonce, safe_tx_gas=tx.safe_tx_gas,
            base_gas=tx.base_gas, gas_price=tx.gas_price, gas_token=tx.gas_token, refund_receiver=tx.refund_receiver,
        )  # fmt: skip
        onchain["safe_tx_hash"] = to_hex(onchain_hash)
        if onchain_hash != proposal.safe_tx_hash:
            findings.append(Finding(CRITICAL, "hash-mismatch", f"the Safe computes safeTxHash {to_hex(onchain_hash)}, the proposal says {proposal.hashes['safe_tx']}", "hashes.safe_tx"))
    owners = {o.lower() for o in onchain["owners"]}
    for index, signature in enumerate(proposal.signatures):
        if signature.signer.lower() not in owners:
            findings.append(Finding(CRITICAL, "not-an-owner", f"{signature.signer} signed but is not a current owner of the Safe", f"signatures[{index}]"))
        elif signature.kind == "approved_hash" and not safe.approved_hashes(signature.signer, proposal.safe_tx_hash):
            findings.append(
                Finding(
                    CRITICAL,
                    "approval-not-on-chain",
                    f"the file claims {signature.signer} approved this hash on chain, but approvedHashes is 0 (forged, or approveHash was never mined): it only counts if that owner executes",
                    f"signatures[{index}]",
                )
            )
    if proposal.execution is None and proposal.nonce < onchain["nonce"]:
        findings.append(Finding(WARNING, "stale-nonce", f"nonce {proposal.nonce} is below the Safe's nonce {onchain['nonce']}", "tx.nonce"))
    return onchain, findings, onchain["nonce"]
