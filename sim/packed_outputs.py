"""Headline outputs of many design points at once, from their lanes (packed sweeps).

`point_columns` gives, for every point whose lanes are all in, the very numbers
`sweep.point_outputs` gives for that point alone: shares count their lanes per point and take
the same Wilson interval in numpy; means reduce each point's lanes as one contiguous row of a
matrix of the points with as many lanes, which numpy sums exactly as it sums the point's own
array (the same pairwise order). Other kinds fall back to the point's own computation.
"""

from __future__ import annotations

import numpy as np

from sim import columns as col
from sim.outcomes import Z95, Measure, wilson

Lanes = dict[str, np.ndarray]  # lane columns of whole points, point-major, with "point"
BATCH_LANES = 400_000  # lanes gathered before their points' outputs are computed
FIELDS = ("estimate", "low", "high")


def point_columns(parts: Lanes, measures: list[Measure]) -> dict[str, np.ndarray]:
    """ "point", "replications" and each measure's estimate, `_low` and `_high`, one entry per
    point in `parts`, in the order of `sweep.point_outputs`."""
    point = parts["point"]
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    sizes = np.diff(np.r_[starts, len(point)])
    group = np.repeat(np.arange(len(starts)), sizes)  # each lane's point, from 0
    found: dict[str, np.ndarray] = {"point": point[starts], "replications": sizes}
    for m in measures:
        estimate, low, high = _estimates(m, parts, group, starts, sizes)
        found |= {m.column: estimate, f"{m.column}_low": low, f"{m.column}_high": high}
    return found


def _estimates(
    m: Measure, parts: Lanes, group: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.asarray(m.lanes(parts))
    if m.signed_only:
        keep = np.asarray(parts[col.AGREED])
        values, group = values[keep], group[keep]
    points = len(starts)
    if m.share and values.dtype.kind in "biu":  # successes counted, as `int(values.sum())`
        hits = np.bincount(group, weights=values.astype(float), minlength=points)
        return wilson(hits.astype(np.int64), np.maximum(np.bincount(group, minlength=points), 1))
    if m.kind == "mean":
        return _means(values, np.bincount(group, minlength=points))
    found = [  # a median, say: the point's own computation
        m.estimate({k: v[a : a + n] for k, v in parts.items()})
        for a, n in zip(starts, sizes, strict=True)
    ]
    return tuple(np.array([getattr(f, k) for f in found], dtype=float) for k in FIELDS)


def _means(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`outcomes.mean_interval` per point: values are the points' lanes back to back."""
    mean = np.full(len(counts), np.nan)
    half = np.full(len(counts), np.nan)
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    for n in np.unique(counts[counts > 0]):
        which = np.flatnonzero(counts == n)
        matrix = values[offsets[which, None] + np.arange(n)]  # one point a row, C order
        mean[which] = matrix.mean(axis=1)
        if n >= 2:
            half[which] = Z95 * matrix.std(axis=1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half
