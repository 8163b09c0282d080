"""What decides the talks: each event forced on against forced off, each uncertain input at its
10th against its 90th percentile, as pairs of runs with one seed.

Common random numbers make the two runs of a pair alike in every lane but for the one thing
changed, so the difference of a headline figure between them is that factor's effect, with a
paired 95% interval (Newcombe's for shares, a paired bootstrap for medians). Each finished run
(an "arm") is saved under `arms/`; `--resume` simulates only the missing ones.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim import store
from sim.calendar import Clock
from sim.compare import newcombe_paired
from sim.ensemble import chunk_sizes, make_executor, run_chunks
from sim.errors import NegsimError
from sim.labels import event_label, path_label, value_text
from sim.loader import (
    ScenarioError,
    apply_override,
    build,
    document,
    load_scenario,
    parse_override,
)
from sim.outcomes import Measure, headline_measures
from sim.run import resolved_yaml
from sim.scenario import Scenario

LOW_Q, HIGH_Q = 0.1, 0.9  # an uncertain input is set at these quantiles of its distribution
PRIMARY = "p_agree_before_deadline"  # the figure factors are ranked by
RESAMPLES = 400  # paired bootstrap resamples behind a median's interval
ARMS = "arms"


class ExplainError(NegsimError):
    """Nothing to explain, or a folder that is not an explain folder to resume."""


@dataclass(frozen=True)
class Factor:
    """One thing set two ways: an event (off, on) or an uncertain input (10th, 90th percentile)."""

    key: str  # "event:NAME" or "input:dotted.path"
    label: str  # in the scenario's words
    low_text: str
    high_text: str
    low: tuple[str, ...]  # --set overrides of each arm
    high: tuple[str, ...]


def factors(scenario: Scenario) -> list[Factor]:
    """Every event and every uncertain input of a scenario, in file order."""
    clock = Clock.from_calendar(scenario.calendar)
    found = []
    for name, event in scenario.events.items():
        label = event_label(scenario, name)
        if event.date is not None:
            off, on = (f"events.{name}.probability={p}" for p in (0, 1))
            found.append(Factor(f"event:{name}", label, "off", f"on ({event.date})", (off,), (on,)))
            continue
        first = event.window[0] if event.window else scenario.calendar.start
        on_text = f"on (once, week of {clock.date(clock.week(first))})"
        on = (f"events.{name}.hazard=1", f"events.{name}.repeat=false")
        found.append(
            Factor(f"event:{name}", label, "off", on_text, (f"events.{name}.hazard=0",), on)
        )
    for path, dist in scenario.inputs.items():
        low, high = (float(dist.quantile(q)) for q in (LOW_Q, HIGH_Q))
        if low == high:
            continue
        found.append(
            Factor(
                f"input:{path}",
                path_label(scenario, path),
                value_text(low),
                value_text(high),
                (f"{path}={low!r}",),
                (f"{path}={high!r}",),
            )
        )
    return found


def start_explain(scenario: Scenario, out: Path, command: list[str] | None = None) -> None:
    """Lay out a fresh explain folder: the resolved scenario and a manifest saying 'running'."""
    found = factors(scenario)
    if not found:
        raise ExplainError(
            f"{scenario.name}: no events and no uncertain inputs to explain; "
            "give a value as a distribution, e.g. {uniform: [lo, hi]}"
        )
    store.prepare_folder(out)
    store.write_atomic(out / "scenario.yaml", resolved_yaml(scenario))
    manifest = {
        "status": "running",
        "kind": "explain",
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "factors": [f.key for f in found],
        "command": command or [],
        "started": store.now(),
        "versions": store.versions(),
    }
    store.write_json(out / "manifest.json", manifest)


def explain_scenario(out: Path) -> Scenario:
    """The scenario of an explain folder (ExplainError when `out` is not one)."""
    manifest = store.read_manifest(out)
    if manifest.get("kind") != "explain":
        raise ExplainError(f"{out}: not an explain folder (its manifest is not kind 'explain')")
    try:
        return load_scenario(out / "scenario.yaml")
    except ScenarioError as err:
        raise ExplainError(f"cannot resume: {err}") from None


def arms_left(out: Path) -> int:
    """Runs still to simulate in an explain folder."""
    found = factors(explain_scenario(out))
    return sum(
        not _arm_path(out, k, side).is_file() for k in range(len(found)) for side in ARM_SIDES
    )


ARM_SIDES = ("low", "high")


def run_explain(
    out: Path, workers: int = 1, on_arm: Callable[[int], None] = lambda lanes: None
) -> pd.DataFrame:
    """Simulate every missing arm, then write explain.parquet and mark the folder complete."""
    scenario = explain_scenario(out)
    found = factors(scenario)
    measures = [m for m in headline_measures(scenario) if paired_lanes(m)]
    (out / ARMS).mkdir(exist_ok=True)
    sizes = chunk_sizes(scenario.replications)
    executor = make_executor(workers, len(sizes))
    try:
        for k, factor in enumerate(found):
            for side, overrides in zip(ARM_SIDES, (factor.low, factor.high), strict=True):
                path = _arm_path(out, k, side)
                if path.is_file():
                    continue
                arm = with_overrides(scenario, overrides)
                store.write_table(path, simulate(arm, measures, executor))
                on_arm(scenario.replications)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    table = effects(scenario, found, measures, out)
    tmp = out / ".explain.parquet.partial"
    table.to_parquet(tmp, index=False)
    tmp.replace(out / "explain.parquet")
    return table


def with_overrides(scenario: Scenario, overrides: tuple[str, ...]) -> Scenario:
    """The scenario with `--set`-style overrides applied (without reading its file again)."""
    data = document(scenario)
    for item in overrides:
        key, value = parse_override(item)
        apply_override(data, key, value, item)
    return build(data, {}, {}, f"{scenario.name} ({' '.join(overrides)})")


def finish(out: Path) -> None:
    """Mark an explain folder complete (after its page is written)."""
    manifest = store.read_manifest(out)
    manifest.update(status="complete", finished=store.now())
    store.write_json(out / "manifest.json", manifest)


def simulate(
    scenario: Scenario,
    measures: list[Measure],
    executor=None,
    on_chunk: Callable[[int], None] = lambda lanes: None,
) -> dict[str, np.ndarray]:
    """Run a scenario's lanes and keep each measure's per-lane values."""
    parts: dict[str, list[np.ndarray]] = {m.key: [] for m in measures}
    for _, chunk in run_chunks(scenario, scenario.replications, scenario.seed, executor):
        for m in measures:
            parts[m.key].append(m.lanes(chunk.runs))
        on_chunk(len(chunk.runs["agreed"]))
    return {key: np.concatenate(values) for key, values in parts.items()}


def effects(
    scenario: Scenario, found: list[Factor], measures: list[Measure], out: Path
) -> pd.DataFrame:
    """One row per factor and measure: the figure in each arm, the effect and its interval."""
    rows = []
    for k, factor in enumerate(found):
        low, high = (pq.read_table(_arm_path(out, k, side)) for side in ARM_SIDES)
        for m in measures:
            a, b = low.column(m.key).to_numpy(), high.column(m.key).to_numpy()
            value_low, value_high, (effect, lo, hi) = paired_effect(m, a, b, scenario.seed + k)
            rows.append(
                {
                    "factor": factor.key,
                    "label": factor.label,
                    "low": factor.low_text,
                    "high": factor.high_text,
                    "measure": m.key,
                    "measure_label": m.label,
                    "kind": m.kind,
                    "unit": m.unit,
                    "value_low": value_low,
                    "value_high": value_high,
                    "effect": effect,
                    "effect_low": lo,
                    "effect_high": hi,
                    "set_low": " ".join(factor.low),
                    "set_high": " ".join(factor.high),
                }
            )
    table = pd.DataFrame(rows)
    primary = table[table["measure"] == PRIMARY].set_index("factor")["effect"].abs()
    order = {f: r for r, f in enumerate(primary.sort_values(ascending=False, kind="stable").index)}
    table["rank"] = table["factor"].map(order).astype(int) + 1
    return table.sort_values("rank", kind="stable", ignore_index=True)  # measures keep their order


def paired_lanes(measure: Measure) -> bool:
    """Whether two arms of one seed pair lane by lane on the measure: a share over every lane,
    or a median (lanes that did not sign are left out of both)."""
    return measure.kind == "median" or (measure.share and not measure.signed_only)


def paired_effect(
    measure: Measure, low: np.ndarray, high: np.ndarray, seed: int
) -> tuple[float, float, tuple[float, float, float]]:
    """The figure in each arm and the effect high - low with its paired 95% interval."""
    if measure.share:
        low, high = low.astype(bool), high.astype(bool)
        return float(low.mean()), float(high.mean()), newcombe_paired(low, high)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # arms where no lane agreed
        a, b = float(np.nanmedian(low)), float(np.nanmedian(high))
        diffs = _bootstrap_medians(low, high, seed)
    diffs = diffs[np.isfinite(diffs)]
    if math.isnan(a) or math.isnan(b) or not len(diffs):
        return a, b, (b - a, math.nan, math.nan)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return a, b, (b - a, float(lo), float(hi))


def _bootstrap_medians(low: np.ndarray, high: np.ndarray, seed: int) -> np.ndarray:
    """Differences of medians over resampled lanes, the same lanes in both arms (paired)."""
    rng = np.random.default_rng(seed)
    n, block = len(low), max(1, 2_000_000 // max(len(low), 1))
    diffs = []
    for start in range(0, RESAMPLES, block):
        idx = rng.integers(0, n, (min(block, RESAMPLES - start), n))
        diffs.append(np.nanmedian(high[idx], axis=1) - np.nanmedian(low[idx], axis=1))
    return np.concatenate(diffs)


def _arm_path(out: Path, k: int, side: str) -> Path:
    return out / ARMS / f"{k:03d}-{side}.parquet"


def effect_text(row: pd.Series | dict, with_interval: bool = True) -> str:
    """'+12.3 pts (+9.8 to +14.7)', '-3.0 weeks (...)' or '+25 warheads (...)'."""
    if math.isnan(row["effect"]):
        return "-"
    scale, unit, digits = _scale(row)
    text = f"{row['effect'] * scale:+.{digits}f}{unit}"
    if with_interval and not math.isnan(row["effect_low"]):
        low, high = row["effect_low"] * scale, row["effect_high"] * scale
        text += f" ({low:+.{digits}f} to {high:+.{digits}f})"
    return text


def _scale(row) -> tuple[float, str, int]:
    """Percentage points for shares; the measure's unit otherwise, with enough decimals to
    show an effect on a narrow range (a 0-1 linkage) as more than zero. Weeks (the median
    date: medians of whole weeks) always take one decimal, so a zero effect reads one way."""
    if row["kind"] == "share":
        return 100.0, " pts", 1
    unit = f" {row['unit']}" if row["unit"] else ""
    if row["unit"] == "weeks":
        return 1.0, unit, 1
    widest = max(
        abs(row[k]) for k in ("effect", "effect_low", "effect_high") if not math.isnan(row[k])
    )
    return 1.0, unit, 1 if widest >= 1 else 3


def value_pair(row, clock: Clock | None = None) -> str:
    """The figure with the factor low and high: '41.2% -> 53.5%' or dates for the date."""

    def one(value: float) -> str:
        if math.isnan(value):
            return "-"
        if row["kind"] == "share":
            return f"{value:.1%}"
        if row["measure"] == "median_agreement_date" and clock is not None:
            return str(clock.date(round(value)))
        return value_text(value)

    return f"{one(row['value_low'])} -> {one(row['value_high'])}"
