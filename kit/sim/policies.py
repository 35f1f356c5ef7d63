"""The policies that share physical CPUs among entities, with their constants and sources.

What differs between schedulers is a :class:`Policy` object, chosen once: the priority of a queued entity and the
standing of a running one, whether a waker takes a running entity's CPU (:meth:`Policy.beats`) and how long a
running entity is guaranteed before it may (:attr:`Policy.min_run_s`: Xen's rate limit, BVT's context switch
allowance), its slice and whether it keeps its CPU when the slice ends (:meth:`Policy.keeps_cpu`), how run time is
charged, and where a run must stop (a tick). The end of a piece of work is never a preemption point: an entity
whose next piece comes in the same instant keeps its CPU and the rest of its slice
(:meth:`kit.sim.scheduler.Scheduler.idle`). :class:`CreditPolicy` (Xen's credit scheduler), :class:`Credit2Policy`
(Xen's credit2), :class:`BvtPolicy` (Xen 1.0's borrowed virtual time), :class:`CfsPolicy` (Linux CFS, as it runs
KVM vCPU threads, native processes and a hosted VMM's host), :class:`RootSchedulerPolicy` (Hyper-V's root
scheduler, approximated by CFS) and :class:`FifoPolicy` (arrival order). A cap (a VM limited to a share of one CPU
per period) is a :class:`~kit.sim.entities.CapGroup`: under credit it is Xen's credit cap, renewed every
accounting period; under CFS it is cgroup bandwidth control (``cpu.cfs_quota_us`` per ``cpu.cfs_period_us``).

Left out, each because it moves no share and little latency here: CFS's next/last buddies; Xen credit's run queues
per CPU and their load balancing (a pool of CPUs has one queue); BVT's warp (Xen 1.0 gives every domain warp 0).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

from .entities import Entity

__all__ = ["Policy", "CreditPolicy", "Credit2Policy", "BvtPolicy", "CfsPolicy", "RootSchedulerPolicy", "FifoPolicy",
           "POLICIES", "MODE_POLICIES", "policy_for", "request_key", "running_s", "CREDIT", "CREDIT2", "CFS", "BVT",
           "DEFAULT_WEIGHT", "MIN_RUN_S", "TICK_ROUNDING"]

#: The weight of an entity nobody weighted: Xen's default credit weight, and the CFS share the kit gives a
#: vCPU thread of default priority (weights are relative, so 256 is the unit of both)
DEFAULT_WEIGHT = (256, "Xen sched_credit.c: CSCHED_DEFAULT_WEIGHT; CFS shares relative to the same unit")

#: Xen credit scheduler (xen/common/sched/credit.c)
CREDIT = {
    "weight": (256, "Xen sched_credit.c: CSCHED_DEFAULT_WEIGHT"),
    "slice_ms": (30, "Xen sched_credit.c: CSCHED_DEFAULT_TSLICE_MS; csched_schedule gives the vCPU it picks a 30 ms "
                     "time slice, and the CPU is rescheduled when it ends, when the vCPU blocks, or when a waking vCPU "
                     "of higher priority tickles it (__runq_tickle)"),
    "tick_ms": (10, "Xen sched_credit.c: CSCHED_MSECS_PER_TICK; at each tick csched_tick accounts the running vCPU "
                    "(burn_credits) and ends its BOOST (csched_vcpu_acct); a tick does not reschedule"),
    "ticks_per_acct": (3, "Xen sched_credit.c: CSCHED_TICKS_PER_ACCT, credits recomputed every 30 ms (csched_acct), "
                          "each vCPU's priority set UNDER or OVER by its credit's sign, its credit kept within one "
                          "slice's worth either way"),
    "ratelimit_us": (1000, "Xen docs/misc/xen-command-line: sched_ratelimit_us defaults to 1000 (since Xen 4.2); "
                           "csched_schedule keeps a running vCPU that has run less than that"),
}

#: Xen credit2 scheduler (xen/common/sched/credit2.c), Xen's default since 4.8
CREDIT2 = {
    "credit_init_ms": (10, "Xen sched/credit2.c: CSCHED2_CREDIT_INIT is MILLISECS(10)"),
    "ratelimit_ms": (1, "Xen sched/credit2.c: the default sched_ratelimit_us is 1000: csched2_schedule keeps a "
                        "running vCPU that has run less than 1 ms, whoever woke (the context-switch rate limit)"),
    "max_timer_ms": (10, "Xen sched/credit2.c: CSCHED2_MAX_TIMER is MILLISECS(10), the longest a vCPU runs"),
    "migrate_resist_ms": (0.5, "Xen sched/credit2.c: CSCHED2_MIGRATE_RESIST is MICROSECS(500), the credit a waker "
                               "must have beyond the running vCPU's to preempt it"),
    "cap_period_ms": (10, "Xen sched/credit2.c: CSCHED2_BDGT_REPL_PERIOD is MILLISECS(10), the cap's budget "
                          "replenishment period"),
}

#: Linux CFS, as it schedules KVM vCPU threads (kernel/sched/fair.c before EEVDF, Linux 2.6.23-6.5)
CFS = {
    "latency_ms": (6, "Linux kernel/sched/fair.c: sysctl_sched_latency 6 ms, the period in which every runnable "
                      "entity runs once while there are at most sched_nr_latency of them"),
    "min_granularity_ms": (0.75, "Linux kernel/sched/fair.c: sysctl_sched_min_granularity 0.75 ms; with more than "
                                 "sched_nr_latency (8) runnable entities the period is their number times this"),
    "wakeup_granularity_ms": (1, "Linux kernel/sched/fair.c: sysctl_sched_wakeup_granularity 1 ms: a waker preempts "
                                 "when the running entity's virtual runtime is ahead of its own by more than this, "
                                 "in the waker's virtual time (wakeup_preempt_entity, wakeup_gran)"),
    "scaling_cpus": (8, "Linux kernel/sched/fair.c: get_update_sysctl_factor: under the default "
                        "SCHED_TUNABLESCALING_LOG the three granularities are multiplied by 1 + ilog2(CPUs), CPUs "
                        "counted up to 8"),
    "bandwidth_period_ms": (100, "Linux Documentation/scheduler/sched-bwc.rst: cpu.cfs_period_us defaults to 100 ms"),
    "hz": (250, "Linux kernel/Kconfig.hz: default HZ_250; without HRTICK a slice's end is checked at the scheduler "
                "tick (scheduler_tick, entity_tick, check_preempt_tick)"),
}

#: Xen 1.0's borrowed virtual time scheduler (Duda and Cheriton, SOSP 1999; xen/common/schedule.c of Xen 1.0)
BVT = {
    "ctx_allow_ms": (5, "Xen 1.0 xen/common/schedule.c: ctx_allow = MILLISECS(5), the context switch allowance: a "
                        "domain picked while others are runnable runs for it (r_time), and a waker reschedules the "
                        "CPU only once the running domain has run that long (reschedule)"),
    "alone_allowances": (10, "Xen 1.0 schedule.c: a domain with no other runnable domain on its CPU runs "
                             "10 * ctx_allow before the scheduler runs again"),
    "mcu_us": (100, "Xen 1.0 schedule.c: MCU = MICROSECS(100), the minimum charging unit: each run's virtual time "
                    "is charged in whole MCUs, rounded up"),
    "mcu_advance": (10, "Xen 1.0 schedule.c: MCU_ADVANCE = 10, the default virtual time a domain advances per MCU "
                        "(its weight is the inverse)"),
}

#: Shortest run the scheduler asks SimPy for, so that a boundary reached by rounding still advances time.
MIN_RUN_S = 1e-9
#: Tolerance when locating the current tick (floating-point time is a multiple of the tick up to this).
TICK_ROUNDING = 1e-9


def request_key(req: Any) -> Any:
    """The order of a request in a CPU pool's queue (priority, then arrival)."""
    return req.key


