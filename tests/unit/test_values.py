"""Primitive value parsing: addresses (EIP-55), hex, uints, timestamps."""

from __future__ import annotations

import pytest

from guardian.domain.values import (
    ZERO_ADDRESS,
    checksum_address,
    is_address,
    keccak,
    parse_address,
    parse_bytes32,
    parse_decimal_uint,
    parse_hex,
    parse_timestamp,
    parse_uint,
    to_hex,
    utc_timestamp,
)
from guardian.errors import InputError

# the test vectors of EIP-55
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]


def test_keccak_of_empty_input():
    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@pytest.mark.parametrize("address", EIP55)
def test_eip55_vectors_are_accepted_and_kept(address):
    assert parse_address(address) == address
    assert checksum_address(bytes.fromhex(address[2:])) == address


@pytest.mark.parametrize("address", EIP55[:4])
def test_lower_and_upper_case_are_accepted_and_checksummed(address):
    assert parse_address(address.lower()) == address
    assert parse_address("0x" + address[2:].upper()) == address


@pytest.mark.parametrize("address", EIP55[:4])
def test_a_single_flipped_case_is_a_bad_checksum(address):
    index = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    flipped = address[:index] + address[index].swapcase() + address[index + 1 :]
    with pytest.raises(InputError, match="bad EIP-55 checksum") as error:
        parse_address(flipped, "--to")
    assert error.value.what == "--to"
    assert address in error.value.problem  # tells the right spelling


@pytest.mark.parametrize(
    "text, problem",
    [
        ("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "must start with 0x"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "40 hex digits"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", "40 hex digits"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "not hex"),
        ("0x", "40 hex digits"),
        ("", "must start with 0x"),
        (None, "0x-prefixed"),
        (123, "0x-prefixed"),
    ],
)
def test_malformed_addresses_are_rejected(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_address(text)
    assert not is_address(text)


def test_error_message_names_what_and_value():
    with pytest.raises(InputError) as error:
        parse_address("0x1234", "safe")
    assert str(error.value).startswith("invalid safe '0x1234':")


def test_parse_hex():
    assert parse_hex("0x") == b""
    assert parse_hex("0xABcd") == b"\xab\xcd"
    assert parse_hex(b"\x01") == b"\x01"
    assert to_hex(b"\xab\xcd") == "0xabcd"
    assert to_hex(b"") == "0x"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("0xabc", "odd number of hex digits"),
        ("abcd", "must start with 0x"),
        ("0xzz", "is not hex"),
        ("0x12 34", "is not hex"),
        (None, "0x-prefixed"),
    ],
)
def test_bad_hex_is_rejected(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_hex(text, "--data")


def test_hex_length_is_enforced():
    assert parse_bytes32("0x" + "00" * 32) == b"\x00" * 32
    with pytest.raises(InputError, match="must be 32 bytes, got 31"):
        parse_bytes32("0x" + "00" * 31, "salt")


@pytest.mark.parametrize(
    "text, value",
    [("0", 0), ("42", 42), ("0x2a", 42), ("0X2A", 42), (7, 7), (str(2**256 - 1), 2**256 - 1)],
)
def test_parse_uint(text, value):
    assert parse_uint(text) == value


@pytest.mark.parametrize(
    "text, problem",
    [
        ("-1", "non-negative"),
        ("1.5", "non-negative"),
        ("1e18", "non-negative"),
        ("", "non-negative"),
        ("0x", "not a hex integer"),
        ("0xg", "not a hex integer"),
        (str(2**256), "does not fit in uint256"),
        (-1, "must not be negative"),
        (True, "not a boolean"),
        (1.0, "must be an integer"),
    ],
)
def test_bad_uints_are_rejected(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_uint(text, "--value")


def test_uint_width():
    assert parse_uint("255", bits=8) == 255
    with pytest.raises(InputError, match="uint8"):
        parse_uint("256", bits=8)


def test_decimal_uint_is_the_canonical_form_only():
    assert parse_decimal_uint("10") == 10
    for bad in ("010", "0x10", 10, "+1", " 1"):
        with pytest.raises(InputError):
            parse_decimal_uint(bad)


def test_timestamps():
    assert parse_timestamp("2025-01-31T12:00:00Z") == "2025-01-31T12:00:00Z"
    assert parse_timestamp(utc_timestamp())
    for bad in ("2025-01-31 12:00:00", "2025-02-30T12:00:00Z", "yesterday", None, "2025-01-31T12:00:00+01:00"):
        with pytest.raises(InputError):
            parse_timestamp(bad)


def test_zero_address():
    assert parse_address(ZERO_ADDRESS) == ZERO_ADDRESS
