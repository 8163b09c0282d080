"""The politics: ratification as a vote, anticipation, deadlines that bite, the treaty text."""

from __future__ import annotations

import math

import numpy as np
import pytest
from factory import chamber, day, merge, pie, simulate
from scipy.stats import norm

from sim.loader import load_scenario
from sim.model import NegotiationModel
from sim.scenario import Scenario
from sim.theory import rubinstein_first_share


def closed_form_yes(members: int, gain: float, margin: float, spread: float) -> int:
    """Members sit at normal quantiles (k - 0.5)/n of margin + spread z: those at or below the
    gain vote yes."""
    return sum(
        1 for k in range(1, members + 1) if margin + spread * norm.ppf((k - 0.5) / members) <= gain
    )


def test_votes_equal_the_closed_form_count():
    doc = pie(russia={"ratifier": chamber("Duma", 1.0, 0.1, 0.2, members=451)})
    model = NegotiationModel(Scenario.model_validate(doc), 9, seed=1)
    body = model.party["russia"].ratifier
    shares = np.linspace(0.05, 0.95, 9)
    yes = body.votes(shares[:, None], np.arange(9))
    expected = [closed_form_yes(451, x - 0.5, 0.1, 0.2) for x in shares]
    assert list(yes) == expected
    assert 0 < expected[4] < 451  # the middle package splits the chamber


def test_two_blocs_add_their_votes_and_the_threshold_counts_members():
    senate = chamber("Senate", 0.0, -0.3, 0.0, members=58, threshold=0.6666)
    senate["blocs"]["hawks"] = {**senate["blocs"]["all"], "members": 41, "margin": 0.2}
    doc = pie(us={"ratifier": senate})
    model = NegotiationModel(Scenario.model_validate(doc), 3, seed=1)
    body = model.party["us"].ratifier
    assert body.needed == 66
    # US gain of a Russian share x is (1 - x) - 0.5; spread 0: a bloc votes as one
    yes = body.votes(np.array([[0.9], [0.6], [0.2]]), np.arange(3))
    assert list(yes) == [0, 58, 99]
    assert list(body.passes(np.array([[0.9], [0.6], [0.2]]), np.arange(3))) == [False, False, True]


def test_the_vote_comes_delay_weeks_after_signature():
    body = chamber("Senate", 0.0, -0.4, 0.05, delay_weeks=7)
    doc = pie(us={"ratifier": body, "tactic": {"noise": 0.05}}, horizon_week=60)
    _, result = simulate(doc, lanes=300)
    runs = result.runs
    agreed = runs["agreed"]
    assert agreed.sum() > 200
    assert (runs["ratified_week_us"][agreed] == runs["agreed_week"][agreed] + 7).all()
    assert (runs["ratified_week_russia"][agreed] == runs["agreed_week"][agreed]).all()
    assert (runs["votes_us"][agreed] >= 0).all() and (runs["votes_us"][~agreed] == -1).all()


def test_a_hostile_chamber_rejects_most_treaties(baseline_path):
    hostile = [
        "parties.us.anticipates_ratification=false",
        "parties.us.ratifier.blocs.republicans.margin=1.8",
        "parties.us.ratifier.blocs.democrats.margin=0.9",
    ]
    scenario = load_scenario(baseline_path, ["replications=600", *hostile])
    runs = NegotiationModel(scenario, 600, scenario.seed).run().runs
    signed = runs["agreed"]
    assert signed.mean() > 0.3
    assert runs["ratified_us"][signed].mean() < 0.5
    assert runs["in_force"].mean() < 0.5