def _to_tick(now: float, run: float, tick_s: float) -> float:
    """``run`` cut at the next tick after ``now``."""
    boundary = (math.floor(now / tick_s + TICK_ROUNDING) + 1) * tick_s
    return min(run, max(boundary - now, MIN_RUN_S))


def _on_tick(now: float, tick_s: float) -> bool:
    """Whether ``now`` is a tick (up to floating-point rounding)."""
    ticks = now / tick_s
    return abs(ticks - round(ticks)) <= TICK_ROUNDING * max(1.0, ticks)


def running_s(ent: Entity, now: float) -> float:
    """Seconds ``ent`` has run since its current run began and was last charged (0 when it is not running)."""
    act = ent.activity
    return now - act.since if act.state == "running" else 0.0


class Policy:
    """How a scheduler shares CPUs: one object per scheduler, chosen once.

    Priorities are numbers, lower first: a queued entity's is :meth:`priority`, a running one's, with the part of
    its run not yet charged, is :meth:`standing`. A waker takes a running entity's CPU when :meth:`beats` says so
    and the running one has had :attr:`min_run_s` since it got its CPU (else when it has); a running entity whose
    slice ends keeps its CPU when :meth:`keeps_cpu` says so, and otherwise goes back to the queue.
    """

    name: ClassVar[str] = ""
    #: the period over which caps are enforced (seconds)
    period_s: float = CREDIT["tick_ms"][0] * CREDIT["ticks_per_acct"][0] / 1000.0
    #: whether this scheduler enforces caps (a VM limited to a share of a CPU per period)
    enforces_caps: ClassVar[bool] = False
    #: how long a running entity keeps its CPU against wakers once it got it (seconds; 0: none)
    min_run_s: float = 0.0

    def start(self, sched: Any) -> None:
        """Start the policy's own processes (accounting periods) on a scheduler (discrete or fluid)."""

    def on_wake(self, ent: Entity, pool: Any) -> None:
        """Adjust a waking entity's state before it queues."""

    def priority(self, ent: Entity, waking: bool) -> float:
        """Queue priority (lower runs first)."""
        return 0

    def standing(self, ent: Entity, ran_s: float) -> float:
        """The priority of a running entity that has run ``ran_s`` seconds not yet charged."""
        return self.priority(ent, False)

    def preempts(self, priority: float, waking: bool) -> bool:
        """Whether a request with ``priority`` may preempt a running entity at all (a waker's, mostly)."""
        return False

    def beats(self, waker: Entity, priority: float, standing: float) -> bool:
        """Whether ``waker``, of queue priority ``priority``, takes the CPU of a running entity of ``standing``."""
        return False

    def keeps_cpu(self, ent: Entity, head: Entity) -> bool:
        """At the end of its slice: whether running ``ent`` keeps its CPU against ``head``, the first queued
        entity (the policy picks again among both: a tie goes to the one that waited)."""
        return self.standing(ent, 0.0) < self.priority(head, False)

    def slice_for(self, ent: Entity | None, pool: Any) -> float:
        """How long ``ent`` may run before the policy picks again, when it gets a CPU of ``pool``."""
        return CREDIT["slice_ms"][0] / 1000.0

    def run_limit(self, ent: Entity, pool: Any) -> float:
        """When ``ent`` gets a CPU: how long until the policy picks again by itself (its slice; a policy that looks
        only at its ticks, :meth:`tick_resched`, runs without a limit of its own)."""
        return self.slice_for(ent, pool)

    def tick_resched(self, ent: Entity, pool: Any, held_s: float, now: float) -> bool:
        """At ``now``, the end of a run the policy clipped (:meth:`clip_run`): whether it picks again for the
        running ``ent``, which has held its CPU for ``held_s`` seconds, with entities queued."""
        return False

    def clip_run(self, now: float, run: float) -> float:
        """The longest run from ``now``: a policy accounts at its own boundaries (ticks)."""
        return run

    def charge(self, ent: Entity, dt: float) -> None:
        """Charge ``dt`` seconds of CPU to ``ent``."""

    def ran(self, ent: Entity, now: float) -> None:
        """A run of ``ent`` ended at ``now`` (at a boundary :meth:`clip_run` set, or earlier) and was charged."""

    def descheduled(self, ent: Entity, held_s: float) -> None:
        """``ent`` gave up the CPU it held for ``held_s`` seconds (the discrete scheduler calls this)."""

    def preempts_running(self, waker: Entity, prio: float, pool: Any) -> bool:
        """Whether a waker of priority ``prio`` takes the CPU of some running, not boosted entity of ``pool`` (the
        fluid engine's question, on charged priorities; a pool that keeps summaries may answer it faster)."""
        return any(self.beats(waker, prio, self.priority(j.ent, False)) for j in pool.sharing())

    def fluid_weight(self, ent: Entity) -> float:
        """The entity's share of contended CPUs in the fluid engine (its long-run share under this policy)."""
        return ent.weight

    def requires_slices(self) -> bool:
        """Whether an outcome of this policy depends on slice boundaries, so that the hybrid engine must run the
        discrete scheduler (a mechanism such as lock-holder preemption or co-scheduling says so here)."""
        return False

    def preemption_reorders(self) -> bool:
        """Whether an entity a waker preempts loses its place to others (its position in the queue is its arrival,
        not a virtual time or a credit it keeps), so that frequent wakers (backends woken by I/O) change the shares
        of contending entities and the hybrid engine must run the discrete scheduler."""
        return False

    def directed_yield(self, target: Entity, pool: Any) -> bool:
        """Move a waiting ``target`` to the head of ``pool``'s queue when a spinning vCPU yields its CPU to it
        (KVM's ``yield_to`` from a pause-loop exit); False where the scheduler has no directed yield."""
        return False

    def mean_run_s(self, pool: Any, runnable: int) -> float:
        """How long an entity that never blocks runs between switches on a contended CPU of ``pool``, with
        ``runnable`` such entities on it (the fluid engine charges VM switches at this rate)."""
        return self.slice_for(None, pool)


