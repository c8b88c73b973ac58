"""`simulate_proposal` on real anvil forks of the testbed (real Safe 1.4.1, timelock, protocol)."""

from __future__ import annotations

import dataclasses

import pytest

from guardian.adapters.chain import connect
from guardian.config import load_playbook
from guardian.errors import GuardianError, NotASafeError, RpcError
from guardian.workflow.proposals import build_proposal
from guardian.workflow.simulation import simulate_proposal


@pytest.fixture(scope="module")
def bed(testbed):
    node, testbed_ = testbed
    return node, testbed_, load_playbook(testbed_.playbook_path)


def proposal_for(testbed_, playbook, items, nonce=0):
    return build_proposal(playbook, items, chain_id=testbed_.chain_id, nonce=nonce, author="test")


def wide_bounds(playbook, action="set-withdrawal-cap"):
    """A playbook copy whose bounds for ``action`` are wider than the contract's (bypasses guardian's own check)."""
    config = playbook.actions[action]
    params = tuple(dataclasses.replace(p, min=0, max=None) for p in config.params)
    return dataclasses.replace(playbook, actions={**playbook.actions, action: dataclasses.replace(config, params=params)})


def sign_with_keys(proposal, testbed_, names):
    from guardian.adapters.signers import RawKeySigner
    from guardian.domain.signatures import SafeSignature

    hashes = proposal.safe_tx_hashes
    for name in names:
        key = testbed_.owner_keys[name]
        raw = RawKeySigner(name, lambda key=key: key).sign_safe_tx(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash)
        proposal = proposal.with_signature(SafeSignature.create("eip712", raw, hashes.safe_tx_hash, "2025-01-01T00:00:00Z"))
    return proposal


def test_simulated_pause_succeeds_and_its_postcondition_holds(bed):
    node, testbed_, playbook = bed
    report = simulate_proposal(proposal_for(testbed_, playbook, [("pause-vault", [])]), playbook)

    assert report.passed and report.verdict == "WOULD SUCCEED", report.failure
    (execution,) = report.executions
    assert execution.success and execution.gas_used > 21_000 and execution.tx_hash
    assert execution.approved_on_fork == ["alice", "bob", "carol"]  # nobody signed: 3 owners approveHash on the fork
    assert [(e["contract"], e["event"]) for e in execution.events if e["contract"] == "vault"] == [("vault", "Paused")]
    assert any(e["event"] == "ExecutionSuccess" for e in execution.events)
    (check,) = report.checks
    assert check.passed and check.action == "pause-vault" and check.actual == "true"
    assert [(s.description, s.before, s.after) for s in report.state_changes] == [("vault.paused()", "false", "true")]
    assert report.fork["block"] == connect(node.url).block_number() and report.fork["pinned_by"].startswith("the head")
    # the fork is thrown away: the testbed chain itself is untouched
    assert connect(node.url).call(testbed_.vault, bytes.fromhex("5c975abb")) == (0).to_bytes(32, "big")


def test_real_signatures_are_used_and_only_the_missing_ones_approved(bed):
    _, testbed_, playbook = bed
    proposal = sign_with_keys(proposal_for(testbed_, playbook, [("pause-market", [])]), testbed_, ["dave", "erin"])
    report = simulate_proposal(proposal, playbook)
    assert report.passed, report.failure
    assert report.executions[0].signed_by == ["dave", "erin"]
    assert report.executions[0].approved_on_fork == ["alice"]


def test_out_of_bounds_patch_reports_the_custom_error(bed):
    _, testbed_, playbook = bed
    proposal = proposal_for(testbed_, wide_bounds(playbook), [("set-withdrawal-cap", ["1"])])
    report = simulate_proposal(proposal, playbook)

    assert not report.passed and report.verdict == "WOULD FAIL"
    schedule, execute = report.executions
    assert schedule.success  # scheduling does not touch the vault
    assert not execute.success and execute.tx_hash is None
    assert "GS013" in execute.reason
    assert "vault.setWithdrawalCap" in execute.reason
    assert "ParameterOutOfBounds(" in execute.reason and "value=1," in execute.reason and "min=1000000000" in execute.reason
    assert "ParameterOutOfBounds(" in report.failure
    assert report.skipped_checks and not report.checks  # the parameter never changed


def test_timelock_path_warps_executes_and_checks_the_final_state(bed):
    _, testbed_, playbook = bed
    proposal = proposal_for(testbed_, playbook, [("pause-vault", []), ("set-withdrawal-cap", ["2000000000"])])
    report = simulate_proposal(proposal, playbook)

    assert report.passed, report.failure
    schedule, execute = report.executions
    assert schedule.success and execute.success and execute.nonce == 1
    assert any(e["event"] == "CallScheduled" for e in schedule.events)
    assert any(e["event"] == "CallExecuted" for e in execute.events)
    assert any(e["event"] == "ParameterUpdated" for e in execute.events)
    timelock = report.timelock
    assert timelock["kind"] == "schedule" and timelock["delay_seconds"] == 3600
    assert timelock["warped_seconds"] >= 3600 and timelock["ready_at_utc"].endswith("UTC")
    assert {c.description: c.passed for c in report.checks} == {"vault.paused() == true": True, "vault.withdrawalCap() == 2000000000": True}
    changes = {s.description: (s.before, s.after) for s in report.state_changes}
    assert changes["vault.withdrawalCap()"] == ("100000000000", "2000000000")
    assert "in 1 h 0 min" in report.to_markdown()


def test_without_warp_the_schedule_is_reported_and_the_delayed_check_skipped(bed):
    _, testbed_, playbook = bed
    report = simulate_proposal(proposal_for(testbed_, playbook, [("set-withdrawal-cap", ["2000000000"])]), playbook, warp_timelock=False)
    assert report.passed and len(report.executions) == 1
    assert report.skipped_checks and report.timelock["delay_seconds"] == 3600


def test_inner_failure_in_a_safe_routed_call_names_the_inner_error(bed):
    _, testbed_, playbook = bed
    config = playbook.actions["set-withdrawal-cap"]
    direct = dataclasses.replace(playbook, actions={**playbook.actions, "set-withdrawal-cap": dataclasses.replace(config, route="safe")})
    report = simulate_proposal(proposal_for(testbed_, direct, [("set-withdrawal-cap", ["2000000000"])]), direct)
    assert report.verdict == "WOULD FAIL"
    reason = report.executions[0].reason
    assert reason.startswith("GS013") and "AccessControlUnauthorizedAccount(account=" + testbed_.safe in reason


def test_a_queued_nonce_is_simulated_as_if_the_earlier_ones_ran(bed):
    _, testbed_, playbook = bed
    report = simulate_proposal(proposal_for(testbed_, playbook, [("pause-vault", [])], nonce=2), playbook)
    assert report.passed, report.failure
    assert any("queued before it" in note for note in report.notes)


def test_pinned_block_bad_block_and_unreachable_url(bed):
    node, testbed_, playbook = bed
    proposal = proposal_for(testbed_, playbook, [("pause-vault", [])])
    with pytest.raises(NotASafeError, match="has no code"):  # block 0: before the Safe was deployed
        simulate_proposal(proposal, playbook, fork_block=0)
    head = connect(node.url).block_number()
    with pytest.raises(GuardianError, match=f"latest block is {head}"):
        simulate_proposal(proposal, playbook, fork_block=head + 1000)
    with pytest.raises(RpcError, match="unreachable"):
        simulate_proposal(proposal, playbook, fork_url="http://127.0.0.1:9")
