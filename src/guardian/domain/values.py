"""Parsing and formatting of the primitive values guardian handles: addresses, hex, uints.

Everything here is strict, because a guardian copies these values from a chat window onto a
device screen: an address must be 20 bytes and, if it is mixed-case, carry a valid EIP-55
checksum; hex needs its ``0x`` and an even number of digits; an integer must fit its width.
Errors are ``InputError(what, value, problem)`` so the message names the option or field.

keccak comes straight from pycryptodome (eth_hash's own backend; ``eth_hash.auto`` spends
~20 ms choosing it through importlib.metadata): this module is on the path of every command.
"""

from __future__ import annotations

import re

from Crypto.Hash import keccak as _keccak_module

from guardian.errors import InputError

ZERO_ADDRESS = "0x" + "0" * 40
ZERO_BYTES32 = b"\x00" * 32
UINT256_MAX = 2**256 - 1

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")


def keccak(data: bytes) -> bytes:
    """keccak256 of ``data`` (32 bytes)."""
    return _keccak_module.new(data=bytes(data), digest_bits=256).digest()


def to_hex(data: bytes) -> str:
    """``0x`` followed by lower-case hex; ``b""`` gives ``"0x"``."""
    return "0x" + bytes(data).hex()


def checksum_address(raw: bytes) -> str:
    """EIP-55 checksummed text of a 20-byte address."""
    if len(raw) != 20:
        raise InputError("address", to_hex(raw), f"must be 20 bytes, got {len(raw)}")
    lower = raw.hex()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def parse_address(text: object, what: str = "address") -> str:
    """A 20-byte address as EIP-55 checksummed text.

    All-lower-case and all-upper-case hex is accepted as is (it carries no checksum); mixed
    case must be a valid EIP-55 checksum, because a mistyped character is exactly what the
    checksum is there to catch.
    """
    if not isinstance(text, str):
        raise InputError(what, text, "must be a 0x-prefixed hex string of 20 bytes")
    if not text.startswith(("0x", "0X")):
        raise InputError(what, text, "must start with 0x")
    digits = text[2:]
    if not _HEX_DIGITS.fullmatch(digits):
        raise InputError(what, text, "is not hex")
    if len(digits) != 40:
        raise InputError(what, text, f"must be 40 hex digits (20 bytes), got {len(digits)}")
    checksummed = checksum_address(bytes.fromhex(digits))
    if digits != digits.lower() and digits != digits.upper() and digits != checksummed[2:]:
        raise InputError(what, text, f"bad EIP-55 checksum (expected {checksummed})")
    return checksummed


def is_address(text: object) -> bool:
    """True if ``parse_address`` would accept ``text``."""
    try:
        parse_address(text)
    except InputError:
        return False
    return True


def parse_hex(text: object, what: str = "hex", length: int | None = None) -> bytes:
    """Bytes from ``0x``-prefixed hex (``"0x"`` is empty bytes). ``length`` pins the byte count."""
    if isinstance(text, (bytes, bytearray)):
        data = bytes(text)
    else:
        if not isinstance(text, str):
            raise InputError(what, text, "must be a 0x-prefixed hex string")
        if not text.startswith(("0x", "0X")):
            raise InputError(what, _short(text), "must start with 0x")
        digits = text[2:]
        if not _HEX_DIGITS.fullmatch(digits):
            bad = next(c for c in digits if c not in "0123456789abcdefABCDEF")
            raise InputError(what, _short(text), f"is not hex (found {bad!r})")
        if len(digits) % 2:
            raise InputError(what, _short(text), f"has an odd number of hex digits ({len(digits)})")
        data = bytes.fromhex(digits)
    if length is not None and len(data) != length:
        raise InputError(what, _short(to_hex(data)), f"must be {length} bytes, got {len(data)}")
    return data


def parse_bytes32(text: object, what: str = "bytes32") -> bytes:
    """Exactly 32 bytes from ``0x``-prefixed hex."""
    return parse_hex(text, what, length=32)


def parse_uint(text: object, what: str = "integer", bits: int = 256) -> int:
    """A non-negative integer below ``2**bits`` from decimal text, ``0x`` hex text, or an int."""
    if isinstance(text, bool):
        raise InputError(what, text, "must be an integer, not a boolean")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str):
        if text.startswith(("0x", "0X")):
            digits = text[2:]
            if not digits or not _HEX_DIGITS.fullmatch(digits):
                raise InputError(what, _short(text), "is not a hex integer")
            value = int(digits, 16)
        elif re.fullmatch(r"[0-9]+", text):
            value = int(text, 10)
        else:
            raise InputError(what, _short(text), "must be a non-negative decimal or 0x-hex integer")
    else:
        raise InputError(what, text, "must be an integer")
    if value < 0:
        raise InputError(what, text, "must not be negative")
    if value >= 1 << bits:
        raise InputError(what, _short(str(text)), f"does not fit in uint{bits} (max {(1 << bits) - 1})")
    return value


def parse_decimal_uint(text: object, what: str = "integer", bits: int = 256) -> int:
    """Canonical decimal text only (no sign, no leading zeros, no hex): the proposal file form."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise InputError(what, text, "must be a decimal integer in a string, e.g. \"0\" or \"1000\"")
    return parse_uint(text, what, bits)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def utc_timestamp(moment: "object | None" = None) -> str:
    """ISO 8601 UTC text with a ``Z``, to the second: ``2025-01-31T12:00:00Z`` (now if no ``moment``)."""
    from datetime import datetime, timezone

    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


def parse_timestamp(text: object, what: str = "timestamp") -> str:
    """Check ``text`` is an ISO 8601 UTC timestamp ending in ``Z`` that is a real date; returns it."""
    from datetime import datetime

    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise InputError(what, text, "must be an ISO 8601 UTC time like 2025-01-31T12:00:00Z")
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError as error:
        raise InputError(what, text, str(error)) from None
    return text
