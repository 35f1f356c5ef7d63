"""Guest synchronization on a contended host: lock-holder preemption, pause-loop exits, paravirtual spinlocks,
IPIs and TLB shootdowns to descheduled vCPUs, and relaxed co-scheduling.

A guest kernel holds spinlocks with preemption disabled, so natively a lock holder is never descheduled in its
critical section. A vCPU can be: when the hypervisor takes its physical CPU (the end of a slice, a tick, a waking
vCPU, a cap), it holds a lock with the probability that it is inside a critical section (``spinlocks x
lock_hold_cycles`` per unit of work, its share of the vCPU's time). The VM's other running vCPUs then spin on that
lock as soon as they want it (at ``spinlocks x lock_hot_share`` acquisitions per unit: the share of acquisitions
on locks every vCPU takes) until the holder runs again: lock-holder preemption (Uhlig, LeVasseur, Skoglund,
Dannowski and Uhlig, "Towards Scalable Multiprocessor Virtual Machines", VM 2004). Likewise a vCPU that sends a
TLB shootdown waits until every descheduled target has run and flushed (``tlb_shootdowns`` per unit, the
synchronous ones among its IPIs).

What the mode does about it (its parts, :mod:`kit.inputs.modes`):

- ``pause_exit=ple``: the CPU counts the spinner's PAUSE loop and exits after ``PLE_WINDOW`` cycles; the
  hypervisor yields the spinner's CPU, to a preempted vCPU of the same VM where the scheduler can direct a yield
  (KVM's ``kvm_vcpu_on_spin`` and ``yield_to``; Xen only yields), and the spinner queues again (Intel SDM vol. 3C,
  25.1.3; Zhang et al. on PLE in KVM).
- ``spinlocks=pv``: paravirtual spinlocks (pvqspinlock): a waiter spins ``PV_SPIN_THRESHOLD`` iterations, then
  halts (off its CPU); the holder's unlock kicks it with a hypercall and it wakes (Friebel and Biemueller, "How to
  deal with lock holder preemption", Xen Summit 2008; Linux ``kernel/locking/qspinlock_paravirt.h``).
- ``tlb_flush=pv``: the hypervisor defers the flush of a descheduled vCPU to its next entry, so a shootdown never
  waits for one (Xen PV's MMUEXT_TLB_FLUSH_MULTI; KVM's PV TLB flush).
- ``ipi_yield=pv``: a vCPU that waits for an IPI to a descheduled vCPU yields its CPU to it (KVM's
  ``pv_sched_yield``).
- ``cosched=relaxed``: VMware's relaxed co-scheduling ("The CPU Scheduler in VMware vSphere 5.1", 2013): a vCPU
  that makes progress while a sibling is descheduled accumulates skew; past ``COSTOP_SKEW_S`` it is co-stopped
  until the sibling runs. Spinning counts as progress to the hypervisor, so a spinner is co-stopped after the skew
  threshold instead of spinning on.

These outcomes depend on where each vCPU is in its slice, so a host with such a VM on contended CPUs runs the
discrete scheduler (:func:`needs_slices`); :class:`Sync` is what the scheduler calls. A waiter meets a preempted
holder at a Poisson rate, drawn again for every run of the vCPU (runs are at most an item, about a millisecond, or
a slice long), so a holder preempted in the middle of a run is met from the sibling's next run on.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import simpy

from ..costs.paths import Step
from .entities import Activity, Item
from .work import Work

__all__ = ["Sync", "VmSync", "needs_slices", "LOCK_SPIN", "IPI_WAIT", "LOCK_HALT", "COSTOP", "WAIT_STATES",
           "PLE_WINDOW", "PV_SPIN_THRESHOLD", "PAUSE_CYCLES", "COSTOP_SKEW_S", "PLE_HANDLER_INSTR"]

LOCK_SPIN = "lock spinning"
IPI_WAIT = "IPI waiting"
#: off the CPU: a halted PV-spinlock waiter, a co-stopped vCPU
LOCK_HALT = "halted on a lock"
COSTOP = "co-stop"
#: states an entity may be in off its CPU while it waits here (the end-of-run flush accounts them)
WAIT_STATES = (LOCK_HALT, COSTOP)

PLE_WINDOW = (4096, "Linux arch/x86/kvm/vmx/vmx.c: ple_window defaults to KVM_VMX_DEFAULT_PLE_WINDOW, 4096 cycles; "
                    "Xen's vmx ple_window is 4096 as well")
PLE_HANDLER_INSTR = (2000, "estimated, because kvm_vcpu_on_spin scans the VM's vCPUs for a preempted candidate and "
                           "calls yield_to (a run-queue lock and a reschedule), about two thousand instructions for a "
                           "VM of a few vCPUs; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
PV_SPIN_THRESHOLD = (1 << 15, "Linux kernel/locking/qspinlock_paravirt.h: SPIN_THRESHOLD (1 << 15) iterations "
                              "before pv_wait halts the waiter")
PAUSE_CYCLES = (40, "estimated, because PAUSE takes about 10 cycles before Skylake and about 140 on Skylake and "
                    "later Intel cores (Intel optimization manual); a spin-loop iteration with its load is about 40; plausible 10-140 because PAUSE takes about 10 cycles before Skylake and about 140 on Skylake and later Intel cores")
COSTOP_SKEW_S = (3e-3, "estimated, because ESX's relaxed co-scheduler co-stops a vCPU whose skew against a stopped "
                       "sibling exceeds a threshold of a few milliseconds (VMware, The CPU Scheduler in VMware "
                       "vSphere 5.1, 2013); plausible 1e-3 to 1e-2 because ESX's co-stop threshold is not published; a few milliseconds either way")
#: Spinning with nothing to stop it (a spin item ends when the lock is released)
_FOREVER_S = 3600.0
_SYNC_STREAM = 0x10C5


def _all_of(env: simpy.Environment, events: list[simpy.Event]) -> simpy.Event:
    """A plain event that succeeds once every one of ``events`` has.

    Not SimPy's ``AllOf``: the scheduler waits for ``timeout | until``, and when that outer condition resolves by
    its timeout SimPy removes the checks of the conditions nested in it (``Condition._remove_check_callbacks``
    recurses), so a nested ``AllOf`` never triggered and a vCPU waiting for its shootdown acknowledgements spun
    for ever (tests/test_consolidation.py::test_tlb_shootdowns_wait_for_descheduled_vcpus...).
    """
    done = env.event()
    left = [len(events)]

    def one(_: simpy.Event) -> None:
        left[0] -= 1
        if left[0] == 0:
            done.succeed()
    for ev in events:
        if ev.callbacks is None:  # already processed
            one(ev)
        else:
            ev.callbacks.append(one)
    return done


class VmSync:
    """One VM's synchronization state: its preempted vCPUs, and which of them hold a lock."""

    def __init__(self, runner: Any, lock_rate: float, hold_prob: float, shoot_rate: float) -> None:
        self.runner = runner
        #: hot-lock acquisitions and shootdowns per second of a running vCPU; the chance a preempted vCPU holds a lock
        self.lock_rate, self.hold_prob, self.shoot_rate = lock_rate, hold_prob, shoot_rate
        #: descheduled vCPUs with work left, each with the event of its next run
        self.preempted: dict[Any, simpy.Event] = {}
        #: among them, the lock holders
        self.holders: dict[Any, simpy.Event] = {}
        self.lhp = 0
        self.waits = 0


