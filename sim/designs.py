"""Sweep designs: parameter specs (`lo:hi:n`, `a,b,c`, `lo:hi`) and grid, random, LHS, Sobol points."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.errors import NegsimError

METHODS = ("grid", "random", "lhs", "sobol")
MAX_POINTS = 100_000  # more design points than this is a typo, not a sweep


class DesignError(NegsimError):
    """A bad sweep specification, told in one line."""


@dataclass(frozen=True)
class Param:
    """One swept scenario value: a dotted path and either a range or a list of values."""

    path: str
    lo: float | None = None
    hi: float | None = None
    steps: int | None = None  # lo:hi:n gives n evenly spaced grid values
    values: tuple[Any, ...] | None = None  # a,b,c
    integer: bool = False  # the scenario holds a whole number here: values are rounded

    @property
    def is_range(self) -> bool:
        """True for `lo:hi` and `lo:hi:n`, which sampled designs draw from continuously."""
        return self.values is None

    def grid_values(self) -> list[Any]:
        """The values a grid design takes for this parameter."""
        if self.values is not None:
            return list(self.values)
        if self.steps is None:
            raise DesignError(f"--param {self.spec}: a grid needs lo:hi:n or a list a,b,c")
        return [self.cast(v) for v in np.linspace(self.lo, self.hi, self.steps)]

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map points of [0, 1) to this parameter: a range linearly, a list by index."""
        if self.values is not None:
            picks = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in picks]
        return [self.cast(self.lo + x * (self.hi - self.lo)) for x in u]

    def cast(self, value: float) -> Any:
        """Plain Python number (rounded for integer parameters), so YAML and Parquet take it."""
        return round(float(value)) if self.integer else float(value)

    @property
    def spec(self) -> str:
        """The spec as the user would write it."""
        if self.values is not None:
            body = ",".join(str(v) for v in self.values)
        else:
            body = f"{self.lo:g}:{self.hi:g}" + (f":{self.steps}" if self.steps else "")
        return f"{self.path}={body}"


def parse_param(text: str) -> Param:
    """Parse `path=lo:hi:n`, `path=a,b,c` or `path=lo:hi` into a Param (DesignError if bad)."""
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise DesignError(f"--param {text}: expected PATH=lo:hi:n, PATH=a,b,c or PATH=lo:hi")
    if any(not part for part in path.split(".")):
        raise DesignError(f"--param {text}: empty part in key path '{path}'")
    if "," in spec:
        values = tuple(_scalar(text, v) for v in spec.split(","))
        return Param(path, values=values)
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise DesignError(f"--param {text}: expected lo:hi:n, a,b,c or lo:hi")
    lo, hi = (_number(text, p) for p in parts[:2])
    if not lo < hi:
        raise DesignError(f"--param {text}: lo must be below hi")
    steps = None
    if len(parts) == 3:
        n = _number(text, parts[2])
        if not isinstance(n, int) or not 2 <= n <= MAX_POINTS:
            raise DesignError(f"--param {text}: n must be a whole number from 2 to {MAX_POINTS:,}")
        steps = n
    return Param(path, float(lo), float(hi), steps)


def _scalar(text: str, raw: str) -> Any:
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = None
    except ValueError as err:  # a date that does not exist, e.g. 2009-02-30
        raise DesignError(f"--param {text}: '{raw.strip()}' is not a real date ({err})") from None
    if value is None or isinstance(value, (dict, list)):
        raise DesignError(f"--param {text}: '{raw}' is not a single value")
    return value


def _number(text: str, raw: str) -> int | float:
    value = _scalar(text, raw)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise DesignError(f"--param {text}: '{raw.strip()}' is not a finite number")
    return value


def design(params: list[Param], method: str, samples: int, seed: int) -> list[dict[str, Any]]:
    """Design points (path -> value), in the order Sobol analysis expects for `sobol`."""
    if not params:
        raise DesignError("give at least one --param PATH=SPEC")
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise DesignError("each --param path may be given only once")
    if method == "grid":
        size = int(np.prod([len(p.values) if p.values else p.steps or 1 for p in params]))
        if size > MAX_POINTS:
            raise DesignError(f"the grid has {size:,} points; at most {MAX_POINTS:,} are allowed")
        columns = [p.grid_values() for p in params]
        return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*columns)]
    if method not in METHODS:
        raise DesignError(f"--method {method}: choose one of {', '.join(METHODS)}")
    if not 1 <= samples <= MAX_POINTS:
        raise DesignError(f"--samples {samples}: choose from 1 to {MAX_POINTS:,}")
    if method == "sobol":
        unit = _sobol_unit(params, samples, seed)
    elif method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(params), rng=np.random.default_rng(seed)).random(samples)
    else:
        unit = np.random.default_rng(seed).random((samples, len(params)))
    columns = [p.from_unit(unit[:, j]) for j, p in enumerate(params)]
    return [dict(zip(paths, row, strict=True)) for row in zip(*columns, strict=True)]


