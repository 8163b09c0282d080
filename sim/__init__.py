"""negsim: the 2009 US-Russia talks to replace START I as Monte Carlo ensembles of agent models.

`from sim import load_scenario, run, compare, sweep` is the Python API (sim/api.py). It loads
on first use, so `negsim --help` never pays for pandas or mesa.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare", "load_scenario", "run", "sweep"]


def __getattr__(name: str) -> Any:
    """The API's functions, imported when first asked for (PEP 562)."""
    if name in __all__:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
