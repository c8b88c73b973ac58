"""The narrow signer interface, the ``--signer`` spec registry, and the local-key signers.

Every signer (Ledger, encrypted keystore, raw key) is opened lazily, returns plain values and
checks its own signature before handing it back::

    signer = open_signer("ledger:1", echo=click.echo)
    print(describe_hashes(domain_hash, message_hash, safe_tx_hash))   # BEFORE the device asks
    signature = signer.sign_safe_tx(domain_hash, message_hash, safe_tx_hash)  # 65 bytes r|s|v
    signer.close()

Signer specs (``SIGNER_SPEC_HELP``)::

    ledger                      Ledger Live account 0: 44'/60'/0'/0/0
    ledger:N                    Ledger Live account N: 44'/60'/N'/0/0
    ledger-legacy:N             legacy (Ledger Chrome app / MEW) account N: 44'/60'/0'/N
    ledger:m/44'/60'/0'/0/3     an explicit derivation path (the "m/" is optional)
    ledger:0xADDRESS            search the first accounts of both conventions for ADDRESS
    keystore:PATH               eth-account v3 JSON; password from prompt / file / env
    key:ENVVAR | key-file:PATH  raw private key, drills and tests only (needs allow_raw_key)

Signatures: EIP-712 (the Safe's default) come out with v = 27/28. The eth_sign form (v + 4,
over the EIP-191 personal message of the safeTxHash) is produced ONLY when
``eth_sign=True`` is asked; there is no silent fallback from one form to the other.

Nothing heavy is imported at module level. Local keys sign, and signatures are checked, with
``guardian.domain.secp256k1`` (coincurve) and raw transactions are built by
``guardian.domain.evm_tx``: a raw-key signer never imports eth_account or eth_keys (0.2-0.4 s
each). A keystore imports eth_account only to decrypt; a transaction dict ``evm_tx`` does not
cover is signed by eth_account as before; ledgereth is imported only for a Ledger.
"""

from __future__ import annotations

import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from guardian.errors import FileAccessError, KeystoreError, SignatureError, SignerError

Echo = Callable[[str], None]
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PasswordSource = Callable[[str], str]  # given the keystore path, returns its password

SIGNER_SPEC_HELP = (
    "ledger | ledger:N (Ledger Live account N) | ledger-legacy:N | ledger:m/44'/60'/0'/0/N | "
    "ledger:0xADDRESS | keystore:PATH | key:ENVVAR | key-file:PATH (raw keys need the opt-in flag)"
)


@runtime_checkable
class Signer(Protocol):
    """What guardian asks of any signer. Devices open lazily, on the first call that needs them."""

    description: str  # e.g. "ledger m/44'/60'/0'/0/0", "keystore bob.json"

    def address(self) -> str:
        """The checksummed address that signs."""

    def sign_safe_tx(
        self, domain_hash: bytes, message_hash: bytes, safe_tx_hash: bytes, *, eth_sign: bool = False
    ) -> bytes:
        """A 65-byte ``r|s|v`` Safe signature of ``safe_tx_hash``, checked to recover to ``address()``."""

    def sign_transaction(self, tx: dict) -> bytes:
        """A raw signed EVM transaction (web3-style dict: to, value, gas, nonce, data, chainId, fees)."""

    def close(self) -> None:
        """Release the device / forget the decrypted key."""


def echo_to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


# -- hashes: what to compare with the device screen ----------------------------------------------


def _keccak(data: bytes) -> bytes:
    from guardian.domain.values import keccak

    return keccak(data)


def as_hash(name: str, value: bytes | str) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise SignerError("input", f"{name} is not hex: {value!r}") from None
    if len(value) != 32:
        raise SignerError("input", f"{name} must be 32 bytes, got {len(value)}")
    return bytes(value)


def check_safe_tx_hash(domain_hash: bytes, message_hash: bytes, safe_tx_hash: bytes) -> None:
    """Refuse hashes that do not compose: safeTxHash = keccak256(0x1901 || domain || message)."""
    if _keccak(b"\x19\x01" + domain_hash + message_hash) != safe_tx_hash:
        raise SignerError(
            "input",
            f"safeTxHash 0x{safe_tx_hash.hex()} is not keccak256(0x1901 || domain hash || message hash)",
            advice="the proposal's hashes are inconsistent; rebuild or re-verify it before signing",
        )


