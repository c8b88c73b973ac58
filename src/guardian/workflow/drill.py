"""Rehearse a playbook drill end to end on a fork, through the real path, timed and scored.

``run_drill(playbook, "vault-drain")`` forks the playbook network (or ``fork_url``) at a
pinned block and, on that fork:

1. runs the breach setup from impersonated actors, and records the breach block and time;
2. proposes the drill's response (``workflow.proposals.propose``: one proposal, the
   Safe-routed calls direct, the timelocked ones scheduled, batched through MultiSendCallOnly);
3. verifies it (``review``, with the chain);
4. has each listed guardian sign it with its backend (``workflow.signing.sign_proposal``):
   ``key`` (raw key from ``key_env``, drills only), ``keystore`` (+ ``password_env`` /
   ``password_file``), ``ledger-emulator`` (an in-process emulated Ledger served over TCP
   and reached through ledgerblue's own TCP transport, so the real ledgereth code runs) or
   ``ledger`` (a real device);
5. simulates it on a snapshot of the fork (``workflow.simulation``), reverted afterwards;
6. executes it for real on the fork (``workflow.execution.execute_proposal``, sent by the
   first listed guardian);
7. for the timelocked part: warps past the delay, proposes ``timelock-execute``, verifies,
   signs, executes;
8. checks the drill's success conditions and every action's post-conditions.

Every step is timed. Time to containment runs from the breach (the block of the first breach
transaction) to the block in which the pause landed (the execution of the first proposal);
``time_to_containment_seconds`` is wall clock (when each of those blocks was mined, as seen
by the drill), and ``containment.block_seconds`` the difference of the two block timestamps
(anvil timestamps have a one-second resolution).

A failing step does not raise: it is recorded (FAIL with the reason), the remaining action
steps are skipped, and the conditions are still checked, so the report says what state the
protocol was left in. Bad input (unknown scenario, action, guardian, backend, unset key
variable, unreachable fork URL) raises a ``GuardianError`` before anything starts. The fork,
the emulator and every opened signer are always released, also on KeyboardInterrupt/SIGTERM.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from guardian.config import DrillSigner, Playbook, ResponseItem
from guardian.errors import DrillSignersError, GuardianError, InputError, NoForkSourceError
from guardian.workflow.checks import CheckResult, CheckRunner, PendingCheck, fill, intent_checks, resolve_sender

Echo = Callable[[str], None]
EMULATOR_HOST = "127.0.0.1"


# --------------------------------------------------------------------------- the report


@dataclass
class DrillStep:
    name: str
    passed: bool
    seconds: float
    detail: str = ""
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "seconds": round(self.seconds, 3), "detail": self.detail, "skipped": self.skipped}


@dataclass
class DrillReport:
    scenario: str
    description: str
    playbook: str
    steps: list[DrillStep] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[CheckResult] = field(default_factory=list)
    postconditions: list[CheckResult] = field(default_factory=list)
    signers: list[dict[str, Any]] = field(default_factory=list)
    fork: dict[str, Any] = field(default_factory=dict)
    containment: dict[str, Any] = field(default_factory=dict)
    time_to_containment_seconds: float | None = None
    started_at: str = ""
    total_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # set when the drill was stopped (crash, Ctrl-C, SIGTERM)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and self.interrupted is None and all(step.passed for step in self.steps)

    @property
    def failures(self) -> list[str]:
        """One line per failed step / condition."""
        lines = [f"interrupted: {self.interrupted}"] if self.interrupted else []
        lines += [f"step {s.name}: {s.detail}" for s in self.steps if not s.passed and not s.skipped]
        lines += [f"condition failed: {c.description}: {c.detail}" for c in self.conditions if not c.passed]
        lines += [f"post-condition of {c.action} failed: {c.description}: {c.detail}" for c in self.postconditions if not c.passed]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "playbook": self.playbook,
            "passed": self.passed,
            "interrupted": self.interrupted,
            "failures": self.failures,
            "started_at": self.started_at,
            "total_seconds": round(self.total_seconds, 3),
            "time_to_containment_seconds": None if self.time_to_containment_seconds is None else round(self.time_to_containment_seconds, 3),
            "containment": self.containment,
            "steps": [s.as_dict() for s in self.steps],
            "transactions": self.transactions,
            "proposals": self.proposals,
            "proposal_ids": [p["id"] for p in self.proposals],
            "conditions": [c.as_dict() for c in self.conditions],
            "postconditions": [c.as_dict() for c in self.postconditions],
            "signers": self.signers,
            "fork": self.fork,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------- preflight


def _resolve_item(item: ResponseItem, actors: dict[str, str], drill: str) -> tuple[str, dict[str, Any]]:
    args = {name: fill(value, actors, f"drill {drill} response {item.action}.{name}") for name, value in item.args.items()}
    return item.action, args


def merge_signers(listed: Sequence[DrillSigner], override: Sequence[DrillSigner] | None) -> list[DrillSigner]:
    """The drill's signers with ``override`` replacing the backend of the same owner (new owners appended)."""
    by_owner = {s.owner: s for s in override or ()}
    merged = [by_owner.pop(s.owner, s) for s in listed]
    return merged + list(by_owner.values())


