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

from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

from ..inputs.resolve import Resolved
from ..inputs.workloads import Workload
from . import drivers
from .costing import Costing
from .devices import DISK_SERVERS, Device
from .params import DEFAULT_WEIGHT, KVM_HALT_POLL_S
from .scheduler import Activity, Entity, Item, Scheduler, policy_for
from .work import IDLE, QUEUEING, Work

__all__ = ["Host", "Runner", "Guest", "SHARED_BACKENDS"]

#: Backends shared by every VM of the host, with their label in results
SHARED_BACKENDS = {"dom0": "dom0", "root": "root partition", "host": "host OS"}
#: The seed stream of a host, distinct from other uses of the spec's seed
_HOST_STREAM = 0x6876


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
        unit = "vcpu" if kind == "vcpu" else "thread"
        for i in range(n):
            ent = Entity(f"{name}.{unit}{i}", f"{scope}.{unit}{i}", kind, weight,
                         pin=(pin_base + i) if host.spec.pin else None)
            ent.acct[IDLE] = host.env.now  # an entity created late was not running before
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

    def _loop(self, ent: Entity):
        env, host = self.host.env, self.host
        waking = False
        while True:
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
                if not self.queue:
                    continue
            item = self.queue.popleft()
            if waking and self.wake_work is not None:
                wake = self.poll[1] if polled and self.poll is not None else self.wake_work
                yield from host.sched.execute(ent, Item(wake), host.freq, waking=True)
                waking = False
            yield from host.sched.execute(ent, item, host.freq, waking=waking)
            waking = False
            if item.done is not None:
                item.done.succeed()

    def flush(self, now: float, freq: float) -> None:
        """Account the state each entity is in at the end of the run."""
        for ent in self.entities:
            act = ent.activity
            dt = now - act.since
            if dt <= 0:
                continue
            if act.state == "running" and act.item is not None and act.seconds > 0:
                ent.account(act.item.work, dt / act.seconds, freq)
                ent.units += act.item.units * dt / act.seconds
                self.host.sched._busy(self.host.sched.pool_of(ent), dt)
            elif act.state in (IDLE, QUEUEING):
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

    def __init__(self, resolved: Resolved, trace_s: float = 0.0) -> None:
        spec, hw, mode, wl = resolved.spec, resolved.hw, resolved.mode, resolved.workload
        self.spec, self.hw, self.mode, self.wl, self.duration = spec, hw, mode, wl, resolved.duration
        self.env = simpy.Environment()
        self.freq = hw.val("freq_ghz") * 1e9
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, _HOST_STREAM]))
        policy = policy_for(mode.scheduler)
        capped = bool(spec.caps) and any(c > 0 for c in spec.caps or ()) and policy.enforces_caps
        self.sched = Scheduler(self.env, spec.pcpus or hw.pcpus, policy, spec.pin, capped=capped)
        if trace_s > 0:
            self.sched.trace, self.sched.trace_until = [], trace_s
        self.cost = Costing(hw, mode, wl)
        self.latencies: list[tuple[int, float, float]] = []  # (vm, start, latency)
        self.requests_done = 0
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
        for neighbour in resolved.neighbours:
            ncost = Costing(hw, mode, neighbour)
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
                label = SHARED_BACKENDS[name]
                r = Runner(self, label, f"host.{name}", "backend", n, DEFAULT_WEIGHT[0], pin_base=self.sched.n - n)
                self._shared[name] = r
                self.backends[label] = r
            return self._shared[name]
        key = (vm, name)
        if key not in self.per_vm_backend:
            label = f"vm{vm} {name}"
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

    # -- running -----------------------------------------------------------------------------------
    def run(self) -> int:
        """Run to the duration; returns the number of SimPy events processed."""
        drivers.start(self)
        env, end, n = self.env, self.duration, 0
        horizon = env.timeout(end)
        step = env.step
        while not horizon.processed:
            step()
            n += 1
        for r in self.vms + self.neighbors + list(self.backends.values()):
            r.flush(end, self.freq)
        return n
