"""Ledger signer through ledgereth 0.10.0's real code, with device states as guardian errors.

Pitfalls of ledgereth this module avoids:

* every call passes ``dongle=``: a call without it uses ledgereth's module-level
  ``DONGLE_CACHE``, closes that dongle at the end but leaves it cached (the next call then
  talks to a closed dongle), and ``DONGLE_CONFIG_CACHE`` is never reset;
* the dongle is opened lazily (on the first call that needs the device), never in
  ``__init__``; ``open_dongle`` reads ``LEDGER_PROXY_ADDRESS`` / ``LEDGER_PROXY_PORT`` when it
  is called (``ledgerblue.comm`` only reads them once, at import) and then uses ledgerblue's
  own TCP transport (Speculos framing), else ``ledgerblue.comm.getDongle()`` (USB HID);
* EIP-712 hashes are passed as bytes (a str would be sent as its text);
* status words ledgereth leaves unmapped (0x5515 locked, 0x6E00 / 0x6511 / 0x650F app not
  open, 0x6A80 blind signing off) are mapped here, at the adapter edge, ``raise ... from``.

Paths are written like ledgereth wants them (``44'/60'/0'/0/0``) and shown with ``m/``.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from guardian.adapters.signers import (
    Echo,
    as_hash,
    echo_to_stderr,
    check_safe_tx_hash,
    verify_own_signature,
    verify_own_transaction,
)
from guardian.errors import (
    InputError,
    LedgerAppNotOpenError,
    LedgerBlindSigningError,
    LedgerError,
    LedgerLockedError,
    LedgerNotConnectedError,
    LedgerRejectedError,
    SignerError,
)

LEDGER_LIVE_TEMPLATE = "44'/60'/{index}'/0/0"
LEGACY_TEMPLATE = "44'/60'/0'/{index}"
SEARCH_DEPTH = 10  # accounts per convention searched for ``ledger:0xADDRESS``

LOCKED_STATUS = {0x5515, 0x6982, 0x6B0C}  # 0x5515 current firmware; 0x6982 / 0x6B0C older ones
APP_NOT_OPEN_STATUS = {0x6E00, 0x6E01, 0x6511, 0x650F, 0x6D00, 0x6D02, 0x6804}
REJECTED_STATUS = 0x6985
INVALID_DATA_STATUS = 0x6A80
_PATH_PATTERN = re.compile(r"^44'/60'/[0-9]+'/[0-9]+(/[0-9]+)?$")  # what ledgereth accepts


# -- paths -------------------------------------------------------------------------------------


def ledger_live_path(index: int) -> str:
    """Ledger Live's account ``index``: 44'/60'/index'/0/0."""
    return LEDGER_LIVE_TEMPLATE.format(index=index)


def legacy_path(index: int) -> str:
    """The legacy (Ledger Chrome app, MEW) account ``index``: 44'/60'/0'/index."""
    return LEGACY_TEMPLATE.format(index=index)


def normalize_path(text: str) -> str:
    """``m/44'/60'/0'/0/3`` or ``44h/60h/0h/0/3`` -> ``44'/60'/0'/0/3``; refuse other shapes."""
    path = text.strip()
    path = path[2:] if path[:2] in ("m/", "M/") else path
    path = re.sub(r"(?<=\d)[hH]", "'", path)
    if not _PATH_PATTERN.match(path):
        raise InputError(
            "derivation path", text, "expected m/44'/60'/A'/B/C (Ledger Live style) or m/44'/60'/A'/B (legacy)"
        )
    return path


def display_path(path: str) -> str:
    return "m/" + path


def paths_from_template(template: str, count: int, start: int = 0) -> list[str]:
    """``count`` paths from a template holding ``{index}`` (or ``{}``), validated."""
    if "{index}" not in template and "{}" not in template:
        raise InputError("path template", template, "must contain {index}")
    return [normalize_path(template.replace("{}", "{index}").format(index=i)) for i in range(start, start + count)]


