"""Calibration recovers known inputs; it resumes to the same posterior; the CLI writes its files."""

import json
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from factory import day, pie
from typer.testing import CliRunner

from sim.calibrate import Calibration, Settings, finish, start, weighted_quantiles
from sim.cli import app
from sim.loader import build, load_scenario
from sim.model import NegotiationModel
from sim.targets import Fact, FactFile

PRIOR = (0.3, 3.0)  # each party's tactic beta, uniform
runner = CliRunner()


def uncertain_pie():
    """The unit pie with both tactics' beta uncertain and a little noise in every offer."""
    doc = pie(russia={"tactic": {"noise": 0.02}}, us={"tactic": {"noise": 0.02}})
    for party in ("russia", "us"):
        doc["parties"][party]["tactic"]["beta"] = {"uniform": list(PRIOR)}
    return build(doc, {}, {}, "pie")


def observed_facts(scenario, truth: dict[str, float], lane: int) -> FactFile:
    """What one lane played at the true inputs shows: its split and its week, with tolerances."""
    inputs = {path: np.array([value]) for path, value in truth.items()}
    runs = NegotiationModel(scenario, 1, 99, first_lane=lane, inputs=inputs).run().runs
    week = int(runs["agreed_week"][0])
    return FactFile(
        name="truth",
        facts=[
            Fact(column="package_pie", value=float(runs["package_pie"][0]), tolerance=0.03),
            Fact(column="agreed_week", between=(day(week - 1), day(week + 1))),
        ],
    )


def calibrate(scenario, facts, folder, **settings):
    (folder / "batches").mkdir(parents=True)
    return Calibration(scenario, facts, folder, Settings(**settings), seed=7).run()


def test_recovery_covers_the_truth_and_narrows_the_prior(tmp_path):
    scenario = uncertain_pie()
    rng = np.random.default_rng(2009)
    covered, widths = [], []
    for trial in range(20):
        truth = {path: float(rng.uniform(*PRIOR)) for path in scenario.inputs}
        facts = observed_facts(scenario, truth, lane=10**6 + trial)
        outcome = calibrate(
            scenario, facts, tmp_path / str(trial), posterior=200, batch=2000, max_lanes=20_000
        )
        post = outcome.posterior
        for path, value in truth.items():
            lo, hi = weighted_quantiles(post.columns[f"input.{path}"], post.weights, [0.05, 0.95])
            covered.append(lo <= value <= hi)
            widths.append(hi - lo)
    coverage = np.mean(covered)
    print(f"posterior 90% intervals cover the truth in {coverage:.0%} of {len(covered)} cases")
    assert coverage >= 0.8
    assert max(widths) < 0.9 * (PRIOR[1] - PRIOR[0])  # every posterior narrower than the prior
    assert np.mean(widths) < 0.6 * 0.9 * (PRIOR[1] - PRIOR[0])


def test_smc_takes_over_when_few_lanes_meet_the_targets(tmp_path):
    scenario = uncertain_pie()
    truth = {"parties.russia.tactic.beta": 0.8, "parties.us.tactic.beta": 2.0}
    facts = observed_facts(scenario, truth, lane=10**6)
    tight = FactFile(
        name="tight",
        facts=[f.model_copy(update={"tolerance": 0.005}) if f.value else f for f in facts.facts],
    )
    outcome = calibrate(scenario, tight, tmp_path, posterior=200, batch=1000, max_lanes=40_000)
    assert outcome.method == "smc"
    epsilons = [g["epsilon"] for g in outcome.history]
    assert epsilons == sorted(epsilons, reverse=True) and len(epsilons) > 1
    post = outcome.posterior
    assert len(post.lanes) == 200 and np.isclose(post.weights.sum(), 1.0)
    for path, value in truth.items():
        lo, hi = weighted_quantiles(post.columns[f"input.{path}"], post.weights, [0.05, 0.95])
        assert hi - lo < 0.5 * (PRIOR[1] - PRIOR[0])
        assert lo - 0.2 <= value <= hi + 0.2


