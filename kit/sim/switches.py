"""Which physical CPU each entity holds, and what a switch between VMs on a CPU costs.

When a physical CPU passes from a vCPU of one VM to a vCPU of another, the incoming vCPU pays the mode's VM-switch
path (:meth:`kit.costs.switch_events.SwitchEvents.ev_vm_switch`: the hypervisor saves one VM's state, schedules and
loads the other's; natively, a process context switch) and then reloads what the others evicted: its TLB entries
(a walk per page of its working set, ``ws_pages``, as far as the VM before it displaced them) and the lines of that
working set in the core's private cache (``l2_kib``), ``mlp`` at a time, as far as the working sets of every VM
that ran on the CPU since it last did displaced them: the cache keeps the most recent lines, so a working set
survives while it and the data touched since fit (two small VMs taking turns reload little, the last of many
domains taking turns reloads everything); the lines come back from the last-level cache, or from DRAM when the
other VM streams through more memory than the last-level cache holds. Li, Ding and Shen ("Quantifying the cost of
context switch", ExpCS 2007) measured this indirect cost at tens to hundreds of microseconds for working sets of
hundreds of KiB, well above the direct cost of a few microseconds.

The discrete engine charges it on every such switch (:class:`Switches` is called when the scheduler grants a CPU),
with the VMs that ran on that CPU in between. A CPU is chosen as an operating system keeps affinity: the one the
entity last held if it is free, else one whose last vCPU belonged to the same VM, else one never used, else any.
Backend threads (dom0, vhost, QEMU, the host OS) are not charged here: the I/O paths' costs already include the
hand-over to them. The fluid engine has no CPU identities: it charges the same cost at the rate the policy switches
(:meth:`Switches.fluid_share`), with every other VM of the pool running in between.
"""
from __future__ import annotations

from typing import Any

from ..costs.paths import Step
from .work import Work

__all__ = ["Switches", "CACHE_REFILL", "GUEST_KINDS", "Hooks", "switch_work", "touched_bytes"]

CACHE_REFILL = "cache refill"
#: Runner kinds whose entities are guest vCPUs (switches between them are charged)
GUEST_KINDS = ("vcpu", "neighbor")


def touched_bytes(wl: Any, hw: Any) -> float:
    """The bytes of a private cache that a VM running workload ``wl`` for a while displaces: its working set (the
    pages it touches and the cache-sensitive set its last-level references cover), or the whole cache when it
    streams through more memory than the last-level cache holds."""
    l2 = (hw.opt("l2_kib") or 0.0) * 1024.0
    llc = hw.opt("llc_mib") or 0.0
    if wl.per_unit.random_refs + wl.per_unit.dram_lines > 0 and wl.footprint_mib > llc:
        return l2
    return min(l2, max(wl.per_unit.ws_pages * 4096.0, wl.cache_mib * 2.0 ** 20))


def switch_work(cost: Any, hw: Any, freq: float, other: Any = None, displaced: float | None = None) -> Work:
    """What a vCPU of the VM whose costing is ``cost`` pays when it gets a CPU that a VM running workload ``other``
    used last: the mode's VM-switch path, the TLB entries the other VM displaced (its working set's worth; None:
    all of this one's), and the lines of this VM's working set that ``displaced`` bytes touched on the CPU since
    it last ran there evicted from the private cache (None: all of them). The lines come back from the
    last-level cache, or from DRAM when the other VM streams through more memory than the last-level cache
    holds."""
    cm, wl = cost.cm, cost.wl
    w = cost.work(cm.ev_vm_switch())
    ws = wl.per_unit.ws_pages
    if other is not None:
        ws = min(ws, other.per_unit.ws_pages)
    tlb = min(ws, hw.val("tlb_entries")) * cm.walk_cycles()
    w = w + cost.work([Step("TLB refill after the switch", "walk", tlb)])
    l2 = hw.opt("l2_kib")
    if l2:
        size = l2 * 1024.0
        own = min(wl.per_unit.ws_pages * 4096.0, size)
        evicted = own if displaced is None else min(own, max(0.0, own + displaced - size))  # least recent go first
        lines = evicted / 64.0
        llc = hw.opt("llc_mib") or 0.0
        streams = other is None or (other.per_unit.random_refs + other.per_unit.dram_lines > 0
                                    and other.footprint_mib > llc)
        streams = streams or l2 * 1024.0 >= llc * 2 ** 20  # the private cache is the last level: lines come from DRAM
        lat = hw.val("mem_latency_ns") if streams or not hw.opt("llc_latency_ns") else hw.val("llc_latency_ns")
        if lines > 0:
            w = w + Work.of(CACHE_REFILL, lines * lat * 1e-9 * freq / wl.mlp)
    return w


