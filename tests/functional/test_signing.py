"""Signing, on-chain approval, merge and status on the real 3-of-5 testbed Safe.

Signers are real: the emulated Ledger under ledgereth's own code, eth-account keystores and
raw keys. Each refusal must be one ``GuardianError`` and leave the proposal file byte for byte
as it was.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import pytest
from eth_account import Account

from guardian.adapters.chain import build_approve_hash_calldata, connect
from guardian.adapters.signers import open_signer, password_from_file
from guardian.config import load_playbook
from guardian.domain.proposal import Proposal
from guardian.domain.values import keccak
from guardian.errors import (
    CriticalFindingsError,
    DuplicateSignatureError,
    InputError,
    KeystoreError,
    LedgerLockedError,
    LedgerNotConnectedError,
    LedgerRejectedError,
    NotAnOwnerError,
    ProposalFormatError,
    ProposalMismatchError,
    SignatureError,
)
from guardian.testbed import ANVIL_ADDRESSES, ANVIL_KEYS
from guardian.testing.ledger_emulator import LedgerEmulator
from support import quiet, key_signer, ledger_signer
from guardian.workflow.execution import execute_proposal
from guardian.workflow.proposals import load_proposal, propose
from guardian.workflow.signing import approve_onchain, merge_proposals, proposal_status, sign_proposal

PASSWORD = "correct horse battery staple"
PAUSED = keccak(b"paused()")[:4]


pytestmark = pytest.mark.usefixtures("anvil_key_env")




@pytest.fixture(scope="module")
def carol_keystore(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    keystore = folder / "carol.json"
    keystore.write_text(json.dumps(Account.encrypt(ANVIL_KEYS[3], PASSWORD, kdf="pbkdf2", iterations=2048)))
    password = folder / "password.txt"
    password.write_text(PASSWORD + "\n")
    return keystore, password


@pytest.fixture
def bed(isolated_testbed):
    node, testbed = isolated_testbed
    return node, testbed, load_playbook(testbed.playbook_path), connect(node.url)


@pytest.fixture
def pause(bed, tmp_path) -> Path:
    node, _, playbook, _ = bed
    return propose(playbook, [("pause-vault", [])], rpc_url=node.url, out_path=tmp_path / "pause.json", author="test").path


class OtherHashSigner:
    """A real signer whose signing path signs another proposal's hashes (a confused or
    compromised host): what it returns is a valid signature over a different hash."""

    def __init__(self, inner, other: Proposal):
        self.inner, self.other, self.description = inner, other, "other-hash signer"

    def address(self) -> str:
        return self.inner.address()

    def sign_safe_tx(self, domain_hash, message_hash, safe_tx_hash, *, eth_sign=False):
        hashes = self.other.safe_tx_hashes
        return self.inner.sign_safe_tx(hashes.domain_hash, hashes.message_hash, hashes.safe_tx_hash, eth_sign=eth_sign)

    def close(self) -> None:
        self.inner.close()


def test_sign_prints_hashes_first_checks_the_owner_and_appends(bed, pause, carol_keystore):
    _, testbed, playbook, chain = bed
    emulator = LedgerEmulator()
    printed: list[tuple[str, int]] = []
    result = sign_proposal(pause, ledger_signer(1, emulator), playbook=playbook, chain=chain, echo=lambda text: printed.append((text, len(emulator.screens))))
    proposal = load_proposal(pause)
    (text, screens_when_printed), = printed
    assert screens_when_printed == 0  # the hashes were shown before the device was asked
    for value in proposal.hashes.values():
        assert value in text
    screen = emulator.screens[-1]  # what the device showed: the same two hashes
    assert (screen["domain_hash"], screen["message_hash"]) == (proposal.hashes["domain"], proposal.hashes["message"])
    assert result.signature.signer == testbed.owners["alice"] and result.signer_name == "alice"
    assert (result.collected, result.roster.threshold, result.roster.source) == (1, 3, "on chain")

    keystore, password = carol_keystore
    carol = open_signer(f"keystore:{keystore}", password_source=password_from_file(password))
    sign_proposal(pause, carol, playbook=playbook, chain=None, echo=quiet)  # offline: the playbook roster
    signatures = load_proposal(pause).signatures
    assert [s.signer for s in signatures] == sorted([testbed.owners["alice"], testbed.owners["carol"]], key=lambda a: int(a, 16))
    assert {s.kind for s in signatures} == {"eip712"}
    assert all(s.created_at for s in signatures)


def refused(path: Path, error_type, call):
    """Run ``call``; it must raise ``error_type`` with a one-line message and leave ``path`` as it was."""
    before = path.read_bytes()
    with pytest.raises(error_type) as error:
        call()
    assert "\n" not in error.value.one_line()
    assert path.read_bytes() == before, "the proposal file changed"
    return error.value


def test_every_bad_signature_input_is_one_error_and_the_file_is_unchanged(bed, pause, carol_keystore, tmp_path, monkeypatch):
    node, testbed, playbook, chain = bed
    sign_proposal(pause, key_signer(2), playbook=playbook, chain=chain, echo=quiet)  # bob

    stranger = refused(pause, NotAnOwnerError, lambda: sign_proposal(pause, key_signer(9), playbook=playbook, chain=chain, echo=quiet))
    assert ANVIL_ADDRESSES[9] in stranger.one_line() and "on chain" in stranger.one_line()
    refused(pause, NotAnOwnerError, lambda: sign_proposal(pause, key_signer(9), playbook=playbook, echo=quiet))

    emulator = LedgerEmulator()
    sign_proposal(pause, ledger_signer(1, emulator), playbook=playbook, chain=chain, echo=quiet)
    shown = len(emulator.screens)
    duplicate = refused(pause, DuplicateSignatureError, lambda: sign_proposal(pause, ledger_signer(1, emulator), playbook=playbook, chain=chain, echo=quiet))
    assert "already signed" in duplicate.one_line() and len(emulator.screens) == shown  # the device was not even asked

    other = propose(playbook, [("pause-market", [])], rpc_url=node.url, out_path=tmp_path / "other.json", author="test").proposal
    wrong = refused(pause, SignatureError, lambda: sign_proposal(pause, OtherHashSigner(key_signer(4), other), playbook=playbook, chain=chain, echo=quiet))
    assert "different hash" in wrong.one_line()

    keystore, _ = carol_keystore
    bad_password = open_signer(f"keystore:{keystore}", password_source=lambda path: "wrong horse")
    assert "wrong password" in refused(pause, KeystoreError, lambda: sign_proposal(pause, bad_password, playbook=playbook, chain=chain, echo=quiet)).one_line()

    rejecting = ledger_signer(5, LedgerEmulator(reject_all=True))
    assert "rejected" in refused(pause, LedgerRejectedError, lambda: sign_proposal(pause, rejecting, playbook=playbook, chain=chain, echo=quiet)).one_line()
    refused(pause, LedgerLockedError, lambda: sign_proposal(pause, ledger_signer(5, LedgerEmulator(locked=True)), playbook=playbook, chain=chain, echo=quiet))
    monkeypatch.setenv("LEDGER_PROXY_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("LEDGER_PROXY_PORT", "9")  # nothing listens there
    unplugged = open_signer("ledger:m/44'/60'/0'/0/5", echo=quiet)
    refused(pause, LedgerNotConnectedError, lambda: sign_proposal(pause, unplugged, playbook=playbook, chain=chain, echo=quiet))

    assert [s.signer for s in load_proposal(pause).signatures] == sorted([testbed.owners["alice"], testbed.owners["bob"]], key=lambda a: int(a, 16))


def test_critical_findings_refuse_unless_the_risk_is_accepted(bed, tmp_path):
    node, testbed, playbook, chain = bed
    base = propose(playbook, [("pause-vault", [])], rpc_url=node.url, out_path=tmp_path / "base.json", author="test").proposal
    drained = Proposal.create(dataclasses.replace(base.safe_tx, gas_price=10**9), base.intent, "attacker")  # a gas-refund drain
    path = tmp_path / "refund.json"
    path.write_text(drained.to_json())
    error = refused(path, CriticalFindingsError, lambda: sign_proposal(path, key_signer(2), playbook=playbook, chain=chain, echo=quiet))
    assert "gas-refund" in error.one_line() and "--i-understand-the-risk" in error.one_line()
    sign_proposal(path, key_signer(2), playbook=playbook, chain=chain, accept_risk=True, echo=quiet)
    assert load_proposal(path).signers == (testbed.owners["bob"],)


def test_five_concurrent_signers_never_lose_a_signature(bed, pause, carol_keystore, monkeypatch):
    _, testbed, playbook, chain = bed
    monkeypatch.setenv("GUARDIAN_TEST_SLOW_WRITE", "0.03")  # widen the write window: a lost update would show
    keystore, password = carol_keystore
    signers = [
        ledger_signer(1),
        key_signer(2),
        open_signer(f"keystore:{keystore}", password_source=password_from_file(password)),
        key_signer(4),
        key_signer(5),
    ]
    for signer in signers:
        signer.address()  # open the device / decrypt before the race
    start, errors = threading.Barrier(len(signers)), []

    def sign(signer):
        start.wait()
        try:
            sign_proposal(pause, signer, playbook=playbook, echo=quiet)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=sign, args=(s,)) for s in signers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(load_proposal(pause).signers) == sorted(testbed.owners.values())


def test_merge_unions_copies_and_refuses_different_proposals(bed, pause, tmp_path):
    node, testbed, playbook, chain = bed
    laptops = []
    for index, signer in enumerate([ledger_signer(1), key_signer(2), key_signer(3)]):
        copy = tmp_path / f"laptop-{index}" / "pause.json"
        copy.parent.mkdir()
        shutil.copy(pause, copy)
        sign_proposal(copy, signer, playbook=playbook, echo=quiet)
        laptops.append(copy)
    # -o may name one of the inputs: its signatures are kept, the others added
    merged = merge_proposals(laptops[1:], laptops[0])
    assert sorted(merged.signers) == sorted(testbed.owners[name] for name in ("alice", "bob", "carol"))
    assert load_proposal(laptops[0]).signers == merged.signers
    assert len(load_proposal(laptops[1]).signers) == 1  # other inputs untouched

    market = propose(playbook, [("pause-market", [])], rpc_url=node.url, nonce=0, out_path=tmp_path / "market.json", author="test").path
    out = tmp_path / "out.json"
    mismatch = refused(laptops[1], ProposalMismatchError, lambda: merge_proposals([laptops[1], market], out))
    assert "transaction.to" in mismatch.fields and "transaction.to" in mismatch.one_line()
    assert not out.exists()
    other_nonce = propose(playbook, [("pause-vault", [])], rpc_url=node.url, nonce=1, out_path=tmp_path / "n1.json", author="test").path
    assert "transaction.nonce" in refused(laptops[1], ProposalMismatchError, lambda: merge_proposals([laptops[1], other_nonce], out)).fields

    # a signature lifted from another proposal: recovers to someone else over this hash
    sign_proposal(market, key_signer(4), playbook=playbook, echo=quiet)
    forged = json.loads(laptops[2].read_text())
    forged["signatures"] = [dict(json.loads(market.read_text())["signatures"][0])]
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged, indent=2))
    error = refused(forged_path, ProposalFormatError, lambda: merge_proposals([laptops[1], forged_path], out))
    assert "signatures[0]" in error.one_line()
    assert not out.exists()


def test_approve_on_chain_counts_and_status_shows_how_each_owner_signed(bed, pause):
    node, testbed, playbook, chain = bed
    ledger = ledger_signer(1)
    result = approve_onchain(pause, ledger, chain=chain, playbook=playbook, echo=quiet)  # the Ledger sends approveHash
    assert result.tx_hash and result.owner == testbed.owners["alice"]
    (signature,) = load_proposal(pause).signatures
    assert (signature.kind, signature.v) == ("approved_hash", 1)
    refused(pause, DuplicateSignatureError, lambda: approve_onchain(pause, ledger, chain=chain, playbook=playbook, echo=quiet))
    refused(pause, NotAnOwnerError, lambda: approve_onchain(pause, key_signer(9), chain=chain, playbook=playbook, echo=quiet))

    dave = testbed.owners["dave"]  # approves on chain from another tool: nothing in the file
    chain.impersonate(dave)
    chain.send_unsigned_as(dave, testbed.safe, build_approve_hash_calldata(load_proposal(pause).safe_tx_hash))
    sign_proposal(pause, key_signer(2), playbook=playbook, chain=chain, eth_sign=True, echo=quiet)  # bob, eth_sign on request

    status = proposal_status(load_proposal(pause), chain=chain, playbook=playbook)
    how = {owner.name: owner.how for owner in status.owners}
    assert how == {"alice": "approved_hash", "bob": "eth_sign", "carol": None, "dave": "approved on chain", "erin": None}
    assert (status.collected, status.missing, status.state) == (3, 0, "ready")
    offline = proposal_status(load_proposal(pause), playbook=playbook)  # the roster cannot see dave's approval
    assert (offline.collected, offline.missing, offline.owners_from) == (2, 1, "playbook roster")
    unknown = proposal_status(load_proposal(pause))  # neither chain nor roster: only the file's signers
    assert (unknown.threshold, unknown.state, unknown.collected) == (None, "unknown", 2)
    refused(pause, InputError, lambda: sign_proposal(pause, key_signer(3), echo=quiet))  # nothing to check ownership against

    executed = execute_proposal(pause, key_signer(9), chain=chain, playbook=playbook, echo=quiet)
    assert executed.status == "executed"
    assert int.from_bytes(chain.call(testbed.vault, PAUSED), "big") == 1
