"""Malicious-proposal corpus, as files: each attack is flagged critical and refused without the override.

Every entry is a self-consistent proposal file for the testbed Safe (hashes right, intent
derived from the calldata -- what an attacker who controls the proposing laptop or the channel
would hand over), so nothing is caught by the file checks: only the risk review stands between
it and a signature. For each entry, through the real CLI:

- `guardian verify` prints the critical finding and exits 1;
- `guardian sign` by an owner refuses without `--i-understand-the-risk` (file unchanged), and
  signs with it; `guardian execute` refuses without it;
- a stranger is refused even with the override (not an owner).

Two entries are then executed with the override to show they are the real attacks and not
just scary words: the Bybit-style DELEGATECALL really overwrites the Safe's singleton (slot 0),
and the refund fields really drain the Safe's ether to the attacker.

(The same risk checks at the ``review()`` level, on a unit playbook, are in
tests/unit/test_proposals.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardian.domain.abi import encode_call
from guardian.domain.multisend import Call, encode_multisend
from guardian.domain.values import checksum_address

from security_support import ALICE, ATTACKER, DEPOSITOR, EXECUTOR, PAUSED, Guardian, call_uint, evm_nonce

# The attacker's contract: whatever it is called with, it writes the first argument into
# storage slot 0 -- in a DELEGATECALL that is the Safe's singleton (Bybit, February 2025).
# runtime: PUSH1 4, CALLDATALOAD, PUSH1 0, SSTORE, STOP
SLOT_ZERO_WRITER_CODE = "0x60043560005500"
SLOT_ZERO_WRITER = checksum_address(bytes.fromhex("bb" * 19 + "01"))
IMPLANT = checksum_address(bytes.fromhex("bb" * 19 + "02"))  # the attacker's "singleton"
OFFICIAL_MULTISEND_141 = "0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526"  # MultiSend (not CallOnly) 1.4.1
PAUSE = encode_call("pause()", [])
ZERO = "0x" + "00" * 20


@pytest.fixture
def corpus(guardian: Guardian, tmp_path):
    """``build(entry) -> path``: the entry's proposal file, written like any proposal."""
    from guardian.config import load_playbook
    from guardian.domain.intent import Context, derive_intent, flatten, summarize, timelock_details
    from guardian.domain.proposal import Proposal
    from guardian.domain.safe_tx import SafeTx
    from guardian.workflow.proposals import build_proposal

    testbed = guardian.testbed
    guardian.node.rpc("anvil_setCode", [SLOT_ZERO_WRITER, SLOT_ZERO_WRITER_CODE])
    playbook = load_playbook(testbed.playbook_path)
    context = Context.from_playbook(playbook)

    def craft(to, data=b"", operation=0, value=0, **fields) -> Proposal:
        """Any Safe transaction wrapped in a self-consistent proposal (as an attacker would)."""
        tx = SafeTx(safe=testbed.safe, chain_id=testbed.chain_id, safe_version=testbed.safe_version, to=to, value=value, data=data, operation=operation, nonce=0, **fields)
        intent = derive_intent(context, flatten(context, tx.to, tx.value, tx.data, tx.operation))
        return Proposal.create(tx, intent, "mallory@evil", timelock=timelock_details(context, tx.to, tx.data))

    def lying(action: str, args: list, says: dict) -> dict:
        """An honest proposal for ``action`` whose words (action, kind, description, summary) say ``says``."""
        data = json.loads(build_proposal(playbook, [(action, args)], chain_id=testbed.chain_id, nonce=0, author="mallory@evil").to_json())
        data["intent"]["actions"][0].update(says)
        data["intent"]["summary"] = summarize(data["intent"]["actions"])
        return data

    def safe_call(signature: str, args: list) -> Proposal:
        return craft(testbed.safe, encode_call(signature, args))

    vault, safe, call_only = testbed.vault, testbed.safe, testbed.multisend_call_only
    builders = {
        "bybit-delegatecall": lambda: craft(SLOT_ZERO_WRITER, encode_call("transfer(address,uint256)", [IMPLANT, 0]), operation=1),
        "singleton-swap-storage-write": lambda: craft(SLOT_ZERO_WRITER, encode_call("changeMasterCopy(address)", [IMPLANT]), operation=1),
        "changeMasterCopy-on-safe": lambda: safe_call("changeMasterCopy(address)", [IMPLANT]),
        "addOwnerWithThreshold": lambda: safe_call("addOwnerWithThreshold(address,uint256)", [ATTACKER, 1]),
        "changeThreshold": lambda: safe_call("changeThreshold(uint256)", [1]),
        "enableModule": lambda: safe_call("enableModule(address)", [ATTACKER]),
        "setGuard": lambda: safe_call("setGuard(address)", [SLOT_ZERO_WRITER]),
        "refund-gas-price": lambda: craft(vault, PAUSE, gas_price=10**12, base_gas=10**10),
        "refund-gas-token": lambda: craft(vault, PAUSE, gas_token=testbed.collateral),
        "refund-receiver": lambda: craft(vault, PAUSE, refund_receiver=ATTACKER),
        "refund-drain": lambda: craft(vault, PAUSE, safe_tx_gas=100_000, base_gas=10**10, gas_price=10**12, refund_receiver=ATTACKER),
        "multisend-not-call-only": lambda: craft(OFFICIAL_MULTISEND_141, encode_multisend([Call(vault, 0, PAUSE)]), operation=1),
        "call-hidden-in-batch": lambda: craft(call_only, encode_multisend([Call(vault, 0, PAUSE), Call(safe, 0, encode_call("addOwnerWithThreshold(address,uint256)", [ATTACKER, 1]))]), operation=1),
        "delegatecall-hidden-in-batch": lambda: craft(call_only, encode_multisend([Call(vault, 0, PAUSE), Call(SLOT_ZERO_WRITER, 0, encode_call("transfer(address,uint256)", [IMPLANT, 0]), operation=1)]), operation=1),
        "intent-pause-calldata-freeze": lambda: lying("freeze-account", [DEPOSITOR], {"action": "pause-vault", "kind": "pause", "description": "Pause deposits, withdrawals and settlement of the vault"}),
        "intent-pause-calldata-set-oracle": lambda: lying("set-oracle", [ATTACKER], {"action": "pause-market", "kind": "pause", "description": "Pause opening and closing positions on every market"}),
    }

    def build(entry: str) -> Path:
        made = builders[entry]()
        text = json.dumps(made, indent=2, sort_keys=True) + "\n" if isinstance(made, dict) else made.to_json()
        path = tmp_path / f"{entry}.json"
        path.write_text(text)
        from guardian.workflow.proposals import load_proposal

        load_proposal(path)  # self-consistent: the file checks alone do not catch it
        return path

    return build


