"""From a spec to what it names: one resolver for the whole kit.

:func:`resolve` loads and validates everything a :class:`~kit.inputs.spec.Spec` names (the hardware profile with
its overrides, the hypervisor mode resolved on that hardware, the workload with its parameters, the neighbour
workloads) and returns one frozen :class:`Resolved`. :func:`resolve_platform` is its first half, for callers
that need only a CPU and a mode (the microbenchmarks and the calibration).

A host runs VMs, each described by a :class:`VmPlan` (its workload, vCPUs, weight, cap, placement, memory and
whether it is measured); :class:`HostPlan` holds the host's own knobs. A spec's ``vms`` identical VMs and its
neighbour become plans here; a scenario (:mod:`kit.inputs.scenario`) lists heterogeneous ones.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .files import model_digest
from .hardware import Hardware, load_hardware
from .modes import Mode, hypervisor
from .spec import Spec
from .workloads import Workload, load_workload

__all__ = ["Resolved", "VmPlan", "HostPlan", "resolve", "resolve_platform", "spec_plans", "content_digest"]


@dataclass(frozen=True)
class VmPlan:
    """One VM of a host: what it runs and where.

    ``pins`` gives a physical CPU per vCPU (taken modulo the host's CPUs); ``cpu_node`` lets the vCPUs float on one
    NUMA node's CPUs; ``node`` is the memory node (None: the host's default placement, spread over the nodes the
    vCPUs run on). ``memory_mib`` is the VM's configured memory (None: its workload's footprint plus the guest OS).
    VMs of one ``group`` share their workload's request clients (the identical VMs of a spec).
    """

    name: str
    workload: Workload
    vcpus: int = 1
    weight: int = 256
    cap: int = 0
    pins: tuple[int, ...] | None = None
    cpu_node: int | None = None
    node: int | None = None
    memory_mib: float | None = None
    vnuma: bool = False
    measured: bool = True
    group: int = 0


@dataclass(frozen=True)
class HostPlan:
    """The host's knobs beyond the spec's: SMT, memory reclamation (kit.sim.memory)."""

    smt: bool = True
    balloon: bool = False
    page_sharing: bool = False
    #: pages the page-sharing scanner (ksmd, ESX's TPS) examines per second (None: the mechanism's default)
    scan_pages_per_s: float | None = None


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
    #: the VMs of the host, measured ones first (empty: derived from the spec, see :func:`spec_plans`)
    vms: tuple[VmPlan, ...] = ()
    host: HostPlan = HostPlan()

    @property
    def plans(self) -> tuple[VmPlan, ...]:
        """The host's VMs (the spec's identical VMs and neighbour unless a scenario listed them)."""
        return self.vms or spec_plans(self.spec, self.workload, self.neighbours)


def spec_plans(spec: Spec, workload: Workload, neighbours: tuple[Workload, ...] = ()) -> tuple[VmPlan, ...]:
    """The VMs a spec describes: ``vms`` identical measured VMs (one client group), then the neighbour."""
    weights = spec.weights or (256,) * spec.vms
    caps = spec.caps or (0,) * spec.vms
    out = [VmPlan(f"vm{i}", workload, spec.vcpus, weights[i], caps[i],
                  tuple(i * spec.vcpus + j for j in range(spec.vcpus)) if spec.pin else None, group=0)
           for i in range(spec.vms)]
    base = spec.vms * spec.vcpus
    for k, wl in enumerate(neighbours):
        out.append(VmPlan("neighbor", wl, spec.neighbor_vcpus, 256, 0,
                          tuple(base + j for j in range(spec.neighbor_vcpus)) if spec.pin else None,
                          measured=False, group=1 + k))
    return tuple(out)


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


def content_digest(spec: Spec, *, neighbor: bool = True) -> str:
    """A digest (16 hex digits) of the content of what ``spec`` names: its hardware profile, its workload and its
    neighbour's (each as loaded, with its ``base:`` chain), so that a cache or a store keyed on it with the spec
    never reuses a result after one of those files changed. The spec's own overrides are in the spec; the modes
    are code, covered by the kit's version. ``neighbor=False`` leaves the neighbour out (a baseline without it)."""
    parts = [model_digest(load_hardware(spec.hardware)), model_digest(load_workload(spec.workload))]
    if neighbor and spec.neighbor:
        parts.append(model_digest(load_workload(spec.neighbor)))
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]
