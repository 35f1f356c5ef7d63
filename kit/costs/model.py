"""The cost model: the path and cycles of every registered guest event under a mode on a CPU.

:class:`CostModel` is assembled from the event families, each in a module of its own (``cpu_events``,
``memory_events``, ``io_events``, ``interrupt_events``, ``switch_events``), on the building blocks of
:mod:`kit.costs.paths`. A new event is a method registered with :func:`kit.costs.paths.event` in the family it
belongs to; :data:`EVENTS` lists every event for readers and tools.
"""
from __future__ import annotations

from .cpu_events import CpuEvents
from .interrupt_events import InterruptEvents
from .io_events import IoEvents
from .memory_events import MemoryEvents
from .paths import EVENT_REGISTRY
from .switch_events import SwitchEvents

__all__ = ["CostModel", "EVENTS"]


class CostModel(CpuEvents, MemoryEvents, IoEvents, InterruptEvents, SwitchEvents):
    """The path and cycles of guest events under ``mode`` on ``hw`` (see :class:`kit.costs.paths.Paths`)."""


#: Events an operation may contain, with their meaning (generated from the registry).
EVENTS: dict[str, str] = {name: d.meaning for name, d in EVENT_REGISTRY.items()}
