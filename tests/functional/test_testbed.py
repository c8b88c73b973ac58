"""The testbed (guardian.testbed) against real anvil nodes and the real compiled contracts.

Safe transactions here are signed by hand (the Safe's own getTransactionHash, raw owner keys)
so that these tests do not depend on guardian's own hashing/signing code.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from guardian.adapters.anvil import free_port, start_anvil
from guardian.errors import DuplicateOwnerError, InputError, RpcError, TestbedError, ThresholdError
from guardian.testbed import (
    ANVIL_ADDRESSES,
    ANVIL_KEYS,
    DEFAULT_OWNERS,
    VARIANTS,
    Testbed,
    deploy_testbed,
    load_build,
    market_id,
)

ZERO = "0x" + "00" * 20
ATTACKER_KEY = ANVIL_KEYS[7]
KEEPER_KEY = ANVIL_KEYS[6]


# ---- helpers ---------------------------------------------------------------------------------


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def role(name: str) -> bytes:
    return keccak(text=name)


def raw_call(url: str, sender: str, to: str, data: bytes) -> tuple[bool, bytes]:
    """eth_call; returns (succeeded, return data or revert data)."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_call",
        "params": [{"from": sender, "to": to, "data": "0x" + data.hex()}, "latest"],
    }
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        data_hex = reply["error"].get("data") or "0x"
        return False, bytes.fromhex(data_hex[2:])
    return True, bytes.fromhex(reply["result"][2:])


def assert_reverts_with(url, sender, to, data, error_signature: str, types: list[str] | None = None):
    ok, output = raw_call(url, sender, to, data)
    assert not ok, f"expected a revert with {error_signature}, but the call succeeded"
    assert output[:4] == selector(error_signature), f"reverted with {output.hex()[:8]}, expected {error_signature}"
    return eth_abi.decode(types, output[4:]) if types else None


def w3_of(node) -> Web3:
    return Web3(Web3.HTTPProvider(node.url))


def contract(w3: Web3, bed: Testbed, type_name: str, address: str):
    return w3.eth.contract(address=address, abi=bed.abis[type_name])


def calldata(w3: Web3, bed: Testbed, type_name: str, function: str, *args) -> bytes:
    return bytes.fromhex(w3.eth.contract(abi=bed.abis[type_name]).encode_abi(function, args=list(args))[2:])


def send(w3: Web3, key: str, function):
    account = Account.from_key(key)
    tx = function.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    return receipt


def exec_safe(w3: Web3, bed: Testbed, to: str, data: bytes, signer_names: list[str], operation: int = 0):
    """Execute a Safe transaction signed by ``signer_names`` (raw keys), sent by the first signer."""
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract

    safe = get_safe_V1_4_1_contract(w3, bed.safe)
    nonce = safe.functions.nonce().call()
    safe_tx_hash = safe.functions.getTransactionHash(to, 0, data, operation, 0, 0, 0, ZERO, ZERO, nonce).call()
    keys = sorted((bed.owner_keys[name] for name in signer_names), key=lambda k: int(Account.from_key(k).address, 16))
    signatures = b""
    for key in keys:
        signed = Account.unsafe_sign_hash(safe_tx_hash, key)
        signatures += signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    function = safe.functions.execTransaction(to, 0, data, operation, 0, 0, 0, ZERO, ZERO, signatures)
    return send(w3, bed.owner_keys[signer_names[0]], function)


def multisend(txs: list[tuple[str, bytes]]) -> bytes:
    """MultiSendCallOnly payload: CALLs only, value 0."""
    packed = b"".join(
        b"\x00" + bytes.fromhex(to[2:]) + (0).to_bytes(32, "big") + len(data).to_bytes(32, "big") + data for to, data in txs
    )
    return selector("multiSend(bytes)") + eth_abi.encode(["bytes"], [packed])


# ---- the deployment --------------------------------------------------------------------------


