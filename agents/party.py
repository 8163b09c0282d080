"""Party: a delegation whose mandate, offers and acceptance are arrays over Monte Carlo lanes."""

from __future__ import annotations

import mesa
import numpy as np

from agents.domestic import ActorStack, DomesticActor, Ratifier, aggregate_mandate
from agents.kernels import utility as kernel_utility
from agents.logrolling import ConcessionPath
from agents.tactics import TACTICS, parameters, reciprocated
from agents.tradeoff import ContractCurve
from sim.scenario import Party as PartySpec
from sim.streams import normal

TIE = 1e-12  # utilities this close count as equal: an indifferent party accepts (Rubinstein)
WIN_SET_STEPS = 14  # bisection steps for the win-set edge: 2^-14 of the offer path


class Party(mesa.Agent):
    """A delegation (Russia, US): mandate from domestic actors, a tactic, a walk-away utility.

    Every attribute that events may change is an array with one entry per lane.
    """

    def __init__(self, model: mesa.Model, key: str, spec: PartySpec) -> None:
        super().__init__(model)
        lanes, issues = model.lanes, model.issue_names
        self.key = key
        self.name = spec.name
        self.actors = [DomesticActor(model, n, a, issues) for n, a in spec.actors.items()]
        self.actor_stack = ActorStack(self.actors, lanes)
        self.ratifier = Ratifier(model, spec.ratifier, key) if spec.ratifier else None
        self.anticipates = spec.anticipates_ratification and self.ratifier is not None
        self.tactic = TACTICS[spec.tactic.kind]()
        self.extension_weeks = spec.extension_weeks
        self.verification_loss = spec.verification_loss
        self.erosion_limit = spec.erosion_limit
        ready = model.clock.week(spec.readiness) if spec.readiness else 0

        def full(value: float) -> np.ndarray:
            return np.full(lanes, float(value))

        self.margin = full(spec.margin)
        self.erosion = np.zeros(lanes)  # walk-away lost to soft-deadline extensions
        self.capacity = full(spec.capacity)
        self.readiness = full(ready)
        for param in parameters():  # every tactic's, so events may change any of them
            setattr(self, param.name, full(getattr(spec.tactic, param.name)))
        self.elapsed = np.zeros(lanes)
        # under a soft deadline the parties expect talks to go on past expiry, so they pace
        # their concessions to a later date than under a hard one
        soft = 0 if model.clock.hard_deadline else spec.extension_weeks
        self.deadline = full(model.clock.deadline_week + soft)
        self.win_set = np.full(lanes, np.inf)  # most the party may concede and still ratify
        self.window_start = np.zeros(lanes)  # where the tactic's clock starts (soft deadline)
        self.opening = np.full(lanes, np.nan)  # demand at the clock's start (NaN: the ideal's)
        self.offer = np.zeros((lanes, len(issues)))
        self.has_offer = np.zeros(lanes, dtype=bool)
        self.last_seen = np.full(lanes, np.nan)
        self.opponent_gain = np.zeros(lanes)
        self.opponent: Party = self
        self.ideal = np.zeros((lanes, len(issues)))  # mandate: set by update_mandate
        self.weight = np.zeros((lanes, len(issues)))
        self.tolerance = np.ones((lanes, len(issues)))
        self.curvature = np.zeros((lanes, len(issues)))  # w / T^2 on the table, 0 off it
        self.power = 2.0 if model.quadratic else 1.0
        self.best = np.ones(lanes)  # utility of the party's own ideal package (dropped fixed)
        self.no_deal = np.zeros(lanes)  # utility of the no-agreement point
        shape = (lanes, len(issues))
        self.path = ContractCurve(*shape) if model.quadratic else ConcessionPath(*shape)

    def update_mandate(self, idx: np.ndarray) -> None:
        """Recompute ideal, tolerance and weights from the domestic actors, and what the ideal
        package and the no-agreement point are worth with them."""
        ideal, tolerance, weight = aggregate_mandate(self.actor_stack, idx)
        self.ideal[idx] = ideal
        self.tolerance[idx] = tolerance
        self.weight[idx] = weight
        model = self.model
        self.curvature[idx] = np.where(model.dropped[idx], 0.0, weight / tolerance**2)
        own = np.where(model.dropped[idx], model.off_table, ideal)
        self.best[idx] = self.utility(own, idx)
        self.no_deal[idx] = self.utility(np.broadcast_to(model.no_agreement, own.shape), idx)

    def update_path(self, idx: np.ndarray) -> None:
        """Rebuild the offer path toward the opponent (both mandates current): the contract
        curve for quadratic values, the least-cost logrolling order for linear ones."""
        other, live = self.opponent, ~self.model.dropped[idx]
        if self.model.quadratic:
            mp, mo = self.ideal[idx], other.ideal[idx]
            self.path.update(idx, mp, self.curvature[idx], mo, other.curvature[idx])
            return
        self.path.update(
            idx,
            self.ideal[idx],
            np.where(live, self.weight[idx], 0.0),
            self.tolerance[idx],
            other.ideal[idx],
            np.where(live, other.weight[idx], 0.0),
            other.tolerance[idx],
        )

    def update_win_set(self, idx: np.ndarray) -> None:
        """Putnam's anticipation: along its own offer path, the largest concession its
        ratifier would still pass in expectation (bisection on the path's parameter, from the
        opponent's ideal at 0 to the party's at 1; -inf if even its ideal fails)."""
        if not self.anticipates or idx.size == 0:
            return
        body, path = self.ratifier, self.path
        if self.model.quadratic:  # compiled: bisection lane by lane
            chamber = body.chamber()
            self.win_set[idx] = path.win_set(idx, self._bounds(), chamber, WIN_SET_STEPS)
            return

        def passes(u: np.ndarray) -> np.ndarray:
            return body.passes(path.at(u, idx, self._bounds()), idx)

        lo, hi = np.zeros(idx.size), np.ones(idx.size)
        anything, at_ideal = passes(lo), passes(hi)
        for _ in range(WIN_SET_STEPS):  # invariant where it matters: lo fails, hi passes
            mid = 0.5 * (lo + hi)
            ok = passes(mid)
            lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
        edge = path.loss_at(hi, idx)
        self.win_set[idx] = np.where(anything, np.inf, np.where(at_ideal, edge, -np.inf))

    def utility(self, package: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Weighted sum over issues of 1 - (|x - ideal| / tolerance)^power (negative beyond it);
        the weights sum to 1."""
        package = np.ascontiguousarray(np.broadcast_to(package, (len(idx), self.ideal.shape[1])))
        return kernel_utility(
            package, idx, self.ideal, self.tolerance, self.weight, self.power == 2.0
        )

    def floor(self, idx: np.ndarray) -> np.ndarray:
        """Least utility the party will take: its walk-away, or its ratifier's win-set edge."""
        walk_away = self.no_deal[idx] + self.margin[idx] - self.erosion[idx]
        if self.anticipates:
            return np.maximum(walk_away, self.best[idx] - self.win_set[idx])
        return walk_away

    def target(self, idx: np.ndarray, weeks_ahead: float = 0.0) -> np.ndarray:
        """Utility the tactic asks for now (or `weeks_ahead` later), trust included, no noise."""
        floor = self.floor(idx)
        return np.maximum(self.tactic.target(self, idx, weeks_ahead, floor), floor)

    def accepts(self, idx: np.ndarray) -> np.ndarray:
        """AC_next: take the opponent's standing offer if it beats what we would ask next week."""
        offer = self.opponent.offer[idx]
        value = self.utility(offer, idx)
        seen = self.last_seen[idx]
        self.opponent_gain[idx] = np.where(np.isnan(seen), 0.0, np.maximum(value - seen, 0.0))
        self.last_seen[idx] = value
        yes = value >= self.discount[idx] * self.target(idx, weeks_ahead=1.0) - TIE
        if self.anticipates and yes.any():  # never sign what the ratifier would reject
            yes[yes] = self.ratifier.passes(offer[yes], idx[yes])
        return yes

    def stands_by(self, idx: np.ndarray) -> np.ndarray:
        """Would the party still sign its standing offer? Not below its walk-away (a mandate or
        a technical limit may have moved it since it was tabled)."""
        return self.utility(self.offer[idx], idx) >= self.floor(idx) - TIE

    def propose(self, idx: np.ndarray) -> None:
        """Table a new offer: tactic target, noise, reciprocity, no retreat, logrolled to a package."""
        model = self.model
        floor, best = self.floor(idx), self.best[idx]
        shock = normal(model.seed, f"noise:{self.key}", model.lane_ids[idx], model.week)
        aim = self.target(idx) + self.noise[idx] * shock
        aim = reciprocated(aim, self.opponent_gain[idx], self.reciprocity[idx], model.trust[idx])
        standing = np.where(self.has_offer[idx], self.utility(self.offer[idx], idx), best)
        aim = np.clip(np.minimum(aim, standing), floor, best)  # concessions are not withdrawn
        self.offer[idx] = self.tradeoff(best - aim, idx)
        self.has_offer[idx] = best >= floor - TIE  # no package beats walking away: table none

    def tradeoff(self, loss: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Package best for the opponent among those that cost the party at most `loss`."""
        return self.path.package(loss, idx, self._bounds())

    def _bounds(self) -> tuple:
        """How a package is settled to be signable: dropped issues at their fixed value, every
        issue inside its range (the kernels apply it)."""
        model = self.model
        return model.dropped, model.off_table, model.issue_lo, model.issue_hi

    def pass_deadline(self, idx: np.ndarray) -> None:
        """Soft deadline reached: restart the tactic's clock from the current demand toward a
        lower walk-away over `extension_weeks` more weeks."""
        due = idx[self.elapsed[idx] >= self.deadline[idx]]
        self.opening[due] = self.target(due)  # the clock restarts from where the party stands
        self.window_start[due] = self.elapsed[due]
        self.deadline[due] = self.elapsed[due] + self.extension_weeks
        eroded = self.erosion[due] + self.verification_loss
        self.erosion[due] = np.minimum(eroded, self.erosion_limit)
