"""Why one lane ended as it did: week by week, who offered what, which events fired and what
they moved, who closed the gap on each issue, the signature and the votes.

The offers come from traces.parquet when the run traced the lane; otherwise the lane is played
again on its own, which gives the same history: every draw is keyed by (seed, purpose, lane,
week), never by the lanes beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim import store
from sim.calendar import Clock
from sim.errors import NegsimError
from sim.labels import event_label, path_label, value_text
from sim.loader import ScenarioError, load_scenario
from sim.model import NegotiationModel
from sim.scenario import Effect, Party, Scenario

MOVED = 1e-9  # an offer that changed by less than this did not move


class StoryError(NegsimError):
    """No such lane, or not a finished run folder."""


@dataclass
class Story:
    """One lane's history: its offers week by week, its row of runs.parquet, and the telling."""

    lane: int
    scenario: Scenario
    offers: pd.DataFrame  # week, date, party, issue, offer (as in traces.parquet)
    run: dict
    source: str  # "traces.parquet" or "played again"
    sentences: list[str]


def lane_story(folder: Path, lane: int, replay: bool = False) -> Story:
    """The story of lane `lane` of a finished run (replay: play it again even if traced)."""
    manifest = store.read_manifest(folder)
    if manifest.get("status") != "complete" or manifest.get("kind", "run") != "run":
        raise StoryError(f"{folder}: not a finished run folder")
    try:
        scenario = load_scenario(folder / "scenario.yaml")
    except ScenarioError as err:
        raise StoryError(str(err)) from None
    return story_of(folder, scenario, lane, replay)


def story_of(folder: Path, scenario: Scenario, lane: int, replay: bool = False) -> Story:
    """The story of a lane from a folder's runs.parquet (and traces.parquet), finished or not:
    the run's own report tells one while it is being written."""
    n = pq.read_metadata(folder / "runs.parquet").num_rows
    if not 0 <= lane < n:
        raise StoryError(f"--lane {lane}: the run has lanes 0 to {n - 1}")
    runs = pq.read_table(folder / "runs.parquet", filters=[("lane", "=", lane)]).to_pylist()[0]
    offers, source = None, "played again"
    traces = folder / "traces.parquet"
    if traces.is_file() and not replay:
        found = pd.read_parquet(traces, filters=[("lane", "=", lane)])
        if len(found):
            offers, source = found.drop(columns="lane").reset_index(drop=True), "traces.parquet"
    if offers is None:
        offers = replay_lane(scenario, lane)
    if runs["agreed"]:  # a traced chunk goes on recording a settled lane's last offers
        offers = offers[offers["week"] <= runs["agreed_week"]].reset_index(drop=True)
    story = Story(lane, scenario, offers, runs, source, [])
    story.sentences = tell(story, _percentiles(folder, runs))
    return story


def replay_lane(scenario: Scenario, lane: int) -> pd.DataFrame:
    """Play one lane again on its own and return its offers in the layout of traces.parquet."""
    model = NegotiationModel(scenario, 1, scenario.seed, trace=1, first_lane=lane)
    trace = model.run().trace[:, :, 0, :]  # weeks x parties x issues
    clock = Clock.from_calendar(scenario.calendar)
    weeks, parties, issues = np.indices(trace.shape).reshape(3, -1)
    frame = pd.DataFrame(
        {
            "week": weeks,
            "date": [clock.date(w) for w in weeks],
            "party": np.array(scenario.party_names())[parties],
            "issue": np.array(list(scenario.issues))[issues],
            "offer": trace.reshape(-1),
        }
    )
    return frame.dropna(subset=["offer"]).reset_index(drop=True)


def _percentiles(folder: Path, run: dict) -> dict[str, float]:
    """Where this lane's draw of each uncertain input stands among all lanes (0-100)."""
    names = [c for c in pq.read_schema(folder / "runs.parquet").names if c.startswith("input.")]
    if not names:
        return {}
    table = pq.read_table(folder / "runs.parquet", columns=names)
    return {c: float((table.column(c).to_numpy() < run[c]).mean() * 100) for c in names}