# -- error translation ---------------------------------------------------------------------------


def error_for_status(status_word: int | None, operation: str) -> LedgerError:
    """The guardian error for a status word the device answered to ``operation``."""
    if status_word in LOCKED_STATUS:
        return LedgerLockedError(status_word)
    if status_word in APP_NOT_OPEN_STATUS:
        return LedgerAppNotOpenError(status_word)
    if status_word == REJECTED_STATUS:
        return LedgerRejectedError(status_word, operation)
    if status_word == INVALID_DATA_STATUS and operation.startswith("signing"):
        return LedgerBlindSigningError(status_word, operation)
    if status_word == INVALID_DATA_STATUS:
        return LedgerError(f"the Ethereum app refused the data of {operation}", status_word, advice="check the derivation path")
    return LedgerError(f"unexpected answer to {operation}", status_word, advice="reconnect the device, reopen the Ethereum app and retry")


@contextmanager
def device_errors(operation: str) -> Iterator[None]:
    """Translate ledgereth / ledgerblue / socket failures during ``operation`` into guardian errors."""
    from ledgerblue.commException import CommException
    from ledgereth.exceptions import LedgerError as LedgerethError

    try:
        yield
    except LedgerethError as error:  # ledgereth re-raises every CommException as one of these
        cause = error.__cause__
        raise error_for_status(getattr(cause, "sw", None), operation) from error
    except CommException as error:
        if operation == "connecting":
            raise LedgerNotConnectedError(error.message) from error
        raise error_for_status(error.sw, operation) from error
    except (OSError, struct.error) as error:
        raise LedgerNotConnectedError(f"connection lost during {operation}: {error}") from error


def open_dongle() -> Any:
    """Open the device: Speculos / emulator if LEDGER_PROXY_ADDRESS and _PORT are set, else USB."""
    host, port = os.environ.get("LEDGER_PROXY_ADDRESS"), os.environ.get("LEDGER_PROXY_PORT")
    with device_errors("connecting"):
        if host and port:
            from ledgerblue.commTCP import getDongle as get_tcp_dongle

            try:
                port_number = int(port)
            except ValueError:
                raise InputError("LEDGER_PROXY_PORT", port, "not a port number") from None
            dongle = get_tcp_dongle(server=host, port=port_number)
            dongle.socket.settimeout(120)  # a human approves on the device; never hang forever
            return dongle
        from ledgerblue.comm import getDongle

        return getDongle()


# -- the device --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppConfiguration:
    version: str
    blind_signing: bool


