"""The one place where guardian talks JSON-RPC: a node, and the Safe that lives on it.

    chain = connect("http://127.0.0.1:8545")          # RpcError if the node does not answer
    safe = SafeReader(chain, "0xSafe...")
    safe.owners(), safe.threshold(), safe.nonce()
    safe_tx_hash = safe.get_transaction_hash(to=..., value=0, data=b"...", operation=0, nonce=7)
    chain.call(safe.address, build_exec_transaction_calldata(..., signatures=packed))

Plain values in and out: checksummed address strings, ``bytes`` for hashes and data, ``int``
for quantities. It sends raw JSON-RPC over a small keep-alive HTTP transport (the standard
library's ``http.client``: importing web3 costs more than a whole guardian command should;
``Chain.web3`` still gives a web3 object on the same URL, imported on first use). Every
answer is turned into plain values here and every failure into a guardian error at this edge:

- unreachable node, timeout, HTTP error status, garbage instead of JSON-RPC -> ``RpcError``
- the node refusing a request (bad params, nonce too low, ...) -> ``RpcRejectedError``
- a reverting ``eth_call`` / ``eth_estimateGas`` -> ``CallRevertedError(reason, data)`` with
  the raw revert data (a Safe's ``GS0xx`` code is ``reason``; its meaning is for the caller)

Only HTTP(S) endpoints are supported. The CLI imports this module only inside command
bodies (``guardian --help`` never imports it).

Safe execution events: 1.1.1 and 1.3.0 emit ``ExecutionSuccess/ExecutionFailure(bytes32
txHash, uint256 payment)`` with nothing indexed; 1.4.1 and 1.5.0 index ``txHash``. Both shapes
are read. 1.0.0 emits only ``ExecutionFailed(bytes32 txHash)`` on an inner failure and no
event on success: ``find_execution`` reports such failures, and cannot see a 1.0.0 success
(it returns ``None``; reconcile by nonce and transaction hash instead).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, Union
from urllib.parse import urlsplit

import base64
import http.client
import json
import socket
from urllib.parse import unquote

import re

from guardian.domain import abicodec
from guardian.domain.values import checksum_address, keccak
from guardian.errors import AbiError, CallRevertedError, InputError, NotASafeError, RpcError, RpcRejectedError

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SENTINEL_ADDRESS = "0x0000000000000000000000000000000000000001"
GUARD_STORAGE_SLOT = int.from_bytes(keccak(b"guard_manager.guard.address"), "big")
FALLBACK_HANDLER_STORAGE_SLOT = int.from_bytes(keccak(b"fallback_manager.handler.address"), "big")
SINGLETON_STORAGE_SLOT = 0

Block = Union[int, str]
TopicFilter = Union[bytes, None, list]

# what eth_utils.is_address accepted here: 40 hex digits, "0x" optional, any case (no checksum check)
_HEX_ADDRESS = re.compile(r"(0x)?[0-9a-f]{40}", re.IGNORECASE | re.ASCII)
_SAFE_TX_TYPES = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address"]


def _selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


SELECTORS = {
    name: _selector(signature)
    for name, signature in {
        "nonce": "nonce()",
        "getOwners": "getOwners()",
        "getThreshold": "getThreshold()",
        "VERSION": "VERSION()",
        "getModules": "getModules()",
        "getModulesPaginated": "getModulesPaginated(address,uint256)",
        "approvedHashes": "approvedHashes(address,bytes32)",
        "approveHash": "approveHash(bytes32)",
        "getTransactionHash": f"getTransactionHash({','.join(_SAFE_TX_TYPES)},uint256)",
        "execTransaction": f"execTransaction({','.join(_SAFE_TX_TYPES)},bytes)",
    }.items()
}
EXECUTION_SUCCESS_TOPIC = keccak(b"ExecutionSuccess(bytes32,uint256)")
EXECUTION_FAILURE_TOPIC = keccak(b"ExecutionFailure(bytes32,uint256)")
EXECUTION_FAILED_V100_TOPIC = keccak(b"ExecutionFailed(bytes32)")
_ERROR_STRING_SELECTOR = _selector("Error(string)")
_PANIC_SELECTOR = _selector("Panic(uint256)")


# --------------------------------------------------------------------------- plain values


class Log(NamedTuple):
    """One event log inside a receipt: ``(address, topics, data)``."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


