"""The per-lane path table accepts and refuses exactly the paths the old grammar did."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sim.lane_paths import PATHS, find, is_input_path, resolve, target_error
from sim.loader import load_scenario
from sim.model import NegotiationModel
from sim.scenario import Scenario

# The grammar as it stood before the table (sim/scenario.py _target_ok, sim/inputs.py
# INPUT_PATTERNS), kept here as the oracle.
TACTIC_ATTRS = ("beta", "noise", "reciprocity", "trust_sensitivity", "discount")
NAME = r"[A-Za-z][A-Za-z0-9_]*"
OLD_INPUTS = [
    re.compile(p)
    for p in (
        r"trust",
        rf"parties\.{NAME}\.(margin|capacity)",
        rf"parties\.{NAME}\.tactic\.(beta|noise|reciprocity|trust_sensitivity|discount)",
        rf"parties\.{NAME}\.ratifier\.mood",
        rf"parties\.{NAME}\.ratifier\.blocs\.{NAME}\.(margin|spread)",
        r"drafting_weeks",
        rf"parties\.{NAME}\.actors\.{NAME}\.influence",
        rf"parties\.{NAME}\.actors\.{NAME}\.(positions|salience|tolerance)\.{NAME}",
        rf"events\.{NAME}\.(probability|hazard)",
        rf"events\.{NAME}\.effects\.[0-9]+\.value",
    )
]
OPS = [("set", 1.0), ("set", dt.date(2009, 6, 1)), ("add", 1.0), ("scale", 1.0), ("drop", None)]


def old_target_ok(scn: Scenario, parts: list[str], op: str, value: object) -> bool:
    date_ok = not isinstance(value, dt.date)
    if parts == ["trust"]:
        return date_ok and op != "drop"
    if len(parts) == 2 and parts[0] == "issues":
        return parts[1] in scn.issues and op == "drop"
    if len(parts) < 3 or parts[0] != "parties" or parts[1] not in scn.parties or op == "drop":
        return False
    party, rest = scn.parties[parts[1]], parts[2:]
    if rest == ["readiness"]:
        return op in ("set", "add")
    if len(rest) == 1:
        return rest[0] in ("margin", "capacity") and date_ok
    if len(rest) == 2 and rest[0] == "tactic":
        return rest[1] in TACTIC_ATTRS and date_ok
    if len(rest) == 2 and rest[0] == "ratifier":
        return party.ratifier is not None and rest[1] == "mood" and date_ok
    if len(rest) == 4 and rest[:2] == ["ratifier", "blocs"] and date_ok:
        body = party.ratifier
        return body is not None and rest[2] in body.blocs and rest[3] in ("margin", "spread")
    if len(rest) >= 3 and rest[0] == "actors" and rest[1] in party.actors and date_ok:
        tail = rest[2:]
        if tail == ["influence"]:
            return True
        kinds = ("positions", "salience", "tolerance")
        return len(tail) == 2 and tail[0] in kinds and tail[1] in scn.issues
    return False


def candidates(doc: object, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every key path of a document, and each with one part replaced by a name not in it."""
    out: set[str] = set()
    if prefix:
        out.add(".".join(prefix))
        for k in range(len(prefix)):
            out.add(".".join((*prefix[:k], "nowhere", *prefix[k + 1 :])))
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, value in items:
        out |= candidates(value, (*prefix, str(key)))
    return out


@pytest.fixture(scope="module")
def scenarios(request) -> list[Scenario]:
    """The baseline, and the baseline with Russia's ratifier removed."""
    path = request.config.rootpath / "scenarios" / "baseline.yaml"
    base = load_scenario(path)
    parties = dict(base.parties)
    parties["russia"] = parties["russia"].model_copy(update={"ratifier": None})
    return [base, base.model_copy(update={"parties": parties})]


@pytest.fixture(scope="module")
def paths(scenarios) -> list[str]:
    return sorted(candidates(scenarios[0].model_dump(mode="json")) | {"parties", "trust.x"})


def test_event_targets_accepted_and_refused_as_before(scenarios, paths):
    accepted = 0
    for scn in scenarios:
        for path in paths:
            for op, value in OPS:
                old = old_target_ok(scn, path.split("."), op, value)
                assert (target_error(scn, path, op, value) is None) == old, (path, op, value)
                accepted += old
    assert accepted > 100  # the enumeration reaches every kind of target


def test_input_paths_accepted_and_refused_as_before(paths):
    for path in paths:
        old = any(p.fullmatch(path) for p in OLD_INPUTS)
        assert is_input_path(path) == old, path


def test_hints_list_the_tables_patterns(scenarios):
    scn = scenarios[0]
    hint = target_error(scn, "parties.us.nowhere", "set", 1.0)
    for row in PATHS:
        assert (row.shown() in hint) == row.event, row.pattern
    assert "tactic.<beta|noise|reciprocity|trust_sensitivity|discount>" in hint
    assert target_error(scn, "trust", "drop", None) == "cannot be dropped: only issues.<i> can"


def test_every_accepted_path_resolves_to_a_lane_array(scenarios, paths):
    scn = scenarios[0]
    model, resolved = NegotiationModel(scn, lanes=3, seed=1), 0
    for path in paths:
        found = find(path)
        if found is None or not found[0].exists(scn, found[1]):
            continue
        array, column, (lo, hi) = resolve(model, path)
        values = array[:, column] if column is not None else array
        assert values.shape == (3,) and lo <= hi, path
        resolved += 1
    assert resolved > 100
