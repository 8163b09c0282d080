"""negsim discover: PRIM finds a known threshold; CART, scores, pages; bad input exits 2."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import store
from sim.cli import app
from sim.discover import (
    DiscoverError,
    discover,
    event_weeks,
    read_cases,
    start_discover,
    write_results,
)
from sim.discover_report import headline
from sim.loader import load_scenario
from sim.run import resolved_yaml, run_scenario

THRESHOLD = 1.29  # Russia's walk-away margin below which the synthetic talks succeed


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    """A small real baseline run with three traced lanes."""
    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    out = tmp_path_factory.mktemp("discover") / "run"
    run_scenario(load_scenario(base, ["replications=400"]), out, trace=3)
    return out


@pytest.fixture(scope="module")
def threshold_run(tmp_path_factory, baseline_run) -> Path:
    """A synthetic run folder: a treaty before the deadline exactly when Russia's margin < 1.29;
    the US margin and the events are noise."""
    out = tmp_path_factory.mktemp("discover") / "synthetic"
    store.prepare_folder(out)
    shutil.copy(baseline_run / "scenario.yaml", out / "scenario.yaml")
    rng = np.random.default_rng(7)
    n = 2000
    russia = rng.uniform(1.2, 1.4, n)
    agreed = russia < THRESHOLD
    runs = {
        "lane": np.arange(n),
        "agreed": agreed,
        "agreed_week": np.where(agreed, 10, -1).astype(np.int32),
        "in_force": agreed,
        "input.parties.russia.margin": russia,
        "input.parties.us.margin": rng.uniform(0.9, 1.1, n),
    }
    store.write_table(out / "runs.parquet", runs)
    store.write_json(out / "manifest.json", {"status": "complete", "seed": 20090507})
    return out


def test_prim_recovers_a_single_input_threshold(threshold_run):
    found = discover(threshold_run, "p_agree_before_deadline")
    box = found.box
    assert box.density >= 0.9 and box.coverage >= 0.9
    assert list(box.limits) == ["input.parties.russia.margin"]
    low, high = box.limits["input.parties.russia.margin"]
    assert low == pytest.approx(1.2, abs=0.01)  # no lower limit worth the name
    russia = found.cases.x["input.parties.russia.margin"].to_numpy()
    between = ((russia > min(high, THRESHOLD)) & (russia <= max(high, THRESHOLD))).sum()
    assert between <= 0.01 * len(russia)  # within the sampling resolution: few lanes in the gap
    assert f"Russia: walk-away margin <= {high:.3g}" in found.rule
    assert found.scores.iloc[0]["feature"] == "input.parties.russia.margin"
    assert found.leaves  # CART splits on the margin too
    assert any(
        "Russia: walk-away margin <=" in leaf["rule"] and leaf["share"] > 0.9
        for leaf in found.leaves
    )


def test_event_weeks_are_those_the_model_fired(baseline_run):
    scenario = load_scenario(baseline_run / "scenario.yaml")
    runs = pd.read_parquet(baseline_run / "runs.parquet")
    weeks, features = event_weeks(scenario, runs)
    for name, event in scenario.events.items():
        fired = runs[f"event_{name}_week"].to_numpy()
        would = weeks[f"event.{name}"].to_numpy()
        hit = fired >= 0
        assert hit.any()
        if event.date is None:
            assert (would[hit] == fired[hit]).all()  # the same draws, the same weeks
            assert (would[~hit] != fired[~hit]).all()
        else:
            assert (would[hit] == 1).all()
    assert features["event.iran_delinked"].kind == "week"


def test_cli_writes_folder_and_prints_rule(baseline_run, tmp_path):
    out = tmp_path / "d"
    result = CliRunner().invoke(app, ["discover", str(baseline_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "rule (PRIM)" in result.output
    table = pd.read_parquet(out / "discover.parquet")
    assert table["chosen"].sum() == 1
    assert {"coverage", "density", "mass"} <= set(table.columns)
    record = json.loads((out / "discover.json").read_text())
    assert record["rule"].startswith("Signed before START I expires (5 December 2009)")
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_discover_over_a_sweep(tmp_path, baseline_path):
    sweep = tmp_path / "sweep"
    args = ["sweep", str(baseline_path), "--param", "parties.us.tactic.beta=0.2:2.0:3"]
    result = CliRunner().invoke(app, [*args, "--reps", "60", "--out", str(sweep), "--workers", "1"])
    assert result.exit_code == 0, result.output
    cases = read_cases(sweep, "p_agree_before_deadline")
    assert cases.source == "sweep" and len(cases.y) == 180
    assert "param.parties.us.tactic.beta" in cases.features


def test_bad_inputs_exit_2(baseline_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["discover", str(baseline_run), "--outcome", "treaty"])
    assert result.exit_code == 2
    assert (
        "--outcome treaty: unknown outcome; choose one of p_agree_before_deadline" in result.output
    )
    result = runner.invoke(app, ["discover", str(tmp_path)])
    assert result.exit_code == 2 and "not a results folder" in result.output
    plain = tmp_path / "plain"
    scenario = load_scenario(baseline_run / "scenario.yaml", ["parties.russia.margin=1.3"])
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["events"] = {}
    data["parties"]["us"]["margin"] = 1.0
    plain_file = tmp_path / "plain.yaml"
    import yaml

    plain_file.write_text(yaml.safe_dump(data))
    run_scenario(load_scenario(plain_file, ["replications=50"]), plain)
    result = runner.invoke(app, ["discover", str(plain), "--outcome", "p_in_force"])
    assert result.exit_code == 2
    assert "no inputs to explain" in result.output or "nothing to discover" in result.output
    with pytest.raises(DiscoverError, match="no inputs to explain"):
        read_cases(plain, "p_agree_before_deadline")
    assert resolved_yaml(scenario)  # the run folder's scenario round-trips


def test_no_box_reaches_the_target_the_densest_is_reported(baseline_run, tmp_path):
    """An outcome that is noise: no box reaches the 80% target, so discover keeps PRIM's
    peeling trajectory and reports its densest box as falling short."""
    out = tmp_path / "noise"
    store.prepare_folder(out)
    shutil.copy(baseline_run / "scenario.yaml", out / "scenario.yaml")
    rng = np.random.default_rng(11)
    n = 2000
    agreed = rng.uniform(size=n) < 0.5
    runs = {
        "lane": np.arange(n),
        "agreed": agreed,
        "agreed_week": np.where(agreed, 10, -1).astype(np.int32),
        "in_force": agreed,
        "input.parties.russia.margin": rng.uniform(1.2, 1.4, n),
        "input.parties.us.margin": rng.uniform(0.9, 1.1, n),
    }
    store.write_table(out / "runs.parquet", runs)
    store.write_json(out / "manifest.json", {"status": "complete", "seed": 20090507})
    found = discover(out, "p_agree_before_deadline")
    assert found.target == 0.8 and len(found.boxes) > 1  # the trajectory, not one box
    assert found.box.density == max(b.density for b in found.boxes) < 0.8
    assert found.box.density > agreed.mean() and found.box.limits
    assert not found.reaches_target
    assert ("target density", "80.0%: no box reaches it; the rule is the densest box's") in (
        headline(found)
    )
    folder = tmp_path / "discovered"
    start_discover(folder, out, "p_agree_before_deadline", None)
    write_results(folder, found)
    table = pd.read_parquet(folder / "discover.parquet")
    assert len(table) == len(found.boxes) and not table["reaches_target"].any()
    assert table.loc[table["chosen"], "density"].item() == table["density"].max()
    said = json.loads((folder / "discover.json").read_text())
    assert said["target_density"] == 0.8 and said["box"]["reaches_target"] is False
