"""Parameter sweeps: design points of a scenario run chunk by chunk on any executor, resumably.

Every point uses the same seed (common random numbers), so differences between points are
the parameters' doing, not noise. A point is finished when its `point.json` exists; `resume`
runs only the points without one.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from sim import columns as col
from sim import store
from sim.designs import METHODS, Param, design, parse_param, sobol_indices
from sim.ensemble import CHUNK_LANES, Task, chunk_sizes, schedule
from sim.errors import NegsimError, Stopped
from sim.executors import Pool
from sim.interrupt import stop_on_signals
from sim.loader import ScenarioError, apply_override, bound_inputs, document, split_inputs
from sim.model import ChunkResult
from sim.outcomes import Columns, Measure, headline_measures
from sim.packed import (
    InOrder,
    PackedTask,
    packed_chunks,
    packed_lanes,
    point_values,
    unpackable,
)
from sim.run import CHUNKS, Chunks, RunFailed, lay_out, resolved_yaml
from sim.scenario import Scenario


class SweepError(NegsimError):
    """A sweep folder cannot be resumed."""


@dataclasses.dataclass(frozen=True)
class PointFailure:
    """A design point whose simulation raised, or whose worker crashed twice."""

    point: int
    params: dict[str, Any]
    error: str

    def __str__(self) -> str:
        values = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"point {self.point} ({values}) failed: {self.error}"


class PointsFailed(Stopped):
    """Some design points failed; every other point finished and was kept."""

    def __init__(self, failures: list[PointFailure]) -> None:
        super().__init__(f"{len(failures)} design point(s) failed")
        self.failures = failures


OnProgress = Callable[[int, int], None]  # (points finished, lanes finished) since the last call


def point_scenario(base: dict, values: dict[str, Any]) -> Scenario:
    """The base scenario with one design point's values set (ScenarioError if invalid)."""
    data = copy.deepcopy(base)
    for path, value in values.items():
        try:
            apply_override(data, tuple(path.split(".")), value, f"{path}={value}")
        except ScenarioError as err:  # the loader speaks of --set; here the user wrote --param
            raise ScenarioError(f"--param{str(err).removeprefix('--set')}") from None
    data, found = split_inputs(data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_explain(err, data, values)) from None
    return scenario.with_inputs(bound_inputs(scenario, found))


