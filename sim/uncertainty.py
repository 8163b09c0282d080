"""What the uncertain inputs do: the chance of a treaty in time at low and high draws of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq

from sim.calendar import Clock
from sim.labels import param_name, wrap
from sim.outcomes import ParquetColumns, wilson
from sim.page import Section
from sim.scenario import Scenario

INPUT = "input."
ENDS = (("lowest third of draws", "#a9cce3"), ("highest third of draws", "#117a65"))


def input_columns(runs: Path) -> list[str]:
    """The runs.parquet columns that hold an uncertain input's per-lane draw."""
    return [c for c in pq.read_schema(runs).names if c.startswith(INPUT)]


Thirds = dict[str, list[tuple[float, float, float]]]  # input column -> (low third, high third)


def thirds(runs: Path, scenario: Scenario) -> Thirds:
    """Per input: the share signed in time (Wilson interval) in its lowest and highest third."""
    columns = input_columns(runs)
    if not columns:
        return {}
    table = ParquetColumns(runs)  # one column at a time: memory flat in the replications
    deadline = Clock.from_calendar(scenario.calendar).deadline_week
    in_time = np.asarray(table["agreed"]) & (np.asarray(table["agreed_week"]) < deadline)
    found = {}
    for column in columns:
        draws = np.asarray(table[column], dtype=float)
        low, high = np.nanquantile(draws, [1 / 3, 2 / 3])
        if low == high:
            continue  # a choice of one value, or draws too coarse to split
        found[column] = [
            wilson(np.count_nonzero(in_time & mask), np.count_nonzero(mask))
            for mask in (draws <= low, draws >= high)
        ]
    return found


def short(label: str, most: int = 64) -> str:
    """A long label's head and tail: effects of one event differ only at the end."""
    return label if len(label) <= most else f"{label[: most // 2 - 4]}… {label[-(most // 2) :]}"


def input_section(runs: Path, scenario: Scenario, found: Thirds | None = None) -> Section | None:
    """The uncertain inputs' figure (from `found` when already computed), or None when the
    scenario draws none."""
    found = thirds(runs, scenario) if found is None else found
    if not found:
        return None
    keys = list(found)[::-1]
    names = [wrap(short(param_name(scenario, k.removeprefix(INPUT))), 24) for k in keys]
    fig = go.Figure()
    for end, (label, colour) in enumerate(ENDS):
        shares = [found[k][end] for k in keys]
        fig.add_trace(
            go.Scatter(
                x=[s[0] for s in shares],
                y=names,
                mode="markers",
                marker={"size": 12, "color": colour, "line": {"color": "#333", "width": 1}},
                name=label,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [s[2] - s[0] for s in shares],
                    "arrayminus": [s[0] - s[1] for s in shares],
                },
                customdata=[[s[1], s[2], k] for s, k in zip(shares, keys, strict=True)],
                hovertemplate=f"{label}: %{{x:.1%}} signed in time (%{{customdata[0]:.1%}} to "
                "%{customdata[1]:.1%})<extra>%{customdata[2]}</extra>",
            )
        )
    fig.update_layout(
        title="Uncertain inputs",
        xaxis_title="signed in time",
        xaxis_range=[-0.02, 1.02],
        xaxis_tickformat=".0%",
        yaxis_automargin=True,
        height=170 + sum(max(60, 20 * (n.count("<br>") + 1)) for n in names),
    )
    return Section(
        "Uncertain inputs: the chance of a treaty in time at low and high draws (95% intervals)",
        "Each input is drawn anew in every replication; dots far apart mean the outcome hangs "
        "on a value the scenario does not know.",
        [fig],
    )
