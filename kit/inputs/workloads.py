"""Guest workloads: what a guest does per unit of work, characterized on native.

A workload is a YAML file in ``workloads/`` (or any path a user gives; it may
inherit another with ``base:``, :mod:`kit.inputs.inherit`), validated like a hardware profile: unknown keys are refused and every error
names the file and the field. Per unit of work it gives instructions, system
calls, faults, page-table writes, context switches, TLB behaviour, memory
traffic and disk operations. Byte-proportional costs (copies, checksums) are given
per KiB. Network packets are not counted per unit: they follow from the request and
response sizes, the MTU and TCP's rules (ACKs, handshakes) in :mod:`kit.sim.net_costs`. A workload never carries a per-mode factor: how
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
import re
from pathlib import Path
from collections.abc import Callable
from typing import Any
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import HvkitError
from .coerce import Bool, Int, Num
from .files import ID_PATTERN, cached_load, catalogue_dir, load_validated, locate, read_yaml
from .inherit import resolve_base

__all__ = ["PerUnit", "WritableSet", "Workload", "KIND_PARAMS", "load_workload", "list_workloads", "workloads_dir", "writable_set",
           "GUEST_OS_MIB", "rates", "traits", "TRAITS", "TUNABLE", "PARAMS_READ_BY", "unread_params"]


class PerUnit(BaseModel):
    """Native events per unit of work."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user_instr: Num = Field(0, ge=0, description="user-mode instructions")
    kernel_instr: Num = Field(0, ge=0, description="guest kernel instructions")
    kernel_instr_per_kb: Num = Field(0, ge=0, description="kernel instructions per KiB moved (copies, checksums)")
    syscalls: Num = Field(0, ge=0, description="system calls")
    exceptions: Num = Field(0, ge=0, description="exceptions the guest kernel handles (not page faults)")
    pagefaults: Num = Field(0, ge=0, description="demand page faults")
    pte_writes: Num = Field(0, ge=0, description="page-table entry writes outside the fault path")
    pte_batch: Num = Field(1, ge=1, description="PTE writes a PV guest batches per hypercall")
    pt_pages: Num = Field(0, ge=0, description="page-table pages created or torn down")
    cr3_loads: Num = Field(0, ge=0, description="address-space switches (process context switches)")
    ws_pages: Num = Field(8, ge=0, description="pages touched after a TLB flush")
    address_spaces: Num = Field(2, ge=1, description="processes whose address spaces take turns on a CPU")
    tlb_mpki: Num = Field(0, ge=0, description="TLB misses per 1000 instructions with 4 KiB pages and local access")
    random_refs: Num = Field(0, ge=0, description="memory references spread uniformly over the footprint")
    dram_lines: Num = Field(0, ge=0, description="cache lines streamed from DRAM")
    ipis: Num = Field(0, ge=0, description="inter-processor interrupts sent")
    disk_ops: Num = Field(0, ge=0, description="disk requests")
    disk_kb: Num = Field(0, ge=0, description="KiB per disk operation")
    connections: Num = Field(0, ge=0, description="TCP connections opened per unit (NAT tracks each new one)")
    copy_up_kb: Num = Field(0, ge=0, description="KiB of image files first written per unit (an overlay copies them up)")
    spinlocks: Num = Field(0, ge=0, description="guest kernel spinlock acquisitions (their instructions are in "
                                                "kernel_instr; what a preempted holder costs is kit.sim.locks')")
    tlb_shootdowns: Num = Field(0, ge=0, description="synchronous TLB-shootdown IPIs among ipis, each waited for by "
                                                     "its sender until every target vCPU has flushed")
    llc_refs: Num = Field(0, ge=0, description="references that miss the private caches and hit the last-level cache "
                                               "when cache_mib fits in it")

    @model_validator(mode="after")
    def _a_unit_is_work(self) -> "PerUnit":
        if self.user_instr + self.kernel_instr <= 0:
            raise ValueError("a unit of work executes instructions: user_instr or kernel_instr must be above 0 (the "
                             "other counts are per unit of that work)")
        return self

    @model_validator(mode="after")
    def _shootdowns_are_ipis(self) -> "PerUnit":
        if self.tlb_shootdowns > self.ipis:
            raise ValueError("tlb_shootdowns are the synchronous ones among ipis: at most ipis")
        return self


