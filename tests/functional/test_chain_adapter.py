"""guardian.adapters.chain against a real anvil and a real Safe 1.4.1 (deployed with safe-eth-py).

Also: RPC failures (closed port, garbage, HTTP error, a node that sleeps past the timeout)
against tiny real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from dataclasses import dataclass

import eth_abi
import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from guardian.adapters.anvil import free_port
from guardian.adapters.chain import (
    EXECUTION_FAILURE_TOPIC,
    EXECUTION_SUCCESS_TOPIC,
    FALLBACK_HANDLER_STORAGE_SLOT,
    GUARD_STORAGE_SLOT,
    ZERO_ADDRESS,
    Chain,
    SafeReader,
    build_approve_hash_calldata,
    build_exec_transaction_calldata,
    connect,
    decode_revert_reason,
)
from guardian.errors import CallRevertedError, InputError, NotASafeError, RpcError, RpcRejectedError

# anvil's default accounts (mnemonic "test test ... junk"); they are unlocked in anvil
KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
ACCOUNTS = [Account.from_key(key) for key in KEYS]
OWNERS = [account.address for account in ACCOUNTS[:3]]
OUTSIDER = ACCOUNTS[3]  # not an owner: executes transactions, signs bad signatures


@dataclass
class SafeDeployment:
    safe: str
    singleton: str
    factory: str
    fallback_handler: str
    owners: list[str]
    threshold: int


def deploy_safe_141(url: str, owners: list[str], threshold: int) -> SafeDeployment:
    """Singleton + proxy factory + fallback handler + a Safe proxy, all through safe-eth-py."""
    from safe_eth.eth import EthereumClient
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract
    from safe_eth.safe.compatibility_fallback_handler import CompatibilityFallbackHandlerV141
    from safe_eth.safe.proxy_factory import ProxyFactory, ProxyFactoryV141
    from safe_eth.safe.safe import SafeV141

    client = EthereumClient(url)
    deployer = ACCOUNTS[0]
    singleton = SafeV141.deploy_contract(client, deployer).contract_address
    factory_address = ProxyFactoryV141.deploy_contract(client, deployer).contract_address
    handler = CompatibilityFallbackHandlerV141.deploy_contract(client, deployer).contract_address
    setup = get_safe_V1_4_1_contract(client.w3).encode_abi(
        "setup", [owners, threshold, ZERO_ADDRESS, b"", handler, ZERO_ADDRESS, 0, ZERO_ADDRESS]
    )
    factory = ProxyFactory(factory_address, client, version="1.4.1")
    sent = factory.deploy_proxy_contract_with_nonce(deployer, singleton, bytes.fromhex(setup[2:]), salt_nonce=42)
    client.w3.eth.wait_for_transaction_receipt(sent.tx_hash, timeout=10)
    return SafeDeployment(sent.contract_address, singleton, factory_address, handler, owners, threshold)


@pytest.fixture
def chain(anvil) -> Chain:
    return connect(anvil.url, timeout=10)


@pytest.fixture
def deployed(anvil) -> SafeDeployment:
    return deploy_safe_141(anvil.url, OWNERS, 2)


@pytest.fixture
def safe(chain, deployed) -> SafeReader:
    return SafeReader(chain, deployed.safe)


def sign_and_pack(safe_tx_hash: bytes, signers: list) -> bytes:
    """Raw-hash ECDSA signatures (v 27/28), packed in ascending signer-address order."""
    ordered = sorted(signers, key=lambda account: int(account.address, 16))
    packed = b""
    for account in ordered:
        signed = account.unsafe_sign_hash(safe_tx_hash)
        packed += signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    return packed


def send_signed(chain: Chain, account, to: str, data: bytes) -> bytes:
    """Estimate, price, sign locally and broadcast a transaction; returns its hash."""
    tx = {"from": account.address, "to": to, "data": data, "value": 0}
    gas = chain.estimate_gas(tx)
    signed = account.sign_transaction(
        {
            "to": to,
            "data": data,
            "value": 0,
            "gas": gas + 50_000,
            "nonce": chain.get_transaction_count(account.address),
            "chainId": chain.chain_id(),
            **chain.fee_params(),
        }
    )
    return chain.send_raw_transaction(signed.raw_transaction)


def exec_safe_tx(chain: Chain, safe: SafeReader, signers: list, **fields) -> tuple[bytes, bytes]:
    """Sign a SafeTx with ``signers`` and execute it from the outsider; (safeTxHash, tx hash)."""
    nonce = safe.nonce()
    safe_tx_hash = safe.get_transaction_hash(nonce=nonce, **fields)
    calldata = build_exec_transaction_calldata(signatures=sign_and_pack(safe_tx_hash, signers), **fields)
    return safe_tx_hash, send_signed(chain, OUTSIDER, safe.address, calldata)


def self_call(safe: SafeReader, signature: str, types: list[str], args: list) -> bytes:
    return keccak(text=signature)[:4] + eth_abi.encode(types, args)


# --------------------------------------------------------------------------- node basics


def test_node_reads_and_anvil_helpers(chain, anvil, deployed):
    assert chain.chain_id() == 31337
    start = chain.block_number()
    chain.mine(3)
    assert chain.block_number() == start + 3

    assert len(chain.get_code(deployed.singleton)) > 1000
    assert chain.get_code(OUTSIDER.address) == b""
    assert chain.get_transaction_count(OWNERS[0], "latest") >= 4  # the deployments
    fees = chain.fee_params()
    assert fees["maxFeePerGas"] >= fees["maxPriorityFeePerGas"] > 0

    stranger = "0x000000000000000000000000000000000000dEaD"
    snapshot = chain.snapshot()
    chain.set_balance(stranger, 123 * 10**18)
    assert chain.get_balance(stranger) == 123 * 10**18
    assert chain.revert(snapshot) is True
    assert chain.get_balance(stranger) == 0

    assert chain.web3.eth.chain_id == 31337  # the same provider, for callers needing web3 objects
    with pytest.raises(RpcRejectedError) as rejected:
        chain.send_raw_transaction(b"\x01\x02\x03")
    assert rejected.value.method == "eth_sendRawTransaction" and "\n" not in rejected.value.one_line()

    before = int(chain.get_block("latest")["timestamp"], 16)
    chain.increase_time(3600)
    chain.mine()
    assert int(chain.get_block("latest")["timestamp"], 16) >= before + 3600


def test_storage_slot_constants_are_the_safe_ones():
    # the values Safe's GuardManager / FallbackManager hard-code
    assert GUARD_STORAGE_SLOT == 0x4A204F620C8C5CCDCA3FD54D003BADD85BA500436A431F0CBDA4F558C93C34C8
    assert FALLBACK_HANDLER_STORAGE_SLOT == 0x6C9A6C4A39284E37ED1CF53D337577D14212A4870FB976A4366C693B939918D5


# --------------------------------------------------------------------------- SafeReader


def test_safe_reader_known_values(chain, safe, deployed):
    assert safe.version() == "1.4.1"
    assert safe.owners() == OWNERS
    assert safe.threshold() == 2
    assert safe.nonce() == 0
    assert safe.singleton() == deployed.singleton
    assert safe.fallback_handler() == deployed.fallback_handler
    assert safe.guard() == ZERO_ADDRESS
    assert safe.modules() == []
    assert safe.execution_events() == []

    # a guard written into the guard slot is read back from exactly that slot
    guard = to_checksum_address("0x00000000000000000000000000000000000000a1")
    chain.rpc("anvil_setStorageAt", [safe.address, hex(GUARD_STORAGE_SLOT), "0x" + guard[2:].rjust(64, "0")])
    assert safe.guard() == guard


def test_get_transaction_hash_matches_safe_eth_py(safe, deployed, anvil):
    from safe_eth.eth import EthereumClient
    from safe_eth.safe.safe_tx import SafeTx

    fields = dict(
        to=OWNERS[2], value=10**24, data=b"\x12\x34" * 300, operation=1,
        safe_tx_gas=50_000, base_gas=21_000, gas_price=7, gas_token=OWNERS[1], refund_receiver=OWNERS[0],
    )
    ours = safe.get_transaction_hash(nonce=17, **fields)
    reference = SafeTx(
        EthereumClient(anvil.url), deployed.safe, fields["to"], fields["value"], fields["data"], fields["operation"],
        fields["safe_tx_gas"], fields["base_gas"], fields["gas_price"], fields["gas_token"], fields["refund_receiver"],
        safe_nonce=17, safe_version="1.4.1", chain_id=31337,
    ).safe_tx_hash
    assert len(ours) == 32 and ours == bytes(reference)
    assert safe.get_transaction_hash(nonce=18, **fields) != ours


def test_calldata_matches_the_safe_abi(anvil):
    from safe_eth.eth import EthereumClient
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract

    contract = get_safe_V1_4_1_contract(EthereumClient(anvil.url).w3)
    args = [OWNERS[1], 5, b"\xab" * 37, 0, 1, 2, 3, OWNERS[2], OWNERS[0], b"\x01" * 130]
    expected = contract.encode_abi("execTransaction", args)
    ours = build_exec_transaction_calldata(
        to=args[0], value=5, data=args[2], operation=0, safe_tx_gas=1, base_gas=2, gas_price=3,
        gas_token=args[7], refund_receiver=args[8], signatures=args[9],
    )
    assert "0x" + ours.hex() == expected
    assert "0x" + build_approve_hash_calldata(b"\x07" * 32).hex() == contract.encode_abi("approveHash", [b"\x07" * 32])
    with pytest.raises(InputError):
        build_approve_hash_calldata(b"\x07" * 31)
    with pytest.raises(InputError):
        build_exec_transaction_calldata(to=OWNERS[0], value=0, data=b"", operation=2, signatures=b"")


def test_two_owner_execution_end_to_end(chain, safe):
    """Sign with two raw keys, preflight, send a signed raw tx, find the execution."""
    module = "0x000000000000000000000000000000000000bEEF"
    fields = dict(to=safe.address, value=0, data=self_call(safe, "enableModule(address)", ["address"], [module]), operation=0)
    safe_tx_hash = safe.get_transaction_hash(nonce=0, **fields)
    signatures = sign_and_pack(safe_tx_hash, [ACCOUNTS[2], ACCOUNTS[0]])  # given out of order on purpose
    calldata = build_exec_transaction_calldata(signatures=signatures, **fields)

    preflight = chain.call(safe.address, calldata, from_=OUTSIDER.address)
    assert eth_abi.decode(["bool"], preflight) == (True,)
    assert safe.find_execution(safe_tx_hash) is None

    tx_hash = send_signed(chain, OUTSIDER, safe.address, calldata)
    receipt = chain.wait_for_receipt(tx_hash, timeout=10)
    assert receipt is not None and receipt.status == 1 and receipt.tx_hash == tx_hash
    assert receipt.from_address == OUTSIDER.address and receipt.to == safe.address and receipt.gas_used > 21_000
    success = [log for log in receipt.logs if log.address == safe.address and log.topics[0] == EXECUTION_SUCCESS_TOPIC]
    assert len(success) == 1 and success[0].topics[1] == safe_tx_hash
    address, topics, data = success[0]  # plain (address, topics, data) tuples
    assert eth_abi.decode(["uint256"], data) == (0,)

    execution = safe.find_execution(safe_tx_hash)
    assert execution == ("success", tx_hash, receipt.block_number, OUTSIDER.address)
    status, found_tx, block, executor = execution
    assert (status, executor) == ("success", OUTSIDER.address)
    assert safe.nonce() == 1
    assert safe.modules() == [module]

    transaction = chain.get_transaction(tx_hash)
    assert transaction.from_address == OUTSIDER.address and transaction.input == calldata
    assert transaction.block_number == receipt.block_number
    assert chain.get_transaction(b"\x00" * 32) is None
    assert chain.get_receipt(b"\x00" * 32) is None


def test_inner_failure_is_found_as_failure(chain, safe):
    # changeThreshold(5) with 3 owners reverts inside the Safe; safeTxGas > 0 lets the outer tx succeed
    fields = dict(
        to=safe.address, value=0, data=self_call(safe, "changeThreshold(uint256)", ["uint256"], [5]),
        operation=0, safe_tx_gas=100_000,
    )
    safe_tx_hash, tx_hash = exec_safe_tx(chain, safe, ACCOUNTS[:2], **fields)
    receipt = chain.wait_for_receipt(tx_hash, timeout=10)
    assert receipt.status == 1
    assert any(log.topics[0] == EXECUTION_FAILURE_TOPIC for log in receipt.logs)
    execution = safe.find_execution(safe_tx_hash)
    assert execution.status == "failure" and execution.tx_hash == tx_hash
    assert safe.threshold() == 2 and safe.nonce() == 1
    events = safe.execution_events(from_block=0)
    assert [(e.safe_tx_hash, e.success) for e in events] == [(safe_tx_hash, False)]


def test_modules_are_paginated(chain, safe):
    modules = [to_checksum_address(f"0x{'0' * 36}{i:04x}") for i in (0xB001, 0xB002, 0xB003)]
    hashes = []
    for module in modules:
        data = self_call(safe, "enableModule(address)", ["address"], [module])
        safe_tx_hash, tx_hash = exec_safe_tx(chain, safe, ACCOUNTS[1:3], to=safe.address, value=0, data=data, operation=0)
        assert chain.wait_for_receipt(tx_hash, timeout=10).status == 1
        hashes.append(safe_tx_hash)
    assert safe.modules(page_size=2) == list(reversed(modules))  # the Safe lists newest first
    assert safe.modules(page_size=2) == safe.modules()
    assert [e.safe_tx_hash for e in safe.execution_events()] == hashes
    assert safe.execution_events(from_block=chain.block_number()) == [safe.execution_events()[-1]]


def test_bad_signature_preflight_reverts_with_gs026(chain, safe):
    fields = dict(to=OWNERS[0], value=0, data=b"", operation=0)
    safe_tx_hash = safe.get_transaction_hash(nonce=0, **fields)
    calldata = build_exec_transaction_calldata(signatures=sign_and_pack(safe_tx_hash, [ACCOUNTS[0], OUTSIDER]), **fields)
    with pytest.raises(CallRevertedError) as caught:
        chain.call(safe.address, calldata, from_=OUTSIDER.address)
    assert caught.value.reason == "GS026"
    assert caught.value.data[:4] == keccak(text="Error(string)")[:4]
    assert eth_abi.decode(["string"], caught.value.data[4:]) == ("GS026",)
    assert "GS026" in caught.value.one_line()

    with pytest.raises(CallRevertedError) as estimated:
        chain.estimate_gas({"from": OUTSIDER.address, "to": safe.address, "data": calldata})
    assert estimated.value.reason == "GS026"

    # too few signatures: GS020 (signatures data too short)
    short = build_exec_transaction_calldata(signatures=sign_and_pack(safe_tx_hash, [ACCOUNTS[0]]), **fields)
    with pytest.raises(CallRevertedError, match="GS020"):
        chain.call(safe.address, short)


def test_approve_hash_impersonation_and_send_unsigned(chain, safe):
    fields = dict(to=OWNERS[0], value=0, data=b"", operation=0)
    safe_tx_hash = safe.get_transaction_hash(nonce=0, **fields)
    assert safe.approved_hashes(OWNERS[1], safe_tx_hash) == 0
    tx_hash = chain.send_unsigned_as(OWNERS[1], safe.address, build_approve_hash_calldata(safe_tx_hash))
    assert chain.wait_for_receipt(tx_hash, timeout=10).status == 1
    assert safe.approved_hashes(OWNERS[1], safe_tx_hash) == 1
    assert safe.approved_hashes(OWNERS[0], safe_tx_hash) == 0

    # the Safe itself, impersonated, changes its own threshold
    chain.impersonate(safe.address)
    chain.set_balance(safe.address, 10**18)
    tx_hash = chain.send_unsigned_as(safe.address, safe.address, self_call(safe, "changeThreshold(uint256)", ["uint256"], [1]))
    assert chain.wait_for_receipt(tx_hash, timeout=10).status == 1
    assert safe.threshold() == 1
    chain.stop_impersonating(safe.address)
    with pytest.raises(RpcRejectedError):
        chain.send_unsigned_as(safe.address, safe.address, self_call(safe, "changeThreshold(uint256)", ["uint256"], [2]))


def test_reader_on_a_non_safe_says_so(chain):
    with pytest.raises(NotASafeError, match="does not look like a Safe"):
        SafeReader(chain, OUTSIDER.address).owners()
    with pytest.raises(InputError):
        SafeReader(chain, "0x1234")


def test_get_logs_and_revert_reasons(chain, safe):
    assert chain.get_logs(safe.address, [EXECUTION_SUCCESS_TOPIC], 0, "latest") == []
    assert decode_revert_reason(b"") == "reverted without a reason"
    assert decode_revert_reason(keccak(text="Panic(uint256)")[:4] + (0x11).to_bytes(32, "big")) == "panic 0x11"
    assert decode_revert_reason(bytes.fromhex("deadbeef")) == "custom error 0xdeadbeef"


# --------------------------------------------------------------------------- RPC failures


class _Server:
    """A real HTTP server on 127.0.0.1 that answers every POST with ``behaviour``."""

    def __init__(self, behaviour):
        handler_behaviour = behaviour

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body, delay = handler_behaviour()
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _assert_one_line_rpc_error(error: RpcError, url_part: str, *words: str):
    text = error.one_line()
    assert "\n" not in text and url_part in text
    for word in words:
        assert word in text, text


def test_closed_port_is_a_one_line_rpc_error():
    port = free_port()
    with socket.socket() as probe:  # nothing listens there
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    started = time.monotonic()
    with pytest.raises(RpcError) as caught:
        connect(f"http://127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - started < 2
    _assert_one_line_rpc_error(caught.value, f"127.0.0.1:{port}", "unreachable", "connection refused")


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (200, b"<html>definitely not json</html>", ("not JSON",)),
        (200, b"\xff\xfe\x00garbage", ("not JSON",)),
        (200, b'{"hello": "world"}', ("not a JSON-RPC response",)),
        (200, b"[1, 2, 3]", ("not a JSON-RPC response",)),
        (200, b'{"jsonrpc": "2.0", "id": 1, "result": "not-hex"}', ("expected a hex quantity",)),
        (500, b"internal error", ("HTTP error 500",)),
        (200, b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "method not found"}}', ("rejected", "method not found")),
    ],
)
def test_garbage_answers_are_rpc_errors(status, body, words):
    with _Server(lambda: (status, body, 0)) as server:
        with pytest.raises(RpcError) as caught:
            connect(server.url, timeout=2)
    _assert_one_line_rpc_error(caught.value, "127.0.0.1", *words)


def test_node_sleeping_past_the_timeout_is_an_rpc_error():
    with _Server(lambda: (200, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}', 3)) as server:
        started = time.monotonic()
        with pytest.raises(RpcError) as caught:
            connect(server.url, timeout=0.5)
        assert time.monotonic() - started < 2.5
    _assert_one_line_rpc_error(caught.value, "127.0.0.1", "timeout", "0.5s")


def test_dies_after_connect_is_an_rpc_error(anvil):
    chain = connect(anvil.url, timeout=2)
    anvil.stop()
    with pytest.raises(RpcError, match="unreachable"):
        chain.wait_for_receipt(b"\x01" * 32, timeout=1)


def test_urls_are_shown_without_secrets():
    with pytest.raises(RpcError) as caught:
        connect("ws://user:pw@example.invalid/v3/SECRETKEY")
    assert "SECRETKEY" not in caught.value.one_line() and "pw" not in caught.value.one_line()
    port = free_port()
    with pytest.raises(RpcError) as caught:
        connect(f"http://127.0.0.1:{port}/v3/SECRETKEY", timeout=1)
    assert "SECRETKEY" not in caught.value.one_line()
