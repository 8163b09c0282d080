"""Calibration: approximate Bayesian computation of the uncertain inputs from target facts.

Every lane already draws its own inputs, so the prior predictive is an ordinary run: the
lanes that meet every target are a sample of the posterior (rejection ABC, with the
targets' tolerances as its tolerance). When too few lanes meet them for the posterior size
asked within the lane budget, ABC-SMC (Beaumont et al. 2009, with the adaptive tolerances
of Del Moral et al. 2012) takes over: generation 0 keeps the lanes nearest the targets, and
each later generation perturbs the last one's particles and keeps those within a tolerance
that shrinks to the targets' own.

The sampler works in normal scores: an input's value is its distribution's quantile at
Phi(z), so every prior, whatever its kind (choice included), is a standard normal in z, the
perturbation kernel a plain Gaussian, and a proposal never leaves the prior's support.
Proposals are simulated in batches of lanes, every draw keyed by (seed, purpose, global
lane), so a calibration gives the same posterior on any number of workers, and one
interrupted resumes from its saved batches to the same numbers.

Why not pyabc: it calls the model once per particle, while negsim's engine earns its speed
by playing thousands of lanes in one numpy pass (a lane alone costs ~200 times more); and it
brings a database and a scheduler of its own, where negsim's batches, seeds and resume
already exist.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml
from scipy.special import logsumexp, ndtr, ndtri

from sim import store
from sim.calendar import Clock
from sim.errors import NegsimError
from sim.interrupt import stop_on_signals
from sim.loader import document, with_values
from sim.model import NegotiationModel
from sim.scenario import Scenario
from sim.streams import normal, uniform
from sim.targets import Fact, FactFile, all_hold, is_week_column

BATCHES = "batches"  # sub-folder of simulated batches while a calibration is unfinished
QUANTILES = 100  # values in each calibrated input's `choice`: its posterior percentiles
PRIOR_KEPT = 20_000  # prior lanes kept for the report's prior predictive


class CalibrationError(NegsimError):
    """The calibration cannot start (no uncertain inputs, bad settings)."""


@dataclass(frozen=True)
class Settings:
    """How many posterior draws are wanted, and what the search may spend."""

    posterior: int = 1000  # particles in the posterior
    batch: int = 2000  # lanes simulated per task (and saved per file)
    max_lanes: int = 200_000  # lanes the whole calibration may simulate
    max_generations: int = 10  # ABC-SMC generations after generation 0
    predictive: int = 2000  # lanes of the posterior predictive

    def check(self) -> None:
        """CalibrationError when a setting is out of range."""
        if not 10 <= self.posterior <= 100_000:
            raise CalibrationError(f"--posterior {self.posterior}: must be 10 to 100,000")
        if not 100 <= self.batch <= 100_000:
            raise CalibrationError(f"--batch {self.batch}: must be 100 to 100,000 lanes")
        if self.max_lanes < max(self.batch, self.posterior):
            raise CalibrationError(
                f"--max-lanes {self.max_lanes}: must be at least the batch and the posterior size"
            )


@dataclass
class Generation:
    """One generation's particles: normal scores, weights, outcomes, and its tolerance."""

    epsilon: float
    z: np.ndarray  # particles x inputs
    weights: np.ndarray
    lanes: np.ndarray
    columns: dict[str, np.ndarray]
    distance: np.ndarray
    simulated: int = 0  # lanes simulated to make it

    @property
    def ess(self) -> float:
        """Effective sample size of the weights."""
        w = self.weights / self.weights.sum()
        return float(1.0 / np.sum(w**2))


@dataclass
class Outcome:
    """A finished calibration: the posterior and how it was reached."""

    method: str  # "rejection" or "smc"
    posterior: Generation
    reached: bool  # the final tolerance is the targets' own
    history: list[dict] = field(default_factory=list)
    lanes: int = 0


def simulate(
    scenario: Scenario, z: np.ndarray, seed: int, first_lane: int, names: list[str]
) -> dict[str, np.ndarray]:
    """Play lanes first_lane.. with inputs at normal scores `z`; keep the columns `names`.
    A top-level function, so worker processes can run it."""
    values = input_values(scenario, z)
    model = NegotiationModel(scenario, len(z), seed, first_lane=first_lane, inputs=values)
    runs = model.run().runs
    model.release()
    return {name: runs[name] for name in names}


def input_values(scenario: Scenario, z: np.ndarray) -> dict[str, np.ndarray]:
    """Each input's values at normal scores `z` (one column per input)."""
    return {
        path: dist.quantile(ndtr(z[:, k])) for k, (path, dist) in enumerate(scenario.inputs.items())
    }


