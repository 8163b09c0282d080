"""The console command's start and end: the fork server's warm-up and the exit that skips the
interpreter's teardown must keep exit codes, messages and the pool's clean-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_reliability import BASELINE, ROOT, negsim, survivors


def test_warm_up_loads_every_kernel_a_baseline_chunk_calls():
    """Importing sim.fork_server (as the fork server does) leaves the kernels compiled in memory."""
    probe = (
        "import sim.fork_server as f, agents.kernels as k; "
        "print(f.warm(), sorted(n for n in ('win_set_edges', 'contract_packages', "
        "'votes', 'utility', 'aggregate', 'splitmix', 'offer_counts') "
        "if not getattr(k, n).signatures))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "[]"]  # it ran, and no kernel is left to load


def test_exit_codes_and_messages_pass_through(tmp_path):
    """Success exits 0; a bad scenario one line on stderr and 2, as before the quick exit."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nreplications: -3\n")
    good = negsim("validate", str(BASELINE))
    assert good.wait(60) == 0, good.communicate()
    wrong = negsim("validate", str(bad))
    _, err = wrong.communicate(timeout=60)
    assert wrong.returncode == 2
    assert len(err.strip().splitlines()) == 1 and str(bad) in err


def test_a_run_with_workers_leaves_nothing_behind(tmp_path):
    """Exit handlers still run: no fork server or worker lives on, multiprocessing's temporary
    folder is removed, and the results are complete."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", str(BASELINE), "--reps", "20000",
         "--workers", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)},
    )  # fmt: skip
    assert proc.wait(120) == 0, proc.communicate()
    assert survivors(proc.pid) == []
    assert list(temp.iterdir()) == []
    manifest = (out / "manifest.json").read_text()
    assert '"status": "complete"' in manifest and (out / "report.html").exists()
    assert not Path(out / "chunks").exists()


def test_a_profiled_command_still_writes_its_profile(tmp_path):
    """Under cProfile the command exits the usual way, so the profile gets written."""
    out = tmp_path / "cli.prof"
    cmd = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(out),
        "-m",
        "sim.cli",
        "validate",
        str(BASELINE),
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0


def test_the_fork_servers_quick_end_applies_only_in_the_fork_server():
    """Imported anywhere else, sim.fork_server leaves the process's exit code alone."""
    probe = "import sim.fork_server; raise SystemExit(3)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert subprocess.run([sys.executable, "-c", probe], env=env).returncode == 3
