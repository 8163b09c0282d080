"""Reports as a user sees them: opened offline in headless Chromium, every figure drew its data.

Each test opens a report from file://, blocks the network, waits for plotly to finish, then
checks the drawn figures against the results files the report was made from, and saves a
screenshot under pytest's tmp_path. Without Chromium the tests skip and say why, unless
NEGSIM_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.browser import chromium, figure_stats, layout_check, open_report, why_unavailable
from sim.cli import export_png
from sim.labels import param_name
from sim.loader import load_scenario
from sim.outcomes import measure
from sim.report import PARTY_COLOURS, min_open_lanes
from sim.sweep_report import baseline_mark

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
    negsim(
        *("run", str(baseline_path), "--reps", "200", "--out", str(out)),
        *("--workers", "1", "--png", "--trace", "3"),
    )
    return out


@pytest.fixture(scope="module")
def baseline_path() -> Path:
    """Module-scoped twin of conftest's fixture, so the run is made once."""
    return Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


def negsim(*args: str) -> str:
    """Run the negsim CLI in its own process, as a user would; fail with its stderr."""
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def sweep_folders(tmp_path_factory, baseline_path) -> dict[str, Path]:
    """Tiny sweeps: one parameter (a line), two (heatmaps), and a Sobol design (bars)."""
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
    sobol = baseline_path.parent / "sweeps" / "baseline_sobol.yaml"
    negsim(
        "sweep",
        str(sobol),
        "--samples",
        "8",
        "--reps",
        "20",
        "--workers",
        "1",
        "--out",
        str(root / "sobol"),
        "--png",
    )
    return {"one": root / "one", "two": root / "two", "sobol": root / "sobol"}


