"""Each event's effect on a run's headline figures: the run's seed and lanes simulated with the
event forced on and forced off, compared lane by lane (events.parquet, the report's figure).

The arms are `negsim explain`'s (a scheduled event at probability 1 against 0; a random one at
hazard 1, firing once in the first week of its window, against hazard 0), simulated in process
with the run's seed. Common random numbers pair the two arms lane by lane, so the difference is
the event's effect with a paired 95% interval (Newcombe's for shares, a paired bootstrap for
the median date). Conditioning on the lanes where an event fired would mix its effect with the
reasons it fired (a random event reaches only talks still open).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

import pandas as pd

from sim.outcomes import headline_measures
from sim.scenario import Scenario

COLUMNS = ["event", "label", "measure", "effect", "low", "high", "on", "off"]
MEASURES = ("p_agree_before_deadline", "p_agree_by_horizon", "p_in_force", "median_agreement_date")
PRIMARY = "p_agree_before_deadline"
EVENT_LANES = 2000  # the forced arms use the run's first lanes, at most this many


def event_effects(
    scenario: Scenario,
    executor: Executor | None = None,
    on_chunk: Callable[[int], None] = lambda lanes: None,
) -> pd.DataFrame:
    """One row per event and measure: the figure forced on, forced off, and on - off with its
    paired 95% interval. No rows (but the columns) when the scenario has no events."""
    from sim.explain import factors, paired_effect, simulate, with_overrides

    if scenario.replications > EVENT_LANES:  # the same first lanes in both arms: still paired
        scenario = with_overrides(scenario, (f"replications={EVENT_LANES}",))
    measures = [m for m in headline_measures(scenario) if m.key in MEASURES]
    events = [f for f in factors(scenario) if f.key.startswith("event:")]
    rows = []
    for k, factor in enumerate(events):
        off, on = (
            simulate(with_overrides(scenario, sets), measures, executor, on_chunk)
            for sets in (factor.low, factor.high)
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
