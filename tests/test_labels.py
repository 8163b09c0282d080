"""Labels: every per-lane path (sim.lane_paths.PATHS) is named in the scenario's words."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from sim.labels import key_name, path_label, short_param_name, tick_rows, wrap
from sim.lane_paths import PATHS
from sim.loader import load_scenario

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
FILL = {"<p>": ["us", "russia"], "<a>": ["pentagon"], "<i>": ["warheads"], "<b>": ["republicans"]}
FILL |= {"<e>": ["md_review"], "<n>": ["0"]}


def concrete(shown: str) -> list[str]:
    """Every path of a row's shown pattern with its placeholders filled from the baseline."""
    options = []
    for part in shown.split("."):
        if part in FILL:
            options.append(FILL[part])
        elif part.startswith("<"):
            options.append(part[1:-1].split("|"))
        else:
            options.append([part])
    return [".".join(choice) for choice in itertools.product(*options)]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BASELINE)


def test_every_lane_path_has_a_distinct_label_in_words(scenario):
    paths = []
    for row in PATHS:
        found = [p for p in concrete(row.shown()) if row.exists(scenario, row.match(p))]
        assert found, row.pattern  # each row of the table is tried on the baseline
        paths += found
    labels = {p: path_label(scenario, p) for p in paths}
    for path, label in labels.items():
        assert label != path, path
        assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", label), (path, label)  # no dotted path left
        assert "_" not in label, (path, label)
    assert len(set(labels.values())) == len(labels), "two paths share a label"


def test_named_parts_of_a_path_are_in_its_label(scenario):
    republicans = "parties.us.ratifier.blocs.republicans"
    assert path_label(scenario, f"{republicans}.margin") == (
        "US Senate, Republicans: how much a treaty must beat no treaty for the median member"
    )
    assert path_label(scenario, f"{republicans}.spread") == (
        "US Senate, Republicans: std. dev. of members' margins in the bloc"
    )
    assert path_label(scenario, "parties.russia.ratifier.blocs.united_russia.margin").startswith(
        "State Duma, United Russia: "
    )
    assert path_label(scenario, "drafting_weeks") == (
        "weeks of joint work at full capacity the treaty text needs once both sides have "
        "tabled positions"
    )
    assert path_label(scenario, "parties.russia.margin") == "Russia: walk-away margin"
    assert path_label(scenario, "parties.us.readiness") == (
        "United States: day from which it can table positions"
    )
    assert path_label(scenario, "parties.us.blocs.nowhere") == "parties.us.blocs.nowhere"


def test_short_param_name_names_an_event_briefly(scenario):
    hazard = short_param_name(scenario, "input.events.md_review.hazard")
    assert hazard == "The US missile-defence review concludes: weekly hazard"
    effect = short_param_name(scenario, "events.md_review.effects.0.value")
    assert effect.startswith("The US missile-defence review concludes: effect on ")
    assert len(effect) < len(path_label(scenario, "events.md_review.effects.0.value"))
    assert short_param_name(scenario, "parties.russia.margin") == "Russia: walk-away margin"


def test_key_name_is_the_short_name_of_factors_and_lane_columns(scenario):
    effect = "events.md_review.effects.4.value"
    short = "The US missile-defence review concludes: effect on trust between the parties"
    for key in (f"input:{effect}", f"input.{effect}", f"param.{effect}"):
        assert key_name(scenario, key) == short
    for key in ("event:md_review", "event.md_review"):
        assert key_name(scenario, key) == "The US missile-defence review concludes"
    assert key_name(scenario, "input.parties.russia.margin") == "Russia: walk-away margin"


def test_tick_rows_give_each_wrapped_label_its_own_lines():
    labels = ["one line", wrap("a label long enough to take three lines or so", 16), "x"]
    centres, span = tick_rows(labels, gap=1.0)
    lines = [max(label.count("<br>") + 1, 1.5) for label in labels]
    assert span == pytest.approx(sum(lines) + len(labels) - 1 + 1.0)  # half a gap at each end
    for k in range(1, len(labels)):  # neighbours' halves and a gap between their centres
        assert centres[k] - centres[k - 1] == pytest.approx((lines[k] + lines[k - 1]) / 2 + 1)
    assert centres[0] - lines[0] / 2 >= 0 and centres[-1] + lines[-1] / 2 <= span
