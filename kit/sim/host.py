"""The SimPy model of a virtualized host.

Physical CPUs are a :class:`~kit.sim.scheduler.Scheduler` under a policy. Every thing that needs a CPU is an
:class:`~kit.sim.entities.Entity`: guest vCPUs and backend threads (Xen's dom0 vCPUs running netback and
blkback, vhost workers, QEMU I/O threads, the host OS of a hosted VMM, Hyper-V's root partition). Entities are
grouped in :class:`~kit.sim.runners.Runner` s that share a queue of work: a VM's vCPUs share the guest's run queue, dom0's vCPUs
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
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from ..costs.switch_events import KVM_HALT_POLL_S
from ..inputs.parts import backend_named
from ..inputs.resolve import Resolved, VmPlan
from ..inputs.workloads import Workload
from . import drivers
from .devices import DISK_SERVERS, BlkbackDispatch, Device, InterruptModeration
from .engines import EngineChoice, contended, contended_plans, engine_for, memory_plan
from .entities import Entity, Item
from .fluid import FluidScheduler
from .locks import Sync
from .memory import contention_for
from .mode_costs import Costing, costing_for
from .numa import Topology, partition_for, place_vcpus
from .overcommit import VmMemory
from .policies import DEFAULT_WEIGHT, Policy, policy_for
from .runners import Guest, Runner
from .scheduler import Scheduler
from .stopping import STOP_KINDS, LatencyLog, NoLatencyLog, Stopper
from .switches import GUEST_KINDS, Hooks, Switches, switch_work, touched_bytes
from .work import IDLE, Work

#: A running host reports its simulated time to ``on_progress`` once every this many events plus one (a bit mask)
PROGRESS_EVERY = 4095

__all__ = ["Host", "Runner", "Guest", "backend_label"]

#: The seed stream of a host, distinct from other uses of the spec's seed
_HOST_STREAM = 0x6876


def backend_label(name: str, vm: int) -> str:
    """How results name backend ``name`` serving VM ``vm`` (a shared backend has one name for all VMs)."""
    return backend_named(name).label_for(vm)


class Host:
    """One simulated host running the VMs a :class:`~kit.inputs.resolve.Resolved` plans under one mode: a spec's
    identical VMs (and its unmeasured neighbour, for isolation studies), or a scenario's heterogeneous VMs.

    Building one reads top-down: the VMs' costs, where their vCPUs run (pools, NUMA placement) and whether they
    contend, host memory, the engine the resolved spec calls for (:func:`kit.sim.engines.engine_for`), the devices,
    the mechanisms that watch the scheduler (memory system, VM switches, guest synchronization), then the runners:
    VMs, backends, neighbours and the page scanner."""

    def __init__(self, resolved: Resolved, trace_s: float = 0.0, latencies: bool = True) -> None:
        spec, hw = resolved.spec, resolved.hw
        self.spec, self.hw, self.mode, self.wl = spec, hw, resolved.mode, resolved.workload
        self.duration = resolved.duration
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
        measured = [p for p in resolved.plans if p.measured]
        unmeasured = [p for p in resolved.plans if not p.measured]
        self.plans = plans = tuple(measured + unmeasured)
        # one costing per workload (identical VMs share it)
        self._costs: dict[int, Costing] = {}
        self.cost = self._costing(self.wl if not measured else measured[0].workload)
        costs = [self._costing(p.workload) for p in plans]
        partition, vcpu_pools = self._place(costs)
        self.memory = memory_plan(resolved)
        #: what the host's mechanisms say about this run (memory reclaimed, parameters a profile lacks)
        self.notes: list[str] = list(self.memory.notes)
        policy = policy_for(self.mode.scheduler)
        choice = engine_for(resolved, plans, policy, self.contended, self.memory, trace_s)
        capped = any(p.cap > 0 for p in plans) and policy.enforces_caps
        self._start_scheduler(choice, policy, capped, partition, trace_s)
        self.latencies = LatencyLog() if latencies else NoLatencyLog(1)  # (vm, start, latency) per request
        self.requests_done = 0
        #: requests of measured VMs under way: token -> (vm, start); those left at the end are right-censored
        self.in_flight: dict[int, tuple[int, float]] = {}
        self.requests_started = 0
        #: failures injected into the running host (kit.sim.failures.FaultInjector attaches itself here); None: none
        self.failures = None
        #: the lifecycle operations scheduled on the running host (kit.sim.lifecycle.LifecycleRunner); None: none
        self.lifecycle = None
        self._add_devices()
        self._add_mechanisms(costs, vcpu_pools, choice.sync)
        self._add_runners(measured, unmeasured, costs, vcpu_pools, policy.period_s if capped else None)

    # -- construction, in order -------------------------------------------------------------------------
    def _costing(self, wl: Workload) -> Costing:
        c = self._costs.get(id(wl))
        if c is None:
            c = self._costs[id(wl)] = costing_for(self.hw, self.mode, wl)
        return c

    def _place(self, costs: list[Costing]) -> tuple[list[tuple[int, ...]] | None, list[list[int]] | None]:
        """Where the entities run: the host's topology, the pools of a host whose VMs are pinned or placed on NUMA
        nodes (:func:`kit.sim.numa.partition_for`), and whether its entities contend for CPUs. Returns the
        partition (None: one pool, or one per CPU when pinned) and the pool of each vCPU of each plan."""
        spec, resolved, plans = self.spec, self.resolved, self.plans
        pcpus = spec.pcpus or self.hw.pcpus
        self.topology = Topology(self.hw, pcpus, resolved.host.smt)
        self._placed = bool(resolved.vms) and any(p.pins is not None or p.cpu_node is not None for p in plans)
        if self._placed:
            partition, vcpu_pools, self._backend_pool = partition_for(plans, self.topology)
            self.contended = contended_plans(plans, costs, partition, vcpu_pools, self._backend_pool, spec)
            return partition, vcpu_pools
        self._backend_pool = 0
        self.contended = (contended(spec, pcpus, costs) if not resolved.vms else contended_plans(
            plans, costs, [tuple(range(pcpus))], [[0] * p.vcpus for p in plans], 0, spec))
        return None, None

    def _start_scheduler(self, choice: EngineChoice, policy: Policy, capped: bool,
                         partition: list[tuple[int, ...]] | None, trace_s: float) -> None:
        """The scheduler of the engine chosen, on the pools of CPUs (its policy's periods start here)."""
        spec = self.spec
        pcpus = spec.pcpus or self.hw.pcpus
        if partition is not None:
            self.sched: Scheduler | FluidScheduler = choice.scheduler(self.env, pcpus, policy, spec.pin,
                                                                      capped=capped, partition=partition)
            self.pool_cpus = partition
        else:
            self.sched = choice.scheduler(self.env, pcpus, policy, spec.pin, capped=capped)
            self.pool_cpus = [(i,) for i in range(pcpus)] if spec.pin else [tuple(range(pcpus))]
        if trace_s > 0:
            self.sched.trace, self.sched.trace_until = [], trace_s

    def _add_devices(self) -> None:
        """The NIC's two directions and the disk, and the wire."""
        param = self.hw.val
        self.nic_tx = Device(self.env, "nic.tx")
        self.nic_rx = Device(self.env, "nic.rx")
        disk_kind = "hdd" if param("disk_service_ms") > 1.0 else "flash"
        self.disk = Device(self.env, "disk", servers=DISK_SERVERS[0][disk_kind])
        io = self.mode.io_part
        #: blkback's turns between frontends where a driver domain's blkback serves the disk (else None)
        self.disk_dispatch = (BlkbackDispatch(self.env) if io.split_driver and not self.mode.arch_part.drives_devices
                              else None)
        self.line_bps = param("nic_gbps") * 1e9
        self.wire_s = param("nic_latency_us") * 1e-6
        usecs = self.hw.opt("nic_rx_usecs")
        self.nic_irq = InterruptModeration(self.env, usecs or 0.0, int(param("nic_rx_frames_per_irq")),
                                           bool(self.hw.features.adaptive_moderation))

    def _add_mechanisms(self, costs: list[Costing], vcpu_pools: list[list[int]] | None, sync: bool) -> None:
        """The mechanisms that watch the scheduler and the runners: the memory system's rate effects, VM switches
        and guest synchronization (the discrete engine's hooks), or VM switches as a rate (the fluid engine)."""
        placements = place_vcpus(self.topology, self.hw, self.plans, self.pool_cpus, vcpu_pools, self.spec.pin,
                                 self.mode.runs_on_host_kernel, self.mode.family_part.first_touch_memory)
        self.contention = contention_for(self.hw, self.topology, self.freq, self.pool_cpus, placements,
                                         [c.unit() for c in costs], [p.workload for p in self.plans])
        if self.contention is not None:
            self.notes += self.contention.notes
        self.switches: Switches | None = None
        self.sync: Sync | None = None
        if isinstance(self.sched, Scheduler):
            self.switches = Switches(self.sched, self.pool_cpus, self.hw, self.freq)
            if sync:
                self.sync = Sync(self.env, self.mode, self.spec.seed, self.freq)
            self.sched.hooks = Hooks(self.switches, self.sync)
        self._fluid_switches = isinstance(self.sched, FluidScheduler) and self.contended and len(self.plans) > 1
        self._pool_active = [0] * len(self.sched.pools)
        self._pool_vm_active: list[dict[int, int]] = [dict() for _ in self.sched.pools]
        self._extra_works: dict[tuple, Any] = {}  # (work, units, level, guest) -> (work, its extra); ("switch", runner) -> work
        self._watch = bool(self.contention is not None or self._fluid_switches
                           or any(m.cow_per_unit() > 0 for m in self.memory.vms))

    def _add_runners(self, measured: list[VmPlan], unmeasured: list[VmPlan], costs: list[Costing],
                     vcpu_pools: list[list[int]] | None, cap_period_s: float | None) -> None:
        """The measured VMs (with their caps) and their backends, which exist from the start (dom0 boots before its
        guests); then each neighbour with its backends; then the page scanner."""
        vm_memory = {v.name: v for v in self.memory.vms}
        self.vms: list[Runner] = []
        for i, p in enumerate(measured):
            self.vms.append(self._vm_runner(i, p, costs[i], "vcpu", vcpu_pools))
        if cap_period_s is not None:
            for vm, p in zip(self.vms, measured):
                if p.cap > 0:
                    self.sched.add_cap(vm.entities, p.cap / 100.0 * cap_period_s)
        self.backends: dict[str, Runner] = {}
        self._shared: dict[str, Runner] = {}
        self.per_vm_backend: dict[tuple[int, str], Runner] = {}
        for i in range(len(measured)):
            for what in ("net", "disk"):
                self.backend(costs[i].backend_name(what), i)
        self.guests = [self._guest(i, vm, costs[i], p, vm_memory) for i, (vm, p) in enumerate(zip(self.vms, measured))]
        self.neighbors: list[Runner] = []
        for j, p in enumerate(unmeasured):
            k = len(measured) + j
            nvm = self._vm_runner(k, p, costs[k], "neighbor", vcpu_pools)
            if cap_period_s is not None and p.cap > 0:
                self.sched.add_cap(nvm.entities, p.cap / 100.0 * cap_period_s)
            self.neighbors.append(nvm)
            for what in ("net", "disk"):
                self.backend(costs[k].backend_name(what), k)
            self.guests.append(self._guest(k, nvm, costs[k], p, vm_memory, primary=False))
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
                                  pin_base=self.sched.n - 1, pools=[self._backend_pool] if self._placed else None)
            self.backends["page scanner"] = self.scanner

    def _vm_runner(self, k: int, p: VmPlan, cost: Costing, kind: str, vcpu_pools: list[list[int]] | None) -> Runner:
        """The runner of VM ``k``'s vCPUs: what waking a halted vCPU costs (less within a halt-poll window)."""
        native = self.mode.is_native
        return Runner(self, p.name, f"host.{p.name}", kind, p.vcpus, p.weight,
                      wake_work=None if native else cost.wake(), pin_base=k * self.spec.vcpus, pins=p.pins,
                      poll=(KVM_HALT_POLL_S[0], cost.wake(polled=True)) if self.mode.halt_polls else None,
                      pools=vcpu_pools[k] if vcpu_pools is not None else None)

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
                    rate = Switches.fluid_share(self.sched.policy, self.sched.pools[p], n, same)
                    switches = rate * seconds
                    extra = int(round(switches * 1000))  # in thousandths of a switch
        if not extra and g.cow_work is None:
            return item
        # switches come at a rate per second of CPU, so they scale with the item as its own work does; copy-on-write
        # breaks come per unit, so their share of the work depends on the item's scale (which then keys the cache)
        key = (id(item.work), item.units, extra, id(g), item.scale if g.cow_work is not None else None)
        hit = self._extra_works.get(key)  # the entry keeps the work, so that its id is never another object's
        w = hit[1] if hit is not None and hit[0] is item.work else None
        if w is None:
            w = item.work
            if extra:
                sw = self._switch_work(owner)
                w = w.plus(sw, extra / 1000.0)
            if g.cow_work is not None:
                w = w.plus(g.cow_work, g.cow * item.units / item.scale)
            if len(self._extra_works) < 4096:
                self._extra_works[key] = (item.work, w)
        return Item(w, item.done, item.units, item.then, item.scale)

    def _switch_work(self, runner: Runner) -> Work:
        key = ("switch", id(runner))
        w = self._extra_works.get(key)
        if w is None:
            g = runner.guest
            assert g is not None
            others = [p for p in self.plans if p is not g.plan]
            # the other VM most vCPUs of the pool run (the fluid engine has no CPU identities), and what every other
            # VM's vCPUs touch on a CPU between two runs of this one (they take turns on the pool's CPUs)
            other = max(others, key=lambda p: p.vcpus).workload if others else None
            cpus = len(self.pool_cpus[self._pool_index(runner.entities[0])])
            displaced = sum(p.vcpus * touched_bytes(p.workload, self.hw) for p in others) / cpus
            w = self._extra_works[key] = switch_work(g.cost, self.hw, self.freq, other, displaced)
        return w

    # -- backends --------------------------------------------------------------------------------
    def backend(self, name: str | None, vm: int) -> Runner | None:
        """The runner of backend ``name`` serving VM ``vm`` (created on first use)."""
        if name is None:
            return None
        placed, backend = self._placed, backend_named(name)
        n = backend.threads(self.spec)  # dom0's vCPUs, one vhost worker per virtio-net queue pair, or one thread
        if backend.shared:
            if name not in self._shared:
                label = backend.label_for(vm)
                r = Runner(self, label, f"host.{name}", "backend", n, DEFAULT_WEIGHT[0], pin_base=self.sched.n - n,
                           pools=[self._backend_pool] * n if placed else None)
                self._shared[name] = r
                self.backends[label] = r
            return self._shared[name]
        key = (vm, name)
        if key not in self.per_vm_backend:
            label = backend.label_for(vm)
            r = Runner(self, label, f"host.vm{vm}.{name}", "backend", n, DEFAULT_WEIGHT[0],
                       pin_base=(self.spec.vms * self.spec.vcpus + vm) % max(1, self.sched.n),
                       pools=[self._backend_pool] * n if placed else None)
            if backend.blocks_on_disk:
                r.lock = simpy.Resource(self.env, capacity=n)
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
