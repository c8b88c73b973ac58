"""Tampering: a changed copy of a proposal file is rejected by `guardian verify`, `sign` and `execute`.

The base proposal is a real batch on the testbed (pause the vault + freeze the attacker +
schedule setMaxLeverage(5) through the timelock), signed by alice (EIP-712) and bob (eth_sign).
For every field a guardian passes around, a copy with that one field changed is given to the
three commands through the real CLI. Each must exit non-zero with exactly one line that names
the field -- or, where the file cannot tell which field changed (any SafeTx field only shows as
a hash that no longer matches), the hash that stopped matching -- and leave the file byte for
byte as it was. The exact wording the tool uses is asserted.

Documented limits, each shown to be caught on chain instead:
- safe_version 1.3.0 / 1.4.1 / 1.5.0 hash identically, so a swap between them is invisible
  offline without a playbook; `verify --rpc` (and sign/execute with a chain) read the version.
- chain_id is not in the EIP-712 domain before Safe 1.3.0; `verify --rpc` and `execute` compare
  the node's chain id.

(Single-field tampering at the ``Proposal.from_json`` level is tests/unit/test_proposal.py; this
module proves the commands refuse and never touch the file.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardian.testbed import ANVIL_ADDRESSES

from security_support import ALICE, ATTACKER, BOB, CAROL, DAVE, DEPOSITOR, EXECUTOR, EXECUTOR_INDEX, Guardian, evm_nonce, temp_files

MESSAGE_MISMATCH = ("hashes.message", "does not match the transaction fields (field edited by hand?)")
DOMAIN_MISMATCH = ("hashes.domain", "does not match safe, chain_id and safe_version (field edited by hand?)")
TIMELOCK_MISMATCH = "does not match the timelock call in the transaction data (field edited by hand?)"


# -- the base proposal, built once per module through the CLI ---------------------------------------


@pytest.fixture(scope="module")
def base(security_testbed, keys, tmp_path_factory) -> dict:
    """The signed batch proposal as JSON data (alice eip712 + bob eth_sign), built with the CLI."""
    node, testbed = security_testbed
    folder = tmp_path_factory.mktemp("tamper-base")
    runner = CliRunner(mix_stderr=False)
    from guardian.cli import main

    path = folder / "batch.json"
    playbook = str(testbed.playbook_path)
    words = ["pause-vault", "+", "freeze-account", ATTACKER, "+", "set-max-leverage", "5"]
    for args in (
        ["propose", "--playbook", playbook, *words, "-o", str(path), "--nonce", "0"],
        ["sign", str(path), "--signer", keys[1], "--allow-raw-key", "--playbook", playbook],
        ["sign", str(path), "--signer", keys[2], "--allow-raw-key", "--playbook", playbook, "--eth-sign"],
    ):
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    data = json.loads(path.read_text())
    assert [s["signer"] for s in data["signatures"]] == [BOB, ALICE]  # sorted by owner address
    assert [s["kind"] for s in data["signatures"]] == ["eth_sign", "eip712"]
    return data


B, A = 0, 1  # index of bob's and alice's signature in the file


def edited(data: dict, path: str, value) -> dict:
    """A deep copy of ``data`` with the field at the dotted ``path`` (``a.b[2].c``) set to ``value``.

    ``value`` may be a function of the old value. ``DROP`` removes a list item.
    """
    copy = json.loads(json.dumps(data))
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
    parent = copy
    for key in keys[:-1]:
        parent = parent[key]
    old = parent.get(keys[-1]) if isinstance(parent, dict) else parent[keys[-1]]
    new = value(old) if callable(value) else value
    if new is DROP:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = new
    return copy


DROP = object()


def flip_hex_digit(text: str, position: int) -> str:
    position %= len(text)
    digit = text[position]
    return text[:position] + ("1" if digit != "1" else "2") + text[position + 1 :]


def set_v(signature: str, v: int) -> str:
    return signature[:-2] + f"{v:02x}"


def other_v(signature: str) -> str:
    v = int(signature[-2:], 16)
    return set_v(signature, {27: 28, 28: 27, 31: 32, 32: 31}[v])


# -- expectations -----------------------------------------------------------------------------------


class Load:
    """Refused when the file is read: exit 2, ``Error: proposal FILE: FIELD: PROBLEM`` (PROBLEM a regex if ``regex``)."""

    exit_code = 2

    def __init__(self, field: str, problem: str, regex: bool = False):
        self.field, self.problem, self.regex = field, problem, regex

    def check(self, command: str, result, path: Path) -> None:
        assert result.exit_code == self.exit_code, (command, result.stdout, result.stderr)
        line = result.error_line()
        prefix = f"Error: proposal {path}: {self.field}: "
        assert line.startswith(prefix), (command, line)
        problem = line[len(prefix) :]
        if self.regex:
            assert re.fullmatch(self.problem, problem), (command, problem)
        else:
            assert problem == self.problem, (command, problem)


class Critical:
    """Loaded, but a critical finding at the field: verify exits 1, sign/execute refuse with it."""

    exit_code = 1

    def __init__(self, code: str, where: str, message: str):
        self.code, self.where, self.message = code, where, message

    def check(self, command: str, result, path: Path) -> None:
        finding = f"{self.code} at {self.where}: {self.message}"
        assert result.exit_code == self.exit_code, (command, result.stdout, result.stderr)
        if command == "verify":
            assert f"[CRITICAL] {finding}" in result.stdout.splitlines(), result.stdout
            assert result.stderr.rstrip().splitlines()[-1] == "VERIFY FAILED: critical findings above. Do not sign."
        else:
            assert result.error_line().startswith(f"Error: refusing to {command}: critical finding {finding}"), result.stderr


def mismatch(path: str, says, calldata_says) -> Critical:
    return Critical("intent-mismatch", path, f"{path} says {says!r} but the calldata says {calldata_says!r}: the words do not match the bytes")


def recovers_to(recovered: str, signer: str) -> str:
    return re.escape(f"recovers to {recovered}, not to the signer {signer} (signed another transaction, or edited?)")


ANY_ADDRESS = "0x[0-9a-fA-F]{40}"


def tampers(testbed) -> list:
    """(id, path, new value, expectation) for every field of the proposal file."""
    vault, market, timelock = testbed.vault, testbed.market, testbed.timelock
    summary = f"pause-vault(); freeze-account(account={ATTACKER}); schedule set-max-leverage(leverage=5) via timelock"
    return [
        # every SafeTx field: the file cannot tell which one changed, only that the message hash no longer matches
        ("to", "transaction.to", ATTACKER, Load(*MESSAGE_MISMATCH)),
        ("value", "transaction.value", "1", Load(*MESSAGE_MISMATCH)),
        ("data", "transaction.data", lambda d: flip_hex_digit(d, -1), Load(*MESSAGE_MISMATCH)),
        ("operation", "transaction.operation", 0, Load(*MESSAGE_MISMATCH)),
        ("safe_tx_gas", "transaction.safe_tx_gas", "100000", Load(*MESSAGE_MISMATCH)),
        ("base_gas", "transaction.base_gas", "1", Load(*MESSAGE_MISMATCH)),
        ("gas_price", "transaction.gas_price", "1", Load(*MESSAGE_MISMATCH)),
        ("gas_token", "transaction.gas_token", testbed.collateral, Load(*MESSAGE_MISMATCH)),
        ("refund_receiver", "transaction.refund_receiver", ATTACKER, Load(*MESSAGE_MISMATCH)),
        ("nonce", "transaction.nonce", "1", Load(*MESSAGE_MISMATCH)),
        # the domain
        ("chain_id", "chain_id", "1", Load(*DOMAIN_MISMATCH)),
        ("safe", "safe", ATTACKER, Load(*DOMAIN_MISMATCH)),
        ("safe_version-1.1.1", "safe_version", "1.1.1", Load("hashes.domain", "does not match safe and safe_version (field edited by hand?)")),
        ("safe_version-1.0.0", "safe_version", "1.0.0", Load("hashes.domain", "does not match safe and safe_version (field edited by hand?)")),
        # 1.3.0/1.4.1/1.5.0 hash identically: the playbook (and the chain, below) name the field
        ("safe_version-1.5.0", "safe_version", "1.5.0", Critical("safe-version", "safe_version", "safe_version 1.5.0 differs from the playbook's 1.4.1")),
        ("safe_version-1.3.0", "safe_version", "1.3.0", Critical("safe-version", "safe_version", "safe_version 1.3.0 differs from the playbook's 1.4.1")),
        # each hash
        ("hashes.domain", "hashes.domain", lambda h: flip_hex_digit(h, 2), Load(*DOMAIN_MISMATCH)),
        ("hashes.message", "hashes.message", lambda h: flip_hex_digit(h, 2), Load(*MESSAGE_MISMATCH)),
        ("hashes.safe_tx", "hashes.safe_tx", lambda h: flip_hex_digit(h, 2), Load("hashes.safe_tx", "does not match the transaction fields (field edited by hand?)")),
        # signatures: a byte of r, v, the length, the kind, the signer
        ("signature-r-byte", f"signatures[{B}].signature", lambda s: flip_hex_digit(s, 10), Load(f"signatures[{B}].signature", recovers_to("ANY", BOB).replace("ANY", ANY_ADDRESS), regex=True)),
        ("signature-s-byte", f"signatures[{A}].signature", lambda s: flip_hex_digit(s, 80), Load(f"signatures[{A}].signature", recovers_to("ANY", ALICE).replace("ANY", ANY_ADDRESS), regex=True)),
        ("signature-v-flipped", f"signatures[{A}].signature", other_v, Load(f"signatures[{A}].signature", recovers_to("ANY", ALICE).replace("ANY", ANY_ADDRESS), regex=True)),
        ("signature-v-invalid", f"signatures[{A}].signature", lambda s: set_v(s, 5), Load(f"signatures[{A}].signature", "v = 5 does not match kind eip712 (expects 27 or 28)")),
        ("signature-truncated", f"signatures[{A}].signature", lambda s: s[:-2], Load(f"signatures[{A}].signature", "must be 65 bytes (r, s, v), got 64")),
        ("signature-kind-eip712", f"signatures[{B}].kind", "eip712", Load(f"signatures[{B}].kind", r"v = 3[12] does not match kind eip712 \(expects 27 or 28\)", regex=True)),
        ("signature-kind-eth_sign", f"signatures[{A}].kind", "eth_sign", Load(f"signatures[{A}].kind", r"v = 2[78] does not match kind eth_sign \(expects 31 or 32\)", regex=True)),
        ("signature-kind-approved", f"signatures[{A}].kind", "approved_hash", Load(f"signatures[{A}].kind", r"v = 2[78] does not match kind approved_hash \(expects 1\)", regex=True)),
        ("signer-stranger", f"signatures[{A}].signer", ATTACKER, Load(f"signatures[{A}].signature", recovers_to(ALICE, ATTACKER), regex=True)),
        ("signer-other-owner", f"signatures[{A}].signer", CAROL, Load(f"signatures[{A}].signature", recovers_to(ALICE, CAROL), regex=True)),
        ("signer-twice", f"signatures[{A}].signer", BOB, Load(f"signatures[{A}].signer", f"{BOB} has signed twice")),
        # the intent: words that disagree with the calldata are critical findings ...
        ("intent.summary", "intent.summary", "pause-vault(); pause-market()", mismatch("intent.summary", "pause-vault(); pause-market()", summary)),
        ("intent.action", "intent.actions[1].action", "pause-market", mismatch("intent.actions[1].action", "pause-market", "freeze-account")),
        ("intent.kind", "intent.actions[1].kind", "pause", mismatch("intent.actions[1].kind", "pause", "freeze")),
        ("intent.description", "intent.actions[1].description", "Pause the vault", mismatch("intent.actions[1].description", "Pause the vault", "Freeze one account's vault balance (no withdraw, deposit or settlement)")),
        ("intent.contract", "intent.actions[1].contract", "market", mismatch("intent.actions[1].contract", "market", "vault")),
        ("intent.route", "intent.actions[0].route", "timelock-schedule", mismatch("intent.actions[0].route", "timelock-schedule", "safe")),
        ("intent.action-dropped", "intent.actions[1]", DROP, mismatch("intent.actions[1].action", "set-max-leverage", "freeze-account")),
        # ... and words that name a call the transaction does not make are refused when the file is read
        ("intent.function", "intent.actions[1].function", "unpause()", Load("intent.actions[1].function", f"the transaction never calls unpause() on {vault}")),
        ("intent.target", "intent.actions[1].target", ATTACKER, Load("intent.actions[1].target", f"the transaction makes no call to {ATTACKER}")),
        ("intent.args", "intent.actions[1].args.account", DEPOSITOR, Load("intent.actions[1].args", f"account={DEPOSITOR!r} is not an argument of the call (left: {ATTACKER})")),
        ("intent.args-timelock", "intent.actions[2].args.leverage", "50", Load("intent.actions[2].args", "leverage='50' is not an argument of the call (left: 5)")),
        ("intent.value", "intent.actions[0].value", "5", Load("intent.actions[0].value", f"no call to {vault} sends 5 wei")),
        # the timelock record
        ("timelock.delay", "timelock.delay", "1", Load("timelock.delay", TIMELOCK_MISMATCH)),
        ("timelock.salt", "timelock.salt", lambda h: flip_hex_digit(h, 2), Load("timelock.salt", TIMELOCK_MISMATCH)),
        ("timelock.operation_id", "timelock.operation_id", lambda h: flip_hex_digit(h, 2), Load("timelock.operation_id", TIMELOCK_MISMATCH)),
        ("timelock.calls.data", "timelock.calls[0].data", "0x", Load("timelock.calls[0].data", TIMELOCK_MISMATCH)),
        ("timelock.calls.target", "timelock.calls[0].target", vault, Load("timelock.calls[0].target", TIMELOCK_MISMATCH)),
        ("timelock-dropped", "timelock", None, Load("timelock", f"is null but the transaction calls schedule on the timelock at {timelock}")),
    ]


TAMPER_IDS = [
    "to", "value", "data", "operation", "safe_tx_gas", "base_gas", "gas_price", "gas_token", "refund_receiver", "nonce",
    "chain_id", "safe", "safe_version-1.1.1", "safe_version-1.0.0", "safe_version-1.5.0", "safe_version-1.3.0",
    "hashes.domain", "hashes.message", "hashes.safe_tx",
    "signature-r-byte", "signature-s-byte", "signature-v-flipped", "signature-v-invalid", "signature-truncated",
    "signature-kind-eip712", "signature-kind-eth_sign", "signature-kind-approved", "signer-stranger", "signer-other-owner", "signer-twice",
    "intent.summary", "intent.action", "intent.kind", "intent.description", "intent.contract", "intent.route", "intent.action-dropped",
    "intent.function", "intent.target", "intent.args", "intent.args-timelock", "intent.value",
    "timelock.delay", "timelock.salt", "timelock.operation_id", "timelock.calls.data", "timelock.calls.target", "timelock-dropped",
]  # fmt: skip


def test_the_tamper_table_covers_every_listed_field(security_testbed):
    _, testbed = security_testbed
    assert [t[0] for t in tampers(testbed)] == TAMPER_IDS


@pytest.mark.parametrize("tamper", TAMPER_IDS)
def test_a_changed_copy_is_refused_by_verify_sign_and_execute(guardian: Guardian, base, tmp_path, tamper):
    node, testbed = guardian.node, guardian.testbed
    _, path, value, expected = next(t for t in tampers(testbed) if t[0] == tamper)
    copy = tmp_path / "tampered.json"
    copy.write_text(json.dumps(edited(base, path, value), indent=2, sort_keys=True) + "\n")
    before = copy.read_bytes()
    commands = {
        "verify": ["verify", copy, "--playbook", guardian.playbook],
        "sign": guardian.sign_args(copy, 3),  # carol, an owner who has not signed yet
        "execute": guardian.execute_args(copy),
    }
    for command, args in commands.items():
        result = guardian.run(*args)
        expected.check(command, result, copy)
        assert copy.read_bytes() == before, f"{command} changed the tampered file"
        assert temp_files(copy) == []
    assert node.rpc("eth_getTransactionCount", [ANVIL_ADDRESSES[EXECUTOR_INDEX], "latest"]) == "0x0"  # nothing was sent


def test_the_untampered_copy_passes_verify_sign_and_execute(guardian: Guardian, base, tmp_path):
    """The control: the same harness accepts the original, so every refusal above is the tamper's doing."""
    path = tmp_path / "original.json"
    path.write_text(json.dumps(base, indent=2, sort_keys=True) + "\n")
    assert "Verified: hashes recomputed" in guardian.ok("verify", path, "--playbook", guardian.playbook).stdout
    assert "3 owner signature(s) of 3 needed" in guardian.ok(*guardian.sign_args(path, 3)).stdout
    executed = guardian.ok(*guardian.execute_args(path))
    assert executed.stdout.splitlines()[-1].startswith(f"EXECUTED: executed by {ANVIL_ADDRESSES[EXECUTOR_INDEX]}")