def test_testbed_deploys_every_contract_and_writes_the_playbook(testbed):
    node, bed = testbed
    w3 = w3_of(node)
    addresses = {
        "safe": bed.safe,
        "singleton": bed.safe_singleton,
        "factory": bed.proxy_factory,
        "multisend": bed.multisend_call_only,
        "handler": bed.fallback_handler,
        **bed.contracts,
    }
    for name, address in addresses.items():
        assert len(w3.eth.get_code(address)) > 0, f"no code at {name} {address}"
    assert bed.chain_id == 31337 and bed.safe_version == "1.4.1"
    # the depositor's collateral is in the vault
    vault = contract(w3, bed, "Vault", bed.vault)
    token = contract(w3, bed, "MockUSD", bed.collateral)
    assert vault.functions.totalDeposits().call() == 1_000_000 * 10**6
    assert token.functions.balanceOf(bed.vault).call() == 1_000_000 * 10**6
    assert vault.functions.balanceOf(bed.actors["depositor"]).call() == 1_000_000 * 10**6
    # the playbook and its ABI files
    assert bed.playbook_path.is_file()
    for type_name in ("Vault", "PerpMarket", "PriceOracle", "MockUSD", "Timelock"):
        assert json.loads((bed.abi_dir / f"{type_name}.json").read_text()) == bed.abis[type_name]


def test_playbook_loads_and_matches_the_chain(testbed):
    node, bed = testbed
    from guardian.config import load_playbook

    playbook = load_playbook(bed.playbook_path)
    assert playbook.safe.address == bed.safe
    assert playbook.safe.threshold == 3
    assert playbook.safe.owners == dict(zip(["alice", "bob", "carol", "dave", "erin"], DEFAULT_OWNERS))
    assert playbook.safe.multisend_call_only == bed.multisend_call_only
    assert playbook.timelock.address == bed.timelock and playbook.timelock.min_delay == 3600
    assert playbook.network().chain_id == 31337 and playbook.network().rpc_url == node.url
    assert {name: c.address for name, c in playbook.contracts.items()} == bed.contracts
    expected_actions = {
        "pause-vault": ("safe", "pause()"),
        "pause-market": ("safe", "pause()"),
        "unpause-vault": ("timelock", "unpause()"),
        "freeze-account": ("safe", "freezeAccount(address)"),
        "freeze-market": ("safe", "freezeMarket(bytes32)"),
        "set-max-leverage": ("timelock", "setMaxLeverage(uint256)"),
        "set-maintenance-margin": ("timelock", "setMaintenanceMarginBps(uint256)"),
        "set-withdrawal-cap": ("timelock", "setWithdrawalCap(uint256)"),
        "set-oracle": ("timelock", "setOracle(address)"),
    }
    for name, (route, function) in expected_actions.items():
        action = playbook.action(name)
        assert (action.route, action.function) == (route, function), name
        assert action.postconditions, f"{name} has no postconditions"
    # parameter bounds in the playbook are the on-chain ones
    w3 = w3_of(node)
    vault = contract(w3, bed, "Vault", bed.vault).functions
    market = contract(w3, bed, "PerpMarket", bed.market).functions
    bounds = {
        "set-max-leverage": (market.MIN_LEVERAGE().call(), market.MAX_LEVERAGE().call()),
        "set-maintenance-margin": (market.MIN_MAINTENANCE_MARGIN_BPS().call(), market.MAX_MAINTENANCE_MARGIN_BPS().call()),
        "set-withdrawal-cap": (vault.MIN_WITHDRAWAL_CAP().call(), vault.MAX_WITHDRAWAL_CAP().call()),
    }
    for name, (low, high) in bounds.items():
        (param,) = playbook.action(name).params
        assert (param.min, param.max) == (low, high), name
    drill = playbook.drill("vault-drain")
    assert drill.actors["attacker"] == bed.actors["attacker"]
    assert [item.action for item in drill.response] == ["pause-vault", "freeze-account", "set-withdrawal-cap"]
    assert [signer.owner for signer in drill.signers] == ["alice", "bob", "carol"]
    assert [signer.backend for signer in drill.signers] == ["ledger-emulator", "keystore", "key"]
    assert {f"GUARDIAN_TESTBED_{n.upper()}_KEY" for n in bed.owners} <= set(bed.signer_env())
    keystore = json.loads(Path(drill.signers[1].options["keystore"]).read_text())
    assert keystore["address"].lower() == bed.owners["bob"][2:].lower()


