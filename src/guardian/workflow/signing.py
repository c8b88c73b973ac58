"""Use cases: sign a proposal, approve it on chain, merge copies, and show who has signed.

Every function takes its adapters as arguments (a ``Signer`` from ``adapters.signers``, a
``Chain`` from ``adapters.chain`` or None, a loaded ``Playbook`` or None) and returns plain
results; nothing here prompts or prints except through the ``echo`` it is given.

Proposal files are only ever changed through ``adapters.files.update_file``: under the file
lock the current file is re-read, checked to still be the same proposal, the new signature is
added to what is there *now*, and the result is written atomically. Five guardians signing the
same file at once therefore never lose one another's signatures, and a failed step (a refused
signature, a rejected Ledger, a dead RPC) leaves the file byte for byte as it was.

Nothing heavy is imported at module level: ``guardian sign`` without ``--rpc`` never loads
web3.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from guardian.domain.policy import CRITICAL, Finding
from guardian.domain.proposal import Proposal
from guardian.domain.signatures import SafeSignature
from guardian.domain.values import to_hex, utc_timestamp
from guardian.errors import (
    CriticalFindingsError,
    DuplicateSignatureError,
    InputError,
    NotAnOwnerError,
    ProposalMismatchError,
    SignatureError,
    TransactionPendingError,
)
from guardian.workflow.proposals import ChainMismatchError, audit, load_proposal, review

Echo = Callable[[str], None]

ONCHAIN = "on chain"
ROSTER = "playbook roster"


# -- who may sign -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roster:
    """The owners a signature must come from, the threshold, and where both were read."""

    owners: tuple[str, ...]
    threshold: int | None
    source: str  # ONCHAIN or ROSTER
    names: dict[str, str] = field(default_factory=dict)  # address -> playbook name

    def name(self, address: str) -> str | None:
        return self.names.get(address)

    def label(self, address: str) -> str:
        name = self.names.get(address)
        return f"{name} ({address})" if name else address


def _names(playbook, safe: str) -> dict[str, str]:
    if playbook is None or playbook.safe.address.lower() != safe.lower():
        return {}
    return {address: name for name, address in playbook.safe.owners.items()}


def owner_roster(proposal: Proposal, *, chain=None, playbook=None) -> Roster:
    """The Safe's current owners and threshold: on chain when ``chain`` is given, else the playbook's."""
    names = _names(playbook, proposal.safe)
    if chain is not None:
        from guardian.adapters.chain import SafeReader

        if chain.chain_id() != proposal.chain_id:
            raise ChainMismatchError(chain.display_url, proposal.chain_id, chain.chain_id())
        safe = SafeReader(chain, proposal.safe)
        return Roster(tuple(safe.owners()), safe.threshold(), ONCHAIN, names)
    if playbook is not None:
        if playbook.safe.address.lower() != proposal.safe.lower():
            raise InputError("playbook", str(playbook.path), f"is for Safe {playbook.safe.address}, the proposal for {proposal.safe}")
        return Roster(tuple(playbook.safe.owners.values()), playbook.safe.threshold, ROSTER, names)
    raise InputError("owner check", proposal.safe, "needs the Safe's owners: give --rpc (on chain) or a playbook (roster)")


# -- the file, changed only under its lock ------------------------------------------------------


def _same_proposal(expected: Proposal, current: Proposal, source: str) -> None:
    """Refuse to write when the file now holds a different proposal than the one we checked."""
    fields = _without_metadata(expected.differences(current))
    if fields:
        raise ProposalMismatchError("the proposal as first read", source, fields)


def update_proposal(path: Path, expected: Proposal, change: Callable[[Proposal], Proposal]) -> Proposal:
    """Lock ``path``, re-read it, check it is still ``expected``'s proposal, apply ``change``, write atomically."""
    from guardian.adapters.files import update_file

    written: list[Proposal] = []

    def transform(text: str) -> str:
        current = Proposal.from_json(text, str(path))
        _same_proposal(expected, current, str(path))
        written.append(change(current))
        return written[-1].to_json()

    update_file(Path(path), transform)
    return written[-1]


def refuse_critical(action: str, findings: list[Finding], accept_risk: bool) -> None:
    critical = [f for f in findings if f.severity == CRITICAL]
    if critical and not accept_risk:
        raise CriticalFindingsError(action, critical)


# -- sign -----------------------------------------------------------------------------------------