class LedgerDevice:
    """One Ledger, opened on first use. Every ledgereth call gets ``dongle=`` explicitly."""

    def __init__(self, dongle: Any = None, opener: Callable[[], Any] = open_dongle):
        self._dongle = dongle
        self._opener = opener
        self._configuration: AppConfiguration | None = None

    def dongle(self) -> Any:
        if self._dongle is None:
            self._dongle = self._opener()
        if self._configuration is None:
            self._configuration = self._read_configuration(self._dongle)
        return self._dongle

    @staticmethod
    def _read_configuration(dongle: Any) -> AppConfiguration:
        from ledgereth.comms import decode_response_version_from_config, dongle_send, is_usable_version

        with device_errors("reading the Ethereum app configuration"):
            answer = dongle_send(dongle, "GET_CONFIGURATION")
        if not answer or len(answer) < 4:
            raise LedgerError("the Ethereum app gave no configuration", advice="reopen the Ethereum app and retry")
        version = decode_response_version_from_config(answer)
        if not is_usable_version(answer):
            raise LedgerError(f"Ethereum app version {version} is not supported", advice="update the Ethereum app with Ledger Live")
        return AppConfiguration(version=version, blind_signing=bool(answer[0] & 0x01))

    def configuration(self) -> AppConfiguration:
        self.dongle()
        assert self._configuration is not None
        return self._configuration

    def address(self, path: str) -> str:
        from ledgereth.accounts import get_account_by_path

        dongle = self.dongle()
        with device_errors(f"reading the address at {display_path(path)}"):
            return get_account_by_path(path, dongle=dongle).address

    def sign_typed_hashes(self, path: str, domain_hash: bytes, message_hash: bytes) -> bytes:
        """EIP-712 by hashes (``e0 0c``); returns r|s|v with the device's v (27/28)."""
        from ledgereth.messages import sign_typed_data_draft

        dongle = self.dongle()
        with device_errors("signing the EIP-712 hashes"):
            signed = sign_typed_data_draft(bytes(domain_hash), bytes(message_hash), path, dongle=dongle)
        return _pack(signed.r, signed.s, signed.v)

    def sign_personal(self, path: str, message: bytes) -> bytes:
        """EIP-191 personal message (``e0 08``); returns r|s|v with the device's v (27/28)."""
        from ledgereth.messages import sign_message

        dongle = self.dongle()
        with device_errors("signing the personal message"):
            signed = sign_message(bytes(message), path, dongle=dongle)
        return _pack(signed.r, signed.s, signed.v)

    def sign_transaction(self, path: str, tx: dict) -> bytes:
        """A raw signed transaction (legacy, EIP-2930 or EIP-1559 from the dict's fee fields)."""
        from ledgereth.transactions import create_transaction

        arguments = transaction_arguments(tx)
        dongle = self.dongle()
        with device_errors("signing the transaction"):
            signed = create_transaction(**arguments, sender_path=path, dongle=dongle)
        return bytes.fromhex(signed.raw_transaction()[2:])

    def close(self) -> None:
        if self._dongle is not None:
            try:
                self._dongle.close()
            finally:
                self._dongle = None
                self._configuration = None


