"""NegotiationModel: one Mesa model runs a chunk of Monte Carlo lanes of the talks, week by week."""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from agents.kernels import offer_counts
from agents.party import TIE, Party
from sim import lane_paths
from sim.calendar import Clock
from sim.events import compile_events, fire, targets
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
        lane_ids: np.ndarray | None = None,
        values: dict[str, np.ndarray] | None = None,
        record: bool = True,
    ) -> None:
        """`inputs` gives each uncertain input's value per lane instead of drawing it (ABC-SMC
        proposes them); the other draws stay keyed by (seed, purpose, lane, week).

        A packed sweep runs lanes of many design points in one model: `lane_ids` numbers them
        (each point's lanes 0, 1, ... as in a run of its own), `values` sets each swept path per
        lane, and `record=False` skips the weekly offer histograms, which would mix the points.
        """
        super().__init__(rng=seed)
        self.scenario = scenario
        self.lanes = lanes
        self.seed = int(seed)
        if lane_ids is None:
            lane_ids = np.arange(first_lane, first_lane + lanes)
        self.lane_ids = np.asarray(lane_ids, dtype=np.uint64)
        self.recording = record
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
        self.drafting_weeks = np.full(lanes, scenario.drafting_weeks)
        self.fired_week = np.full((lanes, len(self.triggers)), -1, dtype=np.int32)
        self.fired_count = np.zeros((lanes, len(self.triggers)), dtype=np.int32)
        self.mandate_stale = np.zeros(lanes, dtype=bool)  # lanes whose actors or agenda changed
        self.order = [Party(self, key, scenario.parties[key]) for key in scenario.party_names()]
        self.party = {p.key: p for p in self.order}
        first, second = self.order
        first.opponent, second.opponent = second, first
        self.effect_targets = targets(self)
        self.drawn = self._draw_inputs(inputs or {})
        for path, per_lane in (values or {}).items():
            self._set(path, per_lane)
        self._update_mandates(np.arange(lanes))
        self.week = 0
        self._init_outcomes(trace)

    def _draw_inputs(self, given: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Draw every uncertain input once per lane (common random numbers), unless `given`
        holds its values, and set it."""
        drawn = {}
        for path, dist in self.scenario.inputs.items():
            values = given.get(path)
            if values is None:
                values = dist.quantile(uniform(self.seed, f"input:{path}", self.lane_ids))
            self._set(path, values)
            drawn[path] = values
        return drawn

    def _set(self, path: str, values: np.ndarray) -> None:
        """Set a per-lane path (an uncertain input or a swept parameter) in every lane."""
        array, column, _ = lane_paths.resolve(self, path)  # an effect's value too
        array[(slice(None),) if column is None else (slice(None), column)] = values

    def _init_outcomes(self, trace: int) -> None:
        lanes, n_issues, weeks = self.lanes, len(self.issue_names), self.clock.weeks
        self.agreed_week = np.full(lanes, -1, dtype=np.int32)
        self.package = np.full((lanes, n_issues), np.nan)
        self.utility_at = np.full((lanes, 2), np.nan)
        self.walk_away_at = np.full((lanes, 2), np.nan)
        self.vote_week = np.full((lanes, 2), -1, dtype=np.int32)  # when each chamber votes
        self.yes_votes = np.full((lanes, 2), -1, dtype=np.int64)
        self.ratified = np.zeros((lanes, 2), dtype=bool)
        self.ratified_week = np.full((lanes, 2), -1, dtype=np.int32)
        self.text = np.zeros(lanes)  # share of the treaty text drafted
        self.stalled = np.zeros(lanes)  # weeks since the last concession
        self.broke_week = np.full(lanes, -1, dtype=np.int32)
        self.agreements = np.zeros(weeks, dtype=np.int64)
        self.offer_hist = np.zeros((2, weeks, n_issues, OFFER_BINS), dtype=np.int64)
        self.trace_lanes = min(trace, lanes)
        self.trace = np.full((weeks, 2, self.trace_lanes, n_issues), np.nan) if trace else None

    def step(self) -> None:
        """One week: events, summits, deadline, mandates, then offers and acceptance."""
        week = self.week
        fire(self, week)
        if self.clock.summit_trust[week]:
            np.clip(self.trust + self.clock.summit_trust[week], 0.0, 1.0, out=self.trust)
        for party in self.order:
            party.elapsed += self.clock.boost[week]
        self._deadline(week)
        self._breakdown(week)
        if self.clock.bargaining[week]:
            stale = np.flatnonzero(self.mandate_stale & self.active)  # mandates matter only here
            if stale.size:
                self._update_mandates(stale)
                self.mandate_stale[stale] = False
            self._bargain(week)
        self._votes(week)
        if self.recording:  # a packed sweep keeps none: its lanes belong to many points
            if self.clock.bargaining[week] or week in (0, self.clock.deadline_week):
                self._record(week)
            else:  # outside sessions no offer moves and no lane settles: last week stands
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
        for party in self.order:
            party.update_win_set(idx)

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

    def _breakdown(self, week: int) -> None:
        """Soft deadline: after expiry talks may collapse, the likelier the longer they stall."""
        spec = self.scenario.breakdown
        if (
            self.clock.hard_deadline
            or week < self.clock.deadline_week
            or not (spec.hazard or spec.growth)
        ):
            return
        hazard = spec.hazard + spec.growth * self.stalled
        collapse = self.active & (uniform(self.seed, "breakdown", self.lane_ids, week) < hazard)
        self.active[collapse] = False
        self.broke_week[collapse] = week

    def _draft(self) -> None:
        """A session week with both positions tabled drafts text at the slower side's pace."""
        both = self.active & self.order[0].has_offer & self.order[1].has_offer
        both &= self.drafting_weeks > 0
        pace = np.minimum(self.order[0].capacity, self.order[1].capacity)
        self.text[both] += pace[both] / self.drafting_weeks[both]

    def _bargain(self, week: int) -> None:
        """Alternating offers, the round's host first: each ready party answers the standing
        offer (a signature needs the treaty text), then counters."""
        self.stalled[self.active] += 1
        self._draft()
        host = self.clock.host[week]
        order = self.order if host is None else [self.party[host], self.party[host].opponent]
        for party in order:
            ready = self.active & (party.readiness <= week)
            answering = np.flatnonzero(ready & party.opponent.has_offer)
            if answering.size:
                yes = answering[party.accepts(answering)]
                self.stalled[answering[party.opponent_gain[answering] > TIE]] = 0
                yes = yes[party.opponent.stands_by(yes)]
                yes = yes[(self.drafting_weeks[yes] == 0) | (self.text[yes] >= 1.0 - TIE)]
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
            self.utility_at[idx, p] = party.utility(package, idx)
            self.walk_away_at[idx, p] = party.no_deal[idx] + party.margin[idx] - party.erosion[idx]
            delay = party.ratifier.delay_weeks if party.ratifier else 0
            self.vote_week[idx, p] = min(week + delay, self.clock.weeks - 1)

    def _votes(self, week: int) -> None:
        """Chambers vote on packages signed `delay_weeks` ago, under this week's mood; a party
        without a ratifier ratifies at signature. Votes due after the horizon are held in its
        last week."""
        for p, party in enumerate(self.order):
            due = np.flatnonzero(self.vote_week[:, p] == week)
            if due.size == 0:
                continue
            self.ratified_week[due, p] = week
            if party.ratifier is None:
                self.ratified[due, p] = True
                continue
            body = party.ratifier
            yes = body.votes(self.package[due], due, body.shock(due))
            self.yes_votes[due, p] = yes
            self.ratified[due, p] = yes >= body.needed

    def _record(self, week: int) -> None:
        """Weekly offer histograms over lanes still talking, and the traced lanes' offers."""
        span = self.issue_hi - self.issue_lo
        for p, party in enumerate(self.order):
            rows = np.flatnonzero(self.active & party.has_offer)
            if rows.size:
                offer_counts(
                    party.offer, rows, self.issue_lo, span, OFFER_BINS, self.offer_hist[p, week]
                )
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

    def release(self) -> None:
        """Drop what the finished model holds. Agents and model refer to each other, so without
        this a chunk's arrays wait for Python's next full garbage collection (about 70 ms)
        while a worker simulates more chunks: its memory grew by ~30 MB per chunk."""
        for party in self.order:
            for agent in [*party.actors, party.ratifier, party]:
                if agent is not None:
                    agent.__dict__.clear()
        self.__dict__.clear()

    def result(self) -> ChunkResult:
        """Collect per-lane outcomes as named columns."""
        agreed = self.agreed_week >= 0
        in_force = agreed & self.ratified.all(axis=1)
        runs = {
            "agreed": agreed,
            "agreed_week": self.agreed_week,
            "in_force": in_force,
            "in_force_week": np.where(in_force, self.ratified_week.max(axis=1), -1).astype(
                np.int32
            ),
            "broke_down_week": self.broke_week,
        }
        for i, name in enumerate(self.issue_names):
            runs[f"package_{name}"] = self.package[:, i]
        for p, party in enumerate(self.order):
            runs[f"utility_{party.key}"] = self.utility_at[:, p]
            runs[f"walk_away_{party.key}"] = self.walk_away_at[:, p]
            runs[f"ratified_{party.key}"] = agreed & self.ratified[:, p]
            runs[f"ratified_week_{party.key}"] = self.ratified_week[:, p]
            if party.ratifier is not None:
                runs[f"votes_{party.key}"] = self.yes_votes[:, p]
        for e, trig in enumerate(self.triggers):
            runs[f"event_{trig.name}_week"] = self.fired_week[:, e]
            runs[f"event_{trig.name}_count"] = self.fired_count[:, e]
        for path, values in self.drawn.items():
            runs[f"input.{path}"] = values
        return ChunkResult(runs, self.agreements, self.offer_hist, self.trace)
