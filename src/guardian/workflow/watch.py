"""`guardian watch`: follow the chain and tell the guardians what they can act on.

Every poll reads the blocks since the last processed one (``eth_getLogs`` in ranges of at
most ``max_range`` blocks) and raises alerts for:

- every ``CallScheduled`` on the playbook's timelock, decoded with the playbook's ABIs and
  classified (``domain.classify``: hostile / risky / benign). For a hostile or risky
  operation that is still pending, a ready-to-sign ``timelock-cancel`` proposal is written to
  the proposals folder (one proposal vetoing every such operation of the range, at the Safe's
  current nonce), and the alert carries the commands the guardians run next. ``Cancelled``,
  ``CallExecuted``, ``MinDelayChange`` and role changes on the timelock are reported too
  (EXECUTOR_ROLE granted to address(0) is critical: the Sonne failure);
- changes to the Safe: owners, threshold, modules, guard, singleton (storage slot 0) and
  fallback handler. A snapshot of all six is compared at the end of every range, so a change
  made without an event (a DELEGATECALL that rewrites slot 0: Bybit) is caught too; the
  Safe's own events (AddedOwner, ChangedThreshold, EnabledModule, ...) only name the block
  and transaction;
- the guarded contracts' pause, freeze, role, parameter, oracle and upgrade events, so the
  team sees an emergency action land.

Alerts go to the ``sinks`` (the terminal, ``JsonLinesSink``, ``WebhookSink``). The last
processed block, the Safe snapshot and the keys of recent alerts live in a small state file
written atomically after every range: a restarted watcher resumes where it stopped and does
not repeat an alert. ``Watcher.run`` survives RPC hiccups: it retries with exponential
backoff and one notice line per failure.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from guardian.config import Playbook
from guardian.domain.abi import EventSignature, abi_decode, encode_call, format_value
from guardian.domain.classify import classify_operation, role_name
from guardian.domain.intent import Context
from guardian.domain.multisend import Call
from guardian.domain.policy import CRITICAL, INFO, WARNING
from guardian.domain.values import ZERO_ADDRESS, checksum_address, keccak, to_hex, utc_timestamp
from guardian.errors import AbiError, CallRevertedError, GuardianError, InputError, NotASafeError, RpcError

STATE_FORMAT = "guardian-watch-state"
STATE_VERSION = 1
SEEN_LIMIT = 2000
DEFAULT_MAX_RANGE = 1000
SAFE_FIELDS = ("singleton", "owners", "threshold", "modules", "guard", "fallback_handler")  # the singleton first: a swap explains the rest

CALL_SCHEDULED = keccak(b"CallScheduled(bytes32,uint256,address,uint256,bytes,bytes32,uint256)")
CALL_EXECUTED = keccak(b"CallExecuted(bytes32,uint256,address,uint256,bytes)")
CANCELLED = keccak(b"Cancelled(bytes32)")
MIN_DELAY_CHANGE = keccak(b"MinDelayChange(uint256,uint256)")
ROLE_GRANTED = keccak(b"RoleGranted(bytes32,address,address)")
ROLE_REVOKED = keccak(b"RoleRevoked(bytes32,address,address)")
EXECUTOR_ROLE = keccak(b"EXECUTOR_ROLE")
TIMELOCK_TOPICS = [CALL_SCHEDULED, CALL_EXECUTED, CANCELLED, MIN_DELAY_CHANGE, ROLE_GRANTED, ROLE_REVOKED]

# The Safe's configuration events (topic0 does not depend on `indexed`) -> the snapshot field.
SAFE_EVENTS = {
    keccak(b"AddedOwner(address)"): "owners",
    keccak(b"RemovedOwner(address)"): "owners",
    keccak(b"ChangedThreshold(uint256)"): "threshold",
    keccak(b"EnabledModule(address)"): "modules",
    keccak(b"DisabledModule(address)"): "modules",
    keccak(b"ChangedGuard(address)"): "guard",
    keccak(b"ChangedFallbackHandler(address)"): "fallback_handler",
    keccak(b"ChangedMasterCopy(address)"): "singleton",
}
# Guarded-contract events worth telling the team about, by name.
CONTRACT_EVENT_NAMES = re.compile(r"paus|freez|frozen|role|oracle|parameter|upgrad|ownership|adminchanged", re.IGNORECASE)
CRITICAL_EVENT_NAMES = ("Upgraded", "AdminChanged", "OwnershipTransferred", "BeaconUpgraded")
WARNING_EVENT_NAMES = ("RoleGranted", "RoleRevoked", "RoleAdminChanged", "OracleUpdated")

Sink = Callable[["Alert"], None]
Notice = Callable[[str], None]


@dataclass(frozen=True)
class Alert:
    """One thing the guardians should know. ``key`` identifies it across restarts."""

    severity: str  # critical / warning / info
    kind: str
    block: int | None
    tx: str | None
    text: str
    key: str
    details: dict[str, Any] = field(default_factory=dict)
    order: tuple[int, int] = (0, 0)  # (block, log index): the order alerts are emitted in

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "block": self.block,
            "tx": self.tx,
            "text": self.text,
            "key": self.key,
            "details": self.details,
            "time": utc_timestamp(),
        }


# ---- sinks ------------------------------------------------------------------------------------


class JsonLinesSink:
    """Appends one JSON object per alert to ``path`` (flushed and fsynced per alert)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = f"JSON-lines file {self.path}"

    def __call__(self, alert: Alert) -> None:
        import os

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(alert.as_dict(), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class WebhookSink:
    """POSTs each alert as JSON to an http(s) URL."""

    def __init__(self, url: str, timeout: float = 5.0):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError("webhook URL", url, "must be an http:// or https:// URL")
        self.url, self.timeout = url, timeout
        self.name = f"webhook {parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"

    def __call__(self, alert: Alert) -> None:
        import urllib.request

        body = json.dumps(alert.as_dict(), sort_keys=True).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "guardian-watch"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


# ---- state ------------------------------------------------------------------------------------


@dataclass
class WatchState:
    chain_id: int
    safe: str
    last_block: int
    snapshot: dict[str, Any]
    seen: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "chain_id": self.chain_id,
            "safe": self.safe,
            "last_block": self.last_block,
            "snapshot": self.snapshot,
            "seen": self.seen[-SEEN_LIMIT:],
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> "WatchState":
        try:
            data = json.loads(text)
            if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
                raise ValueError(f"not a {STATE_FORMAT} v{STATE_VERSION} file")
            state = cls(int(data["chain_id"]), str(data["safe"]), int(data["last_block"]), dict(data["snapshot"]), list(data.get("seen", [])))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputError("watch state file", source, f"unreadable ({error}); delete it to start over") from None
        missing = [f for f in SAFE_FIELDS if f not in state.snapshot]
        if missing:
            raise InputError("watch state file", source, f"snapshot lacks {', '.join(missing)}; delete it to start over")
        return state


def default_state_path(playbook: Playbook) -> Path:
    return playbook.path.parent / ".guardian-watch-state.json"


def load_state(path: Path) -> WatchState | None:
    from guardian.adapters.files import read_text

    if not Path(path).exists():
        return None
    return WatchState.from_json(read_text(Path(path), what="watch state"), str(path))


def save_state(path: Path, state: WatchState) -> None:
    from guardian.adapters.files import atomic_write_text

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(path), state.to_json())


