"""Warm-up imported by the workers' fork server: one tiny chunk of the bundled baseline loads
the compiled kernels' machine code there once, so every worker forked from it starts with it
instead of spending about 0.25 s on it in its first chunk."""

from __future__ import annotations

from pathlib import Path

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
LANES = 16


def warm() -> bool:
    """Simulate LANES lanes of the baseline; False if that failed, which costs only the cold
    start (the fork server must not die of it: it imports this module for the pool)."""
    from sim.ensemble import run_chunk
    from sim.loader import load_scenario

    try:
        run_chunk(load_scenario(BASELINE), 0, LANES, 0)
    except Exception:  # e.g. installed without the repo's scenarios/: workers load the code
        return False
    return True


warm()
