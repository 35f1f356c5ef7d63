"""The host's topology: sockets, cores, hardware threads and memory nodes, and where VMs run and keep memory.

Logical CPUs are numbered as Linux numbers them on x86 servers: the first hardware thread of every core of every
socket, socket by socket, then the second threads (``cpu = thread * sockets * cores + socket * cores + core``). A
host that offers ``pcpus`` logical CPUs offers the first ``pcpus`` of that order, so that a host smaller than the
machine fills cores before it doubles up on their siblings, as Linux's scheduler does. With SMT off only the
first thread of each core exists.

Memory nodes: a socket with an integrated memory controller is one node; a front-side-bus machine has one node for
all its sockets (``numa_nodes``). A VM's memory lives on one node, or is spread over several when it is larger
than a node or when nothing places it; its vCPUs run on the CPUs their pool gives them. The share of a vCPU's
memory references that cross to another socket's node (:meth:`Topology.remote_share`) is what NUMA costs it: the
remote latency of the profile, and the interconnect's bandwidth (:mod:`kit.sim.memory`).

Which references stay local depends on whose memory they touch. A thread's own data (a STREAM thread's part of the
arrays) is placed where it is first touched: a native kernel allocates a page on the node of the CPU that faults
it (Linux's default local allocation, Documentation/vm/numa_memory_policy.txt), a guest with vNUMA does the same
inside the VM, and KVM's host does it for the guest (:attr:`kit.inputs.parts.FamilyPart.first_touch_memory`), so
those references stay local while the vCPU stays on its node. Memory every thread shares (HPCC RandomAccess's
table: the workload's ``shared_refs``) is spread over the nodes it was allocated on, and its references go to each
node in that proportion, natively as in any VM. A VM whose memory its hypervisor allocates up front (Xen's domain
builder, without vNUMA) spreads even its threads' own data over the nodes it spans.

Placement: :func:`partition_for` divides a host's CPUs into pools (a pool per pinned CPU, one per NUMA node that VMs
float on, the rest), and :func:`place_vcpus` says for every vCPU where it runs and where its memory lives, which
the memory system (:func:`kit.sim.memory.contention_for`) turns into co-runners' rate effects.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import HvkitError
from ..inputs.hardware import Hardware
from ..inputs.resolve import VmPlan

__all__ = ["Topology", "Cpu", "VcpuPlacement", "partition_for", "place_vcpus"]


@dataclass(frozen=True)
class Cpu:
    """A logical CPU: its socket, its core within the socket and its hardware thread."""

    index: int
    socket: int
    core: int
    thread: int


class Topology:
    """The logical CPUs a host offers and its memory nodes."""

    def __init__(self, hw: Hardware, pcpus: int | None = None, smt: bool = True) -> None:
        self.sockets = int(hw.val("sockets"))
        self.cores = int(hw.val("cores_per_socket"))
        self.threads = int(hw.val("threads_per_core")) if smt else 1
        total = self.sockets * self.cores * self.threads
        self.n = int(pcpus or total)
        nodes = hw.opt("numa_nodes")
        self.nodes = int(nodes) if nodes else 1
        self.modelled = nodes is not None
        per_thread = self.sockets * self.cores
        self.cpus: list[Cpu] = []
        for i in range(self.n):
            j = i % total  # a host offering more CPUs than the machine has wraps (a what-if)
            thread, rest = divmod(j, per_thread)
            socket, core = divmod(rest, self.cores)
            self.cpus.append(Cpu(i, socket, core, thread))
        #: the sibling of each logical CPU the host offers (None: its core's other thread is not offered)
        by_core: dict[tuple[int, int], list[int]] = {}
        for c in self.cpus:
            by_core.setdefault((c.socket, c.core), []).append(c.index)
        self.sibling: list[int | None] = [None] * self.n
        for members in by_core.values():
            if len(members) == 2:
                a, b = members
                self.sibling[a], self.sibling[b] = b, a

    def node_of_socket(self, socket: int) -> int:
        return socket * self.nodes // self.sockets

    def node_of_cpu(self, cpu: int) -> int:
        return self.node_of_socket(self.cpus[cpu % self.n].socket)

    def cpus_of_node(self, node: int) -> list[int]:
        """The logical CPUs the host offers on memory node ``node``."""
        if not 0 <= node < self.nodes:
            raise HvkitError("no such NUMA node", field="numa_node", value=node,
                             allowed=f"0 to {self.nodes - 1}" if self.nodes > 1 else "0 (one memory node)")
        return [c.index for c in self.cpus if self.node_of_socket(c.socket) == node]

    def node_shares(self, cpus: Sequence[int]) -> list[float]:
        """How a set of CPUs (a pool) spreads over the memory nodes."""
        out = [0.0] * self.nodes
        for c in cpus:
            out[self.node_of_cpu(c)] += 1.0 / len(cpus)
        return out

    def memory_nodes(self, cpu_shares: Sequence[float], node: int | None, vnuma: bool,
                     memory_mib: float, node_mib: float) -> list[float]:
        """Where a VM's memory lives, as shares per node.

        ``node`` places it on one node, spilling over to the others when it is larger than a node; without a node
        it is spread as its vCPUs are (first touch from vCPUs that float over those nodes).
        """
        if self.nodes == 1:
            return [1.0]
        if node is None:
            return list(cpu_shares)
        out = [0.0] * self.nodes
        if memory_mib <= node_mib or node_mib <= 0:
            out[node] = 1.0
            return out
        out[node] = node_mib / memory_mib  # the rest spills over the other nodes evenly
        rest = (1.0 - out[node]) / (self.nodes - 1)
        for k in range(self.nodes):
            if k != node:
                out[k] = rest
        return out

    def remote_share(self, cpu_node: int, memory: Sequence[float], private_local: bool,
                     shared: float = 0.0) -> float:
        """The share of references from a vCPU on ``cpu_node`` that go to another node's memory.

        ``private_local``: each thread's own memory is on the thread's node as far as the VM has memory there (first
        touch, natively, in a vNUMA guest or by KVM's host); ``shared`` of the references go to memory every thread
        shares, spread as the VM's memory is.
        """
        if self.nodes == 1:
            return 0.0
        spread = 1.0 - memory[cpu_node]
        private = 0.0 if private_local and memory[cpu_node] > 0 else spread
        return shared * spread + (1.0 - shared) * private

    def reference_shares(self, cpu_node: int, memory: Sequence[float], private_local: bool,
                         shared: float = 0.0) -> list[float]:
        """How the references of a vCPU on ``cpu_node`` spread over the memory nodes (the split of
        :meth:`remote_share` node by node)."""
        private = ([1.0 if n == cpu_node else 0.0 for n in range(self.nodes)]
                   if private_local and memory[cpu_node] > 0 else list(memory))
        return [shared * memory[n] + (1.0 - shared) * private[n] for n in range(self.nodes)]


def partition_for(plans: tuple[VmPlan, ...], top: Topology) -> tuple[list[tuple[int, ...]], list[list[int]], int]:
    """The pools of a host whose VMs are placed: a pool per pinned CPU, one per NUMA node that VMs float on, and
    the rest of the CPUs, where unplaced VMs and the backends run. Returns the pools' CPUs, the pool of each vCPU of
    each plan, and the backends' pool."""
    n = top.n
    partition: list[tuple[int, ...]] = []
    index: dict[tuple[int, ...], int] = {}
    claimed: dict[int, str] = {}

    def pool(cpus: tuple[int, ...], who: str) -> int:
        if cpus in index:
            return index[cpus]
        for c in cpus:
            if c in claimed:
                raise HvkitError("pinned CPUs and NUMA-node placements overlap", field=f"vms.{who}",
                                 value=f"CPU {c} (also placed by {claimed[c]})",
                                 allowed="disjoint sets: pin to CPUs outside the nodes other VMs float on")
        for c in cpus:
            claimed[c] = who
        index[cpus] = len(partition)
        partition.append(cpus)
        return index[cpus]

    per_plan: list[list[int] | None] = []
    for p in plans:
        if p.pins is not None:
            per_plan.append([pool((c % n,), p.name) for c in p.pins])
        elif p.cpu_node is not None:
            per_plan.append([pool(tuple(top.cpus_of_node(p.cpu_node)), p.name)] * p.vcpus)
        else:
            per_plan.append(None)
    rest = tuple(c for c in range(n) if c not in claimed)
    if rest:
        rest_pool = len(partition)
        partition.append(rest)
    else:
        rest_pool = len(partition) - 1  # every CPU is placed: backends share the last pool
    out = [pp if pp is not None else [rest_pool] * p.vcpus for p, pp in zip(plans, per_plan)]
    if not rest and any(pp is None for pp in per_plan):
        raise HvkitError("every CPU is pinned or placed, none is left for the VMs that float",
                         field="vms", value=[p.name for p, pp in zip(plans, per_plan) if pp is None],
                         allowed="leave CPUs unplaced, or pin those VMs too")
    return partition, out, rest_pool


@dataclass(frozen=True)
class VcpuPlacement:
    """Where one vCPU of VM ``vm`` runs (its pool, as shares of sockets and of memory nodes), where the VM's memory
    lives (shares per node), whether each thread's own memory is on its thread's node (``private_local``), and
    whether the memory its threads share is too (``shared_local``: a VM that fits a node, whose memory first touch
    and NUMA balancing keep beside its vCPUs, shared or not)."""

    vm: int
    pool: int
    sockets: tuple[float, ...]
    cpu_nodes: tuple[float, ...]
    memory: tuple[float, ...]
    private_local: bool
    shared_local: bool = False


def place_vcpus(top: Topology, hw: Hardware, plans: Sequence[VmPlan], pool_cpus: Sequence[tuple[int, ...]],
                vcpu_pools: list[list[int]] | None, pinned: bool, native: bool,
                first_touch: bool = False) -> list[VcpuPlacement]:
    """The placement of every vCPU of ``plans``, VM by VM.

    A vCPU runs on its pool (``vcpu_pools``, or its pinned CPU, or the host's one pool). A VM placed on a node keeps
    its memory there (spilling over when it is larger than the node); one that spans nodes (more vCPUs than a node
    has CPUs, or more memory than a node holds) has its memory spread as its vCPUs are; one that fits a node stays
    local (first touch and automatic NUMA balancing). Native processes and containers see the host's nodes, as a
    guest with vNUMA does; with ``first_touch`` (a host that allocates a guest's pages when its vCPUs first touch
    them, :attr:`kit.inputs.parts.FamilyPart.first_touch_memory`) a spanning VM's threads find their own data on
    their node too, as long as each vCPU has a CPU of its own to stay on.
    """
    node_mib = hw.val("memory_gib") * 1024.0 / top.nodes
    out = []
    for k, p in enumerate(plans):
        if vcpu_pools is not None:
            pools = vcpu_pools[k]
        elif pinned and p.pins is not None:
            pools = [c % len(pool_cpus) for c in p.pins]
        else:
            pools = [0] * p.vcpus
        for j in range(p.vcpus):
            pool = pools[j]
            cpus = pool_cpus[pool]
            sockets = [0.0] * top.sockets
            for c in cpus:
                sockets[top.cpus[c % top.n].socket] += 1.0 / len(cpus)
            cpu_nodes = tuple(top.node_shares(cpus))
            mem_mib = p.memory_mib if p.memory_mib is not None else p.workload.footprint_mib
            vm_cpus = sorted({c for q in pools for c in pool_cpus[q]})
            vm_nodes = top.node_shares(vm_cpus)
            spans = top.nodes > 1 and (p.vcpus > len(top.cpus_of_node(0)) or mem_mib > node_mib)
            fits = False
            if p.node is not None:
                memory = tuple(top.memory_nodes(vm_nodes, p.node, p.vnuma, mem_mib, node_mib))
                local = p.vnuma or native
            elif spans:
                memory = tuple(vm_nodes)
                local = p.vnuma or native or (first_touch and p.vcpus <= len(vm_cpus))
            else:  # first touch and automatic NUMA balancing keep a VM that fits a node local, all its memory
                memory = cpu_nodes
                local = fits = True
            out.append(VcpuPlacement(k, pool, tuple(sockets), cpu_nodes, memory, local, fits))
    return out
