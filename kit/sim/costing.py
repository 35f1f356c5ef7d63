"""What one unit of a workload, one I/O batch or one wakeup costs a vCPU.

These are the analytic parts of the system model: high-rate, independent costs
(instructions, system calls, faults, page walks, exits per event) are charged
in bulk from the same per-event paths :mod:`kit.costs` gives the
microbenchmarks. The SimPy model (:mod:`kit.model`) schedules the resulting
pieces of work on physical CPUs and adds what needs ordering and contention:
scheduling, I/O requests, backend work, devices, interrupts.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from ..costs.codepaths import instructions
from ..costs.events import SOFTMMU_TLB_ENTRIES, CostModel, Step, guest_rearms_timer
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from ..inputs.workloads import Workload
from .work import GUEST_KERNEL, HYPERVISOR, MEMORY_STALLS, WORLD_SWITCH, Work, backend_category, category_of

__all__ = ["Costing", "Packets", "local_miss_ratio", "TCP_IP_HEADER_BYTES", "ETHERNET_FRAME_OVERHEAD_BYTES",
           "SEGMENTS_PER_ACK", "TCP_ACK_RX_INSTR", "TCP_ACK_TX_INSTR", "NIC_IRQ_INSTR", "HANDSHAKE_SEGMENTS",
           "LANCE_TX_PORT_ACCESSES", "LANCE_ISR_PORT_ACCESSES", "HOSTED_DISK_PORT_ACCESSES"]

_PAGE_BYTES = {"4K": 4096, "2M": 2 << 20, "1G": 1 << 30}
#: Emulated-device register accesses that exit
E1000_TX_EXITS_PER_PACKET = (2, "estimated, because an e1000 driver writes the transmit descriptor tail (TDT) per packet and reads or acknowledges status once more (QEMU hw/net/e1000.c)")
E1000_RX_EXITS_PER_INTERRUPT = (2, "estimated, because the e1000 interrupt handler reads ICR and the receive path writes RDT once per interrupt (Linux e1000_intr, e1000_clean_rx_irq)")
#: TCP/IP header bytes per segment (20 IP + 20 TCP + 12 timestamp option)
TCP_IP_HEADER_BYTES = (52, "RFC 791, RFC 793 and RFC 7323: 20-byte IPv4 and TCP headers plus the 12-byte timestamp option Linux sends by default")
IDE_EXITS_PER_REQUEST = (6, "estimated, because an ATA PIO/DMA command programs the sector count, LBA low/mid/high, device and command registers (ATA-6 taskfile)")
#: DMA remapping of the host's own devices through the IOMMU (mode part dma_remap)
DMA_MAP_UNMAP_INSTR = (900, "estimated, because mapping a buffer for DMA allocates an I/O virtual address and writes the I/O page table, and unmapping clears it, about a thousand instructions together in the Linux IOMMU driver (Peleg et al., USENIX ATC 2015, measured costs of this order before their scalability fixes)")
IOTLB_INVALIDATION_CYCLES = (2000, "estimated, because a synchronous IOTLB invalidation (a queued-invalidation descriptor and its wait) takes about a microsecond (Ben-Yehuda et al., OLS 2007, and Peleg et al., USENIX ATC 2015, found strict unmapping the dominant IOMMU cost)")
LAZY_UNMAPS_PER_FLUSH = (250, "Linux drivers/iommu: deferred (lazy) unmapping flushes the IOTLB once per batch of up to 250 freed mappings (HIGH_WATER_MARK), or on a 10 ms timer")
#: Ethernet framing per frame on the wire
ETHERNET_FRAME_OVERHEAD_BYTES = (38, "IEEE 802.3: a 7-byte preamble, a 1-byte start delimiter, a 14-byte header, a 4-byte frame check sequence and a 12-byte inter-frame gap per frame")
#: Data segments per TCP ACK (delayed ACKs)
SEGMENTS_PER_ACK = (2, "RFC 1122 section 4.2.3.2 and RFC 5681: a receiver ACKs at least every second full-sized segment")
#: Native TCP/IP stack work per pure ACK and per NIC interrupt (guest kernel instructions)
TCP_ACK_RX_INSTR = (1500, "estimated, because receiving a pure ACK runs the driver's receive path, ip_rcv and tcp_ack, which frees the acknowledged buffers and opens the window (about 1.5 k instructions in Linux 2.4-2.6)")
TCP_ACK_TX_INSTR = (1200, "estimated, because tcp_send_ack allocates a buffer, builds the header and runs ip_output and the driver's transmit (about 1.2 k instructions)")
NIC_IRQ_INSTR = (600, "estimated, because a NIC interrupt handler reads and acknowledges the device's status and schedules its receive and transmit cleanup, a few hundred instructions beyond the interrupt entry")
#: Control segments of a TCP connection opened and closed per request: (received, sent) by the server
HANDSHAKE_SEGMENTS = ((3, 2), "RFC 793 sections 3.4-3.5: the server receives SYN, the handshake's ACK and the client's FIN, and sends SYN-ACK and its FIN (its last ACK rides on the FIN exchange)")
#: The hosted VMM's emulated NIC and disk (VMware Workstation: an AMD Lance/PCnet and an IDE or BusLogic controller)
LANCE_TX_PORT_ACCESSES = (12, "Sugerman et al., USENIX ATC 2001, section 4 (as recalled): the guest's Lance driver makes about a dozen I/O-port accesses (address-register writes and data-register reads and writes) to transmit one packet, each trapping to the VMM")
LANCE_ISR_PORT_ACCESSES = (4, "estimated, because a Lance interrupt handler selects CSR0 through the address port, reads it, writes the bits back to acknowledge them and re-enables interrupts (pcnet32_interrupt)")
HOSTED_DISK_PORT_ACCESSES = (8, "estimated, because an IDE DMA request programs the ATA taskfile (sector count, LBA low/mid/high, device, command) and the bus-master command register, and its interrupt handler reads the status register (ATA-6 and the SFF-8038i bus-master interface)")

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


@dataclass(frozen=True)
class Packets:
    """The packets of one request on the wire: data segments and TCP control segments (ACKs, handshake), each way."""

    rx: float
    tx: float
    rx_wire_bytes: float
    tx_wire_bytes: float


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
            w = w + Work.of(MEMORY_STALLS, lines * per_line)
        if self.wl.timer_hz:
            ticks = w.total / self.freq * self.wl.timer_hz
            w = w.plus(self.work(cm.ev_timer_fire()), ticks)
            if guest_rearms_timer(self.hw):  # the one-shot timer is re-armed at every tick
                w = w.plus(self.work(cm.ev_timer_arm()), ticks)
        return w

    def tlb_misses(self, instr: float) -> float:
        """TLB misses of a unit: the workload's local misses (characterized with 4 KiB pages and the CPU's TLB)
        scaled by :func:`local_miss_ratio` for the page size and TLB in effect, plus random references that fall
        outside the TLB's reach. Under full emulation the TLB is QEMU's software TLB."""
        u, m = self.wl.per_unit, self.mode
        page = m.guest_page
        if m.memory == "nested":  # a TLB entry maps the smaller of the guest and host page
            page = min(m.guest_page, m.host_page, key=lambda p: _PAGE_BYTES[p])
        entries = SOFTMMU_TLB_ENTRIES[0] if m.memory == "softmmu" else self.hw.val("tlb_entries")
        footprint = self.wl.footprint_mib * (1 << 20)
        ratio = local_miss_ratio(_PAGE_BYTES[page], entries, self.hw.val("tlb_entries"), footprint)
        local = instr / 1000.0 * u.tlb_mpki * ratio
        p_miss = max(0.0, 1.0 - entries * _PAGE_BYTES[page] / footprint)
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
        """True where device-model work runs in the vCPU's own thread (KVM+QEMU, hosted VMMs); Xen's qemu-dm and
        Hyper-V's worker process run in dom0 or the root partition instead (:meth:`device_model_backend`)."""
        return self.mode.io in ("emulated", "hosted") and self.fam in ("kvm", "vmware", "qemu")

    @property
    def io_in_hypervisor(self) -> bool:
        """Xen 1.0: the split-driver rings are served by the hypervisor's own device drivers on the guest's CPU."""
        return self.mode.arch == "type1-hypervisor-drivers"

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
        remap = self.mode.dma_remap
        if remap == "off" or dmas <= 0:
            return 0.0
        per = DMA_MAP_UNMAP_INSTR[0] * self.cpi
        per += IOTLB_INVALIDATION_CYCLES[0] * (1.0 if remap == "strict" else 1.0 / LAZY_UNMAPS_PER_FLUSH[0])
        return dmas * per

    def _native_dma(self, dmas: float) -> Work:
        """DMA mapping by the guest's own driver when the guest is the host (native)."""
        return Work.of(GUEST_KERNEL, self.dma_cycles(dmas)) if self.mode.io == "native" else Work()

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

    @_cached
    def tx_guest(self, npkts: float, nbytes: float) -> Work:
        """Guest-side cost of handing ``npkts`` packets to the I/O path (one notification)."""
        io, cm = self.mode.io, self.cm
        w = Work()
        if io == "emulated":
            # e1000: descriptor-tail and status register writes per packet, handled by the device model
            w = w.plus(self.work(cm.ev_mmio_user(), keep_backend=self.inline_backend), E1000_TX_EXITS_PER_PACKET[0] * npkts)
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), npkts * self.sw("qemu_e1000_pkt", "kvm")
                                + nbytes / 1024 * self.sw("copy_kb", "kvm"))
        elif io == "hosted":
            # Sugerman et al.: the Lance's registers are emulated in the VMM; the transmit itself switches to the
            # host, where the VMApp writes the packet to the VMNet driver with a system call
            w = w + self._port_access(LANCE_TX_PORT_ACCESSES[0] * npkts) + self._hosted_switch(npkts)
            w = w + Work.of(backend_category("host"), npkts * (self.sw("hosted_io_dispatch", "vmware")
                                                               + self.hw.val("syscall_cycles")
                                                               + self.sw("host_net_pkt", "vmware")
                                                               + self.sw("host_driver_pkt", "kvm"))
                            + nbytes / 1024 * self.sw("copy_kb", "kvm"))
        elif self.io_in_hypervisor:
            # Barham et al. 3.3: Xen copies the descriptor and the header, runs the VFR rules, and the payload is
            # DMAed from the guest's page (scatter-gather)
            w = w + self.kick() + Work.of(HYPERVISOR, npkts * self.sw("vif_tx_pkt", "xen"))
        else:
            w = w + self.kick()
        return w

    @_cached
    def rx_guest(self) -> Work:
        """Guest-side cost of one receive interrupt from a backend (per batch)."""
        w = self.notify()
        if self.mode.io == "emulated":
            w = w.plus(self.work(self.cm.ev_mmio_user(), keep_backend=self.inline_backend),
                       E1000_RX_EXITS_PER_INTERRUPT[0])
        return w

    @_cached
    def deliver_guest(self, rx_pkts: float, rx_bytes: float, tx_done: float) -> Work:
        """Guest-side cost of ``rx_pkts`` packets arriving and ``tx_done`` transmissions completing, in one batch.

        The device's interrupts reach the guest as they are: natively and with an assigned device, one per
        coalesced group of frames; under Xen 1.0 each is taken by Xen's driver, which flips the received pages to
        the guest and sends an event; a hosted VMM delivers a batch of received packets through one world switch
        and raises the virtual Lance's interrupt for it and for every transmission; a backend (dom0, vhost, QEMU,
        the root partition) notifies once per batch it processes.
        """
        io, cm = self.mode.io, self.cm
        irqs = self._irqs(rx_pkts, "rx") + self._irqs(tx_done, "tx")
        if io in ("native", "sriov"):
            return (self.notify() + self._kernel(NIC_IRQ_INSTR[0])) * irqs
        if self.io_in_hypervisor:
            xen = Work.of(HYPERVISOR, irqs * (self._host_irq_cycles() + self.sw("irq_host", "xen"))
                          + rx_pkts * self.sw("vif_rx_pkt", "xen"))
            return xen + self.work(cm.ev_virtual_irq()) * irqs
        if io == "hosted":
            w = self._hosted_virtual_irq((1.0 if rx_pkts else 0.0) + tx_done)
            if rx_pkts:
                w = w + self._hosted_switch(1.0) + Work.of(backend_category("host"),
                                                           rx_bytes / 1024 * self.sw("copy_kb", "kvm"))
            return w + self._reflected_irqs(irqs)
        return self.rx_guest() if (rx_pkts or tx_done) else Work()

    def device_model_backend(self, steps: list[Step]) -> Work:
        """The backend part of ``steps`` where the device model is not in the vCPU's thread (Xen's qemu-dm in
        dom0, Hyper-V's worker process): work for the backend entity, not the vCPU."""
        if self.inline_backend:
            return Work()
        return Work.of(backend_category(str(self.backend_name("net"))),
                       sum(s.cycles for s in steps if s.kind == "backend"))

    # -- streams and requests --------------------------------------------------------------------
    def wire_bytes(self, npkts: float, payload: float) -> float:
        """Bytes on the wire for ``npkts`` frames carrying ``payload`` bytes (headers and Ethernet framing)."""
        return payload + npkts * (TCP_IP_HEADER_BYTES[0] + ETHERNET_FRAME_OVERHEAD_BYTES[0])

    @_cached
    def stream_guest(self, direction: str, npkts: int) -> Work:
        """Guest work for one batch of ``npkts`` full segments of a bulk TCP stream, with its ACKs.

        The sender receives one ACK per :data:`SEGMENTS_PER_ACK` segments and the receiver sends them; the NIC
        coalesces interrupts (the profile's frames per interrupt).
        """
        nbytes = npkts * self.payload
        acks = npkts / SEGMENTS_PER_ACK[0]
        w = self.unit(kb=self.payload / 1024) * npkts + self._native_dma(npkts + acks)
        if direction == "tx":
            return (w + self._kernel(acks * TCP_ACK_RX_INSTR[0]) + self.tx_guest(npkts, nbytes)
                    + self.deliver_guest(acks, 0.0, npkts))
        return (w + self._kernel(acks * TCP_ACK_TX_INSTR[0]) + self.tx_guest(acks, 0.0)
                + self.deliver_guest(npkts, nbytes, acks))

    @_cached
    def stream_backend(self, direction: str, npkts: int) -> Work:
        """Backend work for one batch of a stream (data segments one way, ACKs the other), with the physical
        interrupts the backend's host takes."""
        if self.backend_name("net") is None:
            return Work()
        nbytes = npkts * self.payload
        acks = npkts / SEGMENTS_PER_ACK[0]
        rx, tx = (acks, npkts) if direction == "tx" else (npkts, acks)
        irqs = self._irqs(rx, "rx") + self._irqs(tx, "tx")
        label = backend_category(str(self.backend_name("net")))
        w = Work.of(label, irqs * self._host_irq_cycles())
        if self.mode.io == "hosted":  # the transmit side runs inline (tx_guest); the host receives
            return w + self.backend_net(rx, nbytes if direction == "rx" else 0.0, "rx")
        if self.inline_backend:  # QEMU's e1000 transmit runs in the vCPU thread; its receive side here
            return w + self.backend_net(rx, nbytes if direction == "rx" else 0.0, "rx")
        dm = Work()
        if self.mode.io == "emulated":  # qemu-dm's register emulation for the guest's accesses runs in dom0
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * tx + E1000_RX_EXITS_PER_INTERRUPT[0])
        return w + dm + self.backend_net(rx + tx, nbytes, direction)

    @_cached
    def request_packets(self) -> Packets:
        """Data and control segments of one request of a request workload, each way."""
        p = self.wl.params
        data_rx = max(1, math.ceil(p.request_bytes / self.payload))
        data_tx = max(1, math.ceil(p.response_bytes / self.payload))
        # the client ACKs every second segment of a long response, the server every second of a long request;
        # the last ACK rides on the next request or on the response
        acks_rx, acks_tx = data_tx // SEGMENTS_PER_ACK[0], data_rx // SEGMENTS_PER_ACK[0]
        hs_rx, hs_tx = HANDSHAKE_SEGMENTS[0] if p.connection_per_request else (0, 0)
        rx, tx = data_rx + acks_rx + hs_rx, data_tx + acks_tx + hs_tx
        return Packets(rx, tx, self.wire_bytes(rx, p.request_bytes), self.wire_bytes(tx, p.response_bytes))

    @_cached
    def request_guest(self) -> Work:
        """Guest work of one request: the unit, the request's arrival, the response handed to the I/O path."""
        p, pk = self.wl.params, self.request_packets()
        kb = (p.request_bytes + p.response_bytes) / 1024
        arrival = self.deliver_guest(pk.rx, p.request_bytes, 0.0) if self.mode.io in ("native", "sriov", "hosted") \
            or self.io_in_hypervisor else self.rx_guest()
        return self.unit(kb=kb) + arrival + self.tx_guest(pk.tx, p.response_bytes) + self._native_dma(pk.rx + pk.tx)

    @_cached
    def request_backend(self, direction: str) -> Work:
        """Backend work of one request's packets in ``direction`` (``rx``: the request arrives)."""
        if self.backend_name("net") is None:
            return Work()
        p, pk = self.wl.params, self.request_packets()
        label = backend_category(str(self.backend_name("net")))
        if direction == "rx":
            return Work.of(label, self._irqs(pk.rx, "rx") * self._host_irq_cycles()) + self.backend_net(
                pk.rx, p.request_bytes, "rx")
        if self.mode.io == "hosted" or self.inline_backend:
            return Work()
        dm = Work()
        if self.mode.io == "emulated":
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * pk.tx + E1000_RX_EXITS_PER_INTERRUPT[0])
        return dm + self.backend_net(pk.tx, p.response_bytes, "tx")

    # -- backends ----------------------------------------------------------------------------
    def _wake_cycles(self) -> float:
        """Waking the backend for a batch: scheduling dom0 or the root partition in, or a host thread."""
        return sum(s.cycles for s in self.cm.backend_wake())

    def backend_name(self, what: str = "net") -> str | None:
        io, fam = self.mode.io, self.fam
        if io in ("native", "sriov") or self.io_in_hypervisor:
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
            if fam == "hyperv":
                return "root"
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
            c = self._wake_cycles() + npkts * self.sw("netback_pkt", "xen") + kb * self.sw("grant_copy_kb", "xen") \
                + self.sw("evtchn_send", "xen")
        elif io == "vhost":
            c = self._wake_cycles() + npkts * (self.sw("vhost_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io == "virtio":
            c = self._wake_cycles() + npkts * (self.sw("qemu_virtio_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io == "vmbus":
            c = self.sw("vmbus_signal", "hyperv") + npkts * self.sw("vsp_pkt", "hyperv") + kb * self.sw("copy_kb", "kvm")
        elif io == "emulated":  # the device model fills or drains descriptors
            c = npkts * (self.sw("qemu_e1000_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) + kb * self.sw("copy_kb", "kvm")
            if self.fam == "xen":
                c += self.sw("ioreq", "xen")
        elif io == "hosted":  # the host receives: its NIC driver, VMNet, and the VMApp reads each packet
            c = npkts * (self.sw("host_driver_pkt", "kvm") + self.sw("host_net_pkt", "vmware")
                         + self.hw.val("syscall_cycles")) + kb * self.sw("copy_kb", "kvm")
        else:
            return Work()
        return Work.of(label, c + self.dma_cycles(npkts))

    @_cached
    def disk_guest(self) -> Work:
        """Guest-side cost of submitting one disk request (beyond the unit's kernel work)."""
        io = self.mode.io
        if io == "emulated":
            w = self.work(self.cm.ev_pio_user(), IDE_EXITS_PER_REQUEST[0], keep_backend=self.inline_backend)
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), self.sw("qemu_ide_op", "kvm"))
            return w
        if io == "hosted":
            # the IDE registers are emulated in the VMM; issuing the request switches to the host, where the VMApp
            # reads or writes the virtual disk file with a system call
            return (self._port_access(HOSTED_DISK_PORT_ACCESSES[0]) + self._hosted_switch(1.0)
                    + Work.of(backend_category("host"), self.sw("hosted_io_dispatch", "vmware")
                              + self.hw.val("syscall_cycles") + self.sw("host_disk_op", "vmware")))
        if self.io_in_hypervisor:
            return self.kick() + Work.of(HYPERVISOR, self.sw("vbd_op", "xen"))
        if io in ("native", "sriov"):
            return self.work(self.cm.ev_io_kick()) + self._native_dma(1.0)
        return self.kick()

    @_cached
    def disk_done(self) -> Work:
        """Guest-side cost of a disk request's completion."""
        if self.mode.io == "hosted":
            # the host's disk interrupt (reflected if it lands on the VMM's CPU), the VMApp's completion through a
            # world switch, and the virtual controller's interrupt
            return self._reflected_irqs(1.0) + self._hosted_switch(1.0) + self._hosted_virtual_irq(1.0)
        if self.io_in_hypervisor:
            return (Work.of(HYPERVISOR, self.hw.val("irq_cycles") + self.sw("irq_host", "xen"))
                    + self.work(self.cm.ev_virtual_irq()))
        return self.notify()

    @_cached
    def backend_disk(self) -> Work:
        io = self.mode.io
        label = backend_category(str(self.backend_name("disk")))
        if io == "pv-split" and not self.io_in_hypervisor:
            c = self._wake_cycles() + self.sw("blkback_op", "xen") + self.sw("evtchn_send", "xen")
        elif io in ("vhost", "virtio"):
            c = self._wake_cycles() + self.sw("qemu_blk_op", "kvm") + self.sw("irqfd", "kvm")
        elif io == "vmbus":
            c = self.sw("vmbus_signal", "hyperv") + self.sw("vsp_disk_op", "hyperv")
        elif io == "emulated" and not self.inline_backend:
            c = sum(s.cycles for s in self.cm.ev_pio_user() if s.kind == "backend") * IDE_EXITS_PER_REQUEST[0] \
                + self.sw("qemu_ide_op", "kvm")
        else:
            return Work()
        return Work.of(label, c + self.dma_cycles(1.0))
