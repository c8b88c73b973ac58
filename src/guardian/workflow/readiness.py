"""`guardian doctor`: is the emergency path ready before the emergency?

Most losses happened because the path was broken before anyone needed it: Sonne (2024) left
the timelock's executor role open to anyone; Balancer (2025) let the pause windows expire;
Bybit (2025) ran an old Safe with no guard whose singleton one delegatecall replaced. Each
check below reads the live chain (or a fork) and the playbook and says ok, warn or fail, with
the fix:

- ``network``: the RPC serves the playbook network's chain id.
- ``safe.*``: the address holds a standard Safe proxy; its singleton (storage slot 0) is an
  official deployment for its version, or at least byte-for-byte the Safe build safe-eth-py
  ships for that version; versions below 1.3.0 warn; owners and threshold match the roster
  (threshold 1 or threshold == owners warns); enabled modules warn by name; the guard and
  the fallback handler are reported (a guard or handler without code is flagged).
- ``action.*``: for every playbook action, the function exists, and the role holder (the
  Safe for Safe-routed actions, the timelock for timelock-routed ones) can really call it:
  an ``eth_call`` of the action's calldata FROM that address, with sample arguments. An
  authorization revert (``AccessControlUnauthorizedAccount`` ...) fails; any other revert
  means the role check passed. A contract already paused warns.
- ``timelock.*``: min delay as the playbook says; the Safe holds PROPOSER and CANCELLER;
  EXECUTOR is not open to ``address(0)`` (the Sonne failure); DEFAULT_ADMIN_ROLE is held by
  nobody but the timelock itself (holders found from RoleGranted/RoleRevoked, confirmed with
  ``hasRole``).
- ``pause-window.*``: the contracts' ``pause_window_end`` views: fail when expired, warn
  when fewer than ``pause_window_days`` days remain.
- ``nonces.*``: local proposals whose nonce is below the Safe's (and that did not execute)
  are stale; nonces above the Safe's leave gaps; two pending proposals on one nonce.

``run_checks(playbook, chain, ...)`` takes the chain adapter; ``doctor(playbook, rpc_url=...)``
connects first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from guardian.config import ActionConfig, ContractConfig, Playbook
from guardian.domain.abi import abi_decode, encode_call
from guardian.domain.classify import role_name
from guardian.domain.intent import Context
from guardian.domain.timelock import CANCELLER_ROLE, DEFAULT_ADMIN_ROLE, EXECUTOR_ROLE, PROPOSER_ROLE
from guardian.domain.values import ZERO_ADDRESS, keccak, to_hex
from guardian.errors import AbiError, CallRevertedError, NotASafeError

OK, WARN, FAIL = "ok", "warn", "fail"
STATUS_ORDER = {FAIL: 0, WARN: 1, OK: 2}
DEFAULT_PAUSE_WINDOW_DAYS = 14
DAY = 24 * 3600

# Official Safe singletons (safe-global/safe-deployments; the same addresses on every chain
# where they are deployed): address -> (version, what it is).
OFFICIAL_SINGLETONS: dict[str, tuple[str, str]] = {
    "0xd9Db270c1B5E3Bd161E8c8503c55cEABeE709552": ("1.3.0", "Safe 1.3.0"),
    "0x69f4D1788e39c87893C980c06EdF4b7f686e2938": ("1.3.0", "Safe 1.3.0 (eip155 deployment)"),
    "0x3E5c63644E683549055b9Be8653de26E0B4CD36E": ("1.3.0", "SafeL2 1.3.0"),
    "0xfb1bffC9d739B8D520DaF37dF666da4C687191EA": ("1.3.0", "SafeL2 1.3.0 (eip155 deployment)"),
    "0x41675C099F32341bf84BFc5382aF534df5C7461a": ("1.4.1", "Safe 1.4.1"),
    "0x29fcB43b46531BcA003ddC8FCB67FFE91900C762": ("1.4.1", "SafeL2 1.4.1"),
    "0xFf51A5898e281Db6DfC7855790607438dF2ca44b": ("1.5.0", "Safe 1.5.0"),
    "0xEdd160fEBBD92E350D4D398fb636302fccd67C7e": ("1.5.0", "SafeL2 1.5.0"),
    "0x34CfAC646f301356fAa8B21e94227e3583Fe3F5F": ("1.1.1", "GnosisSafe 1.1.1"),
    "0xb6029EA3B2c51D09a50B53CA8012FeEB05bDa35A": ("1.0.0", "GnosisSafe 1.0.0"),
}
# safe-eth-py's build of each singleton (its runtime bytecode is compared with the chain's).
SINGLETON_BUILDS = {
    "1.0.0": "GnosisSafe_V1_0_0.json",
    "1.1.1": "GnosisSafe_V1_1_1.json",
    "1.3.0": "GnosisSafe_V1_3_0.json",
    "1.4.1": "Safe_V1_4_1.json",
    "1.5.0": "Safe_V1_5_0.json",
}
PROXY_VERSIONS = ("1.0.0", "1.1.1", "1.3.0", "1.4.1", "1.5.0")
MODERN_SAFE = (1, 3, 0)  # guards, EIP-712 with chain id, the modern event set

AUTHORIZATION_ERRORS = {
    encode_call("AccessControlUnauthorizedAccount(address,bytes32)", [ZERO_ADDRESS, b"\0" * 32])[:4]: "AccessControlUnauthorizedAccount",
    encode_call("OwnableUnauthorizedAccount(address)", [ZERO_ADDRESS])[:4]: "OwnableUnauthorizedAccount",
    encode_call("TimelockUnauthorizedCaller(address)", [ZERO_ADDRESS])[:4]: "TimelockUnauthorizedCaller",
}
ACCESS_CONTROL_UNAUTHORIZED = next(k for k, v in AUTHORIZATION_ERRORS.items() if v == "AccessControlUnauthorizedAccount")
ALREADY_PAUSED = {encode_call("EnforcedPause()", [])[:4]}
NOT_PAUSED = {encode_call("ExpectedPause()", [])[:4]}
PAUSE_WINDOW_EXPIRED = encode_call("PauseWindowExpired(uint256)", [0])[:4]
AUTHORIZATION_WORDS = ("accesscontrol:", "ownable:", "unauthorized", "not authorized", "not allowed", "only owner", "only guardian", "caller is not")
SAMPLE_ADDRESS = "0x000000000000000000000000000000000000dEaD"

ROLE_GRANTED = keccak(b"RoleGranted(bytes32,address,address)")
ROLE_REVOKED = keccak(b"RoleRevoked(bytes32,address,address)")


@dataclass(frozen=True)
class CheckResult:
    """One line of the readiness report."""

    name: str  # "safe.version", "action.pause-vault", ...
    status: str  # ok / warn / fail
    detail: str
    fix: str = ""

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "group": self.group}


@dataclass
class ReadinessReport:
    playbook: str
    network: str
    rpc: str
    chain_id: int | None = None
    block: int | None = None
    safe: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {status: sum(1 for c in self.checks if c.status == status) for status in (OK, WARN, FAIL)}

    def by_name(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "playbook": self.playbook,
            "network": self.network,
            "rpc": self.rpc,
            "chain_id": self.chain_id,
            "block": self.block,
            "safe": self.safe,
            "counts": self.counts(),
            "checks": [c.as_dict() for c in self.checks],
        }


def doctor(
    playbook: Playbook,
    *,
    network: str | None = None,
    rpc_url: str | None = None,
    pause_window_days: float = DEFAULT_PAUSE_WINDOW_DAYS,
) -> ReadinessReport:
    """Connect to ``rpc_url`` (default: the playbook network's) and run every check."""
    from guardian.adapters.chain import connect
    from guardian.errors import InputError

    net = playbook.network(network)
    url = rpc_url or net.rpc_url
    if not url:
        raise InputError("RPC URL", None, f"give --rpc, or an rpc_url for network {net.name!r} in the playbook")
    return run_checks(playbook, connect(url), network=net.name, pause_window_days=pause_window_days)


def run_checks(
    playbook: Playbook, chain, *, network: str | None = None, pause_window_days: float = DEFAULT_PAUSE_WINDOW_DAYS
) -> ReadinessReport:
    """Every readiness check against ``chain`` (an ``adapters.chain.Chain``)."""
    net = playbook.network(network)
    report = ReadinessReport(playbook=str(playbook.path), network=net.name, rpc=chain.display_url, safe=playbook.safe.address)
    report.chain_id = chain.chain_id()
    report.block = chain.block_number()
    if report.chain_id != net.chain_id:
        report.checks.append(
            CheckResult(
                "network.chain-id",
                FAIL,
                f"the RPC serves chain {report.chain_id}, the playbook network {net.name!r} is chain {net.chain_id}",
                "point --rpc at the right network (or pick it with --network)",
            )
        )
        return report
    report.checks.append(CheckResult("network.chain-id", OK, f"chain {report.chain_id} at block {report.block}"))
    doctor_run = _Doctor(playbook, chain, pause_window_days)
    for group in (doctor_run.safe_checks, doctor_run.action_checks, doctor_run.timelock_checks, doctor_run.pause_window_checks, doctor_run.nonce_checks):
        report.checks.extend(group())
    return report


class _Doctor:
    def __init__(self, playbook: Playbook, chain, pause_window_days: float):
        from guardian.adapters.chain import SafeReader

        self.playbook, self.chain = playbook, chain
        self.pause_window_days = pause_window_days
        self.safe_address = playbook.safe.address
        self.reader = SafeReader(chain, self.safe_address)
        self.context = Context.from_playbook(playbook)
        self.safe_is_contract = False
        self.safe_nonce: int | None = None

    # ---- helpers ------------------------------------------------------------------------
    def _view(self, address: str, signature: str, args: list, types: tuple[str, ...]) -> tuple:
        raw = self.chain.call(address, encode_call(signature, args))
        return abi_decode(types, raw, f"{signature} of {address}", strict=False)

    def _has_role(self, contract: str, role: bytes, account: str) -> bool:
        return bool(self._view(contract, "hasRole(bytes32,address)", [role, account], ("bool",))[0])

    def _guarded(self, name: str, function: Callable[[], list[CheckResult]]) -> list[CheckResult]:
        """Run one check; a revert or an answer that does not decode becomes a failed line, not a crash.

        RPC failures (``RpcError``) are not caught: without a node there is no report.
        """
        try:
            return function()
        except (CallRevertedError, NotASafeError, AbiError) as error:
            return [CheckResult(name, FAIL, f"could not read it: {error.one_line()}", "check the address in the playbook and the network")]

    # ---- the Safe -----------------------------------------------------------------------
    def safe_checks(self) -> list[CheckResult]:
        code = self.chain.get_code(self.safe_address)
        if not code:
            return [CheckResult("safe.code", FAIL, f"no contract at {self.safe_address}", "check safe.address and the network")]
        self.safe_is_contract = True
        results = [self._proxy_check(code)]
        for name, check in (
            ("safe.singleton", self._singleton_checks),
            ("safe.owners", self._owner_checks),
            ("safe.modules", self._module_check),
            ("safe.guard", self._guard_check),
            ("safe.fallback-handler", self._fallback_handler_check),
            ("safe.multisend", self._multisend_check),
        ):
            results += self._guarded(name, check)
        return results

    def _proxy_check(self, code: bytes) -> CheckResult:
        known = known_proxy_codes().get(keccak(code))
        if known:
            return CheckResult("safe.proxy", OK, f"{self.safe_address} is a standard {known}")
        return CheckResult(
            "safe.proxy",
            WARN,
            f"the code at {self.safe_address} ({len(code)} bytes) is not a standard Safe proxy",
            "make sure this is the Safe you think it is (a custom proxy can route calls anywhere)",
        )

    def _singleton_checks(self) -> list[CheckResult]:
        singleton = self.reader.singleton()
        singleton_code = self.chain.get_code(singleton)
        if not singleton_code:
            return [CheckResult("safe.singleton", FAIL, f"storage slot 0 points at {singleton}, which has no code: every call to the Safe does nothing", "restore the singleton (this Safe cannot act)")]
        try:
            version = self.reader.version()
        except (CallRevertedError, NotASafeError) as error:
            return [
                CheckResult(
                    "safe.singleton",
                    FAIL,
                    f"storage slot 0 points at {singleton}, which does not answer VERSION() ({error.one_line()}): not a Safe singleton (the Bybit attack swapped it for a drainer)",
                    "stop using this Safe; move the roles to a fresh Safe",
                )
            ]
        return [self._singleton_check(singleton, singleton_code, version), self._version_check(version)]

    def _singleton_check(self, singleton: str, code: bytes, version: str) -> CheckResult:
        official = OFFICIAL_SINGLETONS.get(singleton)
        if official and official[0] == version:
            return CheckResult("safe.singleton", OK, f"singleton {singleton}: the official {official[1]} deployment")
        if official:
            return CheckResult("safe.singleton", FAIL, f"singleton {singleton} is the official {official[1]} but the Safe reports version {version}", "investigate: the Safe's storage is inconsistent")
        build = known_singleton_build(version)
        if build is not None and keccak(code) == keccak(build):
            return CheckResult(
                "safe.singleton",
                OK,
                f"singleton {singleton} (Safe {version}) is not an official deployment address, but its runtime code is byte-for-byte safe-eth-py's Safe {version} build",
            )
        return CheckResult(
            "safe.singleton",
            WARN,
            f"singleton {singleton} reports Safe {version}, but it is neither an official deployment nor byte-for-byte a known Safe {version} build (L2 and chain-specific builds are not in guardian's table)",
            "verify the singleton's source code on a block explorer before trusting this Safe",
        )

    def _version_check(self, version: str) -> CheckResult:
        from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS

        expected = self.playbook.safe.version
        if version not in SUPPORTED_SAFE_VERSIONS:
            return CheckResult("safe.version", FAIL, f"Safe version {version} is not one guardian can hash for", f"supported: {', '.join(SUPPORTED_SAFE_VERSIONS)}")
        if version != expected:
            return CheckResult("safe.version", FAIL, f"the Safe is {version}, the playbook says {expected}: every signature would be over the wrong hash", f"set safe.version: {version} in the playbook")
        if _version_tuple(version) < MODERN_SAFE:
            return CheckResult(
                "safe.version",
                WARN,
                f"Safe {version} predates 1.3.0: no transaction guard, older EIP-712 domain without chain id",
                "migrate the guardian Safe (or its singleton) to 1.4.1 or later",
            )
        return CheckResult("safe.version", OK, f"Safe {version}, as the playbook says")

    def _owner_checks(self) -> list[CheckResult]:
        owners = self.reader.owners()
        threshold = self.reader.threshold()
        roster = self.playbook.safe.owners
        onchain = {o.lower() for o in owners}
        missing = [f"{name} ({address})" for name, address in roster.items() if address.lower() not in onchain]
        unknown = [o for o in owners if self.playbook.safe.owner_name(o) is None]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("in the roster but not owners: " + ", ".join(missing))
            if unknown:
                parts.append("owners missing from the roster: " + ", ".join(unknown))
            owners_line = CheckResult("safe.owners", FAIL, "; ".join(parts), "update safe.owners in the playbook, or the Safe's owners, until they agree")
        else:
            owners_line = CheckResult("safe.owners", OK, f"{len(owners)} owners, all in the playbook roster ({', '.join(roster)})")
        expected = self.playbook.safe.threshold
        if threshold != expected:
            threshold_line = CheckResult("safe.threshold", FAIL, f"threshold {threshold} on chain, the playbook says {expected}", "fix safe.threshold in the playbook (or the Safe)")
        elif threshold == 1 and len(owners) > 1:
            threshold_line = CheckResult("safe.threshold", WARN, f"threshold 1 of {len(owners)}: a single stolen key controls the Safe", "raise the threshold (e.g. a majority of the owners)")
        elif threshold == len(owners) and len(owners) > 1:
            threshold_line = CheckResult("safe.threshold", WARN, f"threshold {threshold} of {len(owners)}: one lost or unreachable key blocks every emergency action", "lower the threshold below the owner count")
        elif threshold == 1:
            threshold_line = CheckResult("safe.threshold", WARN, "a single owner with threshold 1: not a multisig", "add owners and raise the threshold")
        else:
            threshold_line = CheckResult("safe.threshold", OK, f"{threshold} of {len(owners)}, as the playbook says")
        return [owners_line, threshold_line]

    def _module_check(self) -> list[CheckResult]:
        modules = self.reader.modules()
        if not modules:
            return [CheckResult("safe.modules", OK, "no module enabled")]
        return [
            CheckResult(
                "safe.modules",
                WARN,
                f"{len(modules)} module(s) enabled: {', '.join(modules)}; a module executes any transaction from the Safe without owner signatures",
                "disable every module you cannot account for (disableModule through the Safe)",
            )
        ]

    def _guard_check(self) -> list[CheckResult]:
        guard = self.reader.guard()
        if guard == ZERO_ADDRESS:
            modern = _version_tuple(self.playbook.safe.version) >= MODERN_SAFE
            return [CheckResult("safe.guard", OK, "no transaction guard" if modern else "no transaction guard (not supported before Safe 1.3.0)")]
        if not self.chain.get_code(guard):
            return [CheckResult("safe.guard", FAIL, f"guard {guard} has no code: every Safe transaction reverts", "remove or replace the guard (setGuard) while you still can")]
        return [CheckResult("safe.guard", OK, f"guard {guard} is set; make sure it lets emergency transactions through (`guardian simulate` one)")]

    def _fallback_handler_check(self) -> list[CheckResult]:
        handler = self.reader.fallback_handler()
        if handler == ZERO_ADDRESS:
            return [CheckResult("safe.fallback-handler", OK, "no fallback handler (no EIP-1271 contract signatures)")]
        if handler.lower() == self.safe_address.lower():
            return [CheckResult("safe.fallback-handler", FAIL, "the fallback handler is the Safe itself", "set a proper handler (setFallbackHandler)")]
        if not self.chain.get_code(handler):
            return [CheckResult("safe.fallback-handler", WARN, f"fallback handler {handler} has no code", "set the CompatibilityFallbackHandler of the Safe's version")]
        return [CheckResult("safe.fallback-handler", OK, f"fallback handler {handler}")]

    def _multisend_check(self) -> list[CheckResult]:
        multisend = self.playbook.safe.multisend_call_only
        if not multisend:
            return [CheckResult("safe.multisend", WARN, "no safe.multisend_call_only in the playbook: actions cannot be batched", "add the MultiSendCallOnly address of the Safe's version")]
        if not self.chain.get_code(multisend):
            return [CheckResult("safe.multisend", FAIL, f"MultiSendCallOnly {multisend} has no code: every batched proposal fails", "fix safe.multisend_call_only in the playbook")]
        return [CheckResult("safe.multisend", OK, f"MultiSendCallOnly {multisend} has code")]

    # ---- permissions per action ---------------------------------------------------------
    def action_checks(self) -> list[CheckResult]:
        return [self._guarded(f"action.{name}", lambda a=action: [self._action_check(a)])[0] for name, action in self.playbook.actions.items()]

    def _action_check(self, action: ActionConfig) -> CheckResult:
        name = f"action.{action.name}"
        contract = self.playbook.contracts[action.contract]
        if action.route == "timelock":
            caller, caller_name = self.playbook.timelock.address, "the timelock"
        else:
            caller, caller_name = self.safe_address, "the Safe"
        code = self.chain.get_code(contract.address)
        if not code:
            return CheckResult(name, FAIL, f"no contract at {contract.name} ({contract.address})", f"fix contracts.{contract.name}.address")
        data = encode_call(action.function, [_sample(p) for p in action.params])
        already = self._already_paused(action, contract)
        try:
            self.chain.call(contract.address, data, from_=caller)
        except CallRevertedError as error:
            return self._judge_revert(name, action, contract, caller_name, error, code, already)
        if already:
            return CheckResult(name, WARN, f"{contract.name} is already paused", "unpause it through the timelock when the incident is over")
        return CheckResult(name, OK, f"{caller_name} can call {contract.name}.{action.function} (eth_call from {caller_name} succeeds)")

    def _already_paused(self, action: ActionConfig, contract: ContractConfig) -> bool:
        if action.kind != "pause" or "paused()" not in contract.functions():
            return False
        try:
            return bool(self._view(contract.address, "paused()", [], ("bool",))[0])
        except (CallRevertedError, AbiError):
            return False

    def _judge_revert(self, name, action, contract, caller_name, error: CallRevertedError, code: bytes, already: bool) -> CheckResult:
        data = error.data
        call = f"{contract.name}.{action.function}"
        reason = self.context.registry.decode_revert(data, contract.address) if data else error.reason
        selector = data[:4]
        if selector in AUTHORIZATION_ERRORS or any(word in reason.lower() for word in AUTHORIZATION_WORDS):
            role = ""
            if selector == ACCESS_CONTROL_UNAUTHORIZED:
                _, needed = abi_decode(("address", "bytes32"), data[4:], "AccessControlUnauthorizedAccount", strict=False)
                role = role_name(needed)
            lacks = f"lacks {role} on {contract.name}" if role else f"is not authorized on {contract.name}"
            fix = f"grant {role or 'the role'} on {contract.name} to {caller_name} ({'governance, through the timelock' if role else 'check the access control'})"
            shown = AUTHORIZATION_ERRORS.get(selector, reason)
            return CheckResult(name, FAIL, f"{caller_name} {lacks}: eth_call of {call} from {caller_name} reverts with {shown}", fix)
        if selector == PAUSE_WINDOW_EXPIRED:
            return CheckResult(name, FAIL, f"{call} reverts with {reason}: the guardians' pause power has expired", f"extend {contract.name}'s pause window (extendPauseWindow through the timelock)")
        if selector in ALREADY_PAUSED or already:
            return CheckResult(name, WARN, f"{contract.name} is already paused ({call} reverts with {reason})", "unpause it through the timelock when the incident is over")
        if selector in NOT_PAUSED:
            return CheckResult(name, OK, f"{caller_name} holds the role for {call} (it reverts only because {contract.name} is not paused: {reason})")
        if not data and not _has_selector(code, encode_call(action.function, [_sample(p) for p in action.params])[:4]):
            return CheckResult(name, FAIL, f"{contract.name} has no function {action.function} (the call reverts without data and the selector is not in its code)", f"fix actions.{action.name}.function or the contract address")
        if not data:
            return CheckResult(name, WARN, f"eth_call of {call} from {caller_name} reverts without a reason: the permission could not be confirmed", "simulate the action with real arguments (`guardian simulate`)")
        return CheckResult(name, OK, f"{caller_name} passes the role check of {call} (with sample arguments it reverts later: {reason})")

    # ---- the timelock -------------------------------------------------------------------
    def timelock_checks(self) -> list[CheckResult]:
        timelock = self.playbook.timelock
        if timelock is None:
            return [CheckResult("timelock.configured", OK, "the playbook declares no timelock")]
        if not self.chain.get_code(timelock.address):
            return [CheckResult("timelock.code", FAIL, f"no contract at {timelock.address}", "fix timelock.address in the playbook")]
        results = []
        for name, check in (
            ("timelock.min-delay", self._min_delay_check),
            ("timelock.roles", self._role_checks),
        ):
            results += self._guarded(name, check)
        return results

    def _min_delay_check(self) -> list[CheckResult]:
        timelock = self.playbook.timelock
        (delay,) = self._view(timelock.address, "getMinDelay()", [], ("uint256",))
        if delay != timelock.min_delay:
            return [CheckResult("timelock.min-delay", FAIL, f"the timelock's minimum delay is {delay}s, the playbook says {timelock.min_delay}s", f"set timelock.min_delay: {delay} in the playbook, or find out who changed it")]
        return [CheckResult("timelock.min-delay", OK, f"minimum delay {delay}s ({_duration(delay)}), as the playbook says")]

    def _role_holders(self, address: str) -> dict[bytes, set[str]]:
        """Current holders of each role, from RoleGranted/RoleRevoked events (oldest first)."""
        from guardian.domain.values import checksum_address

        holders: dict[bytes, set[str]] = {}
        for log in self.chain.get_logs(address, [[ROLE_GRANTED, ROLE_REVOKED]], 0, "latest"):
            if len(log.topics) < 3:
                continue
            role, account = log.topics[1], checksum_address(log.topics[2][-20:])
            if log.topics[0] == ROLE_GRANTED:
                holders.setdefault(role, set()).add(account)
            else:
                holders.setdefault(role, set()).discard(account)
        return holders

    def _role_checks(self) -> list[CheckResult]:
        address = self.playbook.timelock.address
        safe = self.safe_address
        holders = self._role_holders(address)

        def confirmed(role: bytes) -> list[str]:
            return sorted(a for a in holders.get(role, set()) if self._has_role(address, role, a))

        results = []
        proposers = confirmed(PROPOSER_ROLE)
        others = [p for p in proposers if p.lower() != safe.lower()]
        if not self._has_role(address, PROPOSER_ROLE, safe):
            results.append(CheckResult("timelock.proposer", FAIL, "the Safe does not hold PROPOSER_ROLE: it cannot queue parameter changes or unpauses", "grant PROPOSER_ROLE to the Safe (through the timelock)"))
        elif others:
            results.append(CheckResult("timelock.proposer", WARN, f"the Safe holds PROPOSER_ROLE, and so do {', '.join(others)}: they can queue operations too", "revoke PROPOSER_ROLE from accounts that should not queue operations; run `guardian watch`"))
        else:
            results.append(CheckResult("timelock.proposer", OK, "the Safe holds PROPOSER_ROLE (and nobody else does)"))
        if self._has_role(address, CANCELLER_ROLE, safe):
            results.append(CheckResult("timelock.canceller", OK, "the Safe holds CANCELLER_ROLE: it can veto queued operations"))
        else:
            results.append(CheckResult("timelock.canceller", FAIL, "the Safe does not hold CANCELLER_ROLE: the guardians cannot veto a hostile queued operation", "grant CANCELLER_ROLE to the Safe (through the timelock)"))
        if self._has_role(address, EXECUTOR_ROLE, ZERO_ADDRESS):
            results.append(
                CheckResult(
                    "timelock.executor",
                    FAIL,
                    "EXECUTOR_ROLE is granted to address(0): ANYONE can execute a queued operation the moment its delay ends "
                    "(the Sonne Finance loss, 2024: an attacker executed a queued batch before the team could)",
                    "revoke EXECUTOR_ROLE from address(0) and grant it to the Safe (through the timelock)",
                )
            )
        else:
            executors = confirmed(EXECUTOR_ROLE)
            who = ", ".join("the Safe" if e.lower() == safe.lower() else e for e in executors) or "nobody found in the role events"
            results.append(CheckResult("timelock.executor", OK, f"EXECUTOR_ROLE is not open to anyone (held by {who})"))
        admins = confirmed(DEFAULT_ADMIN_ROLE)
        foreign = [a for a in admins if a.lower() != address.lower()]
        if foreign:
            names = ", ".join("the Safe" if a.lower() == safe.lower() else a for a in foreign)
            results.append(
                CheckResult(
                    "timelock.admin",
                    FAIL,
                    f"DEFAULT_ADMIN_ROLE is held by {names}: it can grant itself any role and bypass the delay",
                    "have them renounce DEFAULT_ADMIN_ROLE, leaving the timelock as its own admin",
                )
            )
        else:
            held = "held only by the timelock itself" if admins else "renounced"
            results.append(CheckResult("timelock.admin", OK, f"DEFAULT_ADMIN_ROLE is {held}"))
        return results

    # ---- pause windows ------------------------------------------------------------------
    def pause_window_checks(self) -> list[CheckResult]:
        contracts = [c for c in self.playbook.contracts.values() if c.pause_window_end]
        if not contracts:
            return []
        block = self.chain.get_block("latest") or {}
        now = int(block.get("timestamp", "0x0"), 16)
        return [self._guarded(f"pause-window.{c.name}", lambda c=c: [self._pause_window_check(c, now)])[0] for c in contracts]

    def _pause_window_check(self, contract: ContractConfig, now: int) -> CheckResult:
        name = f"pause-window.{contract.name}"
        (end,) = self._view(contract.address, contract.pause_window_end, [], ("uint256",))
        remaining = end - now
        when = utc_time(end)
        fix = f"extend it before it lapses ({contract.name}'s governance, e.g. extendPauseWindow through the timelock)"
        if remaining <= 0:
            return CheckResult(
                name,
                FAIL,
                f"{contract.name}'s pause window ended {_duration(-remaining)} ago ({when}): the guardians can no longer pause it (the Balancer lesson, 2025)",
                fix,
            )
        if remaining < self.pause_window_days * DAY:
            return CheckResult(name, WARN, f"{contract.name}'s pause window ends in {_duration(remaining)} ({when}), under {self.pause_window_days:g} days", fix)
        return CheckResult(name, OK, f"{contract.name} can be paused for {_duration(remaining)} more (until {when})")

    # ---- nonces -------------------------------------------------------------------------
    def nonce_checks(self) -> list[CheckResult]:
        from guardian.workflow.proposals import scan_nonces

        folder = self.playbook.proposals_dir
        if not self.safe_is_contract:
            return []
        nonces = scan_nonces(folder)
        if not nonces:
            return [CheckResult("nonces.proposals", OK, f"no local proposals in {folder}")]
        safe_nonce = self.reader.nonce()
        executed = {to_hex(e.safe_tx_hash) for e in self.reader.execution_events()}
        stale = sorted(
            (nonce, h) for nonce, hashes in nonces.items() if nonce < safe_nonce for h in hashes if h.lower() not in executed
        )
        results = []
        if stale:
            listed = ", ".join(f"nonce {n} ({h[:12]}...)" for n, h in stale[:5])
            results.append(
                CheckResult(
                    "nonces.stale",
                    WARN,
                    f"{len(stale)} local proposal(s) below the Safe's nonce {safe_nonce} that never executed: {listed}; they can never execute",
                    f"archive or delete them from {folder}, and re-propose what is still needed",
                )
            )
        else:
            results.append(CheckResult("nonces.stale", OK, f"no stale proposals (Safe nonce {safe_nonce})"))
        pending = sorted(n for n in nonces if n >= safe_nonce)
        missing = [n for n in range(safe_nonce, pending[-1]) if n not in nonces] if pending else []
        if missing:
            results.append(
                CheckResult(
                    "nonces.gaps",
                    WARN,
                    f"no local proposal for nonce(s) {', '.join(map(str, missing[:10]))} while proposals wait at {', '.join(map(str, pending[:10]))}: those cannot execute first",
                    "propose the missing nonces (or re-propose the later ones at the Safe's nonce)",
                )
            )
        else:
            results.append(CheckResult("nonces.gaps", OK, "no gaps before the pending proposals"))
        doubles = [n for n in pending if len(nonces[n]) > 1]
        if doubles:
            results.append(
                CheckResult(
                    "nonces.duplicates",
                    WARN,
                    f"several pending proposals share nonce(s) {', '.join(map(str, doubles))}: only one of each can execute",
                    "agree on one and delete the others",
                )
            )
        return results


# ---- known code -------------------------------------------------------------------------------

_PROXY_CODES: dict[bytes, str] = {}
_SINGLETON_CODES: dict[str, bytes | None] = {}


def known_proxy_codes() -> dict[bytes, str]:
    """keccak(runtime code) -> "Safe proxy X" for the proxies safe-eth-py ships."""
    if not _PROXY_CODES:
        from safe_eth.eth import contracts

        for version in PROXY_VERSIONS:
            code = bytes(getattr(contracts, f"get_proxy_{version.replace('.', '_')}_deployed_bytecode")())
            _PROXY_CODES[keccak(code)] = f"Safe proxy ({version})"
        mainnet = bytes(contracts.get_proxy_1_1_1_mainnet_deployed_bytecode())
        _PROXY_CODES[keccak(mainnet)] = "Safe proxy (1.1.1, mainnet factory)"
    return _PROXY_CODES


def known_singleton_build(version: str) -> bytes | None:
    """safe-eth-py's runtime bytecode of the (L1) Safe singleton ``version``, or None."""
    if version not in _SINGLETON_CODES:
        build = SINGLETON_BUILDS.get(version)
        code = None
        if build:
            from safe_eth.eth.contracts import load_contract_interface

            deployed = load_contract_interface(build).get("deployedBytecode") or ""
            code = bytes.fromhex(deployed[2:] if deployed.startswith("0x") else deployed) or None
        _SINGLETON_CODES[version] = code
    return _SINGLETON_CODES[version]


# ---- small helpers ----------------------------------------------------------------------------


def _sample(param) -> Any:
    """A harmless argument to simulate an action with: the role check runs before any argument matters."""
    kind = param.type
    if kind == "address":
        return SAMPLE_ADDRESS
    if kind == "bool":
        return True
    if kind == "bytes32":
        return b"\0" * 32
    if kind == "string":
        return "guardian-doctor"
    if kind == "bytes":
        return b""
    if param.min is not None:
        return param.min
    if param.max is not None and param.max < 0:
        return param.max
    return 0


def utc_time(seconds: int) -> str:
    """``2025-01-31T12:00:00Z`` for a unix time (the raw number if it is out of range)."""
    from datetime import datetime, timezone

    from guardian.domain.values import utc_timestamp

    try:
        return utc_timestamp(datetime.fromtimestamp(int(seconds), timezone.utc))
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _has_selector(code: bytes, selector: bytes) -> bool:
    """Whether a PUSH4 of ``selector`` appears in ``code`` (how Solidity dispatchers compare)."""
    return b"\x63" + selector in code


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("+")[0].split("."))
    except ValueError:
        return (0,)


def _duration(seconds: int) -> str:
    seconds = int(seconds)
    if seconds >= 2 * DAY:
        return f"{seconds / DAY:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
