"""Benchmark of negsim against the targets of issue 18: one row per figure, measured vs target.

Rows (pick with --only, comma-separated; all by default):

    per-core   reps/s per core simulating the full baseline at 10^5 and 10^6 in one process
    parallel   `negsim run --reps 1000000` on --workers 2 against --workers 1 (speed-up)
    memory     peak memory of that 10^6 run, resident memory summed over all its processes
    sweep      a 10^7-replication Sobol sweep on 2 cores, extrapolated from --sweep-reps
    peer       negsim against NegMAS on benchmarks/peer/ (negotiations per second, ratio)
    help       start-up time of `negsim --help`

Run from the repository root (the full set takes a few minutes on 2 cores):

    .venv/bin/python benchmarks/bench.py
    .venv/bin/python benchmarks/bench.py --peer              # the peer row alone
    .venv/bin/python benchmarks/bench.py --only help,peer --quick

--quick runs every row at a small size, to check that the script works; its figures are not
the targets' sizes (each row says the size it ran). Timings are wall-clock on a machine that
may be shared: the load average is printed, and the one-process rows also give replications
per CPU-second, which other work on the machine disturbs less. No test asserts timings.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SOBOL = ROOT / "scenarios" / "sweeps" / "baseline_sobol.yaml"
PEER = ROOT / "benchmarks" / "peer"
PEER_SCENARIO = PEER / "boulware.yaml"
PEER_SCRIPT = PEER / "negmas_boulware.py"

TARGET_PER_CORE = 100_000  # replications per second per core
TARGET_SPEEDUP = 1.8  # 2 workers against 1: 90% parallel efficiency
TARGET_MB = 1024  # peak memory of 10^6 replications, all processes together
TARGET_SWEEP_S = 120.0  # 10^7-replication Sobol sweep on 2 cores
SWEEP_TOTAL = 10**7
SWEEP_REPS_PER_POINT = 150  # e.g. 2^13 base samples x 8 Saltelli points x 150 = 9.8 x 10^6
TARGET_RATIO = 1000.0  # negsim replications per NegMAS negotiation, one core each
TARGET_HELP_S = 0.3
ROWS = ("per-core", "parallel", "memory", "sweep", "peer", "help")


@dataclass
class Row:
    """One figure against its target; `result` is pass, MISS or skip."""

    figure: str
    measured: str
    target: str
    result: str
    note: str = ""


def verdict(ok: bool) -> str:
    """'pass' or 'MISS'."""
    return "pass" if ok else "MISS"


def say(text: str) -> None:
    """A progress or detail line, printed as the rows run."""
    print(f"  {text}", flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    """CPU time of this process and every process it started, finished or alive."""

    def spent(proc: psutil.Process) -> float:
        t = proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    me = psutil.Process()
    total = spent(me)
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += spent(child)
    return total


def simulate(scenario_path: Path, reps: int) -> tuple[float, float, dict]:
    """Simulate `reps` lanes of a scenario in this process (no pool, no files).

    Returns wall seconds, CPU seconds and the per-lane columns the peer row compares.
    """
    import numpy as np

    from sim.ensemble import run_chunks
    from sim.loader import load_scenario

    scenario = load_scenario(scenario_path)
    for _ in run_chunks(scenario, 1000, scenario.seed):  # warm-up: imports, first-call costs
        pass
    keep = ("agreed", "agreed_week", *(f"utility_{p}" for p in scenario.party_names()))
    columns: dict[str, list] = {k: [] for k in keep}
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _, chunk in run_chunks(scenario, reps, scenario.seed):
        for k in keep:
            columns[k].append(chunk.runs[k])
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return wall, cpu, {k: np.concatenate(v) for k, v in columns.items()}


def per_core_rows(sizes: list[int]) -> list[Row]:
    """Reps/s simulating the full baseline in one process, one row per size."""
    rows = []
    for reps in sizes:
        wall, cpu, _ = simulate(BASELINE, reps)
        rate = reps / wall
        say(f"per-core: {reps:,} baseline replications in {wall:.1f} s, {reps / cpu:,.0f}/CPU-s")
        rows.append(
            Row(
                f"reps/s per core, {reps:,} in one process",
                f"{rate:,.0f}",
                f">= {TARGET_PER_CORE:,}",
                verdict(rate >= TARGET_PER_CORE),
                f"{reps / cpu:,.0f} reps per CPU-second",
            )
        )
    return rows


class TreeMemory:
    """Peak resident memory of a process and its descendants, summed, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0  # the whole tree at once
        self.largest = 0  # one process alone
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.05):
            try:
                sizes = [p.memory_info().rss for p in [self.root, *self.root.children(True)]]
            except psutil.Error:
                continue  # a worker ended while sampling: the next sample counts right
            self.peak = max(self.peak, sum(sizes))
            self.largest = max(self.largest, *sizes)

    def stop(self) -> tuple[int, int]:
        """Stop sampling; the peaks (tree, largest process) in bytes."""
        self.done.set()
        self.thread.join()
        return self.peak, self.largest


