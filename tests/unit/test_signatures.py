"""Safe signatures: kinds, recovery, form checks, dedupe and packing order."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys import keys

from guardian.domain.signatures import (
    SafeSignature,
    add_signature,
    approved_hash_signature,
    dedupe,
    eip712_signature,
    eth_sign_signature,
    kind_of,
    pack_signatures,
    recover_signer,
    split_signature,
)
from guardian.domain.values import keccak
from guardian.errors import DuplicateSignatureError, GuardianError, InputError, SignatureError

HASH = keccak(b"a safe transaction")
OTHER_HASH = keccak(b"another one")
WHEN = "2025-01-31T12:00:00Z"
KEYS = [keys.PrivateKey(keccak(bytes([i]))) for i in range(5)]


def address(key) -> str:
    return key.public_key.to_checksum_address()


def raw(key, digest=HASH) -> bytes:
    return key.sign_msg_hash(digest).to_bytes()  # v is 0/1


def eip712(key, digest=HASH) -> SafeSignature:
    return SafeSignature.create("eip712", raw(key, digest), digest, WHEN)


def test_eip712_signature():
    signature = eip712(KEYS[0])
    assert signature.signer == address(KEYS[0]) and signature.kind == "eip712"
    assert len(signature.signature) == 65 and signature.v in (27, 28)
    assert recover_signer("eip712", signature.signature, HASH) == address(KEYS[0])
    signature.verify(HASH)


def test_eth_sign_signature_agrees_with_eth_account():
    account = Account.from_key(KEYS[1].to_bytes())
    personal = account.sign_message(encode_defunct(primitive=HASH))  # what a wallet's eth_sign returns
    signature = SafeSignature.create("eth_sign", personal.signature, HASH, WHEN)
    assert signature.v in (31, 32) and signature.signature[:64] == bytes(personal.signature)[:64]
    assert signature.signer == account.address
    assert eth_sign_signature(bytes(personal.signature)) == signature.signature


def test_approved_hash_signature():
    owner = address(KEYS[2])
    sig = approved_hash_signature(owner)
    assert sig == bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01"
    assert recover_signer("approved_hash", sig, HASH) == owner == recover_signer("approved_hash", sig, OTHER_HASH)
    assert SafeSignature(owner, "approved_hash", sig, WHEN).kind == "approved_hash"
    assert kind_of(sig) == "approved_hash"


def test_a_signature_over_another_hash_does_not_verify():
    signature = eip712(KEYS[0], OTHER_HASH)
    assert signature.recover(HASH) != signature.signer
    with pytest.raises(SignatureError, match="recovers to"):
        signature.verify(HASH)


def test_v_normalisation():
    r, s, v = split_signature(raw(KEYS[0]))
    assert v in (0, 1)
    assert eip712_signature(raw(KEYS[0]))[64] == v + 27
    assert eip712_signature(eip712_signature(raw(KEYS[0]))) == eip712_signature(raw(KEYS[0]))
    with pytest.raises(SignatureError, match="recovery id"):
        eip712_signature(raw(KEYS[0])[:64] + b"\x05")


@pytest.mark.parametrize(
    "kind, mutate, problem",
    [
        ("eip712", lambda s: s[:64] + b"\x1f", "does not match kind"),
        ("eth_sign", lambda s: s, "does not match kind"),
        ("eip712", lambda s: s[:64], "65 bytes"),
        ("eip712", lambda s: b"\x00" * 64 + b"\x1b", "r and s"),
        ("magic", lambda s: s, "unknown kind"),
    ],
)
def test_malformed_signatures_are_rejected(kind, mutate, problem):
    good = eip712(KEYS[0]).signature
    with pytest.raises(SignatureError, match=problem):
        SafeSignature(address(KEYS[0]), kind, mutate(good), WHEN)


def test_approved_hash_must_name_its_signer():
    with pytest.raises(SignatureError, match="different owner"):
        SafeSignature(address(KEYS[0]), "approved_hash", approved_hash_signature(address(KEYS[1])), WHEN)
    bad_s = approved_hash_signature(address(KEYS[0]))[:63] + b"\x01\x01"
    with pytest.raises(SignatureError, match="s = 0"):
        SafeSignature(address(KEYS[0]), "approved_hash", bad_s, WHEN)


def test_contract_signatures_are_not_supported():
    with pytest.raises(SignatureError, match="contract signatures"):
        kind_of(b"\x00" * 65)


def test_bad_signer_and_time_are_input_errors():
    with pytest.raises(InputError):
        SafeSignature("0x1234", "eip712", eip712(KEYS[0]).signature, WHEN)
    with pytest.raises(InputError):
        SafeSignature(address(KEYS[0]), "eip712", eip712(KEYS[0]).signature, "now")


def test_pack_orders_by_owner_address_ascending():
    signatures = [eip712(key) for key in KEYS]
    packed = pack_signatures(signatures)
    chunks = [packed[i : i + 65] for i in range(0, len(packed), 65)]
    signers = [recover_signer("eip712", chunk, HASH) for chunk in chunks]
    assert signers == sorted(signers, key=lambda a: int(a, 16)) and len(signers) == 5
    assert pack_signatures(reversed(signatures)) == packed


def test_mixed_kinds_pack_in_owner_order():
    owner = address(KEYS[3])
    mixed = [eip712(KEYS[0]), SafeSignature(owner, "approved_hash", approved_hash_signature(owner), WHEN)]
    packed = pack_signatures(mixed)
    order = sorted([address(KEYS[0]), owner], key=lambda a: int(a, 16))
    assert [kind_of(packed[i : i + 65]) for i in (0, 65)] == ["eip712" if a == address(KEYS[0]) else "approved_hash" for a in order]


def test_duplicates():
    first, again = eip712(KEYS[0]), SafeSignature.create("eip712", raw(KEYS[0]), HASH, "2025-02-01T00:00:00Z")
    with pytest.raises(DuplicateSignatureError, match="already signed"):
        pack_signatures([first, again])
    assert dedupe([first, again, eip712(KEYS[1])]) == tuple(
        sorted([first, eip712(KEYS[1])], key=lambda s: int(s.signer, 16))
    )
    with pytest.raises(DuplicateSignatureError) as error:
        add_signature([first], again)
    assert isinstance(error.value, GuardianError) and error.value.signer == first.signer


def test_kinds_by_safe_version():
    from guardian.domain.signatures import check_kind_for_version, kinds_for_version

    assert kinds_for_version("1.0.0") == ("eip712", "approved_hash")
    assert kinds_for_version("1.1.1") == kinds_for_version("1.5.0") == ("eip712", "eth_sign", "approved_hash")
    check_kind_for_version("eth_sign", "1.1.1")
    with pytest.raises(SignatureError, match="Safe 1.0.0 does not accept eth_sign"):
        check_kind_for_version("eth_sign", "1.0.0")


def test_to_dict():
    signature = eip712(KEYS[0])
    assert signature.to_dict() == {
        "signer": signature.signer,
        "kind": "eip712",
        "signature": "0x" + signature.signature.hex(),
        "created_at": WHEN,
    }
