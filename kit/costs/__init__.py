"""Per-event costs: what each guest event costs under a mode on a CPU.

``codepaths`` holds hypervisor code-path lengths (instructions); ``paths`` the steps of a path, the registry of
events and the building blocks of every path; the events by family in ``cpu_events``, ``memory_events``,
``io_events``, ``interrupt_events`` and ``switch_events``, assembled into the cost model in ``model``; ``ops`` the
catalogue of guest operations (microbenchmarks) and ``microbench`` what those operations cost.
"""
from .model import EVENTS, CostModel
from .paths import Step

__all__ = ["CostModel", "Step", "EVENTS"]
