"""Dry-run a proposal on an anvil fork, through the Safe, exactly as it would execute.

``simulate_proposal(proposal, playbook)`` forks the playbook network (or ``fork_url``) at a
pinned block, or reuses a given ``chain`` (drills run it on a snapshot), and executes the
proposal's exact Safe transaction with ``execTransaction``. Missing signatures are supplied
the way a real execution could see them: the owners that have not signed are impersonated
and call ``approveHash(safeTxHash)`` on the fork, and their approved-hash signatures (v = 1)
are packed with the real ones, ascending by owner. The target is never called directly.

The report holds: success or the decoded revert (GS codes with their meaning, custom errors
such as ``ParameterOutOfBounds(...)``, revert strings; for a call failing inside the Safe,
the inner call is replayed from the Safe to get its own reason), gas used, the events
decoded against the playbook ABIs, the post-conditions of every action, and the state those
look at before and after. A timelock ``schedule`` goes on: time is warped past the delay, the
``execute`` of the scheduled operation is run through the Safe the same way, the final state
is checked, and the real wall-clock delay the guardians will face is reported.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from guardian.config import Playbook
from guardian.domain.proposal import Proposal
from guardian.errors import CallRevertedError, GuardianError, NoForkSourceError, NotASafeError
from guardian.workflow.checks import CheckResult, CheckRunner, PendingCheck, decode_revert_anywhere, intent_checks, resolve

SAFE_NONCE_SLOT = 5  # Safe 1.0.0 .. 1.5.0: singleton, modules, owners, ownerCount, threshold, nonce
FUNDING_WEI = 100 * 10**18
DONE_TIMESTAMP = 1  # OpenZeppelin TimelockController: getTimestamp() of an executed operation


@dataclass
class SafeExecution:
    """One ``execTransaction`` on the fork."""

    label: str
    safe_tx_hash: str
    nonce: int
    success: bool
    reason: str | None = None
    gas_used: int | None = None
    tx_hash: str | None = None
    block: int | None = None
    executor: str | None = None
    signed_by: list[str] = field(default_factory=list)
    approved_on_fork: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StateChange:
    description: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.description, "before": self.before, "after": self.after, "changed": self.changed}


@dataclass
class SimulationReport:
    proposal_id: str
    summary: str
    safe: str
    chain_id: int
    nonce: int
    safe_tx_hash: str
    fork: dict[str, Any]
    executions: list[SafeExecution] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    skipped_checks: list[str] = field(default_factory=list)
    state_changes: list[StateChange] = field(default_factory=list)
    timelock: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    blocked: str | None = None  # why nothing was executed (e.g. a used nonce)

    @property
    def executed(self) -> bool:
        return bool(self.executions) and all(e.success for e in self.executions) and self.blocked is None

    @property
    def passed(self) -> bool:
        return self.executed and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        if not self.executed:
            return "WOULD FAIL"
        return "WOULD SUCCEED" if self.passed else "WOULD NOT HAVE THE INTENDED EFFECT"

    @property
    def failure(self) -> str | None:
        """One line: why the simulation did not pass (None if it passed)."""
        if self.blocked:
            return self.blocked
        for execution in self.executions:
            if not execution.success:
                return f"{execution.label}: {execution.reason}"
        for check in self.checks:
            if not check.passed:
                return f"post-condition failed: {check.description}: {check.detail}"
        return None

    @property
    def gas_used(self) -> int:
        return sum(e.gas_used or 0 for e in self.executions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal": self.proposal_id,
            "summary": self.summary,
            "verdict": self.verdict,
            "passed": self.passed,
            "failure": self.failure,
            "safe": self.safe,
            "chain_id": self.chain_id,
            "nonce": self.nonce,
            "safe_tx_hash": self.safe_tx_hash,
            "fork": self.fork,
            "gas_used": self.gas_used,
            "executions": [e.as_dict() for e in self.executions],
            "postconditions": [c.as_dict() for c in self.checks],
            "skipped_postconditions": self.skipped_checks,
            "state_changes": [s.as_dict() for s in self.state_changes],
            "timelock": self.timelock,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }

    def to_markdown(self) -> str:
        lines = [
            f"## Simulation of proposal `{self.proposal_id}`: **{self.verdict}**",
            "",
            f"- Intent: {self.summary}",
            f"- Safe `{self.safe}` on chain {self.chain_id}, nonce {self.nonce}",
            f"- safeTxHash `{self.safe_tx_hash}`",
            f"- Fork: {self.fork.get('description')}",
            f"- Gas used: {self.gas_used:,}",
        ]
        if self.failure:
            lines.append(f"- **Reason:** {self.failure}")
        if self.executions:
            lines += ["", "### Executions through the Safe", "", "| step | result | gas | tx | block | approved on the fork |", "|---|---|---|---|---|---|"]
            for e in self.executions:
                result = "success" if e.success else f"REVERT: {e.reason}"
                lines.append(f"| {e.label} | {result} | {e.gas_used or '-'} | `{e.tx_hash or '-'}` | {e.block or '-'} | {', '.join(e.approved_on_fork) or '-'} |")
            events = [(e.label, ev) for e in self.executions for ev in e.events]
            if events:
                lines += ["", "### Events", ""]
                lines += [f"- ({label}) {describe_event(ev)}" for label, ev in events]
        if self.checks or self.skipped_checks:
            lines += ["", "### Post-conditions", "", "| check | expected | actual | result |", "|---|---|---|---|"]
            for c in self.checks:
                lines.append(f"| {c.description} | {c.expected} | {c.actual} | {'PASS' if c.passed else 'FAIL'} |")
            lines += [f"| {text} | | | not checked |" for text in self.skipped_checks]
        if self.state_changes:
            lines += ["", "### State changes", "", "| what | before | after |", "|---|---|---|"]
            lines += [f"| {s.description} | {s.before} | {s.after} |" for s in self.state_changes]
        if self.timelock:
            lines += ["", "### Timelock", "", f"- {timelock_sentence(self.timelock)}"]
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- small helpers


def human_duration(seconds: float) -> str:
    """``3600`` -> ``1 h 0 min``; ``90`` -> ``1 min 30 s``; ``200000`` -> ``2 d 7 h``."""
    seconds = max(int(round(seconds)), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def timelock_sentence(info: dict[str, Any]) -> str:
    text = f"{info['kind']} of operation {info['operation_id']}"
    if info.get("delay_seconds") is not None:
        text += f"; delay {human_duration(info['delay_seconds'])}"
    if info.get("ready_at_utc"):
        text += f"; ready at {info['ready_at_utc']}, in {human_duration(info['wait_seconds'])} (wall clock)"
    if info.get("warped_seconds"):
        text += f"; the fork was warped {human_duration(info['warped_seconds'])} to execute it"
    return text


def describe_event(event: dict) -> str:
    """One line per event; long hex values (calldata, packed signatures) are shortened."""
    if event.get("event") is None:
        return f"{event['address']}: unknown event {event.get('topic0')}"
    args = ", ".join(f"{k}={_short(v)}" for k, v in event["args"].items())
    return annotate_text_words(f"{event['contract']}.{event['event']}({args})")


_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}\b")


def annotate_text_words(text: str) -> str:
    """Show bytes32 words that hold short text (``0x7769...00`` -> ``0x7769...00 ("withdrawalCap")``)."""

    def label(match: re.Match) -> str:
        raw = bytes.fromhex(match.group(0)[2:]).rstrip(b"\0")
        if len(raw) >= 3 and all(32 <= b < 127 for b in raw):
            return f'{match.group(0)} ("{raw.decode()}")'
        return match.group(0)

    return _BYTES32.sub(label, text)


def _short(value: str) -> str:
    if isinstance(value, str) and value.startswith("0x") and len(value) > 66:
        return f"{value[:18]}...({(len(value) - 2) // 2} bytes)"
    return value


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _block_timestamp(chain) -> int:
    return int(chain.get_block("latest")["timestamp"], 16)


def _owner_label(playbook: Playbook | None, address: str) -> str:
    name = playbook.safe.owner_name(address) if playbook else None
    return name or address


def fund(chain, address: str) -> None:
    if chain.get_balance(address) < 10**18:
        chain.set_balance(address, FUNDING_WEI)


def send_as(chain, sender: str, to: str, data: bytes, value: int = 0, gas: int | None = None):
    """Send a transaction from an impersonated ``sender``; returns the receipt (waits)."""
    chain.impersonate(sender)
    try:
        fund(chain, sender)
        tx = {"from": sender, "to": to, "data": _hex(data), "value": hex(value)}
        if gas is None:
            gas = int(chain.estimate_gas({"from": sender, "to": to, "data": data, "value": value}) * 1.3) + 50_000
        tx["gas"] = hex(gas)
        tx_hash = bytes.fromhex(chain.rpc("eth_sendTransaction", [tx])[2:])
        receipt = chain.wait_for_receipt(tx_hash, timeout=60)
        if receipt is None:
            raise GuardianError(f"the fork did not mine transaction {_hex(tx_hash)} within 60 s")
        return receipt
    finally:
        chain.stop_impersonating(sender)


def _decoded_events(registry, receipt) -> list[dict]:
    from guardian.domain.abi import format_value

    events = []
    for log in receipt.logs:
        decoded = registry.decode_log(log.address, log.topics, log.data)
        if decoded is None:
            events.append({"address": log.address, "contract": registry.contract_name(log.address), "event": None, "topic0": _hex(log.topics[0]) if log.topics else None})
            continue
        args = {arg.name: format_value(arg.type, arg.value) for arg in decoded.args}
        events.append({"address": log.address, "contract": decoded.contract or log.address, "event": decoded.name, "args": args})
    return events


def _call_name(registry, to: str, data: bytes) -> str:
    decoded = registry.decode_nested(to, data)
    name = f"{decoded.contract or to}.{(decoded.function or 'unknown').split('(')[0]}"
    if decoded.inner:
        name += " -> " + ", ".join(f"{i.contract or i.address}.{(i.function or 'unknown').split('(')[0]}" for i in decoded.inner)
    return name


# --------------------------------------------------------------------------- execution on a fork


def diagnose_inner_failure(chain, registry, playbook: Playbook | None, tx) -> str:
    """Why the Safe's inner call failed: replay each call from the Safe (state applied in order), then revert."""
    from guardian.domain.multisend import Call, decode_multisend, is_multisend

    if tx.operation == 1 and not is_multisend(tx.data):
        return "a DELEGATECALL inside the Safe reverted (it cannot be replayed outside the Safe)"
    calls = decode_multisend(tx.data) if tx.operation == 1 else [Call(tx.to, tx.value, tx.data)]
    known = [c.address for c in playbook.contracts.values()] if playbook else []
    snapshot = chain.snapshot()
    try:
        chain.impersonate(tx.safe)
        if chain.get_balance(tx.safe) < sum(c.value for c in calls) + 10**18:
            chain.set_balance(tx.safe, sum(c.value for c in calls) + FUNDING_WEI)
        for index, call in enumerate(calls):
            where = _call_name(registry, call.to, call.data)
            if len(calls) > 1:
                where = f"call {index + 1} of {len(calls)} ({where})"
            try:
                chain.call(call.to, call.data, from_=tx.safe, value=call.value)
            except CallRevertedError as error:
                inner_targets = [i.address for i in registry.decode_nested(call.to, call.data).inner]
                reason = decode_revert_anywhere(registry, error.data, [call.to, *inner_targets, *known]) if error.data else error.reason
                return f"{where} reverted: {reason}"
            receipt = send_as(chain, tx.safe, call.to, call.data, call.value)
            if receipt.status != 1:
                return f"{where} reverted (no reason returned)"
        return "each inner call succeeds on its own: the failure needs the Safe's context (gas, or a DELEGATECALL)"
    finally:
        chain.revert(snapshot)


