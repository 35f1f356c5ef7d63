"""The SimPy model of a virtualized host.

Physical CPUs are a :class:`~kit.sim.scheduler.Scheduler` under a policy. Every thing that needs a CPU is an
:class:`~kit.sim.entities.Entity`: guest vCPUs and backend threads (Xen's dom0 vCPUs running netback and
blkback, vhost workers, QEMU I/O threads, the host OS of a hosted VMM, Hyper-V's root partition). Entities are
grouped in :class:`Runner` s that share a queue of work: a VM's vCPUs share the guest's run queue, dom0's vCPUs
share its backend queue. Work is charged analytically in bulk (:mod:`kit.sim.mode_costs`); the discrete events
are the ones where ordering or contention matters: scheduling, wakeups, I/O batches, backend jobs, device
service and interrupts. The workload drivers (:mod:`kit.sim.drivers`) make the guests work.

Every entity's time is accounted exactly: busy time by category (guest user, guest kernel, each exit reason,
page walks, hypervisor, emulation, backend, device service), queueing for a physical CPU, and idle, adding up to
the simulated duration.

A host runs the VMs its :class:`~kit.inputs.resolve.Resolved` plans (a spec's identical VMs and neighbour, or a
scenario's heterogeneous VMs, :class:`~kit.inputs.resolve.VmPlan`), placed on pools of CPUs (one pool, one per
CPU when pinned, or a partition: pinned CPUs, NUMA nodes and the rest). What the VMs cost each other beyond CPU
time is the business of the host's mechanisms: the memory system's rate effects (:mod:`kit.sim.memory`,
:mod:`kit.sim.numa`), host memory and its reclamation (:mod:`kit.sim.overcommit`), VM switches on a CPU
(:mod:`kit.sim.switches`) and guest synchronization (:mod:`kit.sim.locks`).
"""
from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from ..costs.switch_events import KVM_HALT_POLL_S
from ..errors import HvkitError
from ..inputs.resolve import Resolved, VmPlan
from ..inputs.spec import Spec
from ..inputs.workloads import Workload
from . import drivers
from .devices import DISK_SERVERS, Device
from .locks import WAIT_STATES, Sync, needs_slices
from .memory import Contention, class_costs
from .mode_costs import Costing, costing_for
from .numa import Topology
from .overcommit import MemoryPlan, VmMemory, plan_memory
from .fluid import FluidScheduler
from .entities import Activity, Entity, Item
from .policies import DEFAULT_WEIGHT, Policy, policy_for
from .scheduler import Scheduler
from .stopping import STOP_KINDS, LatencyLog, NoLatencyLog, Stopper
from .switches import GUEST_KINDS, Hooks, Switches, switch_work
from .work import IDLE, PAUSED, QUEUEING, Work

#: A running host reports its simulated time to ``on_progress`` once every this many events plus one (a bit mask)
PROGRESS_EVERY = 4095

__all__ = ["Host", "Runner", "Guest", "SHARED_BACKENDS", "scheduler_for", "contended", "contended_plans",
           "has_closed_form", "backend_label", "partition_for"]

#: Backends shared by every VM of the host, with their label in results
SHARED_BACKENDS = {"dom0": "dom0", "root": "root partition", "host": "host OS"}
#: The seed stream of a host, distinct from other uses of the spec's seed
_HOST_STREAM = 0x6876


def _backends(costs: list[Costing]) -> tuple[set[str], set[tuple[int, str]]]:
    """The backends the VMs of ``costs`` use: the shared ones by name, the per-VM ones by (VM, name)."""
    shared: set[str] = set()
    per_vm: set[tuple[int, str]] = set()
    for vm, cost in enumerate(costs):
        for what in ("net", "disk"):
            name = cost.backend_name(what)
            if name is None:
                continue
            if name in SHARED_BACKENDS:
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
        k = spec.dom0_vcpus if name in ("dom0", "root") else 1
        pins += [n - k + t for t in range(k)]
    pins += [(spec.vms * spec.vcpus + vm) % n for vm, _ in per_vm]
    if not spec.pin:
        return len(pins) > n
    per_cpu: dict[int, int] = {}
    for p in pins:
        per_cpu[p % n] = per_cpu.get(p % n, 0) + 1
    return max(per_cpu.values()) > 1