def _owner_may_add(path: Path, signer, action: str, *, playbook, chain, network, accept_risk: bool):
    """Load and review the proposal (refusing critical findings), then check that ``signer`` is
    a current owner who has not signed yet. Returns (proposal, review, roster, address)."""
    proposal = load_proposal(path)  # recomputes every hash and checks every stored signature
    checked = review(proposal, playbook, network=network, chain=chain, own_path=path)
    refuse_critical(action, checked.findings, accept_risk)
    roster = owner_roster(proposal, chain=chain, playbook=playbook)
    address = signer.address()
    if address not in roster.owners:
        raise NotAnOwnerError(address, proposal.safe, roster.source)
    if address in proposal.signers:
        raise DuplicateSignatureError(address)
    return proposal, checked, roster, address


@dataclass
class SignResult:
    proposal: Proposal  # as written, with every signature now in the file
    path: Path
    signature: SafeSignature
    signer_name: str | None
    roster: Roster
    findings: list[Finding]

    @property
    def collected(self) -> int:
        return sum(1 for s in self.proposal.signatures if s.signer in self.roster.owners)

    def as_dict(self) -> dict:
        return {
            "path": str(self.path),
            "id": self.proposal.id,
            "safe_tx_hash": self.proposal.hashes["safe_tx"],
            "signer": self.signature.signer,
            "signer_name": self.signer_name,
            "kind": self.signature.kind,
            "signatures": len(self.proposal.signatures),
            "threshold": self.roster.threshold,
            "owners_from": self.roster.source,
            "findings": [f.as_dict() for f in self.findings],
        }


def sign_proposal(
    path: str | Path,
    signer,
    *,
    playbook=None,
    chain=None,
    accept_risk: bool = False,
    eth_sign: bool = False,
    echo: Echo = print,
    network: str | None = None,
) -> SignResult:
    """Verify, sign with ``signer`` and append the signature to the proposal file.

    Refuses (one ``GuardianError``, file unchanged) on: a critical finding unless
    ``accept_risk``; a signer that is not a current owner (on chain with ``chain``, else the
    playbook roster); an owner who already signed; a signature that does not recover to the
    signer over this proposal's safeTxHash. The three hashes are echoed before the signer is
    asked, so a guardian can compare them with the device screen.
    """
    from guardian.adapters.signers import describe_hashes

    path = Path(path)
    proposal, checked, roster, address = _owner_may_add(path, signer, "sign", playbook=playbook, chain=chain, network=network, accept_risk=accept_risk)
    hashes = proposal.safe_tx_hashes
    echo(describe_hashes(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash))
    raw = signer.sign_safe_tx(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash, eth_sign=eth_sign)
    kind = "eth_sign" if eth_sign else "eip712"
    try:
        signature = SafeSignature.create(kind, raw, hashes.safe_tx_hash, utc_timestamp())
    except SignatureError as error:
        raise SignatureError(address, f"the signer returned an unusable {kind} signature: {error.problem}") from error
    if signature.signer != address:
        raise SignatureError(
            address,
            f"over this proposal's safeTxHash {proposal.hashes['safe_tx']} the signature recovers to {signature.signer}: "
            "it was made over a different hash; nothing was written",
        )
    written = update_proposal(path, proposal, lambda current: current.with_signature(signature))
    audit(path, "sign", id=written.id, signer=address, signer_name=roster.name(address), kind=signature.kind, collected=len(written.signatures), threshold=roster.threshold)
    return SignResult(written, path, signature, roster.name(address), roster, checked.findings)


# -- approve on chain -------------------------------------------------------------------------------


@dataclass
class ApproveResult:
    proposal: Proposal
    path: Path
    owner: str
    tx_hash: str | None  # None: the hash was already approved on chain, only recorded
    block: int | None

    def as_dict(self) -> dict:
        return {
            "path": str(self.path),
            "id": self.proposal.id,
            "safe_tx_hash": self.proposal.hashes["safe_tx"],
            "owner": self.owner,
            "tx_hash": self.tx_hash,
            "block": self.block,
            "signatures": len(self.proposal.signatures),
        }


