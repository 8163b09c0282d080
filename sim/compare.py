"""Compare scenarios: run them with the same seed and replications (or read finished results
folders), and set each headline figure beside the first scenario's with a 95% interval on the
difference, so a reader sees whether a difference is more than chance."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import columns as col
from sim import store
from sim.assets import ensure_plotly
from sim.errors import NegsimError
from sim.executors import Pool
from sim.loader import build, load_scenario
from sim.outcomes import Z95, Measure, headline_measures, median_interval, wilson
from sim.scenario import Scenario


class CompareError(NegsimError):
    """An input is neither a scenario file nor a finished results folder."""


@dataclass
class Entry:
    """One compared scenario: its results folder, resolved scenario and per-lane outcomes."""

    name: str
    folder: Path
    scenario: Scenario
    runs: pd.DataFrame
    timeline: pd.DataFrame

    @property
    def agreed(self) -> pd.DataFrame:
        """Lanes that signed a treaty."""
        return self.runs[self.runs[col.AGREED]]


@dataclass
class Headline:
    """A headline figure of one scenario, and its difference to the first scenario."""

    measure: Measure
    scenario: str
    estimate: float
    low: float
    high: float
    diff: tuple[float, float, float] | None = None  # (difference, low, high) vs the first

    @property
    def share(self) -> bool:
        """A probability (shown in %) rather than a mean or median."""
        return self.measure.share


def read_folder(folder: Path, name: str | None = None) -> Entry:
    """A finished run folder, or sweep point (StoreError saying what the folder is if not)."""
    store.ResultsFolder.open(folder).need("run", "point")
    resolved = store.read_yaml(folder / "scenario.yaml")
    resolved.pop("extends", None)  # already merged; the parent need not sit beside the results
    scenario = build(resolved, {}, {}, f"{folder}/scenario.yaml")
    runs = pd.read_parquet(folder / "runs.parquet")
    timeline = pd.read_parquet(folder / "timeline.parquet", columns=["date", "p_agreed"])
    return Entry(name or scenario.name, folder, scenario, runs, timeline)


def gather(
    inputs: list[Path],
    out: Path,
    *,
    overrides: list,
    workers: int = 1,
    pool: Pool | None = None,
    command: list[str] | None = None,
    on_chunk: Callable[[int], None] = lambda lanes: None,
) -> list[Entry]:
    """Read results folders and run scenario files under `out` (on `pool`, default `workers`
    local processes), all with the first input's seed and replications (unless --seed/--reps
    say otherwise), so their lanes pair up."""
    from sim.run import run_scenario

    if len(inputs) < 2:
        raise CompareError("give at least two scenarios or results folders to compare")
    folders = {path: read_folder(path) for path in inputs if path.is_dir()}
    scenarios = {path: load_scenario(path, overrides) for path in inputs if path not in folders}
    lead = folders[inputs[0]].scenario if inputs[0] in folders else scenarios[inputs[0]]
    common = [f"seed={lead.seed}", f"replications={lead.replications}", *overrides]
    store.prepare_folder(out)
    ensure_plotly(out)  # one copy for the comparison and every run's report under it
    entries: list[Entry] = []
    names: set[str] = set()
    for path in inputs:
        if path in folders:
            entry = folders[path]
        else:
            scenario = load_scenario(path, common)
            folder = out / "runs" / _unique(scenario.name, names)
            run_scenario(
                scenario, folder, workers=workers, pool=pool, command=command, on_chunk=on_chunk
            )
            entry = read_folder(folder)
        entry.name = _unique(entry.name, names)
        names.add(entry.name)
        entries.append(entry)
    return entries


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}-{k}", k + 1
    return candidate


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """Difference p2 - p1 of two independent shares with Newcombe's hybrid score 95% interval."""
    p1, l1, u1 = wilson(k1, n1)
    p2, l2, u2 = wilson(k2, n2)
    d = p2 - p1
    return (d, d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1))


