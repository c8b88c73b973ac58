"""``hash_safe_tx`` against the real Safe contracts' ``getTransactionHash`` on anvil.

For every supported version, the singleton bytecode that safe-eth-py ships is deployed, a
proxy is put in front of it and ``setup`` is called (1.0.0 and 1.1.1 only set their domain
separator in ``setup``). Then the offline hashes must equal what the contract computes:
``domainSeparator()``, ``encodeTransactionData`` (message hash, where the version has it) and
``getTransactionHash``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.adapters.anvil import start_anvil
from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS, SafeTx, hash_safe_tx
from guardian.domain.values import UINT256_MAX, ZERO_ADDRESS, checksum_address

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
            owners = [deployer]
            if version == "1.0.0":
                setup = safe.functions.setup(owners, 1, ZERO_ADDRESS, b"", ZERO_ADDRESS, 0, ZERO_ADDRESS)
            else:
                setup = safe.functions.setup(owners, 1, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS)
            receipt = w3.eth.wait_for_transaction_receipt(setup.transact({"from": deployer}))
            assert receipt.status == 1, f"setup failed for {version}"
            assert safe.functions.VERSION().call() == version
            safes[version] = safe
        yield w3, w3.eth.chain_id, safes


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
