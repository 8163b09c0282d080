"""Domestic actors who shape a party's mandate, and the ratifier who votes on a signed package."""

from __future__ import annotations

import math
from statistics import NormalDist

import mesa
import numpy as np

from sim.scenario import Actor
from sim.scenario import Ratifier as RatifierSpec
from sim.streams import normal


class DomesticActor(mesa.Agent):
    """President, ministry, ...: ideal position, tolerance and salience per issue, per lane."""

    def __init__(self, model: mesa.Model, name: str, spec: Actor, issues: list[str]) -> None:
        super().__init__(model)
        lanes = model.lanes
        self.name = name
        self.role = spec.role
        self.source = spec.source
        position = np.array([spec.positions.get(i, np.nan) for i in issues])
        tolerance = np.array([spec.tolerance.get(i, 1.0) for i in issues])
        salience = np.array([spec.salience.get(i, 0.0) for i in issues])
        self.position = np.tile(np.nan_to_num(position), (lanes, 1))
        self.tolerance = np.tile(tolerance, (lanes, 1))
        self.salience = np.tile(salience, (lanes, 1))
        self.influence = np.full(lanes, spec.influence)


def aggregate_mandate(
    actors: list[DomesticActor], idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A party's ideal, tolerance and issue weights in lanes `idx`: influence x salience
    weighted aggregates of its actors'.

    Weights sum to 1 over all issues, dropped or not: an issue off the table keeps counting at
    its fixed value, so a package's worth does not jump when the agenda changes.
    """
    pulls = [a.influence[idx, None] * a.salience[idx] for a in actors]
    pull = sum(pulls)

    def blend(values: list[np.ndarray]) -> np.ndarray:
        mixed = sum(w * v for w, v in zip(pulls, values, strict=True))
        return np.divide(mixed, pull, out=np.ones_like(mixed), where=pull > 0)

    ideal = blend([a.position[idx] for a in actors])
    tolerance = blend([a.tolerance[idx] for a in actors])
    total = pull.sum(axis=1, keepdims=True)
    weight = np.divide(pull, total, out=np.zeros_like(pull), where=total > 0)
    return ideal, tolerance, weight


class Ratifier(mesa.Agent):
    """A legislature whose members' reservation utilities sit at normal quantiles around a centre.

    A package passes when at least `threshold` of members accept it, i.e. when the party's
    utility clears the k-th lowest member reservation, shifted by the body's mood at the vote.
    """

    def __init__(self, model: mesa.Model, spec: RatifierSpec) -> None:
        super().__init__(model)
        lanes = model.lanes
        self.name = spec.name
        self.threshold = spec.threshold
        self.delay_weeks = spec.delay_weeks
        self.centre = np.full(lanes, spec.centre)
        self.spread = np.full(lanes, spec.spread)
        self.pivot_z = pivot_quantile(spec.members, spec.threshold)
        self.mood = np.full(lanes, spec.mood)  # std. dev. of the body's mood at the vote

    def win_set_bound(self, idx: np.ndarray) -> np.ndarray:
        """Lowest utility the expected body ratifies in lanes `idx` (its win-set is all above)."""
        return self.centre[idx] + self.spread[idx] * self.pivot_z

    def ratifies(self, utility: np.ndarray, lanes: np.ndarray) -> np.ndarray:
        """Vote of the body, mood included, on packages worth `utility` in the given lanes."""
        model = self.model
        shock = normal(model.seed, f"mood:{self.name}", model.lane_ids[lanes])
        return utility >= self.win_set_bound(lanes) + self.mood[lanes] * shock


def pivot_quantile(members: int, threshold: float) -> float:
    """Standard-normal reservation of the pivotal member: the k-th lowest of n, k = ceil(t n)."""
    k = max(1, math.ceil(threshold * members - 1e-9))
    return NormalDist().inv_cdf((k - 0.5) / members)