# ---- the watcher ------------------------------------------------------------------------------


@dataclass
class _Scan:
    alerts: list[Alert]
    snapshot: dict[str, Any]
    safe_nonce: int | None = None  # read when a veto must be drafted


class Watcher:
    """Follows ``chain`` for ``playbook``; see the module docstring."""

    def __init__(
        self,
        playbook: Playbook,
        chain,
        *,
        state_path: str | Path | None = None,
        network: str | None = None,
        from_block: int | None = None,
        sinks: Iterable[Sink] = (),
        notice: Notice = print,
        draft_vetoes: bool = True,
        max_range: int = DEFAULT_MAX_RANGE,
        rpc_url_hint: str | None = None,
    ):
        from guardian.adapters.chain import SafeReader

        self.playbook, self.chain = playbook, chain
        self.network = playbook.network(network)
        self.state_path = Path(state_path) if state_path else default_state_path(playbook)
        self.from_block = from_block
        self.sinks = list(sinks)
        self.notice = notice
        self.draft_vetoes = draft_vetoes
        self.max_range = max(1, int(max_range))
        self.rpc_url_hint = rpc_url_hint
        self.context = Context.from_playbook(playbook)
        self.reader = SafeReader(chain, playbook.safe.address)
        self.state: WatchState | None = None
        self._behind_noticed = False

    # ---- the loop -------------------------------------------------------------------------
    def run(
        self,
        *,
        once: bool = False,
        interval: float = 12.0,
        stop=None,
        max_backoff: float = 60.0,
        first_backoff: float = 1.0,
        once_attempts: int = 4,
    ) -> int:
        """Poll until ``stop`` (a ``threading.Event``) is set, or once. Returns the number of alerts.

        An ``RpcError`` never ends the loop: one notice line, then a retry after 1, 2, 4 ...
        seconds (at most ``max_backoff``). With ``once``, the RPC error is raised after
        ``once_attempts`` failed attempts.
        """
        count, failures = 0, 0
        while True:
            try:
                count += len(self.poll())
                if failures:
                    self.notice(f"RPC back after {failures} failed attempt(s); resumed at block {self.state.last_block if self.state else '?'}")
                failures = 0
            except RpcError as error:
                failures += 1
                if once and failures >= once_attempts:
                    raise
                wait = min(max_backoff, first_backoff * 2 ** (failures - 1))
                self.notice(f"RPC hiccup: {error.one_line()}; retry {failures} in {wait:g}s")
                if _wait(wait, stop):
                    return count
                continue
            if once or _wait(interval, stop):
                return count

    def poll(self) -> list[Alert]:
        """Process every block up to the head; returns the (new) alerts emitted."""
        chain_id = self.chain.chain_id()
        if chain_id != self.network.chain_id:
            from guardian.workflow.proposals import ChainMismatchError

            raise ChainMismatchError(self.chain.display_url, self.network.chain_id, chain_id)
        head = self.chain.block_number()
        state = self._ensure_state(head)
        if head < state.last_block:
            if not self._behind_noticed:
                self.notice(f"the chain head {head} is behind the last processed block {state.last_block} (a reset node?); waiting for it")
                self._behind_noticed = True
            return []
        self._behind_noticed = False
        emitted: list[Alert] = []
        while state.last_block < head:
            low, high = state.last_block + 1, min(head, state.last_block + self.max_range)
            scan = self._scan(low, high, state.snapshot)
            seen = set(state.seen)
            new = [a for a in sorted(scan.alerts, key=lambda a: a.order) if a.key not in seen]
            new = self._draft_vetoes(new, scan.safe_nonce)
            for alert in new:
                self._emit(alert)
            state.last_block, state.snapshot = high, scan.snapshot
            state.seen = (state.seen + [a.key for a in new])[-SEEN_LIMIT:]
            save_state(self.state_path, state)
            emitted += new
        return emitted

    def _ensure_state(self, head: int) -> WatchState:
        if self.state is None:
            self.state = load_state(self.state_path)
            safe = self.playbook.safe.address
            if self.state is not None and (self.state.chain_id != self.network.chain_id or self.state.safe.lower() != safe.lower()):
                raise InputError(
                    "watch state file",
                    str(self.state_path),
                    f"is for Safe {self.state.safe} on chain {self.state.chain_id}, not {safe} on chain {self.network.chain_id} (use another --state)",
                )
            if self.from_block is not None:
                start = max(0, self.from_block)
                if self.state is not None:
                    self.notice(f"--from-block {start} given: restarting from it instead of the state's block {self.state.last_block + 1}")
                last = start - 1
                snapshot = self._snapshot(max(last, 0))
                self.state = WatchState(self.network.chain_id, safe, last, snapshot, self.state.seen if self.state else [])
                save_state(self.state_path, self.state)
            elif self.state is None:
                self.state = WatchState(self.network.chain_id, safe, head, self._snapshot(head))
                save_state(self.state_path, self.state)
                self.notice(f"no state file yet: watching from block {head + 1} (state in {self.state_path})")
            else:
                self.notice(f"resuming after block {self.state.last_block} (state in {self.state_path})")
        return self.state

    def _emit(self, alert: Alert) -> None:
        for sink in self.sinks:
            try:
                sink(alert)
            except (OSError, GuardianError, ValueError) as error:  # a broken sink must not stop the watch
                name = getattr(sink, "name", type(sink).__name__)
                self.notice(f"could not deliver alert {alert.key} to {name}: {error}")

    # ---- one range ------------------------------------------------------------------------
    def _scan(self, low: int, high: int, before: dict[str, Any]) -> _Scan:
        """All the RPC reads for blocks low..high; nothing is emitted or written here."""
        alerts = self._timelock_alerts(low, high)
        snapshot = self._snapshot(high)
        alerts += self._safe_alerts(low, high, before, snapshot)
        alerts += self._contract_alerts(low, high)
        safe_nonce = None
        if self.draft_vetoes and any(a.details.get("veto") for a in alerts):
            safe_nonce = self.reader.nonce()
        return _Scan(alerts, snapshot, safe_nonce)

    def _snapshot(self, block: int) -> dict[str, Any]:
        """The six watched fields at ``block``. A field the Safe no longer answers (its singleton
        was swapped for other code) is recorded as ``"unreadable: ..."``, which is itself a change."""
        reader = self.reader
        readers = {
            "owners": reader.owners,
            "threshold": reader.threshold,
            "modules": reader.modules,
            "guard": reader.guard,
            "singleton": reader.singleton,
            "fallback_handler": reader.fallback_handler,
        }
        snapshot = {}
        for name, read in readers.items():
            try:
                snapshot[name] = read(block)
            except (CallRevertedError, NotASafeError) as error:
                snapshot[name] = f"unreadable: {error.one_line()}"
        return snapshot

    # timelock -----------------------------------------------------------------------------
    def _timelock_alerts(self, low: int, high: int) -> list[Alert]:
        timelock = self.playbook.timelock
        if timelock is None:
            return []
        logs = sorted(self.chain.get_logs(timelock.address, [TIMELOCK_TOPICS], low, high), key=lambda log: (log.block_number, log.log_index))
        alerts: list[Alert] = []
        scheduled: dict[tuple[bytes, bytes], list] = {}
        executed: dict[tuple[bytes, bytes], list] = {}
        for log in logs:
            topic = log.topics[0] if log.topics else b""
            if topic == CALL_SCHEDULED and len(log.topics) >= 3:
                scheduled.setdefault((log.topics[1], log.tx_hash), []).append(log)
            elif topic == CALL_EXECUTED and len(log.topics) >= 3:
                executed.setdefault((log.topics[1], log.tx_hash), []).append(log)
            elif topic == CANCELLED and len(log.topics) >= 2:
                alerts.append(self._log_alert(log, INFO, "timelock-cancelled", f"timelock operation {to_hex(log.topics[1])} was cancelled (vetoed)", {"operation_id": to_hex(log.topics[1])}))
            elif topic == MIN_DELAY_CHANGE:
                old, new = abi_decode(("uint256", "uint256"), log.data, "MinDelayChange", strict=False)
                alerts.append(self._log_alert(log, WARNING, "timelock-delay", f"the timelock's minimum delay changed from {old}s to {new}s (the playbook says {timelock.min_delay}s)", {"old": old, "new": new}))
            elif topic in (ROLE_GRANTED, ROLE_REVOKED) and len(log.topics) >= 4:
                alerts.append(self._timelock_role_alert(log))
        for (op_id, _), group in scheduled.items():
            alerts.append(self._scheduled_alert(op_id, group))
        for (op_id, _), group in executed.items():
            calls = [self._call_of(log) for log in sorted(group, key=lambda l: int.from_bytes(l.topics[2], "big"))]
            described = "; ".join(v.describe() for v in classify_operation(self.context, calls).calls)
            alerts.append(self._log_alert(group[0], INFO, "timelock-executed", f"timelock operation {to_hex(op_id)} was executed: {described}", {"operation_id": to_hex(op_id)}))
        return alerts

    @staticmethod
    def _call_of(log) -> Call:
        target, value, data = abi_decode(("address", "uint256", "bytes"), log.data, "CallExecuted", strict=False)
        return Call(target, value, data)

    def _scheduled_alert(self, op_id: bytes, group: list) -> Alert:
        first = group[0]
        calls, predecessor, delay = [], None, 0
        for log in sorted(group, key=lambda l: int.from_bytes(l.topics[2], "big")):
            target, value, data, predecessor, delay = abi_decode(
                ("address", "uint256", "bytes", "bytes32", "uint256"), log.data, "CallScheduled", strict=False
            )
            calls.append(Call(target, value, data))
        classification = classify_operation(self.context, calls, min_delay=self.playbook.timelock.min_delay)
        block = self.chain.get_block(first.block_number) or {}
        ready_at = int(block.get("timestamp", "0x0"), 16) + delay
        pending = self._is_pending(op_id)
        op = to_hex(op_id)
        label = classification.verdict.upper()
        reasons = "; ".join(dict.fromkeys(classification.reasons()))
        described = "; ".join(v.describe() for v in classification.calls)
        text = f"{label} timelock operation {op} queued: {described} ({reasons}); executable after {_utc(ready_at)}"
        if not pending:
            text += "; no longer pending (already cancelled or executed)"
        details = {
            "operation_id": op,
            "verdict": classification.verdict,
            "calls": classification.as_dict()["calls"],
            "delay": delay,
            "predecessor": to_hex(predecessor or b"\0" * 32),
            "ready_at": ready_at,
            "pending": pending,
            "veto": bool(classification.should_veto and pending),
        }
        return self._log_alert(first, classification.severity, "timelock-scheduled", text, details, key=f"scheduled:{op}:{to_hex(first.tx_hash)}")

    def _is_pending(self, op_id: bytes) -> bool:
        """Whether the operation still waits (or is ready); a timelock that cannot say counts as pending."""
        try:
            raw = self.chain.call(self.playbook.timelock.address, encode_call("isOperationPending(bytes32)", [op_id]))
            return bool(abi_decode(("bool",), raw, "isOperationPending", strict=False)[0])
        except (CallRevertedError, AbiError):
            return True

    def _timelock_role_alert(self, log) -> Alert:
        role, account, sender = log.topics[1], checksum_address(log.topics[2][-20:]), checksum_address(log.topics[3][-20:])
        granted = log.topics[0] == ROLE_GRANTED
        verb = "granted to" if granted else "revoked from"
        if granted and role == EXECUTOR_ROLE and account == ZERO_ADDRESS:
            text = "timelock EXECUTOR_ROLE granted to address(0): anyone can now execute queued operations the moment they are ready (the Sonne failure)"
            return self._log_alert(log, CRITICAL, "timelock-role", text, {"role": role_name(role), "account": account, "sender": sender})
        return self._log_alert(log, WARNING, "timelock-role", f"timelock {role_name(role)} {verb} {self._name(account)} by {self._name(sender)}", {"role": role_name(role), "account": account, "granted": granted})

    # the Safe -----------------------------------------------------------------------------
    def _safe_alerts(self, low: int, high: int, before: dict[str, Any], after: dict[str, Any]) -> list[Alert]:
        logs = self.chain.get_logs(self.playbook.safe.address, [list(SAFE_EVENTS)], low, high)
        last_event: dict[str, Any] = {}
        for log in sorted(logs, key=lambda log: (log.block_number, log.log_index)):
            last_event[SAFE_EVENTS[log.topics[0]]] = log
        alerts = []
        for name in SAFE_FIELDS:
            old, new = before.get(name), after.get(name)
            if _same(old, new):
                continue
            text, severity = self._describe_safe_change(name, old, new)
            log = last_event.get(name)
            if log is None:
                text += f" (between blocks {low} and {high}, with no Safe event: a storage write through DELEGATECALL?)"
                block, tx, order = high, None, (high, 1 << 30)
            else:
                block, tx, order = log.block_number, to_hex(log.tx_hash), (log.block_number, log.log_index)
            key = f"safe:{name}:{json.dumps(new, sort_keys=True)}:{block}"
            alerts.append(Alert(severity, f"safe-{name.replace('_', '-')}", block, tx, text, key, {"field": name, "before": old, "after": new}, order))
        return alerts

    def _describe_safe_change(self, name: str, old: Any, new: Any) -> tuple[str, str]:
        safe = self.playbook.safe.address
        readable = not (isinstance(old, str) and old.startswith("unreadable") or isinstance(new, str) and new.startswith("unreadable"))
        if not readable:  # the Safe stopped (or started again) answering: its code changed
            return f"Safe {safe}: {name.replace('_', ' ')} changed from {old} to {new}", CRITICAL
        if name in ("owners", "modules"):
            added = [a for a in new if a not in old]
            removed = [a for a in old if a not in new]
            what = "owner" if name == "owners" else "module"
            parts = [f"{what} {self._name(a)} added" for a in added] + [f"{what} {self._name(a)} removed" for a in removed]
            extra = f" (now {len(new)} {what}s)" if name == "owners" else ""
            if name == "modules" and added:
                parts.append("a module executes any transaction from the Safe without signatures")
            severity = CRITICAL if (added or name == "owners") else WARNING
            return f"Safe {safe}: " + "; ".join(parts) + extra, severity
        if name == "threshold":
            return f"Safe {safe}: threshold changed from {old} to {new}", CRITICAL
        if name == "singleton":
            return f"Safe {safe}: singleton (storage slot 0) changed from {old} to {new}: the Safe now runs other code (the Bybit attack swapped it)", CRITICAL
        if name == "guard":
            return f"Safe {safe}: transaction guard changed from {old} to {new}", CRITICAL
        return f"Safe {safe}: fallback handler changed from {old} to {new}", WARNING

    # guarded contracts --------------------------------------------------------------------
    def _contract_alerts(self, low: int, high: int) -> list[Alert]:
        skip = {self.playbook.safe.address.lower()}
        if self.playbook.timelock:
            skip.add(self.playbook.timelock.address.lower())
        alerts = []
        for contract in self.playbook.contracts.values():
            if contract.address.lower() in skip:
                continue
            topics = sorted({EventSignature.from_json(e).topic for e in contract.abi if e.get("type") == "event" and CONTRACT_EVENT_NAMES.search(e.get("name", ""))})
            if not topics:
                continue
            skip.add(contract.address.lower())
            for log in self.chain.get_logs(contract.address, [topics], low, high):
                event = self.context.registry.decode_log(log.address, log.topics, log.data)
                if event is None:
                    continue
                args = {arg.name: format_value(arg.type, arg.value) for arg in event.args}
                if "role" in args and isinstance(event.as_dict().get("role"), (bytes, bytearray)):
                    args["role"] = role_name(event.as_dict()["role"])
                severity = CRITICAL if event.name in CRITICAL_EVENT_NAMES else WARNING if event.name in WARNING_EVENT_NAMES else INFO
                shown = ", ".join(f"{k}={self._name(v) if _looks_like_address(v) else v}" for k, v in args.items())
                text = f"{contract.name}: {event.name}({shown})"
                if event.name == "Paused":
                    text = f"{contract.name} is now PAUSED (by {self._name(args.get('account', '?'))})"
                elif event.name == "Unpaused":
                    text = f"{contract.name} is unpaused (by {self._name(args.get('account', '?'))})"
                alerts.append(self._log_alert(log, severity, "contract-event", text, {"contract": contract.name, "event": event.name, "args": args}))
        return alerts

    # vetoes -------------------------------------------------------------------------------
    def _draft_vetoes(self, alerts: list[Alert], safe_nonce: int | None) -> list[Alert]:
        """Write one timelock-cancel proposal for every vetoable operation among ``alerts``."""
        vetoable = [a for a in alerts if a.details.get("veto")]
        if not vetoable or not self.draft_vetoes or safe_nonce is None:
            return alerts
        from guardian.workflow.proposals import propose

        items = [("timelock-cancel", [a.details["operation_id"]]) for a in vetoable]
        try:
            result = propose(self.playbook, items, network=self.network.name, nonce=safe_nonce, author="guardian watch")
        except GuardianError as error:
            self.notice(f"could not draft the cancel proposal: {error.one_line()}")
            return [replace(a, details={**a.details, "cancel_error": error.one_line()}) if a in vetoable else a for a in alerts]
        path = result.path
        for finding in result.findings:  # e.g. another local proposal already waits at this nonce
            self.notice(f"cancel proposal {path.name}: {finding.message}")
        playbook = f" --playbook {self.playbook.path}"
        rpc = f" --rpc {self.rpc_url_hint}" if self.rpc_url_hint else ""
        commands = [
            f"guardian verify {path}{playbook}{rpc}",
            f"guardian sign {path}{playbook}{rpc} --signer <your signer>",
            f"guardian execute {path}{playbook}{rpc} --signer <your signer>   # once {self.playbook.safe.threshold} guardians signed",
        ]
        extra = {"cancel_proposal": str(path), "cancel_proposal_id": result.proposal.id, "safe_nonce": safe_nonce, "safe_tx_hash": result.proposal.hashes["safe_tx"], "commands": commands}
        note = f"; veto drafted: {path} (Safe nonce {safe_nonce}); guardians, sign it: guardian sign {path} --signer <your signer>"
        return [replace(a, text=a.text + note, details={**a.details, **extra}) if a in vetoable else a for a in alerts]

    # helpers ------------------------------------------------------------------------------
    def _log_alert(self, log, severity: str, kind: str, text: str, details: dict, key: str | None = None) -> Alert:
        tx = to_hex(log.tx_hash)
        return Alert(severity, kind, log.block_number, tx, text, key or f"log:{tx}:{log.log_index}", details, (log.block_number, log.log_index))

    def _name(self, address: Any) -> str:
        if not isinstance(address, str):
            return str(address)
        lowered = address.lower()
        if lowered == self.playbook.safe.address.lower():
            return f"the guardian Safe ({address})"
        if self.playbook.timelock and lowered == self.playbook.timelock.address.lower():
            return f"the timelock ({address})"
        owner = self.playbook.safe.owner_name(address) if _looks_like_address(address) else None
        if owner:
            return f"{owner} ({address})"
        contract = self.playbook.contract_by_address(address) if _looks_like_address(address) else None
        return f"{contract.name} ({address})" if contract else address


