"""Textbook bargaining results set up as scenarios: closed-form expectation against simulation.

Each case loads a file from `scenarios/theory/`, runs the model and returns `Check` rows
(expected, simulated, tolerance, pass) plus a `draw` function that plots the case on a
matplotlib Axes. `run_cases` runs them all; `save_plots` writes one PNG per case.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.optimize import brentq

from sim.loader import load_scenario
from sim.model import ChunkResult, NegotiationModel
from sim.outcomes import nash_point, opening_frontier, walk_aways, wilson
from sim.scenario import Scenario

CASES_FOLDER = Path(__file__).resolve().parent.parent / "scenarios" / "theory"
EXACT = 1e-9  # floating-point agreement for closed forms the model should hit exactly
FARATIN_BETAS = (0.2, 1.0, 5.0)
RUBINSTEIN_PAIRS = ((0.9, 0.9), (0.5, 0.5), (0.9, 0.5), (0.5, 0.9), (0.99, 0.8), (0.3, 0.95))
NASH_PIES = ((1.0, 0.0, 0.0), (1.0, 0.2, 0.1), (1.0, 0.1, 0.5), (3.0, 0.5, 1.2))
NASH_RESERVATIONS = (0.0, 0.2, 0.4)
BOULWARE_BETAS = (0.2, 0.3)
CONCEDER_BETAS = (3.0, 5.0)
SENATE_CENTRES = (0.2, 0.35, 0.5)


@dataclass(frozen=True)
class Check:
    """One row of the validation table."""

    case: str
    quantity: str
    expected: str
    simulated: str
    tolerance: str
    passed: bool


@dataclass
class Case:
    """A theory case: its checks and how to plot it (sources: scenario headers, docs/validation.md)."""

    slug: str
    name: str
    checks: list[Check]
    draw: Callable[[Any], None] = field(repr=False)

    @property
    def passed(self) -> bool:
        """True when every check of the case passes."""
        return all(c.passed for c in self.checks)


def close(case: str, quantity: str, expected: float, simulated: float, tol: float) -> Check:
    """Check |simulated - expected| <= tol."""
    ok = bool(abs(simulated - expected) <= tol)
    return Check(case, quantity, f"{expected:.6g}", f"{simulated:.6g}", f"± {tol:.2g}", ok)


def share_at_least(case: str, quantity: str, threshold: float, hits: int, n: int) -> Check:
    """Check that a share's 95% Wilson interval lies above `threshold`."""
    est, low, high = wilson(hits, n)
    simulated = f"{est:.3f} [{low:.3f}, {high:.3f}]"
    ok = bool(n > 0 and low > threshold)
    return Check(case, quantity, f"> {threshold:.2f}", simulated, "95% interval", ok)


def load(name: str, folder: Path, overrides: list[str] | None = None) -> Scenario:
    """Load one theory scenario, with optional `key.path=value` overrides."""
    return load_scenario(folder / name, overrides or [])


def simulate(scenario: Scenario, trace: int = 0) -> ChunkResult:
    """Run all the scenario's lanes as one chunk, seeded by the scenario."""
    return NegotiationModel(scenario, scenario.replications, scenario.seed, trace=trace).run()


def weeks_to_deadline(scenario: Scenario) -> int:
    """The deadline as a week index: tau = elapsed weeks / this."""
    return (scenario.calendar.deadline - scenario.calendar.start).days // 7


def faratin_curve(tau: np.ndarray, reservation: float, beta: float) -> np.ndarray:
    """Faratin, Sierra & Jennings (1998): a(tau) = r + (1 - r)(1 - tau^(1/beta))."""
    return reservation + (1.0 - reservation) * (1.0 - tau ** (1.0 / beta))


def rubinstein_first_share(d1: float, d2: float) -> float:
    """Rubinstein (1982): the first proposer's equilibrium share (1 - d2) / (1 - d1 d2)."""
    return (1.0 - d2) / (1.0 - d1 * d2)


