"""A host with heterogeneous VMs: the scenario file, its ``--set`` keys, and what it resolves to.

A :class:`Scenario` names a hardware profile and a hypervisor mode (with overrides), the host's knobs
(:class:`HostKnobs`: CPUs offered, SMT, dom0 or root vCPUs, memory, ballooning, page sharing) and a list of VMs
(:class:`VmEntry`: a workload with its parameters, vCPUs, memory, weight, cap, pinning or NUMA placement, vNUMA,
whether it is measured, and how many identical copies). It is read by the one YAML loader
(:func:`kit.inputs.files.read_yaml`, :func:`kit.inputs.files.load_validated`) and validated once, and
:func:`resolve_scenario` turns it into the :class:`~kit.inputs.resolve.Resolved` a host runs: one
:class:`~kit.inputs.resolve.VmPlan` per VM. A spec's ``--vms N`` of one workload is the shorthand
(:func:`scenario_from_spec`).

``--set`` on a scenario reaches the spec's keys that make sense for a whole host (``hardware``, ``hypervisor``,
``duration``, ``seed``, ``engine``, mode parts, ``hw.<parameter>``), the host's knobs (``host.<knob>``) and each VM
by its name (``vms.<name>.<field>``, ``vms.<name>.workload.<parameter>``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import HvkitError, format_validation_error
from .coerce import Bool, Int, Num
from .events import FaultEvent, LifecycleEvent
from .files import load_validated, read_yaml
from .resolve import HostPlan, Resolved, VmPlan, resolve_platform
from .spec import MAX_SEED, MAX_VCPUS, MAX_VMS, Spec, route
from .workloads import Workload, load_workload

__all__ = ["Scenario", "VmEntry", "HostKnobs", "load_scenario", "resolve_scenario", "scenario_from_spec", "vm_names",
           "SCENARIO_TOP_KEYS", "HOST_KEYS", "VM_KEYS"]

#: Top-level keys a scenario's ``--set`` reaches (the rest: mode parts, hw.*, host.*, vms.<name>.*)
SCENARIO_TOP_KEYS = ("name", "hardware", "hypervisor", "duration", "seed", "engine")


class HostKnobs(BaseModel):
    """The host's own knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pcpus: Int | None = Field(None, ge=1, le=1024, description="logical CPUs the host offers (default: all; "
                                                               "cores are filled before their SMT siblings)")
    smt: Bool = Field(True, description="simultaneous multithreading on (false: one thread per core)")
    dom0_vcpus: Int = Field(1, ge=1, le=64, description="vCPUs of Xen's dom0 or Hyper-V's root partition")
    memory_gib: Num | None = Field(None, gt=0, le=65536, description="installed memory (default: the profile's)")
    balloon: Bool = Field(False, description="reclaim memory by ballooning the guests before the host swaps")
    page_sharing: Bool = Field(False, description="content-based page sharing (KSM, transparent page sharing)")
    scan_pages_per_s: Num | None = Field(None, ge=0, description="pages the sharing scanner examines per second "
                                                                 "(default: KSM's 5000)")
    driver_domain: Bool = Field(False, description="Xen: the NIC and disk drivers and their backends run in a driver "
                                                   "domain of their own instead of dom0 (its failures are contained)")
    spare_driver_domain: Bool = Field(False, description="Xen: a warm spare driver domain, booted with its own NIC, "
                                                         "takes over when the driver domain fails")


