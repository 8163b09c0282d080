"""Compiled inner loops (numba): chamber votes, the win-set bisection, trade-off and
logrolling packages, utilities, mandate aggregation, offer histograms and the random draws.

Each kernel walks lanes one by one and issues in order, so a lane's numbers never depend on
which other lanes share its chunk. `cache=True` keeps the machine code beside this file, so only
the first run on a machine pays the compilation (a few seconds); later imports load it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NEWTON_STEPS = 60  # upper bound; a lane stops as soon as t no longer moves
TOL = 1e-13
SQRT1_2 = 0.7071067811865476

_jit = njit(cache=True, error_model="numpy", nogil=True)


@_jit
def ndtr(x: float) -> float:
    """Standard normal CDF (the cephes formula scipy.special.ndtr uses). Beyond 8.5 standard
    deviations it returns 1 or 0 at once: a vote count floor(n p + 0.5) is the same either way."""
    if x > 8.5:
        return 1.0
    if x < -8.5:
        return 0.0
    z = x * SQRT1_2
    if abs(z) < SQRT1_2:
        return 0.5 + 0.5 * math.erf(z)
    y = 0.5 * math.erfc(abs(z))
    return 1.0 - y if z > 0 else y


@_jit
def _yes(pkg, margin, spread, shock, ideal, tol, weight, no_deal, members, quadratic) -> int:
    """Yes votes of one lane's chamber on one package: blocs' members at normal quantiles."""
    total = 0
    for b in range(ideal.shape[0]):
        loss = 0.0
        for i in range(ideal.shape[1]):
            gap = (pkg[i] - ideal[b, i]) / tol[b, i]
            loss += weight[b, i] * (gap * gap if quadratic else abs(gap))
        x = (1.0 - loss) - no_deal[b] - margin[b] + shock
        s = spread[b]
        share = ndtr(x / s) if s > 0 else (1.0 if x >= 0 else 0.0)
        yes = math.floor(members[b] * share + 0.5)
        total += int(min(max(yes, 0.0), members[b]))
    return total


@_jit
def votes(pkg, idx, margin, spread, shock, ideal, tol, weight, no_deal, members, quadratic):
    """Yes votes in lanes `idx` (rows of `pkg` and `shock`; `margin`, `spread` over all lanes)."""
    out = np.empty(idx.shape[0], dtype=np.int64)
    for j in range(idx.shape[0]):
        k = idx[j]
        out[j] = _yes(
            pkg[j], margin[k], spread[k], shock[j], ideal, tol, weight, no_deal, members, quadratic
        )
    return out


@_jit
def utility(pkg, idx, ideal, tol, weight, quadratic):
    """Per lane in `idx`: 1 - sum_i w_i loss((x_i - m_i) / T_i), issues in order."""
    out = np.empty(idx.shape[0])
    for j in range(idx.shape[0]):
        k = idx[j]
        loss = 0.0
        for i in range(pkg.shape[1]):
            gap = (pkg[j, i] - ideal[k, i]) / tol[k, i]
            loss += weight[k, i] * (gap * gap if quadratic else abs(gap))
        out[j] = 1.0 - loss
    return out


@_jit
def _settle(x, dropped, off_table, lo, hi) -> None:
    """In place: dropped issues at their fixed value, every issue inside its range."""
    for i in range(x.shape[0]):
        v = off_table[i] if dropped[i] else x[i]
        x[i] = min(max(v, lo[i]), hi[i])


@_jit
def _curve_point(t, ideal, reach, ratio, out) -> None:
    """x_i = m_i + s_i(t) d_i with s_i = 1 / (1 + t r_i) (s = 1 where r = 0)."""
    for i in range(ideal.shape[0]):
        tr = t * ratio[i] if ratio[i] > 0 else 0.0
        out[i] = ideal[i] + 1.0 / (1.0 + tr) * reach[i]


@_jit
def _solve(loss, cost, ratio, full) -> float:
    """Multiplier t with sum c s(t)^2 = loss, by Newton on f^(-1/2) (concave), from the left."""
    if loss <= 0:
        return math.inf
    goal = 1.0 / math.sqrt(loss)
    t = (math.sqrt(full / loss) - 1.0) / ratio.max()
    for _ in range(NEWTON_STEPS):
        f = 0.0
        g = 0.0
        for i in range(cost.shape[0]):
            s = 1.0 / (1.0 + t * ratio[i])
            q = s * s
            f += cost[i] * q
            g += cost[i] * ratio[i] * q * s
        root = math.sqrt(f)
        step = (1.0 / root - goal) * f * root / g
        t -= step
        if not abs(step) > TOL * (1.0 + t):
            break
    return t


@_jit
def contract_packages(loss, idx, ideal, reach, ratio, cost, full, dropped, off_table, lo, hi):
    """Per lane in `idx`, the package best for the opponent at a loss of at most `loss`, settled
    (`loss` has a row per lane in `idx`; the other arrays cover all lanes)."""
    out = np.empty((idx.shape[0], ideal.shape[1]))
    for j in range(idx.shape[0]):
        k = idx[j]
        t = _solve(loss[j], cost[k], ratio[k], full[k]) if full[k] > loss[j] else 0.0
        _curve_point(t, ideal[k], reach[k], ratio[k], out[j])
        _settle(out[j], dropped[k], off_table, lo, hi)
    return out


@_jit
def _passes_at(u, j, ideal, reach, ratio, dropped, off_table, lo, hi, chamber, x) -> bool:
    """Does lane j's chamber pass (in expectation) the settled point u of the contract curve?"""
    t = u / (1.0 - u)
    _curve_point(t, ideal[j], reach[j], ratio[j], x)
    _settle(x, dropped[j], off_table, lo, hi)
    r_ideal, r_tol, r_weight, r_no_deal, members, needed, margin, spread = chamber
    yes = _yes(x, margin[j], spread[j], 0.0, r_ideal, r_tol, r_weight, r_no_deal, members, True)
    return yes >= needed


