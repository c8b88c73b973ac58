"""Crash safety: a writer killed with SIGKILL never leaves a torn proposal file.

A real subprocess rewrites a large JSON file through ``update_file`` with the
``GUARDIAN_TEST_SLOW_WRITE`` hook (it sleeps after writing half the bytes) and is killed at
various moments. The file on disk must always be exactly the old or the new complete text,
the dead writer's lock must not block the next writer, and its temp file is cleaned by the
next write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from guardian.adapters.files import SLOW_WRITE_ENV, atomic_write_text, update_file

SRC = Path(__file__).resolve().parents[2] / "src"

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {src!r})
    from guardian.adapters.files import update_file
    target, new_text_file = sys.argv[1], sys.argv[2]
    new = open(new_text_file, encoding="utf-8").read()
    update_file(target, lambda old: new)
    """
)


def big_proposal(version: int, signatures: int) -> str:
    """A ~1 MB canonical-looking proposal; versions differ in content and length."""
    body = {
        "version": 1,
        "revision": version,
        "data": "0x" + f"{version:02x}" * 400_000,
        "signatures": [{"signer": f"0x{i:040x}", "signature": "0x" + "ab" * 65} for i in range(signatures)],
    }
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def start_writer(tmp_path: Path, target: Path, new_text: str, slow: float) -> subprocess.Popen:
    source = tmp_path / "new-text.input"
    source.write_text(new_text, encoding="utf-8")
    env = {**os.environ, SLOW_WRITE_ENV: str(slow)}
    return subprocess.Popen([sys.executable, "-c", WRITER.format(src=str(SRC)), str(target), str(source)], env=env)


def temp_files(folder: Path, target: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{target.name}.") and p.name.endswith(".tmp")]


def kill(process: subprocess.Popen) -> None:
    try:
        process.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)  # reaped: its pid is gone, so its temp file counts as stale


def test_kill_9_mid_write_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "proposal.json"
    current = big_proposal(0, 1)
    atomic_write_text(target, current)
    for round_number in range(1, 5):
        new = big_proposal(round_number, round_number + 1)
        writer = start_writer(tmp_path, target, new, slow=30)
        deadline = time.monotonic() + 20
        while True:  # wait until the writer is provably half-way through its temp file
            halfway = [p for p in temp_files(tmp_path, target) if p.stat().st_size >= len(new.encode()) // 2]
            if halfway:
                break
            assert writer.poll() is None, "writer exited before it was killed"
            assert time.monotonic() < deadline, "writer never reached the middle of its write"
            time.sleep(0.01)
        kill(writer)

        assert target.read_text(encoding="utf-8") == current  # exactly the old complete text
        assert temp_files(tmp_path, target), "the torn temp file should be left behind by the crash"

        # the dead writer's lock is gone with it, and the next write cleans its temp file
        current = update_file(target, lambda old: old.replace('"revision": ', '"revision": 1', 1), timeout=2)
        json.loads(target.read_text(encoding="utf-8"))
        assert temp_files(tmp_path, target) == []


def test_kill_9_at_any_moment_leaves_old_or_new(tmp_path):
    target = tmp_path / "proposal.json"
    current = big_proposal(0, 1)
    atomic_write_text(target, current)

    # how long an unkilled slow write takes, end to end, on this machine
    new = big_proposal(1, 2)
    started = time.monotonic()
    writer = start_writer(tmp_path, target, new, slow=0.3)
    assert writer.wait(timeout=30) == 0
    full_run = time.monotonic() - started
    assert target.read_text(encoding="utf-8") == new
    current = new

    outcomes = []
    fractions = [0.05, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 3.0]
    for round_number, fraction in enumerate(fractions, start=2):
        new = big_proposal(round_number, round_number % 4)
        writer = start_writer(tmp_path, target, new, slow=0.3)
        time.sleep(full_run * fraction)
        kill(writer)
        on_disk = target.read_text(encoding="utf-8")
        assert on_disk in (current, new), f"torn file after a kill at {fraction:.0%} of the write"
        json.loads(on_disk)
        outcomes.append("new" if on_disk == new else "old")
        current = on_disk
        atomic_write_text(target, current)  # the next write cleans any stale temp file
        assert temp_files(tmp_path, target) == []
    assert "old" in outcomes and "new" in outcomes, outcomes
