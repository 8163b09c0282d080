"""One Monte Carlo run of a scenario into a results folder, chunk by chunk, resumable.

Each finished chunk is saved under `chunks/` (its lanes, then its weekly counts, each file
written atomically); the counts file marks the chunk done. `runs.parquet`, `timeline.parquet`,
`summary.json` and `report.html` are assembled from the chunks at the end (after the forced
on/off runs of each event behind `events.parquet`), and only then does the manifest say
`complete`. An interrupted run keeps its chunks; `resume_run` simulates only
the missing ones, so the numbers are those of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim import store
from sim.ensemble import CHUNK_LANES, Task, chunk_sizes, schedule
from sim.errors import Stopped
from sim.event_effects import event_arms, event_effects, summary_entries
from sim.executors import Pool, open_pool
from sim.interrupt import stop_on_signals
from sim.loader import MAX_FILE_BYTES, ScenarioError, document, load_scenario
from sim.model import ChunkResult
from sim.outcomes import ParquetColumns, Timeline, summarize
from sim.scenario import Scenario

CHUNKS = "chunks"  # sub-folder of finished chunks while a run is unfinished
Progress = Callable[[int], None]  # called with the lanes just finished


class RunFailed(Stopped):
    """A chunk raised (or its worker died); the finished chunks are kept for `--resume`."""


def run_scenario(
    scenario: Scenario,
    out: Path,
    *,
    workers: int = 1,
    pool: Pool | None = None,
    trace: int = 0,
    command: list[str] | None = None,
    on_chunk: Progress = lambda lanes: None,
    chunk: int = CHUNK_LANES,
) -> dict:
    """Simulate `scenario.replications` lanes with `scenario.seed`; write every result file.

    Chunks run on `pool` (default: `workers` local processes). `chunk` lanes share one seed
    stream and are saved together: the unit of resuming. The same seed and chunk give the same
    numbers on any pool.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 lane, got {chunk}")
    text = resolved_yaml(scenario)  # checked before the folder is made
    with store.new_folder(out):
        extra = {"workers": workers, "command": command or []}
        manifest = lay_out(scenario, out, chunk=chunk, trace=trace, extra=extra, text=text)
        return _complete(scenario, out, manifest, pool, workers, on_chunk)


def lay_out(
    scenario: Scenario,
    out: Path,
    *,
    chunk: int,
    trace: int = 0,
    extra: dict[str, Any] | None = None,
    text: str | None = None,
) -> dict:
    """Write a fresh run folder's scenario.yaml and manifest (status running, with `extra`)."""
    text = text or resolved_yaml(scenario)
    with store.laying_out(out):
        store.write_atomic(out / "scenario.yaml", text)
        manifest = {
            "status": "running",
            "kind": "run",
            "scenario": scenario.name,
            "seed": scenario.seed,
            "replications": scenario.replications,
            "chunk_lanes": chunk,
            "chunks": len(chunk_sizes(scenario.replications, chunk)),
            "trace": trace,
            "scenario_sha256": store.digest(out / "scenario.yaml"),
            **(extra or {}),
            "started": store.now(),
            "versions": store.versions(),
        }
        store.write_json(out / "manifest.json", manifest)
    return manifest


def resolved_yaml(scenario: Scenario) -> str:
    """The scenario as run (`extends:` merged, overrides applied, defaults filled): it loads back
    to the same scenario, so a results folder can be resumed or rerun from its scenario.yaml.
    ScenarioError if it is too large for a results folder."""
    text = yaml.safe_dump(document(scenario), sort_keys=False, allow_unicode=True)
    if len(text.encode()) > MAX_FILE_BYTES:  # its folder could be neither shown nor resumed
        size = len(text.encode()) / 1_000_000
        raise ScenarioError(
            f"{scenario.name}: the resolved scenario is {size:.1f} MB; at most "
            f"{MAX_FILE_BYTES // 1_000_000} MB fit a results folder"
        )
    return text


MANIFEST_NUMBERS = {"seed": 0, "replications": 1, "chunk_lanes": 1, "trace": 0}  # key -> minimum


