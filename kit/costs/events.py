"""Per-event cost model: the path each guest event takes under a mode on a CPU.

An operation (:mod:`kit.costs.ops`) is a vector of primitive guest events: system
calls, exceptions, page faults, page-table writes, CR3 loads, port and MMIO
accesses, hypercalls, timer and interrupt events, plus native kernel and user
work. :class:`CostModel` turns each event into the *path* it takes under a
hypervisor mode on a hardware profile: hardware transitions (VM exit and entry,
traps to EL2, world switches), hypervisor handler code (software path lengths
from :mod:`kit.costs.codepaths` times the profile's ``kernel_cpi``), instruction
emulation, page-walk references and device accesses. An operation's cost is
the sum of its steps, so changing a transition cost in a profile moves every
operation whose path contains that transition.

Every event is a method registered with :func:`event` in :data:`EVENT_REGISTRY` (its name, meaning and whether
it takes the count of its unit); :data:`EVENTS` lists them for readers and tools.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..inputs.hardware import Hardware
from ..inputs.modes import Mode, page_levels_saved
from . import nested
from .codepaths import instructions

__all__ = ["Step", "CostModel", "EventDef", "EVENT_REGISTRY", "EVENTS", "event", "KERNEL_CALL_DENSITY",
           "USER_CALL_DENSITY", "MEM_REFS_PER_INSTR", "BRANCHES_PER_INSTR", "SOFTMMU_TLB_ENTRIES",
           "default_guest_syscall", "guest_rearms_timer", "INTERRUPT_WINDOW_FRACTION", "GUEST_TIMER_REARM_YEAR",
           "KPTI_ENTRY_CYCLES", "SPECTRE_EXIT_CYCLES", "L1D_FLUSH_CYCLES", "IBPB_CYCLES"]

#: Call/return pairs per instruction of guest code (a workload may characterize its own kernel density). Binary
#: translation pays a translation-cache lookup per translated return; TCG leaves chained code at each return.
KERNEL_CALL_DENSITY = (1 / 50, "estimated, because Linux kernel paths execute a call/return pair or an indirect branch every 40-60 instructions")
USER_CALL_DENSITY = (1 / 100, "estimated, because calls and returns are about 1-2% of the instructions of integer programs (Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2, SPECint2000 instruction mix)")
#: Guest code's memory references and branches per instruction: each reference is a softmmu TLB lookup under
#: TCG, each branch ends a translation block
MEM_REFS_PER_INSTR = (0.36, "Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2: loads are about a quarter and stores about a tenth of the instructions of SPECint2000 on x86")
BRANCHES_PER_INSTR = (0.2, "Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2: conditional branches, jumps, calls and returns are about a fifth of integer instructions (basic blocks of about five instructions)")
#: Entries of QEMU's softmmu TLB
SOFTMMU_TLB_ENTRIES = (256, "QEMU cpu-defs.h: CPU_TLB_SIZE is 256 entries (Bellard, USENIX ATC 2005, section 3: a direct-mapped software TLB); QEMU 3.1 and later resize it dynamically")
#: Memory-level parallelism when a working set streams back from DRAM.
DRAM_MLP = (5, "estimated, because a sequential sum overlaps misses and the prefetcher hides part of the latency")

#: Whether the guest OS re-arms its timer at every tick (one-shot clock events)
GUEST_TIMER_REARM_YEAR = (2008, "Linux 2.6.21 (2007) introduced clock events and high-resolution timers: the local timer runs one-shot and is re-armed at every tick (the TSC-deadline MSR or the APIC's initial count on x86, the virtual timer's compare register on ARM); the kit takes guests on profiles from 2008 on to run such kernels, and older ones periodic timers (Linux 2.4's PIT)")

#: Native cost of a PTE store and of INVLPG, cycles.
PTE_STORE_CYCLES = (1, "Adams & Agesen, ASPLOS 2006: natively a PTE modification is a single-cycle store")
INVLPG_CYCLES = (100, "estimated, because INVLPG flushes one TLB entry and serializes (about 100 cycles)")
EOI_CYCLES = (60, "estimated, because a local APIC or GIC CPU-interface EOI write takes tens of cycles")
HYPERCALL_NATIVE = (10, "estimated, because natively a 'hypercall' is a plain function call")
DOORBELL_CYCLES = (150, "estimated, because a posted MMIO doorbell write to a NIC costs about 100-200 cycles")
POSTED_NOTIFY_FRACTION = (0.3, "estimated, because a posted-interrupt notification is an IPI the CPU consumes in microcode without an exit, a fraction of a full IPI's delivery")
XEN_BLOCK_SWITCH_FRACTION = (0.3, "estimated, because blocking and waking a vCPU runs part of Xen's domain-switch path (the scheduler, not the full state save)")
#: I/O paths on which the (host) kernel drives the device itself: native, and a container's veth paths (their
#: extra kernel work is charged by the container costing, kit.sim.compositions)
NATIVE_DEVICE_IO = ("native", "veth-bridge", "veth-nat")
#: The share of the ARM virtual CPU interface's state switch (vgic_switch_cycles, save and restore) and of the
#: virtual timer's that one direction takes
ARM_STATE_ONE_WAY = (0.5, "estimated, because saving the VGIC's list registers and control state and restoring them touch the same registers, so each direction is taken as half of the measured save+restore")
#: The 2018 speculative-execution mitigations (mode part mitigations=2018)
KPTI_ENTRY_CYCLES = (400, "estimated, because with page-table isolation every kernel entry and exit switches CR3 through a trampoline (with PCID, no flush), adding a few hundred cycles to a system call on Skylake-class cores (Gregg, 'KPTI/KAISER Meltdown Initial Performance Regressions', 2018)")
SPECTRE_EXIT_CYCLES = (300, "estimated, because KVM and Xen fill the return-stack buffer and write SPEC_CTRL (IBRS) around every VM exit on CPUs without enhanced IBRS, a few hundred cycles (Linux arch/x86/kvm/vmx: vmx_vcpu_run's spec-ctrl and RSB handling)")
L1D_FLUSH_CYCLES = (1000, "estimated, because writing back and invalidating the 32 KiB L1 data cache before VM entry (MSR_IA32_FLUSH_CMD, L1TF) and the guest's refills of it cost on the order of a thousand cycles")
L1D_FLUSH_EXITS = (("interrupt", "HLT", "WFI", "timer", "I/O", "MMIO", "kick", "#PF", "page table", "INVLPG", "CR3"),
                   "Linux arch/x86/kvm/vmx (vmentry_l1d_flush=cond, the default): the L1D is flushed only after exits whose handling may have pulled other data into it (interrupts, scheduling, I/O and memory emulation), not after fast paths such as CPUID or a hypercall")
IBPB_CYCLES = (4000, "estimated, because an indirect-branch prediction barrier, issued when a CPU switches to another VM, costs several thousand cycles on Skylake-class cores")
INTERRUPT_WINDOW_FRACTION = (0.1, "estimated, because an interrupt injected by software while the guest runs with interrupts disabled (spinlocks taken with irqsave, entry and exit paths) must wait for an interrupt-window exit; guest kernels spend about a tenth of their time so; APIC virtualization, posted interrupts, the GIC and event channels deliver pending interrupts without such an exit")
IRQ_REMAP_MISS_FRACTION = (0.1, "estimated, because interrupt-remapping entries are mostly cached, so about one interrupt in ten walks the remapping table")


@dataclass(frozen=True)
class Step:
    """One step of an operation's path."""

    step: str
    kind: str  # guest, transition, hypervisor, emulation, walk, device, backend
    cycles: float
    #: the exit reason this step belongs to ("" when it is not part of an exit)
    reason: str = ""
    #: how many exits an exit-starting step stands for (a fraction for an exit that happens some of the time)
    count: float = 1.0

    @property
    def is_exit(self) -> bool:
        """True for the hardware transition that starts an exit (one per exit)."""
        return bool(self.reason) and self.kind == "transition" and self.step.startswith(("VM exit", "trap to EL2"))


