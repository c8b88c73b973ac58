"""Property tests (hypothesis) on the real testbed playbook and the real Safe 1.4.1 contract.

1. The proposal JSON round-trips unchanged, for random proposals built from the playbook's real
   actions (random actions, arguments within their bounds, batches, timelock routes, random
   nonces and delays) with random signatures of every kind -- and `guardian sign` rewrites such
   a file adding exactly its one signature and nothing else.
2. Signature ordering and packing is always accepted by the contract: for a random subset of the
   five owners signing in a random order with a random mix of EIP-712, eth_sign and on-chain
   approved-hash signatures, and a random executor (owner or not), guardian's threshold decision
   agrees with the Safe: with enough signatures the ``execTransaction`` preflight ``eth_call``
   succeeds, without them guardian refuses and the Safe refuses too. The same signatures packed
   in signing order instead of owner order are refused by the Safe whenever that order is not
   ascending, so the property would catch a packing bug. Then the same end to end through
   `guardian sign` / `guardian approve` in random order and `guardian execute`.

The third property of the issue -- the offline hash equals the Safe's ``getTransactionHash`` for
random SafeTx fields, for every Safe version -- is tests/functional/test_hash_onchain.py
(``test_random_transactions_match_the_chain``); it is not repeated here.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guardian.domain.proposal import Proposal
from guardian.domain.signatures import SafeSignature, approved_hash_signature
from guardian.domain.values import checksum_address
from guardian.testbed import ANVIL_ADDRESSES

from security_support import EXECUTOR_INDEX, OWNER_INDEXES, SAFE_NONCE, Guardian, call_uint, evm_nonce

WHEN = "2025-02-21T14:13:00Z"
THRESHOLD = 3
KINDS = ("eip712", "eth_sign", "approved_hash")

addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
ACTION_ARGUMENTS = {
    "pause-vault": st.just([]),
    "pause-market": st.just([]),
    "unpause-vault": st.just([]),
    "unpause-market": st.just([]),
    "freeze-account": addresses.map(lambda a: [a]),
    "unfreeze-account": addresses.map(lambda a: [a]),
    "freeze-market": st.sampled_from(["ETH-USD", "BTC-USD"]).map(lambda m: [m]),
    "set-max-leverage": st.integers(1, 50).map(lambda n: [str(n)]),
    "set-maintenance-margin": st.integers(50, 2500).map(lambda n: [str(n)]),
    "set-withdrawal-cap": st.integers(10**9, 10**13).map(lambda n: [str(n)]),
    "set-oracle": addresses.map(lambda a: [a]),
}


@st.composite
def action_items(draw) -> list:
    """1..4 distinct playbook actions with valid arguments (a single call or a MultiSendCallOnly batch)."""
    names = draw(st.lists(st.sampled_from(sorted(ACTION_ARGUMENTS)), min_size=1, max_size=4, unique=True))
    return [(name, draw(ACTION_ARGUMENTS[name])) for name in names]


@pytest.fixture(scope="module")
def world(security_testbed, keys):
    """(guardian CLI, playbook, Chain, signer per owner index) on the shared testbed."""
    from guardian.adapters.chain import connect
    from guardian.adapters.signers import open_signer
    from guardian.config import load_playbook

    node, testbed = security_testbed
    signers = {index: open_signer(keys[index], allow_raw_key=True, echo=lambda text: None) for index in range(10)}
    yield Guardian(node, testbed, keys), load_playbook(testbed.playbook_path), connect(node.url), signers
    for signer in signers.values():
        signer.close()


def signature_of(signer, proposal: Proposal, kind: str) -> SafeSignature:
    """``signer``'s signature of ``proposal`` of the given kind (approved_hash: the v = 1 placeholder)."""
    if kind == "approved_hash":
        owner = signer.address()
        return SafeSignature(owner, kind, approved_hash_signature(owner), WHEN)
    hashes = proposal.safe_tx_hashes
    raw = signer.sign_safe_tx(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash, eth_sign=kind == "eth_sign")
    return SafeSignature.create(kind, raw, hashes.safe_tx_hash, WHEN)


