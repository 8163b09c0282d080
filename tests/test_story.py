"""negsim story: one lane's history agrees week by week with traces.parquet and runs.parquet."""

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.labels import round_name, value_text
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


def test_story_moves_by_the_lanes_own_draws_and_counts_votes(run_folder):
    """The event's effects print the lane's draws (runs.parquet `input.` columns), not the
    middle of their ranges; the outcome gives each chamber's count against what it needs."""
    runs = pd.read_parquet(run_folder / "runs.parquet")
    lane = int(runs.index[runs["agreed"] & (runs["event_md_review_week"] >= 0)][0])
    row = runs.iloc[lane]
    story = lane_story(run_folder, lane)
    (moved,) = [
        s for s in story.sentences if s.startswith("Week of") and "missile-defence review" in s
    ]
    draw = [row[f"input.events.md_review.effects.{k}.value"] for k in range(5)]
    assert f"position on missile defense +{value_text(draw[0])};" in moved
    assert f"salience on missile defense x{value_text(draw[3])};" in moved
    assert f"trust between the parties +{value_text(draw[4])}." in moved
    assert "+20;" not in moved and "x0.85;" not in moved  # the middles of U[0, 40], U[0.7, 1]
    votes = int(row["votes_us"])  # 99 senators, two thirds: ceil(0.6666 x 99) = 66
    assert f"it {votes} votes to {99 - votes} (66 needed) in the week of" in story.sentences[0]
    assert "the State Duma ratified it" in story.sentences[0]
    assert f"{int(row['votes_russia'])} votes to" in story.sentences[0]
    assert "(226 needed)" not in story.sentences[0] and "(225 needed)" in story.sentences[0]


def test_story_names_the_rounds_the_calendar_rule_adds(run_folder):
    """Offers move only in talks weeks, so every move names its round, rule-made ones too."""
    story = lane_story(run_folder, 0)
    moves = [s for s in story.sentences if " moved " in s or " opened with " in s]
    assert moves
    for sentence in moves:
        assert re.match(r"Week of [0-9-]+ \((Round [0-9]+|Moscow summit)", sentence), sentence
    assert any("(Round 2, not yet agreed)" in s or "(Round 3, not yet agreed)" in s for s in moves)


def test_round_name_covers_rule_made_rounds():
    scenario = load_scenario(Path(__file__).resolve().parent.parent / "scenarios/baseline.yaml")
    assert round_name(scenario, dt.date(2009, 5, 14)) == "Round 1, Moscow"
    assert round_name(scenario, dt.date(2009, 6, 11)) == "Round 2, not yet agreed"
    assert round_name(scenario, dt.date(2009, 8, 6)) == "Round 4, not yet agreed"
    assert round_name(scenario, dt.date(2009, 8, 20)) == ""  # between rounds
