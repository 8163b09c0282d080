"""Each event's effect on a run's headline figures: the run's seed and lanes simulated with the
event forced on and forced off, compared lane by lane (events.parquet, the report's figure).

The arms are `negsim explain`'s (a scheduled event at probability 1 against 0; a random one at
hazard 1, firing once in the first week of its window, against hazard 0), simulated with the
run's seed, their chunks scheduled right after the run's own on the same workers. Common random
numbers pair the two arms lane by lane, so the difference is the event's effect with a paired
95% interval (Newcombe's for shares, a paired bootstrap for the median date). Conditioning on
the lanes where an event fired would mix its effect with the reasons it fired (a random event
reaches only talks still open).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

import numpy as np
import pandas as pd

from sim.ensemble import Task, run_tasks
from sim.model import ChunkResult
from sim.outcomes import headline_measures
from sim.scenario import Scenario

COLUMNS = ["event", "label", "measure", "effect", "low", "high", "on", "off"]
MEASURES = ("p_agree_before_deadline", "p_agree_by_horizon", "p_in_force", "median_agreement_date")
PRIMARY = "p_agree_before_deadline"
EVENT_LANES = 2000  # the forced arms use the run's first lanes, at most this many


def event_arms(scenario: Scenario) -> list[Task]:
    """The chunks of the forced runs: per event, the run's first lanes (at most EVENT_LANES)
    with the event forced off, then on; each labelled ("event", k, 0 off / 1 on, chunk), so
    they can share one schedule with the run's own chunks."""
    from sim.explain import with_overrides

    first = _first_lanes(scenario)
    tasks = []
    for k, factor in enumerate(_events(first)):
        for side, sets in enumerate((factor.low, factor.high)):
            arm = with_overrides(first, sets)
            chunks = run_tasks(arm, arm.replications, arm.seed)
            tasks += [replace(t, label=("event", k, side, t.index)) for t in chunks]
    return tasks


def event_effects(scenario: Scenario, arms: dict[Hashable, ChunkResult]) -> pd.DataFrame:
    """One row per event and measure: the figure forced on, forced off, and on - off with its
    paired 95% interval, from the results of `event_arms` by label. No rows (but the columns)
    when the scenario has no events."""
    from sim.explain import paired_effect

    first = _first_lanes(scenario)
    measures = [m for m in headline_measures(first) if m.key in MEASURES]
    rows = []
    for k, factor in enumerate(_events(first)):
        off, on = (
            {m.key: np.concatenate([m.lanes(arms[x].runs) for x in labels]) for m in measures}
            for labels in (sorted(x for x in arms if x[1:3] == (k, side)) for side in (0, 1))
        )
        for m in measures:
            value_off, value_on, (effect, low, high) = paired_effect(
                m, off[m.key], on[m.key], scenario.seed + k
            )
            rows.append(
                {
                    "event": factor.key.removeprefix("event:"),
                    "label": factor.label,
                    "measure": m.key,
                    "effect": effect,
                    "low": low,
                    "high": high,
                    "on": value_on,
                    "off": value_off,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _first_lanes(scenario: Scenario) -> Scenario:
    """The scenario cut to the lanes the forced arms use (the same first lanes in both arms:
    still paired)."""
    from sim.explain import with_overrides

    if scenario.replications > EVENT_LANES:
        return with_overrides(scenario, (f"replications={EVENT_LANES}",))
    return scenario


def _events(scenario: Scenario) -> list:
    """The scenario's events as explain's factors (forced off, forced on)."""
    from sim.explain import factors

    return [f for f in factors(scenario) if f.key.startswith("event:")]


def lanes_needed(scenario: Scenario) -> int:
    """Lanes the forced arms simulate: two runs of the scenario's first lanes per event."""
    return 2 * len(scenario.events) * min(scenario.replications, EVENT_LANES)


def summary_entries(table: pd.DataFrame) -> dict[str, dict]:
    """Per event, its forced effect on the chance before the deadline, for summary.json."""
    rows = table[table["measure"] == PRIMARY]
    return {
        row.event: {
            "measure": PRIMARY,
            **{k: _number(getattr(row, k)) for k in ("effect", "low", "high", "on", "off")},
        }
        for row in rows.itertuples()
    }


def _number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)
