"""Scenario format: pydantic models are the single source of truth for keys, bounds and docs."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_validator,
)

from agents.tactics import TACTICS, on_change, parameters
from sim.inputs import Distribution
from sim.lane_paths import target_error

Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]

MAX_ISSUES = 20  # the reports draw a panel per issue side by side


class PathError(ValueError):
    """A validation failure at `path` below the block that raises it, so the loader finds its line."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def did_you_mean(word: str, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or '' when none is close."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Strict(BaseModel):
    """Base for every block: unknown keys are errors, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, allow_inf_nan=False)


class Session(Strict):
    """A formal round of talks; the parties bargain every week of it."""

    name: str = Field(description="Label of the round, e.g. 'Round 1'.")
    start: dt.date = Field(description="First day of the round.")
    weeks: int = Field(1, ge=1, le=1040, description="Length of the round in weeks.")
    venue: str = Field("", description="Where the round is held.")
    host: str | None = Field(None, description="Party hosting the round; it moves first in it.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")


class Rounds(Strict):
    """A neutral rule for rounds the sources do not date: one every `every_weeks` weeks."""

    first: dt.date = Field(description="Start of the first round the rule adds.")
    every_weeks: int = Field(
        4, ge=1, le=52, description="Weeks from one round's start to the next."
    )
    weeks: int = Field(1, ge=1, le=52, description="Length of each round in weeks.")
    venue: str = Field("", description="Where the rounds are held.")
    host: str | None = Field(None, description="Party hosting them (none: neutral ground).")
    source: str = Field("", description="Why this rule.")


class Summit(Strict):
    """A leaders' meeting: a bargaining week that also advances the leaders' clock."""

    name: str = Field(description="Label of the summit.")
    date: dt.date = Field(description="Day of the summit.")
    venue: str = Field("", description="Where the leaders meet.")
    clock_boost: float = Field(
        2.0, ge=0, le=52, description="Extra weeks the parties' clocks advance at the summit."
    )
    trust: float = Field(0.0, ge=-1, le=1, description="Change in trust the summit brings.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")


class Calendar(Strict):
    """Time frame: one model step is one week from `start` to `horizon`."""

    start: dt.date = Field(description="Day the simulation starts (week 0).")
    deadline: dt.date = Field(description="Treaty expiry: START I ends on this day.")
    horizon: dt.date = Field(description="Last day simulated.")
    deadline_kind: Literal["hard", "soft"] = Field(
        "soft", description="hard: talks end at expiry; soft: talks go on with lower reservations."
    )
    sessions: list[Session] = Field(default_factory=list, description="Dated talks rounds.")
    rounds: Rounds | None = Field(None, description="Rule for later, undated rounds.")
    summits: list[Summit] = Field(default_factory=list, description="Leaders' meetings.")

    def all_sessions(self) -> list[Session]:
        """Dated sessions, then the rounds the rule adds up to the horizon (never overlapping)."""
        out = list(self.sessions)
        if self.rounds is not None:
            rule, day = self.rounds, self.rounds.first
            while day <= self.horizon:
                name = f"Round {len(out) + 1}"
                out.append(
                    Session(
                        name=name,
                        start=day,
                        weeks=rule.weeks,
                        venue=rule.venue,
                        host=rule.host,
                        source=rule.source,
                    )
                )
                day += dt.timedelta(weeks=rule.every_weeks)
        return out

    @model_validator(mode="after")
    def _dates_in_order(self) -> Calendar:
        if not self.sessions and self.rounds is None:
            raise PathError(("sessions",), "no talks rounds: give sessions or a rounds rule")
        if self.deadline <= self.start:
            raise PathError(("deadline",), f"{self.deadline} is not after start {self.start}")
        if self.horizon < self.deadline:
            raise PathError(("horizon",), f"{self.horizon} is before the deadline {self.deadline}")
        if (self.horizon - self.start).days > 20 * 366:
            raise PathError(("horizon",), "more than 20 years after start")
        for kind, items in (("sessions", self.sessions), ("summits", self.summits)):
            for k, item in enumerate(items):
                key = "start" if isinstance(item, Session) else "date"
                day = getattr(item, key)
                if not self.start <= day <= self.horizon:
                    raise PathError(
                        (kind, k, key),
                        f"'{item.name}' on {day} is outside {self.start} .. {self.horizon}",
                    )
        return self

    @model_validator(mode="after")
    def _deadline_after_first_week(self) -> Calendar:
        if (self.deadline - self.start).days < 7:  # time to the deadline would be 0 weeks: 0/0
            raise PathError(("deadline",), f"{self.deadline} is in the start's week; set it later")
        return self


class Issue(Strict):
    """One negotiated dimension: a number on a range with a unit."""

    unit: str = Field(description="Unit of the values, e.g. 'warheads'.")
    min: Finite = Field(description="Lowest value on the table.")
    max: Finite = Field(description="Highest value on the table.")
    technical: bool = Field(False, description="Moves at most `capacity` of the way per week.")
    shape: Literal["quadratic", "linear"] = Field(
        "quadratic",
        description="Value of a point to an actor: 1 - (distance/tolerance)^2 (quadratic loss) "
        "or 1 - distance/tolerance (linear).",
    )
    off_table: Finite | None = Field(
        None,
        description="Value the issue takes when it is dropped (default: its no-agreement value).",
    )
    anchors: dict[float, str] = Field(default_factory=dict, description="Labelled values.")
    description: str = Field("", description="What the numbers mean.")

    @model_validator(mode="after")
    def _range(self) -> Issue:
        if self.max <= self.min:
            raise PathError(("max",), f"{self.max} is not above min {self.min}")
        for value in self.anchors:
            if not self.min <= value <= self.max:
                raise PathError(("anchors",), f"{value} is outside {self.min} .. {self.max}")
        return self


def _tactic_model() -> type[Strict]:
    """The `tactic:` block from the registered tactics: `kind` one of their names, then the
    union of their parameters, each tactic's own checks."""
    names = tuple(TACTICS)
    kinds = "; ".join(f"{n}: {TACTICS[n].description}" for n in names)
    fields: dict = {"kind": (Literal[names], Field(names[0], description=f"{kinds}."))}
    for p in parameters():
        low = {"gt": p.low} if p.above else {"ge": p.low}
        field = Field(p.default, le=p.high, allow_inf_nan=False, description=p.description, **low)
        fields[p.name] = (float, field)

    def tactic_checks(self: BaseModel) -> BaseModel:
        try:
            TACTICS[self.kind].check(self)
        except ValueError as err:
            raise PathError(("kind",), str(err)) from None
        return self

    return create_model(
        "Tactic",
        __base__=Strict,
        __doc__="How a party's target utility falls over time (Faratin, Sierra & Jennings 1998).",
        __validators__={"_tactic_checks": model_validator(mode="after")(tactic_checks)},
        **fields,
    )


