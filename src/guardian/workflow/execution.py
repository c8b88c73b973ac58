"""Use case: execute a signed proposal through the Safe's ``execTransaction``, idempotently.

``execute_proposal`` never sends twice and never reports a failure as a success:

1. A transaction recorded as ``pending`` in the file is reconciled by its hash first: mined
   (record the outcome), still in the mempool (wait), or dropped (clear the record; only then
   send again, from the account's pending nonce, i.e. the same EVM nonce).
2. If the Safe's nonce has moved past the proposal's, the chain is asked what used it: this
   safeTxHash (``ExecutionSuccess`` / ``ExecutionFailure``: "already executed by 0x... in
   block N") or another one (``NonceAlreadyUsedError`` naming it). Nothing is sent.
3. The threshold is checked against the owners on chain (file signatures of current owners,
   ``approvedHashes`` on chain, and the executor itself when it is an owner).
4. A preflight ``eth_call`` of ``execTransaction`` decodes a revert (``GS0xx`` with its
   meaning, and for GS013 the inner call's own revert reason); a preflight that says the
   inner call would fail inside the Safe is refused unless ``accept_risk``.
5. Gas is estimated, the EVM transaction signed (EIP-1559 fees from the node), its hash
   recorded in the file as ``pending`` (atomically) and only then broadcast; the receipt
   decides: ``ExecutionSuccess`` -> "executed", ``ExecutionFailure`` -> "failed-inside"
   (the Safe transaction was mined, the nonce is used, the action did NOT happen).

Errors are translated at this edge into named guardian errors (``SafeRevertError``,
``NotEnoughSignaturesError``, ``NonceAlreadyUsedError``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from guardian.domain.proposal import Proposal
from guardian.domain.signatures import SafeSignature
from guardian.domain.values import keccak, to_hex, utc_timestamp
from guardian.errors import (
    ExecutionRevertedError,
    GuardianError,
    InnerCallWouldFailError,
    InsufficientFundsError,
    NonceAlreadyUsedError,
    NonceNotReachedError,
    NotEnoughSignaturesError,
    SafeRevertError,
)
from guardian.workflow.proposals import ChainMismatchError, audit, load_proposal, review
from guardian.workflow.signing import refuse_critical, update_proposal

Echo = Callable[[str], None]

EXECUTED, ALREADY_EXECUTED, FAILED_INSIDE, PENDING = "executed", "already-executed", "failed-inside", "pending"
GAS_MARGIN_PERCENT = 20
GAS_MARGIN_FIXED = 10_000
_SAFE_CODE = re.compile(r"^GS\d{3}$")


@dataclass
class ExecuteResult:
    status: str  # executed | already-executed | failed-inside | pending
    tx_hash: str | None
    block: int | None
    executor: str | None
    gas_used: int | None
    message: str
    proposal: Proposal | None = None

    @property
    def ok(self) -> bool:
        """True only when the action is known to have happened on chain."""
        return self.status in (EXECUTED, ALREADY_EXECUTED)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "ok": self.ok,
            "tx_hash": self.tx_hash,
            "block": self.block,
            "executor": self.executor,
            "gas_used": self.gas_used,
            "message": self.message,
            "id": self.proposal.id if self.proposal else None,
            "safe_tx_hash": self.proposal.hashes["safe_tx"] if self.proposal else None,
        }


# -- helpers shared with approve ---------------------------------------------------------------


def registry_for(proposal: Proposal, playbook=None):
    """The ABI registry used to decode reverts: the playbook's contracts, or the Safe's own ABIs."""
    from guardian.domain.intent import Context

    if playbook is not None and playbook.safe.address.lower() == proposal.safe.lower():
        return Context.from_playbook(playbook, safe=proposal.safe).registry
    timelock = proposal.timelock["address"] if proposal.timelock else None
    return Context.bare(proposal.safe, timelock=timelock).registry


def translate_revert(error, registry, what: str, detail: str | None = None) -> GuardianError:
    """A ``CallRevertedError`` of a Safe call -> ``SafeRevertError`` (GS code) or ``ExecutionRevertedError``."""
    from guardian.domain.abi import safe_error_meaning

    code = error.reason.strip()
    if _SAFE_CODE.match(code):
        return SafeRevertError(code, safe_error_meaning(code) or "unknown Safe error code", detail)
    text = registry.decode_revert(error.data) if error.data else error.reason
    return ExecutionRevertedError(f"{what} (preflight eth_call)", text + (f"; {detail}" if detail else ""))


def send_transaction(
    chain,
    signer,
    *,
    to: str,
    data: bytes,
    gas_limit: int | None = None,
    receipt_timeout: float = 120.0,
    before_send: Callable[[bytes], None] | None = None,
    after_rejected: Callable[[bytes], None] | None = None,
    echo: Echo | None = None,
):
    """Sign an EIP-1559 (or legacy-fee) transaction with ``signer``, send it, wait for the receipt.

    ``before_send(tx_hash)`` runs after signing and before broadcasting (to record the hash);
    ``after_rejected(tx_hash)`` runs if the node refuses the transaction outright (it never
    entered the mempool). Returns ``(tx_hash, receipt or None if not mined in time)``.
    """
    from guardian.errors import RpcRejectedError

    from guardian.errors import CallRevertedError

    sender = signer.address()
    try:
        gas = gas_limit or estimate_gas(chain, {"from": sender, "to": to, "data": data})
    except CallRevertedError as error:
        detail = "the chain changed since the preflight: another guardian's transaction for this nonce may be pending or just mined; rerun to reconcile"
        from guardian.domain.abi import AbiRegistry

        raise translate_revert(error, AbiRegistry(), "gas estimation", detail) from error
    fees = chain.fee_params()
    price = fees.get("maxFeePerGas", fees.get("gasPrice", 0))
    balance = chain.get_balance(sender)
    if balance < gas * price:
        raise InsufficientFundsError(sender, balance, gas * price)
    tx = {
        "from": sender,
        "to": to,
        "value": 0,
        "data": bytes(data),
        "gas": gas,
        "nonce": chain.get_transaction_count(sender, "pending"),
        "chainId": chain.chain_id(),
        **fees,
    }
    raw = signer.sign_transaction(tx)
    tx_hash = keccak(raw)
    if before_send is not None:
        before_send(tx_hash)
    try:
        chain.send_raw_transaction(raw)
    except RpcRejectedError as error:
        if not any(word in error.reason.lower() for word in ("already known", "known transaction", "already imported")):
            if after_rejected is not None:
                after_rejected(tx_hash)
            raise  # else: these very bytes are already in the mempool; wait for them
    if echo is not None:
        echo(f"Sent {to_hex(tx_hash)} (EVM nonce {tx['nonce']}, gas limit {gas}); waiting for the receipt...")
    return tx_hash, chain.wait_for_receipt(tx_hash, timeout=receipt_timeout)


def estimate_gas(chain, tx: dict) -> int:
    estimate = chain.estimate_gas(tx)
    return estimate + estimate * GAS_MARGIN_PERCENT // 100 + GAS_MARGIN_FIXED


# -- finding what happened to a nonce -------------------------------------------------------------


def _first_block_past(chain, safe, nonce: int) -> int | None:
    """The first block whose state has the Safe's nonce above ``nonce`` (binary search on
    historical state); None if the node cannot answer historical calls (not an archive node)."""
    from guardian.errors import NotASafeError, RpcRejectedError

    def moved(block: int) -> bool:
        try:
            return safe.nonce(block=block) > nonce
        except NotASafeError:  # not deployed yet at that block
            return False

    latest = chain.block_number()
    try:
        if not moved(latest):
            return None
        low, high = 0, latest  # moved(high) is True
        while low < high:
            middle = (low + high) // 2
            if moved(middle):
                high = middle
            else:
                low = middle + 1
        return low
    except RpcRejectedError:
        return None


CLOCK_SKEW_SECONDS = 3600


def _block_before(chain, created_at: str) -> int:
    """The last block mined before ``created_at`` (minus an hour of clock skew); 0 if none.
    Binary search on block headers, which every node keeps."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(created_at[:-1]).replace(tzinfo=timezone.utc).timestamp() - CLOCK_SKEW_SECONDS

    def time_of(block: int) -> int:
        return int((chain.get_block(block) or {}).get("timestamp", "0x0"), 16)

    low, high = 0, chain.block_number()
    if time_of(low) > moment:
        return 0
    while low < high:  # time_of(low) <= moment
        middle = (low + high + 1) // 2
        if time_of(middle) <= moment:
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True)
class NonceUse:
    """What consumed a Safe nonce: the safeTxHash executed, how, where and by whom."""

    safe_tx_hash: bytes
    status: str  # success | failure
    tx_hash: bytes
    block_number: int
    executor: str


