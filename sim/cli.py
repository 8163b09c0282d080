"""negsim command line: run, validate, schema. Heavy libraries load inside the commands."""

from __future__ import annotations

import json
import os
import sys
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from sim.errors import NegsimError


class Commands(TyperGroup):
    """negsim's commands, with the one handler of the errors a user can cause: one line on
    stderr, no traceback, the error's exit code."""

    def invoke(self, ctx: typer.Context) -> object:
        """Run the command; a NegsimError ends it in one line."""
        try:
            return super().invoke(ctx)
        except NegsimError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=err.code) from None


app = typer.Typer(
    cls=Commands,
    no_args_is_help=True,
    help="Simulate the 2009 US-Russia talks to replace START I, scenario by scenario.",
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"negsim {version('negsim')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Simulate the 2009 US-Russia talks to replace START I, scenario by scenario."""


def _at_least(least: int, meaning: str) -> object:
    """A typer callback refusing a whole number below `least`, quoting the option as typed."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: int | None) -> int | None:
        if value is not None and value < least:
            raise NegsimError(f"{param.opts[0]} {value}: must be {meaning}")
        return value

    return check


def _check_scheduler(value: str | None) -> str | None:
    """--scheduler is a tcp:// or tls:// address of a Dask scheduler (checked before any work)."""
    if value is not None:
        from sim.executors import check_address

        check_address(value)
    return value


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value: dotted.path=value (repeatable)."),
]
RepsOption = Annotated[
    int | None,
    typer.Option(
        "--reps", callback=_at_least(1, "1 or more"), help="Replications (default: the scenario's)."
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", callback=_at_least(0, "0 or more"), help="Seed (default: the scenario's)."
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Results folder (default: results/NAME-DATE-TIME).")
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        callback=_at_least(0, "0 (all cores) or more"),
        help="Local worker processes (default: all cores).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        callback=_check_scheduler,
        help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler.",
    ),
]
PngOption = Annotated[
    bool, typer.Option("--png", help="Also save each figure as a PNG (needs Chromium).")
]
CsvOption = Annotated[
    bool, typer.Option("--csv", help="Also write every table as CSV beside its Parquet file.")
]
SelfContainedOption = Annotated[
    bool,
    typer.Option(
        "--self-contained", help="Put plotly.js inside each HTML page: one file that travels."
    ),
]


def fail(message: str) -> None:
    """Stop with a one-line error, exit code 2 (bad input)."""
    raise NegsimError(message)


def overrides(set_: list[str] | None, reps: int | None = None, seed: int | None = None) -> list:
    """--set items, then --reps and --seed as overrides that errors quote as the user typed them."""
    found: list = list(set_ or [])
    if reps is not None:
        found.append((f"--reps {reps}", f"replications={reps}"))
    if seed is not None:
        found.append((f"--seed {seed}", f"seed={seed}"))
    return found


def sweep_overrides(
    path: Path,
    spec,
    set_: list[str] | None = None,
    reps: int | None = None,
    seed: int | None = None,
) -> list:
    """The overrides of a sweep's base: the command's options, else the sweep file's values,
    each quoted as the user wrote it."""
    found = overrides(set_, reps, seed)
    for key, value, given in (("replications", spec.replications, reps), ("seed", spec.seed, seed)):
        if given is None and value is not None:
            found.append((f"{path}: {key}: {value}", f"{key}={value}"))
    return found


def load(path: Path, overrides: list | None = None):
    """Load a scenario (ScenarioError, told in one line, if it is bad)."""
    from sim.loader import load_scenario

    return load_scenario(path, overrides or [])


def workers_for(workers: int) -> int:
    """--workers 0 means all cores."""
    return workers or os.cpu_count() or 1


@app.command()
def run(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario YAML file.")] = None,
    reps: RepsOption = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    out: OutOption = None,
    trace: Annotated[int, typer.Option(help="Keep week-by-week offers of this many lanes.")] = 0,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    png: PngOption = False,
    csv: CsvOption = False,
    self_contained: SelfContainedOption = False,
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
    given: Annotated[
        Path | None,
        typer.Option(help="Observations so far (YAML): report figures conditional on them."),
    ] = None,
) -> None:
    """Run a Monte Carlo ensemble of a scenario and write a results folder with report.html."""
    where = (workers_for(workers), scheduler)
    if resume is not None:
        options = [scenario, reps, seed, set_, out, chunk, trace or None]
        if any(g is not None for g in options):
            fail(
                "--resume DIR takes no scenario and no options but --workers, --scheduler, "
                "--png and --given"
            )
        _run(None, resume, 0, where, given=given)
        take_away(resume, "report.html", png=png, csv=csv, self_contained=self_contained)
        return
    if scenario is None:
        fail("give a scenario file, or --resume DIR")
    if trace < 0:
        fail("--trace must be 0 or more")
    if chunk is not None and not 1 <= chunk <= 1_000_000:
        fail(f"--chunk {chunk}: must be 1 to 1,000,000 lanes")
    from sim.executors import CHUNK_LANES, start_fork_server

    if reps and reps > (chunk or CHUNK_LANES) and where[0] > 1 and scheduler is None:
        start_fork_server()  # more than one chunk: the workers' model loads with the scenario
    scn = load(scenario, overrides(set_, reps, seed))
    from sim.store import default_folder

    check_trace(trace, min(scn.replications, chunk or CHUNK_LANES))
    folder = out or default_folder(scn.name)
    if given is not None:
        read_facts(given, scn)  # a bad observation file stops here, before anything is written
    _run(scn, folder, trace, where, chunk or CHUNK_LANES, given)
    take_away(folder, "report.html", png=png, csv=csv, self_contained=self_contained)
    typer.echo(next_steps(scenario, folder))


def take_away(folder: Path, page: str, *, png: bool, csv: bool, self_contained: bool) -> None:
    """The optional extras of a finished command: PNG figures, CSV tables, one-file pages."""
    if png:
        export_png(folder, page)
    if csv:
        from sim.export import write_csv

        typer.echo(f"csv: {len(write_csv(folder))} CSV files beside the Parquet files")
    if self_contained:
        from sim.assets import self_contain

        pages = self_contain(folder)
        typer.echo(f"self-contained: plotly.js inlined into {len(pages)} page(s)")


MAX_TRACE = 100  # traced lanes: each keeps every week's offers (about 250 kB on disk)


def check_trace(trace: int, first_chunk: int) -> None:
    """Traced lanes come from the first chunk, at most MAX_TRACE of them."""
    if trace > MAX_TRACE:
        fail(f"--trace {trace}: at most {MAX_TRACE} lanes can be traced")
    if trace > first_chunk:
        fail(f"--trace {trace}: more than the {first_chunk} lanes of the first chunk")


def export_png(folder: Path, page: str = "report.html") -> None:
    """Screenshot each figure of folder/PAGE into folder/figures; say why when we can't."""

    from sim.browser import BrowserUnavailable, export_figures

    try:
        files = export_figures(folder / page, folder / "figures")
    except BrowserUnavailable as err:
        typer.echo(f"--png skipped: {err}; {page} is complete without it", err=True)
        return
    typer.echo(f"figures: {len(files)} PNG files in {folder / 'figures'}")


def next_steps(scenario: Path, folder: Path) -> str:
    """The commands worth typing after a run."""
    variant = scenario.parent / "no_linkage.yaml"
    other = variant if variant.is_file() and variant != scenario else Path("OTHER.yaml")
    return (
        "next:\n"
        f"  open {folder / 'report.html'}\n"
        f"  negsim compare {scenario} {other}\n"
        f"  negsim sweep {scenario} --param parties.us.tactic.beta=0.2:2.0:10\n"
        f"  negsim show {folder}"
    )


def _run(scn, folder: Path, trace: int, where: tuple, chunk: int = 0, given=None) -> None:
    """Run `scn` into `folder` (or, with no scenario, resume the run in `folder`) on `where`
    (local workers, Dask scheduler); with `given` observations, report the ensemble
    conditioned on them."""
    from sim.executors import SchedulerLost, chunk_sizes, open_pool, start_fork_server

    resuming = scn is None
    if resuming:
        from sim.run import chunks_on_disk, unfinished_scenario
        from sim.store import ResultsFolder

        manifest = ResultsFolder.open(folder).need("run", complete=False).manifest
        scn = unfinished_scenario(folder)
        chunks = manifest["chunks"] - chunks_on_disk(folder)
    else:
        chunks = len(chunk_sizes(scn.replications, chunk))
    workers, scheduler = max(1, min(where[0], chunks)), where[1]
    if workers > 1 and scheduler is None:
        start_fork_server()  # the workers' model loads in the background meanwhile
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.event_effects import lanes_needed
    from sim.interrupt import stop_on_signals
    from sim.run import RunFailed, resume_run, run_scenario
    from sim.store import DiskError

    console = Console()
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} lanes"),
        TimeRemainingColumn(),
    ]

    def note(text: str) -> None:
        typer.echo(f"note: {text}", err=True)

    try:
        with (
            stop_on_signals(),
            open_pool(workers, scheduler) as pool,
            Progress(*columns, console=console, transient=True) as progress,
        ):
            lanes = scn.replications + lanes_needed(scn)  # the run, then each event forced on, off
            task = progress.add_task(f"simulating {scn.name}", total=lanes)
            common = {"workers": workers, "pool": pool, "command": sys.argv}
            advance = partial(progress.advance, task)
            if resuming:
                summary = resume_run(folder, **common, on_chunk=advance, on_note=note)
            else:
                summary = run_scenario(
                    scn, folder, **common, trace=trace, on_chunk=advance, chunk=chunk
                )
    except (RunFailed, DiskError, SchedulerLost, KeyboardInterrupt) as err:
        stopped(folder, err, given)
    if given is not None:
        nowcast(console, scn, folder, given, created=not resuming)
        return
    print_headline(console, scn, summary, folder)


