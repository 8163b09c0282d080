"""Uncertain inputs: distributions drawn per lane, checked against bounds, recorded in runs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.ensemble import run_chunk
from sim.inputs import Distribution
from sim.loader import ScenarioError, build, document, load_scenario
from sim.streams import uniform

U = uniform(3, "moments", np.arange(200_000, dtype=np.uint64))


@pytest.mark.parametrize(
    ("raw", "bounds", "mean", "var"),
    [
        ({"uniform": [2, 5]}, (-np.inf, np.inf), 3.5, 9 / 12),
        ({"triangular": [0, 1, 4]}, (-np.inf, np.inf), 5 / 3, (0 + 1 + 16 - 0 - 0 - 4) / 18),
        ({"beta": [2, 3, 10, 20]}, (-np.inf, np.inf), 14.0, 100 * 6 / (25 * 6)),
        ({"choice": [1, 2, 7]}, (-np.inf, np.inf), 10 / 3, np.var([1, 2, 7])),
        ({"normal": [1, 2]}, (-np.inf, np.inf), 1.0, 4.0),
        ({"normal": [0, 1]}, (0.0, np.inf), stats.halfnorm.mean(), stats.halfnorm.var()),
    ],
)
def test_draws_have_the_distributions_moments(raw, bounds, mean, var):
    draws = Distribution.parse(raw).bounded(*bounds).quantile(U)
    assert abs(draws.mean() - mean) < 5 * np.sqrt(var / len(U))
    assert draws.var() == pytest.approx(var, rel=0.02)
    lo, hi = Distribution.parse(raw).bounded(*bounds).support()
    assert lo <= draws.min() and draws.max() <= hi


def test_a_normal_is_truncated_to_its_fields_bounds(baseline_path):
    scenario = load_scenario(baseline_path, ["parties.us.tactic.noise={normal: [0.05, 0.3]}"])
    dist = scenario.inputs["parties.us.tactic.noise"]
    assert (dist.lo, dist.hi) == (0.0, 0.5)
    runs = run_chunk(scenario, 0, 3000, scenario.seed).runs
    noise = runs["input.parties.us.tactic.noise"]
    assert noise.min() >= 0.0 and noise.max() <= 0.5 and noise.min() < 0.01


def test_input_columns_reproduce_the_draws(baseline_path):
    scenario = load_scenario(baseline_path, ["trust={beta: [2, 2, 0.3, 0.7]}"])
    runs = run_chunk(scenario, 1, 500, scenario.seed, chunk=500).runs
    lanes = np.arange(500, 1000, dtype=np.uint64)
    for path, dist in scenario.inputs.items():
        expected = dist.quantile(uniform(scenario.seed, f"input:{path}", lanes))
        assert np.array_equal(runs[f"input.{path}"], expected), path
    assert "input.trust" in runs and np.ptp(runs["input.trust"]) > 0.2


def test_a_resolved_scenario_loads_back_with_its_distributions(baseline_path):
    scenario = load_scenario(baseline_path, ["parties.us.tactic.beta={triangular: [0.3, 0.5, 1]}"])
    again = build(document(scenario), {}, {}, "scenario.yaml")
    assert again.inputs == scenario.inputs and again == scenario


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "parties.us.tactic.beta={uniform: [-1, 2]}",
            "--set parties.us.tactic.beta={uniform: [-1, 2]}: parties.us.tactic.beta: Input "
            "should be greater than 0 (got -1.0) (the low end of its distribution)",
        ),
        (
            "parties.us.actors.pentagon.positions.warheads={uniform: [1700, 2300]}",
            "--set parties.us.actors.pentagon.positions.warheads={uniform: [1700, 2300]}: "
            "parties.us.actors.pentagon.positions.warheads: 2300.0 is outside 1000.0 .. 2200.0 "
            "(the high end of its distribution)",
        ),
        (
            "issues.warheads.max={uniform: [2200, 2300]}",
            "--set issues.warheads.max={uniform: [2200, 2300]}: issues.warheads.max: cannot be "
            "a distribution: the model holds this value once, not per replication",
        ),
        (
            "trust={uniform: [0.6, 0.4]}",
            "--set trust={uniform: [0.6, 0.4]}: trust: uniform: the high end is below the low end",
        ),
        (
            "trust={beta: [2, 2]}",
            "--set trust={beta: [2, 2]}: trust: beta: takes 4 numbers, got 2",
        ),
    ],
)
def test_bad_distributions_are_refused_in_one_line(baseline_path, override, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(baseline_path, [override])
    assert str(err.value) == message


def test_a_bad_distribution_in_a_file_names_its_line(baseline_path, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {baseline_path}\nname: bad\nparties:\n  us:\n    capacity: {{uniform: [-1, 1]}}\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert str(err.value) == (
        f"{bad}:5: parties.us.capacity: Input should be greater than or equal to 0 (got -1.0) "
        "(the low end of its distribution)"
    )
