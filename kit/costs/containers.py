"""Containers as the reference point (Felter et al., ISPASS 2015): what a container adds to native.

A container is a group of processes in namespaces and cgroups on the host kernel: its CPU and memory paths are
native (no exits, one-dimensional page walks). What it adds is kernel work on two paths:

- network: unless it shares the host's stack (``--net=host``), each packet crosses a veth pair (the transmit of
  one end re-enters the receive path of the other namespace) and the host's Linux bridge; with Docker's port
  mapping, each packet is also tracked by conntrack, rewritten by NAT and filtered by the FORWARD chain that
  br_netfilter applies to bridged traffic, and each new connection is set up in conntrack and matched against
  the nat table's rules;
- storage: files in the image live on a union file system (overlayfs, AUFS) that resolves each operation
  through its layers and copies a lower file up to the writable layer on its first write; a volume (a
  bind-mounted host directory) is the native path.

CPU limits are cgroup bandwidth control (a quota per period), the same mechanism as a capped VM under CFS
(``--set caps=...``, :class:`kit.sim.policies.CfsPolicy`). The constants are instructions, run at the
profile's ``kernel_cpi``.
"""
from __future__ import annotations

__all__ = ["VETH_PKT_INSTR", "BRIDGE_PKT_INSTR", "CONNTRACK_PKT_INSTR", "NAT_PKT_INSTR", "FORWARD_FILTER_PKT_INSTR",
           "CONNECTION_SETUP_INSTR", "OVERLAY_OP_INSTR", "COPY_UP_INSTR_PER_KB"]

VETH_PKT_INSTR = (800, "estimated, because a veth transmit hands the packet to its peer (veth_xmit, "
                       "dev_forward_skb, netif_rx) and the backlog softirq re-enters the receive path in the other "
                       "namespace, under a thousand instructions; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
BRIDGE_PKT_INSTR = (1200, "estimated, because the Linux bridge looks the destination MAC up in its forwarding "
                          "database and forwards the frame (br_handle_frame, br_forward), about a thousand "
                          "instructions; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
CONNTRACK_PKT_INSTR = (900, "estimated, because nf_conntrack_in hashes the packet's tuple, finds its connection "
                            "and updates the TCP state under a lock, on every packet; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
NAT_PKT_INSTR = (400, "estimated, because nf_nat_packet rewrites the address and port of a tracked connection "
                      "and updates the checksums incrementally; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
FORWARD_FILTER_PKT_INSTR = (600, "estimated, because br_netfilter makes bridged packets traverse iptables, and "
                                 "Docker's FORWARD chain holds a handful of rules; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
CONNECTION_SETUP_INSTR = (6000, "estimated, because the first packet of a connection allocates and confirms a "
                                "conntrack entry and walks the nat table's PREROUTING and DOCKER chains to find its "
                                "DNAT rule; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
OVERLAY_OP_INSTR = (1500, "estimated, because a union file system resolves each operation through its layers and "
                          "then calls the underlying file system (overlayfs's ovl_* wrappers, AUFS's branch "
                          "lookups), about a thousand instructions more per file operation; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
COPY_UP_INSTR_PER_KB = (250, "estimated, because copy-up reads the lower file and writes the upper one through the "
                             "page cache, two copies of each KiB at about 8 bytes per instruction, plus the file "
                             "systems' work; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
