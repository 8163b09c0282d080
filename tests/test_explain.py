"""negsim explain: paired on/off and 10th/90th-percentile runs recover known effects."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.ensemble import run_chunk
from sim.explain import effect_text, factors, run_explain, start_explain
from sim.loader import load_scenario
from sim.outcomes import headline_measures

WALKOUT = """
extends: {base}
name: walkout
replications: 300
events:
  walkout:
    description: Both delegations walk out for good.
    date: 2009-05-10
    probability: 0.5
    effects:
      - {{target: parties.russia.margin, op: set, value: 2}}
      - {{target: parties.us.margin, op: set, value: 2}}
  nothing:
    description: A summit communique that changes nothing.
    date: 2009-06-01
    effects:
      - {{target: trust, op: add, value: 0}}
"""


@pytest.fixture(scope="module")
def walkout(tmp_path_factory) -> Path:
    """The baseline plus an event that ends all hope, and one that changes nothing."""
    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    path = tmp_path_factory.mktemp("explain") / "walkout.yaml"
    path.write_text(WALKOUT.format(base=base))
    return path


@pytest.fixture(scope="module")
def explained(walkout, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("explain") / "out"
    start_explain(load_scenario(walkout), out)
    return run_explain(out).set_index(["factor", "measure"])


def test_factors_cover_every_event_and_input(walkout):
    scenario = load_scenario(walkout)
    found = {f.key: f for f in factors(scenario)}
    assert set(found) == {f"event:{n}" for n in scenario.events} | {
        f"input:{p}" for p in scenario.inputs
    }
    margin = found["input:parties.russia.margin"]
    dist = scenario.inputs["parties.russia.margin"]
    assert margin.low == (f"parties.russia.margin={float(dist.quantile(0.1))!r}",)
    assert margin.high == (f"parties.russia.margin={float(dist.quantile(0.9))!r}",)
    assert found["event:walkout"].high == ("events.walkout.probability=1",)
    assert found["event:defense_channel"].high == (
        "events.defense_channel.hazard=1",
        "events.defense_channel.repeat=false",
    )


def test_an_event_with_a_known_effect_is_recovered_exactly(walkout, explained):
    off = load_scenario(walkout, ["events.walkout.probability=0"])
    runs = run_chunk(off, 0, off.replications, off.seed).runs
    measures = {m.key: m for m in headline_measures(off)}
    p_off = measures["p_agree_before_deadline"].lanes(runs).mean()
    assert 0.05 < p_off < 1
    row = explained.loc[("event:walkout", "p_agree_before_deadline")]
    assert row["value_low"] == p_off and row["value_high"] == 0.0
    assert row["effect"] == -p_off
    assert row["effect_low"] <= -p_off <= row["effect_high"] < 0
    assert explained.loc[("event:walkout", "p_agree_by_horizon"), "value_high"] == 0.0
    nothing = explained.loc["event:nothing"]
    assert (nothing["effect"].fillna(0) == 0).all()  # the same lanes, the same outcomes
    assert (nothing["value_low"].fillna(-1) == nothing["value_high"].fillna(-1)).all()


def test_walkout_ranks_first_and_a_higher_walk_away_lowers_agreement(explained):
    primary = explained.xs("p_agree_before_deadline", level="measure")
    assert primary["rank"].idxmin() == "event:walkout"
    margin = primary.loc["input:parties.russia.margin"]
    assert margin["effect_high"] < 0  # a dearer treaty for Moscow: fewer before the deadline
    date = explained.loc[("input:parties.russia.margin", "median_agreement_date")]
    assert (
        np.isfinite(date["effect"]) and date["effect_low"] <= date["effect"] <= date["effect_high"]
    )


def test_cli_writes_table_page_and_resumes_nothing_twice(walkout, tmp_path):
    out = tmp_path / "ex"
    result = CliRunner().invoke(
        app, ["explain", str(walkout), "--out", str(out), "--workers", "1", "--reps", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "walkout: what moves the headline figures" in result.output
    assert "Both delegations walk out for good" in (out / "explain.html").read_text()
    assert {"explain.parquet", "explain.html", "manifest.json"} <= {p.name for p in out.iterdir()}
    table = pd.read_parquet(out / "explain.parquet")
    assert table["rank"].min() == 1 and set(table["measure"]) >= {"p_agree_before_deadline"}
    again = CliRunner().invoke(app, ["explain", "--resume", str(out)])
    assert again.exit_code == 0, again.output  # nothing left to simulate: same table
    pd.testing.assert_frame_equal(table, pd.read_parquet(out / "explain.parquet"))


def test_bad_inputs_exit_2_with_one_line(tmp_path, baseline_path):
    runner = CliRunner()
    plain = tmp_path / "plain.yaml"
    fixed = re.sub(r"\{uniform: \[([^,\]]+), [^\]]+\]\}", r"\1", baseline_path.read_text())
    plain.write_text(fixed.split("\nevents:")[0])  # every input fixed at its low end, no events
    result = runner.invoke(app, ["explain", str(plain), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "no events and no uncertain inputs to explain" in result.output
    assert not (tmp_path / "x").exists()
    result = runner.invoke(app, ["explain", str(tmp_path), "--out", str(tmp_path / "y")])
    assert result.exit_code == 2 and "not a results folder" in result.output


@pytest.mark.parametrize(
    ("effect", "low", "high", "text"),
    [
        (0.0, 0.0, 0.0, "+0.0 weeks (+0.0 to +0.0)"),
        (0.0, math.nan, math.nan, "+0.0 weeks"),
        (0.0, -2.0, 3.0, "+0.0 weeks (-2.0 to +3.0)"),
        (0.5, 0.0, 0.5, "+0.5 weeks (+0.0 to +0.5)"),
    ],
)
def test_a_median_date_effect_prints_one_way(effect, low, high, text):
    row = {"kind": "median", "unit": "weeks", "effect": effect}
    assert effect_text(row | {"effect_low": low, "effect_high": high}) == text


def test_a_narrow_unit_keeps_its_decimals():
    row = {"kind": "median", "unit": "linked 0-1", "effect": 0.04}
    assert effect_text(row | {"effect_low": 0.01, "effect_high": 0.07}) == (
        "+0.040 linked 0-1 (+0.010 to +0.070)"
    )
