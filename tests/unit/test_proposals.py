"""Actions -> calls -> proposal, and the risk findings of review (no chain: a unit playbook)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from guardian.config import load_playbook
from guardian.domain.abi import encode_call
from guardian.domain.intent import Context, derive_intent, flatten, timelock_details
from guardian.domain.multisend import Call, encode_multisend
from guardian.domain.proposal import Proposal
from guardian.domain.safe_tx import SafeTx
from guardian.domain.timelock import operation_id
from guardian.errors import InputError, ParameterOutOfBoundsError, ProposalFormatError
from guardian.workflow.proposals import build_proposal, review, save_new_proposal

DATA = Path(__file__).resolve().parents[1] / "data" / "unit_playbook.yaml"
ATTACKER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
OFFICIAL_MULTISEND_141 = "0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526"


@pytest.fixture(scope="module")
def playbook():
    return load_playbook(DATA)


def craft(playbook, to, data=b"", operation=0, value=0, chain_id=1, **fields) -> Proposal:
    """Any Safe transaction, wrapped in a self-consistent proposal (as an attacker would)."""
    context = Context.from_playbook(playbook)
    tx = SafeTx(safe=playbook.safe.address, chain_id=chain_id, safe_version="1.4.1", to=to, value=value, data=data, operation=operation, nonce=0, **fields)
    intent = derive_intent(context, flatten(context, tx.to, tx.value, tx.data, tx.operation))
    return Proposal.create(tx, intent, "mallory@evil", timelock=timelock_details(context, tx.to, tx.data))


def codes(proposal, playbook, severity=None):
    return {f.code for f in review(proposal, playbook).findings if severity in (None, f.severity)}


def test_single_pause_is_a_plain_call(playbook):
    proposal = build_proposal(playbook, [("pause-vault", [])], chain_id=1, nonce=3, author="alice")
    assert proposal.operation == 0 and proposal.to == playbook.contracts["vault"].address
    assert proposal.data == bytes.fromhex("8456cb59")
    assert proposal.nonce == 3 and proposal.created["by"] == "alice"
    assert proposal.intent["actions"][0]["action"] == "pause-vault"
    assert proposal.intent["summary"] == "pause-vault()"
    assert review(proposal, playbook).findings == []


def test_batch_goes_through_multisend_call_only_with_timelock_schedule(playbook):
    items = [("pause-vault", []), ("freeze-account", [ATTACKER]), ("set-max-leverage", ["leverage=5"])]
    proposal = build_proposal(playbook, items, chain_id=1, nonce=0, author="alice")
    assert proposal.operation == 1 and proposal.to == playbook.safe.multisend_call_only
    assert [a["action"] for a in proposal.intent["actions"]] == ["pause-vault", "freeze-account", "set-max-leverage"]
    assert proposal.intent["actions"][2]["route"] == "timelock-schedule"
    timelock = proposal.timelock
    assert timelock["kind"] == "schedule" and timelock["delay"] == "3600"
    call = timelock["calls"][0]
    expected = operation_id(call["target"], 0, bytes.fromhex(call["data"][2:]), bytes(32), bytes.fromhex(timelock["salt"][2:]))
    assert timelock["operation_id"] == "0x" + expected.hex()
    assert not review(proposal, playbook).critical
    # Rebuilding the same actions gives the same hashes (the salt is derived, not random).
    again = build_proposal(playbook, items, chain_id=1, nonce=0, author="bob")
    assert again.hashes == proposal.hashes


def test_bytes32_argument_accepts_text(playbook):
    proposal = build_proposal(playbook, [("freeze-market", ["ETH-PERP"])], chain_id=1, nonce=0)
    assert proposal.intent["actions"][0]["args"]["market"] == "0x" + b"ETH-PERP".ljust(32, b"\0").hex()


@pytest.mark.parametrize(
    "items,error,text",
    [
        ([("set-max-leverage", ["51"])], ParameterOutOfBoundsError, "max=50"),
        ([("set-max-leverage", ["0"])], ParameterOutOfBoundsError, "min=1"),
        ([("halt", [])], InputError, "known actions"),
        ([("freeze-account", [])], InputError, "missing argument account"),
        ([("freeze-account", ["0x1234"])], InputError, "account"),
        ([("freeze-account", ["0x14dc79964da2C08b23698B3D3cc7Ca32193d9955"])], InputError, "checksum"),
        ([("pause-vault", ["extra"])], InputError, "too many"),
        ([("set-max-leverage", ["lots"])], InputError, "leverage"),
    ],
)
def test_bad_action_input(playbook, items, error, text):
    with pytest.raises(error) as caught:
        build_proposal(playbook, items, chain_id=1, nonce=0)
    assert text in caught.value.one_line()


def test_timelock_cancel_followup(playbook):
    op = "0x" + "ab" * 32
    proposal = build_proposal(playbook, [("timelock-cancel", [op])], chain_id=1, nonce=1)
    assert proposal.to == playbook.timelock.address
    assert proposal.intent["actions"][0]["action"] == "timelock-cancel"
    assert proposal.timelock["kind"] == "cancel" and proposal.timelock["operation_id"] == op


# ---- the malicious-proposal corpus ---------------------------------------------------------

SAFE_ADMIN = [
    ("addOwnerWithThreshold(address,uint256)", [ATTACKER, 1]),
    ("changeThreshold(uint256)", [1]),
    ("enableModule(address)", [ATTACKER]),
    ("setGuard(address)", ["0x" + "00" * 20]),
    ("setFallbackHandler(address)", [ATTACKER]),
    ("changeMasterCopy(address)", [ATTACKER]),
]


@pytest.mark.parametrize("signature,args", SAFE_ADMIN, ids=[s for s, _ in SAFE_ADMIN])
def test_call_to_the_safe_itself_is_critical(playbook, signature, args):
    proposal = craft(playbook, playbook.safe.address, encode_call(signature, args))
    assert "safe-admin-call" in codes(proposal, playbook, "critical")


def test_bybit_delegatecall_to_attacker_is_critical(playbook):
    # An attacker contract whose function writes the Safe's slot 0 (the singleton).
    proposal = craft(playbook, ATTACKER, encode_call("transfer(address,uint256)", [ATTACKER, 0]), operation=1)
    findings = review(proposal, playbook).findings
    assert findings[0].severity == "critical" and findings[0].code == "delegatecall"
    assert "Bybit" in findings[0].message


def test_multisend_not_call_only_is_critical(playbook):
    inner = [Call(playbook.contracts["vault"].address, 0, bytes.fromhex("8456cb59"))]
    proposal = craft(playbook, OFFICIAL_MULTISEND_141, encode_multisend(inner), operation=1)
    assert "multisend-not-call-only" in codes(proposal, playbook, "critical")


def test_call_hidden_inside_a_batch_is_critical(playbook):
    inner = [
        Call(playbook.contracts["vault"].address, 0, bytes.fromhex("8456cb59")),
        Call(playbook.safe.address, 0, encode_call("addOwnerWithThreshold(address,uint256)", [ATTACKER, 1])),
    ]
    proposal = craft(playbook, playbook.safe.multisend_call_only, encode_multisend(inner), operation=1)
    findings = [f for f in review(proposal, playbook).findings if f.severity == "critical"]
    assert [(f.code, f.where) for f in findings] == [("safe-admin-call", "tx.batch[1]")]


def test_delegatecall_hidden_inside_a_batch_is_critical(playbook):
    inner = [Call(ATTACKER, 0, b"\x12\x34\x56\x78", operation=1)]
    proposal = craft(playbook, playbook.safe.multisend_call_only, encode_multisend(inner), operation=1)
    assert "hidden-delegatecall" in codes(proposal, playbook, "critical")


@pytest.mark.parametrize(
    "fields,code",
    [({"gas_price": 1}, "gas-refund"), ({"gas_token": ATTACKER}, "gas-token"), ({"refund_receiver": ATTACKER}, "refund-receiver")],
)
def test_gas_refund_fields_are_critical(playbook, fields, code):
    proposal = craft(playbook, playbook.contracts["vault"].address, bytes.fromhex("8456cb59"), **fields)
    assert code in codes(proposal, playbook, "critical")


def test_chain_id_mismatch_is_critical(playbook):
    proposal = craft(playbook, playbook.contracts["vault"].address, bytes.fromhex("8456cb59"), chain_id=10)
    assert "chain-id" in codes(proposal, playbook, "critical")


def test_unknown_target_and_selector_and_value_on_pause_warn(playbook):
    unknown = craft(playbook, ATTACKER, b"\xde\xad\xbe\xef")
    assert {"unknown-target"} <= codes(unknown, playbook, "warning")
    selector = craft(playbook, playbook.contracts["vault"].address, b"\xde\xad\xbe\xef")
    assert "unknown-selector" in codes(selector, playbook, "warning")
    paid = craft(playbook, playbook.contracts["vault"].address, bytes.fromhex("8456cb59"), value=10**18)
    assert {"value-on-pause", "value-transfer"} <= codes(paid, playbook, "warning")
    assert not review(paid, playbook).critical


def test_intent_that_says_pause_while_calldata_freezes_is_caught(playbook, tmp_path):
    honest = build_proposal(playbook, [("freeze-account", [ATTACKER])], chain_id=1, nonce=0)
    data = json.loads(honest.to_json())
    # The words claim a pause; the bytes still freeze.
    data["intent"]["summary"] = "pause-vault()"
    data["intent"]["actions"][0].update(action="pause-vault", kind="pause", description="Pause the vault")
    lying = Proposal.from_json(json.dumps(data), "lying.json")  # structurally consistent ...
    findings = review(lying, playbook).findings
    assert findings[0].code == "intent-mismatch" and findings[0].severity == "critical"  # ... but not what it does
    # Changing the function in the words is caught already when the file is read.
    data["intent"]["actions"][0]["function"] = "pause()"
    with pytest.raises(ProposalFormatError, match=r"intent\.actions\[0\]\.function"):
        Proposal.from_json(json.dumps(data), "lying.json")


def test_review_without_playbook_still_checks_summary(playbook):
    honest = build_proposal(playbook, [("pause-vault", [])], chain_id=1, nonce=0)
    assert not review(honest, None).critical
    lying = dataclasses.replace(honest, intent={**honest.intent, "summary": "nothing to see"})
    assert "intent-mismatch" in codes(lying, None, "critical")


def test_save_never_clobbers_signatures(playbook, tmp_path):
    proposal = build_proposal(playbook, [("pause-vault", [])], chain_id=1, nonce=0)
    path = tmp_path / "p.json"
    assert save_new_proposal(proposal, path) is True
    before = path.read_bytes()
    assert save_new_proposal(proposal, path) is False  # same transaction: kept as is
    other = build_proposal(playbook, [("pause-vault", [])], chain_id=1, nonce=1)
    with pytest.raises(InputError, match="already exists"):
        save_new_proposal(other, path)
    assert path.read_bytes() == before
