"""sweep.html: a line with its band for one parameter, heatmaps for two, Sobol tornado for many."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.designs import Param
from sim.report import write_page
from sim.sweep import SHARES, headline_outputs

LABELS = {
    "p_agree_before_deadline": "P(agreement before deadline)",
    "p_agree_by_horizon": "P(agreement by horizon)",
    "p_in_force": "P(treaty ratified by both)",
}
SHARE_COLOURS = {
    "p_agree_before_deadline": "#117a65",
    "p_agree_by_horizon": "#7f8c8d",
    "p_in_force": "#7d3c98",
}


def label(output: str) -> str:
    """Reader's name of a headline output column."""
    if output.startswith("mean_utility_"):
        return f"mean utility to {output.removeprefix('mean_utility_')}"
    return LABELS.get(output, output)


def line_figure(table: pd.DataFrame, param: str) -> go.Figure:
    """Each share against the one swept parameter, with its 95% band."""
    frame = table.sort_values(param)
    fig = go.Figure()
    for name in SHARES:
        colour = SHARE_COLOURS[name]
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        x = frame[param].tolist()
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=frame[f"{name}_high"].tolist() + frame[f"{name}_low"].tolist()[::-1],
                mode="lines",
                fill="toself",
                fillcolor=f"rgba({r},{g},{b},0.2)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x, y=frame[name], mode="lines+markers", name=label(name), line={"color": colour}
            )
        )
    fig.update_layout(
        title=f"Outcomes against {param} (bands: 95% intervals)",
        xaxis_title=param,
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
    )
    return fig


def heatmap_figure(table: pd.DataFrame, x: str, y: str, output: str) -> go.Figure:
    """One output over a two-parameter grid (or a scatter coloured by it for sampled designs)."""
    is_grid = (
        table.groupby([x, y]).size().max() == 1
        and len(table) == table[x].nunique() * table[y].nunique()
    )
    title = f"{label(output)} over {x} and {y}"
    if is_grid:
        grid = table.pivot(index=y, columns=x, values=output)
        trace = go.Heatmap(
            x=grid.columns,
            y=grid.index,
            z=grid.to_numpy(),
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            colorbar={"title": "share"},
        )
    else:
        trace = go.Scatter(
            x=table[x],
            y=table[y],
            mode="markers",
            marker={
                "color": table[output],
                "cmin": 0,
                "cmax": 1,
                "colorscale": "Viridis",
                "size": 9,
                "showscale": True,
            },
        )
    fig = go.Figure(trace)
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=520)
    return fig


def scatter_figure(table: pd.DataFrame, params: list[Param], output: str) -> go.Figure:
    """An output against each parameter, one panel per parameter (sampled designs)."""
    fig = make_subplots(
        rows=1, cols=len(params), shared_yaxes=True, subplot_titles=[p.path for p in params]
    )
    for col, param in enumerate(params, start=1):
        fig.add_trace(
            go.Scatter(
                x=table[param.path],
                y=table[output],
                mode="markers",
                marker={"size": 4, "color": "#555"},
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(title_text=label(output), row=1, col=1)
    fig.update_layout(title=f"{label(output)} at each design point", height=360)
    return fig


def tornado_figure(indices: pd.DataFrame, output: str) -> go.Figure:
    """Total and first-order Sobol indices per parameter, largest total on top, 95% error bars."""
    rows = indices[indices["output"] == output].sort_values("ST")
    fig = go.Figure()
    for key, name, colour in (
        ("ST", "total (ST)", "#424949"),
        ("S1", "first order (S1)", "#bfc9ca"),
    ):
        fig.add_trace(
            go.Bar(
                y=rows["parameter"],
                x=rows[key],
                orientation="h",
                name=name,
                marker_color=colour,
                error_x={"type": "data", "array": rows[f"{key}_conf"]},
            )
        )
    fig.update_layout(
        title=f"Sobol indices: what drives {label(output)} (bars: 95% confidence)",
        barmode="group",
        xaxis_title="share of the output's variance",
        height=160 + 60 * len(rows),
    )
    return fig


def sections(
    table: pd.DataFrame, params: list[Param], indices: pd.DataFrame | None
) -> list[tuple[go.Figure, str]]:
    """The figures that suit the design: line, heatmaps, tornado, or scatter panels."""
    if indices is not None and len(indices):
        return [
            (
                tornado_figure(indices, output),
                "Long dark bars are the parameters that matter; S1 well below ST means interactions.",
            )
            for output in indices["output"].unique()
        ]
    if len(params) == 1:
        return [
            (
                line_figure(table, params[0].path),
                "Where the line crosses the band of another value, the difference is more than chance.",
            )
        ]
    if len(params) == 2:
        x, y = params[0].path, params[1].path
        return [
            (
                heatmap_figure(table, x, y, output),
                "Look for where the colour changes: that is where the talks tip.",
            )
            for output in ("p_agree_before_deadline", "p_in_force")
        ]
    return [
        (
            scatter_figure(table, params, output),
            "A slope in a panel means the outcome depends on that parameter.",
        )
        for output in ("p_agree_before_deadline", "p_in_force")
    ]


def write_sweep_report(
    out: Path,
    manifest: dict,
    params: list[Param],
    table: pd.DataFrame,
    indices: pd.DataFrame | None,
) -> Path:
    """sweep.html: what was swept, the widest-ranging headline outputs, and the figures."""
    headline = [
        ("parameters", "; ".join(manifest["params"])),
        ("design", f"{manifest['method']}, {len(table)} points"),
    ]
    for output in headline_outputs(table):
        lo, hi = table[output].min(), table[output].max()
        fmt = "{:.1%}" if output in SHARES else "{:.3f}"
        headline.append(
            (f"{label(output)}: range over points", f"{fmt.format(lo)} to {fmt.format(hi)}")
        )
    meta = {
        "seed": manifest["seed"],
        "replications per point": f"{manifest['replications']:,}",
        "run": manifest["started"],
    }
    return write_page(
        out / "sweep.html",
        f"negsim sweep: {manifest['scenario']}",
        "Every point uses the same seed (common random numbers), so differences between points are the parameters' doing.",
        meta,
        headline,
        sections(table, params, indices),
        table.to_string(max_rows=200),
        appendix_title="The design points and their headline outputs",
    )