def stopped(folder: Path, err: BaseException, given: Path | None = None) -> None:
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
    again = f" --given {given}" if given is not None else ""
    typer.echo(f"finish with: negsim run --resume {folder}{again}", err=True)
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


def read_facts(path: Path, scn):
    """A facts file (targets, observations) checked against the scenario's columns, or exit 2."""
    from sim.calendar import Clock
    from sim.loader import ScenarioError
    from sim.targets import load_facts, run_columns

    try:
        return load_facts(path, run_columns(scn), Clock.from_calendar(scn.calendar))
    except ScenarioError as err:
        fail(str(err))


def nowcast(console, scn, folder: Path, given: Path, created: bool) -> None:
    """Condition the finished run in `folder` on the observations in `given` and report it.
    When no lane meets them, one line and exit 2, and a run folder made for this is removed."""
    import shutil

    from rich.table import Table

    from sim.nowcast import NoLaneMeets, condition, write_nowcast
    from sim.report import headline_rows

    facts = read_facts(given, scn)
    try:
        result = condition(folder, scn, facts, str(given))
    except NoLaneMeets as err:
        if created:
            shutil.rmtree(folder)
        fail(str(err))
    write_nowcast(folder, scn, result, given.read_text(encoding="utf-8"))
    lanes = len(result.kept)
    table = Table(title=f"{scn.name} given {facts.name}: {result.ess:,} of {lanes:,} lanes kept")
    for column in ("measure", "given the observations (95% interval)", "before them"):
        table.add_column(column)
    for label, share in result.shares:
        table.add_row(f"lanes meeting: {label}", f"{share:.1%}", "")
    table.add_row("effective sample size", f"{result.ess:,}", f"{lanes:,}")
    table.add_section()
    before = dict(headline_rows(json.loads((folder / "summary.json").read_text()), scn))
    for label, text in headline_rows(result.summary, scn):
        table.add_row(label, text, before.get(label, "-"))
    console.print(table)
    console.print(f"results: {folder}  nowcast: {folder / 'nowcast.html'}")


