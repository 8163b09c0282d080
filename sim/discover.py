"""Scenario discovery: under which conditions does an outcome hold? PRIM boxes over the lanes'
inputs (EMA Workbench), a CART tree as a second view and extra-trees feature scores.

The conditions are what a lane was dealt before the talks began: its uncertain inputs
(`input.*` columns), a sweep point's parameters, and for each event the week it would fire if
the talks were still open. That week is read from the common random numbers, not from the
lane's history, so it does not lean toward long talks (an event fires only in open talks).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import store
from sim.calendar import Clock
from sim.errors import NegsimError
from sim.events import compile_events
from sim.labels import event_label, path_label, value_text
from sim.loader import ScenarioError, load_scenario
from sim.outcomes import Measure, outcome, outcome_names
from sim.scenario import Scenario
from sim.streams import uniform

MIN_DENSITY = 0.8  # the chosen box reaches at least this density (see `target_density`)
MAX_LANES = 100_000  # lanes used from a bigger run or sweep (a seeded random sample)
ANY_BOX = 1e-9  # PRIM threshold: y is 0/1, so the same cases of interest as any in (0, 1]
SIGNIFICANT = 0.05  # a restriction enters the rule when its quasi-p-value is at most this


class DiscoverError(NegsimError):
    """Bad input: unknown outcome, a folder without inputs, an outcome the same in every lane."""


@dataclass
class Feature:
    """One condition a lane was dealt: its column, label and how its values read."""

    key: str
    label: str
    kind: str  # "number", "fires" (0/1: a scheduled event) or "week" (a random event's week)


@dataclass
class Cases:
    """The lanes to explain: features per lane and whether the outcome held."""

    scenario: Scenario
    outcome: Measure
    x: pd.DataFrame
    y: np.ndarray
    features: dict[str, Feature]
    source: str  # "run" or "sweep"

    @property
    def clock(self) -> Clock:
        return Clock.from_calendar(self.scenario.calendar)


@dataclass
class Box:
    """A PRIM box: its limits on the restricted features and how good it is."""

    index: int
    coverage: float
    density: float
    mass: float
    lanes: int
    limits: dict[str, tuple[float, float]]  # restricted features only
    qp: dict[str, float] = field(default_factory=dict)  # quasi-p-value per restriction


def read_cases(folder: Path, name: str) -> Cases:
    """The lanes of a finished run or sweep folder, with the outcome `name` per lane."""
    manifest = store.read_manifest(folder)
    if manifest.get("status") != "complete":
        raise DiscoverError(f"{folder}: {manifest.get('kind', 'run')} is not complete")
    try:
        scenario = load_scenario(folder / "scenario.yaml")
    except ScenarioError as err:
        raise DiscoverError(str(err)) from None
    if manifest.get("kind") == "sweep":
        runs, features = _sweep_lanes(folder, scenario)
        source = "sweep"
    else:
        runs = _sample(_lane_columns(folder / "runs.parquet"), scenario.seed)
        features = _input_features(scenario, runs)
        weeks, event_features = event_weeks(scenario, runs)
        runs = pd.concat([runs, weeks], axis=1)
        features |= event_features
        source = "run"
    flags = [c for c in runs.columns if runs[c].dtype == bool]
    measure = outcome(name, scenario, flags)
    if measure is None:
        names = outcome_names(scenario)
        same = {"agreed", *(n.removeprefix("p_") for n in names)}  # a headline under its own name
        choices = ", ".join(names + [c for c in flags if c not in same])
        raise DiscoverError(f"--outcome {name}: unknown outcome; choose one of {choices}")
    if not features:
        raise DiscoverError(
            f"{folder}: no inputs to explain (no uncertain inputs, sweep parameters or events)"
        )
    y = np.asarray(measure.lanes(runs), dtype=bool)
    if y.all() or not y.any():
        said = "every" if y.all() else "no"
        raise DiscoverError(f"--outcome {name}: holds in {said} lane; nothing to discover")
    x = runs[list(features)].astype(float).reset_index(drop=True)
    return Cases(scenario, measure, x, y, features, source)


def _lane_columns(path: Path) -> pd.DataFrame:
    """The columns discover can use from a runs.parquet: inputs, yes/no outcomes and what the
    headline measures are computed from (not packages, utilities or event counts)."""
    schema = pq.read_schema(path)
    keep = [
        f.name
        for f in schema
        if f.name.startswith("input.")
        or f.name in ("lane", "agreed_week")
        or pa.types.is_boolean(f.type)
    ]
    return pd.read_parquet(path, columns=keep)


def _sample(runs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """At most MAX_LANES lanes (a seeded random sample): PRIM and the trees need no more."""
    if len(runs) <= MAX_LANES:
        return runs
    return runs.sample(MAX_LANES, random_state=seed % 2**32).sort_index()


def _input_features(scenario: Scenario, runs: pd.DataFrame) -> dict[str, Feature]:
    """The uncertain inputs drawn per lane that vary."""
    found = {}
    for column in runs.columns:
        if column.startswith("input.") and runs[column].nunique() > 1:
            path = column.removeprefix("input.")
            found[column] = Feature(column, path_label(scenario, path), "number")
    return found


def event_weeks(scenario: Scenario, runs: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """For each event, the week it fires in each lane if the talks are still open then
    (never: the number of weeks to the horizon), from the same draws as the model's."""
    clock = Clock.from_calendar(scenario.calendar)
    lanes = runs["lane"].to_numpy().astype(np.uint64)
    columns, features = {}, {}
    for trig in compile_events(scenario, clock):
        event = scenario.events[trig.name]
        kind = "fires" if event.date is not None else "week"
        chance_path = f"input.events.{trig.name}.{'probability' if kind == 'fires' else 'hazard'}"
        chance = runs[chance_path].to_numpy() if chance_path in runs else trig.chance
        week = np.full(len(lanes), clock.weeks)
        for w in range(max(trig.first, 0), min(trig.last, clock.weeks - 1) + 1):
            draw = uniform(scenario.seed, f"event:{trig.name}", lanes, w)
            week[(week == clock.weeks) & (draw < chance)] = w
        key = f"event.{trig.name}"
        columns[key] = (week < clock.weeks).astype(int) if kind == "fires" else week
        if np.ptp(columns[key]) > 0:
            features[key] = Feature(key, event_label(scenario, trig.name), kind)
    return pd.DataFrame(columns, index=runs.index), features


