"""What a workload costs under a mode, as the host asks for it: :func:`costing_for` gives a plain mode
:class:`Costing`, a nested guest :class:`NestedCosting` and a container :class:`ContainerCosting`.

:class:`Costing` is a workload's units and wakeups (:mod:`kit.sim.unit_costs`), its network I/O
(:mod:`kit.sim.net_costs`) and its disk I/O (:mod:`kit.sim.disk_costs`). A nested guest's exits are already
reflected by the cost model (:mod:`kit.costs.nested`); what :class:`NestedCosting` adds is that the backends
serving it (its hypervisor's vhost thread or device model, L1) are themselves a guest of L0, so every batch they
move also pays L1's own exits to L0 and L0's backend (unless the device is assigned through both levels). A
container runs the native paths plus the kernel work of its network path and file system
(:mod:`kit.costs.containers`).
"""
from __future__ import annotations


from ..costs.containers import (BRIDGE_PKT_INSTR, CONNECTION_SETUP_INSTR, CONNTRACK_PKT_INSTR, COPY_UP_INSTR_PER_KB,
                                FORWARD_FILTER_PKT_INSTR, GLOBAL_NETFILTER_HOOKS_UNTIL, IP_FORWARD_PKT_INSTR,
                                IPTABLES_TABLE_INSTR, NAT_CONTAINER_TABLE_WALKS, NAT_HOST_TABLE_WALKS, NAT_PKT_INSTR,
                                OVERLAY_OP_INSTR, VETH_PKT_INSTR)
from ..costs.paths import Step
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode, hypervisor, l0_io
from ..inputs.workloads import Workload
from .disk_costs import DiskCosts
from .net_costs import Flow, NetCosts
from .work import CONTAINER_FS, CONTAINER_NET, Work

__all__ = ["costing_for", "Costing", "NestedCosting", "ContainerCosting"]


class Costing(NetCosts, DiskCosts):
    """Cached per-run costs of a workload's units, I/O batches and wakeups under a mode.

    The returned :class:`~kit.sim.work.Work` objects are immutable and shared by every request of the run.
    """


def costing_for(hw: Hardware, mode: Mode, wl: Workload) -> Costing:
    """The costing of ``wl`` under ``mode`` on ``hw``: plain, nested or container."""
    if mode.is_nested:
        return NestedCosting(hw, mode, wl)
    if mode.family_part.shares_host_kernel:
        return ContainerCosting(hw, mode, wl)
    return Costing(hw, mode, wl)


class NestedCosting(Costing):
    """A nested guest (L2): its backends run in L1, which is a guest of L0."""

    def __init__(self, hw: Hardware, mode: Mode, wl: Workload) -> None:
        super().__init__(hw, mode, wl)
        #: L1 as a guest of L0, with the I/O path L0 gives it
        self.l1_mode = hypervisor(str(mode.nested_part.l0_preset), hw, io=l0_io(mode))
        self.l1 = Costing(hw, self.l1_mode, wl)
        self._l0: dict = {}

    def _l0_net(self, flows: tuple[Flow, ...]) -> Work:
        """What L1 pays to move a batch (``flows``) through L0 (its kick and interrupt exits) and L0's backend
        work: L1 hands its own virtual NIC the packets its backend moved, and L0 moves them to the wire."""
        key = ("net", flows)
        if key not in self._l0:
            l1 = self.l1
            npkts, nbytes = sum(f.path for f in flows), sum(f.nbytes for f in flows)
            self._l0[key] = l1.tx_guest(npkts, nbytes) + l1.rx_guest() + l1.backend_flows(flows)
        return self._l0[key]

    def _l0_disk(self) -> Work:
        if "disk" not in self._l0:
            l1 = self.l1
            self._l0["disk"] = l1.disk_guest() + l1.notify() + l1.backend_disk()
        return self._l0["disk"]

    def backend_flows(self, flows: tuple[Flow, ...]) -> Work:
        w = super().backend_flows(flows)
        return w + self._l0_net(flows) if w.total > 0 else w

    def backend_disk(self) -> Work:
        w = super().backend_disk()
        return w + self._l0_disk() if w.total > 0 else w

    def tx_guest(self, npkts: float, nbytes: float, frames: float | None = None) -> Work:
        w = super().tx_guest(npkts, nbytes, frames)
        if self.inline_backend:  # the device model runs in the vCPU's thread in L1: its own I/O goes through L0
            frames = npkts if frames is None else frames
            w = w + self._l0_net((Flow(frames, frames, nbytes=nbytes),))
        return w

    def disk_guest(self) -> Work:
        w = super().disk_guest()
        if self.inline_backend and self.mode.io_part.register_emulation:
            w = w + self._l0_disk()
        return w


