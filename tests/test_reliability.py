"""Reliability with real processes and signals (issue 13): one process per results folder,
shutdowns that always end and leave no process behind, disk errors that end like an interrupt."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def negsim(*args: str, cwd: Path = ROOT, **options) -> subprocess.Popen:
    """Start `negsim ARGS` in a real process of its own session (so signals reach its pool)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        **options,
    )


def run_args(out: Path, seed: int, reps: int = 20_000, workers: int = 1) -> list[str]:
    """Arguments of a baseline run long enough (a few seconds) to be caught in the act."""
    return ["run", str(BASELINE), "--reps", str(reps), "--chunk", "1000", "--seed", str(seed),
            "--workers", str(workers), "--out", str(out)]  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Wait until `path` exists (the run got that far)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def survivors(session: int, seconds: float = 10) -> list[str]:
    """Processes of `session` still alive after up to `seconds` (none, for a clean exit)."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                if os.getsid(proc.pid) == session and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(" ".join(proc.info["cmdline"] or [])[:100])
            except (ProcessLookupError, psutil.Error):
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def kill_session(proc: subprocess.Popen) -> None:
    """Clean up after a failed test: end every process the run started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


# --- one process per results folder


def test_two_runs_into_one_out_folder_never_mix(tmp_path):
    out = tmp_path / "shared"
    first, second = (negsim(*run_args(out, seed=s, reps=4000)) for s in (5, 6))
    try:
        results = [p.communicate(timeout=120) for p in (first, second)]
    finally:
        kill_session(first), kill_session(second)
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 2], results
    loser = results[[first.returncode, second.returncode].index(2)][1]
    assert loser.startswith(f"error: {out}: "), loser
    assert "Traceback" not in loser and len(loser.splitlines()) == 1
    winner = 5 if first.returncode == 0 else 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == winner
    alone = tmp_path / "alone"
    subprocess.run(
        [sys.executable, "-m", "sim.cli", *run_args(alone, seed=winner, reps=2000)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    shared = pd.read_parquet(out / "runs.parquet")
    assert len(shared) == 4000 and shared["lane"].is_unique
    pd.testing.assert_frame_equal(shared.head(2000), pd.read_parquet(alone / "runs.parquet"))


def test_two_runs_started_together_get_their_own_default_folders(tmp_path):
    args = ["run", str(BASELINE), "--reps", "200", "--workers", "1"]
    procs = [negsim(*args, "--seed", str(seed), cwd=tmp_path) for seed in (5, 6)]
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
    folders = sorted((tmp_path / "results").iterdir())
    assert len(folders) == 2
    seeds = {json.loads((f / "manifest.json").read_text())["seed"] for f in folders}
    assert seeds == {5, 6}


def test_resume_of_a_folder_still_running_is_refused(tmp_path):
    out = tmp_path / "run"
    running = negsim(*run_args(out, seed=5, reps=200_000))
    try:
        wait_for(out / "chunks" / "counts-00000.npz", running)
        second = subprocess.run(
            [sys.executable, "-m", "sim.cli", "run", "--resume", str(out), "--workers", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert running.poll() is None, "the first run ended too soon to test anything"
        assert second.returncode == 2
        assert second.stderr.splitlines() == [
            f"error: {out}: another negsim process is working in this folder; "
            "wait for it to end, or choose another folder"
        ]
        running.send_signal(signal.SIGINT)
        assert running.wait(timeout=30) == 130
    finally:
        kill_session(running)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "resumed" not in manifest


# --- shutdown that always ends


@pytest.mark.parametrize(
    ("command", "sig"),
    [("run", signal.SIGINT), ("sweep", signal.SIGINT), ("sweep", signal.SIGTERM)],
    ids=["run-SIGINT", "sweep-SIGINT", "sweep-SIGTERM"],
)
def test_double_ctrl_c_with_two_workers_ends_within_seconds(tmp_path, command, sig):
    out = tmp_path / "out"
    if command == "run":
        proc = negsim(*run_args(out, seed=5, reps=40_000, workers=2))
        first = out / "chunks" / "counts-00000.npz"
    else:
        proc = negsim("sweep", str(BASELINE), "--param", "parties.us.tactic.beta=0.2:2:40",
                      "--reps", "2000", "--workers", "2", "--out", str(out))  # fmt: skip
        first = out / "points" / "00000" / "point.json"
    try:
        wait_for(first, proc)
        sent = time.monotonic()
        for _ in range(3):  # an impatient user
            os.killpg(proc.pid, sig)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=10)
        print(f"{command}: ended {time.monotonic() - sent:.2f} s after the first signal")
        assert proc.returncode == 128 + sig, stderr
        assert f"negsim {command} --resume {out}" in stdout + stderr
        assert "Traceback" not in stderr
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
        assert survivors(proc.pid) == []
    finally:
        kill_session(proc)


def test_kill_9_leaves_no_worker_fork_server_or_tracker(tmp_path):
    out = tmp_path / "out"
    proc = negsim(*run_args(out, seed=5, reps=16_000, workers=2))
    try:
        wait_for(out / "chunks" / "counts-00000.npz", proc)
        assert len(survivors(proc.pid, seconds=0)) >= 3  # negsim, fork server, workers...
        proc.kill()
        proc.wait()
        assert survivors(proc.pid, seconds=10) == []
    finally:
        kill_session(proc)
    resumed = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--resume", str(out), "--workers", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr


# --- disk errors end like an interrupt


@pytest.mark.parametrize(
    ("limit", "failing", "kept"),
    [(100_000, r"chunks/\S+-00000\.\S+", 0), (2_000_000, r"[^/\s]+", 6)],
    ids=["in-a-chunk", "in-the-results"],
)
def test_file_size_limit_ends_like_an_interrupt_and_resumes(tmp_path, limit, failing, kept):
    """A chunk of 1,000 lanes is ~0.2-0.4 MB, runs.parquet of 6,000 ~1 MB, plotly.min.js ~5 MB."""
    import resource

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "run"
    args = ["run", str(BASELINE), "--reps", "6000", "--chunk", "1000", "--workers", "1"]
    stopped = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, preexec_fn=small_files,
    )  # fmt: skip
    assert stopped.returncode == 1
    said, finish = stopped.stderr.splitlines()
    assert re.fullmatch(
        f"error: cannot write {re.escape(str(out))}/{failing}: File too large; "
        f"{kept} of 6 chunks kept in {re.escape(str(out))}",
        said,
    ), said
    assert finish == f"finish with: negsim run --resume {out}"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "File too large" in manifest["error"]
    assert [p for p in out.rglob(".*")] == []  # no temporary file left behind
    resumed = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--resume", str(out), "--workers", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
