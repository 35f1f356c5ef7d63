"""What runs on a host's CPUs: :class:`Runner` s, entities sharing one queue of work (a VM's vCPUs share the
guest's run queue, a backend's threads its queue of jobs), each entity's loop of taking work, running it on the
scheduler, halting and being paused; and :class:`Guest`, one VM with its workload's costs. The
:class:`~kit.sim.host.Host` builds them and answers their questions (what a switch costs, whether a mechanism
watches an entity).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import simpy

from ..inputs.resolve import VmPlan
from ..inputs.workloads import Workload
from .entities import Activity, Entity, Item
from .locks import WAIT_STATES
from .mode_costs import Costing
from .overcommit import VmMemory
from .work import IDLE, PAUSED, QUEUEING, Work

__all__ = ["Runner", "Guest"]


class Runner:
    """Entities sharing one queue of work: a VM's vCPUs, or a backend's threads, on ``host`` (the
    :class:`~kit.sim.host.Host` that builds them and that they ask what a mechanism changes)."""

    def __init__(self, host: Any, name: str, scope: str, kind: str, n: int, weight: float,
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
        #: a backend whose one thread blocks in system calls: held by each piece of its work and through a blocking
        #: disk request (:meth:`blocking`), so nothing else it serves runs meanwhile (None: it never blocks)
        self.lock: simpy.Resource | None = None
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

    def run(self, work: Work, units: float = 0.0, scale: float = 1.0):
        """Submit ``scale`` times ``work`` (completing ``units`` workload units) and wait for it (a generator for
        ``yield from``)."""
        done = self.host.env.event()
        if self.lock is not None:
            with self.lock.request() as req:
                yield req
                self.submit(Item(work, done, units, scale=scale))
                yield done
            return
        self.submit(Item(work, done, units, scale=scale))
        yield done

    def blocking(self, work: Work, device):
        """Run ``work``, then wait for ``device`` (a generator: the device serving the request) in the same
        system call, holding the runner's one thread: what a backend that blocks on the disk does."""
        assert self.lock is not None
        done = self.host.env.event()
        with self.lock.request() as req:
            yield req
            self.submit(Item(work, done))
            yield done
            yield from device

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
                host.sched.idle(ent)  # the CPU is given up at the end of the instant unless work comes
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
                    if host.sync is not None and ent.req is None:  # it lost its CPU with work left
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