class Switches:
    """CPU slots of the discrete scheduler's pools and the VM switches between them."""

    def __init__(self, sched: Any, pools: list[tuple[int, ...]], hw: Any, freq: float) -> None:
        self.sched, self.hw, self.freq = sched, hw, freq
        self._pool_index = {id(p): i for i, p in enumerate(sched.pools)}
        self.cpus = pools
        self.free: list[set[int]] = [set(c) for c in pools]
        self.fresh: list[list[int]] = [list(reversed(c)) for c in pools]
        self.last_vm: dict[int, Any] = {}
        #: per CPU, the VMs that ran on it, least recent first
        self.history: dict[int, dict[int, Any]] = {}
        self._work: dict[tuple, Work] = {}
        self._touched: dict[int, float] = {}
        self._l2 = (hw.opt("l2_kib") or 0.0) * 1024.0
        #: switches charged, per guest runner name
        self.count: dict[str, int] = {}

    def _pick(self, p: int, ent: Any, vm: Any) -> int:
        free = self.free[p]
        if ent.last_cpu in free:
            return ent.last_cpu
        if vm is not None:
            for c in free:
                if self.last_vm.get(c) is vm:
                    return c
        fresh = self.fresh[p]
        while fresh:
            c = fresh.pop()
            if c in free and c not in self.last_vm:
                return c
        return min(free)

    def _displaced(self, cpu: int, vm: Any) -> float | None:
        """Bytes the VMs that ran on ``cpu`` since ``vm`` last did touched there (capped at the cache's size; None
        when ``vm`` never ran there: none of its lines are in that cache), and ``vm`` becomes the most recent."""
        hist = self.history.setdefault(cpu, {})
        if id(vm) not in hist:
            hist[id(vm)] = vm
            return None
        total = 0.0
        for key in reversed(hist):
            other = hist[key]
            if other is vm or total >= self._l2:
                break
            t = self._touched.get(key)
            if t is None:
                t = self._touched[key] = touched_bytes(other.guest.wl, self.hw)
            total += t
        hist.pop(id(vm), None)
        hist[id(vm)] = vm
        return min(total, self._l2)

    def granted(self, ent: Any, pool: Any) -> Work | None:
        """``ent`` got a CPU of ``pool``: which one, and the switch it pays (None if none)."""
        p = self._pool_index[id(pool)]
        runner = ent.owner
        vm = runner if runner is not None and runner.kind in GUEST_KINDS else None
        if not self.free[p]:
            return None  # a CPU the pool's accounting has not yet seen freed (released in the same instant)
        cpu = self._pick(p, ent, vm)
        self.free[p].discard(cpu)
        ent.cpu = cpu
        if vm is None:
            return None
        prev = self.last_vm.get(cpu)
        self.last_vm[cpu] = vm
        if prev is None or prev is vm:
            if prev is None:
                self._displaced(cpu, vm)
            return None
        displaced = self._displaced(cpu, vm)
        self.count[vm.name] = self.count.get(vm.name, 0) + 1
        key = (id(vm), id(prev), displaced)
        w = self._work.get(key)
        if w is None:
            w = switch_work(vm.guest.cost, self.hw, self.freq, prev.guest.wl, displaced)
            if len(self._work) < 4096:
                self._work[key] = w
        return w

    def released(self, ent: Any) -> None:
        if ent.cpu < 0:
            return
        p = self._pool_index[id(self.sched.pool_of(ent))]
        self.free[p].add(ent.cpu)
        ent.last_cpu, ent.cpu = ent.cpu, -1

    @staticmethod
    def fluid_share(policy: Any, pool: Any, runnable: int, same_vm: float) -> float:
        """Switches per second of CPU an entity pays in a contended fluid pool: one per run of the policy's
        length, when the entity before it on the CPU belonged to another VM (probability ``1 - same_vm``)."""
        return (1.0 - same_vm) / policy.mean_run_s(pool, runnable)


class Hooks:
    """What the discrete scheduler calls on a host: CPU slots and VM switches, and guest synchronization."""

    def __init__(self, switches: Switches, sync: Any = None) -> None:
        self.switches, self.sync = switches, sync

    def granted(self, ent: Any, pool: Any) -> Work | None:
        w = self.switches.granted(ent, pool)
        if self.sync is not None:
            self.sync.granted(ent)
        return w

    def released(self, ent: Any, preempted: bool) -> None:
        self.switches.released(ent)
        if preempted and self.sync is not None:
            self.sync.descheduled(ent)

    def stall_at(self, ent: Any, run: float) -> float | None:
        return self.sync.stall_at(ent, run) if self.sync is not None else None

    def cancel(self, ent: Any) -> None:
        if self.sync is not None:
            self.sync.cancel(ent)

    def wait(self, ent: Any, sched: Any, freq: float):
        if self.sync is not None:
            yield from self.sync.wait(ent, sched, freq)
