"""Nested virtualization: the path of an exit of a nested guest (Ben-Yehuda et al., "The Turtles Project", OSDI
2010).

A nested guest (L2) runs under a hypervisor (L1) that is itself a guest of the hypervisor on the hardware (L0).
The CPU has one level of virtualization, so L0 runs L2 directly with a VMCS it builds by merging L1's (VMCS12)
with its own (VMCS02). Every exit of L2 goes to L0; when L1 asked for it (everything the model's events exit for),
L0 *reflects* it: it writes the exit into VMCS12 and enters L1 at its exit handler. L1 handles it with the same
code as on hardware, but as a guest: each VMREAD and VMWRITE it issues traps to L0 (unless the CPU has VMCS
shadowing, Haswell onwards, or the VMCB is plain memory, as on AMD SVM), and its VMRESUME always does; L0 then
merges VMCS12 into VMCS02 again and resumes L2. One L2 exit thus costs two round trips, the reflection work in
L0, L1's handler, and one more round trip per trapped VMCS access: exit multiplication.

Memory: with EPT on EPT (multi-dimensional paging) L0 compresses L1's EPT for L2 (EPT12) and its own (EPT01)
into one (EPT02), so L2's TLB misses are ordinary two-dimensional walks and its page-table updates never exit;
with shadow paging in L1, L2's page-table updates exit (and are reflected) and its TLB misses walk L1's shadow
tables through EPT01, in two dimensions as well. Faults on EPT02 itself, which L0 takes when L2 first touches a
guest-physical page or after L1 changes its EPT, are rare in steady state and not modelled: EPT02's entries live in
L0's shadow-page cache, which survives the nested transitions (only invalid roots are zapped when a root is freed).

L1's handler runs as a guest: besides its trapped VMCS accesses, its TLB misses walk in two dimensions (through
EPT01). With a tagged TLB its entries survive between exits (their eviction by L2's own misses is not modelled);
but KVM's nested VMX before nested VPID (Linux 4.2, 2015) let L2 share L1's VPID and flushed the TLB at every nested
entry and exit (``vmx_flush_tlb`` in ``prepare_vmcs02`` and ``load_vmcs12_host_state``), and unloaded the MMU at
every nested entry to load EPT02's root (``kvm_mmu_unload``, ``nested_ept_init_mmu_context``) and L1's at every
exit (``kvm_mmu_reset_context``): each reflected exit then also costs L1's handler a TLB-cold run, L2 the refill of
its working set and L0 two root loads (:data:`NESTED_SWITCH_FLUSHES`, :func:`switch_flushes`).

This module holds the constants and builds the steps; :meth:`kit.costs.paths.Paths.exit` calls
:func:`reflected_exit` for a nested mode, passing its ``Step`` class (this module does not import the cost model).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codepaths import instructions

__all__ = ["reflected_exit", "vmcs_traps", "VMCS_ACCESSES_PER_EXIT", "NESTED_VMEXIT_INSTR", "NESTED_VMENTRY_INSTR",
           "VMCS_ACCESS_EMUL_INSTR", "SHADOW_VMCS_SYNC_INSTR", "VMCS_TRAP_REASON", "VMRESUME_REASON",
           "NESTED_SWITCH_FLUSHES", "L1_HANDLER_PAGES", "NESTED_MMU_RELOAD_INSTR", "switch_flushes"]

#: VMCS fields L1's exit handler reads or writes per exit.
VMCS_ACCESSES_PER_EXIT = (12, "estimated from KVM's exit path as L1 (arch/x86/kvm/vmx/vmx.c), counted for an "
                              "instruction exit such as CPUID: VMREADs of the exit reason, IDT-vectoring information, "
                              "exit interruption information, instruction length, guest RIP, RFLAGS (the single-step "
                              "check) and interruptibility state, VMWRITEs of RIP, the interruptibility state, the "
                              "entry-interruption field and the TPR threshold, and the lazily cached RSP written "
                              "back: 12, with RIP, RSP and the exit fields cached after their first read; plausible "
                              "8-35 because exits with a qualification or a guest-physical address read two or three "
                              "more, and the fields KVM found hot enough to shadow "
                              "(arch/x86/kvm/vmx/vmcs_shadow_fields.h) number 35 over all exit reasons")
#: L0's work to reflect an exit into L1.
NESTED_VMEXIT_INSTR = (3000, "estimated, because KVM's nested_vmx_vmexit copies the exit information and about a "
                             "hundred guest-state fields from VMCS02 into VMCS12 (sync_vmcs02_to_vmcs12), loads L1's "
                             "host state from VMCS12 and switches the current VMCS (arch/x86/kvm/vmx/nested.c); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: L0's work to enter L2 again when L1 resumes it.
NESTED_VMENTRY_INSTR = (3000, "estimated, because KVM's nested_vmx_run checks VMCS12's controls and state and "
                              "merges it with L0's own settings into VMCS02 (prepare_vmcs02), a few thousand "
                              "instructions; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: L0's work to emulate one VMREAD or VMWRITE of L1.
VMCS_ACCESS_EMUL_INSTR = (250, "estimated, because handle_vmread and handle_vmwrite decode the operands and copy "
                               "one field of the in-memory VMCS12, a few hundred instructions after exit dispatch; plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: L0's work to keep a shadow VMCS in step with VMCS12, per reflected exit.
SHADOW_VMCS_SYNC_INSTR = (400, "estimated, because with VMCS shadowing L0 copies the shadowed fields between VMCS12 "
                               "and the shadow VMCS around each reflected exit (copy_vmcs12_to_shadow, "
                               "copy_shadow_to_vmcs12); plausible 0.5-2x because an instruction count read from the code, with no measurement of it, may be off by a factor of two either way: reading misses branches taken, locks and cache misses, or counts work the common case skips")
#: L0 releases whose nested VMX (Intel VT-x) flushes the TLB and reloads the MMU's roots at each nested entry and exit
NESTED_SWITCH_FLUSHES = ({("kvm", "2012")},
                         "Linux arch/x86/kvm/vmx.c of 3.x (2011-2015): prepare_vmcs02 writes L1's VPID into VMCS02 "
                         "and calls vmx_flush_tlb ('Trivially support vpid by letting L2s share their parent L1's "
                         "vpid'), then kvm_mmu_unload and nested_ept_init_mmu_context; load_vmcs12_host_state flushes "
                         "again and calls kvm_mmu_reset_context. Linux 4.2 (2015) gives L2 its own VPID (nested VPID) "
                         "and later releases keep previous roots (KVM_MMU_NUM_PREV_ROOTS); Xen's nested HVM tags L2 "
                         "with its own ASID (nv_n2asid)")
#: Pages of code and data L1's exit handler touches per reflected exit (TLB misses when it runs TLB-cold)
L1_HANDLER_PAGES = (24, "estimated, because KVM's exit path (vmx_handle_exit, the reason's handler, "
                        "vcpu_enter_guest and the entry code) spans some 12-16 pages of text and touches the vcpu "
                        "structures, the VMCS12 page, the stack and the run state, about 8-10 pages of data; "
                        "plausible 12-48 because handlers differ in the code they reach")
#: L0's work to free the MMU's roots and load EPT02's (nested entry) or L1's (nested exit) root, per pair
NESTED_MMU_RELOAD_INSTR = (2000, "estimated, because kvm_mmu_unload frees the roots and kvm_mmu_load looks the new "
                                 "root up in the shadow-page hash (kvm_mmu_get_page), syncs unsynchronized shadow "
                                 "pages (kvm_mmu_sync_roots) and reinitializes the MMU context, about a thousand "
                                 "instructions each way; plausible 1,000-5,000 because a sync walks however many "
                                 "EPT02 pages L1 left unsynchronized")
VMCS_TRAP_REASON = "L1 VMREAD/VMWRITE (nested)"
VMRESUME_REASON = "L1 VMRESUME (nested)"


def vmcs_traps(hw: Any) -> float:
    """How many of L1's VMCS accesses trap to L0 per reflected exit: none with VMCS shadowing, and none on AMD SVM,
    whose VMCB is ordinary memory that L1 reads and writes without exits."""
    if hw.features.hw_virt == "svm" or hw.features.vmcs_shadowing:
        return 0.0
    return float(VMCS_ACCESSES_PER_EXIT[0])


def switch_flushes(hw: Any, mode: Any) -> bool:
    """Whether L0 flushes the TLB and reloads the MMU's roots at each nested entry and exit
    (:data:`NESTED_SWITCH_FLUSHES`: L0's family at the mode's release, on VMX, whose code the source is)."""
    return hw.features.hw_virt == "vmx" and (mode.nested, mode.release) in NESTED_SWITCH_FLUSHES[0]


def reflected_exit(cm: Any, reason: str, handler: list, step: Callable[..., Any], ws: float = 0.0) -> list:
    """The steps of one exit of a nested guest that L0 reflects to L1, with L1's ``handler``.

    ``cm`` is the :class:`~kit.costs.model.CostModel` of the nested mode (its family is L1's, ``mode.nested`` is
    L0's) and ``step`` the ``Step`` class. The L2 exit is counted under ``reason``; L1's trapped VMCS accesses and
    its VMRESUME are exits of their own reasons. Where L0 flushes at nested transitions (:func:`switch_flushes`),
    L1's handler misses the TLB on :data:`L1_HANDLER_PAGES` pages, L2 refills ``ws`` pages of its working set (at
    most the TLB's entries), both walking in two dimensions, and L0 reloads the MMU's roots.
    """
    hw, mode = cm.hw, cm.mode
    rt = cm.param("exit_roundtrip_cycles")
    cpi = cm.cpi
    l0, l1 = mode.nested, cm.family
    dispatch0 = instructions(l0, cm.release, "exit_dispatch") * cpi
    steps = [step(f"VM exit + entry: {reason}", "transition", rt, reason),
             step(f"{l0} (L0): exit dispatch", "hypervisor", dispatch0, reason),
             step(f"{l0} (L0): reflect the exit into L1 (VMCS02 to VMCS12, L1's host state)", "hypervisor",
                  NESTED_VMEXIT_INSTR[0] * cpi, reason),
             step(f"{l1} (L1): exit dispatch", "hypervisor", cm.hv_cycles("exit_dispatch"), reason)]
    flushes = switch_flushes(hw, mode)
    if flushes:
        steps.append(step(f"{l1} (L1): TLB misses of its handler after the flush (2-D walks through EPT01)", "walk",
                          L1_HANDLER_PAGES[0] * cm.walk_cycles(True), reason))
    steps += [step(s.step.replace(f"{l1}: ", f"{l1} (L1): ", 1), s.kind, s.cycles, s.reason or reason)
              for s in handler]
    traps = vmcs_traps(hw)
    whole = int(traps)
    for k in range(whole):
        steps.append(step(f"VM exit + entry: {VMCS_TRAP_REASON}", "transition", rt, VMCS_TRAP_REASON))
        steps.append(step(f"{l0} (L0): emulate L1's VMREAD/VMWRITE", "hypervisor",
                          dispatch0 + VMCS_ACCESS_EMUL_INSTR[0] * cpi, VMCS_TRAP_REASON))
    if not traps and hw.features.hw_virt == "vmx":
        steps.append(step(f"{l0} (L0): sync the shadow VMCS with VMCS12", "hypervisor",
                          SHADOW_VMCS_SYNC_INSTR[0] * cpi, reason))
    steps += [step(f"VM exit + entry: {VMRESUME_REASON}", "transition", rt, VMRESUME_REASON),
              step(f"{l0} (L0): exit dispatch", "hypervisor", dispatch0, VMRESUME_REASON),
              step(f"{l0} (L0): merge VMCS12 into VMCS02, enter L2", "hypervisor", NESTED_VMENTRY_INSTR[0] * cpi,
                   VMRESUME_REASON)]
    if flushes:
        steps.append(step(f"{l0} (L0): reload the MMU's roots (EPT02 at entry, L1's at exit)", "hypervisor",
                          NESTED_MMU_RELOAD_INSTR[0] * cpi, VMRESUME_REASON))
        if ws:
            steps.append(step("L2: TLB refill after the flush at nested entry (2-D walks)", "walk",
                              min(ws, cm.param("tlb_entries")) * cm.walk_cycles(True), reason))
    return steps
