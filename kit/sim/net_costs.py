"""What a workload's network I/O costs under a mode: packets handed to the I/O path, delivered to the guest, and
moved by its backend, for bulk TCP streams and for request-response workloads.

A request's or a stream's packets are its data segments and TCP's control segments (delayed ACKs, the handshake of
a connection per request); the NIC coalesces interrupts; the I/O path decides who handles each packet (the guest's
own driver, the hypervisor's driver, a backend in a driver domain, a vhost thread, the device model, a hosted
VMM's host).

Segments and frames are kept apart (:class:`Segmentation`). A frame is what the wire carries: one MSS of payload
with its headers and Ethernet framing, and the NIC's interrupts count frames. A segment is what a software layer
handles as one packet: with segmentation offloads (the mode's ``offload`` part, the I/O path's virtual NIC, the
profile's ``features.tso`` and ``features.lro``) TCP builds segments of up to 64 KiB that pass whole through the
virtual NIC, the backend, the bridge, veth and netfilter, and that the NIC (TSO) or software just above its driver
(GSO) cuts into frames; received frames are merged into segments by the NIC (LRO) or by the driver's poll (GRO)
before the stack. Per-packet costs are charged per segment where a layer sees segments and per frame where it sees
frames; per-byte costs (copies) per byte.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..costs.codepaths import instructions
from ..costs.containers import BRIDGE_PKT_INSTR
from .unit_costs import LANCE_ISR_PORT_ACCESSES, NIC_IRQ_INSTR, TCP_IP_HEADER_BYTES, UnitCosts, cached
from .work import HYPERVISOR, Work, backend_category

__all__ = ["NetCosts", "Packets", "Segmentation", "Flow", "Stack", "TCP_IP_HEADER_BYTES", "ETHERNET_FRAME_OVERHEAD_BYTES",
           "SEGMENTS_PER_ACK", "TCP_ACK_RX_INSTR", "TCP_ACK_TX_INSTR", "NIC_IRQ_INSTR", "HANDSHAKE_SEGMENTS",
           "LANCE_TX_PORT_ACCESSES", "LANCE_ISR_PORT_ACCESSES", "E1000_TX_EXITS_PER_PACKET",
           "E1000_RX_EXITS_PER_INTERRUPT", "ETHERNET_HEADER_BYTES", "SEGMENT_MAX_BYTES", "GRO_FRAME_INSTR", "GSO_FRAME_INSTR",
           "TCP_WINDOW_BATCHES", "TCP_AUTOTUNING_YEAR", "TCP_AUTOTUNED_WINDOW_KB", "RX_FLOW_CPUS"]

#: Emulated-device register accesses that exit
E1000_TX_EXITS_PER_PACKET = (2, "estimated, because an e1000 driver writes the transmit descriptor tail (TDT) per packet and reads or acknowledges status once more (QEMU hw/net/e1000.c); plausible 1-3 because a driver writes the tail register once per packet and reads or acknowledges status zero to two times more")

E1000_RX_EXITS_PER_INTERRUPT = (2, "estimated, because the e1000 interrupt handler reads ICR and the receive path writes RDT once per interrupt (Linux e1000_intr, e1000_clean_rx_irq); plausible 1-3 because an interrupt handler reads the cause register and writes the tail register zero to two times more")
#: Ethernet framing per frame on the wire
ETHERNET_FRAME_OVERHEAD_BYTES = (38, "IEEE 802.3: a 7-byte preamble, a 1-byte start delimiter, a 14-byte header, a 4-byte frame check sequence and a 12-byte inter-frame gap per frame")
ETHERNET_HEADER_BYTES = (14, "IEEE 802.3: destination and source addresses and the EtherType, the part of the framing a segment's 64 KiB counts")
#: Data segments per TCP ACK (delayed ACKs)
SEGMENTS_PER_ACK = (2, "RFC 1122 section 4.2.3.2 and RFC 5681: a receiver ACKs at least every second full-sized segment")
#: Native TCP/IP stack work per pure ACK (guest kernel instructions)
TCP_ACK_RX_INSTR = (1500, "estimated, because receiving a pure ACK runs the driver's receive path, ip_rcv and tcp_ack, which frees the acknowledged buffers and opens the window (about 1.5 k instructions in Linux 2.4-2.6); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

TCP_ACK_TX_INSTR = (1200, "estimated, because tcp_send_ack allocates a buffer, builds the header and runs ip_output and the driver's transmit (about 1.2 k instructions); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: Control segments of a TCP connection opened and closed per request: (received, sent) by the server
HANDSHAKE_SEGMENTS = ((3, 2), "RFC 793 sections 3.4-3.5: the server receives SYN, the handshake's ACK and the client's FIN, and sends SYN-ACK and its FIN (its last ACK rides on the FIN exchange)")
#: The hosted VMM's emulated NIC (VMware Workstation: an AMD Lance/PCnet)
LANCE_TX_PORT_ACCESSES = (12, "Sugerman et al., USENIX ATC 2001, section 4 (as recalled): the guest's Lance driver makes about a dozen I/O-port accesses (address-register writes and data-register reads and writes) to transmit one packet, each trapping to the VMM")
#: Segmentation offloads
SEGMENT_MAX_BYTES = (65536, "Linux GSO_MAX_SIZE: a TSO/GSO segment (tcp_tso_autosize, sk_gso_max_size) and a GRO aggregate (skb_gro_receive refuses to grow past it) carry at most 64 KiB with their headers")
GRO_FRAME_INSTR = (300, "estimated, because dev_gro_receive looks the frame's flow up among the NAPI instance's held aggregates and matches its IP and TCP headers (inet_gro_receive, tcp_gro_receive) before appending its page to an aggregate, a few hundred instructions on top of the driver's per-frame receive; plausible 150-600 because the GRO path read from the code may be off by a factor of two either way")
#: The window a bulk stream keeps in flight. A stream is simulated in batches, within which the NIC's interrupts
#: follow its coalescing (stream_guest) and a backend drains its ring once per batch
TCP_WINDOW_BATCHES = (2, "estimated, because a sender keeps its window full with two half-window batches in flight, and a backend woken for a batch drains the whole ring before it sleeps again; fixed because it is a setting of the simulation's method (its batching or tick), not a property of the system, so it is no source of model uncertainty")
TCP_AUTOTUNING_YEAR = (2004, "Linux 2.6.7 (June 2004): receive-buffer autotuning (tcp_moderate_rcvbuf, dynamic right-sizing) grows a stream's window with the data it receives per round trip, up to tcp_rmem[2] (4 MiB); Linux 2.4 kept the default window (the ttcp preset's 64 KiB)")
TCP_AUTOTUNED_WINDOW_KB = (256, "estimated, because autotuning grows a LAN stream's window to a few hundred KiB (the network hog presets' window, Linux of 2007); plausible 128-4096 because the receiver doubles its buffer while the data per round trip keeps growing")
RX_FLOW_CPUS = (2, "estimated, because one TCP flow's receive runs on two CPUs at most: the NIC queue's softirq (driver, GRO, the protocol) and the reading thread's copy (receive-side scaling steers a flow to one queue); fixed because a flow's receive work has two stages, a structure of the stack rather than a quantity to vary")
GSO_FRAME_INSTR = (400, "estimated, because software segmentation (skb_segment, called by validate_xmit_skb where the device lacks TSO) allocates a header skb per frame, copies the headers, points it at the payload's pages and fixes the IP and TCP fields, a few hundred instructions per frame; plausible 200-800 because the segmentation path read from the code may be off by a factor of two either way")


@dataclass(frozen=True)
class Packets:
    """The packets of one request on the wire: data segments and TCP control segments (ACKs, handshake), each way,
    and the data frames among them (which segmentation offloads merge into segments)."""

    rx: float
    tx: float
    rx_wire_bytes: float
    tx_wire_bytes: float
    rx_data: float = 0.0
    tx_data: float = 0.0


@dataclass(frozen=True)
class Flow:
    """One direction of a batch through a backend: ``path`` packets through its per-packet path (backend, bridge,
    netfilter), ``driver`` packets through the host NIC driver, ``merged`` frames merged in software on receive
    (GRO), ``cut`` frames cut from segments in software (GSO), and the ``nbytes`` it copies."""

    path: float
    driver: float
    merged: float = 0.0
    cut: float = 0.0
    nbytes: float = 0.0
    #: buffers mapped for DMA (a receive buffer per frame even where the NIC merges them; default ``driver``)
    buffers: float | None = None

    @property
    def dmas(self) -> float:
        return self.driver if self.buffers is None else self.buffers


@dataclass(frozen=True)
class Stack:
    """How one kernel's network stack handles ``frames`` frames: ``packets`` passes of its per-packet protocol work,
    ``driver`` packets through its NIC driver, ``merged`` frames merged by GRO, ``cut`` frames cut by GSO."""

    frames: float
    packets: float
    driver: float
    merged: float = 0.0
    cut: float = 0.0


@dataclass(frozen=True)
class Segmentation:
    """Where a mode's network path moves segments and where it moves frames.

    ``per_segment`` is how many MSS frames a 64 KiB segment carries; ``per_merge`` how many a receive aggregate
    holds (GRO flushes its aggregates when the driver's NAPI poll completes, napi_complete -> napi_gro_flush, so an
    aggregate holds at most the frames of one interrupt's poll).
    """

    per_segment: int
    per_merge: int
    #: the stacks build segments (TSO/GSO)
    segments_tx: bool
    #: the guest's NIC (virtual, or the physical one driven natively) takes them
    guest_tso: bool
    #: the backend's path passes segments on (False: a device model cuts them into frames)
    path_tx: bool
    #: the physical NIC cuts segments into frames (TSO); without it software does just above the driver (GSO)
    nic_tso: bool
    #: how the host's (or the native kernel's) receiving driver merges frames: "lro", "gro" or "none"
    host_merge: str
    #: the guest's stack receives merged segments from its virtual NIC
    guest_rx: bool
    #: the guest merges the frames its virtual NIC hands it (GRO in its driver)
    guest_gro: bool

    @staticmethod
    def segments(frames: float, per: int) -> float:
        """Segments of up to ``per`` frames that ``frames`` frames make (0 for none)."""
        return float(math.ceil(frames / per - 1e-9)) if frames > 0 else 0.0

    def tx(self, frames: float) -> tuple[float, float, float, float]:
        """Transmitting ``frames`` data frames: (packets the guest's stack hands its NIC, packets the backend's
        path moves, packets the host NIC driver handles, frames cut from segments in software)."""
        guest = self.segments(frames, self.per_segment) if self.segments_tx and self.guest_tso else frames
        path = guest if self.path_tx else frames
        driver = path if self.nic_tso else frames
        cut = frames if driver == frames and path < frames else 0.0
        return guest, path, driver, cut

    def host_tx(self, frames: float) -> Stack:
        """A stack that drives the NIC (native, a container's host, an assigned VF) transmitting ``frames``."""
        guest, _, driver, cut = self.tx(frames)
        return Stack(frames, guest, driver, cut=cut)

    def host_rx(self, frames: float) -> Stack:
        """A stack that drives the NIC receiving ``frames``: merged by the NIC (LRO: its driver sees aggregates)
        or by the driver's poll (GRO: the driver sees every frame), or not at all."""
        if self.host_merge == "none":
            return Stack(frames, frames, frames)
        merged = self.segments(frames, self.per_merge)
        if self.host_merge == "lro":
            return Stack(frames, merged, merged)
        return Stack(frames, merged, frames, merged=frames)

    def guest_rx_stack(self, frames: float) -> Stack:
        """A guest behind a backend receiving ``frames``: the backend's merged segments, or frames its own
        driver merges (GRO) or not."""
        if self.guest_rx and self.host_merge != "none":
            seg = self.host_rx(frames).packets
            return Stack(frames, seg, seg)
        if self.guest_gro:
            return Stack(frames, self.segments(frames, self.per_merge), frames, merged=frames)
        return Stack(frames, frames, frames)


class NetCosts(UnitCosts):
    """The network I/O of a workload: the guest's side and its backend's."""

    # -- segments and frames -------------------------------------------------------------------------
    @property
    def seg(self) -> Segmentation:
        """This mode's :class:`Segmentation` on this profile."""
        s = self._memo.get("segmentation")
        if s is None:
            s = self._memo["segmentation"] = self._segmentation()
        return s

    def _segmentation(self) -> Segmentation:
        io, off, f = self.mode.io_part, self.mode.offload_part, self.hw.features
        per_segment = max(1, int((SEGMENT_MAX_BYTES[0] - TCP_IP_HEADER_BYTES[0] - ETHERNET_HEADER_BYTES[0])
                                  // self.payload))
        per_merge = max(1, min(per_segment, int(self.hw.val("nic_rx_frames_per_irq"))))
        # the NIC's LRO is off where the host bridges or routes (dev_disable_lro); an SR-IOV VF has none
        lro = bool(f.lro) and not io.bridges and not io.assigned
        host_merge = "none" if not off.merges_rx else ("lro" if lro else "gro")
        return Segmentation(per_segment=per_segment, per_merge=per_merge, segments_tx=off.segments_tx,
                            guest_tso=io.guest_tso, path_tx=not io.device_segments, nic_tso=bool(f.tso),
                            host_merge=host_merge, guest_rx=io.guest_rx_segments, guest_gro=off.merges_rx)

    def stream_plan(self) -> tuple[int, int]:
        """A bulk stream's batches: (full frames per batch, batches in flight).

        The window is the workload's, or on a kernel that autotunes it (:data:`TCP_AUTOTUNING_YEAR`; not under
        release 2003) at least :data:`TCP_AUTOTUNED_WINDOW_KB`. A batch is half the window, or one segment where the
        stack builds segments (a 64 KiB segment moves whole through the path); the window holds as many batches as
        fit, two at least.
        """
        p = self.wl.params
        window = p.window_kb * 1024
        if self.hw.year >= TCP_AUTOTUNING_YEAR[0] and self.mode.release != "2003":
            window = max(window, TCP_AUTOTUNED_WINDOW_KB[0] * 1024)
        half = max(1, int(window / TCP_WINDOW_BATCHES[0] // self.payload))
        if not self.mode.offload_part.segments_tx:
            return half, TCP_WINDOW_BATCHES[0]
        batch = min(half, self.seg.per_segment)
        return batch, max(TCP_WINDOW_BATCHES[0], int(window // (batch * self.payload)))

    def _acks(self, stack_packets: float, frames: float) -> float:
        """Pure ACKs a receiver sends for ``frames`` data frames its stack handled as ``stack_packets``: one per
        merged segment of two or more frames (Linux ACKs a received skb of more than one MSS at once), otherwise one
        per :data:`SEGMENTS_PER_ACK` frames."""
        return min(stack_packets, frames / SEGMENTS_PER_ACK[0])

    def _far_end_acks(self, frames: float) -> float:
        """ACKs the far end (a native host of the profile's era) returns for ``frames`` frames the guest sent."""
        merged = Segmentation.segments(frames, self.seg.per_merge) if self.mode.offload_part.merges_rx else frames
        return self._acks(merged, frames)

    # -- one batch of packets ----------------------------------------------------------------------
    @cached
    def tx_guest(self, npkts: float, nbytes: float, frames: float | None = None) -> Work:
        """Guest-side cost of handing ``npkts`` packets (``frames`` frames on the wire; default one each) to the
        I/O path (one notification)."""
        io, cm = self.mode.io_part, self.cm
        frames = npkts if frames is None else frames
        w = Work()
        if io.register_emulation:
            # e1000: descriptor-tail and status register writes per packet, handled by the device model, which cuts
            # a TSO segment into frames and writes each to the tap device
            w = w.plus(self.work(cm.ev_mmio_user(), keep_backend=self.inline_backend), E1000_TX_EXITS_PER_PACKET[0] * npkts)
            if self.inline_backend:  # each frame through the model, tap, the bridge and the host's NIC driver
                w = w + Work.of(backend_category("qemu"), frames * (self._path_packet() + self._driver_packet())
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
        """Guest-side cost of ``rx_pkts`` frames arriving and ``tx_done`` transmissions completing, in one batch.

        The device's interrupts reach the guest as they are: natively and with an assigned device, one per
        coalesced group of frames; under Xen 1.0 each is taken by Xen's driver, which flips the received pages to
        the guest and sends an event; a hosted VMM delivers a batch of received packets through one world switch
        and raises the virtual Lance's interrupt for it and for every transmission; a backend (dom0, vhost, QEMU,
        the root partition) notifies once per batch it processes.
        """
        io, cm = self.mode.io_part, self.cm
        irqs = self._irqs(rx_pkts, "rx") + self._irqs(tx_done, "tx")
        if io.drives_device or io.host_stack:  # the kernel drives the NIC (a container's is the host's)
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

    def _receives(self, frames: float) -> Stack:
        """How the guest's kernel handles ``frames`` received data frames: on the host's stack (native, a
        container) or an assigned VF it drives the NIC; behind a backend it takes what its virtual NIC hands it."""
        io = self.mode.io_part
        if io.drives_device or io.host_stack:
            return self.seg.host_rx(frames)
        return self.seg.guest_rx_stack(frames)

    def _sends(self, frames: float) -> Stack:
        """How the guest's kernel handles ``frames`` data frames it sends: driving the NIC itself (native, a
        container, an assigned VF), or handing its virtual NIC one packet per segment (its driver's per-packet
        work is the virtual NIC's)."""
        io = self.mode.io_part
        if io.drives_device or io.host_stack:
            return self.seg.host_tx(frames)
        guest = self.seg.tx(frames)[0]
        return Stack(frames, guest, guest)

    def _stack_work(self, st: Stack, kb: float) -> Work:
        """A stream's guest-kernel work for ``st``: the workload's per-packet instructions split into the NIC
        driver's share (``kvm.host_driver_pkt``, per driver packet) and the protocol's (per stack packet), copies
        per byte (per frame of ``kb``), and the per-frame work of GRO and GSO."""
        k = self.wl.per_unit.kernel_instr
        d = min(k, instructions("kvm", self.mode.release, "host_driver_pkt"))
        share = (st.packets * (k - d) + st.driver * d) / (st.frames * k) if k > 0 else 1.0
        w = self.unit(kb=kb, packets=share) * st.frames
        extra = st.merged * GRO_FRAME_INSTR[0] + st.cut * GSO_FRAME_INSTR[0]
        return w + self._kernel(extra) if extra else w

    @cached
    def stream_guest(self, direction: str, npkts: int) -> Work:
        """Guest work for one batch of ``npkts`` full frames of a bulk TCP stream, with its ACKs.

        The stack's per-packet work runs per segment it handles and its driver's per packet it drives (the
        workload's ``kernel_instr``), its copies per byte; the sender receives the receiver's ACKs (one per merged
        segment, or per :data:`SEGMENTS_PER_ACK` frames); the NIC coalesces interrupts (the profile's frames per
        interrupt).
        """
        nbytes = npkts * self.payload
        kb = self.payload / 1024
        drives = self.mode.io_part.drives_device or self.mode.io_part.host_stack
        if direction == "tx":
            st = self._sends(npkts)
            acks = self._far_end_acks(npkts)
            w = self._stack_work(st, kb) + self._native_dma(st.driver + acks)
            return (w + self._kernel(acks * TCP_ACK_RX_INSTR[0]) + self.tx_guest(st.packets, nbytes, float(npkts))
                    + self.deliver_guest(acks, 0.0, st.driver if drives else st.packets))
        st = self._receives(npkts)
        acks = self._acks(st.packets, npkts)
        w = self._stack_work(st, kb) + self._native_dma(npkts + acks)  # a receive buffer per frame
        return (w + self._kernel(acks * TCP_ACK_TX_INSTR[0]) + self.tx_guest(acks, 0.0)
                + self.deliver_guest(npkts, nbytes, acks))

    @cached
    def stream_backend(self, direction: str, npkts: int) -> Work:
        """Backend work for one batch of a stream (data one way, ACKs the other), with the physical interrupts
        the backend's host takes."""
        if self.backend_name("net") is None:
            return Work()
        nbytes = npkts * self.payload
        if direction == "tx":
            guest, path, driver, cut = self.seg.tx(npkts)
            acks = self._far_end_acks(npkts)
            data, back = Flow(path, driver, cut=cut, nbytes=nbytes), Flow(acks, acks)
            irqs = self._irqs(acks, "rx") + self._irqs(driver, "tx")
            arriving, dm_tx = back, guest
        else:
            acks = self._acks(self.seg.guest_rx_stack(npkts).packets, npkts)
            data, back = self._rx_flow(npkts, nbytes), Flow(acks, acks)
            irqs = self._irqs(npkts, "rx") + self._irqs(acks, "tx")
            arriving, dm_tx = data, acks
        label = backend_category(str(self.backend_name("net")))
        w = Work.of(label, irqs * self._host_irq_cycles())
        if self.mode.io_part.host_forwarding or self.inline_backend:
            # the transmit side runs inline (tx_guest: the hosted VMM's host, QEMU's e1000 in the vCPU thread)
            return w + self.backend_flows((arriving,))
        dm = Work()
        if self.mode.io_part.register_emulation:  # qemu-dm's register emulation for the guest's accesses runs in dom0
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * dm_tx + E1000_RX_EXITS_PER_INTERRUPT[0])
        return w + dm + self.backend_flows((data, back))

    def _rx_flow(self, frames: float, nbytes: float) -> Flow:
        """``frames`` data frames received through the backend to the guest: merged at the host (GRO in software,
        LRO in the NIC), and cut into frames again where the guest's virtual NIC takes no segments (GSO)."""
        host = self.seg.host_rx(frames)
        whole = self.seg.guest_rx and self.seg.host_merge != "none"
        cut = frames if host.packets < frames and not whole else 0.0
        return Flow(host.packets if whole else frames, host.driver, merged=host.merged, cut=cut, nbytes=nbytes,
                    buffers=frames)

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
        return Packets(rx, tx, self.wire_bytes(rx, p.request_bytes), self.wire_bytes(tx, p.response_bytes),
                       float(data_rx), float(data_tx))

    @cached
    def request_guest(self) -> Work:
        """Guest work of one request: the unit, the request's arrival, the response handed to the I/O path.

        The unit's kernel work is the workload's characterization per request (its packets included); what a
        segment changes here is the per-packet work of the virtual NIC (its exits, the hosted VMM's switches)."""
        p, pk = self.wl.params, self.request_packets()
        kb = (p.request_bytes + p.response_bytes) / 1024
        io = self.mode.io_part
        arrival = self.deliver_guest(pk.rx, p.request_bytes, 0.0) if io.drives_device or io.host_stack \
            or io.host_forwarding or self.io_in_hypervisor else self.rx_guest()
        out = self._sends(pk.tx_data)
        control = pk.tx - pk.tx_data
        return (self.unit(kb=kb) + arrival + self.tx_guest(out.packets + control, p.response_bytes, pk.tx)
                + self._native_dma(pk.rx + out.driver + control))

    @cached
    def request_backend(self, direction: str) -> Work:
        """Backend work of one request's packets in ``direction`` (``rx``: the request arrives)."""
        if self.backend_name("net") is None:
            return Work()
        p, pk = self.wl.params, self.request_packets()
        label = backend_category(str(self.backend_name("net")))
        if direction == "rx":
            control = pk.rx - pk.rx_data
            return Work.of(label, self._irqs(pk.rx, "rx") * self._host_irq_cycles()) + self.backend_flows(
                (self._rx_flow(pk.rx_data, p.request_bytes), Flow(control, control)))
        if self.mode.io_part.host_forwarding or self.inline_backend:
            return Work()
        guest, path, driver, cut = self.seg.tx(pk.tx_data)
        control = pk.tx - pk.tx_data
        dm = Work()
        if self.mode.io_part.register_emulation:
            dm = self.device_model_backend(self.cm.ev_mmio_user()) * (
                E1000_TX_EXITS_PER_PACKET[0] * (guest + control) + E1000_RX_EXITS_PER_INTERRUPT[0])
        return dm + self.backend_flows((Flow(path, driver, cut=cut, nbytes=p.response_bytes), Flow(control, control)))

    # -- the backend ---------------------------------------------------------------------------
    def backend_net(self, npkts: float, nbytes: float, direction: str) -> Work:
        """Backend CPU work for a batch of ``npkts`` single-frame packets carrying ``nbytes`` in ``direction``."""
        del direction  # a packet costs the same each way; segments and frames differ (backend_flows)
        return self.backend_flows((Flow(npkts, npkts, nbytes=nbytes),))

    def _path_packet(self) -> float:
        """Cycles of one packet through the backend's own path above the host NIC driver: the backend (netback,
        vhost and tap, QEMU's virtio or e1000 model and tap, the VSP and its switch, the hosted VMM's VMNet) and,
        where the host bridges it to the NIC with Linux's bridge, the bridge."""
        io = self.mode.io_part
        bridge = BRIDGE_PKT_INSTR[0] * self.cpi
        if io.split_driver:
            return self.sw("netback_pkt", "xen") + bridge
        if io.kernel_backend:
            return self.sw("vhost_pkt", "kvm") + bridge
        if io.virtio:  # a user-space virtio-net backend: the family's VMM (QEMU, a microVM's VMM)
            return self.sw(self.mode.family_part.virtio_paths[0]) + bridge
        if io.vmbus:
            return self.sw("vsp_pkt", "hyperv")
        if io.register_emulation:
            return self.sw("qemu_e1000_pkt", "kvm") + bridge
        if io.host_forwarding:  # the host receives: VMNet and its bridge, and the VMApp reads each packet
            return self.sw("host_net_pkt", "vmware") + self.hw.val("syscall_cycles")
        return 0.0

    def _driver_packet(self) -> float:
        """Cycles of one packet through the NIC driver of the backend's host (dom0, the host, the root partition):
        counted once, per packet the driver handles (a segment with TSO or LRO, a frame otherwise)."""
        return self.sw("host_driver_pkt", "kvm")

    @cached
    def backend_flows(self, flows: tuple[Flow, ...]) -> Work:
        """Backend CPU work for one batch made of ``flows`` (one wake-up and one notification for the batch), on
        the backend entity."""
        io = self.mode.io_part
        path = sum(f.path for f in flows)
        if path <= 0 or not (io.split_driver or io.kernel_backend or io.virtio or io.vmbus or io.register_emulation
                             or io.host_forwarding):
            return Work()
        label = backend_category(str(self.backend_name("net")))
        kb = sum(f.nbytes for f in flows) / 1024
        driver = sum(f.driver for f in flows)
        c = path * self._path_packet() + driver * self._driver_packet() \
            + sum(f.merged for f in flows) * GRO_FRAME_INSTR[0] * self.cpi \
            + sum(f.cut for f in flows) * GSO_FRAME_INSTR[0] * self.cpi
        if io.split_driver:
            c += self._wake_cycles() + kb * self.sw("grant_copy_kb", "xen") + self.sw("evtchn_send", "xen")
        elif io.kernel_backend or io.virtio:
            c += self._wake_cycles() + kb * self.sw("copy_kb", "kvm") + self.sw("irqfd", "kvm")
        elif io.vmbus:
            c += self.sw("vmbus_signal", "hyperv") + kb * self.sw("copy_kb", "kvm")
        else:
            c += kb * self.sw("copy_kb", "kvm")
            if io.register_emulation and self.mode.family_part.device_model == "ioreq":  # an ioreq to qemu-dm in dom0
                c += self.sw("ioreq", "xen")
        return Work.of(label, c + self.dma_cycles(sum(f.dmas for f in flows)))
