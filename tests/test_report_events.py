"""The run report's events figure: each event forced on against forced off, same seed, paired by
lane (events.parquet), never the lanes where it happened to fire."""

import importlib
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.compare import newcombe_paired
from sim.ensemble import run_chunks
from sim.loader import load_scenario
from sim.outcomes import headline_measures
from sim.run import resume_run, run_scenario

run_module = importlib.import_module("sim.run")  # `sim.run` is the API function

REPS = 80
SEED = 7


@pytest.fixture(scope="module")
def baseline_path():
    from conftest import ROOT

    return ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, baseline_path):
    out = tmp_path_factory.mktemp("events") / "run"
    scenario = load_scenario(baseline_path, [f"replications={REPS}", f"seed={SEED}"])
    run_scenario(scenario, out)
    return out


def forced(baseline_path, name: str, on: bool) -> dict[str, np.ndarray]:
    """The baseline with one event forced on or off, simulated here lane by lane."""
    scenario = load_scenario(baseline_path)
    if scenario.events[name].date is not None:  # scheduled: it happens or not
        sets = [f"events.{name}.probability={1 if on else 0}"]
    elif on:  # random: once, in the first week of its window
        sets = [f"events.{name}.hazard=1", f"events.{name}.repeat=false"]
    else:
        sets = [f"events.{name}.hazard=0"]
    arm = load_scenario(baseline_path, [f"replications={REPS}", f"seed={SEED}", *sets])
    measures = {m.key: m for m in headline_measures(arm)}
    found: dict[str, list] = {k: [] for k in measures}
    for _, chunk in run_chunks(arm, REPS, SEED):
        for key, m in measures.items():
            found[key].append(m.lanes(chunk.runs))
    return {k: np.concatenate(v) for k, v in found.items()}


def test_effect_is_the_difference_of_the_forced_runs(run_folder, baseline_path):
    table = pd.read_parquet(run_folder / "events.parquet")
    scenario = load_scenario(run_folder / "scenario.yaml")
    assert list(table.columns) == [
        "event",
        "label",
        "measure",
        "effect",
        "low",
        "high",
        "on",
        "off",
    ]
    assert list(dict.fromkeys(table["event"])) == list(scenario.events)
    for name in scenario.events:
        on, off = forced(baseline_path, name, True), forced(baseline_path, name, False)
        rows = table[table["event"] == name].set_index("measure")
        for key in ("p_agree_before_deadline", "p_agree_by_horizon", "p_in_force"):
            row = rows.loc[key]
            assert row["on"] == on[key].mean() and row["off"] == off[key].mean(), (name, key)
            assert row["effect"] == on[key].mean() - off[key].mean(), (name, key)
            assert (row["effect"], row["low"], row["high"]) == newcombe_paired(off[key], on[key])
            assert row["low"] <= row["effect"] <= row["high"]
        date = rows.loc["median_agreement_date"]
        assert date["on"] == np.nanmedian(on["median_agreement_date"])
        assert date["off"] == np.nanmedian(off["median_agreement_date"])
        assert date["effect"] == date["on"] - date["off"]


def test_summary_no_longer_conditions_on_firing(run_folder):
    summary = json.loads((run_folder / "summary.json").read_text())
    table = pd.read_parquet(run_folder / "events.parquet")
    primary = table[table["measure"] == "p_agree_before_deadline"].set_index("event")
    for name, found in summary["events"].items():
        assert set(found) == {"p_fired", "forced"}
        for key in ("effect", "low", "high", "on", "off"):
            assert found["forced"][key] == primary.loc[name, key]
    assert "if_fired" not in (run_folder / "summary.json").read_text()
    page = (run_folder / "report.html").read_text()
    assert "forced on against forced off, same seed, paired 95% intervals" in page
    assert "if fired" not in page and "if not fired" not in page


def test_a_scenario_without_events_omits_the_figure_and_says_why(tmp_path, baseline_path):
    data = load_scenario(baseline_path).model_dump(mode="json", exclude_none=True)
    data["events"] = {}
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    summary = run_scenario(load_scenario(path, ["replications=30"]), out)
    assert summary["events"] == {}
    assert pd.read_parquet(out / "events.parquet").empty
    page = (out / "report.html").read_text()
    assert "No events figure: this scenario has no events." in page


def test_resume_after_an_interrupt_in_the_forced_runs_still_writes_them(
    tmp_path, baseline_path, run_folder, monkeypatch
):
    scenario = load_scenario(baseline_path, [f"replications={REPS}", f"seed={SEED}"])
    out = tmp_path / "run"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(run_module, "event_effects", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_scenario(scenario, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and not (out / "events.parquet").exists()
    resume_run(out)
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "events.parquet"), pd.read_parquet(run_folder / "events.parquet")
    )
