"""calibrate.html: prior against posterior per input, a pairs plot, the posterior predictive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq
from plotly.subplots import make_subplots

from sim.calibrate import Calibration, resample, weighted_quantiles
from sim.labels import short_param_name, wrap
from sim.page import rows_table, sections_of, write_page
from sim.scenario import Scenario
from sim.streams import uniform
from sim.targets import Fact, is_week_column

PRIOR, POSTERIOR = "#a9a9a9", "#117a65"
PAIRS_MAX = 6  # inputs in the pairs plot
PAIRS_WRAP = 24  # characters a line of an input's name in the pairs plot


def spacing(rows: int, wanted: float) -> float:
    """Gap between stacked panels: as wanted, but small enough for plotly with many rows."""
    return min(wanted, 0.5 / max(rows - 1, 1))


PAIRS_POINTS = 2000


def write_calibration_report(calibration: Calibration, manifest: dict) -> None:
    """calibrate.html in the calibration folder, from its Parquet files and manifest."""
    folder = calibration.folder
    prior = pq.read_table(folder / "prior.parquet").to_pandas()
    posterior = pq.read_table(folder / "posterior.parquet").to_pandas()
    predictive = pq.read_table(folder / "predictive.parquet").to_pandas()
    paths = calibration.paths
    sections = [
        (
            marginals_figure(prior, posterior, paths, calibration.scenario),
            "Grey: the prior; green: the posterior. A green peak narrower than the grey spread "
            "is what the targets taught about that input; a flat green one, that they are "
            "silent about it.",
        ),
        (
            predictive_figure(prior, predictive, calibration),
            "Each target's column before calibration (grey) and when the posterior is played "
            "again with fresh chance (green); the shaded band is the target.",
        ),
    ]
    pairs = pairs_figure(posterior, paths, calibration.seed, calibration.scenario)
    if pairs is not None:
        caption = (
            "Posterior draws (resampled by weight) two inputs at a time, each input named on "
            "the diagonal: across in its column, up in its row. A slanted cloud means the "
            "targets pin down a trade-off between them rather than each alone."
        )
        sections.insert(1, (pairs, caption))
    scenario = calibration.scenario
    meta = {"seed": calibration.seed, "run": manifest.get("started", "")}
    rows = headline(manifest, prior, posterior, paths)
    write_page(
        folder / "calibrate.html",
        f"negsim calibration: {scenario.name}",
        [f"{label[:1].upper()}{label[1:]}: {text}." for label, text in rows[:3]],
        scenario.description,
        meta,
        rows_table(rows),
        sections_of(sections),
        (folder / "targets.yaml").read_text(encoding="utf-8"),
        appendix_title="The targets (targets.yaml)",
    )


def headline(
    manifest: dict, prior: pd.DataFrame, posterior: pd.DataFrame, paths: list[str]
) -> list[tuple[str, str]]:
    """How the posterior was reached, and each input's 90% interval before and after."""
    method = {"rejection": "rejection ABC", "smc": "ABC-SMC"}[manifest["method"]]
    rows = [
        ("method", f"{method}, {len(manifest['generations'])} generation(s)"),
        ("lanes simulated", f"{manifest['lanes_simulated']:,} in {manifest['seconds']:.1f} s"),
        (
            "targets reached",
            "yes"
            if manifest["reached_targets"]
            else f"no: final tolerance {manifest['final_epsilon']:.3g}",
        ),
        (
            "posterior draws",
            f"{manifest['posterior_size']:,} (effective {manifest['posterior_ess']:,.0f})",
        ),
        ("posterior predictive meeting every target", f"{manifest['predictive_meets_all']:.1%}"),
    ]
    q = np.array([0.05, 0.5, 0.95])
    for path in paths:
        column = f"input.{path}"
        before = np.quantile(prior[column], q)
        after = weighted_quantiles(posterior[column].to_numpy(), posterior["weight"].to_numpy(), q)
        rows.append(
            (
                path,
                f"prior {before[1]:.3g} ({before[0]:.3g} - {before[2]:.3g}); "
                f"posterior {after[1]:.3g} ({after[0]:.3g} - {after[2]:.3g})",
            )
        )
    return rows


def marginals_figure(
    prior: pd.DataFrame, posterior: pd.DataFrame, paths: list[str], scenario: Scenario
) -> go.Figure:
    """One panel per input: prior and posterior densities as histograms on shared bins,
    each titled with the input in words over its path (both wrapped to fit a phone)."""
    titles = [f"{wrap(short_param_name(scenario, p), 44)}<br>{wrap_path(p, 44)}" for p in paths]
    fig = make_subplots(
        rows=len(paths), cols=1, subplot_titles=titles, vertical_spacing=spacing(len(paths), 0.08)
    )
    for row, path in enumerate(paths, start=1):
        column = f"input.{path}"
        lo, hi = prior[column].min(), prior[column].max()
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 31)
        mids = (edges[:-1] + edges[1:]) / 2
        weights = (np.ones(len(prior)), posterior["weight"].to_numpy())
        for frame, w, name, colour in (
            (prior, weights[0], "prior", PRIOR),
            (posterior, weights[1], "posterior", POSTERIOR),
        ):
            density, _ = np.histogram(frame[column], edges, weights=w, density=True)
            _overlay(fig, row, mids, density, name, colour)
    fig.update_layout(
        title="Each uncertain input before and after calibration",
        barmode="overlay",
        bargap=0,
        height=260 * len(paths),
        margin_t=20 + 18 * (titles[0].count("<br>") + 1),  # room for the first panel's title
    )
    fig.update_yaxes(title_text="density")
    return fig