def contended_plans(plans: tuple[VmPlan, ...], costs: list[Costing], partition: list[tuple[int, ...]],
                    pools: list[list[int]], backend_pool: int, dom0_vcpus: int) -> bool:
    """:func:`contended` for a partitioned host: entities per pool against the pool's CPUs (``pools`` gives the
    pool of each vCPU of each plan)."""
    count = [0] * len(partition)
    for per_vcpu in pools:
        for p in per_vcpu:
            count[p] += 1
    shared, per_vm = _backends(costs)
    count[backend_pool] += len(per_vm)
    for name in shared:
        count[backend_pool] += dom0_vcpus if name in ("dom0", "root") else 1
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


def partition_for(plans: tuple[VmPlan, ...], top: Topology) -> tuple[list[tuple[int, ...]], list[list[int]], int]:
    """The pools of a host whose VMs are placed: a pool per pinned CPU, one per NUMA node that VMs float on, and
    the rest of the CPUs, where unplaced VMs and the backends run. Returns the pools' CPUs, the pool of each vCPU of
    each plan, and the backends' pool."""
    n = top.n
    partition: list[tuple[int, ...]] = []
    index: dict[tuple[int, ...], int] = {}
    claimed: dict[int, str] = {}

    def pool(cpus: tuple[int, ...], who: str) -> int:
        if cpus in index:
            return index[cpus]
        for c in cpus:
            if c in claimed:
                raise HvkitError("pinned CPUs and NUMA-node placements overlap", field=f"vms.{who}",
                                 value=f"CPU {c} (also placed by {claimed[c]})",
                                 allowed="disjoint sets: pin to CPUs outside the nodes other VMs float on")
        for c in cpus:
            claimed[c] = who
        index[cpus] = len(partition)
        partition.append(cpus)
        return index[cpus]

    per_plan: list[list[int] | None] = []
    for p in plans:
        if p.pins is not None:
            per_plan.append([pool((c % n,), p.name) for c in p.pins])
        elif p.cpu_node is not None:
            per_plan.append([pool(tuple(top.cpus_of_node(p.cpu_node)), p.name)] * p.vcpus)
        else:
            per_plan.append(None)
    rest = tuple(c for c in range(n) if c not in claimed)
    if rest:
        rest_pool = len(partition)
        partition.append(rest)
    else:
        rest_pool = len(partition) - 1  # every CPU is placed: backends share the last pool
    out = [pp if pp is not None else [rest_pool] * p.vcpus for p, pp in zip(plans, per_plan)]
    if not rest and any(pp is None for pp in per_plan):
        raise HvkitError("every CPU is pinned or placed, none is left for the VMs that float",
                         field="vms", value=[p.name for p, pp in zip(plans, per_plan) if pp is None],
                         allowed="leave CPUs unplaced, or pin those VMs too")
    return partition, out, rest_pool


def backend_label(name: str, vm: int) -> str:
    """How results name backend ``name`` serving VM ``vm`` (a shared backend has one name for all VMs)."""
    return SHARED_BACKENDS[name] if name in SHARED_BACKENDS else f"vm{vm} {name}"


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
    return not _memory_plan(resolved).pressure and not resolved.host.page_sharing


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


def _memory_plan(resolved: Resolved) -> MemoryPlan:
    h = resolved.host
    return plan_memory(resolved.hw, resolved.mode, resolved.plans, balloon=h.balloon, page_sharing=h.page_sharing,
                       scan_pages_per_s=h.scan_pages_per_s)


def scheduler_for(engine: str, policy: Policy) -> type[Scheduler] | type[FluidScheduler]:
    """The scheduler class of an engine: the discrete one where asked, or where the policy's outcomes depend on
    slice boundaries (:meth:`Policy.requires_slices`); the fluid one otherwise."""
    if engine == "discrete" or policy.requires_slices():
        return Scheduler
    return FluidScheduler