def test_owners_and_threshold(testbed):
    node, bed = testbed
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract

    safe = get_safe_V1_4_1_contract(w3_of(node), bed.safe).functions
    assert safe.getOwners().call() == list(DEFAULT_OWNERS)
    assert safe.getThreshold().call() == 3
    assert safe.VERSION().call() == "1.4.1"
    assert list(bed.owners) == ["alice", "bob", "carol", "dave", "erin"]
    assert list(bed.owners.values()) == list(DEFAULT_OWNERS) == list(ANVIL_ADDRESSES[1:6])
    assert all(Account.from_key(bed.owner_keys[n]).address == a for n, a in bed.owners.items())
    assert bed.deployer not in bed.owners.values()


def test_roles_are_wired(testbed):
    node, bed = testbed
    w3 = w3_of(node)
    timelock = contract(w3, bed, "Timelock", bed.timelock).functions
    admin = b"\x00" * 32
    assert timelock.getMinDelay().call() == 3600
    assert timelock.hasRole(role("PROPOSER_ROLE"), bed.safe).call()
    assert timelock.hasRole(role("CANCELLER_ROLE"), bed.safe).call()
    assert timelock.hasRole(role("EXECUTOR_ROLE"), bed.safe).call()
    assert not timelock.hasRole(role("EXECUTOR_ROLE"), ZERO).call(), "execution must not be open to anyone"
    assert timelock.hasRole(admin, bed.timelock).call()  # self-administered
    for outsider in (bed.deployer, bed.actors["attacker"], *bed.owners.values()):
        for name in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
            assert not timelock.hasRole(role(name), outsider).call(), (name, outsider)
        assert not timelock.hasRole(admin, outsider).call()
    for type_name, address in (("Vault", bed.vault), ("PerpMarket", bed.market)):
        guarded = contract(w3, bed, type_name, address).functions
        assert guarded.hasRole(role("GUARDIAN_ROLE"), bed.safe).call(), type_name
        assert guarded.hasRole(role("GOVERNOR_ROLE"), bed.timelock).call(), type_name
        assert guarded.hasRole(admin, bed.timelock).call(), type_name
        assert not guarded.hasRole(role("GUARDIAN_ROLE"), bed.timelock).call(), type_name
        assert not guarded.hasRole(role("GOVERNOR_ROLE"), bed.safe).call(), type_name
        for name in ("GUARDIAN_ROLE", "GOVERNOR_ROLE"):
            assert not guarded.hasRole(role(name), bed.deployer).call(), (type_name, name)
        assert not guarded.hasRole(admin, bed.deployer).call(), type_name
        assert not guarded.paused().call()
        assert guarded.pauseWindowEnd().call() > w3.eth.get_block("latest")["timestamp"] + 170 * 86400
    vault = contract(w3, bed, "Vault", bed.vault).functions
    assert vault.hasRole(role("OPERATOR_ROLE"), bed.market).call()
    assert vault.hasRole(role("OPERATOR_ROLE"), bed.actors["keeper"]).call()
    market = contract(w3, bed, "PerpMarket", bed.market).functions
    assert market.oracle().call() == bed.oracle
    assert market.isMarketListed(market_id("ETH-USD")).call()
    for address in (bed.oracle, bed.backup_oracle):
        oracle = contract(w3, bed, "PriceOracle", address).functions
        assert oracle.hasRole(role("UPDATER_ROLE"), bed.actors["keeper"]).call()
        assert not oracle.hasRole(role("UPDATER_ROLE"), bed.deployer).call()
        assert oracle.hasRole(admin, bed.timelock).call() and not oracle.hasRole(admin, bed.deployer).call()
        assert oracle.price(market_id("ETH-USD")).call() == 3_000 * 10**8