def print_headline(console, scn, summary: dict, folder: Path) -> None:
    """The headline table of a finished run, and where its files are."""
    from rich.table import Table

    from sim.report import headline_rows
    from sim.summary_text import run_sentences

    table = Table(title=f"{scn.name}: {scn.replications:,} replications, seed {scn.seed}")
    table.add_column("measure", no_wrap=True)
    table.add_column("value (95% interval)")
    for label, text in headline_rows(summary, scn):
        table.add_row(label, text)
    console.print(table)
    console.print(" ".join(run_sentences(summary, scn)), highlight=False)
    page = folder / "report.html"
    console.print(f"results: {folder}" + (f"  report: {page}" if page.is_file() else ""))


@app.command()
def show(folder: Annotated[Path, typer.Argument(help="A results folder of negsim run.")]) -> None:
    """Print the headline figures of a finished run (or sweep point) again, from its folder."""
    from rich.console import Console

    from sim.store import ResultsFolder, StoreError, read_json

    ResultsFolder.open(folder).need("run", "point")
    summary_file = folder / "summary.json"
    summary = read_json(summary_file)
    scn = load(folder / "scenario.yaml")
    try:
        print_headline(Console(), scn, summary, folder)
    except (KeyError, TypeError, ValueError) as err:
        raise StoreError(f"{summary_file}: damaged ({type(err).__name__}: {err})") from None


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario or sweep files to check.")],
) -> None:
    """Check scenario and sweep files; print one line per file; exit 2 if any is bad."""
    from sim.designs import is_sweep_file, load_sweep_file
    from sim.loader import load_scenario
    from sim.sweep import plan_sweep

    bad = 0
    for path in files:
        try:
            if is_sweep_file(path):
                spec = load_sweep_file(path)
                base = load_scenario(spec.scenario, sweep_overrides(path, spec))
                plan = plan_sweep(base, spec.params, method=spec.method, samples=spec.samples)
                typer.echo(f"ok: {path} (sweep of {base.name}, {len(plan.points)} points)")
            else:
                typer.echo(f"ok: {path} ({load_scenario(path).name})")
        except NegsimError as err:
            typer.echo(f"error: {err}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(code=2)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    from sim.scenario import Scenario

    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


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
    reps: RepsOption = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    out: OutOption = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted sweep in this folder.")
    ] = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    packed: Annotated[
        bool,
        typer.Option(
            "--packed",
            help="Run lanes of many points in shared chunks: fast for many small points; "
            "no point folders (per-lane parameters only).",
        ),
    ] = False,
    png: PngOption = False,
    csv: CsvOption = False,
    self_contained: SelfContainedOption = False,
) -> None:
    """Sweep parameters of a scenario over a design; write sweep.parquet and sweep.html."""
    from sim.designs import SweepFile, is_sweep_file, load_sweep_file, parse_param
    from sim.executors import start_fork_server
    from sim.store import ResultsFolder, default_folder
    from sim.sweep import plan_sweep

    if workers_for(workers) > 1 and scheduler is None:
        start_fork_server()  # the workers' model loads while the design is drawn and checked
    plan = None  # a new sweep's folder is laid out once the workers are known to be there
    folder = resume
    if folder is None:
        if scenario is None:
            fail("give a scenario or sweep file, or --resume FOLDER")
        spec = load_sweep_file(scenario) if is_sweep_file(scenario) else SweepFile(scenario, [])
        scn = load(spec.scenario, sweep_overrides(scenario, spec, set_, reps, seed))
        params = spec.params + [parse_param(p) for p in param or []]
        design = {"method": method or spec.method, "samples": samples or spec.samples}
        folder = out or default_folder(sweep_folder_name(scn.name, design["method"], params))
        packed = packed or spec.packed
        plan = plan_sweep(scn, params, **design, description=spec.description, packed=packed)
    else:
        ResultsFolder.open(folder).need("sweep", complete=None)  # a complete one is finished again
    _sweep(folder, workers_for(workers), scheduler, plan)
    from rich.console import Console

    from sim.sweep_report import terminal_summary

    table, sentences = terminal_summary(folder)
    console = Console()
    console.print(table)
    console.print(" ".join(sentences), highlight=False)
    take_away(folder, "sweep.html", png=png, csv=csv, self_contained=self_contained)


