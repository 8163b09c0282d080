"""discover.html: the PRIM peeling trade-off, the chosen box, the CART leaves, feature scores."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from sim.discover import Discovery
from sim.labels import AXIS_WRAP, TICK_WRAP, bar_rows_layout, key_name, tick_rows, wrap
from sim.page import rows_table, sections_of, write_page

CHOSEN = "#c0392b"


def tradeoff_figure(found: Discovery) -> go.Figure:
    """Coverage against density along PRIM's peeling; the chosen box ringed."""
    boxes = found.boxes
    fig = go.Figure(
        go.Scatter(
            x=[b.coverage for b in boxes],
            y=[b.density for b in boxes],
            mode="markers+lines",
            marker={
                "color": [len(b.limits) for b in boxes],
                "colorscale": "Viridis",
                "size": 9,
                "colorbar": {"title": "restricted<br>inputs"},
            },
            line={"color": "#bbb"},
            text=[f"box {b.index}: {b.lanes:,} lanes, {len(b.limits)} restricted" for b in boxes],
            name="peeling trajectory",
        )
    )
    box = found.box
    fig.add_trace(
        go.Scatter(
            x=[box.coverage],
            y=[box.density],
            mode="markers",
            marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": CHOSEN, "width": 3}},
            name="chosen box",
        )
    )
    fig.update_layout(
        title="PRIM peeling trade-off: each step gives up coverage for density",
        xaxis={
            "title": "coverage (share of the lanes where the outcome holds that the box keeps)",
            "automargin": True,
        },
        yaxis={"title": "density (share of the box's lanes where it holds)", "automargin": True},
        showlegend=False,
    )
    return fig


def feature_ticks(found: Discovery, keys: list[str]) -> tuple[list[str], list[float], float]:
    """Tick labels (short names in lines of TICK_WRAP) of lane columns, where each sits on a
    numeric axis counted in text lines, and the axis' span (labels.tick_rows)."""
    ticks = [wrap(key_name(found.cases.scenario, k), TICK_WRAP) for k in keys]
    return ticks, *tick_rows(ticks)