# ---- the emergency surface -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["attacker", "deployer", "timelock", "alice"])
def test_a_non_guardian_cannot_pause(testbed, who):
    node, bed = testbed
    w3 = w3_of(node)
    sender = {"attacker": bed.actors["attacker"], "deployer": bed.deployer, "timelock": bed.timelock, "alice": bed.owners["alice"]}[who]
    for type_name, address in (("Vault", bed.vault), ("PerpMarket", bed.market)):
        account, missing_role = assert_reverts_with(
            node.url,
            sender,
            address,
            calldata(w3, bed, type_name, "pause"),
            "AccessControlUnauthorizedAccount(address,bytes32)",
            ["address", "bytes32"],
        )
        assert (to_checksum_address(account), missing_role) == (sender, role("GUARDIAN_ROLE"))
        assert not contract(w3, bed, type_name, address).functions.paused().call()


def test_the_guardian_safe_pauses_and_freezes_and_a_drain_is_stopped(isolated_testbed):
    """The vault-drain drill by hand: a leaked keeper key, a withdrawal, then the Safe's batch."""
    node, bed = isolated_testbed
    w3 = w3_of(node)
    vault = contract(w3, bed, "Vault", bed.vault)
    token = contract(w3, bed, "MockUSD", bed.collateral)
    attacker = bed.actors["attacker"]
    send(w3, KEEPER_KEY, vault.functions.credit(attacker, 900_000 * 10**6))
    send(w3, ATTACKER_KEY, vault.functions.withdraw(100_000 * 10**6))
    assert token.functions.balanceOf(attacker).call() == 100_000 * 10**6

    batch = multisend(
        [
            (bed.vault, calldata(w3, bed, "Vault", "pause")),
            (bed.vault, calldata(w3, bed, "Vault", "freezeAccount", attacker)),
        ]
    )
    receipt = exec_safe(w3, bed, bed.multisend_call_only, batch, ["alice", "bob", "carol"], operation=1)
    topics = {log["topics"][0] for log in receipt["logs"] if log["address"] == bed.vault}
    assert keccak(text="Paused(address)") in topics
    assert keccak(text="AccountFreezeSet(address,bool)") in topics
    assert vault.functions.paused().call()
    assert vault.functions.isFrozen(attacker).call()
    withdraw = calldata(w3, bed, "Vault", "withdraw", 100_000 * 10**6)
    assert_reverts_with(node.url, attacker, bed.vault, withdraw, "EnforcedPause()")
    assert token.functions.balanceOf(bed.vault).call() == 900_000 * 10**6


def test_two_signatures_are_not_enough(isolated_testbed):
    node, bed = isolated_testbed
    w3 = w3_of(node)
    with pytest.raises(Exception, match="GS020"):  # Safe: signatures data too short
        exec_safe(w3, bed, bed.vault, calldata(w3, bed, "Vault", "pause"), ["alice", "bob"])
    assert not contract(w3, bed, "Vault", bed.vault).functions.paused().call()


def test_frozen_market_and_account_revert_with_custom_errors(isolated_testbed):
    node, bed = isolated_testbed
    w3 = w3_of(node)
    eth = market_id("ETH-USD")
    depositor = bed.actors["depositor"]
    batch = multisend(
        [
            (bed.market, calldata(w3, bed, "PerpMarket", "freezeMarket", eth)),
            (bed.market, calldata(w3, bed, "PerpMarket", "freezeAccount", depositor)),
        ]
    )
    exec_safe(w3, bed, bed.multisend_call_only, batch, ["carol", "dave", "erin"], operation=1)
    open_eth = calldata(w3, bed, "PerpMarket", "openPosition", eth, True, 10**6, 2)
    (frozen_market,) = assert_reverts_with(node.url, bed.actors["attacker"], bed.market, open_eth, "MarketFrozen(bytes32)", ["bytes32"])
    assert frozen_market == bytes.fromhex(eth[2:])
    open_btc = calldata(w3, bed, "PerpMarket", "openPosition", market_id("BTC-USD"), True, 10**6, 2)
    (account,) = assert_reverts_with(node.url, depositor, bed.market, open_btc, "AccountFrozen(address)", ["address"])
    assert to_checksum_address(account) == depositor
    # the other market is not frozen: alice gets past the freeze checks (and fails on her empty balance)
    assert_reverts_with(node.url, bed.owners["alice"], bed.market, open_btc, "InsufficientBalance(address,uint256,uint256)")
    too_much = calldata(w3, bed, "PerpMarket", "openPosition", market_id("BTC-USD"), True, 10**6, 11)
    assert_reverts_with(node.url, bed.owners["alice"], bed.market, too_much, "LeverageOutOfRange(uint256,uint256)")


