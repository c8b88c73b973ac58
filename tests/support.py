"""Helpers shared by the test folders: a running testbed, and signers for it.

Signers: anvil's raw keys (from the environment) and the emulated Ledger.

The ``anvil_key_env`` fixture (tests/conftest.py) exports anvil account i's key as
``GUARDIAN_TEST_KEY_<i>``; the emulated Ledger derives from anvil's mnemonic, so its path
m/44'/60'/0'/0/i is anvil account i.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from guardian.adapters.signers import open_signer
from guardian.testing.ledger_emulator import EmulatedDongle, LedgerEmulator

KEY_ENV = "GUARDIAN_TEST_KEY_{index}"


def quiet(_text: str) -> None:
    pass


def key_signer(index: int):
    return open_signer(f"key:{KEY_ENV.format(index=index)}", allow_raw_key=True, echo=quiet)


def ledger_signer(account: int = 1, emulator: LedgerEmulator | None = None):
    """The emulated Ledger's account m/44'/60'/0'/0/N: anvil's account N (same mnemonic)."""
    return open_signer(f"ledger:m/44'/60'/0'/0/{account}", dongle=EmulatedDongle(emulator or LedgerEmulator()), echo=quiet)


@contextmanager
def running_testbed(folder: Path, what: str = "testbed fixture"):
    """A fresh anvil with the full testbed deployed on it: yields ``(anvil, Testbed)``, stops anvil.

    A missing anvil or missing compiled contracts FAIL the test with the fix; they never skip.
    """
    from guardian.adapters.anvil import start_anvil
    from guardian.errors import GuardianError
    from guardian.testbed import deploy_testbed

    try:
        node = start_anvil(log_dir=folder)
    except GuardianError as error:
        pytest.fail(f"{what}: {error.one_line()}", pytrace=False)
    with node:
        try:
            bed = deploy_testbed(node.url, out_dir=folder / "playbook")
        except GuardianError as error:
            pytest.fail(f"{what}: {error.one_line()}", pytrace=False)
        yield node, bed


@contextmanager
def reverted(node):
    """Every chain change made inside is undone afterwards (evm_snapshot / evm_revert)."""
    snapshot = node.rpc("evm_snapshot")
    try:
        yield
    finally:
        node.rpc("evm_revert", [snapshot])