@pytest.mark.parametrize(("margin", "binds"), [(0.15, True), (-0.6, False)])
def test_anticipation_matters_only_where_the_win_set_binds(margin, binds):
    """Senate edge 0.65 binds (the US would settle near 0.5); edge -0.1 lies below the US
    walk-away (0), so even conceding everything would pass: the win-set is slack."""
    body = chamber("Senate", 0.0, margin, 0.0)
    tactic = {"noise": 0.03}
    runs = {}
    for anticipates in (True, False):
        us = {"ratifier": body, "anticipates_ratification": anticipates, "tactic": tactic}
        _, result = simulate(pie(russia={"tactic": tactic}, us=us), lanes=400)
        runs[anticipates] = result.runs
    same = np.array_equal(runs[True]["utility_us"], runs[False]["utility_us"], equal_nan=True)
    assert same is not binds
    if binds:
        signed = runs[True]["agreed"]
        assert (runs[True]["utility_us"][signed] >= 0.65 - 1e-9).all()
        assert runs[True]["in_force"].mean() > runs[False]["in_force"].mean() + 0.5


def test_a_floor_above_the_zone_of_agreement_leaves_talks_without_a_treaty():
    stubborn = {"margin": 0.25, "verification_loss": 0.05, "erosion_limit": 0.1}  # floor >= 0.65
    doc = pie(russia=stubborn, us=stubborn, horizon_week=80)
    doc["calendar"]["deadline_kind"] = "soft"
    _, result = simulate(doc, lanes=300)
    assert not result.runs["agreed"].any()  # P(agreement by the horizon) = 0 < 1


def test_stalled_talks_break_down_after_expiry_at_the_stated_hazard():
    stubborn = {"margin": 0.25, "erosion_limit": 0.0}
    doc = pie(russia=stubborn, us=stubborn, horizon_week=80)
    doc["calendar"]["deadline_kind"] = "soft"
    doc["breakdown"] = {"hazard": 0.05}
    _, result = simulate(doc, lanes=4000)
    broke = result.runs["broke_down_week"]
    assert not ((broke >= 0) & (broke < 20)).any()  # never before expiry (week 20)
    for k in (0, 9, 29):  # P(collapsed by week 20 + k) = 1 - 0.95^(k + 1)
        p = 1 - 0.95 ** (k + 1)
        hits = int(((broke >= 0) & (broke <= 20 + k)).sum())
        assert abs(hits - 4000 * p) <= 4 * math.sqrt(4000 * p * (1 - p))


def test_a_hard_deadline_makes_parties_concede_earlier_than_a_soft_one():
    tactic = {"beta": 1.0, "noise": 0.02}
    doc = pie(russia={"margin": -0.2, "tactic": tactic}, us={"margin": -0.2, "tactic": tactic})
    _, hard = simulate(doc, lanes=500)
    _, soft = simulate(merge(doc, {"calendar": {"deadline_kind": "soft"}}), lanes=500)
    assert hard.runs["agreed_week"].mean() < soft.runs["agreed_week"].mean() - 1


def test_without_drafting_capacity_no_treaty_is_signed():
    doc = pie(russia={"capacity": 0.0})
    doc["drafting_weeks"] = 2
    _, result = simulate(doc, lanes=200)
    assert not result.runs["agreed"].any()
    doc["parties"]["russia"]["capacity"] = 0.5  # four joint session weeks at half pace
    _, result = simulate(doc, lanes=200)
    assert result.runs["agreed"].all() and (result.runs["agreed_week"] >= 3).all()


def test_drafting_starts_only_once_both_sides_have_tabled():
    doc = pie(us={"readiness": day(6)})
    doc["drafting_weeks"] = 2
    _, result = simulate(doc, lanes=1)
    assert result.runs["agreed_week"][0] >= 6 + 1  # two session weeks of work from week 6


def test_the_host_of_a_round_moves_first():
    """Rubinstein's first proposer gets (1 - d2)/(1 - d1 d2): hosting the round decides who."""
    doc = pie(
        russia={"tactic": {"kind": "rubinstein", "discount": 0.9}},
        us={"tactic": {"kind": "rubinstein", "discount": 0.5}},
    )
    doc["calendar"]["sessions"][0]["host"] = "us"
    _, result = simulate(doc, lanes=1)
    assert result.runs["utility_us"][0] == pytest.approx(rubinstein_first_share(0.5, 0.9), abs=1e-9)
