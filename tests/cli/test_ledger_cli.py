"""`guardian ledger accounts` end to end: the real CLI in a subprocess, talking over ledgerblue's
TCP transport (Speculos framing) to the emulator, exactly as it would to Speculos."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from guardian.testing.ledger_emulator import ANVIL_MNEMONIC, serve

Account.enable_unaudited_hdwallet_features()
GUARDIAN = str(Path(sys.executable).with_name("guardian"))


def expected_address(path: str) -> str:
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=path).address


def run_guardian(port: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LEDGER_PROXY_ADDRESS="127.0.0.1", LEDGER_PROXY_PORT=str(port))
    return subprocess.run([GUARDIAN, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def device():
    server, port = serve()
    yield server.emulator, port
    server.stop()


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[2:]]


def test_accounts_lists_ledger_live_addresses(device):
    emulator, port = device
    result = run_guardian(port, "ledger", "accounts", "--count", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["index", "path", "address"]
    assert rows(result.stdout) == [
        [str(i), f"m/44'/60'/{i}'/0/0", expected_address(f"m/44'/60'/{i}'/0/0")] for i in range(3)
    ]
    assert [apdu[1] for apdu in emulator.apdus] == [0x06, 0x02, 0x02, 0x02]


def test_accounts_json(device):
    _, port = device
    result = run_guardian(port, "ledger", "accounts", "--count", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"index": i, "path": f"m/44'/60'/{i}'/0/0", "address": expected_address(f"m/44'/60'/{i}'/0/0")} for i in range(2)
    ]


def test_accounts_lists_legacy_and_templated_paths(device):
    _, port = device
    legacy = run_guardian(port, "ledger", "accounts", "--legacy", "--count", "2", "--start", "4")
    assert legacy.returncode == 0, legacy.stderr
    assert rows(legacy.stdout) == [[str(i), f"m/44'/60'/0'/{i}", expected_address(f"m/44'/60'/0'/{i}")] for i in (4, 5)]
    templated = run_guardian(port, "ledger", "accounts", "--count", "2", "--path-template", "m/44'/60'/0'/0/{index}")
    assert templated.returncode == 0, templated.stderr
    assert rows(templated.stdout) == [[str(i), f"m/44'/60'/0'/0/{i}", expected_address(f"m/44'/60'/0'/0/{i}")] for i in (0, 1)]


def test_bad_path_template_is_a_one_line_error(device):
    _, port = device
    result = run_guardian(port, "ledger", "accounts", "--path-template", "m/44'/60'/{index}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid derivation path" in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_listening_is_not_connected():
    result = run_guardian(_free_port(), "ledger", "accounts")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Ledger: no device connected")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--locked", "Error: Ledger: the device is locked (status 0x5515)"),
        ("--app-closed", "Error: Ledger: the Ethereum app is not open (status 0x6E00)"),
    ],
)
def test_device_states_from_the_module_entry_point(flag, message):
    emulator = subprocess.Popen(
        [sys.executable, "-m", "guardian.testing.ledger_emulator", "--port", "0", flag], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(emulator.stdout.readline().rsplit(":", 1)[1])
        result = run_guardian(port, "ledger", "accounts")
        assert result.returncode == 1
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def test_ledger_help_lists_accounts():
    result = subprocess.run([GUARDIAN, "ledger", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "accounts" in result.stdout
    result = subprocess.run([GUARDIAN, "ledger", "accounts", "--help"], capture_output=True, text=True, timeout=60)
    assert "--legacy" in result.stdout and "--path-template" in result.stdout