def execute_through_safe(
    chain,
    registry,
    tx,
    safe_tx_hash: bytes,
    signatures=(),
    *,
    label: str = "proposal",
    playbook: Playbook | None = None,
    notes: list[str] | None = None,
) -> SafeExecution:
    """Run ``tx`` (a ``SafeTx``) with ``execTransaction`` on a fork, topping up signatures with approveHash."""
    from guardian.adapters.chain import SafeReader, build_approve_hash_calldata, build_exec_transaction_calldata
    from guardian.domain.signatures import SafeSignature, approved_hash_signature, pack_signatures
    from guardian.domain.values import to_hex, utc_timestamp

    notes = notes if notes is not None else []
    safe = SafeReader(chain, tx.safe)
    owners = safe.owners()
    threshold = safe.threshold()
    owner_set = {o.lower() for o in owners}
    execution = SafeExecution(label=label, safe_tx_hash=to_hex(safe_tx_hash), nonce=tx.nonce, success=False)
    used, approvers = [], []
    for signature in signatures:
        if signature.signer.lower() not in owner_set:
            notes.append(f"{label}: the signature of {signature.signer} is ignored: not an owner of the Safe on this chain")
            continue
        if len(used) >= threshold:
            break
        if signature.kind == "approved_hash" and not safe.approved_hashes(signature.signer, safe_tx_hash):
            notes.append(f"{label}: {_owner_label(playbook, signature.signer)} has not called approveHash yet; done on the fork")
            approvers.append(signature.signer)
        used.append(signature)
        execution.signed_by.append(_owner_label(playbook, signature.signer))
    signed = {s.signer.lower() for s in used}
    for owner in owners:
        if len(used) >= threshold:
            break
        if owner.lower() in signed:
            continue
        approvers.append(owner)
        used.append(SafeSignature(owner, "approved_hash", approved_hash_signature(owner), utc_timestamp()))
    for owner in approvers:
        receipt = send_as(chain, owner, tx.safe, build_approve_hash_calldata(safe_tx_hash))
        if receipt.status != 1:
            raise GuardianError(f"approveHash by {owner} reverted on the fork")
        execution.approved_on_fork.append(_owner_label(playbook, owner))
    calldata = build_exec_transaction_calldata(
        to=tx.to, value=tx.value, data=tx.data, operation=tx.operation, signatures=pack_signatures(used),
        safe_tx_gas=tx.safe_tx_gas, base_gas=tx.base_gas, gas_price=tx.gas_price, gas_token=tx.gas_token,
        refund_receiver=tx.refund_receiver,
    )  # fmt: skip
    executor = approvers[0] if approvers else owners[0]
    execution.executor = executor
    chain.impersonate(executor)
    fund(chain, executor)
    try:
        chain.call(tx.safe, calldata, from_=executor)
        gas = int(chain.estimate_gas({"from": executor, "to": tx.safe, "data": calldata}) * 1.3) + 50_000
    except CallRevertedError as error:
        execution.reason = registry.decode_revert(error.data, tx.safe) if error.data else error.reason
        if execution.reason.startswith("GS013"):
            execution.reason += f"; inner failure: {diagnose_inner_failure(chain, registry, playbook, tx)}"
        execution.reason = annotate_text_words(execution.reason)
        return execution
    finally:
        chain.stop_impersonating(executor)
    receipt = send_as(chain, executor, tx.safe, calldata, gas=gas)
    execution.tx_hash, execution.block, execution.gas_used = to_hex(receipt.tx_hash), receipt.block_number, receipt.gas_used
    execution.events = _decoded_events(registry, receipt)
    if receipt.status != 1:
        execution.reason = "execTransaction reverted on sending (it succeeded as a call): " + diagnose_inner_failure(chain, registry, playbook, tx)
        return execution
    failure = [e for e in execution.events if e.get("event") in ("ExecutionFailure", "ExecutionFailed")]
    if failure:
        execution.reason = annotate_text_words(
            "ExecutionFailure: the inner call failed inside the Safe (the nonce was used); " + diagnose_inner_failure(chain, registry, playbook, tx)
        )
        return execution
    execution.success = True
    return execution


