"""From a spec to what it names: one resolver for the whole kit.

:func:`resolve` loads and validates everything a :class:`~kit.inputs.spec.Spec` names (the hardware profile with
its overrides, the hypervisor mode resolved on that hardware, the workload with its parameters, the neighbour
workloads) and returns one frozen :class:`Resolved`. :func:`resolve_platform` is its first half, for callers
that need only a CPU and a mode (the microbenchmarks and the calibration).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .hardware import Hardware, load_hardware
from .modes import Mode, hypervisor
from .spec import Spec
from .workloads import Workload, load_workload

__all__ = ["Resolved", "resolve", "resolve_platform"]


@dataclass(frozen=True)
class Resolved:
    """A spec with everything it names loaded, validated and resolved."""

    spec: Spec
    hw: Hardware
    mode: Mode
    workload: Workload
    #: workloads of the unmeasured neighbour VMs
    neighbours: tuple[Workload, ...]
    #: simulated seconds (the spec's, or the workload's default)
    duration: float


def resolve_platform(hardware: Hardware | str, mode: Mode | str, hw_overrides: Mapping[str, Any] | None = None,
                     mode_overrides: Mapping[str, Any] | None = None) -> tuple[Hardware, Mode]:
    """A profile (by id, path or object) with overrides, and a mode resolved on it."""
    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    hw = hw.with_overrides(dict(hw_overrides or {}))
    resolved = mode if isinstance(mode, Mode) else hypervisor(mode, hw, **dict(mode_overrides or {}))
    return hw, resolved


def resolve(spec: Spec) -> Resolved:
    """Everything ``spec`` names, or a one-line :class:`~kit.errors.HvkitError` (nothing is simulated then)."""
    hw, mode = resolve_platform(spec.hardware, spec.hypervisor, dict(spec.hw), dict(spec.mode))
    workload = load_workload(spec.workload).with_params(dict(spec.params))
    neighbours = (load_workload(spec.neighbor),) if spec.neighbor else ()
    return Resolved(spec=spec, hw=hw, mode=mode, workload=workload, neighbours=neighbours,
                    duration=spec.duration or workload.default_duration)
