"""guardian's benchmarks: startup, the emergency flow side by side with safe-cli and ape-safe,
a fork dry-run, the drill, and the import costs that stand in the way.

    make bench                     # or: .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --runs 3 --only startup,imports

Every figure is the wall-clock time of fresh subprocesses (what a guardian waits for), as the
median with min and max over several runs, after one discarded warm-up run. Nothing is
asserted: the table is printed and written to bench/results/latest.md (raw samples in
latest.json).

The flows run on ONE local anvil with ONE testbed (deploy_testbed: a 2-of-3 Safe 1.4.1 owned by
anvil accounts 1..3, alice/bob/carol, the vault it may pause). The chain is reverted to the same
snapshot (evm_snapshot/evm_revert) before every run, so each run starts at Safe nonce 0 with the
vault unpaused, and the runner checks afterwards that the vault IS paused (a run that did not
pause it is reported as failed, never timed). Tools are interleaved run by run, so background
load hits each of them alike.

safe-cli and ape-safe live in throwaway venvs (bench/.venv-safe-cli, bench/.venv-ape-safe)
created here on first use with pip from PyPI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
GUARDIAN = VENV_BIN / "guardian"
RESULTS = BENCH / "results"

PAUSE_CALLDATA = "0x8456cb59"  # pause()
PAUSED_CALLDATA = "0x5c975abb"  # paused()
COMMAND_TIMEOUT = 300
HASH_FLAGS = [
    "hash", "--safe", "0xbfD1979B4364edd96E0ec804223f8E197e489Cc4", "--chain-id", "31337", "--safe-version", "1.4.1",
    "--to", "0x610178dA211FEF7D417bC0e6FeD39F05609AD788", "--value", "0", "--data", PAUSE_CALLDATA, "--operation", "0", "--nonce", "0",
]  # fmt: skip

# The throwaway venvs: name -> pip requirements. safe-cli does not start after a plain install
# (its typer/click/web3 pins clash); these pins make it run.
VENVS = {
    "safe-cli": ["safe-cli", "typer==0.20.0", "web3==7.14.0", "eth-account==0.13.7"],
    "ape-safe": ["ape-safe", "eth-ape==0.8.51"],
}

# Modules whose import cost matters to guardian's commands.
IMPORTS = [
    "click", "yaml", "eth_utils", "eth_abi", "eth_keys", "eth_account", "requests", "web3", "ledgereth", "safe_eth.safe", "guardian.cli",
    "click, yaml, eth_abi, eth_keys",  # what a command still needs without web3 and requests: the floor
]  # fmt: skip


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    section: str
    label: str
    samples: list[float] = field(default_factory=list)
    note: str = ""
    unavailable: str = ""  # why there is no figure ("n/a (not built yet)")
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def cells(self) -> list[str]:
        if self.unavailable:
            return [self.label, self.unavailable, "", "", "0", self.note]
        if not self.samples:
            reason = self.failures[0] if self.failures else "no run"
            return [self.label, f"failed: {reason}", "", "", "0", self.note]
        note = self.note
        if self.failures:
            note = (note + "; " if note else "") + f"{len(self.failures)} failed run(s): {self.failures[0]}"
        return [self.label, f"{self.median:.2f}", f"{min(self.samples):.2f}", f"{max(self.samples):.2f}", str(len(self.samples)), note]


class CommandFailed(Exception):
    pass


def run(argv: list[str], *, env: dict | None = None, cwd: Path | None = None, check=True) -> tuple[float, subprocess.CompletedProcess]:
    """Run one fresh process; return (wall seconds, completed). Raise CommandFailed on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise CommandFailed(f"{Path(argv[0]).name} timed out after {COMMAND_TIMEOUT}s") from error
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise CommandFailed(f"{Path(argv[0]).name} {' '.join(argv[1:2])} exited {done.returncode}: {last_line(done.stderr or done.stdout)}")
    return elapsed, done


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- throwaway venvs


class VenvMissing(Exception):
    pass