class Runner:
    """Entities sharing one queue of work: a VM's vCPUs, or a backend's threads."""

    def __init__(self, host: Host, name: str, scope: str, kind: str, n: int, weight: float,
                 wake_work: Work | None = None, pin_base: int = 0, poll: tuple[float, Work] | None = None,
                 pins: tuple[int, ...] | None = None, pools: list[int] | None = None) -> None:
        self.host, self.name, self.scope, self.kind = host, name, scope, kind
        self.queue: deque[Item] = deque()
        self.waiters: list[simpy.Event] = []
        self.wake_work = wake_work
        #: (seconds, work): a wakeup within the halt-poll window costs this instead
        self.poll = poll
        self.entities: list[Entity] = []
        #: the guest this runner is a VM of (None: a backend)
        self.guest: Guest | None = None
        #: while set, the runner's entities take no new work (a paused VM); fires when it resumes
        self.gate: simpy.Event | None = None
        unit = "vcpu" if kind == "vcpu" else "thread"
        for i in range(n):
            pin = None
            if host.spec.pin:
                pin = pins[i] if pins is not None else pin_base + i
            ent = Entity(f"{name}.{unit}{i}", f"{scope}.{unit}{i}", kind, weight, pin=pin)
            if pools is not None:
                ent.pool = pools[i]
            ent.owner = self
            ent.acct[IDLE] = host.env.now  # an entity created late was not running before
            if getattr(host.sched, "chains", False):
                ent.tally = {}  # the hybrid engine accounts each item once, spread over categories at the end
            ent.activity = Activity(IDLE, host.env.now)
            self.entities.append(ent)
            host.sched.entities.append(ent)
            host.env.process(self._loop(ent))

    def submit(self, item: Item, front: bool = False) -> None:
        (self.queue.appendleft if front else self.queue.append)(item)
        if self.waiters:
            self.waiters.pop(0).succeed()

    def run(self, work: Work, units: float = 0.0):
        """Submit ``work`` (completing ``units`` workload units) and wait for it (a generator for ``yield from``)."""
        done = self.host.env.event()
        self.submit(Item(work, done, units))
        yield done

    def pause(self) -> None:
        """Stop the entities taking new work (each finishes the piece it is running) until :meth:`resume`."""
        if self.gate is None:
            self.gate = self.host.env.event()

    def resume(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.succeed()

    def _held(self, ent: Entity):
        """Wait while the runner is paused, off the CPU, accounted as paused."""
        host = self.host
        host.sched.release(ent)
        while self.gate is not None:
            t0 = host.env.now
            ent.activity = Activity(PAUSED, t0)
            yield self.gate
            ent.acct[PAUSED] += host.env.now - t0

    def _loop(self, ent: Entity):
        env, host = self.host.env, self.host
        waking = polled = False
        run_chain = getattr(host.sched, "run_chain", None)  # the fluid scheduler chains a runner's items
        watch = host.watch(ent)
        while True:
            if self.gate is not None:
                if watch:
                    host.idle(ent)
                yield from self._held(ent)
                waking, polled = True, False
                continue
            if not self.queue:
                host.sched.release(ent)
                if watch:
                    host.idle(ent)
                ev = env.event()
                self.waiters.append(ev)
                t0 = env.now
                ent.activity = Activity(IDLE, t0)
                yield ev
                idle = env.now - t0
                ent.acct[IDLE] += idle
                host.sched.record(ent, IDLE, t0, env.now)
                waking = True
                polled = self.poll is not None and idle <= self.poll[0]
                if idle <= 0.0:  # work arrived at the instant the queue emptied: the vCPU never halted
                    waking = False
                    if host.sync is not None:  # it gave its CPU up with work left, as a preempted vCPU does
                        host.sync.descheduled(ent)
                if not self.queue or self.gate is not None:
                    continue
            if watch:
                host.busy(ent)
            item = self.queue.popleft()
            if watch:
                item = host.adjust(ent, item)
            wake = None
            if waking and self.wake_work is not None:
                wake = Item(self.poll[1] if polled and self.poll is not None else self.wake_work)
            if run_chain is not None:  # the scheduler runs the wakeup, this item and the ones queued behind it
                yield from run_chain(ent, item, host.freq, waking, self, wake=wake)
            else:
                if wake is not None:
                    yield from host.sched.execute(ent, wake, host.freq, waking=True)
                    waking = False
                yield from host.sched.execute(ent, item, host.freq, waking=waking)
                self.finish(item)
            waking = False

    def finish(self, item: Item) -> None:
        """An item is done: call its continuation, or fire its event."""
        if item.then is not None:
            item.then()
        elif item.done is not None:
            item.done.succeed()

    def take(self, ent: Entity | None = None) -> Item | None:
        """The next queued item, if any (for a scheduler that chains a runner's items)."""
        if not self.queue:
            return None
        item = self.queue.popleft()
        if ent is not None and self.host.watch(ent):
            item = self.host.adjust(ent, item)
        return item

    def flush(self, now: float, freq: float) -> None:
        """Account the state each entity is in at the end of the run."""
        for ent in self.entities:
            act = ent.activity
            dt = now - act.since
            if dt <= 0:
                continue
            if act.state == "running" and self.host.sched.flush(ent, now, freq):
                pass
            elif act.state in (IDLE, QUEUEING, PAUSED) or act.state in WAIT_STATES:
                ent.acct[act.state] += dt
            else:
                ent.acct[IDLE] += dt
            ent.activity = Activity(act.state, now, act.item, act.seconds)


@dataclass
class Guest:
    """One VM with its workload's costs; ``primary`` VMs are the ones the run measures."""

    i: int
    vm: Runner
    cost: Costing
    wl: Workload
    primary: bool = True
    bytes_done: float = 0.0
    #: the plan it was made from, and its memory at the steady state
    plan: VmPlan | None = None
    memory: VmMemory | None = None
    #: (guest page-ins, host swap-ins) per unit of work
    faults: tuple[float, float] = (0.0, 0.0)
    #: copy-on-write breaks of merged pages per unit, and what one costs
    cow: float = 0.0
    cow_work: Work | None = None


class Host:
    """One simulated host running the VMs a :class:`~kit.inputs.resolve.Resolved` plans under one mode: a spec's
    identical VMs (and its unmeasured neighbour, for isolation studies), or a scenario's heterogeneous VMs."""

    def __init__(self, resolved: Resolved, trace_s: float = 0.0, latencies: bool = True) -> None:
        spec, hw, mode, wl = resolved.spec, resolved.hw, resolved.mode, resolved.workload
        self.spec, self.hw, self.mode, self.wl, self.duration = spec, hw, mode, wl, resolved.duration
        self.resolved = resolved
        self.env = simpy.Environment()
        self._engine = ""
        #: batch means of the metric (runs that may stop early), and why the run ended
        self.stopper: Stopper | None = None
        self.stop_reason = "duration"
        #: called with the simulated time every few thousand events while the host runs (a progress bar's hook;
        #: it reads, never changes, the simulation)
        self.on_progress: Callable[[float], None] | None = None
        self.freq = hw.val("freq_ghz") * 1e9
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, _HOST_STREAM]))
        policy = policy_for(mode.scheduler)
        self.plans = plans = resolved.plans
        measured = [p for p in plans if p.measured]
        unmeasured = [p for p in plans if not p.measured]
        self.plans = plans = tuple(measured + unmeasured)
        capped = any(p.cap > 0 for p in plans) and policy.enforces_caps
        # one costing per workload (identical VMs share it)
        self._costs: dict[int, Costing] = {}
        self.cost = self._costing(wl if not measured else measured[0].workload)
        costs = [self._costing(p.workload) for p in plans]
        pcpus = spec.pcpus or hw.pcpus
        self.topology = Topology(hw, pcpus, resolved.host.smt)
        placed = bool(resolved.vms) and any(p.pins is not None or p.cpu_node is not None for p in plans)
        self._placed = placed
        if placed:
            partition, vcpu_pools, self._backend_pool = partition_for(plans, self.topology)
            busy = contended_plans(plans, costs, partition, vcpu_pools, self._backend_pool, spec.dom0_vcpus)
        else:
            partition, vcpu_pools, self._backend_pool = None, None, 0
            busy = (contended(spec, pcpus, costs) if not resolved.vms else contended_plans(
                plans, costs, [tuple(range(pcpus))], [[0] * p.vcpus for p in plans], 0, spec.dom0_vcpus))
        self.contended = busy
        self.memory = _memory_plan(resolved)
        #: what the host's mechanisms say about this run (memory reclaimed, parameters a profile lacks)
        self.notes: list[str] = list(self.memory.notes)
        vm_memory = {v.name: v for v in self.memory.vms}
        faults = any(sum(m.faults_per_unit()) > 0 for m in self.memory.vms)
        sync = needs_slices(mode, plans, vcpus_contended(resolved))
        slices = (trace_s > 0 or policy.requires_slices() or sync
                  or ((any(drivers.blocks(p.workload) for p in plans) or faults) and busy))
        engine = scheduler_for("discrete" if slices else spec.engine, policy)
        if partition is not None:
            self.sched: Scheduler | FluidScheduler = engine(self.env, pcpus, policy, spec.pin, capped=capped,
                                                            partition=partition)
            self.pool_cpus = partition
        else:
            self.sched = engine(self.env, pcpus, policy, spec.pin, capped=capped)
            self.pool_cpus = [(i,) for i in range(pcpus)] if spec.pin else [tuple(range(pcpus))]
        if trace_s > 0:
            self.sched.trace, self.sched.trace_until = [], trace_s
        self.latencies = LatencyLog() if latencies else NoLatencyLog(1)  # (vm, start, latency) per request
        self.requests_done = 0
        #: requests of measured VMs under way: token -> (vm, start); those left at the end are right-censored
        self.in_flight: dict[int, tuple[int, float]] = {}
        self.requests_started = 0
        # devices
        param = hw.val
        self.nic_tx = Device(self.env, "nic.tx")
        self.nic_rx = Device(self.env, "nic.rx")
        disk_kind = "hdd" if param("disk_service_ms") > 1.0 else "flash"
        self.disk = Device(self.env, "disk", servers=DISK_SERVERS[0][disk_kind])
        self.line_bps = param("nic_gbps") * 1e9
        self.wire_s = param("nic_latency_us") * 1e-6
        # the mechanisms that watch the scheduler and the runners
        self.contention = self._contention(plans, costs, vcpu_pools)
        if self.contention is not None:
            self.notes += self.contention.notes
        self.switches: Switches | None = None
        self.sync: Sync | None = None
        if isinstance(self.sched, Scheduler):
            self.switches = Switches(self.sched, self.pool_cpus, hw, self.freq)
            if sync:
                self.sync = Sync(self.env, mode, spec.seed, self.freq)
            self.sched.hooks = Hooks(self.switches, self.sync)
        self._fluid_switches = isinstance(self.sched, FluidScheduler) and busy and len(plans) > 1
        self._pool_active = [0] * len(self.sched.pools)
        self._pool_vm_active: list[dict[int, int]] = [dict() for _ in self.sched.pools]
        self._extra_works: dict[tuple, Work] = {}  # keyed by (work, units, level, guest) or ("switch", runner)
        self._watch = bool(self.contention is not None or self._fluid_switches
                           or any(m.cow_per_unit() > 0 for m in self.memory.vms))
        # VMs and backends
        wake = None if mode.is_native else self.cost.wake()
        kvm_poll = mode.family == "kvm" and mode.cpu in ("hvm", "pvh")
        self.vms: list[Runner] = []
        for i, p in enumerate(measured):
            name, scope = p.name, f"host.{p.name}"
            cost = costs[i]
            w = wake if cost is self.cost else (None if mode.is_native else cost.wake())
            self.vms.append(Runner(self, name, scope, "vcpu", p.vcpus, p.weight, wake_work=w,
                                   pin_base=i * spec.vcpus, pins=p.pins,
                                   poll=(KVM_HALT_POLL_S[0], cost.wake(polled=True)) if kvm_poll else None,
                                   pools=vcpu_pools[i] if vcpu_pools is not None else None))
        if capped:
            for vm, p in zip(self.vms, measured):
                if p.cap > 0:
                    self.sched.add_cap(vm.entities, p.cap / 100.0 * policy.period_s)
        self.backends: dict[str, Runner] = {}
        self._shared: dict[str, Runner] = {}
        self.per_vm_backend: dict[tuple[int, str], Runner] = {}
        # backends exist from the start (dom0 boots before its guests)
        for i in range(len(measured)):
            for what in ("net", "disk"):
                self.backend(costs[i].backend_name(what), i)
        self.guests = [self._guest(i, vm, costs[i], p, vm_memory) for i, (vm, p) in enumerate(zip(self.vms, measured))]
        self.neighbors: list[Runner] = []
        for j, p in enumerate(unmeasured):
            k = len(measured) + j
            ncost = costs[k]
            name, scope = p.name, f"host.{p.name}"
            nvm = Runner(self, name, scope, "neighbor", p.vcpus, p.weight,
                         wake_work=None if mode.is_native else ncost.wake(), pin_base=k * spec.vcpus, pins=p.pins,
                         poll=((KVM_HALT_POLL_S[0], ncost.wake(polled=True)) if kvm_poll else None),
                         pools=vcpu_pools[k] if vcpu_pools is not None else None)
            if capped and p.cap > 0:
                self.sched.add_cap(nvm.entities, p.cap / 100.0 * policy.period_s)
            self.neighbors.append(nvm)
            for what in ("net", "disk"):
                self.backend(ncost.backend_name(what), k)
            self.guests.append(self._guest(k, nvm, ncost, p, vm_memory, primary=False))
        if self.sync is not None:
            for g in self.guests:
                self.sync.add(g.vm, g.cost)
        if self.contention is not None:
            for g in self.guests:
                for ent in g.vm.entities:
                    ent.owner = g.vm
        self.scanner: Runner | None = None
        if self.memory.scan_pages_per_s > 0:
            self.scanner = Runner(self, "page scanner", "host.scanner", "backend", 1, DEFAULT_WEIGHT[0],
                                  pin_base=self.sched.n - 1, pools=[self._backend_pool] if placed else None)
            self.backends["page scanner"] = self.scanner

    # -- construction helpers ---------------------------------------------------------------------------
    def _costing(self, wl: Workload) -> Costing:
        c = self._costs.get(id(wl))
        if c is None:
            c = self._costs[id(wl)] = costing_for(self.hw, self.mode, wl)
        return c

    @staticmethod
    def _backend_count(costs: list[Costing]) -> int:
        names = {c.backend_name(w) for c in costs for w in ("net", "disk")} - {None}
        return len(names)

    def _guest(self, i: int, vm: Runner, cost: Costing, plan: VmPlan, memory: dict[str, VmMemory],
               primary: bool = True) -> Guest:
        g = Guest(i, vm, cost, plan.workload, primary=primary, plan=plan)
        g.memory = memory.get(plan.name)
        if g.memory is not None:
            g.faults = g.memory.faults_per_unit()
            g.cow = g.memory.cow_per_unit()
            if g.cow > 0:
                cm = cost.cm
                copy = 64 * self.hw.val("mem_latency_ns") * 1e-9 * self.freq / 8  # 64 lines, 8 in flight
                g.cow_work = cost.work(cm.path("pagefault")) + Work.of("copy-on-write", copy)
        vm.guest = g
        return g

    def _contention(self, plans: tuple[VmPlan, ...], costs: list[Costing],
                    vcpu_pools: list[list[int]] | None) -> Contention | None:
        """The memory system's rate effects, if any can be non-zero here (None: nothing to watch)."""
        top, hw = self.topology, self.hw
        cont = Contention(hw, top, self.freq, self.pool_cpus)
        node_mib = hw.val("memory_gib") * 1024.0 / top.nodes
        any_memory = False
        native = self.mode.is_native or self.mode.family == "container"
        for k, (p, cost) in enumerate(zip(plans, costs)):
            if vcpu_pools is not None:
                pools = vcpu_pools[k]
            elif self.spec.pin and p.pins is not None:
                pools = [c % self.sched.n for c in p.pins]
            else:
                pools = [0] * p.vcpus
            for j in range(p.vcpus):
                pool = pools[j]
                cpus = self.pool_cpus[pool]
                sockets = [0.0] * top.sockets
                for c in cpus:
                    sockets[top.cpus[c % top.n].socket] += 1.0 / len(cpus)
                cpu_nodes = tuple(top.node_shares(cpus))
                mem_mib = p.memory_mib if p.memory_mib is not None else p.workload.footprint_mib
                vm_cpus = sorted({c for q in pools for c in self.pool_cpus[q]})
                vm_nodes = top.node_shares(vm_cpus)
                spans = top.nodes > 1 and (p.vcpus > len(top.cpus_of_node(0)) or mem_mib > node_mib)
                if p.node is not None:
                    memory = tuple(top.memory_nodes(vm_nodes, p.node, p.vnuma, mem_mib, node_mib))
                    vnuma = p.vnuma or native
                elif spans:
                    memory = tuple(vm_nodes)
                    vnuma = p.vnuma or native
                else:  # first touch and automatic NUMA balancing keep a VM that fits a node local
                    memory = cpu_nodes
                    vnuma = True
                cc = class_costs(cost.unit(), p.workload, hw, self.freq, pool, tuple(sockets), cpu_nodes, memory,
                                 vnuma)
                any_memory = any_memory or cc.lines > 0 or cc.llc_refs > 0
                cont.register((k, pool, memory, vnuma), cc)
        if not (any_memory or cont.has_smt):
            return None
        self._class_of: dict[int, int] = {}
        return cont

    # -- the runners' hooks ---------------------------------------------------------------------------------
    def watch(self, ent: Entity) -> bool:
        """Whether the host's rate effects watch ``ent``'s activity (guest vCPUs and, for SMT, every entity)."""
        return self._watch

    def busy(self, ent: Entity) -> None:
        """``ent`` takes work after being idle (it wants a CPU from now on)."""
        if getattr(ent, "_hv_active", False):
            return
        ent._hv_active = True  # type: ignore[attr-defined]
        p = self._pool_index(ent)
        self._pool_active[p] += 1
        owner = ent.owner
        if owner is not None and owner.kind in GUEST_KINDS:
            d = self._pool_vm_active[p]
            d[id(owner)] = d.get(id(owner), 0) + 1
        if self.contention is not None:
            cls = self._class(ent)
            if cls is not None:
                self.contention.start(cls)

    def idle(self, ent: Entity) -> None:
        """``ent`` has no work left (it halts or waits)."""
        if not getattr(ent, "_hv_active", False):
            return
        ent._hv_active = False  # type: ignore[attr-defined]
        p = self._pool_index(ent)
        self._pool_active[p] -= 1
        owner = ent.owner
        if owner is not None and owner.kind in GUEST_KINDS:
            self._pool_vm_active[p][id(owner)] -= 1
        if self.contention is not None:
            cls = self._class(ent)
            if cls is not None:
                self.contention.stop(cls)

    def _pool_index(self, ent: Entity) -> int:
        if ent.pool is not None:
            return ent.pool
        return (ent.pin or 0) % self.sched.n if self.spec.pin else 0

    def _class(self, ent: Entity) -> int | None:
        cached = getattr(ent, "_hv_class", -2)
        if cached != -2:
            return cached
        cls = None
        owner = ent.owner
        cont = self.contention
        if cont is not None and owner is not None and owner.guest is not None:
            g = owner.guest
            pool = self._pool_index(ent)
            for key, idx in cont._class_of.items():
                if key[0] == g.i and key[1] == pool:
                    cls = idx
                    break
        ent._hv_class = cls  # type: ignore[attr-defined]
        return cls

    def adjust(self, ent: Entity, item: Item) -> Item:
        """``item`` with what the host's mechanisms add to its units: co-runners through the memory system,
        copy-on-write breaks of merged pages, and (in the fluid engine) VM switches on contended CPUs."""
        if item.units <= 0:
            return item
        owner = ent.owner
        if owner is None or owner.guest is None:
            return item
        g = owner.guest
        if self.contention is not None:
            cls = self._class(ent)
            if cls is not None:
                item = self.contention.adjust(cls, item)
        extra = 0
        if self._fluid_switches:
            p = self._pool_index(ent)
            n, cap = self._pool_active[p], len(self.pool_cpus[p])
            if n > cap:
                vms = self._pool_vm_active[p]
                guests = sum(vms.values())
                mine = vms.get(id(owner), 0)
                if guests > mine:
                    same = (mine - 1) / (guests - 1) if guests > 1 else 1.0
                    seconds = item.work.total / self.freq
                    rate = Switches.fluid_share(self.sched.policy, self.sched.pools[p], n, same, seconds)
                    switches = rate * seconds
                    extra = int(round(switches * 1000))  # in thousandths of a switch
        if not extra and g.cow_work is None:
            return item
        key = (id(item.work), item.units, extra, id(g))
        w = self._extra_works.get(key)
        if w is None:
            w = item.work
            if extra:
                sw = self._switch_work(owner)
                w = w.plus(sw, extra / 1000.0 / item.scale)
            if g.cow_work is not None:
                w = w.plus(g.cow_work, g.cow * item.units / item.scale)
            if len(self._extra_works) < 4096:
                self._extra_works[key] = w
        return Item(w, item.done, item.units, item.then, item.scale)

    def _switch_work(self, runner: Runner) -> Work:
        key = ("switch", id(runner))
        w = self._extra_works.get(key)
        if w is None:
            g = runner.guest
            assert g is not None
            others = [p for p in self.plans if p is not g.plan]
            # the other VM most vCPUs of the pool run (the fluid engine has no CPU identities)
            other = max(others, key=lambda p: p.vcpus).workload if others else None
            w = self._extra_works[key] = switch_work(g.cost, self.hw, self.freq, other)
        return w

    # -- backends --------------------------------------------------------------------------------
    def backend(self, name: str | None, vm: int) -> Runner | None:
        """The runner of backend ``name`` serving VM ``vm`` (created on first use)."""
        if name is None:
            return None
        placed = self._placed
        if name in SHARED_BACKENDS:
            if name not in self._shared:
                n = self.spec.dom0_vcpus if name in ("dom0", "root") else 1
                label = backend_label(name, vm)
                r = Runner(self, label, f"host.{name}", "backend", n, DEFAULT_WEIGHT[0], pin_base=self.sched.n - n,
                           pools=[self._backend_pool] * n if placed else None)
                self._shared[name] = r
                self.backends[label] = r
            return self._shared[name]
        key = (vm, name)
        if key not in self.per_vm_backend:
            label = backend_label(name, vm)
            n = self.spec.net_queues if name == "vhost" else 1  # one vhost worker per virtio-net queue pair
            r = Runner(self, label, f"host.vm{vm}.{name}", "backend", n, DEFAULT_WEIGHT[0],
                       pin_base=(self.spec.vms * self.spec.vcpus + vm) % max(1, self.sched.n),
                       pools=[self._backend_pool] * n if placed else None)
            self.per_vm_backend[key] = r
            self.backends[label] = r
        return self.per_vm_backend[key]

    @property
    def bytes_done(self) -> float:
        """Payload bytes the measured (primary) VMs moved."""
        return sum(g.bytes_done for g in self.guests if g.primary)

    @property
    def engine(self) -> str:
        """What computed the run: ``analytic`` (the closed form), ``hybrid`` or ``discrete``."""
        return self._engine or self.sched.engine

    # -- running -----------------------------------------------------------------------------------
    def closed_form(self) -> int:
        """Account the run from its closed form instead of simulating it (see :func:`has_closed_form`).

        Every vCPU runs units back to back for the whole duration: it completes ``duration * freq / unit``
        units, and each category, exit reason and exit cycle is that many times the unit's; backends stay idle.
        Co-runners' memory-system effects are constant while all run: they add their extra cycles to the unit.
        Returns 0, the number of SimPy events processed.
        """
        d = self.duration
        base = self.cost.unit()
        units_of: dict[int, tuple[Work, float]] = {}
        if self.contention is not None:
            for vm in self.vms:
                for ent in vm.entities:
                    self.busy(ent)
            for vm in self.vms:
                for ent in vm.entities:
                    cls = self._class(ent)
                    if cls is not None and cls not in units_of:
                        unit = self.contention.adjust(cls, Item(base, units=1.0)).work
                        units_of[cls] = (unit, d * self.freq / unit.total)
        for vm in self.vms:
            for ent in vm.entities:
                cls = self._class(ent) if self.contention is not None else None
                unit, units = units_of.get(cls, (base, d * self.freq / base.total)) if cls is not None else (
                    base, d * self.freq / base.total)
                ent.account(unit, units, self.freq)
                ent.settle()
                ent.units = units
                ent.finished_units = float(math.floor(units))  # the units that fit whole in the duration
                ent.acct[IDLE] = 0.0
                self.sched.pool_of(ent).busy += d
        for r in self.backends.values():
            for ent in r.entities:
                ent.acct[IDLE] = d
        self._engine = "analytic"
        return 0

    def progress(self) -> float:
        """What the run's metric counts so far: the measured VMs' units (bytes for a stream)."""
        if self.wl.kind == "stream":
            return self.bytes_done
        return sum(e.units for vm in self.vms for e in vm.entities)

    def _watch_stop(self, stopper: Stopper):
        while True:
            yield self.env.timeout(stopper.batch_s)
            stopper.check()

    def _scan(self):
        """The page-sharing scanner: a batch of pages every period, on a host thread."""
        assert self.scanner is not None
        period = 0.02
        pages = self.memory.scan_pages_per_s * period
        from .overcommit import SCAN_CYCLES_PER_PAGE
        work = Work.of("page sharing scan", pages * SCAN_CYCLES_PER_PAGE[0])
        while True:
            self.scanner.submit(Item(work))
            yield self.env.timeout(period)

    def run(self) -> int:
        """Run to the duration, or until the metric is known to ``spec.precision`` (request and I/O workloads);
        returns the number of SimPy events processed. ``duration`` becomes the time simulated, ``stop_reason``
        says why it ended and ``stopper`` holds the batch means."""
        drivers.start(self)
        if self.scanner is not None:
            self.env.process(self._scan())
        env, end, n = self.env, self.duration, 0
        if self.wl.kind in STOP_KINDS and self.spec.precision is not None:
            self.stopper = Stopper(self.progress, end, self.spec.precision)
            env.process(self._watch_stop(self.stopper))
        horizon = env.timeout(end)
        step = env.step
        stopper = self.stopper
        on_progress = self.on_progress
        # What existed before the run (the kit, pandas, the caller's objects) is left out of the cycle collector's
        # traversals while it runs: its full collections otherwise cost in proportion to everything loaded, which
        # made a run's cost jump with the size of the process rather than the model. Restored afterwards.
        freeze = gc.isenabled()
        if freeze:
            gc.freeze()
        try:
            while not horizon.processed:
                step()
                n += 1
                if on_progress is not None and not n & PROGRESS_EVERY:
                    on_progress(env.now)
                if stopper is not None and stopper.done:
                    end = self.duration = env.now
                    self.stop_reason = "precision"
                    break
            else:
                if stopper is not None:
                    self.stop_reason = "duration (precision not reached)"
        finally:
            if freeze:
                gc.unfreeze()
        for r in self.vms + self.neighbors + list(self.backends.values()):
            r.flush(end, self.freq)
            for ent in r.entities:
                ent.settle()
        return n
