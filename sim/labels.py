"""Human labels taken from the scenario: issues, parties, events, rounds, dotted parameter paths."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

from pydantic import BaseModel

from sim.scenario import Scenario

# Short names for the values a sweep or an uncertain input usually touches; others fall back
# to the description the scenario format gives the field.
ATTRIBUTE_NAMES = {
    "margin": "walk-away margin",
    "capacity": "technical capacity",
    "readiness": "ready to table positions",
    "tactic.beta": "concession speed β",
    "tactic.noise": "offer noise",
    "tactic.reciprocity": "reciprocity",
    "tactic.trust_sensitivity": "trust sensitivity",
    "tactic.discount": "discount factor",
    "ratifier.centre": "median member's walk-away",
    "ratifier.spread": "spread of members' walk-aways",
    "ratifier.mood": "mood at the vote",
    "ratifier.delay_weeks": "weeks from signature to vote",
    "ratifier.threshold": "share needed to ratify",
}
TOP_NAMES = {"trust": "initial trust", "seed": "seed", "replications": "replications"}


def humanize(key: str) -> str:
    """'delivery_vehicles' -> 'Delivery vehicles'."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def issue_name(scn: Scenario, issue: str) -> str:
    """Reader's name of an issue: its key in words ('Delivery vehicles')."""
    return humanize(issue)


def issue_unit(scn: Scenario, issue: str) -> str:
    """The issue's unit as the scenario states it, or '' for an unknown issue."""
    spec = scn.issues.get(issue)
    return spec.unit if spec else ""


def party_name(scn: Scenario, party: str) -> str:
    """Display name of a party ('United States'), or its key when unknown."""
    spec = scn.parties.get(party)
    return spec.name if spec else party


def ratifier_name(scn: Scenario, party: str) -> str:
    """Name of a party's ratifying body, or 'no ratification' when it has none."""
    spec = scn.parties.get(party)
    return spec.ratifier.name if spec and spec.ratifier else f"{party_name(scn, party)} (no vote)"


def event_name(scn: Scenario, event: str, limit: int = 60) -> str:
    """An event's description (shortened at a clause boundary), else its key in words."""
    spec = scn.events.get(event)
    text = (spec.description if spec else "").strip().rstrip(".")
    if not text:
        return humanize(event)
    if len(text) <= limit:
        return text
    for stop in ("; ", ", ", " and "):
        cut = text.find(stop)
        if 0 < cut <= limit:
            return text[:cut]
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def opening_ideal(scn: Scenario, party: str, issue: str) -> float:
    """A party's opening ideal on an issue: its actors' positions weighted by influence x salience."""
    actors = scn.parties[party].actors.values()
    weights = [(a.influence * a.salience.get(issue, 0.0), a.positions.get(issue)) for a in actors]
    total = sum(w for w, pos in weights if pos is not None)
    if total == 0:
        return float("nan")
    return sum(w * pos for w, pos in weights if pos is not None) / total


def number(value: float, span: float | None = None) -> str:
    """A value rounded to what its range makes meaningful: '1,688', '91', '0.35'."""
    size = abs(span if span is not None else value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}"


def who_wants(scn: Scenario, issue: str) -> str:
    """Which end of the scale each party wants: 'Russia 1,519; United States 1,688' (opening)."""
    spec = scn.issues[issue]
    span = spec.max - spec.min
    parts = [
        f"{party_name(scn, p)} {number(opening_ideal(scn, p, issue), span)}"
        for p in scn.party_names()
    ]
    return "; ".join(parts)


def round_name(scn: Scenario, day: dt.date) -> str:
    """The talks round or summit in the model week starting on `day`, or '' between them."""
    for session in scn.calendar.sessions:
        end = session.start + dt.timedelta(weeks=session.weeks)
        if session.start - dt.timedelta(days=6) <= day < end:
            return f"{session.name}, {session.venue}" if session.venue else session.name
    for summit in scn.calendar.summits:
        if abs((summit.date - day).days) < 7:
            return summit.name
    return ""


def wrap(text: str, width: int = 34) -> str:
    """Break a label into lines of about `width` characters for plotly (titles, ticks)."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def when(day: dt.date | str) -> str:
    """'late January 2010' for a date, the way a person says roughly when."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    part = "early" if day.day <= 10 else "mid" if day.day <= 20 else "late"
    return f"{part} {day:%B %Y}"


def long_date(day: dt.date | str) -> str:
    """'5 December 2009'."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {day:%B %Y}"


def param_name(scn: Scenario, path: str) -> str:
    """Reader's name of a dotted scenario path: 'Russia: walk-away utility'."""
    parts = path.removeprefix("input.").split(".")
    if parts[0] in TOP_NAMES and len(parts) == 1:
        return humanize(TOP_NAMES[parts[0]])
    if parts[0] == "parties" and len(parts) >= 3:
        who = party_name(scn, parts[1])
        rest = parts[2:]
        if rest[0] == "actors" and len(rest) >= 4:
            actor = scn.parties[parts[1]].actors.get(rest[1]) if parts[1] in scn.parties else None
            role = actor.role if actor and actor.role else humanize(rest[1])
            return f"{role}: {rest[2]} on {issue_name(scn, rest[3]).lower()}"
        if rest[0] == "ratifier":
            body = ratifier_name(scn, parts[1])
            return f"{body}: {ATTRIBUTE_NAMES.get('.'.join(rest), humanize(rest[-1]).lower())}"
        key = ".".join(rest)
        return f"{who}: {ATTRIBUTE_NAMES.get(key, field_description(path) or humanize(rest[-1]).lower())}"
    if parts[0] == "issues" and len(parts) >= 2:
        return f"{issue_name(scn, parts[1])}: {' '.join(parts[2:]) or 'issue'}"
    if parts[0] == "events" and len(parts) >= 2:
        return f"event '{event_name(scn, parts[1], 40)}': {' '.join(parts[2:])}"
    return field_description(path) or path


def field_description(path: str) -> str:
    """The scenario format's description of the field a dotted path ends on ('' if unknown)."""
    model: Any = Scenario
    keyed = False  # the previous field was a dict or list: this part is a key, not a field
    description = ""
    for part in path.removeprefix("input.").split("."):
        if keyed or model is None:
            keyed = False
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ""
        description = (field.description or "").rstrip(".")
        keyed = getattr(field.annotation, "__origin__", None) in (dict, list)
        model = _value_model(field.annotation)
    return description[:1].lower() + description[1:]


def _value_model(annotation: Any) -> Any:
    """The pydantic model a field holds, directly or as the values of a dict or list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(getattr(annotation, "__args__", ())):
        found = _value_model(arg)
        if found is not None:
            return found
    return None
