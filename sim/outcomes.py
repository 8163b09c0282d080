"""Outcome measures: Pareto frontier, Nash point, intervals, weekly timeline, run summary."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.calendar import Clock
from sim.model import OFFER_BINS, ChunkResult, NegotiationModel
from sim.scenario import Scenario

Z95 = NormalDist().inv_cdf(0.975)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float, float]:
    """Share with its Wilson score 95% interval: (estimate, low, high)."""
    if trials == 0:
        return (math.nan, math.nan, math.nan)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def opening_frontier(scenario: Scenario, points: int = 201) -> np.ndarray:
    """Pareto frontier (utility of first party, of second) of the opening mandates, no events:
    the first party's trade-off offers from its ideal to the second party's, at the scenario's
    central values (uncertain inputs at their medians)."""
    model = NegotiationModel(central(scenario), 1, scenario.seed)
    first, second = model.order
    idx = np.zeros(points, dtype=int)
    package = second.ideal[idx]
    full = first.best[0] - first.utility(package[:1], idx[:1])[0]
    loss = np.linspace(0.0, max(float(full), 0.0), points)
    package = first.tradeoff(loss, idx)
    return np.column_stack([first.utility(package, idx), second.utility(package, idx)])


def central(scenario: Scenario) -> Scenario:
    """The scenario with every uncertain input at the median the loader put in its place."""
    return scenario.model_copy().with_inputs({})


def walk_aways(scenario: Scenario) -> list[float]:
    """Each party's opening walk-away (no-agreement utility plus margin), first mover first,
    at the scenario's central values."""
    model = NegotiationModel(central(scenario), 1, scenario.seed)
    return [float(p.no_deal[0] + p.margin[0]) for p in model.order]


def nash_point(frontier: np.ndarray, d1: float, d2: float) -> tuple[float, float]:
    """Point of a piecewise-linear frontier that maximises (u1 - d1)(u2 - d2), exactly per segment."""
    best, best_value = (math.nan, math.nan), -math.inf
    for (a1, a2), (b1, b2) in itertools.pairwise(frontier):
        # product along the segment u = a + t (b - a) is a quadratic in t; check its peak and ends
        g1, g2 = b1 - a1, b2 - a2
        quad, lin = g1 * g2, g1 * (a2 - d2) + g2 * (a1 - d1)
        candidates = [0.0, 1.0]
        if quad < 0:
            candidates.append(min(1.0, max(0.0, -lin / (2 * quad))))
        for t in candidates:
            u1, u2 = a1 + t * g1, a2 + t * g2
            if u1 >= d1 and u2 >= d2 and (u1 - d1) * (u2 - d2) > best_value:
                best, best_value = (u1, u2), (u1 - d1) * (u2 - d2)
    return best


def mean_interval(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its normal 95% interval (NaN if too few values)."""
    if len(values) < 2:
        return (float(values.mean()) if len(values) else float("nan"), float("nan"))
    return float(values.mean()), float(Z95 * values.std(ddof=1) / np.sqrt(len(values)))


class Timeline:
    """Weekly ensemble statistics, summed chunk by chunk so memory stays flat."""

    def __init__(self, scenario: Scenario) -> None:
        self.clock = Clock.from_calendar(scenario.calendar)
        self.parties = scenario.party_names()
        self.issues = scenario.issues
        self.lanes = 0
        self.agreements = np.zeros(self.clock.weeks, dtype=np.int64)
        self.offer_hist = np.zeros((2, self.clock.weeks, len(self.issues), OFFER_BINS), np.int64)

    def add(self, chunk: ChunkResult) -> None:
        """Fold one chunk into the totals."""
        self.lanes += len(chunk.runs["agreed"])
        self.agreements += chunk.agreements
        self.offer_hist += chunk.offer_hist

    def table(self) -> pd.DataFrame:
        """One row per week: dates, sessions, agreement probability, offer quantiles per party."""
        weeks = np.arange(self.clock.weeks)
        data: dict[str, object] = {
            "week": weeks,
            "date": [self.clock.date(w) for w in weeks],
            "bargaining": self.clock.bargaining,
            "agreements": self.agreements,
            "p_agreed": np.cumsum(self.agreements) / max(self.lanes, 1),
        }
        for p, party in enumerate(self.parties):
            for i, (name, issue) in enumerate(self.issues.items()):
                for q in (10, 50, 90):
                    values = hist_quantile(self.offer_hist[p, :, i], q / 100, issue.min, issue.max)
                    data[f"offer_{party}_{name}_p{q}"] = values
                data[f"offer_{party}_{name}_lanes"] = self.offer_hist[p, :, i].sum(axis=1)
        return pd.DataFrame(data)


def hist_quantile(counts: np.ndarray, q: float, lo: float, hi: float) -> np.ndarray:
    """Quantile per row of binned counts (weeks x bins), interpolated within the bin; NaN if empty."""
    total = counts.sum(axis=1)
    cum = np.cumsum(counts, axis=1)
    target = q * total
    pos = np.array(
        [np.searchsorted(row, t, side="left") for row, t in zip(cum, target, strict=True)]
    )
    pos = np.minimum(pos, counts.shape[1] - 1)
    below = np.where(pos > 0, np.take_along_axis(cum, np.maximum(pos - 1, 0)[:, None], 1)[:, 0], 0)
    inside = np.take_along_axis(counts, pos[:, None], 1)[:, 0]
    frac = np.divide(target - below, inside, out=np.full(len(pos), 0.5), where=inside > 0)
    width = (hi - lo) / counts.shape[1]
    return np.where(total > 0, lo + (pos + np.clip(frac, 0, 1)) * width, np.nan)


class ParquetColumns:
    """The per-lane columns of a runs.parquet, each read from disk only when asked for.

    A summary of 10^6 lanes then holds a few columns in memory, never the whole table.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __getitem__(self, name: str) -> np.ndarray:
        return pq.read_table(self.path, columns=[name]).column(name).to_numpy()


def summarize(runs: pd.DataFrame | ParquetColumns, timeline: Timeline, scenario: Scenario) -> dict:
    """Headline figures with 95% intervals, from the per-lane columns and the weekly totals."""

    def column(name: str) -> np.ndarray:
        return np.asarray(runs[name])

    clock = timeline.clock
    agreed = column("agreed")
    n = len(agreed)
    week = column("agreed_week")
    before = agreed & (week < clock.deadline_week)
    in_force = column("in_force")
    summary: dict = {
        "replications": n,
        "deadline": str(scenario.calendar.deadline),
        "p_agree_before_deadline": _share(before.sum(), n),
        "p_agree_by_horizon": _share(agreed.sum(), n),
        "p_in_force": _share(in_force.sum(), n),
        "median_agreement_date": str(clock.date(int(np.median(week[agreed]))))
        if agreed.any()
        else None,
        "median_package": {
            name: _median(column(f"package_{name}")[agreed]) for name in scenario.issues
        },
        "mean_utility": {p: _mean(column(f"utility_{p}")[agreed]) for p in scenario.party_names()},
        "p_ratified": {
            p: _share(column(f"ratified_{p}").sum(), max(agreed.sum(), 1))
            for p in scenario.party_names()
        },
        "events": {},
    }
    for name in scenario.events:
        fired = column(f"event_{name}_week") >= 0
        summary["events"][name] = {"p_fired": _share(fired.sum(), n)}  # effects: events.parquet
    return summary


def _share(k: int, n: int) -> dict:
    est, low, high = wilson(int(k), int(n))
    return {"estimate": est, "low": low, "high": high, "n": int(n)}


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None
