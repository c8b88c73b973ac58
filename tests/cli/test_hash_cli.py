"""`guardian hash` end to end with CliRunner, and its startup imports in a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from guardian.cli import main
from guardian.domain.abi import encode_call
from guardian.domain.abi import AbiRegistry
from guardian.domain.multisend import Call, encode_multisend, pack_transactions
from guardian.domain.proposal import Proposal, intent_action
from guardian.domain.safe_tx import SafeTx, hash_safe_tx

SAFE = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
VAULT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MULTISEND = "0x52908400098527886E0F7030069857D2E4169EE7"
TOKEN = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
HEAVY = ("web3", "safe_eth", "ape", "ledgereth", "eth_account")


def run(*args: str):
    return CliRunner(mix_stderr=False).invoke(main, ["hash", *args], catch_exceptions=False)


def flags(**overrides) -> list[str]:
    options = {
        "--safe": SAFE, "--chain-id": "1", "--safe-version": "1.4.1", "--to": VAULT, "--value": "0",
        "--data": "0x8456cb59", "--operation": "0", "--nonce": "7",
    }  # fmt: skip
    options.update(overrides)
    return [item for pair in options.items() for item in pair if pair[1] is not None]


def expected(**fields) -> dict:
    base = dict(safe=SAFE, chain_id=1, safe_version="1.4.1", to=VAULT, value=0, data=bytes.fromhex("8456cb59"), operation=0, nonce=7)
    base.update(fields)
    return hash_safe_tx(SafeTx(**base)).as_hex()


def test_json_output_is_exactly_the_three_hashes():
    result = run(*flags(), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == json.dumps(expected())
    parsed = json.loads(result.stdout)
    assert list(parsed) == ["domain_hash", "message_hash", "safe_tx_hash"]
    assert all(value == value.lower() and value.startswith("0x") and len(value) == 66 for value in parsed.values())


def test_omitted_gas_fields_default_to_zero():
    explicit = run(*flags(), "--safe-tx-gas", "0", "--base-gas", "0", "--gas-price", "0",
                   "--gas-token", "0x" + "00" * 20, "--refund-receiver", "0x" + "00" * 20, "--json")  # fmt: skip
    assert explicit.stdout == run(*flags(), "--json").stdout


def test_all_fields_including_gas_and_hex_numbers():
    result = run(*flags(**{"--value": "0xde0b6b3a7640000", "--operation": "1"}), "--safe-tx-gas", "100000", "--base-gas", "21000",
                 "--gas-price", "5", "--gas-token", TOKEN, "--refund-receiver", MULTISEND, "--json")  # fmt: skip
    assert json.loads(result.stdout) == expected(
        value=10**18, operation=1, safe_tx_gas=100000, base_gas=21000, gas_price=5, gas_token=TOKEN, refund_receiver=MULTISEND
    )


@pytest.mark.parametrize("version", ["1.0.0", "1.1.1", "1.3.0", "1.4.1", "1.5.0"])
def test_every_version(version):
    result = run(*flags(**{"--safe-version": version}), "--json")
    assert json.loads(result.stdout) == expected(safe_version=version)


def test_readable_block_shows_fields_decoded_call_and_hashes():
    result = run(*flags())
    assert result.exit_code == 0
    hashes = expected()
    for text in (f"Safe:           {SAFE} (version 1.4.1)", "Operation:      0 (CALL)", "Nonce:          7", "pause()",
                 hashes["domain_hash"], hashes["message_hash"], hashes["safe_tx_hash"]):  # fmt: skip
        assert text in result.stdout, text


def test_readable_block_decodes_a_batch():
    batch = encode_multisend([Call(VAULT, 0, encode_call("pause()", [])), Call(SAFE, 0, encode_call("changeThreshold(uint256)", [1]))])
    result = run(*flags(**{"--to": MULTISEND, "--data": "0x" + batch.hex(), "--operation": "1"}))
    assert result.exit_code == 0
    assert "multiSend(bytes)" in result.stdout and "DELEGATECALL" in result.stdout
    assert "changeThreshold(uint256)" in result.stdout and "_threshold (uint256): 1" in result.stdout


def test_unknown_selector_is_said_so():
    result = run(*flags(**{"--data": "0x12345678"}))
    assert "unknown selector 0x12345678" in result.stdout


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"--data": "0x8456cb5"}, "invalid --data '0x8456cb5': has an odd number of hex digits (7)"),
        ({"--data": "8456cb59"}, "must start with 0x"),
        ({"--to": VAULT[:-1] + "D"}, "bad EIP-55 checksum"),
        ({"--safe": "0x1234"}, "invalid --safe '0x1234'"),
        ({"--safe-version": "1.2.0"}, "unsupported Safe version '1.2.0'"),
        ({"--operation": "2"}, "must be 0 (CALL) or 1 (DELEGATECALL)"),
        ({"--value": "-1"}, "invalid --value"),
        ({"--nonce": str(2**256)}, "does not fit in uint256"),
        ({"--chain-id": "0"}, "invalid --chain-id"),
    ],
)
def test_bad_input_is_a_one_line_error(overrides, message):
    result = run(*flags(**overrides), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1


def test_missing_options_are_listed():
    result = run(*flags(**{"--nonce": None, "--to": None}))
    assert result.exit_code == 2
    assert "missing --to, --nonce" in result.stderr


# -- proposal files ----------------------------------------------------------------------------


def _proposal(tmp_path):
    registry = AbiRegistry()
    registry.add("vault", VAULT, ["function pause()"])
    tx = SafeTx(SAFE, 1, "1.4.1", VAULT, 0, encode_call("pause()", []), 0, nonce=7)
    action = intent_action(registry.decode_call(VAULT, tx.data), "pause-vault", "pause", "safe", "Pause the vault")
    proposal = Proposal.create(tx, {"summary": "pause-vault()", "actions": [action]}, "alice")
    path = tmp_path / f"{proposal.id}.json"
    path.write_text(proposal.to_json())
    return proposal, path


def test_proposal_file(tmp_path):
    proposal, path = _proposal(tmp_path)
    result = run(str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected()
    readable = run(str(path))
    assert "pause() on vault" in readable.stdout and proposal.hashes["safe_tx"] in readable.stdout


def test_proposal_file_with_undecoded_actions(tmp_path):
    data = bytes.fromhex("12345678")
    tx = SafeTx(SAFE, 1, "1.3.0", MULTISEND, 0, encode_multisend([Call(VAULT, 0, data), Call(TOKEN, 5, b"")]), 1, nonce=2)
    base = {"kind": "other", "contract": "unknown", "args": {}, "route": "safe", "description": ""}
    actions = [
        dict(base, action="raw-call", target=VAULT, function="0x12345678"),
        dict(base, action="pay", target=TOKEN, function="(no calldata)", value="5"),
        dict(base, action="batch", target=MULTISEND, function="multiSend(bytes)", args={"transactions": "0x" + pack_transactions([Call(VAULT, 0, data), Call(TOKEN, 5, b"")]).hex()}),
    ]
    proposal = Proposal.create(tx, {"summary": "raw", "actions": actions}, "alice")
    path = tmp_path / "raw.json"
    path.write_text(proposal.to_json())
    result = run(str(path))
    assert result.exit_code == 0, result.stderr
    assert "unknown selector 0x12345678" in result.stdout and "plain transfer of 5 wei" in result.stdout


def test_tampered_proposal_file_is_refused(tmp_path):
    _, path = _proposal(tmp_path)
    data = json.loads(path.read_text())
    data["transaction"]["nonce"] = "8"
    path.write_text(json.dumps(data))
    result = run(str(path), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == f"Error: proposal {path}: hashes.message: does not match the transaction fields (field edited by hand?)"


@pytest.mark.parametrize("content, problem", [("not json", "not JSON"), ('{"version": 2}', "reads proposal format 1")])
def test_bad_proposal_files(tmp_path, content, problem):
    path = tmp_path / "p.json"
    path.write_text(content)
    result = run(str(path))
    assert result.exit_code == 2 and problem in result.stderr


def test_file_and_flags_together_are_refused(tmp_path):
    _, path = _proposal(tmp_path)
    result = run(str(path), "--nonce", "3")
    assert result.exit_code == 2 and "not both (--nonce)" in result.stderr


def test_missing_file():
    result = run("/nonexistent/p.json")
    assert result.exit_code == 2 and "does not exist" in result.stderr


# -- startup -----------------------------------------------------------------------------------


def _heavy_modules_after(argv: list[str]) -> tuple[list[str], str]:
    code = (
        "import sys, io, contextlib\n"
        "from guardian.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(' '.join(heavy))\n"
        "print(out.getvalue(), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split(), done.stderr


def test_hash_imports_nothing_heavy(tmp_path):
    heavy, output = _heavy_modules_after(["hash", *flags()])
    assert "safeTxHash" in output and "pause()" in output  # it really ran, decoding included
    assert heavy == []
    _, path = _proposal(tmp_path)
    heavy, output = _heavy_modules_after(["hash", str(path), "--json"])
    assert "safe_tx_hash" in output and heavy == []


def test_help_imports_nothing_heavy():
    heavy, output = _heavy_modules_after(["--help"])
    assert "hash" in output and heavy == []
    heavy, output = _heavy_modules_after(["hash", "--help"])
    assert "--safe-version" in output and heavy == []
