"""Solidity ABI encoding and decoding in plain Python: the codec behind ``abi.abi_encode`` / ``abi_decode``.

    encode(["address", "uint256[]"], ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", [1, 2]]) -> bytes
    decode(["address", "uint256[]"], data)  -> ("0x7099...79C8", (1, 2))
    is_supported(["(address,bytes)[]"])      -> True

Why it exists: ``eth_abi`` costs about 0.2 s to import (``eth_utils`` pulls in pydantic, and
the type grammar is built with parsimonious), paid by every guardian command that touches
calldata. This module needs only the standard library and keccak (for address checksums).

Types are canonical type strings: ``uintN`` / ``intN`` (N = 8..256, step 8), ``address``,
``bool``, ``bytesN`` (1..32), ``bytes``, ``string``, ``T[]``, ``T[k]`` and tuples ``(T,...)``,
nested freely. Anything else (``function``, ``fixed``, aliases such as ``uint``, spaces) is
"unsupported": ``is_supported`` says False and the caller falls back to eth_abi.

It behaves as eth_abi 5.2 does, which the tests check value by value against eth_abi itself:

* ``encode`` accepts what eth_abi accepts (ints but not bools for integers, any address text
  eth_utils calls an address or 20 bytes, shorter bytes for ``bytesN`` right-padded, any
  non-text sequence for arrays and tuples) and produces the same bytes.
* ``decode`` is eth_abi's strict mode: reads past the end, non-zero padding (sign-extension for
  ``intN``), a bool other than 0/1, invalid UTF-8 and offsets that point into the head or past
  the end are all refused. Its pointer check reproduces eth_abi's exactly, including how
  eth_abi counts the head of a tuple (a static ``T[k]`` counts k words, a static tuple one),
  so that both accept the same byte strings. Values come out as eth_abi's, except that
  addresses are EIP-55 checksummed: ints, bools, ``bytes``, ``str``, tuples for arrays and
  tuples.
* ``decode(..., strict=True)`` (the default) also demands the canonical encoding: re-encoding
  the values must give back exactly ``data`` (no trailing bytes, no reordered or shared tails).

Errors are ``AbiError(what, problem)`` with the same wording as ``abi.abi_encode`` /
``abi.abi_decode``: "cannot encode as (...)", "does not decode as (...)", "is not the
canonical ABI encoding of (...)".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from guardian.domain.values import checksum_address
from guardian.errors import AbiError

_ZERO_WORD = b"\x00" * 32
_INTEGER = re.compile(r"(u?int)([1-9][0-9]*)")
_FIXED_BYTES = re.compile(r"bytes([1-9][0-9]*)")
_ARRAY_SIZE = re.compile(r"[1-9][0-9]*")
_HEX_ADDRESS = re.compile(r"(0x)?[0-9a-f]{40}", re.IGNORECASE | re.ASCII)  # eth_utils.is_hex_address


class AbiType:
    """One parsed type. ``head_size``: bytes it takes in the head of its enclosing tuple."""

    __slots__ = ("text", "kind", "size", "inner", "components", "dynamic", "head_size", "counted_words")

    def __init__(self, text: str, kind: str, size: int | None = None, inner: "AbiType | None" = None, components: tuple = ()):
        self.text, self.kind, self.size, self.inner, self.components = text, kind, size, inner, components
        if kind in ("bytes", "string"):
            self.dynamic = True
        elif kind == "array":
            self.dynamic = size is None or inner.dynamic
        elif kind == "tuple":
            self.dynamic = any(component.dynamic for component in components)
        else:
            self.dynamic = False
        if self.dynamic:
            self.head_size = 32
        elif kind == "array":
            self.head_size = size * inner.head_size
        elif kind == "tuple":
            self.head_size = sum(component.head_size for component in components)
        else:
            self.head_size = 32
        # eth_abi's TupleDecoder counts the head as one word per component, except k words for
        # a static T[k]: offsets are checked against that count, which we reproduce.
        self.counted_words = size if kind == "array" and not self.dynamic else 1

    def __repr__(self) -> str:
        return f"AbiType({self.text!r})"


def _split_components(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(body):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    return parts


@lru_cache(maxsize=1024)
def parse_type(text: str) -> AbiType | None:
    """The parsed canonical type, or None if this codec does not handle ``text``."""
    if not isinstance(text, str) or not text:
        return None
    if text.endswith("]"):
        open_at = text.rfind("[")
        size_text = text[open_at + 1 : -1]
        if open_at <= 0 or (size_text and not _ARRAY_SIZE.fullmatch(size_text)):
            return None
        inner = parse_type(text[:open_at])
        if inner is None:
            return None
        return AbiType(text, "array", int(size_text) if size_text else None, inner)
    if text.startswith("("):
        if not text.endswith(")") or text == "()":
            return None
        parts = _split_components(text[1:-1])
        components = tuple(parse_type(part) for part in parts)
        if any(component is None for component in components):
            return None
        return AbiType(text, "tuple", components=components)
    if text in ("address", "bool", "bytes", "string"):
        return AbiType(text, text)
    match = _INTEGER.fullmatch(text)
    if match:
        bits = int(match.group(2))
        return AbiType(text, match.group(1), bits) if bits % 8 == 0 and bits <= 256 else None
    match = _FIXED_BYTES.fullmatch(text)
    if match:
        width = int(match.group(1))
        return AbiType(text, "fixed_bytes", width) if width <= 32 else None
    return None


def is_supported(types: Sequence[str]) -> bool:
    """True if every type in ``types`` is one this codec handles (else use eth_abi)."""
    return all(isinstance(type_, str) and parse_type(type_) is not None for type_ in types)


def _parse_all(types: Sequence[str], what: str) -> list[AbiType]:
    parsed = []
    for type_ in types:
        abi_type = parse_type(type_) if isinstance(type_, str) else None
        if abi_type is None:
            raise AbiError(what, f"unsupported ABI type {type_!r}")
        parsed.append(abi_type)
    return parsed


def _signature(types: Sequence[str]) -> str:
    return "(" + ",".join(map(str, types)) + ")"


# ---------------------------------------------------------------------------------------------
# Encoding


class _Unencodable(Exception):
    """Internal: a value does not fit its type; turned into AbiError by ``encode``."""


def _where(path: str, abi_type: AbiType) -> str:
    return f"value {path} ({abi_type.text})" if path else f"value ({abi_type.text})"


def _is_list_like(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _encode_bytes(raw: bytes) -> bytes:
    padding = -len(raw) % 32
    return len(raw).to_bytes(32, "big") + raw + b"\x00" * padding


def _address_bytes(value: Any) -> bytes | None:
    if isinstance(value, str):
        if not _HEX_ADDRESS.fullmatch(value):
            return None
        return bytes.fromhex(value[-40:])
    if isinstance(value, (bytes, bytearray)) and len(value) == 20:
        return bytes(value)
    return None


def _encode_value(abi_type: AbiType, value: Any, path: str) -> bytes:
    kind = abi_type.kind
    if kind in ("uint", "int"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Unencodable(f"{_where(path, abi_type)}: expected an integer, got {type(value).__name__} {value!r}")
        bits = abi_type.size
        low, high = (0, (1 << bits) - 1) if kind == "uint" else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        if not low <= value <= high:
            raise _Unencodable(f"{_where(path, abi_type)}: {value} is out of range ({low}..{high})")
        return (value % (1 << 256)).to_bytes(32, "big")
    if kind == "address":
        raw = _address_bytes(value)
        if raw is None:
            raise _Unencodable(f"{_where(path, abi_type)}: {value!r} is not a 20-byte address")
        return b"\x00" * 12 + raw
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Unencodable(f"{_where(path, abi_type)}: expected True or False, got {value!r}")
        return b"\x00" * 31 + (b"\x01" if value else b"\x00")
    if kind == "fixed_bytes":
        if not isinstance(value, (bytes, bytearray)):
            raise _Unencodable(f"{_where(path, abi_type)}: expected bytes, got {type(value).__name__}")
        if len(value) > abi_type.size:
            raise _Unencodable(f"{_where(path, abi_type)}: {len(value)} bytes do not fit in {abi_type.size}")
        return bytes(value).ljust(32, b"\x00")
    if kind == "bytes":
        if not isinstance(value, (bytes, bytearray)):
            raise _Unencodable(f"{_where(path, abi_type)}: expected bytes, got {type(value).__name__}")
        return _encode_bytes(bytes(value))
    if kind == "string":
        if not isinstance(value, str):
            raise _Unencodable(f"{_where(path, abi_type)}: expected text, got {type(value).__name__}")
        try:
            return _encode_bytes(value.encode("utf-8"))
        except UnicodeEncodeError as error:
            raise _Unencodable(f"{_where(path, abi_type)}: not encodable as UTF-8 ({error.reason})") from None
    if not _is_list_like(value):
        raise _Unencodable(f"{_where(path, abi_type)}: expected a list or tuple, got {type(value).__name__}")
    if kind == "tuple":
        if len(value) != len(abi_type.components):
            raise _Unencodable(f"{_where(path, abi_type)}: {len(value)} items for {len(abi_type.components)} components")
        return _encode_sequence(abi_type.components, value, path)
    if abi_type.size is not None:  # T[k]
        if len(value) != abi_type.size:
            raise _Unencodable(f"{_where(path, abi_type)}: {len(value)} items, expected {abi_type.size}")
        return _encode_sequence((abi_type.inner,) * len(value), value, path)
    return len(value).to_bytes(32, "big") + _encode_sequence((abi_type.inner,) * len(value), value, path)


def _encode_sequence(types: Sequence[AbiType], values: Sequence[Any], path: str) -> bytes:
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = sum(abi_type.head_size for abi_type in types)
    for index, (abi_type, value) in enumerate(zip(types, values)):
        encoded = _encode_value(abi_type, value, f"{path}[{index}]")
        if abi_type.dynamic:
            heads.append(offset.to_bytes(32, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def encode(types: Sequence[str], values: Sequence[Any], what: str = "values") -> bytes:
    """``abi.encode(values)`` for canonical ``types``; ``AbiError(what, ...)`` if a value does not fit."""
    parsed = _parse_all(types, what)
    if not _is_list_like(values) or len(values) != len(parsed):
        count = len(values) if _is_list_like(values) else type(values).__name__
        raise AbiError(what, f"expected {len(parsed)} values ({', '.join(types)}), got {count}")
    try:
        return _encode_sequence(parsed, values, "")
    except _Unencodable as error:
        raise AbiError(what, f"cannot encode as {_signature(types)}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Decoding


class _Malformed(Exception):
    """Internal: the data does not decode; turned into AbiError by ``decode``."""


def _word(data: bytes, position: int, abi_type: AbiType, path: str) -> bytes:
    if position + 32 > len(data):
        left = max(0, len(data) - position)
        raise _Malformed(f"{_where(path, abi_type)} at byte {position}: needs 32 bytes, only {left} left")
    return data[position : position + 32]


def _decode_value(abi_type: AbiType, data: bytes, position: int, path: str) -> Any:
    kind = abi_type.kind
    if kind in ("bytes", "string"):
        length = int.from_bytes(_word(data, position, abi_type, path), "big")
        start = position + 32
        end = start + length + (-length % 32)
        if end > len(data):
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: length {length} runs past the end of the data")
        if data[start + length : end].strip(b"\x00"):
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: padding bytes are not zero")
        raw = data[start : start + length]
        if kind == "bytes":
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: not valid UTF-8 ({error.reason})") from None
    if kind == "tuple":
        return _decode_sequence(abi_type.components, data, position, path)
    if kind == "array":
        if abi_type.size is None:
            count = int.from_bytes(_word(data, position, abi_type, path), "big")
            start = position + 32
        else:
            count, start = abi_type.size, position
        if start + count * abi_type.inner.head_size > len(data):
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: {count} items run past the end of the data")
        return _decode_sequence((abi_type.inner,) * count, data, start, path)
    word = _word(data, position, abi_type, path)
    if kind == "uint":
        padding = 32 - abi_type.size // 8
        if word[:padding].strip(b"\x00"):
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: padding bytes are not zero")
        return int.from_bytes(word, "big")
    if kind == "int":
        padding = 32 - abi_type.size // 8
        value = int.from_bytes(word[padding:], "big", signed=True)
        if word[:padding] != (b"\xff" if value < 0 else b"\x00") * padding:
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: padding bytes are not the sign extension")
        return value
    if kind == "address":
        if word[:12].strip(b"\x00"):
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: padding bytes are not zero")
        return checksum_address(word[12:])
    if kind == "bool":
        if word[:31].strip(b"\x00") or word[31] > 1:
            raise _Malformed(f"{_where(path, abi_type)} at byte {position}: a bool must be 0 or 1")
        return word[31] == 1
    # fixed_bytes
    if word[abi_type.size :].strip(b"\x00"):
        raise _Malformed(f"{_where(path, abi_type)} at byte {position}: padding bytes are not zero")
    return word[: abi_type.size]


def _decode_sequence(types: Sequence[AbiType], data: bytes, start: int, path: str) -> tuple:
    """A tuple (or array items) whose head starts at ``start``; offsets are relative to ``start``."""
    values: list[Any] = [None] * len(types)
    tails: list[tuple[int, AbiType, int]] = []
    head_end = start + 32 * sum(abi_type.counted_words for abi_type in types)
    position = start
    for index, abi_type in enumerate(types):
        if abi_type.dynamic:
            offset = int.from_bytes(_word(data, position, abi_type, f"{path}[{index}]"), "big")
            target = start + offset
            if target < head_end or target >= len(data):
                raise _Malformed(
                    f"{_where(f'{path}[{index}]', abi_type)} at byte {position}: offset {offset} points "
                    f"{'into the head' if target < head_end else 'past the end of the data'}"
                )
            tails.append((index, abi_type, target))
            position += 32
        else:
            values[index] = _decode_value(abi_type, data, position, f"{path}[{index}]")
            position += abi_type.head_size
    for index, abi_type, target in tails:
        values[index] = _decode_value(abi_type, data, target, f"{path}[{index}]")
    return tuple(values)


def decode(types: Sequence[str], data: bytes, strict: bool = True, what: str = "data") -> tuple:
    """The values ``data`` encodes as ``types``; ``strict`` also demands the canonical encoding."""
    parsed = _parse_all(types, what)
    try:
        data = bytes(data)
        values = _decode_sequence(parsed, data, 0, "")
    except (_Malformed, TypeError) as error:
        raise AbiError(what, f"does not decode as {_signature(types)}: {error}") from None
    if strict and _encode_sequence(parsed, values, "") != data:
        raise AbiError(what, f"is not the canonical ABI encoding of {_signature(types)} (extra or misplaced bytes)")
    return values