@pytest.fixture(scope="module")
def comparison_folder(tmp_path_factory, baseline_path) -> Path:
    """A tiny comparison of the baseline with the variant that drops the Iran linkage."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    variant = baseline_path.parent / "no_linkage.yaml"
    negsim(
        *("compare", str(baseline_path), str(variant), "--reps", "100", "--out", str(out)),
        *("--png", "--csv"),
    )
    return out


def open_and_check(
    context, report: Path, screenshot: Path, *, full_page: bool = True
) -> tuple[object, list[dict]]:
    """Open a report offline; assert it loaded only local files, logged no error, drew all
    (a screenshot of the whole page, or with `full_page=False` of the screen's first view)."""
    page, log = open_report(context, report)
    page.screenshot(path=str(screenshot), full_page=full_page)
    assert log.errors == [], log.errors
    assert log.failed == [] and log.blocked == [], (log.failed, log.blocked)
    assert all(url.startswith("file:") for url in log.requests), log.requests
    figures = figure_stats(page)
    html = report.read_text()
    assert len(figures) == html.count('class="plotly-graph-div"') > 0
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
    assert page.locator("figcaption").count() == html.count("<figure>")
    assert page.locator("#no-plotly").count() == 0  # plotly.js found: no message
    assert screenshot.stat().st_size > 10_000
    return page, figures


def figure(figures: list[dict], title_start: str) -> dict:
    """The one figure whose section title starts with title_start."""
    (found,) = [f for f in figures if f["title"].startswith(title_start)]
    return found


def figures_of(figures: list[dict], title_start: str) -> list[dict]:
    """Every figure of the section whose title starts with title_start (small multiples)."""
    return [f for f in figures if f["title"].startswith(title_start)]


def summary_numbers(page) -> list[int]:
    """The whole percents in the page's summary, in order ('26% (24\u201329%)': 26, 24, 29)."""
    return [int(n) for n in re.findall(r"(\d+)(?=%|\u2013)", page.inner_text("section.summary"))]


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
    floor = min_open_lanes(200)  # weeks with fewer talks still open are left out
    expected = [
        int(
            (
                timeline[f"offer_{p}_{i}_p50"].notna() & (timeline[f"offer_{p}_{i}_lanes"] >= floor)
            ).sum()
        )
        for p in scenario.party_names()
        for i in scenario.issues
    ]
    assert [t["drawable"] for t in medians] == expected
    for party in scenario.party_names():
        label = scenario.parties[party].name
        colours = {t["colour"] for t in medians if t["name"].startswith(label)}
        assert colours == {PARTY_COLOURS[party]}

    histograms = [f["traces"][0] for f in figures_of(figures, "Agreed value per issue")]
    assert [t["counted"] for t in histograms] == [agreed] * len(scenario.issues)

    points = figure(figures, "Agreements in utility space")["traces"][0]
    assert points["drawable"] == min(agreed, 5000)

    bars = figure(figures, "Events")["traces"]
    assert [t["points"] for t in bars] == [len(scenario.events)] * 2

    inputs = [c for c in runs.columns if c.startswith("input.")]
    if inputs:  # uncertain inputs: low and high draws, one row each, in words
        dots = figure(figures, "Uncertain inputs")["traces"]
        assert [t["points"] for t in dots] == [len(inputs)] * 2
        ticks = " ".join(figure(figures, "Uncertain inputs")["ticks"])
        assert "input." not in ticks and scenario.parties["us"].name in ticks

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
    scenario = load_scenario(folder / "scenario.yaml")
    path = "parties.us.tactic.beta"
    found = figure(figures, f"Outcomes against {param_name(scenario, path)}")
    named = {t["name"]: t["drawable"] for t in found["traces"]}
    assert named["Signed before START I expires (5 December 2009)"] == points == 4
    assert_baseline_marked(found, scenario, [path])


def assert_baseline_marked(fig: dict, scenario, paths: list[str]) -> None:
    """The base scenario on each swept axis: a line at its value, a band over an uncertain
    input's middle draws, or (two numbers) a star."""
    resolved = scenario.model_dump(mode="json")
    marks = [baseline_mark(scenario, resolved, p) for p in paths]
    if all(isinstance(m, float | int) for m in marks) and len(marks) == 2:
        assert any(t["name"] == "baseline" for t in fig["traces"]), fig["title"]
        return
    x = marks[0]  # the first path is the x axis: a vertical line at a value
    if isinstance(x, float | int):
        assert f"{x:g}" in fig["vlines"] or str(x) in fig["vlines"], fig["title"]
    assert fig["rects"] >= sum(isinstance(m, tuple) for m in marks), fig["title"]


def test_sweep_report_of_two_parameters_fills_every_heatmap_cell(browser, sweep_folders, tmp_path):
    folder = sweep_folders["two"]
    page, figures = open_and_check(browser, folder / "sweep.html", tmp_path / "sweep-two.png")
    points = len(pd.read_parquet(folder / "sweep.parquet"))
    heatmaps = [t for f in figures for t in f["traces"] if t["type"] == "heatmap"]
    assert heatmaps and all(t["drawable"] == points == 9 for t in heatmaps)
    scenario = load_scenario(folder / "scenario.yaml")
    for fig in figures:
        assert_baseline_marked(fig, scenario, ["parties.us.tactic.beta", "parties.russia.margin"])
    assert page.inner_text("table.headline").count("baseline:") == 2


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

    boxes = [t for f in figures_of(figures, "Agreed value per issue") for t in f["traces"]]
    for trace in boxes:
        assert trace["drawable"] == min(int(runs[trace["name"]]["agreed"].sum()), 3000)

    colours = {}
    for fig in figures:
        for trace in fig["traces"]:
            if trace["name"] in runs:
                colours.setdefault(trace["name"], set()).add(trace["colour"])
    assert all(len(c) == 1 for c in colours.values()), colours
    assert colours["baseline"] != colours["no_linkage"]


PAGES = {
    "run": lambda run, sweeps, cmp: run / "report.html",
    "comparison": lambda run, sweeps, cmp: cmp / "comparison.html",
    "sweep-one": lambda run, sweeps, cmp: sweeps["one"] / "sweep.html",
    "sweep-two": lambda run, sweeps, cmp: sweeps["two"] / "sweep.html",
    "sweep-sobol": lambda run, sweeps, cmp: sweeps["sobol"] / "sweep.html",
}


# A laptop (the page's column just fits) and a phone. A wider screen adds nothing to check: the
# page's column stops at 1,200 px (sim/page.py), so at 1,440 px it is laid out as at 1,280.
SCREENS = [1280, 390]


@pytest.mark.parametrize("width", SCREENS)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_the_screen_with_readable_text(
    browser, name, width, run_folder, sweep_folders, comparison_folder, tmp_path
):
    report = PAGES[name](run_folder, sweep_folders, comparison_folder)
    assert_fits(browser, report, width, tmp_path / f"{name}-{width}.png")


def assert_fits(
    context, report: Path, width: int, screenshot: Path, *, clipped: bool = True
) -> None:
    """The report at `width` px: no sideways scrolling, no text under 11 px and (unless
    `clipped` is False) no figure text cut off at its figure's edge."""
    narrow = context.browser.new_context(viewport={"width": width, "height": 900})
    try:
        # the layout is measured on the whole page; a screenshot of its first view is enough
        # to show it rendered (a whole tall page at three widths was most of these tests' time)
        page, _ = open_and_check(narrow, report, screenshot, full_page=False)
        fits = layout_check(page)
    finally:
        narrow.close()
    name = report.name
    assert fits["overflow"] <= 0, f"{name} at {width} px is {fits['overflow']} px too wide"
    assert fits["small"] == [], fits["small"][:5]
    if clipped:
        assert fits["clipped"] == [], fits["clipped"][:5]  # no figure text cut at its edge


def visible_text(page) -> str:
    """Text a reader sees: page text and the figures' SVG text, not the folded appendix."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('details') && !['SCRIPT', 'STYLE'].includes(e.tagName)
                     && e.getClientRects().length)
        .flatMap(e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent))
        .join(' ')"""
    )


