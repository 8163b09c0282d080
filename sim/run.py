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
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import suppress
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from sim import report, store
from sim.ensemble import CHUNK_LANES, chunk_sizes, make_executor, run_chunks
from sim.event_effects import event_effects, summary_entries
from sim.executors import stop_now
from sim.interrupt import stop_on_signals
from sim.loader import MAX_FILE_BYTES, ScenarioError, document, load_scenario
from sim.model import ChunkResult
from sim.outcomes import ParquetColumns, Timeline, summarize
from sim.scenario import Scenario

CHUNKS = "chunks"  # sub-folder of finished chunks while a run is unfinished
Progress = Callable[[int], None]  # called with the lanes just finished


class RunFailed(Exception):
    """A chunk raised (or its worker died); the finished chunks are kept for `--resume`."""


def run_scenario(
    scenario: Scenario,
    out: Path,
    *,
    workers: int = 1,
    trace: int = 0,
    command: list[str] | None = None,
    on_chunk: Progress = lambda lanes: None,
    chunk: int = CHUNK_LANES,
) -> dict:
    """Simulate `scenario.replications` lanes with `scenario.seed`; write every result file.

    `chunk` lanes share one seed stream and are saved together: the unit of resuming. The
    same seed and chunk give the same numbers on any number of workers.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 lane, got {chunk}")
    text = resolved_yaml(scenario)
    if len(text.encode()) > MAX_FILE_BYTES:  # its folder could be neither shown nor resumed
        size = len(text.encode()) / 1_000_000
        raise ScenarioError(
            f"{scenario.name}: the resolved scenario is {size:.1f} MB; at most "
            f"{MAX_FILE_BYTES // 1_000_000} MB fit a results folder"
        )
    with store.new_folder(out):
        with store.laying_out(out):
            store.write_atomic(out / "scenario.yaml", text)
            manifest = {
                "status": "running",
                "scenario": scenario.name,
                "seed": scenario.seed,
                "replications": scenario.replications,
                "chunk_lanes": chunk,
                "chunks": len(chunk_sizes(scenario.replications, chunk)),
                "workers": workers,
                "trace": trace,
                "scenario_sha256": store.digest(out / "scenario.yaml"),
                "command": command or [],
                "started": store.now(),
                "versions": store.versions(),
            }
            store.write_json(out / "manifest.json", manifest)
        return _complete(scenario, out, manifest, workers, on_chunk)


def resolved_yaml(scenario: Scenario) -> str:
    """The scenario as run (`extends:` merged, overrides applied, defaults filled): it loads back
    to the same scenario, so a results folder can be resumed or rerun from its scenario.yaml."""
    return yaml.safe_dump(document(scenario), sort_keys=False, allow_unicode=True)


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
        return _complete(scenario, out, manifest, workers, on_chunk, on_note)


def chunks_on_disk(out: Path) -> int:
    """How many chunks of the run in `out` are finished and saved."""
    return len(list((out / CHUNKS).glob("counts-*.npz")))


def _complete(
    scenario: Scenario,
    out: Path,
    manifest: dict,
    workers: int,
    on_chunk: Progress,
    on_note: Callable[[str], None] = lambda text: None,
) -> dict:
    """Simulate the missing chunks, assemble the result files, mark the folder complete.

    An interrupt, a failing chunk or a failing disk leaves the manifest `interrupted`, the
    finished chunks kept and no temporary file behind."""
    started = time.perf_counter()
    executor = None
    with stop_on_signals():
        try:
            store.write_json(out / "manifest.json", manifest)
            (out / CHUNKS).mkdir(exist_ok=True)
            sizes = chunk_sizes(scenario.replications, manifest["chunk_lanes"])
            timeline = Timeline(scenario)
            done = _saved_chunks(out, manifest, sizes, timeline, on_note)
            on_chunk(sum(sizes[i] for i in done))
            executor = make_executor(workers, len(sizes) - len(done))
            _simulate(scenario, out, manifest, set(done), executor, timeline, on_chunk)
            simulated = time.perf_counter() - started
            if scenario.events and executor is None:  # the forced arms may use the pool
                executor = make_executor(workers, len(chunk_sizes(scenario.replications)))
            events = event_effects(scenario, executor, on_chunk)
            if executor is not None:
                executor.shutdown()  # idle workers would hold their memory while we assemble
            summary = _assemble(scenario, out, timeline, len(sizes), events)
        except BaseException as err:
            if executor is not None:
                stop_now(executor)
            _stopped(out, manifest, err)
            raise
    manifest.update(
        status="complete",
        finished=store.now(),
        seconds={"simulate": round(simulated, 3), "total": round(time.perf_counter() - started, 3)},
    )
    store.write_json(out / "manifest.json", manifest)
    shutil.rmtree(out / CHUNKS, ignore_errors=True)
    return summary


def _stopped(out: Path, manifest: dict, err: BaseException) -> None:
    """Mark the folder `interrupted` (with the error, unless it was a signal); drop temp files."""
    store.remove_partials(out)
    failed = {} if isinstance(err, KeyboardInterrupt) else {"error": str(err)}
    with suppress(store.DiskError):  # a full disk may refuse even this; `running` then says it
        store.write_json(out / "manifest.json", {**manifest, "status": "interrupted", **failed})


def _saved_chunks(
    out: Path, manifest: dict, sizes: list[int], timeline: Timeline, on_note: Callable[[str], None]
) -> list[int]:
    """Indices of the chunks on disk that hold what they should (added to `timeline`); any other
    saved chunk is removed, to be simulated again."""
    done = []
    for index in range(len(sizes)):
        if not (_counts_path(out, index).exists() or _runs_path(out, index).exists()):
            continue
        expect = _chunk_label(manifest, index, sizes[index])
        chunk, problem = _load_chunk(out, index, expect)
        if chunk is None:
            _runs_path(out, index).unlink(missing_ok=True)
            _counts_path(out, index).unlink(missing_ok=True)
            if problem:
                on_note(f"chunk {index} {problem}: simulating it again")
            continue
        timeline.add(chunk)
        done.append(index)
    return done


def _chunk_label(manifest: dict, index: int, lanes: int) -> dict[str, object]:
    """What a saved chunk must say it holds: seed, scenario digest and its lane range."""
    return {
        "seed": manifest["seed"],
        "scenario_sha256": manifest["scenario_sha256"],
        "first_lane": index * manifest["chunk_lanes"],
        "lanes": lanes,
    }


def _simulate(
    scenario: Scenario,
    out: Path,
    manifest: dict,
    done: set[int],
    executor: Executor | None,
    timeline: Timeline,
    on_chunk: Progress,
) -> None:
    """Run every chunk not in `done`, saving each as soon as it finishes."""
    chunk = manifest["chunk_lanes"]
    sizes = chunk_sizes(scenario.replications, chunk)
    results = run_chunks(
        scenario,
        scenario.replications,
        scenario.seed,
        executor,
        manifest["trace"],
        skip=done.__contains__,
        chunk=chunk,
    )
    for index in (i for i in range(len(sizes)) if i not in done):
        try:
            _, result = next(results)
        except Exception as err:
            first = index * chunk
            raise RunFailed(
                f"chunk {index} (lanes {first}..{first + sizes[index] - 1}) failed: "
                f"{type(err).__name__}: {err}"
            ) from err
        if result.trace is not None:
            _write_traces(out / "traces.parquet", result.trace, scenario, timeline)
        lanes = np.arange(sizes[index], dtype=np.int64) + index * chunk
        store.write_table(_runs_path(out, index), {"lane": lanes, **result.runs})
        label = _chunk_label(manifest, index, sizes[index])
        label["runs_sha256"] = store.digest(_runs_path(out, index))
        store.write_arrays(
            _counts_path(out, index),
            agreements=result.agreements,
            offer_hist=result.offer_hist,
            **{key: np.array(value) for key, value in label.items()},
        )
        timeline.add(result)
        on_chunk(sizes[index])


def _assemble(
    scenario: Scenario, out: Path, timeline: Timeline, chunks: int, events: pd.DataFrame
) -> dict:
    """Join the saved chunks into runs.parquet; write timeline, events, summary and report."""
    runs = store.TableWriter(out / "runs.parquet")
    try:
        for index in range(chunks):
            table = pq.read_table(_runs_path(out, index))
            runs.write({name: table.column(name) for name in table.column_names})
        runs.close()
    except BaseException:
        runs.abandon()
        raise
    weekly = timeline.table()
    store.write_frame(out / "timeline.parquet", weekly)
    store.write_frame(out / "events.parquet", events)
    summary = summarize(ParquetColumns(out / "runs.parquet"), timeline, scenario)
    for name, forced in summary_entries(events).items():
        summary["events"][name]["forced"] = forced
    store.write_json(out / "summary.json", summary)
    report.write_run_report(out, scenario, summary, weekly)
    return summary


def _runs_path(out: Path, index: int) -> Path:
    return out / CHUNKS / f"runs-{index:05d}.parquet"


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
        if label.pop("runs_sha256", None) != store.digest(_runs_path(out, index)):
            altered = "was simulated for another seed, scenario or range of lanes"
            return None, altered if label != expect else "was altered since it was saved"
        table = pq.read_table(_runs_path(out, index))
        runs = {name: table.column(name).to_numpy() for name in table.column_names[1:]}
    except Exception as err:  # any damage: zip, npy, Parquet, a missing file
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
