"""The plain-Python ABI codec (domain/abicodec.py) against eth_abi 5.2, its reference.

Random types (nested arrays and tuples included) and values: the same bytes out of encode, the
same values out of decode. Random corruptions of valid encodings: accepted by one exactly when
accepted by the other. And the malformed data guardian relies on being refused, by name.
"""

from __future__ import annotations

import eth_abi
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from guardian.domain import abicodec
from guardian.domain.abi import abi_decode, abi_encode, decode_call, encode_call
from guardian.domain.values import checksum_address
from guardian.errors import AbiError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- strategies

BASE_TYPES = st.one_of(
    st.sampled_from([8, 16, 24, 64, 128, 160, 248, 256]).map(lambda bits: f"uint{bits}"),
    st.sampled_from([8, 16, 32, 64, 128, 200, 256]).map(lambda bits: f"int{bits}"),
    st.integers(1, 32).map(lambda width: f"bytes{width}"),
    st.sampled_from(["address", "bool", "bytes", "string"]),
)


def _extend(children):
    return st.one_of(
        children.map(lambda t: f"{t}[]"),
        st.tuples(children, st.integers(1, 3)).map(lambda pair: f"{pair[0]}[{pair[1]}]"),
        st.lists(children, min_size=1, max_size=3).map(lambda parts: "(" + ",".join(parts) + ")"),
    )


TYPES = st.recursive(BASE_TYPES, _extend, max_leaves=6)
TYPE_LISTS = st.lists(TYPES, min_size=0, max_size=4)


def values_of(type_: str) -> st.SearchStrategy:
    """Values eth_abi encodes for ``type_`` (addresses checksummed, arrays as lists)."""
    parsed = abicodec.parse_type(type_)
    return _values(parsed)


def _values(t) -> st.SearchStrategy:
    if t.kind == "uint":
        return st.integers(0, (1 << t.size) - 1)
    if t.kind == "int":
        return st.integers(-(1 << (t.size - 1)), (1 << (t.size - 1)) - 1)
    if t.kind == "address":
        return st.binary(min_size=20, max_size=20).map(checksum_address)
    if t.kind == "bool":
        return st.booleans()
    if t.kind == "fixed_bytes":
        return st.binary(min_size=t.size, max_size=t.size)
    if t.kind == "bytes":
        return st.binary(max_size=70)
    if t.kind == "string":
        return st.text(max_size=40)
    if t.kind == "tuple":
        return st.tuples(*(_values(component) for component in t.components))
    if t.size is not None:
        return st.lists(_values(t.inner), min_size=t.size, max_size=t.size)
    return st.lists(_values(t.inner), max_size=3)


@st.composite
def typed_values(draw, type_lists=TYPE_LISTS):
    types = draw(type_lists)
    return types, [draw(values_of(t)) for t in types]


def normalized(type_: str, value):
    """eth_abi's decoded value the way guardian returns it: checksummed addresses, tuples for lists."""
    return _normalized(abicodec.parse_type(type_), value)


def _normalized(t, value):
    if t.kind == "address":
        return checksum_address(bytes.fromhex(value[2:]))
    if t.kind == "tuple":
        return tuple(_normalized(c, v) for c, v in zip(t.components, value))
    if t.kind == "array":
        return tuple(_normalized(t.inner, v) for v in value)
    return value


def eth_abi_decode(types, data):
    """eth_abi's answer (normalised), or None if eth_abi refuses the data."""
    try:
        values = eth_abi.decode(list(types), data)
    except Exception:
        return None
    return tuple(normalized(t, v) for t, v in zip(types, values))


def codec_decode(types, data, strict=False):
    try:
        return abicodec.decode(types, data, strict=strict)
    except AbiError:
        return None


# --------------------------------------------------------------------------- equivalence with eth_abi


@SETTINGS
@given(typed_values())
def test_encode_is_eth_abi_encode(case):
    types, values = case
    assert abicodec.encode(types, values) == eth_abi.encode(types, values)


@SETTINGS
@given(typed_values())
def test_decode_of_eth_abi_encoding_is_eth_abi_decode(case):
    types, values = case
    data = eth_abi.encode(types, values)
    expected = eth_abi_decode(types, data)
    assert abicodec.decode(types, data, strict=True) == expected
    assert abicodec.decode(types, data, strict=False) == expected
    assert expected == tuple(normalized(t, v) for t, v in zip(types, values))