def nonce_use(chain, proposal: Proposal) -> NonceUse | None:
    """The Safe transaction that used ``proposal.nonce`` (this one or another), if events show it."""
    from guardian.adapters.chain import SafeReader

    safe = SafeReader(chain, proposal.safe)
    block = _first_block_past(chain, safe, proposal.nonce)
    if block is None:  # no historical state: search the logs from when the proposal was created
        found = safe.find_execution(proposal.safe_tx_hash, from_block=_block_before(chain, proposal.created["at"]))
        if found is None:
            return None
        return NonceUse(proposal.safe_tx_hash, found.status, found.tx_hash, found.block_number, found.executor)
    events = safe.execution_events(block, block)
    ours = [event for event in events if event.safe_tx_hash == proposal.safe_tx_hash]
    if ours:
        event = ours[-1]
    else:
        before = safe.nonce(block=block - 1) if block > 0 else 0
        index = proposal.nonce - before
        if not 0 <= index < len(events):
            return None
        event = events[index]
    transaction = chain.get_transaction(event.tx_hash)
    executor = transaction.from_address if transaction else "0x" + "00" * 20
    return NonceUse(event.safe_tx_hash, "success" if event.success else "failure", event.tx_hash, event.block_number, executor)


def find_execution_of(chain, proposal: Proposal):
    """How this proposal was executed on chain (``status``, ``tx_hash``, ``block_number``, ``executor``), or None."""
    use = nonce_use(chain, proposal)
    if use is None or use.safe_tx_hash != proposal.safe_tx_hash:
        return None
    return use


