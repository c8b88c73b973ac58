"""A real, local testbed: a guardian Safe, a TimelockController and a guarded derivatives venue.

``deploy_testbed(rpc_url, owners, threshold, out_dir=...)`` deploys, on any anvil (a local
chain, or one started with ``--chain-id 1`` standing in for mainnet):

1. Safe 1.4.1 from safe-eth-py's bytecode: the singleton, the proxy factory,
   MultiSendCallOnly, CompatibilityFallbackHandler and SimulateTxAccessor; then an M-of-N
   Safe proxy (the guardian Safe) owned by ``owners``;
2. OpenZeppelin's TimelockController (contracts/Timelock.sol): the Safe is the only proposer
   (so also the canceller) and the only executor, ``timelock_delay`` seconds, no admin;
3. the protocol from the ape build (.build/__local__.json): MockUSD collateral, a primary
   and a backup PriceOracle, the Vault and the PerpMarket (markets ETH-USD and BTC-USD);
4. the roles: the Safe is guardian and the timelock governor (and admin) of Vault and
   PerpMarket; the PerpMarket and a settlement keeper operate the Vault; the keeper updates
   both oracles; the deployer renounces every role it held;
5. a depositor's 1,000,000 mUSD in the Vault;

and writes the guardian playbook for it (``out_dir/guardian.yaml`` with ABIs under
``out_dir/abis/``, format in docs/PLAYBOOK.md).

Deterministic: every contract is created by the deployer (anvil's account 0 unless
``deployer_key`` is given) in a fixed order from nonce 0, so the same inputs give the same
addresses. A deployer that already sent transactions is refused.

Accounts (anvil's well-known test mnemonic; the keys are public, never use them for value):
0 deployer, 1-5 default owners alice..erin, 6 keeper, 7 attacker, 8 depositor.

``variant`` deploys a deliberately misconfigured testbed for ``guardian doctor``-style checks:
"open-executor" (timelock executor is address(0)), "module-enabled" (the keeper EOA is an
enabled Safe module), "no-pause-role" (the guardian role went to the deployer, not the
Safe), "old-safe" (Safe 1.1.1).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from guardian.errors import DuplicateOwnerError, InputError, RpcError, TestbedError, ThresholdError

# anvil's default accounts (mnemonic "test test ... junk"): public keys for local testing only.
ANVIL_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
ANVIL_ADDRESSES: tuple[str, ...] = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)
DEPLOYER_INDEX, KEEPER_INDEX, ATTACKER_INDEX, DEPOSITOR_INDEX = 0, 6, 7, 8
DEFAULT_OWNERS: tuple[str, ...] = ANVIL_ADDRESSES[1:6]
OWNER_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")

VARIANTS = ("open-executor", "module-enabled", "no-pause-role", "old-safe")
MARKETS = ("ETH-USD", "BTC-USD")
PRICES = {"ETH-USD": 3_000 * 10**8, "BTC-USD": 60_000 * 10**8}  # 8 decimals
USD = 10**6  # MockUSD has 6 decimals
DEPOSIT = 1_000_000 * USD
WITHDRAWAL_CAP = 100_000 * USD
MAX_LEVERAGE = 10
MAINTENANCE_MARGIN_BPS = 500
PAUSE_WINDOW = 180 * 24 * 3600
SALT_NONCE = 0x6775617264696E  # "guardin": fixed salt of the Safe proxy
ZERO_ADDRESS = "0x" + "00" * 20

# contract name in the playbook -> contract type in the ape build
PLAYBOOK_CONTRACTS = {
    "vault": "Vault",
    "market": "PerpMarket",
    "oracle": "PriceOracle",
    "backup-oracle": "PriceOracle",
    "collateral": "MockUSD",
    "timelock": "Timelock",
}


def market_id(name: str) -> str:
    """The bytes32 market id of a market name ("ETH-USD" -> 0x4554482d555344 padded right)."""
    raw = name.encode()
    if len(raw) > 32:
        raise InputError("market name", name, "longer than 32 bytes")
    return "0x" + raw.ljust(32, b"\0").hex()


@dataclass(frozen=True)
class Testbed:
    """Everything deployed by ``deploy_testbed``; addresses are checksummed strings."""

    __test__ = False  # not a pytest test class

    rpc_url: str
    chain_id: int
    variant: str | None
    deployer: str
    # the guardian Safe
    safe: str
    safe_version: str
    threshold: int
    owners: dict[str, str]  # name -> address, in the Safe's owner order as given
    owner_keys: dict[str, str]  # name -> private key, for owners that are anvil accounts
    safe_singleton: str
    proxy_factory: str
    multisend_call_only: str
    fallback_handler: str
    simulate_tx_accessor: str
    # governance
    timelock: str
    timelock_delay: int
    # the protocol
    collateral: str
    oracle: str
    backup_oracle: str
    vault: str
    market: str
    market_ids: dict[str, str]  # "ETH-USD" -> bytes32 hex
    # other actors: keeper (vault operator, oracle updater), attacker, depositor
    actors: dict[str, str]
    actor_keys: dict[str, str]
    enabled_modules: tuple[str, ...]
    # files
    playbook_path: Path
    abi_dir: Path
    abis: dict[str, list] = field(repr=False, default_factory=dict)  # contract type -> ABI

    @property
    def contracts(self) -> dict[str, str]:
        """Playbook contract name -> address."""
        return {
            "vault": self.vault,
            "market": self.market,
            "oracle": self.oracle,
            "backup-oracle": self.backup_oracle,
            "collateral": self.collateral,
            "timelock": self.timelock,
        }

    def signer_env(self) -> dict[str, str]:
        """Environment variables the playbook's drill signers read (``key_env``, ``password_env``)."""
        env = {signer_env_name(name): key for name, key in self.owner_keys.items()}
        env.update({keystore_password_env(name): TESTBED_KEYSTORE_PASSWORD for name in self.owner_keys})
        return env


