"""Domestic actors who shape a party's mandate, and the ratifier who votes on a signed package."""

from __future__ import annotations

import math
from statistics import NormalDist

import mesa
import numpy as np

from sim.scenario import Actor
from sim.scenario import Ratifier as RatifierSpec


class DomesticActor(mesa.Agent):
    """President, ministry, ...: ideal positions and salience per issue, per lane."""

    def __init__(self, model: mesa.Model, name: str, spec: Actor, issues: list[str]) -> None:
        super().__init__(model)
        lanes = model.lanes
        self.name = name
        self.role = spec.role
        self.source = spec.source
        position = np.array([spec.positions.get(i, np.nan) for i in issues])
        salience = np.array([spec.salience.get(i, 0.0) for i in issues])
        self.position = np.tile(np.nan_to_num(position), (lanes, 1))
        self.salience = np.tile(salience, (lanes, 1))
        self.influence = np.full(lanes, spec.influence)


def aggregate_mandate(
    actors: list[DomesticActor], dropped: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Party ideal and issue weights in lanes `idx`: the influence x salience weighted aggregate
    of its actors.

    Dropped issues get weight 0; the remaining weights sum to 1 in every lane.
    """
    pulls = [a.influence[idx, None] * a.salience[idx] for a in actors]
    pull = sum(pulls)
    ideal = sum(w * a.position[idx] for w, a in zip(pulls, actors, strict=True))
    ideal = np.divide(ideal, pull, out=np.zeros_like(ideal), where=pull > 0)
    pull = np.where(dropped[idx], 0.0, pull)
    total = pull.sum(axis=1, keepdims=True)
    weight = np.divide(pull, total, out=np.zeros_like(pull), where=total > 0)
    return ideal, weight


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
        self.mood = model.rng.normal(0.0, spec.mood, lanes) if spec.mood > 0 else np.zeros(lanes)

    def win_set_bound(self, idx: np.ndarray) -> np.ndarray:
        """Lowest utility the expected body ratifies in lanes `idx` (its win-set is all above)."""
        return self.centre[idx] + self.spread[idx] * self.pivot_z

    def ratifies(self, utility: np.ndarray, lanes: np.ndarray) -> np.ndarray:
        """Vote of the body, mood included, on packages worth `utility` in the given lanes."""
        return utility >= self.win_set_bound(lanes) + self.mood[lanes]


def pivot_quantile(members: int, threshold: float) -> float:
    """Standard-normal reservation of the pivotal member: the k-th lowest of n, k = ceil(t n)."""
    k = max(1, math.ceil(threshold * members - 1e-9))
    return NormalDist().inv_cdf((k - 0.5) / members)