def approve_onchain(
    path: str | Path,
    signer,
    *,
    chain,
    playbook=None,
    accept_risk: bool = False,
    gas_limit: int | None = None,
    echo: Echo = print,
    receipt_timeout: float = 120.0,
    network: str | None = None,
) -> ApproveResult:
    """Send ``approveHash(safeTxHash)`` from the owner behind ``signer`` and record it (v = 1).

    If the owner already approved the hash on chain, nothing is sent and the approval is only
    recorded. Same refusals as ``sign_proposal``; the file is written only after the approval
    is mined and confirmed by ``approvedHashes``.
    """
    from guardian.adapters.chain import SafeReader, build_approve_hash_calldata
    from guardian.domain.signatures import approved_hash_signature
    from guardian.errors import CallRevertedError, ExecutionRevertedError
    from guardian.workflow.execution import registry_for, send_transaction, translate_revert

    path = Path(path)
    proposal, checked, roster, owner = _owner_may_add(path, signer, "approve", playbook=playbook, chain=chain, network=network, accept_risk=accept_risk)
    safe = SafeReader(chain, proposal.safe)
    safe_tx_hash = proposal.safe_tx_hash
    tx_hash = block = None
    if safe.approved_hashes(owner, safe_tx_hash):
        echo(f"{roster.label(owner)} already approved {proposal.hashes['safe_tx']} on chain; recording it")
    else:
        data = build_approve_hash_calldata(safe_tx_hash)
        registry = registry_for(proposal, playbook)
        try:
            chain.call(proposal.safe, data, from_=owner)
        except CallRevertedError as error:
            raise translate_revert(error, registry, "approveHash") from error
        echo(f"Sending approveHash({proposal.hashes['safe_tx']}) to the Safe {proposal.safe} from {roster.label(owner)}")
        sent, receipt = send_transaction(chain, signer, to=proposal.safe, data=data, gas_limit=gas_limit, receipt_timeout=receipt_timeout)
        if receipt is None:
            raise TransactionPendingError("approveHash transaction", to_hex(sent), receipt_timeout)
        tx_hash, block = to_hex(receipt.tx_hash), receipt.block_number
        if receipt.status != 1 or not safe.approved_hashes(owner, safe_tx_hash):
            raise ExecutionRevertedError("approveHash", "the approval is not visible on chain after the transaction", tx_hash)
    signature = SafeSignature(owner, "approved_hash", approved_hash_signature(owner), utc_timestamp())
    written = update_proposal(path, proposal, lambda current: current.with_signature(signature))
    audit(path, "approve-hash", id=written.id, owner=owner, tx_hash=tx_hash, block=block)
    return ApproveResult(written, path, owner, tx_hash, block)


# -- merge ------------------------------------------------------------------------------------------


def _merge_execution(records: list[dict | None], sources: list[str]) -> dict | None:
    """One execution record from several copies: a final one beats a pending one; two final ones must agree."""
    final = [(r, s) for r, s in zip(records, sources) if r is not None and r["status"] != "pending"]
    for record, source in final[1:]:
        if record != final[0][0]:
            raise ProposalMismatchError(final[0][1], source, ["execution"])
    if final:
        return final[0][0]
    return next((r for r in records if r is not None), None)


_CAUSE_ORDER = ("version", "chain_id", "safe", "safe_version", "transaction", "timelock", "intent", "hashes")


def _without_metadata(fields: list[str]) -> list[str]:
    """The differing fields that matter, causes first (a changed transaction field before the
    hashes it changes). ``created`` (who ran ``propose``, when) may differ between copies."""

    def rank(field: str) -> int:
        top = field.split(".")[0].split("[")[0]
        return _CAUSE_ORDER.index(top) if top in _CAUSE_ORDER else len(_CAUSE_ORDER)

    return sorted((f for f in fields if not f.startswith("created")), key=rank)


