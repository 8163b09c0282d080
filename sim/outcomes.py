"""Outcomes: the headline measures, defined once (key, label, kind, computation from
runs.parquet, 95% interval), the run summary built from them, the weekly timeline, and the
opening frontier with its Nash point.

summary.json, the terminal table, report.html, compare, sweep, explain, discover and the
Python API all read `headline_measures`; adding a figure is one entry there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.special import bdtr

from sim import columns as col
from sim.calendar import Clock
from sim.labels import issue_name, long_date, party_name, ratifier_name, value_text
from sim.model import OFFER_BINS, ChunkResult, NegotiationModel
from sim.scenario import Scenario

Z95 = NormalDist().inv_cdf(0.975)


def wilson(successes: Any, trials: Any, z: float = Z95) -> tuple[Any, Any, Any]:
    """Share with its Wilson score 95% interval: (estimate, low, high); NaN for no trials.
    Elementwise on arrays too (a packed sweep's points), with the same operations."""
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (p, np.maximum(0.0, centre - half), np.minimum(1.0, centre + half))


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

    A summary of 10^6 lanes then holds a few columns in memory, never the whole table: the
    KEEP read last, as it asks for 'agreed' again with nearly every figure.
    """

    KEEP = 4

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: pq.ParquetFile | None = None  # opened once: its footer is parsed once
        self._kept: dict[str, np.ndarray] = {}  # the columns read last, oldest first

    def __getitem__(self, name: str) -> np.ndarray:
        found = self._kept.pop(name, None)
        if found is None:
            if self._file is None:
                self._file = pq.ParquetFile(self.path)
            found = self._file.read(columns=[name]).column(name).to_numpy()
            if len(self._kept) >= self.KEEP:
                del self._kept[next(iter(self._kept))]
        self._kept[name] = found
        return found


def median_interval(values: np.ndarray, z: float = Z95) -> tuple[float, float, float]:
    """Median with its distribution-free 95% interval from order statistics (binomial ranks)."""
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    ordered = np.sort(values)
    k = binomial_half_quantile(NormalDist().cdf(-z), n)  # ranks k and n-k+1 cover the median
    low, high = (ordered[k - 1], ordered[n - k]) if k >= 1 else (ordered[0], ordered[-1])
    return (float(np.median(values)), float(low), float(high))


def binomial_half_quantile(q: float, n: int) -> int:
    """scipy.stats.binom.ppf(q, n, 0.5), 0 < q < 1: the least k with P(Binomial(n, 1/2) <= k)
    >= q, by bisection on scipy.special.bdtr, so a run's summary need not import scipy.stats
    (0.5 s)."""
    fails, holds = -1, n  # P(X <= -1) = 0 < q; P(X <= n) = 1 >= q
    while holds - fails > 1:
        mid = (fails + holds) // 2
        if bdtr(mid, n, 0.5) >= q:
            holds = mid
        else:
            fails = mid
    return holds


Columns = Mapping[str, np.ndarray]  # a runs table: a DataFrame, ParquetColumns or a dict
KINDS = ("share", "mean", "median")


@dataclass(frozen=True)
class Estimate:
    """A headline figure over some lanes: its value, 95% interval and the lanes it counts."""

    estimate: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Measure:
    """One headline figure: its key in summary.json, its label in the scenario's words, its
    kind and its per-lane values, from which the figure and its 95% interval are computed."""

    key: str  # dotted within a group of summary.json: 'p_in_force', 'median_package.warheads'
    label: str
    kind: str  # "share" (lanes are successes), "mean" or "median" (lanes are numbers)
    unit: str
    lanes: Callable[[Columns], np.ndarray]  # one value per lane; NaN where it does not apply
    signed_only: bool = False  # taken over the lanes that signed a treaty, not all lanes
    clock: Clock | None = None  # values are weeks, read as dates on this calendar
    short: str = ""  # a few words for a narrow column or a legend

    @property
    def share(self) -> bool:
        return self.kind == "share"

    @property
    def column(self) -> str:
        """Its name as a table column (sweep.parquet): 'mean_utility_us'."""
        return self.key.replace(".", "_")

    def values(self, runs: Columns) -> np.ndarray:
        """The per-lane values the figure is taken over (signed lanes only, where it says so)."""
        found = np.asarray(self.lanes(runs))
        return found[np.asarray(runs[col.AGREED])] if self.signed_only else found

    def estimate(self, runs: Columns) -> Estimate:
        """The figure and its 95% interval: Wilson for shares, normal for means, order
        statistics for medians."""
        values = self.values(runs)
        if self.share:
            n = max(len(values), 1)
            return Estimate(*wilson(int(values.sum()), n), n)
        if self.kind == "mean":
            mean, half = mean_interval(values)
            return Estimate(mean, mean - half, mean + half, len(values))
        return Estimate(*median_interval(values), len(values))

    def summary_value(self, runs: Columns) -> dict | float | str | None:
        """Its entry in summary.json: a share with its interval; a mean or median (None when
        no lane signed); a date for a median week."""
        if self.share:
            found = self.estimate(runs)
            return {"estimate": found.estimate, "low": found.low, "high": found.high, "n": found.n}
        values = self.values(runs)
        if not len(values):
            return None
        if self.clock is not None:
            return str(self.clock.date(int(np.median(values))))
        return float(np.median(values)) if self.kind == "median" else float(values.mean())

    def text(self, value: float | dict | str | None) -> str:
        """A figure as the tables print it: '11.9% (10.8% - 13.1%)', '1,661 warheads', '0.791'."""
        if value is None:
            return "-"
        if isinstance(value, dict):
            return f"{value['estimate']:.1%} ({value['low']:.1%} - {value['high']:.1%})"
        if isinstance(value, str):
            return value
        if self.share:
            return f"{value:.1%}"
        if self.clock is not None:
            return str(self.clock.date(round(value))) if math.isfinite(value) else "-"
        return f"{value_text(value)} {self.unit}".strip() if self.unit else f"{value:.3f}"


def headline_measures(scenario: Scenario) -> list[Measure]:
    """Every headline figure of a run, in the order summary.json and the reports give them."""
    clock = Clock.from_calendar(scenario.calendar)
    deadline, cal = clock.deadline_week, scenario.calendar
    parties = scenario.party_names()
    bodies = ", ".join(ratifier_name(scenario, p) for p in parties)

    def before(runs: Columns) -> np.ndarray:
        return np.asarray(runs[col.AGREED]) & (np.asarray(runs[col.AGREED_WEEK]) < deadline)

    def week(runs: Columns) -> np.ndarray:
        return np.where(runs[col.AGREED], np.asarray(runs[col.AGREED_WEEK], dtype=float), np.nan)

    found = [
        Measure(
            "p_agree_before_deadline",
            f"Signed before START I expires ({long_date(cal.deadline)})",
            "share",
            "",
            before,
            short="in time",
        ),
        Measure(
            "p_agree_by_horizon",
            f"Signed by {long_date(cal.horizon)}",
            "share",
            "",
            _column(col.AGREED),
            short="by horizon",
        ),
        Measure(
            "p_in_force",
            f"Ratified by both ({bodies})",
            "share",
            "",
            _column(col.IN_FORCE),
            short="in force",
        ),
        Measure(
            "median_agreement_date",
            "Median signature date",
            "median",
            "weeks",
            week,
            signed_only=True,
            clock=clock,
            short="signed",
        ),
    ]
    for name, issue in scenario.issues.items():
        words = issue_name(scenario, name).lower()
        found.append(
            Measure(
                f"median_package.{name}",
                f"Median agreed: {words}",
                "median",
                issue.unit,
                _column(col.package(name)),
                signed_only=True,
                short=words,
            )
        )
    for party in parties:
        found.append(
            Measure(
                f"mean_utility.{party}",
                f"Mean utility to {party_name(scenario, party)} (1 = its ideal)",
                "mean",
                "",
                _column(col.utility(party)),
                signed_only=True,
                short=f"utility to {party_name(scenario, party)}",
            )
        )
    for party in parties:
        found.append(
            Measure(
                f"p_ratified.{party}",
                f"Ratified by {_ratifier(scenario, party)}, once signed",
                "share",
                "",
                _column(col.ratified(party)),
                signed_only=True,
                short=f"ratified by {party_name(scenario, party)}",
            )
        )
    return found


def _column(name: str) -> Callable[[Columns], np.ndarray]:
    return lambda runs: np.asarray(runs[name])


def _ratifier(scenario: Scenario, party: str) -> str:
    """'the US Senate', or the party's name when it ratifies without a vote."""
    spec = scenario.parties[party]
    return f"the {spec.ratifier.name}" if spec.ratifier else party_name(scenario, party)


def measure(scenario: Scenario, key: str) -> Measure:
    """One headline measure by its key (KeyError if the scenario has none by that name)."""
    for found in headline_measures(scenario):
        if key in (found.key, found.column):
            return found
    raise KeyError(key)


def summarize(runs: pd.DataFrame | ParquetColumns, timeline: Timeline, scenario: Scenario) -> dict:
    """summary.json: every headline measure from the per-lane columns, and each event's share of
    lanes in which it fired."""
    n = len(np.asarray(runs[col.AGREED]))
    summary: dict = {"replications": n, "deadline": str(scenario.calendar.deadline)}
    for found in headline_measures(scenario):
        group, _, name = found.key.partition(".")
        value = found.summary_value(runs)
        if name:
            summary.setdefault(group, {})[name] = value
        else:
            summary[group] = value
    summary["events"] = {}
    for name in scenario.events:
        fired = np.asarray(runs[col.event_week(name)]) >= 0
        est, low, high = wilson(int(fired.sum()), n)  # effects: events.parquet
        summary["events"][name] = {"p_fired": {"estimate": est, "low": low, "high": high, "n": n}}
    return summary


def summary_value(summary: dict, key: str) -> dict | float | str | None:
    """A measure's entry in a summary.json by its dotted key (None when absent)."""
    group, _, name = key.partition(".")
    found = summary.get(group)
    return found.get(name) if name and isinstance(found, dict) else found


def summary_frame(runs: Columns, scenario: Scenario) -> pd.DataFrame:
    """One row per headline measure with its 95% interval, computed from the runs table."""
    rows = []
    for found in headline_measures(scenario):
        value = found.estimate(runs)
        rows.append(
            {"key": found.key, "label": found.label, "kind": found.kind, "unit": found.unit}
            | {"estimate": value.estimate, "low": value.low, "high": value.high, "n": value.n}
        )
    return pd.DataFrame(rows).set_index("key")


def outcome(name: str, scenario: Scenario, columns: list[str]) -> Measure | None:
    """A yes/no outcome per lane by name: a headline share over all lanes (with or without its
    `p_`), or any yes/no column of runs.parquet (`ratified_us`, ...); None when there is none."""
    for found in headline_measures(scenario):
        if found.share and not found.signed_only and name in (found.key, found.key[2:]):
            return found
    if name in columns and not name.startswith(col.INPUT):
        return Measure(name, name.replace("_", " "), "share", "", _column(name))
    return None


def outcome_names(scenario: Scenario) -> list[str]:
    """The headline shares discover can explain, for an error message."""
    return [m.key for m in headline_measures(scenario) if m.share and not m.signed_only]
