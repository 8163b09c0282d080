"""Where chunks run: this process, a local process pool, or a Dask cluster, behind one Executor seam."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sim.errors import NegsimError, Stopped
from sim.interrupt import start_worker

CHUNK_LANES = 10_000  # fixed, so the same seed gives the same lanes on any number of workers


def chunk_sizes(replications: int, chunk: int = CHUNK_LANES) -> list[int]:
    """Lane counts of the chunks that make up `replications` (here, not beside the model, so
    the CLI counts chunks before it imports the model)."""
    full, rest = divmod(replications, chunk)
    return [chunk] * full + ([rest] if rest else [])


class ExecutorError(NegsimError):
    """The requested executor cannot be used (bad address, cluster unreachable)."""


class SchedulerLost(Stopped):
    """The Dask scheduler stopped answering mid-sweep; the finished points are kept."""


@dataclass
class Pool:
    """An executor (None: run in this process) and how many tasks to keep in flight."""

    executor: Executor | None
    slots: int
    where: str
    renew: Callable[[], Executor] | None = None  # a fresh local pool after a worker crashed
    lost: Callable[[], bool] = lambda: False  # True once a cluster has stopped answering

    def restart(self) -> bool:
        """Replace a broken local pool by a fresh one; False if this pool cannot be renewed."""
        if self.renew is None or self.executor is None:
            return False
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self.renew()
        return True

    def rest(self) -> None:
        """Let local workers go, and their memory, while no chunks are to be sent; `ready`
        starts fresh ones when more come. A cluster keeps its workers."""
        if self.renew is not None and self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None

    def ready(self) -> Executor | None:
        """The executor to send chunks to (a rested local pool started again); None: this process."""
        if self.executor is None and self.renew is not None:
            self.executor = self.renew()
        return self.executor


def local_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of local worker processes; Ctrl-C reaches only the main process, which stops them.

    Workers fork from a server that has imported the model once: importing mesa forces the slow
    "spawn" start method, which would re-import mesa, pandas and scipy in every worker (~1 s each).
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_fork_server(),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


_STOPPED: list[Executor] = []  # pools this process ended mid-flight (see `stopped_mid_flight`)


def stop_now(executor: Executor) -> None:
    """Stop a pool without waiting for the chunks in flight: its worker processes are ended."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
    if processes:
        _STOPPED.append(executor)


def stopped_mid_flight() -> bool:
    """True while a pool ended mid-flight still has its manager thread: it may wait forever for
    a worker that died mid-message, and so would the interpreter's exit; end with os._exit."""
    threads = [getattr(e, "_executor_manager_thread", None) for e in _STOPPED]
    return any(t is not None and t.is_alive() for t in threads)


def start_fork_server() -> None:
    """Start the workers' fork server now: it imports the model while this process loads the rest."""
    from multiprocessing import forkserver

    _fork_server()
    forkserver.ensure_running()


TRACKER_QUIET = "ignore::UserWarning:multiprocessing.resource_tracker"


def _fork_server() -> multiprocessing.context.BaseContext:
    # after a pool is stopped mid-flight the resource tracker frees its queues' semaphores; it
    # need not warn about them below the "finish with" line (children take these -W options)
    if TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_QUIET)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.ensemble", "sim.fork_server"])  # loaded once, there
    return context


@contextmanager
def open_pool(workers: int, scheduler: str | None = None) -> Iterator[Pool]:
    """Yield a Pool for `workers` local processes, or for the Dask scheduler at `scheduler`."""
    if scheduler:
        with _dask_pool(scheduler) as pool:
            yield pool
        return
    if workers <= 1:
        yield Pool(None, 1, "this process")
        return
    pool = Pool(local_pool(workers), 2 * workers, f"{workers} local processes")
    pool.renew = lambda: local_pool(workers)
    try:
        yield pool
    except BaseException:
        if pool.executor is not None:
            stop_now(pool.executor)
        raise
    pool.rest()


CONTACT_SECONDS = 15.0  # the longest negsim waits for any answer from a Dask scheduler
SCHEMES = ("tcp", "tls")
DASK_LOGGERS = ("distributed", "distributed.client", "tornado.application")


def check_address(address: str) -> None:
    """A scheduler address is SCHEME://HOST:PORT (ExecutorError saying what is wrong)."""
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in SCHEMES or not parts.hostname or port is None:
        raise ExecutorError(f"--scheduler {address}: expected an address like tcp://HOST:8786")
    if parts.path or parts.query or parts.fragment:
        raise ExecutorError(f"--scheduler {address}: expected an address like tcp://HOST:8786")


def within(seconds: float, what: str, call: Callable[[], Any]) -> Any:
    """call() on a helper thread; ExecutorError if it has not answered within `seconds` (a
    server that accepts connections but never speaks would otherwise hang negsim)."""
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["value"] = call()
        except BaseException as err:  # handed to the caller's thread below
            box["error"] = err

    helper = threading.Thread(target=attempt, daemon=True)
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        raise ExecutorError(f"{what}: no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextmanager
def _dask_pool(address: str) -> Iterator[Pool]:
    """A concurrent.futures view of an existing Dask distributed cluster. Every contact with its
    scheduler is under CONTACT_SECONDS; Dask's own reconnect tracebacks are silenced, as negsim
    says in one line what happened."""
    check_address(address)
    from distributed import Client

    where = f"--scheduler {address}"
    chatter = [logging.getLogger(name) for name in DASK_LOGGERS]
    levels = [logger.level for logger in chatter]
    for logger in chatter:
        logger.setLevel(logging.CRITICAL)
    try:
        try:
            client = within(CONTACT_SECONDS, where, lambda: Client(address, timeout="10s"))
        except (OSError, TimeoutError, ValueError) as err:
            raise ExecutorError(f"{where}: cannot reach the scheduler ({err})") from None
        try:
            yield _dask_executor(client, address, where)
        finally:
            with suppress(Exception):
                within(CONTACT_SECONDS, where, client.close)
    finally:
        for logger, level in zip(chatter, levels, strict=True):
            logger.setLevel(level)


def _dask_executor(client: Any, address: str, where: str) -> Pool:
    """A Pool on a connected client, once at least one worker has joined."""
    try:
        within(CONTACT_SECONDS + 1, where, lambda: client.wait_for_workers(1, CONTACT_SECONDS))
    except (OSError, TimeoutError) as err:
        raise ExecutorError(
            f"{where}: no worker joined within {CONTACT_SECONDS:g} s; "
            f"start one with: dask worker {address}"
        ) from err
    threads = sum(within(CONTACT_SECONDS, where, client.nthreads).values()) or 1
    return Pool(
        client.get_executor(),
        2 * threads,
        f"Dask at {address} ({threads} threads)",
        lost=_silence_detector(client),
    )


def _silence_detector(client: Any) -> Callable[[], bool]:
    """A check that turns True once `client` has been cut off from its scheduler for longer than
    CONTACT_SECONDS (the client would otherwise try to reconnect for many minutes)."""
    since: list[float] = []

    def lost() -> bool:
        if client.status == "running":
            since.clear()
            return False
        since[:] = since or [time.monotonic()]
        return time.monotonic() - since[0] > CONTACT_SECONDS

    return lost