def sync_rates(wl: Any, unit_cycles: float, mode: Any) -> tuple[float, float, float]:
    """(hot-lock acquisitions per CPU cycle, probability of holding a lock, shootdowns waited for per CPU cycle)."""
    u = wl.per_unit
    if unit_cycles <= 0:
        return 0.0, 0.0, 0.0
    lock = u.spinlocks * wl.lock_hot_share / unit_cycles if wl.lock_hold_cycles > 0 else 0.0
    hold = min(1.0, u.spinlocks * wl.lock_hold_cycles / unit_cycles)
    shoot = u.tlb_shootdowns / unit_cycles if mode.tlb_flush == "ipi" else 0.0
    return lock, hold, shoot


def needs_slices(mode: Any, plans: Any, contended: bool) -> bool:
    """Whether a host runs a VM whose vCPUs can wait for a descheduled sibling: a virtualized mode, contended CPUs,
    and a VM of several vCPUs whose workload takes hot spinlocks or waits for its TLB shootdowns."""
    if mode.runs_on_host_kernel or not contended:
        return False
    for p in plans:
        if p.vcpus < 2:
            continue
        lock, hold, shoot = sync_rates(p.workload, 1.0, mode)
        if (lock > 0 and hold > 0) or shoot > 0:
            return True
    return False


