"""Signatures, encoding/decoding, and the registry: calls, nested batches, reverts and logs."""

from __future__ import annotations

import eth_abi
import pytest
from eth_utils import event_signature_to_log_topic, function_signature_to_4byte_selector

from guardian.domain.abi import (
    BUILTIN_ABIS,
    PANIC_CODES,
    SAFE_ERROR_CODES,
    AbiRegistry,
    EventSignature,
    FunctionSignature,
    canonical_type,
    coerce_arg,
    decode_call,
    decode_revert,
    encode_call,
    format_value,
)
from guardian.domain.multisend import Call, encode_multisend
from guardian.domain.timelock import encode_schedule_batch
from guardian.domain.values import keccak
from guardian.errors import AbiError, InputError

VAULT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MARKET = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
SAFE = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
TIMELOCK = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
MULTISEND = "0x52908400098527886E0F7030069857D2E4169EE7"
ALICE = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"

VAULT_ABI = [
    {"type": "function", "name": "pause", "inputs": [], "outputs": [], "stateMutability": "nonpayable"},
    {"type": "function", "name": "freezeAccount", "inputs": [{"name": "account", "type": "address"}], "outputs": []},
    {
        "type": "function",
        "name": "setLimits",
        "inputs": [
            {"name": "limits", "type": "tuple[]", "components": [{"name": "a", "type": "address"}, {"name": "cap", "type": "uint256"}]}
        ],
    },
    {
        "type": "error",
        "name": "ParameterOutOfBounds",
        "inputs": [
            {"name": "parameter", "type": "string"},
            {"name": "value", "type": "uint256"},
            {"name": "min", "type": "uint256"},
            {"name": "max", "type": "uint256"},
        ],
    },
    {"type": "event", "name": "Frozen", "anonymous": False, "inputs": [{"name": "account", "type": "address", "indexed": True}, {"name": "by", "type": "address", "indexed": False}]},
]


# -- signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("pause()", "pause()"),
        ("freezeAccount(address)", "freezeAccount(address)"),
        ("function freezeAccount(address account)", "freezeAccount(address)"),
        ("setMaxLeverage( uint )", "setMaxLeverage(uint256)"),
        ("f(int, byte, bytes32[2][] memory xs)", "f(int256,bytes1,bytes32[2][])"),
        ("g((address a, uint b)[] calldata items, bool ok)", "g((address,uint256)[],bool)"),
        ("g(tuple(address,uint256)[],bool)", "g((address,uint256)[],bool)"),
        ("function balanceOf(address owner) view returns (uint256)", "balanceOf(address)"),
    ],
)
def test_signatures_are_canonicalised(text, canonical):
    signature = FunctionSignature.parse(text)
    assert signature.text == canonical
    assert signature.selector == function_signature_to_4byte_selector(canonical)


def test_signature_keeps_parameter_names():
    signature = FunctionSignature.parse("removeOwner(address prevOwner, address owner, uint256 _threshold)")
    assert signature.name == "removeOwner"
    assert signature.inputs == ("address", "address", "uint256")
    assert signature.names() == ("prevOwner", "owner", "_threshold")
    assert FunctionSignature.parse("f(uint256,address)").names() == ("arg0", "arg1")


@pytest.mark.parametrize(
    "text",
    ["pause", "(address)", "f(uint7)", "f(uint264)", "f(bytes33)", "f(bytes0)", "f(address", "f(foo)", "f(uint256 a b)", "1f()", "f(address indexed a)", 12],
)
def test_bad_signatures_are_rejected(text):
    with pytest.raises(AbiError):
        FunctionSignature.parse(text)


def test_event_signature_topic():
    event = EventSignature.parse("event ApproveHash(bytes32 indexed approvedHash, address indexed owner)")
    assert event.text == "ApproveHash(bytes32,address)"
    assert event.indexed == (True, True)
    assert event.topic == event_signature_to_log_topic("ApproveHash(bytes32,address)")


def test_canonical_type():
    assert canonical_type("uint") == "uint256"
    assert canonical_type("tuple(address,uint[])[3]") == "(address,uint256[])[3]"


# -- encoding ----------------------------------------------------------------------------------


def test_encode_call_matches_eth_abi():
    data = encode_call("transfer(address,uint256)", [ALICE, "1000"])
    assert data == bytes.fromhex("a9059cbb") + eth_abi.encode(["address", "uint256"], [ALICE, 1000])
    assert decode_call("transfer(address,uint256)", data) == (ALICE, 1000)