Tactic = _tactic_model()


class Actor(Strict):
    """A domestic actor: an ideal position and salience per issue, and influence on the mandate."""

    role: str = Field("", description="Who this is, e.g. 'President Medvedev'.")
    influence: Share = Field(description="Weight of this actor in the party's mandate.")
    positions: dict[str, Finite] = Field(description="Ideal value per issue.")
    tolerance: dict[str, Positive] = Field(
        default_factory=dict,
        description="Per issue, the distance from the ideal (in the issue's units) at which a "
        "value is worth nothing to this actor; farther away it is worth less than nothing.",
    )
    salience: dict[str, Share] = Field(description="How much the actor cares, per issue.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")


class Bloc(Strict):
    """Members of a legislature who judge a treaty alike: their own ideals, tolerances, saliences."""

    members: int = Field(ge=1, le=2000, description="Number of voting members in the bloc.")
    positions: dict[str, Finite] = Field(description="Ideal value per issue.")
    tolerance: dict[str, Positive] = Field(
        description="Per issue, distance at which a value is worth nothing."
    )
    salience: dict[str, Share] = Field(description="How much the bloc cares, per issue.")
    margin: float = Field(
        0.0,
        ge=-2,
        le=2,
        allow_inf_nan=False,
        description="How much a treaty must beat no treaty (START I lapsed) for the median member.",
    )
    spread: float = Field(0.1, ge=0, le=2, description="Std. dev. of members' margins in the bloc.")
    source: str = Field("", description="Quote, earlier public fact, or why this is an assumption.")