def nash_split(pie: float, d1: float, d2: float) -> float:
    """Nash (1950) on a transferable pie: x1 = d1 + (S - d1 - d2) / 2."""
    return d1 + (pie - d1 - d2) / 2.0


def win_set_edge(centre: float, spread: float, members: int, threshold: float) -> float:
    """Least utility a ratifier passes: the pivotal member's reservation (k = ceil(t n) of n)."""
    k = math.ceil(threshold * members - 1e-9)
    return centre + spread * NormalDist().inv_cdf((k - 0.5) / members)


def faratin(folder: Path = CASES_FOLDER) -> Case:
    """Case 1: with no noise the proposer's offered utility is the Faratin curve, week by week."""
    name = "1 Faratin"
    checks, curves = [], []
    for beta in FARATIN_BETAS:
        scn = load("faratin.yaml", folder, [f"parties.russia.tactic.beta={beta}"])
        weeks = weeks_to_deadline(scn)
        offered = simulate(scn, trace=1).trace[:weeks, 0, 0, 0]  # U_russia = x on the pie
        tau = np.arange(weeks) / weeks
        expected = faratin_curve(tau, walk_aways(scn)[0], beta)
        gap = float(np.max(np.abs(offered - expected)))
        checks.append(close(name, f"max |offer - a(tau)|, beta={beta:g}", 0.0, gap, EXACT))
        curves.append((beta, tau, offered, expected))

    def draw(ax: Any) -> None:
        for beta, tau, offered, expected in curves:
            (line,) = ax.plot(tau, expected, label=f"a(τ), β={beta:g}")
            ax.plot(tau, offered, "o", ms=3, color=line.get_color(), label=f"simulated, β={beta:g}")
        ax.set(xlabel="τ = week / deadline week", ylabel="Russia's offered utility")
        ax.set_title("Faratin curve: formula (lines) and weekly offers (dots)")
        ax.legend(fontsize=7)

    return Case("faratin", name, checks, draw)


def rubinstein(folder: Path = CASES_FOLDER) -> Case:
    """Case 2: equilibrium tactics agree in round one on (1 - d2) / (1 - d1 d2)."""
    name = "2 Rubinstein"
    checks, points, weeks = [], [], []
    for d1, d2 in RUBINSTEIN_PAIRS:
        over = [f"parties.russia.tactic.discount={d1}", f"parties.us.tactic.discount={d2}"]
        runs = simulate(load("rubinstein.yaml", folder, over)).runs
        share = float(runs["package_share"][0])
        weeks.append(int(runs["agreed_week"][0]))
        expected = rubinstein_first_share(d1, d2)
        checks.append(close(name, f"first share, δ=({d1:g}, {d2:g})", expected, share, EXACT))
        points.append((d1, d2, expected, share))
    first = all(w == 0 for w in weeks)
    shown = ", ".join(str(w) for w in weeks)
    checks.append(Check(name, "agreement week, all pairs", "0 (round 1)", shown, "exact", first))

    def draw(ax: Any) -> None:
        grid = np.linspace(0.01, 0.99, 200)
        for d2 in sorted({p[1] for p in points}):
            (line,) = ax.plot(grid, rubinstein_first_share(grid, d2), lw=1, label=f"δ2={d2:g}")
            for d1, q2, _, share in points:
                if q2 == d2:
                    ax.plot(d1, share, "o", color=line.get_color())
        ax.set(xlabel="δ1 (first proposer)", ylabel="first proposer's share")
        ax.set_title("Rubinstein: (1-δ2)/(1-δ1δ2) (lines), simulated (dots)")
        ax.legend(fontsize=7)

    return Case("rubinstein", name, checks, draw)