TESTBED_KEYSTORE_PASSWORD = "testbed-only-password"  # protects anvil's PUBLIC test keys: drills only


def signer_env_name(owner_name: str) -> str:
    return f"GUARDIAN_TESTBED_{owner_name.upper()}_KEY"


def keystore_password_env(owner_name: str) -> str:
    return f"GUARDIAN_TESTBED_{owner_name.upper()}_PASSWORD"


def drill_signers(testbed: "Testbed") -> list[dict]:
    """The threshold of guardians that sign the drill, one per backend where possible.

    The first signs on the emulated Ledger (anvil's mnemonic is the emulator's default, and
    anvil account i sits at m/44'/60'/0'/0/i), the second with an encrypted keystore written
    next to the playbook, the others with raw keys from the environment (drills only).
    """
    index_of = {address: index for index, address in enumerate(ANVIL_ADDRESSES)}
    signers = []
    for position, name in enumerate(list(testbed.owners)[: testbed.threshold]):
        address = testbed.owners[name]
        if position == 0 and address in index_of:
            signers.append({"owner": name, "backend": "ledger-emulator", "path": f"m/44'/60'/0'/0/{index_of[address]}"})
        elif position == 1 and name in testbed.owner_keys:
            keystore = write_keystore(testbed.playbook_path.parent / "keys" / f"{name}.json", testbed.owner_keys[name])
            signers.append({"owner": name, "backend": "keystore", "keystore": str(keystore.relative_to(testbed.playbook_path.parent)), "password_env": keystore_password_env(name)})
        else:
            signers.append({"owner": name, "backend": "key", "key_env": signer_env_name(name)})
    return signers


def write_keystore(path: Path, key: str) -> Path:
    """An eth-account v3 keystore of ``key`` (light scrypt parameters: a testbed, not a vault)."""
    from eth_account import Account

    path.parent.mkdir(parents=True, exist_ok=True)
    keystore = Account.encrypt(key, TESTBED_KEYSTORE_PASSWORD, kdf="scrypt", iterations=2**12)
    path.write_text(json.dumps(keystore, indent=2) + "\n")
    return path