class Ratifier(Strict):
    """Body that votes on a signed package `delay_weeks` after signature, bloc by bloc."""

    name: str = Field(description="e.g. 'US Senate'.")
    threshold: float = Field(0.5, gt=0, le=1, description="Share of members needed to ratify.")
    mood: float = Field(
        0.0, ge=0, le=1, description="Std. dev. of the chamber's mood at the vote (utility)."
    )
    delay_weeks: int = Field(12, ge=0, le=260, description="Weeks from signature to the vote.")
    blocs: dict[Name, Bloc] = Field(min_length=1, description="Groups of members.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")

    @property
    def members(self) -> int:
        """Members of the whole chamber."""
        return sum(b.members for b in self.blocs.values())

    @property
    def needed(self) -> int:
        """Yes votes that ratify: the threshold's share of all members, rounded up."""
        return math.ceil(self.threshold * self.members - 1e-9)


class Party(Strict):
    """A delegation: mandate from its actors, tactic, reservation, readiness, capacity."""

    name: str = Field(description="Display name, e.g. 'Russia'.")
    margin: float = Field(
        0.0,
        ge=-2,
        le=2,
        allow_inf_nan=False,
        description="Walk-away = utility of the no-agreement point + margin (what more a treaty "
        "must give, e.g. for the political cost of signing).",
    )
    readiness: dt.date | None = Field(None, description="Day from which it can table positions.")
    capacity: float = Field(
        1.0, ge=0, le=1, description="Share of full drafting speed the party's experts sustain."
    )
    anticipates_ratification: bool = Field(True, description="Accept only inside the win-set.")
    extension_weeks: int = Field(8, ge=1, le=104, description="Soft deadline: weeks added.")
    verification_loss: Share = Field(
        0.0, description="Soft deadline: walk-away lost per extension (no START verification)."
    )
    erosion_limit: float = Field(
        0.0, ge=0, le=2, description="Soft deadline: the most the walk-away can erode in all."
    )
    tactic: Tactic = Field(default_factory=Tactic)
    actors: dict[Name, Actor] = Field(min_length=1, description="Domestic actors.")
    ratifier: Ratifier | None = Field(None, description="Body that ratifies; none: automatic.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")


class Effect(Strict):
    """What an event does: `target` is a dotted path into the scenario."""

    target: str = Field(description="e.g. parties.us.capacity, trust, issues.iran_linkage.")
    op: Literal["set", "add", "scale", "drop"] = Field(description="drop removes an issue.")
    value: Finite | dt.date | None = Field(None, description="Operand of set/add/scale.")

    @model_validator(mode="after")
    def _value_matches_op(self) -> Effect:
        if self.op == "drop" and self.value is not None:
            raise PathError(("value",), "op 'drop' takes no value")
        if self.op != "drop" and self.value is None:
            raise PathError(("op",), f"op '{self.op}' needs a value")
        if isinstance(self.value, dt.date) and self.op != "set":
            raise PathError(("value",), "a date value only works with op 'set'")
        return self


class Event(Strict):
    """Scheduled (a date and a probability) or random (a weekly hazard in a window)."""

    description: str = Field("", description="What happens.")
    source: str = Field("", description="Quote from the article, or why this is an assumption.")
    date: dt.date | None = Field(None, description="Scheduled day; fires then with `probability`.")
    probability: Share = Field(1.0, description="Chance a scheduled event fires.")
    hazard: Share | None = Field(None, description="Weekly chance of a random event.")
    window: tuple[dt.date, dt.date] | None = Field(None, description="Days the hazard applies.")
    repeat: bool = Field(False, description="A random event may fire more than once.")
    effects: list[Effect] = Field(min_length=1, description="What the event changes.")

    @model_validator(mode="after")
    def _one_trigger(self) -> Event:
        if (self.date is None) == (self.hazard is None):
            raise ValueError("give exactly one of 'date' (scheduled) or 'hazard' (random)")
        if self.window is not None and self.window[1] < self.window[0]:
            raise PathError(("window",), "window ends before it starts")
        return self


