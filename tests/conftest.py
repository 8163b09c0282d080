"""Shared fixtures: paths to the bundled scenarios; tests/ on the path for the factory."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def baseline_path() -> Path:
    """The bundled baseline scenario."""
    return ROOT / "scenarios" / "baseline.yaml"