def symmetric_nash(scenario: Scenario) -> float:
    """Utility of the point U1 = U2 on the first party's contract curve (root by brentq): the
    Nash point of a problem symmetric under swapping the parties."""
    model = NegotiationModel(scenario, 1, scenario.seed)
    first, second = model.order
    lane = np.zeros(1, dtype=int)

    def gap(loss: float) -> float:
        package = first.tradeoff(np.array([loss]), lane)
        return float(first.utility(package, lane)[0] - second.utility(package, lane)[0])

    full = float(first.best[0] - first.utility(second.ideal[:1], lane)[0])
    loss = brentq(gap, 0.0, full, xtol=1e-15, rtol=1e-15)
    return float(first.best[0] - loss)


def nash(folder: Path = CASES_FOLDER) -> Case:
    """Case 3: nash_point solves the pie exactly; symmetric linear conceders meet there."""
    name = "3 Nash"
    checks, paths = [], []
    pie = opening_frontier(load("pie.yaml", folder))
    for size, d1, d2 in NASH_PIES:
        u1, _ = nash_point(size * pie, d1, d2)
        label = f"nash_point x1, S={size:g} d=({d1:g}, {d2:g})"
        checks.append(close(name, label, nash_split(size, d1, d2), u1, EXACT))
    for r in NASH_RESERVATIONS:
        margins = [f"parties.{p}.margin={r - 0.5}" for p in ("russia", "us")]  # 0.5: no deal
        scn = load("nash.yaml", folder, margins)
        result = simulate(scn, trace=1)
        step = (1.0 - r) / weeks_to_deadline(scn)  # one week's concession
        u1 = float(result.runs["utility_russia"][0])
        checks.append(close(name, f"conceders meet, d={r:g}", nash_split(1.0, r, r), u1, step))
        week = int(result.runs["agreed_week"][0])
        paths.append((r, result.trace[: week + 1, :, 0, 0], week, u1))
    quad = load("nash_quadratic.yaml", folder)
    (d, _), expected = walk_aways(quad), symmetric_nash(quad)
    u1, _ = nash_point(opening_frontier(quad, 2001), d, d)
    checks.append(close(name, "two quadratic issues: nash_point", expected, u1, 1e-4))
    met = float(simulate(quad).runs["utility_russia"][0])
    step = (1.0 - d) / weeks_to_deadline(quad)
    checks.append(close(name, "two quadratic issues: conceders meet", expected, met, step))

    def draw(ax: Any) -> None:
        ax.axhline(0.5, color="black", lw=1, ls="--", label="Nash split x1 = 1/2")
        for r, offers, week, u1 in paths:
            weeks = np.arange(len(offers))
            (line,) = ax.plot(weeks, offers[:, 0], ".-", ms=3, lw=1, label=f"d = {r:g}")
            ax.plot(weeks, offers[:, 1], ".-", ms=3, lw=1, color=line.get_color())
            ax.plot([week], [u1], "*", ms=14, color=line.get_color())
        ax.set(xlabel="week", ylabel="Russia's utility x of the offer on the table", ylim=(0, 1))
        ax.set_title("Symmetric linear conceders: Russia's offers fall, the US's rise; deal (*)")
        ax.legend(fontsize=7)

    return Case("nash", name, checks, draw)