class LogEntry(NamedTuple):
    """One log from ``eth_getLogs``, with where it was found."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: bytes
    log_index: int


@dataclass(frozen=True)
class Receipt:
    status: int  # 1 success, 0 reverted
    block_number: int
    gas_used: int
    logs: tuple[Log, ...]
    tx_hash: bytes
    from_address: str
    to: str | None
    effective_gas_price: int | None = None


@dataclass(frozen=True)
class Transaction:
    tx_hash: bytes
    from_address: str
    to: str | None
    nonce: int
    value: int
    input: bytes
    gas: int
    block_number: int | None  # None while pending


class ExecutionEvent(NamedTuple):
    """A Safe ``ExecutionSuccess`` / ``ExecutionFailure`` (1.0.0: ``ExecutionFailed``) event."""

    safe_tx_hash: bytes
    success: bool
    payment: int | None  # None for 1.0.0's ExecutionFailed
    tx_hash: bytes
    block_number: int
    log_index: int


class Execution(NamedTuple):
    """Where and how a safeTxHash was executed. ``status`` is ``"success"`` or ``"failure"``."""

    status: str
    tx_hash: bytes
    block_number: int
    executor: str


# --------------------------------------------------------------------------- the node


class _HttpTransport:
    """JSON-RPC over one keep-alive HTTP(S) connection (stdlib only; cheap to import)."""

    def __init__(self, url: str, timeout: float):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "guardian"}
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        self._connection: http.client.HTTPConnection | None = None
        self._next_id = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._connection = kind(self.host, self.port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def post(self, method: str, params: list) -> tuple[int, str, bytes]:
        self._next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}).encode()
        reused = self._connection is not None
        try:
            return self._post(body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not reused:
                raise
            return self._post(body)  # the server closed an idle keep-alive connection: once more, fresh
        except BaseException:
            self.close()
            raise

    def _post(self, body: bytes) -> tuple[int, str, bytes]:
        connection = self._connect()
        connection.request("POST", self.path, body, self.headers)
        response = connection.getresponse()
        payload = response.read()
        if response.will_close:
            self.close()
        return response.status, response.reason, payload


def connect(rpc_url: str, *, timeout: float = 10.0) -> "Chain":
    """A ``Chain`` on ``rpc_url``; asks ``eth_chainId`` once so a dead node fails here."""
    chain = Chain(rpc_url, timeout=timeout)
    chain.chain_id()
    return chain


class Chain:
    """A JSON-RPC node. Every method returns plain values; see the module docstring for errors."""

    def __init__(self, rpc_url: str, *, timeout: float = 10.0):
        self.url = rpc_url
        self.display_url = display_url(rpc_url)
        self.timeout = timeout
        if urlsplit(rpc_url).scheme not in ("http", "https") or not urlsplit(rpc_url).netloc:
            raise RpcError(self.display_url, "not an http(s):// URL (only HTTP JSON-RPC is supported)")
        self.transport = _HttpTransport(rpc_url, timeout)
        self._web3 = None
        self._chain_id: int | None = None

    def __repr__(self) -> str:
        return f"Chain({self.display_url!r})"

    @property
    def web3(self):
        """A ``Web3`` on the same URL, for callers that need web3 contract objects (imported lazily)."""
        if self._web3 is None:
            from web3 import Web3
            from web3.providers.rpc import HTTPProvider

            self._web3 = Web3(HTTPProvider(self.url, request_kwargs={"timeout": self.timeout}, exception_retry_configuration=None))
        return self._web3

    # -- raw JSON-RPC ------------------------------------------------------------------

    def rpc(self, method: str, params: list | None = None) -> Any:
        """Send one JSON-RPC request; return ``result`` or raise a guardian error."""
        reply = self._request(method, params or [])
        if "error" in reply:
            code, message, _ = _error_fields(reply["error"])
            raise RpcRejectedError(self.display_url, method, code, message)
        return reply["result"]

    def _request(self, method: str, params: list) -> dict:
        url = self.display_url
        try:
            status, reason, body = self.transport.post(method, params)
        except (socket.timeout, TimeoutError) as error:
            raise RpcError(url, f"{method}: no answer within {self.timeout:g}s (timeout)") from error
        except socket.gaierror as error:
            raise RpcError(url, f"{method}: unreachable (name or service not known)") from error
        except ConnectionRefusedError as error:
            raise RpcError(url, f"{method}: unreachable (connection refused)") from error
        except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as error:
            raise RpcError(url, f"{method}: unreachable (connection reset)") from error
        except http.client.HTTPException as error:
            raise RpcError(url, f"{method}: answered something that is not HTTP ({type(error).__name__})") from error
        except OSError as error:
            raise RpcError(url, f"{method}: unreachable ({error.strerror or error})") from error
        if status >= 400:
            raise RpcError(url, f"{method}: HTTP error {status} {reason}".rstrip())
        try:
            reply = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:  # json.JSONDecodeError is a ValueError
            raise RpcError(url, f"{method}: answered something that is not JSON") from error
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise RpcError(url, f"{method}: answered JSON that is not a JSON-RPC response")
        if "error" in reply and not isinstance(reply["error"], dict):
            raise RpcError(url, f"{method}: answered a malformed JSON-RPC error")
        return reply

    def _reverting_request(self, method: str, params: list) -> Any:
        """Like ``rpc`` but a revert becomes ``CallRevertedError`` with its data."""
        reply = self._request(method, params)
        if "error" in reply:
            code, message, data = _error_fields(reply["error"])
            if code == 3 or "revert" in message.lower():
                revert_data = _hex_to_bytes_or_empty(data)
                raise CallRevertedError(decode_revert_reason(revert_data, message), revert_data)
            raise RpcRejectedError(self.display_url, method, code, message)
        return reply["result"]

    # -- reads -------------------------------------------------------------------------

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _quantity(self.rpc("eth_chainId"), self.display_url, "eth_chainId")
        return self._chain_id

    def block_number(self) -> int:
        return _quantity(self.rpc("eth_blockNumber"), self.display_url, "eth_blockNumber")

    def get_block(self, block: Block = "latest") -> dict | None:
        """The raw block header dict (hex strings, no transactions) or ``None``."""
        return self.rpc("eth_getBlockByNumber", [_block(block), False])

    def get_balance(self, address: str, block: Block = "latest") -> int:
        return _quantity(self.rpc("eth_getBalance", [checksum(address), _block(block)]), self.display_url, "eth_getBalance")

    def get_code(self, address: str, block: Block = "latest") -> bytes:
        return _data(self.rpc("eth_getCode", [checksum(address), _block(block)]), self.display_url, "eth_getCode")

    def get_storage_at(self, address: str, slot: int | bytes, block: Block = "latest") -> bytes:
        """The 32-byte word at ``slot``."""
        slot_int = int.from_bytes(slot, "big") if isinstance(slot, (bytes, bytearray)) else int(slot)
        raw = self.rpc("eth_getStorageAt", [checksum(address), hex(slot_int), _block(block)])
        return _data(raw, self.display_url, "eth_getStorageAt").rjust(32, b"\0")[-32:]

    def call(
        self, to: str, data: bytes, *, from_: str | None = None, value: int = 0, block: Block = "latest"
    ) -> bytes:
        """``eth_call``; a revert raises ``CallRevertedError(reason, data)``."""
        tx: dict[str, Any] = {"to": checksum(to), "data": _hex(data)}
        if from_ is not None:
            tx["from"] = checksum(from_)
        if value:
            tx["value"] = hex(value)
        return _data(self._reverting_request("eth_call", [tx, _block(block)]), self.display_url, "eth_call")

    def estimate_gas(self, tx: dict[str, Any], block: Block | None = None) -> int:
        """``eth_estimateGas`` for a tx dict (``from``/``to``/``data``/``value``/``gas``...,
        plain Python values); a revert raises ``CallRevertedError``."""
        params: list[Any] = [_tx_params(tx)]
        if block is not None:
            params.append(_block(block))
        return _quantity(self._reverting_request("eth_estimateGas", params), self.display_url, "eth_estimateGas")

    def get_transaction_count(self, address: str, block: Block = "pending") -> int:
        raw = self.rpc("eth_getTransactionCount", [checksum(address), _block(block)])
        return _quantity(raw, self.display_url, "eth_getTransactionCount")

    def fee_params(self) -> dict[str, int]:
        """Fee fields to merge into a transaction to sign.

        EIP-1559 chains: ``{"maxFeePerGas": 2 * baseFee + tip, "maxPriorityFeePerGas": tip}``
        (tip from ``eth_maxPriorityFeePerGas``, 1 gwei if the node lacks it). Chains without
        a base fee: ``{"gasPrice": eth_gasPrice}``.
        """
        latest = self.get_block("latest") or {}
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": _quantity(self.rpc("eth_gasPrice"), self.display_url, "eth_gasPrice")}
        base = _quantity(base_fee, self.display_url, "baseFeePerGas")
        try:
            tip = _quantity(self.rpc("eth_maxPriorityFeePerGas"), self.display_url, "eth_maxPriorityFeePerGas")
        except RpcRejectedError:
            tip = 10**9
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def get_transaction(self, tx_hash: bytes) -> Transaction | None:
        raw = self.rpc("eth_getTransactionByHash", [_hex(tx_hash)])
        if raw is None:
            return None
        with _malformed(self.display_url, "eth_getTransactionByHash"):
            return self._transaction(raw)

    def _transaction(self, raw: dict) -> Transaction:
        return Transaction(
            tx_hash=_data(raw["hash"], self.display_url, "hash"),
            from_address=checksum(raw["from"]),
            to=checksum(raw["to"]) if raw.get("to") else None,
            nonce=int(raw["nonce"], 16),
            value=int(raw["value"], 16),
            input=_data(raw.get("input") or raw.get("data") or "0x", self.display_url, "input"),
            gas=int(raw["gas"], 16),
            block_number=int(raw["blockNumber"], 16) if raw.get("blockNumber") else None,
        )

    def get_receipt(self, tx_hash: bytes) -> Receipt | None:
        raw = self.rpc("eth_getTransactionReceipt", [_hex(tx_hash)])
        if raw is None:
            return None
        with _malformed(self.display_url, "eth_getTransactionReceipt"):
            return self._receipt(raw)

    def _receipt(self, raw: dict) -> Receipt:
        return Receipt(
            status=int(raw["status"], 16),
            block_number=int(raw["blockNumber"], 16),
            gas_used=int(raw["gasUsed"], 16),
            logs=tuple(
                Log(
                    checksum(log["address"]),
                    tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
                    _data(log["data"], self.display_url, "log"),
                )
                for log in raw.get("logs", [])
            ),
            tx_hash=_data(raw["transactionHash"], self.display_url, "transactionHash"),
            from_address=checksum(raw["from"]),
            to=checksum(raw["to"]) if raw.get("to") else None,
            effective_gas_price=int(raw["effectiveGasPrice"], 16) if raw.get("effectiveGasPrice") else None,
        )

    def wait_for_receipt(self, tx_hash: bytes, timeout: float = 120.0, poll: float = 0.05) -> Receipt | None:
        """Poll until the transaction is mined; ``None`` after ``timeout`` seconds.

        RPC failures while polling raise ``RpcError``: the transaction may still be mined,
        so callers reconcile later by transaction hash and Safe nonce.
        """
        deadline = time.monotonic() + timeout
        interval = poll
        while True:
            receipt = self.get_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(interval, max(deadline - time.monotonic(), 0)))
            interval = min(interval * 1.5, 1.0)

    def get_logs(
        self,
        address: str | None,
        topics: list[TopicFilter] | None = None,
        from_block: Block = 0,
        to_block: Block = "latest",
    ) -> list[LogEntry]:
        """``eth_getLogs``. ``topics`` entries are bytes, ``None`` (any) or a list (any of).

        When the node refuses a range as too large, the range is split in halves and retried.
        """
        if isinstance(to_block, str) and isinstance(from_block, int):
            to_block = self.block_number() if to_block == "latest" else to_block
        return self._get_logs(address, topics or [], from_block, to_block)

    def _get_logs(self, address, topics, from_block: Block, to_block: Block) -> list[LogEntry]:
        query: dict[str, Any] = {
            "fromBlock": _block(from_block),
            "toBlock": _block(to_block),
            "topics": [_topic(t) for t in topics],
        }
        if address is not None:
            query["address"] = checksum(address)
        try:
            raw = self.rpc("eth_getLogs", [query])
        except RpcRejectedError as error:
            too_big = any(word in error.reason.lower() for word in ("range", "limit", "too many", "exceed", "too large"))
            if not (too_big and isinstance(from_block, int) and isinstance(to_block, int) and to_block > from_block):
                raise
            middle = (from_block + to_block) // 2
            first = self._get_logs(address, topics, from_block, middle)
            return first + self._get_logs(address, topics, middle + 1, to_block)
        with _malformed(self.display_url, "eth_getLogs"):
            return [self._log_entry(log) for log in raw]

    def _log_entry(self, log: dict) -> LogEntry:
        return LogEntry(
            address=checksum(log["address"]),
            topics=tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
            data=_data(log["data"], self.display_url, "log"),
            block_number=int(log["blockNumber"], 16),
            tx_hash=_data(log["transactionHash"], self.display_url, "transactionHash"),
            log_index=int(log["logIndex"], 16),
        )

    # -- writes ------------------------------------------------------------------------

    def send_raw_transaction(self, raw: bytes) -> bytes:
        """Broadcast a signed transaction; returns its hash."""
        return _data(self.rpc("eth_sendRawTransaction", [_hex(raw)]), self.display_url, "eth_sendRawTransaction")

    # -- anvil helpers (forks, drills, tests) -------------------------------------------

    def impersonate(self, address: str) -> None:
        self.rpc("anvil_impersonateAccount", [checksum(address)])

    def stop_impersonating(self, address: str) -> None:
        self.rpc("anvil_stopImpersonatingAccount", [checksum(address)])

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [checksum(address), hex(wei)])

    def increase_time(self, seconds: int) -> None:
        """Move the next block's timestamp forward; call ``mine()`` to make it visible."""
        self.rpc("evm_increaseTime", [int(seconds)])

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def send_unsigned_as(self, from_: str, to: str, data: bytes, value: int = 0) -> bytes:
        """``eth_sendTransaction`` from an impersonated (or unlocked) account; returns the tx hash."""
        tx = {"from": checksum(from_), "to": checksum(to), "data": _hex(data), "value": hex(value)}
        return _data(self.rpc("eth_sendTransaction", [tx]), self.display_url, "eth_sendTransaction")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        """Back to ``snapshot_id`` (which is consumed); ``False`` if the node did not know it."""
        return bool(self.rpc("evm_revert", [snapshot_id]))