# -- the documented limits, caught on chain ----------------------------------------------------------


@pytest.fixture
def no_playbook(tmp_path, monkeypatch):
    """Run from a folder without ./guardian.yaml and without $GUARDIAN_PLAYBOOK: no playbook at all."""
    monkeypatch.delenv("GUARDIAN_PLAYBOOK", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("version", ["1.3.0", "1.5.0"])
def test_a_version_swap_that_hashes_identically_is_caught_on_chain(guardian: Guardian, tmp_path, no_playbook, version):
    path = guardian.propose(tmp_path / "pause.json", "pause-vault")
    guardian.ok(*guardian.sign_args(path, 1))
    data = json.loads(path.read_text())
    data["safe_version"] = version  # 1.4.1 -> 1.3.0 / 1.5.0: the domain and safeTxHash do not change
    path.write_text(json.dumps(data, indent=2))
    before = path.read_bytes()

    offline = guardian.run("verify", path)  # the limit: nothing in the file can show it
    assert offline.exit_code == 0 and f"(v{version})" in offline.stdout

    finding = f"safe-version at safe_version: the Safe on chain is 1.4.1, the proposal says {version}"
    online = guardian.run("verify", path, "--rpc", guardian.node.url)
    assert online.exit_code == 1 and f"[CRITICAL] {finding}" in online.stdout.splitlines()
    signed = guardian.run("sign", path, "--signer", guardian.keys[2], "--allow-raw-key", "--rpc", guardian.node.url)
    assert signed.exit_code == 1 and signed.error_line().startswith(f"Error: refusing to sign: critical finding {finding}")
    executed = guardian.run("execute", path, "--signer", guardian.keys[EXECUTOR_INDEX], "--allow-raw-key", "--rpc", guardian.node.url)
    assert executed.exit_code == 1 and executed.error_line().startswith(f"Error: refusing to execute: critical finding {finding}")
    assert path.read_bytes() == before


@pytest.fixture(scope="module")
def old_safe(tmp_path_factory):
    """A second testbed whose guardian Safe is 1.1.1 (no chain id in its EIP-712 domain)."""
    from guardian.adapters.anvil import start_anvil
    from guardian.testbed import deploy_testbed

    folder = tmp_path_factory.mktemp("old-safe")
    with start_anvil(log_dir=folder) as node:
        yield node, deploy_testbed(node.url, out_dir=folder / "playbook", variant="old-safe")


def test_a_chain_id_change_before_1_3_0_is_caught_on_chain(old_safe, keys, tmp_path, no_playbook):
    node, testbed = old_safe
    guardian = Guardian(node, testbed, keys)
    path = guardian.propose(tmp_path / "pause.json", "pause-vault")
    guardian.ok(*guardian.sign_args(path, 1))
    data = json.loads(path.read_text())
    assert data["safe_version"] == "1.1.1"
    data["chain_id"] = "1"  # replay on mainnet: the 1.1.1 domain has no chain id, the hashes still match
    path.write_text(json.dumps(data, indent=2))
    before = path.read_bytes()

    assert guardian.run("verify", path).exit_code == 0  # the documented limit: offline, without a playbook
    with_playbook = guardian.run("verify", path, "--playbook", guardian.playbook)
    assert with_playbook.exit_code == 1
    assert "[CRITICAL] chain-id at chain_id: chain_id 1 is not the playbook network's 31337" in with_playbook.stdout.splitlines()
    online = guardian.run("verify", path, "--rpc", node.url)
    assert online.exit_code == 1
    assert "[CRITICAL] chain-id at chain_id: the RPC is chain 31337, the proposal is for chain 1" in online.stdout.splitlines()
    signed = guardian.run("sign", path, "--signer", keys[2], "--allow-raw-key", "--rpc", node.url)
    assert signed.exit_code == 1
    assert signed.error_line().startswith("Error: refusing to sign: critical finding chain-id at chain_id: the RPC is chain 31337, the proposal is for chain 1")
    executed = guardian.run("execute", path, "--signer", keys[EXECUTOR_INDEX], "--allow-raw-key", "--rpc", node.url)
    assert executed.exit_code == 1
    assert executed.error_line() == f"Error: {node.url} is chain 31337, but the proposal/playbook is for chain 1 (check --rpc and --network)"
    assert path.read_bytes() == before


# -- approvals and intents the file alone cannot prove ------------------------------------------------


def test_a_forged_approved_hash_signature_is_caught_on_chain(guardian: Guardian, tmp_path):
    """An approved-hash "signature" is only the owner's address and v = 1: anyone can write one.
    Offline it cannot be told from a real one; with the chain, verify, sign and execute refuse it."""
    from guardian.domain.signatures import approved_hash_signature
    from guardian.domain.values import to_hex

    path = guardian.propose(tmp_path / "pause.json", "pause-vault")
    guardian.ok(*guardian.sign_args(path, 1))
    data = json.loads(path.read_text())
    for owner in (CAROL, DAVE):  # never called approveHash
        data["signatures"].append({"signer": owner, "kind": "approved_hash", "signature": to_hex(approved_hash_signature(owner)), "created_at": "2025-01-01T00:00:00Z"})
    path.write_text(json.dumps(data, indent=2))
    index = [s["signer"] for s in json.loads(json.dumps(sorted(data["signatures"], key=lambda s: int(s["signer"], 16))))].index(DAVE)
    before = path.read_bytes()

    assert guardian.run("verify", path, "--playbook", guardian.playbook).exit_code == 0  # the limit: offline it looks fine
    finding = (
        f"approval-not-on-chain at signatures[{index}]: the file claims {DAVE} approved this hash on chain, but "
        "approvedHashes is 0 (forged, or approveHash was never mined): it only counts if that owner executes"
    )
    verified = guardian.run("verify", path, "--playbook", guardian.playbook, "--rpc", guardian.url)
    assert verified.exit_code == 1 and f"[CRITICAL] {finding}" in verified.stdout.splitlines(), verified.stdout
    signed = guardian.run(*guardian.sign_args(path, 2), "--rpc", guardian.url)
    assert signed.exit_code == 1 and signed.error_line().startswith(f"Error: refusing to sign: critical finding {finding}")
    executed = guardian.run(*guardian.execute_args(path))
    assert executed.exit_code == 1 and executed.error_line().startswith(f"Error: refusing to execute: critical finding {finding}")
    status = guardian.ok("status", path, "--playbook", guardian.playbook, "--rpc", guardian.url)
    assert "approved_hash (not on chain!)" in status.stdout and "1 collected, 2 more needed" in status.stdout
    assert path.read_bytes() == before
    assert evm_nonce(guardian.node, EXECUTOR) == 0


def test_an_intent_that_hides_the_call_is_caught_with_or_without_a_playbook(guardian: Guardian, tmp_path, no_playbook):
    path = guardian.propose(tmp_path / "freeze.json", "freeze-account", DEPOSITOR)
    data = json.loads(path.read_text())
    data["intent"] = {"summary": "", "actions": []}  # the words say nothing; the bytes freeze an account
    path.write_text(json.dumps(data, indent=2))
    before = path.read_bytes()
    with_playbook = guardian.run("verify", path, "--playbook", guardian.playbook)
    assert with_playbook.exit_code == 1
    assert "[CRITICAL] intent-mismatch at intent.actions (length): intent.actions (length) says 0 but the calldata says 1: the words do not match the bytes" in with_playbook.stdout.splitlines()
    # without the playbook's ABIs the call is undecodable (the message then shows its function as "None", see the report)
    finding = f"intent-mismatch at intent.actions: intent.actions list nothing but the calldata does {guardian.testbed.vault}."
    bare = guardian.run("verify", path, "--rpc", guardian.url)
    assert bare.exit_code == 1 and any(line.startswith(f"[CRITICAL] {finding}") for line in bare.stdout.splitlines()), bare.stdout
    signed = guardian.run("sign", path, "--signer", guardian.keys[1], "--allow-raw-key", "--rpc", guardian.url)
    assert signed.exit_code == 1 and signed.error_line().startswith(f"Error: refusing to sign: critical finding {finding}")
    assert path.read_bytes() == before
