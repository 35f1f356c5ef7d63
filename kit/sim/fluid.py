"""The hybrid engine's CPU scheduler: fluid processor sharing between rate changes, events where they matter.

The discrete :class:`~kit.sim.scheduler.Scheduler` simulates every slice and tick. Most of those events change
nothing an answer reads: a slice timer that fires with nobody waiting, or a round robin among CPU-bound vCPUs whose
only outcome, over any interval longer than a few slices, is that each gets its weighted share of the CPUs.
:class:`FluidScheduler` has the same interface (``execute``, ``release``, ``flush``) and advances work as weighted
processor sharing (generalised processor sharing, as SimGrid's fluid model does): between two rate changes (an
arrival, a completion, a wake-up that preempts, the end of the slice it won) every piece of work advances at its
rate, and the only event is the next completion. What the policy decides stays with the policy object:

- the share of each entity is :meth:`Policy.fluid_weight` (Xen credit and CFS both converge to shares proportional
  to weight, capped at one CPU each); a cap is a :class:`~kit.sim.entities.CapGroup` whose rate is limited to its
  quota per period (:attr:`Policy.period_s`);
- a waking entity asks the policy as in the discrete engine (:meth:`Policy.on_wake`, :meth:`Policy.priority`,
  :meth:`Policy.preempts`): one that would preempt (a BOOSTed credit vCPU, a CFS sleeper with the smallest
  virtual runtime) runs at once on a CPU of its own for at most one slice (:meth:`Policy.slice_for`), so a waking
  backend's latency is its own work, as in the discrete engine; one that would not preempt shares;
- credit and virtual runtime are charged with the CPU time each item received (:meth:`Policy.charge`), once per
  item (and for the part done at the end of the run), never per slice.

Cost. A pool in the common case (no cap; no share above one CPU, or equal weights) keeps a virtual clock (service
per unit of weight) and a heap of finishing tags, so an arrival or a completion costs O(log n); otherwise it
recomputes explicit max-min fair rates, O(n), when the set of running work changes. A runner's consecutive items
are chained (:meth:`FluidScheduler.run_chain`): when an item completes, the next one in its runner's queue starts
in the same callback, and an item with a ``then`` continuation (a CPU-bound guest thread) hands over its successor
without a process switch, so a CPU-bound unit costs one event, its completion.

Where slices carry the answer. The latency of a waking vCPU that must wait for a CPU depends on where the running
ones are in their slices and ticks; :func:`kit.sim.engines.engine_for` therefore gives the discrete scheduler to a
host whose guests sleep and wake (:func:`kit.sim.drivers.blocks`) when its entities contend, and to any host whose
policy says an outcome depends on slice boundaries (:meth:`Policy.requires_slices`), and to a host whose guest
synchronization (lock-holder preemption, pause-loop exits, co-scheduling: :func:`kit.sim.locks.needs_slices`)
needs them; the result's ``engine`` column says which engine ran.

The pools (:class:`FluidPool`) keep the fluid state: their jobs, the virtual clock or the explicit rates, and the
timer of the next completion; the scheduler starts a runner's items in them and finishes them.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import simpy

from .entities import WORK_DONE_S, Activity, CapGroup, Entity, Item, credit_units
from .policies import Policy
from .scheduler import END_OF_INSTANT, CapsAndPools
from .work import QUEUEING

__all__ = ["FluidScheduler", "FluidPool", "END_OF_INSTANT"]

# END_OF_INSTANT: the rates are recomputed at the end of an instant (after every NORMAL event of the same time, so
# that a completion and the next arrival of the same entity make one rate change, not two)
_INF = float("inf")


class _Job:
    """A piece of work in a fluid pool."""

    __slots__ = ("ent", "item", "seconds", "freq", "start", "session", "runner", "weight", "boosted", "boost_until",
                 "done", "t0", "rate", "charged", "tag", "seq", "group")

    def __init__(self, ent: Entity, item: Item, seconds: float, freq: float, start: float, session: simpy.Event,
                 runner: Any, weight: float, seq: int) -> None:
        self.ent, self.item, self.seconds, self.freq, self.start = ent, item, seconds, freq, start
        self.session, self.runner, self.weight, self.seq = session, runner, weight, seq
        self.boosted = False
        #: CPU seconds done at which a boosted job goes back to sharing
        self.boost_until = 0.0
        #: CPU seconds done as of ``t0``, advancing at ``rate`` (boosted jobs, and every job when eager)
        self.done, self.t0, self.rate = 0.0, start, 0.0
        #: CPU seconds already charged to the policy, the cap and the pool's busy time
        self.charged = 0.0
        #: service per unit of weight at which the job ends (lazy regime)
        self.tag = 0.0
        self.group: CapGroup | None = ent.cap_group

    @property
    def proc_entity(self) -> Entity:  # what policies read from a pool's users (as from a SimPy request)
        return self.ent


class FluidPool:
    """CPUs shared by fluid jobs: lazy (a virtual clock and a tag heap) or eager (explicit rates).

    The pool advances its jobs, keeps their rates and schedules the one event that matters, the next completion;
    ``complete`` (the scheduler's) is called for each job that finishes, and may start the next one at once.
    """

    def __init__(self, capacity: int, env: simpy.Environment, policy: Policy,
                 complete: Callable[[FluidPool, _Job], None]) -> None:
        self.capacity = capacity
        self.env, self.policy, self.complete = env, policy, complete
        self.jobs: dict[Entity, _Job] = {}
        #: boosted jobs, one CPU each
        self.boosted: dict[Entity, _Job] = {}
        #: nothing waits in a queue in the fluid engine (policies read ``queue`` and ``users``)
        self.queue: list = []
        self.capped = 0
        self.lazy = True
        self.vclock = 0.0  # service per unit of weight of the sharing jobs (lazy regime)
        self.rho = 0.0  # d(vclock)/dt
        self.last = 0.0
        self.heap: list[tuple[float, int, _Job]] = []
        #: (virtual runtime, seq, job) of the running jobs, for :meth:`min_vruntime`, and negated for the sharing
        #: ones, for :meth:`max_vruntime`
        self.vr_heap: list[tuple[float, int, _Job]] = []
        self.vr_max_heap: list[tuple[float, int, _Job]] = []
        #: total weight, and count per weight, of the sharing (not boosted) jobs
        self.total_weight = 0.0
        self.weights: dict[float, int] = {}
        self.dirty = False
        #: an end-of-instant recomputation is scheduled
        self.eoi = False
        self.timer_gen = 0
        self.timer_at = _INF
        self.busy = 0.0

    @property
    def users(self) -> list[_Job]:
        return list(self.jobs.values())

    def sharing(self) -> Iterator[_Job]:
        """The running jobs that are not boosted."""
        return (j for j in self.jobs.values() if not j.boosted)

    def max_vruntime(self) -> float:
        """The largest virtual runtime among the sharing (not boosted) jobs, in O(log n) amortized."""
        heap, jobs = self.vr_max_heap, self.jobs
        while heap and (jobs.get(heap[0][2].ent) is not heap[0][2] or heap[0][2].boosted):
            heapq.heappop(heap)
        return -heap[0][0] if heap else -_INF

    def min_vruntime(self, default: float) -> float:
        """The smallest virtual runtime among the running entities (``default`` when none), in O(log n).

        A running entity's virtual runtime is charged when its item completes, so it is constant while it is here.
        """
        heap, jobs = self.vr_heap, self.jobs
        while heap and jobs.get(heap[0][2].ent) is not heap[0][2]:
            heapq.heappop(heap)
        return heap[0][0] if heap else default

    # -- arrivals ---------------------------------------------------------------------------------------------
    def add_uncontended(self, job: _Job) -> bool:
        """An arrival in a pool where everyone runs at full speed and still will: no rate changes, so only the
        timer may move (no end-of-instant recomputation). False when that does not hold."""
        if (not self.lazy or self.boosted or self.capped or len(self.weights) != 1
                or len(self.jobs) > self.capacity):
            return False
        rho = 1.0 / job.weight
        if len(self.jobs) > 1 and self.rho != rho:
            return False
        self.rho = rho
        self.dirty = False
        at = self.env.now + job.seconds
        if at < self.timer_at:
            self.set_timer(at)
        return True

    def wins_cpu(self, ent: Entity) -> bool:
        """Whether a waking ``ent`` would preempt running work in the discrete engine (asked of the policy)."""
        policy = self.policy
        if len(self.boosted) >= self.capacity:
            return False
        prio = policy.priority(ent, True)
        if not policy.preempts(prio, True):
            return False
        return policy.preempts_running(ent, prio, self)

    # -- the pool's clock -----------------------------------------------------------------------------------
    def advance(self) -> None:
        now = self.env.now
        dt = now - self.last
        if dt > 0:
            self.last = now
            if self.lazy:
                self.vclock += self.rho * dt

    def done_of(self, job: _Job) -> float:
        """CPU seconds ``job`` has received by now."""
        if self.lazy and not job.boosted:
            return job.seconds - (job.tag - self.vclock) * job.weight
        return job.done + job.rate * (self.env.now - job.t0)

    def charge(self, job: _Job, done: float) -> None:
        """Charge the CPU time ``job`` received since its last charge (policy, cap, busy time)."""
        dt = done - job.charged
        if dt <= 0:
            return
        job.charged = done
        self.policy.charge(job.ent, dt)
        self.busy += dt
        if job.group is not None:
            job.group.used_s += dt

    def share(self, job: _Job) -> None:
        """Make ``job`` a sharing job (its progress so far in ``done``)."""
        heapq.heappush(self.vr_max_heap, (-job.ent.vruntime, job.seq, job))
        if len(self.vr_max_heap) > 2 * len(self.jobs) + 16:  # drop the entries of finished jobs
            self.vr_max_heap = [(-j.ent.vruntime, j.seq, j) for j in self.sharing()]
            heapq.heapify(self.vr_max_heap)
        self.total_weight += job.weight
        self.weights[job.weight] = self.weights.get(job.weight, 0) + 1
        if self.lazy:
            job.tag = self.vclock + (job.seconds - job.done) / job.weight
            heapq.heappush(self.heap, (job.tag, job.seq, job))

    def unshare(self, job: _Job) -> None:
        self.total_weight -= job.weight
        left = self.weights[job.weight] - 1
        if left:
            self.weights[job.weight] = left
        else:
            del self.weights[job.weight]
            if not self.weights:
                self.total_weight = 0.0  # no drift from sums of floats

    def add(self, job: _Job) -> None:
        self.advance()
        if job.group is not None:
            self.capped += 1
            self.to_eager()
        self.jobs[job.ent] = job
        heapq.heappush(self.vr_heap, (job.ent.vruntime, job.seq, job))
        if len(self.vr_heap) > 2 * len(self.jobs) + 16:  # drop the entries of finished jobs
            self.vr_heap = [(j.ent.vruntime, j.seq, j) for j in self.jobs.values()]
            heapq.heapify(self.vr_heap)
        if job.boosted:
            job.rate, job.t0 = 1.0, self.env.now
            self.boosted[job.ent] = job
        else:
            self.share(job)
        self.dirty = True

    def remove(self, job: _Job) -> None:
        del self.jobs[job.ent]
        if job.group is not None:
            self.capped -= 1
        if job.boosted:
            del self.boosted[job.ent]
        else:
            self.unshare(job)  # a lazy heap entry is dropped when it reaches the top
        self.dirty = True

    def unboost(self, job: _Job) -> None:
        """The slice a wake-up won is over: the job shares again."""
        job.done = self.done_of(job)
        job.t0 = self.env.now
        job.boosted = False
        del self.boosted[job.ent]
        self.share(job)
        self.dirty = True

    # -- regimes --------------------------------------------------------------------------------------------
    def lazy_ok(self) -> bool:
        """Whether every sharing job advances at ``weight * rho`` for one rho (no cap, no share above a CPU)."""
        if self.capped:
            return False
        if len(self.weights) <= 1:
            return True
        return self.total_weight >= (self.capacity - len(self.boosted)) * max(self.weights)

    def to_eager(self) -> None:
        if not self.lazy:
            return
        now = self.env.now
        for j in self.jobs.values():
            if not j.boosted:
                j.done, j.t0, j.rate = j.seconds - (j.tag - self.vclock) * j.weight, now, 0.0
        self.lazy = False
        self.heap = []

    def to_lazy(self) -> None:
        now = self.env.now
        self.lazy = True
        self.vclock = 0.0
        self.heap = []
        for j in self.jobs.values():
            if not j.boosted:
                j.done += j.rate * (now - j.t0)
                j.tag = (j.seconds - j.done) / j.weight
                self.heap.append((j.tag, j.seq, j))
        heapq.heapify(self.heap)

    def touch(self) -> None:
        """Recompute rates once, at the end of this instant."""
        self.dirty = True
        if self.eoi:
            return
        self.eoi = True
        ev = simpy.Event(self.env)
        ev.callbacks.append(self.end_of_instant)
        ev._ok, ev._value = True, None
        self.env.schedule(ev, END_OF_INSTANT)

    def end_of_instant(self, _event: Any = None) -> None:
        self.eoi = False
        self.recompute()

    def recompute(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.advance()
        now = self.env.now
        nxt = _INF
        if self.boosted:
            for j in self.boosted.values():
                nxt = min(nxt, j.t0 + (min(j.boost_until, j.seconds) - j.done))
        if self.lazy_ok():
            if not self.lazy:
                self.to_lazy()
            share = self.capacity - len(self.boosted)
            weights = self.weights
            if weights and share > 0:
                wmax = next(iter(weights)) if len(weights) == 1 else max(weights)
                self.rho = min(1.0 / wmax, share / self.total_weight)
            else:
                self.rho = 0.0
            heap, jobs = self.heap, self.jobs
            while heap and jobs.get(heap[0][2].ent) is not heap[0][2]:
                heapq.heappop(heap)  # completed, or boosted since
            if heap and self.rho > 0:
                nxt = min(nxt, now + max(0.0, heap[0][0] - self.vclock) / self.rho)
        else:
            self.to_eager()
            self.rates()
            for j in self.jobs.values():
                if not j.boosted and j.rate > 0:
                    nxt = min(nxt, now + max(0.0, j.seconds - j.done) / j.rate)
        self.set_timer(nxt)

    def rates(self) -> None:
        """Weighted max-min fair rates of the sharing jobs: caps as rate limits, no job above one CPU."""
        now = self.env.now
        share = []
        for j in self.jobs.values():
            if not j.boosted:
                j.done += j.rate * (now - j.t0)
                j.t0 = now
                share.append(j)
        left = float(self.capacity - len(self.boosted))
        period = self.policy.period_s
        while share:
            total = sum(j.weight for j in share)
            level = left / total if total > 0 else 0.0
            fixed: dict[int, _Job] = {}
            groups: dict[int, list[_Job]] = {}
            for j in share:
                if j.group is not None:
                    groups.setdefault(id(j.group), []).append(j)
            for members in groups.values():
                limit = members[0].group.quota_s / period  # type: ignore[union-attr]  # grouped by group
                wg = sum(j.weight for j in members)
                if level * wg > limit:
                    for j in members:
                        j.rate = min(1.0, limit * j.weight / wg)
                        fixed[id(j)] = j
            for j in share:
                if id(j) not in fixed and level * j.weight > 1.0:
                    j.rate = 1.0
                    fixed[id(j)] = j
            if not fixed:
                for j in share:
                    j.rate = level * j.weight
                break
            left = max(0.0, left - sum(j.rate for j in fixed.values()))
            share = [j for j in share if id(j) not in fixed]

    # -- the one event: the next completion -----------------------------------------------------------------
    def set_timer(self, at: float) -> None:
        if at == self.timer_at:
            return
        self.timer_gen += 1
        self.timer_at = at
        if at == _INF:
            return
        gen = self.timer_gen
        ev = self.env.timeout(max(0.0, at - self.env.now))
        ev.callbacks.append(partial(self.fire, gen))

    def fire(self, gen: int, _event: Any = None) -> None:
        if gen != self.timer_gen:
            return  # superseded by a later rate change
        self.timer_at = _INF
        self.advance()
        now = self.env.now
        finished: list[_Job] = []
        for j in (list(self.boosted.values()) if self.boosted else ()):
            left = j.done + (now - j.t0)
            if _done(now, j.seconds - left, 1.0):
                finished.append(j)
            elif _done(now, j.boost_until - left, 1.0):
                self.unboost(j)
        if self.lazy:
            heap, jobs, v = self.heap, self.jobs, self.vclock
            while heap:
                tag, _, j = heap[0]
                if jobs.get(j.ent) is not j or j.boosted:
                    heapq.heappop(heap)
                    continue
                if not _done(now, (tag - v) * j.weight, self.rho * j.weight):
                    break
                heapq.heappop(heap)
                finished.append(j)
        else:
            for j in self.jobs.values():
                if not j.boosted and _done(now, j.seconds - (j.done + j.rate * (now - j.t0)), j.rate):
                    finished.append(j)
        for j in finished:
            self.complete(self, j)
        if not self.dirty or not self.still_uncontended():
            self.dirty = True
            self.recompute()

    def still_uncontended(self) -> bool:
        """After completions and chained arrivals in a pool where everyone ran at full speed and still does: only
        the timer moves. False when that does not hold (the caller recomputes)."""
        if (not self.lazy or self.boosted or self.capped or len(self.weights) != 1
                or len(self.jobs) > self.capacity or self.rho != 1.0 / next(iter(self.weights))):
            return False
        heap, jobs = self.heap, self.jobs
        while heap and jobs.get(heap[0][2].ent) is not heap[0][2]:
            heapq.heappop(heap)
        self.dirty = False
        self.set_timer(self.env.now + (heap[0][0] - self.vclock) / self.rho if heap else _INF)
        return True


def _done(now: float, left: float, rate: float) -> bool:
    """Whether a job with ``left`` seconds of work to do at ``rate`` is done at ``now``: within
    :data:`~kit.sim.entities.WORK_DONE_S`, or finishing within the clock's resolution (``now`` plus the time it needs
    is ``now`` again: a timer for it would fire at this same instant, with nothing done in between, for ever)."""
    return left <= WORK_DONE_S or (rate > 0.0 and now + left / rate <= now)


class FluidScheduler(CapsAndPools):
    """Physical CPUs shared as fluid under a :class:`Policy` (the discrete scheduler's interface)."""

    engine = "hybrid"
    #: a runner may hand its consecutive items to :meth:`run_chain`
    chains = True

    def __init__(self, env: simpy.Environment, pcpus: int, policy: Policy, pin: bool, capped: bool = False,
                 partition: list[tuple[int, ...]] | None = None) -> None:
        self.env, self.n, self.policy, self.pinned = env, pcpus, policy, pin
        #: the CPUs of each pool when the host partitions them (entities then name their pool); None: by ``pin``
        self.partition = partition
        if partition is not None:
            capacities = [len(cpus) for cpus in partition]
        else:
            capacities = [1] * pcpus if pin else [pcpus]
        self.pools = [FluidPool(c, env, policy, self._complete) for c in capacities]
        self.entities: list[Entity] = []
        self.caps: list[CapGroup] = []
        self.capped = capped
        self.next_period = env.event()
        self.trace: list | None = None
        self.trace_until = 0.0
        self._seq = 0
        #: the item a waking entity runs after its wakeup work
        self._follow: dict[Entity, Item] = {}
        policy.start(self)

    @property
    def busy(self) -> list[float]:
        return [p.busy for p in self.pools]

    # -- the discrete scheduler's interface ---------------------------------------------------------------

    def record(self, ent: Entity, state: str, start: float, end: float, work: Any = None) -> None:
        """Timelines are the discrete engine's (``run(..., trace_s=...)`` uses it)."""

    def release(self, ent: Entity, preempted: bool = False) -> None:
        """The entity goes idle: a slice its wake-up won ends with it."""
        ent.req = None

    def idle(self, ent: Entity) -> None:
        """The entity has run out of work: nothing holds a CPU in the fluid engine, so this is :meth:`release`
        (a runner's next item continues its chain without a switch, :meth:`run_chain`)."""
        ent.req = None

    def execute(self, ent: Entity, item: Item, freq: float, waking: bool = False):
        """Run ``item`` for ``ent`` (a generator for ``yield from``), sharing the CPUs with the other work."""
        yield from self.run_chain(ent, item, freq, waking, None)

    def run_chain(self, ent: Entity, item: Item, freq: float, waking: bool, runner: Any, wake: Item | None = None):
        """Run ``item`` and then, without a process switch, the items that ``runner`` has queued when each one
        completes (``runner.finish(item)`` and ``runner.take()``); returns when the runner's queue is empty.
        ``wake`` is the waking entity's own work (halt exit, wakeup), run first."""
        session = simpy.Event(self.env)
        pool = self.pool_of(ent)
        if waking:
            self.policy.on_wake(ent, pool)
        if wake is not None:
            self._follow[ent] = item
            item = wake
        self._start(pool, ent, item, freq, waking, runner, session, defer=False)
        if not session.triggered:
            yield session
        ent.activity = Activity("between", self.env.now)

    def flush(self, ent: Entity, now: float, freq: float) -> bool:
        """Account the part done of the item ``ent`` is running at the end of the run; False if none."""
        pool = self.pool_of(ent)
        job = pool.jobs.get(ent)
        if job is None:
            return False
        pool.advance()
        done = min(job.seconds, pool.done_of(job))
        pool.charge(job, done)
        frac = done / job.seconds
        ent.account(job.item.work, frac * job.item.scale, freq)
        credit_units(ent, job.item, frac)  # the running item is unfinished
        ent.acct[QUEUEING] += max(0.0, now - job.start - done)
        ent.activity = Activity("between", now)
        return True

    # -- starting and finishing work ------------------------------------------------------------------------
    def _start(self, pool: FluidPool, ent: Entity, item: Item, freq: float, waking: bool, runner: Any,
               session: simpy.Event, defer: bool) -> None:
        env = self.env
        while True:
            now = env.now
            ent.active_at = now
            seconds = item.work.total * item.scale / freq
            if seconds > WORK_DONE_S:
                break
            ent.account(item.work, item.scale, freq)  # nothing to run: done at once
            credit_units(ent, item, 1.0, finished=True)
            nxt = self._next(ent, runner, item)
            if nxt is None:
                session.succeed()
                return
            item, waking = nxt, False
        self._seq += 1
        job = _Job(ent, item, seconds, freq, now, session, runner, self.policy.fluid_weight(ent), self._seq)
        held = ent.req if isinstance(ent.req, _Job) and ent.req.boosted else None
        if held is not None and held.boost_until > held.seconds:  # still inside the slice its wake-up won
            job.boosted, job.boost_until = True, held.boost_until - held.seconds
        elif waking and job.group is None and len(pool.jobs) + 1 > pool.capacity:
            job.boosted = pool.wins_cpu(ent)
            if job.boosted:
                job.boost_until = self.policy.slice_for(ent, pool)
        ent.req = job
        ent.activity = Activity("running", now, item, seconds)
        was_dirty = pool.dirty
        pool.add(job)
        if not defer and (was_dirty or not pool.add_uncontended(job)):
            if pool.lazy and not pool.capped:
                pool.recompute()  # O(log n): no need to wait for the end of the instant
            else:
                pool.touch()

    def _next(self, ent: Entity, runner: Any, item: Item) -> Item | None:
        """Finish ``item`` for its runner and take the runner's next item (None: the chain ends)."""
        follow = self._follow.pop(ent, None)
        if follow is not None:  # the wakeup is done: now the item it woke for
            return follow
        if runner is None:
            return None
        runner.finish(item)
        return runner.take(ent)

    def _complete(self, pool: FluidPool, job: _Job) -> None:
        """``job`` is done (the pool calls this): account it, then start the runner's next item at once."""
        ent, now = job.ent, self.env.now
        pool.charge(job, job.seconds)
        pool.remove(job)
        ent.account(job.item.work, job.item.scale, job.freq)
        credit_units(ent, job.item, 1.0, finished=True)
        wait = now - job.start - job.seconds
        if wait > 0:
            ent.acct[QUEUEING] += wait
        job.done, job.t0 = job.seconds, now
        nxt = self._next(ent, job.runner, job.item)
        if nxt is None:
            job.session.succeed()
        else:
            self._start(pool, ent, nxt, job.freq, False, job.runner, job.session, defer=True)
