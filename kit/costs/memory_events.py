"""Memory events: page faults, page-table writes and pages, TLB invalidations, address-space switches, TLB
misses and cache lines from DRAM.

Who keeps the page tables decides the path: the guest alone (native, nested paging: a TLB miss walks in two
dimensions), the hypervisor's shadow tables (writes and CR3 loads trap), the guest's own tables validated by the
hypervisor (Xen PV: updates are hypercalls, batched), or the emulator's software MMU.
"""
from __future__ import annotations

from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from .paths import Paths, Step, event

__all__ = ["MemoryEvents", "SOFTMMU_TLB_ENTRIES", "DRAM_MLP", "PTE_STORE_CYCLES", "INVLPG_CYCLES", "SHADOW_PREV_ROOTS",
           "PV_BATCH_MAX", "THP_SINCE_YEAR", "thp_applies"]

#: Entries of QEMU's softmmu TLB
SOFTMMU_TLB_ENTRIES = (256, "QEMU cpu-defs.h: CPU_TLB_SIZE is 256 entries (Bellard, USENIX ATC 2005, section 3: a direct-mapped software TLB); QEMU 3.1 and later resize it dynamically")
#: Memory-level parallelism when a working set streams back from DRAM.
DRAM_MLP = (5, "estimated, because a sequential sum overlaps misses and the prefetcher hides part of the latency; plausible 3-8 because how many misses a sequential sum overlaps depends on the prefetchers and the core's miss buffers")
#: Native cost of a PTE store and of INVLPG, cycles.
PTE_STORE_CYCLES = (1, "Adams & Agesen, ASPLOS 2006: natively a PTE modification is a single-cycle store")
INVLPG_CYCLES = (100, "estimated, because INVLPG flushes one TLB entry and serializes (about 100 cycles); plausible 0.5-2x because INVLPG's cost is not measured here and differs between cores by a factor of two")
#: Previous shadow roots KVM caches for fast CR3 switches.
SHADOW_PREV_ROOTS = (3, "Linux arch/x86/include/asm/kvm_host.h: KVM_MMU_NUM_PREV_ROOTS is 3")
#: The most page-table updates one Xen mmu_update hypercall may carry.
PV_BATCH_MAX = (2048, "Barham et al., SOSP 2003, section 3.3: up to 2,048 updates batched per hypercall")
#: The first platform year whose Linux (natively and in its guests) backs anonymous memory with transparent huge pages
THP_SINCE_YEAR = (2011, "Linux 2.6.38 (March 2011) merged transparent huge pages, on for all anonymous memory by default (mm/Kconfig: TRANSPARENT_HUGEPAGE_ALWAYS is the default of the sysfs choice; Red Hat Enterprise Linux 6 shipped it on in 2010): a platform of 2011 or later runs a Linux of its era natively and in its guests")


def thp_applies(hw: Hardware, mode: Mode) -> bool:
    """Whether the OS that runs the workload (natively, in a container or in a guest) backs its large anonymous
    memory with transparent huge pages: a Linux of the platform's era (:data:`THP_SINCE_YEAR`) that can map large
    pages. A Xen PV guest cannot (Xen hides PSE from it and validates only 4 KiB mappings), nor does a full
    emulator's software TLB hold large entries; a guest that already uses large pages (guest_page) needs none."""
    mem = mode.memory_part
    return (hw.year >= THP_SINCE_YEAR[0] and mode.guest_page == "4K" and not mem.paravirtual_tables
            and not mem.software_mmu)


