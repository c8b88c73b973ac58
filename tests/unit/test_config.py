"""The playbook model: a valid file loads; every mistake is one error naming file, key and problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from guardian.config import load_playbook
from guardian.errors import ConfigError, InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "unit_playbook.yaml"
RAW = yaml.safe_load(DATA.read_text())


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "guardian.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_valid_playbook_loads_typed():
    playbook = load_playbook(DATA)
    assert playbook.network().chain_id == 1
    assert playbook.safe.threshold == 2 and playbook.safe.owner_name("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc") == "bob"
    assert playbook.timelock.min_delay == 3600
    action = playbook.action("set-max-leverage")
    assert action.route == "timelock" and action.params[0].max == 50
    assert action.postconditions[0].equals == "{leverage}"
    assert playbook.proposals_dir == DATA.parent / "proposals"
    drill = playbook.drill("drain")
    assert drill.response[1].args == {"account": "{attacker}"}
    assert [s.backend for s in drill.signers] == ["key", "ledger-emulator"]


def test_env_playbook_path_and_rpc_env(tmp_path, monkeypatch):
    data = copy.deepcopy(RAW)
    data["networks"]["mainnet"] = {"chain_id": 1, "rpc_url_env": "UNIT_RPC"}
    path = write(tmp_path, data)
    monkeypatch.setenv("GUARDIAN_PLAYBOOK", str(path))
    monkeypatch.setenv("UNIT_RPC", "http://127.0.0.1:1234")
    assert load_playbook(None).network().rpc_url == "http://127.0.0.1:1234"


def mutate(path_keys, value):
    def apply(data):
        target = data
        for key in path_keys[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path_keys[-1]]
        else:
            target[path_keys[-1]] = value
        return data

    return apply


DELETE = object()

BAD = [
    ("version 2", mutate(["version"], 2), "version", "unsupported playbook version"),
    ("unknown top key", mutate(["extra"], 1), "extra", "unknown key"),
    ("bad safe address", mutate(["safe", "address"], "0x1234"), "safe.address", ""),
    ("bad checksum", mutate(["safe", "address"], "0x5afe3855358E112B5647B952709E6165e1c1eEEe"), "safe.address", "checksum"),
    ("old safe version", mutate(["safe", "version"], "1.2.0"), "safe.version", "unsupported Safe version"),
    ("threshold above owners", mutate(["safe", "threshold"], 4), "safe.threshold", "exceeds"),
    ("duplicate owner", mutate(["safe", "owners", "dave"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), "safe.owners.dave", "duplicate"),
    ("unknown contract", mutate(["actions", "pause-vault", "contract"], "vaul"), "actions.pause-vault.contract", "unknown contract"),
    ("function not in ABI", mutate(["actions", "pause-vault", "function"], "halt()"), "actions.pause-vault.function", "not a function"),
    ("params do not match", mutate(["actions", "freeze-account", "params"], []), "actions.freeze-account.params", "do not match"),
    ("min above max", mutate(["actions", "set-max-leverage", "params", 0, "min"], 99), "actions.set-max-leverage.params[0]", "above max"),
    ("bad route", mutate(["actions", "pause-vault", "route"], "bridge"), "actions.pause-vault.route", "unknown route"),
    ("timelock route without timelock", mutate(["timelock"], DELETE), "actions.set-max-leverage.route", "no `timelock`"),
    ("missing networks", mutate(["networks"], DELETE), "networks", "missing"),
    ("bad rpc url", mutate(["networks", "mainnet", "rpc_url"], "localhost:8545"), "networks.mainnet.rpc_url", "not an http"),
    ("drill unknown action", mutate(["drills", "drain", "response"], ["halt"]), "drills.drain.response[0].action", "unknown action"),
    ("drill unknown guardian", mutate(["drills", "drain", "signers", 0, "owner"], "mallory"), "drills.drain.signers[0].owner", "unknown guardian"),
    ("drill unknown backend", mutate(["drills", "drain", "signers", 0, "backend"], "trezor"), "drills.drain.signers[0].backend", "unknown backend"),
    ("drill missing arg", mutate(["drills", "drain", "response"], ["freeze-account"]), "drills.drain.response[0].args", "missing argument"),
    ("check without equals", mutate(["actions", "pause-vault", "postconditions"], [{"call": "paused()"}]), "actions.pause-vault.postconditions[0]", "needs `equals`"),
]


@pytest.mark.parametrize("name,change,key,problem", BAD, ids=[b[0] for b in BAD])
def test_each_mistake_names_file_key_and_problem(tmp_path, name, change, key, problem):
    path = write(tmp_path, change(copy.deepcopy(RAW)))
    with pytest.raises(ConfigError) as caught:
        load_playbook(path)
    error = caught.value
    assert error.path == str(path)
    assert error.key == key, error.one_line()
    assert problem in error.problem
    assert "\n" not in error.one_line()


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_playbook(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_playbook(write(tmp_path, "version: [1\n"))


def test_abi_file_and_missing_abi_file(tmp_path):
    data = copy.deepcopy(RAW)
    (tmp_path / "abis").mkdir()
    (tmp_path / "abis" / "Vault.json").write_text(json.dumps({"abi": data["contracts"]["vault"]["abi"]}))
    data["contracts"]["vault"]["abi"] = "abis/Vault.json"
    assert "pause()" in load_playbook(write(tmp_path, data)).contracts["vault"].functions()
    data["contracts"]["vault"]["abi"] = "abis/Missing.json"
    with pytest.raises(ConfigError, match="not found"):
        load_playbook(write(tmp_path, data))


def test_unknown_action_and_drill_are_input_errors():
    playbook = load_playbook(DATA)
    with pytest.raises(InputError, match="known actions"):
        playbook.action("halt-everything")
    with pytest.raises(InputError, match="drill"):
        playbook.drill("nope")
