"""Packed sweeps: lanes of many points in one chunk give each point exactly its own run."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from sim.cli import app
from sim.ensemble import run_chunk
from sim.executors import open_pool
from sim.loader import document, load_scenario
from sim.packed import packed_chunks, run_packed, run_packed_chunk, unpackable
from sim.sweep import point_outputs, point_scenario

PATHS = [
    "parties.russia.margin",  # an uncertain input in the baseline, swept to constants
    "parties.us.tactic.beta",
    "drafting_weeks",
    "events.md_review.hazard",
    "trust",  # a constant in the baseline
    "parties.us.ratifier.blocs.republicans.margin",
]
LO = np.array([0.9, 0.2, 1.0, 0.0, 0.3, 0.4])
HI = np.array([1.3, 1.0, 6.0, 0.05, 0.7, 1.3])


@pytest.fixture(scope="module")
def design():
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    resolved = document(base)
    rng = np.random.default_rng(3)
    points = [
        dict(zip(PATHS, map(float, LO + rng.random(6) * (HI - LO)), strict=True)) for _ in range(5)
    ]
    return resolved, points, point_scenario(resolved, points[0])


def test_each_points_lanes_equal_its_own_run(design) -> None:
    resolved, points, scenario = design
    reps = 120
    values = {p: np.array([pt[p] for pt in points]) for p in PATHS}
    packed = run_packed_chunk(scenario, values, reps, 11, 0, len(points) * reps)
    assert np.array_equal(np.bincount(packed["point"]), [reps] * len(points))
    for i, point in enumerate(points):
        alone = run_chunk(point_scenario(resolved, point), 0, reps, 11).runs
        rows = packed["point"] == i
        for key in packed:
            if key != "point":
                np.testing.assert_array_equal(packed[key][rows], alone[key], err_msg=key)


def test_outputs_equal_a_sweep_points_own(design) -> None:
    """Chunks of 97 lanes cut across points: the carried lanes must join their point."""
    resolved, points, scenario = design
    reps = 80
    table = run_packed(scenario, points, reps, 5, chunk=97)
    assert list(table["point"]) == list(range(len(points)))
    for i, point in enumerate(points):
        scn = point_scenario(resolved, point)
        own = point_outputs(pd.DataFrame(run_chunk(scn, 0, reps, 5).runs), scn)
        row = table.iloc[i]
        for key, value in own.items():
            assert row[key] == pytest.approx(value, rel=0, abs=0, nan_ok=True), key


def test_workers_give_the_same_table(design) -> None:
    _, points, scenario = design
    alone = run_packed(scenario, points, 60, 5, chunk=70)
    with open_pool(2) as pool:
        shared = run_packed(scenario, points, 60, 5, pool=pool, chunk=70)
    pd.testing.assert_frame_equal(alone, shared)


def test_chunks_cover_the_grid_once() -> None:
    spans = packed_chunks(7, 30, chunk=50)
    lanes = np.concatenate([np.arange(a, b) for a, b in spans])
    assert np.array_equal(lanes, np.arange(210))


def test_a_small_sweep_is_cut_finer_so_every_worker_gets_chunks() -> None:
    assert len(packed_chunks(16 * 8, 150)) == 8  # 19,200 lanes
    assert packed_chunks(1, 5) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert {b - a for a, b in packed_chunks(65_536, 150)} == {40_000, 30_400}


def test_only_lane_paths_pack() -> None:
    assert unpackable(["trust", "calendar.rounds.every_weeks"]) == ["calendar.rounds.every_weeks"]


SWEEP = importlib.import_module("sim.sweep")  # `sim.sweep` is the API's function
PACKED = importlib.import_module("sim.packed")
runner = CliRunner()
DESIGN = ["--param", "parties.russia.margin=0.9:1.3", "--param", "drafting_weeks=1:6"]


def sweep_args(out: Path, *extra: str) -> list[str]:
    base = str(ROOT / "scenarios" / "baseline.yaml")
    lhs = ["--method", "lhs", "--samples", "6", "--reps", "70", "--workers", "1"]
    return ["sweep", base, *DESIGN, *lhs, "--out", str(out), *extra]


def test_a_packed_sweep_writes_the_table_of_a_point_by_point_one(tmp_path) -> None:
    for name, extra in (("packed", ["--packed"]), ("points", [])):
        result = runner.invoke(app, sweep_args(tmp_path / name, *extra))
        assert result.exit_code == 0, result.output
    packed = pd.read_parquet(tmp_path / "packed" / "sweep.parquet")
    points = pd.read_parquet(tmp_path / "points" / "sweep.parquet")
    pd.testing.assert_frame_equal(packed, points, check_exact=True)
    assert not (tmp_path / "packed" / "points").exists()
    assert not (tmp_path / "packed" / "chunks").exists()  # summed up, then removed


def test_an_interrupted_packed_sweep_resumes_without_redoing_a_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(SWEEP, "packed_lanes", lambda total: 100)  # 6 x 70 lanes: 5 chunks
    real, calls = PACKED.run_packed_chunk, []

    def failing(scenario, values, reps, seed, start, stop):
        calls.append(start)
        if start == 300:
            raise RuntimeError("worker lost")
        return real(scenario, values, reps, seed, start, stop)

    monkeypatch.setattr(PACKED, "run_packed_chunk", failing)
    out = tmp_path / "sweep"
    result = runner.invoke(app, sweep_args(out, "--packed"))
    assert result.exit_code == 1 and "packed chunk 3" in result.output
    assert f"finish with: negsim sweep --resume {out}" in result.output
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in (out / "chunks").iterdir()) == [
        f"packed-{i:05d}.npz" for i in range(3)
    ]
    (out / "chunks" / "packed-00001.npz").write_bytes(b"cut short")  # damaged: run again
    calls.clear()
    monkeypatch.setattr(PACKED, "run_packed_chunk", lambda *a: calls.append(a[4]) or real(*a))
    result = runner.invoke(app, ["sweep", "--resume", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert calls == [100, 300, 400]  # only the chunks not saved whole
    whole = tmp_path / "whole"
    assert runner.invoke(app, sweep_args(whole, "--packed")).exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "sweep.parquet"), pd.read_parquet(whole / "sweep.parquet")
    )


def test_a_parameter_that_is_not_per_lane_is_refused_in_one_line(tmp_path) -> None:
    args = sweep_args(tmp_path / "s", "--packed")
    args[3] = "calendar.rounds.every_weeks=2:8"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--packed: calendar.rounds.every_weeks cannot differ lane by lane" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s").exists()
