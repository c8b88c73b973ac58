"""The proposal file: canonical JSON, round trip, and every tamper caught and named."""

from __future__ import annotations

import json

import pytest
from eth_keys import keys
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardian.domain.abi import AbiRegistry, encode_call
from guardian.domain.multisend import Call, encode_multisend
from guardian.domain.proposal import FORMAT_VERSION, NO_CALLDATA, Proposal, intent_action, timelock_call_from_record, timelock_record
from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS, SafeTx, hash_safe_tx
from guardian.domain.signatures import SafeSignature, approved_hash_signature, kinds_for_version
from guardian.domain.timelock import cancel_operation, schedule_operation
from guardian.domain.values import checksum_address, keccak, to_hex
from guardian.errors import DuplicateSignatureError, GuardianError, ProposalFormatError, SignatureError

SAFE = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
VAULT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MARKET = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
TIMELOCK = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
MULTISEND = "0x52908400098527886E0F7030069857D2E4169EE7"
ATTACKER = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
WHEN = "2025-01-31T12:00:00Z"
KEYS = [keys.PrivateKey(keccak(b"guardian" + bytes([i]))) for i in range(4)]


def registry() -> AbiRegistry:
    reg = AbiRegistry()
    reg.add("vault", VAULT, ["function pause()", "function freezeAccount(address account)"])
    reg.add("market", MARKET, ["function setMaxLeverage(uint256 leverage)"])
    reg.add_builtin("timelock", TIMELOCK, "TimelockController")
    reg.add_builtin("multisend", MULTISEND, "MultiSend")
    return reg


def build(version: str = "1.4.1", timelock: bool = True, **tx_fields) -> Proposal:
    """A batch: pause the vault, freeze the attacker, schedule setMaxLeverage(2) on the timelock."""
    reg = registry()
    pause = Call(VAULT, 0, encode_call("pause()", []))
    freeze = Call(VAULT, 0, encode_call("freezeAccount(address)", [ATTACKER]))
    leverage = Call(MARKET, 0, encode_call("setMaxLeverage(uint256)", [2]))
    scheduled = schedule_operation([leverage], b"\x00" * 32, keccak(b"salt"), 3600)
    calls = [pause, freeze] + ([Call(TIMELOCK, 0, scheduled.calldata())] if timelock else [])
    fields = dict(safe=SAFE, chain_id=31337, safe_version=version, to=MULTISEND, value=0, data=encode_multisend(calls), operation=1, nonce=4)
    fields.update(tx_fields)
    tx = SafeTx(**fields)
    actions = [
        intent_action(reg.decode_call(VAULT, pause.data), "pause-vault", "pause", "safe", "Pause the vault"),
        intent_action(reg.decode_call(VAULT, freeze.data), "freeze-account", "freeze", "safe", "Freeze the attacker"),
    ]
    if timelock:
        actions.append(intent_action(reg.decode_call(MARKET, leverage.data), "set-max-leverage", "set-parameter", "timelock-schedule", "Lower leverage"))
    intent = {"summary": "pause-vault; freeze-account; schedule set-max-leverage", "actions": actions}
    record = timelock_record(TIMELOCK, scheduled) if timelock else None
    return Proposal.create(tx, intent, created_by="alice", timelock=record, created_at=WHEN, tool="guardian test")


def sign(proposal: Proposal, key, kind: str = "eip712") -> Proposal:
    raw = key.sign_msg_hash(proposal.safe_tx_hash if kind == "eip712" else keccak(b"\x19Ethereum Signed Message:\n32" + proposal.safe_tx_hash))
    return proposal.with_signature(SafeSignature.create(kind, raw.to_bytes(), proposal.safe_tx_hash, WHEN))


def full() -> Proposal:
    """Signed three ways and executed: every field of the format is present."""
    proposal = sign(sign(build(), KEYS[0]), KEYS[1], "eth_sign")
    owner = KEYS[2].public_key.to_checksum_address()
    proposal = proposal.with_signature(SafeSignature(owner, "approved_hash", approved_hash_signature(owner), WHEN))
    return proposal.with_execution("0x" + "ab" * 32, 1234, "success", ATTACKER)


# -- the model ---------------------------------------------------------------------------------


