"""Which engine runs a host, and what decides it: the closed form, the hybrid engine's fluid scheduler, or the
discrete scheduler.

The answer is a function of the resolved spec (:class:`~kit.inputs.resolve.Resolved`): whether the host's entities
(vCPUs, backend threads) contend for CPUs (:func:`contended`, :func:`contended_plans`), whether a guest blocks or
faults while they do, whether the policy's outcomes depend on slice boundaries or guest synchronization needs them
(:func:`engine_for`); and whether nothing contends and nothing waits, so that the run is a closed form
(:func:`has_closed_form`).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..inputs.parts import backend_named
from ..inputs.resolve import Resolved, VmPlan
from ..inputs.spec import Spec
from . import drivers
from .fluid import FluidScheduler
from .locks import needs_slices
from .mode_costs import Costing, costing_for
from .numa import Topology
from .overcommit import MemoryPlan, plan_memory
from .policies import Policy, policy_for
from .scheduler import Scheduler

__all__ = ["EngineChoice", "engine_for", "scheduler_for", "contended", "contended_plans", "vcpus_contended",
           "has_closed_form", "plain_closed_form", "has_request_paths", "memory_plan", "run_host", "PATH_KINDS",
           "MAX_CONTENTION_STATES"]

#: Workload kinds whose request and I/O paths the hybrid engine evaluates as queues (:mod:`kit.sim.request_paths`)
PATH_KINDS = frozenset({"request", "disk"})
#: Most combinations of active vCPUs per class for which the memory system's effects are checked to be nil
MAX_CONTENTION_STATES = 512


def _backends(costs: list[Costing]) -> tuple[set[str], set[tuple[int, str]]]:
    """The backends the VMs of ``costs`` use: the shared ones by name, the per-VM ones by (VM, name)."""
    shared: set[str] = set()
    per_vm: set[tuple[int, str]] = set()
    for vm, cost in enumerate(costs):
        for what in ("net", "disk"):
            name = cost.backend_name(what)
            if name is None:
                continue
            if backend_named(name).shared:
                shared.add(name)
            else:
                per_vm.add((vm, name))
    return shared, per_vm


def contended(spec: Spec, pcpus: int, costs: list[Costing]) -> bool:
    """Whether two entities of the host (vCPUs, backend threads) may ever want the same physical CPU.

    ``costs`` holds the costing of each VM (the measured ones, then the neighbour), which names its backends.
    Entities are counted as :class:`Host` creates them: with pinning, per physical CPU; otherwise per host.
    """
    n = max(1, pcpus)
    pins = [i * spec.vcpus + j for i in range(spec.vms) for j in range(spec.vcpus)]
    if len(costs) > spec.vms:  # the neighbour
        pins += [spec.vms * spec.vcpus + j for j in range(spec.neighbor_vcpus)]
    shared, per_vm = _backends(costs)
    for name in shared:
        k = backend_named(name).threads(spec)
        pins += [n - k + t for t in range(k)]
    pins += [(spec.vms * spec.vcpus + vm) % n for vm, _ in per_vm]
    if not spec.pin:
        return len(pins) > n
    per_cpu: dict[int, int] = {}
    for p in pins:
        per_cpu[p % n] = per_cpu.get(p % n, 0) + 1
    return max(per_cpu.values()) > 1


def contended_plans(plans: tuple[VmPlan, ...], costs: list[Costing], partition: list[tuple[int, ...]],
                    pools: list[list[int]], backend_pool: int, spec: Spec) -> bool:
    """:func:`contended` for a partitioned host: entities per pool against the pool's CPUs (``pools`` gives the
    pool of each vCPU of each plan)."""
    count = [0] * len(partition)
    for per_vcpu in pools:
        for p in per_vcpu:
            count[p] += 1
    shared, per_vm = _backends(costs)
    count[backend_pool] += len(per_vm)
    for name in shared:
        count[backend_pool] += backend_named(name).threads(spec)
    return any(c > len(cpus) for c, cpus in zip(count, partition))


def vcpus_contended(resolved: Resolved) -> bool:
    """Whether the host's entities that will want CPU time contend: the VMs' vCPUs, and the backends only where a
    workload does I/O (a CPU-bound guest's backends stay idle)."""
    spec, hw, plans = resolved.spec, resolved.hw, resolved.plans
    pcpus = spec.pcpus or hw.pcpus
    io = any(p.workload.kind != "cpu" or p.workload.per_unit.disk_ops for p in plans)
    if io:
        costs = [costing_for(hw, resolved.mode, p.workload) for p in plans]
        if not resolved.vms:
            return contended(spec, pcpus, costs)
    if any(p.pins is not None or p.cpu_node is not None for p in plans):
        per_cpu: dict[int, int] = {}
        for p in plans:
            for c in p.pins or ():
                per_cpu[c % pcpus] = per_cpu.get(c % pcpus, 0) + 1
        if any(v > 1 for v in per_cpu.values()):
            return True
    return sum(p.vcpus for p in plans) + (spec.dom0_vcpus + 2 * len(plans) if io else 0) > pcpus


def has_closed_form(resolved: Resolved, trace_s: float = 0.0) -> bool:
    """Whether the run's answer is a closed form: nothing contends and nothing waits.

    CPU-bound guests without I/O (so backends and devices stay idle and vCPUs never sleep), no cap, no neighbour,
    and a physical CPU for every vCPU: each vCPU then runs its units back to back at full speed for the whole
    duration, and the expected result is the unit's cost times the number of units that fit (``Host.closed_form``,
    which adds what co-runners cost each other through the memory system, a constant while all of them run).
    Host memory must hold every VM (no page faults to wait for).
    """
    spec, wl = resolved.spec, resolved.workload
    if spec.engine != "hybrid" or trace_s > 0 or resolved.neighbours:
        return False
    plans = resolved.plans
    if any(not p.measured or p.workload is not wl or p.cap > 0 for p in plans):
        return False
    if wl.kind != "cpu" or wl.per_unit.disk_ops or (spec.caps and any(c > 0 for c in spec.caps)):
        return False
    if policy_for(resolved.mode.scheduler).requires_slices():
        return False
    if needs_slices(resolved.mode, plans, vcpus_contended(resolved)):
        return False
    if sum(p.vcpus for p in plans) > (spec.pcpus or resolved.hw.pcpus):
        return False
    if any(p.pins is not None or p.cpu_node is not None for p in plans) and resolved.vms:
        return False
    return not memory_plan(resolved).pressure and not resolved.host.page_sharing


def has_request_paths(resolved: Resolved, trace_s: float = 0.0, contention: Any = None,
                      counts: Sequence[int] = ()) -> bool:
    """Whether the run's request and I/O paths are a network of first-come first-served queues, evaluated without
    events (:mod:`kit.sim.request_paths`): no two entities ever want the same physical CPU, so a runner's entities
    take its items in order as soon as they are free, and what the run measures depends on nothing else.

    Every VM runs a request or disk workload (their vCPUs sleep and wake; the drivers' processes are the paths), the
    host's entities do not contend (:func:`contended`: vCPUs and the backend threads their I/O uses, counted as the
    host creates them), no cap and no policy that needs slices, host memory holds every VM (no page faults, no
    page sharing, no scanner), VMs are not placed on partitions, and the memory system's co-runner effects are nil
    in every combination of active vCPUs (``contention``, the host's :class:`~kit.sim.memory.Contention`, with
    ``counts`` vCPUs of each class; checked for up to ``MAX_CONTENTION_STATES`` combinations).
    """
    spec = resolved.spec
    if spec.engine != "hybrid" or trace_s > 0:
        return False
    plans = resolved.plans
    if any(p.workload.kind not in PATH_KINDS or p.cap > 0 for p in plans) or any(c > 0 for c in spec.caps or ()):
        return False
    if any(p.pins is not None or p.cpu_node is not None for p in plans) and resolved.vms:
        return False
    if policy_for(resolved.mode.scheduler).requires_slices():
        return False
    hw, mode = resolved.hw, resolved.mode
    costs = [costing_for(hw, mode, p.workload) for p in plans]
    if any(p.workload.kind == "disk" or p.workload.per_unit.disk_ops > 0 for p in plans) and not _plain_disk(
            resolved, costs):
        return False
    if (hw.opt("nic_rx_usecs") or 0.0) > 0 and any(p.workload.kind == "request" for p in plans) and (
            not hw.features.adaptive_moderation):
        # the queueing path follows adaptive moderation, whose interrupts all VMs' requests share (frames released
        # by one interrupt reach their backends in the order they were booked, where events take them in the order
        # the interrupt's callbacks run: a tie, tests/test_equivalence.py); a static timer it does not replicate
        return False
    pcpus = spec.pcpus or hw.pcpus
    busy = contended(spec, pcpus, costs) if not resolved.vms else contended_plans(
        plans, costs, [tuple(range(pcpus))], [[0] * p.vcpus for p in plans], 0, spec)
    if busy:
        return False
    memory = memory_plan(resolved)
    if memory.pressure or resolved.host.page_sharing or memory.scan_pages_per_s > 0:
        return False
    if any(sum(m.faults_per_unit()) > 0 or m.cow_per_unit() > 0 for m in memory.vms):
        return False
    return contention is None or _nil(contention, counts)


def _plain_disk(resolved: Resolved, costs: list[Costing]) -> bool:
    """Whether the host's disk requests go straight to the device, as the queueing path's disk station takes them:
    a driver domain's blkback that takes its frontends in turns (:class:`kit.sim.devices.BlkbackDispatch`) it does
    not replicate, nor a backend that waits for the device in its thread (:meth:`kit.sim.host.Runner.blocking`)
    while another request of its VM may want that thread. A device of several servers sharing its link
    (:meth:`kit.sim.devices.Device.book_request`'s calendar) the queueing path books as the device does."""
    mode = resolved.mode
    if mode.io_part.split_driver and not mode.arch_part.drives_devices:
        return False
    for p, cost in zip(resolved.plans, costs):
        name = cost.backend_name("disk")
        if name is not None and backend_named(name).blocks_on_disk and _requests_per_vm(p) > 1:
            return False
    return True


def _requests_per_vm(plan: VmPlan) -> int:
    """The most requests one VM of ``plan`` may have under way: a disk workload's queue depth, a request
    workload's clients (shared by the VMs of its group; counted whole, an upper bound)."""
    params = plan.workload.params
    return int(params.queue_depth if plan.workload.kind == "disk" else params.clients)


def _nil(contention: Any, counts: Sequence[int]) -> bool:
    """Whether the memory system adds nothing to any unit whatever subset of the ``counts`` vCPUs is active."""
    states = 1
    for c in counts:
        states *= c + 1
    if states > MAX_CONTENTION_STATES:
        return False
    return all(x == 0.0 for active in itertools.product(*(range(c + 1) for c in counts))
               for level in contention.steady_extras(list(active)) for x in level)


def plain_closed_form(resolved: Resolved) -> bool:
    """Whether the closed form is the unit's cost alone: no co-runner effect through the memory system (the bulk
    path of sweeps computes only that one, :func:`kit.run.closed_form_metrics`)."""
    if not has_closed_form(resolved):
        return False
    plans = resolved.plans
    n = sum(p.vcpus for p in plans)
    wl = resolved.workload
    memory = wl.per_unit.random_refs + wl.per_unit.dram_lines > 0 or wl.per_unit.llc_refs > 0
    top = Topology(resolved.hw, resolved.spec.pcpus or resolved.hw.pcpus, resolved.host.smt)
    offered_cores = len({(c.socket, c.core) for c in top.cpus[:n]}) if n else 0
    paired = n > offered_cores and resolved.hw.opt("smt_yield") is not None
    return n <= 1 or not (memory or paired or _spans_nodes(resolved, top))


def _spans_nodes(resolved: Resolved, top: Topology) -> bool:
    if top.nodes <= 1 or resolved.mode.is_native:
        return False
    per_node = len(top.cpus_of_node(0))
    return any(p.vcpus > per_node for p in resolved.plans)


def memory_plan(resolved: Resolved) -> MemoryPlan:
    """The host memory of the resolved spec's VMs, with its reclamation (:mod:`kit.sim.overcommit`)."""
    h = resolved.host
    return plan_memory(resolved.hw, resolved.mode, resolved.plans, balloon=h.balloon, page_sharing=h.page_sharing,
                       scan_pages_per_s=h.scan_pages_per_s)


def scheduler_for(engine: str, policy: Policy) -> type[Scheduler] | type[FluidScheduler]:
    """The scheduler class of an engine: the discrete one where asked, or where the policy's outcomes depend on
    slice boundaries (:meth:`Policy.requires_slices`); the fluid one otherwise."""
    if engine == "discrete" or policy.requires_slices():
        return Scheduler
    return FluidScheduler



@dataclass(frozen=True)
class EngineChoice:
    """The scheduler class that runs a host, and whether guest synchronization is simulated (it needs slices)."""

    scheduler: type[Scheduler] | type[FluidScheduler]
    sync: bool


def engine_for(resolved: Resolved, plans: tuple[VmPlan, ...], policy: Policy, busy: bool, memory: MemoryPlan,
               trace_s: float = 0.0) -> EngineChoice:
    """The engine of a host whose entities contend (``busy``) or not: the discrete scheduler where slices carry
    the answer (a timeline is traced; the policy or guest synchronization needs slice boundaries; a guest that
    blocks or takes page faults waits for a CPU others hold; I/O wakes backends that preempt entities whose place
    the policy then gives to others, :meth:`Policy.preemption_reorders`), the one the spec asks for otherwise."""
    sync = needs_slices(resolved.mode, plans, vcpus_contended(resolved))
    faults = any(sum(m.faults_per_unit()) > 0 for m in memory.vms)
    io = any(p.workload.kind != "cpu" or p.workload.per_unit.disk_ops for p in plans)
    slices = (trace_s > 0 or policy.requires_slices() or sync
              or ((any(drivers.blocks(p.workload) for p in plans) or faults) and busy)
              or (io and busy and policy.preemption_reorders()))
    return EngineChoice(scheduler_for("discrete" if slices else resolved.spec.engine, policy), sync)


def run_host(host: Any, resolved: Resolved, trace_s: float = 0.0) -> int:
    """Run a built :class:`~kit.sim.host.Host` of ``resolved`` the way the resolved spec calls for: its closed form
    (:func:`has_closed_form`), its request paths as queues (:func:`has_request_paths`) or its events. Returns the
    number of SimPy events processed (none for the first two)."""
    from . import request_paths
    if has_closed_form(resolved, trace_s):
        return int(host.closed_form())
    if has_request_paths(resolved, trace_s, host.contention, request_paths.class_counts(host)):
        return request_paths.evaluate(host)
    return int(host.run())