def test_encode_and_decode_complex_types():
    signature = "f((address,uint256)[],bytes,string,bool,int8,bytes32[2])"
    args = [[(ALICE, 5), (VAULT, 2**255)], b"\x01\x02", "héllo", True, -128, [b"\x00" * 32, b"\xff" * 32]]
    data = encode_call(signature, args)
    assert decode_call(signature, data) == (((ALICE, 5), (VAULT, 2**255)), b"\x01\x02", "héllo", True, -128, (b"\x00" * 32, b"\xff" * 32))


def test_text_arguments_are_coerced():
    data = encode_call("f(address,uint256,bool,bytes32,int256,address[])", [ALICE.lower(), "0x10", "TRUE", "0x" + "ab" * 32, "-5", f'["{VAULT}"]'])
    assert decode_call("f(address,uint256,bool,bytes32,int256,address[])", data) == (ALICE, 16, True, b"\xab" * 32, -5, (VAULT,))


@pytest.mark.parametrize(
    "type_, value, problem",
    [
        ("address", "0x8617E340B3D01FA5F11F306F4090FD50E238070d", "checksum"),
        ("uint8", "256", "uint8"),
        ("int8", "128", "int8"),
        ("int8", "-129", "int8"),
        ("bool", "yes", "true or false"),
        ("bytes32", "0x1234", "32 bytes"),
        ("bytes", "0x123", "odd"),
        ("uint256[2]", [1], "exactly 2"),
        ("uint256[]", "[1,", "JSON list"),
        ("string", 5, "text"),
    ],
)
def test_bad_arguments_are_rejected(type_, value, problem):
    with pytest.raises(InputError, match=problem):
        coerce_arg(type_, value)


def test_wrong_argument_count():
    with pytest.raises(AbiError, match="expected 1 values"):
        encode_call("freezeAccount(address)", [])


def test_decode_checks_the_selector_and_is_strict():
    data = encode_call("freezeAccount(address)", [ALICE])
    with pytest.raises(AbiError, match="selector"):
        decode_call("unfreezeAccount(address)", data)
    with pytest.raises(AbiError, match="canonical"):
        decode_call("freezeAccount(address)", data + b"\x00")  # hidden trailing bytes
    with pytest.raises(AbiError, match="does not decode"):
        decode_call("freezeAccount(address)", data[:-1])
    dirty = data[:4] + b"\x01" + data[5:]  # dirty upper bytes of an address word
    with pytest.raises(AbiError):
        decode_call("freezeAccount(address)", dirty)
    assert decode_call("freezeAccount(address)", data + b"\x00", strict=False) == (ALICE,)


def test_format_value():
    assert format_value("address", ALICE.lower()) == ALICE
    assert format_value("uint256", 2**256 - 1) == str(2**256 - 1)
    assert format_value("bool", False) == "false"
    assert format_value("bytes4", b"\xde\xad\xbe\xef") == "0xdeadbeef"
    assert format_value("(address,uint256)[]", [(ALICE, 1)]) == f"[({ALICE}, 1)]"


# -- registry ----------------------------------------------------------------------------------


def registry() -> AbiRegistry:
    reg = AbiRegistry()
    reg.add("vault", VAULT, VAULT_ABI)
    reg.add("market", MARKET, ["function setMaxLeverage(uint256 leverage)", "error LeverageTooHigh(uint256 leverage)"])
    reg.add_builtin("safe", SAFE, "Safe")
    reg.add_builtin("timelock", TIMELOCK, "TimelockController")
    return reg


def test_decode_a_known_call():
    call = registry().decode_call(VAULT, encode_call("freezeAccount(address)", [ALICE]))
    assert call.contract == "vault" and call.address == VAULT
    assert call.function == "freezeAccount(address)"
    assert call.selector == function_signature_to_4byte_selector("freezeAccount(address)")
    assert [tuple(a) for a in call.args] == [("account", "address", ALICE)]
    assert call.args_text() == {"account": ALICE}
    assert call.describe() == f"vault.freezeAccount(account={ALICE})"
    assert call.known


def test_unknown_selector_and_unknown_target():
    reg = registry()
    unknown = reg.decode_call(VAULT, bytes.fromhex("12345678") + b"\x00" * 32)
    assert unknown.contract == "vault" and unknown.function is None and unknown.args == ()
    assert unknown.selector == bytes.fromhex("12345678")
    stranger = reg.decode_call(ALICE, encode_call("freezeAccount(address)", [ALICE]))
    assert stranger.contract is None and stranger.function is None
    plain = reg.decode_call(ALICE, b"", value=5)
    assert plain.function is None and plain.selector is None and "plain transfer of 5 wei" in plain.describe()


