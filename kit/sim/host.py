"""The SimPy model of a virtualized host.

Physical CPUs are a scheduler over SimPy preemptive resources. Every thing that
needs a CPU is an :class:`Entity`: guest vCPUs and backend threads (Xen's dom0
vCPUs running netback and blkback, vhost workers, QEMU I/O threads, the host
OS of a hosted VMM, Hyper-V's root partition). Entities are grouped in
:class:`Runner` s that share a queue of :class:`Item` s of work: a VM's vCPUs
share the guest's run queue, dom0's vCPUs share its backend queue. Work is
charged analytically in bulk (:mod:`kit.unitcost`); the discrete events are
the ones where ordering or contention matters: scheduling, wakeups, I/O
batches, backend jobs, device service and interrupts.

Every entity's time is accounted exactly: busy time by category (guest user,
guest kernel, each exit reason, page walks, hypervisor, emulation, backend,
device service), queueing for a physical CPU, and idle, adding up to the
simulated duration.
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import simpy

from ..inputs.resolve import Resolved
from .params import CFS, CREDIT, KVM_HALT_POLL_S
from .costing import Costing, Work

__all__ = ["Host", "Entity", "Runner", "Item", "Device", "Scheduler", "ITEM_TARGET_S"]

#: Parallel servers of a disk: a spinning disk serves one request at a time; a flash device many
DISK_SERVERS = ({"hdd": 1, "flash": 16}, "estimated, because an NVMe SSD serves tens of requests in parallel across its channels while a disk head serves one; a profile whose random service time is under 1 ms is taken as flash")
#: Variation of one unit's work: gamma with shape k has CV 1/sqrt(k)
UNIT_WORK_CV = (0.3, "estimated, because per-request and per-compilation work varies by tens of percent around its mean in profiles of these benchmarks")

#: Guest work per scheduled item for CPU-bound threads: short units are batched to about this much
ITEM_TARGET_S = (1e-3, "estimated, because a millisecond is short against scheduler slices (0.75-30 ms) and long against the events it replaces")


@dataclass
class Item:
    """Work for a runner, and the event to fire when it is done."""

    work: Work
    done: simpy.Event | None = None
    units: float = 0.0  # workload units this item completes


class Entity:
    """Something that runs on physical CPUs: a vCPU or a backend thread."""

    def __init__(self, name: str, scope: str, kind: str, weight: float, pin: int | None = None):
        self.name, self.scope, self.kind, self.weight, self.pin = name, scope, kind, weight, pin
        self.acct: dict[str, float] = defaultdict(float)
        self.exits: dict[str, float] = defaultdict(float)
        self.exit_cycles: dict[str, float] = defaultdict(float)
        self.req = None
        self.credit = 0.0
        self.vruntime = 0.0
        self.slice_left = 0.0
        self.active_at = -1.0
        #: the capped group (a VM) this entity belongs to, or None
        self.cap_group = None
        self.units = 0.0
        # what the entity is doing now, for the final flush: (state, since, item, seconds)
        self.state: tuple = ("idle", 0.0, None, 0.0)

    def account(self, work: Work, frac: float, freq: float) -> None:
        for cat, c in work.cycles.items():
            self.acct[cat] += c / freq * frac
        for r, n in work.exits.items():
            self.exits[r] += n * frac
        for r, c in work.exit_cycles.items():
            self.exit_cycles[r] += c * frac


class _KeyedQueue(list):
    """A request queue kept in priority order by binary insertion.

    SimPy's default queue for priority resources re-sorts the whole list on every
    request; with hundreds of waiting vCPUs that dominated run time. This plugs
    into SimPy's documented ``PutQueue`` seam and keeps the same order (stable
    by request time within a priority).
    """

    def __init__(self, maxlen=None):
        super().__init__()
        self.maxlen = maxlen

    def append(self, item):
        if self.maxlen is not None and len(self) >= self.maxlen:
            raise RuntimeError("Cannot append event. Queue is full.")
        bisect.insort_right(self, item, key=_request_key)


def _request_key(req):
    return req.key


class _CpuPool(simpy.PreemptiveResource):
    PutQueue = _KeyedQueue


class Scheduler:
    """Physical CPUs shared by entities under a policy.

    ``credit`` follows Xen's credit scheduler: credits are handed out every
    30 ms in proportion to weight, debited by run time; entities with credit
    left (UNDER) run before those without (OVER); a waking entity with credit
    is BOOSTed and preempts; a running entity yields at the end of its 30 ms
    slice when others wait. ``cfs`` follows Linux CFS: the entity with the
    smallest weighted virtual runtime runs, for a slice of the scheduling
    latency divided among runnable entities, and a waking entity with a
    smaller virtual runtime preempts. ``fifo`` serves in arrival order.
    """

    BOOST, UNDER, OVER = 0, 1, 2

    def __init__(self, env: simpy.Environment, pcpus: int, policy: str, pin: bool):
        self.env, self.n, self.policy, self.pinned = env, pcpus, policy, pin
        self.pools = ([_CpuPool(env, capacity=1) for _ in range(pcpus)] if pin
                      else [_CpuPool(env, capacity=pcpus)])
        self.entities: list[Entity] = []
        self.slice_s = CREDIT["slice_ms"][0] / 1000.0
        self.tick_s = CREDIT["tick_ms"][0] / 1000.0
        self.period_s = self.tick_s * CREDIT["ticks_per_acct"][0]  # credits recomputed every 3 ticks
        self.busy = [0.0] * len(self.pools)
        self.next_period = env.event()
        #: (scope, state, start, end, guest_fraction) intervals before ``trace_until``
        self.trace: list | None = None
        self.trace_until = 0.0
        if policy == "credit":
            env.process(self._credit_accounting())

    def pool_of(self, ent: Entity):
        if self.pinned:
            return self.pools[(ent.pin or 0) % self.n]
        return self.pools[0]

    def _credit_accounting(self):
        while True:
            # credits go to active entities only (those that ran or waited in the last period)
            now = self.env.now
            queued = {id(r.proc_entity) for pool in self.pools for r in pool.queue}
            # at boot every vCPU starts with its share, so an I/O vCPU is UNDER (and boosted) from the start
            active = [e for e in self.entities
                      if now == 0.0 or e.req is not None or id(e) in queued or now - e.active_at <= self.period_s]
            total = sum(e.weight for e in active) or 1.0
            for e in active:
                grant = self.period_s * self.n * e.weight / total
                e.credit = min(e.credit + grant, self.period_s)
            # waiting vCPUs move between UNDER and OVER with their new credit
            for pool in self.pools:
                for r in pool.queue:
                    if r.priority != self.BOOST:
                        r.priority = self.UNDER if r.proc_entity.credit >= 0 else self.OVER
                        r.key = (r.priority, r.time, not r.preempt)
                pool.queue.sort(key=lambda r: r.key)
            for g in {id(e.cap_group): e.cap_group for e in self.entities if e.cap_group}.values():
                g["used"] = 0.0  # a capped VM's budget is renewed every accounting period
            ev, self.next_period = self.next_period, self.env.event()
            ev.succeed()
            yield self.env.timeout(self.period_s)

    def priority(self, ent: Entity, waking: bool) -> float:
        if self.policy == "credit":
            if ent.credit >= 0:  # Xen: UNDER while credit is not negative; a waking UNDER vCPU is boosted
                return self.BOOST if waking else self.UNDER
            return self.OVER
        if self.policy == "cfs":
            return ent.vruntime
        return 0

    def slice_for(self, ent: Entity, pool) -> float:
        if self.policy == "cfs":
            # CFS divides its latency among the tasks of one CPU's run queue
            runnable = (len(pool.users) + len(pool.queue)) / pool.capacity
            lat = CFS["latency_ms"][0] / 1000.0
            return max(CFS["min_granularity_ms"][0] / 1000.0, lat / max(1.0, runnable))
        return self.slice_s

    def charge(self, ent: Entity, dt: float) -> None:
        if self.policy == "credit":
            ent.credit -= dt
        elif self.policy == "cfs":
            ent.vruntime += dt * 256.0 / ent.weight

    def on_wake(self, ent: Entity, pool) -> None:
        if self.policy == "cfs":
            floor = min((u.proc_entity.vruntime for u in pool.users if hasattr(u, "proc_entity")), default=ent.vruntime)
            ent.vruntime = max(ent.vruntime, floor - CFS["latency_ms"][0] / 2000.0)

    def execute(self, ent: Entity, item: Item, freq: float, waking: bool = False):
        """Run ``item`` on a physical CPU for ``ent`` (a generator for ``yield from``)."""
        env = self.env
        seconds = item.work.total / freq
        remaining = seconds
        pool = self.pool_of(ent)
        ent.active_at = env.now
        while True:
            ent.active_at = env.now
            g = ent.cap_group
            while ent.req is None and g is not None and g["used"] >= g["quota"]:
                t0 = env.now  # capped: parked until the next accounting period (Xen credit cap)
                ent.state = ("queueing", t0, None, 0.0)
                yield self.next_period
                ent.acct["queueing"] += env.now - t0
            if ent.req is None:
                if waking:
                    self.on_wake(ent, pool)
                prio = self.priority(ent, waking)
                preempt = waking and self.policy in ("credit", "cfs") and (self.policy == "cfs" or prio == self.BOOST)
                req = pool.request(priority=prio, preempt=preempt)
                req.proc_entity = ent
                t0 = env.now
                ent.state = ("queueing", t0, None, 0.0)
                try:
                    yield req
                except simpy.Interrupt:
                    # granted and preempted by a higher-priority waker before this process resumed
                    ent.acct["queueing"] += env.now - t0
                    continue
                ent.acct["queueing"] += env.now - t0
                self.record(ent, "waiting", t0, env.now)
                ent.req = req
                ent.slice_left = self.slice_for(ent, pool)
                waking = False
            if remaining <= 0:
                break
            run = min(remaining, ent.slice_left)
            if self.policy == "credit":  # the OVER/UNDER decision is taken on 10 ms ticks
                boundary = (math.floor(env.now / self.tick_s + 1e-9) + 1) * self.tick_s
                run = min(run, max(boundary - env.now, 1e-9))
                if g is not None:
                    run = min(run, max(g["quota"] - g["used"], 1e-9))
                    g["used"] += run  # reserved now, so concurrent vCPUs of the VM see it
            t0 = env.now
            ent.state = ("running", t0, item, seconds)
            try:
                yield env.timeout(run)
                done = run
            except simpy.Interrupt:
                done = env.now - t0
                ent.req = None  # preempted: the resource already took the CPU away
            if g is not None and self.policy == "credit":
                g["used"] -= run - done  # give back what a preemption left unused
            if self.trace is not None and t0 < self.trace_until:
                self.record(ent, "backend" if ent.kind == "backend" else "running", t0, env.now, item.work)
            ent.account(item.work, done / seconds if seconds else 1.0, freq)
            ent.units += item.units * (done / seconds if seconds else 1.0)
            self._busy(pool, done)
            self.charge(ent, done)

            remaining -= done
            ent.slice_left -= done
            if ent.req is not None and ent.slice_left <= 1e-12:
                if pool.queue:
                    self.release(ent)
                else:
                    ent.slice_left = self.slice_for(ent, pool)
            elif (ent.req is not None and self.policy == "credit" and ent.credit < 0
                  and any(r.proc_entity.credit >= 0 for r in pool.queue)):
                self.release(ent)  # at a tick an OVER vCPU yields to a waiting UNDER one
            elif ent.req is not None and g is not None and g["used"] >= g["quota"]:
                self.release(ent)  # the VM used its cap for this period
            if remaining <= 1e-15:
                break
        ent.state = ("between", env.now, None, 0.0)

    def record(self, ent: Entity, state: str, start: float, end: float, work: Work | None = None) -> None:
        """Keep an interval for the timeline (only when tracing, only early in the run)."""
        if self.trace is None or start >= self.trace_until or end <= start:
            return
        gf = 1.0
        if work is not None and work.total > 0 and state == "running":
            guest = sum(v for k, v in work.cycles.items()
                        if k in ("guest user", "guest kernel", "memory stalls", "page walks"))
            gf = guest / work.total
        self.trace.append((ent.scope, state, start, end, gf))

    def _busy(self, pool, dt):
        self.busy[self.pools.index(pool) if self.pinned else 0] += dt

    def release(self, ent: Entity) -> None:
        if ent.req is not None:
            self.pool_of(ent).release(ent.req)
            ent.req = None


class Runner:
    """Entities sharing one queue of work: a VM's vCPUs, or a backend's threads."""

    def __init__(self, host: "Host", name: str, scope: str, kind: str, n: int, weight: float,
                 wake_work: Work | None = None, pin_base: int = 0, poll: tuple | None = None):
        self.host, self.name, self.scope, self.kind = host, name, scope, kind
        self.queue: deque[Item] = deque()
        self.waiters: list[simpy.Event] = []
        self.wake_work = wake_work
        #: (seconds, work): a wakeup within the halt-poll window costs this instead
        self.poll = poll
        self.entities = []
        for i in range(n):
            ent = Entity(f"{name}.{'vcpu' if kind == 'vcpu' else 'thread'}{i}",
                         f"{scope}.{'vcpu' if kind == 'vcpu' else 'thread'}{i}", kind, weight,
                         pin=(pin_base + i) if host.spec_pin else None)
            ent.acct["idle"] = host.env.now  # an entity created late was not running before
            ent.state = ("idle", host.env.now, None, 0.0)
            self.entities.append(ent)
            host.sched.entities.append(ent)
            host.env.process(self._loop(ent))

    def submit(self, item: Item, front: bool = False) -> None:
        (self.queue.appendleft if front else self.queue.append)(item)
        if self.waiters:
            self.waiters.pop(0).succeed()

    def run(self, work: Work):
        """Submit ``work`` and wait for it (a generator for ``yield from``)."""
        done = self.host.env.event()
        self.submit(Item(work, done))
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
                ent.state = ("idle", t0, None, 0.0)
                yield ev
                idle = env.now - t0
                ent.acct["idle"] += idle
                host.sched.record(ent, "idle", t0, env.now)
                waking = True
                polled = self.poll is not None and idle <= self.poll[0]
                if idle <= 0.0:  # work arrived at the instant the queue emptied: the vCPU never halted
                    waking = False
                if not self.queue:
                    continue
            item = self.queue.popleft()
            if waking and self.wake_work is not None:
                wake = self.poll[1] if polled else self.wake_work
                yield from host.sched.execute(ent, Item(wake), host.freq, waking=True)
                waking = False
            yield from host.sched.execute(ent, item, host.freq, waking=waking)
            waking = False
            if item.done is not None:
                item.done.succeed()

    def flush(self, now: float, freq: float) -> None:
        """Account the state each entity is in at the end of the run."""
        for ent in self.entities:
            state, since, item, seconds = ent.state
            dt = now - since
            if dt <= 0:
                continue
            if state == "running" and item is not None and seconds > 0:
                ent.account(item.work, dt / seconds, freq)
                ent.units += item.units * dt / seconds
                self.host.sched._busy(self.host.sched.pool_of(ent), dt)
            elif state in ("idle", "queueing"):
                ent.acct[state] += dt
            else:
                ent.acct["idle"] += dt
            ent.state = (state, now, item, seconds)


class Device:
    """A first-come first-served device queue (NIC direction or disk) with ``servers`` parallel servers.

    Because service is FCFS and its time is known on arrival, a request's
    completion time is computed when it arrives (it starts when the earliest
    server frees up), so each request costs one event instead of a resource's
    request, hold and release.
    """

    def __init__(self, env: simpy.Environment, name: str, servers: int = 1):
        self.env, self.name = env, name
        self.free_at = [0.0] * servers
        self.busy = 0.0
        self.served = 0
        self.servers = servers

    def serve(self, seconds: float):
        now = self.env.now
        k = min(range(self.servers), key=self.free_at.__getitem__) if self.servers > 1 else 0
        start = max(now, self.free_at[k])
        self.free_at[k] = start + seconds
        self.busy += seconds
        self.served += 1
        yield self.env.timeout(start + seconds - now)

    def busy_until(self, t: float) -> float:
        """Busy time counted up to ``t`` (service booked past the horizon is excluded)."""
        return self.busy - sum(max(0.0, f - t) for f in self.free_at)


@dataclass
class Guest:
    """One VM with its workload's costs; ``primary`` VMs are the ones the run measures."""

    i: int
    vm: Runner
    cost: Costing
    wl: object
    primary: bool = True
    bytes_done: float = 0.0