def test_interrupted_calibration_resumes_to_the_same_posterior(tmp_path):
    scenario = uncertain_pie()
    facts = observed_facts(scenario, {p: 1.0 for p in scenario.inputs}, lane=10**6)
    facts.facts[0] = facts.facts[0].model_copy(update={"tolerance": 0.005})
    settings = Settings(posterior=100, batch=500, max_lanes=10_000, predictive=200)
    text = yaml.safe_dump(facts.model_dump(mode="json"))
    folders = []
    for name in ("whole", "cut"):
        folders.append(tmp_path / name)
        start(folders[-1], scenario, text, settings, 7, ["test"])
    finish(Calibration(scenario, facts, folders[0], settings, 7), ["test"])

    batches = []

    def stop_after_five(info):
        batches.append(info)
        if len(batches) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finish(Calibration(scenario, facts, folders[1], settings, 7, on_batch=stop_after_five), [])
    manifest = json.loads((folders[1] / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len(list((folders[1] / "batches").glob("*.parquet"))) == 5
    finish(Calibration(scenario, facts, folders[1], settings, 7), ["resume"])
    whole, resumed = (pd.read_parquet(f / "posterior.parquet") for f in folders)
    pd.testing.assert_frame_equal(whole, resumed)
    assert not (folders[1] / "batches").exists()


def test_cli_calibrate_writes_posterior_scenario_and_report(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "name: synthetic\n"
        "facts:\n"
        "  - {column: agreed_week, between: [2009-10-05, 2009-11-02]}\n"
        "  - {column: package_warheads, value: 1615, tolerance: 10}\n"
    )
    out = tmp_path / "cal"
    args = ["calibrate", "scenarios/calibration_prior.yaml", "--targets", str(targets)]
    args += ["--posterior", "100", "--batch", "1000", "--max-lanes", "5000", "--workers", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("posterior.parquet", "prior.parquet", "predictive.parquet", "calibrate.html"):
        assert (out / name).is_file(), name
    calibrated = load_scenario(out / "calibrated.yaml")
    assert set(calibrated.inputs) == set(load_scenario("scenarios/calibration_prior.yaml").inputs)
    assert all(d.kind == "choice" and len(d.params) == 100 for d in calibrated.inputs.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["posterior_size"] >= 100


def test_cli_calibrate_refuses_a_scenario_without_uncertain_inputs(tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text("name: t\nfacts:\n  - {column: agreed, value: true}\n")
    args = ["calibrate", "scenarios/theory/nash.yaml", "--targets", str(targets)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "no uncertain inputs to calibrate" in result.output


def test_bad_target_is_one_line_with_file_and_line(tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text(
        "name: t\nfacts:\n  - {column: agreed_week, by: 2009-10-05}\n"
        "  - {column: package_warhead, value: 1600}\n"
    )
    args = ["calibrate", "scenarios/calibration_prior.yaml", "--targets", str(targets)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {targets}:4: facts.1.column: no column 'package_warhead' in runs.parquet "
        "(did you mean 'package_warheads'?)"
    )
    assert not (tmp_path / "x").exists()


def test_dates_in_facts_are_weeks_of_the_calendar():
    scenario = uncertain_pie()
    from sim.calendar import Clock

    clock = Clock.from_calendar(scenario.calendar)
    fact = Fact(column="agreed_week", by=date.fromisoformat(day(5)))
    weeks = np.array([-1, 0, 5, 6])
    assert fact.holds({"agreed_week": weeks}, clock).tolist() == [False, True, True, False]
    fact = Fact(column="agreed_week", not_by=date.fromisoformat(day(5)))
    assert fact.holds({"agreed_week": weeks}, clock).tolist() == [True, False, False, True]


def test_ctrl_c_keeps_batches_and_resume_finishes(tmp_path):
    root = Path(__file__).resolve().parent.parent
    targets = root / "scenarios" / "targets" / "synthetic_tight.yaml"
    options = ["--posterior", "200", "--batch", "500", "--max-lanes", "6000", "--workers", "1"]
    command = [sys.executable, "-m", "sim.cli", "calibrate", "scenarios/calibration_prior.yaml"]
    command += ["--targets", str(targets), *options]
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [*command, "--out", str(cut)],
        cwd=root,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any((cut / "batches").glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert f"finish with: negsim calibrate --resume {cut}" in stderr and "Traceback" not in stderr
    assert json.loads((cut / "manifest.json").read_text())["status"] == "interrupted"
    resumed = runner.invoke(app, ["calibrate", "--resume", str(cut), "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output  # the same numbers: see the test above
    manifest = json.loads((cut / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed"]
    assert not (cut / "batches").exists()
