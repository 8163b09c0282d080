"""Domestic actors who shape a party's mandate, and the ratifier who votes on a signed package."""

from __future__ import annotations

import mesa
import numpy as np

from agents.kernels import aggregate as kernel_aggregate
from agents.kernels import utility as kernel_utility
from agents.kernels import votes as kernel_votes
from sim.scenario import Actor
from sim.scenario import Ratifier as RatifierSpec
from sim.streams import normal


class DomesticActor(mesa.Agent):
    """President, ministry, ...: ideal position, tolerance and salience per issue, per lane."""

    def __init__(self, model: mesa.Model, name: str, spec: Actor, issues: list[str]) -> None:
        super().__init__(model)
        self.name = name
        self.role = spec.role
        self.source = spec.source
        position = np.array([spec.positions.get(i, np.nan) for i in issues])
        # one value per issue until ActorStack gives every lane its own (views into the stack)
        self.position = np.nan_to_num(position)
        self.tolerance = np.array([spec.tolerance.get(i, 1.0) for i in issues])
        self.salience = np.array([spec.salience.get(i, 0.0) for i in issues])
        self.influence = np.array(float(spec.influence))


class ActorStack:
    """A party's actors' per-lane arrays stacked (actors x lanes [x issues]); each actor's own
    arrays become views into it, so events that change an actor change the stack."""

    def __init__(self, actors: list[DomesticActor], lanes: int) -> None:
        def per_lane(values: list[np.ndarray]) -> np.ndarray:  # one copy, straight into place
            rows = np.stack(values)
            return np.repeat(rows[:, None], lanes, axis=1)

        self.influence = per_lane([a.influence for a in actors])
        self.salience = per_lane([a.salience for a in actors])
        self.position = per_lane([a.position for a in actors])
        self.tolerance = per_lane([a.tolerance for a in actors])
        for k, actor in enumerate(actors):
            actor.influence, actor.salience = self.influence[k], self.salience[k]
            actor.position, actor.tolerance = self.position[k], self.tolerance[k]


def aggregate_mandate(
    stack: ActorStack, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A party's ideal, tolerance and issue weights in lanes `idx`: influence x salience
    weighted aggregates of its actors'.

    Weights sum to 1 over all issues, dropped or not: an issue off the table keeps counting at
    its fixed value, so a package's worth does not jump when the agenda changes.
    """
    return kernel_aggregate(idx, stack.influence, stack.salience, stack.position, stack.tolerance)


class Ratifier(mesa.Agent):
    """A legislature of blocs voting on a signed package `delay_weeks` after signature.

    Each bloc judges the package by its own ideals, tolerances and saliences against the world
    without a treaty; its members' margins sit at the normal quantiles (k - 0.5)/n around the
    bloc's margin with the bloc's spread, so its yes votes have a closed form. The chamber's
    mood at the vote shifts every member alike.
    """

    def __init__(self, model: mesa.Model, spec: RatifierSpec, party: str) -> None:
        super().__init__(model)
        lanes, issues = model.lanes, model.issue_names
        self.name = spec.name
        self.party = party
        self.delay_weeks = spec.delay_weeks
        self.mood = np.full(lanes, spec.mood)
        self.members = np.array([b.members for b in spec.blocs.values()], dtype=float)
        self.needed = spec.needed
        self.bloc_names = list(spec.blocs)
        self.margin = np.tile([b.margin for b in spec.blocs.values()], (lanes, 1))
        self.spread = np.tile([b.spread for b in spec.blocs.values()], (lanes, 1))
        blocs = spec.blocs.values()
        self.ideal = np.array([[b.positions.get(i, 0.0) for i in issues] for b in blocs])
        self.tolerance = np.array([[b.tolerance.get(i, 1.0) for i in issues] for b in blocs])
        salience = np.array([[b.salience.get(i, 0.0) for i in issues] for b in blocs])
        total = salience.sum(axis=1, keepdims=True)
        self.weight = np.divide(salience, total, out=np.zeros_like(salience), where=total > 0)
        self.power = 2.0 if model.quadratic else 1.0
        # each bloc's utility of no treaty: the utility kernel over blocs instead of lanes
        blocs_idx = np.arange(len(self.members))
        no_treaty = np.tile(model.no_agreement, (len(self.members), 1))
        quadratic = self.power == 2.0
        args = (self.ideal, self.tolerance, self.weight, quadratic)
        self.no_deal = kernel_utility(no_treaty, blocs_idx, *args)

    def votes(
        self, package: np.ndarray, idx: np.ndarray, shock: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Yes votes on packages (one row per lane in `idx`) with the chamber's mood `shock`."""
        shocks = np.broadcast_to(np.asarray(shock, dtype=float), (len(idx),))
        return kernel_votes(
            np.ascontiguousarray(package, dtype=float),
            idx,
            self.margin,
            self.spread,
            np.ascontiguousarray(shocks),
            *self._blocs(),
            self.power == 2.0,
        )

    def chamber(self) -> tuple:
        """The chamber as the win-set kernel reads it (expected vote, no shock; all lanes)."""
        return (*self._blocs(), self.needed, self.margin, self.spread)

    def _blocs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.ideal, self.tolerance, self.weight, self.no_deal, self.members

    def passes(
        self, package: np.ndarray, idx: np.ndarray, shock: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Does the chamber ratify (enough yes votes)? With shock 0: the expected chamber."""
        return self.votes(package, idx, shock) >= self.needed

    def shock(self, idx: np.ndarray) -> np.ndarray:
        """The chamber's mood at the vote in lanes `idx` (a common random number per lane)."""
        model = self.model
        return self.mood[idx] * normal(model.seed, f"mood:{self.party}", model.lane_ids[idx])
