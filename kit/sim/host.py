"""The SimPy model of a virtualized host.

Physical CPUs are a :class:`~kit.sim.scheduler.Scheduler` under a policy. Every thing that needs a CPU is an
:class:`~kit.sim.scheduler.Entity`: guest vCPUs and backend threads (Xen's dom0 vCPUs running netback and
blkback, vhost workers, QEMU I/O threads, the host OS of a hosted VMM, Hyper-V's root partition). Entities are
grouped in :class:`Runner` s that share a queue of work: a VM's vCPUs share the guest's run queue, dom0's vCPUs
share its backend queue. Work is charged analytically in bulk (:mod:`kit.sim.costing`); the discrete events
are the ones where ordering or contention matters: scheduling, wakeups, I/O batches, backend jobs, device
service and interrupts. The workload drivers (:mod:`kit.sim.drivers`) make the guests work.

Every entity's time is accounted exactly: busy time by category (guest user, guest kernel, each exit reason,
page walks, hypervisor, emulation, backend, device service), queueing for a physical CPU, and idle, adding up to
the simulated duration.
"""
from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from ..inputs.resolve import Resolved
from ..inputs.spec import Spec
from ..inputs.workloads import Workload
from . import drivers
from .compositions import costing_for
from .costing import Costing
from .devices import DISK_SERVERS, Device
from .params import DEFAULT_WEIGHT, KVM_HALT_POLL_S
from .fluid import FluidScheduler
from .scheduler import Activity, Entity, Item, Policy, Scheduler, policy_for
from .stopping import STOP_KINDS, LatencyLog, NoLatencyLog, Stopper
from .work import IDLE, PAUSED, QUEUEING, Work

#: A running host reports its simulated time to ``on_progress`` once every this many events plus one (a bit mask)
PROGRESS_EVERY = 4095

__all__ = ["Host", "Runner", "Guest", "SHARED_BACKENDS", "scheduler_for", "contended", "has_closed_form",
           "backend_label"]

#: Backends shared by every VM of the host, with their label in results
SHARED_BACKENDS = {"dom0": "dom0", "root": "root partition", "host": "host OS"}
#: The seed stream of a host, distinct from other uses of the spec's seed
_HOST_STREAM = 0x6876


def contended(spec: Spec, pcpus: int, costs: list[Costing]) -> bool:
    """Whether two entities of the host (vCPUs, backend threads) may ever want the same physical CPU.

    ``costs`` holds the costing of each VM (the measured ones, then the neighbour), which names its backends.
    Entities are counted as :class:`Host` creates them: with pinning, per physical CPU; otherwise per host.
    """
    n = max(1, pcpus)
    pins = [i * spec.vcpus + j for i in range(spec.vms) for j in range(spec.vcpus)]
    if len(costs) > spec.vms:  # the neighbour
        pins += [spec.vms * spec.vcpus + j for j in range(spec.neighbor_vcpus)]
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


def backend_label(name: str, vm: int) -> str:
    """How results name backend ``name`` serving VM ``vm`` (a shared backend has one name for all VMs)."""
    return SHARED_BACKENDS[name] if name in SHARED_BACKENDS else f"vm{vm} {name}"


def has_closed_form(resolved: Resolved, trace_s: float = 0.0) -> bool:
    """Whether the run's answer is a closed form: nothing contends and nothing waits.

    CPU-bound guests without I/O (so backends and devices stay idle and vCPUs never sleep), no cap, no neighbour,
    and a physical CPU for every vCPU: each vCPU then runs its units back to back at full speed for the whole
    duration, and the expected result is the unit's cost times the number of units that fit (``Host.closed_form``).
    """
    spec, wl = resolved.spec, resolved.workload
    if spec.engine != "hybrid" or trace_s > 0 or resolved.neighbours:
        return False
    if wl.kind != "cpu" or wl.per_unit.disk_ops or (spec.caps and any(c > 0 for c in spec.caps)):
        return False
    if policy_for(resolved.mode.scheduler).requires_slices():
        return False
    return spec.vms * spec.vcpus <= (spec.pcpus or resolved.hw.pcpus)


def scheduler_for(engine: str, policy: Policy) -> type[Scheduler] | type[FluidScheduler]:
    """The scheduler class of an engine: the discrete one where asked, or where the policy's outcomes depend on
    slice boundaries (:meth:`Policy.requires_slices`); the fluid one otherwise."""
    if engine == "discrete" or policy.requires_slices():
        return Scheduler
    return FluidScheduler


class Runner:
    """Entities sharing one queue of work: a VM's vCPUs, or a backend's threads."""

    def __init__(self, host: Host, name: str, scope: str, kind: str, n: int, weight: float,
                 wake_work: Work | None = None, pin_base: int = 0, poll: tuple[float, Work] | None = None) -> None:
        self.host, self.name, self.scope, self.kind = host, name, scope, kind
        self.queue: deque[Item] = deque()
        self.waiters: list[simpy.Event] = []
        self.wake_work = wake_work
        #: (seconds, work): a wakeup within the halt-poll window costs this instead
        self.poll = poll
        self.entities: list[Entity] = []
        #: while set, the runner's entities take no new work (a paused VM); fires when it resumes
        self.gate: simpy.Event | None = None
        unit = "vcpu" if kind == "vcpu" else "thread"
        for i in range(n):
            ent = Entity(f"{name}.{unit}{i}", f"{scope}.{unit}{i}", kind, weight,
                         pin=(pin_base + i) if host.spec.pin else None)
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
        while True:
            if self.gate is not None:
                yield from self._held(ent)
                waking, polled = True, False
                continue
            if not self.queue:
                host.sched.release(ent)
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
                if not self.queue or self.gate is not None:
                    continue
            item = self.queue.popleft()
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

    def take(self) -> Item | None:
        """The next queued item, if any (for a scheduler that chains a runner's items)."""
        return self.queue.popleft() if self.queue else None

    def flush(self, now: float, freq: float) -> None:
        """Account the state each entity is in at the end of the run."""
        for ent in self.entities:
            act = ent.activity
            dt = now - act.since
            if dt <= 0:
                continue
            if act.state == "running" and self.host.sched.flush(ent, now, freq):
                pass
            elif act.state in (IDLE, QUEUEING, PAUSED):
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