def merge_proposals(paths: Iterable[str | Path], out: str | Path) -> Proposal:
    """The union of the signatures of copies of one proposal, written atomically to ``out``.

    Every copy must have the same hashes and fields (only ``created``, ``signatures`` and
    ``execution`` may differ); otherwise ``ProposalMismatchError`` names the differing fields.
    Inputs are never modified. If ``out`` already exists it must be a copy too, and its
    signatures are kept (so ``-o`` may name one of the inputs).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("proposal files", "", "name at least one file to merge")
    out = Path(out)
    copies = [(load_proposal(p), str(p)) for p in paths]
    base, base_source = copies[0]
    for other, source in copies[1:]:
        fields = _without_metadata(base.differences(other))
        if fields:
            raise ProposalMismatchError(base_source, source, fields)
    signatures = [s for proposal, _ in copies for s in proposal.signatures]
    execution = _merge_execution([p.execution for p, _ in copies], [s for _, s in copies])
    merged = replace(base.with_signatures(signatures), execution=execution)

    def combine(current: Proposal) -> Proposal:
        combined = current.with_signatures(merged.signatures)
        return replace(combined, execution=_merge_execution([current.execution, merged.execution], [str(out), "the inputs"]))

    if out.exists():
        from guardian.adapters.files import update_file

        def transform(text: str) -> str:
            current = Proposal.from_json(text, str(out))
            fields = _without_metadata(merged.differences(current))
            if fields:
                raise ProposalMismatchError(base_source, str(out), fields)
            return combine(current).to_json()

        return Proposal.from_json(update_file(out, transform), str(out))
    from guardian.adapters.files import atomic_write_text, locked

    out.parent.mkdir(parents=True, exist_ok=True)
    with locked(out):
        atomic_write_text(out, merged.to_json())
    audit(out, "merge", id=merged.id, sources=[str(p) for p in paths], signatures=len(merged.signatures))
    return merged


# -- status -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerStatus:
    address: str
    name: str | None
    signed: bool
    how: str | None  # eip712 | eth_sign | approved_hash | approved on chain
    at: str | None  # when the signature was made (None for an on-chain approval)

    def as_dict(self) -> dict:
        return {"address": self.address, "name": self.name, "signed": self.signed, "how": self.how, "at": self.at}


@dataclass
class Status:
    proposal: Proposal
    owners: list[OwnerStatus]
    threshold: int | None
    owners_from: str | None  # ONCHAIN, ROSTER or None (unknown)
    strangers: list[str]  # signers in the file who are not owners: their signatures do not count
    safe_nonce: int | None = None
    executed: dict | None = None  # the file's execution record, or what the chain shows

    @property
    def collected(self) -> int:
        return sum(1 for owner in self.owners if owner.signed)

    @property
    def missing(self) -> int | None:
        return None if self.threshold is None else max(self.threshold - self.collected, 0)

    @property
    def ready(self) -> bool:
        return self.threshold is not None and self.collected >= self.threshold

    @property
    def state(self) -> str:
        """executed | failed | pending-execution | stale | ready | collecting | unknown."""
        if self.executed:
            return {"success": "executed", "failure": "failed", "pending": "pending-execution"}[self.executed["status"]]
        if self.safe_nonce is not None and self.proposal.nonce < self.safe_nonce:
            return "stale"
        if self.threshold is None:
            return "unknown"
        return "ready" if self.ready else "collecting"

    def as_dict(self) -> dict:
        return {
            "id": self.proposal.id,
            "safe": self.proposal.safe,
            "safe_tx_hash": self.proposal.hashes["safe_tx"],
            "nonce": self.proposal.nonce,
            "safe_nonce": self.safe_nonce,
            "threshold": self.threshold,
            "owners_from": self.owners_from,
            "collected": self.collected,
            "missing": self.missing,
            "state": self.state,
            "owners": [owner.as_dict() for owner in self.owners],
            "not_owners": self.strangers,
            "execution": self.executed,
        }


def proposal_status(proposal: Proposal, *, chain=None, playbook=None) -> Status:
    """For each owner: signed or not and how; the threshold and how many more are needed.

    Owners and threshold come from the chain when ``chain`` is given (and then on-chain
    ``approvedHashes`` count as signatures), else from the playbook roster, else they are
    unknown and only the file's signers are listed.
    """
    by_signer = {s.signer: s for s in proposal.signatures}
    try:
        roster = owner_roster(proposal, chain=chain, playbook=playbook)
    except InputError:
        if chain is not None or playbook is not None:
            raise
        roster = None
    if roster is None:
        owners = [OwnerStatus(s.signer, None, True, s.kind, s.created_at) for s in proposal.signatures]
        return Status(proposal, owners, None, None, [], None, proposal.execution)
    safe = None
    if chain is not None:
        from guardian.adapters.chain import SafeReader

        safe = SafeReader(chain, proposal.safe)
    owners = []
    for address in roster.owners:
        name, signature = roster.name(address), by_signer.get(address)
        approved = safe is not None and bool(safe.approved_hashes(address, proposal.safe_tx_hash))
        if signature is not None and signature.kind == "approved_hash" and safe is not None and not approved:
            # recorded as approved, but the chain has no such approval: it would not count (GS025)
            owners.append(OwnerStatus(address, name, False, "approved_hash (not on chain!)", signature.created_at))
        elif signature is not None:
            owners.append(OwnerStatus(address, name, True, signature.kind, signature.created_at))
        elif approved:
            owners.append(OwnerStatus(address, name, True, "approved on chain", None))
        else:
            owners.append(OwnerStatus(address, name, False, None, None))
    strangers = [s.signer for s in proposal.signatures if s.signer not in roster.owners]
    safe_nonce, executed = None, proposal.execution
    if safe is not None:
        safe_nonce = safe.nonce()
        if executed is None and proposal.nonce < safe_nonce:
            from guardian.workflow.execution import find_execution_of

            found = find_execution_of(chain, proposal)
            if found is not None:
                executed = {"tx_hash": to_hex(found.tx_hash), "block": found.block_number, "status": found.status, "executor": found.executor}
    return Status(proposal, owners, roster.threshold, roster.source, strangers, safe_nonce, executed)
