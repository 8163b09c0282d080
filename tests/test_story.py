"""negsim story: one lane's history agrees week by week with traces.parquet and runs.parquet."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.loader import load_scenario
from sim.run import run_scenario
from sim.story import lane_story


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    out = tmp_path_factory.mktemp("story") / "run"
    run_scenario(load_scenario(base, ["replications=300"]), out, trace=4)
    return out


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["week", "date", "party", "issue", "offer"]
    return frame[columns].sort_values(columns[:4], ignore_index=True)


@pytest.mark.parametrize("lane", [0, 1, 2, 3])
def test_story_agrees_with_traces_week_by_week(run_folder, lane):
    story = lane_story(run_folder, lane)
    assert story.source == "traces.parquet"
    traces = pd.read_parquet(run_folder / "traces.parquet")
    traces = traces[traces["lane"] == lane]
    run = story.run
    if run["agreed"]:
        traces = traces[traces["week"] <= run["agreed_week"]]
    pd.testing.assert_frame_equal(ordered(story.offers), ordered(traces), check_dtype=False)
    replayed = lane_story(run_folder, lane, replay=True)  # the lane played again on its own
    assert replayed.source == "played again"
    pd.testing.assert_frame_equal(
        ordered(replayed.offers), ordered(story.offers), check_dtype=False
    )
    assert replayed.sentences == story.sentences


def test_story_tells_signature_events_and_votes_from_runs(run_folder):
    runs = pd.read_parquet(run_folder / "runs.parquet")
    lane = int(runs.index[runs["agreed"] & (runs["event_md_review_week"] >= 0)][0])
    story = lane_story(run_folder, lane)
    row = runs.iloc[lane]
    text = "\n".join(story.sentences)
    scenario = load_scenario(run_folder / "scenario.yaml")
    from sim.calendar import Clock

    clock = Clock.from_calendar(scenario.calendar)
    assert f"signed in the week of {clock.date(row['agreed_week'])}" in story.sentences[0]
    verdict = "ratified" if row["ratified_us"] else "rejected"
    assert f"the US Senate {verdict} it" in story.sentences[0]
    assert (
        f"Week of {clock.date(row['event_md_review_week'])}: The US missile-defence review" in text
    )
    assert "accepted the offer of" in text
    last = story.offers[story.offers["week"] <= row["agreed_week"]]
    final = last.groupby(["party", "issue"])["offer"].last()
    # the signed package is one party's standing offer in the week of signature
    assert any(
        all(abs(final[(p, i)] - row[f"package_{i}"]) < 1e-6 for i in scenario.issues)
        for p in scenario.party_names()
    )


def test_cli_story_page_and_bad_lane(run_folder, tmp_path):
    runner = CliRunner()
    page = tmp_path / "story.html"
    result = runner.invoke(app, ["story", str(run_folder), "--lane", "200", "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert "offers from played again" in result.output and page.is_file()
    result = runner.invoke(app, ["story", str(run_folder), "--lane", "300"])
    assert result.exit_code == 2 and "--lane 300: the run has lanes 0 to 299" in result.output
