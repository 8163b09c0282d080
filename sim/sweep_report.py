"""sweep.html: a line with its band for one parameter, heatmaps for two, Sobol bars for many;
the baseline's values marked, outputs that do not vary listed in a line instead of drawn."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import yaml

from sim.designs import Param, unreliable
from sim.labels import param_name, wrap
from sim.loader import build
from sim.outcomes import measure
from sim.page import Section, Table, write_page
from sim.scenario import Scenario
from sim.summary_text import sweep_sentences
from sim.sweep import headline_outputs, sweep_measures

SHARE_COLOURS = {
    "p_agree_before_deadline": "#117a65",
    "p_agree_by_horizon": "#7f8c8d",
    "p_in_force": "#7d3c98",
}
BASELINE = "#b7950b"


def label(output: str, scn: Scenario) -> str:
    """Reader's name of a headline output column."""
    try:
        return measure(scn, output).label
    except KeyError:
        return output


def shares(scn: Scenario) -> list[str]:
    """The output columns that are shares of lanes, in the measures' order."""
    return [m.column for m in sweep_measures(scn) if m.share]


def baseline_value(resolved: dict, path: str) -> Any:
    """The base scenario's value at a dotted path (None if the path holds no number)."""
    node: Any = resolved
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, int | float) and not isinstance(node, bool) else None


Mark = float | tuple[float, float] | None  # the baseline: a value, the middle 90% of an
# uncertain input's draws, or nothing (the path holds no number)


def baseline_mark(scn: Scenario, resolved: dict, path: str) -> Mark:
    """Where the base scenario sits on a swept parameter: its value, or for an uncertain input
    the range of its middle 90% of draws."""
    dist = scn.inputs.get(path)
    if dist is not None:
        lo, hi = (float(v) for v in np.atleast_1d(dist.quantile(np.array([0.05, 0.95]))))
        return (lo, hi)
    return baseline_value(resolved, path)


def describe_mark(mark: Mark) -> str:
    """'baseline: 0.3' or 'baseline: uncertain, 90% of draws 1.21 to 1.39'."""
    if mark is None:
        return ""
    if isinstance(mark, tuple):
        return f"baseline: uncertain, 90% of draws {mark[0]:.3g} to {mark[1]:.3g}"
    return f"baseline: {mark:g}"


def draw_mark(fig: go.Figure, mark: Mark, axis: str = "x", outline: bool = False) -> None:
    """The baseline on one axis: a dashed line at its value, or a band over its draws (only
    its edges, dotted, where a colour scale fills the plot)."""
    if mark is None:
        return
    if isinstance(mark, tuple):
        band = (
            {"line": {"color": "white", "dash": "dot", "width": 2}, "fillcolor": "rgba(0,0,0,0)"}
            if outline
            else {"fillcolor": BASELINE, "opacity": 0.15, "line_width": 0}
        )
        (fig.add_vrect if axis == "x" else fig.add_hrect)(mark[0], mark[1], **band)
        return
    line = {"line_dash": "dash", "line_color": BASELINE}
    if axis == "x":
        fig.add_vline(x=mark, **line)
    else:
        fig.add_hline(y=mark, **line)


def flat_outputs(table: pd.DataFrame) -> list[str]:
    """Headline outputs that do not vary beyond chance over the points (one value, or every
    point's 95% interval holding a common value): listed in words, not drawn. The chance of
    a treaty in time, the page's subject, is drawn unless it is one value throughout."""
    flat = []
    for output in headline_outputs(table):
        values = table[output].dropna().to_numpy(dtype=float)
        if len(values) == 0 or np.ptp(values) < 1e-9:
            flat.append(output)
        elif output == "p_agree_before_deadline":
            continue
        elif {f"{output}_low", f"{output}_high"} <= set(table.columns):
            lows, highs = table[f"{output}_low"].dropna(), table[f"{output}_high"].dropna()
            if len(lows) == len(values) and lows.max() <= highs.min():
                flat.append(output)
    return flat