def deploy_testbed(
    rpc_url: str,
    owners: Sequence[str] | None = None,
    threshold: int = 3,
    *,
    deployer_key: str | None = None,
    out_dir: Path,
    timelock_delay: int = 3600,
    variant: str | None = None,
    build_manifest: Path | None = None,
) -> Testbed:
    """Deploy the testbed on a fresh chain at ``rpc_url`` and write ``out_dir/guardian.yaml``.

    ``owners`` defaults to anvil's accounts 1..5 (alice..erin). Raises ``ThresholdError``,
    ``DuplicateOwnerError``, ``InputError`` (bad address, unknown variant), ``RpcError``
    (node unreachable) or ``TestbedError`` (no build, used deployer, a failed step).
    """
    from eth_account import Account
    from eth_utils import is_address, to_checksum_address

    if variant is not None and variant not in VARIANTS:
        raise InputError("testbed variant", variant, f"expected one of {', '.join(VARIANTS)}")
    owner_list = list(DEFAULT_OWNERS if owners is None else owners)
    checksummed: list[str] = []
    for owner in owner_list:
        if not isinstance(owner, str) or not is_address(owner):
            raise InputError("owner address", owner, "not a 20-byte hex address")
        address = to_checksum_address(owner)
        if address in checksummed:
            raise DuplicateOwnerError(address)
        checksummed.append(address)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= len(checksummed):
        raise ThresholdError(threshold, len(checksummed))
    if timelock_delay < 0:
        raise InputError("timelock delay", timelock_delay, "must be >= 0 seconds")
    build = load_build(build_manifest)

    deployer = Account.from_key(deployer_key or ANVIL_KEYS[DEPLOYER_INDEX])
    chain = _Chain(rpc_url, deployer)
    return _Deployment(chain, build, checksummed, threshold, timelock_delay, variant, Path(out_dir)).run()


# ---- build artifacts -------------------------------------------------------------------------


def find_build_manifest() -> Path:
    """The ape build manifest (.build/__local__.json) of this project."""
    override = os.environ.get("GUARDIAN_BUILD_MANIFEST")
    if override:
        return Path(override)
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in [start, *start.parents]:
            candidate = folder / ".build" / "__local__.json"
            if candidate.is_file() and (folder / "contracts").is_dir():
                return candidate
    return Path(__file__).resolve().parents[2] / ".build" / "__local__.json"


def load_build(manifest: Path | None = None) -> dict[str, dict]:
    """Contract type name -> {"abi": [...], "bytecode": "0x..."} from the ape build."""
    path = Path(manifest) if manifest else find_build_manifest()
    try:
        types = json.loads(path.read_text())["contractTypes"]
    except (OSError, ValueError, KeyError) as error:
        raise TestbedError(
            f"compiled contracts not found at {path} ({type(error).__name__})",
            advice="run `make` (or `ape compile` with SOLCX_BINARY_PATH=.solcx) first",
        ) from error
    build = {}
    for name in sorted(set(PLAYBOOK_CONTRACTS.values())):
        if name not in types or not types[name].get("deploymentBytecode", {}).get("bytecode"):
            raise TestbedError(f"contract {name} missing from {path}", advice="run `make` to recompile contracts/")
        build[name] = {"abi": types[name]["abi"], "bytecode": types[name]["deploymentBytecode"]["bytecode"]}
    return build


# ---- chain access ----------------------------------------------------------------------------


class _Chain:
    """web3 with one signing deployer that tracks its own nonce; every failure is a TestbedError."""

    def __init__(self, rpc_url: str, deployer):
        from web3 import Web3

        self.url = rpc_url
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        try:
            self.chain_id = self.w3.eth.chain_id
        except Exception as error:  # any failure here means "no usable node at this URL"
            raise RpcError(rpc_url, f"unreachable ({_connection_problem(error)})") from error
        self.deployer = deployer
        self.nonces: dict[str, int] = {}

    def contract(self, abi: list, address: str | None = None, bytecode: str | None = None):
        return self.w3.eth.contract(address=address, abi=abi, bytecode=bytecode)

    def nonce(self, account) -> int:
        if account.address not in self.nonces:
            self.nonces[account.address] = self.w3.eth.get_transaction_count(account.address, "pending")
        return self.nonces[account.address]

    def send(self, label: str, function, account=None, value: int = 0):
        """Sign and send ``function`` (a web3 contract function or constructor); return the receipt."""
        account = account or self.deployer
        try:
            tx = function.build_transaction(
                {"from": account.address, "nonce": self.nonce(account), "chainId": self.chain_id, "value": value}
            )
            tx["gas"] = int(tx["gas"] * 1.2) + 10_000
            signed = account.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            self.nonces[account.address] += 1
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        except TestbedError:
            raise
        except Exception as error:
            raise TestbedError(f"{label} failed: {_first_line(error)}") from error
        if receipt["status"] != 1:
            raise TestbedError(f"{label} reverted (tx {tx_hash.hex()})")
        return receipt

    def deploy(self, label: str, abi: list, bytecode: str, *args) -> str:
        receipt = self.send(f"deploying {label}", self.contract(abi, bytecode=bytecode).constructor(*args))
        return receipt["contractAddress"]

    def transfer(self, label: str, to: str, value: int):
        account = self.deployer
        try:
            tx = {
                "from": account.address,
                "to": to,
                "value": value,
                "nonce": self.nonce(account),
                "chainId": self.chain_id,
                "gas": 21_000,
                "maxFeePerGas": self.w3.eth.gas_price * 2,
                "maxPriorityFeePerGas": 0,
            }
            tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
            self.nonces[account.address] += 1
            self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        except Exception as error:
            raise TestbedError(f"{label} failed: {_first_line(error)}") from error

    def rpc(self, method: str, params: list) -> Any:
        response = self.w3.provider.make_request(method, params)
        if "error" in response:
            raise TestbedError(f"{method} failed: {response['error'].get('message')}", advice="the testbed needs anvil")
        return response.get("result")


