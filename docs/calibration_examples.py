"""Write the synthetic example facts: one lane of the baseline, told as targets and observations.

    .venv/bin/python docs/calibration_examples.py

The "truth" is every uncertain input of the baseline at the middle of its own range (Russia's
tactic beta 0.325, the US's 0.55, margins 1.1 and 0.85, and so on for all of them) played in
one lane with the baseline's seed; the files say what that lane showed. They demonstrate the
mechanics and are not the historical record. `truth()` lists the values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sim.calendar import Clock
from sim.loader import load_scenario
from sim.model import NegotiationModel

ROOT = Path(__file__).resolve().parent.parent
PRIOR = ROOT / "scenarios" / "calibration_prior.yaml"
LANE = 1_000_003  # a lane no run of 2,000 or 200,000 replications plays
SOURCE = (
    "Made by docs/calibration_examples.py: lane 1000003 of calibration_prior "
    "with every uncertain input at the middle of its range."
)


def truth() -> dict[str, float]:
    """The synthetic truth: each uncertain input of the prior at its median (for the
    baseline's uniform ranges, the middle)."""
    scenario = load_scenario(PRIOR)
    return {path: float(dist.quantile(0.5)) for path, dist in scenario.inputs.items()}


def synthetic_lane() -> tuple[dict, Clock]:
    """The outcome columns of the synthetic lane, and the calendar's clock."""
    scenario = load_scenario(PRIOR)
    inputs = {path: np.array([value]) for path, value in truth().items()}
    model = NegotiationModel(scenario, 1, scenario.seed, first_lane=LANE, inputs=inputs)
    runs = {name: values[0].item() for name, values in model.run().runs.items()}
    return runs, Clock.from_calendar(scenario.calendar)


def write(path: Path, header: str, document: dict) -> None:
    """A facts file that reads like a briefing: one fact a line, the provenance said once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    facts = document.pop("facts")
    head = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    lines = [
        yaml.safe_dump(f, default_flow_style=True, sort_keys=False, width=1000).strip()
        for f in facts
    ]
    body = "".join(f"  - {line}\n" for line in lines)
    path.write_text(f"# {header}\n# {SOURCE}\n{head}facts:\n{body}")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    lane, clock = synthetic_lane()
    week = lane["agreed_week"]
    signed = clock.date(week)
    packages = {"warheads": 10, "delivery_vehicles": 20, "missile_defense": 3}
    for name, shrink, kind in (("synthetic_baseline", 1, ""), ("synthetic_tight", 4, " tight")):
        targets = [
            {
                "column": "agreed_week",
                "between": [clock.date(week - 1 // shrink), clock.date(week + 1 // shrink)],
                "label": "treaty signed near the synthetic date",
            }
        ]
        for issue, tolerance in packages.items():
            value = round(lane[f"package_{issue}"], 1)
            targets.append(
                {"column": f"package_{issue}", "value": value, "tolerance": tolerance / shrink}
            )
        targets.append({"column": "ratified_us", "value": bool(lane["ratified_us"])})
        write(
            ROOT / "scenarios" / "targets" / f"{name}.yaml",
            f"Synthetic{kind} targets (not the historical record): what one lane of the baseline showed.",
            {
                "name": name,
                "description": f"Outcomes of one synthetic lane played with every uncertain input at the "
                f"middle of its range, with{kind} tolerances: calibration should find them "
                "within its posterior.",
                "facts": targets,
            },
        )
    as_of = clock.date(week - 2)
    seen = [{"column": "agreed_week", "not_by": as_of, "label": f"no treaty by {as_of}"}]
    for name in ("md_review", "defense_channel", "iran_delinked"):
        fired = lane[f"event_{name}_week"]
        if 0 <= fired < week - 2:
            seen.append(
                {"column": f"event_{name}_week", "by": as_of, "label": f"{name} by {as_of}"}
            )
        else:
            seen.append(
                {"column": f"event_{name}_week", "not_by": as_of, "label": f"no {name} by {as_of}"}
            )
    note = "Synthetic observations (not the historical record): the news up to two weeks before signing."
    write(
        ROOT / "scenarios" / "observations" / "synthetic_news.yaml",
        note,
        {
            "name": "synthetic_news",
            "description": "What had been seen of the synthetic lane two weeks before it signed: "
            "no treaty yet, and which events had happened.",
            "as_of": as_of,
            "facts": seen,
        },
    )
    observed = [
        {"column": "agreed", "value": True, "label": "a treaty was signed"},
        {"column": "agreed_week", "value": signed, "label": "signed on"},
        *(
            {"column": f"package_{issue}", "value": round(lane[f"package_{issue}"], 1)}
            for issue in packages
        ),
        {"column": "in_force", "value": bool(lane["in_force"]), "label": "ratified by both"},
    ]
    note = "Synthetic outcome (not the historical record): what the synthetic lane ended with."
    write(
        ROOT / "scenarios" / "observations" / "synthetic_outcome.yaml",
        note,
        {
            "name": "synthetic_outcome",
            "description": "How the synthetic lane ended, for `negsim score`.",
            "facts": observed,
        },
    )


if __name__ == "__main__":
    main()