def newcombe_paired(first: np.ndarray, second: np.ndarray) -> tuple[float, float, float]:
    """Difference of shares on paired lanes (same seed) with Newcombe's method 10 interval.

    Common random numbers make the lanes of two scenarios alike; pairing credits that, so a
    true difference is seen at fewer replications than with independent samples.
    """
    n = len(first)
    a = int((first & second).sum())
    b = int((first & ~second).sum())
    c = int((~first & second).sum())
    d = n - a - b - c
    p1, l1, u1 = wilson(a + b, n)
    p2, l2, u2 = wilson(a + c, n)
    denominator = math.sqrt(float(a + b) * (c + d) * (a + c) * (b + d))
    excess = a * d - b * c  # Newcombe's continuity-corrected correlation of the two shares
    excess = excess - n / 2 if excess > n / 2 else min(excess, 0)
    phi = excess / denominator if denominator > 0 else 0.0
    diff = p2 - p1
    down = (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2
    up = (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2
    return (diff, diff - math.sqrt(max(down, 0.0)), diff + math.sqrt(max(up, 0.0)))


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference mean(b) - mean(a) with a normal 95% interval on unequal variances."""
    if len(a) < 2 or len(b) < 2:
        return (math.nan, math.nan, math.nan)
    d = float(b.mean() - a.mean())
    half = Z95 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return (d, d - half, d + half)


def median_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference median(b) - median(a) of independent samples, its 95% interval from each
    median's order-statistic interval read as a normal one (Price & Bonett 2002)."""
    ma, la, ha = median_interval(a)
    mb, lb, hb = median_interval(b)
    if math.isnan(ma) or math.isnan(mb):
        return (math.nan, math.nan, math.nan)
    d = mb - ma
    half = math.hypot(ha - la, hb - lb) / 2  # each half-width is z standard errors
    return (d, d - half, d + half)


def _difference(
    measure: Measure, base: np.ndarray, other: np.ndarray, paired: bool
) -> tuple[float, float, float]:
    """Difference to the first scenario: paired for shares over every lane of one seed,
    independent otherwise (signed lanes differ between scenarios)."""
    if measure.share:
        if paired and not measure.signed_only and len(base) == len(other):
            return newcombe_paired(base, other)
        return newcombe(int(base.sum()), len(base), int(other.sum()), len(other))
    if measure.kind == "mean":
        return welch(base, other)
    return median_difference(base, other)


def compare(entries: list[Entry]) -> list[Headline]:
    """Every headline of every scenario, with its difference to the first scenario."""
    measures = [{m.key: m for m in headline_measures(e.scenario)} for e in entries]
    values = [
        {k: m.values(e.runs) for k, m in found.items()}
        for e, found in zip(entries, measures, strict=True)
    ]
    figures: list[Headline] = []
    for key in dict.fromkeys(k for found in measures for k in found):
        first = next(found[key] for found in measures if key in found)
        for entry, found, lanes in zip(entries, measures, values, strict=True):
            if key not in found:
                continue
            value = found[key].estimate(entry.runs)
            diff = None
            if key in values[0] and entry is not entries[0]:
                paired = entry.scenario.seed == entries[0].scenario.seed
                diff = _difference(first, values[0][key], lanes[key], paired)
            figures.append(Headline(first, entry.name, value.estimate, value.low, value.high, diff))
    return figures


def format_value(figure: Headline) -> str:
    """'41.2% (39.0% - 43.4%)' or '0.612 (0.601 - 0.623)'."""
    if math.isnan(figure.estimate):
        return "-"
    if figure.low == figure.high == figure.estimate:  # e.g. every middle lane signed that week
        return _fmt(figure.estimate, figure)
    return f"{_fmt(figure.estimate, figure)} ({_fmt(figure.low, figure)} - {_fmt(figure.high, figure)})"


def format_diff(figure: Headline) -> str:
    """'+3.1 points (-0.2 to +6.4)' for shares; signed mean differences otherwise."""
    if figure.diff is None or math.isnan(figure.diff[0]):
        return ""
    d, lo, hi = figure.diff
    scale, unit = (100, " pts") if figure.share else (1, " weeks" if figure.measure.clock else "")
    digits = 1 if figure.share or abs(figure.estimate) >= 10 else 3
    return f"{d * scale:+.{digits}f}{unit} ({lo * scale:+.{digits}f} to {hi * scale:+.{digits}f})"


def _fmt(value: float, figure: Headline) -> str:
    if figure.share or figure.measure.clock:
        return figure.measure.text(value)
    return f"{value:,.1f}" if abs(figure.estimate) >= 10 else f"{value:.3f}"


def terminal_table(figures: list[Headline], entries: list[Entry]):
    """A rich table: one row per measure, one column per scenario, differences under values."""
    from rich.table import Table

    first = entries[0].name
    table = Table(title=f"Headline figures (95% intervals); differences are to {first}")
    table.add_column("measure")
    for entry in entries:
        table.add_column(entry.name)
    cells: dict[str, dict[str, str]] = {}
    for f in figures:
        text = format_value(f) + (f"\n[dim]{format_diff(f)}[/]" if f.diff else "")
        cells.setdefault(f.measure.label, {})[f.scenario] = text
    for label, row in cells.items():
        table.add_row(label, *(row.get(e.name, "-") for e in entries))
    return table


def write_table(out: Path, figures: list[Headline]) -> None:
    """comparison.json: the headline figures and differences, for scripts."""
    rows = [
        {
            "measure": f.measure.key,
            "label": f.measure.label,
            "scenario": f.scenario,
            "estimate": f.estimate,
            "low": f.low,
            "high": f.high,
            **(
                {}
                if f.diff is None
                else dict(zip(("diff", "diff_low", "diff_high"), f.diff, strict=True))
            ),
        }
        for f in figures
    ]
    store.write_json(out / "comparison.json", rows)
