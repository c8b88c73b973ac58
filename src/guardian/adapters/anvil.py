"""Start and always stop a real anvil process (local chain or fork).

The binary comes from ``$GUARDIAN_ANVIL``, else the project's ``node_modules`` (the npm
package ``@foundry-rs/anvil`` ships the real binary), else ``anvil`` on ``PATH``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from guardian.errors import GuardianError, ToolMissingError

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def _npm_binary(tool: str, start: Path) -> Path | None:
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    relative = Path("node_modules") / "@foundry-rs" / f"{tool}-{system}-{arch}" / "bin" / tool
    for folder in [start, *start.parents]:
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return None


def find_foundry_tool(tool: str = "anvil") -> Path:
    """Path of ``anvil`` or ``cast``; raises ToolMissingError with the fix."""
    override = os.environ.get(f"GUARDIAN_{tool.upper()}")
    if override:
        if Path(override).is_file():
            return Path(override)
        raise ToolMissingError(tool, f"$GUARDIAN_{tool.upper()}={override}", "point it at an existing binary")
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        found = _npm_binary(tool, start)
        if found:
            return found
    on_path = shutil.which(tool)
    if on_path:
        return Path(on_path)
    raise ToolMissingError(tool, "node_modules/@foundry-rs and PATH", "run `make` (npm ci) or install Foundry")


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, ask for SIGTERM when guardian dies, even by SIGKILL.

    Every normal path stops anvil explicitly; this closes the last gap (a ``kill -9`` of the
    Python process), so a crashed drill never leaves an orphan chain behind.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AnvilStartError(GuardianError):
    def __init__(self, reason: str, log_tail: str):
        self.reason, self.log_tail = reason, log_tail
        last = log_tail.strip().splitlines()[-1] if log_tail.strip() else "no output"
        super().__init__(f"anvil did not start: {reason}: {last}")


@dataclass
class Anvil:
    """A running anvil. Use as a context manager, or call ``stop()``; it is always safe to stop twice."""

    process: subprocess.Popen
    port: int
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self, method: str, params: list | None = None, timeout: float = 10.0):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise GuardianError(f"anvil {method}: {reply['error'].get('message')}")
        return reply["result"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> "Anvil":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_anvil(
    *,
    chain_id: int | None = None,
    fork_url: str | None = None,
    fork_block: int | None = None,
    port: int | None = None,
    accounts: int = 10,
    block_time: float | None = None,
    extra_args: list[str] | None = None,
    log_dir: Path | None = None,
    startup_timeout: float = 30.0,
) -> Anvil:
    """Start anvil on a free loopback port and wait until it answers ``eth_chainId``."""
    binary = find_foundry_tool("anvil")
    port = port or free_port()
    args = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--accounts", str(accounts), "--silent"]
    if chain_id is not None:
        args += ["--chain-id", str(chain_id)]
    if fork_url:
        args += ["--fork-url", fork_url, "--no-storage-caching"]
        if fork_block is not None:
            args += ["--fork-block-number", str(fork_block)]
    if block_time:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"anvil-{port}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent
    )
    log.close()
    anvil = Anvil(process=process, port=port, log_path=log_path, args=args)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            raise AnvilStartError(f"exited with code {process.returncode}", log_path.read_text(errors="replace"))
        try:
            anvil.rpc("eth_chainId", timeout=1.0)
            return anvil
        except (OSError, GuardianError):
            if time.monotonic() > deadline:
                anvil.stop()
                raise AnvilStartError(f"no answer after {startup_timeout:.0f}s", log_path.read_text(errors="replace"))
            time.sleep(0.05)
