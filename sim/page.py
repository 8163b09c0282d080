"""The HTML page every report shares: summary first, headline table, figures that reflow on a phone."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go

from sim import store
from sim.assets import PLOTLY_JS, plotly_src
from sim.labels import wrap

FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]}
CSS = """
* { box-sizing: border-box; }
body { font-family: FONT; font-size: 16px; line-height: 1.45; color: #222;
  max-width: 1200px; margin: 0 auto; padding: 1em 1.2em 3em; }
h1 { font-size: 1.6em; margin: .3em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.25em; margin-top: 1.6em; }
h3 { font-size: 1.08em; margin: 0 0 .3em; }
h4 { font-size: .95em; margin: .4em 0 0; font-weight: 600; }
.meta { color: #555; font-size: .9em; }
.summary { font-size: 1.08em; background: #f3f6f4; border-left: 4px solid #117a65;
  padding: .6em 1em; margin: 1em 0; }
.summary p { margin: .2em 0; }
.warning { background: #fdecea; border-left: 4px solid #c0392b; padding: .6em 1em; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .95em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.num { white-space: nowrap; }
.diff { color: #555; font-size: .88em; display: block; }
figure { margin: 2.2em 0; min-width: 0; }
figcaption { color: #444; font-style: italic; margin-top: .3em; }
.note { color: #444; margin: .3em 0; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
  gap: .4em 1em; }
.multiples > div { min-width: 0; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; }
a { color: #1f4e9c; }
code { white-space: nowrap; }
@media (max-width: 600px) {
  body { padding: .6em .7em 2em; font-size: 15px; }
  h1 { font-size: 1.3em; }
  table { font-size: .85em; }
  th, td { padding: 3px 4px; overflow-wrap: anywhere; }
}
""".replace("FONT", FONT)


# Figures are drawn as the page is read, before the layout settles; fit each to its box once
# everything is in place.
REFIT = (
    "window.addEventListener('load', () => window.Plotly && document"
    ".querySelectorAll('.plotly-graph-div').forEach(g => Plotly.Plots.resize(g)));"
)


@dataclass
class Section:
    """One figure of a page: a title, plotly figures (several: small multiples), a caption."""

    title: str
    caption: str
    figures: list[go.Figure]
    subtitles: list[str] = field(default_factory=list)  # one per figure of small multiples
    note: str = ""  # a line in words under the title, e.g. outputs left undrawn


@dataclass
class Table:
    """A headline table: column headings and rows of cells (HTML-escaped when written)."""

    columns: list[str]
    rows: list[list[str]]


def sections_of(pairs: list[tuple[go.Figure, str]]) -> list[Section]:
    """One-figure sections from (figure, caption) pairs, each titled with its figure's title."""
    return [Section(fig.layout.title.text or "", caption, [fig]) for fig, caption in pairs]


def rows_table(rows: list[tuple[str, str]], columns: tuple[str, str] = ("", "")) -> Table:
    """A two-column headline table from (label, text) pairs."""
    return Table(list(columns), [list(r) for r in rows])


def fit(fig: go.Figure, height: int | None = None) -> go.Figure:
    """Compact margins, the legend below the plot, and fonts no smaller than 12 px."""
    fig.update_layout(
        title=None,
        font={"family": FONT, "size": 13},
        margin={
            side: getattr(fig.layout.margin, side) or default
            for side, default in {"l": 56, "r": 16, "t": 16, "b": 48}.items()
        },
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        hoverlabel={"font_size": 13},
        template="plotly_white",
    )
    if fig.layout.showlegend is not False and len(fig.data) > 1:
        fig.update_layout(margin_b=48 + 26 * _legend_rows(fig))
    if height is not None:
        fig.update_layout(height=height)
    fig.update_annotations(font_size=13)
    wrap_long_labels(fig)
    return fig


def wrap_long_labels(fig: go.Figure, width: int = 42) -> None:
    """Break long axis titles into lines, so they stay inside a phone-wide figure."""
    for axis in [*fig.select_xaxes(), *fig.select_yaxes()]:
        text = axis.title.text
        if text and len(text) > width and "<br>" not in text:
            axis.title.text = wrap(text, width)


def _legend_rows(fig: go.Figure) -> int:
    """Rows a horizontal legend takes on a phone: about two entries a row."""
    shown = {t.legendgroup or t.name for t in fig.data if t.showlegend is not False and t.name}
    return max(1, (len(shown) + 1) // 2)


def figure_html(fig: go.Figure) -> str:
    """A plotly div that fills its container and does nothing when plotly.js is missing."""
    body = fit(fig).to_html(
        full_html=False, include_plotlyjs=False, config=CONFIG, default_width="100%"
    )
    return body.replace(
        "if (document.getElementById(", "if (window.Plotly && document.getElementById("
    )


def readable_time(value: object) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC' for a header; anything else as text."""
    text = str(value)
    if len(text) >= 19 and text[10] == "T":
        try:
            stamp = datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            return text
        return f"{stamp:%Y-%m-%d %H:%M} UTC"
    return text


def _section_html(section: Section) -> str:
    title = f"<h3>{html.escape(section.title)}</h3>"
    note = f'<p class="note">{html.escape(section.note)}</p>' if section.note else ""
    if len(section.figures) == 1 and not section.subtitles:
        body = figure_html(section.figures[0])
    else:
        subtitles = section.subtitles or [""] * len(section.figures)
        cells = "".join(
            f"<div>{f'<h4>{html.escape(sub)}</h4>' if sub else ''}{figure_html(fig)}</div>"
            for fig, sub in zip(section.figures, subtitles, strict=True)
        )
        body = f'<div class="multiples">{cells}</div>'
    caption = f"<figcaption>{html.escape(section.caption)}</figcaption>"
    return f"<figure>{title}{note}{body}{caption}</figure>"


def table_html(table: Table) -> str:
    """A headline table; a cell's second line (after a newline) is shown smaller, as a note."""

    def cell(text: str, tag: str) -> str:
        first, _, rest = text.partition("\n")
        extra = f'<span class="diff">{html.escape(rest)}</span>' if rest else ""
        return f"<{tag}>{_linked(first)}{extra}</{tag}>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = "".join("<tr>" + "".join(cell(c, "td") for c in row) + "</tr>" for row in table.rows)
    return f'<div class="table-wrap"><table class="headline"><tr>{head}</tr>{rows}</table></div>'


def _linked(text: str) -> str:
    """'[label](href)' as a link, anything else escaped."""
    if text.startswith("[") and "](" in text and text.endswith(")"):
        label, href = text[1:-1].split("](", 1)
        return f'<a href="{html.escape(href)}">{html.escape(label)}</a>'
    return html.escape(text)


def missing_script_note(count: int, src: str) -> str:
    """What a reader sees when plotly.js is not where the page expects it."""
    return (
        f'<div class="warning" id="no-plotly"><b>The {count} figures of this page cannot be '
        f"drawn:</b> they need <code>{PLOTLY_JS}</code> at <code>{html.escape(src)}</code> "
        "(relative to this file), which is missing. Copy the whole results folder, or write the "
        "report as one file with <code>--self-contained</code>. The summary and tables below "
        "are complete.</div><script>if (window.Plotly) "
        "document.getElementById('no-plotly').remove();</script>"
    )


def write_page(
    path: Path,
    title: str,
    summary: list[str],
    description: str,
    meta: dict,
    headline: Table,
    sections: list[Section],
    appendix: str,
    appendix_title: str = "What went in",
    extra_html: str = "",
) -> Path:
    """Write a report: title, meta line, summary, description, table, figures, appendix.

    The header always names the negsim version and a date (when written, if meta has none).
    """
    meta = {**meta, "negsim": meta.get("negsim") or store.versions().get("negsim", "?")}
    if all(readable_time(v) == str(v) for v in meta.values()):  # no date given: when written
        meta["written"] = store.now()
    src = plotly_src(path)
    meta_html = " &middot; ".join(
        f"{html.escape(k)}: <b>{html.escape(readable_time(v))}</b>" for k, v in meta.items()
    )
    said = "".join(f"<p>{html.escape(s)}</p>" for s in summary)
    plots = sum(len(s.figures) for s in sections)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<script src="{html.escape(src)}"></script>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="meta">{meta_html}</p>
{missing_script_note(plots, src)}
<section class="summary">{said}</section>
<p class="description">{html.escape(description)}</p>
<h2>Headline figures</h2>
{table_html(headline)}
{extra_html}
{"".join(_section_html(s) for s in sections)}
<script>{REFIT}</script>
<details><summary>{html.escape(appendix_title)}</summary><pre>{html.escape(appendix)}</pre></details>
</body></html>
"""
    store.write_atomic(path, page)
    return path