class CreditPolicy(Policy):
    """Xen's credit scheduler (xen/common/sched/credit.c).

    Credits are handed out every 30 ms in proportion to weight and debited by run time; entities with credit
    left (UNDER) run before those without (OVER); a waking entity with credit is BOOSTed, and a BOOSTed waker takes
    the CPU of an UNDER or OVER one (once that one has run the 1 ms rate limit); a running entity's BOOST ends at
    the next 10 ms tick. The CPU is rescheduled when a slice of 30 ms ends, where the running entity keeps it only
    against queued entities of lower priority (it goes behind those of its own). A cap parks the VM once it has
    used its share of the accounting period.
    """

    name = "credit"
    enforces_caps = True
    BOOST, UNDER, OVER = 0, 1, 2

    def __init__(self) -> None:
        self.tick_s = CREDIT["tick_ms"][0] / 1000.0
        self.period_s = self.tick_s * CREDIT["ticks_per_acct"][0]  # credits recomputed every 3 ticks
        self.slice_s = CREDIT["slice_ms"][0] / 1000.0
        self.min_run_s = CREDIT["ratelimit_us"][0] / 1e6

    def start(self, sched: Any) -> None:
        sched.env.process(self._accounting(sched))

    def _accounting(self, sched: Any):
        env = sched.env
        bound = self.slice_s  # credits stay within one slice's worth either way (csched_acct)
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
                e.credit = max(min(e.credit + grant, bound), -bound)
                e.boosted = False  # priorities are recomputed: UNDER or OVER by the credit's sign
            # waiting vCPUs move between UNDER and OVER with their new credit
            for pool in sched.pools:
                for r in pool.queue:
                    r.priority = self.priority(r.proc_entity, False)
                    r.key = (r.priority, r.time, not r.preempt)
                pool.queue.sort(key=request_key)  # a _KeyedQueue (a list), or the fluid pool's empty list
            sched.renew_caps()  # a capped VM's budget is renewed every accounting period
            yield env.timeout(self.period_s)

    def on_wake(self, ent: Entity, pool: Any) -> None:
        if ent.credit >= 0:  # csched_vcpu_wake: an UNDER vCPU is boosted
            ent.boosted = True

    def priority(self, ent: Entity, waking: bool) -> float:
        if ent.boosted:
            return self.BOOST
        return self.UNDER if ent.credit >= 0 else self.OVER

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking and priority == self.BOOST

    def beats(self, waker: Entity, priority: float, standing: float) -> bool:
        return priority < standing  # __runq_tickle: new->pri > cur->pri

    def slice_for(self, ent: Entity | None, pool: Any) -> float:
        return self.slice_s

    def clip_run(self, now: float, run: float) -> float:
        return _to_tick(now, run, self.tick_s)

    def charge(self, ent: Entity, dt: float) -> None:
        ent.credit -= dt

    def preemption_reorders(self) -> bool:
        return True  # csched_schedule puts a preempted vCPU behind the queued ones of its priority (__runq_insert)

    def ran(self, ent: Entity, now: float) -> None:
        if ent.boosted and _on_tick(now, self.tick_s):
            ent.boosted = False  # csched_vcpu_acct: found running at a tick, it is no longer boosted


