"""NegotiationModel: one Mesa model runs a chunk of Monte Carlo lanes of the talks, week by week."""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from agents.party import Party
from sim.calendar import Clock
from sim.events import compile_events, fire, resolve
from sim.scenario import Scenario
from sim.streams import uniform

OFFER_BINS = 50  # resolution of the weekly offer histograms behind the report's bands


@dataclass
class ChunkResult:
    """What a chunk of lanes leaves behind: one row per lane plus weekly ensemble counts."""

    runs: dict[str, np.ndarray]
    agreements: np.ndarray  # new agreements per week
    offer_hist: np.ndarray  # parties x weeks x issues x bins, over lanes still talking
    trace: np.ndarray | None = None  # weeks x parties x traced lanes x issues


class NegotiationModel(mesa.Model):
    """The 2009 START follow-on talks as a Mesa model over `lanes` independent replications.

    The model owns the clock, the shared state (trust, dropped issues) and the two Party agents;
    every rule is an array operation over lanes, masked to those still talking.
    """

    def __init__(
        self,
        scenario: Scenario,
        lanes: int,
        seed: int,
        trace: int = 0,
        first_lane: int = 0,
        inputs: dict[str, np.ndarray] | None = None,
    ) -> None:
        """`inputs` gives each uncertain input's value per lane instead of drawing it (ABC-SMC
        proposes them); the other draws stay keyed by (seed, purpose, lane, week)."""
        super().__init__(rng=seed)
        self.scenario = scenario
        self.lanes = lanes
        self.seed = int(seed)
        self.lane_ids = np.arange(first_lane, first_lane + lanes, dtype=np.uint64)
        self.clock = Clock.from_calendar(scenario.calendar)
        self.issue_names = scenario.issue_names()
        issues = [scenario.issues[i] for i in self.issue_names]
        self.issue_lo = np.array([i.min for i in issues])
        self.issue_hi = np.array([i.max for i in issues])
        self.technical = np.array([i.technical for i in issues])
        self.quadratic = all(i.shape == "quadratic" for i in issues)
        self.off_table = np.array([scenario.off_table(i) for i in self.issue_names])
        self.no_agreement = np.array([scenario.no_agreement[i] for i in self.issue_names])
        self.dropped = np.zeros((lanes, len(issues)), dtype=bool)
        self.trust = np.full(lanes, scenario.trust)
        self.active = np.ones(lanes, dtype=bool)
        self.triggers = compile_events(scenario, self.clock)
        self.chance = np.tile([t.chance for t in self.triggers], (lanes, 1)).reshape(lanes, -1)
        self.effect_values: dict[tuple[int, int], np.ndarray] = {}
        self.fired_week = np.full((lanes, len(self.triggers)), -1, dtype=np.int32)
        self.fired_count = np.zeros((lanes, len(self.triggers)), dtype=np.int32)
        self.mandate_stale = np.zeros(lanes, dtype=bool)  # lanes whose actors or agenda changed
        self.order = [Party(self, key, scenario.parties[key]) for key in scenario.party_names()]
        self.party = {p.key: p for p in self.order}
        first, second = self.order
        first.opponent, second.opponent = second, first
        self.drawn = self._draw_inputs(inputs or {})
        self._update_mandates(np.arange(lanes))
        self.week = 0
        self._init_outcomes(trace)

    def _draw_inputs(self, given: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Draw every uncertain input once per lane (common random numbers), unless `given`
        holds its values, and set it."""
        drawn = {}
        names = [t.name for t in self.triggers]
        for path, dist in self.scenario.inputs.items():
            values = given.get(path)
            if values is None:
                values = dist.quantile(uniform(self.seed, f"input:{path}", self.lane_ids))
            parts = path.split(".")
            if parts[0] == "events":
                e = names.index(parts[1])
                if parts[2] == "effects":
                    self.effect_values[(e, int(parts[3]))] = values
                else:
                    self.chance[:, e] = values
            else:
                array, column, _ = resolve(self, parts)
                array[(slice(None),) if column is None else (slice(None), column)] = values
            drawn[path] = values
        return drawn

    def _init_outcomes(self, trace: int) -> None:
        lanes, n_issues, weeks = self.lanes, len(self.issue_names), self.clock.weeks
        self.agreed_week = np.full(lanes, -1, dtype=np.int32)
        self.package = np.full((lanes, n_issues), np.nan)
        self.utility_at = np.full((lanes, 2), np.nan)
        self.ratified = np.zeros((lanes, 2), dtype=bool)
        self.agreements = np.zeros(weeks, dtype=np.int64)
        self.offer_hist = np.zeros((2, weeks, n_issues, OFFER_BINS), dtype=np.int64)
        self.trace_lanes = min(trace, lanes)
        self.trace = np.full((weeks, 2, self.trace_lanes, n_issues), np.nan) if trace else None

    def step(self) -> None:
        """One week: events, summits, deadline, mandates, then offers and acceptance."""
        week = self.week
        fire(self, week)
        if self.clock.summit_trust[week]:
            self.trust = np.clip(self.trust + self.clock.summit_trust[week], 0.0, 1.0)
        for party in self.order:
            party.elapsed += self.clock.boost[week]
        self._deadline(week)
        stale = np.flatnonzero(self.mandate_stale)
        if stale.size:
            self._update_mandates(stale)
            self.mandate_stale[stale] = False
        if self.clock.bargaining[week]:
            self._bargain(week)
        if self.clock.bargaining[week] or week in (0, self.clock.deadline_week):
            self._record(week)
        else:  # outside sessions no offer moves and no lane settles: last week's picture stands
            self._repeat_record(week)
        for party in self.order:
            party.elapsed += 1.0
        self.week += 1
        self.running = self.week < self.clock.weeks  # to the horizon: events go on after signature

    def _update_mandates(self, idx: np.ndarray) -> None:
        """Both mandates from the domestic actors in lanes `idx`, then both logrolling paths."""
        for party in self.order:
            party.update_mandate(idx)
        for party in self.order:
            party.update_path(idx)

    def _deadline(self, week: int) -> None:
        """Hard deadline: talks end at expiry. Soft: each party's perceived deadline moves out."""
        if week < self.clock.deadline_week:
            return
        if self.clock.hard_deadline:
            self.active[:] = False
            return
        idx = np.flatnonzero(self.active)
        for party in self.order:
            party.pass_deadline(idx)

    def _bargain(self, week: int) -> None:
        """Alternating offers: each ready party answers the standing offer, then counters."""
        for party in self.order:
            ready = self.active & (party.readiness <= week)
            answering = np.flatnonzero(ready & party.opponent.has_offer)
            if answering.size:
                yes = answering[party.accepts(answering)]
                yes = yes[party.opponent.stands_by(yes)]
                self._sign(yes, party.opponent.offer[yes], week)
            proposing = np.flatnonzero(ready & self.active)
            if proposing.size:
                party.propose(proposing)

    def _sign(self, idx: np.ndarray, package: np.ndarray, week: int) -> None:
        """Close the talks in lanes `idx` on `package`; each ratifier votes on it."""
        if idx.size == 0:
            return
        self.active[idx] = False
        self.agreed_week[idx] = week
        self.package[idx] = package
        self.agreements[week] += idx.size
        for p, party in enumerate(self.order):
            value = party.utility(package, idx)
            self.utility_at[idx, p] = value
            ratifier = party.ratifier
            self.ratified[idx, p] = True if ratifier is None else ratifier.ratifies(value, idx)

    def _record(self, week: int) -> None:
        """Weekly offer histograms over lanes still talking, and the traced lanes' offers."""
        span = self.issue_hi - self.issue_lo
        n_issues = len(self.issue_names)
        for p, party in enumerate(self.order):
            rows = np.flatnonzero(self.active & party.has_offer)
            if rows.size:
                scaled = (party.offer[rows] - self.issue_lo) / span * OFFER_BINS
                bins = np.clip(scaled.astype(np.int64), 0, OFFER_BINS - 1)
                flat = bins + np.arange(n_issues) * OFFER_BINS
                counts = np.bincount(flat.ravel(), minlength=n_issues * OFFER_BINS)
                self.offer_hist[p, week] = counts.reshape(n_issues, OFFER_BINS)
            if self.trace is not None:
                k = self.trace_lanes
                self.trace[week, p] = np.where(party.has_offer[:k, None], party.offer[:k], np.nan)

    def _repeat_record(self, week: int) -> None:
        """Copy the previous week's histograms and traced offers (nothing moved since)."""
        self.offer_hist[:, week] = self.offer_hist[:, week - 1]
        if self.trace is not None:
            self.trace[week] = self.trace[week - 1]

    def run(self) -> ChunkResult:
        """Play the talks from start to horizon (or until every lane has settled)."""
        while self.running:
            self.step()
        # Mesa 3.3 keeps every model alive in a class-level agent-id counter (mesa issue #3179,
        # gone in later releases): forget this one, or each chunk a worker runs stays in memory.
        getattr(mesa.Agent, "_ids", {}).pop(self, None)
        return self.result()

    def result(self) -> ChunkResult:
        """Collect per-lane outcomes as named columns."""
        agreed = self.agreed_week >= 0
        delay = np.array([p.ratifier.delay_weeks if p.ratifier else 0 for p in self.order])
        runs = {
            "agreed": agreed,
            "agreed_week": self.agreed_week,
            "in_force": agreed & self.ratified.all(axis=1),
            "in_force_week": np.where(agreed, self.agreed_week + delay.max(), -1).astype(np.int32),
        }
        for i, name in enumerate(self.issue_names):
            runs[f"package_{name}"] = self.package[:, i]
        for p, party in enumerate(self.order):
            runs[f"utility_{party.key}"] = self.utility_at[:, p]
            runs[f"ratified_{party.key}"] = agreed & self.ratified[:, p]
        for e, trig in enumerate(self.triggers):
            runs[f"event_{trig.name}_week"] = self.fired_week[:, e]
            runs[f"event_{trig.name}_count"] = self.fired_count[:, e]
        for path, values in self.drawn.items():
            runs[f"input.{path}"] = values
        return ChunkResult(runs, self.agreements, self.offer_hist, self.trace)
