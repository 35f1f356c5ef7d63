"""hvkit: a research kit for virtualization costs.

The public API: :func:`load_hardware` (validated CPU/platform profiles),
:func:`hypervisor` (a mode resolved on a profile), :func:`microbench` (what
guest operations cost under a mode), :func:`calibrate` (the model beside
published microbenchmarks).
"""
__version__ = "0.1.0"

from .errors import HvkitError  # noqa: E402
from .inputs.hardware import Hardware, list_hardware, load_hardware  # noqa: E402
from .inputs.modes import Mode, hypervisor, list_hypervisors  # noqa: E402
from .costs.ops import OPS, list_ops  # noqa: E402
from .costs.microbench import microbench, op_path  # noqa: E402
from .papers.calibration import calibrate  # noqa: E402
from .inputs.spec import Spec  # noqa: E402
from .inputs.workloads import load_workload, list_workloads  # noqa: E402
from .run import Result, run, compare  # noqa: E402

__all__ = ["HvkitError", "Hardware", "load_hardware", "list_hardware", "Mode", "hypervisor",
           "list_hypervisors", "OPS", "list_ops", "microbench", "op_path", "calibrate", "Spec", "load_workload",
           "list_workloads", "Result", "run", "compare", "__version__"]
