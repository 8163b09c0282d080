"""--csv: every table of a results folder also as CSV, beside its Parquet file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim import store


def write_csv(folder: Path) -> list[Path]:
    """Write NAME.csv beside every NAME.parquet under `folder` (and comparison.json's rows)."""
    written = []
    for source in sorted(folder.rglob("*.parquet")):
        written.append(_csv(source.with_suffix(".csv"), pd.read_parquet(source)))
    headline = folder / "comparison.json"
    if headline.is_file():
        written.append(
            _csv(folder / "comparison.csv", pd.DataFrame(json.loads(headline.read_text())))
        )
    return written


def _csv(target: Path, frame: pd.DataFrame) -> Path:
    store.write_atomic(target, frame.to_csv(index=False))
    return target