class ContainerCosting(Costing):
    """A container: native paths, plus the kernel work of its veth, bridge and NAT path and its overlay."""

    def __init__(self, hw: Hardware, mode: Mode, wl: Workload) -> None:
        super().__init__(hw, mode, wl)
        self._extra: dict = {}

    def _per_packet(self) -> Work:
        """Kernel work one packet pays on the container's network path (nothing with host networking)."""
        if "pkt" not in self._extra:
            io, cpi = self.mode.io_part, self.cpi
            steps: list[Step] = []
            if io.veth:
                steps += [Step("veth pair: hand the packet to the other namespace", "container-net",
                               VETH_PKT_INSTR[0] * cpi),
                          Step("Linux bridge: forward the frame", "container-net", BRIDGE_PKT_INSTR[0] * cpi)]
            if io.nat:
                steps += [Step("host IP layer: receive, route, forward, output to the bridge", "container-net",
                               IP_FORWARD_PKT_INSTR[0] * cpi),
                          Step("conntrack in the host's namespace: look the connection up, track its TCP state",
                               "container-net", CONNTRACK_PKT_INSTR[0] * cpi),
                          Step("NAT: rewrite address and port (DNAT in, its reverse out)", "container-net",
                               NAT_PKT_INSTR[0] * cpi),
                          Step("iptables FORWARD chain (Docker's rules)", "container-net",
                               FORWARD_FILTER_PKT_INSTR[0] * cpi),
                          Step("iptables tables on the host's other hooks", "container-net",
                               NAT_HOST_TABLE_WALKS[0] * IPTABLES_TABLE_INSTR[0] * cpi)]
                if self.hw.year < GLOBAL_NETFILTER_HOOKS_UNTIL[0]:  # the hooks run in the container's namespace too
                    steps += [Step("conntrack and iptables tables in the container's namespace", "container-net",
                                   (CONNTRACK_PKT_INSTR[0] + NAT_CONTAINER_TABLE_WALKS[0] * IPTABLES_TABLE_INSTR[0])
                                   * cpi)]
            self._extra["pkt"] = self.work(steps)
        return self._extra["pkt"]

    def unit(self, kb: float = 0.0, packets: float = 1.0) -> Work:
        key = ("unit", kb, packets)
        if key not in self._extra:
            w = super().unit(kb, packets)
            u, cpi = self.wl.per_unit, self.cpi
            if self.mode.io_part.nat and u.connections:
                w = w + Work.of(CONTAINER_NET, u.connections * CONNECTION_SETUP_INSTR[0] * cpi)
            if self.mode.storage_part.union_layers and u.copy_up_kb:
                w = w + Work.of(CONTAINER_FS, u.copy_up_kb * COPY_UP_INSTR_PER_KB[0] * cpi)
            self._extra[key] = w
        return self._extra[key]

    def stream_guest(self, direction: str, npkts: int) -> Work:
        """The native stream, plus the container's network path for every packet that crosses it: the data as the
        stack handles it (segments where offloads keep them whole through veth and the bridge) and the ACKs."""
        key = ("stream", direction, npkts)
        if key not in self._extra:
            if direction == "tx":
                data, acks = self._sends(npkts).packets, self._far_end_acks(npkts)
            else:
                data = self._receives(npkts).packets
                acks = self._acks(data, npkts)
            self._extra[key] = super().stream_guest(direction, npkts) + self._per_packet() * (data + acks)
        return self._extra[key]

    def request_guest(self) -> Work:
        """The native request, plus the container's network path for each of its packets each way."""
        if "request" not in self._extra:
            pk = self.request_packets()
            rx = self._receives(pk.rx_data).packets + pk.rx - pk.rx_data
            tx = self._sends(pk.tx_data).packets + pk.tx - pk.tx_data
            self._extra["request"] = super().request_guest() + self._per_packet() * (rx + tx)
        return self._extra["request"]

    def disk_guest(self) -> Work:
        w = super().disk_guest()
        if self.mode.storage_part.union_layers:
            w = w + Work.of(CONTAINER_FS, OVERLAY_OP_INSTR[0] * self.cpi)
        return w