def sweep_folder_name(scenario: str, method: str, params: list) -> str:
    """'sweep-baseline-grid-beta-margin': the folder says the design (the store adds the time)."""
    tails = [p.path.split(".")[-1] for p in params]
    what = "-".join(tails) if len(tails) <= 3 else f"{len(tails)}params"
    return f"sweep-{scenario}-{method}-{what}"


def _sweep(folder: Path, workers: int, scheduler: str | None, plan=None) -> None:
    """Run the sweep `plan` into a new `folder` (or, with no plan, resume the one in `folder`)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.executors import SchedulerLost, open_pool, stop_now
    from sim.interrupt import ignore_further_signals, stop_on_signals
    from sim.run import RunFailed
    from sim.store import DiskError, new_folder, owned
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
        Progress(*columns, console=console, refresh_per_second=2) as progress,
    ):
        try:
            with new_folder(folder) if plan is not None else owned(folder):
                if plan is not None:
                    lay_out_sweep(plan, folder, sys.argv)
                points, lanes, _ = remaining(folder)
                point_bar = progress.add_task("points      ", total=points)
                lane_bar = progress.add_task("replications", total=lanes)

                def advance(done: int, lanes_done: int) -> None:
                    progress.advance(point_bar, done)
                    progress.advance(lane_bar, lanes_done)

                table = run_sweep(folder, pool, advance)
        except (KeyboardInterrupt, DiskError, SchedulerLost, RunFailed) as err:
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
        typer.echo(f"{what}; finished points and chunks are kept in {folder}", err=True)
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
    reps: RepsOption = None,
    seed: SeedOption = None,
    set_: SetOption = None,
    out: OutOption = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    png: PngOption = False,
    csv: CsvOption = False,
    self_contained: SelfContainedOption = False,
) -> None:
    """Compare scenarios run with the same seed; write comparison.html and print differences."""
    from rich.console import Console
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from sim.compare import compare, gather, terminal_table, write_table
    from sim.compare_report import write_comparison_report
    from sim.executors import open_pool
    from sim.store import default_folder
    from sim.summary_text import compare_sentences

    folder = out or default_folder("compare")
    console = Console()
    columns = [
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} lanes"),
        TimeElapsedColumn(),
    ]
    with (
        open_pool(workers_for(workers), scheduler) as pool,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task("simulating", total=None)
        entries = gather(
            inputs,
            folder,
            overrides=overrides(set_, reps, seed),
            pool=pool,
            command=sys.argv,
            on_chunk=partial(progress.advance, task),
        )
    figures = compare(entries)
    write_table(folder, figures)
    write_comparison_report(folder, entries, figures)
    console.print(terminal_table(figures, entries))
    names, scenarios = [e.name for e in entries], [e.scenario for e in entries]
    console.print(" ".join(compare_sentences(figures, names, scenarios)), highlight=False)
    console.print(f"results: {folder}  report: {folder / 'comparison.html'}")
    take_away(folder, "comparison.html", png=png, csv=csv, self_contained=self_contained)


@app.command()
def explain(
    source: Annotated[
        Path | None, typer.Argument(help="Scenario YAML or a finished results folder.")
    ] = None,
    reps: Annotated[int | None, typer.Option(help="Replications per run.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, the same in every run.")] = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="Explain folder (default: results/...).")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted explain in this folder.")
    ] = None,
    workers: WorkersOption = 0,
) -> None:
    """Rank what decides the talks: each event on vs off, each uncertain input 10th vs 90th
    percentile, same-seed paired runs; write explain.parquet and explain.html."""
    from rich.console import Console

    from sim.explain import ExplainError, start_explain
    from sim.store import StoreError, default_folder

    try:
        if resume is None:
            if source is None:
                fail("give a scenario file or a results folder, or --resume FOLDER")
            overrides = list(set_ or [])
            overrides += [(f"--reps {reps}", f"replications={reps}")] if reps is not None else []
            overrides += [(f"--seed {seed}", f"seed={seed}")] if seed is not None else []
            scn = load(_scenario_file(source), overrides)
            folder = out or default_folder(f"explain-{scn.name}")
            start_explain(scn, folder, command=sys.argv)
        else:
            if source is not None or out is not None:
                fail("--resume FOLDER takes no scenario and no --out")
            folder = resume
        _explain(Console(), folder, workers or os.cpu_count() or 1)
    except (ExplainError, StoreError) as err:
        fail(str(err))


def _explain(console, folder: Path, workers: int) -> None:
    """Simulate the missing runs of an explain folder with a progress bar; report; print."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.explain import arms_left, explain_scenario, finish, run_explain
    from sim.explain_report import terminal_table, write_explain_report

    scn = explain_scenario(folder)
    columns = [TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(
            f"explaining {scn.name}", total=arms_left(folder) * scn.replications
        )
        try:
            table = run_explain(folder, workers, lambda lanes: progress.advance(task, lanes))
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(f"interrupted; finish with: negsim explain --resume {folder}", err=True)
            raise typer.Exit(code=130) from None
    write_explain_report(folder, scn, table)
    finish(folder)
    console.print(terminal_table(table, scn))
    console.print(f"results: {folder}  report: {folder / 'explain.html'}")


def _scenario_file(source: Path) -> Path:
    """A scenario file as given, or the resolved scenario.yaml of a results folder."""
    if source.is_dir():
        if not (source / "scenario.yaml").is_file():
            fail(f"{source}: not a results folder (no scenario.yaml)")
        return source / "scenario.yaml"
    return source


@app.command()
def discover(
    source: Annotated[Path, typer.Argument(help="A finished run or sweep folder.")],
    outcome: Annotated[
        str, typer.Option(help="Yes/no outcome per lane, e.g. p_agree_before_deadline.")
    ] = "p_agree_before_deadline",
    density: Annotated[
        float | None,
        typer.Option(help="Density the chosen box must reach (default: halfway to 100%)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Discover folder (default: results/...).")
    ] = None,
) -> None:
    """Find the conditions under which an outcome holds: PRIM box, CART tree, feature scores;
    write discover.parquet and discover.html."""
    from rich.console import Console

    from sim.discover import DiscoverError, discover, finish, start_discover, write_results
    from sim.discover_report import headline, write_discover_report
    from sim.store import StoreError, default_folder

    console = Console()
    try:
        with console.status(f"discovering when {outcome} holds in {source}"):
            found = discover(source, outcome, density)
        name = found.cases.scenario.name
        folder = out or default_folder(f"discover-{name}")
        start_discover(folder, source, outcome, sys.argv)
    except (DiscoverError, StoreError) as err:
        fail(str(err))
    write_results(folder, found)
    write_discover_report(folder, found, source)
    finish(folder)
    for label, text in headline(found):
        console.print(f"[bold]{label}[/]: {text}")
    top = ", ".join(f"{r.label} {r.score:.2f}" for r in found.scores.head(3).itertuples())
    console.print(f"[bold]feature scores (extra trees)[/]: {top}")
    console.print(f"results: {folder}  report: {folder / 'discover.html'}")


@app.command()
def story(
    folder: Annotated[Path, typer.Argument(help="A finished results folder of negsim run.")],
    lane: Annotated[int, typer.Option(help="The lane (replication) to tell.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="HTML page (default: FOLDER/story-lane-K.html).")
    ] = None,
) -> None:
    """Tell why one lane ended as it did: offers, events, concessions, signature and votes."""
    from rich.console import Console

    from sim.store import StoreError
    from sim.story import StoryError, lane_story
    from sim.story_report import write_story_report

    try:
        found = lane_story(folder, lane)
    except (StoryError, StoreError) as err:
        fail(str(err))
    page = write_story_report(out or folder / f"story-lane-{lane}.html", found)
    console = Console()
    for sentence in found.sentences:
        console.print(sentence)
    console.print(f"offers from {found.source}; page: {page}")


@app.command()
def calibrate(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario YAML with uncertain inputs.")
    ] = None,
    targets: Annotated[
        Path | None, typer.Option(help="Target facts (YAML) the outcomes should meet.")
    ] = None,
    posterior: Annotated[int, typer.Option(help="Posterior draws wanted.")] = 1000,
    max_lanes: Annotated[
        int, typer.Option(help="Most lanes the calibration may simulate.")
    ] = 200_000,
    batch: Annotated[
        int, typer.Option(help="Lanes per batch (the unit saved and resumed).")
    ] = 2000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Calibration folder (default: results/calibrate-...).")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish an interrupted calibration in this folder.")
    ] = None,
    workers: WorkersOption = 0,
    png: PngOption = False,
) -> None:
    """Fit the scenario's uncertain inputs to target facts by ABC; write calibrate.html."""
    from sim.calibrate import CalibrationError, Settings, start
    from sim.store import StoreError, default_folder, read_manifest

    try:
        if resume is not None:
            if scenario is not None or targets is not None:
                fail("--resume DIR takes no scenario and no --targets")
            manifest = read_manifest(resume)
            if manifest.get("kind") != "calibration":
                fail(f"{resume}: not a calibration folder (its manifest has no kind: calibration)")
            folder, settings, seed = resume, Settings(**manifest["settings"]), manifest["seed"]
            scn = load(folder / "scenario.yaml")
            targets = folder / "targets.yaml"
        else:
            if scenario is None or targets is None:
                fail("give a scenario file and --targets FILE, or --resume DIR")
            scn = load(scenario, list(set_ or []))
            settings = Settings(posterior=posterior, batch=batch, max_lanes=max_lanes)
            settings.check()
            seed = scn.seed if seed is None else seed
            folder = out or default_folder(f"calibrate-{scn.name}")
        facts = read_facts(targets, scn)
        if resume is None:
            start(folder, scn, targets.read_text(encoding="utf-8"), settings, seed, sys.argv)
        _calibrate(scn, facts, folder, settings, seed, workers or os.cpu_count() or 1)
    except (CalibrationError, StoreError) as err:
        fail(str(err))
    take_away(folder, "calibrate.html", png=png, csv=False, self_contained=False)


