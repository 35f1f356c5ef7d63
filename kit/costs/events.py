"""Per-operation cost model.

An operation (``kit.ops``) is a vector of primitive guest events: system
calls, exceptions, page faults, page-table writes, CR3 loads, port and MMIO
accesses, hypercalls, timer and interrupt events, plus native kernel and user
work. :class:`CostModel` turns each event into the *path* it takes under a
hypervisor mode on a hardware profile: hardware transitions (VM exit and entry,
traps to EL2, world switches), hypervisor handler code (software path lengths
from :mod:`kit.software` times the profile's ``kernel_cpi``), instruction
emulation, page-walk references and device accesses. An operation's cost is
the sum of its steps, so changing a transition cost in a profile moves every
operation whose path contains that transition.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..inputs.hardware import Hardware
from ..inputs.modes import Mode, page_levels_saved
from .codepaths import instructions

__all__ = ["Step", "CostModel", "KERNEL_CALL_DENSITY", "EVENTS"]

#: Call/return pairs per kernel instruction (for binary translation's penalty).
KERNEL_CALL_DENSITY = (1 / 50, "estimated, because Linux kernel paths execute a call/return pair or an indirect branch every 40-60 instructions")
#: Memory-level parallelism when a working set streams back from DRAM.
DRAM_MLP = (5, "estimated, because a sequential sum overlaps misses and the prefetcher hides part of the latency")

#: Native cost of a PTE store and of INVLPG, cycles.
PTE_STORE_CYCLES = (1, "Adams & Agesen, ASPLOS 2006: natively a PTE modification is a single-cycle store")
INVLPG_CYCLES = (100, "estimated, because INVLPG flushes one TLB entry and serializes (about 100 cycles)")
EOI_CYCLES = (60, "estimated, because a local APIC or GIC CPU-interface EOI write takes tens of cycles")
HYPERCALL_NATIVE = (10, "estimated, because natively a 'hypercall' is a plain function call")
DOORBELL_CYCLES = (150, "estimated, because a posted MMIO doorbell write to a NIC costs about 100-200 cycles")
POSTED_NOTIFY_FRACTION = (0.3, "estimated, because a posted-interrupt notification is an IPI the CPU consumes in microcode without an exit, a fraction of a full IPI's delivery")
XEN_BLOCK_SWITCH_FRACTION = (0.3, "estimated, because blocking and waking a vCPU runs part of Xen's domain-switch path (the scheduler, not the full state save)")
IRQ_REMAP_MISS_FRACTION = (0.1, "estimated, because interrupt-remapping entries are mostly cached, so about one interrupt in ten walks the remapping table")


@dataclass(frozen=True)
class Step:
    """One step of an operation's path."""

    step: str
    kind: str  # guest, transition, hypervisor, emulation, walk, device, backend
    cycles: float
    #: the exit reason this step belongs to ("" when it is not part of an exit)
    reason: str = ""

    @property
    def is_exit(self) -> bool:
        """True for the hardware transition that starts an exit (one per exit)."""
        return bool(self.reason) and self.kind == "transition" and self.step.startswith(("VM exit", "trap to EL2"))


#: Events an operation may contain, with their meaning.
EVENTS = {
    "user_instr": "user-mode instructions",
    "kernel_instr": "guest kernel instructions (handlers, scheduler, file system)",
    "syscall": "system calls",
    "exception": "exceptions handled by the guest kernel (divide error, protection fault)",
    "pagefault": "demand page faults, each with one PTE write by the guest",
    "pte_write": "page-table entry writes outside the fault path",
    "pte_batch": "PTE writes batched per hypercall by a PV guest (a divisor, not a count)",
    "pt_page": "page-table pages created or torn down",
    "invlpg": "single-page TLB invalidations",
    "cr3_load": "address-space switches",
    "ws_pages": "pages the operation touches after an address-space switch or untagged exit",
    "tlb_miss": "TLB misses (page walks)",
    "pio_local": "port I/O to a device emulated in the hypervisor or kernel",
    "pio_user": "port I/O to a device emulated by the userspace device model",
    "pio_pmtimer": "port reads of the ACPI PM timer in the device model",
    "pio_out_local": "port writes to an in-kernel device",
    "mmio_local": "MMIO reads of an in-kernel device (interrupt controller)",
    "mmio_user": "MMIO reads of a userspace-emulated device",
    "cpuid": "CPUID instructions",
    "hypercall": "null hypercalls",
    "cr8_write": "writes of the task-priority register (CR8)",
    "timer_arm": "TSC-deadline timer programmings",
    "timer_fire": "timer interrupts taken",
    "irq": "device interrupts delivered to the guest",
    "eoi": "end-of-interrupt writes",
    "ipi": "inter-processor interrupts sent and received",
    "vm_switch": "switches between two VMs on one CPU",
    "io_kick": "guest notifications of an I/O backend (doorbell, kick, event channel)",
    "io_notify": "backend notifications of the guest (virtual interrupt)",
}


