"""Forecast scores against values worked out by hand on a four-lane fixture."""

import math

import numpy as np
import pytest
from factory import day, pie
from typer.testing import CliRunner

from sim.calendar import Clock
from sim.cli import app
from sim.scenario import Scenario
from sim.score import crps, score_fact
from sim.targets import Fact

CLOCK = Clock.from_calendar(Scenario.model_validate(pie()).calendar)  # 41 weeks
LANES = {
    "agreed": np.array([True, True, False, True]),
    "agreed_week": np.array([10, 12, -1, 14]),
    "package_pie": np.array([0.1, 0.2, np.nan, 0.4]),
}


def score(**fact):
    return score_fact(Fact(**fact), LANES, CLOCK)


def test_brier_and_log_score_of_a_probability():
    s = score(column="agreed", value=True)
    assert s.probability == 0.75
    assert s.brier == pytest.approx(0.0625)
    assert s.log == pytest.approx(-math.log(0.75))
    assert s.crps is None


def test_an_event_no_lane_forecast_scores_the_ensembles_resolution():
    s = score(column="agreed_week", by=day(5))
    assert s.probability == 0 and s.brier == 1.0
    assert s.log == pytest.approx(math.log(8))  # p floored at 1 / (2 x 4 lanes)


def test_crps_of_values_leaves_out_lanes_without_one():
    # lanes 0.1, 0.2, 0.4 against 0.2: E|X-y| = 0.3/3 = 0.1; E|X-X'| = 2(0.1+0.3+0.2)/9
    s = score(column="package_pie", value=0.2)
    assert s.crps == pytest.approx(0.1 - 0.6 / 9)
    assert s.brier is None and s.log is None  # an exact real number: no probability to score
    s = score(column="package_pie", value=0.2, tolerance=0.1)  # 0.1 and 0.2 within it
    assert s.probability == 0.5 and s.brier == pytest.approx(0.25)


def test_crps_of_dates_in_weeks_never_counting_as_after_the_horizon():
    # weeks 10, 12, 41 (never), 14 against 12: E|X-y| = 33/4; pairwise sum 95, E|X-X'| = 190/16
    s = score(column="agreed_week", value=day(12))
    assert s.crps == pytest.approx(33 / 4 - 190 / 32)
    assert s.unit == "weeks"


def test_crps_of_a_single_value_is_the_absolute_error():
    assert crps(np.array([3.0]), 5.0) == 2.0


def test_cli_score_ranks_runs(baseline_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["run", str(baseline_path), "--reps", "200", "--workers", "1", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    observed = tmp_path / "observed.yaml"
    observed.write_text(
        "name: observed\nfacts:\n"
        "  - {column: agreed, value: true}\n"
        "  - {column: agreed_week, value: 2009-10-19}\n"
    )
    result = runner.invoke(app, ["score", str(out), "--observed", str(observed)])
    assert result.exit_code == 0, result.output
    assert "Brier" in result.output and "weeks" in result.output
