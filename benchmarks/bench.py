"""Benchmark of negsim on the full baseline scenario: lanes throughput, memory, loop ratio, start-up.

Prints replications per second per core at 10^3 .. 10^6 replications (10^6 through the real
`negsim run`, with its peak memory), the same model run one lane at a time in a plain loop, and
the start-up time of `negsim --help`. Run from the repository root:

    .venv/bin/python benchmarks/bench.py                     # everything (a few minutes)
    .venv/bin/python benchmarks/bench.py --max-reps 100000   # skip the 10^6 run

Two speeds per row: reps/s/core divides by wall time and the cores used, as a user sees it;
reps per CPU-second divides by the CPU time of every process involved, which stays meaningful
when other programs share the machine (the load average is printed for that reason).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TARGET_PER_CORE, TARGET_MB, TARGET_RATIO, TARGET_HELP_S = 30_000, 1024, 50, 0.5


def cpu_seconds() -> float:
    """CPU time of this process and of every process it started, finished or alive.

    Pool workers are children of a fork server, so their time shows in its children's share.
    """

    def spent(proc: psutil.Process) -> float:
        t = proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    me = psutil.Process()
    total = spent(me)
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += spent(child)
    return total


def lanes_throughput(scenario, reps: int, workers: int) -> dict:
    """Simulate `reps` lanes in 10,000-lane chunks, over a fresh local pool if workers > 1."""
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
    from sim.model import NegotiationModel

    wall = time.perf_counter()
    for i in range(reps):
        NegotiationModel(scenario, 1, scenario.seed, first_lane=i).run()
    wall = time.perf_counter() - wall
    return {"reps": reps, "wall": wall, "rate": reps / wall}


class TreeMemory:
    """Peak resident memory of a process and all its descendants together, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
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
                continue  # a worker ended while sampling: the next sample counts right
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        """Stop sampling; the peak in bytes."""
        self.done.set()
        self.thread.join()
        return self.peak


def negsim_command() -> list[str]:
    """The installed `negsim` console script beside this Python, or `python -m sim.cli`."""
    script = Path(sys.executable).parent / "negsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def full_run(reps: int, workers: int) -> dict:
    """`negsim run` of the baseline as a user runs it: wall time, its simulate part, peak memory."""
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
    return {
        "reps": reps,
        "cores": workers,
        "wall": wall,
        "simulate": seconds["simulate"],
        "per_core": reps / seconds["simulate"] / workers,
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


def check(label: str, value: str, ok: bool) -> None:
    print(f"  {label}: {value}  {'meets target' if ok else 'MISSES target'}")


def main() -> None:
    """Run every measurement and print the figures against the targets of issue 5."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-reps", type=int, default=10**6, help="largest ensemble size")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pool size")
    parser.add_argument("--loop-reps", type=int, default=200, help="replications, 1-lane loop")
    args = parser.parse_args()
    sizes = [n for n in (10**3, 10**4, 10**5) if n <= args.max_reps]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"negsim benchmark: {BASELINE.relative_to(ROOT)}; {os.cpu_count()} cores, load {load}")

    # negsim runs first, so the children's peak RSS belongs to them alone
    runs = [full_run(n, args.workers) for n in (10**6, 10**5) if n <= args.max_reps]
    big = next((r for r in runs if r["reps"] == 10**6), None)

    from sim.loader import load_scenario

    scenario = load_scenario(BASELINE)
    rows = [{**lanes_throughput(scenario, n, 1), "how": "one process"} for n in sizes]
    if 10**5 in sizes and args.workers > 1:
        # the first pool starts the workers' fork server (imports the model); later pools reuse it
        for how in ("pool, cold start", "pool, server warm"):
            rows.append({**lanes_throughput(scenario, 10**5, args.workers), "how": how})
    print("\nlanes engine, chunks of 10,000 lanes")
    print(f"{'replications':>13} {'cores':>5} {'wall s':>7} {'reps/s/core':>12} {'reps/CPU-s':>11}")
    for r in rows:
        print(
            f"{r['reps']:>13,} {r['cores']:>5} {r['wall']:>7.2f} {r['per_core']:>12,.0f}"
            f" {r['reps'] / r['cpu']:>11,.0f}   {r['how']}"
        )
    print("through `negsim run` (wall s = its simulate part, from manifest.json)")
    for r in sorted(runs, key=lambda r: r["reps"]):
        print(
            f"{r['reps']:>13,} {r['cores']:>5} {r['simulate']:>7.2f} {r['per_core']:>12,.0f}"
            f"   ({r['wall']:.1f} s in all, with summary and report)"
        )
    if big is not None:
        print(
            f"  peak memory of that negsim run: {big['tree_mb']:,.0f} MB all its processes together,"
            f" {big['largest_mb']:,.0f} MB the largest one"
        )

    single = next(r for r in rows if r["reps"] == 10**4 and r["cores"] == 1)
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

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\ntargets (load average now {load})")
    for r in rows + runs:
        if r["reps"] == 10**5:
            how = "negsim run" if r in runs else r["how"]
            label = f"reps/s/core at 10^5, {how}, {r['cores']} core(s)"
            check(label, f"{r['per_core']:,.0f}", r["per_core"] >= TARGET_PER_CORE)
    if big is not None:
        check("10^6 in one negsim run", f"{big['tree_mb']:,.0f} MB", big["tree_mb"] < TARGET_MB)
    check("lanes / one-lane loop", f"{ratio:,.0f}x", ratio >= TARGET_RATIO)
    check("negsim --help", f"{help_s:.2f} s", help_s < TARGET_HELP_S)


if __name__ == "__main__":
    main()
