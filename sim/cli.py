"""negsim command line: run, validate, schema. Heavy libraries load inside the commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate the 2009 US-Russia talks to replace START I, scenario by scenario.",
)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value: dotted.path=value (repeatable)."),
]


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2 (bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def load(path: Path, overrides: list[str] | None = None):
    """Load a scenario or exit 2 with the loader's one-line message."""
    from sim.loader import ScenarioError, load_scenario

    try:
        return load_scenario(path, overrides or [])
    except ScenarioError as err:
        fail(str(err))


@app.command()
def run(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario YAML file.")] = None,
    reps: Annotated[
        int | None, typer.Option(help="Replications (default: the scenario's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default: results/NAME-TIME).")
    ] = None,
    trace: Annotated[int, typer.Option(help="Keep week-by-week offers of this many lanes.")] = 0,
    workers: Annotated[int, typer.Option(help="Local worker processes (default: all cores).")] = 0,
    png: Annotated[
        bool, typer.Option("--png", help="Also save each figure as a PNG (needs Chromium).")
    ] = False,
    chunk: Annotated[
        int | None,
        typer.Option(
            help="Lanes per chunk (default 10,000): the unit saved and resumed; "
            "part of the seed, so keep it to reproduce a run."
        ),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted run in this results folder.")
    ] = None,
) -> None:
    """Run a Monte Carlo ensemble of a scenario and write a results folder with report.html."""
    check_workers(workers)
    if resume is not None:
        given = [scenario, reps, seed, set_, out, chunk, trace or None]
        if any(g is not None for g in given):
            fail("--resume DIR takes no scenario and no options but --workers and --png")
        _run(None, resume, 0, workers or os.cpu_count() or 1)
        if png:
            export_png(resume)
        return
    if scenario is None:
        fail("give a scenario file, or --resume DIR")
    overrides: list = list(set_ or [])
    if reps is not None:
        overrides.append((f"--reps {reps}", f"replications={reps}"))
    if seed is not None:
        overrides.append((f"--seed {seed}", f"seed={seed}"))
    scn = load(scenario, overrides)
    if trace < 0:
        fail("--trace must be 0 or more")
    if chunk is not None and not 1 <= chunk <= 1_000_000:
        fail(f"--chunk {chunk}: must be 1 to 1,000,000 lanes")
    from sim.ensemble import CHUNK_LANES
    from sim.store import default_folder

    check_trace(trace, min(scn.replications, chunk or CHUNK_LANES))
    folder = out or default_folder(scn.name)
    _run(scn, folder, trace, workers or os.cpu_count() or 1, chunk)
    if png:
        export_png(folder)


MAX_TRACE = 100  # traced lanes: each keeps every week's offers (about 250 kB on disk)


def check_workers(workers: int) -> None:
    """--workers is a count of processes: 0 (all cores) or more."""
    if workers < 0:
        fail(f"--workers {workers}: must be 0 (all cores) or more")


def check_trace(trace: int, first_chunk: int) -> None:
    """Traced lanes come from the first chunk, at most MAX_TRACE of them."""
    if trace > MAX_TRACE:
        fail(f"--trace {trace}: at most {MAX_TRACE} lanes can be traced")
    if trace > first_chunk:
        fail(f"--trace {trace}: more than the {first_chunk} lanes of the first chunk")


def export_png(folder: Path) -> None:
    """Screenshot each figure of folder/report.html into folder/figures; say why when we can't."""
    from sim.browser import BrowserUnavailable, export_figures

    try:
        files = export_figures(folder / "report.html", folder / "figures")
    except BrowserUnavailable as err:
        typer.echo(f"--png skipped: {err}; report.html is complete without it", err=True)
        return
    typer.echo(f"figures: {len(files)} PNG files in {folder / 'figures'}")


