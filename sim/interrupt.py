"""Ctrl-C and SIGTERM as one exception, so a run stops cleanly and can say how to resume;
and worker processes that never outlive the process that started them."""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_blocks = {"open": 0, "raised": False}  # nested stop_on_signals blocks share one first signal
WATCH_SECONDS = 1.0  # how often a worker without pidfd support checks on its parent


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `signum` says which (a KeyboardInterrupt, so Ctrl-C handlers see it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block the first SIGINT or SIGTERM raises Interrupted; later ones are ignored
    until the outermost block ends, so a second Ctrl-C cannot break the cleanup the first one
    started (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if not _blocks["raised"]:
            _blocks["raised"] = True
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    _blocks["open"] += 1
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _blocks["open"] -= 1
        if not _blocks["open"]:
            _blocks["raised"] = False


def ignore_further_signals() -> None:
    """The process is ending after an interrupt: more Ctrl-C or SIGTERM must not cut its last
    lines short with a traceback."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def start_worker(parent: int) -> None:
    """Worker-process initializer: ignore Ctrl-C, and die when the process `parent` dies.

    Ctrl-C reaches the whole terminal process group, but the main process alone decides when to
    stop the pool. SIGTERM stays deadly: a pool ends its workers with it. A worker's own parent is
    the fork server, which waits for its workers, so each worker watches the main process itself:
    after a `kill -9` of negsim no worker, fork server or resource tracker lives on.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """Block until process `parent` ends, then end this process at once."""
    try:
        handle = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd on this kernel: poll instead
        while _alive(parent):
            threading.Event().wait(WATCH_SECONDS)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