def negsim_command() -> list[str]:
    """The installed `negsim` console script beside this Python, or `python -m sim.cli`."""
    script = Path(sys.executable).parent / "negsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def timed(cmd: list[str]) -> dict:
    """Run a command to its end: wall seconds and the peak memory of its process tree."""
    wall = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    _, err = proc.communicate()
    tree, largest = memory.stop()
    wall = time.perf_counter() - wall
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-6:])} failed: {err.strip()[-500:]}")
    return {"wall": wall, "tree_mb": tree / 2**20, "largest_mb": largest / 2**20}


def negsim_run(reps: int, workers: int) -> dict:
    """`negsim run` of the baseline as a user runs it (summary and report included)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [*negsim_command(), "run", str(BASELINE), "--reps", str(reps)]
        run = timed([*cmd, "--workers", str(workers), "--out", str(out)])
        seconds = json.loads((out / "manifest.json").read_text()).get("seconds", {})
    say(
        f"negsim run --reps {reps:,} --workers {workers}: {run['wall']:.1f} s"
        f" (simulate {seconds.get('simulate', float('nan')):.1f} s),"
        f" peak {run['tree_mb']:,.0f} MB all processes, {run['largest_mb']:,.0f} MB largest"
    )
    return {**run, "simulate": seconds.get("simulate")}


def parallel_row(reps: int, one: dict, two: dict) -> Row:
    """Speed-up of 2 workers over 1 on the whole run (wall time), simulate part in the note."""
    speedup = one["wall"] / two["wall"]
    note = f"{reps:,} reps; {one['wall']:.1f} s vs {two['wall']:.1f} s"
    if one["simulate"] and two["simulate"]:
        note += f"; simulate part alone {one['simulate'] / two['simulate']:.2f}x"
    return Row(
        "negsim run, 2 workers vs 1 (speed-up)",
        f"{speedup:.2f}x",
        f">= {TARGET_SPEEDUP:.1f}x",
        verdict(speedup >= TARGET_SPEEDUP),
        note,
    )


def memory_row(reps: int, runs: list[dict]) -> Row:
    """Peak memory of the `negsim run`s made, all processes of one run together (RSS)."""
    peak = max(r["tree_mb"] for r in runs)
    return Row(
        f"peak memory, {reps:,} reps, all processes",
        f"{peak:,.0f} MB",
        f"< {TARGET_MB:,} MB",
        verdict(peak < TARGET_MB),
        "RSS summed over the process tree (shared pages counted per process)",
    )


def sweep_row(total: int, extra: list[str]) -> Row:
    """A Sobol sweep of the baseline on 2 workers at about `total` replications, scaled to 10^7.

    The design is the target's shape (6 parameters, 150 replications a point) with the largest
    power-of-two base sample that fits in `total`; the wall time is scaled linearly by
    replications, which assumes the cost per point stays what it is at this size.
    """
    per_base = (6 + 2) * SWEEP_REPS_PER_POINT  # Saltelli points per base sample, without 2nd order
    samples = 1 << max(0, (max(total, per_base) // per_base).bit_length() - 1)
    reps = samples * per_base
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [*negsim_command(), "sweep", str(SOBOL), "--samples", str(samples)]
        cmd += ["--reps", str(SWEEP_REPS_PER_POINT), "--workers", "2", "--out", f"{tmp}/sweep"]
        run = timed([*cmd, *extra])
    scaled = run["wall"] * SWEEP_TOTAL / reps
    say(
        f"sweep: {samples} base samples x 8 points x {SWEEP_REPS_PER_POINT} = {reps:,} reps"
        f" on 2 workers in {run['wall']:.1f} s ({reps / run['wall']:,.0f} reps/s)"
        + (f", options {' '.join(extra)}" if extra else "")
    )
    return Row(
        "Sobol sweep of 10^7 reps, 2 cores (EXTRAPOLATED)",
        f"{scaled:,.0f} s",
        f"< {TARGET_SWEEP_S:.0f} s",
        verdict(scaled < TARGET_SWEEP_S),
        f"measured {run['wall']:.1f} s for {reps:,} reps, scaled x{SWEEP_TOTAL / reps:,.0f}",
    )


def negmas_peer(negotiations: int) -> dict:
    """Run the NegMAS script in a child process (same interpreter); its JSON line."""
    cmd = [sys.executable, str(PEER_SCRIPT), "--n", str(negotiations)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{PEER_SCRIPT.name} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peer_row(reps: int, negotiations: int) -> Row:
    """negsim replications per second against NegMAS negotiations per second, one core each,
    with both sides' outcomes printed so the ratio compares like with like."""
    if importlib.util.find_spec("negmas") is None:
        say("peer: NegMAS is not installed here; pip install -e '.[bench]' to run this row")
        return Row(
            "peer ratio, negsim / NegMAS",
            "-",
            f">= {TARGET_RATIO:,.0f}x",
            "skip",
            "NegMAS not installed (the bench extra)",
        )
    import numpy as np

    wall, _, lanes = simulate(PEER_SCENARIO, reps)
    ours = reps / wall
    peer = negmas_peer(negotiations)
    ratio = ours / peer["rate"]
    agreed = lanes["agreed"]

    def mean(values: np.ndarray) -> float:
        return float(values[agreed].mean()) if agreed.any() else float("nan")

    say(f"peer: negsim {reps:,} replications in {wall:.2f} s = {ours:,.0f} reps/s (one core)")
    say(
        f"peer: NegMAS {peer['negmas']} {negotiations:,} negotiations in {peer['seconds']:.2f} s"
        f" = {peer['rate']:,.1f} negotiations/s (one core)"
    )
    say(f"peer: {'outcome':<32} {'negsim':>8} {'NegMAS':>8}")
    pairs = [
        ("agreement rate", agreed.mean(), peer["agreement_rate"]),
        ("mean step of agreement (0-based)", mean(lanes["agreed_week"]), peer["mean_step"]),
        (
            "mean agreed utility, first mover",
            mean(lanes["utility_russia"]),
            peer["mean_utility_russia"],
        ),
        ("mean agreed utility, second", mean(lanes["utility_us"]), peer["mean_utility_us"]),
    ]
    for label, a, b in pairs:
        b = float("nan") if b is None else b
        say(f"peer: {label:<32} {a:>8.3f} {b:>8.3f}")
    return Row(
        "peer ratio, negsim / NegMAS per negotiation",
        f"{ratio:,.0f}x",
        f">= {TARGET_RATIO:,.0f}x",
        verdict(ratio >= TARGET_RATIO),
        f"{ours:,.0f} reps/s vs {peer['rate']:,.1f} negotiations/s",
    )


