"""Crash safety: `kill -9` a guardian process in the middle of writing a proposal file.

The test hook ``GUARDIAN_TEST_SLOW_WRITE=<seconds>`` (adapters/files.py) makes the atomic write
sleep after writing half of the new bytes to its temp file, so a real `guardian propose`,
`sign` or `execute` process can be killed with SIGKILL exactly mid-write. After every kill the
file on disk must be the old complete version or the new complete version (it is parsed with
``Proposal.from_json``, which recomputes every hash and recovers every signature), never a torn
mix; the dead process's lock must not block the next guardian; and for `execute`, a kill never
leads to a second transaction.

(The same guarantee for ``update_file`` in a bare Python writer is
tests/functional/test_files_crash.py; this module kills the real commands.)
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from guardian.domain.proposal import Proposal

from security_support import (
    CAROL,
    EXECUTOR,
    PAUSED,
    SAFE_NONCE,
    Guardian,
    call_uint,
    evm_nonce,
    temp_files,
    wait_until,
)

SLOW = "GUARDIAN_TEST_SLOW_WRITE"


def kill_9(process: subprocess.Popen) -> None:
    try:
        process.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=10)  # reaped: its pid is gone, so its temp file counts as stale


def halfway(path: Path, size: int):
    """The temp file of a write to ``path`` once its first half is on disk (``size``: about the new file's size).

    The hook writes the first half in one go and then sleeps, so a third of ``size`` is a safe bar.
    """

    def check():
        return [p for p in temp_files(path) if p.stat().st_size >= size // 3]

    return check


def load(path: Path) -> Proposal:
    return Proposal.from_json(path.read_text(encoding="utf-8"), str(path))


def old_or_new(path: Path, old: bytes, new_signer: str) -> str:
    """"old" if the file is byte for byte the old one, "new" if it is the old one plus ``new_signer``'s signature."""
    text = path.read_bytes()
    if text == old:
        return "old"
    current = Proposal.from_json(text, str(path))  # complete and valid, or this raises
    previous = Proposal.from_json(old, "old")
    assert current.differences(previous) == [], "the kill changed more than the signatures"
    assert sorted(current.signers) == sorted([*previous.signers, new_signer]), "neither the old nor the new version"
    return "new"


def test_kill_9_mid_write_of_a_signature_leaves_the_old_file(guardian: Guardian, tmp_path):
    base = guardian.signed(guardian.propose(tmp_path / "base.json", "pause-vault"), owners=(1, 2))
    old = base.read_bytes()
    for round_number in range(4):
        path = tmp_path / f"round-{round_number}.json"
        shutil.copyfile(base, path)
        signer = guardian.spawn(*guardian.sign_args(path, 3), env={SLOW: "30"})
        wait_until(halfway(path, len(old)), timeout=30, what="the signer to be half-way through its write")
        assert signer.poll() is None, "the signer finished before it was killed"
        kill_9(signer)

        assert path.read_bytes() == old  # exactly the old complete file
        load(path)
        assert temp_files(path), "the torn temp file is what a crash leaves behind"
        # the dead signer's lock died with it: the same owner signs again at once, and the write cleans up
        again = guardian.run(*guardian.sign_args(path, 3))
        assert again.exit_code == 0, again.stderr
        assert old_or_new(path, old, CAROL) == "new"
        assert temp_files(path) == []


def test_kill_9_at_any_moment_of_a_sign_leaves_the_old_or_the_new_file(guardian: Guardian, tmp_path):
    base = guardian.signed(guardian.propose(tmp_path / "base.json", "pause-vault"), owners=(1, 2))
    old = base.read_bytes()
    outcomes = []
    # seconds after the temp file appears; the write sleeps 0.3 s half-way, then renames
    for round_number, delay in enumerate([0.0, 0.1, 0.2, 0.25, 0.35, 0.5, 1.0, 2.0]):
        path = tmp_path / f"round-{round_number}.json"
        shutil.copyfile(base, path)
        signer = guardian.spawn(*guardian.sign_args(path, 3), env={SLOW: "0.3"})
        wait_until(lambda: temp_files(path) or signer.poll() is not None, timeout=30, what="the write to start")
        time.sleep(delay)
        kill_9(signer)
        outcomes.append(old_or_new(path, old, CAROL))
        if outcomes[-1] == "old":
            assert guardian.run(*guardian.sign_args(path, 3)).exit_code == 0  # not locked out
        assert old_or_new(path, old, CAROL) == "new"
        assert temp_files(path) == []
    assert "old" in outcomes and "new" in outcomes, outcomes


def test_kill_9_mid_write_of_a_new_proposal_leaves_no_file(guardian: Guardian, tmp_path):
    for round_number, words in enumerate([["pause-vault"], ["pause-market"], ["pause-vault", "+", "set-max-leverage", "7"]]):
        path = tmp_path / f"new-{round_number}.json"
        proposer = guardian.spawn("propose", "--playbook", guardian.playbook, *words, "-o", path, "--nonce", round_number, env={SLOW: "30"})
        wait_until(halfway(path, 1500), timeout=30, what="propose to be half-way through its write")
        kill_9(proposer)
        assert not path.exists()  # the old version: no file at all, never half a proposal
        assert temp_files(path)
        guardian.propose(path, *words, nonce=round_number)  # the rerun writes it whole ...
        assert load(path).nonce == round_number
        assert temp_files(path) == []  # ... and removes the dead writer's temp file


def test_kill_9_execute_while_it_records_the_transaction_sends_nothing(guardian: Guardian, tmp_path):
    """The transaction hash is written to the file BEFORE it is broadcast: killed during that write,
    nothing was sent, the file is the old one, and the rerun executes exactly once."""
    node = guardian.node
    path = guardian.signed(guardian.propose(tmp_path / "p.json", "pause-vault"))
    old = path.read_bytes()
    executor = guardian.spawn(*guardian.execute_args(path), env={SLOW: "30"})
    wait_until(halfway(path, len(old)), timeout=30, what="execute to be half-way through recording")
    kill_9(executor)
    assert path.read_bytes() == old and load(path).execution is None
    assert evm_nonce(node, EXECUTOR, "pending") == 0 and call_uint(node, guardian.testbed.safe, SAFE_NONCE) == 0

    rerun = guardian.run(*guardian.execute_args(path))
    assert rerun.exit_code == 0 and rerun.stdout.splitlines()[-1].startswith(f"EXECUTED: executed by {EXECUTOR}")
    assert evm_nonce(node, EXECUTOR) == 1 and call_uint(node, guardian.testbed.safe, SAFE_NONCE) == 1
    assert call_uint(node, guardian.testbed.vault, PAUSED) == 1


def test_kill_9_execute_while_it_records_the_outcome_reconciles_without_resending(guardian: Guardian, tmp_path):
    """Killed while writing the receipt's outcome: the file still says "pending" with the hash,
    and the rerun finds the mined transaction instead of sending another."""
    node = guardian.node
    path = guardian.signed(guardian.propose(tmp_path / "p.json", "pause-vault"))
    executor = guardian.spawn(*guardian.execute_args(path), env={SLOW: "1"})
    pending = wait_until(lambda: load(path).execution, timeout=30, what="the pending record")
    assert pending["status"] == "pending"
    recorded = path.read_bytes()
    wait_until(halfway(path, len(recorded)), timeout=30, what="the outcome write")
    kill_9(executor)
    assert path.read_bytes() == recorded  # the pending version, whole
    assert evm_nonce(node, EXECUTOR) == 1  # it was sent (and mined) once

    rerun = guardian.run(*guardian.execute_args(path))
    assert rerun.exit_code == 0, rerun.stderr
    last = rerun.stdout.splitlines()[-1]
    assert last.startswith("ALREADY-EXECUTED: ") and f"by {EXECUTOR}" in last and pending["tx_hash"] in last
    execution = load(path).execution
    assert (execution["status"], execution["tx_hash"], execution["executor"]) == ("success", pending["tx_hash"], EXECUTOR)
    assert evm_nonce(node, EXECUTOR) == 1 and call_uint(node, guardian.testbed.safe, SAFE_NONCE) == 1


def test_kill_9_execute_between_send_and_receipt_never_sends_twice(guardian: Guardian, tmp_path):
    node = guardian.node
    path = guardian.signed(guardian.propose(tmp_path / "p.json", "pause-vault"))
    node.rpc("evm_setAutomine", [False])
    try:
        executor = guardian.spawn(*guardian.execute_args(path, 9, "--receipt-timeout", "60"))
        wait_until(lambda: int(node.rpc("txpool_status")["pending"], 16) == 1, timeout=30, what="the transaction in the mempool")
        kill_9(executor)  # the guardian dies waiting for the receipt
        pending = load(path).execution
        assert pending["status"] == "pending" and pending["block"] is None
        node.rpc("evm_mine")
    finally:
        node.rpc("evm_setAutomine", [True])
    rerun = guardian.run(*guardian.execute_args(path))
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1].startswith("ALREADY-EXECUTED: ") and f"by {EXECUTOR}" in rerun.stdout.splitlines()[-1]
    assert json.loads(path.read_text())["execution"]["tx_hash"] == pending["tx_hash"]
    assert evm_nonce(node, EXECUTOR) == 1 and call_uint(node, guardian.testbed.safe, SAFE_NONCE) == 1
