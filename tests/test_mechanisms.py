"""Each mechanism of the model shows its documented effect, with fixed seeds (DESIGN section 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from factory import day, merge, pie, simulate

from agents.tactics import faratin_target
from sim.loader import load_scenario
from sim.model import NegotiationModel

NEVER_AGREE = {"margin": 0.5}  # walk-away 0.5 + 0.5 = 1: accepts nothing


def binomial_ok(hits: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    """Is a count within `sigmas` standard deviations of its binomial expectation?"""
    return abs(hits - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_mandate_is_influence_times_salience_aggregate_and_follows_events():
    doc = pie()
    doc["issues"]["side"] = {"unit": "score", "min": 0.0, "max": 1.0, "shape": "linear"}
    doc["no_agreement"]["side"] = 0.5
    doc["parties"]["russia"]["actors"] = {
        "a": {
            "influence": 0.6,
            "positions": {"pie": 0.8, "side": 1.0},
            "tolerance": {"pie": 1.0, "side": 2.0},
            "salience": {"pie": 1.0, "side": 0.5},
        },
        "b": {
            "influence": 0.4,
            "positions": {"pie": 0.2, "side": 0.0},
            "tolerance": {"pie": 3.0, "side": 1.0},
            "salience": {"pie": 0.5, "side": 1.0},
        },
    }
    doc["parties"]["us"]["actors"]["lead"]["positions"]["side"] = 0.0
    doc["parties"]["us"]["actors"]["lead"]["tolerance"]["side"] = 1.0
    doc["parties"]["us"]["actors"]["lead"]["salience"]["side"] = 1.0
    doc["parties"]["us"].update(NEVER_AGREE)
    doc["events"] = {
        "shift": {
            "date": day(2),
            "effects": [
                {"target": "parties.russia.actors.b.positions.pie", "op": "add", "value": 0.1}
            ],
        }
    }
    from sim.model import NegotiationModel
    from sim.scenario import Scenario

    model = NegotiationModel(Scenario.model_validate(doc), 3, 0)
    russia = model.party["russia"]
    pull_pie, pull_side = 0.6 * 1.0 + 0.4 * 0.5, 0.6 * 0.5 + 0.4 * 1.0
    assert russia.ideal[:, 0] == pytest.approx((0.6 * 0.8 + 0.2 * 0.2) / pull_pie)
    assert russia.weight[0] == pytest.approx([pull_pie / 1.5, pull_side / 1.5])
    tolerance = [(0.6 * 1.0 + 0.2 * 3.0) / pull_pie, (0.3 * 2.0 + 0.4 * 1.0) / pull_side]
    assert russia.tolerance[0] == pytest.approx(tolerance)
    for _ in range(3):
        model.step()
    assert russia.ideal[:, 0] == pytest.approx((0.6 * 0.8 + 0.2 * 0.3) / pull_pie)


def test_win_sets_that_do_not_overlap_give_ratification_probability_zero():
    bodies = {
        "russia": {"name": "Duma", "centre": 0.7, "spread": 0.0},
        "us": {"name": "Senate", "centre": 0.6, "spread": 0.0},
    }
    noisy = {"tactic": {"beta": 1.0, "noise": 0.05}, "anticipates_ratification": False}
    doc = pie(**{p: {**noisy, "ratifier": body} for p, body in bodies.items()})
    _, result = simulate(doc, lanes=2000)
    runs = result.runs
    agreed = runs["agreed"]
    assert agreed.mean() > 0.9
    assert not runs["in_force"].any()  # 0.7 + 0.6 > 1: no split of the pie satisfies both bodies
    # each body votes exactly by its win-set edge (spread 0: every member at the centre)
    assert np.array_equal(runs["ratified_russia"][agreed], runs["utility_russia"][agreed] >= 0.7)
    # parties that anticipate their ratifiers never sign at all
    anticipating = pie(**{p: {"ratifier": body} for p, body in bodies.items()})
    _, result = simulate(anticipating, lanes=200)
    assert not result.runs["agreed"].any()


def test_win_sets_that_overlap_are_respected_by_anticipating_parties():
    bodies = {
        "russia": {"name": "Duma", "centre": 0.3, "spread": 0.05},
        "us": {"name": "Senate", "centre": 0.4, "spread": 0.05},
    }
    doc = pie(**{p: {"ratifier": body, "tactic": {"noise": 0.05}} for p, body in bodies.items()})
    _, result = simulate(doc, lanes=1000)
    assert result.runs["agreed"].all() and result.runs["in_force"].all()


def test_higher_technical_capacity_brings_agreement_earlier():
    def mean_week(capacity: float) -> float:
        doc = pie(
            **{p: {"capacity": capacity, "tactic": {"noise": 0.02}} for p in ("russia", "us")}
        )
        doc["issues"]["pie"]["technical"] = True
        _, result = simulate(doc, lanes=1000)
        assert result.runs["agreed"].all()
        return result.runs["agreed_week"].mean()

    slow, fast = mean_week(0.05), mean_week(0.6)
    assert fast < slow - 2


def test_technical_offers_move_exactly_capacity_of_the_way():
    doc = pie(russia={"capacity": 0.25}, us=NEVER_AGREE)
    doc["issues"]["pie"]["technical"] = True
    _, result = simulate(doc, lanes=1, trace=1)
    offers = result.trace[:, 0, 0, 0]  # Russia's offer on the pie, week by week
    x = 1.0
    for week in range(10):
        target = 1.0 - (1.0 - faratin_target(np.array(week / 20), 0.0, 1.0))  # logrolled pie value
        x = x + 0.25 * (target - x)
        assert offers[week] == pytest.approx(x, abs=1e-12)


def test_hard_deadline_leaves_no_agreement_after_it_and_soft_does():
    base = {"margin": -0.01, "verification_loss": 0.05, "tactic": {"noise": 0.03}}
    doc = pie(russia=base, us=base)
    _, soft = simulate(doc, lanes=2000)
    hard_doc = merge(doc, {"calendar": {"deadline_kind": "hard"}})
    _, hard = simulate(hard_doc, lanes=2000)
    deadline = 20
    hard_weeks = hard.runs["agreed_week"][hard.runs["agreed"]]
    assert hard_weeks.size > 0 and (hard_weeks < deadline).all()
    assert not hard.runs["agreed"].all()
    soft_weeks = soft.runs["agreed_week"][soft.runs["agreed"]]
    assert (soft_weeks >= deadline).any()
    assert soft.runs["agreed"].sum() > hard.runs["agreed"].sum()


def test_soft_deadline_moves_perceived_deadline_and_lowers_reservation():
    doc = pie(
        **{
            p: {**NEVER_AGREE, "verification_loss": 0.1, "extension_weeks": 8}
            for p in ("russia", "us")
        }
    )
    model, _ = simulate(doc, lanes=4)
    for party in model.order:
        # expiry at week 20, extensions at weeks 20, 28 and 36 before the horizon at week 40
        assert party.deadline == pytest.approx(20 + 3 * 8)
        assert party.floor(np.arange(4)) == pytest.approx(1.0 - 3 * 0.1)


def test_event_with_probability_zero_never_fires_and_one_always_does():
    doc = pie(russia=NEVER_AGREE, us=NEVER_AGREE)
    effect = [{"target": "trust", "op": "add", "value": 0.1}]
    doc["events"] = {
        "never": {"date": day(3), "probability": 0.0, "effects": effect},
        "always": {"date": day(3), "probability": 1.0, "effects": effect},
    }
    model, result = simulate(doc, lanes=1000)
    assert (result.runs["event_never_week"] == -1).all()
    assert (result.runs["event_always_week"] == 3).all()
    assert model.trust == pytest.approx(0.6)


def test_weekly_hazard_fires_at_the_geometric_rate():
    doc = pie(russia=NEVER_AGREE, us=NEVER_AGREE)
    effect = [{"target": "trust", "op": "add", "value": 0.0}]
    window = [day(0), day(9)]  # ten weeks
    doc["events"] = {
        "once": {"hazard": 0.1, "window": window, "effects": effect},
        "again": {"hazard": 0.1, "window": window, "repeat": True, "effects": effect},
    }
    lanes = 20000
    _, result = simulate(doc, lanes=lanes)
    fired = int((result.runs["event_once_week"] >= 0).sum())
    assert binomial_ok(fired, lanes, 1 - 0.9**10)
    counts = result.runs["event_again_count"]
    assert abs(counts.mean() - 1.0) < 4 * math.sqrt(0.9 / lanes)  # Binomial(10, 0.1) per lane


def test_reciprocity_returns_a_share_of_the_opponents_last_concession():
    # the US concedes 1/20 of the pie a week (linear, beta = 1); Russia returns rho x trust of it
    doc = pie(russia={"tactic": {"beta": 0.5, "reciprocity": 0.5}})
    _, result = simulate(doc, lanes=1, trace=1)
    russia_offer = result.trace[:, 0, 0, 0]  # Russia's utility of its own offer is x itself
    returned = 0.5 * 0.5 * (1 / 20)  # rho x trust x the US concession seen since last week
    for week in range(2, 10):
        assert russia_offer[week] == pytest.approx(1 - (week / 20) ** 2 - returned, abs=1e-12)


def test_trust_speeds_concession_when_parties_are_sensitive_to_it():
    def mean_week(trust: float) -> float:
        tactic = {"beta": 0.5, "trust_sensitivity": 1.0, "noise": 0.02}
        doc = pie(russia={"margin": -0.2, "tactic": tactic}, us={"margin": -0.2, "tactic": tactic})
        doc["trust"] = trust
        _, result = simulate(doc, lanes=500)
        return result.runs["agreed_week"].mean()

    assert mean_week(0.9) < mean_week(0.1) - 1


def test_summit_advances_the_clock_by_its_boost():
    doc = pie(us=NEVER_AGREE)
    doc["calendar"]["summits"] = [{"name": "summit", "date": day(5), "clock_boost": 3}]
    _, result = simulate(doc, lanes=1, trace=1)
    utility = result.trace[:12, 0, 0, 0]  # Russia's utility of its own pie offer is x itself
    for week, value in enumerate(utility):
        elapsed = week + (3 if week >= 5 else 0)
        assert value == pytest.approx(1 - elapsed / 20, abs=1e-12)


def test_party_tables_nothing_before_its_readiness_date():
    doc = pie(russia=NEVER_AGREE, us={**NEVER_AGREE, "readiness": day(5)})
    _, result = simulate(doc, lanes=1, trace=1)
    us_offers = result.trace[:, 1, 0, 0]
    assert np.isnan(us_offers[:5]).all() and not np.isnan(us_offers[5:]).any()


def test_dropping_an_issue_leaves_every_package_worth_the_same(baseline_path):
    """A dropped issue keeps counting at its off-table value: no weights are renormalised."""
    model = NegotiationModel(load_scenario(baseline_path), 200, seed=2)
    every = np.arange(model.lanes)
    linkage = model.issue_names.index("iran_linkage")
    package = np.tile([1600.0, 800.0, 60.0, 40.0, 0.0], (model.lanes, 1))
    before = {p.key: p.utility(package, every) for p in model.order}
    weights = {p.key: p.weight.copy() for p in model.order}
    model.dropped[:, linkage] = True
    model._update_mandates(every)
    for party in model.order:
        assert np.array_equal(party.weight, weights[party.key])
        assert np.array_equal(party.utility(package, every), before[party.key])