@dataclass(frozen=True)
class EventDef:
    """A registered guest event."""

    name: str
    meaning: str
    #: the method that returns the event's path (a list of steps)
    method: Callable[..., list[Step]]
    #: the method takes the event's count (instructions, lines) instead of returning one event's path
    takes_count: bool = False


#: Every guest event the cost model knows, by name.
EVENT_REGISTRY: dict[str, EventDef] = {}


def event(name: str, meaning: str, takes_count: bool = False):
    """Register a :class:`CostModel` method as the path of guest event ``name``."""
    def register(method):
        if name in EVENT_REGISTRY:
            raise ValueError(f"event {name!r} registered twice")
        EVENT_REGISTRY[name] = EventDef(name, meaning, method, takes_count)
        return method
    return register


class CostModel:
    """The path and cycles of guest events under ``mode`` on ``hw``."""

    def __init__(self, hw: Hardware, mode: Mode, guest_syscall: str | None = None,
                 kernel_call_density: float | None = None) -> None:
        self.hw, self.mode = hw, mode
        #: cycles per instruction of guest kernel code, guest user code and hypervisor (and backend) code
        self.cpi = hw.val("kernel_cpi")
        self.user_cpi = hw.val("user_cpi")
        self.hv_cpi = hw.val("hypervisor_cpi")
        self.kernel_call_density = KERNEL_CALL_DENSITY[0] if kernel_call_density is None else kernel_call_density
        self.family = mode.family
        self.release = mode.release
        self.is_arm = hw.is_arm
        self.guest_syscall = guest_syscall or default_guest_syscall(hw)
        #: pages touched after a TLB flush (set per operation)
        self.ws = 4.0

    # -- primitives ------------------------------------------------------------------------
    def path(self, name: str, *args, **kw) -> list[Step]:
        """The path of registered event ``name``."""
        return EVENT_REGISTRY[name].method(self, *args, **kw)

    def param(self, name: str) -> float:
        """A hardware parameter of the profile."""
        return self.hw.val(name)

    def hv_cycles(self, path: str, family: str | None = None) -> float:
        """Cycles of hypervisor code path ``path`` of ``family`` (default: the mode's, with its fallback)."""
        return instructions(family or self.family, self.release, path) * self.hv_cpi

    def _walk_levels(self) -> tuple[int, int]:
        """Levels a TLB miss walks in the guest dimension and in the host dimension, after the page sizes and the
        paging-structure caches (the profile's pwc_skip_levels, per dimension)."""
        levels = int(self.param("page_levels"))
        pwc = int(self.param("pwc_skip_levels"))
        n = max(1, levels - page_levels_saved(self.mode.guest_page) - pwc)
        m = max(1, levels - page_levels_saved(self.mode.host_page) - pwc)
        return n, m

    def walk_distribution(self, nested: bool) -> list[tuple[int, float]]:
        """Memory references of one TLB miss and their probabilities.

        Natively (and under shadow or PV paging) a miss walks ``n`` levels. Nested, each of the ``n`` guest
        table references and the final data address is a guest-physical address: one that hits the nested TLB
        (profile's nested_tlb_hit) costs nothing more, one that misses walks ``m`` host levels (Bhargava et al.,
        ASPLOS 2008). ``j`` host walks have binomial probability.
        """
        n, m = self._walk_levels()
        if not nested:
            return [(n, 1.0)]
        h = float(self.param("nested_tlb_hit"))
        return [(n + j * m, math.comb(n + 1, j) * (1 - h) ** j * h ** (n + 1 - j)) for j in range(n + 2)]

    def walk_refs(self, nested: bool) -> float:
        """Expected memory references of one TLB miss (the mean of :meth:`walk_distribution`)."""
        return sum(r * p for r, p in self.walk_distribution(nested))

    def walk_refs_worst(self, nested: bool) -> int:
        """References of a walk that hits no cache at all: ``(n+1)(m+1)-1`` nested, 24 for 4 and 4 levels."""
        n, m = self._walk_levels()
        return (n + 1) * (m + 1) - 1 if nested else n

    @property
    def two_d(self) -> bool:
        """Whether a TLB miss walks in two dimensions: nested paging, or any guest of a nested hypervisor (L1 runs
        on L0's EPT, so even its shadow or PV tables are walked through EPT01)."""
        return self.mode.memory == "nested" or self.mode.nested != "none"

    def walk_cycles(self, nested: bool | None = None) -> float:
        if nested is None:
            nested = self.two_d
        return self.walk_refs(nested) * self.param("walk_ref_cycles")

    @property
    def hw_assisted(self) -> bool:
        return self.mode.cpu in ("hvm", "pvh")

    @property
    def mitigated(self) -> bool:
        """The 2018 speculative-execution mitigations are on (mode part mitigations=2018)."""
        return self.mode.mitigations == "2018"

    def kernel_entry(self) -> list[Step]:
        """What a guest (or native) kernel entry and exit adds beyond the CPU's own cost: page-table isolation
        on a Meltdown CPU with the 2018 mitigations (KPTI in the kernel; for a Xen PV guest Xen's XPTI, whose
        page-table switches flush the TLB)."""
        if not (self.mitigated and self.hw.features.meltdown) or self.mode.cpu == "emulation":
            return []
        if self.mode.cpu == "pv":
            return [Step("Xen XPTI: switch to the restricted page tables and back", "hypervisor",
                         2 * self.param("cr3_switch_cycles")),
                    Step("TLB refill after the XPTI switches", "walk",
                         min(self.ws, self.param("tlb_entries")) * self.walk_cycles(False))]
        return [Step("KPTI: kernel page-table switch on entry and exit", "guest", KPTI_ENTRY_CYCLES[0])]

    def _refill(self, ws: float) -> list[Step]:
        pages = min(ws, self.param("tlb_entries"))
        return [Step("TLB refill (untagged TLB flushed)", "walk", pages * self.walk_cycles())]

    def exit(self, reason: str, handler: list[Step], ws: float = 0.0) -> list[Step]:
        """A trap to the hypervisor, handled in its kernel part, and the return."""
        if self.mode.nested != "none":  # L2's exit goes to L0, which reflects it to L1 (kit.costs.nested)
            return nested.reflected_exit(self, reason, handler, Step)
        rt = self.param("exit_roundtrip_cycles")
        family = self.family
        if self.is_arm:
            steps = [Step(f"trap to EL2 and return: {reason}", "transition", rt)]
            if family == "kvm" and not self.mode.el2_host:
                steps += self._arm_world_switch()
            elif family == "kvm":
                steps.append(Step("KVM (VHE): exit handled at EL2", "hypervisor", self.hv_cycles("arm_vhe_exit")))
            steps += handler
            return [Step(st.step, st.kind, st.cycles, st.reason or reason, st.count) for st in steps]
        steps = [Step(f"VM exit + entry: {reason}", "transition", rt),
                 Step(f"{family}: exit dispatch", "hypervisor", self.hv_cycles("exit_dispatch"))]
        if self.mitigated:
            steps.append(Step("Spectre v2: RSB fill and IBRS around the exit", "hypervisor", SPECTRE_EXIT_CYCLES[0]))
            if self.hw.features.l1tf and any(k in reason for k in L1D_FLUSH_EXITS[0]):
                steps.append(Step("L1TF: L1D flush before VM entry", "hypervisor", L1D_FLUSH_CYCLES[0]))
        steps += handler
        ws = ws or self.ws
        if not self.hw.features.tagged_tlb and ws:
            steps += self._refill(ws)
        return [Step(st.step, st.kind, st.cycles, st.reason or reason, st.count) for st in steps]

    def _arm_world_switch(self) -> list[Step]:
        """KVM/ARM split mode: every exit handled by the host switches EL1 worlds."""
        return [
            Step("EL1 system registers: save guest, restore host, and back", "transition",
                 2 * self.param("sysreg_switch_cycles")),
            Step("VGIC state save and restore", "transition", self.param("vgic_switch_cycles")),
            Step("virtual timer save and restore", "transition", self.hv_cycles("arm_timer_switch", "kvm")),
            Step("host EL1 run loop and hvc back to EL2", "hypervisor",
                 self.hv_cycles("arm_run_loop", "kvm") + self.param("exit_roundtrip_cycles")),
        ]

    def to_device_model(self, what: str = "device") -> list[Step]:
        """Forward an access to the userspace (or driver-domain, or host) device model."""
        family, arch = self.family, self.mode.arch
        if arch == "type2-hosted":
            return [Step("world switch to the host OS and back", "transition", 2 * self.param("world_switch_cycles")),
                    Step("hosted VMM: I/O dispatch to the VMX process", "backend", self.hv_cycles("hosted_io_dispatch")),
                    Step(f"VMX process: {what} emulation", "backend", self.hv_cycles("host_device"))]
        if family == "kvm":
            return [Step("exit to QEMU and back (KVM_RUN returns, two system calls)", "backend",
                         2 * self.param("syscall_cycles") + self.hv_cycles("user_exit")),
                    Step(f"QEMU: {what} emulation", "backend", self.hv_cycles("qemu_device"))]
        if family == "xen":
            return [Step("ioreq to the device model in dom0 (event channel, dom0 wakeup)", "backend",
                         self.hv_cycles("ioreq")),
                    Step(f"qemu-dm in dom0: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]
        if family == "hyperv":
            return [Step("intercept forwarded to the root partition's worker process", "backend",
                         self.hv_cycles("root_intercept")),
                    Step(f"worker process: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]
        return [Step(f"QEMU: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]

    # -- guest work ---------------------------------------------------------------------------
    def _tcg(self, instructions: float, what: str, cpi: float, call_density: float) -> list[Step]:
        """``instructions`` guest instructions run as TCG-translated code (Bellard, USENIX ATC 2005): each is a
        few host micro-operations, each memory reference a softmmu TLB lookup, each translation block ends in a
        chained jump, and each return or indirect branch leaves the chain to look its block up."""
        q = self._qemu
        return [Step(f"TCG: {what} as translated micro-operations", "emulation", instructions * q("tcg_op") * cpi),
                Step(f"TCG: softmmu TLB lookups of {what}", "emulation",
                     instructions * MEM_REFS_PER_INSTR[0] * q("softmmu_access") * cpi),
                Step(f"TCG: translation-block chaining and lookups in {what}", "emulation",
                     instructions * (BRANCHES_PER_INSTR[0] * q("tb_chained_exit") + call_density * q("tb_lookup")) * cpi)]

    def _qemu(self, path: str) -> float:
        """Host instructions of QEMU TCG's ``path`` (translated code runs at the guest code's CPI)."""
        return instructions("qemu", self.release, path)

    def _tcg_one(self, what: str) -> list[Step]:
        """One guest instruction's memory access under TCG (a store or load through the softmmu)."""
        return [Step(f"TCG: {what} through the softmmu", "emulation",
                     (self._qemu("tcg_op") + self._qemu("softmmu_access")) * self.cpi)]

    @event("user_instr", "user-mode instructions", takes_count=True)
    def ev_user_instr(self, instructions: float) -> list[Step]:
        if self.mode.cpu == "emulation":
            return self._tcg(instructions, "user code", self.user_cpi, USER_CALL_DENSITY[0])
        return [Step("guest user code", "guest", instructions * self.user_cpi)]

    @event("kernel_instr", "guest kernel instructions (handlers, scheduler, file system)", takes_count=True)
    def ev_kernel_instr(self, instructions: float) -> list[Step]:
        if self.mode.cpu == "emulation":
            return self._tcg(instructions, "kernel code", self.cpi, self.kernel_call_density)
        steps = [Step("guest kernel code", "guest", instructions * self.cpi)]
        if self.mode.cpu == "bt":
            calls = instructions * self.kernel_call_density
            steps.append(Step("BT: translated calls and returns in kernel code", "emulation",
                              calls * self.hv_cycles("bt_callret")))
        return steps

    @event("call_ret", "kernel call/return pairs (translated under binary translation)")
    def ev_call_ret(self) -> list[Step]:
        if self.mode.cpu == "bt":
            return [Step("BT: translated call and return (translation-cache lookup)", "emulation",
                         self.hv_cycles("bt_callret"))]
        return []

    @event("dram_lines", "cache lines refilled from DRAM")
    def ev_dram_lines(self) -> list[Step]:
        ns = self.param("mem_latency_ns") * self.param("freq_ghz") / DRAM_MLP[0]
        return [Step("cache lines refilled from DRAM", "device", ns)]

    # -- CPU events ---------------------------------------------------------------------------
    @event("syscall", "system calls")
    def ev_syscall(self) -> list[Step]:
        base = [Step("system call entry and return", "guest", self.param("syscall_cycles"))] + self.kernel_entry()
        cpu = self.mode.cpu
        if cpu == "emulation":  # the instruction raises an exception in a helper that leaves translated code
            return [Step("system call (TCG helper raises it and leaves translated code)", "emulation",
                         self.hv_cycles("helper", "qemu") + self.hv_cycles("exception", "qemu"))]
        if cpu == "pv" and self.hw.arch == "x86_64":
            # the guest kernel and its user space share ring 3 and have separate page tables: Xen takes the
            # system call, switches to the kernel's tables and back on return (toggle_guest_mode), and the user's
            # TLB entries are refilled afterwards
            return base + [Step("Xen: 64-bit PV system call bounces through the hypervisor", "hypervisor",
                                self.param("syscall_cycles") + self.hv_cycles("syscall_bounce")),
                           Step("Xen: switch to the guest kernel's page tables and back", "hypervisor",
                                2 * self.param("cr3_switch_cycles")),
                           Step("TLB refill after the page-table switches", "walk",
                                min(self.ws, self.param("tlb_entries")) * self.walk_cycles(False))]
        if cpu == "bt":
            reflections = 2 if self.guest_syscall == "sysenter" else 1
            return base + [Step(f"BT: VMM reflects the system call ({self.guest_syscall})", "hypervisor",
                                reflections * self.hv_cycles("bt_syscall_reflect"))]
        return base

    @event("exception", "exceptions handled by the guest kernel (divide error, protection fault)")
    def ev_exception(self) -> list[Step]:
        base = [Step("exception delivery and return", "guest", self.param("exception_cycles"))] + self.kernel_entry()
        cpu = self.mode.cpu
        if cpu == "pv":
            return base + [Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.hv_cycles("trap_bounce"))]
        if cpu == "bt":
            return base + [Step("BT: VMM classifies the fault and reflects it", "hypervisor", self.hv_cycles("bt_fault_reflect"))]
        if cpu == "emulation":
            return [Step("exception (TCG unwinds translated code)", "emulation", self.hv_cycles("exception", "qemu"))]
        return base

    @event("pagefault", "demand page faults, each with one PTE write by the guest")
    def ev_pagefault(self) -> list[Step]:
        mem, cpu = self.mode.memory, self.mode.cpu
        steps = [Step("page-fault delivery and return", "guest", self.param("exception_cycles"))] + self.kernel_entry()
        if mem == "softmmu":
            return [Step("page fault (TCG softmmu miss and guest fault)", "emulation",
                         self.hv_cycles("exception", "qemu") + self.hv_cycles("helper", "qemu"))]
        if mem == "pv-direct":
            steps.append(Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.hv_cycles("trap_bounce")))
            return steps + self.ev_pte_write(batch=1)
        if mem == "shadow" and self.hw_assisted:
            steps += self.exit("#PF (shadow paging)", [
                Step(f"{self.family}: classify fault against guest tables, inject", "hypervisor",
                     self.hv_cycles("shadow_pf"))])
            return steps + self.ev_pte_write()
        if mem == "shadow" and cpu == "bt":
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
        mem = self.mode.memory
        if mem == "pv-direct":
            per_call = max(1.0, batch)
            hc = self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")
            return [Step("Xen: mmu_update hypercall (amortized over the batch)", "transition", hc / per_call),
                    Step("Xen: validate the page-table update", "hypervisor", self.hv_cycles("mmu_update"))]
        if mem == "shadow" and self.hw_assisted:
            return self.exit("write to a write-protected guest page table", [
                Step(f"{self.family}: decode and emulate the write", "emulation", self.hv_cycles("emulate")),
                Step(f"{self.family}: update the shadow entry", "hypervisor", self.hv_cycles("shadow_update"))])
        if mem == "shadow" and self.mode.cpu == "bt":
            return [Step("BT: traced page-table write updates the shadow", "hypervisor", self.hv_cycles("bt_traced_pte"))]
        if mem == "softmmu":
            return self._tcg_one("page-table store")
        return [Step("page-table store", "guest", PTE_STORE_CYCLES[0])]

    @event("invlpg", "single-page TLB invalidations")
    def ev_invlpg(self) -> list[Step]:
        mem = self.mode.memory
        if mem == "shadow" and self.hw_assisted:
            return self.exit("INVLPG (shadow paging)", [
                Step(f"{self.family}: drop the shadow entry", "hypervisor", self.hv_cycles("shadow_invlpg"))])
        if mem == "shadow":
            # the traced PTE write already dropped the shadow entry
            return [Step("BT: translated INVLPG calls out to the VMM", "hypervisor", self.hv_cycles("bt_callout"))]
        if mem == "pv-direct":
            return [Step("Xen: mmuext_op INVLPG hypercall", "transition",
                         self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")),
                    Step("INVLPG", "guest", INVLPG_CYCLES[0])]
        return [Step("INVLPG", "guest", INVLPG_CYCLES[0])]

    @event("pt_page", "page-table pages created or torn down")
    def ev_pt_page(self) -> list[Step]:
        mem = self.mode.memory
        entries = 1024 if self.param("page_levels") == 2 else 512
        if mem == "pv-direct":
            return [Step("Xen: pin or unpin a page-table page (validate every entry)", "hypervisor",
                         entries * self.hv_cycles("pt_validate_entry")),
                    Step("Xen: mmuext_op pin hypercall", "transition",
                         self.param("syscall_cycles") + self.hv_cycles("pv_hypercall"))]
        if mem == "shadow":
            return [Step("shadow page allocated and initialised", "hypervisor", self.hv_cycles("shadow_alloc"))]
        return []

    @event("cr3_load", "address-space switches")
    def ev_cr3_load(self, ws: float = 0.0, spaces: float = 2.0) -> list[Step]:
        mem = self.mode.memory
        # the guest's own CR3 load flushes its (untagged) TLB entries: the working set is
        # walked again, with 2-D walks under nested paging
        native = [Step("address-space switch (CR3 load)", "guest", self.param("cr3_switch_cycles")),
                  Step("TLB refill after the switch", "walk", min(ws, self.param("tlb_entries")) * self.walk_cycles())]
        if mem == "pv-direct":
            return native + [Step("Xen: mmuext_op new_baseptr and stack_switch hypercalls", "hypervisor",
                                  2 * (self.param("syscall_cycles") + self.hv_cycles("pv_hypercall")) + self.hv_cycles("cr3"))]
        if mem == "shadow":
            if self.hw_assisted:
                # KVM keeps a few previous shadow roots; with more address spaces in rotation a
                # switch misses that cache and reloads and resynchronizes the root
                hit = min(1.0, SHADOW_PREV_ROOTS[0] / max(1.0, spaces))
                steps = native + self.exit("CR3 load (shadow paging)", [
                    Step(f"{self.family}: switch shadow root", "hypervisor", self.hv_cycles("shadow_cr3", "kvm")),
                    Step(f"{self.family}: reload and sync the shadow root (previous-root cache miss)", "hypervisor",
                         (1.0 - hit) * self.hv_cycles("shadow_root_load", "kvm"))])
            else:
                steps = native + [Step("BT: translated CR3 load calls out to the VMM", "hypervisor",
                                       self.hv_cycles("bt_callout"))]
            if not self.mode.shadow_cache:
                steps.append(Step("hidden faults: shadows rebuilt for the working set", "hypervisor",
                                  ws * (self.param("exception_cycles") + self.hv_cycles("hidden_fault"))))
            return steps
        if mem == "softmmu":  # QEMU flushes its software TLB; the working set refills it through tlb_fill
            return [Step("CR3 load (TCG helper flushes its softmmu TLB)", "emulation",
                         self.hv_cycles("helper", "qemu") + self.hv_cycles("tlb_flush", "qemu")),
                    Step("softmmu TLB refills after the flush", "emulation",
                         min(ws, SOFTMMU_TLB_ENTRIES[0]) * self.hv_cycles("softmmu_fill", "qemu"))]
        return native

    @event("tlb_miss", "TLB misses (page walks)")
    def ev_tlb_miss(self) -> list[Step]:
        if self.mode.memory == "softmmu":
            return [Step("softmmu TLB miss (tlb_fill walks the guest page tables in C)", "emulation",
                         self.hv_cycles("softmmu_fill", "qemu"))]
        two_d = self.two_d
        label = "2-D page walk (nested paging)" if two_d else "page walk"
        return [Step(label, "walk", self.walk_cycles(two_d))]

    # -- privileged instructions -----------------------------------------------------------------
    def _emul_helper(self, what):
        return [Step(f"TCG helper: {what}", "emulation", self.hv_cycles("helper", "qemu"))]

    @event("cpuid", "CPUID instructions")
    def ev_cpuid(self) -> list[Step]:
        cpu = self.mode.cpu
        if self.hw_assisted:
            return self.exit("CPUID", [Step(f"{self.family}: emulate CPUID", "hypervisor", self.hv_cycles("cpuid", "kvm"))])
        if cpu == "bt":
            return [Step("BT: translated CPUID calls out to the VMM", "hypervisor", self.hv_cycles("bt_callout")),
                     Step("VMM emulates CPUID", "hypervisor", self.hv_cycles("cpuid", "kvm"))]
        if cpu == "emulation":
            return self._emul_helper("CPUID")
        return [Step("CPUID", "guest", self.param("cpuid_cycles"))]

    @event("hypercall", "null hypercalls")
    def ev_hypercall(self) -> list[Step]:
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("function call (no hypervisor)", "guest", HYPERCALL_NATIVE[0])]
        if cpu == "pv":
            return [Step("PV hypercall trap into Xen and return", "transition", self.param("syscall_cycles")),
                    Step("Xen: hypercall dispatch", "hypervisor", self.hv_cycles("pv_hypercall") + self.hv_cycles("hypercall"))]
        if cpu == "bt":
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))]
        if cpu == "emulation":
            return self._emul_helper("hypercall")
        if self.is_arm and family == "xen":
            return self.exit("HVC", [Step("Xen: hypercall handler", "hypervisor", self.hv_cycles("arm_hypercall"))])
        name = "HVC" if self.is_arm else "VMCALL"
        return self.exit(name, [Step(f"{family}: hypercall handler", "hypervisor", self.hv_cycles("hypercall"))])

    @event("cr8_write", "writes of the task-priority register (CR8)")
    def ev_cr8_write(self) -> list[Step]:
        cpu, f = self.mode.cpu, self.hw.features
        native = [Step("TPR (CR8) write", "guest", self.param("msr_write_cycles"))]
        if cpu == "bt":
            return [Step("BT: CR8 write becomes a store to the virtual TPR", "emulation", self.hv_cycles("bt_cr8"))]
        if cpu == "emulation":
            return self._emul_helper("CR8 write")
        if self.hw_assisted and not (f.tpr_shadow or f.apicv):
            return self.exit("CR8 write", [Step(f"{self.family}: update the virtual TPR", "hypervisor",
                                                self.hv_cycles("apic_access"))])
        return native

    # -- I/O --------------------------------------------------------------------------------------
    def _pio(self, where: str, direction: str):
        cpu, family = self.mode.cpu, self.family
        native = [Step(f"port {direction} on the chipset", "device", self.param("port_io_cycles"))]
        if cpu == "native":
            return native
        if cpu == "emulation":
            steps = self._emul_helper(f"port {direction}")
            return steps + (self.to_device_model() if where != "local" else [])
        if cpu == "bt":
            if where == "local":
                return [Step("BT: translated port access calls the VMM's device directly", "hypervisor",
                             self.hv_cycles("bt_inline_device"))]
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))] + self.to_device_model()
        if cpu == "pv":
            steps = [Step("#GP delivery to Xen", "transition", self.param("exception_cycles")),
                     Step("Xen: emulate the privileged I/O instruction", "emulation", self.hv_cycles("emulate_priv"))]
            return steps + (self.to_device_model() if where != "local" else [])
        if self.mode.arch == "type2-hosted":
            return self.exit(f"I/O instruction ({direction})", [
                Step(f"{family}: decode the I/O exit", "emulation", self.hv_cycles("emulate"))]) + self.to_device_model()
        handler = []
        if direction == "in" and family == "kvm":
            handler.append(Step("kvm: instruction emulation", "emulation", self.hv_cycles("emulate")))
        else:
            handler.append(Step(f"{family}: fast port-I/O path", "hypervisor", self.hv_cycles("pio_fast", "kvm")))
        steps = self.exit(f"I/O instruction ({direction})", handler)
        if where == "local":
            steps.append(Step("in-kernel device emulation", "hypervisor", self.hv_cycles("qemu_device", "kvm")))
        else:
            steps += self.to_device_model()
        if where == "pmtimer":
            steps.append(Step("device model reads the host clock (ACPI PM timer)", "backend",
                              self.hv_cycles("qemu_pmtimer", "kvm")))
        return steps

    @event("pio_local", "port reads of a device emulated in the hypervisor or kernel")
    def ev_pio_local(self) -> list[Step]:
        return self._pio("local", "in")

    @event("pio_out_local", "port writes to an in-kernel device")
    def ev_pio_out_local(self) -> list[Step]:
        return self._pio("local", "out")

    @event("pio_user", "port I/O to a device emulated by the userspace device model")
    def ev_pio_user(self) -> list[Step]:
        return self._pio("user", "in")

    @event("pio_pmtimer", "port reads of the ACPI PM timer in the device model")
    def ev_pio_pmtimer(self) -> list[Step]:
        return self._pio("pmtimer", "in")

    def _mmio(self, where: str):
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("uncached device-register read", "device", self.param("mmio_read_cycles"))]
        if cpu == "emulation":
            return self._emul_helper("MMIO") + (self.to_device_model() if where == "user" else [])
        if cpu in ("bt", "pv"):
            return ([Step("page fault on the unmapped device page", "transition", self.param("exception_cycles")),
                     Step("VMM decodes and emulates the access", "emulation",
                          self.hv_cycles("emulate_priv", "xen"))] + (self.to_device_model() if where == "user" else []))
        if self.is_arm:
            handler: Step = (Step("Xen: emulate the GIC distributor access", "hypervisor", self.hv_cycles("arm_mmio_vgic"))
                       if family == "xen" else
                       Step("KVM: stage-2 abort decoded from the syndrome, VGIC distributor emulation",
                            "hypervisor", self.hv_cycles("arm_mmio_vgic", "kvm")))
            steps = self.exit("stage-2 data abort (MMIO)", [handler] if where == "local" else [])
            if where == "user":
                steps += self.to_device_model()
            return steps
        handlers = [Step(f"{family}: decode the MMIO access", "emulation", self.hv_cycles("mmio_decode"))]
        if where == "local":
            handlers.append(Step(f"{family}: in-kernel device emulation", "hypervisor", self.hv_cycles("apic_access")))
        # KVM marks MMIO pages with reserved bits in its EPT entries, so an access takes the fast misconfiguration
        # exit; Xen and Hyper-V leave them unmapped (Xen's p2m_mmio_dm type), so an access is an EPT violation
        reason = "EPT misconfiguration (MMIO)" if self.mode.arch == "in-kernel" else "EPT violation (MMIO)"
        steps = self.exit(reason, handlers)
        if where == "user":
            steps += self.to_device_model()
        return steps

    @event("mmio_local", "MMIO reads of an in-kernel device (interrupt controller)")
    def ev_mmio_local(self) -> list[Step]:
        return self._mmio("local")

    @event("mmio_user", "MMIO reads of a userspace-emulated device")
    def ev_mmio_user(self) -> list[Step]:
        return self._mmio("user")

    # -- interrupts and timers ---------------------------------------------------------------------
    def _virtual_irq_delivery(self):
        """Delivering an interrupt to a running vCPU, after the hypervisor has it."""
        it, family = self.mode.interrupts, self.family
        guest = [Step("guest interrupt handler entry and return", "guest", self.param("irq_cycles"))] + self.kernel_entry()
        if it == "posted":
            return [Step("posted-interrupt notification (no exit)", "transition", self.param("ipi_cycles") * POSTED_NOTIFY_FRACTION[0])] + guest
        if it == "vgic":
            return [Step("list register written; guest takes the virtual IRQ", "hypervisor",
                         self.hv_cycles("inject", "kvm"))] + guest
        if it == "event-channel":
            return [Step("Xen: event-channel upcall to the guest", "hypervisor", self.hv_cycles("upcall", "xen"))] + guest
        inject = [Step(f"{family}: inject the interrupt on VM entry", "hypervisor", self.hv_cycles("inject"))]
        if self.hw_assisted:  # some injections find interrupts disabled and wait for an interrupt window
            f = INTERRUPT_WINDOW_FRACTION[0]
            inject += [Step(s.step, s.kind, s.cycles * f, s.reason, s.count * f)
                       for s in self.exit("interrupt window", [])]
        return inject + guest

    def _remote_interrupt(self, target: str = "the guest's CPU", reason: str = "external interrupt") -> list[Step]:
        """The shared tail of an interrupt sent to a vCPU on another CPU: the physical IPI, the exit it causes
        on a hardware-assisted CPU unless interrupts are posted, delivery to the guest and its EOI."""
        steps = [Step(f"physical IPI to {target}", "device", self.param("ipi_cycles"))]
        if self.hw_assisted and self.mode.interrupts != "posted":
            steps += self.exit(reason, [])
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    @event("virtual_irq", "virtual interrupts delivered to a running vCPU and completed (after the hypervisor has them)")
    def ev_virtual_irq(self) -> list[Step]:
        return self._virtual_irq_delivery() + self.ev_eoi()

    @event("eoi", "end-of-interrupt writes")
    def ev_eoi(self) -> list[Step]:
        it, cpu = self.mode.interrupts, self.mode.cpu
        native = [Step("end-of-interrupt write", "guest", EOI_CYCLES[0])]
        if cpu == "native" or it in ("apicv", "posted", "vgic", "eli"):
            label = ("virtual EOI completed by the hardware (no exit)" if cpu != "native" else None)
            return [Step(label, "guest", EOI_CYCLES[0])] if label else native
        if it == "event-channel":
            return [Step("clear the event-channel pending bit", "guest", EOI_CYCLES[0])]
        if cpu == "bt":
            return [Step("BT: translated EOI write calls out to the VMM's APIC", "hypervisor",
                         self.hv_cycles("bt_callout") + self.hv_cycles("eoi", "kvm"))]
        if cpu == "emulation":
            return [Step("virtual APIC EOI emulated", "emulation", self.hv_cycles("helper", "qemu"))]
        return self.exit("APIC access (EOI)", [Step(f"{self.family}: EOI emulation", "hypervisor", self.hv_cycles("eoi"))])

    @event("timer_arm", "TSC-deadline timer programmings")
    def ev_timer_arm(self, immediate: bool = False) -> list[Step]:
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            steps = [Step("WRMSR TSC_DEADLINE", "guest", self.param("msr_write_cycles"))]
        elif cpu == "pv":
            steps = [Step("set_timer_op hypercall", "transition", self.param("syscall_cycles")),
                     Step("Xen: program a timer", "hypervisor", self.hv_cycles("timer_arm", "xen"))]
        elif cpu in ("bt", "emulation"):
            steps = self._emul_helper("timer programming")
        elif self.is_arm:  # the virtual timer's compare register belongs to the guest: no trap
            steps = [Step("CNTV_CVAL_EL0 write (virtual timer, no trap)", "guest", self.param("msr_write_cycles"))]
        else:
            path = "timer_arm" if (self.hw.features.preemption_timer or family != "kvm" or self.is_arm) else "timer_arm_hrtimer"
            steps = self.exit("MSR write (TSC deadline)", [Step(f"{family}: program the guest timer", "hypervisor",
                                                               self.hv_cycles(path))])
        if immediate:
            steps += self._virtual_irq_delivery() if cpu != "native" else [
                Step("timer interrupt handler entry and return", "guest", self.param("irq_cycles"))]
            steps += self.ev_eoi()
        return steps

    @event("timer_fire", "timer interrupts taken")
    def ev_timer_fire(self) -> list[Step]:
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("timer interrupt handler entry and return", "guest", self.param("irq_cycles"))] + \
                self.kernel_entry() + self.ev_eoi()
        if self.hw_assisted:
            reason = "VMX preemption timer" if self.hw.features.preemption_timer else "external interrupt (host timer)"
            steps = self.exit(reason, [Step(f"{family}: expire the guest timer", "hypervisor", self.hv_cycles("timer_fire"))])
        else:
            steps = [Step("hypervisor timer interrupt", "hypervisor", self.param("irq_cycles"))]
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    @event("irq", "device interrupts delivered to the guest")
    def ev_irq(self) -> list[Step]:
        """A device interrupt for the guest (from a passthrough device or a backend)."""
        cpu, it = self.mode.cpu, self.mode.interrupts
        if cpu == "native":
            return [Step("interrupt handler entry and return", "guest", self.param("irq_cycles"))] + \
                self.kernel_entry() + self.ev_eoi()
        if it == "posted":
            return self._virtual_irq_delivery() + self.ev_eoi()
        if it == "eli":
            return [Step("ELI: the assigned device's interrupt enters the guest through its shadow IDT (no exit)",
                         "guest", self.param("irq_cycles"))] + self.ev_eoi()
        host = [Step("hypervisor takes the physical interrupt", "hypervisor",
                     self.param("irq_cycles") + self.hv_cycles("irq_host"))]
        if self.hw_assisted:
            steps = self.exit("external interrupt", host)
        else:
            steps = host
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    @event("ipi", "inter-processor interrupts sent and received")
    def ev_ipi(self) -> list[Step]:
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("IPI send and delivery", "device", self.param("ipi_cycles")),
                    Step("IPI handler entry and return", "guest", self.param("irq_cycles"))] + self.kernel_entry() + self.ev_eoi()
        if cpu == "pv":
            return [Step("EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles")),
                    Step("Xen: mark the event and notify the target", "hypervisor", self.hv_cycles("evtchn_send", "xen"))] + \
                self._remote_interrupt("the target CPU")
        if cpu in ("bt", "emulation"):
            return [Step("VMM emulates the IPI", "emulation", self.hv_cycles("helper", "qemu"))] + \
                self._remote_interrupt("the target CPU")
        if self.is_arm:
            reason = "GICD_SGIR write (GICv2 MMIO)" if self.hw.features.gic == "v2" else "ICC_SGI1R write (GICv3 sysreg)"
        else:
            reason = "APIC ICR write"
        steps = self.exit(reason, [Step(f"{family}: send the virtual IPI", "hypervisor", self.hv_cycles("ipi_send"))])
        return steps + self._remote_interrupt("the target CPU", "external interrupt on the target")

    # -- waking and switching: the scheduler that runs a vCPU or a backend ----------------------------
    @property
    def type1(self) -> bool:
        """The hypervisor schedules vCPUs itself (Xen, Hyper-V); otherwise they are threads of a host OS."""
        return self.mode.arch.startswith("type1")

    def _arm_vm_state(self, directions: float = 1.0) -> list[Step]:
        """ARM: a VM's EL1 system registers, VGIC and virtual timer switched in ``directions`` directions."""
        if not self.is_arm:
            return []
        return [Step("EL1 system registers, VGIC and virtual timer of a VM switched", "transition",
                     directions * (self.param("sysreg_switch_cycles")
                                   + ARM_STATE_ONE_WAY[0] * (self.param("vgic_switch_cycles")
                                                             + self.hv_cycles("arm_timer_switch", "kvm"))))]

    def schedule_in(self, who: str, kind: str = "hypervisor") -> list[Step]:
        """A blocked vCPU (or dom0's, or the root partition's) made to run on an idle CPU by a type-1 hypervisor:
        the IPI that wakes that CPU, the scheduler, and the vCPU's state restored (on ARM its EL1 and VGIC
        state too). This is why a notification to Xen's dom0 costs more than a trap (Dall et al., ISCA 2016,
        section V: dom0 must be scheduled to handle the I/O)."""
        fam = self.family if self.type1 else "xen"
        return ([Step(f"IPI to the idle CPU of {who}", "device", self.param("ipi_cycles")),
                 Step(f"{fam}: scheduler picks {who}", kind, self.hv_cycles("schedule", fam)),
                 Step(f"{fam}: restore the state of {who}", kind, self.hv_cycles("vcpu_restore", fam))]
                + [Step(s.step, kind, s.cycles) for s in self._arm_vm_state()])

    def thread_wake(self, who: str, kind: str = "hypervisor") -> list[Step]:
        """A sleeping host thread (a vCPU thread, a vhost worker, an I/O thread) woken on an idle CPU: the
        reschedule IPI, try_to_wake_up and a context switch into it."""
        return [Step(f"reschedule IPI to the idle CPU of {who}", "device", self.param("ipi_cycles")),
                Step(f"host scheduler wakes {who} and switches to it", kind, self.hv_cycles("thread_wake", "kvm"))]

    def backend_wake(self) -> list[Step]:
        """Waking the backend that serves this mode's I/O path when it sleeps between batches."""
        io = self.mode.io
        if io in ("native", "sriov") or self.mode.arch == "type1-hypervisor-drivers":
            return []
        if self.type1:  # dom0 (Xen) or the root partition (Hyper-V) is a VM: it must be scheduled, then upcalled
            who = "the root partition" if self.family == "hyperv" else "dom0"
            return self.schedule_in(who, "backend") + [
                Step(f"upcall into {who}'s kernel", "backend",
                     self.hv_cycles("upcall", "xen") + self.param("irq_cycles"))]
        return self.thread_wake("the vhost worker" if io == "vhost" else "the device model's I/O thread", "backend")

    @event("halt_wake", "a vCPU idles (HLT) and is woken by an interrupt")
    def ev_halt_wake(self, polled: bool = False) -> list[Step]:
        """A vCPU idles (HLT) and is woken by an interrupt.

        The mechanism depends on who schedules the vCPU: a type-1 hypervisor blocks it (scheduler, state saved)
        and later schedules it in on its idle CPU; an in-kernel hypervisor's or a hosted VMM's vCPU is a host
        thread that sleeps and is woken by the host scheduler (a hosted VMM also leaves its world and comes
        back). With ``polled`` the wakeup arrived while KVM was still halt-polling, so the vCPU thread was never
        scheduled out.
        """
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("wake from idle (interrupt)", "guest", self.param("irq_cycles"))]
        if polled and self.hw_assisted and self.mode.arch == "in-kernel":
            return self.exit("HLT" if not self.is_arm else "WFI", [Step("kvm: halt-polling sees the interrupt, re-enters", "hypervisor",
                                          self.hv_cycles("halt_poll_hit", "kvm"))])
        if self.type1:
            fam = family if family in ("xen", "hyperv") else "xen"
            block = [Step(f"{fam}: block the vCPU (scheduler picks the idle vCPU)", "hypervisor",
                          self.hv_cycles("schedule", fam)),
                     Step(f"{fam}: save the blocked vCPU's state", "hypervisor", self.hv_cycles("vcpu_save", fam))]
            block += self._arm_vm_state()
            wake = self.schedule_in("the woken vCPU")
            if cpu == "pv":
                return [Step("SCHEDOP_block hypercall", "transition", self.param("syscall_cycles"))] + block + wake
            return self.exit("HLT" if not self.is_arm else "WFI", block + wake)
        if self.mode.arch == "type2-hosted":
            steps = [Step("world switch to the host OS and back", "transition", 2 * self.param("world_switch_cycles"))]
            steps += self.thread_wake("the VMM's thread")
            return self.exit("HLT", steps) if self.hw_assisted else steps
        steps = self.thread_wake("the vCPU thread")
        return self.exit("HLT" if not self.is_arm else "WFI", steps) if self.hw_assisted else steps

    @event("vm_switch", "switches between two VMs on one CPU")
    def ev_vm_switch(self) -> list[Step]:
        cpu, family = self.mode.cpu, self.family
        if cpu == "native":
            return [Step("process context switch", "guest", self.param("cr3_switch_cycles") + 2 * self.param("syscall_cycles"))]
        if self.type1:
            fam = family if family in ("xen", "hyperv") else "xen"
            steps = [Step(f"{fam}: scheduler picks the other VM's vCPU", "hypervisor", self.hv_cycles("schedule", fam)),
                     Step(f"{fam}: save one vCPU's state, restore the other's", "hypervisor",
                          self.hv_cycles("vcpu_save", fam) + self.hv_cycles("vcpu_restore", fam))]
        else:
            steps = [Step(f"{family}: save one VM's state, schedule, load the other's", "hypervisor",
                          self.hv_cycles("vm_switch"))]
        steps = self._arm_vm_state(2.0) + steps
        if self.mitigated and not self.is_arm:
            steps.append(Step("Spectre v2: IBPB when the CPU switches VMs", "hypervisor", IBPB_CYCLES[0]))
        if self.hw_assisted:
            steps = self.exit("timer (preemption)", steps)
        return steps

    # -- one-way signalling latencies (Dall et al., ISCA 2016, section V) ---------------------------
    def _one_way_trap(self, reason: str) -> list[Step]:
        """The guest's trap into the hypervisor, one way (half the round trip; on split-mode KVM/ARM the switch
        to the host's EL1 world, one way)."""
        label = "trap to EL2 (one way)" if self.is_arm else "VM exit (one way)"
        steps = [Step(f"{label}: {reason}", "transition", self.param("exit_roundtrip_cycles") / 2)]
        if self.is_arm and self.family == "kvm" and not self.mode.el2_host:
            steps += self._arm_vm_state() + [Step("host EL1 run loop", "hypervisor", self.hv_cycles("arm_run_loop", "kvm"))]
        elif not self.is_arm:
            steps.append(Step(f"{self.family}: exit dispatch", "hypervisor", self.hv_cycles("exit_dispatch")))
        return steps

    def _one_way_entry(self) -> Step:
        """Entering the guest, one way (half the exit round trip)."""
        return Step("eret to the guest (one way)" if self.is_arm else "VM entry (one way)", "transition",
                    self.param("exit_roundtrip_cycles") / 2)

    @event("io_signal_out", "one-way latency from the guest signalling its virtual I/O device to the device "
                            "receiving the signal (Dall et al.'s I/O latency out)")
    def ev_io_signal_out(self) -> list[Step]:
        io = self.mode.io
        if io in ("native", "sriov"):
            return [Step("doorbell write to the device", "device", DOORBELL_CYCLES[0])]
        if io == "pv-split":
            head = ([Step("EVTCHNOP_send hypercall, one way", "transition", self.param("syscall_cycles") / 2)]
                    if self.mode.cpu == "pv" else self._one_way_trap("event channel send"))
            head.append(Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen")))
            if self.mode.arch == "type1-hypervisor-drivers":
                return head
            return head + self.backend_wake()
        if io in ("vhost", "virtio") or (io == "emulated" and self.mode.arch == "in-kernel"):
            # the device is signalled in the host kernel (ioeventfd), which the exit has reached
            return self._one_way_trap("MMIO/PIO kick") + [
                Step("kvm: ioeventfd signals the device", "hypervisor", self.hv_cycles("ioeventfd", "kvm"))]
        if io == "vmbus":
            return self._one_way_trap("VMBus signal hypercall") + [
                Step("hyperv: post to the root partition", "hypervisor", self.hv_cycles("vmbus_signal", "hyperv"))] \
                + self.backend_wake()
        if io == "hosted":
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout")),
                    Step("world switch to the host OS, one way", "transition", self.param("world_switch_cycles")),
                    Step("hosted VMM: I/O dispatch to the VMX process", "backend", self.hv_cycles("hosted_io_dispatch"))]
        return self.ev_io_kick()

    @event("io_signal_in", "one-way latency from the virtual I/O device signalling the guest to an idle vCPU "
                           "taking the virtual interrupt (Dall et al.'s I/O latency in)")
    def ev_io_signal_in(self) -> list[Step]:
        io, cpu = self.mode.io, self.mode.cpu
        guest = [Step("guest interrupt handler entry", "guest", self.param("irq_cycles"))]
        if cpu == "native":
            return guest
        if io == "sriov" and self.mode.interrupts == "posted":
            return [Step("posted interrupt wakes the vCPU's CPU", "device", self.param("ipi_cycles"))] + \
                self.thread_wake("the vCPU thread") + guest
        if self.type1:
            if io == "pv-split" and self.mode.arch != "type1-hypervisor-drivers":
                sender = [Step("dom0: EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles")
                               if not self.hw_assisted else self.param("exit_roundtrip_cycles")),
                          Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen"))]
            elif io == "vmbus":
                sender = [Step("root partition: VMBus signal hypercall", "transition", self.param("exit_roundtrip_cycles")),
                          Step("hyperv: signal the guest", "hypervisor", self.hv_cycles("vmbus_signal", "hyperv"))]
            else:
                sender = [Step("the hypervisor's driver raises the event", "hypervisor", self.hv_cycles("evtchn_send", "xen"))]
            entry = [self._one_way_entry()] if self.hw_assisted else []
            return sender + self.schedule_in("the guest's vCPU") + entry + self._virtual_irq_delivery()
        if io in ("vhost", "virtio", "emulated", "sriov"):
            sender = [Step("irqfd: inject into the in-kernel interrupt controller", "hypervisor",
                           self.hv_cycles("irqfd", "kvm"))]
            entry = self._arm_vm_state() if (self.is_arm and not self.mode.el2_host) else []
            entry += [self._one_way_entry()] if self.hw_assisted else []
            return sender + self.thread_wake("the vCPU thread") + entry + self._virtual_irq_delivery()
        return self.ev_io_notify()

    @event("io_kick", "guest notifications of an I/O backend (doorbell, kick, event channel)")
    def ev_io_kick(self) -> list[Step]:
        """Guest notifies the I/O backend; cycles until the backend runs."""
        io = self.mode.io
        if io in NATIVE_DEVICE_IO or io == "sriov":
            return [Step("doorbell write to the device", "device", DOORBELL_CYCLES[0])]
        if io == "pv-split":
            if self.mode.cpu == "pv":
                head = [Step("EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles"))]
            else:
                head = self.exit("HVC/VMCALL (event channel send)", [])
            if self.mode.arch == "type1-hypervisor-drivers":  # Xen 1.0: the hypervisor's driver takes the ring
                return head + [Step("Xen: notification reaches the hypervisor's own driver", "hypervisor",
                                    self.hv_cycles("evtchn_send", "xen"))]
            return head + [Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen")),
                           Step("dom0 woken: backend (netback/blkback) runs", "backend",
                                sum(s.cycles for s in self.backend_wake()))]
        if io == "vhost":
            reason = "MMIO/PIO kick (ioeventfd)"
            return self.exit(reason, [Step("kvm: ioeventfd signals the vhost worker", "hypervisor",
                                           self.hv_cycles("ioeventfd", "kvm"))]) + [
                Step("vhost worker woken on the backend CPU", "backend", sum(s.cycles for s in self.backend_wake()))]
        if io == "vmbus":
            return self.exit("VMBus signal hypercall", [Step("hyperv: post to the root partition", "backend",
                                                             self.hv_cycles("vmbus_signal", "hyperv"))])
        if io == "hosted" and self.mode.cpu == "bt":
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))] + self.to_device_model("NIC")
        # emulated registers or virtio with a QEMU backend: one exit to the device model
        return self._mmio("user") if io == "emulated" else self._pio("user", "out")

    @event("io_notify", "backend notifications of the guest (virtual interrupt)")
    def ev_io_notify(self) -> list[Step]:
        """Backend signals the guest: a virtual interrupt reaches the running vCPU."""
        io = self.mode.io
        if io in NATIVE_DEVICE_IO:
            return self.ev_irq()
        if io == "sriov":
            return [Step("IOMMU interrupt remapping", "device", self.param("iotlb_miss_cycles") * IRQ_REMAP_MISS_FRACTION[0])] + self.ev_irq()
        if io == "pv-split" and self.mode.arch == "type1-hypervisor-drivers":
            return [Step("Xen's driver takes the device interrupt", "hypervisor",
                         self.param("irq_cycles") + self.hv_cycles("irq_host", "xen"))] + self.ev_virtual_irq()
        if io == "pv-split":
            return [Step("dom0 backend: EVTCHNOP_send", "backend",
                         self.param("syscall_cycles") + self.hv_cycles("evtchn_send", "xen"))] + self._remote_interrupt()
        if io == "vhost":
            return [Step("vhost: irqfd injection", "backend", self.hv_cycles("irqfd", "kvm"))] + \
                self._remote_interrupt()
        # device model (QEMU, VMX process, root partition) raises the interrupt
        return [Step("device model raises the interrupt (ioctl)", "backend",
                     self.param("syscall_cycles") + self.hv_cycles("irqfd", "kvm"))] + self._remote_interrupt()