def _check_signer(playbook: Playbook, signer: DrillSigner) -> None:
    from guardian.config import SIGNER_BACKENDS

    where = f"drill signer {signer.owner}"
    if signer.owner not in playbook.safe.owners:
        raise InputError("guardian", signer.owner, f"not in the Safe roster ({', '.join(playbook.safe.owners)})")
    if signer.backend not in SIGNER_BACKENDS:
        raise InputError(f"{where} backend", signer.backend, f"one of: {', '.join(SIGNER_BACKENDS)}")
    options = signer.options
    if signer.backend == "key":
        if options.get("key_env"):
            if options["key_env"] not in os.environ:
                raise InputError(f"{where} key_env", options["key_env"], "environment variable is not set")
        elif not options.get("key_file"):
            raise InputError(f"{where} options", sorted(options), "the key backend needs key_env (or key_file)")
    if signer.backend == "keystore":
        if not options.get("keystore"):
            raise InputError(f"{where} options", sorted(options), "the keystore backend needs keystore: PATH")
        if options.get("password_env") and options["password_env"] not in os.environ:
            raise InputError(f"{where} password_env", options["password_env"], "environment variable is not set")


# --------------------------------------------------------------------------- signers


@contextmanager
def _ledger_proxy(port: int) -> Iterator[None]:
    """LEDGER_PROXY_ADDRESS/PORT pointing at the emulator while a device call runs."""
    saved = {name: os.environ.get(name) for name in ("LEDGER_PROXY_ADDRESS", "LEDGER_PROXY_PORT")}
    os.environ["LEDGER_PROXY_ADDRESS"], os.environ["LEDGER_PROXY_PORT"] = EMULATOR_HOST, str(port)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _EmulatedLedgerSigner:
    """The real ``LedgerSigner`` (ledgereth + ledgerblue TCP), pointed at the drill's emulator on each call."""

    def __init__(self, inner, port: int):
        self._inner, self._port = inner, port
        self.description = f"{inner.description} (emulated Ledger on {EMULATOR_HOST}:{port})"

    def address(self) -> str:
        with _ledger_proxy(self._port):
            return self._inner.address()

    def sign_safe_tx(self, domain_hash, message_hash, safe_tx_hash, *, eth_sign=False) -> bytes:
        with _ledger_proxy(self._port):
            return self._inner.sign_safe_tx(domain_hash, message_hash, safe_tx_hash, eth_sign=eth_sign)

    def sign_transaction(self, tx: dict) -> bytes:
        with _ledger_proxy(self._port):
            return self._inner.sign_transaction(tx)

    def close(self) -> None:
        self._inner.close()


