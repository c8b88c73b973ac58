"""An append-only audit log: one JSON object per line, UTC time first, fsynced on write.

    audit_log(path, "signed", proposal="a1b2c3d4", signer="0xAbc...", backend="ledger")

appends ``{"time": "2025-01-31T12:00:00.123456Z", "event": "signed", "backend": ..., ...}``.

Key material never reaches the file: a field whose name looks like a secret (``key``,
``private_key``, ``password``, ``mnemonic``, ``seed``, ``secret``, ``passphrase``,
``keystore_json`` ...), at any depth, is written as ``"[redacted]"``. The audit record must
not be the thing that stops an emergency action, so this redacts instead of raising.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guardian.adapters.files import fsync_directory
from guardian.errors import FileAccessError

REDACTED = "[redacted]"
_SECRET_WORDS = ("private", "secret", "password", "passphrase", "mnemonic", "seed", "keystore")
_SECRET_NAMES = {"key", "pk", "sk", "privkey", "priv"}
_RESERVED = ("time", "event")


def audit_log(path: Path, event: str, /, **fields: Any) -> dict[str, Any]:
    """Append one event to the JSON-lines log at ``path`` (created with its folder if needed).

    Returns the record as written. Values are made JSON-safe: bytes become ``0x`` hex, paths
    and other objects their ``str``.
    """
    for name in _RESERVED:
        if name in fields:
            raise TypeError(f"audit_log field name {name!r} is reserved")
    record: dict[str, Any] = {
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "event": str(event),
    }
    record.update(_scrub(fields))
    line = (json.dumps(record, default=_json_default, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(descriptor).st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                line = b"\n" + line  # a crash tore the last line: start ours on a fresh one
            view = memoryview(line)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if created:
            fsync_directory(path.parent)
    except OSError as error:
        raise FileAccessError("audit log", path, f"cannot be written: {error.strerror or error}") from error
    return json.loads(line.strip())


def read_audit_log(path: Path) -> list[dict[str, Any]]:
    """All records of the log, oldest first. A torn last line (crash mid-append) is skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise FileAccessError("audit log", path, f"cannot be read: {error.strerror or error}") from error
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _is_secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    if lowered in _SECRET_NAMES or (lowered.endswith("_key") and not lowered.endswith("public_key")):
        return True
    return any(word in lowered for word in _SECRET_WORDS)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): (REDACTED if _is_secret_name(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)
