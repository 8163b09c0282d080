"""calibrate.html and nowcast.html as a user sees them: offline in headless Chromium."""

from pathlib import Path

import pandas as pd
import pytest
from test_browser import (  # noqa: F401 (a fixture)
    SCREENS,
    assert_fits,
    browser,
    figure,
    negsim,
    open_and_check,
)

from sim.loader import load_scenario

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
PRIOR = ROOT / "scenarios" / "calibration_prior.yaml"


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    """A small calibration made by the CLI in its own process, with --png."""
    out = tmp_path_factory.mktemp("calibrate") / "cal"
    targets = ROOT / "scenarios" / "targets" / "synthetic_baseline.yaml"
    negsim(
        "calibrate",
        str(PRIOR),
        "--targets",
        str(targets),
        "--posterior",
        "100",
        "--batch",
        "1000",
        "--max-lanes",
        "5000",
        "--workers",
        "1",
        "--out",
        str(out),
        "--png",
    )
    return out


def test_calibration_png_export_writes_one_image_per_figure(browser, calibration):  # noqa: F811
    images = sorted((calibration / "figures").glob("figure-*.png"))
    assert len(images) == (calibration / "calibrate.html").read_text().count("<figure>") == 3
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stat().st_size > 5_000


def test_calibration_report_draws_prior_posterior_pairs_and_predictive(
    browser,  # noqa: F811
    calibration,
    tmp_path,
):
    _, figures = open_and_check(browser, calibration / "calibrate.html", tmp_path / "cal.png")
    inputs = load_scenario(PRIOR).inputs
    marginals = figure(figures, "Each uncertain input")["traces"]
    assert [t["name"] for t in marginals] == ["prior", "posterior"] * len(inputs)
    pairs = figure(figures, "Posterior draws, inputs in pairs")
    shown = min(len(inputs), 6)  # the pairs plot keeps to the first six inputs
    assert len(pairs["traces"]) == shown * (shown - 1) // 2
    names = [a.replace("<br>", " ") for a in pairs["annotations"]]  # on the diagonal, in words
    assert len(names) == shown and not any("." in n or "_" in n for n in names), names
    predictive = figure(figures, "Targets: prior and posterior predictive")["traces"]
    targets = (ROOT / "scenarios" / "targets" / "synthetic_baseline.yaml").read_text()
    assert len(predictive) == 2 * targets.count("- {column:")


@pytest.mark.parametrize("width", SCREENS)
def test_calibration_report_fits_the_screen(browser, calibration, width, tmp_path):  # noqa: F811
    """The pairs plot fills the page's column: no sideways scrolling, no axis text cut off."""
    assert_fits(browser, calibration / "calibrate.html", width, tmp_path / f"cal-{width}.png")


@pytest.fixture(scope="module")
def nowcast_run(tmp_path_factory) -> Path:
    """A small run conditioned on the synthetic news, made by the CLI in its own process."""
    out = tmp_path_factory.mktemp("nowcast") / "run"
    given = ROOT / "scenarios" / "observations" / "synthetic_news.yaml"
    negsim(
        "run",
        str(PRIOR),
        "--reps",
        "500",
        "--workers",
        "1",
        "--given",
        str(given),
        "--out",
        str(out),
    )
    return out


def test_nowcast_report_draws_both_curves(browser, nowcast_run, tmp_path):  # noqa: F811
    out = nowcast_run
    _, figures = open_and_check(browser, out / "nowcast.html", tmp_path / "nowcast.png")
    curves = figure(figures, "Probability that a treaty")["traces"]
    assert [c["name"] for c in curves] == ["before the observations", "given the observations"]
    weeks = len(pd.read_parquet(out / "timeline.parquet"))
    assert all(c["drawable"] == weeks for c in curves)


@pytest.mark.parametrize("width", SCREENS)
def test_nowcast_report_fits_the_screen(browser, nowcast_run, width, tmp_path):  # noqa: F811
    assert_fits(browser, nowcast_run / "nowcast.html", width, tmp_path / f"nowcast-{width}.png")
