"""ECDSA over secp256k1, the way Ethereum uses it: sign a 32-byte hash, recover the signer.

    r, s, recovery_id = sign_hash(private_key, digest)   # RFC 6979 deterministic, low s
    recover_address(digest, r, s, recovery_id)           # -> "0x70997970C5...", EIP-55
    address_of(private_key)                              # -> the key's address

The curve arithmetic is libsecp256k1 through ``coincurve`` (pure computation, no I/O), the
address is ``keccak(public key)[-20:]`` checksummed with ``values.checksum_address``. This
replaces ``eth_keys`` on guardian's hot path: eth_keys imports eth_utils (and pydantic), about
0.2 s per command; coincurve takes about 15 ms and is imported inside the functions.

Results are those of eth_keys (the tests compare them on random keys and hashes, against its
pure-Python backend): the same deterministic nonce (RFC 6979, HMAC-SHA256), s normalised to
the lower half of the order (and the recovery id flipped with it), and recovery that accepts
any s in 1..n-1 as ecrecover does. Failures are ``SignatureError``.
"""

from __future__ import annotations

from guardian.domain.values import checksum_address, keccak
from guardian.errors import SignatureError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # order of the group


def _check_hash(digest: bytes) -> bytes:
    digest = bytes(digest)
    if len(digest) != 32:
        raise SignatureError(None, f"the signed hash must be 32 bytes, got {len(digest)}")
    return digest


def _check_key(private_key: bytes) -> bytes:
    private_key = bytes(private_key)
    if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < N:
        # never echo the key
        raise SignatureError(None, "a private key must be 32 bytes, between 1 and the curve order - 1")
    return private_key


def public_key_of(private_key: bytes) -> bytes:
    """The 64-byte uncompressed public key (x || y, without the 0x04 prefix)."""
    from coincurve import PrivateKey

    return PrivateKey(_check_key(private_key)).public_key.format(compressed=False)[1:]


def address_of_public_key(public_key: bytes) -> str:
    """The checksummed address of a 64-byte public key."""
    if len(public_key) != 64:
        raise SignatureError(None, f"a public key must be 64 bytes, got {len(public_key)}")
    return checksum_address(keccak(public_key)[-20:])


def address_of(private_key: bytes) -> str:
    """The checksummed address of a private key."""
    return address_of_public_key(public_key_of(private_key))


def sign_hash(private_key: bytes, digest: bytes) -> tuple[int, int, int]:
    """``(r, s, recovery_id)`` of ``digest`` (signed as is, not hashed again); recovery_id is 0 or 1."""
    from coincurve import PrivateKey

    signature = PrivateKey(_check_key(private_key)).sign_recoverable(_check_hash(digest), hasher=None)
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]


def recover_public_key(digest: bytes, r: int, s: int, recovery_id: int) -> bytes:
    """The 64-byte public key that signed ``digest`` with ``(r, s, recovery_id)``."""
    from coincurve import PublicKey

    digest = _check_hash(digest)
    if recovery_id not in (0, 1):
        raise SignatureError(None, f"recovery id {recovery_id} is not 0 or 1")
    if not (0 < r < N and 0 < s < N):
        raise SignatureError(None, "r and s must be in 1..secp256k1 order - 1")
    compact = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recovery_id])
    try:
        public_key = PublicKey.from_signature_and_message(compact, digest, hasher=None)
    except Exception as error:  # coincurve raises a bare Exception when no key recovers
        raise SignatureError(None, f"does not recover to any address ({error})") from None
    return public_key.format(compressed=False)[1:]


def recover_address(digest: bytes, r: int, s: int, recovery_id: int) -> str:
    """The checksummed address that signed ``digest`` with ``(r, s, recovery_id)``."""
    return address_of_public_key(recover_public_key(digest, r, s, recovery_id))
