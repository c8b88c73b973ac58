"""Raw EVM transactions: RLP, EIP-155 legacy and EIP-1559 (type 2) transactions, signed locally.

    tx = EvmTransaction.from_dict({"to": "0x...", "value": 0, "data": b"...", "gas": 90000,
                                   "nonce": 7, "chainId": 1, "maxFeePerGas": ..., "maxPriorityFeePerGas": ...})
    raw = tx.sign(private_key)            # bytes for eth_sendRawTransaction
    recover_sender(raw)                   # -> "0x..." (checksummed), None for other tx types

Why it exists: a raw-key or keystore signer executing a Safe transaction needs one signed
transaction, and ``eth_account`` costs about 0.25-0.4 s to import for it.

``from_dict`` takes the web3-style dict guardian builds and returns ``None`` for anything it
does not cover, so that the caller hands that dict to ``eth_account`` unchanged. Covered:

* EIP-1559 (no ``type`` key, ``maxFeePerGas`` and ``maxPriorityFeePerGas``): ``chainId``,
  ``nonce``, ``gas``, both fees; optional ``value``, ``data``, an empty ``accessList``;
* legacy with EIP-155 replay protection (``gasPrice`` and a ``chainId``);
* ``to`` a checksummed address (as eth_account demands), ``data`` bytes, ints as Python ints
  in 0..2**256-1.

The encoding is the one ``eth_account.Account.sign_transaction`` produces, byte for byte (the
tests compare them on random transactions); signing is ``secp256k1.sign_hash``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Union

from guardian.domain import secp256k1
from guardian.domain.values import checksum_address, keccak
from guardian.errors import SignatureError

Rlp = Union[bytes, list]  # an RLP item: a byte string or a list of items

_UINT256_LIMIT = 1 << 256
_CHECKSUMMED = re.compile(r"0x[0-9a-fA-F]{40}")
_LEGACY_KEYS = {"nonce", "gasPrice", "gas", "to", "value", "data", "chainId"}
_DYNAMIC_FEE_KEYS = {"chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value", "data", "accessList"}


# --------------------------------------------------------------------------- RLP


def _length_prefix(length: int, short: int) -> bytes:
    if length <= 55:
        return bytes([short + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([short + 55 + len(size)]) + size


def rlp_encode(item: "Rlp | int") -> bytes:
    """RLP of a byte string, a non-negative int (minimal big-endian) or a nested list of those."""
    if isinstance(item, int) and not isinstance(item, bool):
        if item < 0:
            raise ValueError("RLP cannot encode a negative integer")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item)
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    if isinstance(item, (list, tuple)):
        payload = b"".join(rlp_encode(element) for element in item)
        return _length_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"RLP cannot encode {type(item).__name__}")


def _rlp_item(data: bytes, position: int) -> tuple[Rlp, int]:
    """The item starting at ``position`` and the position after it; canonical forms only."""
    if position >= len(data):
        raise ValueError("truncated")
    first = data[position]
    if first < 0x80:
        return data[position : position + 1], position + 1
    is_list = first >= 0xC0
    short = 0xC0 if is_list else 0x80
    if first - short <= 55:
        length, start = first - short, position + 1
    else:
        size = first - short - 55
        start = position + 1 + size
        if start > len(data) or data[position + 1] == 0:
            raise ValueError("bad length prefix")
        length = int.from_bytes(data[position + 1 : start], "big")
        if length <= 55:
            raise ValueError("long form used for a short item")
    end = start + length
    if end > len(data):
        raise ValueError("truncated")
    if not is_list:
        if length == 1 and data[start] < 0x80:
            raise ValueError("single byte below 0x80 must not be prefixed")
        return data[start:end], end
    items, cursor = [], start
    while cursor < end:
        item, cursor = _rlp_item(data, cursor)
        items.append(item)
    if cursor != end:
        raise ValueError("list payload overruns its length")
    return items, end


def rlp_decode(data: bytes) -> Rlp:
    """The one item ``data`` encodes; ``ValueError`` if it is malformed or followed by more bytes."""
    item, end = _rlp_item(bytes(data), 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} trailing bytes")
    return item


def _rlp_int(item: Rlp) -> int:
    if not isinstance(item, bytes) or item[:1] == b"\x00":
        raise ValueError("not a canonical integer")
    return int.from_bytes(item, "big")


# --------------------------------------------------------------------------- transactions


def _uint(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _UINT256_LIMIT:
        return value
    return None


@dataclass(frozen=True)
class EvmTransaction:
    """An unsigned transaction: ``kind`` 2 (EIP-1559) or 0 (legacy, EIP-155)."""

    kind: int
    chain_id: int
    nonce: int
    gas: int
    to: bytes  # 20 bytes
    value: int
    data: bytes
    gas_price: int = 0  # legacy
    max_fee_per_gas: int = 0  # EIP-1559
    max_priority_fee_per_gas: int = 0  # EIP-1559

    @classmethod
    def from_dict(cls, tx: Mapping[str, Any]) -> "EvmTransaction | None":
        """The transaction a web3-style dict describes, or None if it is not a form covered here."""
        keys = set(tx)
        if "type" in keys:
            return None
        dynamic_fee = "maxFeePerGas" in keys or "maxPriorityFeePerGas" in keys
        allowed, required = (
            (_DYNAMIC_FEE_KEYS, {"chainId", "nonce", "gas", "maxFeePerGas", "maxPriorityFeePerGas", "to"})
            if dynamic_fee
            else (_LEGACY_KEYS, {"chainId", "nonce", "gas", "gasPrice", "to"})
        )
        if not required <= keys <= allowed:
            return None
        to = tx["to"]
        if not isinstance(to, str) or not _CHECKSUMMED.fullmatch(to) or checksum_address(bytes.fromhex(to[2:])) != to:
            return None
        data = tx.get("data", b"")
        if not isinstance(data, (bytes, bytearray)):
            return None
        if dynamic_fee and tx.get("accessList", ()) not in ([], ()):
            return None
        fee_names = ("maxFeePerGas", "maxPriorityFeePerGas") if dynamic_fee else ("gasPrice",)
        numbers = {name: _uint(tx.get(name, 0)) for name in ("chainId", "nonce", "gas", "value", *fee_names)}
        if any(number is None for number in numbers.values()):
            return None
        common = dict(
            chain_id=numbers["chainId"], nonce=numbers["nonce"], gas=numbers["gas"],
            to=bytes.fromhex(to[2:]), value=numbers["value"], data=bytes(data),
        )  # fmt: skip
        if dynamic_fee:
            return cls(2, max_fee_per_gas=numbers["maxFeePerGas"], max_priority_fee_per_gas=numbers["maxPriorityFeePerGas"], **common)
        return cls(0, gas_price=numbers["gasPrice"], **common)

    def _fields(self) -> list:
        if self.kind == 2:
            return [
                self.chain_id, self.nonce, self.max_priority_fee_per_gas, self.max_fee_per_gas,
                self.gas, self.to, self.value, self.data, [],
            ]  # fmt: skip
        return [self.nonce, self.gas_price, self.gas, self.to, self.value, self.data]

    def signing_hash(self) -> bytes:
        """What the sender signs: keccak of the unsigned payload (with the chain id for EIP-155)."""
        if self.kind == 2:
            return keccak(b"\x02" + rlp_encode(self._fields()))
        return keccak(rlp_encode([*self._fields(), self.chain_id, 0, 0]))

    def encode_signed(self, r: int, s: int, recovery_id: int) -> bytes:
        """The raw signed transaction for ``eth_sendRawTransaction``."""
        if self.kind == 2:
            return b"\x02" + rlp_encode([*self._fields(), recovery_id, r, s])
        return rlp_encode([*self._fields(), recovery_id + 35 + 2 * self.chain_id, r, s])

    def sign(self, private_key: bytes) -> bytes:
        r, s, recovery_id = secp256k1.sign_hash(private_key, self.signing_hash())
        return self.encode_signed(r, s, recovery_id)


def recover_sender(raw: bytes) -> str | None:
    """The checksummed sender of a signed legacy or EIP-1559 transaction; None for other types.

    ``SignatureError`` if ``raw`` is malformed or its signature does not recover.
    """
    raw = bytes(raw)
    if not raw:
        raise SignatureError(None, "empty transaction")
    if raw[0] < 0xC0 and raw[0] != 2:
        return None  # another typed transaction (access list, blob, set-code): not read here
    try:
        if raw[0] == 2:
            fields = rlp_decode(raw[1:])
            if not isinstance(fields, list) or len(fields) != 12:
                raise ValueError("an EIP-1559 transaction has 12 fields")
            recovery_id, r, s = (_rlp_int(item) for item in fields[9:])
            digest = keccak(b"\x02" + rlp_encode(fields[:9]))
        else:
            fields = rlp_decode(raw)
            if not isinstance(fields, list) or len(fields) != 9:
                raise ValueError("a legacy transaction has 9 fields")
            v, r, s = (_rlp_int(item) for item in fields[6:])
            if v in (27, 28):
                digest, recovery_id = keccak(rlp_encode(fields[:6])), v - 27
            elif v >= 35:
                chain_id, recovery_id = divmod(v - 35, 2)
                digest = keccak(rlp_encode([*fields[:6], chain_id, 0, 0]))
            else:
                raise ValueError(f"v = {v} is neither 27/28 nor EIP-155")
    except ValueError as error:
        raise SignatureError(None, f"malformed signed transaction: {error}") from None
    return secp256k1.recover_address(digest, r, s, recovery_id)
