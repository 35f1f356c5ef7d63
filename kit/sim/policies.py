"""The policies that share physical CPUs among entities, with their constants and sources.

What differs between schedulers is a :class:`Policy` object, chosen once: its priority, whether a waker
preempts, its slice, how run time is charged, where a run must stop (a tick), and when a running entity yields.
:class:`CreditPolicy` (Xen's credit scheduler), :class:`Credit2Policy` (Xen's credit2), :class:`CfsPolicy`
(Linux CFS, as it runs KVM vCPU threads, native processes and a hosted VMM's host), :class:`RootSchedulerPolicy`
(Hyper-V's root scheduler, approximated by CFS) and :class:`FifoPolicy` (arrival order). A cap (a VM limited to a
share of one CPU per period) is a :class:`~kit.sim.entities.CapGroup`: under credit it is Xen's credit cap,
renewed every accounting period; under CFS it is cgroup bandwidth control (``cpu.cfs_quota_us`` per
``cpu.cfs_period_us``).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

from .entities import Entity

__all__ = ["Policy", "CreditPolicy", "Credit2Policy", "CfsPolicy", "RootSchedulerPolicy", "FifoPolicy", "POLICIES",
           "MODE_POLICIES", "policy_for", "request_key", "CREDIT", "CREDIT2", "CFS", "DEFAULT_WEIGHT", "MIN_RUN_S",
           "TICK_ROUNDING"]

#: The weight of an entity nobody weighted: Xen's default credit weight, and the CFS share the kit gives a
#: vCPU thread of default priority (weights are relative, so 256 is the unit of both)
DEFAULT_WEIGHT = (256, "Xen sched_credit.c: CSCHED_DEFAULT_WEIGHT; CFS shares relative to the same unit")

#: Xen credit scheduler (xen/common/sched/credit.c)
CREDIT = {
    "weight": (256, "Xen sched_credit.c: CSCHED_DEFAULT_WEIGHT"),
    "slice_ms": (30, "Xen sched_credit.c: CSCHED_DEFAULT_TSLICE_MS"),
    "tick_ms": (10, "Xen sched_credit.c: CSCHED_MSECS_PER_TICK, credits debited on 10 ms ticks"),
    "ticks_per_acct": (3, "Xen sched_credit.c: CSCHED_TICKS_PER_ACCT, credits recomputed every 30 ms"),
}

#: Xen credit2 scheduler (xen/common/sched/credit2.c), Xen's default since 4.8
CREDIT2 = {
    "credit_init_ms": (10, "Xen sched/credit2.c: CSCHED2_CREDIT_INIT is MILLISECS(10)"),
    "ratelimit_ms": (1, "Xen sched/credit2.c: the default sched_ratelimit_us is 1000 (a vCPU runs at least 1 ms)"),
    "max_timer_ms": (10, "Xen sched/credit2.c: CSCHED2_MAX_TIMER is MILLISECS(10), the longest a vCPU runs"),
    "migrate_resist_ms": (0.5, "Xen sched/credit2.c: CSCHED2_MIGRATE_RESIST is MICROSECS(500), the credit a waker "
                               "must have beyond the running vCPU's to preempt it"),
    "cap_period_ms": (10, "Xen sched/credit2.c: CSCHED2_BDGT_REPL_PERIOD is MILLISECS(10), the cap's budget "
                          "replenishment period"),
}

#: Linux CFS, as it schedules KVM vCPU threads
CFS = {
    "latency_ms": (6, "Linux kernel/sched/fair.c: sysctl_sched_latency 6 ms (scaled by log2(CPUs))"),
    "min_granularity_ms": (0.75, "Linux kernel/sched/fair.c: sysctl_sched_min_granularity 0.75 ms"),
    "bandwidth_period_ms": (100, "Linux Documentation/scheduler/sched-bwc.rst: cpu.cfs_period_us defaults to 100 ms"),
}

#: Shortest run the scheduler asks SimPy for, so that a boundary reached by rounding still advances time.
MIN_RUN_S = 1e-9
#: Tolerance when locating the current tick (floating-point time is a multiple of the tick up to this).
TICK_ROUNDING = 1e-9


def request_key(req: Any) -> Any:
    """The order of a request in a CPU pool's queue (priority, then arrival)."""
    return req.key


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
                pool.queue.sort(key=request_key)  # a _KeyedQueue (a list), or the fluid pool's empty list
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
            queue.sort(key=request_key)
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
