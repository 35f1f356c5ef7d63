"""Constants of the vCPU schedulers, with their sources."""
from __future__ import annotations

__all__ = ["CREDIT", "CREDIT2", "CFS", "KVM_HALT_POLL_S", "DEFAULT_WEIGHT"]

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

#: KVM halt polling: a halted vCPU polls this long before its thread sleeps
KVM_HALT_POLL_S = (200e-6, "Linux virt/kvm: halt_poll_ns defaults to KVM_HALT_POLL_NS_DEFAULT, 200,000 ns on x86")
