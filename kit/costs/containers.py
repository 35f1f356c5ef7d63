"""Containers as the reference point (Felter et al., ISPASS 2015): what a container adds to native.

A container is a group of processes in namespaces and cgroups on the host kernel: its CPU and memory paths are
native (no exits, one-dimensional page walks). What it adds is kernel work on two paths:

- network: unless it shares the host's stack (``--net=host``), each packet crosses a veth pair (the transmit of
  one end re-enters the receive path of the other namespace) and the host's Linux bridge. With Docker's port
  mapping (NAT) the host also routes each packet between its NIC and the bridge: a second pass of the IP layer
  (receive, route lookup, forward, output), with netfilter on every hook it passes, both ways: conntrack looks the
  connection up and tracks its TCP state in the host's namespace and again in the container's (Linux before 4.10
  registered netfilter's hooks for every namespace at once), NAT rewrites the destination of requests (DNAT) and
  the source of replies (the reverse mapping), the FORWARD chain filters through Docker's rules, and every
  iptables table on those hooks is walked; each new connection is set up in conntrack and matched against the nat
  table's rules;
- storage: files in the image live on a union file system (overlayfs, AUFS) that resolves each operation
  through its layers and copies a lower file up to the writable layer on its first write; a volume (a
  bind-mounted host directory) is the native path.

CPU limits are cgroup bandwidth control (a quota per period), the same mechanism as a capped VM under CFS
(``--set caps=...``, :class:`kit.sim.policies.CfsPolicy`). The constants are instructions, run at the
profile's ``kernel_cpi``.
"""
from __future__ import annotations

__all__ = ["VETH_PKT_INSTR", "BRIDGE_PKT_INSTR", "CONNTRACK_PKT_INSTR", "NAT_PKT_INSTR", "FORWARD_FILTER_PKT_INSTR",
           "IP_FORWARD_PKT_INSTR", "IPTABLES_TABLE_INSTR", "GLOBAL_NETFILTER_HOOKS_UNTIL", "NAT_HOST_TABLE_WALKS",
           "NAT_CONTAINER_TABLE_WALKS",
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
FORWARD_FILTER_PKT_INSTR = (600, "estimated, because a routed packet traverses the filter table's FORWARD chain, "
                                 "where Docker's rules (DOCKER, DOCKER-ISOLATION, the established-connection accept) "
                                 "are matched one by one; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
IP_FORWARD_PKT_INSTR = (2500, "estimated, because routing a packet through the host (ip_rcv, the FIB lookup of "
                              "ip_route_input, ip_forward, ip_output and the neighbour output to the bridge) is the IP "
                              "layer of a receive and a send, about 2.5 k instructions; plausible 1500-4000 because the "
                              "IP layer's path read from the code may be off by half either way")
IPTABLES_TABLE_INSTR = (200, "estimated, because walking one iptables table on a hook (ipt_do_table: the hook's "
                             "chain, its policy, the standard target) costs a couple of hundred instructions even "
                             "when no rule matches; plausible 100-400 because a table's walk read from the code may be off "
                             "by a factor of two either way")
GLOBAL_NETFILTER_HOOKS_UNTIL = (2017, "Linux before 4.10 (February 2017) registered netfilter's hooks for every "
                                       "network namespace at once (per-namespace hooks came with Florian Westphal's "
                                       "series in 4.10), so a loaded nf_conntrack and iptables also ran in the "
                                       "container's namespace; the kit takes a profile's host to run a kernel of its "
                                       "year")
NAT_HOST_TABLE_WALKS = (6, "the iptables tables a routed packet walks in the host's namespace besides the FORWARD "
                           "filter: raw, mangle and nat on PREROUTING, mangle on FORWARD, mangle and nat on "
                           "POSTROUTING")
NAT_CONTAINER_TABLE_WALKS = (4, "the tables a packet walks in the container's namespace where the hooks are global: "
                                "raw, mangle and nat on PREROUTING and mangle on INPUT (or raw, mangle and nat on "
                                "OUTPUT and mangle on POSTROUTING the other way)")
CONNECTION_SETUP_INSTR = (6000, "estimated, because the first packet of a connection allocates and confirms a "
                                "conntrack entry and walks the nat table's PREROUTING and DOCKER chains to find its "
                                "DNAT rule; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
OVERLAY_OP_INSTR = (1500, "estimated, because a union file system resolves each operation through its layers and "
                          "then calls the underlying file system (overlayfs's ovl_* wrappers, AUFS's branch "
                          "lookups), about a thousand instructions more per file operation; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
COPY_UP_INSTR_PER_KB = (250, "estimated, because copy-up reads the lower file and writes the upper one through the "
                             "page cache, two copies of each KiB at about 8 bytes per instruction, plus the file "
                             "systems' work; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
