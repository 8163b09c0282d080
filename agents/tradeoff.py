"""Trade-off offers on quadratic values: the package best for the opponent at a given own loss.

With values 1 - ((x - m) / T)^2 per issue, a party that must keep its loss below L maximises the
opponent's utility on the contract curve x_i(t) = m_p + s_i(t) (m_o - m_p),
s_i(t) = k_o / (k_o + t k_p), k = w / T^2 (Lagrange multiplier t >= 0). Its loss
f(t) = sum_i k_p d_i^2 s_i(t)^2 falls in t, and f(t)^(-1/2) is concave (a power mean of order -2
of affine functions), so Newton's method from t = 0 rises to the root monotonically and
quadratically: a handful of vectorised steps reach machine precision (Faratin, Sierra &
Jennings 2002, trade-off tactic, with the opponent's values known).
"""

from __future__ import annotations

import numpy as np

NEWTON_STEPS = 60  # upper bound; lanes stop as soon as t no longer moves
TOL = 1e-13


def contract_point(
    t: np.ndarray, mp: np.ndarray, kp: np.ndarray, mo: np.ndarray, ko: np.ndarray
) -> np.ndarray:
    """Point x(t) of the contract curve, one row per lane (t = inf gives the party's ideal)."""
    tt = np.broadcast_to(t[:, None], kp.shape)
    pull = np.multiply(tt, kp, out=np.zeros_like(kp), where=kp > 0)  # t = inf only where kp > 0
    den = ko + pull
    s = np.divide(ko, den, out=np.zeros_like(den), where=den > 0)
    s = np.where((ko == 0) & (kp == 0), 1.0, s)  # nobody cares: leave it at the opponent's ideal
    return mp + s * (mo - mp)


def tradeoff_offer(
    loss: np.ndarray, mp: np.ndarray, kp: np.ndarray, mo: np.ndarray, ko: np.ndarray
) -> np.ndarray:
    """Package best for the opponent among those costing the party at most `loss` (lanes x issues).

    Issues off the table must come with kp = ko = 0 and mp = mo = their fixed value.
    """
    d = mo - mp
    c = kp * d * d
    full = c.sum(axis=1)  # loss of giving the opponent its ideal on every issue
    t = np.zeros(len(loss))
    need = np.flatnonzero(full > loss)
    if need.size:
        t[need] = _solve(loss[need], c[need], kp[need], ko[need])
    return contract_point(t, mp, kp, mo, ko)


def _solve(loss: np.ndarray, c: np.ndarray, kp: np.ndarray, ko: np.ndarray) -> np.ndarray:
    """Multiplier t with f(t) = loss, by Newton on f^(-1/2); loss <= 0 gives t = inf."""
    t = np.zeros(len(loss))
    done = loss <= 0
    t[done] = np.inf
    todo = np.flatnonzero(~done)
    goal = np.zeros(len(loss))
    goal[todo] = loss[todo] ** -0.5
    for _ in range(NEWTON_STEPS):
        if todo.size == 0:
            break
        tt, cc, kk, oo = t[todo, None], c[todo], kp[todo], ko[todo]
        den = oo + tt * kk
        s = np.divide(oo, den, out=np.zeros_like(den), where=den > 0)
        s2 = cc * s * s
        f = s2.sum(axis=1)
        slope = (s2 * np.divide(kk, den, out=np.zeros_like(den), where=den > 0)).sum(axis=1)
        h = f**-0.5 - goal[todo]
        step = h / (f**-1.5 * slope)
        new = t[todo] - step
        t[todo] = new
        todo = todo[np.abs(step) > TOL * (1.0 + np.abs(new))]
    return t
