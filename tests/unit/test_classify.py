"""Classifying queued timelock operations (pure: a unit playbook, no chain)."""

from __future__ import annotations

import pytest

from guardian.config import load_playbook
from guardian.domain.abi import encode_call
from guardian.domain.classify import BENIGN, HOSTILE, RISKY, classify_call, classify_operation, role_name
from guardian.domain.intent import Context
from guardian.domain.multisend import Call
from guardian.domain.values import ZERO_BYTES32, keccak

SAFE = "0x5aFE3855358E112B5647B952709E6165e1c1eEEe"
TIMELOCK = "0x0165878A594ca255338adfa4d48449f69242Eb8F"
MARKET = "0xB7f8BC63BbcaD18155201308C8f3540b07f84F5e"
ORACLE = "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6"
BACKUP = "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318"
ATTACKER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
STRANGER = "0x000000000000000000000000000000000000bEEF"
GOVERNOR = keccak(b"GOVERNOR_ROLE")
GUARDIAN = keccak(b"GUARDIAN_ROLE")

FN = "{type: function, name: %s, inputs: [%s], outputs: [], stateMutability: nonpayable}"
MARKET_ABI = [
    FN % ("pause", ""),
    FN % ("unpause", ""),
    FN % ("setMaxLeverage", "{name: newMaxLeverage, type: uint256}"),
    FN % ("setOracle", "{name: newOracle, type: address}"),
    FN % ("extendPauseWindow", "{name: newEnd, type: uint256}"),
    FN % ("grantRole", "{name: role, type: bytes32}, {name: account, type: address}"),
    FN % ("revokeRole", "{name: role, type: bytes32}, {name: account, type: address}"),
    FN % ("renounceRole", "{name: role, type: bytes32}, {name: callerConfirmation, type: address}"),
    FN % ("upgradeTo", "{name: implementation, type: address}"),
]
PLAYBOOK = f"""
version: 1
networks: {{local: {{chain_id: 31337}}}}
safe:
  address: "{SAFE}"
  version: "1.4.1"
  threshold: 1
  owners: {{alice: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}}
timelock: {{address: "{TIMELOCK}", min_delay: 3600}}
contracts:
  market:
    address: "{MARKET}"
    abi:
{chr(10).join("      - " + line for line in MARKET_ABI)}
  oracle: {{address: "{ORACLE}", abi: [{FN % ("setPrice", "{name: id, type: bytes32}, {name: price, type: uint256}")}]}}
  backup-oracle: {{address: "{BACKUP}", abi: []}}
actions:
  unpause-market: {{kind: unpause, contract: market, function: "unpause()", route: timelock}}
  set-max-leverage:
    kind: set-parameter
    contract: market
    function: "setMaxLeverage(uint256)"
    route: timelock
    params: [{{name: leverage, type: uint256, min: 1, max: 50}}]
  set-oracle:
    kind: set-parameter
    contract: market
    function: "setOracle(address)"
    route: timelock
    params: [{{name: oracle, type: address}}]
"""


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    path = tmp_path_factory.mktemp("classify") / "guardian.yaml"
    path.write_text(PLAYBOOK)
    return Context.from_playbook(load_playbook(path))


def judge(context, to, signature, *args, value=0, min_delay=3600):
    return classify_call(context, 0, Call(to, value, encode_call(signature, list(args))), min_delay=min_delay)


def test_grant_role_is_hostile_and_names_role_and_grantee(context):
    verdict = judge(context, MARKET, "grantRole(bytes32,address)", GOVERNOR, ATTACKER)
    assert verdict.verdict == HOSTILE
    assert verdict.reason == f"grants GOVERNOR_ROLE to {ATTACKER}"
    assert verdict.contract == "market" and verdict.function == "grantRole(bytes32,address)"
    assert verdict.describe() == f"market.grantRole(role=GOVERNOR_ROLE, account={ATTACKER})"
    assert verdict.as_dict()["args"] == {"role": "GOVERNOR_ROLE", "account": ATTACKER}


def test_grant_role_on_the_timelock_itself_is_hostile(context):
    verdict = judge(context, TIMELOCK, "grantRole(bytes32,address)", keccak(b"PROPOSER_ROLE"), ATTACKER)
    assert verdict.verdict == HOSTILE and "PROPOSER_ROLE" in verdict.reason