def _explain(err: ValidationError, data: dict, values: dict[str, Any]) -> str:
    """One line naming the --param at fault: an unknown key (with a guess) or a bad value."""
    first = err.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    culprit = next((k for k in values if tuple(k.split(".")) == loc[: len(k.split("."))]), None)
    if culprit is None:
        culprit = next(iter(values))
    if first["type"] == "extra_forbidden":
        node: Any = data
        for part in loc[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        close = difflib.get_close_matches(loc[-1], [str(k) for k in node if k != loc[-1]], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"--param {culprit}: no key '{loc[-1]}' in the scenario{hint}"
    return f"--param {culprit}={values[culprit]}: {'.'.join(loc)}: {first['msg']}"


def _typed(param: Param, base: dict) -> Param:
    """Mark a range as integer where the scenario holds a whole number (e.g. weeks)."""
    node: Any = base
    for part in param.path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return param
    whole = isinstance(node, int) and not isinstance(node, bool)
    return dataclasses.replace(param, integer=True) if whole and param.is_range else param


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """A checked sweep, not yet on disk: the resolved base, its parameters and design points."""

    base: Scenario
    resolved: dict[str, Any]
    params: list[Param]
    points: list[dict[str, Any]]
    method: str
    samples: int
    description: str = ""
    packed: bool = False  # lanes of many points share chunks (sim/packed.py)

    @property
    def tasks(self) -> int:
        """Chunks to simulate: the most worker processes that can be busy."""
        if self.packed:
            return len(packed_chunks(len(self.points), self.base.replications))
        return len(self.points) * len(chunk_sizes(self.base.replications))


def plan_sweep(
    base: Scenario,
    params: list[Param],
    *,
    method: str = "grid",
    samples: int = 64,
    description: str = "",
    packed: bool = False,
) -> SweepPlan:
    """Check every design point of a sweep (ScenarioError, DesignError) without writing.

    A packed sweep sets its parameters lane by lane, each within its field's bounds, so it
    checks the points where some parameter is at its lowest or highest (and refuses a
    parameter the model cannot hold per lane)."""
    resolved = document(base)
    params = [_typed(p, resolved) for p in params]
    points = design(params, method, samples, base.seed)
    if packed and (fixed := unpackable([p.path for p in params])):
        raise SweepError(
            f"--packed: {', '.join(fixed)} cannot differ lane by lane; sweep without --packed"
        )
    for index in extremes(points) if packed else range(len(points)):
        point_scenario(resolved, points[index])
    return SweepPlan(base, resolved, params, points, method, samples, description, packed)


def extremes(points: list[dict[str, Any]]) -> list[int]:
    """The first point and, per parameter, the points at its lowest and highest value."""
    frame = pd.DataFrame(points)
    picks = {0}
    for path in frame.columns:
        picks |= {int(frame[path].to_numpy().argmin()), int(frame[path].to_numpy().argmax())}
    return sorted(picks)


def start_sweep(
    base: Scenario,
    params: list[Param],
    out: Path,
    *,
    method: str = "grid",
    samples: int = 64,
    command: list[str] | None = None,
    description: str = "",
) -> list[dict[str, Any]]:
    """Check every design point, then lay out a fresh sweep folder (design, base, manifest)."""
    plan = plan_sweep(base, params, method=method, samples=samples)
    lay_out_sweep(plan, out, command)
    return plan.points


def lay_out_sweep(plan: SweepPlan, out: Path, command: list[str] | None = None) -> None:
    """Write a checked plan into a fresh sweep folder: scenario, design and manifest."""
    with store.new_folder(out), store.laying_out(out):
        store.write_atomic(out / "scenario.yaml", yaml.safe_dump(plan.resolved, sort_keys=False))
        frame = pd.DataFrame(plan.points)
        frame.insert(0, "point", np.arange(len(plan.points)))
        total = len(plan.points) * plan.base.replications
        store.write_frame(out / "design.parquet", frame)
        manifest = {
            "status": "running",
            "kind": "sweep",
            "scenario": plan.base.name,
            "description": plan.description,
            "seed": plan.base.seed,
            "replications": plan.base.replications,
            "chunk_lanes": packed_lanes(total) if plan.packed else CHUNK_LANES,
            "method": plan.method,
            "samples": plan.samples,
            "params": [p.spec for p in plan.params],
            "points": len(plan.points),
            "packed": plan.packed,
            "command": command or [],
            "started": store.now(),
            "versions": store.versions(),
        }
        store.write_json(out / "manifest.json", manifest)


def _sweep_manifest(out: Path) -> dict:
    """The manifest of a sweep folder, checked (SweepError naming the file if it is damaged)."""
    if not (out / "manifest.json").is_file() or not (out / "design.parquet").is_file():
        raise SweepError(f"{out}: not a sweep folder (no manifest.json and design.parquet)")
    try:
        manifest = store.read_manifest(out)
    except store.StoreError as err:
        raise SweepError(str(err)) from None
    for key in ("points", "replications", "seed"):
        if type(manifest.get(key)) is not int or manifest[key] < 0:
            raise SweepError(f"{out / 'manifest.json'}: {key}: not a whole number")
    if not isinstance(manifest.get("params"), list) or manifest.get("method") not in METHODS:
        raise SweepError(f"{out / 'manifest.json'}: params or method: missing or damaged")
    return manifest


def remaining(out: Path) -> tuple[int, int, int]:
    """Points, lanes and chunks still to simulate in the sweep folder `out` (SweepError if not
    one); the saved chunks of half-done points count as done."""
    manifest = _sweep_manifest(out)
    if manifest.get("packed"):
        if manifest.get("status") == "complete":
            return 0, 0, 0
        spans = _packed_spans(manifest)
        left = [n for n, span in enumerate(spans) if not _packed_saved(out, n, span)]
        return manifest["points"], sum(spans[n][1] - spans[n][0] for n in left), len(left)
    sizes = chunk_sizes(manifest["replications"], manifest.get("chunk_lanes", CHUNK_LANES))
    points = lanes = chunks = 0
    for index in range(manifest["points"]):
        folder = _point_dir(out, index)
        if (folder / "point.json").exists():
            continue
        left = [
            n for i, n in enumerate(sizes) if not (folder / CHUNKS / f"counts-{i:05d}.npz").exists()
        ]
        points, lanes, chunks = points + 1, lanes + sum(left), chunks + len(left)
    return points, lanes, chunks


def run_sweep(
    out: Path, pool: Pool, on_progress: OnProgress = lambda points, lanes: None
) -> pd.DataFrame:
    """Simulate every unfinished point of the sweep in `out` (each point a run folder, its chunks
    saved as they finish); write sweep.parquet and sweep.html."""
    started = time.perf_counter()
    with store.owned(out):
        manifest = _sweep_manifest(out)
        base, points = _read_layout(out)
        manifest.update(status="running", where=pool.where, failed=[])
        store.write_json(out / "manifest.json", manifest)
        if manifest.get("packed"):
            table = _run_packed(out, manifest, base, points, pool, on_progress)
            table = _finish(out, manifest, [], started, table)
            shutil.rmtree(out / CHUNKS, ignore_errors=True)  # the lanes are summed up
            return table
        sweep = _Points(out, base, points, manifest.get("chunk_lanes", CHUNK_LANES), on_progress)
        with stop_on_signals():
            try:
                for task, outcome in schedule(sweep.tasks(), pool):
                    sweep.take(task, outcome)
            except BaseException:
                store.remove_partials(out)
                with suppress(store.DiskError):
                    store.write_json(out / "manifest.json", {**manifest, "status": "interrupted"})
                raise
        return _finish(out, manifest, sweep.failures, started)


class _Points:
    """The unfinished points of a sweep: each opened as a run folder just before its chunks go
    out, and closed (assembled, point.json written) as soon as its last chunk is saved."""

    def __init__(
        self, out: Path, base: dict, points: list[dict], chunk: int, on_progress: OnProgress
    ) -> None:
        self.out, self.base, self.points, self.chunk = out, base, points, chunk
        self.on_progress = on_progress
        self.open: dict[int, Chunks] = {}
        self.failures: list[PointFailure] = []

    def tasks(self) -> Iterator[Task]:
        """The chunks still to simulate, point by point, each labelled (point, chunk)."""
        for index, values in enumerate(self.points):
            if (_point_dir(self.out, index) / "point.json").exists():
                continue
            run = self._open(index, values)
            if run is None:
                continue
            self.open[index] = run
            if run.complete:
                self._close(index)
            yield from run.tasks(lambda i, point=index: (point, i))

    def take(self, task: Task, outcome: ChunkResult | Exception) -> None:
        """Save a finished chunk, closing its point when it was the last; note a failed one."""
        point = task.label[0]
        if isinstance(outcome, Exception):
            if all(f.point != point for f in self.failures):
                self.failures.append(PointFailure(point, self.points[point], _one_line(outcome)))
                self.on_progress(1, 0)
            return
        run = self.open[point]
        run.save(task.index, outcome)
        self.on_progress(0, task.lanes)
        if run.complete and all(f.point != point for f in self.failures):
            self._close(point)

    def _open(self, index: int, values: dict[str, Any]) -> Chunks | None:
        """The point's run folder, laid out afresh unless it holds this point's run; None if it
        was assembled already (its point.json is then written here)."""
        folder = _point_dir(self.out, index)
        scenario = point_scenario(self.base, values)
        text = resolved_yaml(scenario)
        manifest = _point_manifest(folder, scenario, text, self.chunk)
        if manifest is None:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            extra = {"point": index, "sweep": ".."}
            manifest = lay_out(scenario, folder, chunk=self.chunk, extra=extra, text=text)
        elif manifest["status"] == "complete":
            _write_point(folder, index, values, scenario, store.read_json(folder / "summary.json"))
            self.on_progress(1, 0)
            return None
        return Chunks.open(folder, scenario, manifest)

    def _close(self, index: int) -> None:
        """Assemble a point whose chunks are all saved; its point.json marks it finished."""
        run = self.open.pop(index)
        summary = run.assemble(None)
        run.finish()
        _write_point(run.out, index, self.points[index], run.scenario, summary)
        self.on_progress(1, 0)


def _point_manifest(folder: Path, scenario: Scenario, text: str, chunk: int) -> dict | None:
    """The manifest of a point folder that holds this very run (scenario, seed, chunking), or
    None if the folder must be laid out afresh."""
    try:
        if (folder / "scenario.yaml").read_text(encoding="utf-8") != text:
            return None
        manifest = store.read_manifest(folder)
    except (OSError, UnicodeDecodeError, store.StoreError):
        return None
    expect = {
        "seed": scenario.seed,
        "chunk_lanes": chunk,
        "trace": 0,
        "scenario_sha256": store.digest(folder / "scenario.yaml"),
    }
    if any(manifest.get(key) != value for key, value in expect.items()):
        return None
    return manifest


def _read_layout(out: Path) -> tuple[dict, list[dict[str, Any]]]:
    """The base scenario and design points of a sweep folder (SweepError naming a damaged file)."""
    try:
        base = yaml.safe_load((out / "scenario.yaml").read_text(encoding="utf-8"))
        points = pd.read_parquet(out / "design.parquet").drop(columns="point").to_dict("records")
    except Exception as err:  # YAML, Parquet, a missing column or file: the folder is damaged
        raise SweepError(f"{out}: scenario.yaml or design.parquet is damaged ({err})") from None
    if not isinstance(base, dict):
        raise SweepError(f"{out / 'scenario.yaml'}: not a scenario")
    return base, points


def _finish(
    out: Path,
    manifest: dict,
    failures: list[PointFailure],
    started: float,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write sweep.parquet, sobol.parquet, sweep.html and the final manifest."""
    manifest["failed"] = [dataclasses.asdict(f) for f in failures]
    table = collect(out) if table is None else table
    if table.empty:
        store.write_json(out / "manifest.json", {**manifest, "status": "incomplete"})
        raise PointsFailed(failures)
    store.write_frame(out / "sweep.parquet", table)
    params = [parse_param(spec) for spec in manifest["params"]]
    indices = None
    if manifest["method"] == "sobol" and not failures:  # Saltelli's estimator needs every point
        indices = sobol_table(params, table, manifest["seed"])
        store.write_frame(out / "sobol.parquet", indices)
    from sim.sweep_report import write_sweep_report

    write_sweep_report(out, manifest, params, table, indices)
    manifest.update(
        status="incomplete" if failures else "complete",
        finished=store.now(),
        seconds={"last_session": round(time.perf_counter() - started, 3)},
    )
    store.write_json(out / "manifest.json", manifest)
    if failures:
        raise PointsFailed(failures)
    return table


def _packed_spans(manifest: dict) -> list[tuple[int, int]]:
    chunk = manifest.get("chunk_lanes", CHUNK_LANES)
    return packed_chunks(manifest["points"], manifest["replications"], chunk)


def _packed_path(out: Path, index: int) -> Path:
    return out / CHUNKS / f"packed-{index:05d}.npz"


def _save_packed(out: Path, index: int, span: tuple[int, int], lanes: dict) -> None:
    """A finished packed chunk, as plain arrays (its lanes' points follow from its span):
    about a tenth of the cost of a compressed Parquet file, on the main process."""
    columns = {k: v for k, v in lanes.items() if k != "point"}
    store.write_arrays(_packed_path(out, index), span=np.array(span), **columns)


def _packed_saved(out: Path, index: int, span: tuple[int, int]) -> bool:
    """Is packed chunk `index` on disk whole (its span, its lane count)? A damaged one is
    simulated again."""
    try:
        with np.load(_packed_path(out, index)) as found:
            lanes = len(found[col.AGREED])
            return tuple(found["span"].tolist()) == span and lanes == span[1] - span[0]
    except Exception:  # missing, cut short or not an .npz file: simulate it again
        return False


def _run_packed(
    out: Path,
    manifest: dict,
    base: dict,
    points: list[dict[str, Any]],
    pool: Pool,
    on_progress: OnProgress,
) -> pd.DataFrame:
    """Simulate the packed chunks not yet saved, each saved as it finishes; every point's
    outputs are computed as soon as the chunks holding its lanes are in (in grid order)."""
    scenario = point_scenario(base, points[0])  # the swept paths are then set lane by lane
    reps, seed = manifest["replications"], manifest["seed"]
    spans = _packed_spans(manifest)
    (out / CHUNKS).mkdir(exist_ok=True)
    values = point_values(points)
    saved = {n for n, span in enumerate(spans) if _packed_saved(out, n, span)}
    todo = (
        PackedTask.of(scenario, values, reps, seed, n, spans[n])
        for n in range(len(spans))
        if n not in saved
    )
    taken = InOrder(scenario)

    def take(index: int, lanes: Callable[[], dict[str, np.ndarray]]) -> None:
        on_progress(taken.add(index, lanes), 0)

    for n in sorted(saved):  # saved by an earlier session: read from disk when their turn comes
        take(n, partial(_read_packed, out, n, reps))
    with stop_on_signals():
        try:
            for task, outcome in schedule(todo, pool):
                if isinstance(outcome, Exception):
                    raise RunFailed(
                        f"packed chunk {task.index} (lanes {task.start}..{task.stop - 1} of the "
                        f"points x replications grid) failed: {_one_line(outcome)}"
                    ) from outcome
                _save_packed(out, task.index, (task.start, task.stop), outcome)
                on_progress(0, task.lanes)
                take(task.index, lambda outcome=outcome: outcome)
        except BaseException:
            store.remove_partials(out)
            with suppress(store.DiskError):
                store.write_json(out / "manifest.json", {**manifest, "status": "interrupted"})
            raise
    on_progress(taken.end(), 0)
    return taken.frame(points)


def _read_packed(out: Path, index: int, reps: int) -> dict[str, np.ndarray]:
    """A saved packed chunk's lanes, with their points, as `run_packed_chunk` gave them."""
    with np.load(_packed_path(out, index)) as found:
        start, stop = found["span"].tolist()
        lanes = {k: found[k] for k in found.files if k != "span"}
    return {"point": np.arange(start, stop) // reps, **lanes}


def _one_line(error: Exception) -> str:
    """An exception as one line: its type and message."""
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text}"


def _point_dir(out: Path, index: int) -> Path:
    return out / "points" / f"{index:05d}"


def _write_point(
    folder: Path, index: int, values: dict[str, Any], scenario: Scenario, summary: dict
) -> None:
    """`point.json` (written last, atomically): the point's parameters and headline outputs."""
    frame = pd.read_parquet(folder / "runs.parquet").drop(columns="lane")
    outputs = point_outputs(frame, scenario)
    store.write_json(folder / "point.json", {"point": index, "params": values, "outputs": outputs})


def sweep_measures(scenario: Scenario) -> list[Measure]:
    """The headline measures kept per design point: the shares over every lane and the means."""
    return [
        m
        for m in headline_measures(scenario)
        if m.kind == "mean" or (m.share and not m.signed_only)
    ]


def point_outputs(
    runs: Columns, scenario: Scenario, measures: list[Measure] | None = None
) -> dict[str, float]:
    """Headline outputs of one point, each with its 95% interval (`<name>_low`, `_high`);
    `measures` saves building the measure list again for each of many points."""
    row: dict[str, float] = {"replications": len(runs[col.AGREED])}
    for m in sweep_measures(scenario) if measures is None else measures:
        found = m.estimate(runs)
        row |= {
            m.column: found.estimate,
            f"{m.column}_low": found.low,
            f"{m.column}_high": found.high,
        }
    return row


def collect(out: Path) -> pd.DataFrame:
    """One row per finished point: its parameters and headline outputs, in design order."""
    rows = []
    for path in sorted((out / "points").glob("*/point.json")):
        try:
            record = store.read_json(path)
            rows.append({"point": record["point"], **record["params"], **record["outputs"]})
        except (store.StoreError, KeyError, TypeError) as err:
            raise SweepError(
                f"{path}: damaged ({err}); delete it to simulate the point again"
            ) from None
    return pd.DataFrame(rows).sort_values("point", ignore_index=True)


def headline_outputs(table: pd.DataFrame) -> list[str]:
    """The headline output columns of a sweep table: those with an interval beside them."""
    names = set(table.columns)
    return [c for c in table.columns if {f"{c}_low", f"{c}_high"} <= names]


def sobol_table(params: list[Param], table: pd.DataFrame, seed: int) -> pd.DataFrame:
    """First-order and total Sobol indices with 95% half-widths, per headline output."""
    rows = []
    for output in headline_outputs(table):
        values = table[output].to_numpy(dtype=float)
        if np.isnan(values).any() or np.ptp(values) == 0:
            continue  # e.g. mean utility where some points never agree, or a flat output
        found = sobol_indices(params, values, seed)
        for j, param in enumerate(params):
            rows.append(
                {"output": output, "parameter": param.path}
                | {k: float(v[j]) for k, v in found.items()}
            )
    return pd.DataFrame(rows, columns=["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