def unfinished_scenario(out: Path) -> Scenario:
    """The scenario of an unfinished results folder (StoreError if it cannot be resumed)."""
    manifest = store.read_manifest(out)
    where = out / "manifest.json"
    if manifest.get("status") == "complete":
        raise store.StoreError(f"{out}: this run is already complete; nothing to resume")
    for key, least in MANIFEST_NUMBERS.items():
        value = manifest.get(key)
        if value is None:
            raise store.StoreError(f"{where}: no '{key}'; cannot resume")
        if type(value) is not int or value < least:
            raise store.StoreError(f"{where}: {key}: {value!r} is not a whole number >= {least}")
    try:
        scenario = load_scenario(out / "scenario.yaml")
    except ScenarioError as err:
        raise store.StoreError(f"cannot resume: {err}") from None
    if (scenario.seed, scenario.replications) != (manifest["seed"], manifest["replications"]):
        raise store.StoreError(
            f"{out}: scenario.yaml and manifest.json disagree on seed or replications"
        )
    recorded = manifest.get("scenario_sha256")
    if recorded is not None and recorded != store.digest(out / "scenario.yaml"):
        raise store.StoreError(
            f"{out / 'scenario.yaml'}: changed since the run started (its SHA-256 differs from "
            "manifest.json); cannot resume"
        )
    return scenario