def test_run_summary_equals_summary_json_and_labels_use_the_scenarios_words(browser, run_folder):
    page, _ = open_report(browser, run_folder / "report.html")
    summary = json.loads((run_folder / "summary.json").read_text())
    before, by = summary["p_agree_before_deadline"], summary["p_agree_by_horizon"]
    expected = [round(100 * before[k]) for k in ("estimate", "low", "high")]
    expected += [round(100 * by[k]) for k in ("estimate", "low", "high")]
    assert summary_numbers(page)[:6] == expected
    assert "replications sign in time" in page.inner_text("section.summary")

    scenario = load_scenario(run_folder / "scenario.yaml")
    text = visible_text(page)
    for key in scenario.issues:
        assert key.replace("_", " ").capitalize() in text, key
        assert scenario.issues[key].unit in text, key
    for party in scenario.parties.values():
        assert party.name in text and party.ratifier.name in text
    for event in scenario.events.values():
        assert event.description.split()[1] in text
    for raw in [*(k for k in scenario.issues if "_" in k), *scenario.events, "utility to us"]:
        assert raw not in text, f"internal name {raw!r} shown to the reader"


def test_events_figure_draws_the_forced_effects_of_events_parquet(browser, run_folder, tmp_path):
    page, figures = open_and_check(browser, run_folder / "report.html", tmp_path / "events.png")
    found = figure(figures, "Events: what each does, forced on against forced off")
    scenario = load_scenario(run_folder / "scenario.yaml")
    assert [t["drawable"] for t in found["traces"]] == [len(scenario.events)] * 2
    assert found["bars"] > 0 and "0" in found["vlines"]
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('figure')]
        .filter(f => f.querySelector('h3').textContent.startsWith('Events'))
        .flatMap(f => [...f.querySelectorAll('.plotly-graph-div')])
        .flatMap(g => g._fullData.map(t => ({name: t.name, x: [...t.x], y: [...t.y],
                                             plus: [...t.error_x.array]})))"""
    )
    table = pd.read_parquet(run_folder / "events.parquet")
    named = {measure(scenario, k).label: k for k in ("p_agree_before_deadline", "p_in_force")}
    assert sorted(t["name"] for t in drawn) == sorted(named)
    for trace in drawn:
        rows = table[table["measure"] == named[trace["name"]]].set_index("event")
        keys = list(scenario.events)[::-1]  # the first event on top
        assert trace["x"] == pytest.approx(list(100 * rows.loc[keys, "effect"]))
        assert trace["plus"] == pytest.approx(
            list(100 * (rows.loc[keys, "high"] - rows.loc[keys, "effect"]))
        )
        assert len(trace["y"]) == len(keys)
    ticks = " ".join(found["ticks"])
    for name in scenario.events:
        assert scenario.events[name].description.split()[1] in ticks
    caption = page.locator("figure", has_text="Events: what each does").inner_text()
    assert "forced on against forced off, same seed, paired 95% intervals" in caption


def test_run_story_tells_one_traced_replication(browser, run_folder):
    page, _ = open_report(browser, run_folder / "report.html")
    story = figure(figure_stats(page), "One replication told as a story")
    traces = pd.read_parquet(run_folder / "traces.parquet")
    lanes = sorted(traces["lane"].unique())
    assert len(lanes) == 3
    offers = [t for t in story["traces"] if t["name"].endswith(" offer")]  # per party and issue
    scenario = load_scenario(run_folder / "scenario.yaml")
    assert len(offers) == 2 * len(scenario.issues)
    note = page.locator("figure", has_text="One replication told as a story").inner_text()
    assert "signed" in note or "no treaty" in note
    assert "Events:" in note or "No event fired" in note


def test_comparison_summary_and_table_match_comparison_json(browser, comparison_folder):
    page, _ = open_report(browser, comparison_folder / "comparison.html")
    rows = json.loads((comparison_folder / "comparison.json").read_text())
    before = {r["scenario"]: r for r in rows if r["measure"] == "p_agree_before_deadline"}
    base, other = before["baseline"], before["no_linkage"]
    expected = [round(100 * base[k]) for k in ("estimate", "low", "high")]
    assert summary_numbers(page)[:3] == expected
    said = page.inner_text("section.summary")
    assert f"{round(100 * other['estimate'])}%" in said
    assert f"{abs(round(100 * other['diff']))} points" in said or "no clear difference" in said
    headings = page.locator("table.headline th").all_inner_texts()
    assert headings == ["measure", "baseline", "no_linkage"]
    links = page.locator("table.headline a").evaluate_all("as => as.map(a => a.href)")
    assert len(links) == 2
    for link in links:  # each scenario's own report is there, and says what it found
        target = Path(link.removeprefix("file://"))
        assert target.is_file() and target.name == "report.html"
    assert len(list(comparison_folder.rglob("plotly.min.js"))) == 1  # shared by the tree
    table = pd.read_csv(comparison_folder / "comparison.csv")  # --csv: the table travels too
    assert table[["measure", "scenario"]].values.tolist() == [
        [r["measure"], r["scenario"]] for r in rows
    ]
    for name in ("baseline", "no_linkage"):
        runs_csv = comparison_folder / "runs" / name / "runs.csv"
        assert len(pd.read_csv(runs_csv)) == 100
    images = sorted((comparison_folder / "figures").glob("figure-*.png"))
    assert len(images) == (comparison_folder / "comparison.html").read_text().count("<figure>")


def test_sweep_summaries_match_their_tables(browser, sweep_folders):
    for name, folder in sweep_folders.items():
        page, _ = open_report(browser, folder / "sweep.html")
        table = pd.read_parquet(folder / "sweep.parquet")
        low, high = summary_numbers(page)[:2]
        assert (low, high) == (
            round(100 * table["p_agree_before_deadline"].min()),
            round(100 * table["p_agree_before_deadline"].max()),
        ), name
        assert "It moves most with" in page.inner_text("section.summary")


def test_sobol_page_flags_reliability_and_direction(browser, sweep_folders):
    folder = sweep_folders["sobol"]
    page, _ = open_report(browser, folder / "sweep.html")
    indices = pd.read_parquet(folder / "sobol.parquet")
    tornado = figure(figure_stats(page), "Sobol indices: what drives Signed before START I")
    ticks = " ".join(tornado["ticks"])
    assert "raises" in ticks or "lowers" in ticks
    rows = indices[indices["output"] == "p_agree_before_deadline"]
    shaky = (
        (rows["ST"] - rows["ST_conf"] <= 0) | (rows["ST"] > 1) | (rows["S1"] > rows["ST"])
    ).sum()
    assert ticks.count("(unreliable)") == shaky
    assert "parties.us.tactic.beta" not in ticks
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["description"] in page.inner_text("h1")
    assert len(list((folder / "figures").glob("figure-*.png"))) == page.locator("figure").count()


def test_a_lone_copied_report_says_its_script_is_missing(browser, run_folder, tmp_path):
    lone = tmp_path / "report.html"
    shutil.copy(run_folder / "report.html", lone)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(lone.as_uri(), wait_until="load")
    message = page.locator("#no-plotly")
    assert message.is_visible()
    assert "cannot be drawn" in message.inner_text() and "--self-contained" in message.inner_text()
    assert [e for e in errors if "plotly" not in e.lower() and "ERR_FILE" not in e] == []
    page.close()


def test_self_contained_report_renders_alone_with_the_network_blocked(
    browser, baseline_path, tmp_path
):
    out = tmp_path / "alone"
    negsim(
        *("run", str(baseline_path), "--reps", "60", "--out", str(out), "--workers", "1"),
        *("--self-contained", "--csv"),
    )
    assert not (out / "plotly.min.js").exists()
    moved = tmp_path / "elsewhere" / "report.html"
    moved.parent.mkdir()
    shutil.copy(out / "report.html", moved)
    _, figures = open_and_check(browser, moved, tmp_path / "alone.png")
    assert len(figures) >= 5
    for table in ("runs", "timeline"):
        csv = pd.read_csv(out / f"{table}.csv")
        assert len(csv) == len(pd.read_parquet(out / f"{table}.parquet")), table
