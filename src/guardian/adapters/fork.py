"""An anvil fork of a network at a pinned block, always stopped.

    with open_fork("https://eth.example/v2/KEY", block=19_000_000) as fork:
        fork.chain          # adapters.chain.Chain on the fork
        fork.block          # the pinned block (the source's head when none was asked)
        fork.pinned_by      # "--block", "network.fork_block" or "head" (for reports)

Before anvil starts, the source is asked for its chain id and head, so an unreachable URL
is an ``RpcError`` and a block beyond the head a ``ForkBlockError`` (one line each), not an
anvil log tail.

"Always stopped": the context manager stops anvil on any exit, including an exception or
``KeyboardInterrupt``. While a fork is open in the main thread, SIGTERM and SIGHUP are turned
into a ``ForkInterrupted`` exception (a ``KeyboardInterrupt``, so ``except Exception`` blocks
do not swallow it) that unwinds through the ``finally`` blocks; the previous handlers are
restored when the last fork closes. An ``atexit`` hook stops any fork still running when the
interpreter exits. A signal that arrives while anvil is being stopped is held until it is
stopped, then delivered. Only SIGKILL of this process can orphan anvil.
"""

from __future__ import annotations

import atexit
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from guardian.adapters.anvil import Anvil, start_anvil
from guardian.adapters.chain import Chain, connect, display_url
from guardian.errors import ForkBlockError

_HANDLED_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)
_running: dict[int, Anvil] = {}  # id -> anvil, for the atexit safety net
_saved_handlers: dict[int, object] = {}
_lock = threading.Lock()
_deferred: dict[str, int | None] = {"stopping": 0, "signal": None}  # a signal that arrives while anvil is being stopped


class ForkInterrupted(KeyboardInterrupt):
    """SIGTERM / SIGHUP arrived while a fork was running; raised to unwind and stop anvil."""

    def __init__(self, signal_number: int):
        self.signal_number = signal_number
        super().__init__(f"interrupted by signal {signal_number}")


@dataclass
class Fork:
    """A running fork: the anvil process, a ``Chain`` on it, and where it was pinned."""

    anvil: Anvil
    chain: Chain
    source: str  # display form of the forked URL (no credentials)
    block: int
    pinned_by: str
    chain_id: int

    @property
    def url(self) -> str:
        return self.anvil.url

    def describe(self) -> str:
        return f"fork of {self.source} (chain {self.chain_id}) at block {self.block} ({self.pinned_by})"


def _on_signal(signal_number, frame):  # noqa: ARG001 (signal handler signature)
    if _deferred["stopping"]:  # never interrupt the stopping of anvil itself: deliver it afterwards
        _deferred["signal"] = signal_number
        return
    raise ForkInterrupted(signal_number)


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread() or _saved_handlers:
        return
    for number in _HANDLED_SIGNALS:
        _saved_handlers[number] = signal.getsignal(number)
        signal.signal(number, _on_signal)


def _restore_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for number, handler in list(_saved_handlers.items()):
        signal.signal(number, handler)  # type: ignore[arg-type]
        del _saved_handlers[number]


@atexit.register
def _stop_all() -> None:
    for anvil in list(_running.values()):
        anvil.stop()
    _running.clear()


def source_head(url: str) -> tuple[Chain, int, int]:
    """(chain, chain id, head block) of the network to fork; ``RpcError`` if unreachable."""
    source = connect(url)
    return source, source.chain_id(), source.block_number()


@contextmanager
def open_fork(
    url: str,
    *,
    block: int | None = None,
    pinned_by: str | None = None,
    log_dir: Path | None = None,
) -> Iterator[Fork]:
    """Start ``anvil --fork-url url`` pinned at ``block`` (default: the source's head) and stop it on exit."""
    _, chain_id, head = source_head(url)
    if block is not None and (block < 0 or block > head):
        raise ForkBlockError(display_url(url), block, head)
    pinned = head if block is None else block
    with _lock:
        _install_handlers()
    anvil = None
    unwinding = False
    try:
        anvil = start_anvil(fork_url=url, fork_block=pinned, log_dir=log_dir)
        _running[id(anvil)] = anvil
        chain = connect(anvil.url, timeout=60.0)
        yield Fork(anvil, chain, display_url(url), pinned, pinned_by or ("head" if block is None else "--block"), chain_id)
    except BaseException:
        unwinding = True
        raise
    finally:
        _deferred["stopping"] += 1
        try:
            if anvil is not None:
                anvil.stop()
                _running.pop(id(anvil), None)
        finally:
            _deferred["stopping"] -= 1
            with _lock:
                if not _running:
                    _restore_handlers()
            pending, _deferred["signal"] = _deferred["signal"], None
            if pending is not None and not unwinding:  # arrived while stopping: hand it to the restored handler
                signal.raise_signal(pending)
