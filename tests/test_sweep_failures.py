"""A design point that raises, or a worker that crashes, is reported; the rest of the sweep goes on."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim.ensemble
from sim.cli import app
from sim.designs import parse_param
from sim.ensemble import CHUNK_LANES, run_chunk
from sim.executors import open_pool
from sim.loader import load_scenario
from sim.sweep import PointsFailed, run_sweep, start_sweep

BETA = "parties.us.tactic.beta"
BAD_BETA = 1.1  # the design point this test's stand-in model breaks on


def raise_on_bad_point(scenario, index, lanes, seed, trace=0, chunk=CHUNK_LANES):
    """The real chunk, except that the bad point raises like a bug in the model would."""
    if scenario.parties["us"].tactic.beta == BAD_BETA:
        raise ValueError("model bug\non two lines")
    return run_chunk(scenario, index, lanes, seed, trace, chunk)


def crash_on_bad_point(scenario, index, lanes, seed, trace=0, chunk=CHUNK_LANES):
    """The real chunk, except that the worker process dies on the bad point."""
    if scenario.parties["us"].tactic.beta == BAD_BETA:
        os._exit(3)
    return run_chunk(scenario, index, lanes, seed, trace, chunk)


def sweep_of_five(baseline_path, folder):
    base = load_scenario(baseline_path, ["replications=200"])
    start_sweep(base, [parse_param(f"{BETA}=0.5,0.8,1.1,1.4,1.7")], folder)


@pytest.mark.parametrize(
    ("stand_in", "workers", "error"),
    [
        (raise_on_bad_point, 1, "ValueError: model bug on two lines"),
        (crash_on_bad_point, 2, "BrokenProcessPool"),
    ],
    ids=["point-raises", "worker-crashes"],
)
def test_failed_point_is_reported_and_the_rest_finish(
    baseline_path, tmp_path, monkeypatch, stand_in, workers, error
):
    sweep_of_five(baseline_path, tmp_path / "whole")
    with open_pool(1) as pool:
        whole = run_sweep(tmp_path / "whole", pool)

    folder = tmp_path / "broken"
    sweep_of_five(baseline_path, folder)
    monkeypatch.setattr(sim.ensemble, "run_chunk", stand_in)
    with open_pool(workers) as pool, pytest.raises(PointsFailed) as failed:
        run_sweep(folder, pool)
    (failure,) = failed.value.failures
    assert failure.point == 2 and failure.params == {BETA: BAD_BETA}
    assert error in failure.error and "\n" not in str(failure)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert manifest["failed"][0]["params"] == {BETA: BAD_BETA}
    kept = pd.read_parquet(folder / "sweep.parquet")
    assert kept["point"].tolist() == [0, 1, 3, 4]
    pd.testing.assert_frame_equal(kept, whole.drop(index=2).reset_index(drop=True))

    monkeypatch.setattr(sim.ensemble, "run_chunk", run_chunk)  # the bug fixed, resume
    with open_pool(1) as pool:
        resumed = run_sweep(folder, pool)
    pd.testing.assert_frame_equal(resumed, whole)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


def test_cli_names_the_failed_point_and_exits_1(baseline_path, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.ensemble, "run_chunk", raise_on_bad_point)
    out = tmp_path / "sweep"
    args = ["sweep", str(baseline_path), "--param", f"{BETA}=0.8,1.1", "--reps", "100"]
    result = CliRunner().invoke(app, [*args, "--workers", "1", "--out", str(out)])
    assert result.exit_code == 1
    assert (
        f"error: point 1 ({BETA}=1.1) failed: ValueError: model bug on two lines" in result.output
    )
    assert f"retry them with: negsim sweep --resume {out}" in result.output
