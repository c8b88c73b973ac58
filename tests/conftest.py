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
    from guardian.errors import GuardianError
    from guardian.testbed import deploy_testbed

    folder = tmp_path_factory.mktemp("testbed")
    try:
        node = start_anvil(log_dir=folder)
    except GuardianError as error:
        pytest.fail(f"testbed fixture: {error.one_line()}", pytrace=False)
    with node:
        try:
            bed = deploy_testbed(node.url, out_dir=folder / "playbook")
        except GuardianError as error:
            pytest.fail(f"testbed fixture: {error.one_line()}", pytrace=False)
        yield node, bed


@pytest.fixture
def isolated_testbed(testbed):
    """``testbed``, with every chain change of the test reverted afterwards (evm_snapshot/evm_revert)."""
    node, _ = testbed
    snapshot = node.rpc("evm_snapshot")
    try:
        yield testbed
    finally:
        node.rpc("evm_revert", [snapshot])