class CfsPolicy(Policy):
    """Linux CFS as it schedules vCPU threads (kernel/sched/fair.c, before EEVDF).

    The entity with the smallest weighted virtual runtime runs. At each scheduler tick (HZ 250) the running one is
    checked (check_preempt_tick): once it has run more than its weight's share of the scheduling period (the
    latency while at most ``latency / min_granularity`` entities are runnable per CPU, that many minimum
    granularities beyond), or its virtual runtime is ahead of the smallest queued one's by more than that share
    after a minimum granularity, the policy picks again, and it keeps its CPU only while its virtual runtime is
    still the smallest. A waking entity preempts when the running one's virtual runtime exceeds its own by more
    than the wake-up granularity, and a sleeper's virtual runtime is brought up to half a latency below the run
    queue's smallest. The three granularities scale with 1 + log2 of the host's CPUs (up to 8), as Linux scales
    them. Caps are cgroup bandwidth control: a quota per period.
    """

    name = "cfs"
    enforces_caps = True

    def __init__(self, cpus: int = 1) -> None:
        self.period_s = CFS["bandwidth_period_ms"][0] / 1000.0
        self.tick_s = 1.0 / CFS["hz"][0]
        self._scale(cpus)

    def _scale(self, cpus: int) -> None:
        factor = 1 + int(math.log2(max(1, min(cpus, CFS["scaling_cpus"][0]))))
        self.latency_s = factor * CFS["latency_ms"][0] / 1000.0
        self.min_granularity_s = factor * CFS["min_granularity_ms"][0] / 1000.0
        self.wakeup_granularity_s = factor * CFS["wakeup_granularity_ms"][0] / 1000.0
        self.nr_latency = self.latency_s / self.min_granularity_s

    def start(self, sched: Any) -> None:
        self._scale(sched.n)
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
            floor = min((u.proc_entity.vruntime for q in (pool.users, pool.queue) for u in q),
                        default=ent.vruntime)
        ent.vruntime = max(ent.vruntime, floor - self.latency_s / 2.0)

    def priority(self, ent: Entity, waking: bool) -> float:
        return ent.vruntime

    def standing(self, ent: Entity, ran_s: float) -> float:
        return ent.vruntime + ran_s * DEFAULT_WEIGHT[0] / ent.weight

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking

    def beats(self, waker: Entity, priority: float, standing: float) -> bool:
        return standing - priority > self.wakeup_granularity_s * DEFAULT_WEIGHT[0] / waker.weight

    def preempts_running(self, waker: Entity, prio: float, pool: Any) -> bool:
        largest = getattr(pool, "max_vruntime", None)  # the fluid engine's pools keep it
        if largest is not None:
            return self.beats(waker, prio, largest())
        return super().preempts_running(waker, prio, pool)

    def _period(self, runnable: float) -> float:
        """The scheduling period with ``runnable`` entities per CPU (__sched_period)."""
        return self.latency_s if runnable <= self.nr_latency else runnable * self.min_granularity_s

    def slice_for(self, ent: Entity | None, pool: Any) -> float:
        users, queue = pool.users, pool.queue
        runnable = (len(users) + len(queue)) / pool.capacity
        period = self._period(runnable)
        if ent is None or runnable <= 1.0:
            return period / max(1.0, runnable)
        total = sum(u.proc_entity.weight for q in (users, queue) for u in q)
        return period * ent.weight * pool.capacity / total  # sched_slice: the weight's share of the period

    def run_limit(self, ent: Entity, pool: Any) -> float:
        return math.inf  # the slice is checked at ticks

    def clip_run(self, now: float, run: float) -> float:
        return _to_tick(now, run, self.tick_s)

    def tick_resched(self, ent: Entity, pool: Any, held_s: float, now: float) -> bool:
        if not _on_tick(now, self.tick_s):
            return False
        ideal = self.slice_for(ent, pool)
        if held_s > ideal:
            return True
        if held_s < self.min_granularity_s:
            return False
        return self.standing(ent, 0.0) - self.priority(pool.queue[0].proc_entity, False) > ideal

    def charge(self, ent: Entity, dt: float) -> None:
        ent.vruntime += dt * DEFAULT_WEIGHT[0] / ent.weight

    def directed_yield(self, target: Entity, pool: Any) -> bool:
        # yield_to (kernel/sched/core.c) makes the target the run queue's next buddy: it runs next
        return _to_front(target, pool)

    def mean_run_s(self, pool: Any, runnable: int) -> float:
        # a CPU-bound entity runs until the first tick after its slice, then one with a smaller virtual runtime
        # takes the CPU; runs begin at ticks, so a run is a whole number of ticks beyond the slice
        per_cpu = max(1.0, runnable / pool.capacity)
        ideal = self._period(per_cpu) / per_cpu
        return (math.floor(ideal / self.tick_s + TICK_ROUNDING) + 1) * self.tick_s