def _run(scn, folder: Path, trace: int, workers: int, chunk: int | None = None) -> None:
    """Run `scn` into `folder` (or, with no scenario, resume the run in `folder`)."""
    if workers > 1:
        from sim.executors import start_fork_server

        start_fork_server()  # the workers' model loads in the background meanwhile
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.ensemble import CHUNK_LANES
    from sim.interrupt import stop_on_signals
    from sim.loader import ScenarioError
    from sim.run import RunFailed, resume_run, run_scenario, unfinished_scenario
    from sim.store import DiskError, StoreError

    resuming = scn is None
    if resuming:
        try:
            scn = unfinished_scenario(folder)
        except StoreError as err:
            fail(str(err))
    console = Console()
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} lanes"),
        TimeRemainingColumn(),
    ]
    with stop_on_signals(), Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"simulating {scn.name}", total=scn.replications)

        def advance(lanes: int) -> None:
            progress.advance(task, lanes)

        def note(text: str) -> None:
            typer.echo(f"note: {text}", err=True)

        try:
            if resuming:
                summary = resume_run(
                    folder, workers=workers, command=sys.argv, on_chunk=advance, on_note=note
                )
            else:
                summary = run_scenario(
                    scn,
                    folder,
                    workers=workers,
                    trace=trace,
                    command=sys.argv,
                    on_chunk=advance,
                    chunk=chunk or CHUNK_LANES,
                )
        except (StoreError, ScenarioError) as err:
            fail(str(err))
        except (RunFailed, DiskError, KeyboardInterrupt) as err:
            progress.stop()
            stopped(folder, err)
    print_headline(console, scn, summary, folder)


def stopped(folder: Path, err: BaseException) -> None:
    """Say what stopped a run, what was kept and how to finish it; exit 1, or 128 + signal."""
    from sim.interrupt import ignore_further_signals
    from sim.run import chunks_on_disk

    ignore_further_signals()
    code = 128 + getattr(err, "signum", 2) if isinstance(err, KeyboardInterrupt) else 1
    if not (folder / "manifest.json").is_file():
        typer.echo(f"interrupted before the run started; nothing written in {folder}", err=True)
        end(code, err)
    try:
        total = json.loads((folder / "manifest.json").read_text())["chunks"]
    except (OSError, ValueError, KeyError):
        total = "?"
    kept = f"{chunks_on_disk(folder)} of {total} chunks kept in {folder}"
    if isinstance(err, KeyboardInterrupt):
        typer.echo(f"interrupted: {kept}", err=True)
    else:
        typer.echo(f"error: {err}; {kept}", err=True)
    typer.echo(f"finish with: negsim run --resume {folder}", err=True)
    end(code, err)


def end(code: int, err: BaseException | None = None) -> None:
    """Exit with `code`; at once after a signal or if a worker pool was stopped mid-flight: every
    file is written atomically, so nothing is lost, while a further Ctrl-C could cut a slow exit
    short with a traceback and interpreter exit could wait forever on the pool."""
    from sim.executors import stopped_mid_flight
    from sim.interrupt import Interrupted

    if isinstance(err, Interrupted) or stopped_mid_flight():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code=code)


def print_headline(console, scn, summary: dict, folder: Path) -> None:
    """The headline table of a finished run, and where its files are."""
    from rich.table import Table

    from sim.report import headline_rows

    table = Table(title=f"{scn.name}: {scn.replications:,} replications, seed {scn.seed}")
    table.add_column("measure")
    table.add_column("value (95% interval)")
    for label, text in headline_rows(summary, scn):
        table.add_row(label, text)
    console.print(table)
    console.print(f"results: {folder}  report: {folder / 'report.html'}")


