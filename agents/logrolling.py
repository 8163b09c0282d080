"""Logrolling: build the package that gives up a given utility at the least cost to the giver."""

from __future__ import annotations

import numpy as np

from agents.kernels import logroll_packages
from agents.tradeoff import Bounds, unbounded


class ConcessionPath:
    """Per lane, the giver's least-cost order of conceding issues toward the other side's ideal.

    Issues are conceded in order of the giver's cost per unit of the other side's gain, cheapest
    first, each at most as far as the other side's ideal. With linear utilities this greedy
    order traces the Pareto frontier exactly (a fractional knapsack). The path depends only on
    the two mandates, so it is rebuilt when a mandate changes and walked for every offer.
    """

    def __init__(self, lanes: int, issues: int) -> None:
        self.room = np.zeros((lanes, issues))  # utility lost by conceding an issue all the way
        self.before = np.zeros((lanes, issues))  # utility given up before an issue's turn comes
        self.ideal = np.zeros((lanes, issues))  # where the giver starts
        self.reach = np.zeros((lanes, issues))  # signed distance to the other side's ideal

    def update(
        self,
        idx: np.ndarray,
        ideal: np.ndarray,
        weight: np.ndarray,
        span: np.ndarray,
        other_ideal: np.ndarray,
        other_weight: np.ndarray,
        other_span: np.ndarray,
    ) -> None:
        """Rebuild the path in lanes `idx` from both mandates (rows of the arguments = `idx`)."""
        distance = np.abs(other_ideal - ideal)
        room = weight * distance / span
        cost = weight / span
        gain = other_weight / other_span
        ratio = np.divide(cost, gain, out=np.full_like(cost, np.inf), where=gain > 0)
        order = np.argsort(ratio, axis=1, kind="stable")
        room_sorted = np.take_along_axis(room, order, axis=1)
        before = np.empty_like(room)
        np.put_along_axis(before, order, np.cumsum(room_sorted, axis=1) - room_sorted, axis=1)
        self.room[idx] = room
        self.before[idx] = before
        self.ideal[idx] = ideal
        self.reach[idx] = np.sign(other_ideal - ideal) * distance

    def at(self, u: np.ndarray, idx: np.ndarray, bounds: Bounds | None = None) -> np.ndarray:
        """Point of the path at u in [0, 1] (0 the other side's ideal, 1 the giver's), settled
        into `bounds` when given."""
        return self.package(self.loss_at(u, idx), idx, bounds)

    def loss_at(self, u: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Utility given up at the point `at(u)`: that share of conceding every issue."""
        return (1.0 - u) * self.room[idx].sum(axis=1)

    def package(
        self, concession: np.ndarray, idx: np.ndarray, bounds: Bounds | None = None
    ) -> np.ndarray:
        """Package (one row per lane in `idx`) worth 1 - concession to the giver, settled into
        `bounds` (dropped issues fixed, ranges) when given (compiled: `kernels`)."""
        dropped, off_table, lo, hi = bounds or unbounded(*self.ideal.shape)
        concession = np.ascontiguousarray(concession, dtype=float)
        args = (self.room, self.before, self.ideal, self.reach)
        return logroll_packages(concession, idx, *args, dropped, off_table, lo, hi)
