"""Safe owner signatures: the three kinds guardian produces, recovery, dedupe and packing.

Each signature is 65 bytes ``r | s | v`` exactly as ``execTransaction`` reads it:

* ``eip712``: an ECDSA signature of the safeTxHash itself (v = 27 or 28). This is what a
  Ledger produces from the domain and message hashes.
* ``eth_sign``: an ECDSA signature of ``keccak("\\x19Ethereum Signed Message:\\n32" || safeTxHash)``;
  the Safe tells it apart by v + 4 (31 or 32). Only on explicit request, never as a fallback.
* ``approved_hash``: the owner called ``approveHash(safeTxHash)`` on chain (or is the
  executor); v = 1, r = the owner's address, s = 0. Offline there is nothing to check but the
  form: whether the approval exists is an on-chain question (``approvedHashes(owner, hash)``).

Contract signatures (v = 0, EIP-1271) are not supported. Safe 1.0.0 predates eth_sign
signatures: it ecrecovers v = 31/32 as is and refuses them (``kinds_for_version``).

``pack_signatures`` orders by owner address ascending, as the Safe requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from guardian.domain import secp256k1
from guardian.domain.values import keccak, parse_address, parse_bytes32, parse_hex, parse_timestamp, to_hex
from guardian.errors import DuplicateSignatureError, SignatureError

SIGNATURE_KINDS = ("eip712", "eth_sign", "approved_hash")
_V_BY_KIND = {"eip712": (27, 28), "eth_sign": (31, 32), "approved_hash": (1,)}
_ETH_SIGN_PREFIX = b"\x19Ethereum Signed Message:\n32"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def kinds_for_version(safe_version: str) -> tuple[str, ...]:
    """The signature kinds a Safe of this version accepts (1.0.0 has no eth_sign, checked on chain)."""
    return ("eip712", "approved_hash") if safe_version == "1.0.0" else SIGNATURE_KINDS


def check_kind_for_version(kind: str, safe_version: str, signer: str | None = None) -> None:
    """``SignatureError`` if a Safe of ``safe_version`` would refuse signatures of ``kind``."""
    if kind not in kinds_for_version(safe_version):
        raise SignatureError(signer, f"Safe {safe_version} does not accept {kind} signatures (it accepts {', '.join(kinds_for_version(safe_version))})")


def split_signature(signature: bytes) -> tuple[int, int, int]:
    """``(r, s, v)`` of a 65-byte signature."""
    signature = bytes(signature)
    if len(signature) != 65:
        raise SignatureError(None, f"must be 65 bytes (r, s, v), got {len(signature)}")
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]


def join_signature(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def kind_of(signature: bytes) -> str:
    """The kind a Safe would read from v; contract signatures (v = 0) are rejected."""
    _, _, v = split_signature(signature)
    for kind, allowed in _V_BY_KIND.items():
        if v in allowed:
            return kind
    if v == 0:
        raise SignatureError(None, "contract signatures (v = 0, EIP-1271) are not supported")
    raise SignatureError(None, f"v = {v} is not a Safe signature type (27/28 EIP-712, 31/32 eth_sign, 1 approved hash)")


def _check_form(kind: str, signature: bytes, signer: str | None = None) -> None:
    if kind not in _V_BY_KIND:
        raise SignatureError(signer, f"unknown kind {kind!r} (one of {', '.join(SIGNATURE_KINDS)})")
    r, s, v = split_signature(signature)
    if v not in _V_BY_KIND[kind]:
        raise SignatureError(signer, f"v = {v} does not match kind {kind} (expects {' or '.join(map(str, _V_BY_KIND[kind]))})")
    if kind == "approved_hash":
        if r >> 160 or s:
            raise SignatureError(signer, "an approved-hash signature has r = owner address (20 bytes) and s = 0")
    elif not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N):
        raise SignatureError(signer, "r and s must be in 1..secp256k1 order - 1")


def recover_signer(kind: str, signature: bytes, safe_tx_hash: bytes) -> str:
    """The owner address a Safe would derive from ``signature`` over ``safe_tx_hash``."""
    signature = bytes(signature)
    safe_tx_hash = parse_bytes32(safe_tx_hash, "safeTxHash")
    _check_form(kind, signature)
    r, s, v = split_signature(signature)
    if kind == "approved_hash":
        return parse_address(to_hex(r.to_bytes(20, "big")))
    if kind == "eip712":
        digest, recovery = safe_tx_hash, v - 27
    else:
        digest, recovery = keccak(_ETH_SIGN_PREFIX + safe_tx_hash), v - 31
    return secp256k1.recover_address(digest, r, s, recovery)


def approved_hash_signature(owner: str) -> bytes:
    """The 65-byte signature standing for an on-chain ``approveHash`` by ``owner`` (v = 1)."""
    return join_signature(int(parse_address(owner, "owner"), 16), 0, 1)


def eip712_signature(signature: bytes) -> bytes:
    """A raw ECDSA signature of the safeTxHash as the Safe wants it: v normalised to 27/28."""
    r, s, v = split_signature(signature)
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise SignatureError(None, f"v = {v} is not an ECDSA recovery id (0/1 or 27/28)")
    return join_signature(r, s, v)


def eth_sign_signature(signature: bytes) -> bytes:
    """A personal-message (eth_sign) signature of the safeTxHash, marked for the Safe with v + 4."""
    r, s, v = split_signature(eip712_signature(signature))
    return join_signature(r, s, v + 4)


@dataclass(frozen=True)
class SafeSignature:
    """One owner's signature, as stored in a proposal file.

    Construction checks the form (65 bytes, v matching ``kind``, r = signer for an approved
    hash); ``verify(safe_tx_hash)`` checks that it recovers to ``signer``.
    """

    signer: str
    kind: str
    signature: bytes
    created_at: str

    def __post_init__(self) -> None:
        signer = parse_address(self.signer, "signer")
        object.__setattr__(self, "signer", signer)
        object.__setattr__(self, "signature", parse_hex(self.signature, "signature"))
        _check_form(self.kind, self.signature, signer)
        if self.kind == "approved_hash" and recover_signer(self.kind, self.signature, b"\x00" * 32) != signer:
            raise SignatureError(signer, "approved-hash signature names a different owner in r")
        parse_timestamp(self.created_at, "created_at")

    @classmethod
    def create(cls, kind: str, signature: bytes, safe_tx_hash: bytes, created_at: str) -> "SafeSignature":
        """Build from a fresh signature: v is normalised for ``kind`` and the signer recovered."""
        if kind == "eip712":
            signature = eip712_signature(signature)
        elif kind == "eth_sign":
            r, s, v = split_signature(signature)
            signature = signature if v in (31, 32) else eth_sign_signature(signature)
        elif kind not in SIGNATURE_KINDS:
            raise SignatureError(None, f"unknown kind {kind!r} (one of {', '.join(SIGNATURE_KINDS)})")
        return cls(recover_signer(kind, signature, safe_tx_hash), kind, bytes(signature), created_at)

    @property
    def v(self) -> int:
        return self.signature[64]

    def recover(self, safe_tx_hash: bytes) -> str:
        return recover_signer(self.kind, self.signature, safe_tx_hash)

    def verify(self, safe_tx_hash: bytes) -> None:
        """Raise ``SignatureError`` unless this signature recovers to ``signer`` over ``safe_tx_hash``."""
        recovered = self.recover(safe_tx_hash)
        if recovered != self.signer:
            raise SignatureError(
                self.signer,
                f"recovers to {recovered}, not to its signer (signed a different transaction or edited)",
            )

    def to_dict(self) -> dict[str, str]:
        return {"signer": self.signer, "kind": self.kind, "signature": to_hex(self.signature), "created_at": self.created_at}


def signer_order(address: str) -> int:
    """Sort key of an owner: the Safe requires signatures by ascending address (as a number)."""
    return int(parse_address(address), 16)


def sort_signatures(signatures: Iterable[SafeSignature]) -> tuple[SafeSignature, ...]:
    return tuple(sorted(signatures, key=lambda sig: signer_order(sig.signer)))


def dedupe(signatures: Iterable[SafeSignature]) -> tuple[SafeSignature, ...]:
    """One signature per signer (the first seen wins), sorted by signer address."""
    kept: dict[str, SafeSignature] = {}
    for signature in signatures:
        kept.setdefault(signature.signer, signature)
    return sort_signatures(kept.values())


def add_signature(signatures: Iterable[SafeSignature], new: SafeSignature) -> tuple[SafeSignature, ...]:
    """``signatures`` plus ``new``; ``DuplicateSignatureError`` if that owner already signed."""
    signatures = tuple(signatures)
    if any(existing.signer == new.signer for existing in signatures):
        raise DuplicateSignatureError(new.signer)
    return sort_signatures(signatures + (new,))


def pack_signatures(signatures: Iterable[SafeSignature]) -> bytes:
    """The ``signatures`` argument of ``execTransaction``: 65 bytes each, ascending by owner."""
    ordered = sort_signatures(signatures)
    for before, after in zip(ordered, ordered[1:]):
        if before.signer == after.signer:
            raise DuplicateSignatureError(after.signer)
    return b"".join(sig.signature for sig in ordered)


def is_signature_kind(kind: object) -> bool:
    return kind in SIGNATURE_KINDS

