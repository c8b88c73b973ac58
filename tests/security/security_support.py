"""Helpers of the reliability and security suite: run the real CLI, read proposal files.

Everything goes through the REAL command line: click's ``CliRunner`` on ``guardian.cli.main``
(in process, fast) or the installed ``guardian`` binary in subprocesses (for races, kill -9
and anything that must be its own process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from guardian.testbed import ANVIL_ADDRESSES

GUARDIAN = str(Path(sys.executable).with_name("guardian"))
OWNER_INDEXES = (1, 2, 3, 4, 5)  # anvil accounts 1..5 are the testbed owners alice..erin
EXECUTOR_INDEX = 9  # a funded account that is not an owner
OWNERS = ANVIL_ADDRESSES[1:6]
ALICE, BOB, CAROL, DAVE, ERIN = OWNERS
ATTACKER = ANVIL_ADDRESSES[7]
DEPOSITOR = ANVIL_ADDRESSES[8]
EXECUTOR = ANVIL_ADDRESSES[EXECUTOR_INDEX]


@dataclass
class Result:
    """What one guardian run gave: exit code, stdout, stderr (CliRunner or subprocess alike)."""

    exit_code: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The single ``Error:`` line on stderr (asserted to be exactly one, and the last line)."""
        errors = [line for line in self.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, f"expected exactly one Error: line; stderr:\n{self.stderr}\nstdout:\n{self.stdout}"
        assert self.stderr.rstrip().splitlines()[-1] == errors[0], self.stderr
        return errors[0]


class Guardian:
    """The real CLI on one testbed: ``run`` in process (CliRunner), ``spawn``/``run_process`` as the binary."""

    def __init__(self, node, testbed, keys: dict[int, str]):
        self.node, self.testbed, self.keys = node, testbed, keys
        self.playbook = str(testbed.playbook_path)
        self._runner = CliRunner(mix_stderr=False)

    @property
    def url(self) -> str:
        return self.node.url

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
        return subprocess.Popen(
            [GUARDIAN, *map(str, args)],
            env=dict(os.environ, **(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_process(self, *args, env: dict | None = None, timeout: float = 60) -> Result:
        process = self.spawn(*args, env=env)
        stdout, stderr = process.communicate(timeout=timeout)
        return Result(process.returncode, stdout, stderr)

    # -- the usual arguments -----------------------------------------------------------------

    def propose(self, out: Path, *words, nonce: int = 0) -> Path:
        self.ok("propose", "--playbook", self.playbook, *words, "-o", out, "--nonce", nonce)
        return Path(out)

    def sign_args(self, path: Path, owner_index: int, *extra) -> list:
        """``guardian sign`` by an anvil account, owners checked against the playbook roster."""
        return ["sign", path, "--signer", self.keys[owner_index], "--allow-raw-key", "--playbook", self.playbook, *extra]

    def execute_args(self, path: Path, executor_index: int = EXECUTOR_INDEX, *extra, rpc: str | None = None) -> list:
        return [
            "execute", path, "--signer", self.keys[executor_index], "--allow-raw-key", "--playbook", self.playbook,
            "--rpc", rpc or self.node.url, *extra,
        ]  # fmt: skip

    def signed(self, path: Path, owners=(1, 2, 3)) -> Path:
        for index in owners:
            self.ok(*self.sign_args(path, index))
        return path


def write_key_files(folder: Path, keys) -> dict[int, str]:
    """``--signer`` specs (``key-file:PATH``) for the given private keys."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = {}
    for index, key in enumerate(keys):
        path = folder / f"key{index}.txt"
        path.write_text(key + "\n")
        path.chmod(0o600)
        specs[index] = f"key-file:{path}"
    return specs


def signers_in(path: Path) -> list[str]:
    return sorted(s["signer"] for s in json.loads(Path(path).read_text())["signatures"])


def temp_files(path: Path) -> list[Path]:
    """Temp files ``atomic_write_text`` leaves behind only when its process dies mid-write."""
    path = Path(path)
    return [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.") and p.name.endswith(".tmp")]


def wait_until(condition, timeout: float = 30.0, poll: float = 0.01, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(poll)


def evm_nonce(node, address: str, block: str = "latest") -> int:
    return int(node.rpc("eth_getTransactionCount", [address, block]), 16)


def call_uint(node, to: str, data: str) -> int:
    return int(node.rpc("eth_call", [{"to": to, "data": data}, "latest"]), 16)


SAFE_NONCE = "0xaffed0e0"  # nonce()
PAUSED = "0x5c975abb"  # paused()
