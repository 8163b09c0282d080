"""One replication told as a story (`--trace`): its offers week by week, events, signature, votes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from sim.calendar import Clock
from sim.labels import (
    event_name,
    issue_name,
    long_date,
    number,
    party_name,
    ratifier_name,
)
from sim.labels import round_name as round_of
from sim.page import Section
from sim.scenario import Scenario


def sample_lane(runs: pd.DataFrame) -> int:
    """The traced lane that signs closest to the traced lanes' median week (else the first)."""
    signed = runs[runs["agreed"]]
    if signed.empty:
        return int(runs["lane"].iloc[0])
    median = signed["agreed_week"].median()
    return int(signed.iloc[(signed["agreed_week"] - median).abs().argmin()]["lane"])


def fired_events(lane: pd.Series, scenario: Scenario) -> list[tuple[str, int]]:
    """(event key, first week fired) of the events that fired in this lane, in time order."""
    found = [
        (key, int(lane[f"event_{key}_week"]))
        for key in scenario.events
        if f"event_{key}_week" in lane and lane[f"event_{key}_week"] >= 0
    ]
    return sorted(found, key=lambda e: e[1])


def story_section(out: Path, scenario: Scenario) -> Section | None:
    """The story of a sample traced lane, or None when the run kept no traces."""
    if not (out / "traces.parquet").is_file():
        return None
    traces = pd.read_parquet(out / "traces.parquet")
    if traces.empty:
        return None
    lanes = sorted(traces["lane"].unique().tolist())
    runs = pq.read_table(out / "runs.parquet", filters=[("lane", "in", lanes)]).to_pandas()
    lane = sample_lane(runs)
    row = runs[runs["lane"] == lane].iloc[0]
    mine = traces[traces["lane"] == lane]
    if row["agreed"]:  # the story ends at signature
        mine = mine[mine["week"] <= int(row["agreed_week"])]
    clock = Clock.from_calendar(scenario.calendar)
    events = fired_events(row, scenario)
    return Section(
        f"One replication told as a story (replication {lane}, one of {len(lanes)} traced)",
        "Each line is a party's offer in this one replication; vertical lines: numbered events, "
        "signature (solid) and the ratification vote (green). Other replications differ: the "
        "figures above give the spread. Grey: talks rounds; dotted: summits; dashed: START I "
        "expires.",
        [story_figure(mine, row, scenario, clock, events)],
        note=" ".join(narrative(mine, row, scenario, clock, events)),
    )


def story_figure(
    trace: pd.DataFrame,
    lane: pd.Series,
    scenario: Scenario,
    clock: Clock,
    events: list[tuple[str, int]],
) -> go.Figure:
    """Offers per issue week by week for one lane, with its events, signature and vote."""
    from sim.report import CALENDAR_KEY, issue_panels, mark_calendar, party_colour

    issues = list(scenario.issues.items())
    fig = issue_panels(scenario)
    for p, party in enumerate(scenario.party_names()):
        label = party_name(scenario, party)
        for row, (name, spec) in enumerate(issues, start=1):
            offers = trace[(trace["party"] == party) & (trace["issue"] == name)].sort_values("week")
            fig.add_trace(
                go.Scatter(
                    x=offers["date"],
                    y=offers["offer"],
                    mode="lines",
                    line={"color": party_colour(party, p), "shape": "hv"},
                    name=f"{label} offer",
                    legendgroup=party,
                    showlegend=row == 1,
                    hovertemplate=f"%{{x|%d %b %Y}}<br>{label} offers %{{y:,.4~g}} {spec.unit}"
                    f"<extra>issues.{name}</extra>",
                ),
                row=row,
                col=1,
            )
    marks = [(clock.date(week), "#888", "dot") for _, week in events]
    if lane["agreed"]:
        marks.append((clock.date(int(lane["agreed_week"])), "#222", "solid"))
    vote = lane.get("in_force_week", -1)
    if lane["agreed"] and vote is not None and vote >= 0:
        marks.append((clock.date(int(vote)), "#117a65", "dash"))
    for day, colour, dash in marks:
        fig.add_vline(x=day, line_color=colour, line_dash=dash, line_width=1.5)
    if events:
        fig.add_trace(
            go.Scatter(
                x=[clock.date(week) for _, week in events],
                y=[issues[0][1].max] * len(events),
                mode="text",
                text=[str(k) for k in range(1, len(events) + 1)],
                textposition="bottom right",
                customdata=[event_name(scenario, key, 200) for key, _ in events],
                hovertemplate="%{x|%d %b %Y}: %{customdata}<extra>event</extra>",
                showlegend=False,
                textfont={"size": 13, "color": "#555"},
            ),
            row=1,
            col=1,
        )
    mark_calendar(fig, scenario, rows=len(issues))
    fig.update_layout(title="One replication told as a story", height=170 * len(issues) + 120)
    fig.update_xaxes(title_text=CALENDAR_KEY, row=len(issues), col=1)
    return fig


