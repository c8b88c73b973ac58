"""`guardian sign / approve / merge / status / execute / timelock list` end to end through the
CLI (click's CliRunner, and the real binary in subprocesses), on the real testbed, with the
Ledger emulator served over ledgerblue's TCP transport (Speculos framing), exactly as the CLI
would talk to Speculos.

Every bad input must give exactly one ``Error:`` line on stderr, a non-zero exit, and leave
the proposal file byte for byte unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from eth_account import Account

from guardian.cli import main
from guardian.testbed import ANVIL_ADDRESSES, ANVIL_KEYS
from guardian.testing.ledger_emulator import LedgerEmulator, serve

GUARDIAN = str(Path(sys.executable).with_name("guardian"))
LEDGER_ALICE = "ledger:m/44'/60'/0'/0/1"  # the emulator's mnemonic is anvil's: account 1 = alice
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    """key-file paths for anvil accounts 0..9, and carol's keystore with its password file."""
    folder = tmp_path_factory.mktemp("keys")
    files = {}
    for index, key in enumerate(ANVIL_KEYS):
        path = folder / f"key{index}.txt"
        path.write_text(key + "\n")
        files[index] = f"key-file:{path}"
    keystore = folder / "carol.json"
    keystore.write_text(json.dumps(Account.encrypt(ANVIL_KEYS[3], PASSWORD, kdf="pbkdf2", iterations=2048)))
    (folder / "password.txt").write_text(PASSWORD + "\n")
    (folder / "wrong.txt").write_text("wrong horse\n")
    files["keystore"] = str(keystore)
    files["password"] = str(folder / "password.txt")
    files["wrong"] = str(folder / "wrong.txt")
    return files


@pytest.fixture
def ledger():
    """The emulated Ledger on a loopback TCP port; yields (emulator, env for the CLI)."""
    server, port = serve()
    try:
        yield server.emulator, {"LEDGER_PROXY_ADDRESS": "127.0.0.1", "LEDGER_PROXY_PORT": str(port)}
    finally:
        server.stop()


@pytest.fixture
def cli(isolated_testbed, tmp_path):
    node, testbed = isolated_testbed
    runner = CliRunner(mix_stderr=False)

    def run(*args, env=None, ok=True):
        result = runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def new(action="pause-vault", *args, nonce=None, name="p.json"):
        out = tmp_path / name
        extra = ["--nonce", str(nonce)] if nonce is not None else []
        run("propose", "--playbook", testbed.playbook_path, action, *args, "-o", out, *extra)
        return out

    run.new = new
    run.pb = ["--playbook", str(testbed.playbook_path)]
    run.rpc = ["--rpc", node.url]
    return node, testbed, run


def one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    return errors[0]


def test_sign_status_execute_and_rerun(cli, keys, ledger):
    node, testbed, run = cli
    emulator, ledger_env = ledger
    path = run.new()
    signed = run("sign", path, "--signer", LEDGER_ALICE, *run.pb, *run.rpc, env=ledger_env)
    proposal = json.loads(path.read_text())
    for value in proposal["hashes"].values():
        assert value in signed.stdout  # printed for comparison with the device
    assert emulator.screens[-1]["domain_hash"] == proposal["hashes"]["domain"]
    assert "Signed by alice (eip712); 1 owner signature(s) of 3 needed (on chain)" in signed.stdout
    run("sign", path, "--signer", keys[2], "--allow-raw-key", *run.pb)
    run("sign", path, "--signer", f"keystore:{keys['keystore']}", "--password-file", keys["password"], *run.pb, *run.rpc)

    status = json.loads(run("status", path, *run.pb, *run.rpc, "--json").stdout)
    assert (status["collected"], status["missing"], status["state"], status["owners_from"]) == (3, 0, "ready", "on chain")
    assert [o["name"] for o in status["owners"] if o["signed"]] == ["alice", "bob", "carol"]
    text = run("status", path, *run.pb).stdout
    assert "Threshold 3 (playbook roster): 3 collected, 0 more needed" in text and "State: ready" in text

    executed = json.loads(run("execute", path, "--signer", keys[9], "--allow-raw-key", *run.pb, *run.rpc, "--json").stdout)
    assert executed["status"] == "executed" and executed["ok"]
    paused = subprocess_free_call(node.url, testbed.vault, "0x5c975abb")
    assert int(paused, 16) == 1
    before = path.read_bytes()
    rerun = run("execute", path, "--signer", keys[9], "--allow-raw-key", *run.pb)  # RPC from the playbook network
    assert rerun.stdout.startswith("ALREADY-EXECUTED: already executed by " + ANVIL_ADDRESSES[9])
    assert path.read_bytes() == before
    assert "State: executed" in run("status", path, *run.pb, *run.rpc).stdout