def _ledger_spec(signer: DrillSigner, address: str) -> str:
    options = signer.options
    if options.get("path"):
        return f"ledger:{options['path']}"
    if options.get("account_index") is not None:
        return f"ledger:{int(options['account_index'])}"
    if options.get("legacy_index") is not None:
        return f"ledger-legacy:{int(options['legacy_index'])}"
    return f"ledger:{address}"


def open_drill_signer(playbook: Playbook, signer: DrillSigner, *, emulator_port: int | None, echo: Echo):
    """The ``Signer`` a drill guardian uses, from its backend and options."""
    from guardian.adapters.signers import open_signer, password_source

    options = signer.options
    base = playbook.path.parent
    if signer.backend == "key":
        if options.get("key_env"):
            return open_signer(f"key:{options['key_env']}", allow_raw_key=True, echo=echo)
        return open_signer(f"key-file:{base / str(options['key_file'])}", allow_raw_key=True, echo=echo)
    if signer.backend == "keystore":
        password_file = options.get("password_file")
        source = password_source(file=str(base / str(password_file)) if password_file else None, env=options.get("password_env"))
        return open_signer(f"keystore:{options['keystore']}", password_source=source, echo=echo)
    spec = _ledger_spec(signer, playbook.safe.owners[signer.owner])
    if signer.backend == "ledger-emulator":
        return _EmulatedLedgerSigner(open_signer(spec, echo=echo), emulator_port)
    return open_signer(spec, echo=echo)


# --------------------------------------------------------------------------- running steps


class _Run:
    """Times steps, records PASS/FAIL, and remembers whether an action step failed."""

    def __init__(self, report: DrillReport, echo: Echo):
        self.report, self.echo = report, echo
        self.broken = False

    @contextmanager
    def step(self, name: str, *, always: bool = False) -> Iterator[dict]:
        """``with run.step("propose") as out:`` -- set ``out["detail"]``, or ``out["fail"]`` to fail it."""
        if self.broken and not always:
            self.report.steps.append(DrillStep(name, False, 0.0, "skipped: an earlier step failed", skipped=True))
            self.echo(f"  SKIP  {name}")
            yield {"skip": True}
            return
        out: dict[str, Any] = {}
        started = time.monotonic()
        try:
            yield out
        except GuardianError as error:
            out["fail"] = error.one_line()
        except BaseException as error:  # a crash or interrupt: record it, stop everything, re-raise
            seconds = time.monotonic() - started
            self.report.steps.append(DrillStep(name, False, seconds, f"interrupted: {type(error).__name__}: {error}"))
            self.broken = True
            raise
        seconds = time.monotonic() - started
        passed = "fail" not in out
        detail = out.get("fail") or out.get("detail", "")
        self.report.steps.append(DrillStep(name, passed, seconds, detail))
        self.echo(f"  {'PASS' if passed else 'FAIL'}  {name} ({seconds:.2f} s){': ' + detail if detail else ''}")
        if not passed:
            self.broken = True


def _tx(report: DrillReport, step: str, tx_hash: str | None, block: int | None) -> None:
    if tx_hash:
        report.transactions.append({"step": step, "tx_hash": tx_hash, "block": block})


def _block_time(chain, block: int) -> int:
    return int(chain.get_block(block)["timestamp"], 16)