def box_figure(found: Discovery) -> go.Figure:
    """The chosen box's limits on each restricted input, against that input's full range."""
    cases, box = found.cases, found.box
    base, width, text = [], [], []
    for key, (low, high) in box.limits.items():
        full_low, full_high = float(cases.x[key].min()), float(cases.x[key].max())
        span = (full_high - full_low) or 1.0
        base.append((low - full_low) / span)
        width.append((high - low) / span)
        text.append(
            wrap(
                f"{cases.features[key].label}: {low:.4g} to {high:.4g} of {full_low:.4g} to "
                f"{full_high:.4g}",
                60,
            )
        )
    ticks, at, rows_span = feature_ticks(found, list(box.limits))
    fig = go.Figure(
        go.Bar(
            x=width,
            y=at,
            base=base,
            width=1.2,
            orientation="h",
            marker_color=CHOSEN,
            hovertext=text,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        title="The chosen box: where each restricted input must lie",
        xaxis={
            "title": wrap("share of the input's range", AXIS_WRAP),
            "range": [0, 1],
            "automargin": True,
        },
        **bar_rows_layout(ticks, at, rows_span),
    )
    return fig


def cart_figure(found: Discovery) -> go.Figure:
    """The CART tree's leaves: the share of lanes where the outcome holds in each."""
    leaves = found.leaves
    fig = go.Figure(
        go.Bar(
            x=[leaf["share"] for leaf in leaves],
            y=[f"leaf {k}" for k in range(1, len(leaves) + 1)],
            orientation="h",
            marker_color="#1f4e9c",
            hovertext=[f"{leaf['rule']} ({leaf['lanes']:,} lanes)" for leaf in leaves],
        )
    )
    fig.update_layout(
        title=f"CART tree, a second view: {found.cases.outcome.label} in each leaf",
        xaxis={
            "title": "share of the leaf's lanes where the outcome holds",
            "range": [0, 1],
            "automargin": True,
        },
        yaxis={"autorange": "reversed", "automargin": True},
        height=180 + 35 * len(leaves),
    )
    return fig


def scores_figure(found: Discovery) -> go.Figure:
    """Extra-trees feature scores, highest at the top; each input by its short name."""
    scores = found.scores.iloc[::-1]
    ticks, at, span = feature_ticks(found, list(scores["feature"]))
    fig = go.Figure(
        go.Bar(
            x=scores["score"],
            y=at,
            width=1.2,
            orientation="h",
            marker_color="#138d75",
            hovertext=[
                wrap(f"{label}: {score:.3f}", 60)
                for label, score in zip(scores["label"], scores["score"], strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.update_layout(
        title="Feature scores (extra trees): how much each input tells about the outcome",
        xaxis={
            "title": wrap("mean decrease in impurity (scores sum to 1)", AXIS_WRAP),
            "automargin": True,
        },
        **bar_rows_layout(ticks, at, span),
    )
    return fig


def headline(found: Discovery) -> list[tuple[str, str]]:
    """The rule, the box's figures and the CART leaves, as (label, text) rows."""
    box = found.box
    rows = [
        ("rule (PRIM)", found.rule),
        ("density / coverage / mass", f"{box.density:.1%} / {box.coverage:.1%} / {box.mass:.1%}"),
    ]
    if not found.reaches_target:
        rows.append(
            (
                "target density",
                f"{found.target:.1%}: no box reaches it; the rule is the densest box's",
            )
        )
    if found.dropped:
        rows.append(("restrictions left out (quasi-p > 0.05)", "; ".join(found.dropped)))
    for k, leaf in enumerate(found.leaves, start=1):
        rows.append(
            (f"CART leaf {k}: {leaf['rule']}", f"{leaf['share']:.1%} of {leaf['lanes']:,} lanes")
        )
    return rows


def write_discover_report(out: Path, found: Discovery, source: Path) -> Path:
    """discover.html: header, the rule, then the figures; the CART tree as text at the end."""
    cases = found.cases
    sections = [
        (
            tradeoff_figure(found),
            "Read along the line from the lower right: each peel drops a slice of lanes; the ringed "
            + (
                f"box is the widest whose density reaches the target ({found.target:.0%})."
                if found.reaches_target
                else f"box is the densest: none reaches the target ({found.target:.0%})."
            ),
        ),
    ]
    if found.box.limits:
        sections.append(
            (
                box_figure(found),
                "Each bar spans the part of an input's range the box keeps (0: the lowest value "
                "drawn, 1: the highest); a bar spanning the whole width would mean no restriction.",
            )
        )
    sections += [
        (cart_figure(found), "Hover a bar for its leaf's rule; the headline table lists them too."),
        (
            scores_figure(found),
            "Scores rank inputs by how much the forest's splits on them separate the outcome; "
            "they do not say in which direction.",
        ),
    ]
    meta = {
        "source": str(source),
        "lanes": f"{len(cases.y):,}",
        "outcome": cases.outcome.key,
        "seed": cases.scenario.seed,
    }
    box = found.box
    said = [
        f"'{cases.outcome.label}' holds in {cases.y.mean():.0%} of the lanes.",
        f"It holds in {box.density:.0%} of the lanes where {found.rule}, which cover "
        f"{box.coverage:.0%} of those where it holds.",
    ]
    if not found.reaches_target:
        said.append(
            f"No box reaches the target density of {found.target:.0%}: this is the densest."
        )
    return write_page(
        out / "discover.html",
        f"negsim discover: {cases.scenario.name}",
        said,
        f"Under which conditions does '{cases.outcome.label}' hold? The conditions are what each "
        "lane was dealt: its uncertain inputs, sweep parameters, and the week each event would "
        f"fire if the talks were still open. It holds in {cases.y.mean():.1%} of the lanes.",
        meta,
        rows_table(headline(found)),
        sections_of(sections),
        found.tree_text,
        appendix_title="The CART tree as text",
    )