class Host:
    """One simulated host running ``vms`` identical VMs under a mode, and optionally a neighbour VM running
    another workload (for isolation studies)."""

    def __init__(self, resolved: Resolved, trace_s: float = 0.0, latencies: bool = True) -> None:
        spec, hw, mode, wl = resolved.spec, resolved.hw, resolved.mode, resolved.workload
        self.spec, self.hw, self.mode, self.wl, self.duration = spec, hw, mode, wl, resolved.duration
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
        capped = bool(spec.caps) and any(c > 0 for c in spec.caps or ()) and policy.enforces_caps
        self.cost = costing_for(hw, mode, wl)
        pcpus = spec.pcpus or hw.pcpus
        ncosts = [costing_for(hw, mode, n) for n in resolved.neighbours]
        slices = (trace_s > 0 or policy.requires_slices()
                  or (any(drivers.blocks(w) for w in (wl, *resolved.neighbours))
                      and contended(spec, pcpus, [self.cost] * spec.vms + ncosts)))
        engine = scheduler_for("discrete" if slices else spec.engine, policy)
        self.sched: Scheduler | FluidScheduler = engine(self.env, pcpus, policy, spec.pin, capped=capped)
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
        # VMs and backends
        weights = spec.weights or (DEFAULT_WEIGHT[0],) * spec.vms
        wake = None if mode.is_native else self.cost.wake()
        poll = ((KVM_HALT_POLL_S[0], self.cost.wake(polled=True))
                if mode.family == "kvm" and mode.cpu in ("hvm", "pvh") else None)
        self.vms = [Runner(self, f"vm{i}", f"host.vm{i}", "vcpu", spec.vcpus, weights[i], wake_work=wake,
                           pin_base=i * spec.vcpus, poll=poll) for i in range(spec.vms)]
        if capped:
            for vm, cap in zip(self.vms, spec.caps or ()):
                if cap > 0:
                    self.sched.add_cap(vm.entities, cap / 100.0 * policy.period_s)
        self.backends: dict[str, Runner] = {}
        self._shared: dict[str, Runner] = {}
        self.per_vm_backend: dict[tuple[int, str], Runner] = {}
        # backends exist from the start (dom0 boots before its guests)
        for i in range(spec.vms):
            for what in ("net", "disk"):
                self.backend(self.cost.backend_name(what), i)
        self.guests = [Guest(i, vm, self.cost, wl) for i, vm in enumerate(self.vms)]
        self.neighbors: list[Runner] = []
        for neighbour, ncost in zip(resolved.neighbours, ncosts):
            k = spec.vms
            nvm = Runner(self, "neighbor", "host.neighbor", "neighbor", spec.neighbor_vcpus, DEFAULT_WEIGHT[0],
                         wake_work=None if mode.is_native else ncost.wake(), pin_base=k * spec.vcpus,
                         poll=((KVM_HALT_POLL_S[0], ncost.wake(polled=True)) if poll else None))
            self.neighbors.append(nvm)
            for what in ("net", "disk"):
                self.backend(ncost.backend_name(what), k)
            self.guests.append(Guest(k, nvm, ncost, neighbour, primary=False))

    # -- backends --------------------------------------------------------------------------------
    def backend(self, name: str | None, vm: int) -> Runner | None:
        """The runner of backend ``name`` serving VM ``vm`` (created on first use)."""
        if name is None:
            return None
        if name in SHARED_BACKENDS:
            if name not in self._shared:
                n = self.spec.dom0_vcpus if name in ("dom0", "root") else 1
                label = backend_label(name, vm)
                r = Runner(self, label, f"host.{name}", "backend", n, DEFAULT_WEIGHT[0], pin_base=self.sched.n - n)
                self._shared[name] = r
                self.backends[label] = r
            return self._shared[name]
        key = (vm, name)
        if key not in self.per_vm_backend:
            label = backend_label(name, vm)
            n = self.spec.net_queues if name == "vhost" else 1  # one vhost worker per virtio-net queue pair
            r = Runner(self, label, f"host.vm{vm}.{name}", "backend", n, DEFAULT_WEIGHT[0],
                       pin_base=(self.spec.vms * self.spec.vcpus + vm) % max(1, self.sched.n))
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
        Returns 0, the number of SimPy events processed.
        """
        d = self.duration
        unit = self.cost.unit()
        units = d * self.freq / unit.total
        for vm in self.vms:
            for ent in vm.entities:
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

    def _watch(self, stopper: Stopper):
        while True:
            yield self.env.timeout(stopper.batch_s)
            stopper.check()

    def run(self) -> int:
        """Run to the duration, or until the metric is known to ``spec.precision`` (request and I/O workloads);
        returns the number of SimPy events processed. ``duration`` becomes the time simulated, ``stop_reason``
        says why it ended and ``stopper`` holds the batch means."""
        drivers.start(self)
        env, end, n = self.env, self.duration, 0
        if self.wl.kind in STOP_KINDS and self.spec.precision is not None:
            self.stopper = Stopper(self.progress, end, self.spec.precision)
            env.process(self._watch(self.stopper))
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