@_jit
def win_set_edges(idx, ideal, reach, ratio, cost, dropped, off_table, lo, hi, chamber, steps):
    """Per lane in `idx`, the largest loss along the contract curve its chamber still passes:
    inf if even the opponent's ideal passes, -inf if not even the party's own does; else
    bisection. Every array covers all lanes."""
    out = np.empty(idx.shape[0])
    x = np.empty(ideal.shape[1])
    for n in range(idx.shape[0]):
        j = idx[n]
        if _passes_at(0.0, j, ideal, reach, ratio, dropped, off_table, lo, hi, chamber, x):
            out[n] = math.inf
            continue
        if not _passes_at(1.0, j, ideal, reach, ratio, dropped, off_table, lo, hi, chamber, x):
            out[n] = -math.inf
            continue
        a, b = 0.0, 1.0  # a fails, b passes
        for _ in range(steps):
            mid = 0.5 * (a + b)
            if _passes_at(mid, j, ideal, reach, ratio, dropped, off_table, lo, hi, chamber, x):
                b = mid
            else:
                a = mid
        t = b / (1.0 - b)
        edge = 0.0
        for i in range(ideal.shape[1]):
            tr = t * ratio[j, i] if ratio[j, i] > 0 else 0.0
            s = 1.0 / (1.0 + tr)
            edge += cost[j, i] * s * s
        out[n] = edge
    return out


@_jit
def aggregate(idx, influence, salience, position, tolerance):
    """Per lane in `idx`: the influence x salience weighted ideal and tolerance of a party's
    actors (1 where no actor cares about an issue) and its issue weights (summing to 1)."""
    actors, issues = salience.shape[0], salience.shape[2]
    ideal = np.empty((idx.shape[0], issues))
    tol = np.empty((idx.shape[0], issues))
    weight = np.empty((idx.shape[0], issues))
    pull = np.empty(issues)
    for j in range(idx.shape[0]):
        k = idx[j]
        total = 0.0
        for i in range(issues):
            p = 0.0
            mixed_ideal = 0.0
            mixed_tol = 0.0
            for a in range(actors):
                w = influence[a, k] * salience[a, k, i]
                p += w
                mixed_ideal += w * position[a, k, i]
                mixed_tol += w * tolerance[a, k, i]
            pull[i] = p
            total += p
            ideal[j, i] = mixed_ideal / p if p > 0 else 1.0
            tol[j, i] = mixed_tol / p if p > 0 else 1.0
        for i in range(issues):
            weight[j, i] = pull[i] / total if total > 0 else 0.0
    return ideal, tol, weight


GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's counter increment
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


@_jit
def splitmix(key, lanes):
    """SplitMix64's finaliser of key + lane x golden, as a double in (0, 1) per lane: the
    counter-based draws of sim/streams.py (unsigned 64-bit arithmetic wraps)."""
    out = np.empty(lanes.shape[0])
    for j in range(lanes.shape[0]):
        z = key + lanes[j] * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        z ^= z >> np.uint64(31)
        out[j] = (np.float64(z >> np.uint64(11)) + 0.5) * 2.0**-53
    return out


@_jit
def logroll_packages(concession, idx, room, before, ideal, reach, dropped, off_table, lo, hi):
    """Per lane in `idx`, the least-cost concession path's package worth 1 - concession to
    the giver (linear values: issues conceded cheapest first), settled."""
    out = np.empty((idx.shape[0], ideal.shape[1]))
    for j in range(idx.shape[0]):
        k = idx[j]
        for i in range(ideal.shape[1]):
            give = min(max(concession[j] - before[k, i], 0.0), room[k, i])
            share = give / room[k, i] if room[k, i] > 0 else 0.0
            out[j, i] = ideal[k, i] + share * reach[k, i]
        _settle(out[j], dropped[k], off_table, lo, hi)
    return out


@_jit
def offer_counts(offer, rows, lo, span, bins, counts):
    """Add the offers of lanes `rows` to `counts` (issues x bins): each issue's range cut into
    `bins` equal bins, values outside it in the end bins."""
    for j in range(rows.shape[0]):
        k = rows[j]
        for i in range(offer.shape[1]):
            b = int((offer[k, i] - lo[i]) / span[i] * bins)
            counts[i, min(max(b, 0), bins - 1)] += 1
