"""negsim: the 2009 US-Russia talks to replace START I as Monte Carlo ensembles of agent models.

`from sim import load_scenario, run, compare, sweep` is the Python API (sim/api.py). It loads
on first use, so `negsim --help` never pays for pandas or mesa. `sim.run`, `sim.compare` and
`sim.sweep` are these functions, not the modules of those names: import from the modules
(`from sim.sweep import run_sweep`) or get them with `importlib.import_module("sim.sweep")`.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

__all__ = ["compare", "load_scenario", "run", "sweep"]


def __getattr__(name: str) -> Any:
    """The API's functions, imported when first asked for (PEP 562)."""
    if name in __all__:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


class _Package(ModuleType):
    """The package, whose API names stay the functions when the same-named modules are
    imported (the import system binds each submodule onto its package by name)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in __all__ and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
