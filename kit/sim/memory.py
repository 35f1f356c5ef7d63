"""The shared memory system: what co-runners cost each other through DRAM bandwidth, the last-level cache, NUMA
and SMT siblings.

These are rate effects: while the set of running entities stays the same, each runs at a constant speed, and the
speed changes only when an entity starts or stops wanting a CPU. :class:`Contention` keeps, per memory node and
per pool of CPUs, how many entities of each class (a VM's workload on a pool) are active, and when an entity
takes its next piece of work (:meth:`Contention.adjust`), adds to it what the current co-runners cost per unit of
work. Both engines go through the same hook (a runner hands out every item), so the fluid and the discrete
engine see the same rates.

Per unit of work a class has ``C`` cycles that do not wait for memory and ``N`` DRAM lines fetched ``mlp`` at a
time (``random_refs + dram_lines`` of its workload); ``R`` references (``llc_refs``) hit the last-level cache
while its cache working set (``cache_mib``) fits there. Then:

- **Bandwidth and loaded latency.** Each memory node sustains ``MEM_EFFICIENCY`` of its channels' peak
  (``mem_channels x mem_mts x 8`` bytes, or the front-side bus where that is lower). Utilization ``rho`` is the
  demand over that; a line then takes ``L0 * g(rho)``, ``g(rho) = 1 + K rho^2 / (1 - rho)`` (``LOADED_LATENCY``).
  Demand falls as latency rises (a unit takes longer), so the node settles at the fixed point: a single stream
  sees its own idle latency, 64 streams saturate the node near its sustainable peak and each gets its share.
- **Last-level cache.** Active classes on a socket share its LLC in proportion to their working sets (each up to
  the whole cache; a class that streams DRAM lines occupies what it streams through); a class whose share is below
  its working set misses on ``1 - share/ws`` of its ``R`` references, which become DRAM lines (and bandwidth)
  instead of LLC hits.
- **NUMA.** A vCPU's references to another node's memory (:meth:`kit.sim.numa.Topology.remote_share`: its
  threads' own data where first touch put it, the memory all threads share where the VM's memory is) take the
  profile's remote latency, whose interconnect part grows with the link's utilization (``numa_link_gbs``).
- **SMT.** Two busy hardware threads of one core share its execution resources: together they do
  ``smt_yield`` of one thread's work, so the non-memory cycles of each stretch by ``2 / smt_yield`` while its
  sibling is busy. Entities fill separate cores before siblings (Linux's scheduler does).

The extra cycles are the difference from the same class running alone, at full speed, with local memory and an
idle sibling, which is how its workload was characterized: a VM alone on a host gets exactly nothing added, and
the ``memory contention``, ``NUMA remote access`` and ``SMT sibling`` categories say where the rest went.
A profile without the parameters of a mechanism runs without it (``Contention.notes`` says which).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..inputs.hardware import Hardware
from .entities import Item
from .numa import Topology, VcpuPlacement
from .work import MEMORY_STALLS, Work

__all__ = ["Contention", "ClassCosts", "contention_for", "class_costs", "MEM_EFFICIENCY", "LOADED_LATENCY",
           "MEMORY_CONTENTION", "NUMA_REMOTE", "SMT_SIBLING", "LINE_BYTES", "EXTRA_QUANTUM"]

#: Categories of the extra cycles
MEMORY_CONTENTION = "memory contention"
NUMA_REMOTE = "NUMA remote access"
SMT_SIBLING = "SMT sibling"
LINE_BYTES = 64
#: Share of the DRAM channels' peak that a node sustains
MEM_EFFICIENCY = (0.8, "estimated, because STREAM triad on server sockets reaches about 75-85% of the channels' "
                       "theoretical peak (McCalpin, STREAM benchmark results; refresh, bus turnarounds and bank "
                       "conflicts take the rest); plausible 0.75-0.85 because STREAM triad on server sockets reaches 75-85% of the channels' peak")
#: Loaded-latency curve: a DRAM line takes L0 * (1 + K rho^2 / (1 - rho)) at utilization rho of the sustainable peak
LOADED_LATENCY = (0.25, "estimated, because loaded-latency curves measured with Intel's Memory Latency Checker stay "
                        "within 10-20% of idle latency up to about half the sustainable bandwidth and rise steeply "
                        "as it is approached; K rho^2/(1-rho) with K = 0.25 gives 1.1x at 0.5, 1.8x at 0.8 and "
                        "3x at 0.9; plausible 0.1-0.5 because loaded-latency curves differ between memory controllers and their queue policies")
#: Extra cycles are quantized to this share of a unit, so that a run shares a bounded number of Work objects
EXTRA_QUANTUM = 1e-4
_RHO_MAX = 1.0 - 1e-9


def loaded(rho: float) -> float:
    """Latency multiplier at utilization ``rho``."""
    rho = min(max(rho, 0.0), _RHO_MAX)
    return 1.0 + LOADED_LATENCY[0] * rho * rho / (1.0 - rho)


@dataclass(frozen=True)
class ClassCosts:
    """A class's memory behaviour per unit of work (cycles and lines) and where it runs and keeps memory."""

    unit: Work
    compute: float  # C: cycles that do not wait for DRAM
    lines: float  # N: DRAM lines per unit
    mlp: float
    llc_refs: float
    cache_mib: float
    #: what it keeps in the last-level cache: its cache working set, or what it streams through
    llc_ws: float
    pool: int
    #: share of the pool's CPUs on each socket, and on each memory node
    sockets: tuple[float, ...]
    cpu_nodes: tuple[float, ...]
    #: share of the VM's memory on each node
    memory: tuple[float, ...]
    #: each thread's own memory is on its thread's node (:class:`kit.sim.numa.VcpuPlacement`)
    private_local: bool
    #: share of its DRAM references that go to memory all its threads share (the workload's ``shared_refs``)
    shared: float = 0.0


