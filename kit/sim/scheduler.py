"""Physical CPUs and the discrete scheduler that shares them among entities (vCPUs and backend threads).

:class:`Scheduler` owns the CPUs (SimPy priority resources, one pool or one per CPU when pinned, or one per part of
a partition) and the loop that runs a piece of work on them: wait for a CPU, run until the work, the slice, the
policy's minimum run or a policy boundary ends, account, decide whether to keep the CPU. Preemption points are the
policy's, never the end of a piece of work: an entity that runs out of work holds its CPU until the end of the
instant (:meth:`Scheduler.idle`), so a guest thread that submits its next piece at once keeps its CPU and the rest
of its slice, and a preempted piece keeps its remainder. A waker takes a running entity's CPU when the policy says
it beats it (:meth:`Scheduler._victim`). What differs between schedulers is the
:class:`~kit.sim.policies.Policy`; what both engines share (pools by placement, cap groups renewed every period) is
:class:`CapsAndPools`.
"""
from __future__ import annotations

import bisect
from typing import Any

import simpy
from simpy.events import EventPriority
from simpy.resources.resource import Preempted

from .entities import WORK_DONE_S, Activity, CapGroup, Entity, Item, credit_units
from .policies import MIN_RUN_S, Policy, request_key, running_s
from .work import GUEST_CATEGORIES, QUEUEING, Work

__all__ = ["Scheduler", "CapsAndPools", "SLICE_DONE_S", "END_OF_INSTANT"]

#: A slice is used up when less than this remains.
SLICE_DONE_S = 1e-12
#: SimPy priority of an event that runs at the end of an instant (after every NORMAL event of the same time): the
#: fluid engine's rate recomputation, the discrete engine's release of CPUs whose entities found no new work
END_OF_INSTANT = EventPriority(2)


class _KeyedQueue(list):
    """A request queue kept in priority order by binary insertion.

    SimPy's default queue for priority resources re-sorts the whole list on every request; with hundreds of
    waiting vCPUs that dominated run time. This plugs into SimPy's documented ``PutQueue`` seam and keeps the
    same order (stable by request time within a priority).
    """

    def __init__(self, maxlen: int | None = None) -> None:
        super().__init__()
        self.maxlen = maxlen

    def append(self, item: Any) -> None:
        if self.maxlen is not None and len(self) >= self.maxlen:
            raise RuntimeError("Cannot append event. Queue is full.")
        bisect.insort_right(self, item, key=request_key)


class _CpuPool(simpy.PriorityResource):
    """CPUs whose queue is kept in priority order; preemption is the scheduler's (:meth:`Scheduler._preempt`), as
    the policy decides it on running entities' current standing, not on the priority they queued with."""

    PutQueue = _KeyedQueue  # type: ignore[assignment]  # SimPy's documented seam for the queue class


class CapsAndPools:
    """What both schedulers (this discrete one and the fluid one) share: CPU pools by placement, and cap groups
    renewed every policy period. Needs ``env``, ``pools``, ``n``, ``partition``, ``pinned``, ``caps`` and
    ``next_period``."""

    env: simpy.Environment
    pools: list
    n: int
    partition: Any
    pinned: bool
    caps: list[CapGroup]
    next_period: simpy.Event

    def add_cap(self, entities: list[Entity], quota_s: float) -> CapGroup:
        """Limit ``entities`` together to ``quota_s`` seconds of CPU per policy period."""
        group = CapGroup(quota_s)
        for e in entities:
            e.cap_group = group
        self.caps.append(group)
        return group

    def renew_caps(self) -> None:
        """A new period: every capped group's budget is renewed and parked entities may run."""
        for g in self.caps:
            g.used_s = 0.0
        ev, self.next_period = self.next_period, self.env.event()
        ev.succeed()

    def pool_of(self, ent: Entity) -> Any:
        """The pool of CPUs ``ent`` runs on: its partition's, its pinned CPU's, or the host's one pool."""
        if self.partition is not None:
            return self.pools[ent.pool or 0]
        if self.pinned:
            return self.pools[(ent.pin or 0) % self.n]
        return self.pools[0]


