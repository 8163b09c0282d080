"""Common random numbers: a lane's draws depend on (seed, purpose, lane, week) alone."""

from __future__ import annotations

import numpy as np

from sim.ensemble import run_chunks
from sim.loader import load_scenario
from sim.streams import normal, uniform


def lanes_of(scenario, replications: int, chunk: int) -> dict[str, np.ndarray]:
    parts = [r.runs for _, r in run_chunks(scenario, replications, scenario.seed, chunk=chunk)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_streams_are_keyed_by_lane_not_by_position():
    lanes = np.arange(1000, dtype=np.uint64)
    whole = uniform(7, "noise:us", lanes, 3)
    assert np.array_equal(whole[500:], uniform(7, "noise:us", lanes[500:], 3))
    assert np.array_equal(whole[::7], uniform(7, "noise:us", lanes[::7], 3))
    assert not np.array_equal(whole, uniform(7, "noise:us", lanes, 4))
    assert not np.array_equal(whole, uniform(7, "noise:ru", lanes, 3))
    assert not np.array_equal(whole, uniform(8, "noise:us", lanes, 3))


def test_uniform_and_normal_have_their_moments():
    lanes = np.arange(200_000, dtype=np.uint64)
    u = uniform(1, "x", lanes)
    assert u.min() > 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(u))
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / np.sqrt(len(u))
    z = normal(1, "y", lanes)
    assert abs(z.mean()) < 4 / np.sqrt(len(z)) and abs(z.std() - 1) < 0.01


def test_lanes_do_not_depend_on_the_chunk_size(baseline_path):
    scenario = load_scenario(baseline_path)
    large = lanes_of(scenario, 3000, 10_000)
    for chunk in (1000, 37):  # 37: odd sizes shift every lane against SIMD blocks
        small = lanes_of(scenario, 3000 if chunk == 1000 else 1200, chunk)
        for key, column in small.items():
            assert np.array_equal(column, large[key][: len(column)], equal_nan=True), key


def test_an_unchanged_variant_gives_identical_lanes(baseline_path, tmp_path):
    variant = tmp_path / "same.yaml"
    variant.write_text(f"extends: {baseline_path}\nname: same_as_baseline\n")
    one = lanes_of(load_scenario(baseline_path), 2000, 10_000)
    two = lanes_of(load_scenario(variant), 2000, 10_000)
    for key, column in one.items():
        assert np.array_equal(column, two[key], equal_nan=True), key


def test_a_readiness_variant_keeps_every_event_in_its_week(baseline_path):
    base = lanes_of(load_scenario(baseline_path), 2000, 10_000)
    early = load_scenario(baseline_path.parent / "early_us_positions.yaml")
    variant = lanes_of(early, 2000, 10_000)
    assert not np.array_equal(base["agreed_week"], variant["agreed_week"])  # it does change talks
    review = base["event_md_review_week"]
    assert (review >= 0).any() and (review < 0).any()
    assert np.array_equal(review, variant["event_md_review_week"])
    for key in [k for k in base if k.startswith("input.")]:
        assert np.array_equal(base[key], variant[key]), key
