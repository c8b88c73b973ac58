"""MultiSend packing: round trip, exact layout, and every malformed batch named by offset."""

from __future__ import annotations

import eth_abi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.domain.multisend import (
    MULTISEND_SELECTOR,
    Call,
    decode_multisend,
    encode_multisend,
    is_multisend,
    pack_transactions,
)
from guardian.domain.values import checksum_address
from guardian.errors import InputError, MultiSendDecodeError

A = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
B = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


def test_selector_is_multisend_bytes():
    assert MULTISEND_SELECTOR.hex() == "8d80ff0a"


def test_layout_is_operation_to_value_length_data():
    packed = pack_transactions([Call(A, 5, b"\xab\xcd", 1)])
    assert packed == b"\x01" + bytes.fromhex(A[2:]) + (5).to_bytes(32, "big") + (2).to_bytes(32, "big") + b"\xab\xcd"


def test_calldata_is_the_abi_encoding_of_the_packed_bytes():
    calls = [Call(A, 0, b"\x84\x56\xcb\x59"), Call(B, 10**18, b"")]
    calldata = encode_multisend(calls)
    assert calldata == MULTISEND_SELECTOR + eth_abi.encode(["bytes"], [pack_transactions(calls)])
    assert is_multisend(calldata)
    assert decode_multisend(calldata) == calls


def test_empty_batch_is_refused():
    with pytest.raises(InputError, match="at least one call"):
        encode_multisend([])


def test_call_validation():
    assert Call(A.lower(), 0, bytearray(b"\x01")).to == A
    with pytest.raises(InputError):
        Call(A, -1, b"")
    with pytest.raises(InputError):
        Call(A, 0, "0x00")
    with pytest.raises(InputError):
        Call(A, 0, b"", 2)


calls = st.lists(
    st.builds(
        Call,
        to=st.binary(min_size=20, max_size=20).map(checksum_address),
        value=st.integers(0, 2**256 - 1),
        data=st.binary(max_size=200),
        operation=st.sampled_from([0, 1]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(calls)
def test_round_trip(batch):
    assert decode_multisend(encode_multisend(batch)) == batch


def _good() -> bytes:
    return encode_multisend([Call(A, 1, b"\x01\x02\x03"), Call(B, 2, b"")])


def _with_word(calldata: bytes, at: int, value: int) -> bytes:
    return calldata[:at] + value.to_bytes(32, "big") + calldata[at + 32 :]


@pytest.mark.parametrize(
    "mutate, offset, problem",
    [
        (lambda d: b"\x12\x34\x56\x78" + d[4:], 0, "selector"),
        (lambda d: d[:40], 40, "ends before the length word"),
        (lambda d: _with_word(d, 4, 64), 4, "offset is 64"),
        (lambda d: _with_word(d, 36, 10_000), 36, "runs past the end"),
        (lambda d: d + b"\x00" * 32, None, "zero padding"),
        (lambda d: d[:-1] + b"\x01", None, "zero padding"),
        (lambda d: d[:68] + b"\x02" + d[69:], 68, "operation byte 2"),
        (lambda d: _with_word(d, 68 + 53, 1000), 68 + 53, "data length 1000 runs past"),
    ],
)
def test_malformed_batches_name_the_offset(mutate, offset, problem):
    with pytest.raises(MultiSendDecodeError, match=problem) as error:
        decode_multisend(mutate(_good()))
    if offset is not None:
        assert error.value.offset == offset
        assert f"at byte {offset}" in str(error.value)


def test_truncated_header_inside_the_batch():
    packed = pack_transactions([Call(A, 1, b"")]) + b"\x00" * 10  # a second call cut after 10 bytes
    calldata = MULTISEND_SELECTOR + eth_abi.encode(["bytes"], [packed])
    with pytest.raises(MultiSendDecodeError, match="transaction #1: 10 bytes left") as error:
        decode_multisend(calldata)
    assert error.value.offset == 68 + 85
