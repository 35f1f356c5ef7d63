"""Host memory as a resource: what happens when the VMs want more memory than the host has (Waldspurger, "Memory
Resource Management in VMware ESX Server", OSDI 2002).

Each VM touches its workload's footprint plus its guest OS (:data:`kit.inputs.workloads.GUEST_OS_MIB`), up to its
configured memory; the host has ``memory_gib`` less what the hypervisor and its driver domain or host OS keep
(:data:`HOST_RESERVE_MIB`). :func:`plan_memory` settles the steady state, in Waldspurger's order:

1. **Content-based page sharing** (VMware's transparent page sharing, Linux KSM), where enabled and where the
   hypervisor has it: a scanner hashes pages at ``scan_pages_per_s`` (KSM's defaults: 100 pages every 20 ms),
   each page costing :data:`SCAN_CYCLES_PER_PAGE` of a host thread, and merges identical ones copy-on-write.
   Identical VMs share ``share_fraction`` of their memory (the workload declares it): n VMs with the same content
   keep one copy. A write to a merged page breaks it: a copy-on-write fault (the mode's page-fault path plus a
   page copy) per write that lands there. The saving is the steady state, reached after one pass over memory
   (``converge_s``).
2. **Ballooning**, where enabled (and always under Xen and Hyper-V, which do not swap guest memory: their VMs get
   what the host has): a driver in each guest takes memory from it in proportion to what it touches, and the
   guest pages out what no longer fits, its coldest pages first (never its hot set while cold pages remain), to
   its own virtual disk through its own I/O path.
3. **Host swapping**, the last resort (KVM, VMware, QEMU): the host pages VM memory out at random. A randomly
   evicted hot page faults straight back, so the faults are those of the cold pages missing, times ``T / (T -
   hot)``: random selection costs more faults than the guest's own choice for the same deficit, and every fault
   is a hypervisor fault with a synchronous read from the host's disk while the vCPU waits.
   **Double paging** (Waldspurger, section 3.2, after Goldberg and Hassinger, 1974): a guest that pages within its
   own memory as well (configured smaller than what it touches) picks its coldest page as the victim of each
   page-out, and the cold pages are the ones the host's random eviction left on the host's disk; the guest's
   page-out must read the page, so the host swaps it in only for the guest to write it to its own disk. A balloon
   lets the guest choose its victims with no host swapping under them, so ballooning never double-pages.

Natively (and in a container) the one kernel pages its processes' cold pages as a guest does. The faults of each VM
are drawn per unit of work (:meth:`VmMemory.faults_per_unit`); the drivers wait for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import HvkitError
from ..inputs.workloads import GUEST_OS_MIB, writable_set

__all__ = ["MemoryPlan", "VmMemory", "plan_memory", "RECLAIM", "HOST_RESERVE_MIB", "SCAN_PAGES_PER_S",
           "SCAN_CYCLES_PER_PAGE", "HOST_SWAP_FAULT_CYCLES", "PAGE_MIB"]

PAGE_MIB = 4096 / 2 ** 20
#: Memory the hypervisor and its driver domain or host OS keep for themselves
HOST_RESERVE_MIB = (512, "estimated, because a hypervisor with a minimal driver domain or host Linux (kernel, "
                         "page cache floor, device model and management daemons) keeps about half a GiB; plausible 256-1024 because a minimal dom0 or host keeps a few hundred MiB, a general-purpose one up to a GiB")
#: Pages a page-sharing scanner examines per second by default
SCAN_PAGES_PER_S = (5000, "Linux Documentation/admin-guide/mm/ksm.rst: ksmd defaults, pages_to_scan 100 every "
                          "sleep_millisecs 20")
#: Host CPU per scanned page: a checksum of the page and a comparison with a candidate in the trees
SCAN_CYCLES_PER_PAGE = (3000, "estimated, because ksmd checksums each 4 KiB page (jhash2, about 1-2 cycles per "
                              "byte) and compares it with a candidate (memcmp of up to 4 KiB) in its trees; plausible 0.5-2x because checksumming and comparing a page costs 1-2 cycles per byte, and how often a comparison is needed varies")
#: Host CPU of a swap-in: the hypervisor's fault, the host kernel's swap cache lookup, the I/O submission
HOST_SWAP_FAULT_CYCLES = (20000, "estimated, because a Linux swap-in (do_swap_page: swap cache miss, block I/O "
                                 "submission, page table update) runs about 10-20 us of kernel code besides the "
                                 "wait for the disk; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")

#: What each hypervisor family can do when its VMs want more memory than the host has: swap VM memory (host
#: swapping), share pages by content, balloon its guests
RECLAIM: dict[str, dict[str, Any]] = {
    "kvm": {"swap": True, "sharing": "KSM", "balloon": "virtio-balloon"},
    "qemu": {"swap": True, "sharing": "KSM", "balloon": "virtio-balloon"},
    "firecracker": {"swap": True, "sharing": None, "balloon": None},
    "vmware": {"swap": True, "sharing": "transparent page sharing", "balloon": "vmmemctl"},
    "xen": {"swap": False, "sharing": None, "balloon": "xen balloon driver"},
    "hyperv": {"swap": False, "sharing": None, "balloon": "Dynamic Memory"},
}
RECLAIM_SOURCE = ("Waldspurger, OSDI 2002 (ESX: sharing, ballooning, host swapping); Linux KSM and virtio-balloon "
                  "for KVM; Xen does not swap guest memory and reclaims by ballooning (Barham et al., SOSP 2003, "
                  "section 3.3); Hyper-V reclaims by Dynamic Memory ballooning; a Firecracker microVM's memory is "
                  "anonymous memory the host can swap, not marked mergeable for KSM, and its VMM had no balloon "
                  "device before 2021 (docs/ballooning.md describes the one added then)")


@dataclass
class VmMemory:
    """One VM's memory at the steady state."""

    name: str
    configured_mib: float
    touched_mib: float
    hot_mib: float
    shared_mib: float = 0.0
    #: paged out by the guest itself (ballooned, or its memory smaller than what it touches)
    guest_paged_mib: float = 0.0
    #: paged out by the host at random
    host_swapped_mib: float = 0.0
    #: page touches per unit of work, and the share of them that land outside the hot set
    touches: float = 0.0
    spread_share: float = 1.0
    writes: float = 0.0
    share_fraction: float = 0.0

    @property
    def resident_mib(self) -> float:
        return self.touched_mib - self.shared_mib - self.guest_paged_mib - self.host_swapped_mib

    def faults_per_unit(self) -> tuple[float, float]:
        """(guest page-ins, host swap-ins) per unit of work; the swap-ins include the double paging of the guest's own
        page-outs (:meth:`double_paged`)."""
        t, hot = self.touched_mib, self.hot_mib
        cold = max(t - hot, PAGE_MIB)
        spread = self.touches * self.spread_share
        hot_touches = self.touches - spread
        g = 0.0
        if self.guest_paged_mib > 0:
            x = self.guest_paged_mib
            g = spread * min(1.0, x / cold) + hot_touches * max(0.0, (x - cold) / max(hot, PAGE_MIB))
        h = 0.0
        if self.host_swapped_mib > 0:
            base = t - self.guest_paged_mib - self.shared_mib
            x = self.host_swapped_mib
            c = max(base - hot, PAGE_MIB)
            h = spread * min(1.0, x / c) * (base / c if c < base else 1.0)
        return g, h + self.double_paged(g)

    def double_paged(self, page_ins: float) -> float:
        """Host swap-ins per unit that the guest's own page-outs cause (double paging, Waldspurger OSDI 2002).

        In the steady state each of the guest's ``page_ins`` per unit evicts one page, its coldest resident one; the
        host's random eviction has put a share ``min(1, x / c)`` of the cold pages it sees on its disk (``x`` host-
        swapped, ``c`` cold resident MiB: the hot ones it evicts fault straight back), so that share of the guest's
        page-outs first read the page back from the host's disk. Zero without host swapping (ballooning) or without
        guest paging.
        """
        if page_ins <= 0 or self.host_swapped_mib <= 0:
            return 0.0
        base = self.touched_mib - self.guest_paged_mib - self.shared_mib
        c = max(base - self.hot_mib, PAGE_MIB)
        return page_ins * min(1.0, self.host_swapped_mib / c)

    def cow_per_unit(self) -> float:
        """Copy-on-write breaks of merged pages per unit (writes that land on them)."""
        if self.shared_mib <= 0 or self.touched_mib <= 0:
            return 0.0
        return self.writes * self.spread_share * self.shared_mib / self.touched_mib