def tell(story: Story, percentiles: dict[str, float]) -> list[str]:
    """The story in sentences: outcome, draws, openings, moves, events, gaps, votes."""
    scn, run = story.scenario, story.run
    clock = Clock.from_calendar(scn.calendar)
    lines = [_outcome(scn, run, clock, story.lane)]
    if percentiles:
        drawn = [
            f"{path_label(scn, c.removeprefix('input.'))} {value_text(run[c])} (percentile {p:.0f})"
            for c, p in percentiles.items()
        ]
        lines.append("It was dealt " + "; ".join(drawn) + ".")
    events = _events(scn, run, clock)
    moves = _moves(scn, story.offers, clock)
    signed = _signature(scn, story.offers, run, clock)
    lines += [text for _, text in sorted(events + moves + signed, key=lambda item: item[0])]
    lines += _gaps(scn, story.offers, run)
    return lines


def _outcome(scn: Scenario, run: dict, clock: Clock, lane: int) -> str:
    if not run["agreed"]:
        return f"Lane {lane}: no treaty was signed by {scn.calendar.horizon}."
    week = run["agreed_week"]
    ahead = clock.deadline_week - week
    when = (
        f"{ahead} weeks before START I expires"
        if ahead > 0
        else f"{-ahead} weeks after START I expired"
    )
    votes = []
    for key in scn.party_names():
        party = scn.parties[key]
        if party.ratifier is None:
            continue
        verdict = "ratified" if run[f"ratified_{key}"] else "rejected"
        day = clock.date(week + party.ratifier.delay_weeks)
        votes.append(
            f"the {party.ratifier.name} {verdict} it {_count(party, run[f'votes_{key}'])} "
            f"in the week of {day}"
        )
    force = "it entered into force" if run["in_force"] else "it did not enter into force"
    return (
        f"Lane {lane}: a treaty was signed in the week of {clock.date(week)}, {when}; "
        + "; ".join(votes)
        + f"; {force}."
    )


def _count(party: Party, votes: int) -> str:
    """'82 votes to 17 (66 needed)': the chamber's count against what it needs to ratify."""
    body = party.ratifier
    return f"{votes} votes to {body.members - votes} ({body.needed} needed)"


def effect_text(scn: Scenario, effect: Effect, value: object = None) -> str:
    """What one effect of an event does, in words; `value` is the lane's own draw of an
    uncertain effect (None: the scenario's value)."""
    target = path_label(scn, effect.target)
    if effect.op == "drop":
        return f"{target} dropped from the talks"
    value = effect.value if value is None else value
    if not isinstance(value, float | int):
        return f"{target} set to {value}"  # a date
    sign = "-" if value < 0 else "+"
    verb = {"set": f"set to {value_text(value)}", "add": f"{sign}{value_text(abs(value))}"}
    return f"{target} {verb.get(effect.op, f'x{value_text(value)}')}"


def _events(scn: Scenario, run: dict, clock: Clock) -> list[tuple[tuple, str]]:
    found = []
    for name, event in scn.events.items():
        week = run[f"event_{name}_week"]
        if week < 0:
            continue
        count = run[f"event_{name}_count"]
        times = f" ({count} times in all)" if count > 1 else ""
        moved = "; ".join(
            effect_text(scn, e, run.get(f"input.events.{name}.effects.{k}.value"))
            for k, e in enumerate(event.effects)
        )
        text = f"Week of {clock.date(week)}: {event_label(scn, name)}{times}. It moved: {moved}."
        found.append(((week, 0), text))
    return found


