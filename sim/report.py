"""Plotly figures and self-contained HTML reports (plotly.js written beside them, no CDN)."""

from __future__ import annotations

import html
import math
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq
import yaml
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from sim import store
from sim.outcomes import nash_point, opening_frontier, walk_aways
from sim.scenario import Scenario

PARTY_COLOURS = {"russia": "#c0392b", "us": "#1f4e9c"}
FALLBACK = ["#7d3c98", "#138d75"]
PLOTLY_JS = "plotly.min.js"
CALENDAR_KEY = "date (grey: talks rounds; dotted: summits; dashed: START I expiry)"


def party_colour(key: str, position: int) -> str:
    """Same colour for a party in every figure of every report."""
    return PARTY_COLOURS.get(key, FALLBACK[position % 2])


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def mark_calendar(fig: go.Figure, scenario: Scenario, rows: int = 1) -> None:
    """Shade sessions, mark summits and draw the deadline on every row of a date-axis figure.

    Shapes are added to the layout in one go: plotly's add_vrect per row is very slow.
    """
    cal = scenario.calendar
    shapes = []
    for row in range(1, rows + 1):
        axis = "" if row == 1 else str(row)
        refs = {"xref": f"x{axis}", "yref": f"y{axis} domain", "y0": 0, "y1": 1}
        for s in cal.sessions:
            end = date.fromordinal(s.start.toordinal() + 7 * s.weeks)
            shapes.append(
                {
                    "type": "rect",
                    "x0": s.start,
                    "x1": end,
                    "fillcolor": "#999",
                    "opacity": 0.12,
                    "line": {"width": 0},
                    "layer": "below",
                    **refs,
                }
            )
        line = {"type": "line", **refs}
        shapes.append(
            {
                **line,
                "x0": cal.deadline,
                "x1": cal.deadline,
                "line": {"dash": "dash", "color": "black"},
            }
        )
        for summit in cal.summits:
            shapes.append(
                {
                    **line,
                    "x0": summit.date,
                    "x1": summit.date,
                    "line": {"dash": "dot", "color": "#b7950b"},
                }
            )
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes])
    fig.add_annotation(
        x=cal.deadline,
        y=1,
        yref="y domain",
        text="START I expires ",
        showarrow=False,
        xanchor="right",
        yanchor="top",
        bgcolor="rgba(255,255,255,0.7)",
        font={"size": 12},
    )


