"""Files on disk that are never left half-written, and a lock so concurrent writers merge.

A proposal file is the thing guardians pass around and sign; a torn or lost write on the
worst day of a protocol's life is not acceptable. So:

- ``atomic_write_text`` writes a temp file in the same folder, fsyncs it, ``os.replace``s it
  over the target and fsyncs the folder. A reader (or a crash, or ``kill -9``) sees either
  the old complete file or the new complete file, never a mix.
- ``locked`` takes an exclusive ``flock`` on a sidecar ``<name>.lock`` file (never on the
  data file itself, which ``os.replace`` swaps out from under any lock held on it).
- ``update_file`` = lock, re-read, transform, atomic write. Concurrent signers each re-read
  the current file under the lock and add their signature, so nobody's signature is lost.

Temp files are named ``.<name>.<pid>.<random>.tmp`` (hidden, ``.tmp`` suffix, so a
``*.json`` glob never sees them). A crash can leave one behind; the next write to the same
file removes those whose writing process is gone.

Test hook: ``GUARDIAN_TEST_SLOW_WRITE=<seconds>`` makes ``atomic_write_text`` sleep between
writing the first half of the bytes and the rest, so a crash test can ``kill -9`` it
mid-write. It is read at call time, never at import.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from guardian.errors import FileAccessError, FileLockTimeoutError, InputError

SLOW_WRITE_ENV = "GUARDIAN_TEST_SLOW_WRITE"
DEFAULT_LOCK_TIMEOUT = 30.0
_LOCK_POLL_SECONDS = 0.01


def lock_path_for(path: Path) -> Path:
    """The sidecar lock file of ``path``: ``proposal.json`` -> ``proposal.json.lock``."""
    path = Path(path)
    return path.with_suffix(path.suffix + ".lock")


def read_text(path: Path, what: str = "proposal") -> str:
    """The UTF-8 text of ``path``; a one-line ``FileAccessError`` naming ``what`` otherwise."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise FileAccessError(what, path, "does not exist") from error
    except IsADirectoryError as error:
        raise FileAccessError(what, path, "is a directory, not a file") from error
    except PermissionError as error:
        raise FileAccessError(what, path, "is not readable (permission denied)") from error
    except UnicodeDecodeError as error:
        raise FileAccessError(what, path, f"is not UTF-8 text (byte {error.start})") from error
    except OSError as error:
        raise FileAccessError(what, path, f"cannot be read: {error.strerror or error}") from error


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically and durably.

    Any failure (disk full, permission, a crash) leaves the previous content of ``path`` in
    place. The new file keeps the permission bits of the file it replaces.
    """
    path = Path(path)
    folder = path.parent
    data = text.encode("utf-8")
    slow = _slow_write_seconds()
    _remove_stale_temp_files(path)
    temp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise FileAccessError("file", path, f"cannot be written: {error.strerror or error}") from error
    try:
        try:
            if slow:
                half = len(data) // 2
                _write_all(descriptor, data[:half])
                os.fsync(descriptor)
                time.sleep(slow)
                _write_all(descriptor, data[half:])
            else:
                _write_all(descriptor, data)
            os.fsync(descriptor)
            _copy_mode(path, descriptor)
        finally:
            os.close(descriptor)
        os.replace(temp, path)
    except BaseException as error:
        _unlink_quietly(temp)
        if isinstance(error, OSError):
            raise FileAccessError("file", path, f"cannot be written: {error.strerror or error}") from error
        raise
    fsync_directory(folder)


@contextmanager
def locked(path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``path``'s sidecar ``.lock`` file; yields the lock path.

    Waits up to ``timeout`` seconds, then raises ``FileLockTimeoutError``. Not re-entrant:
    taking the same lock twice in one process waits on itself. The sidecar is left in place
    (deleting lock files reopens the race they close).
    """
    lock_path = lock_path_for(path)
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise FileAccessError("lock file", lock_path, f"cannot be opened: {error.strerror or error}") from error
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise FileAccessError("lock file", lock_path, f"cannot be locked: {error.strerror}") from error
                if time.monotonic() >= deadline:
                    raise FileLockTimeoutError(Path(path), lock_path, timeout) from error
                time.sleep(_LOCK_POLL_SECONDS)
        try:
            yield lock_path
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def update_file(
    path: Path,
    transform: Callable[[str], str],
    *,
    what: str = "proposal",
    default: str | None = None,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> str:
    """Under the lock: re-read ``path``, apply ``transform``, write the result atomically.

    Returns the new text. If ``transform`` raises, the file is untouched and the exception
    propagates. A missing file is an error unless ``default`` gives its initial text.
    Nothing is written when the text does not change.
    """
    path = Path(path)
    with locked(path, timeout=timeout):
        if default is not None and not path.exists():
            current = default
        else:
            current = read_text(path, what)
        new = transform(current)
        if not isinstance(new, str):
            raise TypeError(f"update_file transform must return str, got {type(new).__name__}")
        if new != current or not path.exists():
            atomic_write_text(path, new)
        return new


def _slow_write_seconds() -> float:
    raw = os.environ.get(SLOW_WRITE_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError as error:
        raise InputError(f"${SLOW_WRITE_ENV}", raw, "expected a number of seconds") from error
    return max(seconds, 0.0)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _copy_mode(path: Path, descriptor: int) -> None:
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return
    os.fchmod(descriptor, mode)


def fsync_directory(folder: Path) -> None:
    """fsync a folder so a rename or a new file in it survives a power cut (best effort)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename itself is still atomic
    finally:
        os.close(descriptor)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_stale_temp_files(path: Path) -> None:
    """Delete ``.<name>.<pid>.<hex>.tmp`` files left by writers that no longer run."""
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            _unlink_quietly(path.parent / name)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
