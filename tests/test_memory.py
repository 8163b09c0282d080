"""Memory stays flat over many chunks: a finished model leaves nothing behind."""

from __future__ import annotations

import gc
import weakref

from sim.loader import load_scenario
from sim.model import NegotiationModel


def test_a_finished_model_is_freed(baseline_path):
    model = NegotiationModel(load_scenario(baseline_path), 50, 0)
    result = model.run()
    assert len(result.runs["agreed"]) == 50
    freed = weakref.ref(model)
    del model
    gc.collect()
    assert freed() is None  # a worker runs chunk after chunk: each must go when done
