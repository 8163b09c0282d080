"""One Monte Carlo run of a scenario into a results folder, chunk by chunk."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from sim import report, store
from sim.ensemble import CHUNK_LANES, chunk_sizes, make_executor, run_chunks
from sim.model import ChunkResult
from sim.outcomes import Timeline, summarize
from sim.scenario import Scenario


def run_scenario(
    scenario: Scenario,
    out: Path,
    *,
    workers: int = 1,
    trace: int = 0,
    command: list[str] | None = None,
    on_chunk: Callable[[int], None] = lambda lanes: None,
) -> dict:
    """Simulate `scenario.replications` lanes with `scenario.seed`; write every result file."""
    started = time.perf_counter()
    store.prepare_folder(out)
    resolved = scenario.model_dump(mode="json", exclude_none=True)
    store.write_atomic(out / "scenario.yaml", yaml.safe_dump(resolved, sort_keys=False))
    manifest = {
        "status": "running",
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "chunk_lanes": CHUNK_LANES,
        "workers": workers,
        "trace": trace,
        "command": command or [],
        "started": store.now(),
        "versions": store.versions(),
    }
    store.write_json(out / "manifest.json", manifest)
    runs = store.TableWriter(out / "runs.parquet")
    timeline = Timeline(scenario)
    sizes = chunk_sizes(scenario.replications)
    executor = make_executor(workers, len(sizes))
    try:
        for index, chunk in run_chunks(
            scenario, scenario.replications, scenario.seed, executor, trace
        ):
            runs.write(_lane_columns(index, chunk))
            timeline.add(chunk)
            if chunk.trace is not None:
                _write_traces(out / "traces.parquet", chunk.trace, scenario, timeline)
            on_chunk(sizes[index])
        runs.close()
    except BaseException:
        runs.abandon()
        store.write_json(out / "manifest.json", {**manifest, "status": "interrupted"})
        raise
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    simulated = time.perf_counter() - started
    weekly = timeline.table()
    _write_parquet(out / "timeline.parquet", weekly)
    summary = summarize(_read_runs(out, scenario), timeline, scenario)
    store.write_json(out / "summary.json", summary)
    report.write_run_report(out, scenario, summary, weekly)
    manifest.update(
        status="complete",
        finished=store.now(),
        seconds={"simulate": round(simulated, 3), "total": round(time.perf_counter() - started, 3)},
    )
    store.write_json(out / "manifest.json", manifest)
    return summary


def _lane_columns(index: int, chunk: ChunkResult) -> dict[str, np.ndarray]:
    lanes = len(chunk.runs["agreed"])
    lane = np.arange(lanes, dtype=np.int64) + index * CHUNK_LANES
    return {"lane": lane, **chunk.runs}


def _read_runs(out: Path, scenario: Scenario) -> pd.DataFrame:
    """The per-lane columns the summary needs (not the whole table)."""
    names = ["agreed", "agreed_week", "in_force"]
    names += [f"package_{i}" for i in scenario.issues]
    for p in scenario.party_names():
        names += [f"utility_{p}", f"ratified_{p}"]
    names += [f"event_{e}_week" for e in scenario.events]
    return pq.read_table(out / "runs.parquet", columns=names).to_pandas()


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


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
    _write_parquet(path, frame.dropna(subset=["offer"]))