@pytest.mark.parametrize(
    "type_name, function, value, parameter, low, high",
    [
        ("PerpMarket", "setMaxLeverage", 0, "maxLeverage", 1, 50),
        ("PerpMarket", "setMaxLeverage", 51, "maxLeverage", 1, 50),
        ("PerpMarket", "setMaintenanceMarginBps", 49, "maintenanceMarginBps", 50, 2_500),
        ("PerpMarket", "setMaintenanceMarginBps", 2_501, "maintenanceMarginBps", 50, 2_500),
        ("Vault", "setWithdrawalCap", 999_999_999, "withdrawalCap", 10**9, 10**13),
        ("Vault", "setWithdrawalCap", 10**13 + 1, "withdrawalCap", 10**9, 10**13),
    ],
)
def test_out_of_bounds_parameter_reverts_with_the_custom_error(testbed, type_name, function, value, parameter, low, high):
    node, bed = testbed
    w3 = w3_of(node)
    address = bed.market if type_name == "PerpMarket" else bed.vault
    data = calldata(w3, bed, type_name, function, value)
    decoded = assert_reverts_with(
        node.url,
        bed.timelock,  # the governor itself: the bound, not the role, refuses
        address,
        data,
        "ParameterOutOfBounds(bytes32,uint256,uint256,uint256)",
        ["bytes32", "uint256", "uint256", "uint256"],
    )
    assert decoded == (parameter.encode().ljust(32, b"\0"), value, low, high)
    # the bounds themselves are accepted
    for ok_value in (low, high):
        assert raw_call(node.url, bed.timelock, address, calldata(w3, bed, type_name, function, ok_value))[0]


def test_set_oracle_refuses_an_address_without_code(testbed):
    node, bed = testbed
    w3 = w3_of(node)
    for bad in (ZERO, bed.actors["attacker"]):
        data = calldata(w3, bed, "PerpMarket", "setOracle", bad)
        assert_reverts_with(node.url, bed.timelock, bed.market, data, "InvalidOracle(address)")
    assert raw_call(node.url, bed.timelock, bed.market, calldata(w3, bed, "PerpMarket", "setOracle", bed.backup_oracle))[0]


def test_impersonated_governor_changes_a_parameter_and_emits_the_event(isolated_testbed):
    node, bed = isolated_testbed
    w3 = w3_of(node)
    node.rpc("anvil_impersonateAccount", [bed.timelock])
    node.rpc("anvil_setBalance", [bed.timelock, hex(10**18)])
    try:
        data = "0x" + calldata(w3, bed, "PerpMarket", "setMaxLeverage", 25).hex()
        tx_hash = node.rpc("eth_sendTransaction", [{"from": bed.timelock, "to": bed.market, "data": data}])
    finally:
        node.rpc("anvil_stopImpersonatingAccount", [bed.timelock])
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    (log,) = [entry for entry in receipt["logs"] if entry["topics"][0] == keccak(text="ParameterUpdated(bytes32,uint256,uint256)")]
    assert log["topics"][1] == b"maxLeverage".ljust(32, b"\0")
    assert eth_abi.decode(["uint256", "uint256"], log["data"]) == (10, 25)
    assert contract(w3, bed, "PerpMarket", bed.market).functions.maxLeverage().call() == 25