# --------------------------------------------------------------------------- the use case


def simulate_proposal(
    proposal: Proposal,
    playbook: Playbook,
    *,
    fork_url: str | None = None,
    fork_block: int | None = None,
    chain=None,
    warp_timelock: bool = True,
    network: str | None = None,
    actors: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> SimulationReport:
    """Execute ``proposal`` through the Safe on a fork (or on ``chain``) and report what happened."""
    if chain is not None:
        fork = {"source": chain.display_url, "block": chain.block_number(), "pinned_by": "given chain"}
        fork["description"] = f"the given chain {chain.display_url} at block {fork['block']}"
        return _simulate(chain, proposal, playbook, fork, warp_timelock, actors)
    from guardian.adapters.fork import open_fork

    net = playbook.network(network)
    url = fork_url or net.rpc_url
    if not url:
        raise NoForkSourceError(net.name)
    if fork_block is not None:
        block, pinned_by = fork_block, "--block"
    elif net.fork_block is not None and not fork_url:
        block, pinned_by = net.fork_block, f"networks.{net.name}.fork_block"
    else:
        block, pinned_by = None, "the head when the fork started"
    with open_fork(url, block=block, pinned_by=pinned_by, log_dir=log_dir) as running:
        fork = {"source": running.source, "block": running.block, "pinned_by": running.pinned_by, "description": running.describe()}
        return _simulate(running.chain, proposal, playbook, fork, warp_timelock, actors)


def _simulate(chain, proposal: Proposal, playbook: Playbook, fork: dict, warp_timelock: bool, actors) -> SimulationReport:
    from guardian.adapters.chain import SafeReader
    from guardian.domain.intent import Context
    from guardian.workflow.proposals import ChainMismatchError

    started = time.monotonic()
    if chain.chain_id() != proposal.chain_id:
        raise ChainMismatchError(fork.get("source", chain.display_url), proposal.chain_id, chain.chain_id())
    if not chain.get_code(proposal.safe):
        raise NotASafeError(proposal.safe, "eth_getCode", f"has no code on chain {proposal.chain_id} at block {fork['block']}")
    registry = Context.from_playbook(playbook, safe=proposal.safe).registry
    runner = CheckRunner(chain, playbook, actors)
    report = SimulationReport(
        proposal_id=proposal.id,
        summary=proposal.intent["summary"],
        safe=proposal.safe,
        chain_id=proposal.chain_id,
        nonce=proposal.nonce,
        safe_tx_hash=proposal.hashes["safe_tx"],
        fork=fork,
    )
    pending = intent_checks(playbook, proposal.intent["actions"], actors)
    before = [runner.observe(p) for p in pending]

    safe = SafeReader(chain, proposal.safe)
    current = safe.nonce()
    if proposal.nonce < current:
        report.blocked = f"nonce {proposal.nonce} is already used: the Safe's nonce is {current} (executed or replaced)"
        report.seconds = time.monotonic() - started
        return report
    if proposal.nonce > current:
        chain.rpc("anvil_setStorageAt", [proposal.safe, hex(SAFE_NONCE_SLOT), "0x" + proposal.nonce.to_bytes(32, "big").hex()])
        report.notes.append(
            f"the Safe's nonce is {current}: simulated as if the {proposal.nonce - current} proposal(s) queued before it had executed"
        )

    record = proposal.timelock
    if record and record["kind"] == "execute":
        _warp_to_ready(chain, playbook, record, report, warp_timelock)

    first = execute_through_safe(
        chain, registry, proposal.safe_tx, proposal.safe_tx_hash, proposal.signatures,
        label="proposal", playbook=playbook, notes=report.notes,
    )  # fmt: skip
    report.executions.append(first)
    final_ran = {"safe": first.success, "timelock-execute": first.success, "timelock-schedule": False}
    if first.success and record and record["kind"] == "schedule":
        final_ran["timelock-schedule"] = _run_scheduled(chain, registry, playbook, proposal, record, report, warp_timelock)

    for check, was in zip(pending, before):
        if not final_ran.get(check.route, False):
            why = "the timelocked call did not run" if first.success else "the proposal did not execute"
            described = resolve(check.check, check.values, runner.actors).describe()
            report.skipped_checks.append(f"{described} ({check.action}: {why})")
            continue
        report.checks.append(runner.evaluate(check))
        report.state_changes.append(StateChange(_state_label(runner, check), was, runner.observe(check)))
    report.seconds = time.monotonic() - started
    return report


def _state_label(runner: CheckRunner, pending: PendingCheck) -> str:
    check = resolve(pending.check, pending.values, runner.actors)
    args = ", ".join(str(a) for a in check.args)
    if check.call:
        return f"{check.contract}.{check.call.split('(')[0]}({args})"
    return f"{check.contract}.{check.reverts.split('(')[0]}({args}) from {check.sender}"


def _timelock_timestamp(chain, address: str, operation_id: bytes) -> int:
    from guardian.domain.abi import encode_call

    raw = chain.call(address, encode_call("getTimestamp(bytes32)", [operation_id]))
    return int.from_bytes(raw[:32], "big")


def _warp(chain, seconds: int) -> None:
    chain.increase_time(seconds)
    chain.mine()


def _warp_to_ready(chain, playbook: Playbook, record: dict, report: SimulationReport, warp: bool) -> None:
    """The proposal executes a timelock operation: if it is not ready yet, say when it is, and warp there."""
    from guardian.domain.values import parse_hex

    ready = _timelock_timestamp(chain, record["address"], parse_hex(record["operation_id"]))
    now = _block_timestamp(chain)
    info = {"kind": "execute", "operation_id": record["operation_id"], "delay_seconds": None}
    if ready > DONE_TIMESTAMP and ready > now:
        wait = ready - now
        info.update(ready_at_utc=_utc(ready), wait_seconds=wait)
        if warp:
            _warp(chain, wait + 1)
            info["warped_seconds"] = wait + 1
    report.timelock = info


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_scheduled(chain, registry, playbook: Playbook, proposal: Proposal, record: dict, report: SimulationReport, warp: bool) -> bool:
    """After the schedule: report the real delay, warp past it, execute the operation through the Safe."""
    from guardian.adapters.chain import SafeReader
    from guardian.domain import timelock as tl
    from guardian.domain.proposal import timelock_call_from_record
    from guardian.domain.safe_tx import SafeTx, hash_safe_tx
    from guardian.domain.values import parse_hex

    operation_id = parse_hex(record["operation_id"])
    delay = int(record["delay"])
    ready = _timelock_timestamp(chain, record["address"], operation_id)
    now = _block_timestamp(chain)
    wall_ready = datetime.now(timezone.utc) + timedelta(seconds=delay)
    report.timelock = {
        "kind": "schedule",
        "operation_id": record["operation_id"],
        "delay_seconds": delay,
        "ready_at_utc": wall_ready.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "wait_seconds": delay,
        "ready_timestamp_on_fork": ready,
        "note": "wall clock: if the schedule lands now, the execute can land from this time on",
    }
    if ready <= DONE_TIMESTAMP:
        report.executions.append(
            SafeExecution("timelock execute", "", 0, False, f"the operation {record['operation_id']} is not scheduled after the proposal ran")
        )
        return False
    if not warp:
        report.notes.append("timelock warp disabled: the scheduled call was not executed, its post-conditions are not checked")
        return False
    warp_by = max(ready - now, 0) + 1
    _warp(chain, warp_by)
    report.timelock["warped_seconds"] = warp_by
    scheduled = timelock_call_from_record(record)
    calls = scheduled.calls
    if scheduled.batch:
        data = tl.encode_execute_batch([c.to for c in calls], [c.value for c in calls], [c.data for c in calls], scheduled.predecessor, scheduled.salt)
    else:
        data = tl.encode_execute(calls[0].to, calls[0].value, calls[0].data, scheduled.predecessor, scheduled.salt)
    nonce = SafeReader(chain, proposal.safe).nonce()
    tx = SafeTx(proposal.safe, proposal.chain_id, proposal.safe_version, record["address"], sum(c.value for c in calls), data, 0, nonce=nonce)
    execution = execute_through_safe(
        chain, registry, tx, hash_safe_tx(tx).safe_tx_hash, (), label="timelock execute (after warp)", playbook=playbook, notes=report.notes
    )
    report.executions.append(execution)
    report.notes.append(
        f"the timelock execute is a second Safe transaction (nonce {nonce}): propose it with "
        f"`guardian propose timelock-execute {record['operation_id']}` once the delay has passed"
    )
    return execution.success
