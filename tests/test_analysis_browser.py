"""explain.html, discover.html and a story page open offline in Chromium with no console
error, and draw what their tables say."""

from pathlib import Path

import pandas as pd
import pytest
from test_browser import SCREENS, assert_fits, browser, figure, open_and_check  # noqa: F401
from typer.testing import CliRunner

from sim.cli import app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> dict[str, Path]:
    """A small traced baseline run, its explain, discover and a story, made by the CLI."""

    def negsim(*args: str) -> None:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output

    root = tmp_path_factory.mktemp("analysis")
    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    run, common = root / "run", ["--workers", "1"]
    negsim("run", str(base), "--reps", "300", "--trace", "2", "--out", str(run), *common)
    negsim("explain", str(run), "--reps", "200", "--out", str(root / "explain"), *common)
    negsim("discover", str(run), "--out", str(root / "discover"))
    negsim("story", str(run), "--lane", "1")
    return {"run": run, "explain": root / "explain", "discover": root / "discover"}


def test_explain_page_draws_a_tornado_per_figure(browser, analysis, tmp_path):  # noqa: F811
    folder = analysis["explain"]
    page, figures = open_and_check(browser, folder / "explain.html", tmp_path / "explain.png")
    table = pd.read_parquet(folder / "explain.parquet")
    factors = table["factor"].nunique()
    tornado = figure(figures, "What moves Signed before START I expires")
    assert tornado["traces"][0]["points"] == factors
    assert tornado["bars"] >= factors  # a bar per factor (and its whisker)
    assert page.locator("table.headline tr:has(td)").count() == factors
    assert "Russia: walk-away margin" in page.inner_text("table.headline")


def test_discover_page_draws_tradeoff_box_tree_and_scores(browser, analysis, tmp_path):  # noqa: F811
    folder = analysis["discover"]
    page, figures = open_and_check(browser, folder / "discover.html", tmp_path / "discover.png")
    trajectory = pd.read_parquet(folder / "discover.parquet")
    tradeoff = figure(figures, "PRIM peeling trade-off")
    assert tradeoff["traces"][0]["points"] == len(trajectory)
    assert figure(figures, "Feature scores")["bars"] > 0
    assert figure(figures, "CART tree")["bars"] > 0
    assert "rule (PRIM)" in page.inner_text("table.headline")


def test_story_page_draws_both_parties_on_every_issue(browser, analysis, tmp_path):  # noqa: F811
    path = analysis["run"] / "story-lane-1.html"
    page, figures = open_and_check(browser, path, tmp_path / "story.png")
    (story,) = figures
    lines = [t for t in story["traces"] if t["type"] == "scatter" and t["name"] != "signed package"]
    assert len(lines) == 2 * 6  # two parties x six issues
    assert "Lane 1:" in page.inner_text("table.headline")


ANALYSIS_PAGES = {
    "explain": lambda found: found["explain"] / "explain.html",
    "discover": lambda found: found["discover"] / "discover.html",
    "story": lambda found: found["run"] / "story-lane-1.html",
}


@pytest.mark.parametrize("width", SCREENS)
@pytest.mark.parametrize("name", list(ANALYSIS_PAGES))
def test_analysis_pages_fit_the_screen(browser, analysis, name, width, tmp_path):  # noqa: F811
    """No sideways scrolling, no tiny text and no figure text cut at its figure's edge: explain's
    tornado and discover's box and scores name inputs by short names in wrapped lines."""
    report = ANALYSIS_PAGES[name](analysis)
    assert_fits(browser, report, width, tmp_path / f"{name}-{width}.png")


def test_analysis_figures_name_inputs_in_short_words(browser, analysis, tmp_path):  # noqa: F811
    """Tick labels are short names broken into lines, never a dotted path or a whole event
    description ('...; in May 2009 whether it keeps, revises or drops the sites in Poland')."""
    for name in ("explain", "discover"):
        _, figures = open_and_check(browser, ANALYSIS_PAGES[name](analysis), tmp_path / "x.png")
        ticks = " ".join(t for f in figures for t in f["ticks"])
        assert "Russia: walk-away margin" in ticks, name
        assert "Poland" not in ticks and "parties." not in ticks and "input." not in ticks, name
