"""An APDU-level emulator of the Ledger Ethereum app, for tests and drills. NEVER for real funds.

It sits *under* ledgereth's transport: ledgereth encodes real APDUs, the emulator parses them,
derives keys from a BIP-39 mnemonic through BIP-32 (eth_account's HD wallet helpers), signs
with a real secp256k1 key and answers with the bytes and status words the real app uses, and
ledgereth decodes them. Nothing in ledgereth is mocked.

Two ways in:

* in process: ``EmulatedDongle(emulator)`` has ``.exchange(apdu) -> bytearray`` (raising
  ``ledgerblue.commException.CommException(message, sw)`` on a bad status word) and
  ``.close()``, which is all ledgereth asks of a dongle (``dongle=``);
* over TCP with Speculos' APDU framing (request: ``>I`` length + APDU; response: ``>I`` data
  length + data + ``>H`` status word, as ``ledgerblue.commTCP`` expects): ``serve()`` in a
  thread, or ``python -m guardian.testing.ledger_emulator --port N``. With
  ``LEDGER_PROXY_ADDRESS=127.0.0.1 LEDGER_PROXY_PORT=N`` any ledgerblue client (the real
  ``guardian`` CLI in a subprocess) talks to it exactly as to Speculos.

Commands implemented (``CLA = 0xE0``): GET APP CONFIGURATION (0x06), GET ADDRESS (0x02),
SIGN TRANSACTION (0x04, chunked; legacy/EIP-155, EIP-2930 and EIP-1559), SIGN PERSONAL
MESSAGE (0x08, chunked) and SIGN EIP-712 HASHED MESSAGE (0x0C). State switches: ``locked``,
``app_open``, ``reject_next`` / ``reject_all`` and ``blind_signing``, answered with the real
status words. Every APDU received is kept in ``apdus`` and every approval screen in
``screens`` (what the device showed, e.g. the EIP-712 domain and message hashes).
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

CLA = 0xE0
INS_GET_ADDRESS = 0x02
INS_SIGN_TRANSACTION = 0x04
INS_GET_APP_CONFIGURATION = 0x06
INS_SIGN_PERSONAL_MESSAGE = 0x08
INS_SIGN_EIP712_HASHED = 0x0C

# Status words, as the real firmware / Ethereum app answer them.
SW_OK = 0x9000
SW_LOCKED = 0x5515  # current firmware; older ones answered 0x6982 or 0x6B0C
SW_APP_CLOSED = 0x6E00  # dashboard: CLA not supported (recent firmware: 0x6511)
SW_REJECTED = 0x6985  # "condition of use not satisfied": the user pressed Reject
SW_INVALID_DATA = 0x6A80  # invalid data, or blind signing disabled
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_TX_TYPE_UNSUPPORTED = 0x6501
SW_WRONG_LENGTH = 0x6700
SW_UNKNOWN = 0x6F00

APP_VERSION = (1, 10, 3)
FLAG_BLIND_SIGNING = 0x01  # "arbitrary data signature enabled" bit of GET APP CONFIGURATION


class ApduError(Exception):
    """An APDU that the app answers with a non-9000 status word."""

    def __init__(self, status_word: int, reason: str):
        super().__init__(f"0x{status_word:04X}: {reason}")
        self.status_word = status_word
        self.reason = reason


@dataclass
class _Pending:
    """A chunked signing operation in progress (SIGN TRANSACTION / SIGN PERSONAL MESSAGE)."""

    instruction: int
    path: str
    data: bytearray
    expected_length: int | None = None  # personal message: announced length


def _keccak(data: bytes) -> bytes:
    from eth_utils import keccak

    return keccak(data)


def _parse_path(data: bytes) -> tuple[str, bytes]:
    """Split ``count(1) || count * uint32`` off the front; return (path text, rest)."""
    if not data:
        raise ApduError(SW_INVALID_DATA, "missing derivation path")
    count = data[0]
    if not 1 <= count <= 10 or len(data) < 1 + 4 * count:
        raise ApduError(SW_INVALID_DATA, f"bad derivation path (depth {count})")
    parts = []
    for index in range(count):
        (value,) = struct.unpack(">I", data[1 + 4 * index : 5 + 4 * index])
        parts.append(f"{value & 0x7FFFFFFF}'" if value & 0x80000000 else str(value))
    return "/".join(parts), bytes(data[1 + 4 * count :])


def _rlp_total_length(data: bytes) -> int | None:
    """Total length of the RLP list starting at ``data[0]``, or None while the header is short."""
    if not data:
        return None
    prefix = data[0]
    if prefix < 0xC0:
        raise ApduError(SW_INVALID_DATA, "transaction is not an RLP list")
    if prefix <= 0xF7:
        return 1 + prefix - 0xC0
    length_of_length = prefix - 0xF7
    if len(data) < 1 + length_of_length:
        return None
    return 1 + length_of_length + int.from_bytes(data[1 : 1 + length_of_length], "big")


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


@dataclass
class LedgerEmulator:
    """The device: keys, state switches, and a record of what it received and showed."""

    mnemonic: str = ANVIL_MNEMONIC
    locked: bool = False
    app_open: bool = True
    reject_next: bool = False
    reject_all: bool = False
    blind_signing: bool = True
    locked_status: int = SW_LOCKED
    app_closed_status: int = SW_APP_CLOSED
    version: tuple[int, int, int] = APP_VERSION
    apdus: list[bytes] = field(default_factory=list)
    screens: list[dict[str, Any]] = field(default_factory=list)
    log_path: str | None = None

    def __post_init__(self) -> None:
        self._keys: dict[str, tuple[bytes, bytes]] = {}
        self._pending: _Pending | None = None
        self._lock = threading.Lock()

    # -- keys ------------------------------------------------------------------------------

    def derive(self, path: str) -> tuple[bytes, bytes]:
        """(private key, chain code) at ``path`` (``44'/60'/0'/0/0``, with or without ``m/``)."""
        path = path[2:] if path.startswith("m/") else path
        if path not in self._keys:
            from eth_account import Account
            from eth_account.hdaccount import seed_from_mnemonic
            from eth_account.hdaccount.deterministic import Node, derive_child_key, hmac_sha512

            Account.enable_unaudited_hdwallet_features()
            account = Account.from_mnemonic(self.mnemonic, account_path=f"m/{path}")
            # Walk BIP-32 ourselves only to learn the chain code the device also returns.
            master = hmac_sha512(b"Bitcoin seed", seed_from_mnemonic(self.mnemonic, ""))
            key, chain_code = master[:32], master[32:]
            for node in path.split("/"):
                key, chain_code = derive_child_key(key, chain_code, Node.decode(node))
            if key != bytes(account.key):
                raise AssertionError(f"BIP-32 walk disagrees with eth_account at {path}")
            self._keys[path] = (key, chain_code)
        return self._keys[path]

    def address(self, path: str) -> str:
        """Checksummed address at ``path``."""
        from eth_keys import keys

        return keys.PrivateKey(self.derive(path)[0]).public_key.to_checksum_address()

    def _sign(self, path: str, digest: bytes) -> tuple[int, bytes, bytes]:
        from eth_keys import keys

        signature = keys.PrivateKey(self.derive(path)[0]).sign_msg_hash(digest)
        return signature.v, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")

    # -- the APDU loop -----------------------------------------------------------------------

    def handle(self, apdu: bytes) -> tuple[bytes, int]:
        """Process one APDU; return (response data, status word). Never raises."""
        with self._lock:
            self.apdus.append(bytes(apdu))
            try:
                return self._dispatch(bytes(apdu)), SW_OK
            except ApduError as error:
                self._pending = None
                return b"", error.status_word
            except Exception:  # an emulator bug must look like a device error, not a hang-up
                self._pending = None
                return b"", SW_UNKNOWN

    def _dispatch(self, apdu: bytes) -> bytes:
        if self.locked:
            raise ApduError(self.locked_status, "device locked")
        if not self.app_open:
            raise ApduError(self.app_closed_status, "Ethereum app not open (dashboard)")
        if len(apdu) < 5:
            raise ApduError(SW_WRONG_LENGTH, "APDU shorter than its header")
        cla, ins, p1, p2, lc = apdu[:5]
        data = apdu[5 : 5 + lc]
        if len(data) != lc:
            raise ApduError(SW_WRONG_LENGTH, f"Lc {lc} but {len(data)} data bytes")
        if cla != CLA:
            raise ApduError(SW_CLA_NOT_SUPPORTED, f"CLA 0x{cla:02X}")
        handlers = {
            INS_GET_APP_CONFIGURATION: self._get_configuration,
            INS_GET_ADDRESS: self._get_address,
            INS_SIGN_TRANSACTION: self._sign_transaction,
            INS_SIGN_PERSONAL_MESSAGE: self._sign_personal_message,
            INS_SIGN_EIP712_HASHED: self._sign_eip712_hashed,
        }
        if ins not in handlers:
            raise ApduError(SW_INS_NOT_SUPPORTED, f"INS 0x{ins:02X}")
        if ins not in (INS_SIGN_TRANSACTION, INS_SIGN_PERSONAL_MESSAGE) or p1 == 0x00:
            self._pending = None  # any other command aborts a chunked operation
        return handlers[ins](p1, p2, data)

    def _get_configuration(self, p1: int, p2: int, data: bytes) -> bytes:
        flags = FLAG_BLIND_SIGNING if self.blind_signing else 0
        return bytes([flags, *self.version])

    def _get_address(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 not in (0x00, 0x01) or p2 not in (0x00, 0x01):
            raise ApduError(SW_WRONG_P1P2, "GET ADDRESS P1/P2")
        path, _ = _parse_path(data)
        from eth_keys import keys

        key, chain_code = self.derive(path)
        public_key = keys.PrivateKey(key).public_key
        address = public_key.to_checksum_address()[2:]
        if p1 == 0x01:  # display and confirm on the device
            self._screen({"kind": "address", "path": path, "address": "0x" + address})
        response = bytes([65]) + b"\x04" + public_key.to_bytes() + bytes([40]) + address.encode("ascii")
        return response + (chain_code if p2 == 0x01 else b"")

    def _sign_eip712_hashed(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 != 0x00 or p2 != 0x00:
            raise ApduError(SW_WRONG_P1P2, "EIP-712 v0 takes P1 = P2 = 0")
        path, rest = _parse_path(data)
        if len(rest) != 64:
            raise ApduError(SW_INVALID_DATA, f"expected 64 bytes of hashes, got {len(rest)}")
        if not self.blind_signing:
            raise ApduError(SW_INVALID_DATA, "blind signing disabled")
        domain_hash, message_hash = rest[:32], rest[32:]
        self._screen(
            {
                "kind": "eip712_hashed",
                "path": path,
                "domain_hash": "0x" + domain_hash.hex(),
                "message_hash": "0x" + message_hash.hex(),
            }
        )
        v, r, s = self._sign(path, _keccak(b"\x19\x01" + domain_hash + message_hash))
        return bytes([27 + v]) + r + s

    def _sign_personal_message(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 == 0x00:
            path, rest = _parse_path(data)
            if len(rest) < 4:
                raise ApduError(SW_INVALID_DATA, "missing message length")
            (length,) = struct.unpack(">I", rest[:4])
            self._pending = _Pending(INS_SIGN_PERSONAL_MESSAGE, path, bytearray(rest[4:]), length)
        elif p1 == 0x80 and self._pending and self._pending.instruction == INS_SIGN_PERSONAL_MESSAGE:
            self._pending.data += data
        else:
            raise ApduError(SW_WRONG_P1P2, "personal message chunk out of order")
        pending = self._pending
        assert pending.expected_length is not None
        if len(pending.data) < pending.expected_length:
            return b""
        if len(pending.data) > pending.expected_length:
            raise ApduError(SW_INVALID_DATA, "message longer than announced")
        self._pending = None
        message = bytes(pending.data)
        self._screen(
            {
                "kind": "personal_message",
                "path": pending.path,
                "message": "0x" + message.hex(),
                "message_hash": "0x" + _keccak(message).hex(),
            }
        )
        prefix = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode("ascii")
        v, r, s = self._sign(pending.path, _keccak(prefix + message))
        return bytes([27 + v]) + r + s

    def _sign_transaction(self, p1: int, p2: int, data: bytes) -> bytes:
        if p1 == 0x00:
            path, rest = _parse_path(data)
            self._pending = _Pending(INS_SIGN_TRANSACTION, path, bytearray(rest))
        elif p1 == 0x80 and self._pending and self._pending.instruction == INS_SIGN_TRANSACTION:
            self._pending.data += data
        else:
            raise ApduError(SW_WRONG_P1P2, "transaction chunk out of order")
        pending = self._pending
        payload = bytes(pending.data)
        if not payload:
            return b""
        tx_type = payload[0] if payload[0] < 0x80 else None
        body = payload[1:] if tx_type is not None else payload
        if tx_type not in (None, 1, 2):
            raise ApduError(SW_TX_TYPE_UNSUPPORTED, f"transaction type {tx_type}")
        total = _rlp_total_length(body)
        if total is None or len(body) < total:
            return b""  # wait for the next chunk, as the app's streaming parser does
        if len(body) > total:
            raise ApduError(SW_INVALID_DATA, "trailing bytes after the transaction")
        self._pending = None
        import rlp

        try:
            fields = rlp.decode(body)
        except rlp.exceptions.DecodingError as error:
            raise ApduError(SW_INVALID_DATA, f"bad RLP: {error}") from None
        shown = self._describe_transaction(tx_type, fields)
        if shown["data"] != "0x" and not self.blind_signing:
            raise ApduError(SW_INVALID_DATA, "contract data without blind signing")
        shown["path"] = pending.path
        self._screen(shown)
        # The app hashes the bytes exactly as streamed to it (type byte included).
        parity, r, s = self._sign(pending.path, _keccak(payload))
        if tx_type is not None:
            v = parity
        elif shown["chain_id"]:
            v = (shown["chain_id"] * 2 + 35 + parity) & 0xFF  # the app returns only a byte
        else:
            v = 27 + parity
        return bytes([v]) + r + s

    @staticmethod
    def _describe_transaction(tx_type: int | None, fields: list) -> dict[str, Any]:
        layouts = {
            None: ["nonce", "gas_price", "gas", "to", "value", "data", "chain_id", "_r", "_s"],
            1: ["chain_id", "nonce", "gas_price", "gas", "to", "value", "data", "access_list"],
            2: ["chain_id", "nonce", "max_priority_fee_per_gas", "max_fee_per_gas", "gas", "to",
                "value", "data", "access_list"],
        }
        names = layouts[tx_type]
        if len(fields) not in ((6, 9) if tx_type is None else (len(names),)):
            raise ApduError(SW_INVALID_DATA, f"{len(fields)} fields for transaction type {tx_type}")
        values = dict(zip(names, fields))
        shown: dict[str, Any] = {"kind": "transaction", "type": tx_type or 0}
        for name, value in values.items():
            if name.startswith("_") or name == "access_list":
                continue
            if name in ("to", "data"):
                shown[name] = "0x" + bytes(value).hex()
            else:
                shown[name] = _int(value)
        shown.setdefault("chain_id", 0)
        return shown

    def _screen(self, shown: dict[str, Any]) -> None:
        """Show ``shown`` and wait for the user: approve, or reject when told to."""
        rejected = self.reject_all or self.reject_next
        self.reject_next = False
        shown["approved"] = not rejected
        self.screens.append(shown)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(shown) + "\n")
        if rejected:
            raise ApduError(SW_REJECTED, "rejected by the user")


class EmulatedDongle:
    """The in-process transport: what ledgereth needs of a ``ledgerblue`` dongle."""

    def __init__(self, emulator: LedgerEmulator | None = None):
        self.emulator = emulator or LedgerEmulator()
        self.opened = True

    def exchange(self, apdu: bytes, timeout: int = 20000) -> bytearray:
        from ledgerblue.commException import CommException

        if not self.opened:
            raise CommException("Dongle closed", 0x6F00)
        data, status_word = self.emulator.handle(bytes(apdu))
        if status_word != SW_OK:
            raise CommException(f"Invalid status {status_word:04x}", status_word, bytearray(data))
        return bytearray(data)

    def apduMaxDataSize(self) -> int:  # noqa: N802 (ledgerblue's name)
        return 255

    def close(self) -> None:
        self.opened = False


# -- Speculos-compatible TCP server -----------------------------------------------------------


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class _ApduHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        emulator: LedgerEmulator = self.server.emulator  # type: ignore[attr-defined]
        while True:
            header = _read_exactly(self.request, 4)
            if header is None:
                return
            apdu = _read_exactly(self.request, struct.unpack(">I", header)[0])
            if apdu is None:
                return
            data, status_word = emulator.handle(apdu)
            self.request.sendall(struct.pack(">I", len(data)) + data + struct.pack(">H", status_word))


class EmulatorServer(socketserver.ThreadingTCPServer):
    """A TCP server speaking Speculos' APDU framing, backed by one ``LedgerEmulator``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: LedgerEmulator):
        super().__init__(address, _ApduHandler)
        self.emulator = emulator

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1", port: int = 0, emulator: LedgerEmulator | None = None
) -> tuple[EmulatorServer, int]:
    """Serve ``emulator`` on ``host:port`` (0: a free port) in a daemon thread.

    Returns ``(server, port)``; call ``server.stop()`` when done.
    """
    server = EmulatorServer((host, port), emulator or LedgerEmulator())
    threading.Thread(target=server.serve_forever, name="ledger-emulator", daemon=True).start()
    return server, server.port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m guardian.testing.ledger_emulator",
        description="Emulated Ledger Ethereum app on a Speculos-compatible TCP port (tests and drills only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--mnemonic", default=ANVIL_MNEMONIC)
    parser.add_argument("--locked", action="store_true")
    parser.add_argument("--reject", action="store_true", help="reject every approval screen")
    parser.add_argument("--app-closed", action="store_true")
    parser.add_argument("--no-blind-signing", action="store_true")
    parser.add_argument("--log", help="append each approval screen as a JSON line to this file")
    args = parser.parse_args(argv)
    emulator = LedgerEmulator(
        mnemonic=args.mnemonic,
        locked=args.locked,
        reject_all=args.reject,
        app_open=not args.app_closed,
        blind_signing=not args.no_blind_signing,
        log_path=args.log,
    )
    server = EmulatorServer((args.host, args.port), emulator)
    print(f"ledger emulator listening on {args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
