"""Plotly figures of one run's report.html, labelled in the scenario's own words."""

from __future__ import annotations

import math
from concurrent.futures import Future
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import yaml
from plotly.subplots import make_subplots

from sim import columns as col
from sim import store
from sim.labels import (
    event_name,
    issue_name,
    opening_ideal,
    round_name,
    who_wants,
    wrap,
)
from sim.outcomes import (
    ParquetColumns,
    headline_measures,
    measure,
    nash_point,
    opening_frontier,
    summary_value,
    walk_aways,
)
from sim.page import Section, Table, write_page
from sim.scenario import Issue, Scenario
from sim.summary_text import run_sentences
from sim.uncertainty import Thirds, input_section

PARTY_COLOURS = {"russia": "#c0392b", "us": "#1f4e9c"}
FALLBACK = ["#7d3c98", "#138d75"]
CALENDAR_KEY = "date"
CALENDAR_NOTE = " Grey: talks rounds; dotted: summits; dashed: START I expires."


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
    """Cumulative probability of agreement over time; hover names the round of each week."""
    rounds = [round_name(scenario, d) or "between rounds" for d in weekly["date"]]
    fig = go.Figure(
        go.Scatter(
            x=weekly["date"],
            y=weekly["p_agreed"],
            customdata=rounds,
            mode="lines",
            name="P(agreement signed)",
            line={"color": "#222", "shape": "hv"},
            hovertemplate="%{x|%d %b %Y} (%{customdata})<br>signed by then: %{y:.1%}"
            "<extra>p_agreed</extra>",
        )
    )
    mark_calendar(fig, scenario)
    fig.update_layout(
        title="Probability that a treaty has been signed, by date",
        xaxis_title=CALENDAR_KEY,
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%",
        showlegend=False,
        height=420,
    )
    return fig


def min_open_lanes(replications: int) -> int:
    """Fewest replications still talking for a week's offer band to be drawn."""
    return max(10, math.ceil(0.01 * replications))


def issue_panels(scenario: Scenario) -> go.Figure:
    """One panel per issue, stacked on a shared date axis, titled with its name and unit."""
    issues = scenario.issues.items()
    return make_subplots(
        rows=len(issues),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045,
        subplot_titles=[wrap(f"{issue_name(scenario, n)} ({spec.unit})", 40) for n, spec in issues],
    )


def offers_figure(weekly: pd.DataFrame, scenario: Scenario, summary: dict) -> go.Figure:
    """Each party's offers per issue over time: median and 10-90% band while enough talks are
    open, each party's opening ideal (triangles at the left), the median agreed value dashed."""
    issues = list(scenario.issues.items())
    fig = issue_panels(scenario)
    floor = min_open_lanes(int(summary["replications"]))
    for p, party in enumerate(scenario.party_names()):
        colour = party_colour(party, p)
        label = scenario.parties[party].name
        for row, (name, spec) in enumerate(issues, start=1):
            col = f"offer_{party}_{name}"
            lanes = weekly.get(f"{col}_lanes", pd.Series(floor, index=weekly.index))
            thin = lanes < floor
            band = {q: weekly[f"{col}_p{q}"].mask(thin) for q in (10, 50, 90)}
            unit = spec.unit
            fig.add_trace(
                go.Scatter(
                    x=weekly["date"],
                    y=band[90],
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
                    y=band[10],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(colour, 0.2),
                    name=f"{label} 10-90%",
                    showlegend=row == 1,
                    legendgroup=party,
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=weekly["date"],
                    y=band[50],
                    customdata=np.column_stack([band[10], band[90], lanes]),
                    mode="lines",
                    line={"color": colour},
                    name=f"{label} median offer",
                    showlegend=row == 1,
                    legendgroup=party,
                    hovertemplate=f"%{{x|%d %b %Y}}<br>{label}: %{{y:,.4~g}} {unit}"
                    f"<br>middle 80%: %{{customdata[0]:,.4~g}} to %{{customdata[1]:,.4~g}}"
                    f"<br>%{{customdata[2]:,}} replications still talking<extra>issues.{name}</extra>",
                ),
                row=row,
                col=1,
            )
            ideal = opening_ideal(scenario, party, name)
            fig.add_trace(
                go.Scatter(
                    x=[weekly["date"].iloc[0]],
                    y=[ideal],
                    mode="markers",
                    marker={"symbol": "triangle-right", "size": 11, "color": colour},
                    name=f"{label} opening ideal",
                    showlegend=row == 1,
                    legendgroup=f"{party}-ideal",
                    hovertemplate=f"{label}'s opening ideal: %{{y:,.4~g}} {unit}"
                    f"<extra>parties.{party}</extra>",
                ),
                row=row,
                col=1,
            )
            pad = 0.04 * (spec.max - spec.min)
            fig.update_yaxes(range=[spec.min - pad, spec.max + pad], row=row, col=1)
    for row, (name, _) in enumerate(issues, start=1):
        agreed = summary["median_package"].get(name)
        if agreed is not None:
            fig.add_hline(y=agreed, line_dash="dash", line_color="#555", row=row, col=1)
    mark_calendar(fig, scenario, rows=len(issues))
    fig.update_layout(
        title="Offers per issue among talks still open (dashed grey: median agreed value)",
        height=200 * len(issues) + 120,
        xaxis_title=None,
    )
    fig.update_xaxes(title_text=CALENDAR_KEY, row=len(issues), col=1)
    return fig