def flat_note(table: pd.DataFrame, flat: list[str], scn: Scenario) -> str:
    """'Not drawn, no change beyond chance: P(treaty by the horizon) 100.0%; ...' or ''."""
    if not flat:
        return ""
    parts = []
    for output in flat:
        values = table[output].dropna()
        lo, hi = (values.min(), values.max()) if len(values) else (math.nan, math.nan)
        shown = (
            "no value"
            if values.empty
            else _fmt(output, lo, scn)
            if lo == hi
            else f"{_fmt(output, lo, scn)} to {_fmt(output, hi, scn)}"
        )
        parts.append(f"{label(output, scn)} {shown}")
    return (
        "Not drawn, as they do not change beyond chance over the design: " + "; ".join(parts) + "."
    )


def _fmt(output: str, value: float, scn: Scenario) -> str:
    return f"{value:.1%}" if output in shares(scn) else f"{value:.3f}"


def line_figure(
    table: pd.DataFrame, param: str, scn: Scenario, base: Mark, drawn: list[str]
) -> go.Figure:
    """Each varying share against the one swept parameter with its 95% band; outputs with
    identical values share one line, named for all of them; the baseline's value dashed."""
    frame = table.sort_values(param)
    x = frame[param].tolist()
    name = param_name(scn, param)
    groups: dict[tuple, list[str]] = {}
    for output in drawn:
        groups.setdefault(tuple(np.round(frame[output].to_numpy(dtype=float), 12)), []).append(
            output
        )
    fig = go.Figure()
    for outputs in groups.values():
        first = outputs[0]
        colour = SHARE_COLOURS.get(first, "#555")
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=frame[f"{first}_high"].tolist() + frame[f"{first}_low"].tolist()[::-1],
                mode="lines",
                fill="toself",
                fillcolor=f"rgba({r},{g},{b},0.2)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            )
        )
        title = " = ".join(label(o, scn) for o in outputs)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=frame[first],
                customdata=np.column_stack([frame[f"{first}_low"], frame[f"{first}_high"]]),
                mode="lines+markers",
                name=title,
                line={"color": colour},
                hovertemplate=f"{name} = %{{x:.4~g}}<br>{title}: %{{y:.1%}} "
                f"(%{{customdata[0]:.1%}} to %{{customdata[1]:.1%}})<extra>{param}</extra>",
            )
        )
    draw_mark(fig, base)
    fig.update_layout(
        title=f"Outcomes against {name}",
        xaxis_title=wrap(name, 40),
        yaxis_title="share of replications",
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%",
        height=440,
    )
    return fig