class Contention:
    """Co-runners' rate effects on a host (see the module docstring)."""

    def __init__(self, hw: Hardware, topology: Topology, freq: float, pools: list[tuple[int, ...]]) -> None:
        self.hw, self.top, self.freq = hw, topology, freq
        self.pools = pools
        self.notes: list[str] = []
        self.classes: list[ClassCosts] = []
        self._class_of: dict[Any, int] = {}
        self._by_ident: dict[tuple, int] = {}
        self.active: list[int] = []  # per class
        self.pool_active = [0] * len(pools)
        self._memo: dict[tuple, list[tuple[int, int, int]]] = {}
        self._works: dict[tuple, tuple[Work, Work]] = {}
        self._levels: list[tuple[int, int, int]] = []
        self._dirty = True
        l0 = hw.val("mem_latency_ns")
        self.l0 = l0
        ch, mts, fsb = hw.opt("mem_channels"), hw.opt("mem_mts"), hw.opt("fsb_gbs")
        if ch is None or mts is None:
            self.node_bw = math.inf
            self.notes.append(f"{hw.id} gives no mem_channels/mem_mts: no memory-bandwidth ceiling")
        else:
            peak = ch * mts * 1e6 * 8
            if fsb:
                peak = min(peak, fsb * 1e9 * topology.sockets / topology.nodes)
            self.node_bw = peak * MEM_EFFICIENCY[0]
        link = hw.opt("numa_link_gbs")
        self.link_bw = link * 1e9 * MEM_EFFICIENCY[0] if link else math.inf
        lr = hw.opt("remote_latency_ns")
        self.lr = lr if lr is not None else l0
        llc = hw.opt("llc_mib")
        self.llc = llc if llc is not None else 0.0
        self.llc_lat = hw.opt("llc_latency_ns") or 0.0
        if llc is None:
            self.notes.append(f"{hw.id} gives no llc_mib: no last-level-cache sharing")
        y = hw.opt("smt_yield")
        self.smt = y if y is not None else 2.0
        if y is None and any(s is not None for s in topology.sibling):
            self.notes.append(f"{hw.id} gives no smt_yield: SMT siblings count as full cores")
        # per pool: cores with both threads in the pool, CPUs whose sibling is in another pool
        self._pool_shape = []
        owner = {c: p for p, cpus in enumerate(pools) for c in cpus}
        for p, cpus in enumerate(pools):
            inside = set(cpus)
            both = sum(1 for c in cpus if topology.sibling[c % topology.n] in inside) // 2
            sibs = [topology.sibling[c % topology.n] for c in cpus]
            other = [owner.get(sib) for sib in sibs if sib is not None and sib not in inside]
            single = len(cpus) - 2 * both
            self._pool_shape.append((both, single, other))
        self.has_smt = self.smt < 2.0 and any(
            shape[0] > 0 or shape[2] for shape in self._pool_shape)

    # -- classes -----------------------------------------------------------------------------------------
    def register(self, key: Any, costs: ClassCosts) -> int:
        """The index of a class (registered once per key). Keys whose costs are identical (VMs of one workload
        placed alike) share one class: every sum over classes is linear in their active counts, so the effects are
        the same, and the fixed point is solved over distinct classes (hundreds of identical VMs cost one)."""
        if key not in self._class_of:
            ident = (costs.unit.total, costs.compute, costs.lines, costs.mlp, costs.llc_refs, costs.cache_mib,
                     costs.llc_ws, costs.pool, costs.sockets, costs.cpu_nodes, costs.memory, costs.private_local,
                     costs.shared)
            idx = self._by_ident.get(ident)
            if idx is None:
                idx = self._by_ident[ident] = len(self.classes)
                self.classes.append(costs)
                self.active.append(0)
                self._levels.append((0, 0, 0))
            self._class_of[key] = idx
        return self._class_of[key]

    @property
    def matters(self) -> bool:
        """Whether any co-runner effect can be non-zero on this host (else the hooks are left out)."""
        memory = sum(1 for c in self.classes if c.lines > 0 or c.llc_refs > 0)
        remote = any(self._remote_share(c) > 0 and c.lines > 0 for c in self.classes)
        return self.has_smt or memory > 0 and (remote or len(self.classes) > 0)

    def _remote_share(self, c: ClassCosts) -> float:
        return sum(c.cpu_nodes[k] * self.top.remote_share(k, c.memory, c.private_local, c.shared)
                   for k in range(self.top.nodes))

    # -- state changes ---------------------------------------------------------------------------------------
    def start(self, cls: int) -> None:
        self.active[cls] += 1
        self.pool_active[self.classes[cls].pool] += 1
        self._dirty = True

    def stop(self, cls: int) -> None:
        self.active[cls] -= 1
        self.pool_active[self.classes[cls].pool] -= 1
        self._dirty = True

    # -- the extra work of an item --------------------------------------------------------------------------
    def adjust(self, cls: int, item: Item) -> Item:
        """``item`` with the extra cycles its units cost under the current co-runners (the same item if none)."""
        if item.units <= 0:
            return item
        if self._dirty:
            self._refresh()
        level = self._levels[cls]
        if level == (0, 0, 0):
            return item
        # keyed by the work's identity; the entry holds the work itself, so that its id cannot be reused by another
        # object while the entry exists (a bare id once returned another item's extra work: results then depended
        # on the allocator, and so on the process's hash seed)
        key = (cls, level, item.units, id(item.work))
        hit = self._works.get(key)
        w = hit[1] if hit is not None and hit[0] is item.work else None
        if w is None:
            c = self.classes[cls]
            q = EXTRA_QUANTUM * c.unit.total * item.units / item.scale
            extra = {}
            for cat, n in zip((MEMORY_CONTENTION, NUMA_REMOTE, SMT_SIBLING), level):
                if n:
                    extra[cat] = n * q
            w = item.work + Work(extra)
            if len(self._works) < 4096:
                self._works[key] = (item.work, w)
        return Item(w, item.done, item.units, item.then, item.scale)

    def _refresh(self) -> None:
        self._dirty = False
        sig = tuple(self.active)
        hit = self._memo.get(sig)
        if hit is None:
            hit = self._memo[sig] = self._solve(self.active)
            if len(self._memo) > 100_000:
                self._memo.clear()
        self._levels = hit

    def levels(self) -> list[tuple[int, int, int]]:
        """The current extra cycles per unit of each class, in units of ``EXTRA_QUANTUM`` of its unit (contention,
        NUMA, SMT)."""
        if self._dirty:
            self._refresh()
        return list(self._levels)

    def steady_extras(self, counts: list[int]) -> list[tuple[float, float, float]]:
        """Extra cycles per unit of each class when ``counts`` entities of each are active (for closed forms)."""
        return [tuple(self._cycles(c, lv) for lv in level)  # type: ignore[misc]
                for c, level in zip(self.classes, self._solve(counts))]

    @staticmethod
    def _cycles(c: ClassCosts, n: int) -> float:
        return n * EXTRA_QUANTUM * c.unit.total

    # -- the fixed point ----------------------------------------------------------------------------------------
    def _running(self, counts: list[int]) -> tuple[list[float], list[float]]:
        """Expected running entities per class, and the probability that a running entity of each pool has a busy
        SMT sibling."""
        per_pool = [0] * len(self.pools)
        for cls, n in enumerate(counts):
            per_pool[self.classes[cls].pool] += n
        running = []
        for cls, n in enumerate(counts):
            p = self.classes[cls].pool
            cap = len(self.pools[p])
            running.append(n * min(1.0, cap / per_pool[p]) if n else 0.0)
        occ = [min(per_pool[p], len(cpus)) / len(cpus) for p, cpus in enumerate(self.pools)]
        paired = []
        for p, (both, single, other) in enumerate(self._pool_shape):
            k = min(per_pool[p], len(self.pools[p]))
            if k <= 0 or self.smt >= 2.0:
                paired.append(0.0)
                continue
            spread = both + single  # one thread per core first
            inside = 2 * max(0, k - spread)
            on_single = min(k, spread) * (single / spread if spread else 0.0)
            share_other = (sum(occ[q] if q is not None else 0.0 for q in other) / len(other)) if other else 0.0
            # CPUs whose sibling belongs to another pool are busy with that pool's occupancy
            paired.append(min(1.0, (inside + on_single * share_other) / k))
        return running, paired

    def _solve(self, counts: list[int]) -> list[tuple[int, int, int]]:
        """The extra cycles per unit of each class with ``counts`` entities of each active, in quanta (contention,
        NUMA, SMT): the LLC's shares, then the nodes' and the link's utilization at their fixed point, then the
        split of each class's time beyond its time alone."""
        running, paired = self._running(counts)
        extra_lines, llc_hit = self._llc_misses(running)
        smt_factor = [(2.0 / self.smt - 1.0) * paired[c.pool] for c in self.classes]
        rho, rho_link = self._utilization(running, extra_lines, llc_hit, smt_factor)
        t_unit, lat_avg, _ = self._unit_times(rho, rho_link, running, extra_lines, llc_hit, smt_factor)
        return self._split(rho, t_unit, lat_avg, extra_lines, smt_factor)

    def _llc_misses(self, running: list[float]) -> tuple[list[float], list[float]]:
        """Per class, the extra DRAM lines per unit its share of the last-level cache costs it (beyond its misses
        alone), and the LLC hit latency those lines no longer pay."""
        sockets = self.top.sockets
        ws_socket = [0.0] * sockets
        for cls, c in enumerate(self.classes):
            if running[cls] > 0 and c.llc_ws > 0:
                for s in range(sockets):
                    ws_socket[s] += running[cls] * c.sockets[s] * min(c.llc_ws, self.llc)
        extra_lines, llc_hit = [], []
        for c in self.classes:
            if c.llc_refs <= 0 or c.cache_mib <= 0 or self.llc <= 0:
                extra_lines.append(0.0)
                llc_hit.append(0.0)
                continue
            alone = max(0.0, 1.0 - self.llc / c.cache_mib)
            miss = 0.0
            for s in range(sockets):
                if c.sockets[s] <= 0:
                    continue
                total = ws_socket[s]
                share = self.llc if total <= self.llc else self.llc * min(c.cache_mib, self.llc) / total
                miss += c.sockets[s] * max(0.0, 1.0 - share / c.cache_mib)
            extra_lines.append(c.llc_refs * max(0.0, miss - alone))
            llc_hit.append(self.llc_lat)
        return extra_lines, llc_hit

    def _unit_times(self, rho: list[float], rho_link: float, running: list[float], extra_lines: list[float],
                    llc_hit: list[float], smt_factor: list[float]
                    ) -> tuple[list[float], list[float], list[list[float]]]:
        """At node utilizations ``rho`` and link utilization ``rho_link``: each class's cycles per unit, its mean
        DRAM latency, and its demand on each node (bytes per second)."""
        nodes, f = self.top.nodes, self.freq
        t_unit, lat_avg, demand = [], [], []
        g = [loaded(r) for r in rho]
        gl = loaded(rho_link) if self.link_bw < math.inf else 1.0
        for cls, c in enumerate(self.classes):
            lines = c.lines + extra_lines[cls]
            lat = 0.0
            node_share = [0.0] * nodes
            for k in range(nodes):
                if c.cpu_nodes[k] <= 0:
                    continue
                mem = self.top.reference_shares(k, c.memory, c.private_local, c.shared)
                for n in range(nodes):
                    if mem[n] <= 0:
                        continue
                    ln = self.l0 * g[n] + ((self.lr - self.l0) * gl if n != k else 0.0)
                    lat += c.cpu_nodes[k] * mem[n] * ln
                    node_share[n] += c.cpu_nodes[k] * mem[n]
            t = c.compute * (1.0 + smt_factor[cls]) + (c.lines * lat + extra_lines[cls] * (lat - llc_hit[cls])) \
                * 1e-9 * f / c.mlp
            t_unit.append(t)
            lat_avg.append(lat)
            rate = running[cls] * lines * LINE_BYTES * f / t if t > 0 else 0.0
            demand.append([rate * s for s in node_share])
        return t_unit, lat_avg, demand

    def _utilization(self, running: list[float], extra_lines: list[float], llc_hit: list[float],
                     smt_factor: list[float]) -> tuple[list[float], float]:
        """The nodes' and the link's utilization at the fixed point where demand (which falls as latency rises)
        meets the loaded latency it causes: Gauss-Seidel over the nodes, bisection on each."""
        nodes = self.top.nodes
        rho = [0.0] * nodes
        rho_link = 0.0
        active_memory = any(running[i] > 0 and (c.lines > 0 or extra_lines[i] > 0)
                            for i, c in enumerate(self.classes))
        if not (active_memory and self.node_bw < math.inf):
            return rho, rho_link

        def demand(rho: list[float], rho_link: float) -> list[list[float]]:
            return self._unit_times(rho, rho_link, running, extra_lines, llc_hit, smt_factor)[2]

        for _ in range(60):
            moved = 0.0
            for n in range(nodes):
                old = rho[n]
                lo, hi = 0.0, _RHO_MAX
                for _ in range(50):
                    mid = (lo + hi) / 2
                    rho[n] = mid
                    d = sum(dm[n] for dm in demand(rho, rho_link)) / self.node_bw
                    if d > mid:
                        lo = mid
                    else:
                        hi = mid
                new = (lo + hi) / 2
                moved = max(moved, abs(new - old))
                rho[n] = new
            if self.link_bw < math.inf and nodes > 1:  # the link's own equation, the nodes held
                lo, hi = 0.0, _RHO_MAX
                for _ in range(50):
                    mid = (lo + hi) / 2
                    d = self._remote_traffic(demand(rho, mid), running) / self.link_bw
                    if d > mid:
                        lo = mid
                    else:
                        hi = mid
                new = (lo + hi) / 2
                moved = max(moved, abs(new - rho_link))
                rho_link = new
            if moved < 1e-7:
                break
        return rho, rho_link

    def _split(self, rho: list[float], t_unit: list[float], lat_avg: list[float], extra_lines: list[float],
               smt_factor: list[float]) -> list[tuple[int, int, int]]:
        """Each class's time beyond its time alone, split into SMT, then NUMA, then contention (the split keeps the
        total), in quanta of its unit."""
        nodes, f = self.top.nodes, self.freq
        out = []
        for cls, c in enumerate(self.classes):
            base = self._alone(cls)
            smt = c.compute * smt_factor[cls]
            local_lat = self.l0 * (sum(c.memory[n] * loaded(rho[n]) for n in range(nodes)) if nodes > 1
                                   else loaded(rho[0]))
            numa = max(0.0, (c.lines + extra_lines[cls]) * (lat_avg[cls] - local_lat) * 1e-9 * f / c.mlp)
            total = max(0.0, t_unit[cls] - base)
            smt = min(total, smt)
            numa = min(total - smt, numa)
            cont = total - smt - numa
            q = EXTRA_QUANTUM * c.unit.total
            out.append((int(round(cont / q)), int(round(numa / q)), int(round(smt / q))))
        return out

    def _remote_traffic(self, demand: list[list[float]], running: list[float]) -> float:
        """Bytes per second crossing the socket-to-socket link (the busier direction)."""
        top = self.top
        cross = 0.0
        for cls, c in enumerate(self.classes):
            if running[cls] <= 0:
                continue
            total = sum(demand[cls])
            if total <= 0:
                continue
            share = sum(c.cpu_nodes[k] * self.top.remote_share(k, c.memory, c.private_local, c.shared)
                        for k in range(top.nodes))
            cross += total * share
        return cross / max(1, top.nodes) if top.nodes > 1 else 0.0

    def _alone(self, cls: int) -> float:
        """A class's unit time alone: full speed, local memory, idle sibling, the whole LLC, its own bandwidth."""
        c = self.classes[cls]
        if c.lines <= 0 or self.node_bw == math.inf:
            return c.compute + c.lines * self.l0 * 1e-9 * self.freq / c.mlp
        f = self.freq
        lo, hi = 0.0, _RHO_MAX
        for _ in range(50):
            mid = (lo + hi) / 2
            t = c.compute + c.lines * self.l0 * loaded(mid) * 1e-9 * f / c.mlp
            d = c.lines * LINE_BYTES * f / t / self.node_bw
            if d > mid:
                lo = mid
            else:
                hi = mid
        return c.compute + c.lines * self.l0 * loaded((lo + hi) / 2) * 1e-9 * f / c.mlp


