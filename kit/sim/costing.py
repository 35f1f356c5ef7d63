"""What one unit of a workload, one I/O batch or one wakeup costs a vCPU.

These are the analytic parts of the system model: high-rate, independent costs
(instructions, system calls, faults, page walks, exits per event) are charged
in bulk from the same per-event paths :mod:`kit.costs` gives the
microbenchmarks. The SimPy model (:mod:`kit.model`) schedules the resulting
pieces of work on physical CPUs and adds what needs ordering and contention:
scheduling, I/O requests, backend work, devices, interrupts.
"""
from __future__ import annotations

from collections import defaultdict

from ..costs.codepaths import instructions
from ..costs.events import CostModel, Step
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from ..inputs.workloads import Workload
from .work import MEMORY_STALLS, Work, backend_category, category_of

__all__ = ["Costing", "LARGE_PAGE_LOCAL_MISS_FACTOR", "TCP_IP_HEADER_BYTES"]

#: How much larger pages cut TLB misses of local (non-random) access.
LARGE_PAGE_LOCAL_MISS_FACTOR = ({"4K": 1.0, "2M": 0.1, "1G": 0.02},
                                "estimated, because a 2 MiB page covers 512 times the memory of a 4 KiB one; misses of local access fall by about an order of magnitude (Bhargava et al., ASPLOS 2008; Basu et al., ISCA 2013)")
_PAGE_BYTES = {"4K": 4096, "2M": 2 << 20, "1G": 1 << 30}
#: Emulated-device register accesses that exit
E1000_TX_EXITS_PER_PACKET = (2, "estimated, because an e1000 driver writes the transmit descriptor tail (TDT) per packet and reads or acknowledges status once more (QEMU hw/net/e1000.c)")
E1000_RX_EXITS_PER_INTERRUPT = (2, "estimated, because the e1000 interrupt handler reads ICR and the receive path writes RDT once per interrupt (Linux e1000_intr, e1000_clean_rx_irq)")
#: TCP/IP header bytes per segment (20 IP + 20 TCP + 12 timestamp option)
TCP_IP_HEADER_BYTES = (52, "RFC 791, RFC 793 and RFC 7323: 20-byte IPv4 and TCP headers plus the 12-byte timestamp option Linux sends by default")
IDE_EXITS_PER_REQUEST = (6, "estimated, because an ATA PIO/DMA command programs the sector count, LBA low/mid/high, device and command registers (ATA-6 taskfile)")

def _cached(fn):
    """Memoize a Costing method per instance: its costs are constant within a run."""
    name = fn.__name__

    def wrapper(self, *args, **kw):
        key = (name, args, tuple(sorted(kw.items())))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = fn(self, *args, **kw)
        return hit
    wrapper.__name__, wrapper.__doc__ = name, fn.__doc__
    return wrapper