def agreement_figure(weekly: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Cumulative probability of agreement over time."""
    fig = go.Figure(
        go.Scatter(
            x=weekly["date"],
            y=weekly["p_agreed"],
            mode="lines",
            name="P(agreement signed)",
            line={"color": "#222", "shape": "hv"},
        )
    )
    mark_calendar(fig, scenario)
    fig.update_layout(
        title="Probability that a treaty has been signed, by date",
        xaxis_title=CALENDAR_KEY,
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
        showlegend=False,
    )
    return fig


def offers_figure(weekly: pd.DataFrame, scenario: Scenario, summary: dict) -> go.Figure:
    """Each party's offers per issue over time: median and 10-90% band, agreed median dashed."""
    issues = list(scenario.issues.items())
    fig = make_subplots(
        rows=len(issues),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        subplot_titles=[f"{name} ({spec.unit})" for name, spec in issues],
    )
    for p, party in enumerate(scenario.party_names()):
        colour = party_colour(party, p)
        label = scenario.parties[party].name
        for row, (name, spec) in enumerate(issues, start=1):
            col = f"offer_{party}_{name}"
            fig.add_trace(
                go.Scatter(
                    x=weekly["date"],
                    y=weekly[f"{col}_p90"],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=party,
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=weekly["date"],
                    y=weekly[f"{col}_p10"],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(colour, 0.2),
                    name=f"{label} 10-90%",
                    showlegend=row == 1,
                    legendgroup=party,
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=weekly["date"],
                    y=weekly[f"{col}_p50"],
                    mode="lines",
                    line={"color": colour},
                    name=f"{label} median offer",
                    showlegend=row == 1,
                    legendgroup=party,
                ),
                row=row,
                col=1,
            )
            fig.update_yaxes(range=[spec.min, spec.max], row=row, col=1)
    for row, (name, _) in enumerate(issues, start=1):
        agreed = summary["median_package"].get(name)
        if agreed is not None:
            fig.add_hline(y=agreed, line_dash="dash", line_color="#555", row=row, col=1)
    mark_calendar(fig, scenario, rows=len(issues))
    fig.update_layout(
        title="Offers per issue among talks still open (dashed grey: median agreed value)",
        height=230 * len(issues),
        xaxis_title=None,
    )
    fig.update_xaxes(title_text=CALENDAR_KEY, row=len(issues), col=1)
    return fig


def agreed_values_figure(packages: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Distribution of agreed values per issue.

    Binned here, so the page holds 30 counts per issue rather than every agreed value.
    """
    issues = list(scenario.issues.items())
    fig = make_subplots(
        rows=1, cols=len(issues), subplot_titles=[n for n, _ in issues], horizontal_spacing=0.04
    )
    for col, (name, spec) in enumerate(issues, start=1):
        counts, edges = np.histogram(packages[f"package_{name}"], 30, (spec.min, spec.max))
        fig.add_trace(
            go.Histogram(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                histfunc="sum",
                xbins={"start": spec.min, "end": spec.max, "size": (spec.max - spec.min) / 30},
                marker_color="#555",
                showlegend=False,
                name=name,
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(range=[spec.min, spec.max], title_text=spec.unit, row=1, col=col)
    fig.update_yaxes(title_text="agreements", row=1, col=1)
    fig.update_layout(title="Agreed value per issue, over replications that signed", height=360)
    return fig


def opening_nash(scenario: Scenario) -> tuple[float, float] | None:
    """Nash point of the opening frontier, or None when the reservations leave no deal zone."""
    r1, r2 = walk_aways(scenario)
    nash = nash_point(opening_frontier(scenario), r1, r2)
    return None if math.isnan(nash[0]) else nash


def utility_caption(scenario: Scenario) -> str:
    """How to read the utility figure; says so when there is no Nash point to show."""
    if opening_nash(scenario) is None:
        return (
            "Points near the green frontier are efficient; no Nash star: the opening "
            "reservations (dotted) lie beyond the frontier."
        )
    return "Points near the green frontier are efficient; the star is the Nash bargaining solution."


def utility_figure(utilities: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Agreements in utility space, the opening Pareto frontier and the Nash point."""
    first, second = scenario.party_names()
    frontier = opening_frontier(scenario)
    r1, r2 = walk_aways(scenario)
    nash = opening_nash(scenario)
    names = [scenario.parties[p].name for p in (first, second)]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=utilities[f"utility_{first}"],
            y=utilities[f"utility_{second}"],
            mode="markers",
            marker={"size": 4, "color": "#555", "opacity": 0.35},
            name="agreements",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=frontier[:, 0],
            y=frontier[:, 1],
            mode="lines",
            line={"color": "#117a65"},
            name="Pareto frontier (opening mandates)",
        )
    )
    if nash is not None:
        fig.add_trace(
            go.Scatter(
                x=[nash[0]],
                y=[nash[1]],
                mode="markers",
                name="Nash point",
                marker={"symbol": "star", "size": 16, "color": "#b7950b"},
            )
        )
    fig.add_vline(x=r1, line_dash="dot", line_color=party_colour(first, 0))
    fig.add_hline(y=r2, line_dash="dot", line_color=party_colour(second, 1))
    fig.update_layout(
        title="Agreements in utility space (dotted: opening reservation utilities)",
        xaxis_title=f"utility to {names[0]} (1 = its ideal package)",
        yaxis_title=f"utility to {names[1]} (1 = its ideal package)",
        height=520,
    )
    return fig


