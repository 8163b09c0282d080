"""Invariants of every agreement: inside the issue ranges, never below a party's walk-away."""

from __future__ import annotations

import numpy as np
from factory import pie, simulate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.loader import load_scenario
from sim.model import NegotiationModel

share = st.floats(0.0, 1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    beta=st.tuples(st.floats(0.1, 5.0), st.floats(0.1, 5.0)),
    reservation=st.tuples(st.floats(0.0, 0.6), st.floats(0.0, 0.6)),
    noise=st.floats(0.0, 0.2),
    capacity=st.floats(0.05, 1.0),
    technical=st.booleans(),
    ideals=st.tuples(share, share, share, share),
    salience=st.tuples(st.floats(0.05, 1.0), st.floats(0.05, 1.0)),
    soft=st.booleans(),
)
def test_agreements_stay_in_range_and_above_reservation(
    beta, reservation, noise, capacity, technical, ideals, salience, soft
):
    doc = pie()
    doc["calendar"]["deadline_kind"] = "soft" if soft else "hard"
    doc["issues"]["side"] = {
        "unit": "score",
        "min": -5.0,
        "max": 5.0,
        "technical": technical,
        "shape": "linear",
    }
    doc["no_agreement"]["side"] = 0.0
    for p, key in enumerate(("russia", "us")):
        party = doc["parties"][key]
        party.update(margin=reservation[p] - 0.5, capacity=capacity, verification_loss=0.0)
        party["tactic"] = {"beta": beta[p], "noise": noise, "reciprocity": 0.3}
        lead = party["actors"]["lead"]
        lead["positions"] = {"pie": ideals[2 * p], "side": 10 * ideals[2 * p + 1] - 5}
        lead["tolerance"] = {"pie": 1.0, "side": 10.0}
        lead["salience"] = {"pie": 1.0, "side": salience[p]}
    model, result = simulate(doc, lanes=200)
    runs = result.runs
    agreed = runs["agreed"]
    for name, lo, hi in (("pie", 0.0, 1.0), ("side", -5.0, 5.0)):
        values = runs[f"package_{name}"][agreed]
        assert ((values >= lo - 1e-9) & (values <= hi + 1e-9)).all()
    for key in ("russia", "us"):
        party = model.party[key]
        walk_away = party.no_deal + party.margin
        assert (runs[f"utility_{key}"][agreed] >= walk_away[agreed] - 1e-9).all()


def test_baseline_agreements_respect_ranges_and_reservations(baseline_path):
    # a hard deadline keeps the reservations fixed, so the bound is the scenario's own value
    scenario = load_scenario(baseline_path, ["calendar.deadline_kind=hard"])
    model = NegotiationModel(scenario, 3000, seed=3)
    runs = model.run().runs
    agreed = runs["agreed"]
    assert agreed.any()
    for name, issue in scenario.issues.items():
        values = runs[f"package_{name}"][agreed]
        assert ((values >= issue.min) & (values <= issue.max)).all()
    for key, party in model.party.items():  # events stop at signature: no_deal is as signed
        walk_away = party.no_deal + party.margin
        assert (runs[f"utility_{key}"][agreed] >= walk_away[agreed] - 1e-9).all()
    assert np.isnan(runs["package_warheads"][~agreed]).all()