def admin(function: str, meaning: str, where: str = "tx") -> tuple:
    return ("safe-admin-call", where, f"calls {function} on the Safe itself: {meaning}")


DELEGATECALL = f"DELEGATECALL to {SLOT_ZERO_WRITER}, which is not an allowlisted MultiSendCallOnly: the target runs with the Safe's storage and can replace its singleton, owners or modules (the Bybit attack)"

# entry -> the first critical finding (code, where, message) verify prints and sign/execute refuse with
CORPUS = {
    "bybit-delegatecall": ("delegatecall", "tx.operation", DELEGATECALL),
    "singleton-swap-storage-write": ("delegatecall", "tx.operation", DELEGATECALL),
    "changeMasterCopy-on-safe": admin("changeMasterCopy(address)", "swaps the Safe's singleton (implementation)"),
    "addOwnerWithThreshold": admin("addOwnerWithThreshold(address,uint256)", "adds an owner"),
    "changeThreshold": admin("changeThreshold(uint256)", "changes the signing threshold"),
    "enableModule": admin("enableModule(address)", "enables a module (a backdoor that bypasses signatures)"),
    "setGuard": admin("setGuard(address)", "sets or removes the transaction guard"),
    "refund-gas-price": ("gas-refund", "tx.gasPrice", "gasPrice is 1000000000000: the Safe would refund gas to the executor (a refund drain)"),
    "refund-gas-token": ("gas-token", "tx.gasToken", "gasToken is {collateral}: refunds would be paid in that token"),
    "refund-receiver": ("refund-receiver", "tx.refundReceiver", f"refundReceiver is {ATTACKER}: refunds would go to that address"),
    "refund-drain": ("gas-refund", "tx.gasPrice", "gasPrice is 1000000000000: the Safe would refund gas to the executor (a refund drain)"),
    "multisend-not-call-only": ("multisend-not-call-only", "tx.operation", f"DELEGATECALL to MultiSend 1.4.1 ({OFFICIAL_MULTISEND_141}): a batch that may itself DELEGATECALL; guardian only batches through MultiSendCallOnly"),
    "call-hidden-in-batch": admin("addOwnerWithThreshold(address,uint256)", "adds an owner", where="tx.batch[1]"),
    "delegatecall-hidden-in-batch": ("hidden-delegatecall", "tx.batch[1]", f"a DELEGATECALL to {SLOT_ZERO_WRITER} is hidden inside the batch"),
    "intent-pause-calldata-freeze": ("intent-mismatch", "intent.actions[0].action", "intent.actions[0].action says 'pause-vault' but the calldata says 'freeze-account': the words do not match the bytes"),
    "intent-pause-calldata-set-oracle": ("intent-mismatch", "intent.actions[0].action", "intent.actions[0].action says 'pause-market' but the calldata says 'set-oracle': the words do not match the bytes"),
}

