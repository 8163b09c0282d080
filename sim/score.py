"""Forecast scores of finished runs against what was observed: lower is better throughout.

Each fact is an event the run forecast with probability p, the share of lanes where it
holds; it was observed, so the Brier score is (1 - p)^2 and the log score -ln p (p at least
1/(2n): an n-lane ensemble cannot tell smaller chances apart, and one miss should not score
infinity). A fact giving the `value` of a number or a date is also scored by the continuous
ranked probability score (CRPS) of the lanes' values, in the column's units (weeks for
dates): lanes where the thing never happened count as the week after the horizon, and
lanes without a value (no agreement, so no package) are left out. An exact value of a
continuous quantity (no `tolerance`) has no probability to score: it gets the CRPS alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from sim.calendar import Clock
from sim.targets import NEVER, Fact, is_week_column


@dataclass(frozen=True)
class FactScore:
    """The scores of one run's forecast of one observed fact."""

    fact: str
    probability: float
    brier: float | None  # None: an exact value of a continuous quantity has no probability
    log: float | None
    crps: float | None  # None: the fact gives no value to compare a distribution with
    unit: str = ""


def brier(p: float) -> float:
    """Brier score of probability `p` for an event that happened."""
    return (1.0 - p) ** 2


def log_score(p: float, lanes: int) -> float:
    """Negative log of `p` for an event that happened, p floored at 1/(2 lanes)."""
    return 0.0 - math.log(max(p, 1.0 / (2 * lanes)))


def crps(values: np.ndarray, observed: float) -> float:
    """CRPS of an ensemble of values against the observed one: E|X - y| - E|X - X'| / 2."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan
    spread = 2.0 * np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / n**2
    return float(np.mean(np.abs(x - observed)) - spread / 2)


def score_fact(fact: Fact, columns: dict[str, np.ndarray], clock: Clock) -> FactScore:
    """Brier, log and (for a value) CRPS of the lanes in `columns` against one observed fact."""
    lanes = len(columns[fact.column])
    p = float(fact.holds(columns, clock).mean())
    x = np.asarray(columns[fact.column])
    value = None
    unit = ""
    if fact.value is not None and x.dtype != bool and fact.held:
        if is_week_column(fact.column):
            x = np.where(x == NEVER, clock.weeks, x)
            unit = "weeks"
        x = x[~np.isnan(x.astype(float))]
        value = crps(x, fact.centre(clock))
        if not unit and not fact.tolerance:  # exact value of a continuous quantity: CRPS alone
            return FactScore(fact.title, p, None, None, value)
    return FactScore(fact.title, p, brier(p), log_score(p, lanes), value, unit)


def score_run(
    folder: Path, facts: list[Fact], clock: Clock, keep: np.ndarray | None = None
) -> list[FactScore]:
    """Scores of the run in `folder` against each observed fact (over the lanes `keep`s, for
    a nowcast: the lanes consistent with its observations)."""
    names = sorted({f.column for f in facts})
    table = pq.read_table(folder / "runs.parquet", columns=names)
    columns = {n: table.column(n).to_numpy() for n in names}
    if keep is not None:
        columns = {n: values[keep] for n, values in columns.items()}
    return [score_fact(f, columns, clock) for f in facts]


@dataclass
class RunScores:
    """One finished run's scores against a file of observed facts."""

    folder: Path
    scenario: str
    lanes: str  # which lanes were scored: all, or those a nowcast kept
    scores: list[FactScore]


def score_folder(folder: Path, observed: Path) -> RunScores:
    """Score the run in `folder` against the facts in `observed` (a nowcast's folder over the
    lanes its observations kept). ScenarioError for a bad file, StoreError for a bad folder."""
    from sim.loader import load_scenario
    from sim.nowcast import GIVEN, kept_lanes
    from sim.store import StoreError
    from sim.targets import load_facts, run_columns

    if not (folder / "runs.parquet").is_file():
        raise StoreError(f"{folder}: no runs.parquet; score a complete run folder")
    scenario = load_scenario(folder / "scenario.yaml")
    columns, clock = run_columns(scenario), Clock.from_calendar(scenario.calendar)
    facts = load_facts(observed, columns, clock)
    keep, lanes = None, "all lanes"
    if (folder / GIVEN).is_file():
        keep = kept_lanes(folder, load_facts(folder / GIVEN, columns, clock), scenario)
        lanes = f"{keep.sum():,} lanes kept by its observations"
    return RunScores(folder, scenario.name, lanes, score_run(folder, facts.facts, clock, keep))


def means(scores: list[FactScore]) -> dict[str, float]:
    """Mean Brier and log score over the facts: one number per run, to rank scenarios."""
    return {
        "brier": float(np.mean([s.brier for s in scores if s.brier is not None] or [np.nan])),
        "log": float(np.mean([s.log for s in scores if s.log is not None] or [np.nan])),
    }
