"""Per-event costs: what each guest event costs under a mode on a CPU.

``codepaths`` holds hypervisor code-path lengths (instructions), ``events`` the cost model that turns a guest
event into the steps of its path, ``ops`` the catalogue of guest operations (microbenchmarks) and
``microbench`` what those operations cost.
"""
from .events import CostModel, Step

__all__ = ["CostModel", "Step"]
