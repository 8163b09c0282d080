"""Packed sweeps' outputs computed for many points at once equal each point's own."""

from __future__ import annotations

import importlib
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from sim.ensemble import run_chunk
from sim.loader import document, load_scenario
from sim.outcomes import headline_measures
from sim.packed import PackedTask, point_values, run_packed
from sim.packed_outputs import point_columns
from sim.sweep import point_outputs, point_scenario, sweep_measures

PACKED = importlib.import_module("sim.packed")


@pytest.fixture(scope="module")
def lanes():
    """Baseline lanes cut into points of 1 to 300 lanes (some with no or one signed lane)."""
    scn = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    runs = run_chunk(scn, 0, 6_000, 5).runs
    sizes = np.r_[1, 2, 3, np.random.default_rng(0).integers(1, 300, 80)]
    sizes = sizes[np.cumsum(sizes) <= 6_000]
    parts = {k: np.array(v)[: sizes.sum()] for k, v in runs.items()}
    parts["point"] = np.repeat(np.arange(len(sizes)) + 3, sizes)
    parts["agreed"][:5] = False  # two points that never sign, one with one signed lane at most
    signed = np.bincount(parts["point"] - 3, weights=parts["agreed"])
    assert signed[0] == signed[1] == 0 and signed[2] <= 1
    return scn, parts, sizes


@pytest.mark.parametrize("which", ["sweep", "all"])
def test_columns_equal_each_points_own_outputs(lanes, which) -> None:
    """Every headline measure (medians and signed-only shares too), bit for bit."""
    scn, parts, sizes = lanes
    measures = sweep_measures(scn) if which == "sweep" else headline_measures(scn)
    found = point_columns(parts, measures)
    assert list(found["point"]) == list(range(3, 3 + len(sizes)))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    for i, (a, n) in enumerate(zip(starts, sizes, strict=True)):
        own = point_outputs({k: v[a : a + n] for k, v in parts.items()}, scn, measures)
        assert list(found)[1:] == list(own)
        for key, value in own.items():
            assert found[key][i] == pytest.approx(value, rel=0, abs=0, nan_ok=True), (i, key)


def test_tasks_carry_only_their_points_values() -> None:
    scn = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    points = [{"trust": 0.2 + i / 1000} for i in range(1000)]
    values = point_values(points)
    task = PackedTask.of(scn, values, 50, 5, 3, (120, 260))  # points 2 to 5
    np.testing.assert_array_equal(task.values["trust"], values["trust"][2:6])
    assert len(pickle.dumps(task.values)) < 1_000


def test_chunk_size_and_batches_do_not_change_the_table(monkeypatch) -> None:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    rng = np.random.default_rng(4)
    points = [
        {"trust": float(t), "parties.russia.margin": float(m)}
        for t, m in zip(rng.uniform(0.2, 0.8, 7), rng.uniform(0.95, 1.25, 7), strict=True)
    ]
    scenario = point_scenario(document(base), points[0])
    whole = run_packed(scenario, points, 90, 5, chunk=10_000)
    monkeypatch.setattr(PACKED, "BATCH_LANES", 200)  # outputs summed up every few chunks
    for chunk in (41, 90, 333):
        pd.testing.assert_frame_equal(run_packed(scenario, points, 90, 5, chunk=chunk), whole)
