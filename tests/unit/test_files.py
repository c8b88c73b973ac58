"""guardian.adapters.files and guardian.adapters.audit on real files (tmp_path)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from guardian.adapters.audit import REDACTED, audit_log, read_audit_log
from guardian.adapters.files import SLOW_WRITE_ENV, atomic_write_text, lock_path_for, locked, read_text, update_file
from guardian.errors import FileAccessError, FileLockTimeoutError, GuardianError, InputError

SRC = Path(__file__).resolve().parents[2] / "src"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- atomic_write_text


def test_atomic_write_creates_then_replaces(tmp_path):
    target = tmp_path / "proposal.json"
    atomic_write_text(target, '{"v": 1}\n')
    assert target.read_text() == '{"v": 1}\n'
    inode = target.stat().st_ino
    atomic_write_text(target, "ünïcode ✓ second version\n")
    assert target.read_text(encoding="utf-8") == "ünïcode ✓ second version\n"
    assert target.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert leftovers(tmp_path) == []


def test_atomic_write_keeps_the_permission_bits(tmp_path):
    target = tmp_path / "proposal.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_failed_replace_keeps_the_old_content_and_no_temp(tmp_path):
    target = tmp_path / "proposal.json"
    target.mkdir()  # a non-empty directory cannot be replaced by a file
    (target / "keep").write_text("kept")
    with pytest.raises(FileAccessError) as caught:
        atomic_write_text(target, "new")
    assert "\n" not in caught.value.one_line() and "proposal.json" in caught.value.one_line()
    assert (target / "keep").read_text() == "kept"
    assert leftovers(tmp_path) == []


def test_write_into_a_missing_folder_is_a_guardian_error(tmp_path):
    with pytest.raises(FileAccessError, match="cannot be written"):
        atomic_write_text(tmp_path / "nope" / "proposal.json", "x")


def test_stale_temp_files_of_dead_writers_are_cleaned(tmp_path):
    target = tmp_path / "proposal.json"
    target.write_text("old")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".proposal.json.{dead}.deadbeef.tmp"
    live = tmp_path / f".proposal.json.{os.getpid()}.cafecafe.tmp"  # a writer that is still running
    other = tmp_path / f".other.json.{dead}.deadbeef.tmp"  # belongs to another file
    for path in (stale, live, other):
        path.write_text("half a propo")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert not stale.exists() and live.exists() and other.exists()


def test_slow_write_hook_must_be_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv(SLOW_WRITE_ENV, "soon")
    with pytest.raises(InputError, match=SLOW_WRITE_ENV):
        atomic_write_text(tmp_path / "p.json", "x")
    monkeypatch.setenv(SLOW_WRITE_ENV, "0.2")
    started = time.monotonic()
    atomic_write_text(tmp_path / "p.json", "slow but whole")
    assert time.monotonic() - started >= 0.2
    assert (tmp_path / "p.json").read_text() == "slow but whole"


# --------------------------------------------------------------------------- read_text


def test_read_text_errors_are_one_line(tmp_path):
    with pytest.raises(FileAccessError) as missing:
        read_text(tmp_path / "absent.json")
    assert missing.value.one_line() == f"proposal file {tmp_path / 'absent.json'} does not exist"
    with pytest.raises(FileAccessError, match="is a directory"):
        read_text(tmp_path, what="playbook")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\xfd")
    with pytest.raises(FileAccessError, match="not UTF-8"):
        read_text(binary)
    assert isinstance(missing.value, GuardianError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_read_text_unreadable(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    secret.chmod(0)
    with pytest.raises(FileAccessError, match="not readable"):
        read_text(secret)


# --------------------------------------------------------------------------- locked / update_file


def test_lock_is_on_a_sidecar_and_times_out_clearly(tmp_path):
    target = tmp_path / "proposal.json"
    target.write_text("[]")
    assert lock_path_for(target) == tmp_path / "proposal.json.lock"
    with locked(target) as lock_path:
        assert lock_path == tmp_path / "proposal.json.lock" and lock_path.exists()
        started = time.monotonic()
        with pytest.raises(FileLockTimeoutError) as caught:
            with locked(target, timeout=0.2):
                pass
        assert 0.2 <= time.monotonic() - started < 2
        text = caught.value.one_line()
        assert "\n" not in text and "proposal.json is locked by another process" in text
        with pytest.raises(FileLockTimeoutError):
            update_file(target, lambda old: old + "x", timeout=0.1)
    assert target.read_text() == "[]"
    with locked(target, timeout=0.2):  # released on exit
        pass


def test_update_file_transforms_under_the_lock(tmp_path):
    target = tmp_path / "proposal.json"
    target.write_text("[1]")
    result = update_file(target, lambda old: json.dumps(json.loads(old) + [2]))
    assert result == "[1, 2]" and target.read_text() == "[1, 2]"


def test_update_file_keeps_the_old_file_when_transform_raises(tmp_path):
    target = tmp_path / "proposal.json"
    target.write_text('{"signatures": []}')

    def reject(old: str) -> str:
        raise GuardianError("duplicate signature")

    with pytest.raises(GuardianError, match="duplicate signature"):
        update_file(target, reject)
    assert target.read_text() == '{"signatures": []}'
    assert leftovers(tmp_path) == []
    with locked(target, timeout=0.2):  # the lock was released despite the exception
        pass


def test_update_file_missing_file_and_default(tmp_path):
    with pytest.raises(FileAccessError, match="does not exist"):
        update_file(tmp_path / "absent.json", lambda old: old)
    assert not (tmp_path / "absent.json").exists()
    assert update_file(tmp_path / "new.json", lambda old: old + "]", default="[") == "[]"
    assert (tmp_path / "new.json").read_text() == "[]"


WORKER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {src!r})
    from guardian.adapters.files import update_file
    path, worker, rounds, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(rounds):
        update_file(path, lambda old: json.dumps(json.loads(old) + [f"worker{{worker}}-{{i}}"]))
    """
)


