"""The one exception root of guardian.

Every failure a guardian can meet is a ``GuardianError``. Subclasses take typed fields and
build their own one-line message in ``__init__``; the CLI boundary (``guardian.cli``) is the
only place that turns them into text on stderr and a non-zero exit.

Third-party errors (RPC, Ledger status words, Safe ``GS0xx`` reverts) are translated at the
adapter edge with ``raise SomeGuardianError(...) from exc``.
"""

from __future__ import annotations


class GuardianError(Exception):
    """Root of all guardian errors. ``advice`` is an optional hint on what to do next."""

    exit_code = 1

    def __init__(self, message: str, advice: str | None = None):
        self.message = message
        self.advice = advice
        super().__init__(message)

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.advice:
            text += f" ({' '.join(self.advice.split())})"
        return text


class InputError(GuardianError):
    """A value given on the command line or in a file is malformed."""

    exit_code = 2

    def __init__(self, what: str, value: object, problem: str):
        self.what, self.value, self.problem = what, value, problem
        super().__init__(f"invalid {what} {value!r}: {problem}")


class ConfigError(GuardianError):
    """The playbook is unreadable or invalid. Names the file, the key and the problem."""

    exit_code = 2

    def __init__(self, path: str, key: str, problem: str):
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: {key}" if key else path
        super().__init__(f"playbook {where}: {problem}")


class ToolMissingError(GuardianError):
    """An external tool (anvil, node, solc) is not installed where guardian looks for it."""

    def __init__(self, tool: str, looked_in: str, fix: str):
        self.tool, self.looked_in, self.fix = tool, looked_in, fix
        super().__init__(f"{tool} not found (looked in {looked_in})", advice=fix)


class RpcError(GuardianError):
    """The JSON-RPC endpoint is unreachable, timed out, or answered garbage."""

    def __init__(self, url: str, problem: str):
        self.url, self.problem = url, problem
        super().__init__(f"RPC {url}: {problem}", advice="check the node is up and --rpc / the playbook network URL")


class ParameterOutOfBoundsError(GuardianError):
    """A parameter value is outside the playbook's declared bounds (checked before any file is written)."""

    exit_code = 2

    def __init__(self, action: str, parameter: str, value: int, minimum: int | None, maximum: int | None, violated: str):
        self.action, self.parameter, self.value = action, parameter, value
        self.minimum, self.maximum, self.violated = minimum, maximum, violated
        bound = f"min={minimum}" if violated == "min" else f"max={maximum}"
        side = "below" if violated == "min" else "above"
        super().__init__(
            f"{action}: {parameter}={value} is {side} the playbook bound {bound} (allowed {minimum}..{maximum})"
        )


class UnsupportedSafeVersionError(GuardianError):
    """A Safe version guardian cannot hash exactly (see ``guardian.domain.safe_tx``)."""

    exit_code = 2

    def __init__(self, version: object):
        from guardian.domain.safe_tx import SUPPORTED_SAFE_VERSIONS

        self.version = version
        super().__init__(
            f"unsupported Safe version {version!r}",
            advice=f"supported: {', '.join(SUPPORTED_SAFE_VERSIONS)}",
        )


class ProposalFormatError(GuardianError):
    """A proposal file is not valid: names the file (source), the field and the problem."""

    exit_code = 2

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"proposal {where}: {problem}")


class AbiError(GuardianError):
    """Calldata, revert data or a signature text does not fit the ABI it is read with."""

    def __init__(self, what: str, problem: str):
        self.what, self.problem = what, problem
        super().__init__(f"{what}: {problem}")


class MultiSendDecodeError(GuardianError):
    """A MultiSend payload is malformed; ``offset`` is the byte offset inside the packed payload."""

    def __init__(self, offset: int, problem: str):
        self.offset, self.problem = offset, problem
        super().__init__(f"malformed MultiSend batch at byte {offset}: {problem}")


class SignatureError(GuardianError):
    """A Safe signature is malformed, or does not recover to the signer it claims."""

    def __init__(self, signer: str | None, problem: str):
        self.signer, self.problem = signer, problem
        who = f" from {signer}" if signer else ""
        super().__init__(f"signature{who}: {problem}")