def _utc(timestamp: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the use case


def run_drill(
    playbook: Playbook,
    scenario: str,
    *,
    fork_url: str | None = None,
    fork_block: int | None = None,
    signers_override: Sequence[DrillSigner] | None = None,
    report_path: str | Path | None = None,
    echo: Echo = print,
    network: str | None = None,
    verbose: bool = False,
    log_dir: Path | None = None,
) -> DrillReport:
    """Run drill ``scenario`` on a fork; returns the report (also written as JSON to ``report_path``)."""
    from guardian.domain.values import utc_timestamp

    drill = playbook.drill(scenario)
    signers = merge_signers(drill.signers, signers_override)
    for signer in signers:
        _check_signer(playbook, signer)
    if len(signers) < playbook.safe.threshold:
        raise DrillSignersError(len(signers), playbook.safe.threshold)
    actors = dict(drill.actors)
    items = [_resolve_item(item, actors, scenario) for item in drill.response]
    net = playbook.network(network)
    url = fork_url or net.rpc_url
    if not url:
        raise NoForkSourceError(net.name)
    block = fork_block if fork_block is not None else (net.fork_block if not fork_url else None)
    pinned_by = "--block" if fork_block is not None else (f"networks.{net.name}.fork_block" if block is not None else "the head when the fork started")

    report = DrillReport(scenario, drill.description, playbook.name, started_at=utc_timestamp())
    report.signers = [{"owner": s.owner, "backend": s.backend, "address": playbook.safe.owners[s.owner]} for s in signers]
    started = time.monotonic()
    folder: Path | None = None
    quiet: Echo = (lambda text: echo("      " + text.replace("\n", "\n      "))) if verbose else (lambda text: None)
    echo(f"Drill {scenario}: {drill.description}")
    try:
        with ExitStack() as stack:
            folder = Path(tempfile.mkdtemp(prefix=f"guardian-drill-{drill.name}-"))
            _drill(stack, report, playbook, drill, signers, items, actors, url, block, pinned_by, echo, quiet, log_dir, folder)
    except BaseException as error:
        report.interrupted = f"{type(error).__name__}: {error}".rstrip(": ")
        raise
    finally:
        report.total_seconds = time.monotonic() - started
        if report_path is not None and report.steps:
            _keep_proposals(report, folder, Path(report_path))
            write_report(report, Path(report_path))
    return report


def _keep_proposals(report: DrillReport, folder: Path | None, report_path: Path) -> None:
    """Move the drill's proposal files next to the report (``<report>-proposals/``), for the post-mortem."""
    import shutil

    if folder is None or not folder.is_dir():
        return
    keep = report_path.parent / f"{report_path.stem}-proposals"
    keep.mkdir(parents=True, exist_ok=True)
    for file in folder.glob("*.json"):
        shutil.copy2(file, keep / file.name)
    for proposal in report.proposals:
        proposal["path"] = str(keep / Path(proposal["path"]).name)
    report.notes = [n for n in report.notes if not n.startswith("drill proposals written to")]
    report.notes.append(f"drill proposals kept in {keep}")
    shutil.rmtree(folder, ignore_errors=True)


def write_report(report: DrillReport, path: Path) -> None:
    import json

    from guardian.adapters.files import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")


def _drill(stack: ExitStack, report, playbook, drill, signers, items, actors, url, block, pinned_by, echo, quiet, log_dir, folder: Path) -> None:
    from guardian.adapters.fork import open_fork

    run = _Run(report, echo)
    fork_started = time.monotonic()
    fork = stack.enter_context(open_fork(url, block=block, pinned_by=pinned_by, log_dir=log_dir))
    report.steps.append(DrillStep("fork", True, time.monotonic() - fork_started, fork.describe()))
    report.fork = {"source": fork.source, "block": fork.block, "pinned_by": fork.pinned_by, "chain_id": fork.chain_id}
    echo(f"  PASS  fork ({report.steps[-1].seconds:.2f} s): {fork.describe()}")
    chain = fork.chain
    emulator_port = None
    if any(s.backend == "ledger-emulator" for s in signers):
        from guardian.testing.ledger_emulator import serve

        server, emulator_port = serve(EMULATOR_HOST, 0)
        stack.callback(server.stop)
        report.notes.append(f"Ledger emulator (NOT a real device) served on {EMULATOR_HOST}:{emulator_port} for the ledger-emulator guardians")
    drill_playbook = replace(playbook, proposals_dir=folder)
    report.notes.append(f"drill proposals written to {folder} (never to the playbook's proposals folder)")
    opened: dict[str, Any] = {}

    def signer_for(spec: DrillSigner):
        if spec.owner not in opened:
            signer = open_drill_signer(playbook, spec, emulator_port=emulator_port, echo=quiet)
            stack.callback(signer.close)
            expected = playbook.safe.owners[spec.owner]
            actual = signer.address()
            if actual.lower() != expected.lower():
                raise InputError(f"signer of {spec.owner} ({spec.backend})", actual, f"is not {spec.owner}'s address {expected}")
            opened[spec.owner] = signer
        return opened[spec.owner]

    timing: dict[str, Any] = {}
    with run.step("breach") as out:
        out["detail"] = _breach(chain, playbook, drill, actors, report, timing)

    first = _respond(run, chain, drill_playbook, items, actors, signers, signer_for, report, quiet, label="response", timing=timing)
    if first is not None and first.timelock and first.timelock["kind"] == "schedule":
        _timelock_followup(run, chain, drill_playbook, first, signers, signer_for, report, quiet)
    if "contained_block" in timing:
        _containment(chain, report, timing)

    runner = CheckRunner(chain, playbook, actors)
    with run.step("conditions", always=True) as out:
        report.conditions = [runner.evaluate(PendingCheck(check, actors)) for check in drill.conditions]
        failed = [c for c in report.conditions if not c.passed]
        out["detail"] = f"{len(report.conditions) - len(failed)}/{len(report.conditions)} hold"
        if failed:
            out["fail"] = "; ".join(f"{c.description}: {c.detail}" for c in failed)
    with run.step("postconditions", always=True) as out:
        intent = first.intent["actions"] if first is not None else [{"action": a, "args": args} for a, args in items]
        pending = intent_checks(playbook, intent, actors)
        report.postconditions = [runner.evaluate(p) for p in pending]
        failed = [c for c in report.postconditions if not c.passed]
        out["detail"] = f"{len(report.postconditions) - len(failed)}/{len(report.postconditions)} hold"
        if failed:
            out["fail"] = "; ".join(f"{c.action}: {c.description}: {c.detail}" for c in failed)


def _breach(chain, playbook: Playbook, drill, actors: dict[str, str], report: DrillReport, timing: dict) -> str:
    """Run the breach steps from impersonated actors; record the first breach block and wall time."""
    from guardian.domain.abi import FunctionSignature, coerce_arg, encode_call
    from guardian.domain.values import to_hex
    from guardian.errors import CallRevertedError
    from guardian.workflow.checks import decode_revert_anywhere
    from guardian.workflow.simulation import send_as

    if not drill.breach:
        timing["breach_block"], timing["breach_wall"] = chain.block_number(), time.time()
        return "no breach steps: the drill starts from the forked state"
    registry = CheckRunner(chain, playbook).registry
    sent = 0
    for index, step in enumerate(drill.breach):
        where = f"breach[{index}] {step.contract}.{step.function.split('(')[0]}"
        sender = resolve_sender(step.sender, actors, actors, where)
        contract = playbook.contracts[step.contract]
        signature = FunctionSignature.from_json(contract.functions()[step.function])
        args = [fill(arg, actors, where) for arg in step.args]
        args = [actors.get(a, a) if t == "address" and isinstance(a, str) else a for t, a in zip(signature.inputs, args)]
        coerced = [coerce_arg(t, a, f"{where} argument {i}") for i, (t, a) in enumerate(zip(signature.inputs, args))]
        data = encode_call(signature, coerced)
        for _ in range(step.repeat):
            try:
                receipt = send_as(chain, sender, contract.address, data, step.value)
            except CallRevertedError as error:
                reason = decode_revert_anywhere(registry, error.data, [contract.address]) if error.data else error.reason
                raise GuardianError(f"{where} from {sender} reverted: {reason}") from error
            if receipt.status != 1:
                raise GuardianError(f"{where} from {sender} reverted (transaction {to_hex(receipt.tx_hash)})")
            if "breach_block" not in timing:
                timing["breach_block"], timing["breach_wall"] = receipt.block_number, time.time()
            _tx(report, "breach", to_hex(receipt.tx_hash), receipt.block_number)
            sent += 1
    return f"{sent} transaction(s) from {', '.join(sorted({s.sender for s in drill.breach}))}; breach at block {timing['breach_block']}"


def _propose_verify_sign(run: _Run, chain, playbook: Playbook, items, actors, signers, signer_for, report: DrillReport, quiet: Echo, label: str):
    """propose -> verify -> sign by each guardian; returns (proposal, path) or None if a step failed."""
    from guardian.workflow.proposals import load_proposal, propose, review
    from guardian.workflow.signing import sign_proposal

    result = None
    with run.step(f"propose {label}") as out:
        if not out.get("skip"):
            result = propose(playbook, items, rpc_url=chain.url, actors=actors, author=f"drill:{report.scenario}")
            proposal = result.proposal
            report.proposals.append(
                {"id": proposal.id, "label": label, "safe_tx_hash": proposal.hashes["safe_tx"], "nonce": proposal.nonce, "summary": proposal.intent["summary"], "path": str(result.path)}
            )
            out["detail"] = f"{proposal.id}: {proposal.intent['summary']}"
    with run.step(f"verify {label}") as out:
        if not out.get("skip"):
            checked = review(result.proposal, playbook, chain=chain, own_path=result.path)
            critical = [f for f in checked.findings if f.severity == "critical"]
            out["detail"] = f"{len(checked.findings)} finding(s), none critical" if not critical else ""
            if critical:
                out["fail"] = "; ".join(f"{f.code}: {f.message}" for f in critical)
    for spec in signers:
        with run.step(f"sign {label}: {spec.owner} ({spec.backend})") as out:
            if not out.get("skip"):
                signed = sign_proposal(result.path, signer_for(spec), playbook=playbook, chain=chain, echo=quiet)
                out["detail"] = f"{signed.signature.kind} signature, {signed.collected}/{signed.roster.threshold}"
    if run.broken or result is None:
        return None
    return load_proposal(result.path), result.path


def _execute(run: _Run, chain, playbook: Playbook, path: Path, signers, signer_for, report: DrillReport, quiet: Echo, label: str):
    from guardian.workflow.execution import execute_proposal
    from guardian.workflow.simulation import fund

    outcome = None
    with run.step(f"execute {label}") as out:
        if not out.get("skip"):
            executor = signer_for(signers[0])
            if chain.get_balance(executor.address()) < 10**17:
                fund(chain, executor.address())
                report.notes.append(f"{signers[0].owner}'s account was funded with test ETH on the fork to pay for gas")
            outcome = execute_proposal(path, executor, chain=chain, playbook=playbook, echo=quiet, receipt_timeout=60)
            _tx(report, f"execute {label}", outcome.tx_hash, outcome.block)
            out["detail"] = f"{outcome.status} in block {outcome.block} by {signers[0].owner} ({outcome.gas_used} gas)"
            if outcome.status != "executed":
                out["fail"] = outcome.message
                outcome = None
    return outcome


def _respond(run: _Run, chain, playbook: Playbook, items, actors, signers, signer_for, report, quiet, *, label: str, timing: dict):
    """The response proposal: propose, verify, sign, simulate on a snapshot, execute. Returns the proposal."""
    from guardian.workflow.simulation import simulate_proposal

    signed = _propose_verify_sign(run, chain, playbook, items, actors, signers, signer_for, report, quiet, label)
    proposal = signed[0] if signed else None
    with run.step("simulate on a snapshot") as out:
        if not out.get("skip"):
            snapshot = chain.snapshot()
            try:
                simulation = simulate_proposal(proposal, playbook, chain=chain, actors=actors)
            finally:
                chain.revert(snapshot)
            out["detail"] = f"{simulation.verdict}, {simulation.gas_used:,} gas"
            if not simulation.passed:
                out["fail"] = f"{simulation.verdict}: {simulation.failure}"
    outcome = _execute(run, chain, playbook, signed[1], signers, signer_for, report, quiet, label) if signed else None
    if outcome is not None:
        timing["contained_block"], timing["contained_wall"] = outcome.block, time.time()
    return proposal


def _timelock_followup(run: _Run, chain, playbook: Playbook, first, signers, signer_for, report: DrillReport, quiet: Echo) -> None:
    from guardian.domain.abi import encode_call
    from guardian.domain.values import parse_hex

    record = first.timelock
    with run.step("timelock warp") as out:
        if not out.get("skip"):
            raw = chain.call(record["address"], encode_call("getTimestamp(bytes32)", [parse_hex(record["operation_id"])]))
            ready = int.from_bytes(raw[:32], "big")
            now = int(chain.get_block("latest")["timestamp"], 16)
            if ready <= 1:
                out["fail"] = f"operation {record['operation_id']} is not scheduled on the timelock"
            else:
                chain.increase_time(max(ready - now, 0) + 1)
                chain.mine()
                out["detail"] = f"warped {max(ready - now, 0) + 1} s past the {record['delay']} s delay"
    signed = _propose_verify_sign(
        run, chain, playbook, [("timelock-execute", [record["operation_id"]])], {}, signers, signer_for, report, quiet, "timelock-execute"
    )
    if signed:
        _execute(run, chain, playbook, signed[1], signers, signer_for, report, quiet, "timelock-execute")


def _containment(chain, report: DrillReport, timing: dict) -> None:
    breach_block, contained_block = timing["breach_block"], timing["contained_block"]
    breach_time, contained_time = _block_time(chain, breach_block), _block_time(chain, contained_block)
    report.time_to_containment_seconds = max(timing["contained_wall"] - timing["breach_wall"], 0.0)
    report.containment = {
        "basis": "wall clock: from the mining of the first breach transaction to the receipt of the pause",
        "breach_block": breach_block,
        "breach_block_time": _utc(breach_time),
        "pause_block": contained_block,
        "pause_block_time": _utc(contained_time),
        "block_seconds": contained_time - breach_time,
    }


def signer_from_text(text: str, *, password_env: str | None = None, password_file: str | None = None) -> DrillSigner:
    """``OWNER=BACKEND[:ARG]`` -> a ``DrillSigner`` (the CLI's ``--signer``).

    ``alice=ledger-emulator:m/44'/60'/0'/0/1``, ``alice=ledger:2`` (Ledger Live index),
    ``bob=key:ENVVAR``, ``carol=keystore:PATH`` (password from ``password_env`` / ``password_file``).
    """
    from guardian.config import SIGNER_BACKENDS

    owner, sep, spec = text.partition("=")
    backend, _, argument = spec.partition(":")
    if not sep or not owner or backend not in SIGNER_BACKENDS:
        raise InputError("--signer", text, f"expected OWNER=BACKEND[:ARG] with BACKEND one of {', '.join(SIGNER_BACKENDS)}")
    options: dict[str, Any] = {}
    if backend == "key":
        if not argument:
            raise InputError("--signer", text, "key needs the environment variable holding the key: OWNER=key:ENVVAR")
        options["key_env"] = argument
    elif backend == "keystore":
        if not argument:
            raise InputError("--signer", text, "keystore needs a path: OWNER=keystore:PATH")
        options["keystore"] = str(Path(argument).expanduser().resolve())
        if password_env:
            options["password_env"] = password_env
        if password_file:
            options["password_file"] = str(Path(password_file).resolve())
    elif argument:
        options["account_index" if argument.isdigit() else "path"] = int(argument) if argument.isdigit() else argument
    return DrillSigner(owner=owner, backend=backend, options=options)