def _sobol_unit(params: list[Param], samples: int, seed: int) -> np.ndarray:
    """Saltelli's scheme (SALib) on the unit cube: samples x (params + 2) points."""
    from SALib.sample import sobol as saltelli

    lists = [p.path for p in params if not p.is_range]
    if lists:
        raise DesignError(f"--method sobol needs ranges lo:hi, not lists: {', '.join(lists)}")
    if samples & (samples - 1):
        raise DesignError(f"--samples {samples}: Sobol needs a power of two (e.g. 64, 128)")
    problem = unit_problem(params)
    return saltelli.sample(problem, samples, calc_second_order=False, seed=seed)


def unit_problem(params: list[Param]) -> dict:
    """SALib problem over the unit cube (parameters are mapped from it)."""
    names = [p.path for p in params]
    return {"num_vars": len(params), "names": names, "bounds": [[0.0, 1.0]] * len(params)}


def sobol_indices(params: list[Param], outputs: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """First-order and total Sobol indices with 95% confidence half-widths (SALib)."""
    from SALib.analyze import sobol

    if np.ptp(outputs) == 0:  # a flat output has no variance to apportion
        nan = np.full(len(params), np.nan)
        return {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}
    result = sobol.analyze(
        unit_problem(params), outputs, calc_second_order=False, conf_level=0.95, seed=seed
    )
    return {key: np.asarray(result[key]) for key in ("S1", "S1_conf", "ST", "ST_conf")}


def unreliable(row: Any) -> list[str]:
    """Why a parameter's Sobol indices (a row with S1, ST and their `_conf`) cannot be trusted
    at this sample size; [] if they can."""
    why = []
    if row["ST"] - row["ST_conf"] <= 0:
        why.append("total index's interval reaches zero")
    if row["ST"] > 1:
        why.append("total index above 1")
    if row["S1"] > row["ST"]:
        why.append("first order above total")
    return why


SWEEP_KEYS = {
    "description",
    "scenario",
    "method",
    "samples",
    "replications",
    "seed",
    "params",
    "packed",
}


@dataclass(frozen=True)
class SweepFile:
    """A sweep kept under version control: the scenario, the design and its parameters."""

    scenario: Path
    params: list[Param]
    method: str = "grid"
    samples: int = 64
    replications: int | None = None
    seed: int | None = None
    description: str = ""
    packed: bool = False  # lanes of many points share chunks (negsim sweep --packed)


def _spec_text(value: Any) -> str:
    """A spec from YAML: `lo:hi:n` as text, or a YAML list of values."""
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def is_sweep_file(path: Path) -> bool:
    """A YAML file with a top-level `params:` mapping is a sweep, not a scenario."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError):
        return False  # the scenario loader then says what is wrong, with the line
    return isinstance(data, dict) and "params" in data


def load_sweep_file(path: Path) -> SweepFile:
    """Read a sweep YAML file; `scenario:` is relative to the sweep file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = sorted(set(data) - SWEEP_KEYS)
    if unknown:
        raise DesignError(
            f"{path}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(SWEEP_KEYS))})"
        )
    if not isinstance(data.get("scenario"), str):
        raise DesignError(f"{path}: scenario: give the scenario file, relative to the sweep file")
    if not isinstance(data["params"], dict) or not data["params"]:
        raise DesignError(f"{path}: params: give a mapping of PATH: SPEC")
    params = [parse_param(f"{k}={_spec_text(v)}") for k, v in data["params"].items()]
    keys = ("method", "samples", "replications", "seed", "description", "packed")
    fields = {k: data[k] for k in keys if k in data}
    for key, value in fields.items():
        wanted = {"method": str, "description": str, "packed": bool}.get(key, int)
        if type(value) is not wanted:
            kind = {str: "text", bool: "true or false"}.get(wanted, "a whole number")
            raise DesignError(f"{path}: {key}: expected {kind}, got {value!r}")
    return SweepFile(path.parent / data["scenario"], params, **fields)
