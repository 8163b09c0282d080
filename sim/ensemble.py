"""Monte Carlo ensemble: fixed-size chunks of lanes, one seed per chunk, and the one scheduler
that runs them on any Pool (this process, local processes or a Dask cluster)."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass

from sim.executors import CHUNK_LANES, Pool, SchedulerLost, chunk_sizes, local_pool
from sim.model import ChunkResult, NegotiationModel
from sim.scenario import Scenario


def run_chunk(
    scenario: Scenario,
    index: int,
    lanes: int,
    seed: int,
    trace: int = 0,
    chunk: int = CHUNK_LANES,
) -> ChunkResult:
    """Run chunk `index` (lanes index*chunk onward) to the horizon; a top-level function, so
    processes can pickle it. Draws depend on global lane numbers, never on the chunking."""
    first = index * chunk
    model = NegotiationModel(scenario, lanes, seed, trace if index == 0 else 0, first_lane=first)
    result = model.run()
    model.release()
    return result


@dataclass(frozen=True)
class Task:
    """One chunk of lanes to simulate; `label` tells the caller where its result belongs (a
    run's chunk index, a sweep point and chunk), so one stream may mix chunks of many runs."""

    scenario: Scenario
    index: int
    lanes: int
    seed: int
    chunk: int = CHUNK_LANES
    trace: int = 0
    label: Hashable = None

    @property
    def first(self) -> int:
        """The global number of the chunk's first lane."""
        return self.index * self.chunk

    def run(self) -> ChunkResult:
        """Simulate the chunk here (run_chunk is looked up when called, so tests may swap it)."""
        return run_chunk(self.scenario, self.index, self.lanes, self.seed, self.trace, self.chunk)

    def submit(self, executor: Executor) -> Future:
        """Send the chunk to a worker."""
        args = (self.scenario, self.index, self.lanes, self.seed, self.trace, self.chunk)
        return executor.submit(run_chunk, *args)


def run_tasks(
    scenario: Scenario, replications: int, seed: int, chunk: int = CHUNK_LANES, trace: int = 0
) -> list[Task]:
    """The tasks of a whole run of `replications` lanes, labelled by chunk index."""
    sizes = chunk_sizes(replications, chunk)
    return [Task(scenario, i, n, seed, chunk, trace, i) for i, n in enumerate(sizes)]


Outcome = ChunkResult | Exception


def schedule(tasks: Iterable[Task], pool: Pool) -> Iterator[tuple[Task, Outcome]]:
    """Run every task on `pool`, at most `pool.slots` in flight; yield each with its result, or
    with the exception it raised, as soon as it finishes (in process: in order, one at a time).

    A crashed worker breaks a local pool: the pool is renewed and the tasks it was running are
    tried again one at a time, so only a task that crashes a worker on its own is reported. A
    cluster that stops answering raises SchedulerLost.
    """
    if pool.ready() is None:
        for task in tasks:
            yield task, _attempt(task.run)
        return
    queue = _Queue(iter(tasks))
    pending: dict[Future, Task] = {}
    crashes: Counter = Counter()
    try:
        while queue or pending:
            _fill(queue, pending, crashes, pool)
            done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            if not done and pool.lost():
                raise SchedulerLost(f"the scheduler of {pool.where} stopped answering")
            broken = False
            for future in done:
                task = pending.pop(future)
                outcome = _attempt(future.result)
                if isinstance(outcome, BrokenExecutor) and pool.renew:
                    broken = True
                    crashes[task.label] += 1
                    if crashes[task.label] < 2:
                        queue.retry([task])
                        continue
                yield task, outcome
            if broken:
                queue.retry([pending.pop(f) for f in list(pending)])
                pool.restart()
    finally:
        for future in pending:
            future.cancel()


class _Queue:
    """Tasks still to send: those to try again first, then the rest, drawn only when needed
    (so a caller may open a sweep point's folder just before its chunks go out)."""

    def __init__(self, source: Iterator[Task]) -> None:
        self.source = source
        self.again: deque[Task] = deque()

    def __bool__(self) -> bool:
        if not self.again and (task := next(self.source, None)) is not None:
            self.again.append(task)
        return bool(self.again)

    def peek(self) -> Task:
        return self.again[0]

    def pop(self) -> Task:
        return self.again.popleft()

    def retry(self, tasks: list[Task]) -> None:
        """Put tasks back at the front, in their order."""
        self.again.extendleft(reversed(tasks))


def _fill(queue: _Queue, pending: dict[Future, Task], crashes: Counter, pool: Pool) -> None:
    """Submit queued tasks while slots are free; tasks caught in a crash run alone."""
    while len(pending) < pool.slots and queue:
        suspects = crashes[queue.peek().label] or any(crashes[t.label] for t in pending.values())
        if pending and suspects:
            return
        task = queue.pop()
        try:
            future = task.submit(pool.executor)
        except BrokenExecutor:  # a worker died; its futures will say so
            queue.retry([task])
            return
        pending[future] = task


def _attempt(call: Callable[[], ChunkResult]) -> Outcome:
    """The call's result, or the exception it raised (the caller decides what a failure stops)."""
    try:
        return call()
    except Exception as err:
        return err


def make_executor(workers: int, chunks: int) -> Executor | None:
    """A local process pool when it pays off; None means run in this process."""
    if workers <= 1 or chunks <= 1:
        return None
    return local_pool(min(workers, chunks))


def run_chunks(
    scenario: Scenario,
    replications: int,
    seed: int,
    executor: Executor | None = None,
    trace: int = 0,
    window: int = 4,
    chunk: int = CHUNK_LANES,
) -> Iterator[tuple[int, ChunkResult]]:
    """Yield (index, result) in chunk order, through `schedule`; a failed chunk raises."""
    tasks = run_tasks(scenario, replications, seed, chunk, trace)
    waiting: dict[int, ChunkResult] = {}
    upcoming = 0
    for task, outcome in schedule(tasks, Pool(executor, window, "")):
        if isinstance(outcome, Exception):
            raise outcome
        waiting[task.index] = outcome
        while upcoming in waiting:
            yield upcoming, waiting.pop(upcoming)
            upcoming += 1