# -- threshold ------------------------------------------------------------------------------------


def collect_signatures(proposal: Proposal, safe, executor: str, names: dict[str, str] | None = None, echo: Echo | None = None) -> list[SafeSignature]:
    """The owner signatures ``execTransaction`` will get, or ``NotEnoughSignaturesError``.

    Counted: file signatures of current owners (an approved-hash one only if the approval is
    on chain or its owner executes), on-chain ``approvedHashes`` of the other owners, and the
    executor itself when it is an owner (the Safe accepts ``msg.sender``'s own approval).
    """
    from guardian.domain.signatures import approved_hash_signature

    names = names or {}
    owners = safe.owners()
    threshold = safe.threshold()
    safe_tx_hash = proposal.safe_tx_hash
    chosen: dict[str, SafeSignature] = {}
    for signature in proposal.signatures:
        if signature.signer not in owners:
            continue
        if signature.kind == "approved_hash" and signature.signer != executor and not safe.approved_hashes(signature.signer, safe_tx_hash):
            continue
        chosen[signature.signer] = signature
    for owner in owners:
        if owner not in chosen and owner != executor and safe.approved_hashes(owner, safe_tx_hash):
            chosen[owner] = SafeSignature(owner, "approved_hash", approved_hash_signature(owner), utc_timestamp())
    if executor in owners and executor not in chosen and len(chosen) < threshold:
        chosen[executor] = SafeSignature(executor, "approved_hash", approved_hash_signature(executor), utc_timestamp())
        if echo is not None:
            echo(f"The executor {executor} is an owner: its own approval counts (msg.sender)")
    if len(chosen) < threshold:
        missing = [names.get(owner, owner) for owner in owners if owner not in chosen]
        raise NotEnoughSignaturesError(threshold, len(chosen), missing)
    return list(chosen.values())


# -- preflight ------------------------------------------------------------------------------------