def test_the_guardians_pause_window_expires_and_the_governor_can_extend_it(isolated_testbed):
    node, bed = isolated_testbed
    w3 = w3_of(node)
    vault = contract(w3, bed, "Vault", bed.vault).functions
    pause = calldata(w3, bed, "Vault", "pause")
    assert raw_call(node.url, bed.safe, bed.vault, pause)[0], "the Safe can pause inside the window"
    end = vault.pauseWindowEnd().call()
    # the governor may only move the end later, at most MAX_PAUSE_WINDOW from now
    earlier = calldata(w3, bed, "Vault", "extendPauseWindow", end - 1)
    parameter, value, low, _ = assert_reverts_with(
        node.url, bed.timelock, bed.vault, earlier, "ParameterOutOfBounds(bytes32,uint256,uint256,uint256)",
        ["bytes32", "uint256", "uint256", "uint256"],
    )
    assert (parameter.rstrip(b"\0"), value, low) == (b"pauseWindowEnd", end - 1, end + 1)
    now = w3.eth.get_block("latest")["timestamp"]
    node.rpc("evm_increaseTime", [end - now + 1])
    node.rpc("evm_mine")
    (reported_end,) = assert_reverts_with(node.url, bed.safe, bed.vault, pause, "PauseWindowExpired(uint256)", ["uint256"])
    assert reported_end == end
    later = calldata(w3, bed, "Vault", "extendPauseWindow", end + 30 * 86400)
    assert raw_call(node.url, bed.timelock, bed.vault, later)[0], "the governor can extend the window"


def test_the_timelock_delay_is_enforced(isolated_testbed):
    node, bed = isolated_testbed
    w3 = w3_of(node)
    timelock = contract(w3, bed, "Timelock", bed.timelock)
    payload = calldata(w3, bed, "PerpMarket", "setMaxLeverage", 20)
    salt = keccak(text="guardian test")
    predecessor = b"\x00" * 32
    too_short = calldata(w3, bed, "Timelock", "schedule", bed.market, 0, payload, predecessor, salt, 3599)
    assert_reverts_with(node.url, bed.safe, bed.timelock, too_short, "TimelockInsufficientDelay(uint256,uint256)")
    schedule = calldata(w3, bed, "Timelock", "schedule", bed.market, 0, payload, predecessor, salt, 3600)
    exec_safe(w3, bed, bed.timelock, schedule, ["alice", "bob", "carol"])
    operation = timelock.functions.hashOperation(bed.market, 0, payload, predecessor, salt).call()
    assert timelock.functions.isOperationPending(operation).call()

    execute = calldata(w3, bed, "Timelock", "execute", bed.market, 0, payload, predecessor, salt)
    assert_reverts_with(node.url, bed.safe, bed.timelock, execute, "TimelockUnexpectedOperationState(bytes32,bytes32)")
    node.rpc("evm_increaseTime", [1800])
    node.rpc("evm_mine")
    assert_reverts_with(node.url, bed.safe, bed.timelock, execute, "TimelockUnexpectedOperationState(bytes32,bytes32)")
    node.rpc("evm_increaseTime", [1800])
    node.rpc("evm_mine")
    assert timelock.functions.isOperationReady(operation).call()
    # ready, but only the executor (the Safe) may execute: execution is not open to anyone
    assert_reverts_with(
        node.url, bed.actors["attacker"], bed.timelock, execute, "AccessControlUnauthorizedAccount(address,bytes32)"
    )
    exec_safe(w3, bed, bed.timelock, execute, ["bob", "dave", "erin"])
    assert timelock.functions.isOperationDone(operation).call()
    assert contract(w3, bed, "PerpMarket", bed.market).functions.maxLeverage().call() == 20


# ---- determinism, chain id 1, refusal ----------------------------------------------------------


