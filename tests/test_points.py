"""A sweep point is an ordinary run folder: show and compare read it, an interrupted sweep resumes
it chunk by chunk, and `negsim run --scheduler` gives a local run's files on a Dask cluster."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim.ensemble
import sim.executors
from sim.cli import app
from sim.designs import parse_param
from sim.ensemble import run_chunks
from sim.executors import open_pool
from sim.loader import document, load_scenario
from sim.sweep import point_scenario, run_sweep, start_sweep

SWEEP = importlib.import_module("sim.sweep")  # `sim.sweep` is the API's function

BETA = "parties.us.tactic.beta"
runner = CliRunner()


def small_sweep(baseline_path: Path, out: Path, reps: int = 120) -> None:
    """Two points of 120 lanes each, saved in chunks of 40 lanes (three per point)."""
    base = load_scenario(baseline_path, [f"replications={reps}", "seed=3"])
    start_sweep(base, [parse_param(f"{BETA}=0.6,1.4")], out)


@pytest.fixture
def chunks_of_40(monkeypatch):
    monkeypatch.setattr(SWEEP, "CHUNK_LANES", 40)


@pytest.fixture
def finished_sweep(baseline_path, tmp_path, chunks_of_40) -> Path:
    out = tmp_path / "sweep"
    small_sweep(baseline_path, out)
    with open_pool(1) as pool:
        run_sweep(out, pool)
    return out


def test_a_point_folder_holds_the_run_of_its_scenario(finished_sweep, baseline_path):
    base = load_scenario(baseline_path, ["replications=120", "seed=3"])
    alone = point_scenario(document(base), {BETA: 1.4})
    lanes = [pd.DataFrame(r.runs) for _, r in run_chunks(alone, 120, alone.seed, chunk=40)]
    point = finished_sweep / "points" / "00001"
    manifest = json.loads((point / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["point"] == 1
    assert manifest["chunk_lanes"] == 40 and not (point / "chunks").exists()
    runs = pd.read_parquet(point / "runs.parquet")
    assert runs["lane"].tolist() == list(range(120))
    pd.testing.assert_frame_equal(runs.drop(columns="lane"), pd.concat(lanes, ignore_index=True))
    timeline = pd.read_parquet(point / "timeline.parquet")
    assert timeline["agreements"].sum() == runs["agreed"].sum()


def test_show_reads_a_sweep_point(finished_sweep):
    point = finished_sweep / "points" / "00000"
    runs = pd.read_parquet(point / "runs.parquet")
    shown = runner.invoke(app, ["show", str(point)])
    assert shown.exit_code == 0, shown.output
    assert f"{len(runs):,} replications" in shown.stdout
    said = " ".join(shown.stdout.split())
    assert f"results: {point}" in said and "report:" not in said


def test_compare_reads_two_sweep_points(finished_sweep, tmp_path):
    a, b = (finished_sweep / "points" / n for n in ("00000", "00001"))
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads((out / "comparison.json").read_text())
    agreed = [pd.read_parquet(p / "runs.parquet")["agreed"].mean() for p in (a, b)]
    text = json.dumps(figures)
    assert all(f"{share:.6f}"[:6] in text for share in agreed)  # each point's own share


def test_interrupted_sweep_resumes_without_redoing_a_saved_chunk(
    baseline_path, tmp_path, chunks_of_40, monkeypatch
):
    whole = tmp_path / "whole"
    small_sweep(baseline_path, whole)
    with open_pool(1) as pool:
        expected = run_sweep(whole, pool)

    real = sim.ensemble.run_chunk
    calls: list[tuple[float, int]] = []

    def recorded(scenario, index, lanes, seed, trace=0, chunk=40):
        beta = scenario.parties["us"].tactic.beta
        if stop["now"] and (beta, index) == (1.4, 1):
            raise KeyboardInterrupt  # the second point stops after its first chunk
        calls.append((beta, index))
        return real(scenario, index, lanes, seed, trace, chunk)

    stop = {"now": True}
    cut = tmp_path / "cut"
    small_sweep(baseline_path, cut)
    monkeypatch.setattr(sim.ensemble, "run_chunk", recorded)
    with open_pool(1) as pool, pytest.raises(KeyboardInterrupt):
        run_sweep(cut, pool)
    assert calls == [(0.6, 0), (0.6, 1), (0.6, 2), (1.4, 0)]
    half = cut / "points" / "00001"
    assert json.loads((half / "manifest.json").read_text())["status"] == "running"
    assert sorted(p.name for p in (half / "chunks").glob("counts-*")) == ["counts-00000.npz"]

    calls.clear()
    stop["now"] = False
    resumed = runner.invoke(app, ["sweep", "--resume", str(cut), "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert calls == [(1.4, 1), (1.4, 2)]  # neither the finished point nor the saved chunk again
    pd.testing.assert_frame_equal(pd.read_parquet(cut / "sweep.parquet"), expected)
    for name in ("00000", "00001"):
        for file in ("runs.parquet", "summary.json"):
            assert (cut / "points" / name / file).read_bytes() == (
                whole / "points" / name / file
            ).read_bytes()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_run_on_a_dask_cluster_gives_the_local_run(baseline_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    args = ["run", str(baseline_path), "--reps", "300", "--seed", "11", "--chunk", "100"]
    local = runner.invoke(app, [*args, "--workers", "1", "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        where = ["--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "dask")]
        dask = runner.invoke(app, [*args, *where])
    assert dask.exit_code == 0, dask.output
    for name in ("runs.parquet", "timeline.parquet", "summary.json", "events.parquet"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_run_on_a_closed_port_is_one_line_and_writes_nothing(baseline_path, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sim.executors, "CONTACT_SECONDS", 2.0)
    import socket

    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "run"
    args = ["run", str(baseline_path), "--reps", "10", "--out", str(out)]
    result = runner.invoke(app, [*args, "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: --scheduler tcp://127.0.0.1:{port}: ")
    assert not out.exists()