def device_form(digest: bytes) -> str:
    """A hash as the Ethereum app shows it ("0x" + upper-case hex), in 4 lines of 16 digits."""
    text = digest.hex().upper()
    return "0x" + " ".join(text[i : i + 16] for i in range(0, len(text), 16))


def describe_hashes(domain_hash: bytes, message_hash: bytes, safe_tx_hash: bytes) -> str:
    """Text to print before any device signs: the hashes a guardian compares with the screen."""
    domain_hash = as_hash("domain hash", domain_hash)
    message_hash = as_hash("message hash", message_hash)
    safe_tx_hash = as_hash("safeTxHash", safe_tx_hash)
    return "\n".join(
        [
            "Compare with the device before approving (Ledger: 'Sign typed message'):",
            f"  Domain hash   0x{domain_hash.hex()}",
            f"     on device  {device_form(domain_hash)}",
            f"  Message hash  0x{message_hash.hex()}",
            f"     on device  {device_form(message_hash)}",
            f"  safeTxHash    0x{safe_tx_hash.hex()}  (= keccak256(0x1901 || domain || message))",
        ]
    )


# -- self-verification ---------------------------------------------------------------------------


def personal_message_hash(message: bytes) -> bytes:
    """The EIP-191 ``personal_sign`` hash the Safe checks for an eth_sign signature (v > 30)."""
    return _keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode("ascii") + message)


def recover_safe_signer(safe_tx_hash: bytes, signature: bytes) -> str:
    """Recover the owner of an EIP-712 (v 27/28) or eth_sign (v 31/32) Safe signature."""
    from guardian.domain import secp256k1

    if len(signature) != 65:
        raise SignatureError(None, f"expected 65 bytes, got {len(signature)}")
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    if v in (27, 28):
        digest = safe_tx_hash
    elif v in (31, 32):
        digest, v = personal_message_hash(safe_tx_hash), v - 4
    else:
        raise SignatureError(None, f"v = {v} is neither EIP-712 (27/28) nor eth_sign (31/32)")
    return secp256k1.recover_address(digest, r, s, v - 27)


def verify_own_signature(signer: str, expected: str, safe_tx_hash: bytes, signature: bytes, eth_sign: bool) -> bytes:
    """Return ``signature`` if it has the asked form and recovers to ``expected``; raise otherwise."""
    v = signature[64] if len(signature) == 65 else None
    wanted = (31, 32) if eth_sign else (27, 28)
    if v not in wanted:
        raise SignatureError(signer, f"v = {v}, expected {wanted[0]}/{wanted[1]}; refusing it")
    recovered = recover_safe_signer(safe_tx_hash, signature)
    if recovered.lower() != expected.lower():
        raise SignatureError(signer, f"recovers to {recovered}, not to the signer's address {expected}")
    return signature


def verify_own_transaction(signer: str, expected: str, raw: bytes) -> bytes:
    """Return ``raw`` if the signed transaction's sender is ``expected``."""
    from guardian.domain.evm_tx import recover_sender

    sender = recover_sender(raw)
    if sender is None:  # a transaction type evm_tx does not read
        from eth_account import Account

        sender = Account.recover_transaction(raw)
    if sender.lower() != expected.lower():
        raise SignatureError(signer, f"signed transaction's sender is {sender}, not {expected}")
    return raw


# -- passwords -------------------------------------------------------------------------------


def prompt_password(keystore: str) -> str:
    """Ask on the terminal, without echo."""
    try:
        return getpass.getpass(f"Password for keystore {keystore}: ")
    except EOFError:
        raise KeystoreError(keystore, "no password given (no terminal to prompt on)", advice="use --password-file or --password-env") from None


