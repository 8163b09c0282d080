"""explain.html: a tornado per headline figure, factors ranked by the size of their effect."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from sim.calendar import Clock
from sim.explain import PRIMARY, effect_text, value_pair
from sim.labels import AXIS_WRAP, TICK_WRAP, bar_rows_layout, key_name, tick_rows, wrap
from sim.page import rows_table, sections_of, write_page
from sim.run import resolved_yaml
from sim.scenario import Scenario

RAISES, LOWERS = "#1f7a4d", "#a04000"


def factor_tick(scenario: Scenario, row: pd.Series) -> str:
    """A factor's tick label: its short name and its two settings ('on', not 'on (once, week
    of ...)'), in lines of TICK_WRAP; the settings kept on one line."""
    low, high = (str(row[end]).split(" (")[0] for end in ("low", "high"))
    return wrap(f"{key_name(scenario, row['factor'])} ({low}\u00a0->\u00a0{high})", TICK_WRAP)


def tornado(rows: pd.DataFrame, scenario: Scenario) -> go.Figure:
    """Effects of every factor on one figure, largest at the top, with 95% interval whiskers;
    each factor by its short name, its full name on hover."""
    rows = rows.assign(size=rows["effect"].abs().fillna(0)).sort_values("size", kind="stable")
    scale = 100.0 if rows["kind"].iloc[0] == "share" else 1.0
    unit = "percentage points" if scale == 100 else (rows["unit"].iloc[0] or "value")
    effect = rows["effect"].fillna(0) * scale
    ticks = [factor_tick(scenario, r) for _, r in rows.iterrows()]
    at, span = tick_rows(ticks)
    fig = go.Figure(
        go.Bar(
            x=effect,
            y=at,
            width=1.2,
            orientation="h",
            marker_color=[RAISES if e >= 0 else LOWERS for e in effect],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (rows["effect_high"] * scale - effect).fillna(0).clip(lower=0),
                "arrayminus": (effect - rows["effect_low"] * scale).fillna(0).clip(lower=0),
            },
            hovertext=[
                wrap(f"{r['label']} ({r['low']} -> {r['high']}): {effect_text(r)}", 60)
                for _, r in rows.iterrows()
            ],
            hoverinfo="text",
            name=rows["measure_label"].iloc[0],
        )
    )
    fig.update_layout(
        title=f"What moves {rows['measure_label'].iloc[0]}",
        xaxis={
            "title": wrap(f"high minus low ({unit})", AXIS_WRAP),
            "automargin": True,
        },
        showlegend=False,
        **bar_rows_layout(ticks, at, span),
    )
    return fig


def write_explain_report(out: Path, scenario: Scenario, table: pd.DataFrame) -> Path:
    """explain.html beside explain.parquet: the ranking, then one tornado per figure."""
    clock = Clock.from_calendar(scenario.calendar)
    primary = table[table["measure"] == PRIMARY].sort_values("rank")
    headline = [
        (
            f"{r['rank']}. {r['label']} ({r['low']} -> {r['high']})",
            f"{effect_text(r)}; {value_pair(r)}",
        )
        for _, r in primary.iterrows()
    ]
    sections = []
    for measure, rows in table.groupby("measure", sort=False):
        if rows["effect"].isna().all():
            continue
        caption = (
            "Each bar is the effect of one factor set high rather than low (whiskers: 95% "
            "interval) with everything else and every random draw the same (paired lanes, one "
            "seed); a whisker crossing zero means the effect is not told apart from chance."
        )
        if measure == "median_agreement_date":
            caption += " Positive: the treaty is signed later (weeks)."
        sections.append((tornado(rows, scenario), caption))
    meta = {"seed": scenario.seed, "replications per run": f"{scenario.replications:,}"}
    label = primary["measure_label"].iloc[0] if len(primary) else PRIMARY
    said = [
        f"{'Most decisive' if k == 0 else 'Next'} for {label}: {r['label']} "
        f"({r['low']} against {r['high']}), {effect_text(r)}."
        for k, (_, r) in enumerate(primary.head(2).iterrows())
    ]
    return write_page(
        out / "explain.html",
        f"negsim explain: {scenario.name}",
        said,
        f"What decides the talks: every event forced on against forced off, every uncertain "
        f"input at its 10th against its 90th percentile. Ranked by the effect on {label}; "
        f"dates are on the scenario's clock ({clock.start} onward).",
        meta,
        rows_table(headline, ("factor (low -> high)", "effect")),
        sections_of(sections),
        resolved_yaml(scenario),
        appendix_title="What went in: the resolved scenario (YAML)",
    )


def terminal_table(table: pd.DataFrame, scenario: Scenario):
    """Factors ranked by their effect on P(before the deadline), with the effect on each share
    and on the median date, 95% intervals in brackets."""
    from rich.table import Table

    shown = [m for m in dict.fromkeys(table["measure"]) if not m.startswith("median_package")]
    labels = dict(zip(table["measure"], table["measure_label"], strict=False))
    out = Table(
        title=f"{scenario.name}: what moves the headline figures "
        f"({scenario.replications:,} paired lanes per run, seed {scenario.seed})"
    )
    out.add_column("#")
    out.add_column("factor (low -> high)")
    for m in shown:
        out.add_column(
            f"effect on {labels[m]}" + (" (weeks)" if m == "median_agreement_date" else "")
        )
    for rank, rows in table.groupby("rank", sort=True):
        first = rows.iloc[0]
        by = rows.set_index("measure")
        cells = []
        for m in shown:
            row = by.loc[m]
            text = effect_text(row, with_interval=False)
            if not math.isnan(row["effect_low"]):
                text += f"\n[dim]{effect_text(row).removeprefix(text).strip()}[/]"
            if m == PRIMARY:
                text += f"\n[dim]{value_pair(row)}[/]"
            cells.append(text)
        out.add_row(
            str(rank), f"{first['label']}\n[dim]{first['low']} -> {first['high']}[/]", *cells
        )
    return out