# --------------------------------------------------------------------------- the Safe


class SafeReader:
    """Read-only view of a Safe at ``address`` (any version from 1.0.0 to 1.5.0)."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.address = checksum(address)

    def __repr__(self) -> str:
        return f"SafeReader({self.address}, {self.chain.display_url})"

    def _call(self, name: str, types: list[str] | None = None, args: list | None = None, block: Block = "latest") -> bytes:
        data = SELECTORS[name] + (abicodec.encode(types, args, f"arguments of {name}") if types else b"")
        return self.chain.call(self.address, data, block=block)

    def _decode(self, types: list[str], raw: bytes, what: str) -> tuple:
        try:
            return abicodec.decode(types, raw, strict=False, what=what)
        except AbiError as error:
            problem = "returned nothing (no contract code?)" if not raw else f"returned unexpected data ({len(raw)} bytes)"
            raise NotASafeError(self.address, what, problem) from error

    def nonce(self, block: Block = "latest") -> int:
        return self._decode(["uint256"], self._call("nonce", block=block), "nonce()")[0]

    def owners(self, block: Block = "latest") -> list[str]:
        (owners,) = self._decode(["address[]"], self._call("getOwners", block=block), "getOwners()")
        return [checksum(owner) for owner in owners]

    def threshold(self, block: Block = "latest") -> int:
        return self._decode(["uint256"], self._call("getThreshold", block=block), "getThreshold()")[0]

    def version(self) -> str:
        return self._decode(["string"], self._call("VERSION"), "VERSION()")[0]

    def singleton(self, block: Block = "latest") -> str:
        """The master copy the proxy delegates to (storage slot 0)."""
        return _word_to_address(self.chain.get_storage_at(self.address, SINGLETON_STORAGE_SLOT, block))

    def guard(self, block: Block = "latest") -> str:
        """The transaction guard (zero address if none, and always for Safes before 1.3.0)."""
        return _word_to_address(self.chain.get_storage_at(self.address, GUARD_STORAGE_SLOT, block))

    def fallback_handler(self, block: Block = "latest") -> str:
        return _word_to_address(self.chain.get_storage_at(self.address, FALLBACK_HANDLER_STORAGE_SLOT, block))

    def modules(self, block: Block = "latest", page_size: int = 50) -> list[str]:
        """Enabled modules, via ``getModulesPaginated`` from the sentinel (``getModules`` on 1.0.0)."""
        modules: list[str] = []
        start = SENTINEL_ADDRESS
        while True:
            try:
                raw = self._call("getModulesPaginated", ["address", "uint256"], [start, page_size], block)
            except CallRevertedError:
                if modules:
                    raise
                (all_modules,) = self._decode(["address[]"], self._call("getModules", block=block), "getModules()")
                return [checksum(m) for m in all_modules]
            page, next_start = self._decode(["address[]", "address"], raw, "getModulesPaginated()")
            modules.extend(checksum(m) for m in page)
            next_start = checksum(next_start)
            if not page or next_start in (SENTINEL_ADDRESS, ZERO_ADDRESS):
                return modules
            start = next_start

    def get_transaction_hash(
        self,
        *,
        to: str,
        value: int,
        data: bytes,
        operation: int,
        nonce: int,
        safe_tx_gas: int = 0,
        base_gas: int = 0,
        gas_price: int = 0,
        gas_token: str = ZERO_ADDRESS,
        refund_receiver: str = ZERO_ADDRESS,
        block: Block = "latest",
    ) -> bytes:
        """The Safe's own ``getTransactionHash`` (``base_gas`` is 1.0.0's ``dataGas``)."""
        fields = _safe_tx_values(to, value, data, operation, safe_tx_gas, base_gas, gas_price, gas_token, refund_receiver)
        raw = self._call("getTransactionHash", [*_SAFE_TX_TYPES, "uint256"], [*fields, nonce], block)
        return self._decode(["bytes32"], raw, "getTransactionHash()")[0]

    def approved_hashes(self, owner: str, safe_tx_hash: bytes, block: Block = "latest") -> int:
        """Non-zero if ``owner`` called ``approveHash(safe_tx_hash)``."""
        raw = self._call("approvedHashes", ["address", "bytes32"], [checksum(owner), bytes(safe_tx_hash)], block)
        return self._decode(["uint256"], raw, "approvedHashes()")[0]

    def execution_events(
        self, from_block: Block = 0, to_block: Block = "latest", safe_tx_hash: bytes | None = None
    ) -> list[ExecutionEvent]:
        """Execution events of this Safe, oldest first (see the module docstring per version)."""
        topic0 = [EXECUTION_SUCCESS_TOPIC, EXECUTION_FAILURE_TOPIC, EXECUTION_FAILED_V100_TOPIC]
        events = []
        for log in self.chain.get_logs(self.address, [topic0], from_block, to_block):
            event = _execution_event(log)
            if event is not None and (safe_tx_hash is None or event.safe_tx_hash == bytes(safe_tx_hash)):
                events.append(event)
        return events

    def find_execution(self, safe_tx_hash: bytes, from_block: Block = 0, to_block: Block = "latest") -> Execution | None:
        """How ``safe_tx_hash`` was executed, or ``None`` if no event shows it.

        A Safe nonce is used once, so at most one event matches; the executor is the sender
        of the transaction that carried it.
        """
        events = self.execution_events(from_block, to_block, safe_tx_hash=safe_tx_hash)
        if not events:
            return None
        event = events[-1]
        transaction = self.chain.get_transaction(event.tx_hash)
        executor = transaction.from_address if transaction else ZERO_ADDRESS
        return Execution("success" if event.success else "failure", event.tx_hash, event.block_number, executor)


# --------------------------------------------------------------------------- calldata


def build_exec_transaction_calldata(
    *,
    to: str,
    value: int,
    data: bytes,
    operation: int,
    signatures: bytes,
    safe_tx_gas: int = 0,
    base_gas: int = 0,
    gas_price: int = 0,
    gas_token: str = ZERO_ADDRESS,
    refund_receiver: str = ZERO_ADDRESS,
) -> bytes:
    """Calldata of ``execTransaction(...)``; ``signatures`` packed in ascending owner order."""
    fields = _safe_tx_values(to, value, data, operation, safe_tx_gas, base_gas, gas_price, gas_token, refund_receiver)
    return SELECTORS["execTransaction"] + abicodec.encode([*_SAFE_TX_TYPES, "bytes"], [*fields, bytes(signatures)], "execTransaction")


def build_approve_hash_calldata(safe_tx_hash: bytes) -> bytes:
    """Calldata of ``approveHash(bytes32)``, the on-chain alternative to an off-chain signature."""
    if len(safe_tx_hash) != 32:
        raise InputError("safeTxHash", "0x" + bytes(safe_tx_hash).hex(), "expected 32 bytes")
    return SELECTORS["approveHash"] + bytes(safe_tx_hash)


def decode_revert_reason(data: bytes, message: str = "") -> str:
    """Words for revert data: ``Error(string)`` text, ``panic 0x11``, a custom error selector."""
    data = bytes(data)
    if data[:4] == _ERROR_STRING_SELECTOR:
        try:
            return abicodec.decode(["string"], data[4:], strict=False)[0]
        except AbiError:
            return "malformed Error(string) revert data"
    if data[:4] == _PANIC_SELECTOR and len(data) >= 36:
        return f"panic 0x{int.from_bytes(data[4:36], 'big'):02x}"
    if len(data) >= 4:
        return f"custom error 0x{data[:4].hex()}"
    text = message.strip()
    return text if text and text.lower() != "execution reverted" else "reverted without a reason"


# --------------------------------------------------------------------------- helpers


def checksum(address: str) -> str:
    """The checksummed form of ``address``; ``InputError`` if it is not an address."""
    if not isinstance(address, str) or not _HEX_ADDRESS.fullmatch(address):
        raise InputError("address", address, "not a 20-byte hex address (or its checksum is wrong)")
    return checksum_address(bytes.fromhex(address[-40:]))


def display_url(url: str) -> str:
    """The URL without credentials or path (RPC paths often carry API keys)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{hidden}"


