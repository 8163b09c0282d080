"""Packed sweeps: lanes of many design points share one chunk, so small points cost no more per
replication than a long run.

Point p's lanes are numbered 0, 1, ... as in a run of its own, so they draw the same random
numbers; its swept values are set per lane. Every rule of the model acts lane by lane, so each
point's lanes come out identical to running that point alone with the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import columns as col
from sim.ensemble import CHUNK_LANES, schedule
from sim.executors import Pool
from sim.lane_paths import is_input_path
from sim.model import NegotiationModel
from sim.scenario import Scenario


def unpackable(paths: list[str]) -> list[str]:
    """Swept paths the model cannot hold per lane (calendar, deadline kind, ...): such a sweep
    runs point by point."""
    return [p for p in paths if not is_input_path(p)]


def packed_chunks(points: int, reps: int, chunk: int = CHUNK_LANES) -> list[tuple[int, int]]:
    """(start, stop) of each chunk over the points x replications grid, point-major."""
    total = points * reps
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
    each swept path at its point's value; a top-level function, so processes can pickle it."""
    position = np.arange(start, stop)
    point, lane = np.divmod(position, reps)
    per_lane = {path: np.asarray(v, dtype=float)[point] for path, v in values.items()}
    model = NegotiationModel(
        scenario, stop - start, seed, lane_ids=lane, values=per_lane, record=False
    )
    runs = model.run().runs
    model.release()
    utilities = [col.utility(p) for p in scenario.party_names()]
    keep = [col.AGREED, col.AGREED_WEEK, col.IN_FORCE, *utilities]  # what the outputs read
    return {"point": point, **{k: runs[k] for k in keep}}


def point_rows(
    parts: dict[str, np.ndarray], scenario: Scenario, measures: list | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Headline outputs with 95% intervals for each point whose lanes are all in `parts`,
    computed by the very function a point run of its own uses (`sweep.point_outputs`)."""
    from sim.sweep import point_outputs, sweep_measures

    measures = sweep_measures(scenario) if measures is None else measures
    points = parts["point"]
    bounds = np.flatnonzero(np.diff(points)) + 1
    for rows in np.split(np.arange(len(points)), bounds):
        lanes = {k: v[rows] for k, v in parts.items() if k != "point"}
        yield int(points[rows[0]]), point_outputs(lanes, scenario, measures)


@dataclass(frozen=True)
class PackedTask:
    """One packed chunk for `ensemble.schedule`: lanes start..stop of the points x reps grid."""

    scenario: Scenario
    values: dict[str, np.ndarray]
    reps: int
    seed: int
    index: int
    start: int
    stop: int

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
    """Chunks' lanes taken in grid order however they arrive: each point's outputs come out as
    soon as all its lanes are in (a point cut by a chunk's end waits for the next chunk)."""

    def __init__(self, scenario: Scenario) -> None:
        from sim.sweep import sweep_measures

        self.scenario, self.measures = scenario, sweep_measures(scenario)
        self.next = 0  # the chunk to take next
        self.waiting: dict[int, Callable[[], dict[str, np.ndarray]]] = {}
        self.carry: dict[str, np.ndarray] = {}

    def add(
        self, index: int, lanes: Callable[[], dict[str, np.ndarray]]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Chunk `index` is in (`lanes` gives its columns); the points it completes."""
        self.waiting[index] = lanes
        done: list[tuple[int, dict[str, Any]]] = []
        while self.next in self.waiting:
            part, carry = self.waiting.pop(self.next)(), self.carry
            merged = {k: np.concatenate([carry[k], v]) for k, v in part.items()} if carry else part
            cut = int(np.searchsorted(merged["point"], merged["point"][-1]))  # last may go on
            self.carry = {k: v[cut:] for k, v in merged.items()}
            if cut:
                done += point_rows(
                    {k: v[:cut] for k, v in merged.items()}, self.scenario, self.measures
                )
            self.next += 1
        return done

    def end(self) -> list[tuple[int, dict[str, Any]]]:
        """The last point's outputs, once every chunk is in."""
        if not self.carry or not len(self.carry["point"]):
            return []
        last, self.carry = self.carry, {}
        return list(point_rows(last, self.scenario, self.measures))


def run_packed(
    scenario: Scenario,
    points: list[dict[str, Any]],
    reps: int,
    seed: int,
    pool: Pool | None = None,
    chunk: int = CHUNK_LANES,
) -> pd.DataFrame:
    """Every point's headline outputs (one row per point, in design order), simulating the
    points x reps grid in shared chunks on `pool` (default: this process); `scenario` holds the
    swept paths as constants."""
    values = point_values(points)
    tasks = [
        PackedTask(scenario, values, reps, seed, n, *span)
        for n, span in enumerate(packed_chunks(len(points), reps, chunk))
    ]
    taken, found = InOrder(scenario), []
    for task, outcome in schedule(tasks, pool or Pool(None, 1, "this process")):
        if isinstance(outcome, Exception):
            raise outcome
        found += taken.add(task.index, lambda outcome=outcome: outcome)
    found += taken.end()
    return pd.DataFrame([{"point": i, **points[i], **row} for i, row in found])
