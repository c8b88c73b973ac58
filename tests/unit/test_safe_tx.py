"""Offline Safe hashing: type hashes, validation, and agreement with an independent implementation."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safe_eth.safe.safe_tx import SafeTx as ReferenceSafeTx  # an independent implementation, as an oracle

from guardian.domain.safe_tx import (
    SUPPORTED_SAFE_VERSIONS,
    Operation,
    SafeTx,
    SafeTxHashes,
    domain_has_chain_id,
    domain_hash,
    hash_safe_tx,
    safe_tx_typehash,
)
from guardian.domain.values import UINT256_MAX, ZERO_ADDRESS, checksum_address, keccak
from guardian.errors import GuardianError, InputError, UnsupportedSafeVersionError

SAFE = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
TO = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


def tx(**fields) -> SafeTx:
    base = dict(safe=SAFE, chain_id=1, safe_version="1.4.1", to=TO, value=0, data=b"", operation=0)
    base.update(fields)
    return SafeTx(**base)


def test_type_hashes_are_the_constants_in_the_safe_contracts():
    # DOMAIN_SEPARATOR_TYPEHASH and SAFE_TX_TYPEHASH as declared in GnosisSafe.sol / Safe.sol
    old_domain = "035aff83d86937d35b32e04f0ddc6ff469290eef2f1b692d8a815c89404d4749"
    new_domain = "47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218"
    safe_tx_type = "bb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8"
    assert keccak(b"EIP712Domain(address verifyingContract)").hex() == old_domain
    assert keccak(b"EIP712Domain(uint256 chainId,address verifyingContract)").hex() == new_domain
    for version in SUPPORTED_SAFE_VERSIONS:
        assert safe_tx_typehash(version).hex() == safe_tx_type


def test_domain_has_chain_id_only_from_1_3_0():
    assert [domain_has_chain_id(v) for v in SUPPORTED_SAFE_VERSIONS] == [False, False, True, True, True]


def test_domain_hash_by_hand():
    address_word = bytes(12) + bytes.fromhex(SAFE[2:])
    assert domain_hash(SAFE, 5, "1.1.1") == keccak(
        bytes.fromhex("035aff83d86937d35b32e04f0ddc6ff469290eef2f1b692d8a815c89404d4749") + address_word
    )
    assert domain_hash(SAFE, 5, "1.3.0") == keccak(
        bytes.fromhex("47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218") + (5).to_bytes(32, "big") + address_word
    )


def test_safe_tx_hash_is_eip712_of_domain_and_message():
    hashes = hash_safe_tx(tx(nonce=3))
    assert hashes.safe_tx_hash == keccak(b"\x19\x01" + hashes.domain_hash + hashes.message_hash)
    as_hex = hashes.as_hex()
    assert list(as_hex) == ["domain_hash", "message_hash", "safe_tx_hash"]
    assert all(v.startswith("0x") and v == v.lower() and len(v) == 66 for v in as_hex.values())


def test_chain_id_matters_only_from_1_3_0():
    for version in SUPPORTED_SAFE_VERSIONS:
        same = hash_safe_tx(tx(safe_version=version, chain_id=1)) == hash_safe_tx(tx(safe_version=version, chain_id=10))
        assert same is (not domain_has_chain_id(version))


def test_every_field_changes_the_hash():
    base = hash_safe_tx(tx())
    changes = dict(
        safe=TO, chain_id=2, to=SAFE, value=1, data=b"\x00", operation=1, safe_tx_gas=1, base_gas=1,
        gas_price=1, gas_token=TO, refund_receiver=TO, nonce=1,
    )  # fmt: skip
    for name, value in changes.items():
        assert hash_safe_tx(tx(**{name: value})).safe_tx_hash != base.safe_tx_hash, name


def test_hashing_needs_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("hash_safe_tx opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for version in SUPPORTED_SAFE_VERSIONS:
        assert isinstance(hash_safe_tx(tx(safe_version=version, nonce=9)), SafeTxHashes)


@pytest.mark.parametrize("version", ["1.2.0", "0.1.0", "1.4", "v1.4.1", "", None, 1.3])
def test_unsupported_versions_are_refused(version):
    with pytest.raises(UnsupportedSafeVersionError) as error:
        tx(safe_version=version)
    assert "supported: 1.0.0, 1.1.1, 1.3.0, 1.4.1, 1.5.0" in error.value.one_line()
    assert error.value.exit_code == 2


def test_fields_are_normalised():
    t = tx(safe=SAFE.lower(), to=TO.upper().replace("0X", "0x"), data=bytearray(b"\x01"), operation=Operation.DELEGATECALL)
    assert t.safe == SAFE and t.to == TO and t.data == b"\x01" and t.operation == 1 and t.is_delegatecall
    assert t.gas_token == ZERO_ADDRESS and t.refund_receiver == ZERO_ADDRESS


@pytest.mark.parametrize(
    "fields, what",
    [
        (dict(operation=2), "operation"),
        (dict(operation=True), "operation"),
        (dict(value=-1), "value"),
        (dict(value=UINT256_MAX + 1), "value"),
        (dict(nonce="1"), "nonce"),
        (dict(chain_id=0), "chain_id"),
        (dict(data="0x00"), "data"),
        (dict(to="0x1234"), "to"),
        (dict(gas_token="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), "gas_token"),
    ],
)
def test_bad_fields_are_refused_by_name(fields, what):
    with pytest.raises(InputError) as error:
        tx(**fields)
    assert error.value.what == what


def test_safe_tx_is_frozen():
    with pytest.raises(Exception):
        tx().value = 5  # type: ignore[misc]


addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
uint256 = st.integers(0, UINT256_MAX)


@settings(max_examples=40, deadline=None)
@given(
    version=st.sampled_from(SUPPORTED_SAFE_VERSIONS),
    chain_id=st.integers(1, 2**64),
    safe=addresses,
    to=addresses,
    value=uint256,
    data=st.binary(max_size=300),
    operation=st.sampled_from([0, 1]),
    gas=st.tuples(uint256, uint256, uint256),
    gas_token=addresses,
    refund_receiver=addresses,
    nonce=uint256,
)
def test_agrees_with_safe_eth_py_offline(version, chain_id, safe, to, value, data, operation, gas, gas_token, refund_receiver, nonce):
    """safe-eth-py is an independent implementation; with chain id and nonce given it does no I/O."""
    reference = ReferenceSafeTx(
        None, safe, to, value, data, operation, gas[0], gas[1], gas[2], gas_token, refund_receiver,
        safe_nonce=nonce, safe_version=version, chain_id=chain_id,
    )  # fmt: skip
    ours = hash_safe_tx(
        SafeTx(safe, chain_id, version, to, value, data, operation, gas[0], gas[1], gas[2], gas_token, refund_receiver, nonce)
    )
    assert ours.safe_tx_hash == bytes(reference.safe_tx_hash)


def test_errors_are_guardian_errors():
    assert issubclass(UnsupportedSafeVersionError, GuardianError)