def _sweep_lanes(folder: Path, scenario: Scenario) -> tuple[pd.DataFrame, dict[str, Feature]]:
    """Every lane of every finished point, with the point's parameters as columns."""
    design = pd.read_parquet(folder / "design.parquet").set_index("point")
    params = [c for c in design.columns if design[c].nunique() > 1]
    frames = []
    for point in design.index:
        path = folder / "points" / f"{point:05d}" / "runs.parquet"
        if path.is_file():
            frame = _lane_columns(path)
            for p in params:
                frame[f"param.{p}"] = float(design.at[point, p])
            frames.append(frame)
    if not frames:
        raise DiscoverError(f"{folder}: no finished sweep points")
    runs = _sample(pd.concat(frames, ignore_index=True), scenario.seed)
    features = {
        f"param.{p}": Feature(f"param.{p}", path_label(scenario, p), "number") for p in params
    }
    return runs, features | _input_features(scenario, runs)


def target_density(share: float) -> float:
    """Density the chosen box must reach by default: halfway from the base rate to certainty,
    and at least MIN_DENSITY (so a common outcome is not 'explained' by the whole space)."""
    return max(MIN_DENSITY, (1 + share) / 2)


def prim_boxes(cases: Cases, min_density: float) -> tuple[list[Box], int]:
    """The peeling trajectory of PRIM as boxes, and the index of the chosen one: the widest
    (highest coverage, then densest) box whose density reaches `min_density`, else the densest.

    PRIM is asked for any box with a lane where the outcome holds (ANY_BOX): given the target,
    EMA Workbench would swap a box short of it for its whole-space box, dropping the trajectory
    the fallback picks from."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA warns about optional parallel back-ends
        from ema_workbench.analysis import prim

        found = prim.Prim(cases.x, cases.y, threshold=ANY_BOX).find_box()
    full = found.prim.box_init
    boxes = []
    for i, row in found.peeling_trajectory.iterrows():
        lims = found.box_lims[i]
        limits = {
            c: (float(lims.at[0, c]), float(lims.at[1, c]))
            for c in cases.x.columns
            if (lims.at[0, c], lims.at[1, c]) != (full.at[0, c], full.at[1, c])
        }
        qp = {c: float(max(v)) for c, v in found.qp[i].items()} if i < len(found.qp) else {}
        boxes.append(
            Box(
                int(i),
                float(row["coverage"]),
                float(row["density"]),
                float(row["mass"]),
                int(row["n"]),
                limits,
                qp,
            )
        )
    dense = [b for b in boxes if b.density >= min_density]
    best = max(dense, key=lambda b: (b.coverage, b.density)) if dense else None
    chosen = best or max(boxes, key=lambda b: b.density)
    return boxes, chosen.index


def condition(cases: Cases, key: str, low: float, high: float) -> str:
    """One restriction of a box in words: 'Russia: walk-away margin <= 1.26'."""
    feature = cases.features[key]
    full_low, full_high = float(cases.x[key].min()), float(cases.x[key].max())
    if feature.kind == "fires":
        return f"{feature.label} ({'happens' if low > 0 else 'does not happen'})"
    if feature.kind == "week":
        clock, never = cases.clock, cases.clock.weeks
        parts = []
        if low > full_low:
            parts.append(f"not before {clock.date(math.ceil(low))}")
        if high < never:
            parts.append(f"by {clock.date(math.floor(high))}")
        return f"{feature.label}: {' and '.join(parts)}" if parts else feature.label
    if low > full_low and high < full_high:
        return f"{feature.label} between {value_text(low)} and {value_text(high)}"
    if low > full_low:
        return f"{feature.label} >= {value_text(low)}"
    return f"{feature.label} <= {value_text(high)}"


def rule(cases: Cases, box: Box) -> tuple[str, list[str]]:
    """The box as a sentence, and the restrictions left out as not significant."""
    kept = [k for k in box.limits if box.qp.get(k, 0.0) <= SIGNIFICANT] or list(box.limits)
    dropped = [k for k in box.limits if k not in kept]
    words = [condition(cases, k, *box.limits[k]) for k in kept]
    share = cases.y.mean()
    if not words:
        return f"{cases.outcome.label}: no box beats the {share:.0%} of all lanes", []
    text = (
        f"{cases.outcome.label}: {box.density:.0%} of lanes (against {share:.0%} in all) when "
        + " and ".join(words)
        + f". The box holds {box.mass:.0%} of the lanes and {box.coverage:.0%} of those where "
        "the outcome holds."
    )
    return text, [cases.features[k].label for k in dropped]


def cart_leaves(cases: Cases, seed: int, depth: int = 3) -> tuple[list[dict], str]:
    """A CART tree (scikit-learn): its leaves as rules with their share, and the tree as text."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    leaf = max(10, len(cases.y) // 50)
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(cases.x.to_numpy(), cases.y)
    names = [cases.features[c].label for c in cases.x.columns]
    t = tree.tree_
    leaves: list[dict] = []

    def walk(node: int, bounds: dict[str, tuple[float, float]]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            share = float(counts[-1] / counts.sum()) if len(counts) > 1 else float(tree.classes_[0])
            path = [condition(cases, key, *limits) for key, limits in bounds.items()]
            rule = " and ".join(path) or "all lanes"
            leaves.append({"rule": rule, "lanes": int(t.n_node_samples[node]), "share": share})
            return
        key, cut = cases.x.columns[t.feature[node]], float(t.threshold[node])
        low, high = bounds.get(key, (float(cases.x[key].min()), float(cases.x[key].max())))
        walk(t.children_left[node], {**bounds, key: (low, min(high, cut))})
        walk(t.children_right[node], {**bounds, key: (max(low, np.nextafter(cut, math.inf)), high)})

    walk(0, {})
    return leaves, export_text(tree, feature_names=names, show_weights=False)


def feature_scores(cases: Cases, seed: int) -> pd.DataFrame:
    """Extra-trees importance of each feature for the outcome (scikit-learn), highest first."""
    from sklearn.ensemble import ExtraTreesClassifier

    forest = ExtraTreesClassifier(
        n_estimators=200, min_samples_leaf=max(1, len(cases.y) // 200), random_state=seed, n_jobs=1
    )
    forest.fit(cases.x.to_numpy(), cases.y)
    frame = pd.DataFrame(
        {
            "feature": list(cases.x.columns),
            "label": [cases.features[c].label for c in cases.x.columns],
            "score": forest.feature_importances_,
        }
    )
    return frame.sort_values("score", ascending=False, ignore_index=True)


@dataclass
class Discovery:
    """Everything discover found, ready for the terminal, discover.parquet and discover.html."""

    cases: Cases
    boxes: list[Box]
    chosen: int
    rule: str
    dropped: list[str]
    leaves: list[dict]
    tree_text: str
    scores: pd.DataFrame
    target: float  # the density the chosen box was to reach

    @property
    def box(self) -> Box:
        return self.boxes[self.chosen]

    @property
    def reaches_target(self) -> bool:
        """False when no box reached the target density and the chosen one is the densest."""
        return self.box.density >= self.target


def discover(folder: Path, name: str, min_density: float | None = None) -> Discovery:
    """Read a run or sweep folder and find the conditions under which outcome `name` holds."""
    if min_density is not None and not 0 < min_density <= 1:
        raise DiscoverError(f"--density {min_density}: must be above 0 and at most 1")
    cases = read_cases(folder, name)
    seed = cases.scenario.seed
    target = min_density or target_density(float(cases.y.mean()))
    boxes, chosen = prim_boxes(cases, target)
    text, dropped = rule(cases, boxes[chosen])
    leaves, tree_text = cart_leaves(cases, seed)
    return Discovery(
        cases, boxes, chosen, text, dropped, leaves, tree_text, feature_scores(cases, seed), target
    )


def trajectory_table(found: Discovery) -> pd.DataFrame:
    """discover.parquet: one row per box of the peeling trajectory, with its limits."""
    rows = []
    for box in found.boxes:
        row = {
            "box": box.index,
            "chosen": box.index == found.chosen,
            "reaches_target": box.density >= found.target,
            "coverage": box.coverage,
            "density": box.density,
            "mass": box.mass,
            "lanes": box.lanes,
            "restricted": len(box.limits),
        }
        for key in found.cases.x.columns:
            low, high = box.limits.get(key, (math.nan, math.nan))
            row |= {f"{key}:low": low, f"{key}:high": high}
        rows.append(row)
    return pd.DataFrame(rows)


def write_results(out: Path, found: Discovery, command: list[str] | None = None) -> None:
    """discover.parquet (the trajectory) and discover.json (rule, tree leaves, feature scores)."""
    table = trajectory_table(found)
    tmp = out / ".discover.parquet.partial"
    table.to_parquet(tmp, index=False)
    tmp.replace(out / "discover.parquet")
    cases = found.cases
    store.write_json(
        out / "discover.json",
        {
            "outcome": cases.outcome.key,
            "lanes": len(cases.y),
            "share": float(cases.y.mean()),
            "rule": found.rule,
            "not_significant": found.dropped,
            "target_density": found.target,
            "box": {
                "reaches_target": found.reaches_target,
                "coverage": found.box.coverage,
                "density": found.box.density,
                "mass": found.box.mass,
                "limits": found.box.limits,
                "qp": found.box.qp,
            },
            "cart": found.leaves,
            "feature_scores": found.scores.to_dict("records"),
            "features": {k: f.label for k, f in cases.features.items()},
        },
    )


def start_discover(out: Path, source: Path, name: str, command: list[str] | None) -> None:
    """A fresh discover folder with a manifest saying 'running'."""
    store.prepare_folder(out)
    manifest = {
        "status": "running",
        "kind": "discover",
        "source": str(source),
        "outcome": name,
        "command": command or [],
        "started": store.now(),
        "versions": store.versions(),
    }
    store.write_json(out / "manifest.json", manifest)


def finish(out: Path) -> None:
    """Mark a discover folder complete."""
    manifest = json.loads((out / "manifest.json").read_text())
    store.write_json(
        out / "manifest.json", {**manifest, "status": "complete", "finished": store.now()}
    )
