"""What a workload's network I/O costs under a mode: packets handed to the I/O path, delivered to the guest, and
moved by its backend, for bulk TCP streams and for request-response workloads.

A request's or a stream's packets are its data segments and TCP's control segments (delayed ACKs, the handshake of
a connection per request); the NIC coalesces interrupts; the I/O path decides who handles each packet (the guest's
own driver, the hypervisor's driver, a backend in a driver domain, a vhost thread, the device model, a hosted
VMM's host).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .unit_costs import LANCE_ISR_PORT_ACCESSES, NIC_IRQ_INSTR, TCP_IP_HEADER_BYTES, UnitCosts, cached
from .work import HYPERVISOR, Work, backend_category

__all__ = ["NetCosts", "Packets", "TCP_IP_HEADER_BYTES", "ETHERNET_FRAME_OVERHEAD_BYTES", "SEGMENTS_PER_ACK",
           "TCP_ACK_RX_INSTR", "TCP_ACK_TX_INSTR", "NIC_IRQ_INSTR", "HANDSHAKE_SEGMENTS", "LANCE_TX_PORT_ACCESSES",
           "LANCE_ISR_PORT_ACCESSES", "E1000_TX_EXITS_PER_PACKET", "E1000_RX_EXITS_PER_INTERRUPT"]

#: Emulated-device register accesses that exit
E1000_TX_EXITS_PER_PACKET = (2, "estimated, because an e1000 driver writes the transmit descriptor tail (TDT) per packet and reads or acknowledges status once more (QEMU hw/net/e1000.c); plausible 1-3 because a driver writes the tail register once per packet and reads or acknowledges status zero to two times more")

E1000_RX_EXITS_PER_INTERRUPT = (2, "estimated, because the e1000 interrupt handler reads ICR and the receive path writes RDT once per interrupt (Linux e1000_intr, e1000_clean_rx_irq); plausible 1-3 because an interrupt handler reads the cause register and writes the tail register zero to two times more")
#: Ethernet framing per frame on the wire
ETHERNET_FRAME_OVERHEAD_BYTES = (38, "IEEE 802.3: a 7-byte preamble, a 1-byte start delimiter, a 14-byte header, a 4-byte frame check sequence and a 12-byte inter-frame gap per frame")
#: Data segments per TCP ACK (delayed ACKs)
SEGMENTS_PER_ACK = (2, "RFC 1122 section 4.2.3.2 and RFC 5681: a receiver ACKs at least every second full-sized segment")
#: Native TCP/IP stack work per pure ACK (guest kernel instructions)
TCP_ACK_RX_INSTR = (1500, "estimated, because receiving a pure ACK runs the driver's receive path, ip_rcv and tcp_ack, which frees the acknowledged buffers and opens the window (about 1.5 k instructions in Linux 2.4-2.6); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

TCP_ACK_TX_INSTR = (1200, "estimated, because tcp_send_ack allocates a buffer, builds the header and runs ip_output and the driver's transmit (about 1.2 k instructions); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: Control segments of a TCP connection opened and closed per request: (received, sent) by the server
HANDSHAKE_SEGMENTS = ((3, 2), "RFC 793 sections 3.4-3.5: the server receives SYN, the handshake's ACK and the client's FIN, and sends SYN-ACK and its FIN (its last ACK rides on the FIN exchange)")
#: The hosted VMM's emulated NIC (VMware Workstation: an AMD Lance/PCnet)
LANCE_TX_PORT_ACCESSES = (12, "Sugerman et al., USENIX ATC 2001, section 4 (as recalled): the guest's Lance driver makes about a dozen I/O-port accesses (address-register writes and data-register reads and writes) to transmit one packet, each trapping to the VMM")


@dataclass(frozen=True)
class Packets:
    """The packets of one request on the wire: data segments and TCP control segments (ACKs, handshake), each way."""

    rx: float
    tx: float
    rx_wire_bytes: float
    tx_wire_bytes: float


class NetCosts(UnitCosts):
    """The network I/O of a workload: the guest's side and its backend's."""

    # -- one batch of packets ----------------------------------------------------------------------
    @cached
    def tx_guest(self, npkts: float, nbytes: float) -> Work:
        """Guest-side cost of handing ``npkts`` packets to the I/O path (one notification)."""
        io, cm = self.mode.io_part, self.cm
        w = Work()
        if io.register_emulation:
            # e1000: descriptor-tail and status register writes per packet, handled by the device model
            w = w.plus(self.work(cm.ev_mmio_user(), keep_backend=self.inline_backend), E1000_TX_EXITS_PER_PACKET[0] * npkts)
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), npkts * self.sw("qemu_e1000_pkt", "kvm")
                                + nbytes / 1024 * self.sw("copy_kb", "kvm"))
        elif io.host_forwarding:
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

    @cached
    def rx_guest(self) -> Work:
        """Guest-side cost of one receive interrupt from a backend (per batch)."""
        w = self.notify()
        if self.mode.io_part.register_emulation:
            w = w.plus(self.work(self.cm.ev_mmio_user(), keep_backend=self.inline_backend),
                       E1000_RX_EXITS_PER_INTERRUPT[0])
        return w

    @cached
    def deliver_guest(self, rx_pkts: float, rx_bytes: float, tx_done: float) -> Work:
        """Guest-side cost of ``rx_pkts`` packets arriving and ``tx_done`` transmissions completing, in one batch.

        The device's interrupts reach the guest as they are: natively and with an assigned device, one per
        coalesced group of frames; under Xen 1.0 each is taken by Xen's driver, which flips the received pages to
        the guest and sends an event; a hosted VMM delivers a batch of received packets through one world switch
        and raises the virtual Lance's interrupt for it and for every transmission; a backend (dom0, vhost, QEMU,
        the root partition) notifies once per batch it processes.
        """
        io, cm = self.mode.io_part, self.cm
        irqs = self._irqs(rx_pkts, "rx") + self._irqs(tx_done, "tx")
        if io.drives_device:
            return (self.notify() + self._kernel(NIC_IRQ_INSTR[0])) * irqs
        if self.io_in_hypervisor:
            xen = Work.of(HYPERVISOR, irqs * (self._host_irq_cycles() + self.sw("irq_host", "xen"))
                          + rx_pkts * self.sw("vif_rx_pkt", "xen"))
            return xen + self.work(cm.ev_virtual_irq()) * irqs
        if io.host_forwarding:
            w = self._hosted_virtual_irq((1.0 if rx_pkts else 0.0) + tx_done)
            if rx_pkts:
                w = w + self._hosted_switch(1.0) + Work.of(backend_category("host"),
                                                           rx_bytes / 1024 * self.sw("copy_kb", "kvm"))
            return w + self._reflected_irqs(irqs)
        return self.rx_guest() if (rx_pkts or tx_done) else Work()

    # -- streams and requests --------------------------------------------------------------------
    def wire_bytes(self, npkts: float, payload: float) -> float:
        """Bytes on the wire for ``npkts`` frames carrying ``payload`` bytes (headers and Ethernet framing)."""
        return payload + npkts * (TCP_IP_HEADER_BYTES[0] + ETHERNET_FRAME_OVERHEAD_BYTES[0])

    @cached
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

    @cached
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
        if self.mode.io_part.host_forwarding:  # the transmit side runs inline (tx_guest); the host receives
            return w + self.backend_net(rx, nbytes if direction == "rx" else 0.0, "rx")
        if self.inline_backend:  # QEMU's e1000 transmit runs in the vCPU thread; its receive side here
            return w + self.backend_net(rx, nbytes if direction == "rx" else 0.0, "rx")
        dm = Work()
        if self.mode.io_part.register_emulation:  # qemu-dm's register emulation for the guest's accesses runs in dom0
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * tx + E1000_RX_EXITS_PER_INTERRUPT[0])
        return w + dm + self.backend_net(rx + tx, nbytes, direction)

    @cached
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

    @cached
    def request_guest(self) -> Work:
        """Guest work of one request: the unit, the request's arrival, the response handed to the I/O path."""
        p, pk = self.wl.params, self.request_packets()
        kb = (p.request_bytes + p.response_bytes) / 1024
        io = self.mode.io_part
        arrival = self.deliver_guest(pk.rx, p.request_bytes, 0.0) if io.drives_device or io.host_forwarding \
            or self.io_in_hypervisor else self.rx_guest()
        return self.unit(kb=kb) + arrival + self.tx_guest(pk.tx, p.response_bytes) + self._native_dma(pk.rx + pk.tx)

    @cached
    def request_backend(self, direction: str) -> Work:
        """Backend work of one request's packets in ``direction`` (``rx``: the request arrives)."""
        if self.backend_name("net") is None:
            return Work()
        p, pk = self.wl.params, self.request_packets()
        label = backend_category(str(self.backend_name("net")))
        if direction == "rx":
            return Work.of(label, self._irqs(pk.rx, "rx") * self._host_irq_cycles()) + self.backend_net(
                pk.rx, p.request_bytes, "rx")
        if self.mode.io_part.host_forwarding or self.inline_backend:
            return Work()
        dm = Work()
        if self.mode.io_part.register_emulation:
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * pk.tx + E1000_RX_EXITS_PER_INTERRUPT[0])
        return dm + self.backend_net(pk.tx, p.response_bytes, "tx")

    # -- the backend ---------------------------------------------------------------------------
    @cached
    def backend_net(self, npkts: float, nbytes: float, direction: str) -> Work:
        """Backend CPU work for a batch of packets, on the backend entity."""
        io, kb = self.mode.io_part, nbytes / 1024
        label = backend_category(str(self.backend_name("net")))
        if io.split_driver:
            c = self._wake_cycles() + npkts * self.sw("netback_pkt", "xen") + kb * self.sw("grant_copy_kb", "xen") \
                + self.sw("evtchn_send", "xen")
        elif io.kernel_backend:
            c = self._wake_cycles() + npkts * (self.sw("vhost_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io.virtio:  # a user-space virtio-net backend: the family's VMM (QEMU, a microVM's VMM)
            c = self._wake_cycles() + npkts * (self.sw(self.mode.family_part.virtio_paths[0])
                                               + self.sw("host_driver_pkt", "kvm")) \
                + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io.vmbus:
            c = self.sw("vmbus_signal", "hyperv") + npkts * self.sw("vsp_pkt", "hyperv") + kb * self.sw("copy_kb", "kvm")
        elif io.register_emulation:  # the device model fills or drains descriptors
            c = npkts * (self.sw("qemu_e1000_pkt", "kvm") + self.sw("host_driver_pkt", "kvm")) + kb * self.sw("copy_kb", "kvm")
            if self.mode.family_part.device_model == "ioreq":  # each batch is an ioreq to qemu-dm in dom0
                c += self.sw("ioreq", "xen")
        elif io.host_forwarding:  # the host receives: its NIC driver, VMNet, and the VMApp reads each packet
            c = npkts * (self.sw("host_driver_pkt", "kvm") + self.sw("host_net_pkt", "vmware")
                         + self.hw.val("syscall_cycles")) + kb * self.sw("copy_kb", "kvm")
        else:
            return Work()
        return Work.of(label, c + self.dma_cycles(npkts))