def _calibrate(scn, facts, folder: Path, settings, seed: int, workers: int) -> None:
    """Run the calibration with a progress bar over its lane budget; Ctrl-C keeps batches."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.calibrate import Calibration, finish
    from sim.executors import open_pool

    console = Console()
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} lanes"),
        TimeElapsedColumn(),
    ]
    with open_pool(workers) as pool, Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("generation 0", total=settings.max_lanes)

        def advance(info: dict) -> None:
            text = f"generation {info['generation']} (tolerance {info['epsilon']:.3g}): "
            text += f"{min(info['accepted'], info['needed']):,}/{info['needed']:,} accepted"
            bar.update(task, completed=info["lanes"], description=text)

        calibration = Calibration(
            scn, facts, folder, settings, seed, pool.executor, pool.slots, advance
        )
        try:
            manifest = finish(calibration, sys.argv)
        except KeyboardInterrupt as err:
            bar.stop()
            typer.echo(f"interrupted: finished batches kept in {folder}", err=True)
            typer.echo(f"finish with: negsim calibrate --resume {folder}", err=True)
            raise typer.Exit(code=128 + getattr(err, "signum", 2)) from None
    method = {"rejection": "rejection ABC", "smc": "ABC-SMC"}[manifest["method"]]
    console.print(
        f"{method}: {manifest['posterior_size']:,} posterior draws (effective "
        f"{manifest['posterior_ess']:,.0f}) from {manifest['lanes_simulated']:,} lanes "
        f"in {manifest['seconds']:.1f} s"
    )
    if manifest["posterior_size"] < settings.posterior:
        console.print(
            f"[bold yellow]fewer draws than the {settings.posterior:,} asked: the lane budget "
            "(--max-lanes) ran out[/]"
        )
    if not manifest["reached_targets"]:
        console.print(
            f"[bold yellow]the targets were not reached within --max-lanes; the posterior is at "
            f"tolerance {manifest['final_epsilon']:.3g}[/]"
        )
    console.print(f"results: {folder}  report: {folder / 'calibrate.html'}")
    console.print(f"calibrated scenario: {folder / 'calibrated.yaml'}")


@app.command()
def score(
    folders: Annotated[list[Path], typer.Argument(help="Finished results folders of negsim run.")],
    observed: Annotated[Path, typer.Option(help="Observed outcomes (a facts YAML file).")],
) -> None:
    """Score runs' forecasts against observed outcomes: Brier, log score, CRPS (lower is better)."""
    from rich.console import Console
    from rich.table import Table

    from sim.loader import ScenarioError
    from sim.score import means, score_folder
    from sim.store import StoreError

    try:
        runs = [score_folder(folder, observed) for folder in folders]
    except (ScenarioError, StoreError) as err:
        fail(str(err))
    console = Console()
    for run in runs:
        table = Table(title=f"{run.folder} ({run.scenario}, {run.lanes})")
        for column in ("observed", "P(forecast)", "Brier", "log score", "CRPS"):
            table.add_column(column)
        for s in run.scores:
            shown = "-" if s.crps is None else f"{s.crps:.4g} {s.unit}".strip()
            brier, log = ("-", "-") if s.brier is None else (f"{s.brier:.4f}", f"{s.log:.4f}")
            table.add_row(s.fact, f"{s.probability:.1%}", brier, log, shown)
        console.print(table)
    ranking = Table(title=f"ranked by mean log score against {observed} (lower is better)")
    for column in ("run", "scenario", "mean Brier", "mean log score"):
        ranking.add_column(column)
    for run in sorted(runs, key=lambda r: means(r.scores)["log"]):
        total = means(run.scores)
        ranking.add_row(
            str(run.folder), run.scenario, f"{total['brier']:.4f}", f"{total['log']:.4f}"
        )
    console.print(ranking)


def main() -> None:
    """Console-script entry point. It leaves without tearing the interpreter down: once numba's
    kernels and plotly are loaded that takes 0.4-0.5 s of CPU and frees nothing that matters."""
    try:
        app()
    except SystemExit as stop:
        quick_exit(stop)


def quick_exit(stop: SystemExit) -> None:
    """Exit as `stop` says, after the exit handlers (the worker pool's fork server and temporary
    folders) but without module teardown; as usual if a non-daemon thread is still running or
    a profiler or tracer (cProfile, a debugger) has yet to write what it found."""
    import atexit
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if not isinstance(stop.code, int | None) or others or watched:
        raise stop
    with suppress(OSError, ValueError):  # a closed pipe (negsim ... | head) or stream
        sys.stdout.flush()
        sys.stderr.flush()
    atexit._run_exitfuncs()  # what the interpreter would run first; teardown is what is skipped
    os._exit(stop.code or 0)


if __name__ == "__main__":
    main()