def random_proposal(playbook, testbed, items, nonce: int, delay: int | None) -> Proposal:
    from guardian.workflow.proposals import build_proposal

    return build_proposal(playbook, items, chain_id=testbed.chain_id, nonce=nonce, delay=delay, author="property")


PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- 1. round trip -----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    items=action_items(),
    nonce=st.one_of(st.integers(0, 1000), st.integers(0, 2**256 - 1)),
    delay=st.one_of(st.none(), st.integers(3600, 2**32)),
    signing=st.lists(st.tuples(st.sampled_from(OWNER_INDEXES), st.sampled_from(KINDS)), unique_by=lambda t: t[0], max_size=4),
    cli_kind=st.sampled_from(["eip712", "eth_sign"]),
)
def test_random_proposals_round_trip_and_sign_rewrites_only_its_signature(world, items, nonce, delay, signing, cli_kind):
    guardian, playbook, _, signers = world
    proposal = random_proposal(playbook, guardian.testbed, items, nonce, delay)
    for index, kind in signing:  # in random order: the file keeps them sorted by owner
        proposal = proposal.with_signature(signature_of(signers[index], proposal, kind))
    text = proposal.to_json()
    again = Proposal.from_json(text, "round-trip.json")
    assert again == proposal and again.to_json() == text
    assert json.loads(text)["transaction"]["nonce"] == str(nonce)

    remaining = [index for index in OWNER_INDEXES if index not in {i for i, _ in signing}]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "proposal.json"
        path.write_text(text)
        result = guardian.run(*guardian.sign_args(path, remaining[0], *(["--eth-sign"] if cli_kind == "eth_sign" else [])))
        assert result.exit_code == 0, result.stderr
        signed = Proposal.from_json(path.read_text(), str(path))
    new = [s for s in signed.signatures if s.signer == ANVIL_ADDRESSES[remaining[0]]]
    assert len(new) == 1 and new[0].kind == cli_kind
    assert signed.to_json() == proposal.with_signature(new[0]).to_json()  # nothing else rewritten, byte for byte


# -- 2. packing is accepted by the contract ------------------------------------------------------------


def packed_in_order(signatures) -> bytes:
    return b"".join(s.signature for s in signatures)


def exec_calldata(proposal: Proposal, packed: bytes) -> bytes:
    from guardian.adapters.chain import build_exec_transaction_calldata

    tx = proposal.safe_tx
    return build_exec_transaction_calldata(
        to=tx.to, value=tx.value, data=tx.data, operation=tx.operation, signatures=packed, safe_tx_gas=tx.safe_tx_gas,
        base_gas=tx.base_gas, gas_price=tx.gas_price, gas_token=tx.gas_token, refund_receiver=tx.refund_receiver,
    )  # fmt: skip


