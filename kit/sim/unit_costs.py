"""What a workload's unit of work and a vCPU's wakeup cost under a mode, as :class:`~kit.sim.work.Work`.

These are the analytic parts of the system model: high-rate, independent costs (instructions, system calls,
faults, page walks, exits per event) are charged in bulk from the same per-event paths :mod:`kit.costs` gives the
microbenchmarks. The SimPy host (:mod:`kit.sim.host`) schedules the resulting pieces of work on physical CPUs and
adds what needs ordering and contention: scheduling, I/O requests, backend work, devices, interrupts.

:class:`UnitCosts` holds the conversion of a path into work, the CPU part of a unit, wakeups, the guest's
notifications of its I/O path and what the network and disk costs (:mod:`kit.sim.net_costs`,
:mod:`kit.sim.disk_costs`) share: who the backend is and what waking it, an interrupt or a DMA mapping costs.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..costs.codepaths import instructions, model_as_given
from ..costs.interrupt_events import guest_rearms_timer
from ..costs.memory_events import SOFTMMU_TLB_ENTRIES, thp_applies
from ..costs.model import CostModel
from ..costs.paths import Step
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from ..inputs.parts import PAGES
from ..inputs.workloads import Workload
from .work import GUEST_KERNEL, MEMORY_STALLS, WORLD_SWITCH, Work, backend_category, category_of

__all__ = ["UnitCosts", "cached", "local_miss_ratio", "DMA_MAP_UNMAP_INSTR", "IOTLB_INVALIDATION_CYCLES",
           "LAZY_UNMAPS_PER_FLUSH", "NIC_IRQ_INSTR", "TCP_IP_HEADER_BYTES", "LANCE_ISR_PORT_ACCESSES"]

TCP_IP_HEADER_BYTES = (52, "RFC 791, RFC 793 and RFC 7323: 20-byte IPv4 and TCP headers plus the 12-byte timestamp option Linux sends by default")

#: DMA remapping of the host's own devices through the IOMMU (mode part dma_remap)
DMA_MAP_UNMAP_INSTR = (900, "estimated, because mapping a buffer for DMA allocates an I/O virtual address and writes the I/O page table, and unmapping clears it, about a thousand instructions together in the Linux IOMMU driver (Peleg et al., USENIX ATC 2015, measured costs of this order before their scalability fixes); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

IOTLB_INVALIDATION_CYCLES = (2000, "estimated, because a synchronous IOTLB invalidation (a queued-invalidation descriptor and its wait) takes about a microsecond (Ben-Yehuda et al., OLS 2007, and Peleg et al., USENIX ATC 2015, found strict unmapping the dominant IOMMU cost); plausible 0.5-2x because a synchronous invalidation takes about a microsecond, with its wait depending on the IOMMU")

LAZY_UNMAPS_PER_FLUSH = (250, "Linux drivers/iommu: deferred (lazy) unmapping flushes the IOTLB once per batch of up to 250 freed mappings (HIGH_WATER_MARK), or on a 10 ms timer")

NIC_IRQ_INSTR = (600, "estimated, because a NIC interrupt handler reads and acknowledges the device's status and schedules its receive and transmit cleanup, a few hundred instructions beyond the interrupt entry; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

LANCE_ISR_PORT_ACCESSES = (4, "estimated, because a Lance interrupt handler selects CSR0 through the address port, reads it, writes the bits back to acknowledge them and re-enables interrupts (pcnet32_interrupt); plausible 3-6 because a Lance handler selects and reads CSR0, acknowledges and re-enables interrupts, in three to six accesses")


def local_miss_ratio(page_bytes: float, entries: float, base_entries: float, footprint: float) -> float:
    """Local TLB misses relative to the characterization (4 KiB pages, ``base_entries`` entries).

    Local misses have two parts whose shares are not characterized separately, and the larger bound is taken:
    capacity misses, while the footprint exceeds the TLB's reach, scale with the share of the footprint outside
    it (Basu et al., ISCA 2013, on TLB reach); first touches of pages (streaming, cold misses) scale with the
    number of pages, so a page ``k`` times larger misses ``k`` times less often.
    """
    cap = max(0.0, 1.0 - base_entries * 4096 / footprint)
    new_cap = max(0.0, 1.0 - entries * page_bytes / footprint)
    first_touch = 4096 / page_bytes
    return max(first_touch, new_cap / cap) if cap > 0 else max(first_touch, 1.0 if new_cap > 0 else first_touch)


def cached(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Memoize a costing method per instance: its costs are constant within a run."""
    name = fn.__name__

    def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
        key = (name, args, tuple(sorted(kw.items())))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = fn(self, *args, **kw)
        return hit
    wrapper.__name__, wrapper.__doc__ = name, fn.__doc__
    return wrapper