def _pack(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def _integer(tx: dict, name: str, default: int | None = None) -> int:
    value = tx.get(name, default)
    if value is None:
        raise SignerError("ledger", f"transaction lacks {name!r}")
    if isinstance(value, str):
        return int(value, 16) if value.startswith(("0x", "0X")) else int(value)
    return int(value)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    return bytes(value)


def _storage_key(key: Any) -> str:
    number = int(key, 16) if isinstance(key, str) else int.from_bytes(key, "big") if isinstance(key, bytes) else int(key)
    return f"0x{number:064x}"


def transaction_arguments(tx: dict) -> dict[str, Any]:
    """A web3-style transaction dict -> keyword arguments of ledgereth's ``create_transaction``."""
    arguments: dict[str, Any] = {
        "destination": _bytes(tx.get("to")),
        "amount": _integer(tx, "value", 0),
        "gas": _integer(tx, "gas"),
        "nonce": _integer(tx, "nonce"),
        "data": _bytes(tx.get("data", tx.get("input"))),
        "chain_id": _integer(tx, "chainId"),
    }
    if "maxFeePerGas" in tx:
        arguments["max_fee_per_gas"] = _integer(tx, "maxFeePerGas")
        arguments["max_priority_fee_per_gas"] = _integer(tx, "maxPriorityFeePerGas")
    else:
        arguments["gas_price"] = _integer(tx, "gasPrice")
    if tx.get("accessList"):
        # ledgereth's coerce_access_list keeps hex-string slots only: give it hex strings
        arguments["access_list"] = [
            (
                item["address"],
                [_storage_key(key) for key in item.get("storageKeys", [])],
            )
            for item in tx["accessList"]
        ]
    return arguments


# -- the signer -------------------------------------------------------------------------------


class LedgerSigner:
    """A ``Signer`` on one Ledger account. Nothing touches the device before the first call."""

    def __init__(
        self,
        path: str | None,
        device: LedgerDevice,
        *,
        echo: Echo = echo_to_stderr,
        find_address: str | None = None,
    ):
        self._path = path
        self._device = device
        self._echo = echo
        self._find_address = find_address
        self._address: str | None = None

    @property
    def description(self) -> str:
        if self._path is None:
            return f"ledger {self._find_address}"
        return f"ledger {display_path(self._path)}"

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = find_account_path(self._find_address or "", self._device)
        return self._path

    def address(self) -> str:
        if self._address is None:
            self._address = self._device.address(self.path)
        return self._address

    def sign_safe_tx(
        self, domain_hash: bytes, message_hash: bytes, safe_tx_hash: bytes, *, eth_sign: bool = False
    ) -> bytes:
        domain_hash, message_hash = as_hash("domain hash", domain_hash), as_hash("message hash", message_hash)
        safe_tx_hash = as_hash("safeTxHash", safe_tx_hash)
        check_safe_tx_hash(domain_hash, message_hash, safe_tx_hash)
        expected = self.address()
        if eth_sign:
            self._echo(f"Approve on the Ledger ({self.description}): 'Sign message' of the safeTxHash 0x{safe_tx_hash.hex()}")
            signature = self._device.sign_personal(self.path, safe_tx_hash)
            signature = signature[:64] + bytes([signature[64] + 4])  # the Safe's eth_sign marker
        else:
            self._echo(f"Approve on the Ledger ({self.description}): 'Sign typed message', compare both hashes")
            signature = self._device.sign_typed_hashes(self.path, domain_hash, message_hash)
        return verify_own_signature(self.description, expected, safe_tx_hash, signature, eth_sign)

    def sign_transaction(self, tx: dict) -> bytes:
        expected = self.address()
        sender = tx.get("from")
        if sender and str(sender).lower() != expected.lower():
            raise SignerError(self.description, f"transaction is from {sender}, but this account is {expected}")
        self._echo(f"Approve the transaction on the Ledger ({self.description})")
        raw = self._device.sign_transaction(self.path, tx)
        return verify_own_transaction(self.description, expected, raw)

    def close(self) -> None:
        self._device.close()

    def __repr__(self) -> str:
        return f"<LedgerSigner {self.description}>"


def find_account_path(address: str, device: LedgerDevice, depth: int = SEARCH_DEPTH) -> str:
    """The path of ``address`` among the first ``depth`` accounts of both conventions."""
    wanted = address.lower()
    for index in range(depth):
        for path in (ledger_live_path(index), legacy_path(index)):
            if device.address(path).lower() == wanted:
                return path
    raise SignerError(
        f"ledger:{address}",
        f"not among the first {depth} Ledger Live or legacy accounts of this device",
        advice="check the device (same seed?) or give the derivation path: ledger:m/44'/60'/...",
    )


def list_accounts(paths: list[str], device: LedgerDevice | None = None) -> list[tuple[str, str]]:
    """(path, address) for each of ``paths``; opens and closes the device if none is given."""
    own = device is None
    device = device or LedgerDevice()
    try:
        return [(path, device.address(path)) for path in paths]
    finally:
        if own:
            device.close()


def open_ledger_signer(kind: str, argument: str, *, dongle: Any = None, echo: Echo = echo_to_stderr) -> LedgerSigner:
    """Build the signer for ``ledger[:N|:PATH|:0xADDRESS]`` / ``ledger-legacy[:N]`` (no I/O)."""
    device = LedgerDevice(dongle=dongle)
    argument = argument.strip()
    if argument.isdigit() or not argument:
        index = int(argument or 0)
        path = legacy_path(index) if kind == "ledger-legacy" else ledger_live_path(index)
        return LedgerSigner(path, device, echo=echo)
    if kind == "ledger-legacy":
        raise SignerError(f"{kind}:{argument}", "takes an account index", advice="for a full path use ledger:m/44'/60'/...")
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", argument):
        return LedgerSigner(None, device, echo=echo, find_address=argument)
    return LedgerSigner(normalize_path(argument), device, echo=echo)
