"""MultiSend / MultiSendCallOnly batches: ``multiSend(bytes transactions)``.

``transactions`` is the tight packing, per call, of::

    operation (1 byte) | to (20 bytes) | value (32 bytes) | data length (32 bytes) | data

The calldata wraps it ABI-style: selector 0x8d80ff0a, offset word (0x20), length word, the
packed bytes, zero padding to a multiple of 32. The decoder is strict: anything that the
contract would read differently from what a guardian is shown (a wrong offset, a length that
runs past the end, trailing garbage, an operation byte other than 0 or 1) is an error that
names the byte offset in the calldata.
"""

from __future__ import annotations

from dataclasses import dataclass

from guardian.domain.values import keccak, parse_address, parse_uint, to_hex
from guardian.errors import InputError, MultiSendDecodeError

MULTISEND_SIGNATURE = "multiSend(bytes)"
MULTISEND_SELECTOR = keccak(MULTISEND_SIGNATURE.encode())[:4]
_HEADER = 1 + 20 + 32 + 32
_PAYLOAD_START = 4 + 32 + 32


@dataclass(frozen=True)
class Call:
    """One call in a batch (also used for timelock operation calls, with operation 0)."""

    to: str
    value: int
    data: bytes
    operation: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", parse_address(self.to, "call target"))
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise InputError("call value", self.value, "must be an int")
        object.__setattr__(self, "value", parse_uint(self.value, "call value"))
        if not isinstance(self.data, (bytes, bytearray)):
            raise InputError("call data", self.data, "must be bytes")
        object.__setattr__(self, "data", bytes(self.data))
        if isinstance(self.operation, bool) or self.operation not in (0, 1):
            raise InputError("call operation", self.operation, "must be 0 (CALL) or 1 (DELEGATECALL)")


def pack_transactions(calls: list[Call] | tuple[Call, ...]) -> bytes:
    """The packed ``transactions`` bytes (without the ABI wrapper)."""
    packed = bytearray()
    for call in calls:
        packed += bytes([call.operation])
        packed += bytes.fromhex(call.to[2:])
        packed += call.value.to_bytes(32, "big")
        packed += len(call.data).to_bytes(32, "big")
        packed += call.data
    return bytes(packed)


def encode_multisend(calls: list[Call] | tuple[Call, ...]) -> bytes:
    """Calldata of ``multiSend(bytes)`` for ``calls`` (at least one)."""
    calls = list(calls)
    if not calls:
        raise InputError("batch", "[]", "a MultiSend batch needs at least one call")
    packed = pack_transactions(calls)
    padding = b"\x00" * (-len(packed) % 32)
    return MULTISEND_SELECTOR + (32).to_bytes(32, "big") + len(packed).to_bytes(32, "big") + packed + padding


def is_multisend(calldata: bytes) -> bool:
    """True if ``calldata`` calls ``multiSend(bytes)`` (by selector)."""
    return bytes(calldata[:4]) == MULTISEND_SELECTOR


def decode_multisend(calldata: bytes) -> list[Call]:
    """The calls of a ``multiSend(bytes)`` calldata; ``MultiSendDecodeError`` names the bad offset."""
    calldata = bytes(calldata)
    if calldata[:4] != MULTISEND_SELECTOR:
        raise MultiSendDecodeError(0, f"selector {to_hex(calldata[:4])} is not multiSend(bytes) {to_hex(MULTISEND_SELECTOR)}")
    if len(calldata) < _PAYLOAD_START:
        raise MultiSendDecodeError(len(calldata), f"calldata of {len(calldata)} bytes ends before the length word")
    offset = int.from_bytes(calldata[4:36], "big")
    if offset != 32:
        raise MultiSendDecodeError(4, f"the bytes argument offset is {offset}, expected 32")
    length = int.from_bytes(calldata[36:68], "big")
    end = _PAYLOAD_START + length
    if end > len(calldata):
        raise MultiSendDecodeError(36, f"declared length {length} runs past the end of the calldata ({len(calldata) - _PAYLOAD_START} bytes left)")
    padding = calldata[end:]
    if len(padding) != -length % 32 or any(padding):
        raise MultiSendDecodeError(end, f"{len(padding)} bytes after the batch are not the expected zero padding")
    return unpack_transactions(calldata[_PAYLOAD_START:end], base_offset=_PAYLOAD_START)


def unpack_transactions(packed: bytes, base_offset: int = 0) -> list[Call]:
    """Split packed ``transactions`` bytes into calls; offsets in errors are ``base_offset`` + position."""
    calls: list[Call] = []
    position = 0
    while position < len(packed):
        index = len(calls)
        at = base_offset + position
        if len(packed) - position < _HEADER:
            raise MultiSendDecodeError(at, f"transaction #{index}: {len(packed) - position} bytes left, a header needs {_HEADER}")
        operation = packed[position]
        if operation not in (0, 1):
            raise MultiSendDecodeError(at, f"transaction #{index}: operation byte {operation} is neither 0 (CALL) nor 1 (DELEGATECALL)")
        to = "0x" + packed[position + 1 : position + 21].hex()
        value = int.from_bytes(packed[position + 21 : position + 53], "big")
        data_length = int.from_bytes(packed[position + 53 : position + 85], "big")
        data_start = position + _HEADER
        if data_length > len(packed) - data_start:
            raise MultiSendDecodeError(
                at + 53, f"transaction #{index}: data length {data_length} runs past the end of the batch ({len(packed) - data_start} bytes left)"
            )
        calls.append(Call(to, value, packed[data_start : data_start + data_length], operation))
        position = data_start + data_length
    return calls
