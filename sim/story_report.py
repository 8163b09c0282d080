"""One lane told as a story: its figure (offers per issue week by week, numbered events,
signature and vote), on its own page (negsim story) or at the end of a traced run's report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from sim.calendar import Clock
from sim.labels import event_name, party_name
from sim.page import Section, Table, write_page
from sim.report import CALENDAR_KEY, CALENDAR_NOTE, issue_panels, mark_calendar, party_colour
from sim.run import resolved_yaml
from sim.scenario import Scenario
from sim.story import Story, story_of

CAPTION = (
    "Each line is a party's standing offer in this one lane; stars: the signed package; "
    "vertical lines: numbered events (dotted), the signature (solid) and the entry into force "
    "(green). Where the lines meet, a party accepted." + CALENDAR_NOTE
)


def fired(story: Story) -> list[tuple[str, int]]:
    """(event key, first week fired) of the events that fired in this lane, in time order."""
    found = [
        (key, int(story.run[f"event_{key}_week"]))
        for key in story.scenario.events
        if story.run.get(f"event_{key}_week", -1) >= 0
    ]
    return sorted(found, key=lambda e: e[1])


def story_figure(story: Story) -> go.Figure:
    """A panel per issue: each party's offers week by week, the signed package starred, the
    events numbered, the signature and the entry into force marked."""
    scn, run = story.scenario, story.run
    clock = Clock.from_calendar(scn.calendar)
    issues = list(scn.issues.items())
    fig = issue_panels(scn)
    for p, key in enumerate(scn.party_names()):
        label = party_name(scn, key)
        for row, (issue, spec) in enumerate(issues, start=1):
            part = story.offers[(story.offers["party"] == key) & (story.offers["issue"] == issue)]
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part["offer"],
                    mode="lines",
                    line={"color": party_colour(key, p), "shape": "hv"},
                    name=f"{label} offer",
                    legendgroup=key,
                    showlegend=row == 1,
                    hovertemplate=f"%{{x|%d %b %Y}}<br>{label} offers %{{y:,.4~g}} {spec.unit}"
                    f"<extra>issues.{issue}</extra>",
                ),
                row=row,
                col=1,
            )
    if run["agreed"]:
        day = clock.date(run["agreed_week"])
        for row, (issue, spec) in enumerate(issues, start=1):
            fig.add_trace(
                go.Scatter(
                    x=[day],
                    y=[run[f"package_{issue}"]],
                    mode="markers",
                    marker={"symbol": "star", "size": 13, "color": "#222"},
                    name="signed package",
                    legendgroup="signed",
                    showlegend=row == 1,
                    hovertemplate=f"signed: %{{y:,.4~g}} {spec.unit}<extra>package_{issue}</extra>",
                ),
                row=row,
                col=1,
            )
        fig.add_vline(x=day, line_color="#222", line_width=1.5)
        if run.get("in_force") and run.get("in_force_week", -1) >= 0:
            fig.add_vline(
                x=clock.date(run["in_force_week"]), line_color="#117a65", line_dash="dash"
            )
    events = fired(story)
    for _, week in events:
        fig.add_vline(x=clock.date(week), line_color="#7d3c98", line_dash="dot")
    for k, (key, week) in enumerate(events, start=1):  # numbered, told in the event key below
        fig.add_annotation(
            x=clock.date(week),
            y=1,
            yref="y domain",
            text=str(k),
            hovertext=event_name(scn, key, 200),
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 13, "color": "#7d3c98"},
        )
    mark_calendar(fig, scn, rows=len(issues))
    fig.update_layout(
        title=f"Lane {story.lane}: offers week by week", height=170 * len(issues) + 120
    )
    fig.update_xaxes(title_text=CALENDAR_KEY, row=len(issues), col=1)
    return fig


def event_key(story: Story) -> str:
    """'Events: (1) ... 17 September 2009; (2) ...' naming the figure's numbers."""
    clock = Clock.from_calendar(story.scenario.calendar)
    parts = [
        f"({k}) {event_name(story.scenario, key, 200)}, {clock.date(week):%d %B %Y}"
        for k, (key, week) in enumerate(fired(story), start=1)
    ]
    return ("Events: " + "; ".join(parts) + ".") if parts else "No event fired in this lane."


def sample_lane(runs: pd.DataFrame) -> int:
    """The lane that signs closest to the median week of these lanes (else the first)."""
    signed = runs[runs["agreed"]]
    if signed.empty:
        return int(runs["lane"].iloc[0])
    median = signed["agreed_week"].median()
    return int(signed.iloc[(signed["agreed_week"] - median).abs().argmin()]["lane"])


def story_section(out: Path, scenario: Scenario) -> Section | None:
    """A traced run's report ends with one traced lane told as a story (None if not traced)."""
    traces = out / "traces.parquet"
    if not traces.is_file():
        return None
    lanes = sorted(pd.read_parquet(traces, columns=["lane"])["lane"].unique().tolist())
    if not lanes:
        return None
    runs = pq.read_table(
        out / "runs.parquet",
        columns=["lane", "agreed", "agreed_week"],
        filters=[("lane", "in", lanes)],
    ).to_pandas()
    story = story_of(out, scenario, sample_lane(runs))
    return Section(
        f"One replication told as a story (lane {story.lane}, one of {len(lanes)} traced)",
        CAPTION + " Other lanes differ: the figures above give the spread. "
        f"negsim story {out} --lane {story.lane} tells this one week by week, --lane K any other.",
        [story_figure(story)],
        note=" ".join([*story.sentences[:2], event_key(story)]),
    )


def write_story_report(path: Path, story: Story) -> Path:
    """An HTML page with the lane's story in sentences and its figure."""
    scn = story.scenario
    rows = [[f"{k}.", sentence] for k, sentence in enumerate(story.sentences, start=1)]
    meta = {"scenario": scn.name, "seed": scn.seed, "lane": story.lane, "offers from": story.source}
    return write_page(
        path,
        f"negsim story: {scn.name}, lane {story.lane}",
        story.sentences[:2],
        "Why this lane ended as it did, week by week.",
        meta,
        Table(["", "what happened"], rows),
        [
            Section(
                f"Lane {story.lane}: offers week by week",
                CAPTION,
                [story_figure(story)],
                note=event_key(story),
            )
        ],
        resolved_yaml(scn),
        appendix_title="What went in: the resolved scenario (YAML)",
    )
