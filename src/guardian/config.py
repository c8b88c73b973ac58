"""The playbook: one typed, validated model of everything guardian needs in an incident.

``load_playbook(path)`` reads the YAML file once and returns a frozen ``Playbook``. Every
problem is a ``ConfigError`` naming the file, the key and what is wrong. Nothing here reads
the environment at import time; ``$VAR`` indirections (RPC URLs) are resolved on load and the
result is kept in the model. See docs/PLAYBOOK.md for the format.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardian.errors import ConfigError, InputError

FORMAT_VERSION = 1
ACTION_KINDS = ("pause", "unpause", "freeze", "unfreeze", "set-parameter", "other")
ROUTES = ("safe", "timelock")
PARAM_TYPE = re.compile(r"^(address|bool|bytes32|string|bytes|u?int(8|16|32|64|128|160|256)?)$")
SUPPORTED_SAFE_VERSIONS = ("1.0.0", "1.1.1", "1.3.0", "1.4.1", "1.5.0")
SIGNER_BACKENDS = ("ledger", "ledger-emulator", "keystore", "key")
PLAYBOOK_ENV = "GUARDIAN_PLAYBOOK"
DEFAULT_PLAYBOOK = "guardian.yaml"


@dataclass(frozen=True)
class Network:
    name: str
    chain_id: int
    rpc_url: str | None
    rpc_url_env: str | None = None
    fork_block: int | None = None


@dataclass(frozen=True)
class SafeConfig:
    address: str
    version: str
    threshold: int
    owners: dict[str, str]
    multisend_call_only: str | None = None
    delegatecall_allowlist: tuple[str, ...] = ()

    def owner_name(self, address: str) -> str | None:
        for name, owner in self.owners.items():
            if owner.lower() == address.lower():
                return name
        return None


@dataclass(frozen=True)
class TimelockConfig:
    address: str
    min_delay: int


@dataclass(frozen=True)
class ContractConfig:
    name: str
    address: str
    abi: tuple[dict, ...]
    pause_window_end: str | None = None

    def functions(self) -> dict[str, dict]:
        """Canonical signature -> ABI entry, for every function in the ABI."""
        return {abi_signature(entry): entry for entry in self.abi if entry.get("type") == "function"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Check:
    """A post-condition or drill condition: a view equals a value, or a call reverts."""

    contract: str
    call: str | None = None
    equals: Any = None
    reverts: str | None = None
    args: tuple = ()
    sender: str | None = None  # `from` in the file

    def describe(self) -> str:
        args = ", ".join(str(a) for a in self.args)
        if self.reverts:
            who = f" from {self.sender}" if self.sender else ""
            return f"{self.contract}.{_name(self.reverts)}({args}){who} reverts"
        expected = str(self.equals).lower() if isinstance(self.equals, bool) else self.equals
        return f"{self.contract}.{_name(self.call or '')}({args}) == {expected}"


@dataclass(frozen=True)
class ActionConfig:
    name: str
    kind: str
    contract: str
    function: str
    route: str
    description: str
    params: tuple[Param, ...] = ()
    postconditions: tuple[Check, ...] = ()


@dataclass(frozen=True)
class BreachStep:
    sender: str
    contract: str
    function: str
    args: tuple = ()
    value: int = 0
    repeat: int = 1


@dataclass(frozen=True)
class ResponseItem:
    action: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DrillSigner:
    owner: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Drill:
    name: str
    description: str
    breach: tuple[BreachStep, ...]
    actors: dict[str, str]
    response: tuple[ResponseItem, ...]
    signers: tuple[DrillSigner, ...]
    conditions: tuple[Check, ...]


@dataclass(frozen=True)
class Playbook:
    path: Path
    name: str
    default_network: str
    proposals_dir: Path
    networks: dict[str, Network]
    safe: SafeConfig
    timelock: TimelockConfig | None
    contracts: dict[str, ContractConfig]
    actions: dict[str, ActionConfig]
    drills: dict[str, Drill]

    def network(self, name: str | None = None) -> Network:
        name = name or self.default_network
        if name not in self.networks:
            raise ConfigError(str(self.path), "networks", f"no network named {name!r} (have: {', '.join(self.networks)})")
        return self.networks[name]

    def action(self, name: str) -> ActionConfig:
        if name not in self.actions:
            known = ", ".join(sorted(self.actions))
            raise InputError("action", name, f"not in the playbook (known actions: {known})")
        return self.actions[name]

    def drill(self, name: str) -> Drill:
        if name not in self.drills:
            raise InputError("drill scenario", name, f"not in the playbook (known: {', '.join(sorted(self.drills)) or 'none'})")
        return self.drills[name]

    def contract_by_address(self, address: str) -> ContractConfig | None:
        for contract in self.contracts.values():
            if contract.address.lower() == address.lower():
                return contract
        return None

    def abi_sources(self) -> list[tuple[str, str, list[dict]]]:
        """(name, address, abi) for every guarded contract: feed these to an ABI registry."""
        return [(c.name, c.address, list(c.abi)) for c in self.contracts.values()]


def abi_signature(entry: dict) -> str:
    """Canonical ``name(type,...)`` of an ABI function/event/error entry (tuples expanded)."""
    return f"{entry['name']}({','.join(_abi_type(i) for i in entry.get('inputs', []))})"


def _abi_type(item: dict) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item.get("components", [])) + ")" + kind[len("tuple"):]
    return kind


def _name(signature: str) -> str:
    return signature.split("(", 1)[0]


def resolve_playbook_path(explicit: str | os.PathLike | None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(PLAYBOOK_ENV)
    return Path(from_env) if from_env else Path(DEFAULT_PLAYBOOK)


def load_playbook(path: str | os.PathLike | None = None) -> Playbook:
    """Read and validate the playbook; raises ConfigError naming the file, key and problem."""
    path = resolve_playbook_path(path)
    source = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found (pass --playbook or set $GUARDIAN_PLAYBOOK)") from None
    except OSError as error:
        raise ConfigError(source, "", f"cannot read: {error.strerror}") from error
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ConfigError(source, where, f"not valid YAML: {getattr(error, 'problem', error)}") from None
    return _Parser(path).playbook(data)


class _Parser:
    """Walks the raw YAML, keeping the dotted key path for error messages."""

    def __init__(self, path: Path):
        self.path = path
        self.base = path.parent

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(str(self.path), key, problem)

    # ---- typed field readers -------------------------------------------------------------
    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def require(self, data: dict, name: str, key: str) -> Any:
        if name not in data or data[name] is None:
            raise self.fail(f"{key}.{name}" if key else name, "missing")
        return data[name]

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def integer(self, value: Any, key: str, *, minimum: int | None = None) -> int:
        if isinstance(value, bool):
            raise self.fail(key, "expected an integer, got a boolean")
        if isinstance(value, str):
            try:
                value = int(value, 0)
            except ValueError:
                raise self.fail(key, f"expected an integer, got {value!r}") from None
        if not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {type(value).__name__}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum}")
        return value

    def address(self, value: Any, key: str) -> str:
        from guardian.domain.values import parse_address

        try:
            return parse_address(value if isinstance(value, str) else repr(value), what=key)
        except InputError as error:
            raise self.fail(key, error.problem) from None

    def unknown_keys(self, data: dict, allowed: set[str], key: str) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            where = f"{key}.{extra[0]}" if key else extra[0]
            raise self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    # ---- sections ------------------------------------------------------------------------
    def playbook(self, data: Any) -> Playbook:
        data = self.mapping(data, "")
        self.unknown_keys(
            data,
            {"version", "name", "default_network", "proposals_dir", "networks", "safe", "timelock", "contracts", "actions", "drills"},
            "",
        )
        version = self.require(data, "version", "")
        if version != FORMAT_VERSION:
            raise self.fail("version", f"unsupported playbook version {version!r} (this guardian reads {FORMAT_VERSION})")
        networks = {
            name: self.network(name, body, f"networks.{name}")
            for name, body in self.mapping(self.require(data, "networks", ""), "networks").items()
        }
        if not networks:
            raise self.fail("networks", "declare at least one network")
        default_network = data.get("default_network") or next(iter(networks))
        if default_network not in networks:
            raise self.fail("default_network", f"no network named {default_network!r}")
        safe = self.safe(self.require(data, "safe", ""))
        timelock = self.timelock(data["timelock"]) if data.get("timelock") else None
        contracts = {
            name: self.contract(name, body, f"contracts.{name}")
            for name, body in self.mapping(self.require(data, "contracts", ""), "contracts").items()
        }
        actions = {
            name: self.action(name, body, f"actions.{name}", contracts, timelock)
            for name, body in self.mapping(data.get("actions") or {}, "actions").items()
        }
        drills = {
            name: self.drill(name, body, f"drills.{name}", contracts, actions, safe)
            for name, body in self.mapping(data.get("drills") or {}, "drills").items()
        }
        return Playbook(
            path=self.path,
            name=str(data.get("name") or self.path.stem),
            default_network=default_network,
            proposals_dir=self.base / str(data.get("proposals_dir") or "proposals"),
            networks=networks,
            safe=safe,
            timelock=timelock,
            contracts=contracts,
            actions=actions,
            drills=drills,
        )

    def network(self, name: str, body: Any, key: str) -> Network:
        body = self.mapping(body, key)
        self.unknown_keys(body, {"chain_id", "rpc_url", "rpc_url_env", "fork_block"}, key)
        chain_id = self.integer(self.require(body, "chain_id", key), f"{key}.chain_id", minimum=1)
        rpc_url, rpc_env = body.get("rpc_url"), body.get("rpc_url_env")
        if rpc_url and rpc_env:
            raise self.fail(key, "give rpc_url or rpc_url_env, not both")
        if rpc_env:
            rpc_url = os.environ.get(self.text(rpc_env, f"{key}.rpc_url_env"))
        elif rpc_url is not None:
            rpc_url = self.text(rpc_url, f"{key}.rpc_url")
            if not re.match(r"^(https?|wss?)://", rpc_url):
                raise self.fail(f"{key}.rpc_url", f"not an http(s) or ws(s) URL: {rpc_url!r}")
        fork_block = body.get("fork_block")
        if fork_block is not None:
            fork_block = self.integer(fork_block, f"{key}.fork_block", minimum=0)
        return Network(name=name, chain_id=chain_id, rpc_url=rpc_url, rpc_url_env=rpc_env, fork_block=fork_block)

    def safe(self, body: Any) -> SafeConfig:
        key = "safe"
        body = self.mapping(body, key)
        self.unknown_keys(body, {"address", "version", "threshold", "owners", "multisend_call_only", "delegatecall_allowlist"}, key)
        version = str(self.require(body, "version", key))
        if version not in SUPPORTED_SAFE_VERSIONS:
            raise self.fail("safe.version", f"unsupported Safe version {version!r} (supported: {', '.join(SUPPORTED_SAFE_VERSIONS)})")
        owners_raw = self.mapping(self.require(body, "owners", key), "safe.owners")
        owners: dict[str, str] = {}
        for name, address in owners_raw.items():
            checksummed = self.address(address, f"safe.owners.{name}")
            if checksummed in owners.values():
                raise self.fail(f"safe.owners.{name}", f"duplicate owner address {checksummed}")
            owners[str(name)] = checksummed
        if not owners:
            raise self.fail("safe.owners", "declare at least one owner")
        threshold = self.integer(self.require(body, "threshold", key), "safe.threshold", minimum=1)
        if threshold > len(owners):
            raise self.fail("safe.threshold", f"threshold {threshold} exceeds the {len(owners)} owners")
        multisend = body.get("multisend_call_only")
        allowlist = body.get("delegatecall_allowlist") or []
        if not isinstance(allowlist, list):
            raise self.fail("safe.delegatecall_allowlist", "expected a list of addresses")
        return SafeConfig(
            address=self.address(self.require(body, "address", key), "safe.address"),
            version=version,
            threshold=threshold,
            owners=owners,
            multisend_call_only=self.address(multisend, "safe.multisend_call_only") if multisend else None,
            delegatecall_allowlist=tuple(
                self.address(a, f"safe.delegatecall_allowlist[{i}]") for i, a in enumerate(allowlist)
            ),
        )

    def timelock(self, body: Any) -> TimelockConfig:
        body = self.mapping(body, "timelock")
        self.unknown_keys(body, {"address", "min_delay"}, "timelock")
        return TimelockConfig(
            address=self.address(self.require(body, "address", "timelock"), "timelock.address"),
            min_delay=self.integer(self.require(body, "min_delay", "timelock"), "timelock.min_delay", minimum=0),
        )

    def contract(self, name: str, body: Any, key: str) -> ContractConfig:
        body = self.mapping(body, key)
        self.unknown_keys(body, {"address", "abi", "pause_window_end"}, key)
        abi = self.abi(self.require(body, "abi", key), f"{key}.abi")
        contract = ContractConfig(
            name=name,
            address=self.address(self.require(body, "address", key), f"{key}.address"),
            abi=tuple(abi),
            pause_window_end=body.get("pause_window_end"),
        )
        if contract.pause_window_end and contract.pause_window_end not in contract.functions():
            raise self.fail(f"{key}.pause_window_end", f"{contract.pause_window_end!r} is not a function in the ABI")
        return contract

    def abi(self, spec: Any, key: str) -> list[dict]:
        if isinstance(spec, list):
            entries = spec
        elif isinstance(spec, str):
            entries = self.abi_file(self.base / spec, key)
        elif isinstance(spec, dict) and set(spec) == {"ape"}:
            entries = self.ape_abi(str(spec["ape"]), key)
        else:
            raise self.fail(key, "expected an ABI file path, an inline ABI list, or {ape: ContractName}")
        if not all(isinstance(e, dict) and "type" in e for e in entries):
            raise self.fail(key, "not a JSON ABI (expected a list of entries with a 'type')")
        return entries

    def abi_file(self, file: Path, key: str) -> list[dict]:
        try:
            data = json.loads(file.read_text())
        except FileNotFoundError:
            raise self.fail(key, f"ABI file {file} not found") from None
        except (OSError, ValueError) as error:
            raise self.fail(key, f"ABI file {file} is not readable JSON: {error}") from None
        if isinstance(data, dict) and "abi" in data:
            data = data["abi"]
        if not isinstance(data, list):
            raise self.fail(key, f"ABI file {file} holds no ABI list")
        return data

    def ape_abi(self, contract_type: str, key: str) -> list[dict]:
        manifest = self.base / ".build" / "__local__.json"
        for folder in [self.base, *self.base.parents]:
            if (folder / ".build" / "__local__.json").is_file():
                manifest = folder / ".build" / "__local__.json"
                break
        try:
            types = json.loads(manifest.read_text()).get("contractTypes", {})
        except (OSError, ValueError):
            raise self.fail(key, f"no ape build manifest at {manifest} (run `ape compile`)") from None
        if contract_type not in types:
            raise self.fail(key, f"contract type {contract_type!r} not in {manifest}")
        return types[contract_type].get("abi", [])

    def params(self, raw: Any, key: str) -> tuple[Param, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.fail(key, "expected a list of {name, type, min, max}")
        params = []
        for index, item in enumerate(raw):
            item_key = f"{key}[{index}]"
            item = self.mapping(item, item_key)
            self.unknown_keys(item, {"name", "type", "min", "max"}, item_key)
            kind = self.text(self.require(item, "type", item_key), f"{item_key}.type")
            if not PARAM_TYPE.match(kind):
                raise self.fail(f"{item_key}.type", f"unsupported parameter type {kind!r}")
            low = self.integer(item["min"], f"{item_key}.min") if item.get("min") is not None else None
            high = self.integer(item["max"], f"{item_key}.max") if item.get("max") is not None else None
            if (low is not None or high is not None) and "int" not in kind:
                raise self.fail(item_key, f"bounds only apply to integer parameters, not {kind}")
            if low is not None and high is not None and low > high:
                raise self.fail(item_key, f"min {low} is above max {high}")
            params.append(Param(name=self.text(self.require(item, "name", item_key), f"{item_key}.name"), type=kind, min=low, max=high))
        return tuple(params)

    def checks(self, raw: Any, key: str, contracts: dict[str, ContractConfig], default_contract: str | None) -> tuple[Check, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.fail(key, "expected a list of checks")
        checks = []
        for index, item in enumerate(raw):
            item_key = f"{key}[{index}]"
            item = self.mapping(item, item_key)
            self.unknown_keys(item, {"contract", "call", "equals", "reverts", "args", "from"}, item_key)
            contract = item.get("contract") or default_contract
            if contract not in contracts:
                raise self.fail(f"{item_key}.contract", f"unknown contract {contract!r}")
            call, reverts = item.get("call"), item.get("reverts")
            if bool(call) == bool(reverts):
                raise self.fail(item_key, "give exactly one of `call` (with `equals`) or `reverts`")
            function = call or reverts
            if function not in contracts[contract].functions():
                raise self.fail(item_key, f"{function!r} is not a function of contract {contract!r}")
            if call and "equals" not in item:
                raise self.fail(item_key, "a `call` check needs `equals`")
            args = item.get("args") or []
            if not isinstance(args, list):
                raise self.fail(f"{item_key}.args", "expected a list")
            checks.append(
                Check(contract=contract, call=call, equals=item.get("equals"), reverts=reverts, args=tuple(args), sender=item.get("from"))
            )
        return tuple(checks)

    def action(self, name: str, body: Any, key: str, contracts: dict[str, ContractConfig], timelock: TimelockConfig | None) -> ActionConfig:
        body = self.mapping(body, key)
        self.unknown_keys(body, {"kind", "contract", "function", "route", "description", "params", "postconditions"}, key)
        kind = str(body.get("kind") or "other")
        if kind not in ACTION_KINDS:
            raise self.fail(f"{key}.kind", f"unknown kind {kind!r} (one of: {', '.join(ACTION_KINDS)})")
        contract = self.text(self.require(body, "contract", key), f"{key}.contract")
        if contract not in contracts:
            raise self.fail(f"{key}.contract", f"unknown contract {contract!r} (declared: {', '.join(contracts)})")
        function = self.text(self.require(body, "function", key), f"{key}.function").replace(" ", "")
        if function not in contracts[contract].functions():
            raise self.fail(f"{key}.function", f"{function!r} is not a function of contract {contract!r}")
        route = str(body.get("route") or "safe")
        if route not in ROUTES:
            raise self.fail(f"{key}.route", f"unknown route {route!r} (safe or timelock)")
        if route == "timelock" and timelock is None:
            raise self.fail(f"{key}.route", "routes through the timelock but the playbook declares no `timelock`")
        params = self.params(body.get("params"), f"{key}.params")
        declared = ",".join(p.type for p in params)
        expected = function[function.index("(") + 1 : -1]
        if declared != expected:
            raise self.fail(f"{key}.params", f"parameter types ({declared}) do not match {function}")
        return ActionConfig(
            name=name,
            kind=kind,
            contract=contract,
            function=function,
            route=route,
            description=str(body.get("description") or f"{contract}.{function}"),
            params=params,
            postconditions=self.checks(body.get("postconditions"), f"{key}.postconditions", contracts, contract),
        )

    def drill(
        self, name: str, body: Any, key: str, contracts: dict[str, ContractConfig], actions: dict[str, ActionConfig], safe: SafeConfig
    ) -> Drill:
        body = self.mapping(body, key)
        self.unknown_keys(body, {"description", "breach", "actors", "response", "signers", "conditions"}, key)
        actors = {
            str(actor): self.address(address, f"{key}.actors.{actor}")
            for actor, address in self.mapping(body.get("actors") or {}, f"{key}.actors").items()
        }
        breach = []
        for index, step in enumerate(body.get("breach") or []):
            step_key = f"{key}.breach[{index}]"
            step = self.mapping(step, step_key)
            self.unknown_keys(step, {"from", "contract", "function", "args", "value", "repeat"}, step_key)
            contract = self.require(step, "contract", step_key)
            if contract not in contracts:
                raise self.fail(f"{step_key}.contract", f"unknown contract {contract!r}")
            function = str(self.require(step, "function", step_key))
            if function not in contracts[contract].functions():
                raise self.fail(f"{step_key}.function", f"{function!r} is not a function of contract {contract!r}")
            sender = str(self.require(step, "from", step_key))
            if sender not in actors:
                self.address(sender, f"{step_key}.from")
            breach.append(
                BreachStep(
                    sender=sender,
                    contract=contract,
                    function=function,
                    args=tuple(step.get("args") or []),
                    value=self.integer(step.get("value", 0), f"{step_key}.value", minimum=0),
                    repeat=self.integer(step.get("repeat", 1), f"{step_key}.repeat", minimum=1),
                )
            )
        response = []
        for index, item in enumerate(self.require(body, "response", key)):
            item_key = f"{key}.response[{index}]"
            if isinstance(item, str):
                item = {"action": item}
            item = self.mapping(item, item_key)
            self.unknown_keys(item, {"action", "args"}, item_key)
            action = str(self.require(item, "action", item_key))
            if action not in actions:
                raise self.fail(f"{item_key}.action", f"unknown action {action!r}")
            args = self.mapping(item.get("args") or {}, f"{item_key}.args")
            missing = [p.name for p in actions[action].params if p.name not in args]
            if missing:
                raise self.fail(f"{item_key}.args", f"missing argument(s) {', '.join(missing)} for {action}")
            response.append(ResponseItem(action=action, args=dict(args)))
        if not response:
            raise self.fail(f"{key}.response", "a drill needs at least one response action")
        signers = []
        for index, item in enumerate(self.require(body, "signers", key)):
            item_key = f"{key}.signers[{index}]"
            item = dict(self.mapping(item, item_key))
            owner = str(self.require(item, "owner", item_key))
            if owner not in safe.owners:
                raise self.fail(f"{item_key}.owner", f"unknown guardian {owner!r} (roster: {', '.join(safe.owners)})")
            backend = str(self.require(item, "backend", item_key))
            if backend not in SIGNER_BACKENDS:
                raise self.fail(f"{item_key}.backend", f"unknown backend {backend!r} (one of: {', '.join(SIGNER_BACKENDS)})")
            options = {k: v for k, v in item.items() if k not in ("owner", "backend")}
            if backend == "keystore" and "keystore" in options:
                options["keystore"] = str(self.base / str(options["keystore"]))
            signers.append(DrillSigner(owner=owner, backend=backend, options=options))
        if len({s.owner for s in signers}) != len(signers):
            raise self.fail(f"{key}.signers", "a guardian is listed twice")
        return Drill(
            name=name,
            description=str(body.get("description") or name),
            breach=tuple(breach),
            actors=actors,
            response=tuple(response),
            signers=tuple(signers),
            conditions=self.checks(body.get("conditions"), f"{key}.conditions", contracts, None),
        )
