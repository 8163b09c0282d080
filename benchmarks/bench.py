"""Benchmark of negsim against the targets of issue 18: one row per figure, measured vs target.

Rows (pick with --only, comma-separated; all by default):

    per-core   reps/s per core simulating the full baseline at 10^5 and 10^6 in one process
    parallel   `negsim run --reps 1000000` on --workers 2 against --workers 1 (speed-up)
    memory     peak memory of that 10^6 run, resident memory summed over all its processes
    sweep      a 10^7-replication Sobol sweep on 2 cores (packed), extrapolated from --sweep-reps
               unless that is 10^7 itself
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
FULL = {  # sizes of each row: the targets'; --quick: small enough for a smoke test
    "per_core": [10**5, 10**6],
    "run": 10**6,
    "pairs": 3,  # 1- and 2-worker runs of the parallel row, alternating
    "sweep": 100_000,  # 64 base samples: 76,800 replications measured
    "peer": (10**5, 200, 7),  # negsim lanes, NegMAS negotiations, alternating rounds
    "help": 9,
}
QUICK = {
    "per_core": [10**4],
    "run": 20_000,
    "pairs": 1,
    "sweep": 1_200,
    "peer": (10**4, 10, 1),
    "help": 3,
}


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
    """Peak memory of a process and its descendants, summed: resident memory every 0.1 s,
    proportional memory every second.

    Two sums: resident memory (RSS), which counts pages the forked workers share with their
    parent once per process, so it overstates; and proportional memory (PSS), which splits
    shared pages between the processes that share them, so it adds up to what they use.
    Sampling must stay cheap, or it slows what it measures on a 2-core machine: reading every
    process's PSS (its page map) 20 times a second took 38% of a core from the workers.
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = {"rss": 0, "pss": 0, "largest": 0}
        self.own_cpu = time.thread_time  # the sampler's own CPU seconds, reported by `stop`
        self.spent = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        start = self.own_cpu()
        tree: list[psutil.Process] = []
        listed = pss_at = 0.0
        while not self.done.wait(0.1):
            now = time.monotonic()
            try:
                if now - listed >= 0.5:  # new workers are found within half a second
                    tree, listed = [self.root, *self.root.children(True)], now
                rss = [p.memory_info().rss for p in tree]
                if now - pss_at >= 1.0:
                    info = [p.memory_full_info() for p in tree]
                    pss = sum(getattr(m, "pss", m.rss) for m in info)  # PSS is Linux-only
                    self.peak["pss"], pss_at = max(self.peak["pss"], pss), now
            except psutil.Error:
                listed = 0.0  # a process ended while sampling: list the tree again
                continue
            self.peak["rss"] = max(self.peak["rss"], sum(rss))
            self.peak["largest"] = max(self.peak["largest"], max(rss))
        self.spent = self.own_cpu() - start

    def stop(self) -> dict[str, float]:
        """Stop sampling; the peaks in MB: rss and pss of the tree, rss of the largest process."""
        self.done.set()
        self.thread.join()
        return {**{key: value / 2**20 for key, value in self.peak.items()}, "sampler": self.spent}


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
    peak = memory.stop()
    wall = time.perf_counter() - wall
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-6:])} failed: {err.strip()[-500:]}")
    return {"wall": wall, **peak}


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
        f" peak {run['rss']:,.0f} MB RSS all processes ({run['pss']:,.0f} MB PSS),"
        f" {run['largest']:,.0f} MB largest; the memory sampler used {run['sampler']:.2f} CPU-s"
    )
    return {**run, "simulate": seconds.get("simulate")}


def paired_runs(reps: int, pairs: int) -> list[tuple[dict, dict]]:
    """`pairs` pairs of a 1- and a 2-worker run, which goes first alternating, so a load that
    drifts over the minutes weighs on both sides alike."""
    found = []
    for k in range(pairs):
        runs = {w: negsim_run(reps, w) for w in ((1, 2) if k % 2 == 0 else (2, 1))}
        found.append((runs[1], runs[2]))
    return found