def _safe_tx_values(to, value, data, operation, safe_tx_gas, base_gas, gas_price, gas_token, refund_receiver) -> list:
    if operation not in (0, 1):
        raise InputError("operation", operation, "must be 0 (CALL) or 1 (DELEGATECALL)")
    return [
        checksum(to), int(value), bytes(data), int(operation),
        int(safe_tx_gas), int(base_gas), int(gas_price), checksum(gas_token), checksum(refund_receiver),
    ]


def _execution_event(log: LogEntry) -> ExecutionEvent | None:
    topic0 = log.topics[0] if log.topics else b""
    if topic0 == EXECUTION_FAILED_V100_TOPIC:
        if len(log.data) < 32:
            return None
        return ExecutionEvent(log.data[:32], False, None, log.tx_hash, log.block_number, log.log_index)
    if topic0 not in (EXECUTION_SUCCESS_TOPIC, EXECUTION_FAILURE_TOPIC):
        return None
    if len(log.topics) >= 2:  # 1.4.1+: txHash indexed, payment in data
        safe_tx_hash = log.topics[1]
        payment = int.from_bytes(log.data[:32], "big") if len(log.data) >= 32 else 0
    elif len(log.data) >= 64:  # 1.1.1 / 1.3.0: both in data
        safe_tx_hash, payment = log.data[:32], int.from_bytes(log.data[32:64], "big")
    else:
        return None
    success = topic0 == EXECUTION_SUCCESS_TOPIC
    return ExecutionEvent(safe_tx_hash, success, payment, log.tx_hash, log.block_number, log.log_index)


