"""Guest workloads: what a guest does per unit of work, characterized on native.

A workload is a YAML file in ``workloads/`` (or any path a user gives),
validated like a hardware profile: unknown keys are refused and every error
names the file and the field. Per unit of work it gives instructions, system
calls, faults, page-table writes, context switches, TLB behaviour, memory
traffic, network packets and disk operations. Byte-proportional costs (copies,
checksums) are given per KiB. A workload never carries a per-mode factor: how
much it costs under a hypervisor follows from these counts and the cost model.

Kinds:

- ``cpu``: each guest thread runs units back to back (with optional disk I/O);
- ``disk``: each guest thread issues disk requests and waits for them;
- ``stream``: bulk network transfer, transmit or receive, under a TCP window;
- ``request``: clients on the far side of the NIC send requests and wait for
  the reply (closed loop), recording per-request latency.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import HvkitError, format_validation_error
from .paths import project_root
from .files import cached_load, locate, read_yaml

__all__ = ["PerUnit", "Workload", "load_workload", "list_workloads", "workloads_dir"]


class PerUnit(BaseModel):
    """Native events per unit of work."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user_instr: float = Field(0, ge=0)
    kernel_instr: float = Field(0, ge=0)
    kernel_instr_per_kb: float = Field(0, ge=0, description="kernel instructions per KiB moved (copies, checksums)")
    syscalls: float = Field(0, ge=0)
    exceptions: float = Field(0, ge=0)
    pagefaults: float = Field(0, ge=0)
    pte_writes: float = Field(0, ge=0)
    pte_batch: float = Field(1, ge=1, description="PTE writes a PV guest batches per hypercall")
    pt_pages: float = Field(0, ge=0)
    cr3_loads: float = Field(0, ge=0, description="address-space switches (process context switches)")
    ws_pages: float = Field(8, ge=0, description="pages touched after a TLB flush")
    address_spaces: float = Field(2, ge=1, description="processes whose address spaces take turns on a CPU")
    tlb_mpki: float = Field(0, ge=0, description="TLB misses per 1000 instructions with 4 KiB pages and local access")
    random_refs: float = Field(0, ge=0, description="memory references spread uniformly over the footprint")
    dram_lines: float = Field(0, ge=0, description="cache lines streamed from DRAM")
    ipis: float = Field(0, ge=0)
    net_tx_pkts: float = Field(0, ge=0)
    net_rx_pkts: float = Field(0, ge=0)
    disk_ops: float = Field(0, ge=0)
    disk_kb: float = Field(0, ge=0, description="KiB per disk operation")


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mtu: int = Field(1500, ge=256, le=9000)
    direction: Literal["tx", "rx"] = "tx"
    clients: int = Field(1, ge=1, le=4096)
    think_us: float = Field(0, ge=0)
    window_kb: float = Field(64, gt=0)
    request_bytes: float = Field(1, ge=1)
    response_bytes: float = Field(1, ge=1)
    queue_depth: int = Field(1, ge=1, le=1024)


class Workload(BaseModel):
    """A validated workload."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    description: str
    kind: Literal["cpu", "disk", "stream", "request"]
    metric: str
    unit: str
    higher_is_better: bool
    value_per_unit: float = Field(gt=0, description="metric units per unit of work (or, for time metrics, units in the whole job)")
    metric_kind: Literal["rate", "time", "latency"] = "rate"
    source: str = Field(min_length=10)
    threads_per_vcpu: int = Field(1, ge=1, le=256)
    timer_hz: float = Field(250, ge=0)
    footprint_mib: float = Field(64, gt=0)
    mlp: float = Field(4, gt=0, description="memory-level parallelism of its DRAM traffic")
    disk_random: bool = True
    disk_sync: bool = True
    default_duration: float = Field(1.0, gt=0)
    per_unit: PerUnit
    params: Params = Params()

    def with_params(self, overrides: dict) -> "Workload":
        if not overrides:
            return self
        data = self.model_dump()
        for k, v in overrides.items():
            if k in Params.model_fields:
                data["params"][k] = v
            elif k in PerUnit.model_fields:
                data["per_unit"][k] = v
            elif k in Workload.model_fields and k not in ("id", "per_unit", "params"):
                data[k] = v
            else:
                raise HvkitError("unknown workload parameter", field=f"workload.{k}", value=k,
                                 allowed=sorted(set(Params.model_fields) | set(PerUnit.model_fields)))
        return _validate(data, f"workload '{self.id}' with overrides")

    @property
    def is_io(self) -> bool:
        return self.kind in ("stream", "request", "disk")


def workloads_dir() -> Path:
    env = os.environ.get("HVKIT_WORKLOADS")
    return Path(env) if env else project_root() / "workloads"


def _validate(data, where: str) -> Workload:
    if not isinstance(data, dict):
        raise HvkitError("a workload must be a YAML mapping", where=where, value=type(data).__name__,
                         allowed="a mapping with keys " + ", ".join(Workload.model_fields))
    try:
        return Workload.model_validate(data)
    except ValidationError as exc:
        exc._hvkit_model = Workload
        raise format_validation_error(exc, where) from None


def list_workloads() -> list[Workload]:
    return [load_workload(p.stem) for p in sorted(workloads_dir().glob("*.yaml"))]


def load_workload(name_or_path) -> Workload:
    """Load a preset by id (``kernel-build``) or a user's YAML file by path."""
    return cached_load(locate(str(name_or_path), workloads_dir(), "workload"), _build)


def _build(path: Path) -> Workload:
    wl = _validate(read_yaml(path), str(path))
    if path.parent.resolve() == workloads_dir().resolve() and wl.id != path.stem:
        raise HvkitError("workload id must match its file name", where=str(path), field="id",
                         value=wl.id, allowed=path.stem)
    return wl
