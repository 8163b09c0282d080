"""Per-lane paths: the values the model holds per lane, which events may change and uncertain
inputs may draw, as one table.

A pattern is dotted parts: literals, placeholders (<p> party, <a> actor, <i> issue, <b> bloc,
<e> event, <n> index), alternatives (<margin|capacity>) and <param> (a registered tactic's
parameter). Validation, the error hints, `events.apply` and the model's input draws all read
`PATHS`; adding an event target or an input is one row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.tactics import param, parameters

if TYPE_CHECKING:
    from sim.scenario import Scenario

Bounds = tuple[float, float]
Where = dict[str, str]  # what the placeholders matched: p, a, i, b, e, n, and attr
Locate = Callable[[Any, Where], tuple[np.ndarray, int | None]]
NAME = r"[A-Za-z][A-Za-z0-9_]*"
CHANGE = ("set", "add", "scale")
ISSUE_RANGE = "issue range"  # bounds of an issue's position: the issue's min .. max
ANY: Bounds = (-np.inf, np.inf)


@dataclass(frozen=True)
class LanePath:
    """One row: a path pattern, who may use it, its ops and bounds, where the model holds it."""

    pattern: str
    locate: Locate  # (model, where) -> the array and its column (None: one value per lane)
    bounds: Bounds | Mapping[str, Bounds] | Callable[[str], Bounds] | str = ANY  # see limits
    event: bool = True  # an event's effect may target it
    draw: bool = True  # a distribution may be drawn for it, once per lane
    ops: tuple[str, ...] = CHANGE
    dates: bool = False  # an event may set it to a date
    needs: Callable[[Scenario, Where], bool] | None = None  # exists beyond its placeholders

    def shown(self) -> str:
        """The pattern as the hints print it, <param> spelt out."""
        names = "|".join(p.name for p in parameters())
        return self.pattern.replace("<param>", f"<{names}>")

    def match(self, path: str) -> Where | None:
        """What the placeholders matched when `path` has this row's shape, else None."""
        found = _regex(self.shown()).fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v}

    def exists(self, scn: Scenario, at: Where) -> bool:
        """True when every name in the path is in the scenario (and the row's own condition)."""
        party = scn.parties.get(at.get("p", ""))
        checks = {
            "p": lambda: party is not None,
            "a": lambda: at["a"] in party.actors,
            "b": lambda: party.ratifier is not None and at["b"] in party.ratifier.blocs,
            "i": lambda: at["i"] in scn.issues,
            "e": lambda: at["e"] in scn.events,
            "n": lambda: int(at["n"]) < len(scn.events[at["e"]].effects),
        }
        if not all(check() for key, check in checks.items() if key in at):
            return False
        return self.needs is None or self.needs(scn, at)

    def limits(self, model: Any, at: Where, column: int | None) -> Bounds:
        """Range a changed value is clipped to: the row's, its attr's (a mapping or a function
        of the attr), or the issue's range."""
        if self.bounds == ISSUE_RANGE:
            return model.issue_lo[column], model.issue_hi[column]
        if isinstance(self.bounds, Mapping):
            return self.bounds[at["attr"]]
        if callable(self.bounds):
            return self.bounds(at["attr"])
        return self.bounds  # type: ignore[return-value]


@lru_cache(maxsize=256)
def _regex(shown: str) -> re.Pattern:
    """Compile a shown pattern: placeholders to named groups, alternatives to group `attr`."""
    parts = []
    for part in shown.split("."):
        if not part.startswith("<"):
            parts.append(re.escape(part))
        elif "|" in part:
            parts.append(f"(?P<attr>{part[1:-1]})")
        else:
            parts.append(f"(?P<{part[1:-1]}>{'[0-9]+' if part == '<n>' else NAME})")
    return re.compile(r"\.".join(parts))


def _party(model: Any, at: Where) -> Any:
    return model.party[at["p"]]


def _actor(model: Any, at: Where) -> Any:
    return next(a for a in _party(model, at).actors if a.name == at["a"])


def _attr(owner: Callable[[Any, Where], Any]) -> Locate:
    """Locate the array named by the path's attr on `owner`, one value per lane."""
    return lambda model, at: (getattr(owner(model, at), at["attr"]), None)


def _by_issue(name: str | None = None) -> Locate:
    """Locate an actor's array (named `name`, else the path's attr) at the issue's column."""

    def locate(model: Any, at: Where) -> tuple[np.ndarray, int | None]:
        column = model.issue_names.index(at["i"])
        return getattr(_actor(model, at), name or at["attr"]), column

    return locate


