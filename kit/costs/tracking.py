"""Dirty-page tracking and page transfer: what live migration costs the running guest and the hosts.

Pre-copy migration (Clark et al., NSDI 2005) sends the guest's memory while the guest runs, so the hypervisor must
learn which pages the guest writes. How it learns decides what the guest pays, per mode and CPU generation:

- ``log-dirty-shadow``: the guest runs on shadow page tables in log-dirty mode; the first write to a page in a
  round faults into the hypervisor, which marks the page in the dirty bitmap and makes the mapping writable; the
  shadows are discarded at every round and rebuilt on demand (Xen PV, and any mode that keeps shadow tables).
- ``write-protect``: the second-level (EPT, NPT, stage-2) entries are write-protected; the first write to a page
  in a round is an EPT violation (a stage-2 permission fault), and every round re-protects the pages written and
  flushes the vCPUs' TLBs.
- ``ad-bits``: with EPT accessed/dirty bits the CPU marks written entries itself; every round the hypervisor scans
  all leaf entries, clears the dirty bits and flushes the TLBs. No exit per write.
- ``pml``: page-modification logging (Intel, from Broadwell) logs the address of every first write in a 512-entry
  buffer; an exit drains it when full; every round clears the dirty bits of the pages written and flushes.
- ``softmmu``: a full emulator marks its software TLB entries not-dirty; the first store to a page takes the
  slow path.

:class:`Tracking` gives the path of each of these costs (as :class:`~kit.costs.paths.Step` s, through the same
:class:`~kit.costs.model.CostModel` as every other event, so exits are counted and nested modes reflect them),
and :class:`Transfer` what sending and receiving pages costs the migration threads on both hosts.
"""
from __future__ import annotations

from ..errors import HvkitError
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from .model import CostModel
from .paths import Step

__all__ = ["METHODS", "choose_method", "Tracking", "Transfer", "PML_ENTRIES", "PAGE_BYTES"]

#: Dirty-tracking methods, with their meaning.
METHODS = {
    "log-dirty-shadow": "shadow page tables in log-dirty mode: a fault per first write to a page in a round",
    "write-protect": "write-protected second-level entries: an EPT violation per first write to a page in a round",
    "ad-bits": "EPT accessed/dirty bits: the CPU marks written entries; the hypervisor scans and clears them",
    "pml": "page-modification logging: the CPU logs each first write; an exit per full 512-entry buffer",
    "softmmu": "a full emulator's software TLB: a slow-path store per first write to a page",
}

PAGE_BYTES = 4096
#: Entries of the page-modification log.
PML_ENTRIES = (512, "Intel SDM vol. 3C, section 28.2.6 (page-modification logging): the PML log is a 4-KByte page "
                    "of 512 64-bit guest-physical addresses; a full log causes a VM exit")