class Costing:
    """Cached per-run costs of workload units, I/O batches and wakeups.

    The returned :class:`~kit.sim.work.Work` objects are immutable and shared by every request of the run.
    """

    def __init__(self, hw: Hardware, mode: Mode, wl: Workload) -> None:
        self.hw, self.mode, self.wl = hw, mode, wl
        self.cm = CostModel(hw, mode)
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
                ex[s.reason] += times
        return Work(dict(cyc), dict(ex), dict(exc))

    def sw(self, path: str, family: str | None = None) -> float:
        return instructions(family or self.fam, self.mode.release, path) * self.cpi

    # -- the CPU part of one unit ------------------------------------------------------------
    @_cached
    def unit(self, kb: float = 0.0) -> Work:
        """Native events of one unit of work under the mode (no I/O notifications)."""
        u, cm = self.wl.per_unit, self.cm
        w = Work()
        instr = u.user_instr + u.kernel_instr + u.kernel_instr_per_kb * kb
        w = w + self.work(cm.ev_user_instr(u.user_instr))
        w = w + self.work(cm.ev_kernel_instr(u.kernel_instr + u.kernel_instr_per_kb * kb))
        for n, fn in ((u.syscalls, cm.ev_syscall), (u.exceptions, cm.ev_exception), (u.pagefaults, cm.ev_pagefault),
                      (u.pt_pages, cm.ev_pt_page), (u.ipis, cm.ev_ipi)):
            if n:
                w = w.plus(self.work(fn()), n)
        if u.pte_writes:
            w = w.plus(self.work(cm.ev_pte_write(batch=u.pte_batch)), u.pte_writes)
        if u.cr3_loads:
            w = w.plus(self.work(cm.ev_cr3_load(ws=u.ws_pages, spaces=u.address_spaces)), u.cr3_loads)
        misses = self.tlb_misses(instr)
        if misses:
            w = w.plus(self.work(cm.ev_tlb_miss()), misses)
        lines = u.random_refs + u.dram_lines
        if lines:
            per_line = self.hw.val("mem_latency_ns") * self.hw.val("freq_ghz") / self.wl.mlp
            if self.mode.memory == "softmmu":
                per_line += self.sw("softmmu_access", "qemu")
            w = w + Work.of(MEMORY_STALLS, lines * per_line)
        if self.wl.timer_hz:
            ticks = w.total / self.freq * self.wl.timer_hz
            w = w.plus(self.work(cm.ev_timer_fire()), ticks)
        return w

    def tlb_misses(self, instr: float) -> float:
        """TLB misses of a unit: local misses scaled by page size, plus random references."""
        u, m = self.wl.per_unit, self.mode
        page = m.guest_page
        if m.memory == "nested":  # a TLB entry maps the smaller of the guest and host page
            page = min(m.guest_page, m.host_page, key=lambda p: _PAGE_BYTES[p])
        local = instr / 1000.0 * u.tlb_mpki * LARGE_PAGE_LOCAL_MISS_FACTOR[0][page]
        reach = self.hw.val("tlb_entries") * _PAGE_BYTES[page]
        p_miss = max(0.0, 1.0 - reach / (self.wl.footprint_mib * (1 << 20)))
        return local + u.random_refs * p_miss

    # -- wakeups and I/O ---------------------------------------------------------------------
    @_cached
    def wake(self, polled: bool = False) -> Work:
        return self.work(self.cm.ev_halt_wake(polled=polled))

    @_cached
    def notify(self) -> Work:
        """Guest side of one interrupt from an I/O path (delivery, EOI)."""
        return self.work(self.cm.ev_io_notify(), keep_backend=False)

    @_cached
    def kick(self) -> Work:
        """Guest side of one notification to an I/O backend."""
        return self.work(self.cm.ev_io_kick(), keep_backend=self.inline_backend)

    @property
    def inline_backend(self) -> bool:
        """True where device-model work runs in the vCPU's own thread (KVM+QEMU, hosted VMMs)."""
        return self.mode.io in ("emulated", "hosted") and self.fam in ("kvm", "vmware", "qemu")

    @_cached
    def tx_guest(self, npkts: float, nbytes: float) -> Work:
        """Guest-side cost of handing ``npkts`` packets to the I/O path (one notification)."""
        io, cm = self.mode.io, self.cm
        w = Work()
        if io == "emulated":
            # e1000: descriptor-tail and status register writes per packet, handled by the device model
            w = w.plus(self.work(cm.ev_mmio_user()), E1000_TX_EXITS_PER_PACKET[0] * npkts)
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), npkts * self.sw("qemu_e1000_pkt", "kvm")
                                + nbytes / 1024 * self.sw("copy_kb", "kvm"))
        elif io == "hosted":
            w = w.plus(self.work(cm.ev_io_kick()), npkts)
            w = w + Work.of(backend_category("host"), npkts * self.sw("host_net_pkt", "vmware")
                            + nbytes / 1024 * self.sw("copy_kb", "kvm"))
        else:
            w = w + self.kick()
        return w

    @_cached
    def rx_guest(self) -> Work:
        """Guest-side cost of one receive interrupt (per batch)."""
        w = self.notify()
        if self.mode.io == "emulated":
            w = w.plus(self.work(self.cm.ev_mmio_user()), E1000_RX_EXITS_PER_INTERRUPT[0])
        return w

    # -- backends ----------------------------------------------------------------------------
    def backend_name(self, what: str = "net") -> str | None:
        io, fam = self.mode.io, self.fam
        if io in ("native", "sriov"):
            return None
        if io == "pv-split":
            return "dom0"
        if io == "vmbus":
            return "root"
        if io == "vhost":
            return "vhost" if what == "net" else "qemu"
        if io == "virtio":
            return "qemu"
        if io == "emulated":
            if fam == "xen":
                return "dom0"
            return "qemu" if what == "net" else None
        if io == "hosted":
            return "host"
        return None

    @_cached
    def backend_net(self, npkts: float, nbytes: float, direction: str) -> Work:
        """Backend CPU work for a batch of packets, on the backend entity."""
        io, kb = self.mode.io, nbytes / 1024
        label = backend_category(str(self.backend_name("net")))
        if io == "pv-split":
            c = self.sw("dom0_wake", "xen") + npkts * self.sw("netback_pkt", "xen") + kb * self.sw("grant_copy_kb", "xen") \
                + self.sw("evtchn_send", "xen")
        elif io == "vhost":
            c = self.sw("vhost_wake", "kvm") + npkts * (self.sw("vhost_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io == "virtio":
            c = self.sw("vhost_wake", "kvm") + npkts * (self.sw("qemu_virtio_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io == "vmbus":
            c = self.sw("vmbus_signal", "hyperv") + npkts * self.sw("vsp_pkt", "hyperv") + kb * self.sw("copy_kb", "kvm")
        elif io == "emulated":  # receive side: the device model's thread fills descriptors
            c = npkts * (self.sw("qemu_e1000_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) + kb * self.sw("copy_kb", "kvm")
            if self.fam == "xen":
                c += self.sw("ioreq", "xen")
        elif io == "hosted":  # receive side: the host OS takes the interrupt and hands packets over
            c = npkts * self.sw("host_net_pkt", "vmware") + kb * self.sw("copy_kb", "kvm") + 2 * self.hw.val("world_switch_cycles")
        else:
            return Work()
        return Work.of(label, c)

    @_cached
    def disk_guest(self) -> Work:
        """Guest-side cost of submitting one disk request (beyond the unit's kernel work)."""
        io = self.mode.io
        if io == "emulated":
            w = self.work(self.cm.ev_pio_user(), IDE_EXITS_PER_REQUEST[0])
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), self.sw("qemu_ide_op", "kvm"))
            return w
        if io == "hosted":
            return self.work(self.cm.ev_io_kick()) + Work.of(backend_category("host"), self.sw("host_disk_op", "vmware"))
        if io in ("native", "sriov"):
            return self.work(self.cm.ev_io_kick())
        return self.kick()

    @_cached
    def backend_disk(self) -> Work:
        io = self.mode.io
        label = backend_category(str(self.backend_name("disk")))
        if io == "pv-split":
            c = self.sw("dom0_wake", "xen") + self.sw("blkback_op", "xen") + self.sw("evtchn_send", "xen")
        elif io in ("vhost", "virtio"):
            c = self.sw("vhost_wake", "kvm") + self.sw("qemu_blk_op", "kvm") + self.sw("irqfd", "kvm")
        elif io == "vmbus":
            c = self.sw("vmbus_signal", "hyperv") + self.sw("vsp_disk_op", "hyperv")
        elif io == "emulated" and self.fam == "xen":
            c = self.sw("ioreq", "xen") + self.sw("qemu_ide_op", "kvm")
        else:
            return Work()
        return Work.of(label, c)
