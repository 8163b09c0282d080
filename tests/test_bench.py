"""benchmarks/: bench.py's output format and options, and the peer problem's two sides agreeing.

Never timings: the figures depend on the machine and its load.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sim.calendar import Clock
from sim.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
PEER = ROOT / "benchmarks" / "peer"
ROW = re.compile(
    r"^(?P<figure>\S.*?)\s{2,}(?P<measured>\S+(?: \S+)?)\s{2,}(?P<target>[<>]=? .+?)\s{2}(?P<result>pass|MISS|skip|error)\s"
)


def module(path: Path) -> ModuleType:
    """Import a script by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_quick_help_row_prints_figure_against_target() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("negsim benchmark (quick")
    assert "load" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("figure"))
    rows = [ROW.match(line) for line in lines[header + 1 :] if line.strip()]
    assert len(rows) == 1 and rows[0] is not None, lines[header:]
    assert rows[0]["figure"] == "negsim --help start-up"
    assert re.fullmatch(r"\d+\.\d{3} s", rows[0]["measured"])
    assert rows[0]["target"] == "< 0.3 s"


def test_rows_chosen_by_options() -> None:
    bench = module(BENCH)
    assert bench.parse_args([]).rows == list(bench.ROWS)
    assert bench.parse_args(["--peer"]).rows == ["peer"]
    assert bench.parse_args(["--only", "help", "--peer"]).rows == ["help", "peer"]
    assert bench.parse_args(["--only", "memory,sweep"]).rows == ["memory", "sweep"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "speed"])


def test_peer_scenario_is_the_negmas_problem() -> None:
    """The negsim scenario and the NegMAS script state the same problem."""
    peer = module(PEER / "negmas_boulware.py")  # imports negmas only when it runs
    scn = load_scenario(PEER / "boulware.yaml")
    clock = Clock.from_calendar(scn.calendar)
    assert clock.hard_deadline and clock.deadline_week == peer.STEPS
    assert int(clock.bargaining[: peer.STEPS].sum()) == peer.STEPS
    assert list(scn.issues) == list(peer.WEIGHTS)
    for issue in scn.issues.values():
        assert issue.shape == "linear"
        assert (issue.min, issue.max) == (0, peer.LEVELS - 1)
    ideals = []
    for party in scn.parties.values():
        assert party.tactic.kind == "time_dependent"
        assert party.tactic.beta == 0.25  # NegMAS "boulware": PolyAspiration exponent 4 = 1/beta
        assert party.tactic.noise == party.tactic.reciprocity == 0
        assert party.tactic.trust_sensitivity == 0
        (actor,) = party.actors.values()
        assert actor.salience == peer.WEIGHTS
        assert set(actor.tolerance.values()) == {peer.LEVELS - 1}
        ideals.append(set(actor.positions.values()))
    assert ideals == [{peer.LEVELS - 1}, {0}]  # opposed
    worth = 0.5  # the no-agreement point 5, 5, 5 to either side
    assert set(scn.no_agreement.values()) == {(peer.LEVELS - 1) / 2}
    for party in ("russia", "us"):
        margin = scn.inputs[f"parties.{party}.margin"]
        assert margin.kind == "uniform"
        lo, hi = margin.support()
        assert (worth + lo, worth + hi) == pytest.approx(peer.RESERVATION)