def _moves(scn: Scenario, offers: pd.DataFrame, clock: Clock) -> list[tuple[tuple, str]]:
    """One sentence per week in which a party opened or moved an offer."""
    found = []
    names = {key: scn.parties[key].name for key in scn.party_names()}
    wide = offers.pivot_table(index=["week", "party"], columns="issue", values="offer")
    wide = wide[[i for i in scn.issues if i in wide.columns]]  # the scenario's order
    last: dict[str, pd.Series] = {}
    for (week, party), row in wide.iterrows():
        before = last.get(party)
        last[party] = row
        if before is None:
            package = ", ".join(f"{_issue(i)} {value_text(v)}" for i, v in row.items())
            text = f"{names[party]} opened with {package}."
        else:
            changed = [i for i in row.index if abs(row[i] - before[i]) > MOVED]
            if not changed:
                continue
            moves = ", ".join(
                f"{_issue(i)} {value_text(before[i])} -> {value_text(row[i])}" for i in changed
            )
            text = f"{names[party]} moved {moves}."
        found.append(((week, 1), f"Week of {clock.date(week)}{_occasion(scn, week)}: {text}"))
    return found


def _signature(
    scn: Scenario, offers: pd.DataFrame, run: dict, clock: Clock
) -> list[tuple[tuple, str]]:
    """Who accepted whose offer: the signed package is the proposer's standing offer."""
    if not run["agreed"]:
        return []
    week = run["agreed_week"]
    package = np.array([run[f"package_{i}"] for i in scn.issues])
    last = offers[offers["week"] <= week].groupby(["party", "issue"])["offer"].last()
    names = {key: scn.parties[key].name for key in scn.party_names()}
    for proposer, accepter in (scn.party_names(), scn.party_names()[::-1]):
        standing = np.array([last.get((proposer, i), np.nan) for i in scn.issues])
        if np.allclose(standing, package, rtol=0, atol=1e-6):
            text = (
                f"{names[accepter]} accepted the offer of {names[proposer]}; the treaty is signed."
            )
            return [((week, 2), f"Week of {clock.date(week)}{_occasion(scn, week)}: {text}")]
    return [((week, 2), f"Week of {clock.date(week)}: the treaty is signed.")]


def _occasion(scn: Scenario, week: int) -> str:
    """' (Round 3, Geneva)' for a week of talks, '' otherwise."""
    clock = Clock.from_calendar(scn.calendar)
    for s in scn.calendar.all_sessions():  # dated sessions and the rounds the rule adds
        first = clock.week(s.start)
        if first <= week < first + s.weeks:
            return f" ({s.name}, {s.venue})" if s.venue else f" ({s.name})"
    for s in scn.calendar.summits:
        if clock.week(s.date) == week:
            return f" ({s.name})"
    return ""


def _gaps(scn: Scenario, offers: pd.DataFrame, run: dict) -> list[str]:
    """Per issue, the opening gap and who closed how much of it (or what was left)."""
    first = offers.groupby(["party", "issue"])["offer"].first()
    final = offers.groupby(["party", "issue"])["offer"].last()
    a, b = scn.party_names()
    names = {a: scn.parties[a].name, b: scn.parties[b].name}
    lines = []
    for issue, spec in scn.issues.items():
        if (a, issue) not in first or (b, issue) not in first:
            continue
        gap = abs(first[(a, issue)] - first[(b, issue)])
        unit = spec.unit
        if run["agreed"]:
            agreed = run[f"package_{issue}"]
            moved = {p: abs(agreed - first[(p, issue)]) for p in (a, b)}
            total = sum(moved.values())
            if total <= MOVED:
                continue
            shares = " and ".join(
                f"{moved[p] / total:.0%} by {names[p]} ({value_text(first[(p, issue)])} -> "
                f"{value_text(agreed)})"
                for p in sorted(moved, key=moved.get, reverse=True)
            )
            lines.append(
                f"On {_issue(issue)} the opening gap of {value_text(gap)} {unit} was closed "
                f"{shares}."
            )
        else:
            left = abs(final[(a, issue)] - final[(b, issue)])
            lines.append(
                f"On {_issue(issue)} the gap went from {value_text(gap)} to {value_text(left)} "
                f"{unit}."
            )
    return lines


def _issue(name: str) -> str:
    return name.replace("_", " ")
