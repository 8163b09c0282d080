"""Nothing lost: a run stopped by SIGINT/SIGTERM or by a failing chunk keeps its finished chunks,
says how to resume, and `--resume` gives exactly the numbers of an uninterrupted run."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim.ensemble
from sim.cli import app
from sim.loader import load_scenario
from sim.run import RunFailed, resume_run, run_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
REPS, CHUNK, SEED = 6_000, 200, 7  # 30 chunks: long enough to interrupt after the first
runner = CliRunner()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The same run, never interrupted: the numbers every resumed run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "run"
    scn = load_scenario(BASELINE, [f"replications={REPS}", f"seed={SEED}"])
    run_scenario(scn, out, chunk=CHUNK)
    return out


def interrupt_after_first_chunk(out, sig: int, workers: int) -> subprocess.CompletedProcess:
    """Start `negsim run` in a real process; send `sig` as soon as the first chunk is on disk."""
    command = [sys.executable, "-m", "sim.cli", "run", "scenarios/baseline.yaml"]
    command += ["--reps", str(REPS), "--chunk", str(CHUNK), "--seed", str(SEED)]
    command += ["--workers", str(workers), "--out", str(out)]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = out / "chunks" / "counts-00000.npz"
    deadline = time.monotonic() + 60
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    sent = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    print(f"{signal.Signals(sig).name}: stopped {time.monotonic() - sent:.2f} s after the signal")
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def assert_interrupted_folder(out, stderr: str) -> None:
    """Status interrupted, finished chunks kept, no half-written result, resume command shown."""
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "error" not in manifest
    kept = sorted(p.name for p in (out / "chunks").glob("counts-*.npz"))
    assert kept and len(kept) < REPS // CHUNK
    assert all(
        (out / "chunks" / n.replace("counts", "runs").replace(".npz", ".arrow")).is_file()
        for n in kept
    )
    assert not (out / "runs.parquet").exists() and not (out / "summary.json").exists()
    assert f"finish with: negsim run --resume {out}" in stderr
    assert f"interrupted: {len(kept)} of {REPS // CHUNK} chunks kept in {out}" in stderr
    assert "Traceback" not in stderr


def assert_same_numbers(out, reference) -> None:
    """Resumed and uninterrupted runs agree lane for lane and week for week."""
    for name in ("runs.parquet", "timeline.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / name), pd.read_parquet(reference / name)
        )
    assert json.loads((out / "summary.json").read_text()) == json.loads(
        (reference / "summary.json").read_text()
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and not (out / "chunks").exists()


@pytest.mark.parametrize(
    ("sig", "workers"),
    [(signal.SIGINT, 2), (signal.SIGTERM, 1)],
    ids=["SIGINT-2-workers", "SIGTERM-in-process"],
)
def test_signal_keeps_finished_chunks_and_resume_matches(tmp_path, uninterrupted, sig, workers):
    out = tmp_path / "run"
    stopped = interrupt_after_first_chunk(out, sig, workers)
    assert stopped.returncode == 128 + sig, stopped.stderr
    assert_interrupted_folder(out, stopped.stderr)
    kept = len(list((out / "chunks").glob("counts-*.npz")))
    resumed = runner.invoke(app, ["run", "--resume", str(out), "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_numbers(out, uninterrupted)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["resumed"]) == 1 and manifest["chunk_lanes"] == CHUNK
    assert kept >= 1


def test_failing_chunk_is_named_and_the_rest_resumes(tmp_path, uninterrupted, monkeypatch):
    real = sim.ensemble.run_chunk

    def crash_on_third(scenario, index, lanes, seed, trace=0, chunk=None):
        if index == 2:
            raise MemoryError("worker ran out of memory")
        return real(scenario, index, lanes, seed, trace, chunk)

    monkeypatch.setattr(sim.ensemble, "run_chunk", crash_on_third)
    scn = load_scenario(BASELINE, [f"replications={REPS}", f"seed={SEED}"])
    out = tmp_path / "run"
    with pytest.raises(RunFailed) as failed:
        run_scenario(scn, out, chunk=CHUNK)
    assert str(failed.value) == (
        "chunk 2 (lanes 400..599) failed: MemoryError: worker ran out of memory"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["error"] == str(failed.value)
    assert sorted(p.name for p in (out / "chunks").glob("counts-*")) == [
        "counts-00000.npz",
        "counts-00001.npz",
    ]
    monkeypatch.setattr(sim.ensemble, "run_chunk", real)
    resume_run(out)
    assert_same_numbers(out, uninterrupted)
    assert "error" not in json.loads((out / "manifest.json").read_text())


def test_failing_chunk_through_the_cli_says_which_and_how_to_resume(tmp_path, monkeypatch):
    def crash(scenario, index, lanes, seed, trace=0, chunk=None):
        raise ValueError("bad lane")

    monkeypatch.setattr(sim.ensemble, "run_chunk", crash)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            str(BASELINE),
            "--reps",
            "600",
            "--chunk",
            "300",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: chunk 0 (lanes 0..299) failed: ValueError: bad lane; 0 of 2 chunks kept in {out}",
        f"finish with: negsim run --resume {out}",
    ]
