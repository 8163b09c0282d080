"""Regenerate the tables of docs/scenarios.md: run every scenario, then the baseline under other
spacings of its neutral rounds rule, and print Markdown.

Usage: .venv/bin/python docs/scenario_table.py > /tmp/table.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sim.loader import load_scenario
from sim.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent


def question(path: Path) -> str:
    """First comment line of a scenario file: the question it answers."""
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def share(d: dict) -> str:
    return f"{d['estimate']:.0%} ({d['low']:.0%}-{d['high']:.0%})"


def main() -> None:
    scenarios()
    rounds()


def rounds() -> None:
    """The baseline with its undated rounds every 2..8 weeks: how much the assumed rule moves it."""
    print(
        "\n| rounds every | P(agreement before 5 Dec 2009) | P(agreement by end 2010) | P(in force) | median agreement date |"
    )
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for weeks in (2, 3, 4, 6, 8):
            scenario = load_scenario(
                ROOT / "scenarios" / "baseline.yaml", [f"calendar.rounds.every_weeks={weeks}"]
            )
            summary = run_scenario(scenario, Path(tmp) / f"every-{weeks}", workers=2)
            print(
                f"| {weeks} weeks{' (baseline)' if weeks == 4 else ''} | {share(summary['p_agree_before_deadline'])} | {share(summary['p_agree_by_horizon'])} | {share(summary['p_in_force'])} | {summary['median_agreement_date']} |"
            )


def scenarios() -> None:
    """One row per scenario file."""
    paths = sorted(
        (ROOT / "scenarios").glob("*.yaml"), key=lambda p: (p.stem != "baseline", p.stem)
    )
    print(
        "| scenario | question | P(agreement before 5 Dec 2009) | P(agreement by end 2010) | P(in force) | median agreement date | median package (warheads / launchers / verification / missile defence / Iran linkage / joint MD) |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            scenario = load_scenario(path)
            summary = run_scenario(scenario, Path(tmp) / path.stem, workers=2)
            pkg = summary["median_package"]
            cells = " / ".join(
                "-" if pkg[i] is None else f"{pkg[i]:,.0f}" if pkg[i] > 10 else f"{pkg[i]:.2f}"
                for i in scenario.issues
            )
            print(
                f"| `{path.name}` | {question(path)} | {share(summary['p_agree_before_deadline'])} | {share(summary['p_agree_by_horizon'])} | {share(summary['p_in_force'])} | {summary['median_agreement_date']} | {cells} |"
            )
    print(f"\nseed {scenario.seed}, {scenario.replications:,} replications each", file=sys.stderr)


if __name__ == "__main__":
    main()
