"""Party: a delegation whose mandate, offers and acceptance are arrays over Monte Carlo lanes."""

from __future__ import annotations

import mesa
import numpy as np

from agents.domestic import DomesticActor, Ratifier, aggregate_mandate
from agents.logrolling import ConcessionPath
from agents.tactics import faratin_target, reciprocated, rubinstein_share, trust_scaled
from sim.scenario import Party as PartySpec

TIE = 1e-12  # utilities this close count as equal: an indifferent party accepts (Rubinstein)


class Party(mesa.Agent):
    """A delegation (Russia, US): mandate from domestic actors, a tactic, a reservation utility.

    Every attribute that events may change is an array with one entry per lane.
    """

    def __init__(self, model: mesa.Model, key: str, spec: PartySpec) -> None:
        super().__init__(model)
        lanes, issues = model.lanes, model.issue_names
        self.key = key
        self.name = spec.name
        self.actors = [DomesticActor(model, n, a, issues) for n, a in spec.actors.items()]
        self.ratifier = Ratifier(model, spec.ratifier) if spec.ratifier else None
        self.anticipates = spec.anticipates_ratification and self.ratifier is not None
        self.kind = spec.tactic.kind
        self.extension_weeks = spec.extension_weeks
        self.verification_loss = spec.verification_loss
        ready = model.clock.week(spec.readiness) if spec.readiness else 0

        def full(value: float) -> np.ndarray:
            return np.full(lanes, float(value))

        self.reservation = full(spec.reservation)
        self.capacity = full(spec.capacity)
        self.readiness = full(ready)
        self.beta = full(spec.tactic.beta)
        self.noise = full(spec.tactic.noise)
        self.reciprocity = full(spec.tactic.reciprocity)
        self.trust_sensitivity = full(spec.tactic.trust_sensitivity)
        self.discount = full(spec.tactic.discount)
        self.elapsed = np.zeros(lanes)
        self.deadline = full(model.clock.deadline_week)
        self.window_start = np.zeros(lanes)  # where the tactic's clock starts (soft deadline)
        self.opening = np.ones(lanes)  # utility demanded at the start of that clock
        self.offer = np.zeros((lanes, len(issues)))
        self.has_offer = np.zeros(lanes, dtype=bool)
        self.last_seen = np.full(lanes, np.nan)
        self.opponent_gain = np.zeros(lanes)
        self.opponent: Party = self
        self.ideal = np.zeros((lanes, len(issues)))  # mandate: set by update_mandate
        self.weight = np.zeros((lanes, len(issues)))
        self.span = np.ones((lanes, len(issues)))
        self.path = ConcessionPath(lanes, len(issues))  # set by update_path

    def update_mandate(self, idx: np.ndarray) -> None:
        """Recompute ideal package, issue weights and utility spans from the domestic actors."""
        ideal, weight = aggregate_mandate(self.actors, self.model.dropped, idx)
        lo, hi = self.model.issue_lo, self.model.issue_hi
        ideal = np.clip(ideal, lo, hi)
        self.ideal[idx] = ideal
        self.weight[idx] = weight
        self.span[idx] = np.maximum(ideal - lo, hi - ideal)

    def update_path(self, idx: np.ndarray) -> None:
        """Rebuild the logrolling path toward the opponent, once both mandates are current."""
        other = self.opponent
        self.path.update(
            idx,
            self.ideal[idx],
            self.weight[idx],
            self.span[idx],
            other.ideal[idx],
            other.weight[idx],
            other.span[idx],
        )

    def utility(self, package: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Linear additive utility of packages (one row per lane in `idx`)."""
        closeness = 1.0 - np.abs(package - self.ideal[idx]) / self.span[idx]
        return np.einsum("li,li->l", self.weight[idx], closeness)

    def floor(self, idx: np.ndarray) -> np.ndarray:
        """Least utility the party will take: its reservation, or its ratifier's win-set edge."""
        if self.anticipates:
            return np.maximum(self.reservation[idx], self.ratifier.win_set_bound(idx))
        return self.reservation[idx]

    def target(self, idx: np.ndarray, weeks_ahead: float = 0.0) -> np.ndarray:
        """Utility the tactic asks for now (or `weeks_ahead` later), trust included, no noise."""
        floor = self.floor(idx)
        if self.kind == "rubinstein":
            share = rubinstein_share(self.discount[idx], self.opponent.discount[idx])
            return np.maximum(share, floor)
        start = self.window_start[idx]
        tau = np.clip(
            (self.elapsed[idx] + weeks_ahead - start) / (self.deadline[idx] - start), 0, 1
        )
        opening = self.opening[idx]
        aim = faratin_target(tau, floor, self.beta[idx], opening)
        return trust_scaled(aim, opening, self.model.trust[idx], self.trust_sensitivity[idx], floor)

    def accepts(self, idx: np.ndarray) -> np.ndarray:
        """AC_next: take the opponent's standing offer if it beats what we would ask next week."""
        offer = self.opponent.offer[idx]
        value = self.utility(offer, idx)
        seen = self.last_seen[idx]
        self.opponent_gain[idx] = np.where(np.isnan(seen), 0.0, np.maximum(value - seen, 0.0))
        self.last_seen[idx] = value
        return value >= self.discount[idx] * self.target(idx, weeks_ahead=1.0) - TIE

    def propose(self, idx: np.ndarray) -> None:
        """Table a new offer: tactic target, noise, reciprocity, no retreat, logrolled to a package."""
        floor = self.floor(idx)
        aim = self.target(idx) + self.noise[idx] * self.model.rng.standard_normal(len(idx))
        aim = reciprocated(
            aim, self.opponent_gain[idx], self.reciprocity[idx], self.model.trust[idx]
        )
        standing = np.where(self.has_offer[idx], self.utility(self.offer[idx], idx), 1.0)
        aim = np.clip(np.minimum(aim, standing), floor, 1.0)  # concessions are not withdrawn
        package = self.path.package(1.0 - aim, idx)
        self.offer[idx] = self.limit_technical(package, idx)
        self.has_offer[idx] = True

    def limit_technical(self, package: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Technical issues move at most `capacity` of the way from the last offer; dropped are fixed."""
        tech = np.flatnonzero(self.model.technical)
        if tech.size:
            rows = idx[:, None]
            last = np.where(self.has_offer[rows], self.offer[rows, tech], self.ideal[rows, tech])
            package[:, tech] = last + self.capacity[rows] * (package[:, tech] - last)
        return np.where(self.model.dropped[idx], self.model.off_table, package)

    def pass_deadline(self, idx: np.ndarray) -> None:
        """Soft deadline reached: restart the tactic's clock from the current demand toward a
        lower reservation over `extension_weeks` more weeks."""
        due = idx[self.elapsed[idx] >= self.deadline[idx]]
        self.opening[due] = self.target(due)  # the clock restarts from where the party stands
        self.window_start[due] = self.elapsed[due]
        self.deadline[due] = self.elapsed[due] + self.extension_weeks
        self.reservation[due] = np.maximum(self.reservation[due] - self.verification_loss, 0.0)
