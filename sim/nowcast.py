"""Nowcasting: condition a finished ensemble on what has been seen so far.

Lanes inconsistent with an observation are dropped (rejection: every kept lane counts once,
so the effective sample size is the number kept), and the headline figures are computed
again over the lanes that remain. The run's own files stay as they were, unconditional; the
nowcast adds `given.yaml` (the observations), `nowcast.json` and `nowcast.html` beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from sim import store
from sim.errors import NegsimError
from sim.labels import param_name
from sim.outcomes import Timeline, summarize
from sim.page import rows_table, sections_of, write_page
from sim.report import headline_rows, mark_calendar
from sim.scenario import Scenario
from sim.summary_text import run_sentences
from sim.targets import FactFile, all_hold

GIVEN = "given.yaml"


class NoLaneMeets(NegsimError):
    """An observation (or all of them together) holds in no lane: nothing to condition on."""


@dataclass
class Nowcast:
    """The ensemble conditioned on the observations."""

    kept: np.ndarray  # per lane: consistent with every observation
    shares: list[tuple[str, float]]  # each observation and the share of lanes meeting it
    summary: dict  # headline figures over the kept lanes

    @property
    def ess(self) -> int:
        """Effective sample size: with lanes kept or dropped, the number kept."""
        return int(self.kept.sum())


def condition(folder: Path, scenario: Scenario, facts: FactFile, source: str) -> Nowcast:
    """The run in `folder` conditioned on `facts`; NoLaneMeets (naming the observation) when
    none of its lanes is consistent with them."""
    runs = pq.read_table(folder / "runs.parquet").to_pandas()
    timeline = Timeline(scenario)
    columns = {name: runs[name].to_numpy() for name in {f.column for f in facts.facts}}
    lanes = len(runs)
    shares = []
    for k, fact in enumerate(facts.facts):
        met = fact.holds(columns, timeline.clock)
        if not met.any():
            raise NoLaneMeets(
                f"{source}: facts.{k}: '{fact.title}' holds in none of the {lanes:,} lanes; "
                "nothing written"
            )
        shares.append((fact.title, float(met.mean())))
    kept = all_hold(facts.facts, columns, timeline.clock)
    if not kept.any():
        raise NoLaneMeets(
            f"{source}: no lane of {lanes:,} meets all the observations together; nothing written"
        )
    return Nowcast(kept, shares, summarize(runs[kept], timeline, scenario))


def write_nowcast(folder: Path, scenario: Scenario, nowcast: Nowcast, given_text: str) -> None:
    """given.yaml, nowcast.json and nowcast.html beside the run's own files."""
    store.write_atomic(folder / GIVEN, given_text)
    unconditional = json.loads((folder / "summary.json").read_text())
    for name, event in unconditional.get("events", {}).items():  # forced effects: whole ensemble
        if "forced" in event and name in nowcast.summary.get("events", {}):
            nowcast.summary["events"][name]["forced"] = event["forced"]
    store.write_json(
        folder / "nowcast.json",
        {
            "lanes": len(nowcast.kept),
            "effective_sample_size": nowcast.ess,
            "observations": [{"fact": t, "share_of_lanes": s} for t, s in nowcast.shares],
            "summary": nowcast.summary,
        },
    )
    weeks = pq.read_table(folder / "runs.parquet", columns=["agreed_week"]).to_pandas()
    figure = signed_by_date(weeks["agreed_week"].to_numpy(), nowcast.kept, scenario)
    rows = [("effective sample size", f"{nowcast.ess:,} of {len(nowcast.kept):,} lanes")]
    rows += [(f"lanes meeting: {t}", f"{s:.1%}") for t, s in nowcast.shares]
    rows += input_rows(folder, nowcast.kept, scenario)
    before = dict(headline_rows(unconditional, scenario))
    rows += [
        (label, f"{text}   (before: {before.get(label, '-')})")
        for label, text in headline_rows(nowcast.summary, scenario)
    ]
    said = [
        f"Given the observations ({nowcast.ess:,} of {len(nowcast.kept):,} lanes in effect):",
        *run_sentences(nowcast.summary, scenario)[:3],
    ]
    write_page(
        folder / "nowcast.html",
        f"negsim nowcast: {scenario.name}",
        said,
        "The ensemble conditioned on what has been seen: lanes inconsistent with the "
        "observations are dropped; the figures are those of the lanes kept.",
        {"seed": scenario.seed, "replications": f"{scenario.replications:,}"},
        rows_table(rows),
        sections_of(
            [
                (
                    figure,
                    "The gap between the lines is what the observations taught: where the "
                    "conditional line runs, the odds stand now.",
                )
            ]
        ),
        given_text,
        appendix_title="The observations (given.yaml)",
    )


def input_rows(folder: Path, kept: np.ndarray, scenario: Scenario) -> list[tuple[str, str]]:
    """Each uncertain input, named in words (labels.param_name), with its median and 90% range
    over the lanes kept and over all lanes: what the observations say about the inputs, as a
    calibration would."""
    names = [f"input.{path}" for path in scenario.inputs]
    if not names:
        return []
    table = pq.read_table(folder / "runs.parquet", columns=names)
    rows = []
    for name in names:
        values = table.column(name).to_numpy()
        given, before = (np.quantile(v, [0.05, 0.5, 0.95]) for v in (values[kept], values))
        rows.append(
            (
                param_name(scenario, name),
                f"{given[1]:.3g} ({given[0]:.3g} - {given[2]:.3g})   "
                f"(before: {before[1]:.3g} ({before[0]:.3g} - {before[2]:.3g}))",
            )
        )
    return rows


def signed_by_date(weeks: np.ndarray, kept: np.ndarray, scenario: Scenario) -> go.Figure:
    """P(treaty signed by date) over all lanes and over the lanes kept."""
    clock = Timeline(scenario).clock
    dates = [clock.date(w) for w in range(clock.weeks)]
    fig = go.Figure()
    curves = (
        ("before the observations", np.ones_like(kept), "#999"),
        ("given the observations", kept, "#222"),
    )
    for label, mask, colour in curves:
        signed = weeks[mask]
        counts = np.bincount(signed[signed >= 0], minlength=clock.weeks)[: clock.weeks]
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=np.cumsum(counts) / max(mask.sum(), 1),
                name=label,
                mode="lines",
                line={"color": colour, "shape": "hv"},
            )
        )
    mark_calendar(fig, scenario)
    fig.update_layout(
        title="Probability that a treaty has been signed, by date",
        yaxis_title="share of lanes",
        yaxis_range=[0, 1.02],
    )
    return fig


def kept_lanes(folder: Path, facts: FactFile, scenario: Scenario) -> np.ndarray:
    """Per lane of a finished run: consistent with `facts`."""
    names = sorted({f.column for f in facts.facts})
    runs: pd.DataFrame = pq.read_table(folder / "runs.parquet", columns=names).to_pandas()
    columns = {n: runs[n].to_numpy() for n in names}
    return all_hold(facts.facts, columns, Timeline(scenario).clock)
