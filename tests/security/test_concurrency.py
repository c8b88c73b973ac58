"""Concurrency: five guardians sign the same proposal file at the same moment; no signature is lost.

Five real `guardian sign` processes -- the five owners of the 3-of-5 testbed Safe, some with
EIP-712, some with eth_sign -- are started together on one file, round after round. Every
round, all five must exit 0 and all five signatures must be in the file, which must parse
(every signature recovers to its signer). The write is slowed down (``GUARDIAN_TEST_SLOW_WRITE``)
so the writers overlap, more in every other round, where a sixth process, a stranger, tries to
sign too: it must fail alone without disturbing the others. At the end the
file of the last round is executed on chain, so the merged signatures are the real thing.

(update_file's lock in isolation is tests/unit/test_files.py; one five-signer round through
the CLI with a Ledger is tests/cli/test_sign_execute_cli.py.)
"""

from __future__ import annotations

import json
import shutil
import time


from guardian.domain.proposal import Proposal

from security_support import OWNERS, ATTACKER, EXECUTOR, OWNER_INDEXES, Guardian, temp_files

ROUNDS = 10


def test_five_owners_sign_the_same_file_at_once_and_all_signatures_survive(guardian: Guardian, tmp_path):
    base = guardian.propose(tmp_path / "base.json", "pause-vault", "+", "freeze-account", ATTACKER)
    started = time.monotonic()
    for round_number in range(ROUNDS):
        path = tmp_path / f"round-{round_number}.json"
        shutil.copy(base, path)
        contended = round_number % 2 == 1
        # a slowed write keeps each writer inside its read-modify-write longer, so that without the
        # lock the writers would overwrite one another (checked: with `locked` a no-op, round 1 loses signatures)
        env = {"GUARDIAN_TEST_SLOW_WRITE": "0.1" if contended else "0.02"}
        owners = {
            index: guardian.spawn(*guardian.sign_args(path, index, *(["--eth-sign"] if (index + round_number) % 3 == 0 else [])), env=env)
            for index in OWNER_INDEXES
        }
        stranger = guardian.spawn(*guardian.sign_args(path, 7), env=env) if contended else None
        for index, process in owners.items():
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, f"round {round_number}, owner {index}: {stderr}"
        if stranger is not None:
            _, stderr = stranger.communicate(timeout=60)
            assert stranger.returncode != 0
            errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
            assert errors == [f"Error: {ATTACKER} is not a current owner of the Safe {guardian.testbed.safe} (playbook roster)"], stderr

        proposal = Proposal.from_json(path.read_text(), str(path))  # complete, and every signature recovers
        assert sorted(proposal.signers) == sorted(OWNERS), f"round {round_number}: lost a signature"
        kinds = {s.signer: s.kind for s in proposal.signatures}
        for index in OWNER_INDEXES:
            expected = "eth_sign" if (index + round_number) % 3 == 0 else "eip712"
            assert kinds[OWNERS[index - 1]] == expected
        assert proposal.differences(Proposal.from_json(base.read_text(), str(base))) == []  # nothing else changed
        assert temp_files(path) == []
    elapsed = time.monotonic() - started
    assert elapsed < 120, f"{ROUNDS} rounds took {elapsed:.0f}s"

    status = json.loads(guardian.ok("status", path, "--playbook", guardian.playbook, "--rpc", guardian.url, "--json").stdout)
    assert (status["collected"], status["missing"], status["state"]) == (5, 0, "ready")
    executed = guardian.ok(*guardian.execute_args(path))
    assert executed.stdout.splitlines()[-1].startswith(f"EXECUTED: executed by {EXECUTOR}")


def test_concurrent_signers_on_laptop_copies_then_merge(guardian: Guardian, tmp_path):
    """The other way guardians sign at once: each on a copy, then one `guardian merge`, run while
    a late signer appends to the merged file in another process."""
    base = guardian.propose(tmp_path / "base.json", "pause-vault")
    paths = []
    processes = []
    for index in OWNER_INDEXES[:-1]:
        copy = tmp_path / f"laptop-{index}.json"
        shutil.copy(base, copy)
        paths.append(copy)
        processes.append(guardian.spawn(*guardian.sign_args(copy, index)))
    for process in processes:
        assert process.wait(timeout=60) == 0, process.stderr.read()
    merged = tmp_path / "merged.json"
    shutil.copy(base, merged)
    late = guardian.spawn(*guardian.sign_args(merged, OWNER_INDEXES[-1]), env={"GUARDIAN_TEST_SLOW_WRITE": "0.2"})
    merging = guardian.spawn("merge", *paths, "-o", merged)
    assert late.wait(timeout=60) == 0, late.stderr.read()
    assert merging.wait(timeout=60) == 0, merging.stderr.read()
    proposal = Proposal.from_json(merged.read_text(), str(merged))
    assert sorted(proposal.signers) == sorted(OWNERS)