def resume_run(
    out: Path,
    *,
    workers: int = 1,
    pool: Pool | None = None,
    command: list[str] | None = None,
    on_chunk: Progress = lambda lanes: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> dict:
    """Finish an interrupted run in `out`, simulating only the chunks not yet on disk.

    Saved chunks are checked first (readable, same seed, scenario and lanes); one that is not
    is simulated again and `on_note` says why.
    """
    with store.owned(out):
        scenario = unfinished_scenario(out)
        manifest = store.read_manifest(out)
        resumed = [*manifest.get("resumed", []), {"at": store.now(), "command": command or []}]
        manifest.update(status="running", workers=workers, resumed=resumed)
        manifest.pop("error", None)
        manifest.setdefault("scenario_sha256", store.digest(out / "scenario.yaml"))
        return _complete(scenario, out, manifest, pool, workers, on_chunk, on_note)


def chunks_on_disk(out: Path) -> int:
    """How many chunks of the run in `out` are finished and saved."""
    return len(list((out / CHUNKS).glob("counts-*.npz")))


def _complete(
    scenario: Scenario,
    out: Path,
    manifest: dict,
    pool: Pool | None,
    workers: int,
    on_chunk: Progress,
    on_note: Callable[[str], None] = lambda text: None,
) -> dict:
    """Simulate the missing chunks on `pool` (default: at most `workers` local processes, one
    per chunk), assemble the result files, mark the folder complete.

    An interrupt, a failing chunk or a failing disk leaves the manifest `interrupted`, the
    finished chunks kept and no temporary file behind."""
    started = time.perf_counter()
    with stop_on_signals():
        try:
            store.write_json(out / "manifest.json", manifest)
            run = Chunks.open(out, scenario, manifest, on_note)
            on_chunk(run.lanes_done)
            todo = len(run.sizes) - len(run.done)
            with nullcontext(pool) if pool else open_pool(min(workers, todo)) as chosen:
                arms = simulate(run, chosen, on_chunk, event_arms(scenario))
                simulated = time.perf_counter() - started
                chosen.rest()  # idle workers would hold their memory while we assemble
            events = event_effects(scenario, arms)
            summary = run.assemble(events)
        except BaseException as err:
            _stopped(out, manifest, err)
            raise
    seconds = {"simulate": round(simulated, 3), "total": round(time.perf_counter() - started, 3)}
    run.finish(seconds=seconds)
    return summary


def simulate(
    run: Chunks,
    pool: Pool,
    on_chunk: Progress = lambda lanes: None,
    then: Sequence[Task] = (),
) -> dict[Hashable, ChunkResult]:
    """Simulate the run's missing chunks on `pool`, saving each as soon as it finishes, then the
    tasks `then` (the forced runs of events: they fill the workers the last chunks leave idle);
    return the results of `then` by label. The first failure stops the run (RunFailed), the
    chunks saved so far kept."""
    labels, extra = {t.label for t in then}, {}
    for task, outcome in schedule([*run.tasks(), *then], pool):
        apart = task.label in labels
        if isinstance(outcome, Exception):
            lanes = f"lanes {task.first}..{task.first + task.lanes - 1}"
            what = (
                f"forced run {task.scenario.name!r}" if apart else f"chunk {task.index} ({lanes})"
            )
            raise RunFailed(f"{what} failed: {type(outcome).__name__}: {outcome}") from outcome
        if apart:
            extra[task.label] = outcome
        else:
            run.save(task.index, outcome)
        on_chunk(task.lanes)
        import_module("sim.report")  # plotly loads once the workers are busy, not before
    return extra


def _stopped(out: Path, manifest: dict, err: BaseException) -> None:
    """Mark the folder `interrupted` (with the error, unless it was a signal); drop temp files."""
    store.remove_partials(out)
    failed = {} if isinstance(err, KeyboardInterrupt) else {"error": str(err)}
    with suppress(store.DiskError):  # a full disk may refuse even this; `running` then says it
        store.write_json(out / "manifest.json", {**manifest, "status": "interrupted", **failed})


@dataclass
class Chunks:
    """The chunks of a run folder being filled: which are saved, their weekly totals, and how
    to save one more and to join them into the result files once all are in."""

    out: Path
    scenario: Scenario
    manifest: dict
    sizes: list[int]
    timeline: Timeline
    done: set[int]
    writer: store.TableWriter | None = None  # runs.parquet, filled in chunk order meanwhile
    appended: int = 0  # chunks before this one are in the writer

    @classmethod
    def open(
        cls,
        out: Path,
        scenario: Scenario,
        manifest: dict,
        on_note: Callable[[str], None] = lambda text: None,
    ) -> Chunks:
        """The run in `out` with the chunks saved so far that hold what they should; any other
        saved chunk is removed, to be simulated again (`on_note` says why)."""
        (out / CHUNKS).mkdir(exist_ok=True)
        sizes = chunk_sizes(scenario.replications, manifest["chunk_lanes"])
        run = cls(out, scenario, manifest, sizes, Timeline(scenario), set())
        for index in range(len(sizes)):
            if not (_counts_path(out, index).exists() or _runs_path(out, index).exists()):
                continue
            chunk, problem = _load_chunk(out, index, run.label(index))
            if chunk is None:
                _runs_path(out, index).unlink(missing_ok=True)
                _counts_path(out, index).unlink(missing_ok=True)
                if problem:
                    on_note(f"chunk {index} {problem}: simulating it again")
                continue
            run.timeline.add(chunk)
            run.done.add(index)
        return run

    @property
    def lanes_done(self) -> int:
        """Lanes in the chunks saved so far."""
        return sum(self.sizes[i] for i in self.done)

    @property
    def complete(self) -> bool:
        """Every chunk is saved."""
        return len(self.done) == len(self.sizes)

    def tasks(self, label: Callable[[int], Hashable] = lambda index: index) -> list[Task]:
        """The chunks still to simulate, each labelled by label(its index)."""
        seed, chunk, trace = (
            self.scenario.seed,
            self.manifest["chunk_lanes"],
            self.manifest["trace"],
        )
        return [
            Task(self.scenario, i, n, seed, chunk, trace, label(i))
            for i, n in enumerate(self.sizes)
            if i not in self.done
        ]

    def label(self, index: int) -> dict[str, object]:
        """What a saved chunk must say it holds: seed, scenario digest and its lane range."""
        return {
            "seed": self.manifest["seed"],
            "scenario_sha256": self.manifest["scenario_sha256"],
            "first_lane": index * self.manifest["chunk_lanes"],
            "lanes": self.sizes[index],
        }

    def save(self, index: int, result: ChunkResult) -> None:
        """Save a finished chunk (its lanes, then its counts, which mark it done)."""
        out, lanes = self.out, self.sizes[index]
        if result.trace is not None:
            _write_traces(out / "traces.parquet", result.trace, self.scenario, self.timeline)
        first = index * self.manifest["chunk_lanes"]
        columns = {"lane": np.arange(lanes, dtype=np.int64) + first, **result.runs}
        label = self.label(index)
        label["runs_sha256"] = store.write_lanes(_runs_path(out, index), columns)
        store.write_arrays(
            _counts_path(out, index),
            agreements=result.agreements,
            offer_hist=result.offer_hist,
            **{key: np.array(value) for key, value in label.items()},
        )
        self.timeline.add(result)
        self.done.add(index)
        self._append({index: columns})

    def _append(self, fresh: dict[int, dict] | None = None) -> None:
        """Write every saved chunk that comes next in lane order into runs.parquet (under its
        temporary name), so the table grows while workers simulate and little is left for the
        end; a chunk that finished early is read back from its file when its turn comes."""
        if self.writer is None:
            self.writer = store.TableWriter(self.out / "runs.parquet")
        while self.appended in self.done:
            columns = (fresh or {}).get(self.appended)
            if columns is None:
                table = store.read_lanes(_runs_path(self.out, self.appended))
                columns = {name: table.column(name) for name in table.column_names}
            self.writer.write(columns)
            self.appended += 1

    def assemble(self, events: pd.DataFrame | None) -> dict:
        """Join the saved chunks into runs.parquet; write timeline and summary, and with the
        forced-event table `events` also events.parquet and report.html (a sweep point has none)."""
        out, scenario = self.out, self.scenario
        try:
            self._append()
            self.writer.close()
        except BaseException:
            self.writer.abandon()
            raise
        from sim import report  # imported while the workers simulated (see simulate)
        from sim.uncertainty import thirds

        with ThreadPoolExecutor(1) as helper:  # Parquet reads and numpy's selections free the GIL
            inputs = (
                None if events is None else helper.submit(thirds, out / "runs.parquet", scenario)
            )
            weekly = self.timeline.table()
            store.write_frame(out / "timeline.parquet", weekly)
            summary = summarize(ParquetColumns(out / "runs.parquet"), self.timeline, scenario)
            if events is not None:
                store.write_frame(out / "events.parquet", events)
                for name, forced in summary_entries(events).items():
                    summary["events"][name]["forced"] = forced
            store.write_json(out / "summary.json", summary)
            if events is not None:
                report.write_run_report(out, scenario, summary, weekly, inputs)
        return summary

    def finish(self, **extra: Any) -> None:
        """Mark the folder complete and drop its chunks (runs.parquet holds them now)."""
        self.manifest.update(status="complete", finished=store.now(), **extra)
        store.write_json(self.out / "manifest.json", self.manifest)
        shutil.rmtree(self.out / CHUNKS, ignore_errors=True)


def _runs_path(out: Path, index: int) -> Path:
    return out / CHUNKS / f"runs-{index:05d}.arrow"


def _counts_path(out: Path, index: int) -> Path:
    return out / CHUNKS / f"counts-{index:05d}.npz"


def _load_chunk(out: Path, index: int, expect: dict[str, object]) -> tuple[ChunkResult | None, str]:
    """A finished chunk read back from disk, or None and why it cannot be trusted: unreadable,
    half there or altered (its lanes file no longer has the SHA-256 its counts file recorded),
    or simulated for another seed, scenario or range of lanes."""
    if not _counts_path(out, index).exists():
        return None, ""  # stopped between its two files: not finished
    try:
        with np.load(_counts_path(out, index), allow_pickle=False) as counts:
            label = {key: counts[key].item() for key in (*expect, "runs_sha256") if key in counts}
            agreements, offer_hist = counts["agreements"], counts["offer_hist"]
        table = store.read_lanes(_runs_path(out, index), label.pop("runs_sha256", ""))
        if table is None:
            altered = "was simulated for another seed, scenario or range of lanes"
            return None, altered if label != expect else "was altered since it was saved"
        runs = {name: table.column(name).to_numpy() for name in table.column_names[1:]}
    except Exception as err:  # any damage: zip, npy, Arrow, a missing file
        return None, f"is unreadable ({type(err).__name__})"
    if label != expect:
        return None, "was simulated for another seed, scenario or range of lanes"
    return ChunkResult(runs=runs, agreements=agreements, offer_hist=offer_hist), ""


def _write_traces(path: Path, trace: np.ndarray, scenario: Scenario, timeline: Timeline) -> None:
    """Week-by-week offers of the traced lanes, long format: week, party, lane, issue, offer."""
    grid = np.indices(trace.shape).reshape(4, -1)
    names = scenario.party_names()
    frame = pd.DataFrame(
        {
            "week": grid[0],
            "date": [timeline.clock.date(w) for w in grid[0]],
            "party": np.array(names)[grid[1]],
            "lane": grid[2],
            "issue": np.array(list(scenario.issues))[grid[3]],
            "offer": trace.reshape(-1),
        }
    )
    store.write_frame(path, frame.dropna(subset=["offer"]))
