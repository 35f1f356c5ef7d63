"""CPU events: guest code, system calls, exceptions and the privileged instructions that need the hypervisor
(CPUID, hypercalls, CR8 writes).

Guest code runs natively, binary-translated (translated calls and returns pay a translation-cache lookup) or as
TCG's translated micro-operations (Bellard, USENIX ATC 2005); privileged instructions exit on a hardware-assisted
CPU, call the hypervisor from a paravirtualized kernel, call out to the VMM under binary translation, or run in
a helper of the emulator.
"""
from __future__ import annotations

from .paths import Paths, Step, event

__all__ = ["CpuEvents", "USER_CALL_DENSITY", "MEM_REFS_PER_INSTR", "BRANCHES_PER_INSTR", "HYPERCALL_NATIVE"]

USER_CALL_DENSITY = (1 / 100, "estimated, because calls and returns are about 1-2% of the instructions of integer programs (Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2, SPECint2000 instruction mix); plausible 0.005-0.02 because calls and returns are 1-2% of integer programs' instructions and fewer in loop-heavy numeric code")
#: Guest code's memory references and branches per instruction: each reference is a softmmu TLB lookup under
#: TCG, each branch ends a translation block
MEM_REFS_PER_INSTR = (0.36, "Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2: loads are about a quarter and stores about a tenth of the instructions of SPECint2000 on x86")
BRANCHES_PER_INSTR = (0.2, "Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 3rd ed., chapter 2: conditional branches, jumps, calls and returns are about a fifth of integer instructions (basic blocks of about five instructions)")
HYPERCALL_NATIVE = (10, "estimated, because natively a 'hypercall' is a plain function call; plausible 5-20 because a plain call and return costs a few to twenty cycles with its argument handling")


