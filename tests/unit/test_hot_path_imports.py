"""The emergency hot path stays light: a real `guardian sign` with a raw key, and `guardian hash`,
import none of the libraries that cost 0.2-0.5 s each (eth_utils pulls in pydantic; eth_abi
builds a parsimonious grammar). ABI coding is domain/abicodec.py, signatures domain/secp256k1.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guardian.config import load_playbook
from guardian.workflow.proposals import build_proposal

PLAYBOOK = Path(__file__).resolve().parents[1] / "data" / "unit_playbook.yaml"
ALICE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ATTACKER = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
FORBIDDEN = ("eth_utils", "eth_abi", "eth_keys", "eth_account", "web3", "pydantic")

RUN_AND_LIST_MODULES = """
import json, sys
from guardian.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
    code = 0
except SystemExit as exit:
    code = exit.code or 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def run_guardian(argv: list[str], env: dict | None = None) -> tuple[str, int, set[str]]:
    """Run the real CLI in a fresh interpreter: (stdout, exit code, modules it imported)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *argv],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, report["code"], set(report["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


@pytest.fixture()
def proposal_file(tmp_path):
    """A batch (MultiSend with a freeze) built offline from the unit playbook."""
    playbook = load_playbook(PLAYBOOK)
    proposal = build_proposal(playbook, [("pause-vault", []), ("freeze-account", [ATTACKER])], chain_id=1, nonce=0, author="test")
    path = tmp_path / "proposal.json"
    path.write_text(proposal.to_json())
    return path


def test_sign_with_a_raw_key_imports_nothing_heavy(proposal_file):
    out, code, modules = run_guardian(
        ["sign", "--playbook", str(PLAYBOOK), str(proposal_file), "--signer", "key:GUARDIAN_TEST_ALICE_KEY", "--allow-raw-key"],
        env={"GUARDIAN_TEST_ALICE_KEY": ALICE_KEY},
    )
    assert code == 0, out
    signatures = json.loads(proposal_file.read_text())["signatures"]
    assert [s["signer"] for s in signatures] == [ALICE]  # it really signed
    assert "guardian.domain.secp256k1" in modules and "guardian.domain.abicodec" in modules
    assert not heavy(modules), f"`guardian sign` imports {heavy(modules)}"


def test_hash_imports_nothing_heavy(proposal_file):
    out, code, modules = run_guardian(["hash", str(proposal_file), "--json"])
    assert code == 0 and "safe_tx_hash" in json.loads(out)
    assert not heavy(modules), f"`guardian hash PROPOSAL` imports {heavy(modules)}"
    out, code, modules = run_guardian(
        ["hash", "--safe", "0x5aFE3855358E112B5647B952709E6165e1c1eEEe", "--chain-id", "1", "--safe-version", "1.4.1",
         "--to", "0x610178dA211FEF7D417bC0e6FeD39F05609AD788", "--value", "0", "--data", "0x8456cb59",
         "--operation", "0", "--nonce", "0"]
    )  # fmt: skip
    assert code == 0 and "safeTxHash" in out
    assert not heavy(modules), f"`guardian hash` with flags imports {heavy(modules)}"