def prior_scores(scenario: Scenario, seed: int, lanes: np.ndarray) -> np.ndarray:
    """The normal scores of the inputs a plain run draws in these lanes (the same draws)."""
    paths = list(scenario.inputs)
    return np.column_stack([ndtri(uniform(seed, f"input:{p}", lanes)) for p in paths])


class Calibration:
    """ABC of a scenario's uncertain inputs against target facts, batch by batch on disk."""

    def __init__(
        self,
        scenario: Scenario,
        targets: FactFile,
        folder: Path,
        settings: Settings,
        seed: int,
        executor: Executor | None = None,
        slots: int = 1,
        on_batch: Callable[[dict], None] = lambda info: None,
    ) -> None:
        if not scenario.inputs:
            raise CalibrationError(
                f"{scenario.name}: no uncertain inputs to calibrate; write some values as "
                "distributions, e.g. beta: {uniform: [0.2, 1.0]}"
            )
        self.scenario = scenario
        self.facts = targets.facts
        self.clock = Clock.from_calendar(scenario.calendar)
        self.folder = folder
        self.settings = settings
        self.seed = seed
        self.executor = executor
        self.slots = max(slots, 1)
        self.on_batch = on_batch
        self.paths = list(scenario.inputs)
        self.names = sorted({f.column for f in self.facts} | {f"input.{p}" for p in self.paths})
        self.scales: list[float] = []
        self.lanes_used = 0
        self.rate = 1.0  # acceptance of the last generation: how many batches to start at once

    # --- the algorithm -------------------------------------------------------------------

    def run(self) -> Outcome:
        """Rejection ABC over prior lanes; ABC-SMC when too few of them meet the targets."""
        need = self.settings.posterior
        prior = self._generation(0, 0.0, None, self._rejection_enough)
        accepted = prior.distance == 0
        history = [self._record(0, 0.0, prior, int(accepted.sum()))]
        spent = self.lanes_used >= self.settings.max_lanes
        if accepted.sum() >= need or (spent and accepted.any()):
            return Outcome(
                "rejection", self._subset(prior, accepted), True, history, self.lanes_used
            )
        population = self._nearest(prior, need)
        kept = len(population.lanes)
        history[0].update(
            epsilon=population.epsilon,
            accepted=kept,
            ess=float(kept),
            acceptance=kept / max(prior.simulated, 1),
        )
        for gen in range(1, self.settings.max_generations + 1):
            if self.lanes_used >= self.settings.max_lanes:
                break
            epsilon = next_epsilon(population.distance, population.epsilon)
            nxt = self._generation(gen, epsilon, population, self._smc_enough)
            history.append(self._record(gen, epsilon, nxt, len(nxt.lanes)))
            if len(nxt.lanes) < need:  # the lane budget ran out within this generation
                break
            population = nxt
            if epsilon == 0:
                break
        return Outcome("smc", population, population.epsilon == 0, history, self.lanes_used)

    def _rejection_enough(self, lanes: int, accepted: int) -> bool:
        """Stop drawing prior lanes: enough accepted, or too few to get there in the budget."""
        need, budget = self.settings.posterior, self.settings.max_lanes
        if accepted >= need or self.lanes_used >= budget:
            return True
        projected = math.inf if accepted == 0 else lanes * need / accepted
        return lanes >= 2 * need and projected > budget

    def _smc_enough(self, lanes: int, accepted: int) -> bool:
        return accepted >= self.settings.posterior or self.lanes_used >= self.settings.max_lanes

    def _generation(
        self,
        gen: int,
        epsilon: float,
        parents: Generation | None,
        enough: Callable[[int, int], bool],
    ) -> Generation:
        """Simulate batches of proposals (from the prior, or perturbed `parents`) until
        `enough`; keep the lanes within `epsilon` (all of them in generation 0)."""
        first = self.lanes_used
        kernel = None if parents is None else Kernel(parents)
        batches: list[dict[str, np.ndarray]] = []
        lanes = accepted = 0

        def ahead() -> int:
            """Batches worth having in flight: those the acceptance so far says are needed."""
            rate = accepted / lanes if accepted else self.rate
            need = (self.settings.posterior - accepted) / max(rate, 1e-9) / self.settings.batch
            left = (self.settings.max_lanes - self.lanes_used) / self.settings.batch
            return max(1, min(self.slots, math.ceil(need), math.ceil(left)))

        for batch in self._batches(gen, first, kernel, ahead):
            if not self.scales:
                self.scales = fact_scales(self.facts, batch, self.clock)
            batch["distance"] = self.distance(batch)
            batches.append(batch)
            lanes += len(batch["lane"])
            self.lanes_used = first + lanes
            accepted += int((batch["distance"] <= epsilon).sum())
            self.on_batch(
                {
                    "generation": gen,
                    "epsilon": epsilon,
                    "accepted": accepted,
                    "needed": self.settings.posterior,
                    "lanes": self.lanes_used,
                }
            )
            if enough(lanes, accepted):
                break
        self.rate = max(accepted, 1) / lanes
        joined = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
        generation = Generation(
            epsilon,
            joined["z"],
            np.ones(len(joined["lane"])),
            joined["lane"],
            {n: joined[n] for n in self.names},
            joined["distance"],
            simulated=lanes,
        )
        if parents is None:
            return generation
        keep = np.flatnonzero(generation.distance <= epsilon)[: self.settings.posterior]
        chosen = self._subset(generation, keep)
        chosen.weights = kernel.weights(chosen.z)
        return chosen

    def _batches(self, gen: int, first: int, kernel: Kernel | None, ahead: Callable[[], int]):
        """Yield batches in order, each loaded from disk or simulated, `ahead()` in flight (a
        batch simulated past the end of a generation is work thrown away)."""
        size = self.settings.batch
        pending: dict[int, Future | dict] = {}
        index = 0
        while True:
            while len(pending) < ahead():
                b = index + len(pending)
                pending[b] = self._start(gen, b, first + b * size, kernel)
            entry = pending.pop(index)
            batch = entry.result() if isinstance(entry, Future) else entry
            if isinstance(entry, Future):
                store.write_table(self._batch_path(gen, index), _flat(batch))
            yield batch
            index += 1

    def _start(self, gen: int, b: int, first: int, kernel: Kernel | None) -> Future | dict:
        """A batch from disk when saved, else its simulation (a future, or done here)."""
        path = self._batch_path(gen, b)
        if path.is_file():
            return _unflat(pq.read_table(path), len(self.paths))
        lanes = np.arange(first, first + self.settings.batch, dtype=np.int64)
        if kernel is None:
            z = prior_scores(self.scenario, self.seed, lanes)
        else:
            z = kernel.propose(self.seed, gen, lanes)
        args = (self.scenario, z, self.seed, first, self.names)
        future: Future
        if self.executor is None:
            future = Future()
            future.set_result(simulate(*args))
        else:
            future = self.executor.submit(simulate, *args)
        wrapped: Future = Future()
        future.add_done_callback(lambda f: _finish(f, wrapped, lanes, z))
        return wrapped

    def distance(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Per lane: the sum over targets of how far the lane is from meeting each."""
        total = np.zeros(len(batch["lane"]))
        for fact, scale in zip(self.facts, self.scales, strict=True):
            total += fact.distance(batch, self.clock, scale)
        return total

    def _nearest(self, generation: Generation, count: int) -> Generation:
        """Generation 0 of ABC-SMC: the `count` lanes nearest the targets."""
        order = np.argsort(generation.distance, kind="stable")[:count]
        chosen = self._subset(generation, np.sort(order))
        chosen.epsilon = float(chosen.distance.max())
        return chosen

    def _subset(self, generation: Generation, rows: np.ndarray) -> Generation:
        return Generation(
            generation.epsilon,
            generation.z[rows],
            generation.weights[rows],
            generation.lanes[rows],
            {k: v[rows] for k, v in generation.columns.items()},
            generation.distance[rows],
            generation.simulated,
        )

    def _record(self, gen: int, epsilon: float, generation: Generation, accepted: int) -> dict:
        return {
            "generation": gen,
            "epsilon": epsilon,
            "lanes": generation.simulated,
            "accepted": accepted,
            "acceptance": accepted / max(generation.simulated, 1),
            "ess": round(generation.ess, 1) if gen else float(accepted),
        }

    def _batch_path(self, gen: int, b: int) -> Path:
        return self.folder / BATCHES / f"g{gen:02d}-{b:05d}.parquet"

    # --- after the search ----------------------------------------------------------------

    def predictive(self, posterior: Generation, lanes: int) -> dict[str, np.ndarray]:
        """Posterior predictive: particles resampled by weight, played in fresh lanes."""
        ids = np.arange(lanes, dtype=np.int64) + self.lanes_used
        pick = resample(posterior.weights, uniform(self.seed, "calibrate:predictive", ids))
        return simulate(self.scenario, posterior.z[pick], self.seed, int(ids[0]), self.names)


class Kernel:
    """The ABC-SMC perturbation: a parent drawn by weight, plus a Gaussian step with twice
    the parents' weighted covariance (Beaumont et al. 2009)."""

    def __init__(self, parents: Generation) -> None:
        self.parents = parents
        w = parents.weights / parents.weights.sum()
        self.log_w = np.log(w)
        z = parents.z
        cov = 2.0 * np.atleast_2d(np.cov(z, rowvar=False, aweights=w, bias=True))
        cov += 1e-6 * np.eye(len(cov))
        self.chol = np.linalg.cholesky(cov)
        self.inv_chol = np.linalg.inv(self.chol)
        self.log_norm = -np.log(np.diag(self.chol)).sum() - 0.5 * len(cov) * np.log(2 * np.pi)

    def propose(self, seed: int, gen: int, lanes: np.ndarray) -> np.ndarray:
        """New normal scores for `lanes`: keyed by (seed, generation, lane) alone."""
        parent = resample(self.parents.weights, uniform(seed, f"calibrate:parent:{gen}", lanes))
        k = self.parents.z.shape[1]
        step = np.column_stack([normal(seed, f"calibrate:step:{gen}:{i}", lanes) for i in range(k)])
        return self.parents.z[parent] + step @ self.chol.T

    def weights(self, z: np.ndarray, rows: int = 500) -> np.ndarray:
        """Importance weights: standard-normal prior over the kernel mixture, normalised
        (computed `rows` particles at a time, so memory stays at rows x parents)."""
        log_prior = -0.5 * np.sum(z**2, axis=1)
        parents = self.parents.z @ self.inv_chol.T
        mixture = np.empty(len(z))
        for i in range(0, len(z), rows):
            diff = (z[i : i + rows] @ self.inv_chol.T)[:, None, :] - parents[None, :, :]
            log_kernel = self.log_norm - 0.5 * np.sum(diff**2, axis=2)
            mixture[i : i + rows] = logsumexp(log_kernel + self.log_w[None, :], axis=1)
        log_w = log_prior - mixture
        w = np.exp(log_w - log_w.max())
        return w / w.sum()


def next_epsilon(distance: np.ndarray, previous: float) -> float:
    """The median of the last generation's distances, strictly below the last tolerance
    (ties can stall a median), and 0 once the targets are within reach."""
    epsilon = float(np.median(distance))
    if epsilon >= previous:
        below = distance[distance < previous]
        epsilon = float(below.max()) if below.size else 0.0
    return epsilon if epsilon > 1e-9 else 0.0


def fact_scales(facts: list[Fact], batch: dict[str, np.ndarray], clock: Clock) -> list[float]:
    """Each target's unit of distance: the 5-95% spread of its column over prior lanes."""
    scales = []
    for fact in facts:
        x = np.asarray(batch[fact.column]).astype(float)
        x = x[~np.isnan(x) & ~(is_week_column(fact.column) & (x < 0))]
        spread = float(np.subtract(*np.percentile(x, [95, 5]))) if x.size else 0.0
        scales.append(spread if spread > 0 else 1.0)
    return scales


def resample(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn in proportion to `weights` at uniform numbers `u`."""
    cumulative = np.cumsum(weights)
    return np.minimum(np.searchsorted(cumulative, u * cumulative[-1]), len(weights) - 1)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of weighted draws (weights need not sum to one)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cumulative = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cumulative, v)


def calibrated_document(scenario: Scenario, posterior: Generation) -> dict:
    """The scenario with each input's prior replaced by its posterior marginal: a `choice`
    over the posterior's percentiles (exact for any shape, and inside the prior's support)."""
    q = (np.arange(QUANTILES) + 0.5) / QUANTILES
    values = {}
    for path in scenario.inputs:
        x = weighted_quantiles(posterior.columns[f"input.{path}"], posterior.weights, q)
        values[path] = {"choice": [float(f"{v:.6g}") for v in x]}
    doc = document(scenario)
    doc["name"] = f"{scenario.name}_calibrated"
    doc["description"] = (
        f"{scenario.description.strip()} Calibrated by negsim calibrate: each uncertain input "
        "is its posterior marginal (100 percentiles); the posterior's correlations are in "
        "posterior.parquet."
    )
    return with_values(doc, values)


def save(calibration: Calibration, outcome: Outcome, started: float) -> dict:
    """posterior.parquet, prior.parquet, predictive.parquet, calibrated.yaml; the manifest."""
    folder, scenario = calibration.folder, calibration.scenario
    post = outcome.posterior
    store.write_table(
        folder / "posterior.parquet",
        {"lane": post.lanes, "weight": post.weights / post.weights.sum(), **post.columns},
    )
    prior = _prior_lanes(calibration)
    store.write_table(folder / "prior.parquet", prior)
    predictive = calibration.predictive(post, calibration.settings.predictive)
    store.write_table(folder / "predictive.parquet", predictive)
    text = yaml.safe_dump(calibrated_document(scenario, post), sort_keys=False, allow_unicode=True)
    store.write_atomic(folder / "calibrated.yaml", text)
    return {
        "method": outcome.method,
        "reached_targets": outcome.reached,
        "final_epsilon": post.epsilon,
        "posterior_size": len(post.lanes),
        "posterior_ess": round(post.ess, 1),
        "lanes_simulated": outcome.lanes,
        "generations": outcome.history,
        "predictive_meets_all": float(
            all_hold(calibration.facts, predictive, calibration.clock).mean()
        ),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _prior_lanes(calibration: Calibration) -> dict[str, np.ndarray]:
    """The first prior lanes (generation 0) as simulated, for the prior predictive."""
    tables = sorted((calibration.folder / BATCHES).glob("g00-*.parquet"))
    parts, kept = [], 0
    for path in tables:
        if kept >= PRIOR_KEPT:
            break
        parts.append(pq.read_table(path, columns=calibration.names))
        kept += parts[-1].num_rows
    return {n: np.concatenate([p.column(n).to_numpy() for p in parts]) for n in calibration.names}


def start(
    folder: Path,
    scenario: Scenario,
    targets_text: str,
    settings: Settings,
    seed: int,
    command: list[str],
) -> None:
    """Lay out a new calibration folder: scenario, targets, settings."""
    from sim.run import resolved_yaml

    store.prepare_folder(folder)
    store.write_atomic(folder / "scenario.yaml", resolved_yaml(scenario))
    store.write_atomic(folder / "targets.yaml", targets_text)
    store.write_json(
        folder / "manifest.json",
        {
            "status": "running",
            "kind": "calibration",
            "scenario": scenario.name,
            "seed": seed,
            "settings": asdict(settings),
            "command": command,
            "started": store.now(),
            "versions": store.versions(),
        },
    )


def finish(calibration: Calibration, command: list[str]) -> dict:
    """Run (or resume) the calibration in its folder; write every output; mark it complete."""
    folder = calibration.folder
    manifest = store.read_manifest(folder)
    if manifest.get("status") == "complete":
        raise store.StoreError(f"{folder}: this calibration is already complete")
    manifest.update(status="running")
    if manifest.get("command") != command:
        manifest["resumed"] = [
            *manifest.get("resumed", []),
            {"at": store.now(), "command": command},
        ]
    store.write_json(folder / "manifest.json", manifest)
    (folder / BATCHES).mkdir(exist_ok=True)
    started = time.perf_counter()
    try:
        with stop_on_signals():
            outcome = calibration.run()
            manifest.update(save(calibration, outcome, started))
            from sim.calibrate_report import write_calibration_report

            write_calibration_report(calibration, manifest)
    except BaseException as err:
        failed = {} if isinstance(err, KeyboardInterrupt) else {"error": str(err)}
        store.write_json(folder / "manifest.json", {**manifest, "status": "interrupted", **failed})
        raise
    manifest.update(status="complete", finished=store.now())
    store.write_json(folder / "manifest.json", manifest)
    shutil.rmtree(folder / BATCHES, ignore_errors=True)
    return manifest


def _finish(done: Future, wrapped: Future, lanes: np.ndarray, z: np.ndarray) -> None:
    """Attach the lanes and their scores to a simulated batch's columns."""
    try:
        wrapped.set_result({"lane": lanes, "z": z, **done.result()})
    except BaseException as err:  # the worker's error reaches whoever waits on the batch
        wrapped.set_exception(err)


def _flat(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A batch as Parquet columns (one per normal score)."""
    flat = {k: v for k, v in batch.items() if k not in ("z", "distance")}
    flat |= {f"z{k}": batch["z"][:, k] for k in range(batch["z"].shape[1])}
    return flat


def _unflat(table, inputs: int) -> dict[str, np.ndarray]:
    columns = {n: table.column(n).to_numpy() for n in table.column_names}
    z = np.column_stack([columns.pop(f"z{k}") for k in range(inputs)])
    return {**columns, "z": z}
