"""Small scenarios built in code, so each mechanism can be tested on its own."""

from __future__ import annotations

import copy
from datetime import date, timedelta

from sim.model import ChunkResult, NegotiationModel
from sim.scenario import Scenario

START = date(2009, 1, 5)


def day(week: int) -> str:
    """ISO date of the first day of a week of the test calendar."""
    return (START + timedelta(weeks=week)).isoformat()


def pie(deadline_week: int = 20, horizon_week: int = 40, **party_changes) -> dict:
    """A unit pie on one linear issue: Russia's utility is x, the US's is 1 - x; talks every
    week. Without a deal the pie is split in half; a margin of -0.5 puts each walk-away at 0."""

    def party(name: str, ideal: float) -> dict:
        lead = {"influence": 1.0, "positions": {"pie": ideal}, "tolerance": {"pie": 1.0}}
        return {
            "name": name,
            "margin": -0.5,
            "tactic": {"beta": 1.0},
            "actors": {"lead": {**lead, "salience": {"pie": 1.0}}},
        }

    doc = {
        "name": "pie",
        "first_mover": "russia",
        "calendar": {
            "start": START.isoformat(),
            "deadline": day(deadline_week),
            "horizon": day(horizon_week),
            "sessions": [{"name": "talks", "start": day(0), "weeks": horizon_week + 1}],
        },
        "issues": {"pie": {"unit": "share", "min": 0.0, "max": 1.0, "shape": "linear"}},
        "no_agreement": {"pie": 0.5},
        "parties": {"russia": party("Russia", 1.0), "us": party("United States", 0.0)},
    }
    for key, changes in party_changes.items():
        doc["parties"][key] = merge(doc["parties"][key], changes)
    return doc


def merge(base: dict, changes: dict) -> dict:
    """Deep-merge `changes` into a copy of `base`."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def simulate(
    doc: dict, lanes: int = 500, seed: int = 1, trace: int = 0
) -> tuple[NegotiationModel, ChunkResult]:
    """Validate a scenario document and run one chunk of lanes."""
    model = NegotiationModel(Scenario.model_validate(doc), lanes, seed, trace)
    return model, model.run()