class WritableSet(BaseModel):
    """How a workload writes memory: the writable working set that live migration has to chase.

    Per unit of work the guest writes ``pages_per_unit`` pages, in three classes (Clark et al., NSDI 2005,
    section 4.1, measure a writable working set as the distinct pages written in windows of increasing length:
    a hot set written again and again, and pages written once in a while): a share ``hot_fraction`` lands anywhere
    in a hot set of ``hot_mib`` rewritten continually (stacks, allocator metadata, socket buffers, recycled page
    frames, game state); a share ``sweep_fraction`` advances through a region in order, each write the next page
    (a log's tail, the page cache taking its oldest page for new file data, a buffer rewritten end to end), a region
    of ``sweep_mib`` (default: the footprint beyond the hot set); the rest lands anywhere in the workload's footprint.
    ``touched_per_written`` pages are read or written per page written (post-copy faults on reads as well).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    pages_per_unit: Num = Field(ge=0, description="4 KiB pages written per unit of work")
    hot_mib: Num = Field(ge=0, description="MiB of pages rewritten continually")
    hot_fraction: Num = Field(ge=0, le=1, description="share of the page writes that land in the hot set")
    sweep_fraction: Num = Field(0, ge=0, le=1, description="share of the page writes that advance through a region "
                                                          "in order, each the next page")
    sweep_mib: Num | None = Field(None, gt=0, description="MiB of the region the ordered writes cycle through "
                                                          "(default: the footprint beyond the hot set)")
    touched_per_written: Num = Field(3, ge=1, description="pages read or written per page written")
    source: str = Field(min_length=10, description="where the writable set comes from (citation or estimate)")

    @model_validator(mode="after")
    def _shares(self) -> "WritableSet":
        if self.hot_fraction + self.sweep_fraction > 1.0 + 1e-9:
            raise ValueError("hot_fraction + sweep_fraction is the share of writes in the hot set or in order: "
                             "at most 1")
        return self


class Params(BaseModel):
    """Network, client and queue parameters of a workload."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mtu: Int = Field(1500, ge=256, le=9000, description="network MTU (bytes)")
    direction: Literal["tx", "rx"] = Field("tx", description="stream kind: the guest transmits or receives")
    clients: Int = Field(1, ge=1, le=4096, description="request kind: closed-loop clients")
    think_us: Num = Field(0, ge=0, description="request kind: mean think time between a client's requests (us)")
    window_kb: Num = Field(64, gt=0, description="stream kind: TCP window (KiB)")
    streams: Int = Field(1, ge=1, le=128, description="stream kind: parallel TCP streams, each with its own window "
                                                      "(iperf3 -P)")
    request_bytes: Num = Field(1, ge=1, description="request kind: bytes per request")
    response_bytes: Num = Field(1, ge=1, description="request kind: bytes per response")
    queue_depth: Int = Field(1, ge=1, le=1024, description="disk kind: requests in flight")
    connection_per_request: Bool = Field(False, description="a new TCP connection per request (handshake and close)")


#: The parameters each kind of workload reads (kit.sim: the drivers, the network and disk costs); the others are
#: defaults that do nothing for it.
KIND_PARAMS: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "disk": ("queue_depth",),
    "stream": ("mtu", "direction", "window_kb", "streams"),
    "request": ("mtu", "clients", "think_us", "request_bytes", "response_bytes", "connection_per_request"),
}