def events_figure(summary: dict) -> go.Figure | None:
    """How often each event fired, and agreement before the deadline with and without it."""
    events = summary.get("events", {})
    if not events:
        return None
    names = list(events)
    fig = go.Figure()
    for key, label, colour in (
        ("p_fired", "fired", "#7f8c8d"),
        ("p_agree_before_deadline_if_fired", "P(agreement before deadline) if fired", "#117a65"),
        ("p_agree_before_deadline_if_not", "... if not fired", "#a9cce3"),
    ):
        est = [events[n][key]["estimate"] for n in names]
        low = [events[n][key]["estimate"] - events[n][key]["low"] for n in names]
        high = [events[n][key]["high"] - events[n][key]["estimate"] for n in names]
        fig.add_trace(
            go.Bar(
                x=names,
                y=est,
                name=label,
                marker_color=colour,
                error_y={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
            )
        )
    fig.update_layout(
        title="Events: how often each fired, and what followed (bars: 95% intervals)",
        barmode="group",
        xaxis_title="event (as named in the scenario)",
        yaxis_title="share of replications",
        yaxis_range=[0, 1.05],
    )
    return fig


def headline_rows(summary: dict, scenario: Scenario) -> list[tuple[str, str]]:
    """The headline figures as (label, text) pairs, shared by terminal and HTML."""

    def share(d: dict) -> str:
        return f"{d['estimate']:.1%} ({d['low']:.1%} - {d['high']:.1%})"

    rows = [
        (
            f"P(agreement before {scenario.calendar.deadline})",
            share(summary["p_agree_before_deadline"]),
        ),
        (f"P(agreement by {scenario.calendar.horizon})", share(summary["p_agree_by_horizon"])),
        ("P(treaty ratified by both)", share(summary["p_in_force"])),
        ("median agreement date", str(summary["median_agreement_date"])),
    ]
    for name, value in summary["median_package"].items():
        unit = scenario.issues[name].unit
        rows.append((f"median agreed {name}", "-" if value is None else f"{value:,.1f} {unit}"))
    for party, value in summary["mean_utility"].items():
        label = scenario.parties[party].name
        rows.append((f"mean utility to {label}", "-" if value is None else f"{value:.3f}"))
    return rows


def write_run_report(out: Path, scenario: Scenario, summary: dict, weekly: pd.DataFrame) -> Path:
    """report.html for one run: header, headline table, figures with captions, the scenario."""
    issues = [f"package_{i}" for i in scenario.issues]
    utilities = [f"utility_{p}" for p in scenario.party_names()]
    agreed = pq.read_table(
        out / "runs.parquet", columns=["agreed", *issues, *utilities]
    ).to_pandas()
    agreed = agreed[agreed["agreed"]]
    sample = agreed.sample(min(len(agreed), 5000), random_state=0) if len(agreed) else agreed
    sections = [
        (
            agreement_figure(weekly, scenario),
            "Read the height of the step at the dashed line: the chance a treaty is signed before START I expires.",
        ),
        (
            offers_figure(weekly, scenario, summary),
            "Each band is where the middle 80% of a party's offers lie among talks still open; bands meeting means a deal.",
        ),
        (
            agreed_values_figure(agreed, scenario),
            "Where the signed treaties land on each issue: a narrow peak means the outcome is robust to chance.",
        ),
        (
            utility_figure(sample, scenario),
            utility_caption(scenario),
        ),
    ]
    events = events_figure(summary)
    if events is not None:
        sections.append(
            (
                events,
                "Compare the two green bars: an event that moves them apart matters (random events reach only talks still open, so 'fired' leans toward long talks).",
            )
        )
    meta = {
        "seed": scenario.seed,
        "replications": f"{scenario.replications:,}",
        "run": store.now(),
    }
    return write_page(
        out / "report.html",
        f"negsim: {scenario.name}",
        scenario.description,
        meta,
        headline_rows(summary, scenario),
        sections,
        yaml.safe_dump(scenario.model_dump(mode="json", exclude_none=True), sort_keys=False),
        appendix_title="What went in: the resolved scenario (YAML, after extends: and --set)",
    )


def readable_time(value: object) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' for a header; anything else as text."""
    text = str(value)
    if len(text) >= 19 and text[10] == "T":
        try:
            stamp = datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            return text
        return f"{stamp:%Y-%m-%d %H:%M} UTC"
    return text


def write_page(
    path: Path,
    title: str,
    description: str,
    meta: dict,
    headline: list[tuple[str, str]],
    sections: list[tuple[go.Figure, str]],
    appendix: str,
    appendix_title: str = "What went in",
) -> Path:
    """Write an HTML report that loads plotly.js from its own folder (works offline).

    The header always names the negsim version and a date (when written, if meta has none).
    """
    meta = {**meta, "negsim": meta.get("negsim") or store.versions().get("negsim", "?")}
    if all(readable_time(v) == str(v) for v in meta.values()):  # no date given: when written
        meta["written"] = store.now()
    js = path.parent / PLOTLY_JS
    if not js.exists():
        store.write_atomic(js, get_plotlyjs())
    meta_html = " &middot; ".join(
        f"{k}: <b>{html.escape(readable_time(v))}</b>" for k, v in meta.items()
    )
    table = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in headline
    )
    figures = "".join(
        f"<figure>{fig.to_html(full_html=False, include_plotlyjs=False)}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for fig, caption in sections
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<script src="{PLOTLY_JS}"></script>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td {{ padding: 2px 12px; border-bottom: 1px solid #ddd; }}
figure {{ margin: 2em 0; }} figcaption {{ color: #555; font-style: italic; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(description)}</p>
<p class="meta">{meta_html}</p>
<h2>Headline figures</h2><table class="headline">{table}</table>
{figures}
<details><summary>{html.escape(appendix_title)}</summary><pre>{html.escape(appendix)}</pre></details>
</body></html>
"""
    store.write_atomic(path, page)
    return path