def test_create_computes_hashes_and_id():
    proposal = build()
    hashes = hash_safe_tx(proposal.safe_tx)
    assert proposal.hashes == {"domain": to_hex(hashes.domain_hash), "message": to_hex(hashes.message_hash), "safe_tx": to_hex(hashes.safe_tx_hash)}
    assert proposal.id == to_hex(hashes.safe_tx_hash)[2:12] and len(proposal.id) == 10
    assert proposal.version == FORMAT_VERSION and proposal.signatures == () and proposal.execution is None
    assert proposal.safe_tx == SafeTx(SAFE, 31337, "1.4.1", MULTISEND, 0, proposal.data, 1, nonce=4)
    assert proposal.created == {"by": "alice", "at": WHEN, "tool": "guardian test"}


def test_canonical_json():
    text = full().to_json()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert data["version"] == 1 and data["chain_id"] == "31337"
    assert data["transaction"]["nonce"] == "4" and data["transaction"]["operation"] == 1
    assert data["transaction"]["data"] == data["transaction"]["data"].lower()
    assert data["timelock"]["delay"] == "3600"
    assert [s["signer"] for s in data["signatures"]] == sorted((s["signer"] for s in data["signatures"]), key=lambda a: int(a, 16))


def test_big_numbers_are_strings():
    proposal = build(value=2**256 - 1, nonce=2**255, safe_tx_gas=2**70)
    data = json.loads(proposal.to_json())
    assert data["transaction"]["value"] == str(2**256 - 1) and data["transaction"]["safe_tx_gas"] == str(2**70)
    assert Proposal.from_json(proposal.to_json(), "big.json") == proposal


@pytest.mark.parametrize("version", SUPPORTED_SAFE_VERSIONS)
def test_round_trip_every_version(version):
    proposal = sign(build(version), KEYS[0])
    again = Proposal.from_json(proposal.to_json(), "p.json")
    assert again == proposal and again.to_json() == proposal.to_json()


def test_round_trip_full():
    proposal = full()
    again = Proposal.from_json(proposal.to_json().encode(), "p.json")
    assert again == proposal and again.to_json() == proposal.to_json()
    assert len(again.signatures) == 3 and again.execution["block"] == 1234


def test_with_signature_checks_signer_and_duplicates():
    proposal = sign(build(), KEYS[0])
    with pytest.raises(DuplicateSignatureError):
        sign(proposal, KEYS[0])
    elsewhere = KEYS[1].sign_msg_hash(keccak(b"other tx")).to_bytes()
    forged = SafeSignature(KEYS[1].public_key.to_checksum_address(), "eip712", elsewhere[:64] + bytes([elsewhere[64] + 27]), WHEN)
    with pytest.raises(SignatureError, match="recovers to"):
        proposal.with_signature(forged)
    assert proposal.signers == (KEYS[0].public_key.to_checksum_address(),)


def test_safe_1_0_0_refuses_eth_sign_signatures():
    proposal = build("1.0.0")
    with pytest.raises(SignatureError, match="Safe 1.0.0 does not accept eth_sign"):
        sign(proposal, KEYS[0], "eth_sign")
    data = json.loads(sign(build("1.1.1"), KEYS[0], "eth_sign").to_json())
    data["safe_version"] = "1.0.0"
    data["hashes"] = json.loads(proposal.to_json())["hashes"]  # the 1.0.0 hashes are the same as 1.1.1's
    error = error_of(data)
    assert error.field == "signatures[0].kind" and "does not accept eth_sign" in error.problem


def test_with_signatures_merges():
    a, b = sign(build(), KEYS[0]), sign(build(), KEYS[1])
    merged = a.with_signatures(b.signatures)
    assert set(merged.signers) == set(a.signers) | set(b.signers)
    assert merged.with_signatures(a.signatures) == merged
    assert a.differences(b) == []


def test_differences_name_fields():
    assert build().differences(build(nonce=5)) == ["hashes.message", "hashes.safe_tx", "transaction.nonce"]


def test_with_execution_is_validated():
    proposal = build()
    assert proposal.with_execution("0x" + "11" * 32, None, "pending", ATTACKER).execution["status"] == "pending"
    with pytest.raises(ProposalFormatError, match="execution.status"):
        proposal.with_execution("0x" + "11" * 32, 5, "done", ATTACKER)
    with pytest.raises(ProposalFormatError, match="execution.block"):
        proposal.with_execution("0x" + "11" * 32, None, "success", ATTACKER)


