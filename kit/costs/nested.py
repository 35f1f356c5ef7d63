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
guest-physical page or after L1 changes its EPT, are rare in steady state and not modelled.

This module holds the constants and builds the steps; :meth:`kit.costs.paths.Paths.exit` calls
:func:`reflected_exit` for a nested mode, passing its ``Step`` class (this module does not import the cost model).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codepaths import instructions

__all__ = ["reflected_exit", "vmcs_traps", "VMCS_ACCESSES_PER_EXIT", "NESTED_VMEXIT_INSTR", "NESTED_VMENTRY_INSTR",
           "VMCS_ACCESS_EMUL_INSTR", "SHADOW_VMCS_SYNC_INSTR", "VMCS_TRAP_REASON", "VMRESUME_REASON"]

#: VMCS fields L1's exit handler reads or writes per exit.
VMCS_ACCESSES_PER_EXIT = (12, "estimated, because KVM's exit path reads the exit reason, qualification, "
                              "instruction length, IDT-vectoring and interruptibility information and the guest's "
                              "RIP, RSP and RFLAGS, and writes back RIP, the interruptibility state and the "
                              "entry-interruption field (arch/x86/kvm/vmx/vmx.c); some are cached after the first "
                              "read; plausible 8-20 because the VMCS fields an exit handler reads and writes depend on the exit reason")
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
VMCS_TRAP_REASON = "L1 VMREAD/VMWRITE (nested)"
VMRESUME_REASON = "L1 VMRESUME (nested)"


def vmcs_traps(hw: Any) -> float:
    """How many of L1's VMCS accesses trap to L0 per reflected exit: none with VMCS shadowing, and none on AMD SVM,
    whose VMCB is ordinary memory that L1 reads and writes without exits."""
    if hw.features.hw_virt == "svm" or hw.features.vmcs_shadowing:
        return 0.0
    return float(VMCS_ACCESSES_PER_EXIT[0])


def reflected_exit(cm: Any, reason: str, handler: list, step: Callable[..., Any]) -> list:
    """The steps of one exit of a nested guest that L0 reflects to L1, with L1's ``handler``.

    ``cm`` is the :class:`~kit.costs.model.CostModel` of the nested mode (its family is L1's, ``mode.nested`` is
    L0's) and ``step`` the ``Step`` class. The L2 exit is counted under ``reason``; L1's trapped VMCS accesses and
    its VMRESUME are exits of their own reasons.
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
    return steps
