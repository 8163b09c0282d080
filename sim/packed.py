"""Packed sweeps: lanes of many design points share one chunk, so small points cost no more per
replication than a long run.

Point p's lanes are numbered 0, 1, ... as in a run of its own, so they draw the same random
numbers; its swept values are set per lane. Every rule of the model acts lane by lane, so each
point's lanes come out identical to running that point alone with the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import columns as col
from sim.ensemble import schedule
from sim.executors import Pool
from sim.lane_paths import is_input_path
from sim.model import NegotiationModel
from sim.packed_outputs import BATCH_LANES, point_columns
from sim.scenario import Scenario

PACKED_LANES = 40_000  # lanes a packed chunk: any size gives the same table (lanes are
# independent); larger than a run's chunks, as the model's fixed cost a week is then spread thinner
FEWEST_CHUNKS = 8  # a small sweep is cut finer, so that every worker gets a share


def unpackable(paths: list[str]) -> list[str]:
    """Swept paths the model cannot hold per lane (calendar, deadline kind, ...): such a sweep
    runs point by point."""
    return [p for p in paths if not is_input_path(p)]


def packed_lanes(total: int) -> int:
    """Lanes a chunk of a packed sweep of `total` lanes: PACKED_LANES, or fewer so that it
    still makes FEWEST_CHUNKS chunks."""
    return max(1, min(PACKED_LANES, -(-total // FEWEST_CHUNKS)))


def packed_chunks(points: int, reps: int, chunk: int | None = None) -> list[tuple[int, int]]:
    """(start, stop) of each chunk over the points x replications grid, point-major; chunks
    of `packed_lanes` lanes unless `chunk` is given."""
    total = points * reps
    chunk = chunk or packed_lanes(total)
    return [(s, min(s + chunk, total)) for s in range(0, total, chunk)]


def run_packed_chunk(
    scenario: Scenario,
    values: dict[str, np.ndarray],
    reps: int,
    seed: int,
    start: int,
    stop: int,
) -> dict[str, np.ndarray]:
    """Lanes start..stop of the grid (point = position // reps, lane = position % reps), with
    each swept path at its point's value; `values` start at the chunk's first point (see
    `chunk_values`). A top-level function, so processes can pickle it."""
    position = np.arange(start, stop)
    point, lane = np.divmod(position, reps)
    local = point - start // reps
    per_lane = {path: np.asarray(v, dtype=float)[local] for path, v in values.items()}
    model = NegotiationModel(
        scenario, stop - start, seed, lane_ids=lane, values=per_lane, record=False
    )
    runs = model.run().runs
    model.release()
    return {"point": point, **{k: runs[k] for k in kept_columns(scenario)}}


def kept_columns(scenario: Scenario) -> list[str]:
    """The lane columns a packed chunk keeps: those the sweep's outputs read."""
    utilities = [col.utility(p) for p in scenario.party_names()]
    return [col.AGREED, col.AGREED_WEEK, col.IN_FORCE, *utilities]


def chunk_values(
    values: dict[str, np.ndarray], reps: int, start: int, stop: int
) -> dict[str, np.ndarray]:
    """The swept values of the points that lanes start..stop belong to: all a chunk's task
    carries (not the whole design, which would be pickled with every chunk)."""
    first, last = start // reps, (stop - 1) // reps
    return {path: v[first : last + 1] for path, v in values.items()}


@dataclass(frozen=True)
class PackedTask:
    """One packed chunk for `ensemble.schedule`: lanes start..stop of the points x reps grid,
    with the swept values of its points only (`chunk_values`)."""

    scenario: Scenario
    values: dict[str, np.ndarray]
    reps: int
    seed: int
    index: int
    start: int
    stop: int

    @classmethod
    def of(
        cls,
        scenario: Scenario,
        values: dict[str, np.ndarray],
        reps: int,
        seed: int,
        index: int,
        span: tuple[int, int],
    ) -> PackedTask:
        """Chunk `index`, lanes span[0]..span[1], from the whole design's `values`."""
        return cls(scenario, chunk_values(values, reps, *span), reps, seed, index, *span)

    @property
    def label(self) -> int:
        return self.index

    @property
    def lanes(self) -> int:
        return self.stop - self.start

    def run(self) -> dict[str, np.ndarray]:
        """Simulate the chunk here."""
        return run_packed_chunk(*self._args())

    def submit(self, executor: Executor) -> Future:
        """Send the chunk to a worker."""
        return executor.submit(run_packed_chunk, *self._args())

    def _args(self) -> tuple:
        return self.scenario, self.values, self.reps, self.seed, self.start, self.stop


def point_values(points: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Each swept path's value at every point, as arrays indexed by point."""
    return {p: np.array([float(pt[p]) for pt in points]) for p in points[0]}


class InOrder:
    """Chunks' lanes taken in grid order however they arrive, gathered in a `PointTable` as
    soon as all of a point's lanes are in (a point cut by a chunk's end waits for the next)."""

    def __init__(self, scenario: Scenario) -> None:
        from sim.sweep import sweep_measures

        self.table = PointTable(sweep_measures(scenario))
        self.next = 0  # the chunk to take next
        self.waiting: dict[int, Callable[[], dict[str, np.ndarray]]] = {}
        self.carry: dict[str, np.ndarray] = {}

    def add(self, index: int, lanes: Callable[[], dict[str, np.ndarray]]) -> int:
        """Chunk `index` is in (`lanes` gives its columns); how many points it completes."""
        self.waiting[index] = lanes
        done = 0
        while self.next in self.waiting:
            part, carry = self.waiting.pop(self.next)(), self.carry
            merged = {k: np.concatenate([carry[k], v]) for k, v in part.items()} if carry else part
            cut = int(np.searchsorted(merged["point"], merged["point"][-1]))  # last may go on
            self.carry = {k: v[cut:] for k, v in merged.items()}
            if cut:
                done += self.table.add({k: v[:cut] for k, v in merged.items()})
            self.next += 1
        return done

    def end(self) -> int:
        """Take the last point, once every chunk is in; how many points that was (0 or 1)."""
        last, self.carry = self.carry, {}
        return self.table.add(last) if last and len(last["point"]) else 0

    def frame(self, points: list[dict[str, Any]]) -> pd.DataFrame:
        """One row per point taken: "point", its parameters, its headline outputs."""
        found = self.table.columns()
        index = found.pop("point")
        params = pd.DataFrame([points[i] for i in index]) if len(index) else pd.DataFrame()
        return pd.DataFrame({"point": index, **{k: params[k] for k in params}, **found})


class PointTable:
    """Whole points' lanes gathered and summed up in batches (`packed_outputs.point_columns`),
    so memory holds at most about BATCH_LANES lanes."""

    def __init__(self, measures: list) -> None:
        self.measures = measures
        self.lanes: list[dict[str, np.ndarray]] = []
        self.held = 0
        self.done: list[dict[str, np.ndarray]] = []

    def add(self, lanes: dict[str, np.ndarray]) -> int:
        """Take the lanes of whole points (point-major); how many points they are."""
        self.lanes.append(lanes)
        self.held += len(lanes["point"])
        if self.held >= BATCH_LANES:
            self._sum_up()
        point = lanes["point"]
        return int(np.count_nonzero(point[1:] != point[:-1])) + 1

    def columns(self) -> dict[str, np.ndarray]:
        """Every point's outputs so far, in point order, as columns."""
        self._sum_up()
        if not self.done:
            return {"point": np.zeros(0, dtype=np.int64)}
        return {k: np.concatenate([d[k] for d in self.done]) for k in self.done[0]}

    def _sum_up(self) -> None:
        if self.lanes:
            merged = {k: np.concatenate([p[k] for p in self.lanes]) for k in self.lanes[0]}
            self.done.append(point_columns(merged, self.measures))
            self.lanes, self.held = [], 0


def run_packed(
    scenario: Scenario,
    points: list[dict[str, Any]],
    reps: int,
    seed: int,
    pool: Pool | None = None,
    chunk: int | None = None,
) -> pd.DataFrame:
    """Every point's headline outputs (one row per point, in design order), simulating the
    points x reps grid in shared chunks on `pool` (default: this process); `scenario` holds the
    swept paths as constants."""
    values = point_values(points)
    tasks = [
        PackedTask.of(scenario, values, reps, seed, n, span)
        for n, span in enumerate(packed_chunks(len(points), reps, chunk))
    ]
    taken = InOrder(scenario)
    for task, outcome in schedule(tasks, pool or Pool(None, 1, "this process")):
        if isinstance(outcome, Exception):
            raise outcome
        taken.add(task.index, lambda outcome=outcome: outcome)
    taken.end()
    return taken.frame(points)