@contextmanager
def _malformed(url: str, method: str) -> Iterator[None]:
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RpcError(url, f"{method}: answered a malformed result ({type(error).__name__}: {error})") from error


def _word_to_address(word: bytes) -> str:
    return checksum_address(bytes(word[-20:]))


def _error_fields(error: dict) -> tuple[int | None, str, Any]:
    code = error.get("code")
    message = str(error.get("message", "")).strip() or "no message"
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data") or data.get("result")
    return (code if isinstance(code, int) else None), " ".join(message.split()), data


def _hex_to_bytes_or_empty(data: Any) -> bytes:
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return b""


def _connection_problem(error: Exception) -> str:
    text = str(error)
    markers = ("Connection refused", "Name or service not known", "No route to host", "Connection reset", "Remote end closed")
    for marker in markers:
        if marker.lower() in text.lower():
            return marker.lower()
    return "connection failed"


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _block(block: Block) -> str:
    if isinstance(block, int):
        return hex(block)
    if block in ("latest", "pending", "earliest", "safe", "finalized"):
        return block
    raise InputError("block", block, "expected a block number or latest/pending/earliest/safe/finalized")


def _topic(topic: TopicFilter) -> Any:
    if topic is None:
        return None
    if isinstance(topic, list):
        return [_hex(t) for t in topic]
    return _hex(topic)


def _tx_params(tx: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if value is None:
            continue
        if key in ("from", "to"):
            out[key] = checksum(value)
        elif key in ("data", "input"):
            out["data"] = value if isinstance(value, str) else _hex(value)
        elif isinstance(value, int):
            out[key] = hex(value)
        else:
            out[key] = value
    return out


def _quantity(raw: Any, url: str, what: str) -> int:
    if isinstance(raw, str) and raw.startswith("0x"):
        try:
            return int(raw, 16)
        except ValueError:
            pass
    raise RpcError(url, f"{what}: expected a hex quantity, got {str(raw)[:40]!r}")


def _data(raw: Any, url: str, what: str) -> bytes:
    if isinstance(raw, str) and raw.startswith("0x") and len(raw) % 2 == 0:
        try:
            return bytes.fromhex(raw[2:])
        except ValueError:
            pass
    raise RpcError(url, f"{what}: expected hex data, got {str(raw)[:40]!r}")