def heatmap_figure(
    table: pd.DataFrame, x: str, y: str, output: str, scn: Scenario, base: tuple
) -> go.Figure:
    """One output over a two-parameter grid (or a scatter coloured by it for sampled
    designs), the baseline's values starred."""
    xname, yname, oname = param_name(scn, x), param_name(scn, y), label(output, scn)
    is_grid = (
        table.groupby([x, y]).size().max() == 1
        and len(table) == table[x].nunique() * table[y].nunique()
    )
    hover = (
        f"{xname} = %{{x:.4~g}}<br>{yname} = %{{y:.4~g}}<br>{oname}: %{{z:.1%}}"
        f"<extra>{x}, {y}</extra>"
    )
    colorbar = {"title": {"text": "share"}, "tickformat": ".0%", "thickness": 12}
    if is_grid:
        grid = table.pivot(index=y, columns=x, values=output)
        trace: Any = go.Heatmap(
            x=grid.columns,
            y=grid.index,
            z=grid.to_numpy(),
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            colorbar=colorbar,
            hovertemplate=hover,
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
                "colorbar": colorbar,
            },
            hovertemplate=hover.replace("%{z:.1%}", "%{marker.color:.1%}"),
            showlegend=False,
        )
    fig = go.Figure(trace)
    if any(isinstance(m, tuple) for m in base):
        draw_mark(fig, base[0], "x", outline=True)
        draw_mark(fig, base[1], "y", outline=True)
    elif None not in base:
        fig.add_trace(
            go.Scatter(
                x=[base[0]],
                y=[base[1]],
                mode="markers",
                marker={"symbol": "star", "size": 16, "color": BASELINE, "line_width": 1},
                name="baseline",
                hovertemplate=f"baseline: {xname} = %{{x:.4~g}}, {yname} = %{{y:.4~g}}"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"{oname} over {xname} and {yname}",
        xaxis_title=wrap(xname, 40),
        yaxis_title=wrap(yname, 30),
        height=460,
        showlegend=False,
    )
    return fig


def scatter_figures(
    table: pd.DataFrame, params: list[Param], output: str, scn: Scenario, resolved: dict
) -> list[go.Figure]:
    """An output against each parameter, one small figure per parameter (sampled designs)."""
    figures = []
    for param in params:
        name = param_name(scn, param.path)
        fig = go.Figure(
            go.Scatter(
                x=table[param.path],
                y=table[output],
                mode="markers",
                marker={"size": 4, "color": "#555"},
                hovertemplate=f"{name} = %{{x:.4~g}}<br>{label(output, scn)}: %{{y:.1%}}"
                f"<extra>{param.path}</extra>",
            )
        )
        draw_mark(fig, baseline_mark(scn, resolved, param.path))
        fig.update_layout(
            title=name,
            xaxis_title=wrap(name, 36),
            yaxis_title=label(output, scn),
            yaxis_tickformat=".0%",
            height=280,
            showlegend=False,
        )
        figures.append(fig)
    return figures


def direction(
    table: pd.DataFrame, param: str, output: str, ranks: dict[str, pd.Series] | None = None
) -> float:
    """Rank correlation of an output with a parameter over the points: its sign is the direction.
    `ranks` keeps each whole column's ranks for the next call (used where neither has a NaN)."""
    pair = table[[param, output]].dropna()
    if len(pair) < 3 or pair[param].nunique() < 2 or pair[output].nunique() < 2:
        return math.nan
    if ranks is None or len(pair) < len(table):
        return float(pair[param].rank().corr(pair[output].rank()))
    for column in (param, output):
        if column not in ranks:
            ranks[column] = table[column].rank()
    return float(ranks[param].corr(ranks[output]))


def tornado_figure(
    indices: pd.DataFrame,
    table: pd.DataFrame,
    output: str,
    scn: Scenario,
    ranks: dict[str, pd.Series] | None = None,
) -> go.Figure:
    """Total and first-order Sobol indices per parameter, largest total on top, 95% error bars;
    arrows give the direction of effect, hollow bars flag unreliable indices; `ranks` as in
    `direction`, shared by the figures of one page."""
    rows = indices[indices["output"] == output].sort_values("ST")
    names = []
    for _, row in rows.iterrows():
        rho = direction(table, row["parameter"], output, ranks)
        arrow = "" if math.isnan(rho) else (" ↑ raises" if rho > 0 else " ↓ lowers")
        flag = " (unreliable)" if unreliable(row) else ""
        names.append(wrap(param_name(scn, row["parameter"]) + arrow + flag, 28))
    fig = go.Figure()
    for key, name, colour in (
        ("S1", "first order (S1)", "#bfc9ca"),
        ("ST", "total (ST)", "#424949"),
    ):
        shaky = [bool(unreliable(r)) for _, r in rows.iterrows()]
        fig.add_trace(
            go.Bar(
                y=names,
                x=rows[key].clip(lower=0),
                orientation="h",
                name=name,
                marker={
                    "color": ["white" if s else colour for s in shaky],
                    "line": {"color": colour, "width": 2},
                    "pattern": {"shape": ["/" if s else "" for s in shaky], "fgcolor": colour},
                },
                error_x={"type": "data", "array": rows[f"{key}_conf"], "color": "#888"},
                customdata=np.column_stack(
                    [
                        rows[key],
                        rows[f"{key}_conf"],
                        rows["parameter"],
                        ["; ".join(unreliable(r)) or "reliable" for _, r in rows.iterrows()],
                    ]
                ),
                hovertemplate=f"{name}: %{{customdata[0]:.3f}} ± %{{customdata[1]:.3f}}"
                "<br>%{customdata[3]}<extra>%{customdata[2]}</extra>",
            )
        )
    fig.update_layout(
        title=f"Sobol indices: what drives {label(output, scn)}",
        barmode="group",
        xaxis_title="share of variance",
        xaxis_range=[0, max(1.05, 1.05 * float(rows["ST"].max()))],  # estimates may pass 1
        xaxis_tickformat=".0%",
        yaxis_automargin=True,
        height=180 + 70 * len(rows),
        legend_traceorder="reversed",
    )
    return fig


def sections(
    table: pd.DataFrame,
    params: list[Param],
    indices: pd.DataFrame | None,
    scn: Scenario,
    resolved: dict,
) -> list[Section]:
    """The figures that suit the design: line, heatmaps, tornado, or scatter panels."""
    flat = flat_outputs(table)
    note = flat_note(table, flat, scn)
    varying = [s for s in shares(scn) if s not in flat]
    if indices is not None and len(indices):
        ranks: dict[str, pd.Series] = {}  # each parameter's ranks, once for every output
        return [
            Section(
                f"Sobol indices: what drives {label(output, scn)} (bars: 95% confidence)",
                "Long dark bars are the parameters that matter; S1 well below ST means "
                "interactions. Arrows: raising the parameter raises or lowers the output. Hollow, "
                "hatched bars are unreliable at this sample size (the interval reaches zero, "
                "ST above 1 or S1 above ST): take more samples before reading them.",
                [tornado_figure(indices, table, output, scn, ranks)],
                note=note if k == 0 else "",
            )
            for k, output in enumerate(o for o in indices["output"].unique() if o not in flat)
        ]
    if len(params) == 1:
        path = params[0].path
        return [
            Section(
                f"Outcomes against {param_name(scn, path)} (bands: 95% intervals)",
                "Where the line crosses the band of another value, the difference is more than "
                "chance. Dashed: the baseline's value (shaded: the middle 90% of its draws, when "
                "it is uncertain).",
                [line_figure(table, path, scn, baseline_mark(scn, resolved, path), varying)],
                note=note,
            )
        ]
    if len(params) == 2:
        x, y = params[0].path, params[1].path
        base = (baseline_mark(scn, resolved, x), baseline_mark(scn, resolved, y))
        drawn = [o for o in ("p_agree_before_deadline", "p_in_force") if o not in flat]
        return [
            Section(
                f"{label(output, scn)} over {param_name(scn, x)} and {param_name(scn, y)}",
                "Look for where the colour changes: that is where the talks tip. Star, dashed line or "
                "dotted band: the baseline (a band spans the middle 90% of an uncertain input).",
                [heatmap_figure(table, x, y, output, scn, base)],
                note=note if k == 0 else "",
            )
            for k, output in enumerate(drawn)
        ]
    drawn = [o for o in ("p_agree_before_deadline", "p_in_force") if o not in flat]
    return [
        Section(
            f"{label(output, scn)} at each design point",
            "A slope in a panel means the outcome depends on that parameter. Dashed: the "
            "baseline's value (shaded: the middle 90% of its draws, when it is uncertain).",
            scatter_figures(table, params, output, scn, resolved),
            subtitles=[param_name(scn, p.path) for p in params],
            note=note if k == 0 else "",
        )
        for k, output in enumerate(drawn)
    ]


def headline_table(
    table: pd.DataFrame, params: list[Param], manifest: dict, scn: Scenario, resolved: dict
) -> Table:
    """What was swept (names, keys, baseline values), the design, and each output's range."""
    rows = []
    for param in params:
        mark = describe_mark(baseline_mark(scn, resolved, param.path))
        shown = param.spec.split("=", 1)[1]
        rows.append(
            [
                f"{param_name(scn, param.path)}\n{param.path}",
                shown + (f"\n{mark}" if mark else ""),
            ]
        )
    rows.append(["design", f"{manifest['method']}, {len(table)} points"])
    for output in headline_outputs(table):
        lo, hi = table[output].min(), table[output].max()
        rows.append(
            [
                f"{label(output, scn)}: range over points",
                f"{_fmt(output, lo, scn)} to {_fmt(output, hi, scn)}",
            ]
        )
    return Table(["", "value"], rows)


def write_sweep_report(
    out: Path,
    manifest: dict,
    params: list[Param],
    table: pd.DataFrame,
    indices: pd.DataFrame | None,
) -> Path:
    """sweep.html: summary, what was swept, the outputs' ranges, and the figures."""
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    scn = build(resolved, {}, {}, str(out / "scenario.yaml"))
    paths = [p.path for p in params]
    flat = [label(o, scn) for o in flat_outputs(table)]
    meta = {
        "seed": manifest["seed"],
        "replications per point": f"{manifest['replications']:,}",
        "run": manifest["started"],
    }
    described = manifest.get("description") or ""
    return write_page(
        out / "sweep.html",
        f"negsim sweep: {manifest['scenario']}" + (f": {described}" if described else ""),
        sweep_sentences(table, paths, scn, indices, flat),
        "Every point uses the same seed (common random numbers), so differences between points "
        "are the parameters' doing.",
        meta,
        headline_table(table, params, manifest, scn, resolved),
        sections(table, params, indices, scn, resolved),
        table.to_string(max_rows=200),
        appendix_title="The design points and their headline outputs",
    )


def headers(scn: Scenario, paths: list[str]) -> list[str]:
    """Short column headers for swept paths: the last two parts ('tactic.beta'); where two
    would read alike, led by the party's name ('Russia tactic.beta'), else the whole path."""

    def clashing(names: list[str]) -> list[bool]:
        return [names.count(n) > 1 for n in names]

    names = [".".join(p.split(".")[-2:]) for p in paths]
    for k, (path, clash) in enumerate(zip(paths, clashing(names), strict=True)):
        parts = path.split(".")
        if clash and parts[0] == "parties" and parts[1] in scn.parties and len(parts) > 3:
            names[k] = f"{scn.parties[parts[1]].name} {names[k]}"
    return [p if clash else n for p, n, clash in zip(paths, names, clashing(names), strict=True)]


def terminal_summary(out: Path, rows: int = 12):
    """The points' headline table for the terminal (the highest and lowest points when there
    are many) and the page's summary sentences, from a finished sweep folder."""
    from rich.table import Table as RichTable

    table = pd.read_parquet(out / "sweep.parquet")
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    scn = build(resolved, {}, {}, str(out / "scenario.yaml"))
    params = [p.split("=", 1)[0] for p in manifest["params"]]
    sobol = out / "sobol.parquet"
    indices = pd.read_parquet(sobol) if sobol.is_file() else None
    flat = [label(o, scn) for o in flat_outputs(table)]
    order = table.sort_values("p_agree_before_deadline", ascending=False)
    shown = (
        order if len(order) <= rows else pd.concat([order.head(rows // 2), order.tail(rows // 2)])
    )
    title = f"{len(shown)} of {len(table)} points" + (
        " (highest and lowest; all in sweep.parquet)" if len(shown) < len(table) else ""
    )
    out_table = RichTable(title=title)
    outputs = [m for m in sweep_measures(scn) if m.share]
    for header in ["point", *headers(scn, params)]:
        out_table.add_column(header)
    for m in outputs:
        out_table.add_column(f"{m.short} (95%)")
    for _, row in shown.iterrows():
        cells = [f"{int(row['point'])}", *(f"{row[p]:.4g}" for p in params)]
        cells += [
            f"{row[s]:.0%} ({100 * row[f'{s}_low']:.0f}-{100 * row[f'{s}_high']:.0f})"
            for s in (m.column for m in outputs)
        ]
        out_table.add_row(*cells)
    return out_table, sweep_sentences(table, params, scn, indices, flat)
