"""Concession tactics: the target utility a party asks for at a point in time."""

from __future__ import annotations

import numpy as np


def faratin_target(
    tau: np.ndarray, reservation: np.ndarray, beta: np.ndarray, opening: float | np.ndarray = 1.0
) -> np.ndarray:
    """Time-dependent tactic (Faratin, Sierra & Jennings 1998): r + (o - r)(1 - tau^(1/beta)).

    The opening demand o is 1 (the ideal package) until a soft deadline restarts the clock.
    beta < 1 is Boulware (holds firm until late), beta > 1 is Conceder.
    """
    return reservation + (opening - reservation) * (1.0 - tau ** (1.0 / beta))


def rubinstein_share(own_discount: np.ndarray, other_discount: np.ndarray) -> np.ndarray:
    """Proposer's equilibrium share of a unit pie (Rubinstein 1982): (1 - d2) / (1 - d1 d2)."""
    return (1.0 - other_discount) / (1.0 - own_discount * other_discount)


def trust_scaled(
    target: np.ndarray,
    opening: np.ndarray,
    trust: np.ndarray,
    sensitivity: np.ndarray,
    floor: np.ndarray,
) -> np.ndarray:
    """Scale the concession from the opening demand by 1 + sensitivity (trust - 0.5).

    Trust above the neutral 0.5 speeds concessions, distrust slows them; never below the floor.
    """
    concession = (opening - target) * (1.0 + sensitivity * (trust - 0.5))
    return np.maximum(np.minimum(opening - concession, opening), floor)


def reciprocated(
    target: np.ndarray, opponent_gain: np.ndarray, share: np.ndarray, trust: np.ndarray
) -> np.ndarray:
    """Return a trust-weighted share of the opponent's last concession (tit-for-tat in utility)."""
    return target - share * trust * opponent_gain
