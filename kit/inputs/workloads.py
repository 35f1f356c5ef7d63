"""Guest workloads: what a guest does per unit of work, characterized on native.

A workload is a YAML file in ``workloads/`` (or any path a user gives),
validated like a hardware profile: unknown keys are refused and every error
names the file and the field. Per unit of work it gives instructions, system
calls, faults, page-table writes, context switches, TLB behaviour, memory
traffic and disk operations. Byte-proportional costs (copies, checksums) are given
per KiB. Network packets are not counted per unit: they follow from the request and
response sizes, the MTU and TCP's rules (ACKs, handshakes) in :mod:`kit.sim.costing`. A workload never carries a per-mode factor: how
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
from typing import Any
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import HvkitError
from .coerce import Bool, Int, Num
from .files import ID_PATTERN, cached_load, catalogue_dir, load_validated, locate, read_yaml

__all__ = ["PerUnit", "Workload", "load_workload", "list_workloads", "workloads_dir"]


class PerUnit(BaseModel):
    """Native events per unit of work."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user_instr: Num = Field(0, ge=0)
    kernel_instr: Num = Field(0, ge=0)
    kernel_instr_per_kb: Num = Field(0, ge=0, description="kernel instructions per KiB moved (copies, checksums)")
    syscalls: Num = Field(0, ge=0)
    exceptions: Num = Field(0, ge=0)
    pagefaults: Num = Field(0, ge=0)
    pte_writes: Num = Field(0, ge=0)
    pte_batch: Num = Field(1, ge=1, description="PTE writes a PV guest batches per hypercall")
    pt_pages: Num = Field(0, ge=0)
    cr3_loads: Num = Field(0, ge=0, description="address-space switches (process context switches)")
    ws_pages: Num = Field(8, ge=0, description="pages touched after a TLB flush")
    address_spaces: Num = Field(2, ge=1, description="processes whose address spaces take turns on a CPU")
    tlb_mpki: Num = Field(0, ge=0, description="TLB misses per 1000 instructions with 4 KiB pages and local access")
    random_refs: Num = Field(0, ge=0, description="memory references spread uniformly over the footprint")
    dram_lines: Num = Field(0, ge=0, description="cache lines streamed from DRAM")
    ipis: Num = Field(0, ge=0)
    disk_ops: Num = Field(0, ge=0)
    disk_kb: Num = Field(0, ge=0, description="KiB per disk operation")


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mtu: Int = Field(1500, ge=256, le=9000)
    direction: Literal["tx", "rx"] = "tx"
    clients: Int = Field(1, ge=1, le=4096)
    think_us: Num = Field(0, ge=0)
    window_kb: Num = Field(64, gt=0)
    request_bytes: Num = Field(1, ge=1)
    response_bytes: Num = Field(1, ge=1)
    queue_depth: Int = Field(1, ge=1, le=1024)
    connection_per_request: Bool = Field(False, description="a new TCP connection per request (handshake and close)")


class Workload(BaseModel):
    """A validated workload."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str
    kind: Literal["cpu", "disk", "stream", "request"]
    metric: str
    unit: str
    higher_is_better: Bool
    value_per_unit: Num = Field(gt=0, description="metric units per unit of work (or, for time metrics, units in the whole job)")
    metric_kind: Literal["rate", "time", "latency"] = "rate"
    source: str = Field(min_length=10)
    threads_per_vcpu: Int = Field(1, ge=1, le=256)
    timer_hz: Num = Field(250, ge=0)
    footprint_mib: Num = Field(64, gt=0)
    mlp: Num = Field(4, gt=0, description="memory-level parallelism of its DRAM traffic")
    disk_random: Bool = True
    disk_sync: Bool = True
    kernel_call_density: Num = Field(0.02, gt=0, le=0.5, description="call/return pairs per kernel instruction (binary translation pays a lookup per translated return; TCG leaves its chained code); the default is estimated, because Linux kernel paths execute a call/return pair or an indirect branch every 40-60 instructions")
    default_duration: Num = Field(1.0, gt=0)
    per_unit: PerUnit
    params: Params = Params()
    #: where each per-unit count and parameter comes from: a published profile, a native measurement, or
    #: "estimated, because ..." (keys are per_unit and params field names)
    provenance: dict[str, str] = Field(default_factory=dict)

    @field_validator("provenance")
    @classmethod
    def _provenance(cls, p: dict[str, str]) -> dict[str, str]:
        known = set(PerUnit.model_fields) | set(Params.model_fields)
        for key, text in p.items():
            if key not in known:
                raise ValueError(f"provenance for an unknown field {key!r}; known: {sorted(known)}")
            low = text.strip().lower()
            if len(low) < 10 or (low.startswith("estimated") and "because" not in low):
                raise ValueError(f"provenance of {key!r} must cite a source or say 'estimated, because ...'")
        return p

    def unsourced(self) -> list[str]:
        """Per-unit counts and parameters the YAML sets without saying where they come from."""
        given = set(self.per_unit.model_fields_set) | set(self.params.model_fields_set)
        return sorted(given - set(self.provenance))

    def with_params(self, overrides: dict) -> "Workload":
        if not overrides:
            return self
        data = self.model_dump()
        for k, v in overrides.items():
            if k in Params.model_fields:
                data["params"][k] = v
            elif k in PerUnit.model_fields:
                data["per_unit"][k] = v
            elif k in TUNABLE:
                data[k] = v
            else:
                why = ("is what the workload was characterized as, not a setting" if k in Workload.model_fields
                       else "unknown workload parameter")
                raise HvkitError(why, field=f"workload.{k}", value=k,
                                 allowed=sorted(set(Params.model_fields) | set(PerUnit.model_fields) | TUNABLE))
        return _validate(data, f"workload '{self.id}' with overrides")


#: Workload fields a ``--set workload.<name>`` may change (besides ``params`` and ``per_unit``): how the
#: guest runs, never what it is (its kind, metric and identity are fixed by its characterization).
TUNABLE = frozenset({"threads_per_vcpu", "timer_hz", "footprint_mib", "mlp", "disk_random", "disk_sync", "kernel_call_density",
                     "default_duration"})


def workloads_dir() -> Path:
    """Where the workload presets live (``workloads/`` under the project root; ``$HVKIT_ROOT`` moves it)."""
    return catalogue_dir("workloads")


def _validate(data: Any, where: str) -> Workload:
    return load_validated(data, Workload, where, "a workload")


def list_workloads() -> list[Workload]:
    return [load_workload(p.stem) for p in sorted(workloads_dir().glob("*.yaml"))]


def load_workload(name_or_path: str | os.PathLike[str]) -> Workload:
    """Load a preset by id (``kernel-build``) or a user's YAML file by path."""
    return cached_load(locate(str(name_or_path), workloads_dir(), "workload"), _build)


def _build(path: Path) -> Workload:
    wl = _validate(read_yaml(path), str(path))
    if path.parent.resolve() == workloads_dir().resolve() and wl.id != path.stem:
        raise HvkitError("workload id must match its file name", where=str(path), field="id",
                         value=wl.id, allowed=path.stem)
    return wl