class CostModel:
    """The path and cycles of guest events under ``mode`` on ``hw``."""

    def __init__(self, hw: Hardware, mode: Mode, guest_syscall: str | None = None):
        self.hw, self.m = hw, mode
        self.cpi = hw.val("kernel_cpi")
        self.fam = mode.family
        self.rel = mode.release
        self.arm = hw.is_arm
        self.guest_syscall = guest_syscall or default_guest_syscall(hw)
        #: pages touched after a TLB flush (set per operation)
        self.ws = 4.0

    # -- primitives ------------------------------------------------------------------------
    def v(self, name: str) -> float:
        return self.hw.val(name)

    def sw(self, path: str, family: str | None = None) -> float:
        """Cycles of a software path of ``family`` (default: the mode's)."""
        return instructions(family or self.fam, self.rel, path) * self.cpi

    def walk_refs(self, nested: bool) -> int:
        """Memory references of one TLB miss (2-D when nested)."""
        levels = int(self.v("page_levels"))
        pwc = int(self.v("pwc_skip_levels"))
        n = max(1, levels - page_levels_saved(self.m.guest_page) - pwc)
        if not nested:
            return n
        mh = max(1, levels - page_levels_saved(self.m.host_page) - pwc)
        return (n + 1) * (mh + 1) - 1

    def walk_cycles(self, nested: bool | None = None) -> float:
        if nested is None:
            nested = self.m.memory == "nested"
        return self.walk_refs(nested) * self.v("walk_ref_cycles")

    @property
    def hw_assisted(self) -> bool:
        return self.m.cpu in ("hvm", "pvh")

    def _refill(self, ws: float) -> list[Step]:
        pages = min(ws, self.v("tlb_entries"))
        return [Step("TLB refill (untagged TLB flushed)", "walk", pages * self.walk_cycles())]

    def exit(self, reason: str, handler: list[Step], ws: float = 0.0) -> list[Step]:
        """A trap to the hypervisor, handled in its kernel part, and the return."""
        rt = self.v("exit_roundtrip_cycles")
        fam = self.fam
        if self.arm:
            steps = [Step(f"trap to EL2 and return: {reason}", "transition", rt)]
            if fam == "kvm" and not self.m.el2_host:
                steps += self._arm_world_switch()
            elif fam == "kvm":
                steps.append(Step("KVM (VHE): exit handled at EL2", "hypervisor", self.sw("arm_vhe_exit")))
            steps += handler
            return [Step(st.step, st.kind, st.cycles, st.reason or reason) for st in steps]
        steps = [Step(f"VM exit + entry: {reason}", "transition", rt),
                 Step(f"{fam}: exit dispatch", "hypervisor", self.sw("exit_dispatch"))]
        steps += handler
        ws = ws or self.ws
        if not self.hw.features.tagged_tlb and ws:
            steps += self._refill(ws)
        return [Step(st.step, st.kind, st.cycles, st.reason or reason) for st in steps]

    def _arm_world_switch(self) -> list[Step]:
        """KVM/ARM split mode: every exit handled by the host switches EL1 worlds."""
        return [
            Step("EL1 system registers: save guest, restore host, and back", "transition",
                 2 * self.v("sysreg_switch_cycles")),
            Step("VGIC state save and restore", "transition", self.v("vgic_switch_cycles")),
            Step("virtual timer save and restore", "transition", self.sw("arm_timer_switch", "kvm")),
            Step("host EL1 run loop and hvc back to EL2", "hypervisor",
                 self.sw("arm_run_loop", "kvm") + self.v("exit_roundtrip_cycles")),
        ]

    def to_device_model(self, what: str = "device") -> list[Step]:
        """Forward an access to the userspace (or driver-domain, or host) device model."""
        fam, arch = self.fam, self.m.arch
        if arch == "type2-hosted":
            return [Step("world switch to the host OS and back", "transition", 2 * self.v("world_switch_cycles")),
                    Step("hosted VMM: I/O dispatch to the VMX process", "backend", self.sw("hosted_io_dispatch")),
                    Step(f"VMX process: {what} emulation", "backend", self.sw("host_device"))]
        if fam == "kvm":
            return [Step("exit to QEMU and back (KVM_RUN returns, two system calls)", "backend",
                         2 * self.v("syscall_cycles") + self.sw("user_exit")),
                    Step(f"QEMU: {what} emulation", "backend", self.sw("qemu_device"))]
        if fam == "xen":
            return [Step("ioreq to the device model in dom0 (event channel, dom0 wakeup)", "backend",
                         self.sw("ioreq")),
                    Step(f"qemu-dm in dom0: {what} emulation", "backend", self.sw("qemu_device", "kvm"))]
        if fam == "hyperv":
            return [Step("intercept forwarded to the root partition's worker process", "backend",
                         self.sw("root_intercept")),
                    Step(f"worker process: {what} emulation", "backend", self.sw("qemu_device", "kvm"))]
        return [Step(f"QEMU: {what} emulation", "backend", self.sw("qemu_device", "kvm"))]

    # -- guest work ---------------------------------------------------------------------------
    def _tcg(self) -> float:
        return instructions("qemu", "current", "tcg_slowdown")

    def ev_user_instr(self, n):
        c = n * self.cpi
        if self.m.cpu == "emulation":
            return [Step("guest user code (translated by TCG)", "emulation", c * self._tcg())]
        return [Step("guest user code", "guest", c)]

    def ev_kernel_instr(self, n):
        c = n * self.cpi
        if self.m.cpu == "emulation":
            return [Step("guest kernel code (translated by TCG)", "emulation", c * self._tcg())]
        steps = [Step("guest kernel code", "guest", c)]
        if self.m.cpu == "bt":
            calls = n * KERNEL_CALL_DENSITY[0]
            steps.append(Step("BT: translated calls and returns in kernel code", "emulation",
                              calls * self.sw("bt_callret")))
        return steps

    def ev_call_ret(self, n=1):
        if self.m.cpu == "bt":
            return [Step("BT: translated call and return (translation-cache lookup)", "emulation",
                         self.sw("bt_callret"))]
        return []

    def ev_dram_lines(self, n=1):
        ns = self.v("mem_latency_ns") * self.v("freq_ghz") / DRAM_MLP[0]
        return [Step("cache lines refilled from DRAM", "device", ns)]

    # -- CPU events ---------------------------------------------------------------------------
    def ev_syscall(self, n=1):
        base = [Step("system call entry and return", "guest", self.v("syscall_cycles"))]
        cpu = self.m.cpu
        if cpu == "emulation":
            return [Step("system call (emulated by TCG)", "emulation", self.v("syscall_cycles") * self._tcg())]
        if cpu == "pv" and self.hw.arch == "x86_64":
            return base + [Step("Xen: 64-bit PV system call bounces through the hypervisor", "hypervisor",
                                self.v("syscall_cycles") + self.sw("syscall_bounce"))]
        if cpu == "bt":
            reflections = 2 if self.guest_syscall == "sysenter" else 1
            return base + [Step(f"BT: VMM reflects the system call ({self.guest_syscall})", "hypervisor",
                                reflections * self.sw("bt_syscall_reflect"))]
        return base

    def ev_exception(self, n=1):
        base = [Step("exception delivery and return", "guest", self.v("exception_cycles"))]
        cpu = self.m.cpu
        if cpu == "pv":
            return base + [Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.sw("trap_bounce"))]
        if cpu == "bt":
            return base + [Step("BT: VMM classifies the fault and reflects it", "hypervisor", self.sw("bt_fault_reflect"))]
        if cpu == "emulation":
            return [Step("exception (TCG unwinds translated code)", "emulation", self.sw("exception", "qemu"))]
        return base

    def ev_pagefault(self, n=1):
        mem, cpu = self.m.memory, self.m.cpu
        steps = [Step("page-fault delivery and return", "guest", self.v("exception_cycles"))]
        if mem == "softmmu":
            return [Step("page fault (TCG softmmu miss and guest fault)", "emulation",
                         self.sw("exception", "qemu") + self.sw("helper", "qemu"))]
        if mem == "pv-direct":
            steps.append(Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.sw("trap_bounce")))
            return steps + self.ev_pte_write(1, batch=1)
        if mem == "shadow" and self.hw_assisted:
            steps += self.exit("#PF (shadow paging)", [
                Step(f"{self.fam}: classify fault against guest tables, inject", "hypervisor",
                     self.sw("shadow_pf"))])
            return steps + self.ev_pte_write(1)
        if mem == "shadow" and cpu == "bt":
            steps.append(Step("BT: VMM classifies the fault and reflects it", "hypervisor", self.sw("bt_fault_reflect")))
            steps += self.ev_pte_write(1)
            if not self.m.shadow_cache:
                # without eager shadow fills the retried access takes a hidden fault
                steps.append(Step("hidden fault: shadow entry filled", "hypervisor",
                                  self.v("exception_cycles") + self.sw("hidden_fault")))
            return steps
        return steps + self.ev_pte_write(1)

    def ev_pte_write(self, n=1, batch: float = 1.0):
        mem = self.m.memory
        if mem == "pv-direct":
            per_call = max(1.0, batch)
            hc = self.v("syscall_cycles") + self.sw("pv_hypercall")
            return [Step("Xen: mmu_update hypercall (amortized over the batch)", "transition", hc / per_call),
                    Step("Xen: validate the page-table update", "hypervisor", self.sw("mmu_update"))]
        if mem == "shadow" and self.hw_assisted:
            return self.exit("write to a write-protected guest page table", [
                Step(f"{self.fam}: decode and emulate the write", "emulation", self.sw("emulate")),
                Step(f"{self.fam}: update the shadow entry", "hypervisor",
                     self.sw("shadow_update") if self.fam == "kvm" else 0.0)])
        if mem == "shadow" and self.m.cpu == "bt":
            return [Step("BT: traced page-table write updates the shadow", "hypervisor", self.sw("bt_traced_pte"))]
        if mem == "softmmu":
            return [Step("page-table store (TCG)", "emulation", PTE_STORE_CYCLES[0] * self._tcg())]
        return [Step("page-table store", "guest", PTE_STORE_CYCLES[0])]

    def ev_invlpg(self, n=1):
        mem = self.m.memory
        if mem == "shadow" and self.hw_assisted:
            return self.exit("INVLPG (shadow paging)", [
                Step(f"{self.fam}: drop the shadow entry", "hypervisor", self.sw("shadow_invlpg"))])
        if mem == "shadow":
            # the traced PTE write already dropped the shadow entry
            return [Step("BT: translated INVLPG calls out to the VMM", "hypervisor", self.sw("bt_callout"))]
        if mem == "pv-direct":
            return [Step("Xen: mmuext_op INVLPG hypercall", "transition",
                         self.v("syscall_cycles") + self.sw("pv_hypercall")),
                    Step("INVLPG", "guest", INVLPG_CYCLES[0])]
        return [Step("INVLPG", "guest", INVLPG_CYCLES[0])]

    def ev_pt_page(self, n=1):
        mem = self.m.memory
        entries = 1024 if self.v("page_levels") == 2 else 512
        if mem == "pv-direct":
            return [Step("Xen: pin or unpin a page-table page (validate every entry)", "hypervisor",
                         entries * self.sw("pt_validate_entry")),
                    Step("Xen: mmuext_op pin hypercall", "transition",
                         self.v("syscall_cycles") + self.sw("pv_hypercall"))]
        if mem == "shadow":
            fam = self.fam if self.fam in ("kvm", "vmware") else "kvm"
            return [Step("shadow page allocated and initialised", "hypervisor", self.sw("shadow_alloc", fam))]
        return []

    def ev_cr3_load(self, n=1, ws: float = 0.0, spaces: float = 2.0):
        mem = self.m.memory
        # the guest's own CR3 load flushes its (untagged) TLB entries: the working set is
        # walked again, with 2-D walks under nested paging
        native = [Step("address-space switch (CR3 load)", "guest", self.v("cr3_switch_cycles")),
                  Step("TLB refill after the switch", "walk", min(ws, self.v("tlb_entries")) * self.walk_cycles())]
        if mem == "pv-direct":
            return native + [Step("Xen: mmuext_op new_baseptr and stack_switch hypercalls", "hypervisor",
                                  2 * (self.v("syscall_cycles") + self.sw("pv_hypercall")) + self.sw("cr3"))]
        if mem == "shadow":
            if self.hw_assisted:
                # KVM keeps a few previous shadow roots; with more address spaces in rotation a
                # switch misses that cache and reloads and resynchronizes the root
                hit = min(1.0, SHADOW_PREV_ROOTS[0] / max(1.0, spaces))
                steps = native + self.exit("CR3 load (shadow paging)", [
                    Step(f"{self.fam}: switch shadow root", "hypervisor", self.sw("shadow_cr3", "kvm")),
                    Step(f"{self.fam}: reload and sync the shadow root (previous-root cache miss)", "hypervisor",
                         (1.0 - hit) * self.sw("shadow_root_load", "kvm"))])
            else:
                steps = native + [Step("BT: translated CR3 load calls out to the VMM", "hypervisor",
                                       self.sw("bt_callout"))]
            if not self.m.shadow_cache:
                fam = self.fam if self.fam in ("kvm", "vmware") else "kvm"
                steps.append(Step("hidden faults: shadows rebuilt for the working set", "hypervisor",
                                  ws * (self.v("exception_cycles") + self.sw("hidden_fault", fam))))
            return steps
        if mem == "softmmu":
            return [Step("CR3 load (TCG flushes its softmmu TLB)", "emulation",
                         self.sw("helper", "qemu") + ws * self.sw("softmmu_access", "qemu") * 10)]
        return native

    def ev_tlb_miss(self, n=1):
        if self.m.memory == "softmmu":
            return [Step("softmmu TLB refill", "emulation", self.sw("softmmu_access", "qemu") * 10)]
        nested = self.m.memory == "nested"
        label = "2-D page walk (nested paging)" if nested else "page walk"
        return [Step(label, "walk", self.walk_cycles(nested))]

    # -- privileged instructions -----------------------------------------------------------------
    def _emul_helper(self, what):
        return [Step(f"TCG helper: {what}", "emulation", self.sw("helper", "qemu"))]

    def ev_cpuid(self, n=1):
        cpu = self.m.cpu
        if self.hw_assisted:
            return self.exit("CPUID", [Step(f"{self.fam}: emulate CPUID", "hypervisor", self.sw("cpuid", "kvm"))])
        if cpu == "bt":
            return [Step("BT: translated CPUID calls out to the VMM", "hypervisor", self.sw("bt_callout")),
                     Step("VMM emulates CPUID", "hypervisor", self.sw("cpuid", "kvm"))]
        if cpu == "emulation":
            return self._emul_helper("CPUID")
        return [Step("CPUID", "guest", self.v("cpuid_cycles"))]

    def ev_hypercall(self, n=1):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            return [Step("function call (no hypervisor)", "guest", HYPERCALL_NATIVE[0])]
        if cpu == "pv":
            return [Step("PV hypercall trap into Xen and return", "transition", self.v("syscall_cycles")),
                    Step("Xen: hypercall dispatch", "hypervisor", self.sw("pv_hypercall") + self.sw("hypercall"))]
        if cpu == "bt":
            return [Step("BT: VMM callout", "hypervisor", self.sw("bt_callout"))]
        if cpu == "emulation":
            return self._emul_helper("hypercall")
        if self.arm and fam == "xen":
            return self.exit("HVC", [Step("Xen: hypercall handler", "hypervisor", self.sw("arm_hypercall"))])
        name = "HVC" if self.arm else "VMCALL"
        return self.exit(name, [Step(f"{fam}: hypercall handler", "hypervisor", self.sw("hypercall"))])

    def ev_cr8_write(self, n=1):
        cpu, f = self.m.cpu, self.hw.features
        native = [Step("TPR (CR8) write", "guest", self.v("msr_write_cycles"))]
        if cpu == "bt":
            return [Step("BT: CR8 write becomes a store to the virtual TPR", "emulation", self.sw("bt_cr8"))]
        if cpu == "emulation":
            return self._emul_helper("CR8 write")
        if self.hw_assisted and not (f.tpr_shadow or f.apicv):
            return self.exit("CR8 write", [Step(f"{self.fam}: update the virtual TPR", "hypervisor",
                                                self.sw("apic_access"))])
        return native

    # -- I/O --------------------------------------------------------------------------------------
    def _pio(self, where: str, direction: str):
        cpu, fam = self.m.cpu, self.fam
        native = [Step(f"port {direction} on the chipset", "device", self.v("port_io_cycles"))]
        if cpu == "native":
            return native
        if cpu == "emulation":
            steps = self._emul_helper(f"port {direction}")
            return steps + (self.to_device_model() if where != "local" else [])
        if cpu == "bt":
            if where == "local":
                return [Step("BT: translated port access calls the VMM's device directly", "hypervisor",
                             self.sw("bt_inline_device"))]
            return [Step("BT: VMM callout", "hypervisor", self.sw("bt_callout"))] + self.to_device_model()
        if cpu == "pv":
            steps = [Step("#GP delivery to Xen", "transition", self.v("exception_cycles")),
                     Step("Xen: emulate the privileged I/O instruction", "emulation", self.sw("emulate_priv"))]
            return steps + (self.to_device_model() if where != "local" else [])
        if self.m.arch == "type2-hosted":
            return self.exit(f"I/O instruction ({direction})", [
                Step(f"{fam}: decode the I/O exit", "emulation", self.sw("emulate"))]) + self.to_device_model()
        handler = []
        if direction == "in" and fam == "kvm":
            handler.append(Step("kvm: instruction emulation", "emulation", self.sw("emulate")))
        else:
            handler.append(Step(f"{fam}: fast port-I/O path", "hypervisor", self.sw("pio_fast", "kvm")))
        steps = self.exit(f"I/O instruction ({direction})", handler)
        if where == "local":
            steps.append(Step("in-kernel device emulation", "hypervisor", self.sw("qemu_device", "kvm")))
        else:
            steps += self.to_device_model()
        if where == "pmtimer":
            steps.append(Step("device model reads the host clock (ACPI PM timer)", "backend",
                              self.sw("qemu_pmtimer", "kvm")))
        return steps

    def ev_pio_local(self, n=1):
        return self._pio("local", "in")

    def ev_pio_out_local(self, n=1):
        return self._pio("local", "out")

    def ev_pio_user(self, n=1):
        return self._pio("user", "in")

    def ev_pio_pmtimer(self, n=1):
        return self._pio("pmtimer", "in")

    def _mmio(self, where: str):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            return [Step("uncached device-register read", "device", self.v("mmio_read_cycles"))]
        if cpu == "emulation":
            return self._emul_helper("MMIO") + (self.to_device_model() if where == "user" else [])
        if cpu in ("bt", "pv"):
            return ([Step("page fault on the unmapped device page", "transition", self.v("exception_cycles")),
                     Step("VMM decodes and emulates the access", "emulation",
                          self.sw("emulate_priv", "xen"))] + (self.to_device_model() if where == "user" else []))
        if self.arm:
            handler = (Step("Xen: emulate the GIC distributor access", "hypervisor", self.sw("arm_mmio_vgic"))
                       if fam == "xen" else
                       Step("KVM: stage-2 abort decoded from the syndrome, VGIC distributor emulation",
                            "hypervisor", self.sw("arm_mmio_vgic", "kvm")))
            steps = self.exit("stage-2 data abort (MMIO)", [handler] if where == "local" else [])
            if where == "user":
                steps += self.to_device_model()
            return steps
        handler = [Step(f"{fam}: decode the MMIO access", "emulation", self.sw("mmio_decode"))]
        if where == "local":
            handler.append(Step(f"{fam}: in-kernel device emulation", "hypervisor", self.sw("apic_access")))
        steps = self.exit("EPT misconfiguration (MMIO)", handler)
        if where == "user":
            steps += self.to_device_model()
        return steps

    def ev_mmio_local(self, n=1):
        return self._mmio("local")

    def ev_mmio_user(self, n=1):
        return self._mmio("user")

    # -- interrupts and timers ---------------------------------------------------------------------
    def _virtual_irq_delivery(self):
        """Delivering an interrupt to a running vCPU, after the hypervisor has it."""
        it, fam = self.m.interrupts, self.fam
        guest = [Step("guest interrupt handler entry and return", "guest", self.v("irq_cycles"))]
        if it == "posted":
            return [Step("posted-interrupt notification (no exit)", "transition", self.v("ipi_cycles") * POSTED_NOTIFY_FRACTION[0])] + guest
        if it == "vgic":
            return [Step("list register written; guest takes the virtual IRQ", "hypervisor",
                         self.sw("inject", "kvm"))] + guest
        if it == "event-channel":
            return [Step("Xen: event-channel upcall to the guest", "hypervisor", self.sw("upcall", "xen"))] + guest
        return [Step(f"{fam}: inject the interrupt on VM entry", "hypervisor",
                     self.sw("inject", fam if fam in ("kvm", "xen") else "kvm"))] + guest

    def ev_eoi(self, n=1):
        it, cpu = self.m.interrupts, self.m.cpu
        native = [Step("end-of-interrupt write", "guest", EOI_CYCLES[0])]
        if cpu == "native" or it in ("apicv", "posted", "vgic"):
            label = ("virtual EOI completed by the hardware (no exit)" if cpu != "native" else None)
            return [Step(label, "guest", EOI_CYCLES[0])] if label else native
        if it == "event-channel":
            return [Step("clear the event-channel pending bit", "guest", EOI_CYCLES[0])]
        if cpu == "bt":
            return [Step("BT: translated EOI write calls out to the VMM's APIC", "hypervisor",
                         self.sw("bt_callout") + self.sw("eoi", "kvm"))]
        if cpu == "emulation":
            return [Step("virtual APIC EOI emulated", "emulation", self.sw("helper", "qemu"))]
        fam = self.fam if self.fam in ("kvm", "xen") else "kvm"
        return self.exit("APIC access (EOI)", [Step(f"{fam}: EOI emulation", "hypervisor", self.sw("eoi", fam))])

    def ev_timer_arm(self, n=1, immediate: bool = False):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            steps = [Step("WRMSR TSC_DEADLINE", "guest", self.v("msr_write_cycles"))]
        elif cpu == "pv":
            steps = [Step("set_timer_op hypercall", "transition", self.v("syscall_cycles")),
                     Step("Xen: program a timer", "hypervisor", self.sw("timer_arm", "xen"))]
        elif cpu in ("bt", "emulation"):
            steps = self._emul_helper("timer programming")
        else:
            f = fam if fam in ("kvm", "xen") else "kvm"
            path = "timer_arm" if (self.hw.features.preemption_timer or fam != "kvm" or self.arm) else "timer_arm_hrtimer"
            steps = self.exit("MSR write (TSC deadline)", [Step(f"{f}: program the guest timer", "hypervisor",
                                                               self.sw(path, f))])
        if immediate:
            steps += self._virtual_irq_delivery() if cpu != "native" else [
                Step("timer interrupt handler entry and return", "guest", self.v("irq_cycles"))]
            steps += self.ev_eoi()
        return steps

    def ev_timer_fire(self, n=1):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            return [Step("timer interrupt handler entry and return", "guest", self.v("irq_cycles"))] + self.ev_eoi()
        if self.hw_assisted:
            f = fam if fam in ("kvm", "xen") else "kvm"
            reason = "VMX preemption timer" if self.hw.features.preemption_timer else "external interrupt (host timer)"
            steps = self.exit(reason, [Step(f"{f}: expire the guest timer", "hypervisor", self.sw("timer_fire", f))])
        else:
            steps = [Step("hypervisor timer interrupt", "hypervisor", self.v("irq_cycles"))]
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    def ev_irq(self, n=1):
        """A device interrupt for the guest (from a passthrough device or a backend)."""
        cpu, it, fam = self.m.cpu, self.m.interrupts, self.fam
        if cpu == "native":
            return [Step("interrupt handler entry and return", "guest", self.v("irq_cycles"))] + self.ev_eoi()
        if it == "posted":
            return self._virtual_irq_delivery() + self.ev_eoi()
        host = [Step("hypervisor takes the physical interrupt", "hypervisor",
                     self.v("irq_cycles") + self.sw("irq_host", fam if fam in ("kvm", "xen") else "kvm"))]
        if self.hw_assisted:
            steps = self.exit("external interrupt", host)
        else:
            steps = host
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    def ev_ipi(self, n=1):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            return [Step("IPI send and delivery", "device", self.v("ipi_cycles")),
                    Step("IPI handler entry and return", "guest", self.v("irq_cycles"))] + self.ev_eoi()
        if cpu == "pv":
            return [Step("EVTCHNOP_send hypercall", "transition", self.v("syscall_cycles")),
                    Step("Xen: mark the event and notify the target", "hypervisor", self.sw("evtchn_send", "xen")),
                    Step("physical IPI to the target CPU", "device", self.v("ipi_cycles"))] + \
                self._virtual_irq_delivery() + self.ev_eoi()
        if cpu in ("bt", "emulation"):
            return [Step("VMM emulates the IPI", "emulation", self.sw("helper", "qemu")),
                    Step("physical IPI to the target CPU", "device", self.v("ipi_cycles"))] + \
                self._virtual_irq_delivery() + self.ev_eoi()
        f = fam if fam in ("kvm", "xen") else "kvm"
        if self.arm:
            reason = "GICD_SGIR write (GICv2 MMIO)" if self.hw.features.gic == "v2" else "ICC_SGI1R write (GICv3 sysreg)"
        else:
            reason = "APIC ICR write"
        steps = self.exit(reason, [Step(f"{f}: send the virtual IPI", "hypervisor", self.sw("ipi_send", f))])
        steps.append(Step("physical IPI to the target CPU", "device", self.v("ipi_cycles")))
        if self.m.interrupts not in ("posted",):
            steps += self.exit("external interrupt on the target", [])
        return steps + self._virtual_irq_delivery() + self.ev_eoi()

    def ev_halt_wake(self, n=1, polled: bool = False):
        """A vCPU idles (HLT) and is woken by an interrupt.

        With ``polled`` the wakeup arrived while KVM was still halt-polling, so the
        vCPU thread was never scheduled out.
        """
        cpu, fam = self.m.cpu, self.fam
        if polled and self.hw_assisted and fam == "kvm":
            return self.exit("HLT", [Step("kvm: halt-polling sees the interrupt, re-enters", "hypervisor",
                                          self.sw("halt_poll_hit", "kvm"))])
        if cpu == "native":
            return [Step("wake from idle (interrupt)", "guest", self.v("irq_cycles"))]
        if cpu == "pv":
            return [Step("SCHEDOP_block hypercall", "transition", self.v("syscall_cycles")),
                    Step("Xen: block and wake the vCPU", "hypervisor", self.sw("upcall", "xen") + self.sw("vm_switch", "xen") * XEN_BLOCK_SWITCH_FRACTION[0])]
        if self.hw_assisted:
            f = fam if fam in ("kvm", "xen") else "kvm"
            return self.exit("HLT", [Step(f"{f}: halt, then wake and re-enter the vCPU", "hypervisor",
                                          self.sw("vhost_wake", "kvm"))])
        return [Step("VMM idles the vCPU and wakes it", "hypervisor", self.sw("vhost_wake", "kvm"))]

    def ev_vm_switch(self, n=1):
        cpu, fam = self.m.cpu, self.fam
        if cpu == "native":
            return [Step("process context switch", "guest", self.v("cr3_switch_cycles") + 2 * self.v("syscall_cycles"))]
        f = fam if fam in ("kvm", "xen") else "kvm"
        steps = [Step(f"{f}: save one VM's state, schedule, load the other's", "hypervisor", self.sw("vm_switch", f))]
        if self.arm:
            steps.insert(0, Step("EL1 system registers and VGIC switched between VMs", "transition",
                                 2 * self.v("sysreg_switch_cycles") + self.v("vgic_switch_cycles")))
        if self.hw_assisted:
            steps = self.exit("timer (preemption)", steps)
        return steps

    def ev_io_kick(self, n=1):
        """Guest notifies the I/O backend; cycles until the backend runs."""
        io = self.m.io
        if io in ("native", "sriov"):
            return [Step("doorbell write to the device", "device", DOORBELL_CYCLES[0])]
        if io == "pv-split":
            if self.m.cpu == "pv":
                head = [Step("EVTCHNOP_send hypercall", "transition", self.v("syscall_cycles"))]
            else:
                head = self.exit("HVC/VMCALL (event channel send)", [])
            return head + [Step("Xen: event channel send", "hypervisor", self.sw("evtchn_send", "xen")),
                           Step("dom0 woken: backend (netback/blkback) runs", "backend", self.sw("dom0_wake", "xen"))]
        if io == "vhost":
            reason = "MMIO/PIO kick (ioeventfd)"
            return self.exit(reason, [Step("kvm: ioeventfd signals the vhost worker", "hypervisor",
                                           self.sw("ioeventfd", "kvm"))]) + [
                Step("vhost worker woken on the backend CPU", "backend", self.sw("vhost_wake", "kvm"))]
        if io == "vmbus":
            return self.exit("VMBus signal hypercall", [Step("hyperv: post to the root partition", "backend",
                                                             self.sw("vmbus_signal", "hyperv"))])
        if io == "hosted" and self.m.cpu == "bt":
            return [Step("BT: VMM callout", "hypervisor", self.sw("bt_callout"))] + self.to_device_model("NIC")
        # emulated registers or virtio with a QEMU backend: one exit to the device model
        return self._mmio("user") if io == "emulated" else self._pio("user", "out")

    def ev_io_notify(self, n=1):
        """Backend signals the guest: a virtual interrupt reaches the running vCPU."""
        io = self.m.io
        if io == "native":
            return self.ev_irq()
        if io == "sriov":
            return [Step("IOMMU interrupt remapping", "device", self.v("iotlb_miss_cycles") * IRQ_REMAP_MISS_FRACTION[0])] + self.ev_irq()
        if io == "pv-split":
            return [Step("dom0 backend: EVTCHNOP_send", "backend", self.v("syscall_cycles") + self.sw("evtchn_send", "xen")),
                    Step("physical IPI to the guest's CPU", "device", self.v("ipi_cycles"))] + \
                (self.exit("external interrupt", []) if self.hw_assisted and self.m.interrupts != "posted" else []) + \
                self._virtual_irq_delivery() + self.ev_eoi()
        if io == "vhost":
            return [Step("vhost: irqfd injection", "backend", self.sw("irqfd", "kvm")),
                    Step("physical IPI to the guest's CPU", "device", self.v("ipi_cycles"))] + \
                (self.exit("external interrupt", []) if self.m.interrupts != "posted" else []) + \
                self._virtual_irq_delivery() + self.ev_eoi()
        # device model (QEMU, VMX process, root partition) raises the interrupt
        steps = [Step("device model raises the interrupt (ioctl)", "backend", self.v("syscall_cycles") + self.sw("irqfd", "kvm")),
                 Step("physical IPI to the guest's CPU", "device", self.v("ipi_cycles"))]
        if self.hw_assisted and self.m.interrupts != "posted":
            steps += self.exit("external interrupt", [])
        return steps + self._virtual_irq_delivery() + self.ev_eoi()


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