def watch(
    playbook: Playbook,
    *,
    network: str | None = None,
    rpc_url: str | None = None,
    once: bool = False,
    interval: float = 12.0,
    from_block: int | None = None,
    state_path: str | Path | None = None,
    sinks: Iterable[Sink] = (),
    notice: Notice = print,
    stop=None,
    timeout: float = 10.0,
) -> int:
    """Build a ``Watcher`` on ``rpc_url`` (default: the playbook network's) and run it."""
    from guardian.adapters.chain import Chain

    url = rpc_url or playbook.network(network).rpc_url
    if not url:
        raise InputError("RPC URL", None, "give --rpc, or an rpc_url for the playbook network")
    chain = Chain(url, timeout=timeout)  # no request yet: a node that is down at start is retried like any hiccup
    watcher = Watcher(
        playbook, chain, state_path=state_path, network=network, from_block=from_block, sinks=sinks, notice=notice, rpc_url_hint=rpc_url
    )
    return watcher.run(once=once, interval=interval, stop=stop)


def _wait(seconds: float, stop) -> bool:
    """Sleep ``seconds`` (woken early by ``stop``); True when the watch should stop."""
    if stop is None:
        time.sleep(seconds)
        return False
    return bool(stop.wait(seconds))


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return sorted(x.lower() for x in old) == sorted(x.lower() for x in new)
    if isinstance(old, str) and isinstance(new, str):
        return old.lower() == new.lower()
    return old == new


def _looks_like_address(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0x") and len(value) == 42


def _utc(seconds: int) -> str:
    from guardian.workflow.readiness import utc_time

    return utc_time(seconds)