class Scheduler(CapsAndPools):
    """Physical CPUs shared by entities under a :class:`Policy`."""

    engine = "discrete"

    def __init__(self, env: simpy.Environment, pcpus: int, policy: Policy, pin: bool, capped: bool = False,
                 partition: list[tuple[int, ...]] | None = None) -> None:
        self.env, self.n, self.policy, self.pinned = env, pcpus, policy, pin
        #: the CPUs of each pool when the host partitions them (entities then name their pool); None: by ``pin``
        self.partition = partition
        if partition is not None:
            self.pools = [_CpuPool(env, capacity=len(cpus)) for cpus in partition]
            self.pinned = True  # busy time per pool
        else:
            self.pools = ([_CpuPool(env, capacity=1) for _ in range(pcpus)] if pin
                          else [_CpuPool(env, capacity=pcpus)])
        #: the host's mechanisms that watch the scheduler (VM switches, guest synchronization), or None
        self.hooks: Any = None
        self.entities: list[Entity] = []
        self.busy = [0.0] * len(self.pools)
        #: fires when capped budgets are renewed
        self.next_period = env.event()
        self.caps: list[CapGroup] = []
        #: whether caps will be added (the policy then runs its periods)
        self.capped = capped
        #: (scope, state, start, end, guest_fraction) intervals before ``trace_until``
        self.trace: list | None = None
        self.trace_until = 0.0
        #: entities holding a CPU with no work, released at the end of the instant unless work came
        self._idle: list[Entity] = []
        policy.start(self)

    def idle(self, ent: Entity) -> None:
        """``ent`` has run out of work: it keeps its CPU until the end of the instant, and gives it up then unless
        it got work again (a guest thread that finishes a piece and submits the next one never left the CPU)."""
        if ent.req is None or ent.idle_pending:
            return
        ent.idle_pending = True
        if not self._idle:
            ev = simpy.Event(self.env)
            ev.callbacks.append(self._end_of_instant)
            ev._ok, ev._value = True, None
            self.env.schedule(ev, END_OF_INSTANT)
        self._idle.append(ent)

    def _end_of_instant(self, _event: Any) -> None:
        idle, self._idle = self._idle, []
        for ent in idle:
            if ent.idle_pending:
                self.release(ent)

    def execute(self, ent: Entity, item: Item, freq: float, waking: bool = False):
        """Run ``item`` on a physical CPU for ``ent`` (a generator for ``yield from``).

        Wait for a CPU (or keep the one held), run until the work, the slice, the policy's minimum run or a policy
        boundary ends, account, decide whether to keep the CPU; repeat until the item is done.
        """
        env, policy = self.env, self.policy
        seconds = item.work.total * item.scale / freq
        remaining = seconds
        pool = self.pool_of(ent)
        if ent.idle_pending:  # new work in the instant it ran out: it keeps its CPU, unless a waker beat it meanwhile
            ent.idle_pending = False
            if pool.queue and pool.queue[0].preempt and pool.queue[0].time == env.now and self._beaten(ent, pool):
                self.release(ent, preempted=True)
        while True:
            ent.active_at = env.now
            group = ent.cap_group
            while ent.req is None and group is not None and group.used_s >= group.quota_s:
                t0 = env.now  # capped: parked until the next period
                ent.activity = Activity(QUEUEING, t0)
                yield self.next_period
                ent.acct[QUEUEING] += env.now - t0
            if ent.req is None:
                granted = yield from self._wait_for_cpu(ent, pool, waking)
                if not granted:
                    continue
                waking = False
                hooks = self.hooks
                if hooks is not None:
                    switch = hooks.granted(ent, pool)
                    if switch is not None:  # a switch between VMs: the incoming vCPU reloads its state first
                        yield from self._reload(ent, switch, freq, pool)
                        if ent.req is None:
                            continue
            if remaining <= 0:
                credit_units(ent, item, 0.0, finished=True)
                break
            run = policy.clip_run(env.now, min(remaining, ent.slice_left))
            mark = ent.granted_at + policy.min_run_s - env.now
            at_mark = 0.0 < mark <= run
            if at_mark:
                run = mark  # the policy looks at the queue once the minimum run is over
            stall = None
            if self.hooks is not None and item.units > 0:
                stall = self.hooks.stall_at(ent, run)  # guest synchronization: a wait met during this run
                if stall is not None and stall < run:
                    run, at_mark = stall, False
            if group is not None:
                quota = max(group.quota_s - group.used_s, MIN_RUN_S)
                if quota < run:
                    run, at_mark = quota, False
                group.used_s += run  # reserved now, so concurrent vCPUs of the VM see it
            done = yield from self._run(ent, item, seconds, run)
            if group is not None:
                group.used_s -= run - done  # give back what a preemption left unused
            remaining -= done
            if item.until is not None and item.until.triggered:
                remaining = 0.0  # what it waited for happened: the rest of the item is not needed
            self._account(ent, item, seconds, freq, pool, done, finished=remaining <= WORK_DONE_S)
            ent.slice_left -= done
            self._decide(ent, pool, group, at_mark and done >= run)
            if stall is not None and self.hooks is not None:
                if done >= stall * (1.0 - 1e-12):
                    yield from self.hooks.wait(ent, self, freq)
                else:
                    self.hooks.cancel(ent)
            if remaining <= WORK_DONE_S:
                break
        ent.activity = Activity("between", env.now)

    def _reload(self, ent: Entity, work: Work, freq: float, pool: Any):
        """Run ``work`` (a VM switch and the working set's reload) on the CPU just granted."""
        seconds = work.total / freq
        if seconds <= WORK_DONE_S:
            return
        item = Item(work)
        done = yield from self._run(ent, item, seconds, seconds)
        self._account(ent, item, seconds, freq, pool, done, finished=False)  # no units: nothing to credit
        ent.slice_left -= done

    def flush(self, ent: Entity, now: float, freq: float) -> bool:
        """Account the part of its item that a running ``ent`` did since its last run began; False if none."""
        act = ent.activity
        dt = now - act.since
        if act.item is None or act.seconds <= 0:
            return False
        ent.account(act.item.work, dt / act.seconds * act.item.scale, freq)
        credit_units(ent, act.item, dt / act.seconds)  # the running item is unfinished
        self._busy(self.pool_of(ent), dt)
        return True

    def _wait_for_cpu(self, ent: Entity, pool: Any, waking: bool):
        """Queue for a CPU (a waker first takes the CPU of a running entity it beats); False when the grant was
        preempted before this process resumed."""
        env, policy = self.env, self.policy
        if waking:
            policy.on_wake(ent, pool)
        prio = policy.priority(ent, waking)
        if waking and len(pool.users) >= pool.capacity and policy.preempts(prio, True):
            victim = self._victim(ent, prio, pool)
            if victim is not None:
                self._preempt(victim, pool)
        req = pool.request(priority=prio, preempt=waking)
        req.proc_entity = ent
        t0 = env.now
        ent.activity = Activity(QUEUEING, t0)
        try:
            yield req
        except simpy.Interrupt:
            # granted and preempted by a waker before this process resumed
            ent.acct[QUEUEING] += env.now - t0
            return False
        ent.acct[QUEUEING] += env.now - t0
        self.record(ent, "waiting", t0, env.now)
        ent.req = req
        ent.granted_at = env.now
        ent.slice_left = policy.run_limit(ent, pool)
        return True

    def _victim(self, waker: Entity, prio: float, pool: Any) -> Any:
        """The request of the running entity a waker of priority ``prio`` preempts now: of those it beats and that
        have run the policy's minimum since they got their CPU, the one of worst standing (None: none). One it beats
        that has not run its minimum meets the waker in the queue when it has."""
        policy, now = self.policy, self.env.now
        worst, victim = None, None
        for u in pool.users:
            ent = u.proc_entity
            if ent.activity.state != "running" or now - ent.granted_at < policy.min_run_s - MIN_RUN_S:
                continue
            standing = policy.standing(ent, running_s(ent, now))
            if policy.beats(waker, prio, standing) and (worst is None or standing > worst):
                worst, victim = standing, u
        return victim

    def _beaten(self, ent: Entity, pool: Any) -> bool:
        """Whether the first queued entity takes the CPU of ``ent`` (charged, not running) at a policy point."""
        head = pool.queue[0]
        return self.policy.beats(head.proc_entity, self.policy.priority(head.proc_entity, False),
                                 self.policy.standing(ent, 0.0))

    def _preempt(self, req: Any, pool: Any) -> None:
        """Take the CPU of the request ``req`` away (its process is interrupted in its run, as SimPy preempts)."""
        pool.users.remove(req)
        req.proc.interrupt(Preempted(by=self.env.active_process, usage_since=req.usage_since, resource=pool))

    def _run(self, ent: Entity, item: Item, seconds: float, run: float):
        """Hold the CPU for ``run`` seconds; the seconds actually run (less when preempted)."""
        env = self.env
        t0 = env.now
        ent.activity = Activity("running", t0, item, seconds)
        try:
            if item.until is None:
                yield env.timeout(run)
                done = run
            else:
                yield env.timeout(run) | item.until
                done = min(run, env.now - t0)
        except simpy.Interrupt:
            done = env.now - t0
            ent.req = None  # preempted: the scheduler already took the CPU away
            self.policy.descheduled(ent, env.now - ent.granted_at)
            if self.hooks is not None:
                self.hooks.released(ent, preempted=True)
        if self.trace is not None and t0 < self.trace_until:
            self.record(ent, "backend" if ent.kind == "backend" else "running", t0, env.now, item.work)
        return done

    def _account(self, ent: Entity, item: Item, seconds: float, freq: float, pool: Any, done: float,
                 finished: bool) -> None:
        frac = done / seconds if seconds else 1.0
        ent.account(item.work, frac * item.scale, freq)
        credit_units(ent, item, frac, finished)
        self._busy(pool, done)
        self.policy.charge(ent, done)

    def _decide(self, ent: Entity, pool: Any, group: CapGroup | None, at_mark: bool) -> None:
        """After a run: keep the CPU, or give it up (the slice ended and the policy picks another, a waker held
        back by the minimum run beats it, the cap is used)."""
        if ent.req is None:
            return
        policy, now = self.policy, self.env.now
        policy.ran(ent, now)
        if ent.slice_left <= SLICE_DONE_S or (pool.queue and policy.tick_resched(ent, pool, now - ent.granted_at,
                                                                                  now)):
            if pool.queue and not policy.keeps_cpu(ent, pool.queue[0].proc_entity):
                self.release(ent, preempted=True)
            else:  # picked again: a new slice
                ent.granted_at = now
                ent.slice_left = policy.run_limit(ent, pool)
        elif at_mark and pool.queue and pool.queue[0].preempt and self._beaten(ent, pool):
            self.release(ent, preempted=True)  # a waker that came during the minimum run takes the CPU now
        elif group is not None and group.used_s >= group.quota_s:
            self.release(ent, preempted=True)  # the VM used its cap for this period

    def record(self, ent: Entity, state: str, start: float, end: float, work: Work | None = None) -> None:
        """Keep an interval for the timeline (only when tracing, only early in the run)."""
        if self.trace is None or start >= self.trace_until or end <= start:
            return
        gf = 1.0
        if work is not None and work.total > 0 and state == "running":
            guest = sum(v for k, v in work.cycles.items() if k in GUEST_CATEGORIES)
            gf = guest / work.total
        self.trace.append((ent.scope, state, start, end, gf, ent.cpu if state in ("running", "backend") else -1))

    def _busy(self, pool: Any, dt: float) -> None:
        self.busy[self.pools.index(pool) if self.pinned else 0] += dt

    def release(self, ent: Entity, preempted: bool = False) -> None:
        """``ent`` gives up its CPU: it has no work (idle), or ``preempted`` with work left (its slice ended, a
        waker or its cap took the CPU)."""
        ent.idle_pending = False
        if ent.req is not None:
            self.policy.descheduled(ent, self.env.now - ent.granted_at)
            self.pool_of(ent).release(ent.req)
            ent.req = None
            if self.hooks is not None:
                self.hooks.released(ent, preempted)
