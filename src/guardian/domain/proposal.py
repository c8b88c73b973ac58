"""The proposal file: one Safe transaction, what it means, and who signed it.

A proposal is canonical JSON (sorted keys, 2-space indent, trailing newline) so that two
guardians can diff their copies and any channel can carry it. Integers that can exceed 2**53
(every uint256) are decimal strings; bytes are ``0x`` lower-case hex; addresses are EIP-55.

    {
      "version": 1,
      "chain_id": "1",
      "safe": "0x...", "safe_version": "1.4.1",
      "transaction": {"to", "value", "data", "operation", "safe_tx_gas", "base_gas",
                      "gas_price", "gas_token", "refund_receiver", "nonce"},
      "intent": {"summary": "...", "actions": [{"action", "kind", "contract", "target",
                 "function", "args": {name: text}, "route", "description", ["value"]}]},
      "timelock": null | {"address", "operation_id", "kind", "predecessor", "salt", "delay",
                          "calls": [{"target", "value", "data"}]},
      "hashes": {"domain", "message", "safe_tx"},
      "signatures": [{"signer", "kind", "signature", "created_at"}],
      "created": {"by", "at", "tool"},
      "execution": null | {"tx_hash", "block", "status", "executor"}
    }

Loading (``Proposal.from_json``) trusts nothing in the file. It rejects non-JSON, another
format version, missing or extra fields and malformed values, and it recomputes what can be
recomputed, naming the field that does not match:

* the three hashes from the Safe and transaction fields;
* each signature: it must recover to its ``signer`` over the safeTxHash;
* the ``timelock`` record: its operation id from its calls, predecessor and salt, and the
  record itself against the schedule/execute/cancel call decoded from the calldata;
* each ``intent`` action: a call with that target, function, argument values (and ``value``
  if given) must be in the transaction (directly, in the MultiSend batch, or inside the
  timelock operation). ``function`` is a signature, or for a call guardian cannot decode its
  ``0x`` selector, or ``"(no calldata)"`` / null. ``args`` hold exactly the function's
  arguments, written as ``guardian.domain.abi.format_value`` writes them (or any text
  ``coerce_arg`` reads as the same value).

What cannot be checked offline: free text (summary, descriptions, ``created``), the
``execution`` record (verify checks it on chain), ``chain_id`` for Safes before 1.3.0 (not
in their domain), and a ``safe_version`` changed between versions that hash identically
(1.0.0 and 1.1.1; 1.3.0, 1.4.1 and 1.5.0): verify reads the version on chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Iterable

from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS, SafeTx, SafeTxHashes, domain_has_chain_id, hash_safe_tx
from guardian.domain.signatures import SafeSignature, add_signature, check_kind_for_version, kinds_for_version, sort_signatures
from guardian.domain.values import (
    parse_address,
    parse_bytes32,
    parse_decimal_uint,
    parse_hex,
    parse_timestamp,
    to_hex,
    utc_timestamp,
)
from guardian.errors import GuardianError, InputError, ProposalFormatError

FORMAT_VERSION = 1

TOP_KEYS = (
    "version", "chain_id", "safe", "safe_version", "transaction", "intent", "timelock",
    "hashes", "signatures", "created", "execution",
)  # fmt: skip
TRANSACTION_KEYS = (
    "to", "value", "data", "operation", "safe_tx_gas", "base_gas", "gas_price", "gas_token",
    "refund_receiver", "nonce",
)  # fmt: skip
INTENT_KEYS = ("summary", "actions")
ACTION_KEYS = ("action", "kind", "contract", "target", "function", "args", "route", "description")
ACTION_OPTIONAL_KEYS = ("value",)
TIMELOCK_KEYS = ("address", "operation_id", "kind", "predecessor", "salt", "delay", "calls")
NO_CALLDATA = "(no calldata)"
TIMELOCK_CALL_KEYS = ("target", "value", "data")
HASH_KEYS = ("domain", "message", "safe_tx")
SIGNATURE_KEYS = ("signer", "kind", "signature", "created_at")
CREATED_KEYS = ("by", "at", "tool")
EXECUTION_KEYS = ("tx_hash", "block", "status", "executor")
EXECUTION_STATUSES = ("pending", "success", "failure")

_MEMORY = "<proposal>"


def default_tool() -> str:
    from guardian import __version__

    return f"guardian {__version__}"


# ---------------------------------------------------------------------------------------------
# Field checks: each takes the value and its JSON path, returns the normal form or raises.


class _FieldError(Exception):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def _object(value: Any, field: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise _FieldError(field, f"must be an object with {', '.join(keys)}")
    for key in keys:
        if key not in value:
            raise _FieldError(_join(field, key), "missing")
    for key in value:
        if key not in keys and key not in optional:
            raise _FieldError(_join(field, key), "unexpected field")
    return value


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _converted(field: str, function, *args):
    try:
        return function(*args)
    except InputError as error:
        raise _FieldError(field, f"{error.problem} (got {error.value!r})") from None


def _uint(value: Any, field: str) -> int:
    return _converted(field, parse_decimal_uint, value, field)


def _address(value: Any, field: str) -> str:
    return _converted(field, parse_address, value, field)


def _hex(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise _FieldError(field, f"must be 0x-prefixed hex text (got {value!r})")
    return _converted(field, parse_hex, value, field)


def _bytes32(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise _FieldError(field, f"must be 0x-prefixed hex of 32 bytes (got {value!r})")
    return _converted(field, parse_bytes32, value, field)


def _text(value: Any, field: str, nullable: bool = False, non_empty: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _FieldError(field, "must be text" + (" or null" if nullable else ""))
    if non_empty and not value.strip():
        raise _FieldError(field, "must not be empty")
    return value


def _small_int(value: Any, field: str, allowed: Iterable[int] | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _FieldError(field, f"must be a non-negative JSON integer (got {value!r})")
    if allowed is not None and value not in allowed:
        raise _FieldError(field, f"must be one of {', '.join(map(str, allowed))} (got {value})")
    return value


def _normal_action(value: Any, field: str) -> dict:
    from guardian.domain.abi import FunctionSignature

    action = _object(value, field, ACTION_KEYS, ACTION_OPTIONAL_KEYS)
    function = _text(action["function"], f"{field}.function", nullable=True)
    if function is not None and _is_selector(function):
        function = function.lower()
    elif function is not None and function != NO_CALLDATA:
        try:
            canonical = FunctionSignature.parse(function).text
        except GuardianError as error:
            raise _FieldError(f"{field}.function", error.one_line()) from None
        if canonical != function:
            raise _FieldError(f"{field}.function", f"must be the canonical signature {canonical!r} (got {function!r})")
    args = action["args"]
    if not isinstance(args, dict):
        raise _FieldError(f"{field}.args", "must be an object of name -> text value")
    for name, text in args.items():
        if not isinstance(text, str):
            raise _FieldError(f"{field}.args.{name}", f"must be text (got {text!r})")
    normal = {
        "action": _text(action["action"], f"{field}.action", non_empty=True),
        "kind": _text(action["kind"], f"{field}.kind", non_empty=True),
        "contract": _text(action["contract"], f"{field}.contract", nullable=True),
        "target": _address(action["target"], f"{field}.target"),
        "function": function,
        "args": dict(args),
        "route": _text(action["route"], f"{field}.route", non_empty=True),
        "description": _text(action["description"], f"{field}.description"),
    }
    if "value" in action:
        normal["value"] = str(_uint(action["value"], f"{field}.value"))
    return normal


def _is_selector(text: str) -> bool:
    return len(text) == 10 and text.startswith("0x") and all(c in "0123456789abcdefABCDEF" for c in text[2:])


def _normal_intent(value: Any) -> dict:
    intent = _object(value, "intent", INTENT_KEYS)
    actions = intent["actions"]
    if not isinstance(actions, list):
        raise _FieldError("intent.actions", "must be a list")
    return {
        "summary": _text(intent["summary"], "intent.summary"),
        "actions": [_normal_action(action, f"intent.actions[{i}]") for i, action in enumerate(actions)],
    }


def _normal_timelock(value: Any) -> dict | None:
    from guardian.domain.timelock import TIMELOCK_KINDS

    if value is None:
        return None
    record = _object(value, "timelock", TIMELOCK_KEYS)
    kind = record["kind"]
    if kind not in TIMELOCK_KINDS:
        raise _FieldError("timelock.kind", f"must be one of {', '.join(TIMELOCK_KINDS)} (got {kind!r})")
    calls = record["calls"]
    if not isinstance(calls, list):
        raise _FieldError("timelock.calls", "must be a list")
    normal_calls = []
    for index, call in enumerate(calls):
        where = f"timelock.calls[{index}]"
        call = _object(call, where, TIMELOCK_CALL_KEYS)
        normal_calls.append(
            {
                "target": _address(call["target"], f"{where}.target"),
                "value": str(_uint(call["value"], f"{where}.value")),
                "data": to_hex(_hex(call["data"], f"{where}.data")),
            }
        )
    if kind == "cancel":
        for key in ("predecessor", "salt", "delay"):
            if record[key] is not None:
                raise _FieldError("timelock.kind", f"is cancel, but {key} is set (a cancel only has the operation id)")
        if normal_calls:
            raise _FieldError("timelock.kind", "is cancel, but calls are listed (a cancel only has the operation id)")
        predecessor = salt = delay = None
    else:
        if not normal_calls:
            raise _FieldError("timelock.kind", f"is {kind}, but no calls are listed")
        predecessor = to_hex(_bytes32(record["predecessor"], "timelock.predecessor"))
        salt = to_hex(_bytes32(record["salt"], "timelock.salt"))
        if kind == "schedule":
            delay = record["delay"]
            if isinstance(delay, int) and not isinstance(delay, bool) and delay >= 0:
                delay = str(delay)  # accepted from code; always written as a decimal string
            delay = str(_uint(delay, "timelock.delay"))
        elif record["delay"] is not None:
            raise _FieldError("timelock.kind", "is execute, but delay is set (only a schedule has a delay)")
        else:
            delay = None
    return {
        "address": _address(record["address"], "timelock.address"),
        "operation_id": to_hex(_bytes32(record["operation_id"], "timelock.operation_id")),
        "kind": kind,
        "predecessor": predecessor,
        "salt": salt,
        "delay": delay,
        "calls": normal_calls,
    }


def _normal_hashes(value: Any) -> dict:
    hashes = _object(value, "hashes", HASH_KEYS)
    return {key: to_hex(_bytes32(hashes[key], f"hashes.{key}")) for key in HASH_KEYS}


def _normal_created(value: Any) -> dict:
    created = _object(value, "created", CREATED_KEYS)
    return {
        "by": _text(created["by"], "created.by", non_empty=True),
        "at": _converted("created.at", parse_timestamp, created["at"], "created.at"),
        "tool": _text(created["tool"], "created.tool", non_empty=True),
    }


def _normal_execution(value: Any) -> dict | None:
    if value is None:
        return None
    execution = _object(value, "execution", EXECUTION_KEYS)
    status = execution["status"]
    if status not in EXECUTION_STATUSES:
        raise _FieldError("execution.status", f"must be one of {', '.join(EXECUTION_STATUSES)} (got {status!r})")
    block = execution["block"]
    if block is None:
        if status != "pending":
            raise _FieldError("execution.block", f"must be a block number when status is {status}")
    else:
        block = _small_int(block, "execution.block")
    return {
        "tx_hash": to_hex(_bytes32(execution["tx_hash"], "execution.tx_hash")),
        "block": block,
        "status": status,
        "executor": _address(execution["executor"], "execution.executor"),
    }


def _signature_from_dict(value: Any, field: str) -> SafeSignature:
    record = _object(value, field, SIGNATURE_KEYS)
    signer = _address(record["signer"], f"{field}.signer")
    kind = record["kind"]
    signature = _hex(record["signature"], f"{field}.signature")
    created_at = _converted(f"{field}.created_at", parse_timestamp, record["created_at"], f"{field}.created_at")
    try:
        return SafeSignature(signer, kind, signature, created_at)
    except GuardianError as error:
        problem = getattr(error, "problem", error.one_line())
        # v valid for another kind: the kind disagrees; any other problem is in the bytes
        v_of_some_kind = len(signature) == 65 and signature[64] in (1, 27, 28, 31, 32)
        blame_kind = "unknown kind" in problem or ("does not match kind" in problem and v_of_some_kind)
        raise _FieldError(f"{field}.{'kind' if blame_kind else 'signature'}", problem) from None


# ---------------------------------------------------------------------------------------------
# Consistency with the transaction


def _flatten_calls(tx: SafeTx) -> tuple[list[tuple[str, int, bytes]], list[tuple[str, Any]]]:
    """All calls a guardian may name in an intent: the outer call, MultiSend inner calls, and
    the calls inside timelock schedule/execute; plus every (timelock address, TimelockCall)."""
    from guardian.domain.multisend import decode_multisend, is_multisend
    from guardian.domain.timelock import decode_timelock_call

    level_one = [(tx.to, tx.value, tx.data)]
    if is_multisend(tx.data):
        try:
            level_one += [(c.to, c.value, c.data) for c in decode_multisend(tx.data)]
        except GuardianError:
            pass  # a malformed batch is a finding for verify, not a file-format error: it has no inner calls
    calls, timelock_calls = list(level_one), []
    for to, _, data in level_one:
        try:
            decoded = decode_timelock_call(data)
        except GuardianError:
            decoded = None  # a selector collision with something that is not a timelock call
        if decoded is not None:
            timelock_calls.append((to, decoded))
            calls += [(c.to, c.value, c.data) for c in decoded.calls]
    return calls, timelock_calls


def _same_value(type_: str, text: str, shown: str) -> bool:
    from guardian.domain.abi import coerce_arg, format_value

    if text == shown:
        return True
    try:
        return format_value(type_, coerce_arg(type_, text)) == shown
    except GuardianError:
        return False


def _args_match(function: str, data: bytes, args: dict[str, str], field: str) -> str | None:
    """None if ``args`` are exactly the decoded arguments of ``data``; else the problem."""
    from guardian.domain.abi import FunctionSignature, decode_call, format_value

    signature = FunctionSignature.parse(function)
    try:
        values = decode_call(signature, data)
    except GuardianError as error:
        return f"the calldata does not decode as {function}: {error.one_line()}"
    if len(args) != len(values):
        return f"has {len(args)} values but {function} takes {len(values)}"
    unused = [(t, format_value(t, v)) for t, v in zip(signature.inputs, values)]
    for name in sorted(args):
        for index, (type_, shown) in enumerate(unused):
            if _same_value(type_, args[name], shown):
                del unused[index]
                break
        else:
            return f"{name}={args[name]!r} is not an argument of the call (left: {', '.join(s for _, s in unused)})"
    return None


def _check_intent(intent: dict, calls: list[tuple[str, int, bytes]]) -> None:
    from guardian.domain.abi import FunctionSignature

    for index, action in enumerate(intent["actions"]):
        field = f"intent.actions[{index}]"
        same_target = [(value, data) for to, value, data in calls if to == action["target"]]
        if not same_target:
            raise _FieldError(f"{field}.target", f"the transaction makes no call to {action['target']}")
        if "value" in action:
            same_target = [(value, data) for value, data in same_target if str(value) == action["value"]]
            if not same_target:
                raise _FieldError(f"{field}.value", f"no call to {action['target']} sends {action['value']} wei")
        function = action["function"]
        if function is None:
            continue
        if function == NO_CALLDATA:
            if not any(not data for _, data in same_target):
                raise _FieldError(f"{field}.function", f"every call to {action['target']} carries calldata")
            if action["args"]:
                raise _FieldError(f"{field}.args", "must be empty for a call without calldata")
            continue
        if _is_selector(function):
            if not any(to_hex(data[:4]) == function.lower() and len(data) >= 4 for _, data in same_target):
                raise _FieldError(f"{field}.function", f"no call to {action['target']} has selector {function}")
            continue
        selector = FunctionSignature.parse(function).selector
        candidates = [data for _, data in same_target if data[:4] == selector]
        if not candidates:
            raise _FieldError(f"{field}.function", f"the transaction never calls {function} on {action['target']}")
        problems = [_args_match(function, data, action["args"], field) for data in candidates]
        if all(problem is not None for problem in problems):
            raise _FieldError(f"{field}.args", problems[0])


def _check_timelock(record: dict | None, timelock_calls: list[tuple[str, Any]]) -> None:
    if record is None:
        if timelock_calls:
            to, call = timelock_calls[0]
            raise _FieldError("timelock", f"is null but the transaction calls {call.kind} on the timelock at {to}")
        return
    calls = [call for to, call in timelock_calls if to == record["address"]]
    if not calls:
        raise _FieldError("timelock.address", "the transaction makes no schedule/execute/cancel call to this address")
    best, best_field = None, None
    for call in calls:
        first = _first_difference(record, call)
        if first is None:
            return
        if best is None or (first != "timelock.kind" and best_field == "timelock.kind"):
            best, best_field = call, first
    raise _FieldError(best_field, "does not match the timelock call in the transaction data (field edited by hand?)")


def _first_difference(record: dict, call: Any) -> str | None:
    """The first field of ``record`` that differs from the decoded ``call`` (equal records are
    self-consistent, since the decoded operation id is computed from the decoded calls)."""
    decoded = timelock_record(record["address"], call)
    if record["kind"] != decoded["kind"]:
        return "timelock.kind"
    if len(record["calls"]) != len(decoded["calls"]):
        return "timelock.calls"
    for index, (mine, theirs) in enumerate(zip(record["calls"], decoded["calls"])):
        for key in TIMELOCK_CALL_KEYS:
            if mine[key] != theirs[key]:
                return f"timelock.calls[{index}].{key}"
    for key in ("predecessor", "salt", "delay", "operation_id"):
        if record[key] != decoded[key]:
            return f"timelock.{key}"
    return None


def timelock_record(address: str, call: Any) -> dict:
    """The proposal's ``timelock`` dict for a ``TimelockCall`` sent to the timelock at ``address``."""
    return {
        "address": parse_address(address, "timelock address"),
        "operation_id": to_hex(call.operation_id),
        "kind": call.kind,
        "predecessor": None if call.predecessor is None else to_hex(call.predecessor),
        "salt": None if call.salt is None else to_hex(call.salt),
        "delay": None if call.delay is None else str(call.delay),
        "calls": [{"target": c.to, "value": str(c.value), "data": to_hex(c.data)} for c in call.calls],
    }


