"""The Safe transaction and its EIP-712 hashes, pure and offline.

``hash_safe_tx`` never touches a network: chain id, nonce and Safe version are fields of the
``SafeTx`` and must be given explicitly (safe-eth-py's ``SafeTx`` reads chain id and nonce over
RPC behind cached properties, which is why guardian does not hash with it).

How the hashes differ by version (checked against each singleton's ``getTransactionHash`` on
anvil in ``tests/functional/test_hash_onchain.py``):

* 1.0.0 and 1.1.1: the EIP-712 domain is ``EIP712Domain(address verifyingContract)``; there
  is no chain id in the domain, so a signature is valid on every chain where the Safe exists.
* 1.3.0, 1.4.1, 1.5.0: ``EIP712Domain(uint256 chainId,address verifyingContract)``.
* The SafeTx type string names the sixth field ``baseGas`` in every supported version. The
  older name ``dataGas`` belongs to the 0.x contracts only: the 1.0.0 bytecode that
  safe-eth-py ships (VERSION "1.0.0") embeds the ``baseGas`` type hash
  0xbb8310d4..., not the ``dataGas`` one 0x14d461bc....

    safeTxHash = keccak256(0x19 || 0x01 || domainHash || messageHash)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from guardian.domain.values import (
    UINT256_MAX,
    ZERO_ADDRESS,
    keccak,
    parse_address,
    parse_uint,
    to_hex,
)
from guardian.errors import InputError, UnsupportedSafeVersionError

SUPPORTED_SAFE_VERSIONS = ("1.0.0", "1.1.1", "1.3.0", "1.4.1", "1.5.0")

DOMAIN_TYPE_WITHOUT_CHAIN_ID = "EIP712Domain(address verifyingContract)"
DOMAIN_TYPE_WITH_CHAIN_ID = "EIP712Domain(uint256 chainId,address verifyingContract)"
SAFE_TX_TYPE = (
    "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)

# version -> (domain type string, SafeTx type string)
_TYPES = {
    "1.0.0": (DOMAIN_TYPE_WITHOUT_CHAIN_ID, SAFE_TX_TYPE),
    "1.1.1": (DOMAIN_TYPE_WITHOUT_CHAIN_ID, SAFE_TX_TYPE),
    "1.3.0": (DOMAIN_TYPE_WITH_CHAIN_ID, SAFE_TX_TYPE),
    "1.4.1": (DOMAIN_TYPE_WITH_CHAIN_ID, SAFE_TX_TYPE),
    "1.5.0": (DOMAIN_TYPE_WITH_CHAIN_ID, SAFE_TX_TYPE),
}


class Operation(IntEnum):
    CALL = 0
    DELEGATECALL = 1


def check_safe_version(version: object) -> str:
    """The version text if guardian hashes it exactly, else ``UnsupportedSafeVersionError``."""
    if version not in _TYPES:
        raise UnsupportedSafeVersionError(version)
    return version  # type: ignore[return-value]


def domain_has_chain_id(version: str) -> bool:
    """Whether the EIP-712 domain of this Safe version includes the chain id (1.3.0+)."""
    return _TYPES[check_safe_version(version)][0] == DOMAIN_TYPE_WITH_CHAIN_ID


@dataclass(frozen=True)
class SafeTx:
    """All fields that a Safe owner signs, plus where (safe, chain id, version).

    Construction validates and normalises: addresses become EIP-55 checksummed, integers must
    fit uint256 (operation: 0 or 1). ``data`` is ``bytes``.
    """

    safe: str
    chain_id: int
    safe_version: str
    to: str
    value: int
    data: bytes
    operation: int
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS
    nonce: int = 0

    def __post_init__(self) -> None:
        check_safe_version(self.safe_version)
        set_ = object.__setattr__
        set_(self, "safe", parse_address(self.safe, "safe"))
        set_(self, "to", parse_address(self.to, "to"))
        set_(self, "gas_token", parse_address(self.gas_token, "gas_token"))
        set_(self, "refund_receiver", parse_address(self.refund_receiver, "refund_receiver"))
        for name in ("chain_id", "value", "safe_tx_gas", "base_gas", "gas_price", "nonce"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InputError(name, value, "must be an int")
            set_(self, name, parse_uint(value, name))
        if self.chain_id == 0:
            raise InputError("chain_id", 0, "must be positive")
        if not isinstance(self.data, (bytes, bytearray)):
            raise InputError("data", self.data, "must be bytes")
        set_(self, "data", bytes(self.data))
        if isinstance(self.operation, bool) or self.operation not in (0, 1):
            raise InputError("operation", self.operation, "must be 0 (CALL) or 1 (DELEGATECALL)")
        set_(self, "operation", int(self.operation))

    @property
    def is_delegatecall(self) -> bool:
        return self.operation == Operation.DELEGATECALL


@dataclass(frozen=True)
class SafeTxHashes:
    """The three hashes a guardian compares: the device shows domain and message hash."""

    domain_hash: bytes
    message_hash: bytes
    safe_tx_hash: bytes

    def as_hex(self) -> dict[str, str]:
        """``{"domain_hash": "0x..", "message_hash": "0x..", "safe_tx_hash": "0x.."}``, lower-case."""
        return {
            "domain_hash": to_hex(self.domain_hash),
            "message_hash": to_hex(self.message_hash),
            "safe_tx_hash": to_hex(self.safe_tx_hash),
        }


def _word(value: int) -> bytes:
    if not 0 <= value <= UINT256_MAX:  # SafeTx validated already; this guards direct callers
        raise InputError("uint256", value, "out of range")
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return b"\x00" * 12 + bytes.fromhex(address[2:])


def domain_hash(safe: str, chain_id: int, safe_version: str) -> bytes:
    """EIP-712 domain separator of the Safe at ``safe`` (chain id ignored before 1.3.0)."""
    domain_type, _ = _TYPES[check_safe_version(safe_version)]
    encoded = keccak(domain_type.encode())
    if domain_type == DOMAIN_TYPE_WITH_CHAIN_ID:
        encoded += _word(chain_id)
    encoded += _address_word(parse_address(safe, "safe"))
    return keccak(encoded)


def safe_tx_typehash(safe_version: str) -> bytes:
    return keccak(_TYPES[check_safe_version(safe_version)][1].encode())


def message_hash(tx: SafeTx) -> bytes:
    """EIP-712 struct hash of the SafeTx (``encodeTransactionData`` without prefix and domain)."""
    return keccak(
        safe_tx_typehash(tx.safe_version)
        + _address_word(tx.to)
        + _word(tx.value)
        + keccak(tx.data)
        + _word(tx.operation)
        + _word(tx.safe_tx_gas)
        + _word(tx.base_gas)
        + _word(tx.gas_price)
        + _address_word(tx.gas_token)
        + _address_word(tx.refund_receiver)
        + _word(tx.nonce)
    )


def hash_safe_tx(tx: SafeTx) -> SafeTxHashes:
    """Domain hash, message hash and safeTxHash of ``tx``: exact for every supported version."""
    check_safe_version(tx.safe_version)
    domain = domain_hash(tx.safe, tx.chain_id, tx.safe_version)
    message = message_hash(tx)
    return SafeTxHashes(domain, message, keccak(b"\x19\x01" + domain + message))
