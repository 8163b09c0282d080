"""story-lane-K.html: one lane's offers per issue over time, its events and its signature."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.calendar import Clock
from sim.labels import event_label
from sim.report import CALENDAR_KEY, mark_calendar, party_colour, write_page
from sim.run import resolved_yaml
from sim.story import Story


def story_figure(story: Story) -> go.Figure:
    """A row per issue: each party's offers week by week; events dotted; the signed package."""
    scn, run = story.scenario, story.run
    clock = Clock.from_calendar(scn.calendar)
    issues = list(scn.issues)
    fig = make_subplots(
        rows=len(issues),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{i.replace('_', ' ')} ({scn.issues[i].unit})" for i in issues],
        vertical_spacing=0.04,
    )
    for p, key in enumerate(scn.party_names()):
        for row, issue in enumerate(issues, start=1):
            part = story.offers[(story.offers["party"] == key) & (story.offers["issue"] == issue)]
            fig.add_trace(
                go.Scatter(
                    x=part["date"],
                    y=part["offer"],
                    mode="lines",
                    line={"color": party_colour(key, p), "shape": "hv"},
                    name=scn.parties[key].name,
                    legendgroup=key,
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
    if run["agreed"]:
        day = clock.date(run["agreed_week"])
        for row, issue in enumerate(issues, start=1):
            fig.add_trace(
                go.Scatter(
                    x=[day],
                    y=[run[f"package_{issue}"]],
                    mode="markers",
                    marker={"symbol": "star", "size": 13, "color": "#222"},
                    name="signed package",
                    legendgroup="signed",
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
    mark_calendar(fig, scn, rows=len(issues))
    for name in scn.events:
        week = run[f"event_{name}_week"]
        if week >= 0:
            fig.add_vline(x=clock.date(week), line={"dash": "dot", "color": "#7d3c98"})
            fig.add_annotation(
                x=clock.date(week),
                y=1,
                yref="y domain",
                text=event_label(scn, name)[:40],
                showarrow=False,
                textangle=-90,
                xanchor="left",
                yanchor="top",
                font={"size": 10, "color": "#7d3c98"},
            )
    fig.update_layout(
        title=f"Lane {story.lane}: offers week by week (star: the signed package)",
        height=230 * len(issues),
    )
    fig.update_xaxes(title_text=CALENDAR_KEY, row=len(issues), col=1)
    return fig


def write_story_report(path: Path, story: Story) -> Path:
    """An HTML page with the lane's story in sentences and its figure."""
    scn = story.scenario
    rows = [(f"{k}.", sentence) for k, sentence in enumerate(story.sentences, start=1)]
    meta = {"seed": scn.seed, "lane": story.lane, "offers from": story.source}
    caption = (
        "Lines are each party's standing offer (purple dotted lines: events that fired in this "
        "lane); where the lines meet, a party accepted."
    )
    return write_page(
        path,
        f"negsim story: {scn.name}, lane {story.lane}",
        "Why this lane ended as it did, week by week.",
        meta,
        rows,
        [(story_figure(story), caption)],
        resolved_yaml(scn),
        appendix_title="What went in: the resolved scenario (YAML)",
    )
