"""The pause flow through ape-safe's Python API; runs inside bench/.venv-ape-safe, not guardian's venv.

    python ape_safe_flow.py whole   --rpc URL --safe ADDR --singleton ADDR --vault ADDR --signer 1 --signer 2
    python ape_safe_flow.py propose --rpc URL --safe ADDR --singleton ADDR --vault ADDR --file F
    python ape_safe_flow.py sign    --rpc URL --safe ADDR --singleton ADDR --file F --signer 1
    python ape_safe_flow.py execute --rpc URL --safe ADDR --singleton ADDR --file F --signer 1

`whole` builds the Safe transaction calling vault.pause(), signs it with two owners and executes
it, in one process. The other three are the same work split into separate processes, the way
guardians would use it: ape-safe only keeps pending transactions in a Safe Transaction Service
(in memory for a local chain, MockSafeClient), so the steps hand the transaction and its
signatures over in a JSON file written by this script.

Signers are ape's test accounts by index: ape's default test mnemonic is anvil's, so test
account i is anvil account i. ape-safe looks the Safe singleton up in safe-deployments on
GitHub (no network here); the testbed's local singleton is handed to its SafeFactory instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PAUSE_SELECTOR = bytes.fromhex("8456cb59")  # pause()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["whole", "propose", "sign", "execute"])
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--safe", required=True)
    parser.add_argument("--singleton", required=True)
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--vault")
    parser.add_argument("--file")
    parser.add_argument("--signer", type=int, action="append", default=[])
    args = parser.parse_args()

    from ape import accounts, networks
    from ape.types.signatures import MessageSignature
    from ape_safe.factory import SafeFactory
    from packaging.version import Version

    # ape's node provider takes the local network's chain id from its settings (default 1337).
    settings = {"uri": args.rpc, "ethereum": {"local": {"uri": args.rpc, "chain_id": args.chain_id}}}
    with networks.parse_network_choice("ethereum:local:node", provider_settings=settings) as provider:
        safe = _load_safe(accounts, args.safe)
        SafeFactory._singleton[Version("1.4.1")] = _singleton(args.singleton)
        _register_fallback_handler(provider, args.safe)
        owners = accounts.test_accounts
        if args.step in ("whole", "propose"):
            nonce = safe.contract._view_methods_["nonce"]()
            safe_tx = safe.create_safe_tx(to=args.vault, value=0, data=PAUSE_SELECTOR, nonce=nonce)
            if args.step == "propose":
                _write(args.file, {"tx": _tx_fields(safe_tx), "signatures": {}})
                return 0
            signatures = {owners[i].address: owners[i].sign_message(safe_tx) for i in args.signer}
            submitter = owners[args.signer[0]]
        else:
            state = json.loads(Path(args.file).read_text())
            safe_tx = safe.create_safe_tx(**{**state["tx"], "data": bytes.fromhex(state["tx"]["data"][2:])})
            if args.step == "sign":
                for i in args.signer:
                    signature = owners[i].sign_message(safe_tx)
                    state["signatures"][owners[i].address] = signature.encode_rsv().hex()
                _write(args.file, state)
                return 0
            signatures = {owner: MessageSignature.from_rsv(bytes.fromhex(rsv)) for owner, rsv in state["signatures"].items()}
            submitter = owners[args.signer[0]]
        transaction = safe.create_execute_transaction(safe_tx, signatures, submitter=submitter)
        receipt = submitter.call(transaction)
        if receipt.failed:
            print(f"execTransaction failed: {receipt.txn_hash}", file=sys.stderr)
            return 1
        print(f"executed in {receipt.txn_hash}")
    return 0


def _load_safe(accounts, address: str):
    container = accounts.containers["safe"]
    alias = "bench-" + address[2:10].lower()
    if alias not in container.aliases:
        container.save_account(alias, address)
    return container.load_account(alias)


def _singleton(address: str):
    from ape_safe.packages import PackageType

    return PackageType.SINGLETON("1.4.1").at(address)


def _register_fallback_handler(provider, safe: str) -> None:
    """No explorer offline: give the Safe's fallback handler an (empty) contract type so ape-safe loads."""
    from ape.utils import ZERO_ADDRESS
    from eth_utils import keccak
    from ethpm_types import ContractType

    slot = keccak(text="fallback_manager.handler.address")
    handler = provider.network.ecosystem.decode_address(provider.get_storage(safe, slot)[-20:])
    if handler != ZERO_ADDRESS:
        provider.chain_manager.contracts[handler] = ContractType(contractName="FallbackHandler", abi=[])


def _tx_fields(safe_tx) -> dict:
    return {
        "to": safe_tx.to,
        "value": safe_tx.value,
        "data": "0x" + bytes(safe_tx.data).hex(),
        "operation": int(safe_tx.operation),
        "safeTxGas": safe_tx.safeTxGas,
        "gasPrice": safe_tx.gasPrice,
        "gasToken": safe_tx.gasToken,
        "refundReceiver": safe_tx.refundReceiver,
        "nonce": safe_tx.nonce,
    }


def _write(path: str, state: dict) -> None:
    Path(path).write_text(json.dumps(state, indent=1))


if __name__ == "__main__":
    sys.exit(main())
