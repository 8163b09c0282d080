"""Property tests of the loader: whatever the file or override, the outcome is a valid Scenario
or a one-line ScenarioError, never another exception."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.loader import ScenarioError, load_scenario
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
BASE_TEXT = (ROOT / "scenarios" / "baseline.yaml").read_text()
BASE = yaml.safe_load(BASE_TEXT)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
)
keys = st.one_of(st.sampled_from([*sorted(BASE), "extends", "x"]), st.text(max_size=8))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a parsed document (mapping keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*prefix, i))
    return found


BASE_PATHS = paths(BASE)


def outcome(path: Path, overrides: list[str] = ()) -> Scenario | ScenarioError:
    """Load, and let only a Scenario or a ScenarioError out."""
    try:
        return load_scenario(path, overrides)
    except ScenarioError as err:
        told = str(err)
        assert told and "\n" not in told and "Traceback" not in told
        return err


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    return tmp_path / "s.yaml"


@SETTINGS
@given(doc=documents)
def test_random_documents(scenario_file, doc):
    scenario_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = outcome(scenario_file)
    assert isinstance(result, ScenarioError)  # nothing random is a whole scenario
    assert str(result).startswith(str(scenario_file))


@SETTINGS
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes(scenario_file, data):
    scenario_file.write_bytes(data)
    assert isinstance(outcome(scenario_file), ScenarioError)


@SETTINGS
@given(
    where=st.sampled_from(BASE_PATHS),
    how=st.sampled_from(["replace", "delete", "rename", "add"]),
    value=documents,
    name=st.text(min_size=1, max_size=8),
)
def test_mutations_of_the_baseline(scenario_file, where, how, value, name):
    doc = copy.deepcopy(BASE)
    *parents, last = where
    node: Any = doc
    for part in parents:
        node = node[part]
    if how == "delete":
        del node[last]
    elif how == "rename" and isinstance(node, dict):
        node[name] = node.pop(last)
    elif how == "add" and isinstance(node[last], dict):
        node[last][name] = value
    else:
        node[last] = value
    scenario_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = outcome(scenario_file)
    if isinstance(result, Scenario):
        assert len(result.parties) == 2 and result.first_mover in result.parties


@SETTINGS
@given(
    at=st.integers(min_value=0, max_value=len(BASE_TEXT) - 1),
    cut=st.integers(min_value=0, max_value=12),
    insert=st.text(alphabet=" \t\n:-[]{}&*!#'\"|>%@`,?0123456789.ex", max_size=4),
)
def test_text_edits_of_the_baseline(scenario_file, at, cut, insert):
    scenario_file.write_text(BASE_TEXT[:at] + insert + BASE_TEXT[at + cut :], encoding="utf-8")
    outcome(scenario_file)


override_paths = st.one_of(
    st.sampled_from([".".join(map(str, p)) for p in BASE_PATHS]),
    st.sampled_from(["calendar.summits.\u00b2.trust", "calendar.sessions.\u0663.start", "extends"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz._0123456789", max_size=30),
)
override_values = st.one_of(
    st.text(max_size=10),
    st.sampled_from([".nan", "-.inf", "1e400", "[1, 2]", "{a: 1}", "~", "!!binary x"]),
    st.sampled_from(["2009-02-30", "0000-01-01", "2009-13-01", "[2009-02-29]"]),
)


@SETTINGS
@given(key=override_paths, value=override_values)
def test_random_overrides(key, value):
    result = outcome(ROOT / "scenarios" / "baseline.yaml", [f"{key}={value}"])
    if isinstance(result, ScenarioError):
        assert str(result).startswith("--set ") or str(result).startswith(str(ROOT))