class DuplicateSignatureError(SignatureError):
    """The proposal already holds a signature from this owner."""

    def __init__(self, signer: str):
        GuardianError.__init__(self, f"signature from {signer}: this owner has already signed")
        self.signer, self.problem = signer, "already signed"


class FileAccessError(GuardianError):
    """A file guardian needs (proposal, playbook, keystore, audit log) cannot be read or written."""

    def __init__(self, what: str, path: object, problem: str):
        self.what, self.path, self.problem = what, str(path), problem
        super().__init__(f"{what} file {self.path} {problem}")


class FileLockTimeoutError(GuardianError):
    """Another guardian process holds the lock on a file for longer than we wait."""

    def __init__(self, path: object, lock_path: object, timeout: float):
        self.path, self.lock_path, self.timeout = str(path), str(lock_path), timeout
        super().__init__(
            f"{self.path} is locked by another process (waited {timeout:g}s on {self.lock_path})",
            advice="retry when the other sign/execute has finished; remove the .lock file only if no guardian process runs",
        )


class RpcRejectedError(RpcError):
    """The node answered, but refused the request (JSON-RPC error object other than a revert)."""

    def __init__(self, url: str, method: str, code: int | None, reason: str):
        self.url, self.method, self.code, self.reason = url, method, code, reason
        self.problem = f"{method} rejected: {reason}" + (f" (code {code})" if code is not None else "")
        GuardianError.__init__(self, f"RPC {url}: {self.problem}")


class CallRevertedError(GuardianError):
    """An eth_call / gas estimate reverted. ``data`` is the raw revert data (may be empty)."""

    def __init__(self, reason: str, data: bytes = b""):
        self.reason, self.data = reason, bytes(data)
        super().__init__(f"call reverted: {reason}")


class ThresholdError(InputError):
    """A Safe threshold outside 1..number of owners."""

    def __init__(self, threshold: int, owner_count: int):
        self.threshold, self.owner_count = threshold, owner_count
        super().__init__("threshold", threshold, f"must be between 1 and the number of owners ({owner_count})")


class DuplicateOwnerError(InputError):
    """The same address appears twice in a list of Safe owners."""

    def __init__(self, owner: str):
        self.owner = owner
        super().__init__("owners", owner, "listed more than once")


class TestbedError(GuardianError):
    """The local testbed could not be deployed (missing build, used deployer, failed step)."""

    __test__ = False  # not a pytest test class

    def __init__(self, problem: str, advice: str | None = None):
        self.problem = problem
        super().__init__(f"testbed: {problem}", advice=advice)


class SignerError(GuardianError):
    """A signer cannot be opened or used (bad --signer spec, raw key not opted into, bad key)."""

    def __init__(self, signer: str, problem: str, advice: str | None = None):
        self.signer, self.problem = signer, problem
        super().__init__(f"signer {signer}: {problem}", advice=advice)


class KeystoreError(SignerError):
    """An eth-account v3 keystore is unreadable, or its password is wrong. Never holds a secret."""

    def __init__(self, path: object, problem: str, advice: str | None = None):
        self.path = str(path)
        super().__init__(f"keystore {self.path}", problem, advice)


class LedgerError(GuardianError):
    """A Ledger device failed or refused. ``status_word`` is the APDU status (None: no answer)."""

    def __init__(self, problem: str, status_word: int | None = None, advice: str | None = None):
        self.problem, self.status_word = problem, status_word
        status = f" (status 0x{status_word:04X})" if status_word is not None else ""
        super().__init__(f"Ledger: {problem}{status}", advice=advice)


