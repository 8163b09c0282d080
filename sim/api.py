"""negsim from Python, for notebooks: `load_scenario`, `run`, `compare` and `sweep` write the same
results folders as the commands and hand back pandas frames with the folder's path.

    from sim import load_scenario, run, compare
    scenario = load_scenario("scenarios/baseline.yaml", reps=500)
    result = run(scenario)
    result.summary.loc["p_agree_before_deadline", ["estimate", "low", "high"]]
    compare("scenarios/baseline.yaml", "scenarios/no_linkage.yaml", reps=500).table
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim import loader, store
from sim.outcomes import summary_frame
from sim.scenario import Scenario

Source = str | Path | Scenario  # a scenario file, or a scenario already loaded


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] = (),
    *,
    reps: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """A scenario file with `extends:` followed and `dotted.path=value` overrides applied."""
    return loader.load_scenario(path, _sets(overrides, reps, seed))


@dataclass
class Run:
    """A finished run: its results folder and the tables in it, read when first asked for."""

    folder: Path

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario the run simulated (its scenario.yaml)."""
        return loader.load_scenario(self.folder / "scenario.yaml")

    @property
    def runs(self) -> pd.DataFrame:
        """One row per lane: inputs drawn, outcome, dates, package, utilities, votes."""
        return pd.read_parquet(self.folder / "runs.parquet")

    @property
    def timeline(self) -> pd.DataFrame:
        """One row per week: agreement probability and offer quantiles per party and issue."""
        return pd.read_parquet(self.folder / "timeline.parquet")

    @property
    def events(self) -> pd.DataFrame:
        """Each event's effect forced on against off, per headline share."""
        return pd.read_parquet(self.folder / "events.parquet")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per headline measure (indexed by key): label, kind, estimate, 95% interval."""
        return summary_frame(self.runs, self.scenario)

    @property
    def summary_json(self) -> dict:
        """summary.json as written by the run."""
        return json.loads((self.folder / "summary.json").read_text())


def run(
    scenario: Source,
    out: str | Path | None = None,
    *,
    reps: int | None = None,
    seed: int | None = None,
    overrides: Iterable[str] = (),
    workers: int = 1,
) -> Run:
    """Simulate a scenario into a new results folder (default: results/NAME-DATE-TIME)."""
    from sim.run import run_scenario

    scn = _scenario(scenario, overrides, reps, seed)
    folder = Path(out) if out is not None else store.default_folder(scn.name)
    run_scenario(scn, folder, workers=workers)
    return Run(folder)


@dataclass
class Comparison:
    """A finished comparison: its folder, its table and each compared run."""

    folder: Path
    runs: dict[str, Run]

    @property
    def table(self) -> pd.DataFrame:
        """comparison.json: one row per measure and scenario, with the difference to the first."""
        return pd.DataFrame(json.loads((self.folder / "comparison.json").read_text()))


def compare(
    *inputs: str | Path,
    out: str | Path | None = None,
    reps: int | None = None,
    seed: int | None = None,
    overrides: Iterable[str] = (),
    workers: int = 1,
) -> Comparison:
    """Compare scenario files and/or finished results folders, run with one seed."""
    from sim.compare import compare as figures_of
    from sim.compare import gather, write_table
    from sim.compare_report import write_comparison_report

    folder = Path(out) if out is not None else store.default_folder("compare")
    sets = _sets(overrides, reps, seed)
    entries = gather([Path(i) for i in inputs], folder, overrides=sets, workers=workers)
    figures = figures_of(entries)
    write_table(folder, figures)
    write_comparison_report(folder, entries, figures)
    return Comparison(folder, {e.name: Run(e.folder) for e in entries})


@dataclass
class Sweep:
    """A finished sweep: its folder, one row per design point, and the points' own runs."""

    folder: Path

    @property
    def table(self) -> pd.DataFrame:
        """sweep.parquet: each point's parameters and headline outputs with 95% intervals."""
        return pd.read_parquet(self.folder / "sweep.parquet")

    @property
    def design(self) -> pd.DataFrame:
        """design.parquet: the parameter values of every point."""
        return pd.read_parquet(self.folder / "design.parquet")

    def point_runs(self, point: int) -> pd.DataFrame:
        """One design point's runs table (one row per lane)."""
        return pd.read_parquet(self.folder / "points" / f"{point:05d}" / "runs.parquet")


def sweep(
    scenario: Source,
    params: Iterable[str],
    out: str | Path | None = None,
    *,
    method: str = "grid",
    samples: int = 64,
    reps: int | None = None,
    seed: int | None = None,
    overrides: Iterable[str] = (),
    workers: int = 1,
) -> Sweep:
    """Sweep parameters (`PATH=lo:hi:n`, `PATH=a,b,c`) of a scenario over a design."""
    from sim.designs import parse_param
    from sim.executors import open_pool
    from sim.sweep import lay_out_sweep, plan_sweep, run_sweep

    scn = _scenario(scenario, overrides, reps, seed)
    plan = plan_sweep(scn, [parse_param(p) for p in params], method=method, samples=samples)
    folder = Path(out) if out is not None else store.default_folder(f"sweep-{scn.name}")
    with open_pool(workers) as pool, store.new_folder(folder):
        lay_out_sweep(plan, folder)
        run_sweep(folder, pool)
    return Sweep(folder)


def _scenario(
    scenario: Source, overrides: Iterable[str], reps: int | None, seed: int | None
) -> Scenario:
    """A loaded scenario, with the overrides, replications and seed applied to a file or to a
    scenario already loaded."""
    from sim.explain import with_overrides

    sets = _sets(overrides, reps, seed)
    if not isinstance(scenario, Scenario):
        return loader.load_scenario(scenario, sets)
    return with_overrides(scenario, tuple(sets)) if sets else scenario


def _sets(overrides: Iterable[str], reps: int | None, seed: int | None) -> list[str]:
    """`dotted.path=value` overrides with --reps and --seed as the command line adds them."""
    found = [*overrides]
    found += [f"replications={reps}"] if reps is not None else []
    return found + ([f"seed={seed}"] if seed is not None else [])