def test_builtin_abis_decode_by_selector_on_any_address():
    call = AbiRegistry().decode_call(ALICE, encode_call("changeThreshold(uint256)", [2]))
    assert call.contract is None and call.function == "changeThreshold(uint256)" and call.source == "builtin:Safe"
    assert call.args[0].name == "_threshold"


@pytest.mark.parametrize(
    "signature",
    [
        "addOwnerWithThreshold(address,uint256)", "removeOwner(address,address,uint256)", "swapOwner(address,address,address)",
        "changeThreshold(uint256)", "enableModule(address)", "disableModule(address,address)", "setGuard(address)",
        "setFallbackHandler(address)", "setModuleGuard(address)", "approveHash(bytes32)", "changeMasterCopy(address)",
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)", "multiSend(bytes)",
        "schedule(address,uint256,bytes,bytes32,bytes32,uint256)", "scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)",
        "execute(address,uint256,bytes,bytes32,bytes32)", "executeBatch(address[],uint256[],bytes[],bytes32,bytes32)",
        "cancel(bytes32)", "updateDelay(uint256)", "grantRole(bytes32,address)", "revokeRole(bytes32,address)",
    ],
)  # fmt: skip
def test_well_known_functions_are_built_in(signature):
    found = AbiRegistry().function(function_signature_to_4byte_selector(signature))
    assert found is not None and found[0].text == signature


def test_builtins_can_be_switched_off():
    assert AbiRegistry(builtins=False).function(function_signature_to_4byte_selector("multiSend(bytes)")) is None


def test_registry_accepts_object_abi_and_rejects_conflicts():
    reg = AbiRegistry()
    reg.add("vault", VAULT, {"abi": VAULT_ABI})
    assert reg.contract_name(VAULT.lower()) == "vault"
    assert reg.address_of("vault") == VAULT
    with pytest.raises(AbiError, match="already registered"):
        reg.add("other", VAULT, [])
    with pytest.raises(AbiError, match="'abi' key"):
        reg.add("x", None, {"bytecode": "0x"})


def test_decode_nested_multisend_and_timelock():
    reg = registry()
    schedule = encode_schedule_batch([MARKET], [0], [encode_call("setMaxLeverage(uint256)", [5])], b"\x00" * 32, b"\x01" * 32, 3600)
    batch = encode_multisend(
        [
            Call(VAULT, 0, encode_call("pause()", [])),
            Call(VAULT, 0, encode_call("freezeAccount(address)", [ALICE])),
            Call(TIMELOCK, 0, schedule),
        ]
    )
    root = reg.decode_nested(MULTISEND, batch, 0, 1)
    assert root.function == "multiSend(bytes)" and root.inner_kind == "multisend" and root.operation == 1
    assert [c.describe() for c in root.inner[:2]] == ["vault.pause()", f"vault.freezeAccount(account={ALICE})"]
    timelock = root.inner[2]
    assert timelock.contract == "timelock" and timelock.function.startswith("scheduleBatch(")
    assert timelock.inner_kind == "timelock-schedule"
    assert timelock.inner[0].describe() == "market.setMaxLeverage(leverage=5)"


def test_decode_nested_reports_a_malformed_batch():
    broken = encode_multisend([Call(VAULT, 0, b"\x01\x02")])
    broken = broken[:68] + b"\x07" + broken[69:]  # operation byte 7
    root = registry().decode_nested(MULTISEND, broken)
    assert root.function == "multiSend(bytes)" and root.inner == () and "operation byte 7" in root.error


def test_decode_nested_stops_at_depth_four_and_says_so():
    data = encode_call("pause()", [])
    for _ in range(6):
        data = encode_multisend([Call(VAULT, 0, data)])
    call = registry().decode_nested(MULTISEND, data)
    depth = 0
    while call.inner:
        call, depth = call.inner[0], depth + 1
    assert depth == 4 and "not opened" in call.error


# -- reverts -----------------------------------------------------------------------------------


def test_every_safe_error_code_is_explained():
    reg = AbiRegistry()
    for code, meaning in SAFE_ERROR_CODES.items():
        assert reg.decode_revert(encode_call("Error(string)", [code])) == f"{code}: {meaning}"
    assert len(SAFE_ERROR_CODES) >= 30 and "GS013" in SAFE_ERROR_CODES and "GS026" in SAFE_ERROR_CODES