#: Units of recent costings under the model's own values: (costing class, hardware, mode, workload, kb, packets) ->
#: (hardware, workload, unit). A mode is
#: compared by value (equal compositions cost the same); the hardware and workload objects by identity, and kept,
#: so that an id is never another object's: the modes, replications and baselines of one spec share them, and a
#: hardware that records what it is asked (a native baseline's) is a new object, never answered from here.
_UNITS: dict[tuple, tuple[Any, Any, Any]] = {}
#: Most units remembered
UNITS_CACHED = 512


class UnitCosts:
    """Cached per-run costs of a workload's units, wakeups and notifications, and what the I/O costs share.

    The returned :class:`~kit.sim.work.Work` objects are immutable and shared by every request of the run.
    """

    def __init__(self, hw: Hardware, mode: Mode, wl: Workload) -> None:
        self.hw, self.mode, self.wl = hw, mode, wl
        self.cm = CostModel(hw, mode, kernel_call_density=wl.kernel_call_density)
        self.cm.ws = wl.per_unit.ws_pages
        self.fam = mode.family
        self.cpi = hw.val("kernel_cpi")
        self.freq = hw.val("freq_ghz") * 1e9
        p = wl.params
        self.payload = max(1.0, p.mtu - float(TCP_IP_HEADER_BYTES[0]))
        self._memo: dict = {}

    # -- conversion --------------------------------------------------------------------------
    def work(self, steps: list[Step], times: float = 1.0, keep_backend: bool = True) -> Work:
        """The work of ``times`` paths made of ``steps`` (backend steps dropped unless ``keep_backend``)."""
        cyc: defaultdict[str, float] = defaultdict(float)
        ex: defaultdict[str, float] = defaultdict(float)
        exc: defaultdict[str, float] = defaultdict(float)
        for s in steps:
            if s.kind == "backend" and not keep_backend:
                continue
            cyc[category_of(s, self.fam)] += s.cycles * times
            if s.reason:
                exc[s.reason] += s.cycles * times
            if s.is_exit:
                ex[s.reason] += times * s.count
        return Work(dict(cyc), dict(ex), dict(exc))

    def sw(self, path: str, family: str | None = None) -> float:
        return instructions(family or self.fam, self.mode.release, path) * self.hw.val("hypervisor_cpi")

    # -- the CPU part of one unit ------------------------------------------------------------
    @cached
    def unit(self, kb: float = 0.0, packets: float = 1.0) -> Work:
        """Native events of one unit of work under the mode (no I/O notifications); ``packets`` scales the unit's
        per-packet kernel instructions (a stream's stack runs them per segment, not per frame). The same unit for the
        same hardware, mode, workload and arguments is computed once per process (``_UNITS``), while the model's own
        values are in force (:func:`~kit.costs.codepaths.model_as_given`; a sample's path lengths or constants, or
        reads being recorded, compute it afresh and leave no entry)."""
        if not model_as_given():
            return self._unit(kb, packets)
        try:
            key: tuple | None = (type(self), id(self.hw), self.mode, id(self.wl), kb, packets)
            hit = _UNITS.get(key)  # type: ignore[arg-type]
        except TypeError:  # a mode part that cannot be hashed: computed every time
            key, hit = None, None
        if hit is not None and hit[0] is self.hw and hit[1] is self.wl:
            return hit[2]
        w = self._unit(kb, packets)
        if key is not None:
            if len(_UNITS) >= UNITS_CACHED:
                _UNITS.pop(next(iter(_UNITS)))
            _UNITS[key] = (self.hw, self.wl, w)
        return w

    def _unit(self, kb: float, packets: float) -> Work:
        u, cm = self.wl.per_unit, self.cm
        w = Work()
        kernel = u.kernel_instr * packets + u.kernel_instr_per_kb * kb
        instr = u.user_instr + kernel
        w = w + self.work(cm.ev_user_instr(u.user_instr))
        w = w + self.work(cm.ev_kernel_instr(kernel))
        for n, fn in ((u.syscalls, cm.ev_syscall), (u.exceptions, cm.ev_exception), (u.pagefaults, cm.ev_pagefault),
                      (u.pt_pages, cm.ev_pt_page), (u.ipis, cm.ev_ipi)):
            if n:
                w = w.plus(self.work(fn()), n)
        if u.pte_writes:
            w = w.plus(self.work(cm.ev_pte_write(batch=u.pte_batch)), u.pte_writes)
        if u.cr3_loads:
            w = w.plus(self.work(cm.ev_cr3_load(ws=u.ws_pages, spaces=u.address_spaces)), u.cr3_loads)
        thp = self.wl.thp_share if thp_applies(self.hw, self.mode) else 0.0
        misses = self.tlb_misses(instr) * (1.0 - thp)
        if misses:
            w = w.plus(self.work(cm.ev_tlb_miss()), misses)
        huge = self.tlb_misses(instr, page_bytes=PAGES["guest_page"]["2M"].bytes) * thp
        if huge:
            w = w.plus(self.work(cm.ev_tlb_miss_thp()), huge)
        lines = u.random_refs + u.dram_lines
        if lines:
            per_line = self.hw.val("mem_latency_ns") * self.hw.val("freq_ghz") / self.wl.mlp
            w = w + Work.of(MEMORY_STALLS, lines * per_line)
        if self.wl.timer_hz:
            ticks = w.total / self.freq * self.wl.timer_hz
            w = w.plus(self.work(cm.ev_timer_fire()), ticks)
            if guest_rearms_timer(self.hw):  # the one-shot timer is re-armed at every tick
                w = w.plus(self.work(cm.ev_timer_arm()), ticks)
        return w

    def tlb_misses(self, instr: float, page_bytes: float | None = None) -> float:
        """TLB misses of a unit: the workload's local misses (characterized with 4 KiB pages and the CPU's TLB)
        scaled by :func:`local_miss_ratio` for the page size and TLB in effect, plus random references that fall
        outside the TLB's reach. Under full emulation the TLB is QEMU's software TLB. ``page_bytes`` is the guest's
        page where it is not the mode's (a transparent huge page)."""
        u, m = self.wl.per_unit, self.mode
        page_bytes = page_bytes or m.guest_page_part.bytes
        if m.memory_part.two_dimensional:  # a TLB entry maps the smaller of the guest and host page
            page_bytes = min(page_bytes, m.host_page_part.bytes)
        entries = SOFTMMU_TLB_ENTRIES[0] if m.memory_part.software_mmu else self.hw.val("tlb_entries")
        footprint = self.wl.footprint_mib * (1 << 20)
        ratio = local_miss_ratio(page_bytes, entries, self.hw.val("tlb_entries"), footprint)
        local = instr / 1000.0 * u.tlb_mpki * ratio
        p_miss = max(0.0, 1.0 - entries * page_bytes / footprint)
        return local + u.random_refs * p_miss

    # -- wakeups and notifications -------------------------------------------------------------
    @cached
    def wake(self, polled: bool = False) -> Work:
        return self.work(self.cm.ev_halt_wake(polled=polled))

    @cached
    def notify(self) -> Work:
        """Guest side of one interrupt from an I/O path (delivery, EOI)."""
        return self.work(self.cm.ev_io_notify(), keep_backend=False)

    @cached
    def kick(self) -> Work:
        """Guest side of one notification to an I/O backend."""
        return self.work(self.cm.ev_io_kick(), keep_backend=self.inline_backend)

    # -- who serves the I/O ----------------------------------------------------------------------
    @property
    def inline_backend(self) -> bool:
        """True where device-model work runs in the vCPU's own thread (KVM+QEMU, hosted VMMs); Xen's qemu-dm and
        Hyper-V's worker process run in dom0 or the root partition instead (:meth:`device_model_backend`)."""
        return self.mode.io_part.device_model_emulates and self.mode.family_part.device_model_in_vcpu_thread

    @property
    def io_in_hypervisor(self) -> bool:
        """Xen 1.0: the split-driver rings are served by the hypervisor's own device drivers on the guest's CPU."""
        return self.mode.arch_part.drives_devices

    def backend_name(self, what: str = "net") -> str | None:
        """The backend entity serving ``what`` I/O (``net``, otherwise disk), as the mode says
        (:meth:`kit.inputs.modes.Mode.backend`); None where the guest or the hypervisor drives the device."""
        backend = self.mode.backend(what)
        return backend.name if backend is not None else None

    def _wake_cycles(self) -> float:
        """Waking the backend for a batch: scheduling dom0 or the root partition in, or a host thread."""
        return sum(s.cycles for s in self.cm.backend_wake())

    def device_model_backend(self, steps: list[Step]) -> Work:
        """The backend part of ``steps`` where the device model is not in the vCPU's thread (Xen's qemu-dm in
        dom0, Hyper-V's worker process): work for the backend entity, not the vCPU."""
        if self.inline_backend:
            return Work()
        return Work.of(backend_category(str(self.backend_name("net"))),
                       sum(s.cycles for s in steps if s.kind == "backend"))

    # -- what network and disk I/O share ---------------------------------------------------------
    def _kernel(self, instr: float) -> Work:
        """Guest kernel work of ``instr`` native instructions (translated under BT or TCG)."""
        return self.work(self.cm.ev_kernel_instr(instr))

    def _irqs(self, pkts: float, direction: str) -> float:
        """Physical NIC interrupts for ``pkts`` frames of one batch (the NIC coalesces them)."""
        if pkts <= 0:
            return 0.0
        frames = self.hw.val("nic_rx_frames_per_irq" if direction == "rx" else "nic_tx_frames_per_irq")
        return float(math.ceil(pkts / frames - 1e-9))

    def dma_cycles(self, dmas: float) -> float:
        """CPU cycles of mapping and unmapping ``dmas`` buffers for the host's own devices (the native kernel's
        driver, a backend's host driver) under the mode's DMA remapping; zero without it. An assigned device's
        DMA goes to guest memory mapped once, when the VM starts, and costs no mapping per buffer."""
        remap = self.mode.dma_remap_part
        if not remap.remaps or dmas <= 0:
            return 0.0
        per = DMA_MAP_UNMAP_INSTR[0] * self.cpi
        per += IOTLB_INVALIDATION_CYCLES[0] * (1.0 if remap.synchronous_invalidation
                                               else 1.0 / LAZY_UNMAPS_PER_FLUSH[0])
        return dmas * per

    def _native_dma(self, dmas: float) -> Work:
        """DMA mapping by the guest's own driver when the guest is the host (native)."""
        return Work.of(GUEST_KERNEL, self.dma_cycles(dmas)) if self.mode.io_part.host_driver else Work()

    def _host_irq_cycles(self) -> float:
        """A physical NIC interrupt handled by a host OS, dom0 or a hypervisor's driver."""
        return self.hw.val("irq_cycles") + NIC_IRQ_INSTR[0] * self.cpi

    def _port_access(self, n: float) -> Work:
        """``n`` guest accesses to an emulated device's registers that the VMM handles without leaving it."""
        steps = [Step("BT: translated device access calls out to the VMM", "emulation",
                      self.sw("bt_callout", "vmware")),
                 Step("VMM: emulated device register (Lance, IDE)", "emulation", self.sw("vlance_port", "vmware"))]
        return self.work(steps, n)

    def _hosted_switch(self, n: float) -> Work:
        """``n`` round trips between the VMM world and the host (a world switch each way)."""
        return Work.of(WORLD_SWITCH, n * 2 * self.hw.val("world_switch_cycles"))

    def _hosted_virtual_irq(self, n: float) -> Work:
        """``n`` virtual interrupts of the hosted VMM's emulated device: injection, the guest's handler with its
        register accesses, EOI."""
        cm = self.cm
        return (self.work(cm.ev_virtual_irq()) + self._port_access(LANCE_ISR_PORT_ACCESSES[0])) * n

    def _reflected_irqs(self, irqs: float) -> Work:
        """A hosted VMM's share of the host's physical interrupts: those that land on the CPU where the VMM world
        runs are reflected to the host through a world switch and back (Sugerman et al., USENIX ATC 2001); the host
        routes interrupts without regard to the VMM, so about one in pCPUs does."""
        return self._hosted_switch(irqs / max(1, self.hw.pcpus))
