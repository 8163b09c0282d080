"""Headline measures per lane: what explain compares and discover explains, named once.

Each measure turns a run's per-lane columns into one value per lane: a success (a share's
lanes) or a number (a median's lanes, NaN where it does not apply). The keys are the run
summary's (`sim.outcomes.summarize`), so `p_agree_before_deadline` means the same figure in
summary.json, explain.parquet and `negsim discover --outcome`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sim.calendar import Clock
from sim.scenario import Scenario

Columns = Mapping[str, np.ndarray]  # a runs table: a DataFrame, ParquetColumns or a dict


@dataclass(frozen=True)
class Measure:
    """One headline figure: its key, its label in the scenario's words, and its per-lane values."""

    key: str
    label: str
    kind: str  # "share" (lanes are successes) or "median" (lanes are numbers, NaN if none)
    unit: str
    lanes: Callable[[Columns], np.ndarray]

    @property
    def share(self) -> bool:
        return self.kind == "share"


def headline_measures(scenario: Scenario) -> list[Measure]:
    """The run's headline figures as per-lane measures, in the order the report shows them."""
    deadline = Clock.from_calendar(scenario.calendar).deadline_week
    cal = scenario.calendar

    def before(runs: Columns) -> np.ndarray:
        return np.asarray(runs["agreed"]) & (np.asarray(runs["agreed_week"]) < deadline)

    def week(runs: Columns) -> np.ndarray:
        return np.where(runs["agreed"], np.asarray(runs["agreed_week"], dtype=float), np.nan)

    found = [
        Measure(
            "p_agree_before_deadline", f"P(agreement before {cal.deadline})", "share", "", before
        ),
        Measure(
            "p_agree_by_horizon",
            f"P(agreement by {cal.horizon})",
            "share",
            "",
            lambda runs: np.asarray(runs["agreed"]),
        ),
        Measure(
            "p_in_force",
            "P(treaty ratified by both)",
            "share",
            "",
            lambda runs: np.asarray(runs["in_force"]),
        ),
        Measure("median_agreement_date", "median agreement date", "median", "weeks", week),
    ]
    for name, issue in scenario.issues.items():
        column = f"package_{name}"
        found.append(
            Measure(
                f"median_package.{name}",
                f"median agreed {name}",
                "median",
                issue.unit,
                lambda runs, column=column: np.asarray(runs[column], dtype=float),
            )
        )
    return found


def outcome(name: str, scenario: Scenario, columns: list[str]) -> Measure | None:
    """A yes/no outcome per lane by name: a headline share (with or without its `p_`), or any
    yes/no column of runs.parquet (`ratified_us`, ...); None when there is no such outcome."""
    for measure in headline_measures(scenario):
        if measure.share and name in (measure.key, measure.key.removeprefix("p_")):
            return measure
    if name in columns and not name.startswith("input."):
        return Measure(
            name, name.replace("_", " "), "share", "", lambda runs: np.asarray(runs[name])
        )
    return None


def outcome_names(scenario: Scenario) -> list[str]:
    """The headline shares discover can explain, for an error message."""
    return [m.key for m in headline_measures(scenario) if m.share]
