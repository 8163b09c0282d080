"""`negsim compare`: intervals against published examples, same seed and replications for every
scenario, results folders read as they are, and one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.compare import newcombe, newcombe_paired, welch

runner = CliRunner()


def _paired(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Lanes of a paired 2x2 table: a both, b first only, c second only, d neither."""
    first = np.array([1] * a + [1] * b + [0] * c + [0] * d, dtype=bool)
    second = np.array([1] * a + [0] * b + [1] * c + [0] * d, dtype=bool)
    return first, second


def test_newcombe_independent_matches_the_published_example():
    # Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    d, low, high = newcombe(48, 80, 56, 70)
    assert (d, low, high) == pytest.approx((0.2, 0.0524, 0.3339), abs=5e-5)


def test_newcombe_paired_matches_the_published_example():
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. table 59, 6, 16, 80:
    # first minus second -0.0621 (-0.1186 to -0.0046); here second minus first
    d, low, high = newcombe_paired(*_paired(59, 6, 16, 80))
    assert (d, low, high) == pytest.approx((0.0621, 0.0046, 0.1186), abs=5e-5)


def test_pairing_narrows_the_interval_when_lanes_agree():
    first, second = _paired(300, 5, 15, 680)
    paired = newcombe_paired(first, second)
    independent = newcombe(int(first.sum()), 1000, int(second.sum()), 1000)
    assert paired[0] == pytest.approx(independent[0])
    assert paired[2] - paired[1] < (independent[2] - independent[1]) / 2


def test_welch_is_exact_for_known_samples():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0, 8.0])
    d, low, high = welch(a, b)
    half = 1.959964 * np.sqrt(1.0 / 3 + (20 / 3) / 4)
    assert (d, low, high) == pytest.approx((3.0, 3.0 - half, 3.0 + half), rel=1e-5)


@pytest.fixture
def variant(tmp_path, baseline_path):
    """A what-if that extends the baseline with a much firmer Russia, and another seed."""
    path = tmp_path / "firm_russia.yaml"
    path.write_text(
        f"extends: {baseline_path}\nname: firm_russia\nseed: 7\n"
        "parties:\n  russia:\n    tactic:\n      beta: 0.1\n"
    )
    return path


def test_compare_runs_with_one_seed_and_reads_folders(baseline_path, variant, tmp_path):
    done = tmp_path / "done"
    ran = runner.invoke(
        app, ["run", str(baseline_path), "--reps", "300", "--out", str(done), "--workers", "1"]
    )
    assert ran.exit_code == 0, ran.output
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            str(done),
            str(baseline_path),
            str(variant),
            "--out",
            str(out),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "comparison.html").is_file() and "firm_russia" in result.output
    manifests = [
        json.loads((out / "runs" / n / "manifest.json").read_text())
        for n in ("baseline-2", "firm_russia")
    ]
    assert {m["seed"] for m in manifests} == {20090507} and {
        m["replications"] for m in manifests
    } == {300}
    rows = pd.DataFrame(json.loads((out / "comparison.json").read_text()))
    before = rows[rows["measure"] == "p_agree_before_deadline"].set_index("scenario")
    summary = json.loads((done / "summary.json").read_text())
    assert before.loc["baseline", "estimate"] == summary["p_agree_before_deadline"]["estimate"]
    # the same seed and replications as the folder: the baseline run repeats it lane for lane
    repeat = before.loc["baseline-2"]
    assert repeat["diff"] == 0 and repeat["diff_low"] <= 0 <= repeat["diff_high"]
    assert repeat["diff_high"] - repeat["diff_low"] < 0.03  # paired: far narrower than +-7 points
    for name in ("baseline-2", "firm_russia"):
        runs = pd.read_parquet(out / "runs" / name / "runs.parquet")
        share = (runs["agreed"] & (runs["agreed_week"] < 30)).mean()
        assert before.loc[name, "estimate"] == share
        assert before.loc[name, "diff"] == pytest.approx(share - before.loc["baseline", "estimate"])
        assert (
            before.loc[name, "diff_low"]
            <= before.loc[name, "diff"]
            <= before.loc[name, "diff_high"]
        )


@pytest.mark.parametrize("bad", ["missing.yaml", "empty_folder"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, baseline_path, bad):
    (tmp_path / "empty_folder").mkdir()
    result = runner.invoke(
        app, ["compare", str(baseline_path), str(tmp_path / bad), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "error:" in result.output