class Workload(BaseModel):
    """A validated workload."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN, description="the workload's id (its file name in workloads/)")
    name: str = Field(description="the benchmark, as a person names it")
    description: str = Field(description="what one unit of work is, in a paragraph")
    kind: Literal["cpu", "disk", "stream", "request"] = Field(
        description="how it runs: CPU-bound threads, disk requests, a bulk network stream, or request/response clients")
    metric: str = Field(description="what the benchmark reports")
    unit: str = Field(description="the metric's unit")
    higher_is_better: Bool = Field(description="whether a larger metric is better")
    value_per_unit: Num = Field(gt=0, description="metric units per unit of work (or, for time metrics, units in the whole job)")
    metric_kind: Literal["rate", "time", "latency"] = Field("rate", description="a rate of units, or the time of a job")
    source: str = Field(min_length=10, description="where the characterization comes from (citation or 'estimated, because')")
    threads_per_vcpu: Int = Field(1, ge=1, le=256, description="guest threads per vCPU (CPU-bound kind)")
    timer_hz: Num = Field(250, ge=0, description="guest timer interrupts per second while busy")
    footprint_mib: Num = Field(64, gt=0, description="memory the workload touches (MiB)")
    mlp: Num = Field(4, gt=0, description="memory-level parallelism of its DRAM traffic")
    disk_random: Bool = Field(True, description="disk requests pay a positioning time")
    disk_sync: Bool = Field(True, description="the thread waits for each disk request (else write-back)")
    kernel_call_density: Num = Field(0.02, gt=0, le=0.5, description="call/return pairs per kernel instruction (binary translation pays a lookup per translated return; TCG leaves its chained code); the default is estimated, because Linux kernel paths execute a call/return pair or an indirect branch every 40-60 instructions")
    default_duration: Num = Field(1.0, gt=0, description="simulated seconds when the spec gives none")
    per_unit: PerUnit = Field(description="native events per unit of work")
    params: Params = Field(default_factory=Params, description="network and client parameters")
    writable: WritableSet | None = Field(None, description="the writable working set (default: derived, see writable_set)")
    lock_hold_cycles: Num = Field(0, ge=0, description="mean native cycles a spinlock is held (critical section)")
    lock_hot_share: Num = Field(0, ge=0, le=1, description="share of spinlock acquisitions on locks every vCPU of "
                                                           "the VM takes (the chance a waiter wants a preempted "
                                                           "holder's lock)")
    cache_mib: Num = Field(0, ge=0, description="cache-sensitive working set (MiB) that llc_refs touch uniformly")
    thp_share: Num = Field(0, ge=0, le=1, description="share of its TLB misses in large anonymous regions (heaps, "
                                                     "arrays, tables) that a Linux with transparent huge pages "
                                                     "backs with 2 MiB pages, natively as in a guest; the rest "
                                                     "(code, page cache, small allocations) keeps 4 KiB pages")
    shared_refs: Num = Field(0, ge=0, le=1, description="share of its DRAM references (random_refs, dram_lines) that "
                                                        "go to memory all its threads share, such as one table "
                                                        "updated at random, rather than to each thread's own data: "
                                                        "on a host with several memory nodes they go to every node "
                                                        "the memory is on, natively as in a VM")
    share_fraction: Num = Field(0, ge=0, le=1, description="share of the VM's memory that content-based page "
                                                           "sharing can merge with other VMs (zero pages, kernel "
                                                           "and library text, identical data)")
    #: where each per-unit count and parameter comes from: a published profile, a native measurement, or
    #: "estimated, because ..." (keys are per_unit and params field names)
    provenance: dict[str, str] = Field(default_factory=dict, description="where each per-unit count and parameter "
                                                                        "comes from (keys: their field names)")

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
            if k.startswith("writable.") and k[9:] in WritableSet.model_fields and k[9:] != "source":
                if data["writable"] is None:  # start from the derived set, then say the value was set
                    data["writable"] = writable_set(self).model_dump()
                data["writable"][k[9:]] = v
                data["writable"]["source"] = "override given by the user"
            elif k in Params.model_fields:
                data["params"][k] = v
            elif k in PerUnit.model_fields:
                data["per_unit"][k] = v
            elif k in TUNABLE:
                data[k] = v
            else:
                why = ("is what the workload was characterized as, not a setting" if k in Workload.model_fields
                       else "unknown workload parameter")
                raise HvkitError(why, field=f"workload.{k}", value=k,
                                 allowed=sorted(set(Params.model_fields) | set(PerUnit.model_fields) | TUNABLE
                                                | {f"writable.{f}" for f in WritableSet.model_fields if f != "source"}))
        try:
            out = _validate(data, f"workload '{self.id}' with overrides")
        except HvkitError as exc:  # name the field as the override spelt it: workload.<name>
            field = re.sub(r"^(params|per_unit)\.", "", exc.field or "")
            raise exc.renamed(f"workload.{field}" if field else None,
                              f"workload '{self.id}' with --set overrides") from None
        for name in unread_params(out):
            if name in overrides:
                raise _unread_error(out, name, f"workload '{self.id}' with --set overrides", f"workload.{name}")
        return out


#: Which kinds of workload read each network, client and queue parameter: a parameter set on a workload of another
#: kind would change nothing, so it is refused rather than silently ignored (kit.sim.drivers, kit.sim.net_costs)
#: Each parameter's readers: the kinds of :data:`KIND_PARAMS` that read it (one table, seen from the parameter)
PARAMS_READ_BY: dict[str, tuple[str, ...]] = {
    name: tuple(kind for kind, read in KIND_PARAMS.items() if name in read)
    for name in sorted({n for read in KIND_PARAMS.values() for n in read})}


def unread_params(wl: "Workload") -> list[str]:
    """The parameters a workload sets that its kind never reads (:data:`PARAMS_READ_BY`)."""
    return [k for k in sorted(wl.params.model_fields_set) if wl.kind not in PARAMS_READ_BY.get(k, ())]


def _unread_error(wl: "Workload", name: str, where: str, field: str) -> HvkitError:
    kinds = " and ".join(PARAMS_READ_BY[name])
    return HvkitError(f"a {wl.kind} workload does not read {name} (only {kinds} workloads do), so setting it would "
                      f"change nothing", where=where, field=field, value=getattr(wl.params, name),
                      allowed=[k for k, read in PARAMS_READ_BY.items() if wl.kind in read] or "none for this kind")


#: Workload fields a ``--set workload.<name>`` may change (besides ``params`` and ``per_unit``): how the
#: guest runs, never what it is (its kind, metric and identity are fixed by its characterization).
TUNABLE = frozenset({"threads_per_vcpu", "timer_hz", "footprint_mib", "mlp", "disk_random", "disk_sync",
                     "kernel_call_density", "default_duration", "lock_hold_cycles", "lock_hot_share", "cache_mib",
                     "share_fraction", "thp_share"})


#: Memory a guest OS and its daemons occupy besides the workload's footprint.
GUEST_OS_MIB = (64, "estimated, because a minimal Linux server guest (kernel, page tables, init, sshd, logging) "
                    "resides in a few tens of MiB; plausible 32-256 because a guest OS resides in anything from a minimal server's few tens of MiB to a distribution's default install")
#: Pages a unit writes besides its faults and I/O buffers (its stack and allocator metadata).
BASE_PAGES_PER_UNIT = (2, "estimated, because a unit of work writes at least its stack and a heap or slab page; plausible 1-4 because a unit writes at least its stack page and at most a few pages of allocator and slab metadata")
#: Hot set of a workload that does not declare one.
DEFAULT_HOT_MIB = (4, "estimated, because stacks, allocator metadata and per-CPU kernel data of a process are a few "
                      "MiB rewritten continually; plausible 1-16 because a process's continually rewritten data ranges from about 1 MiB to tens of MiB")
#: Why the frames a steady workload faults in are the ones it freed last.
FRAME_RECYCLING = ("Linux mm/page_alloc.c (2.6): a freed page goes to the head of its CPU's page list "
                   "(free_hot_cold_page) and an allocation takes the head (buffered_rmqueue), so frames freed and "
                   "faulted in again, as a workload in a steady state does, are the same few, last in, first out")
#: Why file data written or read into the page cache advances through memory in order.
PAGE_CACHE_ORDER = ("Gorman, Understanding the Linux Virtual Memory Manager (2004), chapter 10: page reclaim takes "
                    "pages from the tail of the inactive LRU list, so the page cache holds new file data in the "
                    "frames it used longest ago, a cycle through the memory it occupies")
#: Share of random memory references and of streamed cache lines that are stores.
STORE_SHARE = (0.5, "estimated, because a random-update kernel (HPCC RandomAccess) reads and writes each word it "
                    "touches and STREAM's kernels store one array for every one or two they load; plausible 0.3-0.7 because kernels that read more than they write (a sum) and update kernels (RandomAccess) bound it")


def writable_set(wl: Workload) -> WritableSet:
    """The workload's writable working set: the one it declares, or one derived from its per-unit counts.

    Derived: a unit writes its stack and allocator metadata (:data:`BASE_PAGES_PER_UNIT`), its network buffers
    (payload / 4 KiB) and the pages its demand faults fill, which the kernel and the allocator recycle (a workload
    in a steady state frees as many pages as it faults in, and the allocator hands out the frames freed last,
    :data:`FRAME_RECYCLING`), so they land in a hot set of :data:`DEFAULT_HOT_MIB` and the frames the faults of
    the units under way hold (one unit per thread of a vCPU; never more than the footprint); its disk buffers go through the page cache, which takes its least recently used page for new file
    data (:data:`PAGE_CACHE_ORDER`), and the stores among its streamed lines (:data:`STORE_SHARE`) go through its
    arrays in order, so both advance through the footprint in order; the stores among its random references land
    anywhere in its footprint.
    """
    if wl.writable is not None:
        return wl.writable
    u, p = wl.per_unit, wl.params
    if wl.kind == "request":
        net_bytes = p.request_bytes + p.response_bytes
    elif wl.kind == "stream":
        net_bytes = max(1.0, p.mtu - 52.0)
    else:
        net_bytes = 0.0
    hot = BASE_PAGES_PER_UNIT[0] + net_bytes / 4096.0 + u.pagefaults
    sweep = u.disk_ops * u.disk_kb / 4.0 + STORE_SHARE[0] * u.dram_lines * 64.0 / 4096.0
    spread = STORE_SHARE[0] * u.random_refs
    total = hot + sweep + spread
    # the frames in rotation: a few MiB of the process, and the frames of the faults of the units under way
    rotating = DEFAULT_HOT_MIB[0] + u.pagefaults * wl.threads_per_vcpu / 256.0
    return WritableSet(pages_per_unit=total, hot_mib=min(rotating, wl.footprint_mib),
                       hot_fraction=hot / total, sweep_fraction=sweep / total,
                       source="derived: stack, network buffers and faulted-in frames (hot), disk buffers through "
                              "the page cache and streamed stores (in order), random stores (anywhere) per unit "
                              "(kit.inputs.workloads.writable_set)")


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
    data, _ = resolve_base(read_yaml(path), path, workloads_dir(), "workload")
    wl = _validate(data, str(path))
    for name in unread_params(wl):
        raise _unread_error(wl, name, str(path), f"params.{name}")
    if path.parent.resolve() == workloads_dir().resolve() and wl.id != path.stem:
        raise HvkitError("workload id must match its file name", where=str(path), field="id",
                         value=wl.id, allowed=path.stem)
    return wl


# ---- finding workloads by character -------------------------------------------------------------------------

def rates(wl: Workload) -> dict[str, float]:
    """A workload's events per 1,000 instructions (and its kernel share), to compare workloads at a glance."""
    u = wl.per_unit
    instr = u.user_instr + u.kernel_instr
    per_ki = 1000.0 / instr if instr else 0.0
    return {"tlb_mpki": u.tlb_mpki, "random_refs_pki": u.random_refs * per_ki, "dram_lines_pki": u.dram_lines * per_ki,
            "syscalls_pki": u.syscalls * per_ki, "pt_updates_pki": (u.pte_writes + u.pagefaults) * per_ki,
            "cr3_loads_pki": u.cr3_loads * per_ki, "kernel_share": u.kernel_instr / instr if instr else 0.0,
            "disk_ops_per_unit": u.disk_ops}