class Breakdown(Strict):
    """After expiry under a soft deadline: a weekly chance the talks collapse for good."""

    hazard: Share = Field(0.0, description="Weekly chance of collapse after expiry.")
    growth: Share = Field(0.0, description="Added to the hazard per week without a concession.")
    source: str = Field("", description="Why these values.")


class Scenario(Strict):
    """A negotiation scenario: calendar, issues, two parties, events."""

    name: str = Field(description="Short name used in reports.")
    description: str = Field("", description="The question this scenario answers.")
    extends: str | None = Field(None, description="Parent scenario file this one builds on.")
    seed: int = Field(20090507, ge=0, lt=2**63, description="Seed of the whole ensemble.")
    replications: int = Field(2000, ge=1, le=10_000_000, description="Monte Carlo lanes.")
    first_mover: str = Field(description="Party that makes the first offer each round.")
    trust: Share = Field(0.5, description="Initial trust between the parties (0.5 neutral).")
    calendar: Calendar
    issues: dict[Name, Issue] = Field(min_length=1, description="Negotiated issues.")
    no_agreement: dict[Name, Finite] = Field(
        description="The world without a treaty, per issue (START I lapsed): each party's "
        "walk-away is its utility of this point plus its margin."
    )
    parties: dict[Name, Party] = Field(description="Exactly two delegations.")
    events: dict[Name, Event] = Field(default_factory=dict, description="What may happen.")
    drafting_weeks: float = Field(
        0.0,
        ge=0,
        le=520,
        description="Weeks of joint work at full capacity the treaty text needs once both sides "
        "have tabled positions (0: no text needed); it accrues only in session weeks.",
    )
    breakdown: Breakdown = Field(
        default_factory=lambda: Breakdown(), description="Soft deadline: talks may collapse."
    )
    _inputs: dict[str, Distribution] = PrivateAttr(default_factory=dict)

    @property
    def inputs(self) -> dict[str, Distribution]:
        """Uncertain inputs by dotted path, drawn once per lane (set by the loader)."""
        return self._inputs

    def with_inputs(self, inputs: dict[str, Distribution]) -> Scenario:
        """This scenario with its uncertain inputs set (the loader's last step), by path, so a
        scenario and its resolved copy give the same input columns in the same order."""
        self._inputs = dict(sorted(inputs.items()))
        return self

    def off_table(self, issue: str) -> float:
        """Value an issue holds once dropped: its `off_table`, else its no-agreement value."""
        spec = self.issues[issue]
        return self.no_agreement[issue] if spec.off_table is None else spec.off_table

    @field_validator("parties")
    @classmethod
    def _two_parties(cls, parties: dict[str, Party]) -> dict[str, Party]:
        if len(parties) != 2:
            raise ValueError(f"needs exactly two parties, got {len(parties)}")
        return parties

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        if self.first_mover not in self.parties:
            raise PathError(
                ("first_mover",), f"'{self.first_mover}' is not one of {list(self.parties)}"
            )
        self._check_issues()
        self._check_hosts()
        for pname, party in self.parties.items():
            self._check_actors(pname, party)
        for ename, event in self.events.items():
            for k, effect in enumerate(event.effects):
                try:
                    check_target(self, effect)
                except ValueError as err:
                    raise PathError(("events", ename, "effects", k, "target"), str(err)) from None
        return self

    def _check_issues(self) -> None:
        for issue in self.no_agreement:
            if issue not in self.issues:
                hint = did_you_mean(issue, self.issues)
                raise PathError(("no_agreement", issue), f"unknown issue '{issue}'{hint}")
        for issue in self.issues:
            if issue not in self.no_agreement:
                raise PathError(("no_agreement",), f"no value for issue '{issue}'")
        shapes = {spec.shape for spec in self.issues.values()}
        if len(shapes) > 1:
            odd = next(n for n, i in self.issues.items() if i.shape != "quadratic")
            raise PathError(
                ("issues", odd, "shape"),
                "mixing quadratic and linear issues in one scenario is not supported",
            )

    def _check_hosts(self) -> None:
        cal = self.calendar
        hosts = [(("calendar", "sessions", k, "host"), s.host) for k, s in enumerate(cal.sessions)]
        if cal.rounds is not None:
            hosts.append((("calendar", "rounds", "host"), cal.rounds.host))
        for where, host in hosts:
            if host is not None and host not in self.parties:
                raise PathError(where, f"'{host}' is not one of {list(self.parties)}")

    def _check_views(self, where: tuple, view: Actor | Bloc) -> None:
        """Positions, tolerances and saliences of an actor or a bloc name known issues."""
        for key in ("positions", "salience", "tolerance"):
            for issue in getattr(view, key):
                if issue not in self.issues:
                    hint = did_you_mean(issue, self.issues)
                    raise PathError((*where, key, issue), f"unknown issue '{issue}'{hint}")
        for issue in view.positions:
            if issue not in view.tolerance:
                raise PathError(
                    (*where, "tolerance"),
                    f"no tolerance for issue '{issue}' (how far from the ideal a value "
                    "is worth nothing, in the issue's units)",
                )
        for issue, sal in view.salience.items():
            if sal > 0 and issue not in view.positions:
                raise PathError((*where, "salience", issue), "salient issue has no position")

    def _check_actors(self, pname: str, party: Party) -> None:
        if party.ratifier is not None:
            for bname, bloc in party.ratifier.blocs.items():
                self._check_views(("parties", pname, "ratifier", "blocs", bname), bloc)
        total = 0.0
        for aname, actor in party.actors.items():
            where = ("parties", pname, "actors", aname)
            self._check_views(where, actor)
            for issue, value in actor.positions.items():
                spec = self.issues[issue]
                if not spec.min <= value <= spec.max:
                    raise PathError(
                        (*where, "positions", issue), f"{value} is outside {spec.min} .. {spec.max}"
                    )
            total += sum(actor.influence * sal for sal in actor.salience.values())
        if not total > 0:
            raise PathError(
                ("parties", pname, "actors"),
                "influence x salience is zero for every actor and issue: no mandate",
            )
        for issue in self.issues:
            weight = sum(a.influence * a.salience.get(issue, 0.0) for a in party.actors.values())
            if weight == 0:
                raise PathError(
                    ("parties", pname, "actors"),
                    f"no actor with influence gives issue '{issue}' any salience",
                )

    @field_validator("issues")
    @classmethod
    def _issues_the_reports_show(cls, issues: dict[str, Issue]) -> dict[str, Issue]:
        if len(issues) > MAX_ISSUES:
            raise ValueError(f"{len(issues)} issues; the reports show at most {MAX_ISSUES}")
        return issues

    @field_validator("parties")
    @classmethod
    def _party_keys(cls, parties: dict[str, Party]) -> dict[str, Party]:
        for key in parties:
            if "_" in key:  # column offer_<party>_<issue>_p50 must name one party and one issue
                raise PathError((key,), f"party key '{key}' may not contain '_'")
        return parties

    @model_validator(mode="after")
    def _events_in_calendar(self) -> Scenario:
        cal = self.calendar
        for ename, event in self.events.items():
            days = [event.date] if event.date else list(event.window or ())
            key = "date" if event.date else "window"
            if days and (max(days) < cal.start or min(days) > cal.horizon):
                raise PathError(
                    ("events", ename, key),
                    f"outside the calendar {cal.start} .. {cal.horizon}: it could never fire",
                )
        return self

    def issue_names(self) -> list[str]:
        """Issue names in their fixed order (the column order of every array)."""
        return list(self.issues)

    def party_names(self) -> list[str]:
        """Party names, first mover first."""
        other = [p for p in self.parties if p != self.first_mover]
        return [self.first_mover, *other]


def check_target(scn: Scenario, effect: Effect) -> None:
    """Raise ValueError unless the effect's dotted path names something events can change."""
    error = target_error(scn, effect.target, effect.op, effect.value)
    if error:
        raise ValueError(f"'{effect.target}' {error}")


def _install_tactics() -> None:
    """Rebuild the `tactic:` block and the models holding it after a tactic is (un)registered."""
    global Tactic
    Tactic = _tactic_model()
    field = Party.model_fields["tactic"]
    field.annotation, field.default_factory = Tactic, Tactic
    Party.model_rebuild(force=True)
    Scenario.model_rebuild(force=True)


on_change(_install_tactics)
