"""The loader: a valid file, `extends:` chains, `--set` overrides, and bad inputs named by line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from sim.loader import ScenarioError, load_scenario
from sim.run import resolved_yaml
from tests.factory import pie

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def line(text: str, needle: str) -> int:
    """1-based line of the first `needle` in `text`."""
    return text[: text.index(needle)].count("\n") + 1


def test_baseline_loads_with_its_values():
    scn = load_scenario(BASELINE)
    assert scn.party_names() == ["russia", "us"]
    assert scn.calendar.deadline == dt.date(2009, 12, 5)
    assert scn.parties["russia"].tactic.beta == pytest.approx(0.325)  # median of its range
    assert scn.inputs["parties.russia.tactic.beta"].as_yaml() == {"uniform": [0.2, 0.45]}
    assert scn.issues["warheads"].min == 1500 and scn.issues["warheads"].max == 1800


def test_resolved_scenario_loads_back_to_the_same(tmp_path):
    scn = load_scenario(BASELINE, ["parties.us.tactic.beta=2"])
    again = load_scenario(write(tmp_path / "scenario.yaml", resolved_yaml(scn)))
    assert again == scn


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    child = write(
        tmp_path / "variants" / "child.yaml",
        f"extends: {Path('..') / 'parent.yaml'}\nname: child\n"
        "parties:\n  us:\n    tactic: {beta: 2.5}\n"
        "calendar:\n  sessions:\n    - {name: only round, start: 2009-06-01, weeks: 3}\n",
    )
    write(tmp_path / "parent.yaml", BASELINE.read_text())
    scn, parent = load_scenario(child), load_scenario(BASELINE)
    assert scn.name == "child" and scn.extends == "../parent.yaml"
    assert scn.parties["us"].tactic.beta == 2.5
    assert scn.parties["us"].tactic.noise == parent.parties["us"].tactic.noise  # kept
    assert [s.name for s in scn.calendar.sessions] == ["only round"]  # replaced whole
    assert scn.parties["russia"] == parent.parties["russia"]


def test_extends_chain_of_three_child_wins(tmp_path):
    write(tmp_path / "a.yaml", BASELINE.read_text())
    write(tmp_path / "b.yaml", "extends: a.yaml\ntrust: 0.2\nreplications: 50\n")
    c = write(tmp_path / "c.yaml", "extends: b.yaml\ntrust: 0.9\n")
    scn = load_scenario(c)
    assert (scn.trust, scn.replications) == (0.9, 50)


def test_errors_point_into_the_file_that_holds_the_key(tmp_path):
    parent_text = BASELINE.read_text().replace(
        "      beta: {uniform: [0.3, 0.8]}", "      beta: -1"
    )
    write(tmp_path / "parent.yaml", parent_text)
    child_text = "extends: parent.yaml\nname: child\ntrust: 7\n"
    child = write(tmp_path / "child.yaml", child_text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(child)
    assert str(err.value).startswith(f"{child}:3: trust: ")
    write(tmp_path / "child.yaml", "extends: parent.yaml\nname: child\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(child)
    parent_line = line(parent_text, "beta: -1")
    assert str(err.value) == (
        f"{tmp_path / 'parent.yaml'}:{parent_line}: parties.us.tactic.beta: "
        "Input should be greater than 0 (got -1)"
    )


def test_set_overrides_typed_values_after_extends(tmp_path):
    write(tmp_path / "a.yaml", BASELINE.read_text())
    child = write(tmp_path / "b.yaml", "extends: a.yaml\ntrust: 0.2\n")
    scn = load_scenario(
        child,
        [
            "trust=0.7",
            "parties.us.tactic.beta=2",
            "calendar.sessions.0.weeks=4",
            "calendar.deadline_kind=hard",
            "parties.russia.readiness=2009-07-01",
            "parties.us.anticipates_ratification=false",
        ],
    )
    assert scn.trust == 0.7 and scn.parties["us"].tactic.beta == 2.0
    assert scn.calendar.sessions[0].weeks == 4 and scn.calendar.deadline_kind == "hard"
    assert scn.parties["russia"].readiness == dt.date(2009, 7, 1)
    assert scn.parties["us"].anticipates_ratification is False


def test_set_may_add_an_optional_key_but_not_a_new_block():
    scn = load_scenario(BASELINE, ["parties.us.tactic.discount=0.9"])
    assert scn.parties["us"].tactic.discount == 0.9
    with pytest.raises(ScenarioError, match=r"no key 'parties\.us\.mood'"):
        load_scenario(BASELINE, ["parties.us.mood.level=1"])


def test_override_errors_quote_what_the_user_typed():
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, [("--reps 0", "replications=0")])
    assert str(err.value) == (
        "--reps 0: replications: Input should be greater than or equal to 1 (got 0)"
    )


PIE = yaml.safe_dump(pie(), sort_keys=False)


def pie_with(old: str, new: str) -> str:
    assert old in PIE, old
    return PIE.replace(old, new, 1)


# (edited pie text, needle whose line the message names or None, expected message after 'file:')
BAD = [
    (pie_with("name: pie", "nme: pie"), "nme:", "nme: unknown key (did you mean 'name'?)"),
    (pie_with("first_mover: russia", "first_mover: [russia"), None, None),
    (
        pie_with("margin: -0.5", "margin: -2.5"),
        "margin: -2.5",
        "parties.russia.margin: Input should be greater than or equal to -2 (got -2.5)",
    ),
    (pie_with("max: 1.0", "max: .inf"), ".inf", "issues.pie.max: inf is not a finite number"),
    (
        pie_with("beta: 1.0", "beta: .nan"),
        ".nan",
        "parties.russia.tactic.beta: nan is not a finite number",
    ),
    (pie_with("min: 0.0", "min: 2.0"), "max: 1.0", "issues.pie.max: 1.0 is not above min 2.0"),
    (
        pie_with("pie: 1.0", "pi: 1.0"),
        "pi: 1.0",
        "parties.russia.actors.lead.positions.pi: unknown issue 'pi' (did you mean 'pie'?)",
    ),
    (
        pie_with("start: '2009-01-05'", "start: '2010-01-05'"),
        "deadline:",
        "calendar.deadline: 2009-05-25 is not after start 2010-01-05",
    ),
    (
        pie_with("first_mover: russia", "first_mover: usa"),
        "first_mover",
        "first_mover: 'usa' is not one of ['russia', 'us']",
    ),
    (
        pie_with("weeks: 41", "weeks: many"),
        "weeks: many",
        "calendar.sessions.0.weeks: Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')",
    ),
    (
        pie_with("name: pie", "name: !!python/object:os.system pie"),
        "!!python",
        "YAML error: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'",
    ),
    ("name: [unclosed\n", None, None),
]


@pytest.mark.parametrize(("text", "needle", "message"), BAD)
def test_bad_pie_names_file_line_key_and_problem(tmp_path, text, needle, message):
    path = write(tmp_path / "pie.yaml", text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    told = str(err.value)
    assert "\n" not in told and told.startswith(f"{path}:")
    if message is not None:
        assert told == f"{path}:{line(text, needle)}: {message}"
    else:
        assert "YAML error" in told
