"""The peer problem in NegMAS: two Boulware parties, three opposed linear issues, 30 steps.

The same problem as benchmarks/peer/boulware.yaml (see its header for the correspondence):
an SAOMechanism of 30 steps with two BoulwareTBNegotiators (PolyAspiration exponent 4, the
worst outcome still above the aspiration, acceptance at the current aspiration), linear
additive utilities with weights 0.5, 0.3, 0.2 over three integer issues 0..10 (one side
values x/10, the other 1 - x/10), and a reservation value drawn on [0, 0.6] for each side and
each negotiation. Runs `--n` negotiations one after another in this process and prints one
JSON line: negotiations per second and the outcomes (agreement rate, mean agreed utilities,
mean step of agreement). Needs the `bench` extra: pip install -e '.[bench]'.

    python benchmarks/peer/negmas_boulware.py --n 200
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

STEPS = 30
WEIGHTS = {"first": 0.5, "second": 0.3, "third": 0.2}
LEVELS = 11  # issue values 0..10 (NegMAS slows as this grows: see the README)
RESERVATION = (0.0, 0.6)


def negotiate(outcome_space, reservations: tuple[float, float]) -> dict:
    """One negotiation: Russia (values x/10) moves first against the US (values 1 - x/10)."""
    from negmas import SAOMechanism
    from negmas.preferences import LinearAdditiveUtilityFunction
    from negmas.preferences.value_fun import AffineFun
    from negmas.sao import BoulwareTBNegotiator

    slopes = {"russia": (0.1, 0.0), "us": (-0.1, 1.0)}
    mechanism = SAOMechanism(outcome_space=outcome_space, n_steps=STEPS)
    ufuns = {}
    for (key, (slope, bias)), reserved in zip(slopes.items(), reservations, strict=True):
        ufuns[key] = LinearAdditiveUtilityFunction(
            values={i: AffineFun(slope=slope, bias=bias) for i in WEIGHTS},
            weights=WEIGHTS,
            outcome_space=outcome_space,
            reserved_value=reserved,
        )
        mechanism.add(BoulwareTBNegotiator(name=key), ufun=ufuns[key])
    state = mechanism.run()
    agreement = state.agreement
    return {
        "agreed": agreement is not None,
        "step": state.step - 1,  # steps done when it closed, less one: 0-based, as negsim's week
        "russia": float(ufuns["russia"](agreement)) if agreement is not None else np.nan,
        "us": float(ufuns["us"](agreement)) if agreement is not None else np.nan,
    }


def main() -> None:
    """Run the negotiations and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="negotiations to run")
    parser.add_argument("--seed", type=int, default=2009, help="seed of the reservation draws")
    args = parser.parse_args()

    import negmas
    from negmas import make_issue, make_os

    rng = np.random.default_rng(args.seed)
    draws = rng.uniform(*RESERVATION, size=(args.n, 2))
    negotiate(make_os([make_issue(LEVELS, name) for name in WEIGHTS]), (0.0, 0.0))  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    rows = []
    for russia, us in draws:
        outcome_space = make_os([make_issue(LEVELS, name) for name in WEIGHTS])
        rows.append(negotiate(outcome_space, (float(russia), float(us))))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    agreed = np.array([r["agreed"] for r in rows])
    done = [r for r in rows if r["agreed"]]

    def mean(key: str) -> float | None:
        return float(np.mean([r[key] for r in done])) if done else None

    print(
        json.dumps(
            {
                "negmas": negmas.__version__,
                "negotiations": args.n,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rate": args.n / seconds,
                "agreement_rate": float(agreed.mean()),
                "mean_step": mean("step"),
                "mean_utility_russia": mean("russia"),
                "mean_utility_us": mean("us"),
            }
        )
    )


if __name__ == "__main__":
    main()
