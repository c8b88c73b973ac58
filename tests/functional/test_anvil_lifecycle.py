"""anvil is always stopped: explicitly, and even when guardian itself is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from guardian.adapters.anvil import start_anvil

CHILD = """
import sys, time
from guardian.adapters.anvil import start_anvil
node = start_anvil()
print(node.process.pid, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return "State:\tZ" not in handle.read()
    except FileNotFoundError:
        return False


def test_stop_is_idempotent(tmp_path):
    node = start_anvil(log_dir=tmp_path)
    pid = node.process.pid
    assert node.rpc("eth_chainId") == "0x7a69"
    node.stop()
    node.stop()
    assert not alive(pid)


def test_anvil_dies_with_a_killed_guardian():
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    anvil_pid = int(parent.stdout.readline())
    assert alive(anvil_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(anvil_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(anvil_pid), f"anvil {anvil_pid} outlived its killed parent"