def test_same_inputs_give_the_same_addresses_on_a_chain_id_1_anvil(testbed, tmp_path):
    _, bed = testbed
    with start_anvil(chain_id=1, log_dir=tmp_path) as node:
        again = deploy_testbed(node.url, out_dir=tmp_path / "out")
    assert again.chain_id == 1
    for field_name in ("safe", "safe_singleton", "proxy_factory", "multisend_call_only", "fallback_handler", "timelock"):
        assert getattr(again, field_name) == getattr(bed, field_name), field_name
    assert again.contracts == bed.contracts
    from guardian.config import load_playbook

    assert load_playbook(again.playbook_path).network().chain_id == 1


def test_refuses_a_deployer_that_already_deployed(testbed, tmp_path):
    node, _ = testbed
    with pytest.raises(TestbedError, match="already sent"):
        deploy_testbed(node.url, out_dir=tmp_path)


@pytest.mark.parametrize("threshold", [0, -1, 6])
def test_refuses_a_bad_threshold(threshold, tmp_path):
    with pytest.raises(ThresholdError) as caught:
        deploy_testbed("http://127.0.0.1:1", DEFAULT_OWNERS, threshold, out_dir=tmp_path)
    assert "\n" not in caught.value.one_line()
    assert "between 1 and the number of owners (5)" in caught.value.one_line()


def test_refuses_duplicate_owners(tmp_path):
    owners = [DEFAULT_OWNERS[0], DEFAULT_OWNERS[1], DEFAULT_OWNERS[0].lower()]
    with pytest.raises(DuplicateOwnerError) as caught:
        deploy_testbed("http://127.0.0.1:1", owners, 2, out_dir=tmp_path)
    assert DEFAULT_OWNERS[0] in caught.value.one_line()


def test_refuses_a_malformed_owner_and_an_unknown_variant(tmp_path):
    with pytest.raises(InputError, match="owner address"):
        deploy_testbed("http://127.0.0.1:1", ["0x1234"], 1, out_dir=tmp_path)
    with pytest.raises(InputError, match="variant"):
        deploy_testbed("http://127.0.0.1:1", out_dir=tmp_path, variant="nonsense")


def test_refuses_an_unreachable_rpc(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(RpcError) as caught:
        deploy_testbed(url, out_dir=tmp_path)
    assert caught.value.one_line().startswith(f"RPC {url}: unreachable")
    assert "\n" not in caught.value.one_line()
    assert not (tmp_path / "guardian.yaml").exists()


def test_missing_build_fails_with_the_fix(tmp_path):
    with pytest.raises(TestbedError, match="compiled contracts not found") as caught:
        load_build(tmp_path / "nothing.json")
    assert "run `make`" in caught.value.one_line()


# ---- misconfigured variants (for doctor-style checks) ----------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_are_misconfigured_as_named(variant, tmp_path):
    from safe_eth.eth.contracts import get_safe_V1_1_1_contract, get_safe_V1_4_1_contract

    with start_anvil(log_dir=tmp_path) as node:
        bed = deploy_testbed(node.url, out_dir=tmp_path / "out", variant=variant)
        w3 = w3_of(node)
        timelock = contract(w3, bed, "Timelock", bed.timelock).functions
        vault = contract(w3, bed, "Vault", bed.vault).functions
        safe_fn = get_safe_V1_1_1_contract if variant == "old-safe" else get_safe_V1_4_1_contract
        safe = safe_fn(w3, bed.safe).functions
        open_executor = timelock.hasRole(role("EXECUTOR_ROLE"), ZERO).call()
        modules = safe.getModulesPaginated("0x0000000000000000000000000000000000000001", 10).call()[0]
        safe_guardian = vault.hasRole(role("GUARDIAN_ROLE"), bed.safe).call()
        version = safe.VERSION().call()
    assert open_executor == (variant == "open-executor")
    assert modules == ([bed.actors["keeper"]] if variant == "module-enabled" else [])
    assert list(bed.enabled_modules) == modules
    assert safe_guardian == (variant != "no-pause-role")
    assert version == ("1.1.1" if variant == "old-safe" else "1.4.1") == bed.safe_version
    assert f"variant: {variant}" in Path(bed.playbook_path).read_text()
