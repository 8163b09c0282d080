"""Concession tactics: the target utility a party asks for at a point in time."""

from __future__ import annotations

import numpy as np


def faratin_target(tau: np.ndarray, reservation: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Time-dependent tactic (Faratin, Sierra & Jennings 1998): r + (1 - r)(1 - tau^(1/beta)).

    beta < 1 is Boulware (holds firm until late), beta > 1 is Conceder.
    """
    return reservation + (1.0 - reservation) * (1.0 - tau ** (1.0 / beta))


def rubinstein_share(own_discount: np.ndarray, other_discount: np.ndarray) -> np.ndarray:
    """Proposer's equilibrium share of a unit pie (Rubinstein 1982): (1 - d2) / (1 - d1 d2)."""
    return (1.0 - other_discount) / (1.0 - own_discount * other_discount)


def trust_scaled(
    target: np.ndarray, trust: np.ndarray, sensitivity: np.ndarray, floor: np.ndarray
) -> np.ndarray:
    """Scale the concession 1 - target by 1 + sensitivity (trust - 0.5): trust speeds giving."""
    concession = (1.0 - target) * (1.0 + sensitivity * (trust - 0.5))
    return np.maximum(1.0 - concession, floor)


def reciprocated(
    target: np.ndarray, opponent_gain: np.ndarray, share: np.ndarray, trust: np.ndarray
) -> np.ndarray:
    """Return a trust-weighted share of the opponent's last concession (tit-for-tat in utility)."""
    return target - share * trust * opponent_gain