# further critical findings verify must also list for some entries
ALSO = {
    "refund-drain": [("refund-receiver", "tx.refundReceiver")],
    "multisend-not-call-only": [],
}


@pytest.mark.parametrize("entry", list(CORPUS))
def test_each_attack_is_flagged_critical_and_refused_without_the_override(guardian: Guardian, corpus, entry):
    path = corpus(entry)
    code, where, message = CORPUS[entry]
    finding = f"{code} at {where}: {message.format(collateral=guardian.testbed.collateral)}"
    before = path.read_bytes()

    verified = guardian.run("verify", path, "--playbook", guardian.playbook)
    assert verified.exit_code == 1, verified.stdout
    critical = [line for line in verified.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert f"[CRITICAL] {finding}" in critical, critical
    for other_code, other_where in ALSO.get(entry, []):
        assert any(line.startswith(f"[CRITICAL] {other_code} at {other_where}: ") for line in critical), critical
    assert verified.stderr.rstrip().splitlines()[-1] == "VERIFY FAILED: critical findings above. Do not sign."

    refused = guardian.run(*guardian.sign_args(path, 1))
    assert refused.exit_code == 1
    assert refused.error_line().startswith(f"Error: refusing to sign: critical finding {finding}")
    assert refused.error_line().endswith("(read `guardian verify` carefully; --i-understand-the-risk overrides)")
    assert path.read_bytes() == before

    stranger = guardian.run("sign", path, "--signer", guardian.keys[7], "--allow-raw-key", "--playbook", guardian.playbook, "--i-understand-the-risk")
    assert stranger.exit_code != 0
    assert stranger.error_line() == f"Error: {ATTACKER} is not a current owner of the Safe {guardian.testbed.safe} (playbook roster)"
    assert path.read_bytes() == before

    not_executed = guardian.run(*guardian.execute_args(path))
    assert not_executed.exit_code == 1
    assert not_executed.error_line().startswith(f"Error: refusing to execute: critical finding {finding}")
    assert path.read_bytes() == before
    assert evm_nonce(guardian.node, EXECUTOR) == 0

    accepted = guardian.run(*guardian.sign_args(path, 1, "--i-understand-the-risk"))
    assert accepted.exit_code == 0, accepted.stderr
    assert f"[CRITICAL] {finding}" in accepted.stdout  # the findings are still shown to the signer
    assert "Signed by alice (eip712)" in accepted.stdout
    assert [s["signer"] for s in json.loads(path.read_text())["signatures"]] == [ALICE]


def _execute_with_the_override(guardian: Guardian, path: Path):
    for index in (1, 2, 3):
        guardian.ok(*guardian.sign_args(path, index, "--i-understand-the-risk"))
    return guardian.run(*guardian.execute_args(path, 9, "--i-understand-the-risk"))


def test_the_bybit_delegatecall_really_replaces_the_singleton(guardian: Guardian, corpus):
    node, testbed = guardian.node, guardian.testbed
    singleton_slot = node.rpc("eth_getStorageAt", [testbed.safe, "0x0", "latest"])
    assert int(singleton_slot, 16) == int(testbed.safe_singleton, 16)
    executed = _execute_with_the_override(guardian, corpus("bybit-delegatecall"))
    assert executed.exit_code == 0, executed.stderr
    assert "EXECUTED" in executed.stdout
    assert int(node.rpc("eth_getStorageAt", [testbed.safe, "0x0", "latest"]), 16) == int(IMPLANT, 16)  # the Safe now runs the attacker's code


def test_the_refund_fields_really_drain_the_safe(guardian: Guardian, corpus):
    node, testbed = guardian.node, guardian.testbed
    node.rpc("anvil_setBalance", [testbed.safe, hex(100 * 10**18)])
    attacker_before = int(node.rpc("eth_getBalance", [ATTACKER, "latest"]), 16)
    executed = _execute_with_the_override(guardian, corpus("refund-drain"))
    assert executed.exit_code == 0, executed.stderr
    gained = int(node.rpc("eth_getBalance", [ATTACKER, "latest"]), 16) - attacker_before
    lost = 100 * 10**18 - int(node.rpc("eth_getBalance", [testbed.safe, "latest"]), 16)
    assert gained == lost and gained > 10**18  # baseGas 10^10 at the executor's gas price: ether out of the Safe
    assert call_uint(node, testbed.vault, PAUSED) == 1  # ... behind a pause that did happen
