"""hvkit: a research kit for virtualization costs.

The package is a pipeline, one sub-package or module per step:

- ``inputs``: hardware profiles, hypervisor modes, workloads, the frozen :class:`Spec` with its ``--set``
  language, ``resolve(spec)`` -> one frozen ``Resolved``, and the file formats (specs, sweeps, scenarios).
- ``costs``: hypervisor code-path lengths, the per-event cost model (the path each guest event takes under a
  mode on a CPU), the catalogue of guest operations and :func:`microbench`.
- ``sim``: the SimPy host: per-unit costing, immutable work and its breakdown categories, the scheduler and its
  policies (credit, CFS, FIFO), devices, VMs and backends, and the workload drivers.
- ``results``: :class:`Result`, the tidy tables of runs and the analysis that reads them, and what a run may claim.
- ``run``: :func:`run` and :func:`compare`, one spec in, a ``Result`` out (with the native baseline);
  ``live_migration``: :func:`migrate`, a live migration while the workload runs; ``consolidation``:
  :func:`run_scenario`, a host with heterogeneous VMs.
- ``sweep``: parameter sweeps on all cores or a Dask cluster, into a crash-safe store.
- ``papers``: published data, the calibration, paper tables, validation and blind predictions.
- ``studies``: the loops behind the notebooks' tables.
- ``ui``: the front ends: pure figure builders (``kit.ui.plots``: DataFrame -> plotly figure), figure and table
  files (``kit.ui.export``), progress bars (``kit.ui.progress``) and thin ipywidgets panels (``kit.ui.panels``).
- ``cli``: the ``hvkit`` command, one module per command group.

Lower layers never import higher ones (``tests/test_architecture.py``). The public API is re-exported here:
:func:`load_hardware`, :func:`hypervisor`, :func:`microbench`, :func:`calibrate`, :class:`Spec`, :func:`run`,
:func:`compare`, :func:`migrate`, :class:`Scenario` and :func:`run_scenario` (a host with heterogeneous VMs); the
sweep is ``kit.sweep.sweep``, the figures ``kit.ui.plots`` and the panels ``kit.ui.panels`` (``kit.plots`` and
``kit.widgets`` before the front ends had a package of their own).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__
from .errors import HvkitError
from .run import compare, run  # light: kit.run imports the engine when it first runs

if TYPE_CHECKING:
    from .costs.microbench import microbench, op_path
    from .costs.ops import OPS, list_ops
    from .inputs.hardware import Hardware, list_hardware, load_hardware
    from .inputs.modes import Mode, hypervisor, list_hypervisors
    from .inputs.spec import Spec
    from .inputs.workloads import list_workloads, load_workload
    from .consolidation import run_scenario
    from .inputs.scenario import Scenario, load_scenario
    from .live_migration import Migration, migrate
    from .papers.calibration import calibrate
    from .results import Result

#: Where each lazily imported public name lives (importing ``kit`` stays light: the command line starts fast, and
#: pandas, pydantic and the engine load when first used).
_LAZY = {"Hardware": "inputs.hardware", "load_hardware": "inputs.hardware", "list_hardware": "inputs.hardware",
         "Mode": "inputs.modes", "hypervisor": "inputs.modes", "list_hypervisors": "inputs.modes",
         "OPS": "costs.ops", "list_ops": "costs.ops", "microbench": "costs.microbench", "op_path": "costs.microbench",
         "calibrate": "papers.calibration", "Spec": "inputs.spec", "load_workload": "inputs.workloads",
         "list_workloads": "inputs.workloads", "Result": "results", "migrate": "live_migration", "Migration": "live_migration",
         "Scenario": "inputs.scenario", "load_scenario": "inputs.scenario", "run_scenario": "consolidation"}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["HvkitError", "Hardware", "load_hardware", "list_hardware", "Mode", "hypervisor",
           "list_hypervisors", "OPS", "list_ops", "microbench", "op_path", "calibrate", "Spec", "load_workload",
           "list_workloads", "Result", "run", "compare", "migrate", "Migration", "Scenario", "load_scenario",
           "run_scenario", "__version__"]