@app.command()
def show(folder: Annotated[Path, typer.Argument(help="A results folder of negsim run.")]) -> None:
    """Print the headline figures of a finished run again, from its results folder."""
    from rich.console import Console

    from sim.store import StoreError, read_json, read_manifest

    summary_file = folder / "summary.json"
    try:
        status = read_manifest(folder).get("status")
        if status != "complete":
            fail(
                f"{folder}: run is {status}, not complete; finish it with: negsim run --resume {folder}"
            )
        summary = read_json(summary_file)
    except StoreError as err:
        fail(str(err))
    scn = load(folder / "scenario.yaml")
    try:
        print_headline(Console(), scn, summary, folder)
    except (KeyError, TypeError, ValueError) as err:
        fail(f"{summary_file}: damaged ({type(err).__name__}: {err})")


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")]) -> None:
    """Check scenario files; print one line per file; exit 2 if any is bad."""
    from sim.loader import ScenarioError, load_scenario

    bad = 0
    for path in files:
        try:
            scn = load_scenario(path)
            typer.echo(f"ok: {path} ({scn.name})")
        except ScenarioError as err:
            typer.echo(f"error: {err}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(code=2)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    from sim.scenario import Scenario

    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


WorkersOption = Annotated[int, typer.Option(help="Local worker processes (default: all cores).")]
SchedulerOption = Annotated[
    str | None, typer.Option(help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler.")
]


@app.command()
def sweep(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario YAML, or a sweep YAML (scenarios/sweeps/).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="PATH=lo:hi:n, PATH=a,b,c or PATH=lo:hi (repeatable)."),
    ] = None,
    method: Annotated[str | None, typer.Option(help="grid, random, lhs or sobol.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="Points for random/lhs; base samples N for sobol.")
    ] = None,
    reps: Annotated[int | None, typer.Option(help="Replications per point.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, the same at every point.")] = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="Sweep folder (default: results/...).")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted sweep in this folder.")
    ] = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
) -> None:
    """Sweep parameters of a scenario over a design; write sweep.parquet and sweep.html."""
    from sim.designs import DesignError, SweepFile, is_sweep_file, load_sweep_file, parse_param
    from sim.executors import ExecutorError
    from sim.loader import ScenarioError
    from sim.store import StoreError, default_folder
    from sim.sweep import SweepError, plan_sweep

    check_workers(workers)
    plan = None  # a new sweep's folder is laid out once the workers are known to be there
    try:
        folder = resume
        if folder is None:
            if scenario is None:
                fail("give a scenario or sweep file, or --resume FOLDER")
            spec = load_sweep_file(scenario) if is_sweep_file(scenario) else SweepFile(scenario, [])
            overrides = list(set_ or [])
            if reps or spec.replications:
                overrides.append(f"replications={reps or spec.replications}")
            if seed is not None or spec.seed is not None:
                overrides.append(f"seed={seed if seed is not None else spec.seed}")
            scn = load(spec.scenario, overrides)
            params = spec.params + [parse_param(p) for p in param or []]
            folder = out or default_folder(f"sweep-{scn.name}")
            design = {"method": method or spec.method, "samples": samples or spec.samples}
            plan = plan_sweep(scn, params, **design)
        _sweep(folder, workers or os.cpu_count() or 1, scheduler, plan)
    except (DesignError, ScenarioError, StoreError, ExecutorError, SweepError) as err:
        fail(str(err))