class CpuEvents(Paths):
    """Guest code, system calls, exceptions and privileged instructions."""

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

    @event("user_instr", "user-mode instructions", takes_count=True)
    def ev_user_instr(self, instructions: float) -> list[Step]:
        if self.cpu.full_emulation:
            return self._tcg(instructions, "user code", self.user_cpi, USER_CALL_DENSITY[0])
        return [Step("guest user code", "guest", instructions * self.user_cpi)]

    @event("kernel_instr", "guest kernel instructions (handlers, scheduler, file system)", takes_count=True)
    def ev_kernel_instr(self, instructions: float) -> list[Step]:
        if self.cpu.full_emulation:
            return self._tcg(instructions, "kernel code", self.cpi, self.kernel_call_density)
        steps = [Step("guest kernel code", "guest", instructions * self.cpi)]
        if self.cpu.binary_translation:
            calls = instructions * self.kernel_call_density
            steps.append(Step("BT: translated calls and returns in kernel code", "emulation",
                              calls * self.hv_cycles("bt_callret")))
        return steps

    @event("call_ret", "kernel call/return pairs (translated under binary translation)")
    def ev_call_ret(self) -> list[Step]:
        if self.cpu.binary_translation:
            return [Step("BT: translated call and return (translation-cache lookup)", "emulation",
                         self.hv_cycles("bt_callret"))]
        return []

    # -- entering the guest kernel ----------------------------------------------------------------
    @event("syscall", "system calls")
    def ev_syscall(self) -> list[Step]:
        base = [Step("system call entry and return", "guest", self.param("syscall_cycles"))] + self.kernel_entry()
        cpu = self.cpu
        if cpu.full_emulation:  # the instruction raises an exception in a helper that leaves translated code
            return [Step("system call (TCG helper raises it and leaves translated code)", "emulation",
                         self.hv_cycles("helper", "qemu") + self.hv_cycles("exception", "qemu"))]
        if cpu.paravirtual_kernel and self.hw.arch == "x86_64":
            # the guest kernel and its user space share ring 3 and have separate page tables: Xen takes the
            # system call, switches to the kernel's tables and back on return (toggle_guest_mode), and the user's
            # TLB entries are refilled afterwards
            return base + [Step("Xen: 64-bit PV system call bounces through the hypervisor", "hypervisor",
                                self.param("syscall_cycles") + self.hv_cycles("syscall_bounce")),
                           Step("Xen: switch to the guest kernel's page tables and back", "hypervisor",
                                2 * self.param("cr3_switch_cycles")),
                           Step("TLB refill after the page-table switches", "walk",
                                min(self.ws, self.param("tlb_entries")) * self.walk_cycles(False))]
        if cpu.binary_translation:
            reflections = 2 if self.guest_syscall == "sysenter" else 1
            return base + [Step(f"BT: VMM reflects the system call ({self.guest_syscall})", "hypervisor",
                                reflections * self.hv_cycles("bt_syscall_reflect"))]
        return base

    @event("exception", "exceptions handled by the guest kernel (divide error, protection fault)")
    def ev_exception(self) -> list[Step]:
        base = [Step("exception delivery and return", "guest", self.param("exception_cycles"))] + self.kernel_entry()
        cpu = self.cpu
        if cpu.paravirtual_kernel:
            return base + [Step("Xen: bounce the fault to the guest kernel", "hypervisor", self.hv_cycles("trap_bounce"))]
        if cpu.binary_translation:
            return base + [Step("BT: VMM classifies the fault and reflects it", "hypervisor", self.hv_cycles("bt_fault_reflect"))]
        if cpu.full_emulation:
            return [Step("exception (TCG unwinds translated code)", "emulation", self.hv_cycles("exception", "qemu"))]
        return base

    # -- privileged instructions -----------------------------------------------------------------
    @event("cpuid", "CPUID instructions")
    def ev_cpuid(self) -> list[Step]:
        cpu = self.cpu
        if self.hw_assisted:
            return self.exit("CPUID", [Step(f"{self.family}: emulate CPUID", "hypervisor", self.hv_cycles("cpuid", "kvm"))])
        if cpu.binary_translation:
            return [Step("BT: translated CPUID calls out to the VMM", "hypervisor", self.hv_cycles("bt_callout")),
                    Step("VMM emulates CPUID", "hypervisor", self.hv_cycles("cpuid", "kvm"))]
        if cpu.full_emulation:
            return self._emul_helper("CPUID")
        return [Step("CPUID", "guest", self.param("cpuid_cycles"))]

    @event("hypercall", "null hypercalls")
    def ev_hypercall(self) -> list[Step]:
        cpu, family = self.cpu, self.family
        if not cpu.virtualized:
            return [Step("function call (no hypervisor)", "guest", HYPERCALL_NATIVE[0])]
        if cpu.paravirtual_kernel:
            return [Step("PV hypercall trap into Xen and return", "transition", self.param("syscall_cycles")),
                    Step("Xen: hypercall dispatch", "hypervisor", self.hv_cycles("pv_hypercall") + self.hv_cycles("hypercall"))]
        if cpu.binary_translation:
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))]
        if cpu.full_emulation:
            return self._emul_helper("hypercall")
        if self.is_arm and self.software.own_arm_paths:
            return self.exit("HVC", [Step("Xen: hypercall handler", "hypervisor", self.hv_cycles("arm_hypercall"))])
        name = "HVC" if self.is_arm else "VMCALL"
        return self.exit(name, [Step(f"{family}: hypercall handler", "hypervisor", self.hv_cycles("hypercall"))])

    @event("cr8_write", "writes of the task-priority register (CR8)")
    def ev_cr8_write(self) -> list[Step]:
        cpu, f = self.cpu, self.hw.features
        native = [Step("TPR (CR8) write", "guest", self.param("msr_write_cycles"))]
        if cpu.binary_translation:
            return [Step("BT: CR8 write becomes a store to the virtual TPR", "emulation", self.hv_cycles("bt_cr8"))]
        if cpu.full_emulation:
            return self._emul_helper("CR8 write")
        if self.hw_assisted and not (f.tpr_shadow or self.hw.usable("apicv")):
            return self.exit("CR8 write", [Step(f"{self.family}: update the virtual TPR", "hypervisor",
                                                self.hv_cycles("apic_access"))])
        return native