@dataclass
class MemoryPlan:
    """The host's memory at the steady state: demand, what each mechanism reclaimed, per VM."""

    host_mib: float
    reserved_mib: float
    vms: list[VmMemory]
    saved_mib: float = 0.0
    ballooned_mib: float = 0.0
    swapped_mib: float = 0.0
    scan_pages_per_s: float = 0.0
    converge_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def demand_mib(self) -> float:
        return sum(v.touched_mib for v in self.vms)

    @property
    def pressure(self) -> bool:
        return self.ballooned_mib > 0 or self.swapped_mib > 0 or any(v.guest_paged_mib > 0 for v in self.vms)

    def summary(self) -> dict:
        """The host totals (the report of a scenario)."""
        return {"host_mib": round(self.host_mib, 1), "reserved_mib": self.reserved_mib,
                "demand_mib": round(self.demand_mib, 1), "saved_mib": round(self.saved_mib, 1),
                "ballooned_mib": round(self.ballooned_mib, 1), "swapped_mib": round(self.swapped_mib, 1),
                "scan_pages_per_s": self.scan_pages_per_s, "converge_s": round(self.converge_s, 1)}


def plan_memory(hw: Any, mode: Any, plans: Any, balloon: bool = False, page_sharing: bool = False,
                scan_pages_per_s: float | None = None) -> MemoryPlan:
    """The steady state of the host's memory for VMs ``plans`` (:class:`kit.inputs.resolve.VmPlan`)."""
    native = mode.is_native or not mode.family_part.hypervisor
    reserve = 0.0 if native else float(HOST_RESERVE_MIB[0])
    host = hw.val("memory_gib") * 1024.0 - reserve
    caps = RECLAIM.get(mode.family, {"swap": False, "sharing": None, "balloon": None})
    vms: list[VmMemory] = []
    for p in plans:
        wl = p.workload
        need = wl.footprint_mib + GUEST_OS_MIB[0]
        conf = p.memory_mib if p.memory_mib is not None else need
        ws = writable_set(wl)
        touches = ws.pages_per_unit * ws.touched_per_written
        v = VmMemory(p.name, conf, min(need, conf), min(ws.hot_mib, wl.footprint_mib), touches=touches,
                     spread_share=1.0 - ws.hot_fraction, writes=ws.pages_per_unit, share_fraction=wl.share_fraction)
        if conf < need:  # the guest itself is short of memory: it pages within its own disk
            v.guest_paged_mib = need - conf
            v.touched_mib = need
        vms.append(v)
    plan = MemoryPlan(host, reserve, vms)
    if host <= 0:
        raise HvkitError("the host has no memory left for VMs", field="hw.memory_gib", value=hw.val("memory_gib"),
                         allowed=f"more than {reserve / 1024:.2f} GiB (what the hypervisor keeps)")
    if page_sharing:
        if not caps["sharing"]:
            raise HvkitError(f"{mode.family} has no content-based page sharing", field="host.page_sharing",
                             value=True, allowed="false (KVM's KSM and VMware's TPS share pages)")
        rate = float(scan_pages_per_s if scan_pages_per_s is not None else SCAN_PAGES_PER_S[0])
        groups: dict[int, list[VmMemory]] = {}
        for p, v in zip(plans, vms):
            groups.setdefault(id(p.workload), []).append(v)
        for members in groups.values():
            if len(members) < 2:
                continue
            for v in members[1:]:  # one copy of the shareable content stays
                v.shared_mib = v.share_fraction * (v.touched_mib - v.guest_paged_mib)
        plan.saved_mib = sum(v.shared_mib for v in vms)
        plan.scan_pages_per_s = rate
        plan.converge_s = sum(v.touched_mib for v in vms) / PAGE_MIB / rate if rate > 0 else 0.0
        plan.notes.append(f"page sharing ({caps['sharing']}) at its steady state: {plan.saved_mib:.0f} MiB merged "
                          f"after one pass over memory ({plan.converge_s:.0f} s at {rate:.0f} pages/s)")
    demand = sum(v.touched_mib - v.shared_mib - v.guest_paged_mib for v in vms)
    deficit = demand - host
    if deficit <= 0:
        return plan
    if native:
        _page_in_guests(vms, deficit)
        plan.ballooned_mib = deficit
        plan.notes.append(f"the processes want {deficit:.0f} MiB more than memory: the kernel pages their cold "
                          f"pages out")
        return plan
    by_balloon = balloon or not caps["swap"]
    if by_balloon:
        if not caps["balloon"]:
            raise HvkitError(f"{mode.family} cannot reclaim guest memory", field="hw.memory_gib",
                             value=hw.val("memory_gib"), allowed="enough memory for the VMs")
        _page_in_guests(vms, deficit)
        plan.ballooned_mib = deficit
        why = "" if balloon else f" ({mode.family} does not swap guest memory: its VMs get what the host has)"
        plan.notes.append(f"ballooning ({caps['balloon']}) takes {deficit:.0f} MiB from the guests, which page "
                          f"their cold pages to their own disks{why}")
        return plan
    for v in vms:
        base = v.touched_mib - v.shared_mib - v.guest_paged_mib
        v.host_swapped_mib = deficit * base / demand
    plan.swapped_mib = deficit
    plan.notes.append(f"host swapping: {deficit:.0f} MiB of VM memory on the host's disk, pages chosen at random")
    return plan


def _page_in_guests(vms: list[VmMemory], deficit: float) -> None:
    """Spread a deficit over the guests in proportion to what they keep resident; each pages its coldest out."""
    resident = sum(v.touched_mib - v.shared_mib - v.guest_paged_mib for v in vms)
    for v in vms:
        base = v.touched_mib - v.shared_mib - v.guest_paged_mib
        v.guest_paged_mib += deficit * base / resident
