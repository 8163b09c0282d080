"""comparison.html: summary, the headline table (one column per scenario), then the figures."""

from __future__ import annotations

import html
import os
from pathlib import Path

import plotly.graph_objects as go

from sim import columns as col
from sim.compare import Entry, Headline, format_diff, format_value
from sim.labels import issue_name, wrap
from sim.page import Section, Table, write_page
from sim.summary_text import compare_sentences

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


def report_link(out: Path, entry: Entry) -> str:
    """Relative address of a compared run's own report, from the comparison folder."""
    return Path(os.path.relpath(entry.folder / "report.html", out)).as_posix()


def headline_table(out: Path, figures: list[Headline], entries: list[Entry]) -> Table:
    """One row per measure, one column per scenario; the difference to the first below."""
    cells: dict[str, dict[str, str]] = {}
    for f in figures:
        text = format_value(f) + (f"\n{format_diff(f)} vs {entries[0].name}" if f.diff else "")
        cells.setdefault(f.measure.label, {})[f.scenario] = text
    rows = [[label, *(row.get(e.name, "-") for e in entries)] for label, row in cells.items()]
    rows.append(["Own report", *(f"[report.html]({report_link(out, e)})" for e in entries)])
    return Table(["measure", *(e.name for e in entries)], rows)


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
                line={"color": scenario_colour(k), "shape": "hv", "dash": _dash(k)},
                hovertemplate=f"{entry.name}: %{{y:.1%}} signed by %{{x|%d %b %Y}}"
                "<extra>p_agreed</extra>",
            )
        )
    deadline = entries[0].scenario.calendar.deadline
    fig.add_vline(x=deadline, line_dash="dash", line_color="black")
    fig.update_layout(
        title=f"Probability that a treaty has been signed, by date (dashed: deadline {deadline})",
        xaxis_title="date",
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%",
        height=420,
    )
    return fig


def _dash(position: int) -> str:
    """Line styles that keep overlapping curves apart."""
    return ("solid", "dash", "dot", "dashdot")[position % 4]


def agreed_value_boxes(
    entries: list[Entry], sample: int = 3000
) -> tuple[list[go.Figure], list[str]]:
    """Agreed values per issue, scenarios side by side: one small box plot per issue."""
    issues = {}
    for entry in entries:
        issues |= dict(entry.scenario.issues)
    figures, titles = [], []
    for name, spec in issues.items():
        fig = go.Figure()
        for k, entry in enumerate(entries):
            column = col.package(name)
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
                    marker_color=scenario_colour(k),
                    boxpoints=False,
                    hovertemplate=f"{entry.name}: %{{y:,.4~g}} {spec.unit}<extra>{column}</extra>",
                )
            )
        pad = 0.02 * (spec.max - spec.min)
        fig.update_yaxes(range=[spec.min - pad, spec.max + pad], title_text=wrap(spec.unit, 28))
        fig.update_layout(title=issue_name(entries[0].scenario, name), height=300, showlegend=False)
        figures.append(fig)
        titles.append(issue_name(entries[0].scenario, name))
    return figures, titles


def bars(figures: list[Headline], keys: list[str], entries: list[Entry], title: str) -> go.Figure:
    """Grouped bars with 95% error bars: one group per measure, one bar per scenario."""
    fig = go.Figure()
    for k, entry in enumerate(entries):
        rows = {
            f.measure.key: f for f in figures if f.scenario == entry.name and f.measure.key in keys
        }
        shown = [k for k in keys if k in rows]
        fig.add_trace(
            go.Bar(
                x=[wrap(rows[k].measure.label, 22) for k in shown],
                y=[rows[k].estimate for k in shown],
                customdata=[[rows[k].low, rows[k].high, k] for k in shown],
                name=entry.name,
                marker_color=scenario_colour(k),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [rows[k].high - rows[k].estimate for k in shown],
                    "arrayminus": [rows[k].estimate - rows[k].low for k in shown],
                },
                hovertemplate=f"{entry.name}: %{{y:.3f}} (%{{customdata[0]:.3f}} to "
                "%{customdata[1]:.3f})<extra>%{customdata[2]}</extra>",
            )
        )
    fig.update_layout(title=title, barmode="group", height=400)
    if all(f.share for f in figures if f.measure.key in keys):
        fig.update_layout(yaxis_range=[0, 1.05], yaxis_tickformat=".0%")
    return fig


def scenario_list(out: Path, entries: list[Entry]) -> str:
    """Each compared scenario: its name, its own report, what it asks."""
    items = "".join(
        f'<li><b>{html.escape(e.name)}</b> (<a href="{html.escape(report_link(out, e))}">'
        f"its report</a>): {html.escape(e.scenario.description.strip())}</li>"
        for e in entries
    )
    return f"<h2>Scenarios compared</h2><ul>{items}</ul>"


def write_comparison_report(out: Path, entries: list[Entry], figures: list[Headline]) -> Path:
    """comparison.html: summary, the headline table first, the figures, links to each run."""
    first = entries[0].name
    keys = list(dict.fromkeys(f.measure.key for f in figures))
    utilities = [k for k in keys if k.startswith("mean_utility.")]
    ratification = [k for k in keys if k == "p_in_force" or k.startswith("p_ratified.")]
    boxes, titles = agreed_value_boxes(entries)
    sections = [
        Section(
            "Probability that a treaty has been signed, by date",
            "Lines apart at the dashed deadline: the scenarios differ in the chance of a treaty in time.",
            [agreement_overlay(entries)],
        ),
        Section(
            "Agreed value per issue over replications that signed",
            "Box: the middle half of signed treaties; whiskers: their spread. Shifted boxes mean "
            "a different deal, not only a different chance of one.",
            boxes,
            subtitles=titles,
        ),
        Section(
            "Mean utility of a signed treaty to each party (bars: 95% intervals)",
            "A party gains from a scenario when its bar rises beyond the other's interval.",
            [bars(figures, utilities, entries, "Mean utility of a signed treaty")],
        ),
        Section(
            "Ratification (bars: 95% intervals)",
            "First group: the chance a treaty enters into force; the others: ratification once signed.",
            [bars(figures, ratification, entries, "Ratification")],
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
        compare_sentences(figures, [e.name for e in entries], [e.scenario for e in entries]),
        f"Differences are to {first}, with 95% intervals (paired Newcombe for shares when the "
        "seeds match, Welch for means, order statistics for medians), in percentage points for "
        "shares.",
        meta,
        headline_table(out, figures, entries),
        sections,
        folders,
        appendix_title="Results folders compared",
        extra_html=scenario_list(out, entries),
    )
