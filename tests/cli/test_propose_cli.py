"""propose / show / verify / hash end to end with CliRunner, on the real testbed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from guardian.cli import main


@pytest.fixture
def cli(testbed):
    node, bed = testbed
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [*args], catch_exceptions=False, env={"GUARDIAN_PLAYBOOK": str(bed.playbook_path)})

    return run


@pytest.fixture
def proposals_dir(testbed):
    _, bed = testbed
    folder = bed.playbook_path.parent / "proposals"
    yield folder
    for path in [*folder.glob("*.json"), *folder.glob("*.jsonl")]:
        path.unlink()


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.glob("*")} if folder.exists() else {}


def test_propose_pause_then_verify_with_rpc(cli, testbed, proposals_dir):
    node, bed = testbed
    result = cli("propose", "pause-vault", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    path = out["path"]
    assert path.startswith(str(proposals_dir)) and out["findings"] == []
    data = json.loads(open(path).read())
    assert data["version"] == 1 and data["transaction"]["to"] == bed.vault and data["signatures"] == []
    verified = cli("verify", path, "--rpc", node.url)
    assert verified.exit_code == 0, verified.output
    assert "Verified" in verified.output and "vault.pause()" in verified.output
    as_json = json.loads(cli("verify", path, "--rpc", node.url, "--json").output)
    assert as_json["ok"] is True and as_json["onchain"]["safe_tx_hash"] == data["hashes"]["safe_tx"]
    audit = [json.loads(line) for line in (proposals_dir / "guardian-audit.jsonl").read_text().splitlines()]
    assert audit[-1]["event"] == "propose" and audit[-1]["safe_tx_hash"] == data["hashes"]["safe_tx"]
    hashed = json.loads(cli("hash", path, "--json").output)
    assert hashed == {"domain_hash": data["hashes"]["domain"], "message_hash": data["hashes"]["message"], "safe_tx_hash": data["hashes"]["safe_tx"]}


def test_batch_with_plus_and_show(cli, testbed, proposals_dir):
    _, bed = testbed
    attacker = bed.actors["attacker"]
    result = cli("propose", "pause-vault", "+", "freeze-account", attacker, "+", "set-max-leverage", "5", "--nonce", "0")
    assert result.exit_code == 0, result.output
    assert "schedule set-max-leverage" in result.output
    path = next(proposals_dir.glob("0000-pause-vault-and-2-*.json"))
    shown = cli("show", str(path))
    assert shown.exit_code == 0
    assert "tx.batch[2].timelock[0]: market.setMaxLeverage(newMaxLeverage=5) [timelock-schedule]" in shown.output
    assert f"vault.freezeAccount(account={attacker})" in shown.output


BAD_INPUTS = [
    (["freeze-account", "0x1234"], "freeze-account argument account"),
    (["freeze-account", "0x14dc79964da2C08b23698B3D3cc7Ca32193d9955"], "checksum"),
    (["halt-everything"], "not in the playbook"),
    (["freeze-account"], "missing argument account"),
    (["set-max-leverage", "500"], "max=50"),
    (["set-oracle", "0xabc"], "set-oracle argument"),
]


@pytest.mark.parametrize("words,text", BAD_INPUTS)
def test_bad_input_is_one_line_and_writes_nothing(cli, proposals_dir, words, text):
    before = snapshot(proposals_dir)
    result = cli("propose", *words, "--nonce", "0")
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and text in lines[0], result.output
    assert snapshot(proposals_dir) == before


def test_hash_flag_form_rejects_bad_values(cli):
    base = ["hash", "--safe", "0x5aFE3855358E112B5647B952709E6165e1c1eEEe", "--chain-id", "1", "--to", "0x5aFE3855358E112B5647B952709E6165e1c1eEEe", "--value", "0", "--nonce", "0", "--operation", "0"]
    odd = cli(*base, "--safe-version", "1.4.1", "--data", "0x123")
    assert odd.exit_code != 0 and "odd" in odd.output.lower()
    old = cli(*base, "--safe-version", "1.2.0", "--data", "0x")
    assert old.exit_code != 0 and "1.2.0" in old.output


@pytest.mark.parametrize(
    "edit,field",
    [
        (lambda text: "not json at all", "JSON"),
        (lambda text: text.replace('"version": 1', '"version": 2'), "version"),
        (lambda text: text.replace('"nonce": "0"', '"nonce": "1"'), "hashes"),
    ],
    ids=["not-json", "wrong-version", "hand-edited"],
)
def test_broken_proposal_file_fails_verify(cli, proposals_dir, edit, field):
    result = cli("propose", "pause-vault", "--nonce", "0", "--json")
    path = json.loads(result.output)["path"]
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(edit(text))
    for verb in ("verify", "show"):
        outcome = cli(verb, path)
        assert outcome.exit_code != 0
        assert field in outcome.output and len(outcome.output.strip().splitlines()) == 1, outcome.output
