"""Two to four sentences that say what a run, comparison or sweep found, with 95% intervals.

Every number comes from the figures the command saved (summary.json, comparison.json,
sweep.parquet), rounded to whole percent, so the words and the files agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.designs import unreliable
from sim.labels import event_name, long_date, param_name, ratifier_name, value_text, when
from sim.scenario import Scenario

DASH = "\u2013"  # between the ends of an interval


def pct(value: float) -> str:
    """A share as a whole percent: '26%'."""
    return f"{round(100 * value)}%"


def share_text(share: dict) -> str:
    """'26% (24-29%)' from a summary share {estimate, low, high}."""
    return f"{pct(share['estimate'])} ({round(100 * share['low'])}{DASH}{pct(share['high'])})"


def likelihood(p: float) -> str:
    """The calibrated word for a probability (IPCC-style bands)."""
    for bound, word in ((0.99, "virtually certain"), (0.9, "very likely"), (0.66, "likely")):
        if p >= bound:
            return word
    for bound, word in ((0.01, "exceptionally unlikely"), (0.1, "very unlikely")):
        if p < bound:
            return word
    return "unlikely" if p < 0.33 else "about as likely as not"


def run_sentences(summary: dict, scn: Scenario) -> list[str]:
    """What one run found: the chance before the deadline, when deals come, ratification, events."""
    before = summary["p_agree_before_deadline"]
    by = summary["p_agree_by_horizon"]
    said = [
        f"A treaty before START I expires ({long_date(scn.calendar.deadline)}) is "
        f"{likelihood(before['estimate'])}: {share_text(before)} of {summary['replications']:,} "
        "replications sign in time."
    ]
    if summary.get("median_agreement_date"):
        said.append(
            f"By {long_date(scn.calendar.horizon)}, {share_text(by)} sign; half of those that "
            f"do have signed by {when(summary['median_agreement_date'])}."
        )
    else:
        said.append(f"No replication signs a treaty by {long_date(scn.calendar.horizon)}.")
    bodies = " and the ".join(ratifier_name(scn, p) for p in scn.party_names())
    said.append(
        f"{share_text(summary['p_in_force'])} of all replications end with a treaty ratified "
        f"by the {bodies}."
    )
    event = _strongest_event(summary, scn)
    if event:
        said.append(event)
    return said


def _strongest_event(summary: dict, scn: Scenario) -> str:
    """The event whose forcing on against off moves the chance before the deadline most, when
    its paired interval excludes zero, in one sentence."""
    best, gap = None, 0.05  # smaller effects are not worth a sentence
    for key, found in summary.get("events", {}).items():
        forced = found.get("forced") or {}
        effect, low, high = (forced.get(k) for k in ("effect", "low", "high"))
        if None in (effect, low, high) or low <= 0 <= high:
            continue
        if abs(effect) > gap:
            best, gap = key, abs(effect)
    if best is None:
        return ""
    forced = summary["events"][best]["forced"]
    d, lo, hi = (round(100 * forced[k]) for k in ("effect", "low", "high"))
    return (
        f"Forcing “{event_name(scn, best)}” on rather than off moves the chance in time "
        f"by {d:+d} points ({lo:+d}{DASH}{hi:+d}), from {pct(forced['off'])} to "
        f"{pct(forced['on'])}."
    )


def compare_sentences(figures: Sequence, names: list[str], scenarios: list[Scenario]) -> list[str]:
    """The first scenario's chance before the deadline, then each other's difference to it."""
    rows = {f.scenario: f for f in figures if f.measure.key == "p_agree_before_deadline"}
    first = rows[names[0]]
    deadline = long_date(scenarios[0].calendar.deadline)
    said = [
        f"In {names[0]}, a treaty before START I expires ({deadline}) is "
        f"{likelihood(first.estimate)}: {_interval(first)}."
    ]
    for name in names[1:4]:
        row = rows.get(name)
        if row is None or row.diff is None:
            continue
        d, lo, hi = (round(100 * x) for x in row.diff)
        if lo > 0 or hi < 0:
            way = "raises" if d > 0 else "lowers"
            said.append(
                f"{name} {way} it by {abs(d)} points ({lo:+d} to {hi:+d}), to {_interval(row)}."
            )
        else:
            said.append(
                f"{name} gives {_interval(row)}: no clear difference ({lo:+d} to {hi:+d} points)."
            )
    if len(names) > 4:
        said.append(f"{len(names) - 4} more scenarios are in the table below.")
    return said


def _interval(row) -> str:
    return f"{pct(row.estimate)} ({round(100 * row.low)}{DASH}{pct(row.high)})"


def sweep_sentences(
    table: pd.DataFrame,
    paths: list[str],
    scn: Scenario,
    indices: pd.DataFrame | None,
    flat: list[str],
) -> list[str]:
    """Over the design: the range of the chance in time, what drives it, and what stayed flat."""
    output = "p_agree_before_deadline"
    values = table[output]
    said = [
        f"Over {len(table)} design points, the chance of a treaty before START I expires "
        f"ranges from {pct(values.min())} to {pct(values.max())}."
    ]
    driver = _driver(table, paths, indices, output)
    if driver is not None:
        path, low, high, low_where, high_where = driver
        said.append(
            f"It moves most with “{param_name(scn, path)}”: {pct(low)} on average "
            f"{low_where} and {pct(high)} {high_where}."
        )
    rows = None if indices is None else indices[indices["output"] == output]
    if rows is not None and len(rows):
        top = rows.sort_values("ST").iloc[-1]
        shaky = bool(unreliable(top))
        said.append(
            f"It accounts for about {pct(min(max(top['ST'], 0), 1))} of the variance, interactions "
            f"included (total Sobol index {top['ST']:.2f} ± {top['ST_conf']:.2f}"
            + ("; unreliable at this sample size)." if shaky else ").")
        )
    if flat:
        said.append(f"No change beyond chance over the design: {', '.join(flat)}.")
    return said[:4]


def _driver(
    table: pd.DataFrame, paths: list[str], indices: pd.DataFrame | None, output: str
) -> tuple[str, float, float, str, str] | None:
    """The parameter whose low and high values move the output's average most (with Sobol
    indices: the one of largest total index), and where those averages are taken."""
    if indices is not None and len(indices[indices["output"] == output]):
        rows = indices[indices["output"] == output]
        paths = [rows.sort_values("ST").iloc[-1]["parameter"]]
    best = None
    for path in paths:
        column = pd.to_numeric(table[path], errors="coerce")
        if column.nunique() < 2:
            continue
        if column.nunique() <= 12:  # a grid or a list: its lowest and highest values
            lo_cut, hi_cut = column.min(), column.max()
            where = (f"at {value_text(lo_cut)}", f"at {value_text(hi_cut)}")
        else:  # a sampled range: its lowest and highest quarters
            lo_cut, hi_cut = np.nanquantile(column, [0.25, 0.75])
            where = (f"below {value_text(lo_cut)}", f"above {value_text(hi_cut)}")
        low = float(table.loc[column <= lo_cut, output].mean())
        high = float(table.loc[column >= hi_cut, output].mean())
        if best is None or abs(high - low) > abs(best[2] - best[1]):
            best = (path, low, high, *where)
    return best
