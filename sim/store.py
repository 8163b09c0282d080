"""Results folder: atomic writes, a manifest with a status, Parquet streamed chunk by chunk."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class StoreError(Exception):
    """The results folder cannot be used (exists, not writable, ...)."""


def prepare_folder(out: Path) -> Path:
    """Create a fresh results folder; refuse one that already holds files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StoreError(f"{out}: results folder already exists; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise StoreError(f"{out}: cannot write there ({err.strerror})") from None
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write a text file under a temporary name, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Atomic JSON file, human-readable."""
    write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def write_table(path: Path, columns: dict[str, Any]) -> None:
    """Atomic Parquet file of equal-length columns."""
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(pa.table(columns), tmp, compression="zstd")
    os.replace(tmp, path)


def write_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Atomic .npz file of named numpy arrays (read back with numpy.load)."""
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(tmp, path)


def read_manifest(out: Path) -> dict:
    """The manifest of an existing results folder, or StoreError saying why there is none."""
    path = out / "manifest.json"
    if not path.is_file():
        raise StoreError(f"{out}: not a results folder (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(f"{path}: unreadable ({err})") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"{path}: not a manifest (expected a JSON object)")
    return manifest


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape the numbers."""
    names = ["negsim", "mesa", "numpy", "pydantic", "pyarrow", "plotly"]
    found = {n: metadata.version(n) for n in names if _installed(n)}
    return {"python": platform.python_version(), **found}


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def now() -> str:
    """Current UTC time, ISO format, for manifests."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class TableWriter:
    """Append record batches to a Parquet file under a temporary name; rename on close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.partial")
        self.writer: pq.ParquetWriter | None = None

    def write(self, columns: dict[str, Any]) -> None:
        """Append one chunk of rows (a dict of equal-length columns)."""
        table = pa.table(columns)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self.writer is not None:
            self.writer.close()
            os.replace(self.tmp, self.path)
            self.writer = None

    def abandon(self) -> None:
        """Drop the partial file (a failed run leaves no half-written table)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.tmp.unlink(missing_ok=True)