def test_revoking_the_safe_is_hostile_other_revokes_risky(context):
    assert judge(context, MARKET, "revokeRole(bytes32,address)", GUARDIAN, SAFE).verdict == HOSTILE
    assert "guardian Safe" in judge(context, MARKET, "revokeRole(bytes32,address)", GUARDIAN, SAFE).reason
    assert judge(context, MARKET, "revokeRole(bytes32,address)", GUARDIAN, ATTACKER).verdict == RISKY
    assert judge(context, MARKET, "renounceRole(bytes32,address)", GUARDIAN, SAFE).verdict == HOSTILE


def test_lowering_the_delay_is_hostile_raising_it_risky(context):
    lower = judge(context, TIMELOCK, "updateDelay(uint256)", 60)
    assert lower.verdict == HOSTILE and "3600s to 60s" in lower.reason
    assert judge(context, TIMELOCK, "updateDelay(uint256)", 7200).verdict == RISKY


def test_proxy_upgrade_is_hostile(context):
    verdict = judge(context, MARKET, "upgradeTo(address)", ATTACKER)
    assert verdict.verdict == HOSTILE and "upgrades a proxy" in verdict.reason


def test_oracle_change_to_unknown_is_hostile_to_known_risky(context):
    assert judge(context, MARKET, "setOracle(address)", STRANGER).verdict == HOSTILE
    known = judge(context, MARKET, "setOracle(address)", BACKUP)
    assert known.verdict == RISKY and "backup-oracle" in known.reason


def test_parameter_inside_bounds_is_benign_outside_hostile(context):
    inside = judge(context, MARKET, "setMaxLeverage(uint256)", 5)
    assert inside.verdict == BENIGN and inside.reason == "playbook action set-max-leverage (set-parameter)"
    outside = judge(context, MARKET, "setMaxLeverage(uint256)", 51)
    assert outside.verdict == HOSTILE and "leverage=51 (playbook bounds 1..50)" in outside.reason
    assert judge(context, MARKET, "setMaxLeverage(uint256)", 0).verdict == HOSTILE


def test_unpause_through_the_timelock_is_benign(context):
    assert judge(context, MARKET, "unpause()").verdict == BENIGN


def test_unknown_things_are_risky(context):
    assert judge(context, STRANGER, "pause()").verdict == RISKY  # unknown target
    unknown_selector = classify_call(context, 0, Call(MARKET, 0, bytes.fromhex("deadbeef")))
    assert unknown_selector.verdict == RISKY and "unknown selector 0xdeadbeef" in unknown_selector.reason
    not_an_action = judge(context, MARKET, "extendPauseWindow(uint256)", 10**10)
    assert not_an_action.verdict == RISKY and "not a playbook action" in not_an_action.reason
    assert judge(context, MARKET, "unpause()", value=1).verdict == RISKY


def test_safe_admin_calls_are_hostile(context):
    verdict = judge(context, SAFE, "addOwnerWithThreshold(address,uint256)", ATTACKER, 1)
    assert verdict.verdict == HOSTILE and "adds an owner" in verdict.reason


def test_operation_takes_the_worst_verdict(context):
    calls = [
        Call(MARKET, 0, encode_call("unpause()", [])),
        Call(MARKET, 0, encode_call("grantRole(bytes32,address)", [GOVERNOR, ATTACKER])),
        Call(MARKET, 0, encode_call("setOracle(address)", [BACKUP])),
    ]
    result = classify_operation(context, calls, min_delay=3600)
    assert result.verdict == HOSTILE and result.severity == "critical" and result.should_veto
    assert [c.verdict for c in result.calls] == [BENIGN, HOSTILE, RISKY]
    assert result.reasons() == [f"grants GOVERNOR_ROLE to {ATTACKER}"]
    assert result.as_dict()["calls"][1]["index"] == 1
    benign = classify_operation(context, calls[:1])
    assert benign.verdict == BENIGN and not benign.should_veto and benign.severity == "info"


def test_role_names():
    assert role_name(ZERO_BYTES32) == "DEFAULT_ADMIN_ROLE"
    assert role_name(keccak(b"CANCELLER_ROLE")) == "CANCELLER_ROLE"
    assert role_name(b"\x01" * 32) == "0x" + "01" * 32