def class_costs(unit: Work, wl: Any, hw: Hardware, freq: float, pool: int, sockets: tuple[float, ...],
                cpu_nodes: tuple[float, ...], memory: tuple[float, ...], private_local: bool,
                shared_local: bool = False) -> ClassCosts:
    """The :class:`ClassCosts` of a workload's unit under a mode (its memory-stall cycles are its DRAM lines at
    the idle latency; everything else is compute)."""
    u = wl.per_unit
    lines = u.random_refs + u.dram_lines
    stall = lines * hw.val("mem_latency_ns") * 1e-9 * freq / wl.mlp
    compute = max(0.0, unit.total - min(stall, unit.cycles.get(MEMORY_STALLS, 0.0)))
    llc_ws = wl.cache_mib if wl.cache_mib > 0 else (wl.footprint_mib if lines > 0 else 0.0)
    return ClassCosts(unit, compute, lines, wl.mlp, u.llc_refs, wl.cache_mib, llc_ws, pool, sockets, cpu_nodes,
                      memory, private_local, 0.0 if shared_local else wl.shared_refs)


def contention_for(hw: Hardware, top: Topology, freq: float, pool_cpus: list[tuple[int, ...]],
                   placements: list[VcpuPlacement], units: list[Work], workloads: list[Any]) -> Contention | None:
    """The memory system's rate effects on a host whose vCPUs are placed so (:func:`kit.sim.numa.place_vcpus`),
    VM ``k`` running units of ``units[k]`` of ``workloads[k]``; None when none can be non-zero (nothing to watch)."""
    cont = Contention(hw, top, freq, pool_cpus)
    any_memory = False
    for pl in placements:
        cc = class_costs(units[pl.vm], workloads[pl.vm], hw, freq, pl.pool, pl.sockets, pl.cpu_nodes, pl.memory,
                         pl.private_local, pl.shared_local)
        any_memory = any_memory or cc.lines > 0 or cc.llc_refs > 0
        cont.register((pl.vm, pl.pool, pl.memory, pl.private_local, pl.shared_local), cc)
    if not (any_memory or cont.has_smt):
        return None
    return cont
