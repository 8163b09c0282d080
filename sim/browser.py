"""Headless Chromium through Playwright: open reports offline, read what plotly drew, screenshot.

The browser is the system's Chromium (Debian package `chromium`), never one downloaded by
Playwright; the same code serves the browser tests and `negsim run --png`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# True once every plotly div on the page has finished its first plot.
RENDERED = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length > 0 && divs.every(g => g._fullLayout && g.calcdata && !g._transitioning);
}"""

# Per figure: the title of its section (and its own, in small multiples), its annotations and
# tick labels; per trace the points given, those plotly could place (finite points,
# non-empty histogram bins, finite heatmap cells, a box's points), a histogram's total count and the trace's
# colour; the x of vertical lines and the number of rectangles; then the marks drawn into the SVG.
FIGURE_STATS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(g => ({
  title: ((g.closest('figure') || g).querySelector('h3') || {}).textContent || '',
  subtitle: ((g.closest('.multiples > div') || g).querySelector('h4') || {}).textContent || '',
  annotations: (g._fullLayout.annotations || []).map(a => a.text || ''),
  ticks: [...g.querySelectorAll('.ytick text, .xtick text')].map(t => t.textContent),
  traces: g._fullData.filter(t => t.visible === true).map(t => {
    const cd = g.calcdata[t.index] || [];
    const isHistogram = t.type === 'histogram';
    return {
      type: t.type,
      name: t.name || '',
      points: (t.x || t.y || t.z || []).length,
      drawable: cd.length && Array.isArray(cd[0].z)
        ? cd[0].z.flat().filter(Number.isFinite).length
        : cd.reduce((n, d) => n + (Array.isArray(d.pts) ? d.pts.length
          : Number.isFinite(d.s) ? Number(!isHistogram || d.s > 0)
          : Number(Number.isFinite(d.x) && Number.isFinite(d.y))), 0),
      counted: isHistogram ? cd.reduce((sum, bin) => sum + bin.s, 0) : null,
      colour: (t.line && t.line.color) || (t.marker && t.marker.color) || null,
    };
  }),
  vlines: g._fullLayout.shapes.filter(s => s.type === 'line' && s.x0 === s.x1)
    .map(s => String(s.x0).slice(0, 10)),
  rects: g._fullLayout.shapes.filter(s => s.type === 'rect').length,
  lines: [...g.querySelectorAll('.scatterlayer path.js-line')].filter(
    p => (p.getAttribute('d') || '').length > 2).length,
  markers: g.querySelectorAll('.scatterlayer path.point').length,
  bars: g.querySelectorAll('.barlayer path').length,
  boxes: g.querySelectorAll('.boxlayer path.box, .violinlayer path.violin').length,
  heatmaps: g.querySelectorAll('.heatmaplayer image, .contourlayer path').length,
}))"""


# How the page fits the window: horizontal overflow in px, visible text set below 11 px, and
# figure text cut off at the edge of its figure.
LAYOUT = """() => {
  const small = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || style.opacity === '0') continue;
    const size = parseFloat(style.fontSize);
    if (size < 11) small.push(`${el.tagName} ${size}px: ${el.textContent.trim().slice(0, 40)}`);
  }
  const clipped = [];
  for (const g of document.querySelectorAll('.plotly-graph-div')) {
    const box = g.getBoundingClientRect();
    for (const t of g.querySelectorAll('.main-svg text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || !r.width) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1)
        clipped.push(t.textContent.trim().slice(0, 40));
    }
  }
  return {overflow: document.documentElement.scrollWidth - window.innerWidth, small, clipped};
}"""


class BrowserUnavailable(RuntimeError):
    """No Chrome-compatible browser or no Playwright: say which, and how to get it."""


def find_chromium() -> str | None:
    """Path of a Chrome-compatible browser: $NEGSIM_CHROMIUM, else the first on PATH."""
    explicit = os.environ.get("NEGSIM_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def why_unavailable() -> str | None:
    """None when a browser can be driven; otherwise a one-line reason."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install 'negsim[png]'; no browser download needed)"
    explicit = os.environ.get("NEGSIM_CHROMIUM")
    if explicit and find_chromium() is None:
        return f"NEGSIM_CHROMIUM={explicit} is not a file"
    if find_chromium() is None:
        return (
            "no Chrome-compatible browser found (apt-get install chromium, or set NEGSIM_CHROMIUM)"
        )
    return None


@dataclass
class PageLog:
    """What a page did while loading: console errors, uncaught errors, requests."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextmanager
def chromium(width: int = 1280, height: int = 900, scale: float = 1) -> Iterator[Any]:
    """A headless, offline browser context; anything not local is blocked and logged."""
    reason = why_unavailable()
    if reason:
        raise BrowserUnavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=scale
            )
            yield context
        finally:
            browser.close()


def open_report(context: Any, path: Path, timeout_ms: int = 30_000) -> tuple[Any, PageLog]:
    """Open an HTML file, block the network, wait until every plotly figure has rendered."""
    log = PageLog()
    page = context.new_page()

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: log.failed.append(f"{r.url} ({r.failure})"))
    page.on("request", lambda r: log.requests.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    page.wait_for_function(RENDERED, timeout=timeout_ms)
    return page, log


def figure_stats(page: Any) -> list[dict]:
    """For every plotly figure on the page: its traces and the marks drawn for them."""
    return page.evaluate(FIGURE_STATS)


def layout_check(page: Any) -> dict:
    """{'overflow': px wider than the window (0 is good), 'small': texts under 11 px,
    'clipped': figure texts reaching past their figure's edge}."""
    return page.evaluate(LAYOUT)


def export_figures(report: Path, folder: Path) -> list[Path]:
    """Screenshot each figure of a report into folder/figure-NN.png; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with chromium(scale=2) as context:  # twice the pixels: sharp when printed or zoomed
        page, log = open_report(context, report)
        if log.errors:
            raise BrowserUnavailable(f"{report.name} did not render: {log.errors[0]}")
        for n, figure in enumerate(page.query_selector_all("figure"), start=1):
            target = folder / f"figure-{n:02d}.png"
            figure.screenshot(path=str(target))
            written.append(target)
    return written