def deadline_effect(folder: Path = CASES_FOLDER) -> Case:
    """Case 4: Boulware parties agree in the last tenth of the time, Conceders in the first half."""
    name = "4 Deadline"
    checks, spreads = [], []
    for beta in (*BOULWARE_BETAS, *CONCEDER_BETAS):
        scn = load(
            "deadline_effect.yaml",
            folder,
            [f"parties.{p}.tactic.beta={beta}" for p in ("russia", "us")],
        )
        runs = simulate(scn).runs
        tau = runs["agreed_week"][runs["agreed"]] / weeks_to_deadline(scn)
        spreads.append((beta, tau))
        if beta in BOULWARE_BETAS:
            hits, label, floor = int((tau >= 0.9).sum()), "last tenth", 0.8
        else:
            hits, label, floor = int((tau < 0.5).sum()), "first half", 0.5
        checks.append(share_at_least(name, f"share in {label}, β={beta:g}", floor, hits, len(tau)))

    def draw(ax: Any) -> None:
        bins = np.linspace(0, 1, 53)
        for beta, tau in spreads:
            ax.hist(tau, bins=bins, alpha=0.6, label=f"β={beta:g} ({len(tau)} deals)")
        ax.axvline(0.9, color="grey", ls="--", lw=1)
        ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.set(xlabel="τ at agreement", ylabel="agreements")
        ax.set_title("Deadline effect: Boulware late, Conceders early")
        ax.legend(fontsize=7)

    return Case("deadline_effect", name, checks, draw)


def single_issue(scenario: Scenario, issue: str) -> Scenario:
    """The same talks with only `issue` on the table (issue-by-issue bargaining)."""
    data = scenario.model_dump()
    data["issues"] = {issue: data["issues"][issue]}
    data["no_agreement"] = {issue: data["no_agreement"][issue]}
    for party in data["parties"].values():
        for actor in party["actors"].values():
            for key in ("positions", "salience", "tolerance"):
                actor[key] = {k: v for k, v in actor[key].items() if k == issue}
    return Scenario.model_validate(data)


def issue_weights(scenario: Scenario, party: str) -> dict[str, float]:
    """A party's issue weights: influence x salience of its actors, normalised to sum to 1."""
    actors = scenario.parties[party].actors.values()
    pull = {k: sum(a.influence * a.salience.get(k, 0.0) for a in actors) for k in scenario.issues}
    total = sum(pull.values())
    return {k: v / total for k, v in pull.items()}


def linkage(folder: Path = CASES_FOLDER) -> Case:
    """Case 5: same weight ratios, linking changes nothing; opposite ratios, logrolling pays."""
    name = "5 Linkage"
    same = load("linkage_same_ratio.yaml", folder)
    alone, linked = simulate(single_issue(same, "share")).runs, simulate(same).runs
    week_gap = int(np.max(np.abs(linked["agreed_week"] - alone["agreed_week"])))
    checks = [
        Check(
            name, "same ratio: max |Δ agreement week|", "0", str(week_gap), "exact", week_gap == 0
        )
    ]
    for p in same.party_names():
        gap = float(np.nanmax(np.abs(linked[f"utility_{p}"] - alone[f"utility_{p}"])))
        checks.append(close(name, f"same ratio: max |Δ utility {p}|", 0.0, gap, EXACT))
    opposite = load("linkage_opposite_ratio.yaml", folder)
    parties = opposite.party_names()
    d = walk_aways(opposite)
    package = simulate(opposite).runs
    package_nash = nash_point(opening_frontier(opposite), *d)
    separate, separate_nash = {}, {}
    for issue in opposite.issues:
        alone_scn = single_issue(opposite, issue)
        separate[issue] = simulate(alone_scn).runs
        separate_nash[issue] = nash_point(opening_frontier(alone_scn), *d)
    bars = []
    for i, pname in enumerate(parties):
        weight = issue_weights(opposite, pname)
        by_issue = sum(weight[k] * np.nanmean(separate[k][f"utility_{pname}"]) for k in weight)
        by_issue_nash = sum(weight[k] * separate_nash[k][i] for k in weight)
        gain = float(np.nanmean(package[f"utility_{pname}"])) - by_issue
        expected = f"> 0 (Nash {package_nash[i] - by_issue_nash:+.2f})"
        quantity = f"opposite: logroll gain {pname}"
        checks.append(Check(name, quantity, expected, f"{gain:+.3f}", "> 0", bool(gain > 0)))
        bars.append((pname, by_issue, by_issue + gain, package_nash[i]))

    def draw(ax: Any) -> None:
        x = np.arange(len(bars))
        ax.bar(x - 0.2, [b[1] for b in bars], 0.4, label="issue by issue")
        ax.bar(x + 0.2, [b[2] for b in bars], 0.4, label="package (logrolling)")
        ax.plot(x + 0.2, [b[3] for b in bars], "k_", ms=30, label="Nash point of the package")
        ax.set_xticks(x, [b[0] for b in bars])
        ax.set(ylabel="mean utility at agreement", ylim=(0, 1.1))
        ax.set_title("Opposite weights: the package beats issue-by-issue deals for both")
        ax.legend(fontsize=7)

    return Case("linkage", name, checks, draw)


