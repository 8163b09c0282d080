"""Concession tactics: the target utility a party asks for, one registered class per tactic.

Adding a tactic is one subclass of `Tactic` decorated with `@register`: its parameters become
keys of the scenario's `tactic:` block, per-lane arrays of every party, paths events may change
and inputs a distribution may be drawn for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from agents.party import Party


@dataclass(frozen=True)
class Param:
    """One tactic parameter: name, default, the range a scenario may give, a one-line doc."""

    name: str
    default: float
    low: float
    high: float
    description: str
    above: bool = False  # the low end itself is refused (gt rather than ge)
    clip: tuple[float, float] | None = None  # where an event may move it (default: low, high)

    @property
    def bounds(self) -> tuple[float, float]:
        """Range an event's effect on this parameter is clipped to."""
        return self.clip or (self.low, self.high)


NOISE = Param("noise", 0.0, 0, 0.5, "Std. dev. of the target each offer.")
RECIPROCITY = Param("reciprocity", 0.0, 0.0, 1.0, "Share of the opponent's concession returned.")
DISCOUNT = Param(
    "discount", 1.0, 0, 1, "Weekly discount factor (Rubinstein's delta).", True, (1e-6, 1.0)
)
BETA = Param("beta", 1.0, 0, 100, "<1 Boulware, 1 linear, >1 Conceder.", True, (1e-3, 100.0))
TRUST_SENSITIVITY = Param(
    "trust_sensitivity", 0.0, 0, 2, "How much trust above 0.5 speeds concessions."
)
SHARED = (NOISE, RECIPROCITY, DISCOUNT)  # every party reads these: offers and acceptance


class Tactic:
    """A concession tactic. Subclass it, set the class attributes, write `target`, `@register`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""  # a few words for the schema's `kind`
    params: ClassVar[tuple[Param, ...]] = SHARED
    reads: ClassVar[tuple[str, ...]] = ()  # the party's lane arrays `target` reads

    def target(
        self, party: Party, idx: np.ndarray, weeks_ahead: float, floor: np.ndarray
    ) -> np.ndarray:
        """Utility asked for in lanes `idx`, `weeks_ahead` from now; the party keeps it above
        `floor` (its walk-away or win-set edge) and adds noise and reciprocity itself."""
        raise NotImplementedError

    @classmethod
    def check(cls, spec: Any) -> None:
        """Raise ValueError when values the schema accepts (attributes of `spec`) make no sense
        for this tactic."""


TACTICS: dict[str, type[Tactic]] = {}
_hooks: list[Callable[[], None]] = []


def parameters() -> tuple[Param, ...]:
    """Parameters of all registered tactics, each once, in registration order."""
    out: dict[str, Param] = {}
    for tactic in TACTICS.values():
        out |= {p.name: p for p in tactic.params if p.name not in out}
    return (*out.values(), *(p for p in SHARED if p.name not in out))


def param(name: str) -> Param:
    """The registered parameter called `name`."""
    return next(p for p in parameters() if p.name == name)


def register(tactic: type[Tactic]) -> type[Tactic]:
    """Class decorator: make a tactic available to scenarios under its `name`."""
    if not tactic.name.isidentifier() or tactic.name in TACTICS:
        raise ValueError(f"tactic name {tactic.name!r} is empty, not a name, or taken")
    known = {p.name: p for p in parameters()}
    for p in tactic.params:
        if p.name == "kind" or (p.name in known and known[p.name] != p):
            raise ValueError(f"tactic {tactic.name}: parameter {p.name!r} clashes with another")
    TACTICS[tactic.name] = tactic
    _changed()
    return tactic


def unregister(name: str) -> None:
    """Remove a registered tactic (tests register their own and take them away again)."""
    del TACTICS[name]
    _changed()


def on_change(hook: Callable[[], None]) -> None:
    """Call `hook` whenever the registered tactics change (the scenario schema rebuilds)."""
    _hooks.append(hook)


def _changed() -> None:
    for hook in _hooks:
        hook()


@register
class TimeDependent(Tactic):
    """Faratin, Sierra & Jennings (1998): from the opening demand down to the floor as the
    deadline nears, faster when trust is high."""

    name = "time_dependent"
    description = "a(t) curve"
    params = (BETA, NOISE, RECIPROCITY, TRUST_SENSITIVITY, DISCOUNT)
    reads = ("beta", "trust_sensitivity", "elapsed", "window_start", "deadline", "opening", "best")

    def target(
        self, party: Party, idx: np.ndarray, weeks_ahead: float, floor: np.ndarray
    ) -> np.ndarray:
        """a(t) from the clock's start to its deadline, scaled by trust."""
        start = party.window_start[idx]
        tau = np.clip(
            (party.elapsed[idx] + weeks_ahead - start) / (party.deadline[idx] - start), 0, 1
        )
        opening = party.opening[idx]
        opening = np.where(np.isnan(opening), party.best[idx], opening)
        aim = faratin_target(tau, floor, party.beta[idx], opening)
        trust = party.model.trust[idx]
        return trust_scaled(aim, opening, trust, party.trust_sensitivity[idx], floor)


@register
class Rubinstein(Tactic):
    """Rubinstein (1982): ask for the proposer's equilibrium share at once."""

    name = "rubinstein"
    description = "equilibrium split"
    reads = ("discount",)  # its own and the opponent's

    def target(
        self, party: Party, idx: np.ndarray, weeks_ahead: float, floor: np.ndarray
    ) -> np.ndarray:
        """(1 - d2) / (1 - d1 d2) of the pie, whatever the week."""
        return rubinstein_share(party.discount[idx], party.opponent.discount[idx])

    @classmethod
    def check(cls, spec: Any) -> None:
        """The equilibrium split is 0/0 when both discounts are 1."""
        if spec.discount >= 1:
            raise ValueError(f"'rubinstein' needs a discount below 1, not {spec.discount}")


def faratin_target(
    tau: np.ndarray, reservation: np.ndarray, beta: np.ndarray, opening: float | np.ndarray = 1.0
) -> np.ndarray:
    """Time-dependent tactic (Faratin, Sierra & Jennings 1998): r + (o - r)(1 - tau^(1/beta)).

    The opening demand o is 1 (the ideal package) until a soft deadline restarts the clock.
    beta < 1 is Boulware (holds firm until late), beta > 1 is Conceder.
    """
    return reservation + (opening - reservation) * (1.0 - tau ** (1.0 / beta))


def rubinstein_share(own_discount: np.ndarray, other_discount: np.ndarray) -> np.ndarray:
    """Proposer's equilibrium share of a unit pie (Rubinstein 1982): (1 - d2) / (1 - d1 d2)."""
    return (1.0 - other_discount) / (1.0 - own_discount * other_discount)


def trust_scaled(
    target: np.ndarray,
    opening: np.ndarray,
    trust: np.ndarray,
    sensitivity: np.ndarray,
    floor: np.ndarray,
) -> np.ndarray:
    """Scale the concession from the opening demand by 1 + sensitivity (trust - 0.5).

    Trust above the neutral 0.5 speeds concessions, distrust slows them; never below the floor.
    """
    concession = (opening - target) * (1.0 + sensitivity * (trust - 0.5))
    return np.maximum(np.minimum(opening - concession, opening), floor)


def reciprocated(
    target: np.ndarray, opponent_gain: np.ndarray, share: np.ndarray, trust: np.ndarray
) -> np.ndarray:
    """Return a trust-weighted share of the opponent's last concession (tit-for-tat in utility)."""
    return target - share * trust * opponent_gain
