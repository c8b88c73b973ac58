"""`guardian simulate` and `guardian drill` end to end through click, on real anvil forks."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from click.testing import CliRunner

from guardian.cli import main
from guardian.config import load_playbook
from guardian.workflow.proposals import build_proposal


@pytest.fixture(scope="module")
def bed(testbed):
    node, testbed_ = testbed
    return node, testbed_, load_playbook(testbed_.playbook_path)


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def write_proposal(tmp_path, playbook, testbed_, items, name="proposal.json"):
    path = tmp_path / name
    path.write_text(build_proposal(playbook, items, chain_id=testbed_.chain_id, nonce=0, author="test").to_json())
    return path


def playbook_variant(testbed_, name, change) -> str:
    """A copy of the testbed playbook (next to it, so its relative ABI paths hold) changed by ``change(data)``."""
    data = yaml.safe_load(testbed_.playbook_path.read_text())
    change(data)
    path = testbed_.playbook_path.parent / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_simulate_pause_writes_json_and_markdown(bed, tmp_path):
    _, testbed_, playbook = bed
    proposal = write_proposal(tmp_path, playbook, testbed_, [("pause-vault", [])])
    result = invoke("simulate", proposal, "--playbook", testbed_.playbook_path, "--json", tmp_path / "out/sim.json", "--markdown", tmp_path / "out/sim.md")
    assert result.exit_code == 0, result.output
    assert "WOULD SUCCEED" in result.output and "vault.Paused(" in result.output and "PASS" in result.output
    data = json.loads((tmp_path / "out/sim.json").read_text())
    assert data["passed"] is True and data["gas_used"] > 0 and data["postconditions"][0]["check"] == "vault.paused() == true"
    assert "WOULD SUCCEED" in (tmp_path / "out/sim.md").read_text()


def test_simulate_out_of_bounds_is_a_clear_would_fail(bed, tmp_path):
    _, testbed_, playbook = bed
    config = playbook.actions["set-withdrawal-cap"]
    wide = dataclasses.replace(config, params=(dataclasses.replace(config.params[0], min=0, max=None),))
    loose = dataclasses.replace(playbook, actions={**playbook.actions, "set-withdrawal-cap": wide})
    proposal = write_proposal(tmp_path, loose, testbed_, [("set-withdrawal-cap", ["1"])])
    result = invoke("simulate", proposal, "--playbook", testbed_.playbook_path)
    assert result.exit_code == 1
    assert "WOULD FAIL" in result.output and "ParameterOutOfBounds(" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "extra, env, message",
    [
        (["--fork-url", "http://127.0.0.1:9"], None, "unreachable"),
        (["--block", "99999999"], None, "latest block is"),
        ([], {"GUARDIAN_ANVIL": "/nonexistent/anvil"}, "anvil not found"),
    ],
    ids=["unreachable-url", "block-beyond-head", "anvil-missing"],
)
def test_simulate_bad_input_is_one_line(bed, tmp_path, extra, env, message):
    _, testbed_, playbook = bed
    proposal = write_proposal(tmp_path, playbook, testbed_, [("pause-vault", [])])
    result = CliRunner(mix_stderr=False).invoke(main, ["simulate", str(proposal), "--playbook", str(testbed_.playbook_path), *extra], env=env)
    assert result.exit_code != 0
    assert message in result.stderr and result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_drill_passes_with_the_emulated_ledger(bed, tmp_path):
    _, testbed_, _ = bed
    report = tmp_path / "drill.json"
    result = invoke(
        "drill", "vault-drain", "--playbook", testbed_.playbook_path, "--report", report,
        "--signer", "alice=ledger-emulator:m/44'/60'/0'/0/1", env=testbed_.signer_env(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "DRILL vault-drain PASSED" in result.output and "Time to containment:" in result.output
    assert "sign response: alice (ledger-emulator)" in result.output
    data = json.loads(report.read_text())
    assert data["passed"] is True and any(s["name"] == "execute timelock-execute" for s in data["steps"])


def test_drill_with_an_impossible_condition_exits_non_zero_and_names_it(bed, tmp_path):
    _, testbed_, _ = bed

    def impossible(data):
        data["drills"]["vault-drain"]["conditions"].append({"contract": "vault", "call": "paused()", "equals": False})

    path = playbook_variant(testbed_, "impossible.yaml", impossible)
    result = invoke("drill", "vault-drain", "--playbook", path, "--report", tmp_path / "r.json", env=testbed_.signer_env())
    assert result.exit_code == 1
    assert "DRILL vault-drain FAILED" in result.output
    assert "condition failed: vault.paused() == false" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


def test_drill_bad_input_is_one_line(bed):
    _, testbed_, _ = bed

    def unknown_action(data):
        data["drills"]["vault-drain"]["response"].append("drain-everything")

    cases = [
        (["drill", "no-such-drill", "--playbook", str(testbed_.playbook_path)], "drill scenario 'no-such-drill'"),
        (["drill", "vault-drain", "--playbook", playbook_variant(testbed_, "unknown-action.yaml", unknown_action)], "unknown action 'drain-everything'"),
        (["drill", "vault-drain", "--playbook", str(testbed_.playbook_path), "--signer", "mallory=key:MALLORY_KEY"], "mallory"),
        (["drill", "vault-drain", "--playbook", str(testbed_.playbook_path), "--fork-url", "http://127.0.0.1:9"], "unreachable"),
    ]
    for args, message in cases:
        result = CliRunner(mix_stderr=False).invoke(main, args, env=testbed_.signer_env())
        assert result.exit_code != 0, args
        assert result.stderr.startswith("Error: ") and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
