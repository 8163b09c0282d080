"""The Python API end to end: load, run into a folder, read its frames, compare, sweep."""

import subprocess
import sys

import pytest

import sim
from sim import compare, load_scenario, run, sweep


def test_importing_sim_loads_neither_pandas_nor_mesa():
    code = "import sys, sim; print(any(m in sys.modules for m in ('pandas', 'mesa', 'numpy')))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.stdout.strip() == "False", found.stderr
    with pytest.raises(AttributeError):
        sim.no_such_thing  # noqa: B018


def test_load_run_compare_and_sweep(tmp_path, baseline_path):
    scenario = load_scenario(baseline_path, ["parties.us.tactic.beta=1.5"], reps=60, seed=3)
    assert (scenario.replications, scenario.seed) == (60, 3)
    assert scenario.parties["us"].tactic.beta == 1.5

    done = run(scenario, tmp_path / "run")
    assert done.folder == tmp_path / "run" and (done.folder / "report.html").is_file()
    assert len(done.runs) == 60 and done.runs["agreed"].dtype == bool
    assert len(done.timeline) > 0 and "p_agreed" in done.timeline
    before = done.summary.loc["p_agree_before_deadline"]
    assert before["estimate"] == done.summary_json["p_agree_before_deadline"]["estimate"]
    assert before["label"].startswith("Signed before START I expires")
    assert "Mean utility to United States (1 = its ideal)" in set(done.summary["label"])

    both = compare(done.folder, baseline_path, out=tmp_path / "cmp", seed=3, reps=60)
    assert list(both.runs) == ["baseline", "baseline-2"]
    table = both.table
    assert {"measure", "label", "scenario", "estimate", "low", "high"} <= set(table.columns)
    assert set(table["measure"]) == set(done.summary.index)
    assert len(both.runs["baseline-2"].runs) == 60

    swept = sweep(
        baseline_path, ["parties.russia.margin=1.1,1.5"], tmp_path / "sweep", reps=40, seed=3
    )
    assert len(swept.table) == 2 and len(swept.design) == 2
    assert {"p_agree_before_deadline_low", "mean_utility_us_high"} <= set(swept.table.columns)
    assert len(swept.point_runs(1)) == 40


def test_api_names_stay_functions_after_the_same_named_modules_load():
    import importlib

    for name in ("run", "compare", "sweep"):
        importlib.import_module(f"sim.{name}")
    from sim import compare as compared
    from sim import run as ran
    from sim import sweep as swept

    assert all(callable(f) and f.__module__ == "sim.api" for f in (ran, compared, swept))