class VmEntry(BaseModel):
    """One VM of a scenario (or ``count`` identical ones, named ``<name>0``, ``<name>1``...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9\-]*$", description="the VM's name (results and --set vms.<name>)")
    workload: str = Field(description="workload id or YAML path")
    count: Int = Field(1, ge=1, le=MAX_VMS, description="identical copies of this VM (they share its workload's "
                                                        "request clients, as a spec's --vms does)")
    vcpus: Int = Field(1, ge=1, le=MAX_VCPUS, description="vCPUs")
    memory_mib: Num | None = Field(None, gt=0, description="configured memory (default: the workload's footprint "
                                                           "plus the guest OS)")
    weight: Int = Field(256, ge=1, le=65535, description="scheduler weight (Xen credit weight, CFS shares)")
    cap: Int = Field(0, ge=0, le=100 * MAX_VCPUS, description="cap in percent of one CPU (0: none)")
    pin: tuple[Int, ...] | Literal["node"] | None = Field(
        None, description="a physical CPU per vCPU (copies take the next ones), or 'node': float on the CPUs of "
                          "numa_node; default: float on the CPUs nothing is pinned to")
    numa_node: Int | None = Field(None, ge=0, description="memory node of the VM (default: next to its vCPUs)")
    vnuma: Bool = Field(False, description="the guest sees the host's NUMA nodes (a VM spanning nodes keeps "
                                           "memory local to each vCPU)")
    measured: Bool = Field(True, description="whether the run measures this VM (false: a neighbour)")
    params: tuple[tuple[str, Any], ...] = Field((), description="workload parameters (as workload.<name>)")

    @field_validator("params", mode="before")
    @classmethod
    def _freeze_params(cls, v: Any) -> tuple:
        if v is None:
            return ()
        items = v.items() if isinstance(v, Mapping) else v
        return tuple(sorted((str(k), x) for k, x in items))

    @field_validator("pin", mode="before")
    @classmethod
    def _pins(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "node":
            return tuple(int(x) for x in v.split(",") if x.strip())
        return v

    @model_validator(mode="after")
    def _consistent(self) -> VmEntry:
        if isinstance(self.pin, tuple) and any(c < 0 for c in self.pin):
            raise ValueError(f"pin gives a negative CPU ({min(self.pin)}): physical CPUs are numbered from 0")
        if isinstance(self.pin, tuple) and len(self.pin) != self.vcpus:
            raise ValueError(f"pin gives {len(self.pin)} CPUs for {self.vcpus} vCPUs: one per vCPU")
        if self.pin == "node" and self.numa_node is None:
            raise ValueError("pin: node needs numa_node")
        return self


class Scenario(BaseModel):
    """A host and its heterogeneous VMs (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field("scenario", description="what the scenario is called in results")
    hardware: str = Field(description="profile id or YAML path")
    hypervisor: str = Field(description="mode preset")
    mode: tuple[tuple[str, Any], ...] = Field((), description="overrides of mode parts")
    hw: tuple[tuple[str, Any], ...] = Field((), description="overrides of hardware values")
    duration: Num | None = Field(None, gt=0, le=3600, description="simulated seconds (default: the longest "
                                                                  "default of the measured workloads)")
    seed: Int = Field(0, ge=0, le=MAX_SEED, description="seed of every random stream of the run (at most 2**63 - 1)")
    engine: Literal["hybrid", "discrete"] = Field("hybrid", description="how the run is computed")
    host: HostKnobs = Field(default_factory=HostKnobs, description="the host's knobs")
    vms: tuple[VmEntry, ...] = Field(min_length=1, description="the VMs")
    faults: tuple[FaultEvent, ...] = Field((), description="components that fail while the host runs")
    lifecycle: tuple[LifecycleEvent, ...] = Field((), description="operations on VMs while the host runs")

    @field_validator("mode", "hw", mode="before")
    @classmethod
    def _freeze(cls, v: Any) -> tuple:
        if v is None:
            return ()
        items = v.items() if isinstance(v, Mapping) else v
        return tuple(sorted((str(k), x) for k, x in items))

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        names = [v.name for v in self.vms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"VM names must be unique: {', '.join(dup)}")
        expanded: dict[str, str] = {}  # a VM's name after count: expansion -> the entry that makes it
        for v in self.vms:
            for name in vm_names(v):
                if name in expanded:
                    raise ValueError(f"VM names must be unique after count: expansion: {name} is made by "
                                     f"'{expanded[name]}' and by '{v.name}'" + (f" (count {v.count} names its copies "
                                     f"{v.name}0 to {v.name}{v.count - 1})" if v.count > 1 else ""))
                expanded[name] = v.name
        if not any(v.measured for v in self.vms):
            raise ValueError("at least one VM must be measured")
        if sum(v.count for v in self.vms) > MAX_VMS:
            raise ValueError(f"at most {MAX_VMS} VMs on a host")
        every = {f"{v.name}{k}" if v.count > 1 else v.name for v in self.vms for k in range(v.count)}
        for f in self.faults:
            if f.vm is not None and f.vm not in every:
                raise ValueError(f"a fault names VM {f.vm!r}, which is not one of {', '.join(sorted(every))}")
        for e in self.lifecycle:
            named: tuple[str | None, ...] = (e.vm, e.source)
            for vm_name in named:
                if vm_name is not None and vm_name not in every:
                    raise ValueError(f"a lifecycle event names VM {vm_name!r}, which is not one of "
                                     f"{', '.join(sorted(every))}")
            if e.op == "clone" and e.source is None:
                raise ValueError(f"clone of {e.vm!r} needs the source VM whose snapshot it restores")
        return self

    def vm_names(self) -> list[str]:
        """Every VM's name, as the host runs them (measured ones first, copies numbered)."""
        names = [(f"{v.name}{k}" if v.count > 1 else v.name, v.measured) for v in self.vms for k in range(v.count)]
        return [n for n, m in names if m] + [n for n, m in names if not m]

    @classmethod
    def make(cls, **kw: Any) -> Scenario:
        """Validated construction with a readable error."""
        try:
            return cls(**kw)
        except ValidationError as exc:
            raise format_validation_error(exc, "scenario", cls) from None

    def replace(self, **kw: Any) -> Scenario:
        data = self.model_dump()
        data.update(kw)
        return Scenario.make(**data)

    def with_sets(self, pairs: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> Scenario:
        """A copy with ``--set key=value`` pairs applied (see the module docstring for the keys)."""
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        data = self.model_dump()
        mode, hw = dict(self.mode), dict(self.hw)
        host = dict(data["host"])
        vms = [dict(v) for v in data["vms"]]
        by_name = {v["name"]: v for v in vms}
        for key, value in items:
            if key in SCENARIO_TOP_KEYS:
                data[key] = value
            elif key.startswith("host."):
                knob = key[5:]
                if knob not in HostKnobs.model_fields:
                    raise HvkitError("unknown host knob", field=f"--set {key}", value=knob,
                                     allowed=sorted(HostKnobs.model_fields))
                host[knob] = value
            elif key.startswith("vms."):
                rest = key[4:]
                name, _, field = rest.partition(".")
                if name not in by_name:
                    raise HvkitError("no VM of that name", field=f"--set {key}", value=name, allowed=sorted(by_name))
                vm = by_name[name]
                if field.startswith("workload."):
                    vm["params"] = dict(vm["params"]) | {field[9:]: route([(field, value)]).params[field[9:]]}
                elif field in VmEntry.model_fields and field not in ("name", "params"):
                    vm[field] = value
                else:
                    raise HvkitError("unknown VM field", field=f"--set {key}", value=field,
                                     allowed=sorted(set(VmEntry.model_fields) - {"name", "params"})
                                     + ["workload.<parameter>"])
            else:
                ov = route([(key, value)])
                if ov.top:
                    raise HvkitError("a spec knob that a scenario sets per VM or per host", field=f"--set {key}",
                                     value=key, allowed=list(SCENARIO_TOP_KEYS) + ["host.<knob>",
                                                                                  "vms.<name>.<field>"])
                if ov.params:
                    raise HvkitError("a scenario's workloads are per VM", field=f"--set {key}", value=key,
                                     allowed="vms.<name>.workload.<parameter>")
                mode.update(ov.mode)
                hw.update(ov.hw)
        data.update(mode=mode, hw=hw, host=host, vms=vms)
        return Scenario.make(**data)

    def spec(self) -> Spec:
        """The spec of the host (its first measured VM's workload names the run; the VMs are the scenario's)."""
        first = next(v for v in self.vms if v.measured)
        hw = dict(self.hw)
        if self.host.memory_gib is not None:
            hw["memory_gib"] = self.host.memory_gib
        return Spec.make(hardware=self.hardware, hypervisor=self.hypervisor, workload=first.workload,
                         vcpus=first.vcpus, vms=min(MAX_VMS, sum(v.count for v in self.vms if v.measured)),
                         duration=self.duration, seed=self.seed, pcpus=self.host.pcpus,
                         dom0_vcpus=self.host.dom0_vcpus, engine=self.engine, mode=dict(self.mode), hw=hw,
                         params=dict(first.params))


def vm_names(v: VmEntry) -> list[str]:
    """The names of the VMs an entry makes: its own, or ``<name>0``... for ``count`` copies."""
    return [f"{v.name}{k}" for k in range(v.count)] if v.count > 1 else [v.name]


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """A scenario file (YAML or JSON), validated."""
    p = Path(path)
    return load_validated(read_yaml(p), Scenario, str(p), "a scenario")


def resolve_scenario(scn: Scenario) -> Resolved:
    """The host a scenario describes: its profile (with the host's memory and SMT), its mode, and a plan per VM."""
    spec = scn.spec()
    hw, mode = resolve_platform(spec.hardware, spec.hypervisor, dict(spec.hw), dict(spec.mode))
    if not scn.host.smt and scn.host.pcpus is None:
        spec = spec.model_copy(update={"pcpus": int(hw.val("sockets") * hw.val("cores_per_socket"))})
    loaded: dict[tuple, Workload] = {}
    plans: list[VmPlan] = []
    group = 0
    offered = spec.pcpus or hw.pcpus
    for v in scn.vms:
        key = (v.workload, v.params)
        wl = loaded.get(key)
        if wl is None:
            try:
                wl = loaded[key] = load_workload(v.workload).with_params(dict(v.params))
            except HvkitError as exc:
                raise exc.renamed(exc.field and f"vms.{v.name}.{exc.field}", f"scenario VM '{v.name}'") from None
        for k in range(v.count):
            pins = None
            if isinstance(v.pin, tuple):
                pins = tuple(c + k * v.vcpus for c in v.pin)
                if max(pins) >= offered:
                    raise HvkitError(f"no physical CPU {max(pins)} on a host of {offered}" + (
                        f" (copy {k} of {v.count} takes the {v.vcpus} CPUs after the one before)" if k else ""),
                        where=f"scenario VM '{v.name}'", field=f"vms.{v.name}.pin", value=",".join(map(str, v.pin)),
                        allowed=f"CPUs 0 to {offered - 1}, one per vCPU")
            if v.numa_node is not None and v.numa_node >= int(hw.opt("numa_nodes") or 1):
                raise HvkitError("no such NUMA node", where=f"scenario VM '{v.name}'", field="numa_node",
                                 value=v.numa_node, allowed=f"0 to {int(hw.opt('numa_nodes') or 1) - 1}")
            plans.append(VmPlan(name=vm_names(v)[k], workload=wl, vcpus=v.vcpus,
                                weight=v.weight, cap=v.cap, pins=pins,
                                cpu_node=v.numa_node if v.pin == "node" else None, node=v.numa_node,
                                memory_mib=v.memory_mib, vnuma=v.vnuma, measured=v.measured, group=group))
        group += 1
    measured = [p for p in plans if p.measured]
    duration = scn.duration or max(p.workload.default_duration for p in measured)
    plans_sorted = tuple(measured + [p for p in plans if not p.measured])
    host = HostPlan(smt=scn.host.smt, balloon=scn.host.balloon, page_sharing=scn.host.page_sharing,
                    scan_pages_per_s=scn.host.scan_pages_per_s)
    return Resolved(spec=spec, hw=hw, mode=mode, workload=measured[0].workload, neighbours=(), duration=duration,
                    vms=plans_sorted, host=host)


def scenario_from_spec(spec: Spec) -> Scenario:
    """The scenario a spec describes: ``vms`` identical measured VMs (and its neighbour, unmeasured)."""
    vms = [VmEntry(name="vm", workload=spec.workload, count=spec.vms, vcpus=spec.vcpus, params=dict(spec.params))]
    if spec.neighbor:
        vms.append(VmEntry(name="neighbor", workload=spec.neighbor, vcpus=spec.neighbor_vcpus, measured=False))
    host = HostKnobs(pcpus=spec.pcpus, dom0_vcpus=spec.dom0_vcpus)
    return Scenario.make(hardware=spec.hardware, hypervisor=spec.hypervisor, mode=dict(spec.mode), hw=dict(spec.hw),
                         duration=spec.duration, seed=spec.seed, engine=spec.engine, host=host, vms=vms)


#: What ``host.<knob>`` and ``vms.<name>.<field>`` reach (for error messages and the reference)
HOST_KEYS = tuple(HostKnobs.model_fields)
VM_KEYS = tuple(f for f in VmEntry.model_fields if f not in ("name", "params"))
