"""The same seed gives the same sweep in this process, in a local pool and on a Dask cluster."""

import pandas as pd
import pytest

from sim.designs import parse_param
from sim.executors import ExecutorError, open_pool
from sim.loader import load_scenario
from sim.sweep import run_sweep, start_sweep

distributed = pytest.importorskip("distributed")


def _sweep(base, out, **where) -> pd.DataFrame:
    params = [parse_param("parties.us.tactic.beta=0.3:1.5:3")]
    start_sweep(base, params, out)
    with open_pool(**where) as pool:
        return run_sweep(out, pool)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_one_worker_local_pool_and_dask_agree(baseline_path, tmp_path):
    base = load_scenario(baseline_path, ["replications=150"])
    alone = _sweep(base, tmp_path / "one", workers=1)
    pooled = _sweep(base, tmp_path / "pool", workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = _sweep(base, tmp_path / "dask", workers=1, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(alone, pooled)
    pd.testing.assert_frame_equal(alone, dask)
    for name in ("00000", "00002"):
        one = pd.read_parquet(tmp_path / "one" / "points" / name / "runs.parquet")
        pd.testing.assert_frame_equal(
            one, pd.read_parquet(tmp_path / "dask" / "points" / name / "runs.parquet")
        )


def test_bad_scheduler_address_is_an_executor_error():
    with pytest.raises(ExecutorError), open_pool(1, "localhost:8786"):
        pass
