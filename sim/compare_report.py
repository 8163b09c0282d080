"""comparison.html: agreement over time overlaid, agreed values side by side, utilities, ratification."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.compare import Entry, Headline, format_diff, format_value
from sim.report import write_page

SCENARIO_COLOURS = [
    "#222222",
    "#e67e22",
    "#16a085",
    "#8e44ad",
    "#5d6d7e",
    "#b7950b",
    "#6e2c00",
]  # not the party colours


def scenario_colour(position: int) -> str:
    """Same colour for a scenario in every figure of the comparison."""
    return SCENARIO_COLOURS[position % len(SCENARIO_COLOURS)]


def agreement_overlay(entries: list[Entry]) -> go.Figure:
    """Cumulative probability of a signed treaty by date, one line per scenario."""
    fig = go.Figure()
    for k, entry in enumerate(entries):
        fig.add_trace(
            go.Scatter(
                x=entry.timeline["date"],
                y=entry.timeline["p_agreed"],
                mode="lines",
                name=entry.name,
                line={"color": scenario_colour(k), "shape": "hv"},
            )
        )
    deadline = entries[0].scenario.calendar.deadline
    fig.add_vline(x=deadline, line_dash="dash", line_color="black")
    fig.update_layout(
        title=f"Probability that a treaty has been signed, by date (dashed: deadline {deadline})",
        xaxis_title="date",
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
    )
    return fig


def agreed_values_side_by_side(entries: list[Entry], sample: int = 3000) -> go.Figure:
    """Distribution of agreed values per issue, scenarios side by side (box plots)."""
    issues = {}
    for entry in entries:
        issues |= dict(entry.scenario.issues)
    fig = make_subplots(rows=1, cols=len(issues), subplot_titles=list(issues))
    for col, (name, spec) in enumerate(issues.items(), start=1):
        for k, entry in enumerate(entries):
            column = f"package_{name}"
            if column not in entry.runs:
                continue
            agreed = entry.agreed[column]
            values = (
                agreed.sample(min(len(agreed), sample), random_state=0) if len(agreed) else agreed
            )
            fig.add_trace(
                go.Box(
                    y=values,
                    name=entry.name,
                    legendgroup=entry.name,
                    showlegend=col == 1,
                    marker_color=scenario_colour(k),
                    boxpoints=False,
                ),
                row=1,
                col=col,
            )
        pad = 0.02 * (spec.max - spec.min)
        fig.update_yaxes(
            range=[spec.min - pad, spec.max + pad], title_text=spec.unit, row=1, col=col
        )
        fig.update_xaxes(showticklabels=False, row=1, col=col)
    fig.update_layout(
        title="Agreed value per issue over replications that signed (box: middle half; whiskers: spread)",
        height=440,
    )
    return fig


def bars(
    figures: list[Headline], measures: list[str], entries: list[Entry], title: str
) -> go.Figure:
    """Grouped bars with 95% error bars: one group per measure, one bar per scenario."""
    fig = go.Figure()
    for k, entry in enumerate(entries):
        rows = {f.measure: f for f in figures if f.scenario == entry.name and f.measure in measures}
        shown = [m for m in measures if m in rows]
        fig.add_trace(
            go.Bar(
                x=shown,
                y=[rows[m].estimate for m in shown],
                name=entry.name,
                marker_color=scenario_colour(k),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [rows[m].high - rows[m].estimate for m in shown],
                    "arrayminus": [rows[m].estimate - rows[m].low for m in shown],
                },
            )
        )
    fig.update_layout(title=title, barmode="group", yaxis_range=[0, 1.05])
    return fig


def write_comparison_report(out: Path, entries: list[Entry], figures: list[Headline]) -> Path:
    """comparison.html with the headline table (difference to the first scenario) and figures."""
    first = entries[0].name
    headline = [
        (
            f"{f.measure}: {f.scenario}",
            format_value(f) + (f"; vs {first}: {format_diff(f)}" if f.diff else ""),
        )
        for f in figures
    ]
    measures = list(dict.fromkeys(f.measure for f in figures))
    utilities = [m for m in measures if m.startswith("mean utility")]
    ratification = [m for m in measures if m.startswith("P(ratified") or m.startswith("P(treaty")]
    sections = [
        (
            agreement_overlay(entries),
            "Lines apart at the dashed deadline: the scenarios differ in the chance of a treaty in time.",
        ),
        (
            agreed_values_side_by_side(entries),
            "Where signed treaties land on each issue; shifted boxes mean a different deal, not only a different chance of one.",
        ),
        (
            bars(
                figures,
                utilities,
                entries,
                "Mean utility of a signed treaty to each party (bars: 95% intervals)",
            ),
            "A party gains from a scenario when its bar rises beyond the other's interval.",
        ),
        (
            bars(figures, ratification, entries, "Ratification (bars: 95% intervals)"),
            "First group: the chance a treaty enters into force; the others: ratification once signed.",
        ),
    ]
    meta = {
        "scenarios": ", ".join(e.name for e in entries),
        "replications": ", ".join(f"{len(e.runs):,}" for e in entries),
        "seeds": ", ".join(sorted({str(e.scenario.seed) for e in entries})),
    }
    folders = "\n".join(f"{e.name}: {e.folder}" for e in entries)
    return write_page(
        out / "comparison.html",
        "negsim comparison: " + " vs ".join(e.name for e in entries),
        f"Differences are to {first}, with 95% intervals (Newcombe for shares, Welch for means).",
        meta,
        headline,
        sections,
        folders,
        appendix_title="Results folders compared",
    )
