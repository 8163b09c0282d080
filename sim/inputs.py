"""Uncertain inputs: a numeric scenario value given as a distribution, drawn once per lane.

A value written `{uniform: [lo, hi]}`, `{normal: [mean, sd]}` (truncated to the field's
bounds), `{triangular: [lo, mode, hi]}`, `{beta: [a, b, lo, hi]}` or `{choice: [v1, v2, ...]}`
is drawn per lane by inverting its distribution function at a common random number, so a
lane's draw is the same in every scenario that shares the seed, and the draws are monotone
in that number (the 10th percentile lane is the 10th percentile lane for every input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = {"uniform": 2, "normal": 2, "triangular": 3, "beta": 4, "choice": 0}


class DistributionError(ValueError):
    """A distribution written wrongly: its message says what is wrong."""


@dataclass(frozen=True)
class Distribution:
    """One uncertain input: its kind, parameters and the bounds its field allows."""

    kind: str
    params: tuple[float, ...]
    lo: float = -math.inf  # the field's bounds (normal draws are truncated to them)
    hi: float = math.inf

    @classmethod
    def parse(cls, raw: dict) -> Distribution:
        """Read `{kind: [numbers]}`; raise DistributionError naming the problem."""
        ((kind, params),) = raw.items()
        if not isinstance(params, list) or not all(_is_number(p) for p in params):
            raise DistributionError(f"{kind}: expected a list of numbers, got {params!r}")
        values = tuple(float(p) for p in params)
        if not all(math.isfinite(v) for v in values):
            raise DistributionError(f"{kind}: parameters must be finite numbers")
        need = KINDS[kind]
        if need and len(values) != need:
            raise DistributionError(f"{kind}: takes {need} numbers, got {len(values)}")
        if kind == "choice" and not values:
            raise DistributionError("choice: needs at least one value")
        dist = cls(kind, values)
        dist.check()
        return dist

    def check(self) -> None:
        """Raise DistributionError when the parameters describe no distribution."""
        p = self.params
        bad = {
            "uniform": lambda: p[1] < p[0] and "uniform: the high end is below the low end",
            "normal": lambda: p[1] < 0 and "normal: the standard deviation is negative",
            "triangular": lambda: not p[0] <= p[1] <= p[2] and "triangular: needs lo <= mode <= hi",
            "beta": lambda: (
                ((p[0] <= 0 or p[1] <= 0) and "beta: a and b must be positive")
                or (p[3] <= p[2] and "beta: hi must be above lo")
            ),
            "choice": lambda: False,
        }[self.kind]()
        if bad:
            raise DistributionError(bad)

    def bounded(self, lo: float, hi: float) -> Distribution:
        """The same distribution, knowing the bounds of the field it stands in."""
        return Distribution(self.kind, self.params, lo, hi)

    def support(self) -> tuple[float, float]:
        """Lowest and highest value a draw can take (a normal's, within 8 sd of its mean)."""
        p = self.params
        if self.kind == "normal":
            return max(self.lo, p[0] - 8 * p[1]), min(self.hi, p[0] + 8 * p[1])
        if self.kind == "uniform":
            return p[0], p[1]
        if self.kind == "triangular":
            return p[0], p[2]
        if self.kind == "beta":
            return p[2], p[3]
        return min(p), max(p)

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse distribution function at `u` in (0, 1)."""
        u = np.asarray(u, dtype=float)
        p = self.params
        if self.kind == "uniform":
            return p[0] + u * (p[1] - p[0])
        from scipy import stats  # here, not at the top: importing it costs a second per process

        if self.kind == "normal":
            if p[1] == 0:
                return np.full_like(u, p[0])
            lo, hi = self.support()
            a, b = (lo - p[0]) / p[1], (hi - p[0]) / p[1]
            return np.clip(stats.truncnorm.ppf(u, a, b, loc=p[0], scale=p[1]), lo, hi)
        if self.kind == "triangular":
            if p[2] == p[0]:
                return np.full_like(u, p[0])
            c = (p[1] - p[0]) / (p[2] - p[0])
            return stats.triang.ppf(u, c, loc=p[0], scale=p[2] - p[0])
        if self.kind == "beta":
            return stats.beta.ppf(u, p[0], p[1], loc=p[2], scale=p[3] - p[2])
        values = np.array(p)
        return values[np.minimum((u * len(values)).astype(int), len(values) - 1)]

    def centre(self) -> float:
        """The median: the value shown where one number stands for the distribution."""
        return float(self.quantile(0.5))

    def as_yaml(self) -> dict:
        """The distribution as it is written in a scenario file."""
        return {self.kind: list(self.params)}


def looks_like(value: object) -> bool:
    """True for a mapping written as a distribution: one known kind with a list."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in KINDS
        and isinstance(next(iter(value.values())), list)
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
