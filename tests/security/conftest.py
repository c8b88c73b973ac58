"""Shared fixtures of the reliability and security suite (issue 6).

Everything here goes through the REAL command line: click's ``CliRunner`` on ``guardian.cli.main``
(in process, fast) or the installed ``guardian`` binary in subprocesses (for races, kill -9 and
anything that must be a separate process), against the real testbed (Safe 1.4.1 3-of-5,
TimelockController, Vault, PerpMarket) on a real anvil.

One testbed is deployed for the whole folder (``security_testbed``, session scope); a test that
changes the chain uses ``bed``, which reverts every chain change afterwards (evm_snapshot /
evm_revert). Tests that must stop and restart the node start their own anvil (see
test_execution_faults.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardian.testbed import ANVIL_ADDRESSES, ANVIL_KEYS

GUARDIAN = str(Path(sys.executable).with_name("guardian"))
OWNER_INDEXES = (1, 2, 3, 4, 5)  # anvil accounts 1..5 are the testbed owners alice..erin
EXECUTOR_INDEX = 9  # a funded non-owner account that executes
ATTACKER = ANVIL_ADDRESSES[7]


@pytest.fixture(scope="session")
def security_testbed(tmp_path_factory):
    """One anvil + the full testbed for the whole folder; yields ``(anvil, Testbed)``."""
    from guardian.adapters.anvil import start_anvil
    from guardian.errors import GuardianError
    from guardian.testbed import deploy_testbed

    folder = tmp_path_factory.mktemp("security-testbed")
    try:
        node = start_anvil(log_dir=folder)
    except GuardianError as error:
        pytest.fail(f"security_testbed: {error.one_line()}", pytrace=False)
    with node:
        try:
            bed = deploy_testbed(node.url, out_dir=folder / "playbook")
        except GuardianError as error:
            pytest.fail(f"security_testbed: {error.one_line()}", pytrace=False)
        yield node, bed


@pytest.fixture
def bed(security_testbed):
    """``security_testbed`` with every chain change of the test reverted afterwards."""
    node, testbed = security_testbed
    snapshot = node.rpc("evm_snapshot")
    try:
        yield node, testbed
    finally:
        node.rpc("evm_revert", [snapshot])


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict[int, str]:
    """``--signer`` specs (key-file:PATH) for anvil accounts 0..9."""
    folder = tmp_path_factory.mktemp("security-keys")
    specs = {}
    for index, key in enumerate(ANVIL_KEYS):
        path = folder / f"key{index}.txt"
        path.write_text(key + "\n")
        path.chmod(0o600)
        specs[index] = f"key-file:{path}"
    return specs


@dataclass
class Result:
    """What one guardian run gave: exit code, stdout, stderr (CliRunner or subprocess alike)."""

    exit_code: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The single ``Error:`` line on stderr (asserting there is exactly one, and it is the last line)."""
        errors = [line for line in self.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, f"expected exactly one Error: line, got stderr:\n{self.stderr}\nstdout:\n{self.stdout}"
        assert self.stderr.rstrip().splitlines()[-1] == errors[0], self.stderr
        return errors[0]


class Guardian:
    """Runs the real CLI. ``run`` in process (CliRunner), ``spawn``/``run_process`` as the binary."""

    def __init__(self, node, testbed, keys):
        self.node, self.testbed, self.keys = node, testbed, keys
        self.playbook = str(testbed.playbook_path)
        self._runner = CliRunner(mix_stderr=False)

    # -- in process --------------------------------------------------------------------------

    def run(self, *args, env: dict | None = None) -> Result:
        from guardian.cli import main

        result = self._runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args, env: dict | None = None) -> Result:
        result = self.run(*args, env=env)
        assert result.exit_code == 0, f"guardian {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
        return result

    # -- as separate processes ---------------------------------------------------------------

    def spawn(self, *args, env: dict | None = None) -> subprocess.Popen:
        full_env = dict(os.environ, **(env or {}))
        return subprocess.Popen(
            [GUARDIAN, *map(str, args)], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
        )

    def run_process(self, *args, env: dict | None = None, timeout: float = 60) -> Result:
        process = self.spawn(*args, env=env)
        stdout, stderr = process.communicate(timeout=timeout)
        return Result(process.returncode, stdout, stderr)

    # -- the common verbs --------------------------------------------------------------------

    def propose(self, out: Path, *words, nonce: int = 0) -> Path:
        self.ok("propose", "--playbook", self.playbook, *words, "-o", out, "--nonce", nonce)
        return Path(out)

    def sign(self, path: Path, owner_index: int, *extra) -> Result:
        return self.run("sign", path, "--signer", self.keys[owner_index], "--allow-raw-key", "--playbook", self.playbook, *extra)

    def sign_args(self, path: Path, owner_index: int, *extra) -> list:
        return ["sign", path, "--signer", self.keys[owner_index], "--allow-raw-key", "--playbook", self.playbook, *extra]

    def execute_args(self, path: Path, executor_index: int = EXECUTOR_INDEX, *extra, rpc: str | None = None) -> list:
        return [
            "execute", path, "--signer", self.keys[executor_index], "--allow-raw-key", "--playbook", self.playbook,
            "--rpc", rpc or self.node.url, *extra,
        ]  # fmt: skip


@pytest.fixture
def guardian(bed, keys) -> Guardian:
    node, testbed = bed
    return Guardian(node, testbed, keys)


def signers_in(path: Path) -> list[str]:
    return sorted(s["signer"] for s in json.loads(Path(path).read_text())["signatures"])


def temp_files(path: Path) -> list[Path]:
    """Temp files ``atomic_write_text`` leaves only when its process dies mid-write."""
    path = Path(path)
    return [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.") and p.name.endswith(".tmp")]
