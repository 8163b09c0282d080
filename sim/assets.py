"""plotly.js for the reports: one shared copy per results tree, or inlined with --self-contained."""

from __future__ import annotations

import os
import re
from pathlib import Path

from plotly.offline import get_plotlyjs

from sim import store

PLOTLY_JS = "plotly.min.js"
SHARE_LEVELS = 2  # a page looks this many folders up for a shared copy (compare/runs/NAME)
SCRIPT_TAG = re.compile(r'<script src="[^"]*plotly\.min\.js"></script>')


def ensure_plotly(folder: Path) -> Path:
    """Write plotly.min.js into `folder` unless it is already there; return its path."""
    target = folder / PLOTLY_JS
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        store.write_atomic(target, get_plotlyjs())
    return target


def plotly_src(page: Path) -> str:
    """Relative address of the plotly.js a page uses: the nearest copy in its folder or up to
    SHARE_LEVELS above (a comparison's runs share the comparison's), else a new one beside it."""
    folder = page.parent.resolve()
    for candidate in [folder, *folder.parents][: SHARE_LEVELS + 1]:
        if (candidate / PLOTLY_JS).is_file():
            return Path(os.path.relpath(candidate / PLOTLY_JS, folder)).as_posix()
    ensure_plotly(page.parent)
    return PLOTLY_JS


def inline_plotly(page: Path) -> None:
    """Rewrite a report so plotly.js is inside it: one file that opens anywhere, offline."""
    text = page.read_text()
    inline = f"<script>{get_plotlyjs()}</script>"
    store.write_atomic(page, SCRIPT_TAG.sub(lambda _: inline, text, count=1))


def self_contain(folder: Path) -> list[Path]:
    """Inline plotly.js into every report under `folder` and drop the shared copy; return them."""
    pages = sorted(folder.rglob("*.html"))
    for page in pages:
        inline_plotly(page)
    for copy in folder.rglob(PLOTLY_JS):
        copy.unlink()
    return pages