def wrap_path(path: str, width: int) -> str:
    """A dotted path broken after dots into lines of at most about `width` characters."""
    lines = [""]
    for part in path.split("."):
        if lines[-1] and len(lines[-1]) + 1 + len(part) > width:
            lines[-1] += "."
            lines.append(part)
        else:
            lines[-1] += f".{part}" if lines[-1] else part
    return "<br>".join(lines)


def pairs_figure(
    posterior: pd.DataFrame, paths: list[str], seed: int, scenario: Scenario
) -> go.Figure | None:
    """The posterior two inputs at a time, drawn by weight with keyed numbers so the page is
    stable; None with a single input. A scatterplot matrix's lower triangle with each input
    named in words on the diagonal (its row's y, its column's x), no fixed width: it fills
    the page's column."""
    if len(paths) < 2:
        return None
    ids = np.arange(PAIRS_POINTS, dtype=np.int64)
    pick = resample(posterior["weight"].to_numpy(), uniform(seed, "calibrate:pairs", ids))
    sample = posterior.iloc[pick]
    paths = paths[:PAIRS_MAX]  # a readable grid: the first inputs only
    names = [short_param_name(scenario, p) for p in paths]
    n = len(paths)
    specs = [[{} if col < row else None for col in range(n)] for row in range(n)]
    gap = spacing(n, 0.025)
    fig = make_subplots(rows=n, cols=n, specs=specs, horizontal_spacing=gap, vertical_spacing=gap)
    for row in range(1, n + 1):
        for col in range(1, row):
            fig.add_trace(_pair(sample, paths, names, col - 1, row - 1), row=row, col=col)
            fig.update_xaxes(showticklabels=row == n, row=row, col=col)
            fig.update_yaxes(showticklabels=col == 1, row=row, col=col)
        right = 2 * row > n  # names on the right end at their cell's edge: none cut on a phone
        cell = (1 - (n - 1) * gap) / n  # a panel's share of the figure, across and up
        side = "right" if right else "left"
        fig.add_annotation(
            text=wrap(names[row - 1], PAIRS_WRAP),
            x=(row - 1) * (cell + gap) + (cell if right else 0),
            y=1 - (row - 1) * (cell + gap) - cell / 2,
            xref="paper",
            yref="paper",
            xanchor=side,
            align=side,
            showarrow=False,
        )
    fig.update_layout(
        title="Posterior draws, inputs in pairs", showlegend=False, height=60 + 180 * n
    )
    return fig


def _pair(sample: pd.DataFrame, paths: list[str], names: list[str], i: int, j: int) -> go.Scatter:
    """Input i across, input j up: the points of one panel, each naming both in its hover."""
    return go.Scatter(
        x=sample[f"input.{paths[i]}"],
        y=sample[f"input.{paths[j]}"],
        mode="markers",
        name=f"{paths[i]} / {paths[j]}",
        hovertemplate=f"{names[i]}: %{{x:.3g}}<br>{names[j]}: %{{y:.3g}}<extra></extra>",
        marker={"size": 3, "color": POSTERIOR, "opacity": 0.4},
    )


def predictive_figure(prior: pd.DataFrame, predictive: pd.DataFrame, calibration) -> go.Figure:
    """One panel per target: its column over prior lanes and posterior predictive lanes."""
    facts = calibration.facts
    clock = calibration.clock
    fig = make_subplots(
        rows=len(facts),
        cols=1,
        subplot_titles=[f.title for f in facts],
        vertical_spacing=spacing(len(facts), 0.1),
    )
    for row, fact in enumerate(facts, start=1):
        for frame, name, colour in ((prior, "prior", PRIOR), (predictive, "posterior", POSTERIOR)):
            _overlay(fig, row, *_shares(frame[fact.column].to_numpy(), fact, clock), name, colour)
        band = _band(fact, clock)
        if band is not None:
            fig.add_vrect(
                x0=band[0],
                x1=band[1],
                fillcolor="#f1c40f",
                opacity=0.25,
                line_width=0,
                row=row,
                col=1,
            )
    fig.update_layout(
        title="Targets: prior and posterior predictive (shaded: what the target allows)",
        barmode="overlay",
        bargap=0.05,
        height=260 * len(facts),
    )
    fig.update_yaxes(title_text="share of lanes")
    return fig


def _overlay(fig: go.Figure, row: int, x, y, name: str, colour: str) -> None:
    """One see-through bar series in panel `row`, legend shown once per name."""
    bars = go.Bar(x=x, y=y, name=name, marker_color=colour, opacity=0.6, legendgroup=name)
    fig.add_trace(bars.update(showlegend=row == 1), row=row, col=1)


def _shares(values: np.ndarray, fact: Fact, clock) -> tuple[list, np.ndarray]:
    """Bar positions and shares: true/false, dates by week (and 'never'), or 30 bins."""
    if values.dtype == bool:
        return ["false", "true"], np.array([(~values).mean(), values.mean()])
    if is_week_column(fact.column):
        weeks = values.astype(int)
        counts = np.bincount(np.where(weeks < 0, clock.weeks, weeks), minlength=clock.weeks + 1)
        x = [str(clock.date(w)) for w in range(clock.weeks)] + ["never"]
        return x, counts / max(len(values), 1)
    finite = values[~np.isnan(values)]
    if not finite.size:
        return [], np.array([])
    counts, edges = np.histogram(finite, 30)
    return list((edges[:-1] + edges[1:]) / 2), counts / len(values)


def _band(fact: Fact, clock) -> tuple | None:
    """The target's allowed range on its panel's x axis (None for true/false and not_by)."""
    if fact.not_by is not None or isinstance(fact.value, bool):
        return None
    lo, hi = fact.interval(clock)
    if is_week_column(fact.column):
        return str(clock.date(int(lo))), str(clock.date(int(hi)))
    return lo, hi
