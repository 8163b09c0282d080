"""Common random numbers: every draw is a function of (seed, purpose, lane, week) alone.

A counter-based generator (SplitMix64's finaliser over a per-purpose key plus the global lane
index) replaces sequential streams, so a lane's draws never depend on the chunk size, the
worker count, the other lanes, or how many lanes drew before it. Two scenarios run with one
seed are paired lane by lane: what differs between them is what the scenarios change.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri


def key(seed: int, purpose: str, week: int = 0) -> np.uint64:
    """A 64-bit key for one purpose (e.g. 'event:md_review') in one week of one ensemble."""
    text = f"{seed}\x1f{purpose}\x1f{week}".encode()
    return np.uint64(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


def uniform(seed: int, purpose: str, lanes: np.ndarray, week: int = 0) -> np.ndarray:
    """Uniform draws in (0, 1), one per global lane index in `lanes` (compiled: one pass)."""
    from agents.kernels import splitmix  # numba loads only where draws are made

    return splitmix(key(seed, purpose, week), np.ascontiguousarray(lanes, dtype=np.uint64))


def normal(seed: int, purpose: str, lanes: np.ndarray, week: int = 0) -> np.ndarray:
    """Standard-normal draws by inversion of `uniform` (monotone, so also paired in rank)."""
    return ndtri(uniform(seed, purpose, lanes, week))