def _record_calls(record: dict) -> tuple:
    from guardian.domain.multisend import Call

    return tuple(Call(c["target"], int(c["value"]), parse_hex(c["data"])) for c in record["calls"])


def _record_batch_form(record: dict) -> bool | None:
    """Whether the record's operation id is the batch form (True), the single form (False), or neither (None)."""
    from guardian.domain.timelock import operation_id_of

    calls = _record_calls(record)
    predecessor, salt = parse_hex(record["predecessor"]), parse_hex(record["salt"])
    forms = (False, True) if len(calls) == 1 else (True,)
    for batch in forms:
        if to_hex(operation_id_of(calls, predecessor, salt, batch)) == record["operation_id"]:
            return batch
    return None


def timelock_call_from_record(record: dict) -> Any:
    """The ``TimelockCall`` a proposal's (validated) ``timelock`` dict describes.

    Whether it is the single or the batch form is read from the operation id.
    """
    from guardian.domain.timelock import TimelockCall

    batch = False if record["kind"] == "cancel" else _record_batch_form(record)
    if batch is None:
        raise ProposalFormatError(_MEMORY, "timelock.operation_id", "does not match the calls, predecessor and salt")
    return TimelockCall(
        record["kind"],
        batch,
        _record_calls(record),
        None if record["predecessor"] is None else parse_hex(record["predecessor"]),
        None if record["salt"] is None else parse_hex(record["salt"]),
        None if record["delay"] is None else int(record["delay"]),
        parse_hex(record["operation_id"]),
    )