def subprocess_free_call(url: str, to: str, data: str) -> str:
    from guardian.adapters.chain import connect

    return "0x" + connect(url).call(to, bytes.fromhex(data[2:])).hex()


def test_merge_of_laptop_copies_then_approve_on_chain(cli, keys, ledger, tmp_path):
    node, testbed, run = cli
    _, ledger_env = ledger
    path = run.new()
    copies = []
    for index, signer in ((1, LEDGER_ALICE), (2, keys[2])):
        laptop = tmp_path / f"laptop{index}"
        laptop.mkdir()
        copies.append(Path(shutil.copy(path, laptop / "p.json")))
        run("sign", copies[-1], "--signer", signer, "--allow-raw-key", *run.pb, env=ledger_env)
    merged = tmp_path / "merged.json"
    out = run("merge", *copies, "-o", merged)
    assert "2 signature(s)" in out.stdout
    run("approve", merged, "--signer", keys[4], "--allow-raw-key", *run.pb, *run.rpc)  # dave, on chain
    status = json.loads(run("status", merged, *run.pb, *run.rpc, "--json").stdout)
    assert {o["name"]: o["how"] for o in status["owners"] if o["signed"]} == {"alice": "eip712", "bob": "eip712", "dave": "approved_hash"}
    assert json.loads(run("execute", merged, "--signer", keys[9], "--allow-raw-key", *run.pb, "--json").stdout)["status"] == "executed"


