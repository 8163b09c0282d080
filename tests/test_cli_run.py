"""`negsim run` end to end: a results folder with every file, and a one-line error on bad input."""

import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()


def test_run_writes_complete_results_folder(baseline_path, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            str(baseline_path),
            "--reps",
            "300",
            "--out",
            str(out),
            "--trace",
            "3",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    for name in [
        "manifest.json",
        "scenario.yaml",
        "runs.parquet",
        "timeline.parquet",
        "traces.parquet",
        "summary.json",
        "report.html",
        "plotly.min.js",
    ]:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 300 and runs["lane"].tolist() == list(range(300))
    summary = json.loads((out / "summary.json").read_text())
    p = summary["p_agree_before_deadline"]
    assert p["low"] <= p["estimate"] <= p["high"]
    assert p["estimate"] == (runs["agreed"] & (runs["agreed_week"] < 30)).mean()
    assert "Signed before START I expires (5 December 2009)" in result.output
    # `negsim show` prints the same headline table again from the folder alone
    shown = runner.invoke(app, ["show", str(out)])
    assert shown.exit_code == 0, shown.output
    headline = [line for line in result.output.splitlines() if "Signed before START I" in line]
    assert headline and headline[0] in shown.output


def test_show_refuses_an_unfinished_folder(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "interrupted"}))
    shown = runner.invoke(app, ["show", str(tmp_path)])
    assert shown.exit_code == 2
    assert "run is interrupted, not complete; finish it with: negsim run --resume" in shown.output


def test_misspelt_key_gives_one_line_and_exit_2(baseline_path, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        baseline_path.read_text().replace("      beta: {uniform: [0.2", "      bta: {uniform: [0.2")
    )
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "bad.yaml:" in lines[0] and "parties.russia.tactic.bta" in lines[0]
    assert "did you mean 'beta'" in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists()


def test_version_and_shell_completion():
    shown = runner.invoke(app, ["--version"])
    assert shown.exit_code == 0 and shown.output.startswith("negsim ")
    helped = runner.invoke(app, ["--help"])
    assert "--install-completion" in helped.output and "--version" in helped.output


def test_run_prints_its_summary_and_next_steps(baseline_path, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["run", str(baseline_path), "--reps", "100", "--out", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    flat = " ".join(result.output.split())
    assert f"{round(100 * summary['p_agree_before_deadline']['estimate'])}%" in flat
    assert "replications sign in time" in flat
    assert f"negsim compare {baseline_path}" in flat and f"negsim show {out}" in flat


def test_sweep_folder_names_say_the_design():
    from sim.cli import sweep_folder_name
    from sim.designs import parse_param

    grid = [parse_param("parties.us.tactic.beta=0.2:2:3"), parse_param("trust=0.2:0.8:3")]
    assert sweep_folder_name("baseline", "grid", grid) == "sweep-baseline-grid-beta-trust"
    many = [parse_param(f"p{k}=0:1") for k in range(5)]
    assert sweep_folder_name("baseline", "sobol", many) == "sweep-baseline-sobol-5params"