def safe_refuses(chain, proposal: Proposal, packed: bytes, executor: str) -> str | None:
    """The GS code the Safe reverts with for these packed signatures, or None if it accepts them."""
    from guardian.errors import CallRevertedError

    try:
        chain.call(proposal.safe, exec_calldata(proposal, packed), from_=executor)
    except CallRevertedError as error:
        return error.reason.strip()
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=action_items(),
    signing=st.lists(st.tuples(st.sampled_from(OWNER_INDEXES), st.sampled_from(KINDS)), unique_by=lambda t: t[0], min_size=2, max_size=5),
    executor_index=st.sampled_from([EXECUTOR_INDEX, *OWNER_INDEXES]),
)
def test_any_signing_order_and_mix_of_kinds_is_packed_the_way_the_safe_accepts(world, items, signing, executor_index):
    from guardian.adapters.chain import SafeReader
    from guardian.domain.signatures import pack_signatures
    from guardian.errors import NotEnoughSignaturesError
    from guardian.workflow.execution import collect_signatures, preflight, registry_for

    guardian, playbook, chain, signers = world
    node, testbed = guardian.node, guardian.testbed
    executor = ANVIL_ADDRESSES[executor_index]
    snapshot = node.rpc("evm_snapshot")
    try:
        proposal = random_proposal(playbook, testbed, items, nonce=0, delay=None)
        added = []
        for index, kind in signing:
            if kind == "approved_hash":  # the owner approves on chain first, as `guardian approve` does
                data = "0xd4d9bdcd" + proposal.hashes["safe_tx"][2:]  # approveHash(bytes32)
                node.rpc("eth_sendTransaction", [{"from": ANVIL_ADDRESSES[index], "to": testbed.safe, "data": data}])
            added.append(signature_of(signers[index], proposal, kind))
            proposal = proposal.with_signature(added[-1])
        proposal = Proposal.from_json(proposal.to_json(), "p.json")  # through the file format

        owners_counted = {ANVIL_ADDRESSES[i] for i, _ in signing} | ({executor} if executor_index in OWNER_INDEXES else set())
        safe = SafeReader(chain, testbed.safe)
        try:
            chosen = collect_signatures(proposal, safe, executor)
        except NotEnoughSignaturesError:
            assert len(owners_counted) < THRESHOLD
            # the Safe agrees: everything we have is not enough
            assert safe_refuses(chain, proposal, pack_signatures(proposal.signatures), executor) in ("GS020", "GS025", "GS026")
            event("below the threshold: guardian and the Safe both refuse")
            return
        assert len(owners_counted) >= THRESHOLD and len(chosen) >= THRESHOLD
        packed = pack_signatures(chosen)
        assert preflight(chain, proposal, exec_calldata(proposal, packed), executor, registry_for(proposal, playbook)) is None
        assert safe_refuses(chain, proposal, packed, executor) is None
        event("threshold met: accepted" + (" with approved hashes" if any(s.kind == "approved_hash" for s in chosen) else ""))
        # the control: packed in signing order, the Safe (which checks the first `threshold`
        # signatures for strictly ascending owners) refuses whenever that prefix is not ascending
        in_signing_order = [s for s in added if s.signer in {c.signer for c in chosen}]
        checked = [int(s.signer, 16) for s in in_signing_order[:THRESHOLD]]
        if len(in_signing_order) == len(chosen) and checked != sorted(checked):
            assert safe_refuses(chain, proposal, packed_in_order(in_signing_order), executor) == "GS026"
            event("signing order refused by the Safe (GS026)")
    finally:
        node.rpc("evm_revert", [snapshot])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signing=st.lists(st.tuples(st.sampled_from(OWNER_INDEXES), st.sampled_from(KINDS)), unique_by=lambda t: t[0], min_size=1, max_size=5),
    executor_index=st.sampled_from([EXECUTOR_INDEX, *OWNER_INDEXES]),
)
def test_through_the_cli_any_order_of_sign_and_approve_executes_exactly_when_the_threshold_is_met(world, signing, executor_index):
    guardian, _, _, _ = world
    node, testbed = guardian.node, guardian.testbed
    executor = ANVIL_ADDRESSES[executor_index]
    snapshot = node.rpc("evm_snapshot")
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = guardian.propose(Path(folder) / "pause.json", "pause-vault")
            for index, kind in signing:
                if kind == "approved_hash":
                    guardian.ok("approve", path, "--signer", guardian.keys[index], "--allow-raw-key", "--playbook", guardian.playbook, "--rpc", guardian.url)
                else:
                    guardian.ok(*guardian.sign_args(path, index, *(["--eth-sign"] if kind == "eth_sign" else [])))
            result = guardian.run(*guardian.execute_args(path, executor_index))
        counted = {ANVIL_ADDRESSES[i] for i, _ in signing} | ({executor} if executor_index in OWNER_INDEXES else set())
        if len(counted) >= THRESHOLD:
            assert result.exit_code == 0, result.stderr
            assert result.stdout.strip().splitlines()[-1].startswith(f"EXECUTED: executed by {executor}")
            assert call_uint(node, testbed.safe, SAFE_NONCE) == 1
        else:
            assert result.exit_code == 1
            assert f"not enough signatures: {len(counted)} of the 3 required" in result.error_line()
            assert call_uint(node, testbed.safe, SAFE_NONCE) == 0
            approved = {i for i, kind in signing if kind == "approved_hash"}
            assert evm_nonce(node, executor) == (1 if executor_index in approved else 0)  # its own approveHash, nothing else
    finally:
        node.rpc("evm_revert", [snapshot])
