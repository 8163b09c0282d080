"""What the workers' fork server runs as it starts (multiprocessing imports this module there;
nothing else should): it loads the compiled kernels once, so every worker forked from it starts
with them, and it lets the server end without tearing its interpreter down."""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
LANES = 16


def warm() -> bool:
    """Simulate LANES lanes of the bundled baseline: its first chunk otherwise costs each worker
    about 0.25 s of loading. False if that failed, which costs only that (the fork server must
    not die of it)."""
    from sim.ensemble import run_chunk
    from sim.loader import load_scenario

    try:
        run_chunk(load_scenario(BASELINE), 0, LANES, 0)
    except Exception:  # e.g. installed without the repo's scenarios/: workers load the code
        return False
    return True


def end_at_once(server: int) -> None:
    """Exit handler: the server ends when negsim does, and tearing down an interpreter that has
    loaded mesa and numba takes 0.4 s of CPU after the run (its workers exit on their own)."""
    if os.getpid() == server:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def in_fork_server() -> bool:
    """Is this module being imported by multiprocessing's fork server (its preload)? Anywhere
    else a process's own exit, and its exit code, are left alone."""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_globals.get("__name__") == "multiprocessing.forkserver":
            return True
        frame = frame.f_back
    return False


warm()
if in_fork_server():
    atexit.register(end_at_once, os.getpid())
