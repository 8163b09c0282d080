"""Facts about outcomes: calibration targets, nowcast observations and scored outcomes.

One format serves all three. A fact names a column of runs.parquet and says what it held:

    facts:
      - {column: agreed_week, between: [2009-10-01, 2009-11-30], label: signed in autumn}
      - {column: package_warheads, value: 1650, tolerance: 25}
      - {column: ratified_us, value: true}
      - {column: event_md_review_week, by: 2009-09-30}
      - {column: agreed_week, not_by: 2009-10-01, label: no treaty by 1 October}

Columns ending in `_week` hold week numbers (-1: never) and take dates; booleans take
true/false; other columns take numbers. A fact holds in a lane or not, so it works over any
column the model writes, including ones added later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field, StrictBool, model_validator

from sim.calendar import Clock
from sim.loader import ScenarioError, load_model
from sim.scenario import PathError, Strict, did_you_mean

Point = StrictBool | float | dt.date
Bound = float | dt.date
CHECKS = ("value", "between", "by", "not_by")
NEVER = -1  # a week column's value in lanes where the thing never happened


class Fact(Strict):
    """One thing seen about the talks, as a condition on one runs.parquet column."""

    column: str = Field(description="A runs.parquet column, e.g. agreed_week or package_warheads.")
    label: str = Field("", description="How the fact reads in tables and plots.")
    value: Point | None = Field(None, description="The value seen (a date on _week columns).")
    tolerance: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        None, description="How far from `value` still counts (weeks on _week columns)."
    )
    between: tuple[Bound, Bound] | None = Field(None, description="[low, high], both included.")
    by: dt.date | None = Field(None, description="It happened on or before this day.")
    not_by: dt.date | None = Field(None, description="It had not happened by this day.")
    held: bool = Field(True, description="false: the condition did NOT hold.")
    source: str = Field("", description="Where the fact comes from.")

    @model_validator(mode="after")
    def _one_check(self) -> Fact:
        given = [c for c in CHECKS if getattr(self, c) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(CHECKS)} (got {len(given)})")
        if self.tolerance is not None and self.value is None:
            raise PathError(("tolerance",), "only goes with `value`")
        if self.between is not None and _order(self.between[1]) < _order(self.between[0]):
            raise PathError(("between",), "the high end is below the low end")
        return self

    @property
    def title(self) -> str:
        """The label, or the condition written out."""
        if self.label:
            return self.label
        check = next(c for c in CHECKS if getattr(self, c) is not None)
        word = {"value": "=", "between": "in", "by": "by", "not_by": "not by"}[check]
        text = f"{self.column} {word} {_show(getattr(self, check))}"
        if self.tolerance:
            text += f" ± {self.tolerance:g}"
        return text if self.held else f"not ({text})"

    def centre(self, clock: Clock) -> float:
        """The value seen, as a number (a week on _week columns); `value` facts only."""
        return _number(self.value, clock)

    def interval(self, clock: Clock) -> tuple[float, float]:
        """The values (weeks on _week columns) that satisfy `value`/`between`/`by`."""
        if self.value is not None:
            tol = self.tolerance or 0.0
            return self.centre(clock) - tol, self.centre(clock) + tol
        if self.between is not None:
            return _number(self.between[0], clock), _number(self.between[1], clock)
        return 0.0, float(clock.week(self.by))

    def holds(self, columns: Mapping[str, np.ndarray], clock: Clock) -> np.ndarray:
        """Per lane: does the fact hold there?"""
        x = np.asarray(columns[self.column])
        if self.not_by is not None:
            met = (x == NEVER) | (x > clock.week(self.not_by))
        elif x.dtype == bool:
            met = x == bool(self.value)
        else:
            lo, hi = self.interval(clock)
            met = (x >= lo) & (x <= hi)
            if is_week_column(self.column):
                met &= x != NEVER
        return met if self.held else ~met

    def distance(self, columns: Mapping[str, np.ndarray], clock: Clock, scale: float) -> np.ndarray:
        """Per lane: how far the lane is from meeting the fact, in units of `scale`; 0 where it
        holds, 1 where it misses outright (a boolean, never against happened, no value)."""
        x = np.asarray(columns[self.column]).astype(float)
        met = self.holds(columns, clock)
        if not self.held or np.asarray(columns[self.column]).dtype == bool:
            return np.where(met, 0.0, 1.0)
        missing = np.isnan(x) | (is_week_column(self.column) & (x == NEVER))
        if self.not_by is not None:
            gap = (clock.week(self.not_by) - x + 1) / scale
            return np.where(met, 0.0, np.minimum(gap, 1.0))
        lo, hi = self.interval(clock)
        gap = np.maximum(np.maximum(lo - x, x - hi), 0.0) / scale
        return np.where(met, 0.0, np.where(missing, 1.0, np.minimum(gap, 1.0)))


class FactFile(Strict):
    """A file of facts: calibration targets, observations so far, or observed outcomes."""

    name: str = Field(description="Short name of the set of facts.")
    description: str = Field("", description="What the facts are and where they come from.")
    as_of: dt.date | None = Field(None, description="The day up to which the facts are known.")
    facts: list[Fact] = Field(min_length=1, description="The facts, each a condition on a column.")


def is_week_column(name: str) -> bool:
    """Columns holding a week number, -1 for never (agreed_week, event_<name>_week, ...)."""
    return name.endswith("_week")


def load_facts(path: str | Path, columns: Mapping[str, np.dtype], clock: Clock) -> FactFile:
    """Read and check a facts file against the columns a run writes; ScenarioError (one line:
    file:line: key: problem) on the first fault."""
    facts, lines = load_model(path, FactFile)
    for k, fact in enumerate(facts.facts):
        problem = _mismatch(fact, columns, clock)
        if problem:
            key, text = problem
            where = lines.get(("facts", str(k), key)) or lines.get(("facts", str(k)))
            place = f"{where[0]}:{where[1]}" if where else str(path)
            raise ScenarioError(f"{place}: facts.{k}.{key}: {text}")
    return facts


def _mismatch(fact: Fact, columns: Mapping[str, np.dtype], clock: Clock) -> tuple[str, str] | None:
    """(key, problem) when the fact cannot apply to its column, else None."""
    if fact.column not in columns:
        hint = did_you_mean(fact.column, columns)
        return "column", f"no column '{fact.column}' in runs.parquet{hint}"
    check = next(c for c in CHECKS if getattr(fact, c) is not None)
    given = getattr(fact, check)
    points = list(given) if isinstance(given, tuple) else [given]
    if columns[fact.column] == np.dtype(bool):
        if check != "value" or not isinstance(given, bool):
            return check, f"{fact.column} is true or false: use `value: true` or `value: false`"
        return None
    if is_week_column(fact.column):
        if not all(isinstance(p, dt.date) for p in points):
            return check, f"{fact.column} holds weeks: give dates (YYYY-MM-DD)"
        last = clock.date(clock.weeks - 1)
        for p in points:
            if not clock.start <= p <= last + dt.timedelta(days=6):
                return check, f"{p} is outside the scenario's calendar ({clock.start} .. {last})"
        return None
    if check in ("by", "not_by"):
        return check, f"`{check}` takes a date and goes with _week columns, not {fact.column}"
    if not all(isinstance(p, float | int) and not isinstance(p, bool) for p in points):
        return check, f"{fact.column} holds numbers: give a number"
    return None


def _number(point: Bound | bool, clock: Clock) -> float:
    return float(clock.week(point)) if isinstance(point, dt.date) else float(point)


def _order(point: Bound) -> float:
    return float(point.toordinal()) if isinstance(point, dt.date) else float(point)


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return f"{_show(value[0])} .. {_show(value[1])}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def all_hold(facts: list[Fact], columns: Mapping[str, np.ndarray], clock: Clock) -> np.ndarray:
    """Per lane: do all the facts hold?"""
    met = np.ones(len(next(iter(columns.values()))), dtype=bool)
    for fact in facts:
        met &= fact.holds(columns, clock)
    return met


def run_columns(scenario) -> dict[str, np.dtype]:
    """The columns (and types) a run of `scenario` writes, from one lane simulated here."""
    from sim.model import NegotiationModel

    runs = NegotiationModel(scenario, 1, scenario.seed).run().runs
    return {name: np.asarray(values).dtype for name, values in runs.items()}