def inner_call_reason(chain, proposal: Proposal, registry) -> str:
    """Why the Safe's inner call fails, found by simulating it from the Safe's address."""
    from guardian.domain.multisend import decode_multisend, is_multisend
    from guardian.errors import CallRevertedError

    if proposal.operation == 0:
        calls = [(None, proposal.to, proposal.value, proposal.data)]
    elif is_multisend(proposal.data):
        calls = [(index, c.to, c.value, c.data) for index, c in enumerate(decode_multisend(proposal.data))]
    else:
        return "a DELEGATECALL failed (cannot be simulated alone)"
    for index, to, value, data in calls:
        try:
            chain.call(to, data, from_=proposal.safe, value=value)
        except CallRevertedError as error:
            where = f"batch call {index} to {to}" if index is not None else f"the call to {to}"
            reason = registry.decode_revert(error.data, to) if error.data else error.reason
            return f"{where} reverts: {reason}"
    return "the inner call succeeds when simulated alone (out of gas? raise safeTxGas or --gas-limit)"


def preflight(chain, proposal: Proposal, calldata: bytes, executor: str, registry) -> str | None:
    """``eth_call`` of execTransaction from the executor. None if the inner call succeeds; the
    reason if the Safe would mine it with a failing inner call; raises on a revert."""
    from guardian.errors import CallRevertedError

    try:
        answer = chain.call(proposal.safe, calldata, from_=executor)
    except CallRevertedError as error:
        detail = inner_call_reason(chain, proposal, registry) if error.reason.strip() == "GS013" else None
        raise translate_revert(error, registry, "execTransaction", detail) from error
    if len(answer) >= 32 and int.from_bytes(answer[:32], "big") == 1:
        return None
    return inner_call_reason(chain, proposal, registry)


# -- recording --------------------------------------------------------------------------------


def _record(path: Path, proposal: Proposal, execution: dict | None) -> Proposal:
    def change(current: Proposal) -> Proposal:
        return replace(current, execution=execution)

    return update_proposal(path, proposal, change)


def _execution_record(tx_hash: bytes, block: int | None, status: str, executor: str) -> dict:
    return {"tx_hash": to_hex(tx_hash), "block": block, "status": status, "executor": executor}


def _outcome_in_receipt(receipt, proposal: Proposal) -> str | None:
    """success / failure from the Safe's execution event for this safeTxHash in ``receipt``."""
    from guardian.adapters.chain import EXECUTION_FAILED_V100_TOPIC, EXECUTION_FAILURE_TOPIC, EXECUTION_SUCCESS_TOPIC

    wanted = proposal.safe_tx_hash
    for log in receipt.logs:
        if log.address.lower() != proposal.safe.lower() or not log.topics:
            continue
        topic = log.topics[0]
        hashes = (log.topics[1:2] or [log.data[:32]]) if topic != EXECUTION_FAILED_V100_TOPIC else [log.data[:32]]
        if wanted not in hashes:
            continue
        if topic == EXECUTION_SUCCESS_TOPIC:
            return "success"
        if topic in (EXECUTION_FAILURE_TOPIC, EXECUTION_FAILED_V100_TOPIC):
            return "failure"
    return "success" if receipt.status == 1 and proposal.safe_version == "1.0.0" else None


def _result_from_use(use: NonceUse, proposal: Proposal, names: dict[str, str], rerun: bool) -> ExecuteResult:
    who = f"{use.executor} ({names[use.executor]})" if use.executor in names else use.executor
    tx_hash = to_hex(use.tx_hash)
    if use.status == "success":
        verb = "already executed" if rerun else "executed"
        message = f"{verb} by {who} in block {use.block_number} (transaction {tx_hash})"
        return ExecuteResult(ALREADY_EXECUTED if rerun else EXECUTED, tx_hash, use.block_number, use.executor, None, message, proposal)
    prefix = "already executed" if rerun else "executed"
    message = (
        f"FAILED: {prefix} by {who} in block {use.block_number} (transaction {tx_hash}) but the inner call "
        "FAILED inside the Safe (ExecutionFailure): the action did NOT happen and nonce "
        f"{proposal.nonce} is used"
    )
    return ExecuteResult(FAILED_INSIDE, tx_hash, use.block_number, use.executor, None, message, proposal)


