"""Physical CPUs and the policies that share them among entities (vCPUs and backend threads).

:class:`Scheduler` owns the CPUs (SimPy preemptive resources, one pool or one per CPU when pinned) and the loop
that runs a piece of work on them: wait for a CPU, run until the work, the slice or a policy boundary ends,
account, decide whether to keep the CPU. What differs between schedulers is a :class:`Policy` object, chosen
once: its priority, whether a waker preempts, its slice, how run time is charged, where a run must stop (a
tick), and when a running entity yields.

Policies: :class:`CreditPolicy` (Xen's credit scheduler), :class:`CfsPolicy` (Linux CFS, as it runs KVM vCPU
threads, native processes and a hosted VMM's host), :class:`FifoPolicy` (arrival order). A cap (a VM limited to
a share of one CPU per period) is a :class:`CapGroup`: under credit it is Xen's credit cap, renewed every
accounting period; under CFS it is cgroup bandwidth control (``cpu.cfs_quota_us`` per ``cpu.cfs_period_us``).
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, ClassVar

import simpy

from .params import CFS, CREDIT, CREDIT2, DEFAULT_WEIGHT
from .work import GUEST_CATEGORIES, QUEUEING, Work

__all__ = ["Activity", "Item", "Entity", "CapGroup", "Policy", "CreditPolicy", "Credit2Policy", "CfsPolicy",
           "RootSchedulerPolicy", "FifoPolicy", "POLICIES", "MODE_POLICIES", "policy_for", "Scheduler"]

#: Shortest run the scheduler asks SimPy for, so that a boundary reached by rounding still advances time.
MIN_RUN_S = 1e-9
#: Tolerance when locating the current tick (floating-point time is a multiple of the tick up to this).
TICK_ROUNDING = 1e-9
#: A slice is used up when less than this remains.
SLICE_DONE_S = 1e-12
#: A piece of work is finished when less than this remains.
WORK_DONE_S = 1e-15
#: Distinct Work objects an entity's deferred accounting holds (shared ones: unit batches, wakeups, I/O paths).
TALLY_SIZE = 64


@dataclass
class Item:
    """Work for a runner, and the event to fire (or the continuation to call) when it is done."""

    work: Work
    done: simpy.Event | None = None
    #: workload units this item completes
    units: float = 0.0
    #: called when the item is done, instead of firing ``done``: it may submit the next item at once
    then: Callable[[], None] | None = None
    #: the item is ``scale`` times ``work`` (a varied unit batch shares its Work object with the others)
    scale: float = 1.0
    #: the item ends early, its remaining work dropped, when this event fires (a spinning vCPU's lock is
    #: released; the discrete scheduler only)
    until: simpy.Event | None = None


def credit_units(ent: Entity, item: Item, frac: float, finished: bool = False) -> None:
    """The unit-crediting rule: ``frac`` more of ``item`` ran on ``ent``.

    Throughput counts the work done: an item of ``k`` units credits ``k * frac`` units as it runs (over a run of
    many units this is the rate's best estimate; counting only finished units would bias it low by about half a
    unit per thread). Units whose item finished are counted apart in ``finished_units``, so that a run in which
    no unit finished is known as such (:func:`kit.measure.check_measured`) instead of reporting a rate made of
    fractions of unfinished units.
    """
    ent.units += item.units * frac
    if finished:
        ent.finished_units += item.units


@dataclass(frozen=True, slots=True)
class Activity:
    """What an entity is doing now and since when (for the final flush of the accounting)."""

    state: str  # idle, queueing, running, between
    since: float
    item: Item | None = None
    #: CPU seconds of the item being run
    seconds: float = 0.0


@dataclass
class CapGroup:
    """Entities (a VM's vCPUs) limited together to ``quota_s`` CPU seconds per period."""

    quota_s: float
    used_s: float = 0.0


class Entity:
    """Something that runs on physical CPUs: a vCPU or a backend thread."""

    def __init__(self, name: str, scope: str, kind: str, weight: float, pin: int | None = None) -> None:
        self.name, self.scope, self.kind, self.weight, self.pin = name, scope, kind, weight, pin
        self.acct: defaultdict[str, float] = defaultdict(float)
        self.exits: defaultdict[str, float] = defaultdict(float)
        self.exit_cycles: defaultdict[str, float] = defaultdict(float)
        self.req: Any = None
        #: Xen credit (seconds of CPU the entity may still use this period; negative: OVER)
        self.credit = 0.0
        #: CFS weighted virtual runtime (seconds)
        self.vruntime = 0.0
        self.slice_left = 0.0
        self.active_at = -1.0
        #: the capped group (a VM) this entity belongs to, or None
        self.cap_group: CapGroup | None = None
        self.units = 0.0
        #: units of items that finished (``units`` also counts the running fractions of unfinished ones)
        self.finished_units = 0.0
        self.activity = Activity("idle", 0.0)
        #: deferred accounting (the hybrid engine): id(work) -> [work, fraction of it done, frequency]
        self.tally: dict[int, list] | None = None
        #: the pool of a scheduler built from a partition of the CPUs (None: by ``pin``)
        self.pool: int | None = None
        #: the physical CPU the entity holds (-1: none) and the one it last held
        self.cpu = -1
        self.last_cpu = -1
        #: what a host's mechanisms keep about the entity (its VM, its class of co-runner costs)
        self.owner: Any = None

    def settle(self) -> None:
        """Spread the deferred accounting over categories and exits (once, at the end of a run)."""
        tally, self.tally = self.tally, None
        for work, frac, freq in (tally or {}).values():
            self.account(work, frac, freq)

    def account(self, work: Work, frac: float, freq: float) -> None:
        """Add ``frac`` of ``work`` to the entity's time by category and its exits."""
        if self.tally is not None:  # deferred: one multiply-add per item, spread over categories at the end
            key = id(work)
            hit = self.tally.get(key)
            if hit is not None:
                hit[1] += frac
                return
            if len(self.tally) < TALLY_SIZE:
                self.tally[key] = [work, frac, freq]
                return
            # a Work made for one request: spread at once, so the tally stays small
        for cat, c in work.cycles.items():
            self.acct[cat] += c / freq * frac
        for r, n in work.exits.items():
            self.exits[r] += n * frac
        for r, c in work.exit_cycles.items():
            self.exit_cycles[r] += c * frac


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
        bisect.insort_right(self, item, key=_request_key)


def _request_key(req: Any) -> Any:
    return req.key


class _CpuPool(simpy.PreemptiveResource):
    PutQueue = _KeyedQueue  # type: ignore[assignment]  # SimPy's documented seam for the queue class


# ---- policies ---------------------------------------------------------------------------------------------

class Policy:
    """How a scheduler shares CPUs: one object per scheduler, chosen once."""

    name: ClassVar[str] = ""
    #: the period over which caps are enforced (seconds)
    period_s: float = CREDIT["tick_ms"][0] * CREDIT["ticks_per_acct"][0] / 1000.0
    #: whether this scheduler enforces caps (a VM limited to a share of a CPU per period)
    enforces_caps: ClassVar[bool] = False

    def start(self, sched: Any) -> None:
        """Start the policy's own processes (accounting periods) on a scheduler (discrete or fluid)."""

    def on_wake(self, ent: Entity, pool: Any) -> None:
        """Adjust a waking entity's state before it queues."""

    def priority(self, ent: Entity, waking: bool) -> float:
        """Queue priority (lower runs first)."""
        return 0

    def preempts(self, priority: float, waking: bool) -> bool:
        """Whether a request with ``priority`` may preempt a running entity."""
        return False

    def slice_for(self, ent: Entity, pool: Any) -> float:
        """How long ``ent`` may run before it yields to a waiting entity."""
        return CREDIT["slice_ms"][0] / 1000.0

    def clip_run(self, now: float, run: float) -> float:
        """The longest run from ``now``: a policy decides at its own boundaries (ticks)."""
        return run

    def charge(self, ent: Entity, dt: float) -> None:
        """Charge ``dt`` seconds of CPU to ``ent``."""

    def yields_now(self, ent: Entity, pool: Any) -> bool:
        """Whether a running entity gives up its CPU now (beyond the end of its slice)."""
        return False

    def preempts_running(self, prio: float, pool: Any) -> bool:
        """Whether a waker of priority ``prio`` goes ahead of some running, not boosted entity of ``pool`` (the
        fluid engine's question; a pool that keeps summaries of its running entities may answer it faster)."""
        return any(self.priority(j.ent, False) > prio for j in pool.sharing())

    def fluid_weight(self, ent: Entity) -> float:
        """The entity's share of contended CPUs in the fluid engine (its long-run share under this policy)."""
        return ent.weight

    def requires_slices(self) -> bool:
        """Whether an outcome of this policy depends on slice boundaries, so that the hybrid engine must run the
        discrete scheduler (a mechanism such as lock-holder preemption or co-scheduling says so here)."""
        return False

    def directed_yield(self, target: Entity, pool: Any) -> bool:
        """Move a waiting ``target`` to the head of ``pool``'s queue when a spinning vCPU yields its CPU to it
        (KVM's ``yield_to`` from a pause-loop exit); False where the scheduler has no directed yield."""
        return False

    def mean_run_s(self, pool: Any, runnable: int, item_s: float) -> float:
        """How long an entity runs between switches on a contended CPU, when its pieces of work last ``item_s``
        (the fluid engine charges VM switches at this rate)."""
        return self.slice_for(None, pool)  # type: ignore[arg-type]  # the default slice reads nothing of it


class CreditPolicy(Policy):
    """Xen's credit scheduler (xen/common/sched/credit.c).

    Credits are handed out every 30 ms in proportion to weight and debited by run time; entities with credit
    left (UNDER) run before those without (OVER); a waking entity with credit is BOOSTed and preempts; the
    UNDER/OVER decision is taken on 10 ms ticks; a running entity yields at the end of its 30 ms slice when
    others wait. A cap parks the VM once it has used its share of the accounting period.
    """

    name = "credit"
    enforces_caps = True
    BOOST, UNDER, OVER = 0, 1, 2

    def __init__(self) -> None:
        self.tick_s = CREDIT["tick_ms"][0] / 1000.0
        self.period_s = self.tick_s * CREDIT["ticks_per_acct"][0]  # credits recomputed every 3 ticks

    def start(self, sched: Any) -> None:
        sched.env.process(self._accounting(sched))

    def _accounting(self, sched: Any):
        env = sched.env
        while True:
            # credits go to active entities only (those that ran or waited in the last period)
            now = env.now
            queued = {id(r.proc_entity) for pool in sched.pools for r in pool.queue}
            # at boot every vCPU starts with its share, so an I/O vCPU is UNDER (and boosted) from the start
            active = [e for e in sched.entities
                      if now == 0.0 or e.req is not None or id(e) in queued or now - e.active_at <= self.period_s]
            total = sum(e.weight for e in active) or 1.0
            for e in active:
                grant = self.period_s * sched.n * e.weight / total
                e.credit = min(e.credit + grant, self.period_s)
            # waiting vCPUs move between UNDER and OVER with their new credit
            for pool in sched.pools:
                for r in pool.queue:
                    if r.priority != self.BOOST:
                        r.priority = self.UNDER if r.proc_entity.credit >= 0 else self.OVER
                        r.key = (r.priority, r.time, not r.preempt)
                pool.queue.sort(key=_request_key)  # a _KeyedQueue (a list), or the fluid pool's empty list
            sched.renew_caps()  # a capped VM's budget is renewed every accounting period
            yield env.timeout(self.period_s)

    def priority(self, ent: Entity, waking: bool) -> float:
        if ent.credit >= 0:  # Xen: UNDER while credit is not negative; a waking UNDER vCPU is boosted
            return self.BOOST if waking else self.UNDER
        return self.OVER

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking and priority == self.BOOST

    def clip_run(self, now: float, run: float) -> float:
        boundary = (math.floor(now / self.tick_s + TICK_ROUNDING) + 1) * self.tick_s
        return min(run, max(boundary - now, MIN_RUN_S))

    def charge(self, ent: Entity, dt: float) -> None:
        ent.credit -= dt

    def yields_now(self, ent: Entity, pool: Any) -> bool:
        # at a tick an OVER entity yields to a waiting UNDER one
        return ent.credit < 0 and any(r.proc_entity.credit >= 0 for r in pool.queue)

    def mean_run_s(self, pool: Any, runnable: int, item_s: float) -> float:
        # CPU-bound entities of equal weight run out of credit within a slice and yield to an UNDER one at the next
        # tick: a run lasts a tick more often than a whole slice; one that finishes a piece of work queues behind
        # the others of its priority
        return min(item_s, self.tick_s)


class CfsPolicy(Policy):
    """Linux CFS as it schedules vCPU threads (kernel/sched/fair.c).

    The entity with the smallest weighted virtual runtime runs, for a slice of the scheduling latency divided
    among the runnable entities of its CPU's run queue (never below the minimum granularity); a waking entity
    preempts when its virtual runtime is smaller, and a sleeper's virtual runtime is brought up to half a
    latency below the run queue's. The wake-up granularity is not modelled: a waker with a smaller virtual
    runtime always preempts. Caps are cgroup bandwidth control: a quota per period.
    """

    name = "cfs"
    enforces_caps = True

    def __init__(self) -> None:
        self.latency_s = CFS["latency_ms"][0] / 1000.0
        self.min_granularity_s = CFS["min_granularity_ms"][0] / 1000.0
        self.period_s = CFS["bandwidth_period_ms"][0] / 1000.0

    def start(self, sched: Any) -> None:
        if sched.capped:
            sched.env.process(self._bandwidth_periods(sched))

    def _bandwidth_periods(self, sched: Any):
        while True:
            sched.renew_caps()  # the cgroup's runtime is refilled every cfs_period_us
            yield sched.env.timeout(self.period_s)

    def on_wake(self, ent: Entity, pool: Any) -> None:
        smallest = getattr(pool, "min_vruntime", None)  # a pool that keeps it (the fluid engine's) says so
        if smallest is not None:
            floor = smallest(ent.vruntime)
        else:
            floor = min((u.proc_entity.vruntime for u in pool.users if hasattr(u, "proc_entity")),
                        default=ent.vruntime)
        ent.vruntime = max(ent.vruntime, floor - self.latency_s / 2.0)

    def priority(self, ent: Entity, waking: bool) -> float:
        return ent.vruntime

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking

    def preempts_running(self, prio: float, pool: Any) -> bool:
        largest = getattr(pool, "max_vruntime", None)  # the fluid engine's pools keep it
        if largest is not None:
            return largest() > prio
        return super().preempts_running(prio, pool)

    def slice_for(self, ent: Entity, pool: Any) -> float:
        runnable = (len(pool.users) + len(pool.queue)) / pool.capacity
        return max(self.min_granularity_s, self.latency_s / max(1.0, runnable))

    def charge(self, ent: Entity, dt: float) -> None:
        ent.vruntime += dt * DEFAULT_WEIGHT[0] / ent.weight

    def directed_yield(self, target: Entity, pool: Any) -> bool:
        # yield_to (kernel/sched/core.c) makes the target the run queue's next buddy: it runs next
        return _to_front(target, pool)

    def mean_run_s(self, pool: Any, runnable: int, item_s: float) -> float:
        # a vCPU that finishes a piece of work has a larger virtual runtime than the one waiting longest, which
        # takes the CPU: runs last the slice or the piece, whichever is shorter
        return min(item_s, max(self.min_granularity_s, self.latency_s / max(1.0, runnable / pool.capacity)))


def _to_front(target: Entity, pool: Any) -> bool:
    """Move ``target``'s queued request ahead of every other (a directed yield); False if it is not queued."""
    queue = getattr(pool, "queue", None)
    if not queue:
        return False
    for r in queue:
        if r.proc_entity is target:
            r.key = (-math.inf, r.time, not r.preempt)
            queue.sort(key=_request_key)
            return True
    return False


class Credit2Policy(Policy):
    """Xen's credit2 scheduler (xen/common/sched/credit2.c), Xen's default since 4.8.

    Every vCPU starts with ``CSCHED2_CREDIT_INIT`` (10 ms) of credit; running burns credit in inverse proportion to
    the weight (the heaviest vCPU burns at the rate of time); the run queue is ordered by credit, and when the vCPU
    at its head has none left every vCPU's credit is reset (raised by the initial credit). A waking vCPU preempts
    the running one whose credit is lower than its own by more than the migrate resistance; a vCPU runs until its
    credit would fall below the next one's, at least the 1 ms rate limit and at most 10 ms. There is no BOOST:
    a waking I/O vCPU wins by the credit it has not burnt. Caps are credit2's (since Xen 4.10): a budget per
    period, as a :class:`CapGroup`.
    """

    name = "credit2"
    enforces_caps = True

    def __init__(self) -> None:
        self.init_s = CREDIT2["credit_init_ms"][0] / 1000.0
        self.min_s = CREDIT2["ratelimit_ms"][0] / 1000.0
        self.max_s = CREDIT2["max_timer_ms"][0] / 1000.0
        self.resist_s = CREDIT2["migrate_resist_ms"][0] / 1000.0
        self.period_s = CREDIT2["cap_period_ms"][0] / 1000.0
        self._max_weight = float(DEFAULT_WEIGHT[0])
        self._sched: Any = None

    def start(self, sched: Any) -> None:
        self._sched = sched
        if sched.capped:
            sched.env.process(self._budget_periods(sched))

    def _budget_periods(self, sched: Any):
        while True:
            sched.renew_caps()
            yield sched.env.timeout(self.period_s)

    def on_wake(self, ent: Entity, pool: Any) -> None:
        if ent.active_at < 0:
            ent.credit = self.init_s

    def priority(self, ent: Entity, waking: bool) -> float:
        return -ent.credit  # the most credit runs first

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking

    def preempts_running(self, prio: float, pool: Any) -> bool:
        return any(-j.ent.credit > prio + self.resist_s for j in pool.sharing())

    def slice_for(self, ent: Entity, pool: Any) -> float:
        queue = getattr(pool, "queue", None)
        if not queue or ent is None:
            return self.max_s
        gap = ent.credit - queue[0].proc_entity.credit
        burn = self._max_weight / ent.weight
        return min(self.max_s, max(self.min_s, gap / burn + self.min_s))

    def charge(self, ent: Entity, dt: float) -> None:
        self._max_weight = max(self._max_weight, ent.weight)
        ent.credit -= dt * self._max_weight / ent.weight
        if ent.credit <= 0:
            self._reset(ent)

    def _reset(self, ent: Entity) -> None:
        """When no vCPU has credit left, every one is raised by the initial credit (at most to it)."""
        entities = self._sched.entities if self._sched is not None else [ent]
        if any(e.credit > 0 for e in entities):
            return
        for e in entities:
            e.credit = min(e.credit + self.init_s, self.init_s)

    def mean_run_s(self, pool: Any, runnable: int, item_s: float) -> float:
        return min(item_s, self.max_s) if item_s > self.min_s else self.min_s


class RootSchedulerPolicy(CfsPolicy):
    """Hyper-V's root scheduler, approximated: since Windows Server 2019 (and by default on client Hyper-V) the
    root partition's own thread scheduler schedules vCPUs as threads. The Windows NT scheduler is not modelled; the
    kit runs Linux CFS in its place (proportional shares, wake-up preemption, a slice of a few milliseconds), and
    a run under ``scheduler=hyperv`` says so in its resolutions."""

    name = "hyperv-root (CFS approximation)"


class FifoPolicy(Policy):
    """First come, first served, with a fixed slice."""

    name = "fifo"

    def fluid_weight(self, ent: Entity) -> float:
        return 1.0  # round robin in arrival order: equal shares whatever the weight


#: The policies by name.
POLICIES: dict[str, type[Policy]] = {p.name: p for p in (CreditPolicy, Credit2Policy, CfsPolicy, RootSchedulerPolicy,
                                                         FifoPolicy)}
#: The policy of each mode scheduler
MODE_POLICIES = {"credit": CreditPolicy, "credit2": Credit2Policy, "cfs": CfsPolicy, "host": CfsPolicy,
                 "hyperv": RootSchedulerPolicy, "none": CfsPolicy}


def policy_for(mode_scheduler: str) -> Policy:
    """The policy that runs a mode's vCPUs.

    Native processes and every host OS (KVM's Linux, a hosted VMM's host) run under CFS; Xen under credit or
    credit2; Hyper-V under its root scheduler, approximated by CFS (:class:`RootSchedulerPolicy`).
    """
    return MODE_POLICIES.get(mode_scheduler, FifoPolicy)()


# ---- the scheduler ----------------------------------------------------------------------------------------

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
        policy.start(self)


    def execute(self, ent: Entity, item: Item, freq: float, waking: bool = False):
        """Run ``item`` on a physical CPU for ``ent`` (a generator for ``yield from``).

        Wait for a CPU, run until the work, the slice or a policy boundary ends, account, decide whether to keep
        the CPU; repeat until the item is done.
        """
        env, policy = self.env, self.policy
        seconds = item.work.total * item.scale / freq
        remaining = seconds
        pool = self.pool_of(ent)
        ent.active_at = env.now
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
            stall = None
            if self.hooks is not None and item.units > 0:
                stall = self.hooks.stall_at(ent, run)  # guest synchronization: a wait met during this run
                if stall is not None:
                    run = stall
            if group is not None:
                run = min(run, max(group.quota_s - group.used_s, MIN_RUN_S))
                group.used_s += run  # reserved now, so concurrent vCPUs of the VM see it
            done = yield from self._run(ent, item, seconds, run)
            if group is not None:
                group.used_s -= run - done  # give back what a preemption left unused
            remaining -= done
            if item.until is not None and item.until.triggered:
                remaining = 0.0  # what it waited for happened: the rest of the item is not needed
            self._account(ent, item, seconds, freq, pool, done, finished=remaining <= WORK_DONE_S)
            ent.slice_left -= done
            self._decide(ent, pool, group)
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
        """Queue for a CPU; False when the grant was preempted before this process resumed."""
        env, policy = self.env, self.policy
        if waking:
            policy.on_wake(ent, pool)
        prio = policy.priority(ent, waking)
        req = pool.request(priority=prio, preempt=policy.preempts(prio, waking))
        req.proc_entity = ent
        t0 = env.now
        ent.activity = Activity(QUEUEING, t0)
        try:
            yield req
        except simpy.Interrupt:
            # granted and preempted by a higher-priority waker before this process resumed
            ent.acct[QUEUEING] += env.now - t0
            return False
        ent.acct[QUEUEING] += env.now - t0
        self.record(ent, "waiting", t0, env.now)
        ent.req = req
        ent.slice_left = policy.slice_for(ent, pool)
        return True

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
            ent.req = None  # preempted: the resource already took the CPU away
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

    def _decide(self, ent: Entity, pool: Any, group: CapGroup | None) -> None:
        """After a run: keep the CPU, or give it up (slice used with others waiting, policy, cap)."""
        if ent.req is None:
            return
        if ent.slice_left <= SLICE_DONE_S:
            if pool.queue:
                self.release(ent, preempted=True)
            else:
                ent.slice_left = self.policy.slice_for(ent, pool)
        elif self.policy.yields_now(ent, pool):
            self.release(ent, preempted=True)
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
        tick or its cap took the CPU)."""
        if ent.req is not None:
            self.pool_of(ent).release(ent.req)
            ent.req = None
            if self.hooks is not None:
                self.hooks.released(ent, preempted)


__all__ += ["credit_units", "MIN_RUN_S", "TICK_ROUNDING", "SLICE_DONE_S", "WORK_DONE_S", "TALLY_SIZE"]