def _connection_problem(error: Exception) -> str:
    import requests

    if isinstance(error, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "connection refused or host unknown"
    return _first_line(error)


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


# ---- the deployment --------------------------------------------------------------------------


class _Deployment:
    def __init__(self, chain: _Chain, build: dict, owners: list[str], threshold: int, delay: int, variant: str | None, out_dir: Path):
        from eth_account import Account

        self.chain, self.build, self.owners, self.threshold = chain, build, owners, threshold
        self.delay, self.variant, self.out_dir = delay, variant, out_dir
        self.keeper = Account.from_key(ANVIL_KEYS[KEEPER_INDEX])
        self.attacker = Account.from_key(ANVIL_KEYS[ATTACKER_INDEX])
        self.depositor = Account.from_key(ANVIL_KEYS[DEPOSITOR_INDEX])

    def run(self) -> Testbed:
        chain = self.chain
        sent = chain.nonce(chain.deployer)
        if sent != 0:
            raise TestbedError(
                f"deployer {chain.deployer.address} already sent {sent} transaction(s) on chain {chain.chain_id}, "
                "so the addresses would not be the testbed's",
                advice="start a fresh anvil, or pass another deployer key",
            )
        safe = self._deploy_safe()
        protocol = self._deploy_protocol(safe)
        modules = self._apply_module_variant(safe["safe"])
        self._fund_vault(protocol)
        return self._write(safe, protocol, modules)

    # Safe ------------------------------------------------------------------------------------
    def _deploy_safe(self) -> dict[str, str]:
        from safe_eth.eth import contracts as safe_contracts

        chain = self.chain
        old = self.variant == "old-safe"
        version = "1.1.1" if old else "1.4.1"
        if old:
            singleton_fn, factory_fn = safe_contracts.get_safe_V1_1_1_contract, safe_contracts.get_proxy_factory_V1_1_1_contract
            handler_fn = safe_contracts.get_compatibility_fallback_handler_V1_3_0_contract
        else:
            singleton_fn, factory_fn = safe_contracts.get_safe_V1_4_1_contract, safe_contracts.get_proxy_factory_V1_4_1_contract
            handler_fn = safe_contracts.get_compatibility_fallback_handler_V1_4_1_contract

        def deploy(label, contract_fn) -> str:
            template = contract_fn(chain.w3)
            return chain.deploy(label, template.abi, template.bytecode)

        singleton = deploy(f"Safe {version} singleton", singleton_fn)
        factory = deploy(f"Safe {version} proxy factory", factory_fn)
        multisend = deploy("MultiSendCallOnly 1.4.1", safe_contracts.get_multi_send_call_only_V1_4_1_contract)
        handler = deploy("CompatibilityFallbackHandler", handler_fn)
        accessor = deploy("SimulateTxAccessor 1.4.1", safe_contracts.get_simulate_tx_accessor_V1_4_1_contract)

        singleton_contract = singleton_fn(chain.w3, singleton)
        initializer = singleton_contract.encode_abi(
            "setup", args=[self.owners, self.threshold, ZERO_ADDRESS, b"", handler, ZERO_ADDRESS, 0, ZERO_ADDRESS]
        )
        factory_contract = factory_fn(chain.w3, factory)
        create = factory_contract.functions.createProxyWithNonce(singleton, initializer, SALT_NONCE)
        safe_address = create.call({"from": chain.deployer.address})
        chain.send("creating the guardian Safe", create)
        safe_contract = singleton_fn(chain.w3, safe_address)
        got_owners = safe_contract.functions.getOwners().call()
        got_threshold = safe_contract.functions.getThreshold().call()
        if list(got_owners) != self.owners or got_threshold != self.threshold:
            raise TestbedError(f"Safe {safe_address} came out with owners {got_owners} and threshold {got_threshold}")
        return {
            "safe": safe_address,
            "version": version,
            "singleton": singleton,
            "factory": factory,
            "multisend": multisend,
            "handler": handler,
            "accessor": accessor,
        }

    # protocol --------------------------------------------------------------------------------
    def _deploy_protocol(self, safe: dict[str, str]) -> dict[str, str]:
        chain, build = self.chain, self.build
        deployer = chain.deployer.address
        safe_address = safe["safe"]

        executors = [ZERO_ADDRESS] if self.variant == "open-executor" else [safe_address]
        timelock = chain.deploy("Timelock", build["Timelock"]["abi"], build["Timelock"]["bytecode"], self.delay, [safe_address], executors, ZERO_ADDRESS)
        collateral = chain.deploy("MockUSD", build["MockUSD"]["abi"], build["MockUSD"]["bytecode"])
        oracle = chain.deploy("PriceOracle", build["PriceOracle"]["abi"], build["PriceOracle"]["bytecode"], deployer)
        backup = chain.deploy("backup PriceOracle", build["PriceOracle"]["abi"], build["PriceOracle"]["bytecode"], deployer)
        vault = chain.deploy(
            "Vault", build["Vault"]["abi"], build["Vault"]["bytecode"], deployer, collateral, WITHDRAWAL_CAP, PAUSE_WINDOW
        )
        market = chain.deploy(
            "PerpMarket",
            build["PerpMarket"]["abi"],
            build["PerpMarket"]["bytecode"],
            deployer,
            vault,
            oracle,
            MAX_LEVERAGE,
            MAINTENANCE_MARGIN_BPS,
            PAUSE_WINDOW,
            [market_id(name) for name in MARKETS],
        )

        guardian = deployer if self.variant == "no-pause-role" else safe_address
        for label, address, type_name in (("Vault", vault, "Vault"), ("PerpMarket", market, "PerpMarket")):
            contract = chain.contract(build[type_name]["abi"], address)
            roles = contract.functions
            grants = [(roles.GUARDIAN_ROLE().call(), guardian), (roles.GOVERNOR_ROLE().call(), timelock)]
            if type_name == "Vault":
                operator = roles.OPERATOR_ROLE().call()
                grants += [(operator, market), (operator, self.keeper.address)]
            self._grant_and_hand_over(label, contract, grants, timelock)
        for label, address in (("PriceOracle", oracle), ("backup PriceOracle", backup)):
            contract = chain.contract(build["PriceOracle"]["abi"], address)
            updater = contract.functions.UPDATER_ROLE().call()
            chain.send(f"{label}: grant updater", contract.functions.grantRole(updater, deployer))
            for name in MARKETS:
                chain.send(f"{label}: price {name}", contract.functions.setPrice(market_id(name), PRICES[name]))
            grants = [(updater, self.keeper.address)]
            self._grant_and_hand_over(label, contract, grants, timelock, drop=[updater])
        return {
            "timelock": timelock,
            "collateral": collateral,
            "oracle": oracle,
            "backup_oracle": backup,
            "vault": vault,
            "market": market,
        }

    def _grant_and_hand_over(self, label, contract, grants, timelock, drop=()):
        """Grant roles, make the timelock admin, and have the deployer renounce its roles."""
        chain = self.chain
        deployer = chain.deployer.address
        functions = contract.functions
        admin = functions.DEFAULT_ADMIN_ROLE().call()
        for role, account in [*grants, (admin, timelock)]:
            chain.send(f"{label}: grant role to {account}", functions.grantRole(role, account))
        for role in drop:
            chain.send(f"{label}: deployer renounces a role", functions.renounceRole(role, deployer))
        chain.send(f"{label}: deployer renounces admin", functions.renounceRole(admin, deployer))

    # variants and funding --------------------------------------------------------------------
    def _apply_module_variant(self, safe_address: str) -> tuple[str, ...]:
        if self.variant != "module-enabled":
            return ()
        from safe_eth.eth.contracts import get_safe_V1_4_1_contract

        chain = self.chain
        module = self.keeper.address
        data = get_safe_V1_4_1_contract(chain.w3, safe_address).encode_abi("enableModule", args=[module])
        # Only the Safe itself may enable a module: impersonate it on anvil (no owner keys needed).
        balance = chain.w3.eth.get_balance(safe_address)
        chain.rpc("anvil_impersonateAccount", [safe_address])
        chain.rpc("anvil_setBalance", [safe_address, hex(10**18)])
        try:
            tx_hash = chain.rpc("eth_sendTransaction", [{"from": safe_address, "to": safe_address, "data": data, "gas": hex(200_000)}])
            receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        finally:
            chain.rpc("anvil_stopImpersonatingAccount", [safe_address])
            chain.rpc("anvil_setBalance", [safe_address, hex(balance)])
        if receipt["status"] != 1:
            raise TestbedError(f"enabling module {module} on the Safe reverted")
        return (module,)

    def _fund_vault(self, protocol: dict[str, str]) -> None:
        """The depositor mints mUSD and deposits it (the deployer tops up its gas if needed)."""
        chain, build = self.chain, self.build
        if chain.w3.eth.get_balance(self.depositor.address) < 10**18:
            chain.transfer("funding the depositor with gas", self.depositor.address, 10 * 10**18)
        token = chain.contract(build["MockUSD"]["abi"], protocol["collateral"]).functions
        vault = chain.contract(build["Vault"]["abi"], protocol["vault"]).functions
        chain.send("depositor mints mUSD", token.mint(self.depositor.address, DEPOSIT), self.depositor)
        chain.send("depositor approves the vault", token.approve(protocol["vault"], DEPOSIT), self.depositor)
        chain.send("depositor deposits", vault.deposit(DEPOSIT), self.depositor)

    # output ----------------------------------------------------------------------------------
    def _write(self, safe: dict[str, str], protocol: dict[str, str], modules: tuple[str, ...]) -> Testbed:
        known = {address: key for address, key in zip(ANVIL_ADDRESSES, ANVIL_KEYS)}
        names = owner_names(len(self.owners))
        owners = dict(zip(names, self.owners))
        owner_keys = {name: known[address] for name, address in owners.items() if address in known}
        actors = {"keeper": self.keeper.address, "attacker": self.attacker.address, "depositor": self.depositor.address}
        actor_keys = {
            "keeper": ANVIL_KEYS[KEEPER_INDEX],
            "attacker": ANVIL_KEYS[ATTACKER_INDEX],
            "depositor": ANVIL_KEYS[DEPOSITOR_INDEX],
        }
        abi_dir = self.out_dir / "abis"
        abi_dir.mkdir(parents=True, exist_ok=True)
        abis = {name: self.build[name]["abi"] for name in sorted(set(PLAYBOOK_CONTRACTS.values()))}
        for name, abi in abis.items():
            (abi_dir / f"{name}.json").write_text(json.dumps(abi, indent=2) + "\n")
        testbed = Testbed(
            rpc_url=self.chain.url,
            chain_id=self.chain.chain_id,
            variant=self.variant,
            deployer=self.chain.deployer.address,
            safe=safe["safe"],
            safe_version=safe["version"],
            threshold=self.threshold,
            owners=owners,
            owner_keys=owner_keys,
            safe_singleton=safe["singleton"],
            proxy_factory=safe["factory"],
            multisend_call_only=safe["multisend"],
            fallback_handler=safe["handler"],
            simulate_tx_accessor=safe["accessor"],
            timelock=protocol["timelock"],
            timelock_delay=self.delay,
            collateral=protocol["collateral"],
            oracle=protocol["oracle"],
            backup_oracle=protocol["backup_oracle"],
            vault=protocol["vault"],
            market=protocol["market"],
            market_ids={name: market_id(name) for name in MARKETS},
            actors=actors,
            actor_keys=actor_keys,
            enabled_modules=modules,
            playbook_path=self.out_dir / "guardian.yaml",
            abi_dir=abi_dir,
            abis=abis,
        )
        bounds = self._bounds(testbed)
        write_playbook(testbed, bounds)
        return testbed

    def _bounds(self, testbed: Testbed) -> dict[str, tuple[int, int]]:
        """The on-chain bounds of each settable parameter, read from the contracts' constants."""
        vault = self.chain.contract(self.build["Vault"]["abi"], testbed.vault).functions
        market = self.chain.contract(self.build["PerpMarket"]["abi"], testbed.market).functions
        return {
            "withdrawalCap": (vault.MIN_WITHDRAWAL_CAP().call(), vault.MAX_WITHDRAWAL_CAP().call()),
            "maxLeverage": (market.MIN_LEVERAGE().call(), market.MAX_LEVERAGE().call()),
            "maintenanceMarginBps": (market.MIN_MAINTENANCE_MARGIN_BPS().call(), market.MAX_MAINTENANCE_MARGIN_BPS().call()),
        }


def owner_names(count: int) -> list[str]:
    """alice, bob, ... judy, then owner11, owner12, ..."""
    return [OWNER_NAMES[i] if i < len(OWNER_NAMES) else f"owner{i + 1}" for i in range(count)]


# ---- the playbook ----------------------------------------------------------------------------


def playbook_data(testbed: Testbed, bounds: dict[str, tuple[int, int]]) -> dict:
    """The guardian playbook (docs/PLAYBOOK.md) describing ``testbed``."""

    def check(call, equals, args=None, contract=None):
        item = {"call": call, "equals": equals}
        if args:
            item["args"] = args
        if contract:
            item = {"contract": contract, **item}
        return item

    def bounded(name, parameter):
        low, high = bounds[parameter]
        return {"name": name, "type": "uint256", "min": low, "max": high}

    actions = {
        "pause-vault": {
            "kind": "pause",
            "contract": "vault",
            "function": "pause()",
            "route": "safe",
            "description": "Pause deposits, withdrawals and settlement of the vault",
            "params": [],
            "postconditions": [check("paused()", True)],
        },
        "pause-market": {
            "kind": "pause",
            "contract": "market",
            "function": "pause()",
            "route": "safe",
            "description": "Pause opening and closing positions on every market",
            "params": [],
            "postconditions": [check("paused()", True)],
        },
        "unpause-vault": {
            "kind": "unpause",
            "contract": "vault",
            "function": "unpause()",
            "route": "timelock",
            "description": "Resume the vault (through the timelock)",
            "params": [],
            "postconditions": [check("paused()", False)],
        },
        "unpause-market": {
            "kind": "unpause",
            "contract": "market",
            "function": "unpause()",
            "route": "timelock",
            "description": "Resume trading (through the timelock)",
            "params": [],
            "postconditions": [check("paused()", False)],
        },
        "freeze-account": {
            "kind": "freeze",
            "contract": "vault",
            "function": "freezeAccount(address)",
            "route": "safe",
            "description": "Freeze one account's vault balance (no withdraw, deposit or settlement)",
            "params": [{"name": "account", "type": "address"}],
            "postconditions": [
                check("isFrozen(address)", True, ["{account}"]),
                {"reverts": "withdraw(uint256)", "args": [1], "from": "{account}"},
            ],
        },
        "unfreeze-account": {
            "kind": "unfreeze",
            "contract": "vault",
            "function": "unfreezeAccount(address)",
            "route": "timelock",
            "description": "Unfreeze an account's vault balance (through the timelock)",
            "params": [{"name": "account", "type": "address"}],
            "postconditions": [check("isFrozen(address)", False, ["{account}"])],
        },
        "freeze-market": {
            "kind": "freeze",
            "contract": "market",
            "function": "freezeMarket(bytes32)",
            "route": "safe",
            "description": "Freeze one market (no open or close); market ids: "
            + ", ".join(f"{name} = {value}" for name, value in testbed.market_ids.items()),
            "params": [{"name": "market_id", "type": "bytes32"}],
            "postconditions": [check("isMarketFrozen(bytes32)", True, ["{market_id}"])],
        },
        "set-max-leverage": {
            "kind": "set-parameter",
            "contract": "market",
            "function": "setMaxLeverage(uint256)",
            "route": "timelock",
            "description": "Change the maximum leverage of new positions",
            "params": [bounded("leverage", "maxLeverage")],
            "postconditions": [check("maxLeverage()", "{leverage}")],
        },
        "set-maintenance-margin": {
            "kind": "set-parameter",
            "contract": "market",
            "function": "setMaintenanceMarginBps(uint256)",
            "route": "timelock",
            "description": "Change the maintenance margin (basis points of notional)",
            "params": [bounded("bps", "maintenanceMarginBps")],
            "postconditions": [check("maintenanceMarginBps()", "{bps}")],
        },
        "set-withdrawal-cap": {
            "kind": "set-parameter",
            "contract": "vault",
            "function": "setWithdrawalCap(uint256)",
            "route": "timelock",
            "description": "Change the per-transaction withdrawal cap (mUSD, 6 decimals)",
            "params": [bounded("cap", "withdrawalCap")],
            "postconditions": [check("withdrawalCap()", "{cap}")],
        },
        "set-oracle": {
            "kind": "set-parameter",
            "contract": "market",
            "function": "setOracle(address)",
            "route": "timelock",
            "description": f"Point the market at another price feed (backup oracle: {testbed.backup_oracle})",
            "params": [{"name": "oracle", "type": "address"}],
            "postconditions": [check("oracle()", "{oracle}")],
        },
    }
    signers = drill_signers(testbed)
    credited = 900_000 * USD
    drained = 100_000 * USD
    drills = {
        "vault-drain": {
            "description": "A leaked settlement-keeper key credits the attacker 900,000 mUSD, "
            "who starts withdrawing it at the per-transaction cap; the guardians pause the vault, "
            "freeze the attacker and lower the withdrawal cap",
            "actors": {"attacker": testbed.actors["attacker"], "keeper": testbed.actors["keeper"]},
            "breach": [
                {"from": "keeper", "contract": "vault", "function": "credit(address,uint256)", "args": ["{attacker}", credited]},
                {"from": "attacker", "contract": "vault", "function": "withdraw(uint256)", "args": [drained]},
            ],
            "response": [
                "pause-vault",
                {"action": "freeze-account", "args": {"account": "{attacker}"}},
                {"action": "set-withdrawal-cap", "args": {"cap": bounds["withdrawalCap"][0]}},
            ],
            "signers": signers,
            "conditions": [
                check("paused()", True, contract="vault"),
                check("isFrozen(address)", True, ["{attacker}"], contract="vault"),
                {"contract": "vault", "reverts": "withdraw(uint256)", "args": [1], "from": "attacker"},
            ],
        }
    }
    return {
        "version": 1,
        "name": f"testbed ({testbed.variant})" if testbed.variant else "testbed",
        "default_network": "local",
        "proposals_dir": "proposals",
        "networks": {"local": {"chain_id": testbed.chain_id, "rpc_url": testbed.rpc_url, "fork_block": None}},
        "safe": {
            "address": testbed.safe,
            "version": testbed.safe_version,
            "threshold": testbed.threshold,
            "owners": dict(testbed.owners),
            "multisend_call_only": testbed.multisend_call_only,
            "delegatecall_allowlist": [],
        },
        "timelock": {"address": testbed.timelock, "min_delay": testbed.timelock_delay},
        "contracts": {
            name: {
                "address": testbed.contracts[name],
                "abi": f"abis/{type_name}.json",
                **({"pause_window_end": "pauseWindowEnd()"} if name in ("vault", "market") else {}),
            }
            for name, type_name in PLAYBOOK_CONTRACTS.items()
        },
        "actions": actions,
        "drills": drills,
    }


def write_playbook(testbed: Testbed, bounds: dict[str, tuple[int, int]]) -> Path:
    import yaml

    header = (
        "# guardian playbook for the local testbed, written by guardian.testbed.deploy_testbed\n"
        f"# (variant: {testbed.variant or 'none'}). Format: docs/PLAYBOOK.md. The owner keys are anvil's\n"
        "# public test keys: set them with Testbed.signer_env(); never use them for anything of value.\n"
    )
    body = yaml.safe_dump(playbook_data(testbed, bounds), sort_keys=False, default_flow_style=False, width=120)
    testbed.playbook_path.parent.mkdir(parents=True, exist_ok=True)
    testbed.playbook_path.write_text(header + body)
    return testbed.playbook_path