def _settle_used_nonce(chain, path: Path, proposal: Proposal, names: dict[str, str]) -> ExecuteResult:
    """The Safe's nonce is past the proposal's: report (and record) what used it; never send."""
    use = nonce_use(chain, proposal)
    if use is None:
        raise NonceAlreadyUsedError(proposal.nonce, None)
    if use.safe_tx_hash != proposal.safe_tx_hash:
        raise NonceAlreadyUsedError(proposal.nonce, to_hex(use.safe_tx_hash), to_hex(use.tx_hash), use.block_number, use.executor)
    record = _execution_record(use.tx_hash, use.block_number, use.status, use.executor)
    if proposal.execution != record:
        proposal = _record(path, proposal, record)
    return _result_from_use(use, proposal, names, rerun=True)


def _finish(chain, path: Path, proposal: Proposal, receipt, executor: str, names: dict[str, str]) -> ExecuteResult | None:
    """Record the outcome of a mined ``execTransaction``; None if it reverted (record cleared)."""
    outcome = _outcome_in_receipt(receipt, proposal) if receipt.status == 1 else None
    if outcome is None:
        _record(path, proposal, None)
        return None
    proposal = _record(path, proposal, _execution_record(receipt.tx_hash, receipt.block_number, outcome, receipt.from_address))
    use = NonceUse(proposal.safe_tx_hash, outcome, receipt.tx_hash, receipt.block_number, receipt.from_address)
    result = _result_from_use(use, proposal, names, rerun=False)
    result.gas_used = receipt.gas_used
    return result


def _reconcile_pending(chain, path: Path, proposal: Proposal, names, echo: Echo, receipt_timeout: float) -> tuple[ExecuteResult | None, Proposal]:
    """A pending record: mined -> its outcome; in the mempool -> wait; dropped -> clear the record."""
    from guardian.domain.values import parse_hex

    record = proposal.execution
    tx_hash = parse_hex(record["tx_hash"])
    receipt = chain.get_receipt(tx_hash)
    if receipt is None and chain.get_transaction(tx_hash) is not None:
        echo(f"Transaction {record['tx_hash']} from an earlier run is still pending; waiting up to {receipt_timeout:g}s")
        receipt = chain.wait_for_receipt(tx_hash, timeout=receipt_timeout)
        if receipt is None:
            message = f"transaction {record['tx_hash']} is still pending; rerun later (nothing was resent)"
            return ExecuteResult(PENDING, record["tx_hash"], None, record["executor"], None, message, proposal), proposal
    if receipt is None:
        echo(f"Transaction {record['tx_hash']} from an earlier run is unknown to the node (dropped); clearing it")
        return None, _record(path, proposal, None)
    echo(f"Transaction {record['tx_hash']} from an earlier run was mined in block {receipt.block_number}")
    result = _finish(chain, path, proposal, receipt, record["executor"], names)
    if result is not None:
        if result.status == EXECUTED:
            result.status = ALREADY_EXECUTED
            result.message = f"already {result.message}" if result.message.startswith("executed") else result.message
        return result, result.proposal
    echo(f"Transaction {record['tx_hash']} reverted on chain; clearing it")
    return None, load_proposal(path)


# -- execute ----------------------------------------------------------------------------------


def execute_proposal(path: str | Path, signer, *, chain, **options) -> ExecuteResult:
    """Execute the proposal at ``path`` (see ``_execute_proposal``), and audit the outcome."""
    result = _execute_proposal(path, signer, chain=chain, **options)
    audit(path, "execute", id=result.proposal.id if result.proposal else None, status=result.status, tx_hash=result.tx_hash, block=result.block, executor=result.executor)
    return result


