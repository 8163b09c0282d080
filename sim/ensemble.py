"""Monte Carlo ensemble: fixed-size chunks of lanes, one seed per chunk, any executor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future

from sim.executors import local_pool
from sim.model import ChunkResult, NegotiationModel
from sim.scenario import Scenario

CHUNK_LANES = 10_000  # fixed, so the same seed gives the same lanes on any number of workers


def chunk_sizes(replications: int, chunk: int = CHUNK_LANES) -> list[int]:
    """Lane counts of the chunks that make up `replications`."""
    full, rest = divmod(replications, chunk)
    return [chunk] * full + ([rest] if rest else [])


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
    return model.run()


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
    skip: Callable[[int], bool] = lambda index: False,
    window: int = 4,
    chunk: int = CHUNK_LANES,
) -> Iterator[tuple[int, ChunkResult]]:
    """Yield (index, result) in chunk order; at most `window` chunks are in flight at once."""
    sizes = chunk_sizes(replications, chunk)
    todo = [i for i in range(len(sizes)) if not skip(i)]
    if executor is None:
        for i in todo:
            yield i, run_chunk(scenario, i, sizes[i], seed, trace, chunk)
        return
    pending: dict[int, Future] = {}
    queue = iter(todo)
    for i in todo:
        while len(pending) < window and (nxt := next(queue, None)) is not None:
            pending[nxt] = executor.submit(run_chunk, scenario, nxt, sizes[nxt], seed, trace, chunk)
        yield i, pending.pop(i).result()
