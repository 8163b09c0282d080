"""Shared fixtures: paths to the bundled scenarios."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def baseline_path() -> Path:
    """The bundled baseline scenario."""
    return ROOT / "scenarios" / "baseline.yaml"