#: Events an operation may contain, with their meaning (generated from the registry).
EVENTS: dict[str, str] = {name: d.meaning for name, d in EVENT_REGISTRY.items()}


def guest_rearms_timer(hw: Hardware) -> bool:
    """Whether the profile's era of guest kernel re-arms its one-shot timer at every tick."""
    return hw.year >= GUEST_TIMER_REARM_YEAR[0]


def default_guest_syscall(hw: Hardware) -> str:
    """The system-call instruction a guest of the profile's era uses.

    Linux 2.4 on i386 (2003) entered the kernel with ``int 0x80``; from Linux
    2.6 glibc used ``sysenter`` through the vsyscall page on 32-bit x86, and
    64-bit kernels use ``syscall``; ARM uses ``svc``.
    """
    if hw.is_arm:
        return "svc"
    if hw.arch == "x86_64":
        return "syscall"
    return "int80" if hw.year < 2004 else "sysenter"


#: Previous shadow roots KVM caches for fast CR3 switches.
SHADOW_PREV_ROOTS = (3, "Linux arch/x86/include/asm/kvm_host.h: KVM_MMU_NUM_PREV_ROOTS is 3")

#: The most page-table updates one Xen mmu_update hypercall may carry.
PV_BATCH_MAX = (2048, "Barham et al., SOSP 2003, section 3.3: up to 2,048 updates batched per hypercall")