def parallel_row(reps: int, pairs: list[tuple[dict, dict]]) -> Row:
    """Speed-up of 2 workers over 1 on the whole run (wall time): the median over the pairs,
    with their range and the simulate part's speed-up in the note."""
    ratios = sorted(one["wall"] / two["wall"] for one, two in pairs)
    speedup = statistics.median(ratios)
    walls = "; ".join(f"{one['wall']:.1f} s vs {two['wall']:.1f} s" for one, two in pairs)
    note = (
        f"{reps:,} reps; median of {len(pairs)} pairs ({ratios[0]:.2f}x-{ratios[-1]:.2f}x: {walls})"
    )
    parts = [
        one["simulate"] / two["simulate"]
        for one, two in pairs
        if one["simulate"] and two["simulate"]
    ]
    if parts:
        note += f"; simulate part alone {statistics.median(parts):.2f}x"
    return Row(
        "negsim run, 2 workers vs 1 (speed-up)",
        f"{speedup:.2f}x",
        f">= {TARGET_SPEEDUP:.1f}x",
        verdict(speedup >= TARGET_SPEEDUP),
        note,
    )


def memory_row(reps: int, runs: list[dict]) -> Row:
    """Peak memory of the `negsim run`s made, all processes of one run together: judged on the
    RSS sum (an upper bound), with the PSS sum (shared pages split) beside it."""
    rss, pss = max(r["rss"] for r in runs), max(r["pss"] for r in runs)
    return Row(
        f"peak memory, {reps:,} reps, all processes",
        f"{rss:,.0f} MB",
        f"< {TARGET_MB:,} MB",
        verdict(rss < TARGET_MB),
        f"RSS summed over the process tree (shared pages once per process); PSS sum {pss:,.0f} MB"
        f"{'; the largest of the 1- and 2-worker runs' if len(runs) > 1 else ''}",
    )


