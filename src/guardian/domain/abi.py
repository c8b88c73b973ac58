"""Function signatures, ABI encoding and decoding, and a registry of known contracts.

* ``FunctionSignature.parse("freezeAccount(address)")``: name, canonical input types, selector.
  Human-readable forms are accepted too (``"function removeOwner(address prevOwner, ...)"``),
  parameter names are kept for display.
* ``encode_call`` / ``decode_call``: calldata for one signature. Values are coerced from text
  (``"0x.."``, ``"1000"``, ``"true"``) so CLI and playbook arguments can be passed as written.
* ``AbiRegistry``: JSON ABIs of named contracts at addresses, plus guardian's built-in
  well-known ABIs (the Safe, MultiSend, OpenZeppelin TimelockController, Pausable,
  AccessControl, Ownable, ERC-20). It decodes calldata sent to an address (``DecodedCall``,
  including the inner calls of a MultiSend batch or a timelock operation), revert data
  (``Error(string)``, ``Panic(uint256)``, custom errors, Safe ``GS0xx`` codes with their
  meaning) and event logs.

Encoding and decoding go through ``abicodec`` (plain Python, same results as eth_abi, which
costs about 0.2 s to import); eth_abi is imported only for a type that codec does not handle.
Parsing signatures and computing selectors needs only keccak.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

from guardian.domain import abicodec
from guardian.domain.values import keccak, parse_address, parse_hex, parse_uint, to_hex
from guardian.errors import AbiError, InputError

# ---------------------------------------------------------------------------------------------
# Types


_BASE_TYPE = re.compile(r"([a-z]+)([0-9]*)")
_ARRAY_SUFFIX = re.compile(r"(\[[0-9]*\])*")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_LOCATIONS = {"memory", "calldata", "storage", "payable"}
# what may follow the parameters in a human-readable function: modifiers, then "returns (...)"
_FUNCTION_TAIL = re.compile(
    r"((external|public|internal|private|view|pure|payable|nonpayable|virtual|override)\s*)*(returns\s*\([^()]*(\([^()]*\)[^()]*)*\))?"
)


def _matching_paren(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise AbiError(f"type {text!r}", "unbalanced parentheses")


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if len(parts) == 1 and not parts[0].strip():
        return []
    return parts


def _canonical_base(base: str, where: str) -> str:
    match = _BASE_TYPE.fullmatch(base)
    if not match:
        raise AbiError(where, f"unknown type {base!r}")
    kind, size = match.groups()
    if kind in ("uint", "int"):
        bits = int(size) if size else 256
        if bits % 8 or not 8 <= bits <= 256 or (size and size.startswith("0")):
            raise AbiError(where, f"bad integer width in {base!r}")
        return f"{kind}{bits}"
    if kind == "bytes":
        if not size:
            return "bytes"
        if not 1 <= int(size) <= 32 or size.startswith("0"):
            raise AbiError(where, f"bad bytes width in {base!r}")
        return base
    if kind == "byte" and not size:
        return "bytes1"
    if kind in ("address", "bool", "string", "function") and not size:
        return kind
    raise AbiError(where, f"unknown type {base!r}")


def _parse_param(text: str, where: str) -> tuple[str, str, bool]:
    """``"address indexed owner"`` -> (canonical type, name, indexed)."""
    text = text.strip()
    if not text:
        raise AbiError(where, "empty parameter")
    if text.startswith("(") or text.startswith("tuple("):
        open_at = text.index("(")
        close_at = _matching_paren(text, open_at)
        components = [_parse_param(part, where)[0] for part in _split_top_level(text[open_at + 1 : close_at])]
        rest = text[close_at + 1 :]
        suffix = _ARRAY_SUFFIX.match(rest).group(0)
        type_ = "(" + ",".join(components) + ")" + suffix
        words = rest[len(suffix) :].split()
    else:
        words = text.split()
        head = words.pop(0)
        bracket = head.find("[")
        base, suffix = (head, "") if bracket < 0 else (head[:bracket], head[bracket:])
        if not _ARRAY_SUFFIX.fullmatch(suffix):
            raise AbiError(where, f"bad array suffix in {head!r}")
        type_ = _canonical_base(base, where) + suffix
    indexed = False
    name = ""
    for word in words:
        if word == "indexed":
            indexed = True
        elif word in _LOCATIONS:
            continue
        elif _IDENTIFIER.fullmatch(word) and not name:
            name = word
        else:
            raise AbiError(where, f"unexpected {word!r} in parameter {text!r}")
    return type_, name, indexed


def canonical_type(text: str) -> str:
    """``"uint"`` -> ``"uint256"``, ``"tuple(address a,uint b)[]"`` -> ``"(address,uint256)[]"``."""
    return _parse_param(text, f"type {text!r}")[0]


def _split_array(type_: str) -> tuple[str, int | None] | None:
    """``"uint256[3]"`` -> (``"uint256"``, 3); ``"bytes[]"`` -> (``"bytes"``, None); else None."""
    if not type_.endswith("]"):
        return None
    open_at = type_.rindex("[")
    size = type_[open_at + 1 : -1]
    return type_[:open_at], (int(size) if size else None)


def _tuple_components(type_: str) -> list[str] | None:
    if not type_.startswith("("):
        return None
    return [part for part in _split_top_level(type_[1:-1])]


def _json_param_type(param: dict) -> str:
    type_ = param["type"]
    if type_.startswith("tuple"):
        components = ",".join(_json_param_type(component) for component in param.get("components", []))
        return f"({components}){type_[len('tuple'):]}"
    return canonical_type(type_)


# ---------------------------------------------------------------------------------------------
# Signatures


def _parse_signature_text(text: str, keyword: str) -> tuple[str, list[tuple[str, str, bool]], str]:
    where = f"{keyword} signature {text!r}"
    if not isinstance(text, str):
        raise AbiError(f"{keyword} signature {text!r}", "must be text like name(type,...)")
    body = text.strip()
    if body.startswith(keyword + " "):
        body = body[len(keyword) + 1 :].strip()
    open_at = body.find("(")
    if open_at <= 0:
        raise AbiError(where, "expected name(type,...)")
    name = body[:open_at].strip()
    if not _IDENTIFIER.fullmatch(name):
        raise AbiError(where, f"bad name {name!r}")
    close_at = _matching_paren(body, open_at)
    params = [_parse_param(part, where) for part in _split_top_level(body[open_at + 1 : close_at])]
    return name, params, body[close_at + 1 :].strip()


@dataclass(frozen=True)
class FunctionSignature:
    """A function (or custom error) signature: ``name(type,...)`` with optional parameter names."""

    name: str
    inputs: tuple[str, ...]
    input_names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: "str | FunctionSignature", keyword: str = "function") -> "FunctionSignature":
        if isinstance(text, FunctionSignature):
            return text
        name, params, rest = _parse_signature_text(text, keyword)
        if rest and not (keyword == "function" and _FUNCTION_TAIL.fullmatch(rest)):
            raise AbiError(f"{keyword} signature {text!r}", f"unexpected text after the parameters: {rest!r}")
        if any(indexed for _, _, indexed in params):
            raise AbiError(f"{keyword} signature {text!r}", "'indexed' is only allowed in events")
        return cls(name, tuple(t for t, _, _ in params), tuple(n for _, n, _ in params))

    @classmethod
    def from_json(cls, entry: dict) -> "FunctionSignature":
        inputs = entry.get("inputs", [])
        return cls(entry["name"], tuple(_json_param_type(p) for p in inputs), tuple(p.get("name", "") for p in inputs))

    @property
    def text(self) -> str:
        """Canonical signature, e.g. ``transfer(address,uint256)``."""
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        return keccak(self.text.encode())[:4]

    def names(self) -> tuple[str, ...]:
        """Parameter names, ``arg0``, ``arg1``... where the ABI gives none."""
        given = self.input_names or ("",) * len(self.inputs)
        return tuple(name or f"arg{index}" for index, name in enumerate(given))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class EventSignature:
    """An event: inputs with ``indexed`` flags; ``topic`` is the full keccak of the text."""

    name: str
    inputs: tuple[str, ...]
    input_names: tuple[str, ...]
    indexed: tuple[bool, ...]
    anonymous: bool = False

    @classmethod
    def parse(cls, text: str) -> "EventSignature":
        name, params, rest = _parse_signature_text(text, "event")
        if rest not in ("", "anonymous"):
            raise AbiError(f"event signature {text!r}", f"unexpected {rest!r}")
        return cls(
            name,
            tuple(t for t, _, _ in params),
            tuple(n for _, n, _ in params),
            tuple(i for _, _, i in params),
            rest == "anonymous",
        )

    @classmethod
    def from_json(cls, entry: dict) -> "EventSignature":
        inputs = entry.get("inputs", [])
        return cls(
            entry["name"],
            tuple(_json_param_type(p) for p in inputs),
            tuple(p.get("name", "") for p in inputs),
            tuple(bool(p.get("indexed")) for p in inputs),
            bool(entry.get("anonymous")),
        )

    @property
    def text(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def topic(self) -> bytes:
        return keccak(self.text.encode())

    def names(self) -> tuple[str, ...]:
        return tuple(name or f"arg{index}" for index, name in enumerate(self.input_names))


# ---------------------------------------------------------------------------------------------
# Values: text -> Python (for encoding) and Python -> text (for display and proposal files)


def coerce_arg(type_: str, value: Any, what: str = "argument") -> Any:
    """Turn ``value`` (Python value or its text form) into what eth_abi encodes for ``type_``."""
    array = _split_array(type_)
    if array:
        inner, length = array
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise InputError(what, value, f"a {type_} is written as a JSON list: {error.msg}") from None
        if not isinstance(value, (list, tuple)):
            raise InputError(what, value, f"must be a list for {type_}")
        if length is not None and len(value) != length:
            raise InputError(what, value, f"{type_} needs exactly {length} items, got {len(value)}")
        return [coerce_arg(inner, item, f"{what}[{index}]") for index, item in enumerate(value)]
    components = _tuple_components(type_)
    if components is not None:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise InputError(what, value, f"a tuple is written as a JSON list: {error.msg}") from None
        if not isinstance(value, (list, tuple)) or len(value) != len(components):
            raise InputError(what, value, f"must be a list of {len(components)} items for {type_}")
        return tuple(coerce_arg(t, item, f"{what}[{index}]") for index, (t, item) in enumerate(zip(components, value)))
    if type_ == "address":
        return parse_address(value, what)
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InputError(what, value, "must be true or false")
    if type_ == "string":
        if not isinstance(value, str):
            raise InputError(what, value, "must be text")
        return value
    if type_ == "bytes":
        return parse_hex(value, what)
    if type_ == "function":
        return parse_hex(value, what, length=24)
    if type_.startswith("bytes"):
        return parse_hex(value, what, length=int(type_[5:]))
    if type_.startswith("uint"):
        return parse_uint(value, what, bits=int(type_[4:]))
    if type_.startswith("int"):
        bits = int(type_[3:])
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            negative = value.startswith("-")
            magnitude = parse_uint(value[1:] if negative else value, what)
            number = -magnitude if negative else magnitude
        else:
            raise InputError(what, value, f"must be an integer for {type_}")
        if not -(1 << (bits - 1)) <= number < 1 << (bits - 1):
            raise InputError(what, value, f"does not fit in {type_}")
        return number
    raise InputError(what, value, f"unsupported type {type_}")


def format_value(type_: str, value: Any) -> str:
    """Display text of a decoded value: decimal ints, checksummed addresses, 0x hex bytes."""
    array = _split_array(type_)
    if array:
        return "[" + ", ".join(format_value(array[0], item) for item in value) + "]"
    components = _tuple_components(type_)
    if components is not None:
        return "(" + ", ".join(format_value(t, item) for t, item in zip(components, value)) + ")"
    if type_ == "address":
        return parse_address(value)
    if type_ == "bool":
        return "true" if value else "false"
    if type_ == "string":
        return value
    if isinstance(value, (bytes, bytearray)):
        return to_hex(value)
    return str(value)


def _normalize(type_: str, value: Any) -> Any:
    array = _split_array(type_)
    if array:
        return tuple(_normalize(array[0], item) for item in value)
    components = _tuple_components(type_)
    if components is not None:
        return tuple(_normalize(t, item) for t, item in zip(components, value))
    if type_ == "address":
        return parse_address(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def abi_encode(types: Sequence[str], values: Sequence[Any], what: str = "arguments") -> bytes:
    """``abi.encode(values)`` for canonical ``types`` (values coerced from text first)."""
    if len(types) != len(values):
        raise AbiError(what, f"expected {len(types)} values ({', '.join(types)}), got {len(values)}")
    coerced = [coerce_arg(t, v, f"{what}[{i}]") for i, (t, v) in enumerate(zip(types, values))]
    if abicodec.is_supported(types):
        return abicodec.encode(types, coerced, what)
    import eth_abi  # types the plain-Python codec does not handle (e.g. ``function``)

    try:
        return eth_abi.encode(list(types), coerced)
    except Exception as error:  # eth_abi raises several unrelated types; report them all the same way
        raise AbiError(what, f"cannot encode as ({','.join(types)}): {error}") from error


def abi_decode(types: Sequence[str], data: bytes, what: str = "data", strict: bool = True) -> tuple:
    """Decode ``data`` as ``abi.encode`` of ``types``; ``strict`` also rejects trailing or non-canonical bytes."""
    if abicodec.is_supported(types):
        return abicodec.decode(types, data, strict=strict, what=what)
    import eth_abi  # types the plain-Python codec does not handle (e.g. ``function``)

    try:
        values = eth_abi.decode(list(types), bytes(data))
    except Exception as error:
        raise AbiError(what, f"does not decode as ({','.join(types)}): {error}") from error
    values = tuple(_normalize(t, v) for t, v in zip(types, values))
    if strict and eth_abi.encode(list(types), list(values)) != bytes(data):
        raise AbiError(what, f"is not the canonical ABI encoding of ({','.join(types)}) (extra or misplaced bytes)")
    return values


def encode_call(signature: "str | FunctionSignature", args: Sequence[Any]) -> bytes:
    """Calldata: selector of ``signature`` followed by its ABI-encoded ``args``."""
    function = FunctionSignature.parse(signature)
    return function.selector + abi_encode(function.inputs, list(args), f"arguments of {function.text}")


def decode_call(signature: "str | FunctionSignature", calldata: bytes, strict: bool = True) -> tuple:
    """The arguments of ``calldata``, which must call ``signature`` (selector checked)."""
    function = FunctionSignature.parse(signature)
    calldata = bytes(calldata)
    if calldata[:4] != function.selector:
        raise AbiError(
            f"calldata {to_hex(calldata[:4])}...",
            f"selector is not {to_hex(function.selector)} ({function.text})",
        )
    return abi_decode(function.inputs, calldata[4:], f"calldata for {function.text}", strict=strict)


# ---------------------------------------------------------------------------------------------
# Well-known ABIs (written as signatures so this module needs no JSON files and no safe_eth)

SAFE_FUNCTIONS = (
    "function addOwnerWithThreshold(address owner, uint256 _threshold)",
    "function removeOwner(address prevOwner, address owner, uint256 _threshold)",
    "function swapOwner(address prevOwner, address oldOwner, address newOwner)",
    "function changeThreshold(uint256 _threshold)",
    "function enableModule(address module)",
    "function disableModule(address prevModule, address module)",
    "function setGuard(address guard)",
    "function setFallbackHandler(address handler)",
    "function setModuleGuard(address moduleGuard)",
    "function approveHash(bytes32 hashToApprove)",
    "function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas,"
    " uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures)",
    "function execTransactionFromModule(address to, uint256 value, bytes data, uint8 operation)",
    "function execTransactionFromModuleReturnData(address to, uint256 value, bytes data, uint8 operation)",
    "function changeMasterCopy(address _masterCopy)",
    "function setup(address[] _owners, uint256 _threshold, address to, bytes data, address fallbackHandler,"
    " address paymentToken, uint256 payment, address paymentReceiver)",
    "function setup(address[] _owners, uint256 _threshold, address to, bytes data, address paymentToken,"
    " uint256 payment, address paymentReceiver)",
    "function signMessage(bytes _data)",
    "function simulateAndRevert(address targetContract, bytes calldataPayload)",
)
# Events as the 1.4.1+ contracts declare them; the older non-indexed variants follow.
SAFE_EVENTS = (
    "event AddedOwner(address indexed owner)",
    "event AddedOwner(address owner)",
    "event RemovedOwner(address indexed owner)",
    "event RemovedOwner(address owner)",
    "event ChangedThreshold(uint256 threshold)",
    "event EnabledModule(address indexed module)",
    "event EnabledModule(address module)",
    "event DisabledModule(address indexed module)",
    "event DisabledModule(address module)",
    "event ChangedGuard(address indexed guard)",
    "event ChangedGuard(address guard)",
    "event ChangedModuleGuard(address indexed moduleGuard)",
    "event ChangedFallbackHandler(address indexed handler)",
    "event ChangedFallbackHandler(address handler)",
    "event ChangedMasterCopy(address masterCopy)",
    "event ApproveHash(bytes32 indexed approvedHash, address indexed owner)",
    "event SignMsg(bytes32 indexed msgHash)",
    "event ExecutionSuccess(bytes32 indexed txHash, uint256 payment)",
    "event ExecutionSuccess(bytes32 txHash, uint256 payment)",
    "event ExecutionFailure(bytes32 indexed txHash, uint256 payment)",
    "event ExecutionFailure(bytes32 txHash, uint256 payment)",
    "event ExecutionFailed(bytes32 txHash)",
    "event ExecutionFromModuleSuccess(address indexed module)",
    "event ExecutionFromModuleFailure(address indexed module)",
    "event SafeReceived(address indexed sender, uint256 value)",
    "event SafeSetup(address indexed initiator, address[] owners, uint256 threshold, address initializer,"
    " address fallbackHandler)",
    "event SafeMultiSigTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas,"
    " uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures,"
    " bytes additionalInfo)",
    "event SafeModuleTransaction(address module, address to, uint256 value, bytes data, uint8 operation)",
    "event ContractCreation(address newContract)",
)
MULTISEND_FUNCTIONS = ("function multiSend(bytes transactions)",)
TIMELOCK_FUNCTIONS = (
    "function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)",
    "function scheduleBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor,"
    " bytes32 salt, uint256 delay)",
    "function execute(address target, uint256 value, bytes payload, bytes32 predecessor, bytes32 salt)",
    "function executeBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt)",
    "function cancel(bytes32 id)",
    "function updateDelay(uint256 newDelay)",
    "function grantRole(bytes32 role, address account)",
    "function revokeRole(bytes32 role, address account)",
    "function renounceRole(bytes32 role, address callerConfirmation)",
)
TIMELOCK_EVENTS = (
    "event CallScheduled(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data,"
    " bytes32 predecessor, uint256 delay)",
    "event CallExecuted(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data)",
    "event CallSalt(bytes32 indexed id, bytes32 salt)",
    "event Cancelled(bytes32 indexed id)",
    "event MinDelayChange(uint256 oldDuration, uint256 newDuration)",
)
TIMELOCK_ERRORS = (
    "error TimelockInvalidOperationLength(uint256 targets, uint256 payloads, uint256 values)",
    "error TimelockInsufficientDelay(uint256 delay, uint256 minDelay)",
    "error TimelockUnexpectedOperationState(bytes32 operationId, bytes32 expectedStates)",
    "error TimelockUnexecutedPredecessor(bytes32 predecessorId)",
    "error TimelockUnauthorizedCaller(address caller)",
)
ACCESS_CONTROL = (
    "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
    "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
    "event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)",
    "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
    "error AccessControlBadConfirmation()",
)
PAUSABLE = (
    "function pause()",
    "function unpause()",
    "event Paused(address account)",
    "event Unpaused(address account)",
    "error EnforcedPause()",
    "error ExpectedPause()",
)
OWNABLE = (
    "function transferOwnership(address newOwner)",
    "function renounceOwnership()",
    "event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)",
    "error OwnableUnauthorizedAccount(address account)",
    "error OwnableInvalidOwner(address owner)",
)
ERC20 = (
    "function transfer(address to, uint256 amount)",
    "function approve(address spender, uint256 amount)",
    "function transferFrom(address from, address to, uint256 amount)",
    "event Transfer(address indexed from, address indexed to, uint256 value)",
    "event Approval(address indexed owner, address indexed spender, uint256 value)",
)
OPENZEPPELIN_ERRORS = (
    "error FailedCall()",
    "error FailedInnerCall()",
    "error AddressEmptyCode(address target)",
    "error InsufficientBalance(uint256 balance, uint256 needed)",
    "error ReentrancyGuardReentrantCall()",
)

# group name -> human-readable ABI; the registry consults them in this order after the playbook's ABIs
BUILTIN_ABIS: dict[str, tuple[str, ...]] = {
    "Safe": SAFE_FUNCTIONS + SAFE_EVENTS,
    "MultiSend": MULTISEND_FUNCTIONS,
    "TimelockController": TIMELOCK_FUNCTIONS + TIMELOCK_EVENTS + TIMELOCK_ERRORS + ACCESS_CONTROL,
    "Pausable": PAUSABLE,
    "Ownable": OWNABLE,
    "ERC20": ERC20,
    "OpenZeppelin": OPENZEPPELIN_ERRORS,
}

# Safe revert reasons (Error(string) "GSxxx"), from safe-smart-account docs/error_codes.md and
# the codes present in the 1.3.0 / 1.4.1 / 1.5.0 bytecode.
SAFE_ERROR_CODES: dict[str, str] = {
    "GS000": "Could not finish initialization",
    "GS001": "Threshold needs to be defined",
    "GS002": "A call to set up modules couldn't be executed because the destination account was not a contract",
    "GS010": "Not enough gas to execute Safe transaction",
    "GS011": "Could not pay gas costs with ether",
    "GS012": "Could not pay gas costs with token",
    "GS013": "Safe transaction failed when gasPrice and safeTxGas were 0",
    "GS020": "Signatures data too short",
    "GS021": "Invalid contract signature location: inside static part",
    "GS022": "Invalid contract signature location: length not present",
    "GS023": "Invalid contract signature location: data not complete",
    "GS024": "Invalid contract signature provided",
    "GS025": "Hash has not been approved",
    "GS026": "Invalid owner provided",
    "GS027": "Data hash and hash of the pre-image data do not match",
    "GS030": "Only owners can approve a hash",
    "GS031": "Method can only be called from this contract",
    "GS100": "Modules have already been initialized",
    "GS101": "Invalid module address provided",
    "GS102": "Module has already been added",
    "GS103": "Invalid prevModule, module pair provided",
    "GS104": "Method can only be called from an enabled module",
    "GS105": "Invalid starting point for fetching paginated modules",
    "GS106": "Invalid page size for fetching paginated modules",
    "GS200": "Owners have already been set up",
    "GS201": "Threshold cannot exceed owner count",
    "GS202": "Threshold needs to be greater than 0",
    "GS203": "Invalid owner address provided",
    "GS204": "Address is already an owner",
    "GS205": "Invalid prevOwner, owner pair provided",
    "GS300": "Guard does not implement IERC165",
    "GS301": "Module guard does not implement IERC165",
    "GS400": "Fallback handler cannot be set to self",
}

PANIC_CODES: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assert(false)",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an invalid enum value",
    0x22: "incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory (allocation too large)",
    0x51: "call to a zero-initialized internal function",
}

ERROR_STRING = FunctionSignature("Error", ("string",), ("reason",))
PANIC = FunctionSignature("Panic", ("uint256",), ("code",))


def safe_error_meaning(code: str) -> str | None:
    """Meaning of a Safe ``GSxxx`` revert code, or None."""
    return SAFE_ERROR_CODES.get(code)


# ---------------------------------------------------------------------------------------------
# Decoded results


class Arg(NamedTuple):
    name: str
    type: str
    value: Any

    @property
    def text(self) -> str:
        return format_value(self.type, self.value)


@dataclass(frozen=True)
class DecodedCall:
    """Calldata sent to ``address``, decoded as far as guardian knows it.

    ``contract`` is the playbook name of ``address`` (None if unknown); ``function`` the
    canonical signature (None if the selector is unknown); ``source`` says which ABI matched
    (the contract name or ``builtin:<group>``); ``error`` is set when the selector is known
    but the arguments do not decode. ``inner`` holds the calls inside a MultiSend batch or a
    timelock schedule/execute.
    """

    contract: str | None
    address: str
    function: str | None
    args: tuple[Arg, ...]
    selector: bytes | None
    value: int = 0
    operation: int = 0
    data: bytes = b""
    source: str | None = None
    error: str | None = None
    inner: tuple["DecodedCall", ...] = ()
    inner_kind: str | None = None

    @property
    def known(self) -> bool:
        return self.function is not None and self.error is None

    def args_text(self) -> dict[str, str]:
        """``{name: display text}``: the form proposal intents store."""
        return {arg.name: arg.text for arg in self.args}

    def describe(self) -> str:
        """One line: ``Vault.pause()`` / ``0xAb...freezeAccount(account=0x..)`` / ``unknown selector``."""
        who = self.contract or self.address
        if self.function is None:
            if not self.data:
                return f"{who}: plain transfer of {self.value} wei (no calldata)"
            return f"{who}: unknown selector {to_hex(self.selector or b'')} ({len(self.data)} bytes of calldata)"
        name = self.function.split("(")[0]
        if self.error:
            return f"{who}.{self.function}: {self.error}"
        return f"{who}.{name}(" + ", ".join(f"{arg.name}={arg.text}" for arg in self.args) + ")"


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    args: tuple[Arg, ...]
    signature: str = ""
    contract: str | None = None
    address: str | None = None

    def arg(self, name: str) -> Any:
        for arg in self.args:
            if arg.name == name:
                return arg.value
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {arg.name: arg.value for arg in self.args}


@dataclass
class _ContractAbi:
    name: str
    address: str | None
    functions: dict[bytes, FunctionSignature] = field(default_factory=dict)
    events: dict[bytes, list[EventSignature]] = field(default_factory=dict)
    errors: dict[bytes, FunctionSignature] = field(default_factory=dict)


def _entries(abi: Iterable[Any], owner: str) -> _ContractAbi:
    """Functions, events and errors of a JSON ABI (list of dicts) or a list of signature texts."""
    if isinstance(abi, dict):
        if "abi" not in abi:
            raise AbiError(f"ABI of {owner}", "an object ABI must have an 'abi' key")
        abi = abi["abi"]
    parsed = _ContractAbi(owner, None)
    for entry in abi:
        if isinstance(entry, str):
            text = entry.strip()
            kind = text.split(None, 1)[0] if " " in text else "function"
            if kind == "event":
                event = EventSignature.parse(text)
                parsed.events.setdefault(event.topic, []).append(event)
            elif kind == "error":
                error = FunctionSignature.parse(text, keyword="error")
                parsed.errors.setdefault(error.selector, error)
            else:
                function = FunctionSignature.parse(text)
                parsed.functions.setdefault(function.selector, function)
        elif isinstance(entry, dict):
            kind = entry.get("type", "function")
            try:
                if kind == "function":
                    function = FunctionSignature.from_json(entry)
                    parsed.functions.setdefault(function.selector, function)
                elif kind == "event":
                    event = EventSignature.from_json(entry)
                    parsed.events.setdefault(event.topic, []).append(event)
                elif kind == "error":
                    error = FunctionSignature.from_json(entry)
                    parsed.errors.setdefault(error.selector, error)
            except KeyError as missing:
                raise AbiError(f"ABI of {owner}", f"{kind} entry without {missing}") from None
        else:
            raise AbiError(f"ABI of {owner}", f"unexpected entry {entry!r}")
    return parsed


_BUILTIN_CACHE: list[_ContractAbi] = []


def _builtins() -> list[_ContractAbi]:
    if not _BUILTIN_CACHE:
        _BUILTIN_CACHE.extend(_entries(signatures, f"builtin:{group}") for group, signatures in BUILTIN_ABIS.items())
    return _BUILTIN_CACHE


_TIMELOCK_KINDS = {"schedule", "scheduleBatch", "execute", "executeBatch"}


class AbiRegistry:
    """Named contracts at addresses with their ABIs, falling back to the built-in well-known ABIs."""

    def __init__(self, builtins: bool = True):
        self._contracts: list[_ContractAbi] = []
        self._by_address: dict[str, _ContractAbi] = {}
        self._use_builtins = builtins

    def add(self, name: str, address: str | None, abi: Iterable[Any]) -> None:
        """Register ``name`` at ``address`` (None: its ABI is used for any address, after the named ones)."""
        contract = _entries(abi, name)
        contract.address = parse_address(address, f"address of {name}") if address is not None else None
        if contract.address is not None:
            if contract.address in self._by_address:
                existing = self._by_address[contract.address]
                if existing.name != name:
                    raise AbiError(f"contract {name}", f"address {contract.address} is already registered as {existing.name}")
                existing.functions.update({k: v for k, v in contract.functions.items() if k not in existing.functions})
                for topic, events in contract.events.items():
                    existing.events.setdefault(topic, []).extend(events)
                existing.errors.update({k: v for k, v in contract.errors.items() if k not in existing.errors})
                return
            self._by_address[contract.address] = contract
        self._contracts.append(contract)

    def add_builtin(self, name: str, address: str, group: str) -> None:
        """Register ``address`` as ``name`` with one of ``BUILTIN_ABIS`` (e.g. the Safe itself)."""
        if group not in BUILTIN_ABIS:
            raise AbiError(f"built-in ABI {group!r}", f"unknown; known: {', '.join(BUILTIN_ABIS)}")
        self.add(name, address, BUILTIN_ABIS[group])

    def contract_name(self, address: str) -> str | None:
        contract = self._by_address.get(parse_address(address))
        return contract.name if contract else None

    def address_of(self, name: str) -> str | None:
        for contract in self._contracts:
            if contract.name == name:
                return contract.address
        return None

    def _search_order(self, address: str | None) -> list[_ContractAbi]:
        order = []
        if address is not None and address in self._by_address:
            order.append(self._by_address[address])
        order += [c for c in self._contracts if c.address is None]
        if self._use_builtins:
            order += _builtins()
        return order

    def function(self, selector: bytes, address: str | None = None) -> tuple[FunctionSignature, str] | None:
        """The function with ``selector`` (and the name of the ABI it came from), or None."""
        address = parse_address(address) if address is not None else None
        for contract in self._search_order(address):
            if selector in contract.functions:
                return contract.functions[selector], contract.name
        return None

    def decode_call(self, address: str, calldata: bytes, value: int = 0, operation: int = 0) -> DecodedCall:
        """Decode one call (no recursion into batches; see ``decode_nested``)."""
        address = parse_address(address, "call target")
        calldata = bytes(calldata)
        contract = self._by_address.get(address)
        name = contract.name if contract else None
        if len(calldata) < 4:
            error = None if not calldata else f"calldata of {len(calldata)} bytes is shorter than a selector"
            return DecodedCall(name, address, None, (), None, value, operation, calldata, None, error)
        selector = calldata[:4]
        found = self.function(selector, address)
        if found is None:
            return DecodedCall(name, address, None, (), selector, value, operation, calldata)
        function, source = found
        try:
            values = decode_call(function, calldata)
        except AbiError as error:
            return DecodedCall(name, address, function.text, (), selector, value, operation, calldata, source, error.problem)
        args = tuple(Arg(n, t, v) for n, t, v in zip(function.names(), function.inputs, values))
        return DecodedCall(name, address, function.text, args, selector, value, operation, calldata, source)

    def decode_nested(self, address: str, calldata: bytes, value: int = 0, operation: int = 0, depth: int = 0) -> DecodedCall:
        """``decode_call`` plus the inner calls of ``multiSend(bytes)`` and timelock schedule/execute."""
        from dataclasses import replace

        from guardian.errors import GuardianError

        call = self.decode_call(address, calldata, value, operation)
        if not call.known:
            return call
        name = call.function.split("(")[0]
        if depth >= 4:
            if call.function == "multiSend(bytes)" or name in _TIMELOCK_KINDS:
                return replace(call, error="nested more than 4 levels deep: inner calls not opened")
            return call
        try:
            if call.function == "multiSend(bytes)":
                from guardian.domain.multisend import decode_multisend

                inner = tuple(
                    self.decode_nested(c.to, c.data, c.value, c.operation, depth + 1) for c in decode_multisend(call.data)
                )
                return replace(call, inner=inner, inner_kind="multisend")
            if name in _TIMELOCK_KINDS:
                from guardian.domain.timelock import decode_timelock_call

                operation_ = decode_timelock_call(call.data)
                if operation_ is not None:
                    inner = tuple(self.decode_nested(c.to, c.data, c.value, 0, depth + 1) for c in operation_.calls)
                    return replace(call, inner=inner, inner_kind=f"timelock-{operation_.kind}")
        except GuardianError as error:
            return replace(call, error=error.one_line())
        return call

    def decode_revert(self, data: bytes, address: str | None = None) -> str:
        """Human text for revert data: Error(string) (Safe GS codes explained), Panic, custom errors."""
        data = bytes(data)
        if not data:
            return "reverted without data (a require without reason, out of gas, or a call to a non-contract)"
        if len(data) < 4:
            return f"malformed revert data {to_hex(data)}"
        selector = data[:4]
        if selector == ERROR_STRING.selector:
            try:
                (reason,) = abi_decode(("string",), data[4:], "revert reason", strict=False)
            except AbiError:
                return f"malformed Error(string) revert data {to_hex(data)}"
            meaning = SAFE_ERROR_CODES.get(reason)
            return f"{reason}: {meaning}" if meaning else f"Error({json.dumps(reason)})"
        if selector == PANIC.selector:
            try:
                (code,) = abi_decode(("uint256",), data[4:], "panic code", strict=False)
            except AbiError:
                return f"malformed Panic(uint256) revert data {to_hex(data)}"
            return f"Panic(0x{code:02x}): {PANIC_CODES.get(code, 'unknown panic code')}"
        address = parse_address(address) if address is not None else None
        # revert data bubbles up through Safe, timelock and batches: try every known contract's errors
        first = [self._by_address[address]] if address in self._by_address else []
        order = first + [c for c in self._contracts if c not in first] + (_builtins() if self._use_builtins else [])
        for contract in order:
            error = contract.errors.get(selector)
            if error is None:
                continue
            try:
                values = abi_decode(error.inputs, data[4:], f"error {error.text}", strict=False)
            except AbiError:
                return f"{error.name}(...) with malformed arguments {to_hex(data[4:])}"
            args = ", ".join(f"{n}={format_value(t, v)}" for n, t, v in zip(error.names(), error.inputs, values))
            return f"{error.name}({args})" + _error_hint(error.name, values)
        shown = to_hex(data[4:]) if len(data) <= 4 + 32 * 4 else to_hex(data[4 : 4 + 128]) + "..."
        return f"unknown custom error {to_hex(selector)} with data {shown}"

    def decode_log(self, address: str, topics: Sequence[bytes], data: bytes) -> DecodedEvent | None:
        """Decode an event log, or None if no known event matches topic0 and the indexed layout."""
        if not topics:
            return None
        address = parse_address(address, "log address")
        topics = [bytes(t) for t in topics]
        contract = self._by_address.get(address)
        for source in self._search_order(address):
            for event in source.events.get(topics[0], []):
                if event.anonymous or sum(event.indexed) != len(topics) - 1:
                    continue
                decoded = _decode_event(event, topics[1:], bytes(data))
                if decoded is not None:
                    return DecodedEvent(event.name, decoded, event.text, contract.name if contract else None, address)
        return None


def _decode_event(event: EventSignature, topics: list[bytes], data: bytes) -> tuple[Arg, ...] | None:
    data_types = [t for t, indexed in zip(event.inputs, event.indexed) if not indexed]
    try:
        data_values = list(abi_decode(data_types, data, f"event {event.text}", strict=False))
    except AbiError:
        return None
    args, topic_iter = [], iter(topics)
    for name, type_, indexed in zip(event.names(), event.inputs, event.indexed):
        if indexed:
            topic = next(topic_iter)
            dynamic = type_ in ("string", "bytes") or type_.endswith("]") or type_.startswith("(")
            if dynamic:
                args.append(Arg(name, "bytes32", topic))  # indexed dynamic values are stored as their hash
            else:
                try:
                    (value,) = abi_decode((type_,), topic, f"topic {name}", strict=True)
                except AbiError:
                    return None
                args.append(Arg(name, type_, value))
        else:
            args.append(Arg(name, type_, data_values.pop(0)))
    return tuple(args)


TIMELOCK_STATES = ("Unset", "Waiting", "Ready", "Done")  # OpenZeppelin TimelockController.OperationState


def _error_hint(name: str, values: tuple) -> str:
    """Plain words for the custom errors a guardian meets most under stress."""
    if name == "TimelockUnexpectedOperationState" and len(values) == 2:
        bitmap = int.from_bytes(values[1], "big") if isinstance(values[1], (bytes, bytearray)) else int(values[1])
        expected = [state for index, state in enumerate(TIMELOCK_STATES) if bitmap >> index & 1]
        if expected == ["Ready"]:
            return ": the operation is not ready (still waiting for its delay, already done, or cancelled)"
        return f": the operation is not {' or '.join(expected) or 'in the expected state'}"
    return ""


def decode_revert(data: bytes, registry: AbiRegistry | None = None) -> str:
    """Module-level shortcut: decode revert data with ``registry`` or the built-in ABIs."""
    return (registry or AbiRegistry()).decode_revert(data)


def builtin_registry() -> AbiRegistry:
    """A registry with only the built-in well-known ABIs (what ``guardian hash`` decodes with)."""
    return AbiRegistry()
