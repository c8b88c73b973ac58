"""`guardian doctor` against the real testbed and its misconfigured variants (real anvil)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardian.adapters.anvil import start_anvil
from guardian.adapters.chain import connect
from guardian.adapters.signers import open_signer
from guardian.cli import main
from guardian.config import load_playbook
from guardian.domain.abi import encode_call
from guardian.testbed import PAUSE_WINDOW, deploy_testbed, signer_env_name
from guardian.workflow.proposals import propose
from guardian.workflow.readiness import OFFICIAL_SINGLETONS, run_checks

DAY = 24 * 3600


def run_doctor(playbook_path, *extra):
    result = CliRunner().invoke(main, ["doctor", "--playbook", str(playbook_path), "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    report = json.loads(result.stdout)
    return result.exit_code, report, {c["name"]: c for c in report["checks"]}


def not_ok(checks: dict) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items() if c["status"] != "ok"}


def private_playbook(bed, tmp_path: Path) -> Path:
    """A copy of the testbed playbook (and its ABIs) with its own proposals folder."""
    folder = tmp_path / "playbook"
    shutil.copytree(bed.playbook_path.parent, folder, ignore=shutil.ignore_patterns("proposals", ".guardian-watch-state.json"))
    return folder / bed.playbook_path.name


def test_clean_testbed_is_all_ok(testbed):
    node, bed = testbed
    code, report, checks = run_doctor(bed.playbook_path, "--rpc", node.url)
    assert code == 0 and report["ok"] is True
    # The testbed's singleton is not at an official address, but it is byte-for-byte
    # safe-eth-py's Safe 1.4.1 build: that is reported ok, so the clean testbed is all ok.
    assert not_ok(checks) == {}
    assert "byte-for-byte safe-eth-py's Safe 1.4.1 build" in checks["safe.singleton"]["detail"]
    assert "standard Safe proxy (1.4.1)" in checks["safe.proxy"]["detail"]
    expected = {"safe.version", "safe.owners", "safe.threshold", "safe.modules", "safe.guard", "safe.fallback-handler",
                "timelock.min-delay", "timelock.proposer", "timelock.canceller", "timelock.executor", "timelock.admin",
                "pause-window.vault", "pause-window.market", "nonces.proposals"}  # fmt: skip
    expected |= {f"action.{name}" for name in load_playbook(bed.playbook_path).actions}
    assert expected <= set(checks)
    assert "DEFAULT_ADMIN_ROLE is held only by the timelock itself" in checks["timelock.admin"]["detail"]


def test_table_output_is_coloured_and_names_every_check(testbed):
    node, bed = testbed
    result = CliRunner().invoke(main, ["doctor", "--playbook", str(bed.playbook_path)], color=True)
    assert result.exit_code == 0, result.output
    import click

    assert click.style("ok  ", fg="green", bold=False) in result.output  # green ok
    assert "action.pause-vault" in result.output and "timelock.executor" in result.output
    assert "0 failure(s): ready" in result.output


VARIANTS = {
    "open-executor": ({"timelock.executor": "fail"}, 1),
    "module-enabled": ({"safe.modules": "warn"}, 0),
    "no-pause-role": (
        {"action.pause-vault": "fail", "action.pause-market": "fail", "action.freeze-account": "fail", "action.freeze-market": "fail"},
        1,
    ),
    "old-safe": ({"safe.version": "warn"}, 0),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_misconfiguration_is_caught(variant, tmp_path):
    expected, exit_code = VARIANTS[variant]
    with start_anvil(log_dir=tmp_path) as node:
        bed = deploy_testbed(node.url, out_dir=tmp_path / "playbook", variant=variant)
        code, report, checks = run_doctor(bed.playbook_path)
    assert not_ok(checks) == expected  # exactly these checks, nothing else
    assert code == exit_code and report["ok"] is (exit_code == 0)
    if variant == "open-executor":
        detail = checks["timelock.executor"]["detail"]
        assert "address(0)" in detail and "ANYONE can execute" in detail and "Sonne" in detail
        assert "revoke EXECUTOR_ROLE from address(0)" in checks["timelock.executor"]["fix"]
    elif variant == "module-enabled":
        assert f"1 module(s) enabled: {bed.actors['keeper']}" in checks["safe.modules"]["detail"]
        assert bed.enabled_modules == (bed.actors["keeper"],)
    elif variant == "no-pause-role":
        assert "the Safe lacks GUARDIAN_ROLE on vault" in checks["action.pause-vault"]["detail"]
        assert "AccessControlUnauthorizedAccount" in checks["action.pause-vault"]["detail"]
        assert checks["action.unpause-vault"]["status"] == "ok"  # the timelock still holds GOVERNOR
    else:
        assert "1.1.1 predates 1.3.0" in checks["safe.version"]["detail"]
        assert "byte-for-byte safe-eth-py's Safe 1.1.1 build" in checks["safe.singleton"]["detail"]


def test_pause_window_warns_near_expiry_and_fails_once_expired(isolated_testbed):
    node, bed = isolated_testbed
    node.rpc("evm_increaseTime", [PAUSE_WINDOW - 7 * DAY])
    node.rpc("anvil_mine", ["0x1"])
    code, _, checks = run_doctor(bed.playbook_path, "--pause-window-days", "14")
    assert code == 0
    assert not_ok(checks) == {"pause-window.vault": "warn", "pause-window.market": "warn"}
    assert "under 14 days" in checks["pause-window.vault"]["detail"]
    code, _, checks = run_doctor(bed.playbook_path, "--pause-window-days", "5")
    assert code == 0 and not_ok(checks) == {}
    node.rpc("evm_increaseTime", [8 * DAY])
    node.rpc("anvil_mine", ["0x1"])
    code, _, checks = run_doctor(bed.playbook_path)
    assert code == 1
    assert checks["pause-window.vault"]["status"] == "fail" and "Balancer" in checks["pause-window.vault"]["detail"]
    # the pause action itself now reverts with PauseWindowExpired: a fail too
    assert checks["action.pause-vault"]["status"] == "fail" and "PauseWindowExpired" in checks["action.pause-vault"]["detail"]


def test_an_already_paused_contract_warns(isolated_testbed):
    node, bed = isolated_testbed
    chain = connect(node.url)
    chain.impersonate(bed.safe)
    chain.set_balance(bed.safe, 10**18)
    assert chain.wait_for_receipt(chain.send_unsigned_as(bed.safe, bed.vault, encode_call("pause()", []))).status == 1
    chain.stop_impersonating(bed.safe)
    code, _, checks = run_doctor(bed.playbook_path)
    assert code == 0 and not_ok(checks) == {"action.pause-vault": "warn"}
    assert "already paused" in checks["action.pause-vault"]["detail"]


def test_safe_roster_mismatch_and_lowered_threshold_fail(isolated_testbed):
    node, bed = isolated_testbed
    chain = connect(node.url)
    chain.impersonate(bed.safe)
    chain.set_balance(bed.safe, 10**18)
    data = encode_call("addOwnerWithThreshold(address,uint256)", [bed.actors["attacker"], 1])
    assert chain.wait_for_receipt(chain.send_unsigned_as(bed.safe, bed.safe, data)).status == 1
    chain.stop_impersonating(bed.safe)
    report = run_checks(load_playbook(bed.playbook_path), chain)
    assert report.failed
    assert report.by_name("safe.owners").status == "fail" and bed.actors["attacker"] in report.by_name("safe.owners").detail
    assert report.by_name("safe.threshold").status == "fail" and "threshold 1 on chain" in report.by_name("safe.threshold").detail


def test_nonce_hygiene_stale_gap_and_duplicate(isolated_testbed, tmp_path, monkeypatch):
    from guardian.workflow.execution import execute_proposal
    from guardian.workflow.signing import sign_proposal

    node, bed = isolated_testbed
    for name, value in bed.signer_env().items():
        monkeypatch.setenv(name, value)
    playbook = load_playbook(private_playbook(bed, tmp_path))
    first = propose(playbook, [("pause-vault", [])], nonce=0, author="test").path
    propose(playbook, [("pause-market", [])], nonce=0, author="test")
    propose(playbook, [("freeze-account", [bed.actors["attacker"]])], nonce=2, author="test")
    chain = connect(node.url)
    checks = {c.name: c for c in run_checks(playbook, chain).checks}
    assert checks["nonces.duplicates"].status == "warn" and "0" in checks["nonces.duplicates"].detail
    assert checks["nonces.gaps"].status == "warn" and "nonce(s) 1" in checks["nonces.gaps"].detail
    assert checks["nonces.stale"].status == "ok"

    quiet = lambda text: None  # noqa: E731
    for owner in list(bed.owners)[: bed.threshold]:
        signer = open_signer(f"key:{signer_env_name(owner)}", allow_raw_key=True, echo=quiet)
        sign_proposal(first, signer, playbook=playbook, chain=chain, echo=quiet)
    executor = open_signer(f"key:{signer_env_name('alice')}", allow_raw_key=True, echo=quiet)
    assert execute_proposal(first, executor, chain=chain, playbook=playbook, echo=quiet).ok

    checks = {c.name: c for c in run_checks(playbook, chain).checks}
    assert checks["nonces.stale"].status == "warn"  # the pause-market proposal at nonce 0 can never execute
    assert "1 local proposal(s) below the Safe's nonce 1" in checks["nonces.stale"].detail
    assert checks["nonces.gaps"].status == "warn" and "nonce(s) 1" in checks["nonces.gaps"].detail
    assert "nonces.duplicates" not in checks
    assert checks["action.pause-vault"].status == "warn"  # and the vault is now paused


def test_wrong_chain_fails_first(testbed, tmp_path):
    _, bed = testbed
    with start_anvil(log_dir=tmp_path, chain_id=5) as other:
        code, report, checks = run_doctor(bed.playbook_path, "--rpc", other.url)
    assert code == 1 and list(checks) == ["network.chain-id"]
    assert "serves chain 5" in checks["network.chain-id"]["detail"]


def test_official_singleton_table_agrees_with_safe_eth_py():
    from safe_eth.eth import EthereumNetwork
    from safe_eth.safe.addresses import MASTER_COPIES

    mainnet = {address: version for address, _, version in MASTER_COPIES[EthereumNetwork.MAINNET]}
    for address, (version, _) in OFFICIAL_SINGLETONS.items():
        assert mainnet[address].split("+")[0] == version, address