def _execute_proposal(
    path: str | Path,
    signer,
    *,
    chain,
    playbook=None,
    gas_limit: int | None = None,
    echo: Echo = print,
    receipt_timeout: float = 120.0,
    accept_risk: bool = False,
    network: str | None = None,
) -> ExecuteResult:
    """Execute the proposal at ``path`` from ``signer``'s account; see the module docstring.

    Returns an ``ExecuteResult`` whose ``status`` is executed, already-executed,
    failed-inside (mined, inner call failed: a FAILURE) or pending (sent, not mined within
    ``receipt_timeout``; rerun to reconcile). Refusals raise a ``GuardianError`` and leave
    the file unchanged.
    """
    from guardian.adapters.chain import SafeReader, build_exec_transaction_calldata
    from guardian.domain.signatures import pack_signatures

    path = Path(path)
    proposal = load_proposal(path)
    if chain.chain_id() != proposal.chain_id:
        raise ChainMismatchError(chain.display_url, proposal.chain_id, chain.chain_id())
    names = _owner_names(playbook, proposal)
    if proposal.execution is not None and proposal.execution["status"] == "pending":
        result, proposal = _reconcile_pending(chain, path, proposal, names, echo, receipt_timeout)
        if result is not None:
            return result
    safe = SafeReader(chain, proposal.safe)
    safe_nonce = safe.nonce()
    if proposal.execution is not None and safe_nonce == proposal.nonce:
        echo(f"WARNING: the file records transaction {proposal.execution['tx_hash']}, but the Safe's nonce has not moved on this chain (reorg, or another network?)")
    if safe_nonce > proposal.nonce:
        return _settle_used_nonce(chain, path, proposal, names)
    if safe_nonce < proposal.nonce:
        raise NonceNotReachedError(proposal.nonce, safe_nonce)
    checked = review(proposal, playbook, network=network, chain=chain, own_path=path)
    refuse_critical("execute", checked.findings, accept_risk)
    executor = signer.address()
    signatures = collect_signatures(proposal, safe, executor, names, echo)
    tx = proposal.safe_tx
    calldata = build_exec_transaction_calldata(
        to=tx.to, value=tx.value, data=tx.data, operation=tx.operation, signatures=pack_signatures(signatures),
        safe_tx_gas=tx.safe_tx_gas, base_gas=tx.base_gas, gas_price=tx.gas_price, gas_token=tx.gas_token,
        refund_receiver=tx.refund_receiver,
    )  # fmt: skip
    registry = registry_for(proposal, playbook)
    inner_failure = preflight(chain, proposal, calldata, executor, registry)
    if inner_failure is not None:
        if not accept_risk:
            raise InnerCallWouldFailError(proposal.hashes["safe_tx"], inner_failure)
        echo(f"WARNING: the inner call will fail ({inner_failure}); sending anyway (--i-understand-the-risk)")
    echo(f"Executing {proposal.hashes['safe_tx']} (nonce {proposal.nonce}) with {len(signatures)} signature(s) from {executor}")
    recorded: dict[str, Proposal] = {}

    def before_send(tx_hash: bytes) -> None:
        recorded["proposal"] = _record(path, proposal, _execution_record(tx_hash, None, "pending", executor))

    def after_rejected(tx_hash: bytes) -> None:
        _record(path, recorded.get("proposal", proposal), proposal.execution)

    tx_hash, receipt = send_transaction(
        chain, signer, to=proposal.safe, data=calldata, gas_limit=gas_limit, receipt_timeout=receipt_timeout,
        before_send=before_send, after_rejected=after_rejected, echo=echo,
    )  # fmt: skip
    proposal = recorded["proposal"]
    if receipt is None:
        message = f"sent {to_hex(tx_hash)} but it was not mined within {receipt_timeout:g}s; rerun to reconcile (it will not be sent twice)"
        return ExecuteResult(PENDING, to_hex(tx_hash), None, executor, None, message, proposal)
    result = _finish(chain, path, proposal, receipt, executor, names)
    if result is not None:
        return result
    if safe.nonce() > proposal.nonce:  # someone else's execution of this nonce landed first
        return _settle_used_nonce(chain, path, load_proposal(path), names)
    raise ExecutionRevertedError("execTransaction", f"reverted on chain in block {receipt.block_number}", to_hex(tx_hash))


def _owner_names(playbook, proposal: Proposal) -> dict[str, str]:
    if playbook is None or playbook.safe.address.lower() != proposal.safe.lower():
        return {}
    return {address: name for name, address in playbook.safe.owners.items()}
