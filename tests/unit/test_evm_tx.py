"""domain/evm_tx.py against eth_account (and pyrlp), the references it replaces on the hot path.

Random EIP-1559 and legacy EIP-155 transactions signed with random keys: the raw bytes are
those of ``Account.sign_transaction``, and both recover the same sender from them. Forms
evm_tx does not cover are declined (``from_dict`` -> None) and the signers hand them to
eth_account as before.
"""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.adapters.signers import RawKeySigner
from guardian.domain.evm_tx import EvmTransaction, recover_sender, rlp_decode, rlp_encode
from guardian.domain.secp256k1 import N
from guardian.domain.values import checksum_address
from guardian.errors import SignatureError

SETTINGS = settings(max_examples=150, deadline=None)
PRIVATE_KEYS = st.integers(1, N - 1).map(lambda number: number.to_bytes(32, "big"))
ALICE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
VAULT = "0x610178dA211FEF7D417bC0e6FeD39F05609AD788"


def uints(bits: int = 256):
    return st.one_of(st.integers(0, 2**16), st.integers(0, 2**bits - 1))


ADDRESSES = st.binary(min_size=20, max_size=20).map(checksum_address)
COMMON = {
    "to": ADDRESSES,
    "nonce": uints(64),
    "gas": uints(64),
    "chainId": st.one_of(st.sampled_from([1, 10, 137, 31337, 11155111]), uints(64)),
}
OPTIONAL = {"value": uints(), "data": st.binary(max_size=300)}
DYNAMIC_FEE_TXS = st.fixed_dictionaries(
    {**COMMON, "maxFeePerGas": uints(), "maxPriorityFeePerGas": uints()},
    optional={**OPTIONAL, "accessList": st.just([])},
)
LEGACY_TXS = st.fixed_dictionaries({**COMMON, "gasPrice": uints()}, optional=OPTIONAL)


def eth_account_raw(tx: dict, key: bytes) -> bytes:
    return bytes(Account.sign_transaction(dict(tx), key).raw_transaction)


@SETTINGS
@given(st.one_of(DYNAMIC_FEE_TXS, LEGACY_TXS), PRIVATE_KEYS)
def test_signed_transaction_is_eth_account_byte_for_byte(tx, key):
    transaction = EvmTransaction.from_dict(tx)
    assert transaction is not None and transaction.kind == (2 if "maxFeePerGas" in tx else 0)
    raw = transaction.sign(key)
    assert raw == eth_account_raw(tx, key)
    sender = Account.from_key(key).address
    assert recover_sender(raw) == sender == Account.recover_transaction(raw)


@SETTINGS
@given(st.one_of(DYNAMIC_FEE_TXS, LEGACY_TXS), PRIVATE_KEYS)
def test_raw_key_signer_signs_transactions_as_eth_account(tx, key):
    signer = RawKeySigner("test", lambda: key.hex())
    assert signer.sign_transaction({"from": signer.address(), **tx}) == eth_account_raw(tx, key)


@pytest.mark.parametrize(
    "change",
    [
        {"type": 2},
        {"type": "0x2"},
        {"accessList": [{"address": VAULT, "storageKeys": ["0x" + "00" * 32]}]},
        {"nonce": "0x5"},
        {"value": True},
        {"data": "0x8456cb59"},
        {"to": VAULT.lower()},
    ],
)
def test_other_forms_are_declined_and_signed_by_eth_account(change):
    tx = {"to": VAULT, "value": 0, "data": bytes.fromhex("8456cb59"), "gas": 60000, "nonce": 5, "chainId": 1,
          "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9, **change}  # fmt: skip
    assert EvmTransaction.from_dict(tx) is None
    signer = RawKeySigner("test", lambda: ALICE_KEY)
    try:
        expected = eth_account_raw(tx, bytes.fromhex(ALICE_KEY[2:]))
    except Exception as error:  # eth_account refuses it: so does the signer, the same way
        with pytest.raises(type(error)):
            signer.sign_transaction(tx)
    else:
        assert signer.sign_transaction(tx) == expected


def test_legacy_without_chain_id_is_declined():
    tx = {"to": VAULT, "value": 0, "data": b"", "gas": 21000, "nonce": 0, "gasPrice": 10**9}
    assert EvmTransaction.from_dict(tx) is None
    raw = RawKeySigner("test", lambda: ALICE_KEY).sign_transaction(tx)
    assert raw == eth_account_raw(tx, bytes.fromhex(ALICE_KEY[2:]))
    assert recover_sender(raw) == ALICE  # pre-EIP-155 v = 27/28 is read too


def test_access_list_transaction_is_left_to_eth_account():
    tx = {"to": VAULT, "value": 0, "data": b"", "gas": 30000, "nonce": 0, "chainId": 1, "gasPrice": 10**9, "accessList": []}
    raw = RawKeySigner("test", lambda: ALICE_KEY).sign_transaction(tx)
    assert raw[0] == 1 and recover_sender(raw) is None


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"\x02", "truncated"),
        (b"\x02\xc0", "12 fields"),
        (rlp_encode([b""] * 8), "9 fields"),
        (rlp_encode([b"", b"", b"", b"", b"", b"", 30, 1, 1]), "neither 27/28 nor EIP-155"),
        (rlp_encode([b"", b"", b"", b"", b"", b"", b"\x00\x25", 1, 1]), "canonical integer"),
        (rlp_encode([b""] * 9) + b"\x00", "trailing"),
    ],
)
def test_malformed_raw_transactions_are_refused(raw, problem):
    with pytest.raises(SignatureError, match=problem):
        recover_sender(raw)


def test_signature_that_does_not_recover_is_refused():
    tx = EvmTransaction.from_dict({"to": VAULT, "gas": 21000, "nonce": 0, "chainId": 1, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1})
    with pytest.raises(SignatureError, match="does not recover"):
        recover_sender(tx.encode_signed(5, 1, 0))  # r = 5 is no curve point


# --------------------------------------------------------------------------- RLP against pyrlp

RLP_ITEMS = st.recursive(st.binary(max_size=80), lambda children: st.lists(children, max_size=5), max_leaves=20)


@SETTINGS
@given(RLP_ITEMS)
def test_rlp_is_pyrlp(item):
    encoded = rlp_encode(item)
    assert encoded == rlp.encode(item)
    assert rlp_decode(encoded) == rlp.decode(encoded)


@SETTINGS
@given(st.integers(0, 2**256 - 1))
def test_rlp_integers_are_minimal_big_endian(number):
    assert rlp_encode(number) == rlp.encode(number)


@pytest.mark.parametrize(
    "encoded",
    [
        b"\x81\x05",  # a single byte below 0x80 must stand for itself
        b"\xb8\x05hello",  # long form for a short string
        b"\xb9\x00\x38" + b"a" * 56,  # length with a leading zero
        b"\x83ab",  # truncated
        b"\xc3\x01\x02",  # list shorter than announced
        b"\x01\x02",  # trailing byte
        b"",
    ],
)
def test_non_canonical_rlp_is_refused(encoded):
    with pytest.raises(ValueError):
        rlp_decode(encoded)
    with pytest.raises(Exception):
        rlp.decode(encoded)

