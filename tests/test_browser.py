"""Reports as a user sees them: opened offline in headless Chromium, every figure drew its data.

Each test opens a report from file://, blocks the network, waits for plotly to finish, then
checks the drawn figures against the results files the report was made from, and saves a
screenshot under pytest's tmp_path. Without Chromium the tests skip and say why, unless
NEGSIM_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.browser import chromium, figure_stats, open_report, why_unavailable
from sim.cli import export_png
from sim.loader import load_scenario
from sim.report import PARTY_COLOURS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium context for the module; skip or fail clearly without one."""
    reason = why_unavailable()
    if reason:
        if os.environ.get("NEGSIM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NEGSIM_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(f"browser tests need headless Chromium: {reason}")
    with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, baseline_path) -> Path:
    """A small baseline run made by the CLI in its own process, as a user would, with --png."""
    out = tmp_path_factory.mktemp("browser") / "run"
    negsim("run", str(baseline_path), "--reps", "200", "--out", str(out), "--workers", "1", "--png")
    return out


@pytest.fixture(scope="module")
def baseline_path() -> Path:
    """Module-scoped twin of conftest's fixture, so the run is made once."""
    return Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


def negsim(*args: str) -> None:
    """Run the negsim CLI in its own process, as a user would; fail with its stderr."""
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def sweep_folders(tmp_path_factory, baseline_path) -> dict[str, Path]:
    """Two tiny sweeps: one parameter (a line) and two parameters (heatmaps)."""
    root = tmp_path_factory.mktemp("sweeps")
    beta, reservation = "parties.us.tactic.beta=0.2:2.0:", "parties.russia.margin=1.1:1.4:3"
    common = ["--reps", "50", "--workers", "1"]
    negsim("sweep", str(baseline_path), "--param", f"{beta}4", "--out", str(root / "one"), *common)
    negsim(
        "sweep",
        str(baseline_path),
        *("--param", f"{beta}3", "--param", reservation),
        *("--out", str(root / "two"), *common),
    )
    return {"one": root / "one", "two": root / "two"}