class Host:
    """One simulated host running ``vms`` identical VMs under a mode, and optionally a neighbour VM
    running another workload (for isolation studies)."""

    def __init__(self, resolved: Resolved, trace_s: float = 0.0):
        spec, hw, mode, wl = resolved.spec, resolved.hw, resolved.mode, resolved.workload
        neighbor = resolved.neighbours[0] if resolved.neighbours else None
        self.spec, self.hw, self.mode, self.wl, self.duration = spec, hw, mode, wl, resolved.duration
        self.env = simpy.Environment()
        self.freq = hw.val("freq_ghz") * 1e9
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0x6876]))
        self.spec_pin = spec.pin
        pcpus = spec.pcpus or hw.pcpus
        # native processes and every host OS run under CFS; Xen under credit (credit2 approximated by credit)
        policy = {"credit": "credit", "credit2": "credit", "cfs": "cfs", "host": "cfs", "hyperv": "cfs",
                  "none": "cfs"}.get(mode.scheduler, "fifo")
        self.sched = Scheduler(self.env, pcpus, policy, spec.pin)
        if trace_s > 0:
            self.sched.trace, self.sched.trace_until = [], trace_s
        self.cost = Costing(hw, mode, wl)
        self.latencies: list[tuple[int, float, float]] = []  # (vm, start, latency)
        self.requests_done = 0
        # devices
        p = hw.val
        self.nic_tx = Device(self.env, "nic.tx")
        self.nic_rx = Device(self.env, "nic.rx")
        self.disk = Device(self.env, "disk", servers=DISK_SERVERS[0]["hdd" if p("disk_service_ms") > 1.0 else "flash"])
        self.line_bps = p("nic_gbps") * 1e9
        self.wire_s = p("nic_latency_us") * 1e-6
        # VMs and backends
        weights = spec.weights or (256,) * spec.vms
        wake = None if mode.is_native else self.cost.wake()
        poll = ((KVM_HALT_POLL_S[0], self.cost.wake(polled=True))
                if mode.family == "kvm" and mode.cpu in ("hvm", "pvh") else None)
        self.vms = [Runner(self, f"vm{i}", f"host.vm{i}", "vcpu", spec.vcpus, weights[i], wake_work=wake,
                           pin_base=i * spec.vcpus, poll=poll) for i in range(spec.vms)]
        if spec.caps and policy == "credit":
            for vm, cap in zip(self.vms, spec.caps):
                if cap > 0:
                    group = {"used": 0.0, "quota": cap / 100.0 * self.sched.period_s}
                    for e in vm.entities:
                        e.cap_group = group
        self.backends: dict[str, Runner] = {}
        self._shared: dict[str, Runner] = {}
        self.per_vm_backend: dict[tuple[int, str], Runner] = {}
        # backends exist from the start (dom0 boots before its guests)
        for i in range(spec.vms):
            for what in ("net", "disk"):
                self.backend(self.cost.backend_name(what), i)
        self.guests = [Guest(i, vm, self.cost, wl) for i, vm in enumerate(self.vms)]
        self.neighbors: list[Runner] = []
        if neighbor is not None:
            ncost = Costing(hw, mode, neighbor)
            k = spec.vms
            nvm = Runner(self, "neighbor", "host.neighbor", "neighbor", spec.neighbor_vcpus, 256.0,
                         wake_work=None if mode.is_native else ncost.wake(), pin_base=k * spec.vcpus,
                         poll=((KVM_HALT_POLL_S[0], ncost.wake(polled=True)) if poll else None))
            self.neighbors.append(nvm)
            for what in ("net", "disk"):
                self.backend(ncost.backend_name(what), k)
            self.guests.append(Guest(k, nvm, ncost, neighbor, primary=False))

    # -- backends --------------------------------------------------------------------------------
    def backend(self, name: str | None, vm: int) -> Runner | None:
        if name is None:
            return None
        if name in ("dom0", "root", "host"):
            if name not in self._shared:
                n = self.spec.dom0_vcpus if name in ("dom0", "root") else 1
                label = {"dom0": "dom0", "root": "root partition", "host": "host OS"}[name]
                r = Runner(self, label, f"host.{name}", "backend", n, 256.0, pin_base=self.sched.n - n)
                self._shared[name] = r
                self.backends[label] = r
            return self._shared[name]
        key = (vm, name)
        if key not in self.per_vm_backend:
            label = f"vm{vm} {name}"
            r = Runner(self, label, f"host.vm{vm}.{name}", "backend", 1, 256.0,
                       pin_base=(self.spec.vms * self.spec.vcpus + vm) % max(1, self.sched.n))
            self.per_vm_backend[key] = r
            self.backends[label] = r
        return self.per_vm_backend[key]

    # -- workload drivers ------------------------------------------------------------------------
    def jitter(self, k: int = 1) -> float:
        """Multiplicative variation of the work of ``k`` units (gamma, mean 1, CV ``UNIT_WORK_CV`` per unit)."""
        shape = k / UNIT_WORK_CV[0] ** 2
        return float(self.rng.gamma(shape, 1 / shape))

    def start(self) -> None:
        for g in self.guests:
            wl, kind = g.wl, g.wl.kind
            if kind == "cpu":
                for _ in range(len(g.vm.entities) * wl.threads_per_vcpu):
                    self.env.process(self._cpu_thread(g))
            elif kind == "disk":
                for _ in range(wl.params.queue_depth):
                    self.env.process(self._disk_thread(g))
            elif kind == "stream":
                self.env.process(self._stream(g))
        for g0 in (self.guests[0], *(g for g in self.guests if not g.primary)):
            if g0.wl.kind == "request":
                primaries = [g for g in self.guests if g.primary] if g0.primary else [g0]
                for c in range(g0.wl.params.clients):
                    self.env.process(self._client(c, primaries[c % len(primaries)]))

    def _cpu_thread(self, g: Guest):
        env, u, vm = self.env, g.wl.per_unit, g.vm
        base = g.cost.unit()
        # units shorter than a millisecond run in batches: one item per ~1 ms of guest work
        k = max(1, int(math.ceil(ITEM_TARGET_S[0] * self.freq / max(base.total, 1.0))))
        batch = base.scaled(k)
        while True:
            done = env.event()
            vm.submit(Item(batch.scaled(self.jitter(k)), done, units=float(k)))
            yield done
            if u.disk_ops:
                n = self.rng.poisson(u.disk_ops * k)
                if g.wl.disk_sync:
                    for _ in range(n):
                        yield from self._disk_io(g)
                elif n:
                    # write-back: the block layer merges this item's writes into one request
                    env.process(self._disk_io(g, ops=n))

    def _disk_thread(self, g: Guest):
        vm = g.vm
        base = g.cost.unit()
        kick = g.cost.disk_guest()
        while True:
            t0 = self.env.now
            done = self.env.event()
            vm.submit(Item(base.scaled(self.jitter()).add(kick), done, units=0.0))
            yield done
            yield from self._disk_io(g, kicked=True)
            vm.entities[0].units += 1.0
            if g.primary:
                self.requests_done += 1
                self.latencies.append((g.i, t0, self.env.now - t0))

    def _disk_io(self, g: Guest, kicked: bool = False, ops: int = 1):
        c, vm = g.cost, g.vm
        if not kicked:
            yield from vm.run(c.disk_guest())
        be = self.backend(c.backend_name("disk"), g.i)
        if be is not None:
            yield from be.run(c.backend_disk())
        u = g.wl.per_unit
        hw = self.hw.val
        transfer = ops * u.disk_kb * 1024 / (hw("disk_mbps") * 1e6)
        # random requests pay a positioning time (exponential around the profile's mean); all pay the transfer
        position = self.rng.exponential(hw("disk_service_ms") / 1000.0) if g.wl.disk_random else 0.0
        yield from self.disk.serve(position + transfer)
        yield from vm.run(c.notify())

    def _stream(self, g: Guest):
        env, c, p, vm = self.env, g.cost, g.wl.params, g.vm
        seg = c.payload
        batch = max(1, int(p.window_kb * 1024 / 2 // seg))  # half a window per notification
        outstanding = simpy.Container(env, init=2, capacity=2)
        nbytes = batch * seg
        wire_bytes = batch * p.mtu
        unit = c.unit(kb=seg / 1024)
        acks = batch / 2  # one ACK per two segments
        if p.direction == "tx":
            guest = unit.scaled(batch).add(c.tx_guest(batch, nbytes)).add(c.rx_guest())
            while True:
                yield outstanding.get(1)
                done = env.event()
                vm.submit(Item(guest.scaled(self.jitter()), done, units=batch))
                yield done
                env.process(self._tx_batch(g, batch, nbytes, wire_bytes, acks, outstanding))
        else:
            guest = unit.scaled(batch).add(c.rx_guest()).add(c.tx_guest(1, 0))
            while True:
                yield outstanding.get(1)
                env.process(self._rx_batch(g, batch, nbytes, wire_bytes, guest, outstanding))

    def _tx_batch(self, g, npkts, nbytes, wire_bytes, acks, outstanding):
        c = g.cost
        be = self.backend(c.backend_name("net"), g.i)
        if be is not None and self.mode.io not in ("emulated", "hosted"):
            yield from be.run(c.backend_net(npkts, nbytes, "tx"))
        yield from self.nic_tx.serve(wire_bytes * 8 / self.line_bps)
        g.bytes_done += nbytes
        yield self.env.timeout(2 * self.wire_s)  # the window reopens when the ACKs are back
        yield outstanding.put(1)

    def _rx_batch(self, g, npkts, nbytes, wire_bytes, guest, outstanding):
        c, vm = g.cost, g.vm
        yield self.env.timeout(self.wire_s)
        yield from self.nic_rx.serve(wire_bytes * 8 / self.line_bps)
        be = self.backend(c.backend_name("net"), g.i)
        if be is not None:
            yield from be.run(c.backend_net(npkts, nbytes, "rx"))
        done = self.env.event()
        vm.submit(Item(guest.scaled(self.jitter()), done, units=npkts))
        yield done
        g.bytes_done += nbytes
        yield self.env.timeout(self.wire_s)
        yield outstanding.put(1)

    def _client(self, c: int, g: Guest):
        env, cost, p, vm, i = self.env, g.cost, g.wl.params, g.vm, g.i
        rx_pkts = max(1, math.ceil(p.request_bytes / cost.payload))
        tx_pkts = max(1, math.ceil(p.response_bytes / cost.payload))
        kb = (p.request_bytes + p.response_bytes) / 1024
        work = cost.unit(kb=kb).scaled(1).add(cost.rx_guest()).add(cost.tx_guest(tx_pkts, p.response_bytes))
        be = self.backend(cost.backend_name("net"), i)
        u = g.wl.per_unit
        while True:
            if p.think_us:
                yield env.timeout(self.rng.exponential(p.think_us * 1e-6))
            t0 = env.now
            yield env.timeout(self.wire_s)
            yield from self.nic_rx.serve((p.request_bytes + 52 * rx_pkts) * 8 / self.line_bps)
            if be is not None:
                yield from be.run(cost.backend_net(rx_pkts, p.request_bytes, "rx"))
            done = env.event()
            vm.submit(Item(work.scaled(self.jitter()), done, units=1.0))
            yield done
            if u.disk_ops and self.rng.random() < u.disk_ops:
                yield from self._disk_io(g)
            if be is not None and self.mode.io not in ("emulated", "hosted"):
                yield from be.run(cost.backend_net(tx_pkts, p.response_bytes, "tx"))
            yield from self.nic_tx.serve((p.response_bytes + 52 * tx_pkts) * 8 / self.line_bps)
            yield env.timeout(self.wire_s)
            if g.primary:
                self.requests_done += 1
                self.latencies.append((i, t0, env.now - t0))

    @property
    def bytes_done(self) -> float:
        """Payload bytes the measured (primary) VMs moved."""
        return sum(g.bytes_done for g in self.guests if g.primary)

    # -- running -----------------------------------------------------------------------------------
    def run(self) -> int:
        """Run to the duration; returns the number of SimPy events processed."""
        self.start()
        env, end, n = self.env, self.duration, 0
        horizon = env.timeout(end)
        step = env.step
        while not horizon.processed:
            step()
            n += 1
        for r in self.vms + self.neighbors + list(self.backends.values()):
            r.flush(end, self.freq)
        return n