def edge_of(scenario: Scenario, party: str) -> float:
    """Win-set edge of a party's ratifier in the scenario."""
    body = scenario.parties[party].ratifier
    if body is None:
        raise ValueError(f"{scenario.name}: parties.{party} needs a ratifier for this case")
    return win_set_edge(body.centre, body.spread, body.members, body.threshold)


def two_level(folder: Path = CASES_FOLDER) -> Case:
    """Case 6: disjoint win-sets are never both ratified; a smaller win-set gets a better deal."""
    name = "6 Two-level"
    apart = load("two_level_no_overlap.yaml", folder)
    runs = simulate(apart).runs
    signed = int(runs["agreed"].sum())
    both = int(runs["in_force"].sum())
    edges = edge_of(apart, "russia") + edge_of(apart, "us")
    label = f"P(both ratify), edges sum {edges:.2f} > 1"
    checks = [Check(name, label, "0", f"{both}/{signed} signed", "exact", signed > 0 and both == 0)]
    points = []
    for centre in SENATE_CENTRES:
        scn = load("two_level_schelling.yaml", folder, [f"parties.us.ratifier.centre={centre}"])
        b_ru, b_us = edge_of(scn, "russia"), edge_of(scn, "us")
        expected = (1.0 - b_ru) / (2.0 - b_ru - b_us)  # where linear conceders' targets meet
        step = max(1.0 - b_ru, 1.0 - b_us) / weeks_to_deadline(scn)
        u_us = float(simulate(scn).runs["utility_us"][0])
        checks.append(close(name, f"u_us, US win-set edge {b_us:.3f}", expected, u_us, step))
        points.append((b_us, expected, u_us))
    rising = all(a[2] < b[2] for a, b in itertools.pairwise(points))
    shown = " < ".join(f"{p[2]:.3f}" for p in points)
    checks.append(
        Check(name, "u_us rises as US win-set shrinks", "increasing", shown, "strict", rising)
    )
    b_ru = edge_of(load("two_level_schelling.yaml", folder), "russia")

    def draw(ax: Any) -> None:
        grid = np.linspace(0.0, 0.65, 100)
        ax.plot(grid, (1 - b_ru) / (2 - b_ru - grid), label="(1 - b_ru) / (2 - b_ru - b_us)")
        ax.plot([p[0] for p in points], [p[2] for p in points], "o", label="simulated")
        ax.set(
            xlabel="US Senate win-set edge b_us (higher = smaller win-set)",
            ylabel="US utility of the deal",
        )
        ax.set_title(f"Weakness is strength; disjoint win-sets: {both}/{signed} ratified")
        ax.legend(fontsize=7)

    return Case("two_level", name, checks, draw)


CASES: tuple[Callable[[Path], Case], ...] = (
    faratin,
    rubinstein,
    nash,
    deadline_effect,
    linkage,
    two_level,
)


def run_cases(folder: Path = CASES_FOLDER) -> list[Case]:
    """Run every theory case from the scenario files in `folder`."""
    return [case(folder) for case in CASES]


def save_plots(cases: list[Case], folder: Path) -> list[Path]:
    """Write one PNG per case into `folder` (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        case.draw(ax)
        fig.tight_layout()
        path = folder / f"theory_{case.slug}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
