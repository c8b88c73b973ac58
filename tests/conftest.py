"""Shared fixtures: a real anvil per test (free port, always stopped)."""

from __future__ import annotations

import pytest

from guardian.adapters.anvil import start_anvil


@pytest.fixture
def anvil(tmp_path):
    """A fresh local anvil chain (chain id 31337), stopped after the test."""
    with start_anvil(log_dir=tmp_path) as node:
        yield node


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    """The full testbed (guardian Safe 3-of-5, timelock, protocol) deployed on a fresh anvil.

    Yields ``(anvil, Testbed)``; one deployment per test module, anvil stopped afterwards.
    Tests that change chain state should use ``isolated_testbed`` (reverted after each test).
    A missing anvil or missing compiled contracts FAIL the test with the fix; they never skip.
    """
    from support import running_testbed

    with running_testbed(tmp_path_factory.mktemp("testbed")) as (node, bed):
        yield node, bed


@pytest.fixture
def isolated_testbed(testbed):
    """``testbed``, with every chain change of the test reverted afterwards (evm_snapshot/evm_revert)."""
    from support import reverted

    with reverted(testbed[0]):
        yield testbed


@pytest.fixture(scope="module")
def anvil_key_env():
    """anvil account i's private key in ``GUARDIAN_TEST_KEY_<i>`` (for ``key:`` signers)."""
    from guardian.testbed import ANVIL_KEYS

    with pytest.MonkeyPatch.context() as patch:
        for index, key in enumerate(ANVIL_KEYS):
            patch.setenv(f"GUARDIAN_TEST_KEY_{index}", key)
        yield