def test_five_processes_updating_at_once_lose_nothing(tmp_path):
    target = tmp_path / "signatures.json"
    target.write_text("[]")
    rounds, workers = 20, 5
    start_at = time.time() + 1.0  # all start together, after every interpreter is up
    script = WORKER.format(src=str(SRC))
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(target), str(w), str(rounds), str(start_at)])
        for w in range(workers)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    entries = json.loads(target.read_text())
    expected = {f"worker{w}-{i}" for w in range(workers) for i in range(rounds)}
    assert len(entries) == workers * rounds and set(entries) == expected
    for w in range(workers):  # each worker's own appends stay in order
        mine = [e for e in entries if e.startswith(f"worker{w}-")]
        assert mine == [f"worker{w}-{i}" for i in range(rounds)]
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- audit log


def test_audit_log_appends_utc_json_lines(tmp_path):
    log = tmp_path / "logs" / "audit.jsonl"
    first = audit_log(log, "proposed", proposal="ab12cd34", safe_tx_hash=b"\x01" * 32, path=tmp_path / "p.json")
    audit_log(log, "signed", proposal="ab12cd34", signer="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", signers=["a", "b"])
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert records == read_audit_log(log)
    assert [r["event"] for r in records] == ["proposed", "signed"]
    assert list(records[0])[:2] == ["time", "event"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", records[0]["time"])
    assert records[0]["safe_tx_hash"] == "0x" + "01" * 32 and records[0]["path"] == str(tmp_path / "p.json")
    assert first == records[0]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_audit_log_never_writes_key_material(tmp_path):
    log = tmp_path / "audit.jsonl"
    key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    audit_log(
        log,
        "signed",
        private_key=key,
        key=key,
        password="hunter2",
        signer={"backend": "keystore", "keystore_password": "hunter2", "raw_key": key, "address": "0xabc"},
        extra=[{"mnemonic": "test test junk"}],
        public_key="0x04aa",
    )
    text = log.read_text()
    assert key not in text and "hunter2" not in text and "junk" not in text
    record = json.loads(text)
    assert record["private_key"] == record["key"] == record["password"] == REDACTED
    assert record["signer"] == {"backend": "keystore", "keystore_password": REDACTED, "raw_key": REDACTED, "address": "0xabc"}
    assert record["public_key"] == "0x04aa"


def test_audit_log_reserved_names_and_torn_lines(tmp_path):
    log = tmp_path / "audit.jsonl"
    with pytest.raises(TypeError):
        audit_log(log, "x", time="yesterday")
    audit_log(log, "executed", tx_hash="0x01")
    with open(log, "a") as handle:
        handle.write('{"time": "2025-01-01T00:00:00.000000Z", "ev')  # a crash mid-append
    assert [r["event"] for r in read_audit_log(log)] == ["executed"]
    audit_log(log, "reconciled")  # starts on a fresh line, not glued to the torn one
    assert [r["event"] for r in read_audit_log(log)] == ["executed", "reconciled"]
    assert read_audit_log(tmp_path / "absent.jsonl") == []
    with pytest.raises(FileAccessError, match="audit log"):
        audit_log(tmp_path, "x")  # a directory is not a log
