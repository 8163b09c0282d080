"""Ctrl-C and SIGTERM as one exception, so a run stops cleanly and can say how to resume."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `signum` says which (a KeyboardInterrupt, so Ctrl-C handlers see it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block SIGINT and SIGTERM raise Interrupted (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def ignore_ctrl_c() -> None:
    """Worker-process initializer: Ctrl-C reaches the whole terminal process group, but the main
    process alone decides when to stop the pool. SIGTERM stays deadly: a pool ends its workers
    with it (after a worker crash, or at shutdown), and an ignoring worker would hang it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
