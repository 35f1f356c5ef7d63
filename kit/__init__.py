"""hvkit: a research kit for virtualization costs.

The package is a pipeline, one sub-package or module per step:

- ``inputs``: hardware profiles, hypervisor modes, workloads, the frozen :class:`Spec` with its ``--set``
  language, and ``resolve(spec)`` -> one frozen ``Resolved``.
- ``costs``: hypervisor code-path lengths, the per-event cost model (the path each guest event takes under a
  mode on a CPU), the catalogue of guest operations and :func:`microbench`.
- ``sim``: the SimPy host: per-unit costing, immutable work and its breakdown categories, the scheduler and its
  policies (credit, CFS, FIFO), devices, VMs and backends, and the workload drivers.
- ``results``: :class:`Result`, the tidy tables of runs, and the analysis that reads them.
- ``run``: :func:`run` and :func:`compare`, one spec in, a ``Result`` out (with the native baseline);
  ``migrate``: :func:`migrate`, a live migration while the workload runs.
- ``sweep``: parameter sweeps on all cores or a Dask cluster, into a crash-safe store.
- ``papers``: published data, the calibration, paper tables, validation and blind predictions.
- ``studies``: the loops behind the notebooks' tables.
- ``plots``: pure figure builders (DataFrame -> plotly figure); ``widgets``: thin ipywidgets panels.
- ``cli``: the ``hvkit`` command, one module per command group.

Lower layers never import higher ones (``tests/test_architecture.py``). The public API is re-exported here:
:func:`load_hardware`, :func:`hypervisor`, :func:`microbench`, :func:`calibrate`, :class:`Spec`, :func:`run`,
:func:`compare`, :func:`migrate`, ``kit.sweep.sweep``, ``kit.plots``, ``kit.widgets``.
"""
from .version import __version__

from .errors import HvkitError  # noqa: E402
from .inputs.hardware import Hardware, list_hardware, load_hardware  # noqa: E402
from .inputs.modes import Mode, hypervisor, list_hypervisors  # noqa: E402
from .costs.ops import OPS, list_ops  # noqa: E402
from .costs.microbench import microbench, op_path  # noqa: E402
from .papers.calibration import calibrate  # noqa: E402
from .inputs.spec import Spec  # noqa: E402
from .inputs.workloads import load_workload, list_workloads  # noqa: E402
from .results import Result  # noqa: E402
from .run import compare, run  # noqa: E402
from .migrate import Migration, migrate  # noqa: E402

__all__ = ["HvkitError", "Hardware", "load_hardware", "list_hardware", "Mode", "hypervisor",
           "list_hypervisors", "OPS", "list_ops", "microbench", "op_path", "calibrate", "Spec", "load_workload",
           "list_workloads", "Result", "run", "compare", "migrate", "Migration", "__version__"]