#: Traits a researcher searches by, each with the rule that grants it. The thresholds are labels for finding
#: workloads, not model parameters: they split the presets where their virtualization costs differ in kind
#: (a TLB miss rate of 2 per kilo-instruction makes 2-D walks visible; 0.1 system calls per kilo-instruction
#: makes 64-bit PV's syscall bounce visible; a page-table update per 100 kilo-instructions makes shadow paging's
#: write faults visible).
TRAITS: dict[str, tuple[str, Callable[[Workload, dict[str, float]], bool]]] = {
    "tlb-heavy": ("TLB misses dominate (2-D page walks matter)",
                  lambda w, r: r["tlb_mpki"] >= 2 or r["random_refs_pki"] >= 1),
    "memory-bound": ("DRAM traffic dominates", lambda w, r: r["dram_lines_pki"] >= 1 or r["random_refs_pki"] >= 1),
    "syscall-heavy": ("many system calls per instruction", lambda w, r: r["syscalls_pki"] >= 0.1),
    "kernel-heavy": ("most instructions run in the guest kernel", lambda w, r: r["kernel_share"] >= 0.5),
    "page-table-heavy": ("frequent page-table updates or address-space switches (shadow paging matters)",
                         lambda w, r: r["pt_updates_pki"] >= 0.01 or r["cr3_loads_pki"] >= 0.005),
    "io-heavy": ("network or disk I/O on every unit (the I/O path matters)",
                 lambda w, r: w.kind != "cpu" or r["disk_ops_per_unit"] >= 0.5),
    "cpu-bound": ("compute in user mode, little kernel or I/O",
                  lambda w, r: w.kind == "cpu" and r["kernel_share"] < 0.1 and r["disk_ops_per_unit"] == 0),
}


def traits(wl: Workload) -> list[str]:
    """The :data:`TRAITS` a workload has."""
    r = rates(wl)
    return [name for name, (_, rule) in TRAITS.items() if rule(wl, r)]
