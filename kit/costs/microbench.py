"""``microbench``: what single guest operations cost under a mode on a CPU."""
from __future__ import annotations

import math

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..errors import HvkitError
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from ..inputs.resolve import resolve_platform
from .model import CostModel
from .paths import EVENT_REGISTRY, Step
from .ops import OPS, Op, get_op

__all__ = ["op_path", "microbench"]


def op_path(op: Op | str, hw: Hardware, mode: Mode, guest_syscall: str | None = None) -> list[Step]:
    """The steps one iteration of ``op`` takes, merged by step name, in path order."""
    op = get_op(op) if isinstance(op, str) else op
    cm = CostModel(hw, mode, guest_syscall)
    cm.ws = op.ws_pages
    ev = op.events
    merged: dict[tuple[str, str], float] = {}
    order: list[tuple[str, str]] = []

    def add(steps: list[Step], times: float) -> None:
        for s in steps:
            key = (s.step, s.kind)
            if key not in merged:
                merged[key] = 0.0
                order.append(key)
            merged[key] += s.cycles * times

    for name, count in ev.items():
        if name == "pte_batch":  # a divisor of pte_write, not an event
            continue
        if EVENT_REGISTRY[name].takes_count:
            add(cm.path(name, count), 1)
        elif name == "cr3_load":
            add(cm.path(name, ws=op.ws_pages), count)
        elif name == "pte_write":
            add(cm.path(name, batch=ev.get("pte_batch", 1)), count)
        elif name == "timer_arm":
            add(cm.path(name, immediate=op.immediate_timer), count)
        else:
            add(cm.path(name), count)
    if op.dram_lines:
        add(cm.path("dram_lines"), op.dram_lines)
    return [Step(k[0], k[1], merged[k]) for k in order if merged[k] > 0]


def _applicable(op: Op, hw: Hardware) -> bool:
    return op.arch == "any" or (op.arch == "arm") == hw.is_arm


def microbench(hardware: Hardware | str, hypervisor_name: Mode | str, ops: str | Sequence[str] | None = None, *,
               hw_overrides: Mapping[str, Any] | None = None, mode_overrides: Mapping[str, Any] | None = None,
               guest_syscall: str | None = None) -> pd.DataFrame:
    """Cost of guest operations under a mode on a profile.

    Parameters
    ----------
    hardware : str or Hardware
        Profile id, path or object.
    hypervisor_name : str or Mode
        Preset name (resolved on ``hardware``) or a resolved mode.
    ops : list of str, optional
        Operation names; default every operation that exists on the
        profile's architecture.

    Returns
    -------
    pandas.DataFrame
        One row per operation: ``op``, ``suite``, ``hardware``, ``hypervisor``,
        ``cycles``, ``us`` and ``path`` (a list of ``{step, kind, cycles}``).
    """
    if isinstance(ops, str):  # one name is one operation
        ops = [ops]
    hw, mode = resolve_platform(hardware, hypervisor_name, hw_overrides, mode_overrides)
    if ops:
        chosen = [get_op(o) for o in ops]
        for op in chosen:
            if not _applicable(op, hw):
                raise HvkitError(f"operation exists only on {op.arch}", field="op", value=op.name,
                                 allowed=[o.name for o in OPS.values() if _applicable(o, hw)])
    else:
        chosen = [o for o in OPS.values() if _applicable(o, hw)]
    ghz = hw.val("freq_ghz")
    rows = []
    for op in chosen:
        path = op_path(op, hw, mode, guest_syscall)
        cycles = sum(s.cycles for s in path)
        rows.append({"op": op.name, "suite": op.suite, "hardware": hw.id, "hypervisor": mode.name,
                     "cycles": round(cycles, 1), "us": _digits(cycles / (ghz * 1000.0)),
                     "path": [{"step": s.step, "kind": s.kind, "cycles": round(s.cycles, 1)} for s in path]})
    return pd.DataFrame(rows, columns=["op", "suite", "hardware", "hypervisor", "cycles", "us", "path"])


def _digits(x: float) -> float:
    """``x`` to four decimals, and never to fewer than two significant digits (a time of 1.3e-6 us is not 0.0)."""
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, max(4, 1 - math.floor(math.log10(x))))
