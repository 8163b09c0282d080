"""`negsim run --given`: conditioning on observations, and the two limits that pin it down."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()


def run_given(baseline_path, tmp_path, facts: str):
    given = tmp_path / "given.yaml"
    given.write_text(f"name: seen so far\nas_of: 2009-10-01\nfacts:\n{facts}")
    out = tmp_path / "run"
    args = ["run", str(baseline_path), "--reps", "300", "--workers", "1", "--out", str(out)]
    return runner.invoke(app, [*args, "--given", str(given)]), out, given


def test_an_observation_every_lane_meets_changes_nothing(baseline_path, tmp_path):
    always = "  - {column: agreed_week, not_by: 2009-05-07, label: no treaty on day one}\n"
    result, out, _ = run_given(baseline_path, tmp_path, always)
    assert result.exit_code == 0, result.output
    nowcast = json.loads((out / "nowcast.json").read_text())
    assert nowcast["summary"] == json.loads((out / "summary.json").read_text())
    assert nowcast["effective_sample_size"] == 300
    assert "300 of 300 lanes kept" in result.output
    assert (out / "nowcast.html").is_file() and (out / "given.yaml").is_file()


def test_nowcast_page_names_the_inputs_in_words(baseline_path, tmp_path):
    always = "  - {column: agreed_week, not_by: 2009-05-07, label: no treaty on day one}\n"
    result, out, _ = run_given(baseline_path, tmp_path, always)
    assert result.exit_code == 0, result.output
    page = (out / "nowcast.html").read_text()
    table = page[page.index('<table class="headline">') :]
    table = table[: table.index("</table>")]
    assert "Russia: walk-away margin" in table
    assert "size of its effect on trust between the parties" in table
    for path in ("parties.russia.margin", "events.md_review.effects.0.value", "input."):
        assert path not in table, path


def test_observations_keep_only_the_lanes_consistent_with_them(baseline_path, tmp_path):
    facts = (
        "  - {column: agreed_week, not_by: 2009-10-01, label: no treaty by 1 October}\n"
        "  - {column: event_md_review_week, by: 2009-09-30, label: the review dropped the sites}\n"
    )
    result, out, _ = run_given(baseline_path, tmp_path, facts)
    assert result.exit_code == 0, result.output
    runs = pd.read_parquet(out / "runs.parquet")
    no_treaty_yet = (runs["agreed_week"] > 20) | (runs["agreed_week"] < 0)
    kept = no_treaty_yet & runs["event_md_review_week"].between(0, 20)
    nowcast = json.loads((out / "nowcast.json").read_text())
    assert nowcast["effective_sample_size"] == kept.sum() < 300
    assert nowcast["summary"]["replications"] == kept.sum()
    signed = runs[kept & runs["agreed"]]
    assert nowcast["summary"]["p_agree_by_horizon"]["estimate"] == len(signed) / kept.sum()


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (  # no lane meets it: one line, exit 2, no results folder left behind
            "  - {column: agreed_week, by: 2009-05-20, label: treaty in the first fortnight}\n",
            "{given}: facts.0: 'treaty in the first fortnight' holds in none of the 300 lanes; "
            "nothing written",
        ),
        (  # a fault in the file stops before the run
            "  - {column: agreed, by: 2009-06-01}\n",
            "{given}:4: facts.0.by: agreed is true or false: use `value: true` or `value: false`",
        ),
    ],
)
def test_an_impossible_or_bad_observation_exits_2_and_writes_nothing(
    baseline_path, tmp_path, facts, message
):
    result, out, given = run_given(baseline_path, tmp_path, facts)
    assert result.exit_code == 2
    assert result.output.strip() == "error: " + message.format(given=given)
    assert not out.exists()
