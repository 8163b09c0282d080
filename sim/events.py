"""Scheduled and random events: when they fire, per lane, and what their effects change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from sim import lane_paths
from sim.calendar import Clock
from sim.scenario import Effect, Event, Scenario
from sim.streams import uniform

Target = tuple[np.ndarray, int | None, tuple[float, float]]  # array, column, bounds


@dataclass(frozen=True)
class Trigger:
    """One event compiled to weeks: scheduled at `first == last`, or a hazard over a window."""

    name: str
    first: int
    last: int
    chance: float
    repeat: bool
    effects: tuple[Effect, ...]

    @classmethod
    def compile(cls, name: str, event: Event, clock: Clock) -> Trigger:
        """Turn dates into week indices on the model's clock."""
        if event.date is not None:
            week = clock.week(event.date)
            return cls(name, week, week, event.probability, False, tuple(event.effects))
        lo, hi = event.window or (clock.start, clock.date(clock.weeks - 1))
        return cls(
            name, clock.week(lo), clock.week(hi), event.hazard, event.repeat, tuple(event.effects)
        )

    def due(self, week: int) -> bool:
        """True in the weeks this event can fire."""
        return self.first <= week <= self.last


def compile_events(scenario: Scenario, clock: Clock) -> list[Trigger]:
    """All events of a scenario, in file order."""
    return [Trigger.compile(n, e, clock) for n, e in scenario.events.items()]


def fire(model, week: int) -> None:
    """Draw every due event in every lane; apply effects where it fires; log firings.

    The draw of event e in week w of lane l depends on (seed, e, l, w) alone (common random
    numbers), so an event fires in the same weeks in every scenario that leaves it unchanged.
    """
    for e, trig in enumerate(model.triggers):
        if not trig.due(week):
            continue
        draw = uniform(model.seed, f"event:{trig.name}", model.lane_ids, week)
        fires = draw < model.chance[:, e]  # in every lane: the world goes on after a signature
        if not trig.repeat:
            fires &= model.fired_week[:, e] < 0
        idx = np.flatnonzero(fires)
        if idx.size == 0:
            continue
        model.fired_week[idx, e] = np.where(
            model.fired_week[idx, e] < 0, week, model.fired_week[idx, e]
        )
        model.fired_count[idx, e] += 1
        for k, effect in enumerate(trig.effects):
            target = model.effect_targets[e][k]
            apply(model, effect, target, idx, model.effect_values.get((e, k)))
            if moves_mandate(effect):
                model.mandate_stale[idx] |= model.active[idx]  # signed lanes bargain no more


def moves_mandate(effect: Effect) -> bool:
    """True for effects on what a mandate or its win-set is built from: domestic actors, the
    ratifier, or the agenda."""
    return effect.op == "drop" or ".actors." in effect.target or ".ratifier." in effect.target


def targets(model) -> list[list[Target]]:
    """What each effect of each event changes (array, column, bounds), resolved once per model:
    the arrays are changed in place, never replaced."""
    return [[lane_paths.resolve(model, f.target) for f in t.effects] for t in model.triggers]


def apply(
    model, effect: Effect, target: Target, idx: np.ndarray, per_lane: np.ndarray | None = None
) -> None:
    """Apply one effect to its `target` in lanes `idx`: set, add, scale a value, or drop an
    issue. `per_lane` holds the effect's value drawn per lane when it is an uncertain input.
    """
    array, column, bounds = target
    where = (idx,) if column is None else (idx, column)
    if effect.op == "drop":
        array[where] = True
        return
    value = effect.value if per_lane is None else per_lane[idx]
    if isinstance(value, date):
        value = model.clock.week(value)
    if effect.op == "set":
        new = np.broadcast_to(np.asarray(value, dtype=float), (idx.size,))
    elif effect.op == "add":
        new = array[where] + value
    else:
        new = array[where] * value
    array[where] = np.clip(new, *bounds)
