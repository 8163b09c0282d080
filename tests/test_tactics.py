"""Tactics registry: a new tactic is one class, and the schema, events and inputs take it up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from factory import day, pie

from agents.party import Party
from agents.tactics import SHARED, TACTICS, Param, Tactic, register, unregister
from sim.lane_paths import is_input_path, target_error
from sim.loader import ScenarioError, load_scenario
from sim.model import NegotiationModel
from sim.scenario import Scenario

LEVEL = Param("level", 0.5, 0.0, 1.0, "Utility asked for throughout.", clip=(0.05, 1.0))


class Constant(Tactic):
    """Ask for the same utility every week: `level`."""

    name = "constant"
    description = "a fixed level"
    params = (*SHARED, LEVEL)
    reads = ("level",)

    def target(
        self, party: Party, idx: np.ndarray, weeks_ahead: float, floor: np.ndarray
    ) -> np.ndarray:
        """The level, whatever the week."""
        return party.level[idx]

    @classmethod
    def check(cls, spec: Any) -> None:
        """A level of 0 would ask for nothing."""
        if spec.kind == "constant" and spec.level == 0:
            raise ValueError("'constant' needs a level above 0")


@pytest.fixture
def constant() -> Iterator[type[Tactic]]:
    register(Constant)
    yield Constant
    unregister(Constant.name)


def both_constant(tmp_path: Path, *more: str) -> Scenario:
    """The pie with both parties on the constant tactic, loaded with `--set`-style overrides."""
    path = tmp_path / "pie.yaml"
    path.write_text(yaml.safe_dump(pie()))
    kinds = [f"parties.{p}.tactic.kind=constant" for p in ("russia", "us")]
    return load_scenario(path, [*kinds, *more])


def test_constant_tactic_offers_at_its_level_set_and_drawn(constant, tmp_path):
    scn = both_constant(
        tmp_path, "parties.russia.tactic.level=0.8", "parties.us.tactic.level={uniform: [0.1, 0.4]}"
    )
    model = NegotiationModel(scn, 400, seed=1)
    runs = model.run().runs
    asked = model.drawn["parties.us.tactic.level"]
    assert asked.min() >= 0.1 and asked.max() <= 0.4 and asked.std() > 0.05
    assert model.party["russia"].offer[:, 0] == pytest.approx(0.8)  # Russia's utility is x
    # the US takes Russia's first offer (0.2 to it) where its own level asks no more
    np.testing.assert_array_equal(runs["agreed"], asked <= 0.2 + 1e-12)
    assert np.all(runs["agreed_week"][runs["agreed"]] == 0)
    talking = ~runs["agreed"]
    assert model.party["us"].offer[talking, 0] == pytest.approx(1 - asked[talking])


def test_events_change_a_registered_parameter_within_its_bounds(constant, tmp_path):
    scn = both_constant(tmp_path, "parties.russia.tactic.level=0.8")
    doc = scn.model_dump(mode="json", exclude_none=True)
    effect = {"target": "parties.russia.tactic.level", "op": "add", "value": -5}
    doc["events"] = {"cave": {"date": day(3), "effects": [effect]}}
    model = NegotiationModel(Scenario.model_validate(doc), 50, seed=1)
    for _ in range(4):
        model.step()
    assert np.all(model.party["russia"].level == 0.05)  # clipped to the parameter's bounds


def test_a_tactics_own_check_and_unregistering(tmp_path):
    register(Constant)
    try:
        with pytest.raises(ScenarioError, match="'constant' needs a level above 0"):
            both_constant(tmp_path, "parties.us.tactic.level=0")
        scn = both_constant(tmp_path)
        assert target_error(scn, "parties.us.tactic.level", "scale", 2.0) is None
        assert is_input_path("parties.us.tactic.level")
        schema = Scenario.model_json_schema()["$defs"]["Tactic"]["properties"]
        assert "constant" in schema["kind"]["enum"] and "level" in schema
    finally:
        unregister(Constant.name)
    assert not is_input_path("parties.us.tactic.level")
    assert "level" not in Scenario.model_json_schema()["$defs"]["Tactic"]["properties"]
    with pytest.raises(ScenarioError, match="constant"):
        both_constant(tmp_path)


def test_registered_tactics_read_lane_arrays_of_a_party(baseline_path):
    model = NegotiationModel(load_scenario(baseline_path), 4, seed=1)
    for party in model.order:
        for tactic in TACTICS.values():
            for name in (*tactic.reads, *(p.name for p in tactic.params)):
                assert getattr(party, name).shape == (4,), (tactic.name, name)


def test_a_clashing_or_taken_name_is_refused():
    with pytest.raises(ValueError, match="taken"):
        register(type("Again", (Constant,), {"name": "rubinstein"}))
    odd = Param("beta", 2.0, 0.0, 1.0, "Another beta.")
    with pytest.raises(ValueError, match="clashes"):
        register(type("Odd", (Constant,), {"name": "odd", "params": (odd,)}))
    assert set(TACTICS) == {"time_dependent", "rubinstein"}
