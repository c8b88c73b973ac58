"""domain/secp256k1.py (coincurve) against eth_keys, the reference it replaces.

eth_keys is driven through its pure-Python backend (NativeECCBackend), so the comparison is
between two independent implementations, not coincurve against itself; the default eth_keys
backend (coincurve when it is installed, as it is now) is checked too.
"""

from __future__ import annotations

import pytest
from eth_keys import KeyAPI, keys
from eth_keys.backends import NativeECCBackend
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.domain import secp256k1
from guardian.domain.signatures import SafeSignature, recover_signer
from guardian.domain.values import keccak
from guardian.errors import SignatureError

N = secp256k1.N
NATIVE = KeyAPI(NativeECCBackend)
PRIVATE_KEYS = st.integers(1, N - 1).map(lambda number: number.to_bytes(32, "big"))
HASHES = st.binary(min_size=32, max_size=32)
ALICE_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
SETTINGS = settings(max_examples=150, deadline=None)


def test_known_key_and_address():
    assert secp256k1.address_of(ALICE_KEY) == ALICE
    r, s, recovery_id = secp256k1.sign_hash(ALICE_KEY, keccak(b"guardian"))
    assert secp256k1.recover_address(keccak(b"guardian"), r, s, recovery_id) == ALICE


@SETTINGS
@given(PRIVATE_KEYS, HASHES)
def test_signature_is_eth_keys_signature(private_key, digest):
    """Same r, s, v as eth_keys (RFC 6979 nonce, low s) for the same key and hash."""
    r, s, recovery_id = secp256k1.sign_hash(private_key, digest)
    native = NATIVE.PrivateKey(private_key).sign_msg_hash(digest)
    assert (r, s, recovery_id) == (native.r, native.s, native.v)
    default = keys.PrivateKey(private_key).sign_msg_hash(digest)
    assert (r, s, recovery_id) == (default.r, default.s, default.v)
    assert s <= N // 2


@SETTINGS
@given(PRIVATE_KEYS, HASHES)
def test_address_and_recovery_are_eth_keys(private_key, digest):
    reference = NATIVE.PrivateKey(private_key)
    assert secp256k1.address_of(private_key) == reference.public_key.to_checksum_address()
    assert secp256k1.public_key_of(private_key) == reference.public_key.to_bytes()
    r, s, recovery_id = secp256k1.sign_hash(private_key, digest)
    assert secp256k1.recover_address(digest, r, s, recovery_id) == reference.public_key.to_checksum_address()


@SETTINGS
@given(PRIVATE_KEYS, HASHES, HASHES)
def test_recovery_of_any_signature_matches_eth_keys(private_key, digest, other_digest):
    """High s (as ecrecover accepts) and signatures over another hash recover as eth_keys says."""
    r, s, recovery_id = secp256k1.sign_hash(private_key, digest)
    high = (r, N - s, 1 - recovery_id)  # the same signature with s in the upper half
    assert secp256k1.recover_address(digest, *high) == secp256k1.address_of(private_key)
    assert NATIVE.Signature(vrs=(high[2], high[0], high[1])).recover_public_key_from_msg_hash(digest).to_checksum_address() == secp256k1.address_of(private_key)
    # the signature read over a different hash recovers some other key, the same one for both
    reference = NATIVE.Signature(vrs=(recovery_id, r, s)).recover_public_key_from_msg_hash(other_digest)
    assert secp256k1.recover_address(other_digest, r, s, recovery_id) == reference.to_checksum_address()


@SETTINGS
@given(st.integers(1, N - 1), st.integers(1, N - 1), st.integers(0, 1), HASHES)
def test_random_r_s_recover_or_fail_as_eth_keys(r, s, recovery_id, digest):
    """Random (r, s): about half the r values are no curve point; both refuse exactly those."""
    try:
        expected = NATIVE.Signature(vrs=(recovery_id, r, s)).recover_public_key_from_msg_hash(digest).to_checksum_address()
    except Exception:
        expected = None
    try:
        actual = secp256k1.recover_address(digest, r, s, recovery_id)
    except SignatureError:
        actual = None
    assert actual == expected


@pytest.mark.parametrize(
    "r, s, recovery_id, problem",
    [(0, 1, 0, "r and s"), (1, 0, 0, "r and s"), (N, 1, 0, "r and s"), (1, N, 1, "r and s"), (1, 1, 2, "recovery id")],
)
def test_out_of_range_signatures_are_refused(r, s, recovery_id, problem):
    with pytest.raises(SignatureError, match=problem):
        secp256k1.recover_address(b"\x01" * 32, r, s, recovery_id)


def test_no_curve_point_is_a_signature_error():
    # x = 5 has no point on y^2 = x^3 + 7 (5^3 + 7 = 132 is not a square mod p)
    with pytest.raises(SignatureError, match="does not recover"):
        secp256k1.recover_address(b"\x01" * 32, 5, 1, 0)


@pytest.mark.parametrize("key", [b"", b"\x00" * 32, N.to_bytes(32, "big"), b"\x01" * 31])
def test_bad_private_keys_are_refused_without_echo(key):
    with pytest.raises(SignatureError) as raised:
        secp256k1.sign_hash(key, b"\x01" * 32)
    assert key.hex() not in str(raised.value) or not key


def test_hash_must_be_32_bytes():
    with pytest.raises(SignatureError, match="32 bytes"):
        secp256k1.sign_hash(ALICE_KEY, b"\x01" * 31)


@SETTINGS
@given(PRIVATE_KEYS, HASHES)
def test_safe_signatures_recover_as_before(private_key, safe_tx_hash):
    """domain.signatures.recover_signer (now on secp256k1) for both ECDSA kinds, against eth_keys."""
    owner = NATIVE.PrivateKey(private_key)
    eip712 = owner.sign_msg_hash(safe_tx_hash)
    signature = eip712.r.to_bytes(32, "big") + eip712.s.to_bytes(32, "big") + bytes([27 + eip712.v])
    assert recover_signer("eip712", signature, safe_tx_hash) == owner.public_key.to_checksum_address()
    prefixed = keccak(b"\x19Ethereum Signed Message:\n32" + safe_tx_hash)
    eth_sign = owner.sign_msg_hash(prefixed)
    signature = eth_sign.r.to_bytes(32, "big") + eth_sign.s.to_bytes(32, "big") + bytes([31 + eth_sign.v])
    created = SafeSignature.create("eth_sign", signature, safe_tx_hash, "2025-01-31T12:00:00Z")
    assert created.signer == owner.public_key.to_checksum_address()