def help_row(repeats: int) -> Row:
    """Median wall time of `negsim --help` over `repeats` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([*negsim_command(), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return Row(
        "negsim --help start-up",
        f"{median:.3f} s",
        f"< {TARGET_HELP_S} s",
        verdict(median < TARGET_HELP_S),
        f"median of {repeats}, range {min(times):.3f}-{max(times):.3f} s",
    )


def print_table(rows: list[Row]) -> None:
    """The figures against their targets, one line each."""
    print(f"\nissue 18 targets (load average now {load_average()})")
    width = max(len(r.figure) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>14}  result  note")
    for r in rows:
        print(f"{r.figure:<{width}}  {r.measured:>12}  {r.target:>14}  {r.result:<6}  {r.note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated rows: {','.join(ROWS)} (default all)")
    parser.add_argument("--peer", action="store_true", help="the peer row alone (--only peer)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--sweep-reps", type=int, help="replications of the measured sweep")
    parser.add_argument(
        "--sweep-option",
        action="append",
        default=[],
        help="extra argument for `negsim sweep` (repeatable), e.g. a packing option",
    )
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(ROWS)
    if args.peer:
        chosen = [*dict.fromkeys([*chosen, "peer"])] if args.only else ["peer"]
    unknown = [r for r in chosen if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    args.rows = chosen
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the chosen rows and print each figure against its target."""
    args = parse_args(argv)
    quick = args.quick
    print(
        f"negsim benchmark{' (quick: small sizes, not the targets)' if quick else ''}:"
        f" {os.cpu_count()} cores, load {load_average()}, Python {platform.python_version()}"
    )
    rows: list[Row] = []

    def attempt(name: str, figure: str, target: str, make: Callable[[], list[Row]]) -> None:
        """Run one row; a failure becomes a row of its own instead of ending the benchmark."""
        print(f"[{name}]", flush=True)
        try:
            rows.extend(make())
        except Exception as err:  # a broken row must not hide the others' figures
            say(f"{name}: failed: {err}")
            rows.append(Row(figure, "-", target, "error", str(err).splitlines()[0][:80]))

    big = 10**5 if quick else 10**6
    if "per-core" in args.rows:
        sizes = [10**4] if quick else [10**5, 10**6]
        attempt(
            "per-core", "reps/s per core", f">= {TARGET_PER_CORE:,}", lambda: per_core_rows(sizes)
        )
    if "parallel" in args.rows or "memory" in args.rows:
        runs: dict[int, dict] = {}

        def full_runs() -> list[Row]:
            out = []
            for workers in (1, 2) if "parallel" in args.rows else (2,):
                runs[workers] = negsim_run(big, workers)
            if "parallel" in args.rows:
                out.append(parallel_row(big, runs[1], runs[2]))
            if "memory" in args.rows:
                out.append(memory_row(big, list(runs.values())))
            return out

        attempt("parallel/memory", f"negsim run --reps {big:,}", "-", full_runs)
    if "sweep" in args.rows:
        total = args.sweep_reps or (2_400 if quick else 100_000)
        attempt(
            "sweep",
            "Sobol sweep of 10^7 reps",
            f"< {TARGET_SWEEP_S:.0f} s",
            lambda: [sweep_row(total, args.sweep_option)],
        )
    if "peer" in args.rows:
        reps, negotiations = (10**4, 20) if quick else (10**5, 200)
        attempt(
            "peer", "peer ratio", f">= {TARGET_RATIO:,.0f}x", lambda: [peer_row(reps, negotiations)]
        )
    if "help" in args.rows:
        attempt(
            "help",
            "negsim --help start-up",
            f"< {TARGET_HELP_S} s",
            lambda: [help_row(3 if quick else 9)],
        )
    print_table(rows)


if __name__ == "__main__":
    main()