@pytest.fixture(scope="module")
def comparison_folder(tmp_path_factory, baseline_path) -> Path:
    """A tiny comparison of the baseline with the variant that drops the Iran linkage."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    variant = baseline_path.parent / "no_linkage.yaml"
    negsim("compare", str(baseline_path), str(variant), "--reps", "100", "--out", str(out))
    return out


def open_and_check(context, report: Path, screenshot: Path) -> tuple[object, list[dict]]:
    """Open a report offline; assert it loaded only local files, logged no error, drew all."""
    page, log = open_report(context, report)
    page.screenshot(path=str(screenshot), full_page=True)
    assert log.errors == [], log.errors
    assert log.failed == [] and log.blocked == [], (log.failed, log.blocked)
    assert all(url.startswith("file:") for url in log.requests), log.requests
    figures = figure_stats(page)
    html = report.read_text()
    assert len(figures) == html.count("<figure>") > 0
    for fig in figures:
        assert fig["traces"], f"no traces in {fig['title']!r}"
        for trace in fig["traces"]:
            assert trace["drawable"] > 0, f"{fig['title']!r}: trace {trace['name']!r} drew nothing"
        assert sum(fig[k] for k in ("lines", "markers", "bars", "boxes", "heatmaps")) > 0, fig[
            "title"
        ]
    header = page.inner_text("p.meta")
    assert "negsim: " in header and "seed" in header, header
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", header), header
    assert page.locator("table.headline tr").count() > 0
    assert page.locator("figcaption").count() == len(figures)
    assert screenshot.stat().st_size > 10_000
    return page, figures


def figure(figures: list[dict], title_start: str) -> dict:
    """The one figure whose title starts with title_start."""
    (found,) = [f for f in figures if f["title"].startswith(title_start)]
    return found


def test_run_report_draws_every_figure_from_its_results(browser, run_folder, tmp_path):
    page, figures = open_and_check(browser, run_folder / "report.html", tmp_path / "report.png")
    scenario = load_scenario(run_folder / "scenario.yaml")
    timeline = pd.read_parquet(run_folder / "timeline.parquet")
    runs = pd.read_parquet(run_folder / "runs.parquet")
    agreed = int(runs["agreed"].sum())

    (curve,) = figure(figures, "Probability that a treaty")["traces"]
    assert curve["drawable"] == len(timeline)

    offers = figure(figures, "Offers per issue")["traces"]
    medians = [t for t in offers if t["name"].endswith("median offer")]
    expected = [
        int(timeline[f"offer_{p}_{i}_p50"].notna().sum())
        for p in scenario.party_names()
        for i in scenario.issues
    ]
    assert [t["drawable"] for t in medians] == expected
    for party in scenario.party_names():
        label = scenario.parties[party].name
        colours = {t["colour"] for t in medians if t["name"].startswith(label)}
        assert colours == {PARTY_COLOURS[party]}

    histograms = figure(figures, "Agreed value per issue")["traces"]
    assert [t["counted"] for t in histograms] == [agreed] * len(scenario.issues)

    points = figure(figures, "Agreements in utility space")["traces"][0]
    assert points["drawable"] == min(agreed, 5000)

    summary = json.loads((run_folder / "summary.json").read_text())
    bars = figure(figures, "Events")["traces"]
    assert [t["points"] for t in bars] == [len(summary["events"])] * 3

    deadline = str(scenario.calendar.deadline)
    for title in ("Probability that a treaty", "Offers per issue"):
        assert deadline in figure(figures, title)["vlines"], title

    text = page.inner_text("body")
    for needed in (scenario.name, f"{scenario.seed}", "replications: 200", "negsim: "):
        assert needed in text, needed
    assert page.locator("details").count() == 1
    assert not page.locator("details").evaluate("d => d.open")
    assert "replications: 200" in page.locator("details pre").text_content()


def test_png_export_writes_one_image_per_figure(browser, run_folder):
    images = sorted((run_folder / "figures").glob("figure-*.png"))
    assert len(images) == (run_folder / "report.html").read_text().count("<figure>")
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stat().st_size > 5_000


def test_png_without_a_browser_says_why_and_keeps_the_run(run_folder, monkeypatch, capsys):
    monkeypatch.setenv("NEGSIM_CHROMIUM", str(run_folder / "no-such-browser"))
    export_png(run_folder)
    err = capsys.readouterr().err.strip()
    assert err.startswith("--png skipped:") and "browser" in err and "\n" not in err
    assert (run_folder / "report.html").is_file()


def test_sweep_report_of_one_parameter_draws_a_line_per_share(browser, sweep_folders, tmp_path):
    folder = sweep_folders["one"]
    _, figures = open_and_check(browser, folder / "sweep.html", tmp_path / "sweep-one.png")
    points = len(pd.read_parquet(folder / "sweep.parquet"))
    lines = figure(figures, "Outcomes against parties.us.tactic.beta")["traces"]
    named = {t["name"]: t["drawable"] for t in lines}
    assert named["P(agreement before deadline)"] == points == 4


def test_sweep_report_of_two_parameters_fills_every_heatmap_cell(browser, sweep_folders, tmp_path):
    folder = sweep_folders["two"]
    _, figures = open_and_check(browser, folder / "sweep.html", tmp_path / "sweep-two.png")
    points = len(pd.read_parquet(folder / "sweep.parquet"))
    heatmaps = [t for f in figures for t in f["traces"] if t["type"] == "heatmap"]
    assert heatmaps and all(t["drawable"] == points == 9 for t in heatmaps)


def test_comparison_report_draws_each_scenario_in_one_colour(browser, comparison_folder, tmp_path):
    report = comparison_folder / "comparison.html"
    _, figures = open_and_check(browser, report, tmp_path / "comparison.png")
    runs = {
        p.name: pd.read_parquet(p / "runs.parquet") for p in (comparison_folder / "runs").iterdir()
    }
    assert set(runs) == {"baseline", "no_linkage"}
    weeks = {
        len(pd.read_parquet(comparison_folder / "runs" / n / "timeline.parquet")) for n in runs
    }

    curves = figure(figures, "Probability that a treaty")["traces"]
    assert sorted(t["name"] for t in curves) == sorted(runs)
    assert {t["drawable"] for t in curves} == weeks

    boxes = [t for t in figure(figures, "Agreed value per issue")["traces"] if t["type"] == "box"]
    for trace in boxes:
        assert trace["drawable"] == min(int(runs[trace["name"]]["agreed"].sum()), 3000)

    colours = {}
    for fig in figures:
        for trace in fig["traces"]:
            if trace["name"] in runs:
                colours.setdefault(trace["name"], set()).add(trace["colour"])
    assert all(len(c) == 1 for c in colours.values()), colours
    assert colours["baseline"] != colours["no_linkage"]