def black_hole() -> socket.socket:
    """A TCP port that accepts connections (kernel backlog) but never answers: an RPC timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


BAD_INPUTS = [
    "non-owner",
    "duplicate",
    "different-hash",
    "too-few-signatures",
    "wrong-password",
    "ledger-disconnected",
    "ledger-rejects",
    "rpc-timeout",
    "nonce-used",
    "raw-key-not-allowed",
]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_non_zero_and_leaves_the_file_unchanged(cli, keys, case, tmp_path):
    node, testbed, run = cli
    path = run.new()
    run("sign", path, "--signer", keys[2], "--allow-raw-key", *run.pb)  # bob has signed
    env, target, expected = None, path, None
    if case == "non-owner":
        args, expected = ["sign", path, "--signer", keys[9], "--allow-raw-key", *run.pb, *run.rpc], "is not a current owner"
    elif case == "duplicate":
        args, expected = ["sign", path, "--signer", keys[2], "--allow-raw-key", *run.pb], "already signed"
    elif case == "different-hash":
        other = run.new("pause-market", nonce=0, name="other.json")
        run("sign", other, "--signer", keys[3], "--allow-raw-key", *run.pb)
        forged = json.loads(path.read_text())
        forged["signatures"].append(json.loads(other.read_text())["signatures"][0])  # carol's, over another hash
        target = tmp_path / "forged.json"
        target.write_text(json.dumps(forged, indent=2))
        args, expected = ["execute", target, "--signer", keys[9], "--allow-raw-key", *run.pb], "signatures["
    elif case == "too-few-signatures":
        args, expected = ["execute", path, "--signer", keys[9], "--allow-raw-key", *run.pb], "not enough signatures: 1 of the 3"
    elif case == "wrong-password":
        args = ["sign", path, "--signer", f"keystore:{keys['keystore']}", "--password-file", keys["wrong"], *run.pb]
        expected = "wrong password"
    elif case == "ledger-disconnected":
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        env = {"LEDGER_PROXY_ADDRESS": "127.0.0.1", "LEDGER_PROXY_PORT": str(hole.getsockname()[1])}  # bound, not listening
        args, expected = ["sign", path, "--signer", LEDGER_ALICE, *run.pb], "no device connected"
    elif case == "ledger-rejects":
        server, port = serve(emulator=LedgerEmulator(reject_all=True))
        env = {"LEDGER_PROXY_ADDRESS": "127.0.0.1", "LEDGER_PROXY_PORT": str(port)}
        args, expected = ["sign", path, "--signer", LEDGER_ALICE, *run.pb], "rejected on the device"
    elif case == "rpc-timeout":
        hole = black_hole()
        args = ["execute", path, "--signer", keys[9], "--allow-raw-key", *run.pb, "--rpc", f"http://127.0.0.1:{hole.getsockname()[1]}", "--rpc-timeout", "0.5"]
        expected = "timeout"
    elif case == "nonce-used":
        run("sign", path, "--signer", keys[3], "--allow-raw-key", *run.pb)
        run("sign", path, "--signer", keys[4], "--allow-raw-key", *run.pb)
        run("execute", path, "--signer", keys[9], "--allow-raw-key", *run.pb)
        target = run.new("pause-market", nonce=0, name="late.json")
        for index in (2, 3, 4):
            run("sign", target, "--signer", keys[index], "--allow-raw-key", *run.pb)
        args, expected = ["execute", target, "--signer", keys[9], "--allow-raw-key", *run.pb], "nonce 0 was used by another transaction"
    elif case == "raw-key-not-allowed":
        args, expected = ["sign", path, "--signer", keys[3], *run.pb], "raw private keys are for drills and tests only"
    before = target.read_bytes()
    try:
        result = run(*args, env=env, ok=False)
    finally:
        if case == "ledger-rejects":
            server.stop()
        if case in ("ledger-disconnected", "rpc-timeout"):
            hole.close()
    assert result.exit_code != 0
    line = one_error_line(result)
    assert expected in line, line
    assert target.read_bytes() == before


def direct_playbook(testbed) -> Path:
    data = yaml.safe_load(testbed.playbook_path.read_text())
    data["actions"]["set-max-leverage-direct"] = dict(data["actions"]["set-max-leverage"], route="safe")
    path = testbed.playbook_path.with_name("guardian-direct.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_inner_failure_exits_non_zero_and_timelock_list(cli, keys, tmp_path):
    node, testbed, run = cli
    import dataclasses

    from guardian.config import load_playbook
    from guardian.domain.proposal import Proposal
    from guardian.workflow.proposals import build_proposal

    playbook_path = direct_playbook(testbed)
    built = build_proposal(load_playbook(playbook_path), [("set-max-leverage-direct", ["5"])], chain_id=testbed.chain_id, nonce=0, author="test")
    path = tmp_path / "direct.json"
    path.write_text(Proposal.create(dataclasses.replace(built.safe_tx, safe_tx_gas=150_000), built.intent, "test").to_json())
    for index in (1, 2, 3):
        run("sign", path, "--signer", keys[index], "--allow-raw-key", "--playbook", playbook_path)
    refused = run("execute", path, "--signer", keys[9], "--allow-raw-key", "--playbook", playbook_path, ok=False)
    assert refused.exit_code == 1 and "would FAIL inside the Safe" in one_error_line(refused)
    forced = run("execute", path, "--signer", keys[9], "--allow-raw-key", "--playbook", playbook_path, "--i-understand-the-risk", ok=False)
    assert forced.exit_code == 1
    assert "FAILED-INSIDE" in forced.stderr and "did NOT happen" in forced.stderr
    assert "EXECUTED" not in forced.stdout

    schedule = run.new("set-max-leverage", "7", name="schedule.json")
    for index in (1, 2, 3):
        run("sign", schedule, "--signer", keys[index], "--allow-raw-key", *run.pb)
    run("execute", schedule, "--signer", keys[9], "--allow-raw-key", *run.pb)
    listed = json.loads(run("timelock", "list", *run.pb, "--json").stdout)
    assert [(op["id"], op["state"]) for op in listed] == [(json.loads(schedule.read_text())["timelock"]["operation_id"], "pending")]
    assert listed[0]["calls"][0]["call"] == "market.setMaxLeverage(newMaxLeverage=7)"
    table = run("timelock", "list", *run.pb).stdout
    assert "pending" in table and "market.setMaxLeverage(newMaxLeverage=7)" in table


def test_five_guardian_processes_sign_the_same_file_at_once(cli, keys, ledger):
    """The real binary, five processes at once (one of them the Ledger over TCP): no signature lost."""
    node, testbed, run = cli
    _, ledger_env = ledger
    path = run.new()
    env = dict(os.environ, **ledger_env, GUARDIAN_TEST_SLOW_WRITE="0.05")
    signers = [LEDGER_ALICE] + [keys[index] for index in (2, 3, 4, 5)]
    processes = [
        subprocess.Popen([GUARDIAN, "sign", str(path), "--signer", signer, "--allow-raw-key", *run.pb], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for signer in signers
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=90)
        assert process.returncode == 0, stderr
    assert sorted(s["signer"] for s in json.loads(path.read_text())["signatures"]) == sorted(ANVIL_ADDRESSES[1:6])