class LedgerNotConnectedError(LedgerError):
    """No device answered: none plugged in, or nothing listening on the LEDGER_PROXY_* port."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(
            f"no device connected ({detail})",
            advice="plug in and unlock the Ledger and open the Ethereum app; for Speculos or the emulator check LEDGER_PROXY_ADDRESS / LEDGER_PROXY_PORT",
        )


class LedgerLockedError(LedgerError):
    """The device is locked (0x5515 on current firmware; 0x6982 / 0x6B0C on older ones)."""

    def __init__(self, status_word: int):
        super().__init__("the device is locked", status_word, advice="unlock it with your PIN, open the Ethereum app, and retry")


class LedgerAppNotOpenError(LedgerError):
    """The Ethereum app is not open: dashboard or another app (0x6E00, 0x6511, 0x650F, 0x6D00...)."""

    def __init__(self, status_word: int):
        super().__init__("the Ethereum app is not open", status_word, advice="open the Ethereum app on the device and retry")


class LedgerRejectedError(LedgerError):
    """The user pressed Reject on the device (0x6985)."""

    def __init__(self, status_word: int, operation: str):
        self.operation = operation
        super().__init__(f"{operation} was rejected on the device", status_word, advice="nothing was signed; retry and approve only if the hashes on screen match")


class LedgerBlindSigningError(LedgerError):
    """The Ethereum app refused hashed / contract data: blind signing is off (0x6A80)."""

    def __init__(self, status_word: int, operation: str):
        self.operation = operation
        super().__init__(
            f"the Ethereum app refused {operation}: blind signing is disabled",
            status_word,
            advice="enable Settings > Blind signing in the Ethereum app on the device, then retry",
        )


class NotASafeError(GuardianError):
    """The address does not answer like a Safe (no code, or unexpected return data)."""

    def __init__(self, address: str, call: str, problem: str):
        self.address, self.call, self.problem = address, call, problem
        super().__init__(f"{address} does not look like a Safe: {call} {problem}", advice="check the Safe address and the network")


# -- signing, co-signing and execution (workflow/signing.py, workflow/execution.py) ----------------


class NotAnOwnerError(SignatureError):
    """The signer (or an executor's approval) is not a current owner of the Safe."""

    def __init__(self, signer: str, safe: str, source: str):
        self.safe, self.source = safe, source
        GuardianError.__init__(self, f"{signer} is not a current owner of the Safe {safe} ({source})")
        self.signer, self.problem = signer, f"not a current owner ({source})"


class CriticalFindingsError(GuardianError):
    """``sign`` / ``approve`` / ``execute`` refuse a proposal with critical findings."""

    def __init__(self, action: str, findings: list):
        self.action, self.findings = action, list(findings)
        first = self.findings[0]
        more = f" and {len(self.findings) - 1} more" if len(self.findings) > 1 else ""
        super().__init__(
            f"refusing to {action}: critical finding {first.code} at {first.where}: {first.message}{more}",
            advice="read `guardian verify` carefully; --i-understand-the-risk overrides",
        )


class NotEnoughSignaturesError(GuardianError):
    """Fewer valid owner signatures (and on-chain approvals) than the Safe's threshold."""

    def __init__(self, expected: int, actual: int, missing: list[str] | None = None):
        self.expected, self.actual, self.missing = expected, actual, list(missing or [])
        who = f"; not yet signed: {', '.join(self.missing)}" if self.missing else ""
        super().__init__(
            f"not enough signatures: {actual} of the {expected} required ({expected - actual} more needed){who}",
            advice="collect more signatures (guardian sign / approve, then guardian merge); guardian status shows who is missing",
        )


class SafeRevertError(GuardianError):
    """``execTransaction`` (or ``approveHash``) reverts with a Safe ``GSxxx`` code."""

    def __init__(self, code: str, meaning: str, detail: str | None = None):
        self.code, self.meaning, self.detail = code, meaning, detail
        extra = f"; {detail}" if detail else ""
        super().__init__(f"the Safe would revert with {code}: {meaning}{extra}", advice=SAFE_REVERT_ADVICE.get(code))


SAFE_REVERT_ADVICE = {
    "GS013": "the inner call fails; nothing was sent",
    "GS020": "too few signatures for the threshold",
    "GS025": "an approved-hash signature has no on-chain approveHash",
    "GS026": "a signature is not from a current owner, or signatures are out of order",
    "GS010": "raise the gas limit (--gas-limit)",
}


class ExecutionRevertedError(GuardianError):
    """The preflight of a transaction reverted for a reason other than a Safe code, or it reverted on chain."""

    def __init__(self, what: str, reason: str, tx_hash: str | None = None):
        self.what, self.reason, self.tx_hash = what, reason, tx_hash
        where = f" (transaction {tx_hash})" if tx_hash else ""
        super().__init__(f"{what} reverted{where}: {reason}")


class InnerCallWouldFailError(GuardianError):
    """The preflight shows the Safe would mine the transaction but its inner call would fail."""

    def __init__(self, safe_tx_hash: str, reason: str):
        self.safe_tx_hash, self.reason = safe_tx_hash, reason
        super().__init__(
            f"the inner call of {safe_tx_hash} would FAIL inside the Safe ({reason}); the Safe nonce would be used for nothing",
            advice="nothing was sent; fix the proposal, or --i-understand-the-risk to burn the nonce on purpose",
        )


class NonceAlreadyUsedError(GuardianError):
    """The proposal's Safe nonce was consumed by a different Safe transaction."""

    def __init__(self, nonce: int, other_safe_tx_hash: str | None, tx_hash: str | None = None, block: int | None = None, executor: str | None = None):
        self.nonce, self.other_safe_tx_hash, self.tx_hash, self.block, self.executor = nonce, other_safe_tx_hash, tx_hash, block, executor
        if other_safe_tx_hash:
            by = f" (transaction {tx_hash} by {executor} in block {block})" if tx_hash else ""
            text = f"nonce {nonce} was used by another transaction {other_safe_tx_hash}{by}"
        else:
            text = f"nonce {nonce} was already used by another Safe transaction (no execution event found for this proposal)"
        super().__init__(text, advice="this proposal can never execute; propose again at the Safe's current nonce")


class NonceNotReachedError(GuardianError):
    """The Safe's nonce is still below the proposal's: earlier proposals must execute first."""

    def __init__(self, nonce: int, safe_nonce: int):
        self.nonce, self.safe_nonce = nonce, safe_nonce
        super().__init__(
            f"the proposal has nonce {nonce} but the Safe is at nonce {safe_nonce}",
            advice=f"execute the proposals for nonce {safe_nonce}..{nonce - 1} first",
        )


class ProposalMismatchError(GuardianError):
    """Two files meant to be copies of one proposal differ (``merge``), naming the fields."""

    def __init__(self, first: str, second: str, fields: list[str]):
        self.first, self.second, self.fields = first, second, list(fields)
        shown = ", ".join(self.fields[:5]) + (" ..." if len(self.fields) > 5 else "")
        super().__init__(f"{second} is not a copy of the proposal in {first}: they differ in {shown}", advice="merge only copies of the same proposal")


class InsufficientFundsError(GuardianError):
    """The executor cannot pay for gas."""

    def __init__(self, account: str, balance: int, needed: int):
        self.account, self.balance, self.needed = account, balance, needed
        super().__init__(
            f"{account} has {balance / 1e18:.6f} ETH but the transaction may cost up to {needed / 1e18:.6f} ETH",
            advice="fund the executor, or execute from another account",
        )


class TransactionPendingError(GuardianError):
    """A transaction was sent but not mined within the wait; it may still be mined later."""

    def __init__(self, what: str, tx_hash: str, timeout: float):
        self.what, self.tx_hash, self.timeout = what, tx_hash, timeout
        super().__init__(f"{what} {tx_hash} was sent but not mined within {timeout:g}s", advice="rerun the same command later: it reconciles by transaction hash and never double-sends")


class ForkBlockError(GuardianError):
    """A fork was asked at a block the forked network does not have yet."""

    exit_code = 2

    def __init__(self, url: str, block: int, head: int):
        self.url, self.block, self.head = url, block, head
        super().__init__(f"cannot fork {url} at block {block}: its latest block is {head}", advice="pass --block <= the head, or omit it")


class NoForkSourceError(InputError):
    """Nothing to fork: no --fork-url and the playbook network has no RPC URL."""

    def __init__(self, network: str):
        self.network = network
        super().__init__("fork URL", None, f"network {network!r} has no rpc_url (or its rpc_url_env is unset); pass --fork-url")


class UnresolvedPlaceholderError(InputError):
    """A ``{name}`` in a check, breach step or drill response matches no action argument or actor."""

    def __init__(self, name: str, where: str, known: list[str]):
        self.name, self.where, self.known = name, where, list(known)
        super().__init__("placeholder", "{" + name + "}", f"in {where}: no action argument or actor of that name (known: {', '.join(known) or 'none'})")


class DrillSignersError(InputError):
    """A drill lists fewer signing guardians than the Safe's threshold."""

    def __init__(self, count: int, threshold: int):
        self.count, self.threshold = count, threshold
        super().__init__("drill signers", count, f"{count} guardian(s) sign but the Safe's threshold is {threshold}: the drill cannot execute")
