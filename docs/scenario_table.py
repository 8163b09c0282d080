"""Regenerate the tables of docs/scenarios.md: run every scenario, then the baseline under other
spacings of its neutral rounds rule, and print Markdown.

Usage: .venv/bin/python docs/scenario_table.py > /tmp/table.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sim.loader import load_scenario
from sim.outcomes import headline_measures, summary_value
from sim.run import run_scenario
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


def question(path: Path) -> str:
    """First comment line of a scenario file: the question it answers."""
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


HEADLINE = ("p_agree_before_deadline", "p_agree_by_horizon", "p_in_force", "median_agreement_date")


def cell(value: dict | float | str | None) -> str:
    """A share as '26% (24-29%)', a package value rounded for a table, or a date."""
    if isinstance(value, dict):
        return f"{value['estimate']:.0%} ({value['low']:.0%}-{value['high']:.0%})"
    if value is None or isinstance(value, str):
        return value or "-"
    return f"{value:,.0f}" if value > 10 else f"{value:.2f}"


def header(scenario: Scenario, first: list[str], packages: bool) -> None:
    """The table's heading row and rule, labelled by the measures themselves."""
    found = [m for m in headline_measures(scenario) if m.key in HEADLINE]
    names = [*first, *(m.label for m in found)]
    if packages:
        names.append("median package (" + " / ".join(scenario.issues) + ")")
    print("| " + " | ".join(names) + " |")
    print("|" + "---|" * len(names))


def figures(summary: dict) -> list[str]:
    """The headline cells of one run."""
    return [cell(summary_value(summary, key)) for key in HEADLINE]


def main() -> None:
    scenarios()
    rounds()


def rounds() -> None:
    """The baseline with its undated rounds every 2..8 weeks: how much the assumed rule moves it."""
    print()
    header(load_scenario(ROOT / "scenarios" / "baseline.yaml"), ["rounds every"], False)
    with tempfile.TemporaryDirectory() as tmp:
        for weeks in (2, 3, 4, 6, 8):
            scenario = load_scenario(
                ROOT / "scenarios" / "baseline.yaml", [f"calendar.rounds.every_weeks={weeks}"]
            )
            summary = run_scenario(scenario, Path(tmp) / f"every-{weeks}", workers=2)
            name = f"{weeks} weeks{' (baseline)' if weeks == 4 else ''}"
            print("| " + " | ".join([name, *figures(summary)]) + " |")


def scenarios() -> None:
    """One row per scenario file."""
    paths = sorted(
        (ROOT / "scenarios").glob("*.yaml"), key=lambda p: (p.stem != "baseline", p.stem)
    )
    header(load_scenario(paths[0]), ["scenario", "question"], True)
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            scenario = load_scenario(path)
            summary = run_scenario(scenario, Path(tmp) / path.stem, workers=2)
            package = " / ".join(cell(summary["median_package"].get(i)) for i in scenario.issues)
            cells = [f"`{path.name}`", question(path), *figures(summary), package]
            print("| " + " | ".join(cells) + " |")
    print(f"\nseed {scenario.seed}, {scenario.replications:,} replications each", file=sys.stderr)


if __name__ == "__main__":
    main()