@SETTINGS
@given(typed_values(), st.data())
def test_corrupted_data_is_accepted_exactly_when_eth_abi_accepts_it(case, data):
    """Flip bytes, plant offsets and lengths, truncate, append: the same verdict and values as eth_abi."""
    types, values = case
    encoded = bytearray(eth_abi.encode(types, values))
    for _ in range(data.draw(st.integers(1, 3), label="corruptions")):
        how = data.draw(st.sampled_from(["byte", "word", "truncate", "append"]), label="how")
        if how == "byte" and encoded:
            index = data.draw(st.integers(0, len(encoded) - 1), label="index")
            encoded[index] = data.draw(st.integers(0, 255), label="byte")
        elif how == "word" and len(encoded) >= 32:
            word = data.draw(st.integers(0, len(encoded) // 32 - 1), label="word")
            number = data.draw(
                st.one_of(
                    st.integers(0, len(encoded) // 32 + 2).map(lambda words: 32 * words),  # plausible offsets
                    st.integers(0, len(encoded) + 64), st.just(2**256 - 1), st.integers(0, 2**256 - 1),
                ),
                label="number",
            )
            encoded[32 * word : 32 * word + 32] = number.to_bytes(32, "big")
        elif how == "truncate" and encoded:
            del encoded[data.draw(st.integers(0, len(encoded) - 1), label="cut") :]
        else:
            encoded += data.draw(st.binary(min_size=1, max_size=64), label="tail")
    corrupted = bytes(encoded)
    reference = eth_abi_decode(types, corrupted)
    assert codec_decode(types, corrupted, strict=False) == reference
    # strict: only eth_abi's canonical encoding of what it decodes
    canonical = reference is not None and eth_abi.encode(types, list(reference)) == corrupted
    assert codec_decode(types, corrupted, strict=True) == (reference if canonical else None)


@SETTINGS
@given(TYPE_LISTS, st.binary(max_size=300))
def test_random_bytes_are_judged_as_eth_abi_judges_them(types, blob):
    assert codec_decode(types, blob) == eth_abi_decode(types, blob)


@SETTINGS
@given(st.data())
def test_values_eth_abi_refuses_are_refused(data):
    """Wrong Python values: out-of-range ints, bools for ints, long bytesN, wrong lengths..."""
    type_ = data.draw(TYPES, label="type")
    wrong = data.draw(
        st.one_of(
            st.integers(-(2**257), 2**257), st.booleans(), st.binary(max_size=40), st.text(max_size=5),
            st.lists(st.integers(0, 3), max_size=4), st.none(),
        ),
        label="value",
    )  # fmt: skip
    try:
        expected = eth_abi.encode([type_], [wrong])
    except Exception:
        expected = None
    try:
        actual = abicodec.encode([type_], [wrong])
    except AbiError:
        actual = None
    assert actual == expected


def test_short_bytes_n_and_address_forms_as_eth_abi():
    """eth_abi right-pads a short bytesN and takes any-case hex or 20 raw bytes for an address."""
    owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    for types, values in [
        (["bytes4"], [b"\x01"]),
        (["address"], [owner.lower()]),
        (["address"], [owner[2:]]),
        (["address"], [bytes.fromhex(owner[2:])]),
        (["address"], ["0x70997970c51812dc3a010c7d01b50e0d17dc79c9".upper().replace("0X", "0x")]),
        (["uint256[]"], [range(3)]),
    ]:
        assert abicodec.encode(types, values) == eth_abi.encode(types, values), (types, values)


# --------------------------------------------------------------------------- malformed data, by name


def word(number: int) -> bytes:
    return number.to_bytes(32, "big")


@pytest.mark.parametrize(
    "types, data, problem",
    [
        (["uint8"], b"\x00" * 30 + b"\x01\x01", "padding bytes are not zero"),
        (["address"], b"\x01" + b"\x00" * 31, "padding bytes are not zero"),
        (["int8"], b"\x00" * 31 + b"\xff", "sign extension"),
        (["bool"], word(2), "a bool must be 0 or 1"),
        (["bytes4"], b"\x01\x02\x03\x04\x05" + b"\x00" * 27, "padding bytes are not zero"),
        (["bytes"], word(32) + word(3) + b"abc" + b"\x00" * 28 + b"\x01", "padding bytes are not zero"),
        (["string"], word(32) + word(2) + b"\xff\xfe" + b"\x00" * 30, "not valid UTF-8"),
        (["bytes"], word(32) + word(40) + b"\x00" * 32, "runs past the end"),
        (["bytes"], word(0) + word(0), "points into the head"),
        (["bytes"], word(64) + word(0), "points past the end"),
        (["bytes"], word(2**256 - 1) + word(0), "points past the end"),
        (["uint256[]"], word(32) + word(2**200), "run past the end"),
        (["uint256"], b"\x00" * 31, "needs 32 bytes, only 31 left"),
        (["uint256", "address"], word(1), "needs 32 bytes, only 0 left"),
    ],
)
def test_malformed_data_is_refused_with_the_reason(types, data, problem):
    with pytest.raises(AbiError, match=problem) as raised:
        abicodec.decode(types, data, strict=False)
    assert "does not decode as" in str(raised.value)
    with pytest.raises(Exception):
        eth_abi.decode(types, data)  # eth_abi refuses it too


def test_strict_refuses_trailing_bytes_and_non_canonical_offsets():
    data = eth_abi.encode(["uint256", "bytes"], [7, b"hi"])
    assert abicodec.decode(["uint256", "bytes"], data + b"\x00", strict=False) == (7, b"hi")
    with pytest.raises(AbiError, match="not the canonical ABI encoding"):
        abicodec.decode(["uint256", "bytes"], data + b"\x00")
    # the same value, its tail moved one word further: eth_abi (and non-strict) read it
    moved = word(7) + word(96) + word(0) + data[64:]
    assert abicodec.decode(["uint256", "bytes"], moved, strict=False) == (7, b"hi")
    with pytest.raises(AbiError, match="not the canonical ABI encoding"):
        abicodec.decode(["uint256", "bytes"], moved)


@pytest.mark.parametrize(
    "types, head, offset, expected_static",
    [
        # a static tuple counts as 1 head word (it takes 2): the real head is 3 words, eth_abi checks 2
        (["(uint256,uint256)", "bytes"], word(1) + word(0), 64, (1, 0)),
        # a static T[k] counts as k words: uint256[2][2] takes 4, eth_abi checks 2 (+1 for the offset)
        (["uint256[2][2]", "bytes"], word(1) + word(2) + word(3) + word(0), 96, ((1, 2), (3, 0))),
    ],
)
def test_eth_abi_head_count_quirk_is_reproduced(types, head, offset, expected_static):
    """eth_abi undercounts some heads, so an offset may point inside the head: we accept the same."""
    # the offset points at a head word, read as the length of the bytes that follow
    data = head + word(offset) + b"\x07" * 128
    length = int.from_bytes(data[offset : offset + 32], "big")
    decoded = eth_abi_decode(types, data)
    assert decoded is not None and decoded[0] == expected_static
    assert abicodec.decode(types, data, strict=False) == decoded
    assert decoded[1] == data[offset + 32 : offset + 32 + length]
    with pytest.raises(AbiError, match="not the canonical"):
        abicodec.decode(types, data)


def test_errors_name_the_value_and_type():
    with pytest.raises(AbiError, match=r"cannot encode as \(uint256\[\],bool\): value \[0\]\[1\] \(uint256\): -1 is out of range"):
        abicodec.encode(["uint256[]", "bool"], [[1, -1], True])
    with pytest.raises(AbiError, match="unsupported ABI type 'uint'"):
        abicodec.encode(["uint"], [1])
    with pytest.raises(AbiError, match="expected 2 values"):
        abicodec.encode(["uint8", "uint8"], [1])


@pytest.mark.parametrize("type_", ["uint", "int7", "uint264", "bytes0", "bytes33", "function", "fixed128x18", "uint256[0]", "uint256[01]", "()", "(uint256, bool)", "tuple(uint256)", "uint256[", ""])
def test_unsupported_types_are_left_to_eth_abi(type_):
    assert not abicodec.is_supported([type_])


# --------------------------------------------------------------------------- through guardian's abi module


def test_abi_module_uses_the_codec_with_the_same_results():
    signature = "execute(address,uint256,bytes,(bytes32,address[])[])"
    args = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "1000", "0x1234", [["0x" + "ab" * 32, ["0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"]]]]
    calldata = encode_call(signature, args)
    types = ["address", "uint256", "bytes", "(bytes32,address[])[]"]
    assert calldata[4:] == eth_abi.encode(types, [args[0], 1000, b"\x12\x34", [(b"\xab" * 32, [args[3][0][1][0]])]])
    assert decode_call(signature, calldata) == (args[0], 1000, b"\x12\x34", ((b"\xab" * 32, (args[3][0][1][0],)),))


def test_abi_module_falls_back_to_eth_abi_for_other_types():
    """``function`` (24 bytes) is not the codec's: abi_encode/abi_decode still work through eth_abi."""
    value = "0x" + "11" * 24
    encoded = abi_encode(["function"], [value])
    assert encoded == eth_abi.encode(["function"], [bytes.fromhex(value[2:])])
    assert abi_decode(["function"], encoded) == (bytes.fromhex(value[2:]),)
