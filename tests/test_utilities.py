"""Values in the issues' own units: range invariance and trade-off offers against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from factory import day

from agents.tradeoff import tradeoff_offer
from sim.ensemble import run_chunk
from sim.loader import load_scenario
from sim.model import NegotiationModel
from sim.scenario import Scenario


def test_widening_ranges_that_hold_every_position_changes_no_lane(baseline_path):
    base = load_scenario(baseline_path, ["replications=1500"])
    wide = load_scenario(
        baseline_path,
        ["replications=1500", "issues.warheads.max=2200", "issues.delivery_vehicles.max=1600"],
    )
    one, two = (run_chunk(s, 0, 1500, s.seed).runs for s in (base, wide))
    for key, column in one.items():
        assert np.array_equal(column, two[key], equal_nan=True), key


def analytic_offer(loss, mp, kp, mo, ko):
    """Two quadratic issues: the Lagrange condition as a quartic in t, solved by numpy.roots."""
    d = mo - mp
    c, r = kp * d * d, kp / ko
    # sum_i c_i / (1 + t r_i)^2 = loss  <=>  c1 (1 + t r2)^2 + c2 (1 + t r1)^2 = loss (..)^2 (..)^2
    a1, a2 = np.poly1d([r[0], 1.0]), np.poly1d([r[1], 1.0])
    poly = a2**2 * float(c[0]) + a1**2 * float(c[1]) - a1**2 * a2**2 * float(loss)
    roots = [z.real for z in poly.roots if abs(z.imag) < 1e-6 and z.real >= 0]
    t = min(roots, key=lambda z: abs((c / (1 + z * r) ** 2).sum() - loss))
    for _ in range(3):  # polish the eigenvalue root on the polynomial itself
        t -= poly(t) / poly.deriv()(t)
    return mp + d / (1 + t * r)


@pytest.mark.parametrize("seed", range(20))
def test_tradeoff_offer_equals_the_constrained_optimum(seed):
    rng = np.random.default_rng(seed)
    mp, mo = rng.uniform(0, 10, 2), rng.uniform(0, 10, 2)
    kp, ko = rng.uniform(0.05, 2, 2), rng.uniform(0.05, 2, 2)
    full = (kp * (mo - mp) ** 2).sum()
    loss = rng.uniform(0.02, 0.98) * full
    offer = tradeoff_offer(np.array([loss]), mp[None], kp[None], mo[None], ko[None])[0]
    assert offer == pytest.approx(analytic_offer(loss, mp, kp, mo, ko), abs=1e-9)
    assert (kp * (offer - mp) ** 2).sum() == pytest.approx(loss, rel=1e-12)


def test_tradeoff_gives_the_opponent_its_ideal_when_the_loss_allows_and_holds_at_zero():
    mp, mo = np.array([[0.0, 0.0]]), np.array([[4.0, 2.0]])
    kp, ko = np.array([[1.0, 3.0]]), np.array([[2.0, 1.0]])
    full = 1.0 * 16 + 3.0 * 4
    assert tradeoff_offer(np.array([full + 1]), mp, kp, mo, ko) == pytest.approx(mo)
    assert tradeoff_offer(np.array([0.0]), mp, kp, mo, ko) == pytest.approx(mp)


def two_issue_talks() -> dict:
    """Two quadratic issues weighted oppositely, deterministic tactics, talks every week."""

    def party(name: str, ideal: float, weights: tuple[float, float]) -> dict:
        lead = {
            "influence": 1.0,
            "positions": {"a": ideal, "b": ideal},
            "tolerance": {"a": 8.0, "b": 6.0},
            "salience": {"a": weights[0], "b": weights[1]},
        }
        return {"name": name, "margin": 0.0, "tactic": {"beta": 0.7}, "actors": {"lead": lead}}

    return {
        "name": "two_issues",
        "first_mover": "russia",
        "calendar": {
            "start": day(0),
            "deadline": day(30),
            "horizon": day(40),
            "deadline_kind": "hard",
            "sessions": [{"name": "talks", "start": day(0), "weeks": 41}],
        },
        "issues": {n: {"unit": "points", "min": 0.0, "max": 10.0} for n in ("a", "b")},
        "no_agreement": {"a": 5.0, "b": 5.0},
        "parties": {
            "russia": party("Russia", 10.0, (0.8, 0.3)),
            "us": party("US", 0.0, (0.3, 0.9)),
        },
    }


def test_agreements_lie_on_the_contract_curve():
    doc = two_issue_talks()
    doc["parties"]["russia"]["tactic"]["noise"] = 0.05
    model = NegotiationModel(Scenario.model_validate(doc), 300, seed=4)
    runs = model.run().runs
    agreed = runs["agreed"]
    assert agreed.sum() > 250
    russia, us = model.party["russia"], model.party["us"]
    x = np.column_stack([runs["package_a"], runs["package_b"]])[agreed]
    kr, ku = russia.curvature[0], us.curvature[0]
    # on the curve, each issue implies the same multiplier t = ku (mu - x) / (kr (x - mr))
    t = ku * (us.ideal[0] - x) / (kr * (x - russia.ideal[0]))
    inner = (x > 1e-6).all(axis=1) & (x < 10 - 1e-6).all(axis=1)
    rebuilt = russia.ideal[0] + (us.ideal[0] - russia.ideal[0]) / (1 + t[:, :1] * kr / ku)
    assert inner.sum() > 200
    assert np.abs(rebuilt[inner] - x[inner]).max() < 1e-6
    # and the agreements spread along it, not at a corner
    assert np.ptp(x[:, 0]) > 0.5


def test_a_party_offers_the_package_worth_its_target_to_it():
    doc = two_issue_talks()
    doc["parties"]["us"]["margin"] = 0.5  # the US accepts nothing: Russia walks its curve
    model = NegotiationModel(Scenario.model_validate(doc), 1, seed=0, trace=1)
    result = model.run()
    russia = model.party["russia"]
    walk_away = float(russia.no_deal[0] + russia.margin[0])
    for week in (3, 10, 20):
        offer = result.trace[week, 0, 0]
        tau = week / 30
        target = walk_away + (1 - walk_away) * (1 - tau ** (1 / 0.7))
        assert russia.utility(offer[None], np.array([0]))[0] == pytest.approx(target, abs=1e-12)