class MemoryEvents(Paths):
    """Page tables, TLBs and DRAM."""

    def _tcg_one(self, what: str) -> list[Step]:
        """One guest instruction's memory access under TCG (a store or load through the softmmu)."""
        return [Step(f"TCG: {what} through the softmmu", "emulation",
                     (self._qemu("tcg_op") + self._qemu("softmmu_access")) * self.cpi)]

    @event("dram_lines", "cache lines refilled from DRAM")
    def ev_dram_lines(self) -> list[Step]:
        ns = self.param("mem_latency_ns") * self.param("freq_ghz") / DRAM_MLP[0]
        return [Step("cache lines refilled from DRAM", "device", ns)]

    @event("pagefault", "demand page faults, each with one PTE write by the guest")
    def ev_pagefault(self) -> list[Step]:
        mem, cpu = self.memory, self.cpu
        steps = [Step("page-fault delivery and return", "guest", self.param("exception_cycles"))] + self.kernel_entry()
        if mem.software_mmu:
            return [Step("page fault (TCG softmmu miss and guest fault)", "emulation",
                         self.hv_cycles("exception", "qemu") + self.hv_cycles("helper", "qemu"))]
        if mem.paravirtual_tables:
            steps.append(Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.hv_cycles("trap_bounce")))
            return steps + self.ev_pte_write(batch=1)
        if mem.shadow_tables and self.hw_assisted:
            steps += self.exit("#PF (shadow paging)", [
                Step(f"{self.family}: classify fault against guest tables, inject", "hypervisor",
                     self.hv_cycles("shadow_pf"))])
            return steps + self.ev_pte_write()
        if mem.shadow_tables and cpu.binary_translation:
            steps.append(Step("BT: VMM classifies the fault and reflects it", "hypervisor", self.hv_cycles("bt_fault_reflect")))
            steps += self.ev_pte_write()
            if not self.mode.shadow_cache:
                # without eager shadow fills the retried access takes a hidden fault
                steps.append(Step("hidden fault: shadow entry filled", "hypervisor",
                                  self.param("exception_cycles") + self.hv_cycles("hidden_fault")))
            return steps
        return steps + self.ev_pte_write()

    @event("pte_write", "page-table entry writes outside the fault path (a PV guest batches them: pte_batch per hypercall)")
    def ev_pte_write(self, batch: float = 1.0) -> list[Step]:
        mem = self.memory
        if mem.paravirtual_tables:
            per_call = max(1.0, batch)
            hc = self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")
            return [Step("Xen: mmu_update hypercall (amortized over the batch)", "transition", hc / per_call),
                    Step("Xen: validate the page-table update", "hypervisor", self.hv_cycles("mmu_update"))]
        if mem.shadow_tables and self.hw_assisted:
            return self.exit("write to a write-protected guest page table", [
                Step(f"{self.family}: decode and emulate the write", "emulation", self.hv_cycles("emulate")),
                Step(f"{self.family}: update the shadow entry", "hypervisor", self.hv_cycles("shadow_update"))])
        if mem.shadow_tables and self.cpu.binary_translation:
            return [Step("BT: traced page-table write updates the shadow", "hypervisor", self.hv_cycles("bt_traced_pte"))]
        if mem.software_mmu:
            return self._tcg_one("page-table store")
        return [Step("page-table store", "guest", PTE_STORE_CYCLES[0])]

    @event("invlpg", "single-page TLB invalidations")
    def ev_invlpg(self) -> list[Step]:
        mem = self.memory
        if mem.shadow_tables and self.hw_assisted:
            return self.exit("INVLPG (shadow paging)", [
                Step(f"{self.family}: drop the shadow entry", "hypervisor", self.hv_cycles("shadow_invlpg"))])
        if mem.shadow_tables:
            # the traced PTE write already dropped the shadow entry
            return [Step("BT: translated INVLPG calls out to the VMM", "hypervisor", self.hv_cycles("bt_callout"))]
        if mem.paravirtual_tables:
            return [Step("Xen: mmuext_op INVLPG hypercall", "transition",
                         self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")),
                    Step("INVLPG", "guest", INVLPG_CYCLES[0])]
        return [Step("INVLPG", "guest", INVLPG_CYCLES[0])]

    @event("pt_page", "page-table pages created or torn down")
    def ev_pt_page(self) -> list[Step]:
        mem = self.memory
        entries = 1024 if self.param("page_levels") == 2 else 512
        if mem.paravirtual_tables:
            return [Step("Xen: pin or unpin a page-table page (validate every entry)", "hypervisor",
                         entries * self.hv_cycles("pt_validate_entry")),
                    Step("Xen: mmuext_op pin hypercall", "transition",
                         self.param("syscall_cycles") + self.hv_cycles("pv_hypercall"))]
        if mem.shadow_tables:
            return [Step("shadow page allocated and initialised", "hypervisor", self.hv_cycles("shadow_alloc"))]
        return []

    @event("cr3_load", "address-space switches")
    def ev_cr3_load(self, ws: float = 0.0, spaces: float = 2.0) -> list[Step]:
        mem = self.memory
        # the guest's own CR3 load flushes its (untagged) TLB entries: the working set is
        # walked again, with 2-D walks under nested paging
        native = [Step("address-space switch (CR3 load)", "guest", self.param("cr3_switch_cycles")),
                  Step("TLB refill after the switch", "walk", min(ws, self.param("tlb_entries")) * self.walk_cycles())]
        if mem.paravirtual_tables:
            return native + [Step("Xen: mmuext_op new_baseptr and stack_switch hypercalls", "hypervisor",
                                  2 * (self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")) + self.hv_cycles("cr3"))]
        if mem.shadow_tables:
            return native + self._shadow_cr3(ws, spaces)
        if mem.software_mmu:  # QEMU flushes its software TLB; the working set refills it through tlb_fill
            return [Step("CR3 load (TCG helper flushes its softmmu TLB)", "emulation",
                         self.hv_cycles("helper", "qemu") + self.hv_cycles("tlb_flush", "qemu")),
                    Step("softmmu TLB refills after the flush", "emulation",
                         min(ws, SOFTMMU_TLB_ENTRIES[0]) * self.hv_cycles("softmmu_fill", "qemu"))]
        return native

    def _shadow_cr3(self, ws: float, spaces: float) -> list[Step]:
        """What a CR3 load adds under shadow paging: switching (and on a cache miss reloading) the shadow root, and
        without cached shadows the hidden faults that rebuild them for the working set."""
        if self.hw_assisted:
            # KVM keeps a few previous shadow roots; with more address spaces in rotation a
            # switch misses that cache and reloads and resynchronizes the root
            hit = min(1.0, SHADOW_PREV_ROOTS[0] / max(1.0, spaces))
            steps = self.exit("CR3 load (shadow paging)", [
                Step(f"{self.family}: switch shadow root", "hypervisor", self.hv_cycles("shadow_cr3", "kvm")),
                Step(f"{self.family}: reload and sync the shadow root (previous-root cache miss)", "hypervisor",
                     (1.0 - hit) * self.hv_cycles("shadow_root_load", "kvm"))])
        else:
            steps = [Step("BT: translated CR3 load calls out to the VMM", "hypervisor", self.hv_cycles("bt_callout"))]
        if not self.mode.shadow_cache:
            steps.append(Step("hidden faults: shadows rebuilt for the working set", "hypervisor",
                              ws * (self.param("exception_cycles") + self.hv_cycles("hidden_fault"))))
        return steps

    @event("tlb_miss", "TLB misses (page walks)")
    def ev_tlb_miss(self) -> list[Step]:
        if self.memory.software_mmu:
            return [Step("softmmu TLB miss (tlb_fill walks the guest page tables in C)", "emulation",
                         self.hv_cycles("softmmu_fill", "qemu"))]
        two_d = self.two_d
        label = "2-D page walk (nested paging)" if two_d else "page walk"
        return [Step(label, "walk", self.walk_cycles(two_d))]

    @event("tlb_miss_thp", "TLB misses in memory a transparent huge page maps (the walk stops a level early)")
    def ev_tlb_miss_thp(self) -> list[Step]:
        two_d = self.two_d
        label = "2-D page walk to a transparent huge page" if two_d else "page walk to a transparent huge page"
        return [Step(label, "walk", self.walk_cycles(two_d, guest_page="2M"))]