def _sweep(folder: Path, workers: int, scheduler: str | None, plan=None) -> None:
    """Run the sweep `plan` into a new `folder` (or, with no plan, resume the one in `folder`)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.executors import SchedulerLost, open_pool, stop_now
    from sim.interrupt import ignore_further_signals, stop_on_signals
    from sim.store import DiskError, owned
    from sim.sweep import PointsFailed, lay_out_sweep, remaining, run_sweep

    console = Console()
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
    ]
    started = time.perf_counter()
    tasks = plan.tasks if plan is not None else remaining(folder)[2]
    workers = max(1, min(workers, tasks))  # never more processes than chunks to run
    with (
        stop_on_signals(),
        open_pool(workers, scheduler) as pool,
        Progress(*columns, console=console) as progress,
    ):
        try:
            if plan is not None:
                lay_out_sweep(plan, folder, sys.argv)
            with owned(folder):
                points, lanes, _ = remaining(folder)
                point_bar = progress.add_task("points      ", total=points)
                lane_bar = progress.add_task("replications", total=lanes)

                def advance(done: int, lanes_done: int) -> None:
                    progress.advance(point_bar, done)
                    progress.advance(lane_bar, lanes_done)

                table = run_sweep(folder, pool, advance)
        except (KeyboardInterrupt, DiskError, SchedulerLost) as err:
            ignore_further_signals()
            if pool.executor is not None and pool.renew is not None:
                stop_now(pool.executor)
            progress.stop()
            sweep_stopped(folder, err)
        except PointsFailed as err:
            progress.stop()
            for failure in err.failures:
                typer.echo(f"error: {failure}", err=True)
            typer.echo(f"{err}; the others are kept in {folder}", err=True)
            typer.echo(f"retry them with: negsim sweep --resume {folder}", err=True)
            raise typer.Exit(code=1) from None
    seconds = time.perf_counter() - started
    console.print(f"{points} of {len(table)} points simulated on {pool.where} in {seconds:.1f} s")
    console.print(f"results: {folder}  report: {folder / 'sweep.html'}")


def sweep_stopped(folder: Path, err: BaseException) -> None:
    """Say what stopped a sweep and how to finish it; exit 1, or 128 + the signal."""
    code = 128 + getattr(err, "signum", 2) if isinstance(err, KeyboardInterrupt) else 1
    what = "interrupted" if isinstance(err, KeyboardInterrupt) else f"error: {err}"
    if not (folder / "manifest.json").is_file():
        typer.echo(f"{what}; the sweep had not started: nothing written in {folder}", err=True)
    else:
        typer.echo(f"{what}; finished points are kept in {folder}", err=True)
        typer.echo(f"finish with: negsim sweep --resume {folder}", err=True)
    end(code, err)


@app.command("validate-theory")
def validate_theory(
    folder: Annotated[
        Path | None, typer.Option(help="Folder of theory scenarios (default: scenarios/theory).")
    ] = None,
    plots: Annotated[
        Path | None, typer.Option(help="Also write one PNG per case into this folder.")
    ] = None,
) -> None:
    """Run the textbook bargaining cases; print expected against simulated; exit 1 if any fails."""
    from rich.console import Console
    from rich.table import Table

    from sim.loader import ScenarioError
    from sim.theory import CASES_FOLDER, run_cases, save_plots

    try:
        cases = run_cases(folder or CASES_FOLDER)
    except ScenarioError as err:
        fail(str(err))
    table = Table(title="negsim against bargaining theory")
    for column in ("case", "quantity", "expected", "simulated", "tolerance", "result"):
        table.add_column(column)
    for case in cases:
        for check in case.checks:
            result = "[green]pass[/]" if check.passed else "[bold red]FAIL[/]"
            row = (check.quantity, check.expected, check.simulated, check.tolerance, result)
            table.add_row(case.name, *row)
        table.add_section()
    console = Console()
    console.print(table)
    if plots is not None:
        for path in save_plots(cases, plots):
            console.print(f"plot: {path}")
    failed = sum(not c.passed for case in cases for c in case.checks)
    if failed:
        console.print(f"[bold red]{failed} check(s) failed[/]")
        raise typer.Exit(code=1)


@app.command()
def compare(
    inputs: Annotated[
        list[Path], typer.Argument(help="Scenario YAML files and/or finished results folders.")
    ],
    reps: Annotated[
        int | None, typer.Option(help="Replications (default: the first scenario's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the first scenario's).")] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Comparison folder (default: results/compare-TIME).")
    ] = None,
    workers: WorkersOption = 0,
) -> None:
    """Compare scenarios run with the same seed; write comparison.html and print differences."""
    from rich.console import Console
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from sim.compare import CompareError, compare, gather, terminal_table, write_table
    from sim.compare_report import write_comparison_report
    from sim.loader import ScenarioError
    from sim.store import StoreError, default_folder

    overrides = list(set_ or [])
    overrides += [f"replications={reps}"] if reps is not None else []
    overrides += [f"seed={seed}"] if seed is not None else []
    folder = out or default_folder("compare")
    console = Console()
    columns = [
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} lanes"),
        TimeElapsedColumn(),
    ]
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("simulating", total=None)
            entries = gather(
                inputs,
                folder,
                overrides=overrides,
                workers=workers or os.cpu_count() or 1,
                command=sys.argv,
                on_chunk=lambda lanes: progress.advance(task, lanes),
            )
    except (CompareError, ScenarioError, StoreError) as err:
        fail(str(err))
    figures = compare(entries)
    write_table(folder, figures)
    write_comparison_report(folder, entries, figures)
    console.print(terminal_table(figures, entries))
    console.print(f"results: {folder}  report: {folder / 'comparison.html'}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
