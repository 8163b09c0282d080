"""Sweeps: spec parsing, designs against their definitions, Sobol against a closed form,
per-point results against independent runs, resume after an interrupt, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.designs import DesignError, Param, design, load_sweep_file, parse_param, sobol_indices
from sim.ensemble import run_chunk
from sim.executors import open_pool
from sim.loader import load_scenario
from sim.sweep import run_sweep, start_sweep

runner = CliRunner()
BETA = "parties.us.tactic.beta"


def test_grid_spec_is_evenly_spaced_and_lists_keep_their_types():
    assert parse_param(f"{BETA}=0.2:2.0:10").grid_values() == pytest.approx(
        np.linspace(0.2, 2.0, 10)
    )
    assert parse_param("trust=0.1,0.5,0.9").grid_values() == [0.1, 0.5, 0.9]


def test_whole_number_values_stay_whole(baseline_path, tmp_path):
    base = load_scenario(baseline_path, ["replications=10"])
    start_sweep(base, [parse_param("parties.us.extension_weeks=1:9:4")], tmp_path / "sw")
    assert pd.read_parquet(tmp_path / "sw" / "design.parquet")[
        "parties.us.extension_weeks"
    ].tolist() == [1, 4, 6, 9]


@pytest.mark.parametrize(
    "text",
    [BETA, f"{BETA}=", f"{BETA}=2:1:5", f"{BETA}=0:1:1", f"{BETA}=a:b", f"{BETA}=1:2:3:4", "=1:2"],
)
def test_bad_spec_is_a_design_error(text):
    with pytest.raises(DesignError):
        parse_param(text)


def test_grid_is_the_full_product():
    points = design([parse_param("a=0:1:3"), parse_param("b=x,y")], "grid", 0, 0)
    assert {(p["a"], p["b"]) for p in points} == {
        (a, b) for a in (0.0, 0.5, 1.0) for b in ("x", "y")
    }


def test_latin_hypercube_puts_one_point_in_each_stratum():
    n = 20
    points = design([parse_param("a=0:1"), parse_param("b=10:30")], "lhs", n, seed=3)
    for name, lo, hi in (("a", 0, 1), ("b", 10, 30)):
        strata = np.floor((np.array([p[name] for p in points]) - lo) / (hi - lo) * n)
        assert sorted(strata) == list(range(n))


def test_sobol_design_has_saltelli_size_and_needs_ranges():
    params = [parse_param(f"p{i}=0:1") for i in range(5)]
    assert len(design(params, "sobol", 16, seed=1)) == 16 * (5 + 2)
    with pytest.raises(DesignError):
        design([parse_param("a=1,2")], "sobol", 16, 1)
    with pytest.raises(DesignError):
        design(params, "sobol", 12, 1)


def test_sobol_indices_of_a_linear_function_match_theory():
    # Y = 3 x1 + 1 x2 + 0 x3 with independent uniforms: S_i = ST_i = a_i^2 / sum a^2
    params = [Param(f"x{i}", 0.0, 1.0) for i in range(3)]
    points = design(params, "sobol", 1024, seed=5)
    x = np.array([[p[f"x{i}"] for i in range(3)] for p in points])
    found = sobol_indices(params, x @ np.array([3.0, 1.0, 0.0]), seed=5)
    expected = np.array([0.9, 0.1, 0.0])
    assert found["ST"] == pytest.approx(expected, abs=0.03)
    assert found["S1"] == pytest.approx(expected, abs=0.05)
    assert (found["ST_conf"] >= 0).all()


def test_point_results_equal_an_independent_run_with_the_same_seed(baseline_path, tmp_path):
    base = load_scenario(baseline_path, ["replications=200"])
    start_sweep(base, [parse_param(f"{BETA}=0.3,1.5")], tmp_path / "sw")
    with open_pool(1) as pool:
        table = run_sweep(tmp_path / "sw", pool)
    assert list(table[BETA]) == [0.3, 1.5]
    for row in table.itertuples():
        alone = load_scenario(baseline_path, ["replications=200", f"{BETA}={row._2}"])
        lanes = run_chunk(alone, 0, 200, alone.seed).runs
        before = (lanes["agreed"] & (lanes["agreed_week"] < 30)).mean()
        assert row.p_agree_before_deadline == before
        assert row.p_agree_before_deadline_low <= before <= row.p_agree_before_deadline_high
        runs = pd.read_parquet(tmp_path / "sw" / "points" / f"{row.point:05d}" / "runs.parquet")
        assert np.array_equal(runs["agreed_week"], lanes["agreed_week"])


def test_resume_finishes_without_redoing_points(baseline_path, tmp_path):
    base = load_scenario(baseline_path, ["replications=100"])
    params = [parse_param(f"{BETA}=0.2:2.0:5")]
    start_sweep(base, params, tmp_path / "whole")
    with open_pool(1) as pool:
        whole = run_sweep(tmp_path / "whole", pool)

    start_sweep(base, params, tmp_path / "cut")
    done = []

    def interrupt_after_two(points, lanes):
        done.append(points)
        if sum(done) == 2:
            raise KeyboardInterrupt

    with open_pool(1) as pool, pytest.raises(KeyboardInterrupt):
        run_sweep(tmp_path / "cut", pool, interrupt_after_two)
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len(list((tmp_path / "cut" / "points").glob("*/point.json"))) == 2

    finished = []
    with open_pool(1) as pool:
        resumed = run_sweep(tmp_path / "cut", pool, lambda p, lanes: finished.append(p))
    assert sum(finished) == 3
    pd.testing.assert_frame_equal(resumed, whole)
    assert json.loads((tmp_path / "cut" / "manifest.json").read_text())["status"] == "complete"


def test_cli_two_parameter_grid_writes_heatmap_report(baseline_path, tmp_path):
    out = tmp_path / "grid"
    result = runner.invoke(
        app,
        [
            "sweep",
            str(baseline_path),
            "--param",
            f"{BETA}=0.5,1.5",
            "--param",
            "parties.russia.margin=1.2:1.4:2",
            "--reps",
            "50",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == 4 and {"p_in_force_low", "mean_utility_us_high"} <= set(table.columns)
    assert (
        "Heatmap" in (out / "sweep.html").read_text()
        or '"heatmap"' in (out / "sweep.html").read_text()
    )


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (f"{BETA[:-1]}=0.2:2:3", "did you mean 'beta'"),
        (f"{BETA}=-1:2:3", f"--param {BETA}=-1"),
        (f"{BETA}=0.2:2", "a grid needs lo:hi:n"),
    ],
)
def test_bad_param_is_one_line_and_exit_2(baseline_path, tmp_path, param, message):
    result = runner.invoke(
        app, ["sweep", str(baseline_path), "--param", param, "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_bundled_sweep_files_load(baseline_path):
    for path in sorted((baseline_path.parent / "sweeps").glob("*.yaml")):
        spec = load_sweep_file(path)
        base = load_scenario(spec.scenario)
        points = design(spec.params, spec.method, spec.samples, base.seed)
        assert len(points) >= 10, path


def test_sweep_headers_tell_parties_apart(baseline_path, tmp_path):
    """Two parameters sharing their last path parts get distinct headers, led by the party."""
    from sim.loader import load_scenario as load
    from sim.sweep_report import headers, terminal_summary

    scn = load(baseline_path)
    paths = [BETA, "parties.russia.tactic.beta", "trust", "parties.russia.margin"]
    assert headers(scn, paths) == [
        "United States tactic.beta",
        "Russia tactic.beta",
        "trust",
        "russia.margin",
    ]
    bloc = "parties.us.ratifier.blocs.{}.margin"
    assert headers(scn, [bloc.format("democrats"), bloc.format("republicans")]) == [
        "democrats.margin",
        "republicans.margin",
    ]
    odd = ["parties.us.margin", "parties.us.ratifier.blocs.us.margin", "x.us.margin"]
    assert len(set(headers(scn, odd))) == 3
    base = load_scenario(baseline_path, ["replications=20"])
    params = [parse_param(f"{BETA}=0.3,1.5"), parse_param("parties.russia.tactic.beta=0.3,0.4")]
    start_sweep(base, params, tmp_path / "sw")
    with open_pool(1) as pool:
        run_sweep(tmp_path / "sw", pool)
    table, _ = terminal_summary(tmp_path / "sw")
    assert [c.header for c in table.columns[:3]] == [
        "point",
        "United States tactic.beta",
        "Russia tactic.beta",
    ]