def _to_front(target: Entity, pool: Any) -> bool:
    """Move ``target``'s queued request ahead of every other (a directed yield); False if it is not queued."""
    queue = getattr(pool, "queue", None)
    if not queue:
        return False
    for r in queue:
        if r.proc_entity is target:
            r.key = (-math.inf, r.time, not r.preempt)
            queue.sort(key=request_key)
            return True
    return False


class Credit2Policy(Policy):
    """Xen's credit2 scheduler (xen/common/sched/credit2.c), Xen's default since 4.8.

    Every vCPU starts with ``CSCHED2_CREDIT_INIT`` (10 ms) of credit; running burns credit in inverse proportion to
    the weight (the heaviest vCPU burns at the rate of time); the run queue is ordered by credit, and when the vCPU
    at its head has none left every vCPU's credit is reset (raised by the initial credit). A waking vCPU preempts
    the running one whose credit is lower than its own by more than the migrate resistance, once that one has run
    the 1 ms rate limit; a vCPU runs until its credit would fall below the next one's, at least the rate limit and
    at most 10 ms. There is no BOOST: a waking I/O vCPU wins by the credit it has not burnt. Caps are credit2's
    (since Xen 4.10): a budget per period, as a :class:`CapGroup`.
    """

    name = "credit2"
    enforces_caps = True

    def __init__(self) -> None:
        self.init_s = CREDIT2["credit_init_ms"][0] / 1000.0
        self.min_s = CREDIT2["ratelimit_ms"][0] / 1000.0
        self.min_run_s = self.min_s
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

    def standing(self, ent: Entity, ran_s: float) -> float:
        return -(ent.credit - ran_s * self._max_weight / ent.weight)

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking

    def beats(self, waker: Entity, priority: float, standing: float) -> bool:
        return standing - priority > self.resist_s

    def slice_for(self, ent: Entity | None, pool: Any) -> float:
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

    def mean_run_s(self, pool: Any, runnable: int) -> float:
        # a CPU-bound vCPU runs until its credit falls the rate limit below the best queued one's: the runnable - CPUs
        # queued vCPUs settle evenly spaced within one rate limit, so a run burns the rate limit and one spacing
        # (two rate limits for two vCPUs on one CPU)
        queued = max(1.0, runnable - pool.capacity)
        return self.min_s * (1.0 + 1.0 / queued)