def sobol_sweep(samples: int, extra: list[str]) -> float:
    """Wall seconds of `negsim sweep` of the baseline's Sobol file on 2 workers, `samples` base
    samples at SWEEP_REPS_PER_POINT replications a point."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [*negsim_command(), "sweep", str(SOBOL), "--samples", str(samples)]
        cmd += ["--reps", str(SWEEP_REPS_PER_POINT), "--workers", "2", "--out", f"{tmp}/sweep"]
        return timed([*cmd, *extra])["wall"]


def sweep_row(total: int, extra: list[str]) -> Row:
    """A Sobol sweep of the baseline on 2 workers at about `total` replications, extrapolated
    to 10^7.

    The design has the target's shape (6 parameters, 150 replications a point); the base
    sample is the largest power of two that fits in `total`. A second sweep at a quarter of
    that size separates the fixed cost (start-up, pool, report) from the cost per
    replication, and the line through the two gives the 10^7 figure.
    """
    per_base = (6 + 2) * SWEEP_REPS_PER_POINT  # Saltelli points per base sample, no 2nd order
    samples = 1 << max(0, (max(total, per_base) // per_base).bit_length() - 1)
    sizes = sorted({max(1, samples // 4), samples})
    walls = [sobol_sweep(n, extra) for n in sizes]
    for n, wall in zip(sizes, walls, strict=True):
        reps = n * per_base
        say(
            f"sweep: {n} base samples x 8 points x {SWEEP_REPS_PER_POINT} = {reps:,} reps"
            f" on 2 workers in {wall:.1f} s ({reps / wall:,.0f} reps/s)"
            + (f", options {' '.join(extra)}" if extra else "")
        )
    measured = sizes[-1] * per_base
    if measured >= 0.95 * SWEEP_TOTAL:  # the target's size itself: no extrapolation
        return Row(
            f"Sobol sweep of {measured:,} reps, 2 cores",
            f"{walls[-1]:,.0f} s",
            f"< {TARGET_SWEEP_S:.0f} s",
            verdict(walls[-1] < TARGET_SWEEP_S),
            f"{measured / walls[-1]:,.0f} reps/s"
            + (f", options {' '.join(extra)}" if extra else ""),
        )
    if len(sizes) == 2:
        slope = (walls[1] - walls[0]) / ((sizes[1] - sizes[0]) * per_base)
        fixed = max(0.0, walls[1] - slope * sizes[1] * per_base)
        how = (
            f"fit on {sizes[0] * per_base:,} and {sizes[1] * per_base:,} reps: {fixed:.1f} s fixed"
        )
    else:  # one size only: proportional, fixed cost included (an overestimate)
        slope, fixed = walls[0] / (sizes[0] * per_base), 0.0
        how = f"{walls[0]:.1f} s for {sizes[0] * per_base:,} reps scaled"
    scaled = fixed + slope * SWEEP_TOTAL
    return Row(
        "Sobol sweep of 10^7 reps, 2 cores (EXTRAPOLATED)",
        f"{scaled:,.0f} s",
        f"< {TARGET_SWEEP_S:.0f} s",
        verdict(scaled < TARGET_SWEEP_S),
        f"{how} + {slope * 1e6:,.0f} us/rep",
    )


def negmas_peer(negotiations: int, seed: int) -> dict:
    """Run the NegMAS script in a child process (same interpreter); its JSON line."""
    cmd = [sys.executable, str(PEER_SCRIPT), "--n", str(negotiations), "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{PEER_SCRIPT.name} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pooled(peers: list[dict], key: str) -> float:
    """Mean of a NegMAS outcome over every agreement of every round."""
    agreed = [p["agreement_rate"] * p["negotiations"] for p in peers]
    total = sum(n * p[key] for n, p in zip(agreed, peers, strict=True) if n)
    return total / sum(agreed) if sum(agreed) else float("nan")


def peer_row(reps: int, negotiations: int, rounds: int) -> Row:
    """negsim replications per second against NegMAS negotiations per second, one core each,
    with both sides' outcomes printed so the ratio compares like with like.

    The two alternate for `rounds` rounds, so a change of load on a shared machine hits both;
    the ratio is the median of the rounds' ratios. NegMAS draws new reservations each round.
    """
    if importlib.util.find_spec("negmas") is None:
        say("peer: NegMAS is not installed here; pip install -e '.[bench]' to run this row")
        return Row(
            "peer ratio, negsim / NegMAS per negotiation",
            "-",
            f">= {TARGET_RATIO:,.0f}x",
            "skip",
            "NegMAS not installed (the bench extra)",
        )
    import numpy as np

    ratios, cpu_ratios, peers = [], [], []
    for k in range(rounds):
        wall, cpu, lanes = simulate(PEER_SCENARIO, reps)
        peers.append(negmas_peer(negotiations, seed=2009 + k))
        ours, theirs = reps / wall, peers[-1]["rate"]
        ratios.append(ours / theirs)
        cpu_ratios.append(reps / cpu / (negotiations / peers[-1]["cpu_seconds"]))
        say(
            f"peer round {k + 1}: negsim {ours:,.0f} reps/s ({reps:,} in {wall:.2f} s),"
            f" NegMAS {peers[-1]['negmas']} {theirs:,.1f} negotiations/s ({negotiations:,}"
            f" in {peers[-1]['seconds']:.2f} s): {ratios[-1]:,.0f}x"
        )
    agreed = lanes["agreed"]
    done = sum(p["negotiations"] for p in peers)
    rate = sum(p["agreement_rate"] * p["negotiations"] for p in peers) / done

    def mean(values: np.ndarray) -> float:
        return float(values[agreed].mean()) if agreed.any() else float("nan")

    say(f"peer: {'outcome':<34} {f'negsim ({reps:,})':>16} {f'NegMAS ({done:,})':>16}")
    pairs = [
        ("agreement rate", agreed.mean(), rate),
        (
            "mean step of agreement (0-based)",
            mean(lanes["agreed_week"]),
            pooled(peers, "mean_step"),
        ),
        (
            "mean agreed utility, first mover",
            mean(lanes["utility_russia"]),
            pooled(peers, "mean_utility_russia"),
        ),
        (
            "mean agreed utility, second mover",
            mean(lanes["utility_us"]),
            pooled(peers, "mean_utility_us"),
        ),
    ]
    for label, a, b in pairs:
        say(f"peer: {label:<34} {a:>16.3f} {b:>16.3f}")
    say(f"peer: NegMAS agreement rate +- {np.sqrt(rate * (1 - rate) / done):.3f} (1 s.e.)")
    say(
        "peer: known difference: NegMAS's time (step + 1) / (steps + 1) ends at 30/31, so its"
        " last aspiration is still 12% of the way above the reservation (agreement when"
        " r1 + r2 <= 0.86: 0.84 in closed form); negsim's parties accept at next week's target,"
        " the reservation itself in week 29 (0.90 in closed form)"
    )
    ratio = statistics.median(ratios)
    return Row(
        "peer ratio, negsim / NegMAS per negotiation",
        f"{ratio:,.0f}x",
        f">= {TARGET_RATIO:,.0f}x",
        verdict(ratio >= TARGET_RATIO),
        f"median of {rounds} rounds, range {min(ratios):,.0f}-{max(ratios):,.0f}x;"
        f" per CPU-second {statistics.median(cpu_ratios):,.0f}x",
    )


def help_row(repeats: int) -> Row:
    """Median wall time of `negsim --help` over `repeats` runs, and its median CPU time."""
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    times, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), children_cpu()
        subprocess.run([*negsim_command(), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu)
    median = statistics.median(times)
    return Row(
        "negsim --help start-up",
        f"{median:.3f} s",
        f"< {TARGET_HELP_S} s",
        verdict(median < TARGET_HELP_S),
        f"median of {repeats}, range {min(times):.3f}-{max(times):.3f} s;"
        f" CPU {statistics.median(cpus):.3f} s",
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
    print(
        f"negsim benchmark{' (quick: small sizes, not the targets)' if args.quick else ''}:"
        f" {os.cpu_count()} cores, load {load_average()}, Python {platform.python_version()}"
    )
    rows: list[Row] = []

    def attempt(name: str, figure: str, target: str, make: Callable[[], list[Row]]) -> None:
        """Run one row; a failure becomes a row of its own instead of ending the benchmark.
        Files the rows before wrote (a 10^7 sweep's, say) are flushed to disk first, not while
        this row is timed."""
        print(f"[{name}]", flush=True)
        os.sync()
        try:
            rows.extend(make())
        except Exception as err:  # a broken row must not hide the others' figures
            say(f"{name}: failed: {err}")
            rows.append(Row(figure, "-", target, "error", str(err).splitlines()[0][:80]))

    size = QUICK if args.quick else FULL
    if "per-core" in args.rows:
        target = f">= {TARGET_PER_CORE:,}"
        attempt("per-core", "reps/s per core", target, lambda: per_core_rows(size["per_core"]))
    if "parallel" in args.rows or "memory" in args.rows:
        reps = size["run"]

        def full_runs() -> list[Row]:
            if "parallel" not in args.rows:
                return [memory_row(reps, [negsim_run(reps, 2)])]
            pairs = paired_runs(reps, size["pairs"])
            out = [parallel_row(reps, pairs)]
            if "memory" in args.rows:
                out.append(memory_row(reps, [run for pair in pairs for run in pair]))
            return out

        attempt("parallel/memory", f"negsim run --reps {reps:,}", "-", full_runs)
    if "sweep" in args.rows:
        total = args.sweep_reps or size["sweep"]
        target = f"< {TARGET_SWEEP_S:.0f} s"
        attempt(
            "sweep",
            "Sobol sweep of 10^7 reps",
            target,
            lambda: [sweep_row(total, args.sweep_option or ["--packed"])],
        )
    if "peer" in args.rows:
        target = f">= {TARGET_RATIO:,.0f}x"
        attempt("peer", "peer ratio", target, lambda: [peer_row(*size["peer"])])
    if "help" in args.rows:
        target = f"< {TARGET_HELP_S} s"
        attempt("help", "negsim --help start-up", target, lambda: [help_row(size["help"])])
    print_table(rows)


if __name__ == "__main__":
    main()
