"""Names in the scenario's own words for dotted paths and events, shared by explain, discover
and story: 'Russia: walk-away margin', not 'parties.russia.margin'."""

from __future__ import annotations

from sim.scenario import Scenario

FIELDS = {
    "margin": "walk-away margin",
    "capacity": "technical capacity",
    "beta": "concession pace (beta)",
    "noise": "offer noise",
    "reciprocity": "reciprocity",
    "trust_sensitivity": "sensitivity to trust",
    "discount": "discount factor",
    "centre": "centre",
    "spread": "spread",
    "mood": "mood",
    "influence": "influence",
    "trust": "trust",
}


def path_label(scenario: Scenario, path: str) -> str:
    """A dotted scenario path as a reader would say it."""
    parts = path.split(".")
    if parts == ["trust"]:
        return "trust between the parties"
    if parts[0] == "events" and parts[1] in scenario.events:
        event = event_label(scenario, parts[1])
        if parts[2] == "effects":
            effect = scenario.events[parts[1]].effects[int(parts[3])]
            return f"{event}: size of its effect on {path_label(scenario, effect.target)}"
        return f"{event}: {'chance' if parts[2] == 'probability' else 'weekly hazard'}"
    if parts[0] == "issues":
        return f"the {parts[1].replace('_', ' ')} issue"
    if parts[0] != "parties" or parts[1] not in scenario.parties:
        return path
    party = scenario.parties[parts[1]]
    rest = parts[2:]
    if rest[0] == "ratifier" and party.ratifier is not None:
        return f"{party.ratifier.name}: {FIELDS.get(rest[1], rest[1])}"
    if rest[0] == "actors" and len(rest) >= 3:
        actor = party.actors[rest[1]].role or rest[1]
        what = FIELDS.get(rest[2], rest[2])
        if len(rest) == 4:
            noun = {"positions": "position", "salience": "salience", "tolerance": "tolerance"}
            what = f"{noun.get(rest[2], rest[2])} on {rest[3].replace('_', ' ')}"
        return f"{party.name}, {actor}: {what}"
    return f"{party.name}: {FIELDS.get(rest[-1], rest[-1])}"


def event_label(scenario: Scenario, name: str) -> str:
    """An event by its description (its first sentence), else its name."""
    text = scenario.events[name].description.strip()
    return text.split(". ")[0].rstrip(".") if text else name.replace("_", " ")


def value_text(value: float) -> str:
    """A number as a briefing would print it: 1,600 or 0.35."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