def password_from_file(path: str | os.PathLike) -> PasswordSource:
    """Read the password from a file (trailing newline stripped). For drills."""

    def read(keystore: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise FileAccessError("password", path, f"cannot be read: {error.strerror}") from error

    return read


def password_from_env(name: str) -> PasswordSource:
    """Take the password from an environment variable. For drills."""

    def read(keystore: str) -> str:
        if name not in os.environ:
            raise KeystoreError(keystore, f"environment variable {name} is not set")
        return os.environ[name]

    return read


def password_source(file: str | None = None, env: str | None = None) -> PasswordSource:
    """The password source the CLI options ask for: a file, an env var, or else a prompt."""
    if file and env:
        raise SignerError("password", "give --password-file or --password-env, not both")
    if file:
        return password_from_file(file)
    if env:
        return password_from_env(env)
    return prompt_password


# -- local-key signers ---------------------------------------------------------------------------


class _LocalKeySigner:
    """Signs with a secp256k1 key held in memory; subclasses say where the key comes from."""

    description: str

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._address: str | None = None

    def _load_key(self) -> bytes:
        raise NotImplementedError

    def _private_key(self) -> bytes:
        if self._key is None:
            self._key = self._load_key()
        return self._key

    def address(self) -> str:
        from guardian.domain import secp256k1

        key = self._private_key()
        if self._address is None:
            self._address = secp256k1.address_of(key)
        return self._address

    def sign_safe_tx(
        self, domain_hash: bytes, message_hash: bytes, safe_tx_hash: bytes, *, eth_sign: bool = False
    ) -> bytes:
        domain_hash, message_hash = as_hash("domain hash", domain_hash), as_hash("message hash", message_hash)
        safe_tx_hash = as_hash("safeTxHash", safe_tx_hash)
        check_safe_tx_hash(domain_hash, message_hash, safe_tx_hash)
        from guardian.domain import secp256k1

        digest = personal_message_hash(safe_tx_hash) if eth_sign else safe_tx_hash
        r, s, recovery_id = secp256k1.sign_hash(self._private_key(), digest)
        v = 27 + recovery_id + (4 if eth_sign else 0)
        packed = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
        return verify_own_signature(self.description, self.address(), safe_tx_hash, packed, eth_sign)

    def sign_transaction(self, tx: dict) -> bytes:
        from guardian.domain.evm_tx import EvmTransaction

        tx = {k: v for k, v in tx.items() if k != "from"}
        transaction = EvmTransaction.from_dict(tx)
        if transaction is not None:
            raw = transaction.sign(self._private_key())
        else:  # a form evm_tx does not cover (typed, access list, hex-string fields...): as before
            from eth_account import Account

            raw = bytes(Account.sign_transaction(tx, self._private_key()).raw_transaction)
        return verify_own_transaction(self.description, self.address(), raw)

    def close(self) -> None:
        self._key = None
        self._address = None

    def __repr__(self) -> str:  # never show the key
        return f"<{type(self).__name__} {self.description}>"


class KeystoreSigner(_LocalKeySigner):
    """An eth-account v3 JSON keystore; decrypted on first use, with a password from ``password``."""

    def __init__(self, path: str, password: PasswordSource = prompt_password):
        super().__init__()
        self.path = path
        self.description = f"keystore {path}"
        self._password = password
        try:
            self._keyfile = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise KeystoreError(path, f"cannot be read: {error.strerror}") from error
        except ValueError as error:
            raise KeystoreError(path, "is not JSON") from error
        if not isinstance(self._keyfile, dict) or "crypto" not in {k.lower() for k in self._keyfile}:
            raise KeystoreError(path, "is not an eth-account v3 keystore (no 'crypto' section)")

    def address(self) -> str:
        stated = self._keyfile.get("address")
        if self._key is None and isinstance(stated, str) and len(stated.removeprefix("0x")) == 40:
            from guardian.domain.values import checksum_address

            return checksum_address(bytes.fromhex(stated.removeprefix("0x")))
        return super().address()

    def _load_key(self) -> bytes:
        from eth_account import Account

        password = self._password(self.path)
        try:
            key = bytes(Account.decrypt(self._keyfile, password))
        except ValueError as error:
            if "MAC mismatch" in str(error):
                raise KeystoreError(self.path, "wrong password", advice="nothing was signed") from None
            raise KeystoreError(self.path, f"cannot be decrypted: {error}") from None
        stated = self._keyfile.get("address")
        if isinstance(stated, str):
            from guardian.domain import secp256k1

            actual = secp256k1.address_of(key)
            if actual.lower() != "0x" + stated.lower().removeprefix("0x"):
                raise KeystoreError(self.path, f"decrypts to {actual}, but says it is 0x{stated.removeprefix('0x')}")
        return key


class RawKeySigner(_LocalKeySigner):
    """A raw hex private key from an env var or a file. Drills and tests only."""

    def __init__(self, source: str, read: Callable[[], str]):
        super().__init__()
        self.description = f"raw key from {source}"
        self._read = read

    def _load_key(self) -> bytes:
        text = self._read().strip()
        text = text[2:] if text.startswith(("0x", "0X")) else text
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != 32 or not 0 < int.from_bytes(key, "big") < SECP256K1_N:
            # never echo the content: it may be (most of) a real key
            raise SignerError(self.description, "does not hold a 32-byte hex private key")
        return key


# -- the registry -------------------------------------------------------------------------------


def _open_ledger(kind: str, argument: str, **options: Any) -> Signer:
    ledger = importlib.import_module("guardian.adapters.ledger")
    return ledger.open_ledger_signer(kind, argument, dongle=options.get("dongle"), echo=options["echo"])


def _open_keystore(kind: str, argument: str, **options: Any) -> Signer:
    if not argument:
        raise SignerError(f"{kind}:", "needs a path, e.g. keystore:~/keys/bob.json")
    return KeystoreSigner(os.path.expanduser(argument), options["password_source"] or prompt_password)


def _open_raw_key(kind: str, argument: str, **options: Any) -> Signer:
    spec = f"{kind}:{argument}"
    if not options["allow_raw_key"]:
        raise SignerError(
            spec,
            "raw private keys are for drills and tests only",
            advice="pass --allow-raw-key to opt in, or use a Ledger or a keystore",
        )
    if not argument:
        raise SignerError(spec, "needs an environment variable name or a file path")
    if kind == "key":
        if argument not in os.environ:
            raise SignerError(spec, f"environment variable {argument} is not set")
        source, read = f"${argument}", lambda: os.environ[argument]
    else:
        path = Path(os.path.expanduser(argument))

        def read() -> str:
            try:
                return path.read_text(encoding="utf-8")
            except OSError as error:
                raise FileAccessError("private key", path, f"cannot be read: {error.strerror}") from error

        source = str(path)
    options["echo"](
        f"WARNING: signing with a raw private key from {source}. Drills and tests only: "
        "anyone who can read it controls this owner."
    )
    return RawKeySigner(source, read)


# scheme -> opener(kind, argument, **options); the Ledger adapter is imported only when used.
SIGNER_KINDS: dict[str, Callable[..., Signer]] = {
    "ledger": _open_ledger,
    "ledger-legacy": _open_ledger,
    "keystore": _open_keystore,
    "key": _open_raw_key,
    "key-file": _open_raw_key,
}


def open_signer(
    spec: str,
    *,
    password_source: PasswordSource | None = None,
    allow_raw_key: bool = False,
    echo: Echo = echo_to_stderr,
    dongle: Any = None,
) -> Signer:
    """Open the signer named by ``spec`` (see ``SIGNER_SPEC_HELP``). Devices open lazily.

    ``password_source`` feeds keystores (default: a terminal prompt); ``allow_raw_key`` is the
    explicit opt-in for ``key:`` / ``key-file:``; ``echo`` receives warnings and device
    prompts (stderr by default); ``dongle`` injects a Ledger transport (tests).
    """
    kind, _, argument = spec.strip().partition(":")
    if kind not in SIGNER_KINDS:
        raise SignerError(spec, f"unknown kind {kind!r}", advice=f"use one of: {SIGNER_SPEC_HELP}")
    return SIGNER_KINDS[kind](
        kind, argument, password_source=password_source, allow_raw_key=allow_raw_key, echo=echo, dongle=dongle
    )