def ensure_venv(name: str) -> Path:
    """bench/.venv-NAME with VENVS[name] installed (pip, first use only); returns its bin folder."""
    folder = BENCH / f".venv-{name}"
    stamp = folder / ".bench-installed"
    wanted = "\n".join(VENVS[name])
    if stamp.is_file() and stamp.read_text() == wanted:
        return folder / "bin"
    progress(f"[setup] creating {folder.relative_to(ROOT)}: pip install {' '.join(VENVS[name])} (first use only)")
    try:
        if not (folder / "bin" / "python").exists():
            run([sys.executable, "-m", "venv", str(folder)])
        run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *VENVS[name]])
    except CommandFailed as error:
        raise VenvMissing(f"could not install {name}: {error}") from error
    stamp.write_text(wanted)
    return folder / "bin"


def venv_version(bin_dir: Path, distribution: str) -> str:
    try:
        _, done = run([str(bin_dir / "python"), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"])
        return done.stdout.strip()
    except CommandFailed:
        return "?"


def ape_env(bin_dir: Path) -> dict:
    """ape keeps its accounts and caches in APE_DATA_FOLDER: a folder of the throwaway venv."""
    data = bin_dir.parent / "ape-data"
    data.mkdir(exist_ok=True)
    return {"APE_DATA_FOLDER": str(data)}


def ape_cwd(bin_dir: Path) -> Path:
    """An empty project folder: guardian's own ape-config.yaml names plugins that venv lacks."""
    folder = bin_dir.parent / "ape-project"
    folder.mkdir(exist_ok=True)
    return folder


# --------------------------------------------------------------------------- sections


def bench_startup(runs: int, tools: dict) -> list[Row]:
    section = "Startup (fresh process)"
    cases: list[tuple[str, list[str] | None, dict, Path | None, str]] = [
        ("`python -c pass` (guardian's venv)", [sys.executable, "-c", "pass"], {}, None, "the floor"),
        ("`guardian --help`", [str(GUARDIAN), "--help"], {}, None, "goal <= 0.3 s"),
        ("`guardian hash --safe ... --nonce 0` (flags)", [str(GUARDIAN), *HASH_FLAGS], {}, None, "offline, no chain"),
        ("`guardian propose --help`", [str(GUARDIAN), "propose", "--help"], {}, None, ""),
    ]
    for tool, label, argv_tail in (("safe-cli", "`safe-cli --help`", ["safe-cli", "--help"]), ("ape-safe", "`ape --help`", ["ape", "--help"])):
        bin_dir = tools.get(tool)
        if isinstance(bin_dir, str):
            cases.append((label, None, {}, None, bin_dir))
        elif tool == "ape-safe":
            cases.append((label, [str(bin_dir / argv_tail[0]), *argv_tail[1:]], ape_env(bin_dir), ape_cwd(bin_dir), f"eth-ape {tools['versions'].get('eth-ape', '?')}"))
        else:
            cases.append((label, [str(bin_dir / argv_tail[0]), *argv_tail[1:]], {}, None, f"safe-cli {tools['versions'].get('safe-cli', '?')}"))
    rows = []
    for label, argv, env, cwd, note in cases:
        row = Row(section, label, note=note)
        if argv is None:
            row.unavailable, row.note = "n/a", note
            rows.append(row)
            continue
        progress(f"[startup] {label}")
        for index in range(runs + 1):
            try:
                seconds, _ = run(argv, env=env, cwd=cwd)
            except CommandFailed as error:
                row.failures.append(str(error))
                continue
            if index:  # the first run warms caches and is discarded
                row.samples.append(seconds)
        rows.append(row)
    return rows


class Bed:
    """The anvil + 2-of-3 testbed every flow runs on, reverted to one snapshot before each run."""

    def __init__(self, workdir: Path):
        from guardian.adapters.anvil import start_anvil
        from guardian.testbed import ANVIL_ADDRESSES, deploy_testbed

        self.workdir = workdir
        self.anvil = start_anvil(log_dir=workdir)
        try:
            self.testbed = deploy_testbed(self.anvil.url, owners=list(ANVIL_ADDRESSES[1:4]), threshold=2, out_dir=workdir / "playbook")
        except BaseException:
            self.anvil.stop()
            raise
        self.snapshot_id = self.anvil.rpc("evm_snapshot")
        self.counter = 0

    @property
    def playbook(self) -> str:
        return str(self.testbed.playbook_path)

    def reset(self) -> None:
        if not self.anvil.rpc("evm_revert", [self.snapshot_id]):
            raise RuntimeError("anvil lost the snapshot")
        self.snapshot_id = self.anvil.rpc("evm_snapshot")
        if self.vault_paused():
            raise RuntimeError("the vault is still paused after the revert")

    def vault_paused(self) -> bool:
        result = self.anvil.rpc("eth_call", [{"to": self.testbed.vault, "data": PAUSED_CALLDATA}, "latest"])
        return int(result, 16) == 1

    def fresh_path(self, stem: str) -> Path:
        self.counter += 1
        folder = self.workdir / f"run-{self.counter:03d}"
        folder.mkdir()
        return folder / f"{stem}.json"

    def stop(self) -> None:
        self.anvil.stop()


def guardian_env(bed: Bed) -> dict:
    return bed.testbed.signer_env()  # GUARDIAN_TESTBED_ALICE_KEY, ..._BOB_KEY, ..._CAROL_KEY


def guardian_steps(bed: Bed, path: Path) -> list[tuple[str, list[str]]]:
    from guardian.testbed import signer_env_name

    playbook = ["--playbook", bed.playbook]
    alice, bob = (f"key:{signer_env_name(name)}" for name in ("alice", "bob"))
    return [
        ("propose", [str(GUARDIAN), "propose", *playbook, "pause-vault", "-o", str(path)]),
        ("sign", [str(GUARDIAN), "sign", *playbook, str(path), "--signer", alice, "--allow-raw-key"]),
        ("sign", [str(GUARDIAN), "sign", *playbook, str(path), "--signer", bob, "--allow-raw-key"]),
        ("execute", [str(GUARDIAN), "execute", *playbook, str(path), "--signer", alice, "--allow-raw-key"]),
    ]


def guardian_has(*commands: str) -> str:
    """'' when every command exists in guardian's CLI, else the n/a text."""
    try:
        _, done = run([str(GUARDIAN), "--help"])
    except CommandFailed as error:
        return f"n/a ({error})"
    listed = set(re.findall(r"^  (\S+)\s", done.stdout, flags=re.M))
    missing = [name for name in commands if name not in listed]
    return f"n/a (`guardian {'`, `'.join(missing)}` not built yet)" if missing else ""


def bench_flow(bed: Bed, runs: int, slow_runs: int, tools: dict) -> tuple[list[Row], dict]:
    section = "Emergency flow: pause() through a 2-of-3 Safe (build, sign x2, execute)"
    t = bed.testbed
    keys = [t.owner_keys[name] for name in ("alice", "bob")]
    rows = {
        "g_total": Row(section, "guardian: propose, sign, sign, execute (4 processes)", note="goal: below safe-cli one process"),
        "g_propose": Row(section, "guardian propose pause-vault", note="goal < 1 s"),
        "g_sign": Row(section, "guardian sign (each of the 2)", note="goal < 1 s"),
        "g_execute": Row(section, "guardian execute", note="goal < 1 s; waits for the receipt"),
        "s_whole": Row(section, "safe-cli send-custom --non-interactive (1 process)"),
        "s_steps": Row(section, "safe-cli step by step"),
        "a_whole": Row(section, "ape-safe API, whole flow (1 process)"),
        "a_steps": Row(section, "ape-safe API, propose, sign, sign, execute (4 processes)"),
    }
    missing = guardian_has("propose", "sign", "execute")
    if missing:
        for key in ("g_total", "g_propose", "g_sign", "g_execute"):
            rows[key].unavailable = missing
    rows["s_steps"].unavailable = "n/a"
    rows["s_steps"].note = (
        "offline it cannot: pending signatures only persist across processes in tx-service mode (the hosted Safe "
        "Transaction Service), and its interactive shell queries api.etherscan.io (chainlist) at start and crashes"
    )
    safe_cli, ape = tools.get("safe-cli"), tools.get("ape-safe")
    if isinstance(safe_cli, str):
        rows["s_whole"].unavailable = "n/a"
        rows["s_whole"].note = safe_cli
    else:
        rows["s_whole"].note = f"safe-cli {tools['versions'].get('safe-cli', '?')}; signs with the 2 keys, alice sends"
    if isinstance(ape, str):
        for key in ("a_whole", "a_steps"):
            rows[key].unavailable, rows[key].note = "n/a", ape
    else:
        note = f"ape-safe {tools['versions'].get('ape-safe', '?')}, eth-ape {tools['versions'].get('eth-ape', '?')}; bench/ape_safe_flow.py"
        rows["a_whole"].note = note
        rows["a_steps"].note = "steps hand over the SafeTx and signatures in a JSON file (ape-safe keeps them only in a tx service)"

    def timed(key: str, body) -> None:
        """Reset the chain, run body() -> seconds (or a list of (step, seconds)), check the vault got paused."""
        row = rows[key]
        try:
            bed.reset()
            result = body()
            if not bed.vault_paused():
                raise CommandFailed("finished but the vault is not paused")
        except CommandFailed as error:
            row.failures.append(str(error))
            return None
        return result

    def guardian_run():
        steps = []
        for step, argv in guardian_steps(bed, bed.fresh_path("pause")):
            seconds, _ = run(argv, env=guardian_env(bed))
            steps.append((step, seconds))
        return steps

    def safe_cli_run():
        argv = [str(safe_cli / "safe-cli"), "send-custom", t.safe, t.rpc_url, t.vault, "0", PAUSE_CALLDATA]
        for key in keys:
            argv += ["--private-key", key]
        seconds, done = run([*argv, "--non-interactive"])
        if "Tx was executed" not in done.stdout:
            raise CommandFailed(f"safe-cli did not execute: {last_line(done.stdout)}")
        return seconds

    def ape_args() -> list[str]:
        return ["--rpc", t.rpc_url, "--chain-id", str(t.chain_id), "--safe", t.safe, "--singleton", t.safe_singleton]

    def ape_whole():
        argv = [str(ape / "python"), str(BENCH / "ape_safe_flow.py"), "whole", *ape_args(), "--vault", t.vault, "--signer", "1", "--signer", "2"]
        seconds, _ = run(argv, env=ape_env(ape), cwd=ape_cwd(ape))
        return seconds

    def ape_steps():
        state = bed.fresh_path("ape-safe-tx")
        script = [str(ape / "python"), str(BENCH / "ape_safe_flow.py")]
        total = 0.0
        for step in (
            ["propose", *ape_args(), "--vault", t.vault, "--file", str(state)],
            ["sign", *ape_args(), "--file", str(state), "--signer", "1"],
            ["sign", *ape_args(), "--file", str(state), "--signer", "2"],
            ["execute", *ape_args(), "--file", str(state), "--signer", "1"],
        ):
            seconds, _ = run([*script, *step], env=ape_env(ape), cwd=ape_cwd(ape))
            total += seconds
        return total

    plan = []  # (key, body, slow)
    if not missing:
        plan.append(("g_total", guardian_run, False))
    if not isinstance(safe_cli, str):
        plan.append(("s_whole", safe_cli_run, False))
    if not isinstance(ape, str):
        plan += [("a_whole", ape_whole, False), ("a_steps", ape_steps, True)]
    for index in range(runs + 1):  # run 0 is the warm-up, discarded
        for key, body, slow in plan:
            if slow and index > slow_runs:
                continue
            progress(f"[flow] run {index}/{runs}{' (warm-up)' if index == 0 else ''}: {rows[key].label}")
            result = timed(key, body)
            if result is None or index == 0:
                continue
            if key == "g_total":
                rows["g_total"].samples.append(sum(seconds for _, seconds in result))
                for step, seconds in result:
                    rows[f"g_{step}"].samples.append(seconds)
            else:
                rows[key].samples.append(result)
    for key in ("g_propose", "g_sign", "g_execute"):
        if rows["g_total"].failures and not rows[key].samples:
            rows[key].failures = rows["g_total"].failures
    ratios = {}
    g = rows["g_total"].median
    for key, name in (("s_whole", "safe-cli send-custom (1 process)"), ("a_whole", "ape-safe API (1 process)"), ("a_steps", "ape-safe API (4 processes)")):
        other = rows[key].median
        if g and other:
            ratios[name] = g / other
    order = ["g_total", "g_propose", "g_sign", "g_execute", "s_whole", "s_steps", "a_whole", "a_steps"]
    return [rows[key] for key in order], ratios


def bench_fork(bed: Bed, slow_runs: int) -> list[Row]:
    section = "Fork dry-run and drill"
    simulate = Row(section, "guardian simulate (fork of the local anvil, pause-vault)", note="anvil fork start + approveHash + exec + checks")
    drill = Row(
        section,
        "guardian drill vault-drain (end to end)",
        note="fork, breach, propose 3 actions, verify, sign x2, simulate, execute, timelock warp + execute, checks; one process",
    )
    containment = Row(section, "  drill: time to containment (its own clock)", note="breach -> pause executed, from the drill's JSON report")
    missing = guardian_has("simulate")
    if missing:
        simulate.unavailable = missing
    else:
        bed.reset()
        path = bed.fresh_path("simulate")
        try:
            run(guardian_steps(bed, path)[0][1], env=guardian_env(bed))  # propose, untimed
        except CommandFailed as error:
            simulate.failures.append(f"propose: {error}")
        for index in range(slow_runs + 1 if path.exists() else 0):
            progress(f"[fork] run {index}/{slow_runs}{' (warm-up)' if index == 0 else ''}: {simulate.label}")
            try:
                seconds, done = run([str(GUARDIAN), "simulate", "--playbook", bed.playbook, str(path)])
                if "WOULD SUCCEED" not in done.stdout:
                    raise CommandFailed(f"no WOULD SUCCEED: {last_line(done.stdout)}")
            except CommandFailed as error:
                simulate.failures.append(str(error))
                continue
            if index:
                simulate.samples.append(seconds)
    missing = guardian_has("drill")
    if missing:
        drill.unavailable = containment.unavailable = missing
        return [simulate, drill, containment]
    report = bed.workdir / "drill-report.json"
    drill_argv = [str(GUARDIAN), "drill", "vault-drain", "--playbook", bed.playbook, "--report", str(report)]
    for index in range(slow_runs + 1):
        progress(f"[fork] run {index}/{slow_runs}{' (warm-up)' if index == 0 else ''}: {drill.label}")
        try:
            bed.reset()
            report.unlink(missing_ok=True)
            seconds, done = run(drill_argv, env=guardian_env(bed))
            result = json.loads(report.read_text())
            if not result.get("passed"):
                raise CommandFailed(f"drill did not pass: {last_line(done.stdout)}")
        except (CommandFailed, OSError, ValueError) as error:
            drill.failures.append(str(error))
            continue
        if index:
            drill.samples.append(seconds)
            if result.get("time_to_containment_seconds") is not None:
                containment.samples.append(float(result["time_to_containment_seconds"]))
    return [simulate, drill, containment]


# --------------------------------------------------------------------------- import costs


def bench_imports(runs: int) -> list[Row]:
    section = "Import cost (fresh `python -c 'import X'` minus `python -c pass`)"
    base = []
    for index in range(runs + 1):
        seconds, _ = run([sys.executable, "-c", "pass"])
        if index:
            base.append(seconds)
    floor = statistics.median(base)
    rows = []
    for module in IMPORTS:
        progress(f"[imports] {module}")
        row = Row(section, f"`{module}`" + (" together" if "," in module else ""))
        cumulative = importtime_of(module)
        if cumulative is not None:
            row.note = f"-X importtime cumulative {cumulative:.0f} ms"
        for index in range(runs + 1):
            try:
                seconds, _ = run([sys.executable, "-c", f"import {module}"])
            except CommandFailed as error:
                row.failures.append(str(error))
                break
            if index:
                row.samples.append(max(0.0, seconds - floor))
        rows.append(row)
    return rows


def importtime_of(module: str) -> float | None:
    try:
        _, done = run([sys.executable, "-X", "importtime", "-c", f"import {module}"])
    except CommandFailed:
        return None
    for entry in parse_importtime(done.stderr):
        if entry.name == module and entry.depth == 0:
            return entry.cumulative_ms
    if "," in module:  # several modules: the sum of their top-level entries
        names = {name.strip() for name in module.split(",")}
        found = [e.cumulative_ms for e in parse_importtime(done.stderr) if e.depth == 0 and e.name in names]
        return sum(found) if found else None
    return None


@dataclass
class ImportEntry:
    name: str
    depth: int
    self_ms: float
    cumulative_ms: float
    line: int


def parse_importtime(text: str) -> list[ImportEntry]:
    """Lines of `-X importtime` ("import time: self | cumulative | name", children before parents)."""
    entries = []
    for line in text.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            entries.append(ImportEntry(name, (len(indent) - 1) // 2, int(self_us) / 1000, int(cumulative_us) / 1000, len(entries)))
    return entries


def importer_chain(entries: list[ImportEntry], target: ImportEntry) -> list[str]:
    """Who imported ``target``: its ancestors, outermost first (a parent is printed after its children)."""
    chain, depth = [], target.depth
    for entry in entries[target.line + 1 :]:
        if entry.depth < depth:
            chain.append(entry.name)
            depth = entry.depth
            if depth == 0:
                break
    return list(reversed(chain))


@dataclass
class CommandImports:
    label: str
    total_ms: float
    top_level: list[tuple[str, float]]  # depth-0 imports by cumulative ms
    packages: list[tuple[str, float, str]]  # third-party package, cumulative ms, who imported it
    error: str = ""


def command_imports(bed: Bed | None) -> list[CommandImports]:
    """One `python -X importtime` run of each guardian command: what its imports cost and who pulls them in."""
    cases = [("guardian --help", [str(GUARDIAN), "--help"]), ("guardian hash (flags)", [str(GUARDIAN), *HASH_FLAGS])]
    if bed is not None and not guardian_has("propose", "sign", "execute"):
        bed.reset()
        path = bed.fresh_path("importtime")
        (_, propose), (_, sign_1), (_, sign_2), (_, execute) = guardian_steps(bed, path)
        cases += [("guardian propose", propose), ("guardian sign (1st owner)", sign_1), ("guardian sign (2nd owner)", sign_2)]
        if not guardian_has("simulate"):
            cases.append(("guardian simulate", [str(GUARDIAN), "simulate", "--playbook", bed.playbook, str(path)]))
        cases.append(("guardian execute", execute))
    report = []
    for label, argv in cases:
        progress(f"[importtime] {label}")
        try:
            _, done = run([sys.executable, "-X", "importtime", *argv], env=guardian_env(bed) if bed else None)
        except CommandFailed as error:
            report.append(CommandImports(label, 0.0, [], [], error=str(error)))
            continue
        report.append(summarise_imports(label, parse_importtime(done.stderr)))
    return report


def summarise_imports(label: str, entries: list[ImportEntry]) -> CommandImports:
    top_level = sorted((e for e in entries if e.depth == 0), key=lambda e: e.cumulative_ms, reverse=True)
    total = sum(e.cumulative_ms for e in top_level)
    packages, seen = [], set()
    for entry in entries:
        root = entry.name.split(".")[0]
        if entry.name != root or root in seen or root in sys.stdlib_module_names or root in ("guardian", "encodings", "_distutils_hack"):
            continue
        seen.add(root)
        if entry.cumulative_ms < 10:
            continue
        chain = importer_chain(entries, entry)
        if not chain:
            via = "imported inside a function (lazy)"
        elif len(chain) == 1:
            via = f"via {chain[0]}"
        else:
            via = f"via {chain[0]} > ... > {chain[-1]}" if len(chain) > 2 else f"via {chain[0]} > {chain[1]}"
        packages.append((root, entry.cumulative_ms, via))
    packages.sort(key=lambda item: item[1], reverse=True)
    return CommandImports(label, total, [(e.name, e.cumulative_ms) for e in top_level[:6]], packages[:10])


# --------------------------------------------------------------------------- output


def markdown_table(rows: list[Row]) -> str:
    out = ["| measurement | median s | min s | max s | runs | note |", "|---|---:|---:|---:|---:|---|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows]
    return "\n".join(out)


def render(sections: list[tuple[str, list[Row]]], ratios: dict, imports_report, header: list[str]) -> str:
    parts = ["# guardian benchmarks", "", *header, ""]
    for title, rows in sections:
        if rows:
            parts += [f"## {title}", "", markdown_table(rows), ""]
    if ratios:
        parts += ["## Ratios (guardian's 4-process flow / the other, medians)", ""]
        parts += [f"- guardian / {name}: **{ratio:.2f}x**" + (" (faster)" if ratio < 1 else " (slower)") for name, ratio in ratios.items()]
        parts.append("")
    if imports_report:
        parts += [
            "## What each command imports (`python -X importtime`, one run each; importtime itself adds overhead)",
            "",
            "Cumulative ms; a package nested in another (aiohttp in web3) is counted in both.",
            "",
        ]
        for item in imports_report:
            if item.error:
                parts += [f"**{item.label}**: could not measure: {item.error}", ""]
                continue
            parts.append(f"**{item.label}**: {item.total_ms:.0f} ms of imports.")
            parts.append("- top-level imports: " + ", ".join(f"`{name}` {ms:.0f}" for name, ms in item.top_level))
            if item.packages:
                parts.append("- third-party packages: " + "; ".join(f"`{name}` {ms:.0f} ms {via}" for name, ms, via in item.packages))
            parts.append("")
    return "\n".join(parts)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (after one warm-up) [5]")
    parser.add_argument("--slow-runs", type=int, default=3, help="timed runs for the slow ones: ape-safe in 4 processes, simulate, drill [3]")
    parser.add_argument("--only", default="startup,flow,fork,imports", help="comma-separated sections [startup,flow,fork,imports]")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not GUARDIAN.exists():
        print(f"error: {GUARDIAN} not found: run this with guardian's venv python (make bench)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "src"))

    started, load_before = time.time(), load_average()
    tools: dict = {"versions": {}}
    if only & {"startup", "flow"}:
        for name, distributions in (("safe-cli", ["safe-cli"]), ("ape-safe", ["ape-safe", "eth-ape"])):
            try:
                tools[name] = ensure_venv(name)
                for distribution in distributions:
                    tools["versions"][distribution] = venv_version(tools[name], distribution)
            except VenvMissing as error:
                tools[name] = str(error)

    sections: list[tuple[str, list[Row]]] = []
    ratios: dict = {}
    imports_report = []
    if "startup" in only:
        sections.append(("Startup (fresh process)", bench_startup(args.runs, tools)))
    bed = None
    if only & {"flow", "fork", "imports"}:
        workdir = Path(tempfile.mkdtemp(prefix="guardian-bench-"))
        progress(f"[setup] anvil + 2-of-3 testbed in {workdir}")
        bed = Bed(workdir)
    try:
        if "flow" in only:
            rows, ratios = bench_flow(bed, args.runs, args.slow_runs, tools)
            sections.append(("Emergency flow: pause() through a 2-of-3 Safe, same anvil, same Safe", rows))
        if "fork" in only:
            sections.append(("Fork dry-run and drill", bench_fork(bed, args.slow_runs)))
        if "imports" in only:
            sections.append(("Import costs (fresh process, minus `python -c pass`)", bench_imports(args.runs)))
            imports_report = command_imports(bed)
    finally:
        if bed is not None:
            bed.stop()
            shutil.rmtree(bed.workdir, ignore_errors=True)

    from guardian import __version__

    header = [
        f"- {time.strftime('%Y-%m-%d %H:%M:%S')}, took {time.time() - started:.0f} s; {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, guardian {__version__}",
        f"- load average before {load_before}, after {load_average()}: the machine is shared, so figures are noisy; "
        "compare medians, and min for the best case",
        f"- {args.runs} timed runs per row ({args.slow_runs} for the slow ones) after one discarded warm-up; wall-clock of fresh processes",
        "- flows: one anvil, one 2-of-3 Safe 1.4.1 (testbed), reverted to one snapshot before every run; every run is checked to have paused the vault",
    ]
    text = render(sections, ratios, imports_report, header)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text + "\n")
    raw = {title: [{"label": r.label, "samples": r.samples, "unavailable": r.unavailable, "failures": r.failures, "note": r.note} for r in rows] for title, rows in sections}
    (RESULTS / "latest.json").write_text(json.dumps({"header": header, "sections": raw, "ratios": ratios}, indent=1) + "\n")
    progress(f"[done] written to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
