"""Limits stated and enforced before anything is written, names that cannot escape results/, and
schedulers that never answer (issue 13)."""

from __future__ import annotations

import importlib
import json
import socket
from pathlib import Path

import pytest
import yaml
from factory import pie
from typer.testing import CliRunner

import sim.executors
import sim.store
from sim.cli import app
from sim.designs import parse_param
from sim.executors import ExecutorError, SchedulerLost, open_pool
from sim.loader import load_scenario
from sim.scenario import MAX_ISSUES
from sim.sweep import run_sweep, start_sweep

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
runner = CliRunner()


def many_issues(count: int) -> dict:
    """The pie scenario with `count` issues, each salient to both parties."""
    doc = pie()
    names = [f"issue{k}" for k in range(count)]
    issue = doc["issues"].pop("pie")
    doc["issues"] = dict.fromkeys(names, issue)
    doc["no_agreement"] = dict.fromkeys(names, doc["no_agreement"]["pie"])
    for party in doc["parties"].values():
        lead = party["actors"]["lead"]
        for key in ("positions", "salience", "tolerance"):
            lead[key] = dict.fromkeys(names, lead[key]["pie"])
    return doc


def test_as_many_issues_as_allowed_reach_the_report_and_one_more_is_refused(tmp_path):
    for count in (MAX_ISSUES, MAX_ISSUES + 1):
        (tmp_path / f"{count}.yaml").write_text(yaml.safe_dump(many_issues(count)))
    out = tmp_path / "out"
    most = runner.invoke(app, ["run", str(tmp_path / f"{MAX_ISSUES}.yaml"), "--reps", "20",
                               "--workers", "1", "--out", str(out)])  # fmt: skip
    assert most.exit_code == 0, most.output
    assert (out / "report.html").is_file()
    over = runner.invoke(app, ["validate", str(tmp_path / f"{MAX_ISSUES + 1}.yaml")])
    assert over.exit_code == 2
    assert over.stderr.endswith(
        f"issues: {MAX_ISSUES + 1} issues; the reports show at most {MAX_ISSUES}\n"
    )


def test_a_scenario_name_never_leaves_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(BASELINE), "--reps", "10", "--workers", "1",
                                 "--set", 'name="../../escaped"'])  # fmt: skip
    assert result.exit_code == 0, result.output
    made = list(tmp_path.rglob("manifest.json"))
    assert len(made) == 1 and made[0].parent.parent == tmp_path / "results"


@pytest.mark.parametrize("name", ["/tmp/absolute", "nul\0name", "long" * 80, "..", "a/../../b"])
def test_default_folders_are_plain_names_under_results(name):
    folder = sim.store.default_folder(name)
    assert folder.parent == Path("results") and len(folder.name) < 100
    assert "/" not in folder.name and "\0" not in folder.name and not folder.name.startswith(".")


def test_interrupt_while_laying_out_leaves_a_reusable_folder(tmp_path, monkeypatch):
    real = sim.store.write_json

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.store, "write_json", interrupted)
    out = tmp_path / "run"
    args = ["run", str(BASELINE), "--reps", "10", "--workers", "1", "--out", str(out)]
    stopped = runner.invoke(app, args)
    assert stopped.exit_code == 130
    assert stopped.stderr.splitlines() == [
        f"interrupted before the run started; nothing written in {out}"
    ]
    assert list(out.iterdir()) == []
    monkeypatch.setattr(sim.store, "write_json", real)
    assert runner.invoke(app, args).exit_code == 0


def test_sweep_starts_no_more_workers_than_chunks(tmp_path):
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(BASELINE), "--param", "parties.us.tactic.beta=0.5,1",
                                 "--reps", "20", "--workers", "1000", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 2 points simulated on 2 local processes" in result.stdout


def test_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    (tmp_path / "child.yaml").write_text("extends: loop.yaml\nname: child\n")
    for target in (loop, tmp_path / "child.yaml"):
        result = runner.invoke(app, ["validate", str(target)])
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert result.stderr.startswith("error: ") and "loop" in result.stderr


@pytest.fixture
def quick_contact(monkeypatch):
    """Schedulers get 2 s to answer instead of 15, to keep the suite fast."""
    monkeypatch.setattr(sim.executors, "CONTACT_SECONDS", 2.0)


def test_a_scheduler_that_never_answers_is_a_message_not_a_hang(quick_contact):
    pytest.importorskip("distributed")
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ExecutorError) as err, open_pool(1, address):
            pass
    assert str(err.value) == f"--scheduler {address}: no answer within 2 s"


def test_a_scheduler_without_workers_says_so(quick_contact):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ExecutorError) as err, open_pool(1, address):
            pass
    assert str(err.value) == (
        f"--scheduler {address}: no worker joined within 2 s; start one with: dask worker {address}"
    )


def test_manifest_of_a_run_records_what_resume_checks(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(BASELINE), "--reps", "10", "--workers", "1",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == sim.store.digest(out / "scenario.yaml")


def test_a_scheduler_lost_mid_sweep_ends_it_resumably(quick_contact, tmp_path):
    distributed = pytest.importorskip("distributed")
    base = load_scenario(BASELINE, ["replications=200"])
    out = tmp_path / "sweep"
    start_sweep(base, [parse_param("parties.us.tactic.beta=0.2:2:6")], out)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)

    def lose_the_scheduler(points: int, lanes: int) -> None:
        if points:
            cluster.close(timeout=5)

    with pytest.raises(SchedulerLost), open_pool(1, cluster.scheduler_address) as pool:
        run_sweep(out, pool, lose_the_scheduler)
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    kept = len(list(out.glob("points/*/point.json")))
    assert 1 <= kept < 6
    with open_pool(1) as pool:
        assert len(run_sweep(out, pool)) == 6


def test_validate_goes_on_past_an_impossible_date(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASELINE.read_text().replace("start: 2009-05-07", "start: 2009-02-30", 1))
    result = runner.invoke(app, ["validate", str(bad), str(BASELINE)])
    assert result.exit_code == 2
    assert "2009-02-30 is not a real date" in result.stderr
    assert result.stdout == f"ok: {BASELINE} (baseline)\n"


def test_a_resolved_scenario_too_big_to_resume_is_refused_before_writing(tmp_path, monkeypatch):

    monkeypatch.setattr(
        importlib.import_module("sim.run"), "MAX_FILE_BYTES", 5_000
    )  # the baseline resolves to ~10 kB
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(BASELINE), "--reps", "10", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: baseline: the resolved scenario is ")
    assert not out.exists()