def _bloc(model: Any, at: Where) -> tuple[np.ndarray, int | None]:
    body = _party(model, at).ratifier
    return getattr(body, at["attr"]), body.bloc_names.index(at["b"])


def _event(model: Any, at: Where) -> int:
    return [t.name for t in model.triggers].index(at["e"])


def _effect_value(model: Any, at: Where) -> tuple[np.ndarray, int | None]:
    """An effect's value drawn per lane: the model keeps it by (event, effect)."""
    key = (_event(model, at), int(at["n"]))
    return model.effect_values.setdefault(key, np.zeros(model.lanes)), None


def _has_ratifier(scn: Scenario, at: Where) -> bool:
    return scn.parties[at["p"]].ratifier is not None


PATHS: tuple[LanePath, ...] = (
    LanePath("trust", lambda m, at: (m.trust, None), (0.0, 1.0)),
    LanePath(
        "issues.<i>",
        lambda m, at: (m.dropped, m.issue_names.index(at["i"])),
        draw=False,
        ops=("drop",),
    ),
    LanePath(
        "parties.<p>.<margin|capacity>",
        _attr(_party),
        {"margin": (-2.0, 2.0), "capacity": (1e-6, 1.0)},
    ),
    LanePath(
        "parties.<p>.readiness",
        lambda m, at: (_party(m, at).readiness, None),
        draw=False,
        ops=("set", "add"),
        dates=True,
    ),
    LanePath(
        "parties.<p>.tactic.<param>",
        _attr(_party),
        lambda attr: param(attr).bounds,  # the tactics registry's
    ),
    LanePath(
        "parties.<p>.ratifier.mood",
        lambda m, at: (_party(m, at).ratifier.mood, None),
        (0.0, 1.0),
        needs=_has_ratifier,
    ),
    LanePath(
        "parties.<p>.ratifier.blocs.<b>.<margin|spread>",
        _bloc,
        {"margin": (-2.0, 2.0), "spread": (0.0, 2.0)},
    ),
    LanePath(
        "parties.<p>.actors.<a>.influence",
        lambda m, at: (_actor(m, at).influence, None),
        (0.0, 1.0),
    ),
    LanePath("parties.<p>.actors.<a>.positions.<i>", _by_issue("position"), ISSUE_RANGE),
    LanePath(
        "parties.<p>.actors.<a>.<salience|tolerance>.<i>",
        _by_issue(),
        {"salience": (0.0, 1.0), "tolerance": (1e-9, np.inf)},
    ),
    LanePath("drafting_weeks", lambda m, at: (m.drafting_weeks, None), (0.0, np.inf), event=False),
    LanePath(
        "events.<e>.<probability|hazard>",
        lambda m, at: (m.chance, _event(m, at)),
        (0.0, 1.0),
        event=False,
    ),
    LanePath("events.<e>.effects.<n>.value", _effect_value, event=False),
)


def find(path: str) -> tuple[LanePath, Where] | None:
    """The row whose pattern `path` has, with what its placeholders matched."""
    return _find(path, tuple(p.name for p in parameters()))


@lru_cache(maxsize=4096)
def _find(path: str, tactic_params: tuple[str, ...]) -> tuple[LanePath, Where] | None:
    for row in PATHS:
        at = row.match(path)
        if at is not None:
            return row, at
    return None


def is_input_path(path: str) -> bool:
    """True when the model holds the value at `path` per lane, so it may be uncertain."""
    found = find(path)
    return found is not None and found[0].draw


def target_error(scn: Scenario, path: str, op: str, value: object) -> str | None:
    """Why an event's effect (op, value) may not change `path` in `scn`, or None if it may."""
    found = find(path)
    if found is not None:
        row, at = found
        date_ok = row.dates or not isinstance(value, dt.date)
        if row.event and op in row.ops and date_ok and row.exists(scn, at):
            return None
    if op == "drop":
        drops = ", ".join(r.shown() for r in PATHS if "drop" in r.ops)
        return f"cannot be dropped: only {drops} can"
    shown = ", ".join(r.shown() for r in PATHS if r.event)
    return f"is not a path events can change ({shown})"


def resolve(model: Any, path: str) -> tuple[np.ndarray, int | None, Bounds]:
    """Array, column and bounds behind a path an event or an uncertain input may set
    (validated by the schema); a column is an issue, a bloc, or an event."""
    row, at = find(path)  # type: ignore[misc]
    array, column = row.locate(model, at)
    return array, column, row.limits(model, at, column)
