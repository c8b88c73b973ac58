"""Fixtures of the reliability and security suite (issue 6); helpers are in security_support.py.

One testbed (Safe 1.4.1 3-of-5, TimelockController, Vault, PerpMarket on a real anvil) is
deployed for the whole folder (``security_testbed``, session scope). A test that changes the
chain uses ``bed`` (or ``guardian``), which reverts every chain change afterwards
(evm_snapshot / evm_revert). Tests that stop and restart the node start their own anvil
(test_execution_faults.py).
"""

from __future__ import annotations

import pytest

from guardian.testbed import ANVIL_KEYS

from security_support import Guardian, write_key_files


@pytest.fixture(scope="session")
def security_testbed(tmp_path_factory):
    """One anvil + the full testbed for the whole folder; yields ``(anvil, Testbed)``."""
    from support import running_testbed

    with running_testbed(tmp_path_factory.mktemp("security-testbed"), "security_testbed") as (node, bed):
        yield node, bed


@pytest.fixture
def bed(security_testbed):
    """``security_testbed`` with every chain change of the test reverted afterwards."""
    from support import reverted

    with reverted(security_testbed[0]):
        yield security_testbed


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict[int, str]:
    """``--signer`` specs (key-file:PATH) for anvil accounts 0..9."""
    return write_key_files(tmp_path_factory.mktemp("security-keys"), ANVIL_KEYS)


@pytest.fixture
def guardian(bed, keys) -> Guardian:
    """The real CLI on the shared testbed (chain changes reverted after the test)."""
    node, testbed = bed
    return Guardian(node, testbed, keys)