def test_error_string_panic_and_custom_errors():
    reg = registry()
    assert decode_revert(encode_call("Error(string)", ['Pausable: "paused"'])) == 'Error("Pausable: \\"paused\\"")'
    assert decode_revert(encode_call("Panic(uint256)", [0x11])) == "Panic(0x11): arithmetic overflow or underflow"
    assert decode_revert(encode_call("Panic(uint256)", [0x99])) == "Panic(0x99): unknown panic code"
    assert set(PANIC_CODES) >= {0x01, 0x11, 0x12, 0x21, 0x32, 0x41}
    data = encode_call("ParameterOutOfBounds(string,uint256,uint256,uint256)", ["leverage", 99, 1, 50])
    assert reg.decode_revert(data) == "ParameterOutOfBounds(parameter=leverage, value=99, min=1, max=50)"
    assert reg.decode_revert(encode_call("LeverageTooHigh(uint256)", [7])) == "LeverageTooHigh(leverage=7)"
    builtin = encode_call("TimelockUnexpectedOperationState(bytes32,bytes32)", [b"\x01" * 32, (1 << 2).to_bytes(32, "big")])
    assert reg.decode_revert(builtin).startswith("TimelockUnexpectedOperationState(operationId=0x0101")
    assert reg.decode_revert(encode_call("EnforcedPause()", [])) == "EnforcedPause()"
    assert reg.decode_revert(encode_call("AccessControlUnauthorizedAccount(address,bytes32)", [ALICE, b"\x00" * 32])).startswith(
        f"AccessControlUnauthorizedAccount(account={ALICE}"
    )


def test_unknown_and_malformed_revert_data():
    reg = AbiRegistry()
    assert reg.decode_revert(b"").startswith("reverted without data")
    assert reg.decode_revert(b"\x01\x02") == "malformed revert data 0x0102"
    assert reg.decode_revert(bytes.fromhex("deadbeef") + b"\x00" * 32).startswith("unknown custom error 0xdeadbeef")
    assert reg.decode_revert(bytes.fromhex("08c379a0") + b"\x00" * 5).startswith("malformed Error(string)")


# -- logs --------------------------------------------------------------------------------------


def _topic(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return bytes(12) + bytes.fromhex(value[2:])
    return value


def test_decode_logs_of_both_safe_event_layouts():
    reg = AbiRegistry()
    tx_hash = keccak(b"tx")
    topic0 = event_signature_to_log_topic("ExecutionSuccess(bytes32,uint256)")
    new = reg.decode_log(SAFE, [topic0, tx_hash], eth_abi.encode(["uint256"], [0]))  # 1.4.1+: txHash indexed
    old = reg.decode_log(SAFE, [topic0], eth_abi.encode(["bytes32", "uint256"], [tx_hash, 0]))  # 1.3.0
    assert new.name == old.name == "ExecutionSuccess"
    assert new.arg("txHash") == old.arg("txHash") == tx_hash
    assert new.as_dict() == {"txHash": tx_hash, "payment": 0}


def test_decode_registry_event_and_timelock_event():
    reg = registry()
    frozen = reg.decode_log(VAULT, [event_signature_to_log_topic("Frozen(address,address)"), _topic(ALICE)], eth_abi.encode(["address"], [SAFE]))
    assert frozen.name == "Frozen" and frozen.contract == "vault" and frozen.as_dict() == {"account": ALICE, "by": SAFE}
    op_id = keccak(b"op")
    scheduled = reg.decode_log(
        TIMELOCK,
        [event_signature_to_log_topic("CallScheduled(bytes32,uint256,address,uint256,bytes,bytes32,uint256)"), op_id, (0).to_bytes(32, "big")],
        eth_abi.encode(["address", "uint256", "bytes", "bytes32", "uint256"], [MARKET, 0, b"\x01", b"\x00" * 32, 3600]),
    )
    assert scheduled.name == "CallScheduled" and scheduled.arg("id") == op_id and scheduled.arg("delay") == 3600


def test_unknown_or_mismatched_logs_are_none():
    reg = registry()
    assert reg.decode_log(VAULT, [keccak(b"Nope()")], b"") is None
    assert reg.decode_log(VAULT, [], b"") is None
    topic0 = event_signature_to_log_topic("Frozen(address,address)")
    assert reg.decode_log(VAULT, [topic0], b"") is None  # wrong number of indexed topics


def test_builtin_groups_parse():
    reg = AbiRegistry()
    for group in BUILTIN_ABIS:
        reg.add_builtin(group, "0x" + keccak(group.encode())[:20].hex(), group)
    with pytest.raises(AbiError, match="unknown"):
        reg.add_builtin("x", ALICE, "NoSuchGroup")