# ---- guest-side costs -----------------------------------------------------------------------------------
WP_FAULT_INSTR = (700, "estimated, because KVM's fast_page_fault restores write access to a write-protected entry "
                       "with one cmpxchg and marks the dirty bitmap without taking mmu_lock (arch/x86/kvm/mmu/mmu.c), "
                       "a few hundred instructions after exit dispatch; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
DIRTY_BIT_SET_CYCLES = (40, "estimated, because the page walker sets an EPT dirty bit with a locked update of the "
                            "entry on the first write through a clean translation, tens of cycles; plausible 0.5-2x because a locked update of a page-table entry costs tens of cycles, more when the line is not cached")
PML_DRAIN_INSTR = (25, "estimated, because vmx_flush_pml_buffer marks one dirty-bitmap bit per logged address "
                       "(mark_page_dirty), a few tens of instructions each; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
TLB_FLUSH_CYCLES = (500, "estimated, because an INVEPT (single-context) invalidation with its serialization costs a "
                         "few hundred cycles before the refills; plausible 0.5-2x because an invalidation with its serialization costs a few hundred cycles, and the refills it causes depend on the guest")
SHADOW_UPDATE_PATH = "shadow_update"

# ---- migration-thread costs (source) and receive costs (target) -----------------------------------------
BITMAP_SCAN_INSTR_PER_PAGE = (0.25, "estimated, because reading and clearing a dirty bitmap covers 64 pages per "
                                    "64-bit word in about 16 instructions; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
REPROTECT_INSTR = (60, "estimated, because re-protecting a written page walks its reverse map and clears the write "
                       "bit of each mapping (kvm_mmu_write_protect_pt_masked); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
CLEAR_DIRTY_INSTR = (50, "estimated, because clearing the dirty bit of a logged page walks its reverse map "
                         "(kvm_mmu_clear_dirty_pt_masked); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
AD_SCAN_INSTR = (8, "estimated, because scanning the leaf entries of the EPT for dirty bits tests and clears one "
                    "64-bit entry in a few instructions; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
SHADOW_CLEAN_INSTR_PER_PAGE = (2, "estimated, because a log-dirty CLEAN operation copies the bitmap out and tears "
                                  "down the shadow tables, a few instructions per guest page; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
SEND_PAGE_INSTR = (4000, "estimated, because sending a 4 KiB page copies it into a socket (about 500 instructions "
                         "at 8 bytes each) and pushes three Ethernet frames through TCP/IP and the NIC driver (about "
                         "1,000 instructions per frame); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
FOREIGN_MAP_INSTR = (300, "estimated, because Xen's save tool maps guest frames into dom0 in batches of 1,024 "
                          "(xc_map_foreign_batch): a privileged hypercall that writes one dom0 entry per frame, then "
                          "unmaps them with a TLB flush; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
RECV_PAGE_INSTR = (4500, "estimated, because receiving a page takes three frames through the NIC driver and TCP/IP "
                         "and copies 4 KiB into the guest's memory, a little more work than sending it; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
ZERO_CHECK_INSTR = (130, "estimated, because checking a 4 KiB page for zeros reads it with vector loads, 32 bytes "
                         "per instruction (QEMU buffer_is_zero); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
ZERO_PAGE_HEADER_BYTES = (8, "QEMU migration/ram.c: a zero page is sent as its 8-byte address word with "
                             "RAM_SAVE_FLAG_ZERO and no data")
COMPRESS_CYCLES_PER_BYTE = (25, "estimated, because zlib at level 1 (QEMU multifd-zlib's default level) compresses "
                                "about 100 MB/s per core on a 2-3 GHz CPU; plausible 15-50 because zlib's speed at level 1 differs with the data and the CPU (50-170 MB/s per core)")
DECOMPRESS_CYCLES_PER_BYTE = (5, "estimated, because zlib inflates about 500 MB/s per core; plausible 3-10 because zlib inflates 250-800 MB/s per core depending on the data and the CPU")
COMPRESSION_RATIO = (2.0, "estimated, because the memory of a running server (code, heap objects, text in the page "
                          "cache) compresses about twofold at fast zlib levels; plausible 1.3-4 because memory compresses from about 1.3x (dense heap data) to 4x (pages rich in zeros and text)")
POSTCOPY_FAULT_INSTR = (15000, "estimated, because a post-copy fault on the target leaves the guest (EPT violation on "
                               "a missing page), wakes the device model's fault thread through userfaultfd, sends the "
                               "request, and installs the page with UFFDIO_COPY when it arrives: several system calls "
                               "and context switches; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
POSTCOPY_SERVE_INSTR = (3000, "estimated, because the source receives a page request on its return path, looks the "
                              "page up and queues it ahead of the background push; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
CPU_STATE_KB = (16, "estimated, because a vCPU's registers, MSRs, local APIC page and XSAVE area are a few KiB to "
                    "16 KiB; plausible 4-32 because a vCPU's state is a few KiB without large XSAVE components and up to tens of KiB with AVX-512 and AMX")
DEVICE_STATE_KB = (64, "estimated, because the device models' state (virtio rings and indices, a NIC's registers, "
                       "the interrupt controllers and timers) is tens of KiB; plausible 0.5-2x because the device models' state depends on the devices a VM has")


def choose_method(hw: Hardware, mode: Mode, requested: str = "auto") -> str:
    """The tracking method of ``mode`` on ``hw``: the one the hypervisor would use, or the one requested.

    ``auto``: shadow log-dirty where the hypervisor keeps shadow tables (PV direct paging, shadow paging, binary
    translation); the emulator's software TLB under full emulation; with nested paging, PML where the CPU has it
    and write protection otherwise (KVM and Xen never used the EPT dirty bits without PML: ``ad-bits`` is a
    what-if that needs ``ept_ad_bits``).
    """
    where = f"migration of {mode.name} on '{hw.id}'"
    if mode.runs_on_host_kernel:
        raise HvkitError("nothing to migrate: there is no virtual machine", where=where, field="hypervisor",
                         value=mode.name, allowed="a virtualized mode")
    if mode.is_nested:
        raise HvkitError("migrating a nested guest is not modelled", where=where, field="nested",
                         value=mode.nested, allowed="none")
    memory = mode.memory_part
    if memory.software_mmu:
        possible = ["softmmu"]
    elif memory.shadow_tables or memory.paravirtual_tables:
        possible = ["log-dirty-shadow"]
    else:  # nested paging
        possible = ["write-protect"]
        if not hw.is_arm and hw.features.ept_ad_bits:
            possible.append("ad-bits")
        if not hw.is_arm and hw.features.pml:
            possible.append("pml")
    if requested == "auto":
        return "pml" if "pml" in possible else possible[0]
    if requested not in METHODS:
        raise HvkitError("unknown dirty-tracking method", where=where, field="tracking", value=requested,
                         allowed=["auto", *METHODS])
    if requested not in possible:
        why = {"pml": "page-modification logging needs features.pml and nested paging",
               "ad-bits": "dirty-bit scanning needs features.ept_ad_bits and nested paging"}.get(
            requested, f"memory={mode.memory} tracks dirty pages with {possible[0]}")
        raise HvkitError(why, where=where, field="tracking", value=requested, allowed=["auto", *possible])
    return requested


class Tracking:
    """The costs of one dirty-tracking method under a mode on a CPU."""

    def __init__(self, hw: Hardware, mode: Mode, method: str) -> None:
        self.hw, self.mode, self.method = hw, mode, method
        self.cm = CostModel(hw, mode)
        self.cpi = hw.val("kernel_cpi")
        self.family = mode.family

    def _sw(self, instr: float) -> float:
        return instr * self.cpi

    def first_write(self) -> list[Step]:
        """The guest's cost of the first write to a page in a round (a PML drain's steps scaled per write)."""
        return [Step(s.step, s.kind, s.cycles * times, s.reason) for steps, times in self.first_write_parts()
                for s in steps]

    def first_write_parts(self) -> list[tuple[list[Step], float]]:
        """The first write's cost as (steps, times per write): a PML drain is one exit per 512 writes."""
        cm, m = self.cm, self.method
        if m == "log-dirty-shadow":
            handler = [Step(f"{self.family}: log-dirty fault: mark the page, make the shadow entry writable",
                            "hypervisor", cm.hv_cycles("shadow_pf"))]
            if cm.hw_assisted:
                return [(cm.exit("#PF (dirty logging)", handler), 1.0)]
            return [([Step("write fault on a read-only shadow entry", "transition", cm.param("exception_cycles"))]
                     + handler, 1.0)]
        if m == "write-protect":
            reason = "stage-2 permission fault (dirty logging)" if cm.is_arm else "EPT violation (dirty logging)"
            return [(cm.exit(reason, [Step(f"{self.family}: restore write access, mark the page dirty", "hypervisor",
                                           self._sw(WP_FAULT_INSTR[0]))]), 1.0)]
        if m == "ad-bits":
            return [([Step("CPU sets the EPT dirty bit", "walk", DIRTY_BIT_SET_CYCLES[0])], 1.0)]
        if m == "pml":
            drain = cm.exit("PML log full", [Step(f"{self.family}: drain the log into the dirty bitmap", "hypervisor",
                                                  PML_ENTRIES[0] * self._sw(PML_DRAIN_INSTR[0]))])
            return [([Step("CPU sets the EPT dirty bit and logs the address", "walk", DIRTY_BIT_SET_CYCLES[0])], 1.0),
                    (drain, 1.0 / PML_ENTRIES[0])]
        return [([Step("TCG: a store to a page marked not-dirty takes the slow path", "emulation",
                       cm.hv_cycles("helper", "qemu"))], 1.0)]

    def first_write_exits(self) -> float:
        """VM exits per first write."""
        return sum(times for steps, times in self.first_write_parts() for s in steps if s.is_exit)

    def pte_write(self) -> list[Step]:
        """Extra cost of each guest page-table write while tracking (PV direct paging runs on log-dirty shadows)."""
        if self.method == "log-dirty-shadow" and self.mode.memory_part.paravirtual_tables:
            return [Step(f"{self.family}: propagate the update into the log-dirty shadow", "hypervisor",
                         self.cm.hv_cycles(SHADOW_UPDATE_PATH))]
        return []

    def round_guest(self, vcpus: int, hot_pages: float, ws_pages: float) -> list[Step]:
        """The guest's cost of starting a round: shadow rebuilds, or TLB flushes and the refills they cause."""
        cm, m = self.cm, self.method
        if m == "log-dirty-shadow" and not cm.hw_assisted:
            # the shadows were discarded: the pages the guest keeps using are shadowed again on their next access
            return [Step("log-dirty shadows rebuilt for the pages in use (hidden faults)", "hypervisor",
                         hot_pages * (cm.param("exception_cycles") + cm.hv_cycles("hidden_fault")))]
        if m == "softmmu":
            return [Step("TCG: software TLB refilled after the dirty flags were reset", "emulation",
                         vcpus * ws_pages * cm.hv_cycles("softmmu_access", "qemu") * 10)]
        refill = min(ws_pages, cm.param("tlb_entries")) * cm.walk_cycles()
        flush = cm.exit("TLB flush request (dirty log sync)", [
            Step(f"{self.family}: flush the vCPU's TLB" + (" and PML buffer" if m == "pml" else ""), "hypervisor",
                 TLB_FLUSH_CYCLES[0])])
        steps = flush + [Step("TLB refilled after the flush", "walk", refill)]
        return [Step(s.step, s.kind, s.cycles * vcpus, s.reason) for s in steps]

    def round_guest_exits(self, vcpus: int) -> float:
        return sum(1.0 for s in self.round_guest(1, 0.0, 0.0) if s.is_exit) * vcpus

    def sync_cycles(self, vm_pages: float, dirty_pages: float) -> float:
        """The migration thread's cost of collecting the dirty log and re-arming tracking at a round's end."""
        scan = vm_pages * self._sw(BITMAP_SCAN_INSTR_PER_PAGE[0])
        m = self.method
        if m == "log-dirty-shadow":
            return scan + vm_pages * self._sw(SHADOW_CLEAN_INSTR_PER_PAGE[0])
        if m == "write-protect":
            return scan + dirty_pages * self._sw(REPROTECT_INSTR[0])
        if m == "ad-bits":
            return scan + vm_pages * self._sw(AD_SCAN_INSTR[0])
        if m == "pml":
            return scan + dirty_pages * self._sw(CLEAR_DIRTY_INSTR[0])
        return scan + dirty_pages * self._sw(BITMAP_SCAN_INSTR_PER_PAGE[0] * 64)

    def start_cycles(self, vm_pages: float) -> float:
        """Enabling tracking: every page is protected (or cleaned) once."""
        return self.sync_cycles(vm_pages, vm_pages)


class Transfer:
    """What moving pages costs the migration threads: the sender on the source, the receiver on the target."""

    def __init__(self, hw: Hardware, mode: Mode, compression: bool = False, zero_pages: bool = False) -> None:
        self.cpi = hw.val("kernel_cpi")
        self.compression, self.zero_pages = compression, zero_pages
        self.foreign_map = mode.family_part.foreign_map

    def wire_bytes(self, pages: float, zero: float = 0.0) -> float:
        """Bytes on the wire for ``pages`` pages of which ``zero`` are zero pages."""
        data = pages - (zero if self.zero_pages else 0.0)
        per = PAGE_BYTES / (COMPRESSION_RATIO[0] if self.compression else 1.0)
        return data * per + (zero * ZERO_PAGE_HEADER_BYTES[0] if self.zero_pages else 0.0)

    def send_cycles(self, pages: float, zero: float = 0.0) -> float:
        data = pages - (zero if self.zero_pages else 0.0)
        c = pages * (FOREIGN_MAP_INSTR[0] * self.cpi if self.foreign_map else 0.0)
        if self.zero_pages:
            c += pages * ZERO_CHECK_INSTR[0] * self.cpi
        c += data * SEND_PAGE_INSTR[0] * self.cpi / (COMPRESSION_RATIO[0] if self.compression else 1.0)
        if self.compression:
            c += data * PAGE_BYTES * COMPRESS_CYCLES_PER_BYTE[0]
        return c

    def recv_cycles(self, pages: float, zero: float = 0.0) -> float:
        data = pages - (zero if self.zero_pages else 0.0)
        c = data * RECV_PAGE_INSTR[0] * self.cpi / (COMPRESSION_RATIO[0] if self.compression else 1.0)
        if self.compression:
            c += data * PAGE_BYTES * DECOMPRESS_CYCLES_PER_BYTE[0]
        return c

    def state_bytes(self, vcpus: int) -> float:
        return (vcpus * CPU_STATE_KB[0] + DEVICE_STATE_KB[0]) * 1024.0
