"""``hash_safe_tx`` against the real Safe contracts' ``getTransactionHash`` on anvil.

For every supported version, the singleton bytecode that safe-eth-py ships is deployed, a
proxy is put in front of it and ``setup`` is called (1.0.0 and 1.1.1 only set their domain
separator in ``setup``) with three anvil accounts as owners and threshold 2. Then the offline
hashes must equal what the contract computes: ``domainSeparator()``, ``encodeTransactionData``
(message hash, where the version has it) and ``getTransactionHash``.

The same Safes then execute transactions signed and packed by ``guardian.domain.signatures``
(EIP-712, eth_sign and approved-hash signatures), and the receipts' logs and the reverts are
decoded with ``AbiRegistry``. The project's OpenZeppelin TimelockController (the ape build)
checks ``guardian.domain.timelock``: operation ids, schedule/execute/cancel calldata, events
and custom-error reverts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.adapters.anvil import start_anvil
from guardian.domain.abi import AbiRegistry, encode_call
from guardian.domain.multisend import Call
from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS, SafeTx, hash_safe_tx
from guardian.domain.signatures import SafeSignature, approved_hash_signature, kinds_for_version, pack_signatures
from guardian.domain.timelock import (
    cancel_operation,
    decode_timelock_call,
    execute_operation,
    operation_id,
    operation_id_batch,
    schedule_operation,
)
from guardian.domain.values import UINT256_MAX, ZERO_ADDRESS, checksum_address, keccak

SINGLETON_FILES = {
    "1.0.0": "GnosisSafe_V1_0_0.json",
    "1.1.1": "GnosisSafe_V1_1_1.json",
    "1.3.0": "GnosisSafe_V1_3_0.json",
    "1.4.1": "Safe_V1_4_1.json",
    "1.5.0": "Safe_V1_5_0.json",
}
PROXY_FILES = {
    "1.0.0": "Proxy_V1_0_0.json",
    "1.1.1": "Proxy_V1_1_1.json",
    "1.3.0": "Proxy_V1_3_0.json",
    "1.4.1": "Proxy_V1_4_1.json",
    "1.5.0": "Proxy_V1_5_0.json",
}
# anvil's first three default accounts (the "test test ... junk" mnemonic)
ANVIL_KEYS = (
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
)
WHEN = "2025-01-31T12:00:00Z"
OTHER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
TOKEN = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
RECEIVER = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """One anvil with a set-up Safe proxy per version: yields (web3, chain id, {version: contract})."""
    from safe_eth.eth.contracts import load_contract_interface
    from web3 import Web3

    with start_anvil(log_dir=tmp_path_factory.mktemp("anvil")) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployer = w3.eth.accounts[0]
        safes = {}
        for version in SUPPORTED_SAFE_VERSIONS:
            singleton_json = load_contract_interface(SINGLETON_FILES[version])
            singleton = _deploy(w3, deployer, singleton_json)
            proxy_address = _deploy(w3, deployer, load_contract_interface(PROXY_FILES[version]), singleton)
            safe = w3.eth.contract(address=proxy_address, abi=singleton_json["abi"])
            owners = w3.eth.accounts[:3]
            if version == "1.0.0":
                setup = safe.functions.setup(owners, 2, ZERO_ADDRESS, b"", ZERO_ADDRESS, 0, ZERO_ADDRESS)
            else:
                setup = safe.functions.setup(owners, 2, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS)
            receipt = w3.eth.wait_for_transaction_receipt(setup.transact({"from": deployer}))
            assert receipt.status == 1, f"setup failed for {version}"
            assert safe.functions.VERSION().call() == version
            safes[version] = safe
        yield w3, w3.eth.chain_id, safes
        safes.clear()


def _deploy(w3, deployer, interface, *args) -> str:
    factory = w3.eth.contract(abi=interface["abi"], bytecode=interface["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": deployer}))
    assert receipt.status == 1 and receipt.contractAddress
    return receipt.contractAddress


def _onchain(safe, tx: SafeTx) -> bytes:
    return bytes(
        safe.functions.getTransactionHash(
            tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price,
            tx.gas_token, tx.refund_receiver, tx.nonce,
        ).call()
    )  # fmt: skip


def _tx(safe, chain_id: int, version: str, **fields) -> SafeTx:
    base = dict(to=OTHER, value=0, data=b"", operation=0)
    base.update(fields)
    return SafeTx(safe=safe.address, chain_id=chain_id, safe_version=version, **base)


CASES = {
    "empty call": {},
    "max value and nonce": dict(value=UINT256_MAX, nonce=UINT256_MAX),
    "long data (10 KB)": dict(data=bytes(range(256)) * 40),
    "delegatecall": dict(operation=1, data=bytes.fromhex("8d80ff0a") + b"\x01" * 100),
    "gas and refund fields": dict(
        safe_tx_gas=123_456, base_gas=21_000, gas_price=UINT256_MAX, gas_token=TOKEN, refund_receiver=RECEIVER, nonce=7
    ),
    "everything at once": dict(
        value=10**18, data=b"\xff" * 1000, operation=1, safe_tx_gas=UINT256_MAX, base_gas=UINT256_MAX,
        gas_price=1, gas_token=TOKEN, refund_receiver=RECEIVER, nonce=2**64,
    ),  # fmt: skip
}


@pytest.mark.parametrize("version", SUPPORTED_SAFE_VERSIONS)
def test_domain_separator_matches_chain(chain, version):
    w3, chain_id, safes = chain
    safe = safes[version]
    hashes = hash_safe_tx(_tx(safe, chain_id, version))
    assert hashes.domain_hash == bytes(safe.functions.domainSeparator().call())


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("version", SUPPORTED_SAFE_VERSIONS)
def test_hashes_match_get_transaction_hash(chain, version, case):
    w3, chain_id, safes = chain
    safe = safes[version]
    tx = _tx(safe, chain_id, version, **CASES[case])
    hashes = hash_safe_tx(tx)
    assert hashes.safe_tx_hash == _onchain(safe, tx)
    if hasattr(safe.functions, "encodeTransactionData"):  # 1.0.0 - 1.4.1: 0x1901 | domain | message
        encoded = bytes(
            safe.functions.encodeTransactionData(
                tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price,
                tx.gas_token, tx.refund_receiver, tx.nonce,
            ).call()
        )  # fmt: skip
        assert encoded == b"\x19\x01" + hashes.domain_hash + hashes.message_hash


@pytest.mark.parametrize("version", ["1.0.0", "1.1.1"])
def test_chain_id_is_not_in_the_domain_before_1_3_0(chain, version):
    w3, chain_id, safes = chain
    safe = safes[version]
    elsewhere = _tx(safe, chain_id + 1000, version, value=5)
    assert hash_safe_tx(elsewhere).safe_tx_hash == _onchain(safe, elsewhere)


@pytest.mark.parametrize("version", ["1.3.0", "1.4.1", "1.5.0"])
def test_chain_id_changes_the_hash_from_1_3_0(chain, version):
    w3, chain_id, safes = chain
    safe = safes[version]
    elsewhere = _tx(safe, chain_id + 1, version, value=5)
    assert hash_safe_tx(elsewhere).safe_tx_hash != _onchain(safe, elsewhere)


def test_a_mismatched_version_gives_a_different_hash(chain):
    """Hashing a 1.1.1 Safe as if it were 1.3.0 must not match: the version is not cosmetic."""
    w3, chain_id, safes = chain
    safe = safes["1.1.1"]
    wrong = _tx(safe, chain_id, "1.3.0", value=1)
    assert hash_safe_tx(wrong).safe_tx_hash != _onchain(safe, wrong)


addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
uint256 = st.one_of(st.integers(0, 2**16), st.integers(0, UINT256_MAX), st.just(UINT256_MAX))
fields = st.fixed_dictionaries(
    {
        "to": addresses,
        "value": uint256,
        "data": st.binary(max_size=600),
        "operation": st.sampled_from([0, 1]),
        "safe_tx_gas": uint256,
        "base_gas": uint256,
        "gas_price": uint256,
        "gas_token": addresses,
        "refund_receiver": addresses,
        "nonce": uint256,
    }
)


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED_SAFE_VERSIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tx_fields=fields)
def test_random_transactions_match_the_chain(chain, version, tx_fields):
    w3, chain_id, safes = chain
    safe = safes[version]
    tx = _tx(safe, chain_id, version, **tx_fields)
    assert hash_safe_tx(tx).safe_tx_hash == _onchain(safe, tx)


# -- signatures, execution, logs and reverts on the real Safes -------------------------------


def _key(index: int):
    from eth_keys import keys

    return keys.PrivateKey(bytes.fromhex(ANVIL_KEYS[index]))


def _sign(tx: SafeTx, index: int, kind: str) -> SafeSignature:
    safe_tx_hash = hash_safe_tx(tx).safe_tx_hash
    if kind == "approved_hash":
        owner = _key(index).public_key.to_checksum_address()
        return SafeSignature(owner, kind, approved_hash_signature(owner), WHEN)
    digest = safe_tx_hash if kind == "eip712" else keccak(b"\x19Ethereum Signed Message:\n32" + safe_tx_hash)
    return SafeSignature.create(kind, _key(index).sign_msg_hash(digest).to_bytes(), safe_tx_hash, WHEN)


def _exec_call(safe, tx: SafeTx, signatures: list[SafeSignature]):
    return safe.functions.execTransaction(
        tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
        tx.refund_receiver, pack_signatures(signatures),
    )  # fmt: skip


def _revert_data(call, sender) -> bytes:
    from web3.exceptions import ContractLogicError

    try:
        call.call({"from": sender})
    except ContractLogicError as error:
        return bytes.fromhex(error.data[2:]) if isinstance(error.data, str) else bytes(error.data or b"")
    raise AssertionError("the call did not revert")


def _decoded_logs(w3, registry, receipt) -> list:
    return [registry.decode_log(log["address"], [bytes(t) for t in log["topics"]], bytes(log["data"])) for log in receipt["logs"]]


def _next_tx(w3, chain_id, safe, version, **fields) -> SafeTx:
    return _tx(safe, chain_id, version, nonce=safe.functions.nonce().call(), **fields)


@pytest.mark.parametrize("version", SUPPORTED_SAFE_VERSIONS)
def test_signatures_pack_and_execute_on_the_real_safe(chain, version):
    w3, chain_id, safes = chain
    safe = safes[version]
    registry = AbiRegistry()
    registry.add_builtin("safe", safe.address, "Safe")
    executor = w3.eth.accounts[0]
    assert [_key(i).public_key.to_checksum_address() for i in range(3)] == w3.eth.accounts[:3]

    # 1 signature for a threshold of 2: the Safe refuses, and the revert is decoded
    tx = _next_tx(w3, chain_id, safe, version, value=0)
    reason = registry.decode_revert(_revert_data(_exec_call(safe, tx, [_sign(tx, 1, "eip712")]), executor))
    assert "Signatures data too short" in reason
    if version >= "1.3.0":
        assert reason == "GS020: Signatures data too short"

    # EIP-712 + eth_sign, packed in owner order (given in the wrong order on purpose)
    signatures = [_sign(tx, 2, "eth_sign"), _sign(tx, 1, "eip712")]
    if version == "1.0.0":  # 1.0.0 predates eth_sign: it refuses v = 31/32, as kinds_for_version says
        assert kinds_for_version(version) == ("eip712", "approved_hash")
        reason = registry.decode_revert(_revert_data(_exec_call(safe, tx, signatures), executor))
        assert reason == 'Error("Invalid owner provided")'
        signatures = [_sign(tx, 2, "eip712"), _sign(tx, 1, "eip712")]
    else:
        assert "eth_sign" in kinds_for_version(version)
    receipt = w3.eth.wait_for_transaction_receipt(_exec_call(safe, tx, signatures).transact({"from": executor}))
    assert receipt.status == 1
    events = [e for e in _decoded_logs(w3, registry, receipt) if e is not None]
    names = [e.name for e in events]
    assert "ExecutionFailure" not in names and "ExecutionFailed" not in names
    if version != "1.0.0":  # 1.0.0 emits no success event
        success = next(e for e in events if e.name == "ExecutionSuccess")
        assert success.arg("txHash") == hash_safe_tx(tx).safe_tx_hash

    # approved hash (the executor is an owner) + EIP-712; the inner call fails: ExecutionFailure
    failing = _next_tx(w3, chain_id, safe, version, to=safe.address, data=encode_call("changeThreshold(uint256)", [5]), safe_tx_gas=200_000)
    signatures = [_sign(failing, 0, "approved_hash"), _sign(failing, 1, "eip712")]
    receipt = w3.eth.wait_for_transaction_receipt(_exec_call(safe, failing, signatures).transact({"from": executor}))
    assert receipt.status == 1
    events = [e for e in _decoded_logs(w3, registry, receipt) if e is not None]
    failure = next(e for e in events if e.name in ("ExecutionFailure", "ExecutionFailed"))
    assert failure.arg("txHash") == hash_safe_tx(failing).safe_tx_hash
    assert safe.functions.getThreshold().call() == 2

    # a signature over another transaction recovers to a non-owner: GS026 (or its old text)
    stale = _next_tx(w3, chain_id, safe, version, value=0)
    wrong = [_sign(failing, 1, "eip712"), _sign(stale, 2, "eip712")]
    reason = registry.decode_revert(_revert_data(_exec_call(safe, stale, wrong), executor))
    assert "GS026" in reason or "Invalid owner provided" in reason


# -- the OpenZeppelin TimelockController of the project build -----------------------------------


@pytest.fixture(scope="module")
def timelock(chain):
    from guardian.testbed import load_build

    w3, chain_id, _ = chain
    build = load_build()["Timelock"]
    deployer = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=build["abi"], bytecode=build["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(0, [deployer], [deployer], ZERO_ADDRESS).transact({"from": deployer}))
    contract = w3.eth.contract(address=receipt.contractAddress, abi=build["abi"])
    registry = AbiRegistry()
    registry.add("timelock", contract.address, build["abi"])
    return w3, contract, registry


SALT = keccak(b"guardian salt")
PREDECESSOR = b"\x00" * 32


def test_operation_ids_match_hash_operation(timelock):
    w3, contract, _ = timelock
    data = encode_call("setMaxLeverage(uint256)", [5])
    assert operation_id(OTHER, 7, data, PREDECESSOR, SALT) == bytes(contract.functions.hashOperation(OTHER, 7, data, PREDECESSOR, SALT).call())
    targets, values, payloads = [OTHER, TOKEN], [0, UINT256_MAX], [data, b"\xff" * 300]
    on_chain = contract.functions.hashOperationBatch(targets, values, payloads, keccak(b"p"), SALT).call()
    assert operation_id_batch(targets, values, payloads, keccak(b"p"), SALT) == bytes(on_chain)


def test_schedule_execute_and_cancel_through_our_calldata(timelock):
    w3, contract, registry = timelock
    sender = w3.eth.accounts[0]

    def send(data: bytes):
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": sender, "to": contract.address, "data": data}))
        assert receipt.status == 1
        return [e for e in _decoded_logs(w3, registry, receipt) if e is not None]

    update = Call(contract.address, 0, encode_call("updateDelay(uint256)", [5]))
    scheduled = schedule_operation([update, Call(OTHER, 0, b"")], PREDECESSOR, SALT, 0)
    assert scheduled.batch and decode_timelock_call(scheduled.calldata()) == scheduled
    events = send(scheduled.calldata())
    assert [e.name for e in events] == ["CallScheduled", "CallScheduled", "CallSalt"]
    assert events[0].arg("id") == scheduled.operation_id and events[1].arg("target") == OTHER
    assert contract.functions.isOperationPending(scheduled.operation_id).call()

    executed = execute_operation(scheduled.calls, PREDECESSOR, SALT, batch=True)
    events = send(executed.calldata())
    assert [e.name for e in events] == ["MinDelayChange", "CallExecuted", "CallExecuted"]
    assert events[0].as_dict() == {"oldDuration": 0, "newDuration": 5}
    assert contract.functions.isOperationDone(scheduled.operation_id).call()

    reason = registry.decode_revert(_revert_data_raw(w3, sender, contract.address, executed.calldata()))
    assert reason.startswith(f"TimelockUnexpectedOperationState(operationId=0x{scheduled.operation_id.hex()}")

    queued = schedule_operation([Call(OTHER, 1, b"")], PREDECESSOR, keccak(b"veto me"), 5)
    assert not queued.batch
    send(queued.calldata())
    events = send(cancel_operation(queued.operation_id).calldata())
    assert [e.name for e in events] == ["Cancelled"] and events[0].arg("id") == queued.operation_id
    assert not contract.functions.isOperation(queued.operation_id).call()

    too_short = schedule_operation([Call(OTHER, 0, b"")], PREDECESSOR, keccak(b"short"), 1)
    reason = registry.decode_revert(_revert_data_raw(w3, sender, contract.address, too_short.calldata()))
    assert reason == "TimelockInsufficientDelay(delay=1, minDelay=5)"


def _revert_data_raw(w3, sender, to, data) -> bytes:
    from web3.exceptions import ContractLogicError

    try:
        w3.eth.call({"from": sender, "to": to, "data": data})
    except ContractLogicError as error:
        return bytes.fromhex(error.data[2:])
    raise AssertionError("the call did not revert")