def test_proposal_without_timelock_and_a_plain_transfer():
    tx = SafeTx(SAFE, 1, "1.3.0", ATTACKER, 10**18, b"", 0, nonce=0)
    intent = {"summary": "pay", "actions": [{"action": "pay", "kind": "other", "contract": None, "target": ATTACKER, "function": NO_CALLDATA, "args": {}, "route": "safe", "description": "", "value": str(10**18)}]}
    proposal = Proposal.create(tx, intent, "bob", created_at=WHEN)
    assert Proposal.from_json(proposal.to_json(), "p.json") == proposal
    wrong_value = dict(intent["actions"][0], value="1")
    with pytest.raises(ProposalFormatError, match=r"intent.actions\[0\].value"):
        Proposal.create(tx, {"summary": "", "actions": [wrong_value]}, "bob", created_at=WHEN)


def test_unknown_selector_in_intent():
    data = bytes.fromhex("12345678")
    tx = SafeTx(SAFE, 1, "1.4.1", VAULT, 0, data, 0)
    action = {"action": "raw", "kind": "other", "contract": "unknown", "target": VAULT, "function": "0x12345678", "args": {}, "route": "safe", "description": ""}
    Proposal.create(tx, {"summary": "", "actions": [action]}, "bob")
    with pytest.raises(ProposalFormatError, match="selector"):
        Proposal.create(tx, {"summary": "", "actions": [dict(action, function="0x87654321")]}, "bob")


def test_cancel_timelock_proposal():
    op_id = keccak(b"queued")
    cancel = cancel_operation(op_id)
    tx = SafeTx(SAFE, 1, "1.4.1", TIMELOCK, 0, cancel.calldata(), 0, nonce=9)
    decoded = registry().decode_call(TIMELOCK, tx.data)
    intent = {"summary": "veto", "actions": [intent_action(decoded, "timelock-cancel", "veto", "safe")]}
    record = timelock_record(TIMELOCK, cancel)
    proposal = Proposal.create(tx, intent, "carol", timelock=record)
    assert Proposal.from_json(proposal.to_json(), "c.json") == proposal
    assert timelock_call_from_record(proposal.timelock) == cancel
    with pytest.raises(ProposalFormatError, match="timelock.operation_id"):
        Proposal.create(tx, intent, "carol", timelock=dict(record, operation_id=to_hex(keccak(b"other"))))


def test_timelock_record_round_trips_to_the_call():
    proposal = build()
    call = timelock_call_from_record(proposal.timelock)
    assert call.kind == "schedule" and not call.batch and call.delay == 3600
    assert to_hex(call.operation_id) == proposal.timelock["operation_id"]


def test_a_dropped_timelock_record_is_caught():
    proposal = build()
    data = json.loads(proposal.to_json())
    data["timelock"] = None
    with pytest.raises(ProposalFormatError, match="timelock: is null but the transaction calls schedule"):
        Proposal.from_json(json.dumps(data), "p.json")


def test_the_model_is_frozen():
    with pytest.raises(Exception):
        build().nonce = 3  # type: ignore[misc]


# -- bad files ---------------------------------------------------------------------------------


def load(data, source: str = "p.json") -> Proposal:
    return Proposal.from_json(data if isinstance(data, str) else json.dumps(data), source)