def intent_action(
    decoded: Any, action: str, kind: str, route: str, description: str = "", contract: str | None = None
) -> dict:
    """An ``intent.actions`` entry from a ``DecodedCall`` (target, function and args taken from it)."""
    return {
        "action": action,
        "kind": kind,
        "contract": contract if contract is not None else decoded.contract,
        "target": decoded.address,
        "function": decoded.function,
        "args": decoded.args_text(),
        "route": route,
        "description": description,
    }


# ---------------------------------------------------------------------------------------------
# The proposal


@dataclass(frozen=True)
class Proposal:
    """A proposal; construction validates everything (see the module docstring).

    Build new ones with ``Proposal.create``; read files with ``Proposal.from_json``. The dict
    fields hold their JSON form (uint256 as decimal text, bytes as hex).
    """

    version: int
    chain_id: int
    safe: str
    safe_version: str
    to: str
    value: int
    data: bytes
    operation: int
    safe_tx_gas: int
    base_gas: int
    gas_price: int
    gas_token: str
    refund_receiver: str
    nonce: int
    intent: dict
    timelock: dict | None
    hashes: dict
    signatures: tuple[SafeSignature, ...]
    created: dict
    execution: dict | None = None

    def __post_init__(self) -> None:
        try:
            self._validate()
        except _FieldError as error:
            raise ProposalFormatError(_MEMORY, error.field, error.problem) from None

    def _validate(self) -> None:
        set_ = object.__setattr__
        if self.version != FORMAT_VERSION or isinstance(self.version, bool):
            raise _FieldError("version", f"this guardian reads proposal format {FORMAT_VERSION}, not {self.version!r}")
        if self.safe_version not in SUPPORTED_SAFE_VERSIONS:
            raise _FieldError(
                "safe_version", f"unsupported Safe version {self.safe_version!r} (supported: {', '.join(SUPPORTED_SAFE_VERSIONS)})"
            )
        try:
            tx = SafeTx(
                self.safe, self.chain_id, self.safe_version, self.to, self.value, self.data, self.operation,
                self.safe_tx_gas, self.base_gas, self.gas_price, self.gas_token, self.refund_receiver, self.nonce,
            )  # fmt: skip
        except InputError as error:
            field = error.what if error.what in ("safe", "chain_id") else f"transaction.{error.what}"
            raise _FieldError(field, f"{error.problem} (got {error.value!r})") from None
        for name in ("safe", "to", "gas_token", "refund_receiver", "data"):
            set_(self, name, getattr(tx, name))
        set_(self, "intent", _normal_intent(self.intent))
        set_(self, "timelock", _normal_timelock(self.timelock))
        set_(self, "hashes", _normal_hashes(self.hashes))
        set_(self, "created", _normal_created(self.created))
        set_(self, "execution", _normal_execution(self.execution))

        computed = hash_safe_tx(tx)
        if to_hex(computed.domain_hash) != self.hashes["domain"]:
            fields = "safe, chain_id and safe_version" if domain_has_chain_id(self.safe_version) else "safe and safe_version"
            raise _FieldError("hashes.domain", f"does not match {fields} (field edited by hand?)")
        if to_hex(computed.message_hash) != self.hashes["message"]:
            raise _FieldError("hashes.message", "does not match the transaction fields (field edited by hand?)")
        if to_hex(computed.safe_tx_hash) != self.hashes["safe_tx"]:
            raise _FieldError("hashes.safe_tx", "does not match the transaction fields (field edited by hand?)")

        signatures = tuple(self.signatures)
        seen: set[str] = set()
        for index, signature in enumerate(signatures):
            field = f"signatures[{index}]"
            if not isinstance(signature, SafeSignature):
                raise _FieldError(field, "must be a SafeSignature")
            if signature.signer in seen:
                raise _FieldError(f"{field}.signer", f"{signature.signer} has signed twice")
            if signature.kind not in kinds_for_version(self.safe_version):
                raise _FieldError(f"{field}.kind", f"Safe {self.safe_version} does not accept {signature.kind} signatures")
            seen.add(signature.signer)
            try:
                recovered = signature.recover(computed.safe_tx_hash)
            except GuardianError as error:
                raise _FieldError(f"{field}.signature", getattr(error, "problem", error.one_line())) from None
            if recovered != signature.signer:
                problem = f"recovers to {recovered}, not to the signer {signature.signer} (signed another transaction, or edited?)"
                raise _FieldError(f"{field}.signature" if signature.kind != "approved_hash" else f"{field}.signer", problem)
        set_(self, "signatures", sort_signatures(signatures))

        calls, timelock_calls = _flatten_calls(tx)
        _check_timelock(self.timelock, timelock_calls)
        _check_intent(self.intent, calls)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        safe_tx: SafeTx,
        intent: dict,
        created_by: str,
        timelock: dict | None = None,
        created_at: str | None = None,
        tool: str | None = None,
    ) -> "Proposal":
        """A new, unsigned proposal for ``safe_tx`` with the hashes computed."""
        hashes = hash_safe_tx(safe_tx)
        return cls(
            version=FORMAT_VERSION,
            chain_id=safe_tx.chain_id,
            safe=safe_tx.safe,
            safe_version=safe_tx.safe_version,
            to=safe_tx.to,
            value=safe_tx.value,
            data=safe_tx.data,
            operation=safe_tx.operation,
            safe_tx_gas=safe_tx.safe_tx_gas,
            base_gas=safe_tx.base_gas,
            gas_price=safe_tx.gas_price,
            gas_token=safe_tx.gas_token,
            refund_receiver=safe_tx.refund_receiver,
            nonce=safe_tx.nonce,
            intent=intent,
            timelock=timelock,
            hashes={"domain": to_hex(hashes.domain_hash), "message": to_hex(hashes.message_hash), "safe_tx": to_hex(hashes.safe_tx_hash)},
            signatures=(),
            created={"by": created_by, "at": created_at or utc_timestamp(), "tool": tool or default_tool()},
            execution=None,
        )

    @property
    def safe_tx(self) -> SafeTx:
        return SafeTx(
            self.safe, self.chain_id, self.safe_version, self.to, self.value, self.data, self.operation,
            self.safe_tx_gas, self.base_gas, self.gas_price, self.gas_token, self.refund_receiver, self.nonce,
        )  # fmt: skip

    @property
    def safe_tx_hash(self) -> bytes:
        return parse_hex(self.hashes["safe_tx"])

    @property
    def safe_tx_hashes(self) -> SafeTxHashes:
        return SafeTxHashes(parse_hex(self.hashes["domain"]), parse_hex(self.hashes["message"]), self.safe_tx_hash)

    @property
    def id(self) -> str:
        """Short stable id: the first 10 hex digits of the safeTxHash."""
        return self.hashes["safe_tx"][2:12]

    @property
    def signers(self) -> tuple[str, ...]:
        return tuple(signature.signer for signature in self.signatures)

    def with_signature(self, signature: SafeSignature) -> "Proposal":
        """A copy with ``signature`` added; it must recover to its signer, who must not have signed."""
        check_kind_for_version(signature.kind, self.safe_version, signature.signer)
        signature.verify(self.safe_tx_hash)
        return replace(self, signatures=add_signature(self.signatures, signature))

    def with_signatures(self, signatures: Iterable[SafeSignature]) -> "Proposal":
        """A copy with every new signer of ``signatures`` added (already present signers are kept as they are)."""
        merged = {signature.signer: signature for signature in self.signatures}
        for signature in signatures:
            if signature.signer not in merged:
                check_kind_for_version(signature.kind, self.safe_version, signature.signer)
                signature.verify(self.safe_tx_hash)
                merged[signature.signer] = signature
        return replace(self, signatures=sort_signatures(merged.values()))

    def with_execution(self, tx_hash: bytes | str, block: int | None, status: str, executor: str) -> "Proposal":
        """A copy recording the execution (status pending, success or failure)."""
        tx_hash = to_hex(parse_bytes32(tx_hash, "execution tx hash"))
        return replace(self, execution={"tx_hash": tx_hash, "block": block, "status": status, "executor": executor})

    def differences(self, other: "Proposal") -> list[str]:
        """JSON paths (outside ``signatures`` and ``execution``) where ``other`` differs from this one."""
        mine, theirs = self.to_dict(), other.to_dict()
        for key in ("signatures", "execution"):
            mine.pop(key), theirs.pop(key)
        return _diff(mine, theirs, "")

    # -- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "chain_id": str(self.chain_id),
            "safe": self.safe,
            "safe_version": self.safe_version,
            "transaction": {
                "to": self.to,
                "value": str(self.value),
                "data": to_hex(self.data),
                "operation": self.operation,
                "safe_tx_gas": str(self.safe_tx_gas),
                "base_gas": str(self.base_gas),
                "gas_price": str(self.gas_price),
                "gas_token": self.gas_token,
                "refund_receiver": self.refund_receiver,
                "nonce": str(self.nonce),
            },
            "intent": json.loads(json.dumps(self.intent)),
            "timelock": json.loads(json.dumps(self.timelock)),
            "hashes": dict(self.hashes),
            "signatures": [signature.to_dict() for signature in self.signatures],
            "created": dict(self.created),
            "execution": None if self.execution is None else dict(self.execution),
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, 2-space indent, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> "Proposal":
        """Parse and fully check a proposal file; errors name ``source`` and the field."""
        try:
            return cls._from_json(text)
        except _FieldError as error:
            raise ProposalFormatError(source, error.field, error.problem) from None
        except ProposalFormatError as error:
            raise ProposalFormatError(source, error.field, error.problem) from None

    @classmethod
    def _from_json(cls, text: str | bytes) -> "Proposal":
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _FieldError("", f"not UTF-8 text ({error.reason} at byte {error.start})") from None
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        except json.JSONDecodeError as error:
            raise _FieldError("", f"not JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
        if not isinstance(data, dict):
            raise _FieldError("", "not a proposal (the JSON is not an object)")
        if "version" not in data:
            raise _FieldError("version", "missing (is this a guardian proposal file?)")
        version = data["version"]
        if isinstance(version, bool) or version != FORMAT_VERSION:
            raise _FieldError("version", f"this guardian reads proposal format {FORMAT_VERSION}, the file has {version!r}")
        _object(data, "", TOP_KEYS)
        transaction = _object(data["transaction"], "transaction", TRANSACTION_KEYS)
        safe_version = data["safe_version"]
        if safe_version not in SUPPORTED_SAFE_VERSIONS:
            raise _FieldError("safe_version", f"unsupported Safe version {safe_version!r} (supported: {', '.join(SUPPORTED_SAFE_VERSIONS)})")
        signatures = data["signatures"]
        if not isinstance(signatures, list):
            raise _FieldError("signatures", "must be a list")
        chain_id = _uint(data["chain_id"], "chain_id")
        if chain_id == 0:
            raise _FieldError("chain_id", "must be positive")
        return cls(
            version=version,
            chain_id=chain_id,
            safe=_address(data["safe"], "safe"),
            safe_version=safe_version,
            to=_address(transaction["to"], "transaction.to"),
            value=_uint(transaction["value"], "transaction.value"),
            data=_hex(transaction["data"], "transaction.data"),
            operation=_small_int(transaction["operation"], "transaction.operation", (0, 1)),
            safe_tx_gas=_uint(transaction["safe_tx_gas"], "transaction.safe_tx_gas"),
            base_gas=_uint(transaction["base_gas"], "transaction.base_gas"),
            gas_price=_uint(transaction["gas_price"], "transaction.gas_price"),
            gas_token=_address(transaction["gas_token"], "transaction.gas_token"),
            refund_receiver=_address(transaction["refund_receiver"], "transaction.refund_receiver"),
            nonce=_uint(transaction["nonce"], "transaction.nonce"),
            intent=data["intent"],
            timelock=data["timelock"],
            hashes=data["hashes"],
            signatures=tuple(_signature_from_dict(s, f"signatures[{i}]") for i, s in enumerate(signatures)),
            created=data["created"],
            execution=data["execution"],
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _FieldError(key, "appears twice in the same object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _FieldError("", f"not strict JSON ({name} is not a JSON number)")


def _diff(mine: Any, theirs: Any, path: str) -> list[str]:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(set(mine) | set(theirs)):
            found += _diff(mine.get(key), theirs.get(key), _join(path, key))
        return found
    if isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        found = []
        for index, (a, b) in enumerate(zip(mine, theirs)):
            found += _diff(a, b, f"{path}[{index}]")
        return found
    return [] if mine == theirs else [path]


__all__ = [
    "FORMAT_VERSION",
    "NO_CALLDATA",
    "Proposal",
    "intent_action",
    "timelock_call_from_record",
    "timelock_record",
]