class Sync:
    """What the discrete scheduler calls for guest synchronization (see the module docstring)."""

    def __init__(self, env: simpy.Environment, mode: Any, seed: int, freq: float) -> None:
        self.env, self.mode, self.freq = env, mode, freq
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, _SYNC_STREAM]))
        self.vms: dict[int, VmSync] = {}
        self._pending: dict[Any, tuple[str, Any, simpy.Event]] = {}
        self._works: dict[tuple[int, str], Work] = {}

    def add(self, runner: Any, cost: Any) -> None:
        """Watch VM ``runner`` (its entities name it as their owner) whose costing is ``cost``."""
        if len(runner.entities) < 2:
            return
        unit = cost.unit().total
        lock, hold, shoot = sync_rates(cost.wl, unit, self.mode)
        if (lock <= 0 or hold <= 0) and shoot <= 0:
            return
        self.vms[id(runner)] = VmSync(runner, lock * self.freq, hold, shoot * self.freq)

    def _vm(self, ent: Any) -> VmSync | None:
        return self.vms.get(id(ent.owner)) if ent.owner is not None else None

    # -- the scheduler's calls -------------------------------------------------------------------------------
    def descheduled(self, ent: Any) -> None:
        """``ent`` lost its CPU with work left: it may hold a lock; its siblings' IPIs wait for its next run."""
        vm = self._vm(ent)
        if vm is None or ent in vm.preempted:
            return
        ev = self.env.event()
        vm.preempted[ent] = ev
        if self.rng.random() < vm.hold_prob:
            vm.holders[ent] = ev
            vm.lhp += 1

    def granted(self, ent: Any) -> None:
        """``ent`` runs again: it releases the lock it held and acknowledges the IPIs sent to it."""
        vm = self._vm(ent)
        if vm is None:
            return
        ev = vm.preempted.pop(ent, None)
        if ev is not None:
            vm.holders.pop(ent, None)
            ev.succeed()

    def stall_at(self, ent: Any, run: float) -> float | None:
        """Seconds into a run of ``run`` seconds at which ``ent`` meets a preempted holder's lock or waits for a
        shootdown to a descheduled sibling (None: it does not within this run)."""
        vm = self._vm(ent)
        if vm is None or not vm.preempted:
            return None
        lock = vm.lock_rate if vm.holders else 0.0
        others = [e for e in vm.preempted if e is not ent]
        shoot = vm.shoot_rate if others else 0.0
        total = lock + shoot
        if total <= 0:
            return None
        t = float(self.rng.exponential(1.0 / total))
        if t >= run:
            return None
        if self.rng.random() * total < lock:
            holders = [e for e in vm.holders if e is not ent] or list(vm.holders)
            target = holders[int(self.rng.integers(len(holders)))]
            self._pending[ent] = ("lock", target, vm.holders[target])
        else:
            evs = [vm.preempted[e] for e in others]
            target = others[int(self.rng.integers(len(others)))]
            self._pending[ent] = ("ipi", target, _all_of(self.env, evs) if len(evs) > 1 else evs[0])
        vm.waits += 1
        return t

    def cancel(self, ent: Any) -> None:
        self._pending.pop(ent, None)

    # -- waiting ------------------------------------------------------------------------------------------------
    def _work(self, ent: Any, what: str) -> Work:
        key = (id(ent.owner), what)
        w = self._works.get(key)
        if w is None:
            cost = ent.owner.guest.cost
            cm = cost.cm
            if what == "ple":
                handler = [Step("pause-loop exit: find a preempted vCPU of the VM and yield to it", "hypervisor",
                                PLE_HANDLER_INSTR[0] * cm.cpi)]
                w = cost.work(cm.exit("pause-loop exit (PAUSE or WFE)", handler))
            elif what == "kick":  # the holder's kick hypercall and the halted waiter's wakeup
                w = cost.work(cm.path("hypercall")) + cost.work(cm.ev_halt_wake())
            elif what == "yield":  # pv_sched_yield's hypercall
                w = cost.work(cm.path("hypercall"))
            else:
                raise ValueError(what)
            self._works[key] = w
        return w

    def _spin(self, ent: Any, sched: Any, freq: float, category: str, ev: simpy.Event, limit_s: float):
        """Spin on ``ent``'s CPU (queueing for it if it lost it) for at most ``limit_s``, or until ``ev``."""
        if ev.triggered:
            return
        yield from sched.execute(ent, Item(Work.of(category, limit_s * freq), until=ev), freq)

    def _off_cpu(self, ent: Any, sched: Any, state: str, ev: simpy.Event):
        """Wait off the CPU (halted, or co-stopped) until ``ev``."""
        sched.release(ent)
        if ev.triggered:
            return
        t0 = self.env.now
        ent.activity = Activity(state, t0)
        yield ev
        ent.acct[state] += self.env.now - t0

    def wait(self, ent: Any, sched: Any, freq: float):
        """``ent`` waits for what :meth:`stall_at` found: spin, pause-loop exits, halt, yield or co-stop."""
        pending = self._pending.pop(ent, None)
        if pending is None:
            return
        kind, target, ev = pending
        mode = self.mode
        category = LOCK_SPIN if kind == "lock" else IPI_WAIT
        ple = mode.pause_exit == "ple"
        window = PLE_WINDOW[0] / freq
        costop = mode.cosched == "relaxed"
        if kind == "ipi" and mode.ipi_yield == "pv" and not ev.triggered:
            yield from sched.execute(ent, Item(self._work(ent, "yield")), freq)
            self._yield_to(ent, target, sched)
        if kind == "lock" and mode.spinlocks == "pv":
            threshold = PV_SPIN_THRESHOLD[0] * PAUSE_CYCLES[0] / freq
            spun = 0.0
            while not ev.triggered and spun < threshold:
                step = min(window, threshold - spun) if ple else threshold
                yield from self._spin(ent, sched, freq, category, ev, step)
                spun += step
                if ple and not ev.triggered and spun < threshold:
                    yield from sched.execute(ent, Item(self._work(ent, "ple")), freq)
                    self._yield_to(ent, target, sched)
            if not ev.triggered:
                yield from self._off_cpu(ent, sched, LOCK_HALT, ev)
                yield from sched.execute(ent, Item(self._work(ent, "kick")), freq, waking=True)
            return
        spun = 0.0
        while not ev.triggered:
            limit = _FOREVER_S
            if ple:
                limit = window
            if costop:
                limit = min(limit, max(COSTOP_SKEW_S[0] - spun, 0.0))
            if limit > 0:
                yield from self._spin(ent, sched, freq, category, ev, limit)
                spun += limit
            if ev.triggered:
                break
            if costop and spun >= COSTOP_SKEW_S[0]:
                yield from self._off_cpu(ent, sched, COSTOP, ev)
                break
            if ple:
                yield from sched.execute(ent, Item(self._work(ent, "ple")), freq)
                self._yield_to(ent, target, sched)

    def _yield_to(self, ent: Any, target: Any, sched: Any) -> None:
        """Give up ``ent``'s CPU; where the policy has a directed yield, ``target`` runs next on that pool."""
        if ent.req is None:
            return
        if target is not None and target.req is None:
            sched.policy.directed_yield(target, sched.pool_of(target))
        sched.release(ent)
