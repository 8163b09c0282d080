"""The model against bargaining theory: each textbook case in scenarios/theory reproduces its result."""

import math
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from sim import theory
from sim.cli import app


@pytest.fixture(scope="module")
def cases() -> dict[str, theory.Case]:
    """Every theory case, run once for the whole module."""
    return {case.slug: case for case in theory.run_cases()}


def failures(case: theory.Case) -> list[theory.Check]:
    return [c for c in case.checks if not c.passed]


def test_closed_forms_are_the_textbook_ones():
    """The expectations themselves: Faratin end points, Rubinstein indifference, Nash optimum."""
    tau = np.array([0.0, 1.0])
    assert np.allclose(theory.faratin_curve(tau, 0.3, 0.2), [1.0, 0.3])
    for d1, d2 in theory.RUBINSTEIN_PAIRS:
        s1, s2 = theory.rubinstein_first_share(d1, d2), theory.rubinstein_first_share(d2, d1)
        assert math.isclose(1 - s1, d2 * s2)  # the responder is indifferent: accept now or wait
    grid = np.linspace(0.0, 3.0, 300_001)
    best = grid[np.argmax((grid - 0.5) * (3.0 - grid - 1.2))]
    assert math.isclose(theory.nash_split(3.0, 0.5, 1.2), best, abs_tol=1e-5)


def test_faratin_offers_follow_the_curve_exactly(cases):
    case = cases["faratin"]
    assert len(case.checks) == len(theory.FARATIN_BETAS)
    assert not failures(case)


def test_rubinstein_first_round_split(cases):
    case = cases["rubinstein"]
    unequal = [p for p in theory.RUBINSTEIN_PAIRS if p[0] != p[1]]
    assert len(theory.RUBINSTEIN_PAIRS) >= 5 and len(unequal) >= 2
    assert not failures(case)


def test_nash_point_and_symmetric_conceders(cases):
    assert not failures(cases["nash"])


def test_deadline_effect(cases):
    assert not failures(cases["deadline_effect"])


def test_linkage_neutral_with_same_ratios_and_logrolling_pays_with_opposite(cases):
    assert not failures(cases["linkage"])


def test_two_level_games(cases):
    assert not failures(cases["two_level"])


def test_plots_one_png_per_case(cases, tmp_path):
    paths = theory.save_plots(list(cases.values()), tmp_path)
    assert len(paths) == len(cases)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_cli_exits_1_when_a_case_fails(tmp_path):
    """A Faratin case with noise cannot follow the exact curve: the command must say FAIL."""
    folder = tmp_path / "theory"
    shutil.copytree(theory.CASES_FOLDER, folder)
    faratin = folder / "faratin.yaml"
    faratin.write_text(faratin.read_text().replace("tactic: {beta: 0.2}", "tactic: {noise: 0.05}"))
    result = CliRunner().invoke(app, ["validate-theory", "--folder", str(folder)])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    assert "6 Two-level" in result.output


def test_cli_bad_folder_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["validate-theory", "--folder", str(tmp_path)])
    assert result.exit_code == 2
    assert "no such file" in result.output
