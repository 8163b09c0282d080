"""The headline measures, each against a figure worked out by hand on a small runs table, and
their labels in the scenario's own names."""

import math

import numpy as np
import pandas as pd
import pytest
from factory import chamber, merge, pie, simulate

from sim import columns as col
from sim.calendar import Clock
from sim.compare import median_difference
from sim.outcomes import (
    Timeline,
    binomial_half_quantile,
    headline_measures,
    median_interval,
    summarize,
    summary_frame,
    wilson,
)
from sim.scenario import Scenario

Z = 1.959964


@pytest.fixture
def scenario() -> Scenario:
    """The test pie with made-up party and ratifier names, so labels can only come from it."""
    doc = pie(
        russia={"name": "Muscovy", "ratifier": chamber("Grand Rada", 1.0, 0.0)},
        us={"name": "Freedonia", "ratifier": chamber("Upper House", 0.0, 0.0)},
    )
    return Scenario.model_validate(merge(doc, {"issues": {"pie": {"unit": "slices"}}}))


@pytest.fixture
def runs() -> pd.DataFrame:
    """Ten lanes, six signed (weeks 5..30; the deadline is week 20), two in force."""
    nan = math.nan
    return pd.DataFrame(
        {
            col.AGREED: [True] * 6 + [False] * 4,
            col.AGREED_WEEK: np.array([5, 12, 19, 20, 25, 30, -1, -1, -1, -1], dtype=np.int32),
            col.IN_FORCE: [True, True] + [False] * 8,
            col.package("pie"): [0.1, 0.2, 0.3, 0.4, 0.5, 0.9] + [nan] * 4,
            col.utility("russia"): [0.1, 0.2, 0.3, 0.4, 0.5, 0.9] + [nan] * 4,
            col.utility("us"): [0.9, 0.8, 0.7, 0.6, 0.5, 0.1] + [nan] * 4,
            col.ratified("russia"): [True] * 4 + [False] * 6,
            col.ratified("us"): [True, True, False, True] + [False] * 6,
        }
    )


def test_deadline_of_the_test_calendar_is_week_20(scenario):
    assert Clock.from_calendar(scenario.calendar).deadline_week == 20


def test_each_measure_matches_its_hand_computed_figure(scenario, runs):
    found = summary_frame(runs, scenario)
    # Wilson 95% intervals, from statsmodels' proportion_confint(method="wilson")
    shares = {
        "p_agree_before_deadline": (0.3, 0.10779126740630104, 0.6032218525388546, 10),
        "p_agree_by_horizon": (0.6, None, None, 10),
        "p_in_force": (0.2, 0.056682151454375246, 0.5098375284633583, 10),
        "p_ratified.us": (0.5, 0.18761630648265054, 0.8123836935173494, 6),
        "p_ratified.russia": (4 / 6, 0.29999331513839184, 0.9032285888942195, 6),
    }
    for key, (estimate, low, high, n) in shares.items():
        row = found.loc[key]
        assert row["kind"] == "share" and row["n"] == n
        assert row["estimate"] == pytest.approx(estimate)
        if low is not None:
            assert (row["low"], row["high"]) == pytest.approx((low, high), abs=1e-9)
    # the median package, not the mean (0.4): half the signed treaties give at most 0.35;
    # six values: binomial ranks 1 and 6 cover the median with 1 - 2/64 = 97% confidence
    package = found.loc["median_package.pie"]
    assert (package["kind"], package["unit"]) == ("median", "slices")
    assert (package["estimate"], package["low"], package["high"]) == pytest.approx((0.35, 0.1, 0.9))
    # the mean utility with its normal interval: sd 0.2828 over six signed lanes
    utility = found.loc["mean_utility.us"]
    half = Z * math.sqrt(0.40 / 5) / math.sqrt(6)
    assert (utility["estimate"], utility["low"], utility["high"]) == pytest.approx(
        (0.6, 0.6 - half, 0.6 + half)
    )
    assert found.loc["median_agreement_date", "estimate"] == 19.5


def test_summary_json_holds_the_same_figures(scenario, runs):
    summary = summarize(runs, Timeline(scenario), scenario)
    assert summary["p_agree_before_deadline"]["estimate"] == 0.3
    assert summary["p_ratified"]["us"]["n"] == 6
    assert summary["median_package"] == {"pie": pytest.approx(0.35)}
    assert summary["mean_utility"]["us"] == pytest.approx(0.6)
    clock = Clock.from_calendar(scenario.calendar)
    assert summary["median_agreement_date"] == str(clock.date(19))  # week 19.5, truncated
    assert list(summary) == [
        "replications",
        "deadline",
        "p_agree_before_deadline",
        "p_agree_by_horizon",
        "p_in_force",
        "median_agreement_date",
        "median_package",
        "mean_utility",
        "p_ratified",
        "events",
    ]


def test_labels_use_the_scenarios_names_and_are_unique(scenario):
    measures = headline_measures(scenario)
    labels = [m.label for m in measures]
    assert len(set(labels)) == len(labels) and len({m.key for m in measures}) == len(measures)
    text = " | ".join(labels)
    for name in ("Muscovy", "Freedonia", "Grand Rada", "Upper House"):
        assert name in text
    assert "Mean utility to Freedonia (1 = its ideal)" in labels
    assert "Ratified by the Upper House, once signed" in labels
    assert "us" not in text.lower().split() and "russia" not in text.lower()
    assert labels[0] == "Signed before START I expires (25 May 2009)"  # week 20 of the test


def test_median_interval_uses_binomial_ranks():
    # n = 10: P(B <= 1) = 11/1024 < 0.025 <= P(B <= 2) = 56/1024, so ranks 2 and 9
    assert median_interval(np.arange(1.0, 11.0)) == (5.5, 2.0, 9.0)
    assert all(math.isnan(v) for v in median_interval(np.array([])))


@pytest.mark.parametrize("q", [0.005, 0.025, 0.1, 0.4])
def test_binomial_quantile_is_scipys(q):
    """The bisection on bdtr gives scipy.stats.binom.ppf's rank: every n to 2,000, and 500 n
    up to 2 x 10^7 (runs of that many lanes ask for it)."""
    from scipy.stats import binom

    sizes = [*range(1, 2001), *np.random.default_rng(7).integers(2001, 20_000_000, 500)]
    ours = [binomial_half_quantile(q, int(n)) for n in sizes]
    assert ours == [int(binom.ppf(q, int(n), 0.5)) for n in sizes]


def test_median_difference_combines_the_two_intervals():
    a, b = np.arange(1.0, 11.0), np.arange(11.0, 21.0)
    d, low, high = median_difference(a, b)
    half = math.hypot(9 - 2, 19 - 12) / 2
    assert (d, low, high) == pytest.approx((10.0, 10 - half, 10 + half))


def test_wilson_matches_statsmodels_published_value():
    assert wilson(3, 10)[1:] == pytest.approx((0.10779126740630104, 0.6032218525388546))


def test_the_models_columns_are_the_names_sim_columns_gives(scenario):
    _, chunk = simulate(scenario.model_dump(mode="json"), lanes=5)
    parties, issues = scenario.party_names(), list(scenario.issues)
    named = {col.AGREED, col.AGREED_WEEK, col.IN_FORCE, col.IN_FORCE_WEEK, col.BROKE_DOWN_WEEK}
    for p in parties:
        named |= {col.utility(p), col.walk_away(p), col.ratified(p), col.ratified_week(p)}
        named |= {col.votes(p)}
    named |= {col.package(i) for i in issues}
    assert set(chunk.runs) == named