class BvtPolicy(Policy):
    """Xen 1.0's borrowed virtual time scheduler (Duda and Cheriton, SOSP 1999; xen/common/schedule.c of Xen 1.0).

    Each domain's actual virtual time advances by its run time over its weight (MCU_ADVANCE per 100 us run,
    rounded up to whole MCUs per run); the domain of smallest effective virtual time (the actual one: Xen 1.0 gives
    every domain warp 0) runs. A domain picked while others are runnable runs for the context switch allowance,
    5 ms, one alone for ten of them; when it has run its time the CPU goes to the smallest virtual time, the one
    that waited on a tie. A waking domain's virtual time is brought up to the system virtual time (the smallest of
    the runnable domains'), and it takes the CPU of a running domain whose virtual time is not below its own, once
    that one has run the allowance.
    """

    name = "bvt"

    def __init__(self, ctx_allow_s: float | None = None) -> None:
        self.ctx_allow_s = BVT["ctx_allow_ms"][0] / 1000.0 if ctx_allow_s is None else ctx_allow_s
        self.min_run_s = self.ctx_allow_s
        self.mcu_s = BVT["mcu_us"][0] / 1e6

    def on_wake(self, ent: Entity, pool: Any) -> None:
        smallest = getattr(pool, "min_vruntime", None)
        if smallest is not None:
            svt = smallest(ent.vruntime)
        else:
            svt = min((u.proc_entity.vruntime for q in (pool.users, pool.queue) for u in q), default=ent.vruntime)
        ent.vruntime = max(ent.vruntime, svt)

    def priority(self, ent: Entity, waking: bool) -> float:
        # wake_up puts the waker at the run queue's head, and schedule() takes the first of the smallest virtual
        # times: a waker goes ahead of queued domains of its own virtual time (CPU-bound domains that each ran one
        # allowance have equal ones); a domain whose time ran out goes to the tail
        return math.nextafter(ent.vruntime, -math.inf) if waking else ent.vruntime

    def standing(self, ent: Entity, ran_s: float) -> float:
        return ent.vruntime + ran_s * DEFAULT_WEIGHT[0] / ent.weight

    def preempts(self, priority: float, waking: bool) -> bool:
        return waking

    def beats(self, waker: Entity, priority: float, standing: float) -> bool:
        return priority <= standing  # the waker at the run queue's head wins a tie

    def slice_for(self, ent: Entity | None, pool: Any) -> float:
        others = len(pool.users) + len(pool.queue) > pool.capacity
        # Xen 1.0's r_time adds to the allowance a virtual-time gap divided by MCU_ADVANCE, in nanoseconds: a few
        # nanoseconds, left out
        return self.ctx_allow_s if others else BVT["alone_allowances"][0] * self.ctx_allow_s

    def charge(self, ent: Entity, dt: float) -> None:
        ent.vruntime += dt * DEFAULT_WEIGHT[0] / ent.weight

    def descheduled(self, ent: Entity, held_s: float) -> None:
        # schedule() charges the whole run in MCUs rounded up: the part of the last MCU not run
        short = math.ceil(held_s / self.mcu_s - 1e-9) * self.mcu_s - held_s
        if short > 0:
            ent.vruntime += short * DEFAULT_WEIGHT[0] / ent.weight

    def mean_run_s(self, pool: Any, runnable: int) -> float:
        return self.ctx_allow_s


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
POLICIES: dict[str, type[Policy]] = {p.name: p for p in (CreditPolicy, Credit2Policy, BvtPolicy, CfsPolicy,
                                                         RootSchedulerPolicy, FifoPolicy)}
#: The policy of each mode scheduler
MODE_POLICIES = {"credit": CreditPolicy, "credit2": Credit2Policy, "bvt": BvtPolicy, "cfs": CfsPolicy,
                 "host": CfsPolicy, "hyperv": RootSchedulerPolicy, "none": CfsPolicy}


def policy_for(mode_scheduler: str) -> Policy:
    """The policy that runs a mode's vCPUs.

    Native processes and every host OS (KVM's Linux, a hosted VMM's host) run under CFS; Xen under credit or
    credit2, and Xen 1.0 under BVT; Hyper-V under its root scheduler, approximated by CFS
    (:class:`RootSchedulerPolicy`).
    """
    return MODE_POLICIES.get(mode_scheduler, FifoPolicy)()
