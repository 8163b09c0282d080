"""Trade-off offers on quadratic values: the package best for the opponent at a given own loss.

With values 1 - ((x - m) / T)^2 per issue, a party that must keep its loss below L maximises the
opponent's utility on the contract curve x_i(t) = m_p + s_i(t) (m_o - m_p),
s_i(t) = k_o / (k_o + t k_p), k = w / T^2 (Lagrange multiplier t >= 0). Its loss
f(t) = sum_i k_p d_i^2 s_i(t)^2 falls in t, and f(t)^(-1/2) is concave (a power mean of order -2
of affine functions), so Newton's method from t = 0 rises to the root monotonically and
quadratically: a handful of steps per lane reach machine precision (`agents/kernels.py`) (Faratin, Sierra &
Jennings 2002, trade-off tactic, with the opponent's values known).
"""

from __future__ import annotations

import numpy as np

from agents.kernels import contract_packages, win_set_edges


class ContractCurve:
    """Per lane, the contract curve between a party's mandate and the opponent's, walked by
    the loss the party accepts. It depends only on the two mandates, so it is rebuilt when a
    mandate changes and walked for every offer (as ConcessionPath is for linear values)."""

    def __init__(self, lanes: int, issues: int) -> None:
        self.ideal = np.zeros((lanes, issues))  # where the party starts
        self.reach = np.zeros((lanes, issues))  # to the opponent's ideal (0 where it is not valued)
        self.ratio = np.zeros((lanes, issues))  # r = kp / ko (0 where conceding is free)
        self.cost = np.zeros((lanes, issues))  # loss of conceding each issue all the way
        self.full = np.zeros(lanes)

    def update(
        self, idx: np.ndarray, mp: np.ndarray, kp: np.ndarray, mo: np.ndarray, ko: np.ndarray
    ) -> None:
        """Rebuild in lanes `idx` from both mandates (k = w / T^2, 0 for issues off the table)."""
        valued = ko > 0
        d = np.where(valued, mo - mp, 0.0)  # an issue the opponent does not value stays put
        self.ideal[idx] = mp
        self.reach[idx] = d
        self.ratio[idx] = np.divide(kp, ko, out=np.zeros_like(kp), where=valued)
        self.cost[idx] = kp * d * d
        self.full[idx] = self.cost[idx].sum(axis=1)

    def package(
        self, loss: np.ndarray, idx: np.ndarray, bounds: Bounds | None = None
    ) -> np.ndarray:
        """Package (one row per lane in `idx`) best for the opponent at a loss of at most `loss`,
        settled into `bounds` (dropped issues fixed, ranges) when given."""
        dropped, off_table, lo, hi = bounds or unbounded(*self.ideal.shape)
        return contract_packages(
            np.ascontiguousarray(loss, dtype=float),
            idx,
            self.ideal,
            self.reach,
            self.ratio,
            self.cost,
            self.full,
            dropped,
            off_table,
            lo,
            hi,
        )

    def win_set(self, idx: np.ndarray, bounds: Bounds, chamber: tuple, steps: int) -> np.ndarray:
        """Largest loss along the curve that `chamber` still passes, per lane (see kernels)."""
        dropped, off_table, lo, hi = bounds
        args = (self.ideal, self.reach, self.ratio, self.cost)
        return win_set_edges(idx, *args, dropped, off_table, lo, hi, chamber, steps)


Bounds = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def unbounded(lanes: int, issues: int) -> Bounds:
    """Bounds that leave every package as it is: nothing dropped, no range."""
    inf = np.full(issues, np.inf)
    return np.zeros((lanes, issues), dtype=bool), np.zeros(issues), -inf, inf


def tradeoff_offer(
    loss: np.ndarray, mp: np.ndarray, kp: np.ndarray, mo: np.ndarray, ko: np.ndarray
) -> np.ndarray:
    """Package best for the opponent among those costing the party at most `loss` (lanes x issues).

    Issues off the table must come with kp = ko = 0 (the caller fixes their value).
    """
    lanes = np.arange(len(loss))
    curve = ContractCurve(len(loss), mp.shape[1])
    curve.update(lanes, mp, kp, mo, ko)
    return curve.package(loss, lanes)
