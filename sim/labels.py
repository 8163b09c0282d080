"""Names in the scenario's own words, shared by every report, explain, discover and story:
'Russia: walk-away margin', not 'parties.russia.margin'; issues, parties, events, rounds."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from typing import Any

from pydantic import BaseModel

from sim.scenario import Scenario


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
    """An event in words (event_label), cut at a clause boundary to about `limit` characters."""
    text = event_label(scn, event) if event in scn.events else humanize(event)
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


def who_wants(scn: Scenario, issue: str) -> str:
    """Which end of the scale each party wants: 'Russia 1,519; United States 1,688' (opening)."""
    parts = [
        f"{party_name(scn, p)} {value_text(opening_ideal(scn, p, issue))}"
        for p in scn.party_names()
    ]
    return "; ".join(parts)


def round_name(scn: Scenario, day: dt.date) -> str:
    """The talks round or summit in the model week starting on `day`, or '' between them."""
    for session in scn.calendar.all_sessions():  # dated sessions and the rounds the rule adds
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
    """Reader's name of a dotted scenario path (an `input.` column too): path_label's words,
    or the scenario format's description of the field when it has none."""
    path = path.removeprefix("input.")
    said = path_label(scn, path)
    return (field_description(path) or path) if said == path else said


def short_param_name(scn: Scenario, path: str) -> str:
    """param_name for a tight spot (an axis title): an event by its short name (event_name),
    and 'effect on' for 'size of its effect on'."""
    text = param_name(scn, path)
    parts = path.removeprefix("input.").split(".")
    if parts[0] == "events" and len(parts) > 1 and parts[1] in scn.events:
        full = event_label(scn, parts[1])
        if text.startswith(full):
            text = event_name(scn, parts[1]) + text[len(full) :]
    return text.replace(": size of its effect on ", ": effect on ")


def key_name(scn: Scenario, key: str) -> str:
    """Short name (short_param_name, event_name) of a factor or lane column key:
    'event:NAME' or 'event.NAME' for an event, 'input:PATH', 'input.PATH', 'param.PATH'."""
    kind, _, rest = key.partition(":") if ":" in key else key.partition(".")
    if kind == "event" and rest in scn.events:
        return event_name(scn, rest)
    return short_param_name(scn, rest if kind in ("input", "param") else key)


LINE_PX = 17  # one line of 13 px tick text, <br> spacing included
TICK_WRAP = 28  # characters a line of a bar row's tick label: room is left for the bars
AXIS_WRAP = 20  # characters a line of an axis title centred under a phone-wide figure's bars


def tick_rows(labels: list[str], gap: float = 0.6) -> tuple[list[float], float]:
    """Where wrapped (<br>) tick labels sit on a numeric axis counted in text lines, the first
    at the bottom: each row as tall as its label (at least 1.5 lines), `gap` lines apart.
    Returns each row's centre and the axis' span, so no label runs into the next."""
    centres, top = [], gap / 2
    for label in labels:
        lines = max(label.count("<br>") + 1, 1.5)
        centres.append(top + lines / 2)
        top += lines + gap
    return centres, top - gap / 2


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


FIELDS = {  # short words for the fields readers meet most; others take the schema's description
    "margin": "walk-away margin",
    "capacity": "technical capacity",
    "beta": "concession pace (beta)",
    "noise": "offer noise",
    "reciprocity": "reciprocity",
    "trust_sensitivity": "sensitivity to trust",
    "discount": "discount factor",
    "influence": "influence",
}


def bloc_name(key: str) -> str:
    """A ratifier's bloc in words: 'united_russia' -> 'United Russia'."""
    return " ".join(w[:1].upper() + w[1:] for w in key.split("_"))


def _described(path: str) -> str:
    """The schema's description of the field at `path`, its first clause, no asides."""
    text = field_description(path)
    text = re.sub(r"\s*\([^)]*\)", "", text)
    return text.split("; ")[0].strip()


def path_label(scenario: Scenario, path: str) -> str:
    """A dotted scenario path as a reader would say it: every per-lane path (sim.lane_paths)
    in the scenario's own names, other paths as they are."""
    from sim.lane_paths import find  # lane_paths imports the tactics registry

    found = find(path)
    if found is None or not found[0].exists(scenario, found[1]):
        return path
    at, parts = found[1], path.split(".")
    if parts == ["trust"]:
        return "trust between the parties"
    if parts == ["drafting_weeks"]:
        return _described(path)
    if parts[0] == "issues":
        return f"the {parts[1].replace('_', ' ')} issue"
    if parts[0] == "events":
        event = event_label(scenario, at["e"])
        if "n" in at:
            effect = scenario.events[at["e"]].effects[int(at["n"])]
            return f"{event}: size of its effect on {path_label(scenario, effect.target)}"
        return f"{event}: {'chance' if at['attr'] == 'probability' else 'weekly hazard'}"
    party = scenario.parties[at["p"]]
    field = parts[-1] if "i" not in at else parts[-2]
    what = FIELDS.get(field) or _described(path)
    if "b" in at:
        return f"{party.ratifier.name}, {bloc_name(at['b'])}: {_described(path)}"
    if parts[2] == "ratifier":
        return f"{party.ratifier.name}: {_described(path)}"
    if "a" in at:
        actor = party.actors[at["a"]].role or humanize(at["a"])
        if "i" in at:
            noun = {"positions": "position", "salience": "salience", "tolerance": "tolerance"}
            what = f"{noun[field]} on {at['i'].replace('_', ' ')}"
        return f"{party.name}, {actor}: {what}"
    return f"{party.name}: {what}"


def event_label(scenario: Scenario, name: str) -> str:
    """An event by its description (its first sentence), else its name."""
    text = scenario.events[name].description.strip()
    return text.split(". ")[0].rstrip(".") if text else name.replace("_", " ")


def value_text(value: float) -> str:
    """A number as a briefing would print it: 1,600 or 0.35."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def bar_rows_layout(ticks: list[str], at: list[float], span: float) -> dict:
    """Layout of a horizontal bar figure whose rows are placed by tick_rows."""
    return {
        "yaxis": {
            "tickvals": at,
            "ticktext": ticks,
            "range": [0, span],
            "automargin": True,
            "showgrid": False,
            "zeroline": False,
        },
        "height": 160 + round(LINE_PX * span),
    }
