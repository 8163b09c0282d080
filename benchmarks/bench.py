"""Benchmark of negsim on the full baseline scenario: lanes throughput, memory, loop ratio, start-up.

Prints replications per second per core at 10^3 .. 10^6 replications (10^6 through the real
`negsim run`, with its peak memory), the same model run one lane at a time in a plain loop, and
the start-up time of `negsim --help`. Run from the repository root:

    .venv/bin/python benchmarks/bench.py                # everything (about two minutes on 2 cores)
    .venv/bin/python benchmarks/bench.py --max-reps 100000   # skip the 10^6 run
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TARGETS = {"per_core_1e5": 30_000, "rss_mb_1e6": 1024, "ratio": 50, "help_s": 0.5}


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (pool workers, subprocesses)."""
    own, kids = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def lanes_throughput(scenario, reps: int, workers: int) -> dict:
    """Simulate `reps` lanes in chunks over a fresh local pool; wall and CPU time, pool start included."""
    from sim.ensemble import chunk_sizes, make_executor, run_chunks

    chunks = len(chunk_sizes(reps))
    cores = min(workers, chunks)
    wall, cpu = time.perf_counter(), cpu_seconds()
    executor = make_executor(workers, chunks)
    try:
        for _ in run_chunks(scenario, reps, scenario.seed, executor):
            pass
    finally:
        if executor is not None:
            executor.shutdown()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"reps": reps, "cores": cores, "wall": wall, "per_core": reps / wall / cores, "cpu": cpu}


def one_lane_loop(scenario, reps: int) -> dict:
    """The same model run one replication at a time: a plain loop of one-lane models."""
    from sim.ensemble import chunk_seed
    from sim.model import NegotiationModel

    wall = time.perf_counter()
    for i in range(reps):
        NegotiationModel(scenario, 1, chunk_seed(scenario.seed, i)).run()
    wall = time.perf_counter() - wall
    return {"reps": reps, "wall": wall, "rate": reps / wall}


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_total = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.05):
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    total += proc.memory_info().rss
            except psutil.Error:
                continue  # a worker ended while sampling: the next sample counts it right
            self.peak_total = max(self.peak_total, total)

    def stop(self) -> int:
        """Stop sampling; peak total in bytes."""
        self.done.set()
        self.thread.join()
        return self.peak_total


def negsim_command() -> list[str]:
    """The installed `negsim` console script beside this Python, or `python -m sim.cli`."""
    script = Path(sys.executable).parent / "negsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def full_run(reps: int, workers: int) -> dict:
    """`negsim run` of the baseline as a user runs it; wall time, the simulate share, peak memory."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [*negsim_command(), "run", str(BASELINE), "--reps", str(reps)]
        cmd += ["--workers", str(workers), "--out", str(out)]
        wall = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        memory = TreeMemory(proc.pid)
        _, err = proc.communicate()
        tree = memory.stop()
        wall = time.perf_counter() - wall
        if proc.returncode != 0:
            raise SystemExit(f"negsim run failed: {err.strip()}")
        seconds = json.loads((out / "manifest.json").read_text())["seconds"]
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    simulate = seconds["simulate"]
    return {
        "reps": reps,
        "cores": workers,
        "wall": wall,
        "simulate": simulate,
        "per_core": reps / simulate / workers,
        "tree_mb": tree / 2**20,
        "largest_mb": largest / 2**20,
    }


def startup(repeats: int = 5) -> float:
    """Median wall time of `negsim --help`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([*negsim_command(), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    """Run every measurement and print the figures against the targets of issue 5."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-reps", type=int, default=1_000_000, help="largest ensemble size")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument(
        "--loop-reps", type=int, default=200, help="replications of the 1-lane loop"
    )
    args = parser.parse_args()
    sizes = [n for n in (10**3, 10**4, 10**5, 10**6) if n <= args.max_reps]
    print(
        f"negsim benchmark: {BASELINE.relative_to(ROOT)}, {args.workers} workers, numpy {np.__version__}"
    )

    # 10^6 first: the children's peak RSS then belongs to this run alone
    big = full_run(10**6, args.workers) if 10**6 in sizes else None

    from sim.loader import load_scenario

    scenario = load_scenario(BASELINE)
    print("\nlanes engine (chunks of 10,000 lanes; wall time incl. pool start)")
    print(f"{'replications':>13} {'cores':>5} {'wall s':>8} {'reps/s/core':>12} {'cpu s':>7}")
    rows = [lanes_throughput(scenario, n, args.workers) for n in sizes if n < 10**6]
    for r in rows:
        print(
            f"{r['reps']:>13,} {r['cores']:>5} {r['wall']:>8.2f} {r['per_core']:>12,.0f} {r['cpu']:>7.2f}"
        )
    if big is not None:
        print(
            f"{big['reps']:>13,} {big['cores']:>5} {big['simulate']:>8.2f} {big['per_core']:>12,.0f}"
            f"       (negsim run: simulate part; {big['wall']:.1f} s with summary and report)"
        )
        print(
            f"  peak memory of negsim run: {big['tree_mb']:,.0f} MB all processes together, "
            f"{big['largest_mb']:,.0f} MB largest single process"
        )

    single = lanes_throughput(scenario, 10**4, 1)
    loop = one_lane_loop(scenario, args.loop_reps)
    ratio = single["per_core"] / loop["rate"]
    print("\none lane at a time (plain loop of 1-lane models, one core)")
    print(
        f"  loop: {loop['reps']} replications in {loop['wall']:.2f} s = {loop['rate']:,.0f} reps/s"
    )
    print(f"  lanes: 10,000 replications on one core = {single['per_core']:,.0f} reps/s")
    print(f"  lanes / loop = {ratio:,.0f}x")

    help_s = startup()
    print(f"\nstart-up: negsim --help {help_s:.2f} s (median of 5)")

    print("\ntargets")
    at_1e5 = next((r for r in rows if r["reps"] == 10**5), None)
    if at_1e5 is not None:
        ok = at_1e5["per_core"] >= TARGETS["per_core_1e5"]
        print(f"  >= 30,000 reps/s/core at 10^5: {at_1e5['per_core']:,.0f}  {verdict(ok)}")
    if big is not None:
        ok = big["tree_mb"] < TARGETS["rss_mb_1e6"]
        print(f"  10^6 in one negsim run under 1 GB: {big['tree_mb']:,.0f} MB  {verdict(ok)}")
    print(f"  lanes >= 50x the loop: {ratio:,.0f}x  {verdict(ratio >= TARGETS['ratio'])}")
    print(f"  negsim --help < 0.5 s: {help_s:.2f} s  {verdict(help_s < TARGETS['help_s'])}")


if __name__ == "__main__":
    main()
