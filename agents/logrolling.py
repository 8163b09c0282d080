"""Logrolling: build the package that gives up a given utility at the least cost to the giver."""

from __future__ import annotations

import numpy as np


def logroll(
    concession: np.ndarray,
    ideal: np.ndarray,
    weight: np.ndarray,
    span: np.ndarray,
    other_ideal: np.ndarray,
    other_weight: np.ndarray,
    other_span: np.ndarray,
) -> np.ndarray:
    """Package (lanes x issues) worth 1 - concession to the giver under linear additive utility.

    Issues are conceded in order of the giver's cost per unit of the other side's gain, cheapest
    first, each at most as far as the other side's ideal. With linear utilities this greedy
    order traces the Pareto frontier exactly (a fractional knapsack).
    """
    distance = np.abs(other_ideal - ideal)
    room = weight * distance / span  # utility lost by conceding an issue all the way
    cost = weight / span
    gain = other_weight / other_span
    ratio = np.divide(cost, gain, out=np.full_like(cost, np.inf), where=gain > 0)
    order = np.argsort(ratio, axis=1, kind="stable")
    room_sorted = np.take_along_axis(room, order, axis=1)
    before = np.cumsum(room_sorted, axis=1) - room_sorted
    give_sorted = np.clip(concession[:, None] - before, 0.0, room_sorted)
    give = np.empty_like(give_sorted)
    np.put_along_axis(give, order, give_sorted, axis=1)
    share = np.divide(give, room, out=np.zeros_like(give), where=room > 0)
    return ideal + np.sign(other_ideal - ideal) * share * distance
