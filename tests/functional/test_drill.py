"""`run_drill` end to end on real anvil forks of the testbed, and no orphan anvil after a crash."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from guardian.adapters.chain import connect
from guardian.config import Check, DrillSigner, load_playbook
from guardian.errors import InputError
from guardian.workflow.drill import run_drill

LEDGER_ALICE = DrillSigner("alice", "ledger-emulator", {"path": "m/44'/60'/0'/0/1"})  # anvil account 1 on the emulator's mnemonic


@pytest.fixture(scope="module")
def bed(testbed):
    node, testbed_ = testbed
    return node, testbed_, load_playbook(testbed_.playbook_path)


@pytest.fixture
def keys(bed, monkeypatch):
    for name, value in bed[1].signer_env().items():
        monkeypatch.setenv(name, value)


def fork_processes(source_url: str) -> list[int]:
    """Pids of running anvil processes forking ``source_url`` (read from /proc, no psutil)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and argv and argv[0].endswith(b"anvil") and source_url.encode() in argv:
            pids.append(int(entry.name))
    return pids


def bob_keystore(testbed_, folder: Path, monkeypatch) -> DrillSigner:
    from eth_account import Account

    keystore = folder / "bob.json"
    keystore.write_text(json.dumps(Account.encrypt(testbed_.owner_keys["bob"], "drill-password", iterations=2**10)))
    monkeypatch.setenv("BOB_KEYSTORE_PASSWORD", "drill-password")
    return DrillSigner("bob", "keystore", {"keystore": str(keystore), "password_env": "BOB_KEYSTORE_PASSWORD"})


def test_drill_passes_with_ledger_emulator_keystore_and_key_guardians(bed, keys, tmp_path, monkeypatch):
    node, testbed_, playbook = bed
    report_path = tmp_path / "report.json"
    override = [LEDGER_ALICE, bob_keystore(testbed_, tmp_path, monkeypatch)]
    report = run_drill(playbook, "vault-drain", signers_override=override, report_path=report_path, echo=lambda _: None)

    assert report.passed, report.failures
    names = [step.name for step in report.steps]
    assert names[:3] == ["fork", "breach", "propose response"]
    for expected in (
        "sign response: alice (ledger-emulator)", "sign response: bob (keystore)", "sign response: carol (key)",
        "simulate on a snapshot", "execute response", "timelock warp", "execute timelock-execute", "conditions",
    ):  # fmt: skip
        assert expected in names
    data = json.loads(report_path.read_text())
    assert data["scenario"] == "vault-drain" and data["passed"] is True
    assert all(isinstance(s["name"], str) and s["passed"] is True and isinstance(s["seconds"], float) for s in data["steps"])
    assert isinstance(data["time_to_containment_seconds"], float) and data["time_to_containment_seconds"] > 0
    assert data["containment"]["pause_block"] > data["containment"]["breach_block"]
    steps = [t["step"] for t in data["transactions"]]
    assert steps == ["breach", "breach", "execute response", "execute timelock-execute"]
    assert all(t["tx_hash"].startswith("0x") and len(t["tx_hash"]) == 66 and t["block"] for t in data["transactions"])
    assert len(data["proposal_ids"]) == 2
    assert {c["check"] for c in data["postconditions"]} >= {"vault.withdrawalCap() == 1000000000"}
    # everything happened on the fork: the testbed chain is neither breached nor paused
    assert connect(node.url).call(testbed_.vault, bytes.fromhex("5c975abb")) == (0).to_bytes(32, "big")
    assert not fork_processes(node.url)


def test_drill_with_a_condition_that_cannot_hold_fails_and_names_it(bed, keys):
    node, _, playbook = bed
    drill = playbook.drills["vault-drain"]
    impossible = Check(contract="vault", call="withdrawalCap()", equals=1)
    broken = dataclasses.replace(playbook, drills={"vault-drain": dataclasses.replace(drill, conditions=drill.conditions + (impossible,))})
    report = run_drill(broken, "vault-drain", echo=lambda _: None)

    assert not report.passed
    (failed,) = [step for step in report.steps if not step.passed]
    assert failed.name == "conditions" and "vault.withdrawalCap() == 1" in failed.detail
    assert any("condition failed: vault.withdrawalCap() == 1" in line for line in report.failures)
    assert report.time_to_containment_seconds is not None  # the response itself worked
    assert not fork_processes(node.url)


def test_bad_scenario_and_guardian_are_refused_before_anything_starts(bed, keys):
    node, _, playbook = bed
    with pytest.raises(InputError, match="drill scenario 'nope'"):
        run_drill(playbook, "nope")
    with pytest.raises(InputError, match="mallory"):
        run_drill(playbook, "vault-drain", signers_override=[DrillSigner("mallory", "key", {"key_env": "X"})])
    assert not fork_processes(node.url)


def test_keyboard_interrupt_inside_a_step_still_stops_anvil(bed, keys, tmp_path):
    node, _, playbook = bed

    def echo(line: str) -> None:
        if "sign response: bob" in line:
            assert fork_processes(node.url), "the fork should be running mid-drill"
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_drill(playbook, "vault-drain", signers_override=[LEDGER_ALICE], echo=echo, report_path=tmp_path / "r.json")
    assert not fork_processes(node.url)
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


def test_sigterm_to_a_drill_subprocess_leaves_no_anvil(bed, tmp_path):
    node, testbed_, _ = bed
    script = textwrap.dedent(
        f"""
        import sys, time
        from guardian.config import load_playbook
        from guardian.workflow.drill import run_drill

        def echo(line):
            print(line, flush=True)
            if "PASS  breach" in line:
                print("MID-DRILL", flush=True)
                time.sleep(60)

        run_drill(load_playbook({str(testbed_.playbook_path)!r}), "vault-drain", echo=echo)
        """
    )
    env = {**os.environ, **testbed_.signer_env()}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in child.stdout:
            if "MID-DRILL" in line or time.monotonic() > deadline:
                break
        running = fork_processes(node.url)
        assert running, "the drill's fork should be running"
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0
    time.sleep(0.2)
    assert not fork_processes(node.url), f"orphan anvil(s) left: {running}"