def error_of(data) -> ProposalFormatError:
    with pytest.raises(ProposalFormatError) as caught:
        load(data)
    assert caught.value.source == "p.json"
    assert isinstance(caught.value, GuardianError) and caught.value.exit_code == 2
    assert "\n" not in caught.value.one_line()
    return caught.value


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("proposal", "not JSON"),
        ("[]", "not an object"),
        ("{}", "version: missing"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_not_a_proposal(text, problem):
    with pytest.raises(ProposalFormatError, match=problem) as caught:
        Proposal.from_json(text, "p.json")
    assert str(caught.value).startswith("proposal p.json")


@pytest.mark.parametrize("version", [2, 0, "1", True, None, 1.5])
def test_wrong_format_version(version):
    data = json.loads(build().to_json())
    data["version"] = version
    error = error_of(data)
    assert error.field == "version" and "reads proposal format 1" in error.problem


def test_unsupported_safe_version_in_file():
    data = json.loads(build().to_json())
    data["safe_version"] = "1.2.0"
    error = error_of(data)
    assert error.field == "safe_version" and "unsupported Safe version '1.2.0'" in error.problem


def _paths(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, f"{path}[{index}]")
    else:
        yield path


def _containers(node, path=""):
    if isinstance(node, dict):
        if path:
            yield path
        for key, value in node.items():
            yield from _containers(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _containers(value, f"{path}[{index}]")


def _get_parent(data, path):
    import re

    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = data
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    return node, (int(last[1:-1]) if last.startswith("[") else last)


def test_every_missing_field_is_named():
    data = json.loads(full().to_json())
    for path in list(_paths(data)) + list(_containers(data)):
        if ".args." in path:
            continue  # args is a free-form mapping; dropping an argument is a value tamper (below)
        copy = json.loads(json.dumps(data))
        parent, key = _get_parent(copy, path)
        if isinstance(parent, list):
            continue  # dropping a list item is tested with the items' own checks
        del parent[key]
        error = error_of(copy)
        assert error.field == path and error.problem.startswith("missing"), path


@pytest.mark.parametrize("path", ["", "transaction", "hashes", "intent", "intent.actions[0]", "timelock", "timelock.calls[0]", "signatures[0]", "created", "execution"])
def test_every_extra_field_is_named(path):
    data = json.loads(full().to_json())
    node = data
    if path:
        parent, key = _get_parent(data, path)
        node = parent[key]
    node["surprise"] = 1
    error = error_of(data)
    assert error.field == (f"{path}.surprise" if path else "surprise") and error.problem == "unexpected field"


def test_duplicate_keys_and_nan_are_refused():
    text = full().to_json()
    assert "appears twice" in error_of(text.replace('"version": 1', '"version": 1, "version": 1')).problem
    assert "not strict JSON" in error_of(text.replace('"operation": 1', '"operation": NaN')).problem


OTHER_ADDRESS = checksum_address(bytes.fromhex("27b1fdb04752bbc536007a920d24acb045561c26"))
# free text and records guardian cannot check offline (verify checks execution on chain)
NOT_TAMPER_EVIDENT = {"intent.summary", "created.by", "created.tool", "created.at"}
NOT_TAMPER_EVIDENT_ACTION_FIELDS = (".description", ".action", ".kind", ".contract", ".route")


def _tampered(path: str, value):
    if path == "version":
        return 2
    if path == "safe_version":
        return "1.1.1"  # 1.3.0 / 1.4.1 / 1.5.0 hash identically: verify --rpc checks that one
    if path.endswith("].kind") and path.startswith("signatures"):
        return "eth_sign" if value != "eth_sign" else "eip712"
    if path == "timelock.kind":
        return "execute"
    if path == "execution.status":
        return "failure"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return 1 - value if value in (0, 1) else value + 1
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return OTHER_ADDRESS if value != OTHER_ADDRESS else SAFE
    if isinstance(value, str) and value.startswith("0x"):
        return value[:-1] + ("1" if value[-1] != "1" else "2") if len(value) > 2 else "0x00"
    if isinstance(value, str) and value.isdigit():
        return str(int(value) + 1)
    if isinstance(value, str) and value.endswith("Z"):
        return value.replace("2025", "2024")
    return value + " (edited)"


def _expected_field(path: str) -> str | None:
    """The field the error must name, or None where the file cannot prove the edit."""
    if path in NOT_TAMPER_EVIDENT or path.startswith("execution.") or path.endswith(".created_at"):
        return None
    if path.startswith("intent.actions[") and path.endswith(NOT_TAMPER_EVIDENT_ACTION_FIELDS):
        return None
    if path in ("safe", "chain_id", "safe_version"):
        return "hashes.domain"
    if path.startswith("transaction."):
        return "hashes.message"
    if path.startswith("signatures["):
        index = path[: path.index("]") + 1]
        return {"kind": f"{index}.kind", "signature": f"{index}.signature"}.get(path.rsplit(".", 1)[1], f"{index}.")
    if path.startswith("intent.actions["):
        head, _, tail = path.partition("].")
        return f"{head}].{tail.split('.')[0]}"
    return path


def test_every_single_field_tamper_is_caught_and_named():
    data = json.loads(full().to_json())
    paths = list(_paths(data))
    assert len(paths) > 40
    checked = 0
    for path in paths:
        copy = json.loads(json.dumps(data))
        parent, key = _get_parent(copy, path)
        if parent[key] is None:
            continue
        parent[key] = _tampered(path, parent[key])
        expected = _expected_field(path)
        if expected is None:
            load(copy)  # accepted: documented as not tamper-evident
            continue
        error = error_of(copy)
        assert error.field.startswith(expected), (path, error.field, error.problem)
        checked += 1
    assert checked > 30


def test_the_hash_mismatch_message():
    data = json.loads(build().to_json())
    data["hashes"]["safe_tx"] = "0x" + "00" * 32
    with pytest.raises(ProposalFormatError) as caught:
        load(data)
    assert str(caught.value) == "proposal p.json: hashes.safe_tx: does not match the transaction fields (field edited by hand?)"


def test_a_changed_transaction_field_is_caught_even_with_its_message_hash_recomputed():
    """Editing value and the message hash together still breaks the safeTxHash."""
    proposal = build()
    edited = SafeTx(**{**proposal.safe_tx.__dict__, "value": 1})
    data = json.loads(proposal.to_json())
    data["transaction"]["value"] = "1"
    data["hashes"]["message"] = to_hex(hash_safe_tx(edited).message_hash)
    assert error_of(data).field == "hashes.safe_tx"


def test_chain_id_is_not_tamper_evident_before_1_3_0():
    data = json.loads(build("1.1.1").to_json())
    data["chain_id"] = "5"
    assert load(data).chain_id == 5  # documented: only verify --rpc can catch it


def test_signature_edits():
    data = json.loads(full().to_json())
    for index, signature in enumerate(data["signatures"]):
        if signature["kind"] == "approved_hash":
            continue
        copy = json.loads(json.dumps(data))
        copy["signatures"][index]["signer"] = OTHER_ADDRESS
        error = error_of(copy)
        assert error.field == f"signatures[{index}].signature" and "recovers to" in error.problem
    for index, signature in enumerate(data["signatures"]):
        if signature["kind"] == "approved_hash":
            continue
        copy = json.loads(json.dumps(data))
        copy["signatures"][index]["signature"] = "0x" + ("%02x" % (int(signature["signature"][2:4], 16) ^ 1)) + signature["signature"][4:]
        error = error_of(copy)  # one bit of r flipped
        assert error.field == f"signatures[{index}].signature", error.problem
    copy = json.loads(json.dumps(data))
    copy["signatures"].append(copy["signatures"][0])
    assert "signed twice" in error_of(copy).problem


@pytest.mark.parametrize(
    "path, value, problem",
    [
        ("transaction.value", 5, "decimal integer in a string"),
        ("transaction.value", "05", "decimal integer in a string"),
        ("transaction.value", "-1", "decimal integer in a string"),
        ("transaction.data", "0x123", "odd number of hex digits"),
        ("transaction.data", "1234", "must start with 0x"),
        ("transaction.to", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "checksum"),
        ("transaction.operation", 2, "one of 0, 1"),
        ("transaction.operation", "0", "JSON integer"),
        ("safe", "0x1234", "40 hex digits"),
        ("chain_id", "0", "positive"),
        ("hashes.domain", "0x1234", "32 bytes"),
        ("signatures", {}, "must be a list"),
        ("intent.actions", {}, "must be a list"),
        ("intent.actions[0].args", [], "object of name"),
        ("intent.actions[0].function", "pause(", "unbalanced"),
        ("intent.actions[0].function", "pause( )", "canonical signature 'pause()'"),
        ("intent.actions[0].function", "pause() (edited)", "unexpected text"),
        ("timelock.delay", None, "decimal integer"),
        ("timelock.kind", "queue", "one of schedule"),
        ("timelock.salt", "0x00", "32 bytes"),
        ("created.at", "yesterday", "ISO 8601"),
        ("created.by", "", "must not be empty"),
        ("execution.block", -1, "non-negative"),
        ("signatures[0].kind", "magic", "unknown kind"),
        ("signatures[0].signature", "0x00", "65 bytes"),
    ],
)
def test_malformed_values_are_named(path, value, problem):
    data = json.loads(full().to_json())
    parent, key = _get_parent(data, path)
    parent[key] = value
    error = error_of(data)
    assert error.field == path and problem in error.problem, (error.field, error.problem)


# -- property: any valid proposal survives the round trip unchanged ----------------------------

addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
uint256 = st.one_of(st.integers(0, 1000), st.integers(0, 2**256 - 1))
texts = st.text(max_size=40)


@st.composite
def proposals(draw) -> Proposal:
    reg = registry()
    targets = draw(st.lists(addresses, min_size=1, max_size=3))
    for index, target in enumerate(targets):
        if reg.contract_name(target) is None:
            reg.add(f"contract{index}", target, ["function f(uint256 amount, address who, bytes memo, bool flag)", "function g()"])
    calls = []
    for target in targets:
        if draw(st.booleans()):
            data = encode_call("f(uint256,address,bytes,bool)", [draw(uint256), draw(addresses), draw(st.binary(max_size=40)), draw(st.booleans())])
        else:
            data = encode_call("g()", [])
        calls.append(Call(target, draw(uint256), data))
    record, routes = None, ["safe"] * len(calls)
    if draw(st.booleans()):
        scheduled = schedule_operation(calls[-1:], draw(st.binary(min_size=32, max_size=32)), draw(st.binary(min_size=32, max_size=32)), draw(uint256), batch=draw(st.booleans()))
        record = timelock_record(TIMELOCK, scheduled)
        calls = calls[:-1] + [Call(TIMELOCK, 0, scheduled.calldata())]
        inner = scheduled.calls[0]
        decoded = [reg.decode_call(c.to, c.data, c.value) for c in calls[:-1]] + [reg.decode_call(inner.to, inner.data, inner.value)]
        routes[-1] = "timelock-schedule"
    else:
        decoded = [reg.decode_call(c.to, c.data, c.value) for c in calls]
    if len(calls) == 1:
        to, value, data, operation = calls[0].to, calls[0].value, calls[0].data, 0
    else:
        to, value, data, operation = MULTISEND, 0, encode_multisend(calls), 1
    tx = SafeTx(
        draw(addresses), draw(st.integers(1, 2**64)), draw(st.sampled_from(SUPPORTED_SAFE_VERSIONS)), to, value, data, operation,
        draw(uint256), draw(uint256), draw(uint256), draw(addresses), draw(addresses), draw(uint256),
    )  # fmt: skip
    actions = [intent_action(d, draw(texts.filter(str.strip)), draw(texts.filter(str.strip)), route, draw(texts)) for d, route in zip(decoded, routes)]
    proposal = Proposal.create(tx, {"summary": draw(texts), "actions": actions}, draw(texts.filter(str.strip)), timelock=record, created_at=WHEN)
    for key in draw(st.lists(st.sampled_from(KEYS), unique_by=lambda k: k.to_bytes(), max_size=3)):
        kind = draw(st.sampled_from(kinds_for_version(proposal.safe_version)))
        if kind == "approved_hash":
            owner = key.public_key.to_checksum_address()
            signature = SafeSignature(owner, kind, approved_hash_signature(owner), WHEN)
        else:
            digest = proposal.safe_tx_hash if kind == "eip712" else keccak(b"\x19Ethereum Signed Message:\n32" + proposal.safe_tx_hash)
            signature = SafeSignature.create(kind, key.sign_msg_hash(digest).to_bytes(), proposal.safe_tx_hash, WHEN)
        proposal = proposal.with_signature(signature)
    if draw(st.booleans()):
        status = draw(st.sampled_from(["pending", "success", "failure"]))
        block = None if status == "pending" else draw(st.integers(0, 2**40))
        proposal = proposal.with_execution(draw(st.binary(min_size=32, max_size=32)), block, status, draw(addresses))
    return proposal


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(proposals())
def test_json_round_trip_is_unchanged(proposal):
    text = proposal.to_json()
    again = Proposal.from_json(text, "round-trip.json")
    assert again == proposal
    assert again.to_json() == text
    assert again.id == proposal.id