def agreed_value_figures(packages: pd.DataFrame, scenario: Scenario) -> list[go.Figure]:
    """Distribution of agreed values, one small figure per issue (binned: 30 counts each)."""
    figures = []
    for name, spec in scenario.issues.items():
        counts, edges = np.histogram(packages[col.package(name)], 30, (spec.min, spec.max))
        fig = go.Figure(
            go.Histogram(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                histfunc="sum",
                xbins={"start": spec.min, "end": spec.max, "size": (spec.max - spec.min) / 30},
                marker_color="#555",
                name=issue_name(scenario, name),
                hovertemplate=f"%{{x}} {spec.unit}<br>%{{y}} agreements"
                f"<extra>package_{name}</extra>",
            )
        )
        for p, party in enumerate(scenario.party_names()):
            fig.add_vline(
                x=opening_ideal(scenario, party, name),
                line_dash="dot",
                line_color=party_colour(party, p),
            )
        pad = 0.04 * (spec.max - spec.min)  # room for the ticks at the scale's ends
        fig.update_xaxes(
            range=[spec.min - pad, spec.max + pad], title_text=spec.unit, **anchor_ticks(spec)
        )
        fig.update_yaxes(title_text="agreements")
        fig.update_layout(title=issue_name(scenario, name), height=260, showlegend=False)
        if spec.anchors:  # room for the label of the scale's top end
            fig.update_layout(margin_r=56)
        figures.append(fig)
    return figures


def anchor_ticks(spec: Issue) -> dict:
    """Tick labels in the scenario's words where it names points of the scale ('100: START I
    regime'); plotly's own ticks otherwise."""
    if not spec.anchors:
        return {}
    values = sorted(spec.anchors)
    text = [f"{v:g}<br>{wrap(spec.anchors[v], 16)}" for v in values]
    return {"tickvals": values, "ticktext": text, "ticklabeloverflow": "allow"}


def opening_nash(scenario: Scenario) -> tuple[float, float] | None:
    """Nash point of the opening frontier, or None when the reservations leave no deal zone."""
    r1, r2 = walk_aways(scenario)
    nash = nash_point(opening_frontier(scenario), r1, r2)
    return None if math.isnan(nash[0]) else nash


def utility_caption(scenario: Scenario) -> str:
    """How to read the utility figure; says so when there is no Nash point to show."""
    beyond = (
        " The frontier is that of the opening mandates: events and the talks themselves move "
        "mandates, so some agreements lie beyond it."
    )
    if opening_nash(scenario) is None:
        return (
            "Points near the green frontier are efficient; no Nash star: the opening "
            "reservations (dotted) lie beyond the frontier." + beyond
        )
    return (
        "Points near the green frontier are efficient; the star is the Nash bargaining solution."
        + beyond
    )