def narrative(
    trace: pd.DataFrame,
    lane: pd.Series,
    scenario: Scenario,
    clock: Clock,
    events: list[tuple[str, int]],
) -> list[str]:
    """The same replication in a few sentences: openings, events, concessions, signature, votes."""
    said = []
    for k, (key, week) in enumerate(events, start=1):
        day = clock.date(week)
        where = round_of(scenario, day)
        said.append(
            f"({k}) {event_name(scenario, key, 200)}: {long_date(day)}"
            + (f", {where}." if where else ".")
        )
    for party in scenario.party_names():
        moves = _concessions(trace[trace["party"] == party], scenario)
        if moves:
            issue, first, last = moves
            span = scenario.issues[issue].max - scenario.issues[issue].min
            said.append(
                f"{party_name(scenario, party)} moved most on {issue_name(scenario, issue).lower()}"
                f" ({number(first, span)} to {number(last, span)} {scenario.issues[issue].unit})."
            )
    if not lane["agreed"]:
        said.append("The talks never produced a signed treaty.")
        return said
    day = clock.date(int(lane["agreed_week"]))
    where = round_of(scenario, day)
    said.append(f"The treaty was signed on {long_date(day)}" + (f" ({where})." if where else "."))
    said.append(_votes(lane, scenario, clock))
    return said


def _concessions(offers: pd.DataFrame, scenario: Scenario) -> tuple[str, float, float] | None:
    """The issue this party moved furthest on (as a share of its range): first and last offer."""
    best, size = None, 0.0
    for issue, spec in scenario.issues.items():
        values = offers[offers["issue"] == issue].sort_values("week")["offer"].dropna()
        if len(values) < 2:
            continue
        moved = abs(values.iloc[-1] - values.iloc[0]) / (spec.max - spec.min)
        if moved > size:
            best, size = (issue, float(values.iloc[0]), float(values.iloc[-1])), moved
    return best


def _votes(lane: pd.Series, scenario: Scenario, clock: Clock) -> str:
    """Who ratified, with vote shares where the run recorded them."""
    parts = []
    for party in scenario.party_names():
        body = ratifier_name(scenario, party)
        verdict = "ratified" if lane.get(f"ratified_{party}", False) else "did not ratify"
        share = next(
            (lane[c] for c in (f"vote_share_{party}", f"votes_{party}") if c in lane), None
        )
        tally = "" if share is None or np.isnan(share) else f" ({_tally(share)} yes)"
        parts.append(f"the {body} {verdict}{tally}")
    text = "; ".join(parts)
    vote = lane.get("in_force_week", -1)
    if lane.get("in_force", False) and vote is not None and vote >= 0:
        return f"Then {text}: the treaty entered into force on {long_date(clock.date(int(vote)))}."
    return f"Then {text}: the treaty did not enter into force."


def _tally(share: float) -> str:
    return f"{share:.0%}" if share <= 1 else f"{share:,.0f}"