def utility_figure(utilities: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Agreements in utility space, the opening Pareto frontier and the Nash point."""
    first, second = scenario.party_names()
    frontier = opening_frontier(scenario)
    r1, r2 = walk_aways(scenario)
    nash = opening_nash(scenario)
    names = [scenario.parties[p].name for p in (first, second)]
    pair = f"{names[0]} %{{x:.3f}}, {names[1]} %{{y:.3f}}"
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=utilities[col.utility(first)],
            y=utilities[col.utility(second)],
            mode="markers",
            marker={"size": 4, "color": "#555", "opacity": 0.35},
            name="agreements",
            hovertemplate=f"a signed treaty, worth to {pair}<extra>utility_{first}, utility_{second}</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=frontier[:, 0],
            y=frontier[:, 1],
            mode="lines",
            line={"color": "#117a65"},
            name="Pareto frontier (opening mandates)",
            hovertemplate=f"efficient package: {pair}<extra></extra>",
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
                hovertemplate=f"Nash bargaining solution: {pair}<extra></extra>",
            )
        )
    fig.add_vline(x=r1, line_dash="dot", line_color=party_colour(first, 0))
    fig.add_hline(y=r2, line_dash="dot", line_color=party_colour(second, 1))
    fig.update_layout(
        title="Agreements in utility space (dotted: opening walk-away utilities)",
        xaxis_title=wrap(f"utility to {names[0]} (1 = its ideal package)", 36),
        yaxis_title=wrap(f"utility to {names[1]} (1 = its ideal package)", 36),
        height=480,
    )
    return fig


EVENT_MEASURES = (  # the shares the events figure shows, with their colours
    ("p_agree_before_deadline", "#117a65"),
    ("p_in_force", "#1f4e9c"),
)
EVENTS_TITLE = "Events: what each does, forced on against forced off"
EVENTS_CAPTION = (
    "Each bar is the change in points when the event is forced on against forced off, same "
    "seed, paired 95% intervals (whiskers): the run's replications (its first 2,000 at most) "
    "simulated twice, once with the event and once without, compared lane by lane. A bar whose "
    "whisker crosses zero is no clear effect."
)


def events_figure(events: pd.DataFrame, scenario: Scenario) -> go.Figure | None:
    """Each event's effect (forced on - forced off, paired 95% interval) from events.parquet;
    None when the scenario has no events."""
    if events.empty:
        return None
    keys = list(dict.fromkeys(events["event"]))[::-1]  # first event on top
    labels = [wrap(event_name(scenario, k, 80), 26) for k in keys]
    fig = go.Figure()
    for key, colour in EVENT_MEASURES[::-1]:  # reversed: first measure on top
        name = measure(scenario, key).label
        rows = events[events["measure"] == key].set_index("event").loc[keys]
        effect, low, high = (100 * rows[c].to_numpy(dtype=float) for c in ("effect", "low", "high"))
        fig.add_trace(
            go.Bar(
                y=labels,
                x=effect,
                customdata=[
                    [lo, hi, 100 * off, 100 * on, f"events.{k}"]
                    for lo, hi, off, on, k in zip(
                        low, high, rows["off"], rows["on"], keys, strict=True
                    )
                ],
                orientation="h",
                name=name,
                marker_color=colour,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.nan_to_num(high - effect),
                    "arrayminus": np.nan_to_num(effect - low),
                },
                hovertemplate=f"{name}: %{{x:+.1f}} pts (%{{customdata[0]:+.1f}} to "
                "%{customdata[1]:+.1f})<br>off %{customdata[2]:.1f}%, on %{customdata[3]:.1f}%"
                "<extra>%{customdata[4]}</extra>",
            )
        )
    fig.add_vline(x=0, line_color="#555")
    fig.update_layout(
        title=EVENTS_TITLE,
        barmode="group",
        xaxis_title="on minus off (points)",
        xaxis_ticksuffix=" pts",
        yaxis_automargin=True,
        height=140 + 95 * len(keys),
        legend_traceorder="reversed",
    )
    return fig


def events_section(out: Path, scenario: Scenario) -> Section:
    """The events figure drawn from events.parquet, or a caption saying why there is none."""
    path = out / "events.parquet"
    events = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    fig = events_figure(events, scenario)
    if fig is None:
        why = "this scenario has no events" if not scenario.events else "events.parquet is missing"
        return Section(EVENTS_TITLE, f"No events figure: {why}.", [])
    return Section(EVENTS_TITLE, EVENTS_CAPTION, [fig])


def headline_rows(summary: dict, scenario: Scenario) -> list[tuple[str, str]]:
    """The headline figures as (label, text) pairs, shared by terminal and HTML."""
    return [(m.label, m.text(summary_value(summary, m.key))) for m in headline_measures(scenario)]


class SignedLanes:
    """The signed lanes' values in runs.parquet, read one column at a time, so a report of
    10^6 replications needs no more memory than one of 10^4 does."""

    def __init__(self, path: Path) -> None:
        self.runs = ParquetColumns(path)
        self.mask = np.asarray(self.runs[col.AGREED], dtype=bool)

    def __len__(self) -> int:
        return int(self.mask.sum())

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.runs[name])[self.mask]

    def sample(self, columns: list[str], most: int) -> pd.DataFrame:
        """At most `most` signed lanes drawn without replacement with seed 0 (the rows
        DataFrame.sample(random_state=0) picks), so the figure is the same at any size."""
        n = len(self)
        rows = np.random.RandomState(0).choice(n, size=min(n, most), replace=False) if n else []
        return pd.DataFrame({c: self[c][rows] for c in columns})


def write_run_report(
    out: Path,
    scenario: Scenario,
    summary: dict,
    weekly: pd.DataFrame,
    inputs: Future[Thirds] | None = None,
) -> Path:
    """report.html for one run: summary, headline table, figures with captions, the scenario;
    `inputs`: the uncertain inputs' thirds being computed elsewhere (else computed here)."""
    agreed = SignedLanes(out / "runs.parquet")
    sample = agreed.sample([col.utility(p) for p in scenario.party_names()], 5000)
    floor = min_open_lanes(int(summary["replications"]))
    sections = [
        Section(
            "Probability that a treaty has been signed, by date",
            "Read the height of the step at the dashed line: the chance a treaty is signed before "
            "START I expires." + CALENDAR_NOTE,
            [agreement_figure(weekly, scenario)],
        ),
        Section(
            "Offers per issue among talks still open (dashed grey: median agreed value)",
            "Each band is where the middle 80% of a party's offers lie among talks still open "
            f"(drawn while at least {floor} replications are); triangles mark each party's "
            "opening ideal, so you see which end of the scale each wants; bands meeting means a deal."
            + CALENDAR_NOTE,
            [offers_figure(weekly, scenario, summary)],
        ),
        Section(
            "Agreed value per issue, over replications that signed",
            "Where the signed treaties land on each issue (dotted: each party's opening ideal in "
            "its colour): a narrow peak means the outcome is robust to chance.",
            agreed_value_figures(agreed, scenario),
            subtitles=[
                f"{issue_name(scenario, n)} (opening ideals: {who_wants(scenario, n)})"
                for n in scenario.issues
            ],
        ),
        Section(
            "Agreements in utility space (dotted: opening walk-away utilities)",
            utility_caption(scenario),
            [utility_figure(sample, scenario)],
        ),
    ]
    sections.append(events_section(out, scenario))
    found = inputs.result() if inputs is not None else None
    section = input_section(out / "runs.parquet", scenario, found)
    if section is not None:
        sections.append(section)
    from sim.story_report import story_section  # it draws with this module's helpers

    story = story_section(out, scenario)
    if story is not None:
        sections.append(story)
    meta = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": f"{scenario.replications:,}",
        "run": store.now(),
    }
    return write_page(
        out / "report.html",
        f"negsim: {scenario.name}",
        run_sentences(summary, scenario),
        scenario.description,
        meta,
        Table(
            ["measure", "value (95% interval)"], [list(r) for r in headline_rows(summary, scenario)]
        ),
        sections,
        yaml.safe_dump(scenario.model_dump(mode="json", exclude_none=True), sort_keys=False),
        appendix_title="What went in: the resolved scenario (YAML, after extends: and --set)",
    )
