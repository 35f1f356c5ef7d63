"""The steps of a guest event's path, the registry of events, and the building blocks every path is made of.

An operation (:mod:`kit.costs.ops`) is a vector of primitive guest events: system calls, exceptions, page faults,
page-table writes, CR3 loads, port and MMIO accesses, hypercalls, timer and interrupt events, plus native kernel
and user work. The cost model (:class:`kit.costs.model.CostModel`) turns each event into the *path* it takes under
a hypervisor mode on a hardware profile: hardware transitions (VM exit and entry, traps to EL2, world switches),
hypervisor handler code (software path lengths from :mod:`kit.costs.codepaths` times the profile's
``hypervisor_cpi``), instruction emulation, page-walk references and device accesses. An operation's cost is the
sum of its steps, so changing a transition cost in a profile moves every operation whose path contains that
transition.

Every event is a method registered with :func:`event` in :data:`EVENT_REGISTRY` (its name, meaning and whether it
takes the count of its unit); the events live in one module per family (``cpu_events``, ``memory_events``,
``io_events``, ``interrupt_events``, ``switch_events``). :class:`Paths` holds what they share: a trap to the
hypervisor and back (:meth:`Paths.exit`), page walks, a kernel entry, forwarding to the device model, waking a
thread or scheduling a vCPU in, and delivering a virtual interrupt. Paths ask the mode's parts what they do
(:mod:`kit.inputs.parts`), never their names.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..inputs.hardware import Hardware
from ..inputs.modes import Mode, page_levels_saved
from . import nested
from .codepaths import instructions

__all__ = ["Step", "EventDef", "EVENT_REGISTRY", "event", "Paths", "default_guest_syscall", "KERNEL_CALL_DENSITY",
           "KPTI_ENTRY_CYCLES", "SPECTRE_EXIT_CYCLES", "L1D_FLUSH_CYCLES", "L1D_FLUSH_EXITS", "ARM_STATE_ONE_WAY",
           "POSTED_NOTIFY_FRACTION", "INTERRUPT_WINDOW_FRACTION"]

#: Call/return pairs per instruction of guest code (a workload may characterize its own kernel density). Binary
#: translation pays a translation-cache lookup per translated return; TCG leaves chained code at each return.
KERNEL_CALL_DENSITY = (1 / 50, "estimated, because Linux kernel paths execute a call/return pair or an indirect branch every 40-60 instructions; plausible 0.015-0.03 because Linux kernel paths execute a call/return pair or an indirect branch every 33 to 65 instructions, depending on the path")
#: The share of the ARM virtual CPU interface's state switch (vgic_switch_cycles, save and restore) and of the
#: virtual timer's that one direction takes
ARM_STATE_ONE_WAY = (0.5, "estimated, because saving the VGIC's list registers and control state and restoring them touch the same registers, so each direction is taken as half of the measured save+restore; plausible 0.3-0.7 because the two directions need not take equal shares (Dall et al.'s out latency suggests more of the work on the way out)")
#: The 2018 speculative-execution mitigations (mode part mitigations=2018)
KPTI_ENTRY_CYCLES = (400, "estimated, because with page-table isolation every kernel entry and exit switches CR3 through a trampoline (with PCID, no flush), adding a few hundred cycles to a system call on Skylake-class cores (Gregg, 'KPTI/KAISER Meltdown Initial Performance Regressions', 2018); plausible 0.5-2x because a few hundred cycles: the trampoline's cost differs with PCID support and the core by a factor of two")
SPECTRE_EXIT_CYCLES = (300, "estimated, because KVM and Xen fill the return-stack buffer and write SPEC_CTRL (IBRS) around every VM exit on CPUs without enhanced IBRS, a few hundred cycles (Linux arch/x86/kvm/vmx: vmx_vcpu_run's spec-ctrl and RSB handling); plausible 0.5-2x because the barriers' cost differs by core and microcode by a factor of two")
L1D_FLUSH_CYCLES = (1000, "estimated, because writing back and invalidating the 32 KiB L1 data cache before VM entry (MSR_IA32_FLUSH_CMD, L1TF) and the guest's refills of it cost on the order of a thousand cycles; plausible 0.5-2x because the flush and the refills it causes depend on how much of the L1D the guest reuses")
L1D_FLUSH_EXITS = (("interrupt", "HLT", "WFI", "timer", "I/O", "MMIO", "kick", "#PF", "page table", "INVLPG", "CR3"),
                   "Linux arch/x86/kvm/vmx (vmentry_l1d_flush=cond, the default): the L1D is flushed only after exits whose handling may have pulled other data into it (interrupts, scheduling, I/O and memory emulation), not after fast paths such as CPUID or a hypercall")
POSTED_NOTIFY_FRACTION = (0.3, "estimated, because a posted-interrupt notification is an IPI the CPU consumes in microcode without an exit, a fraction of a full IPI's delivery; plausible 0.1-0.5 because no measurement separates the microcode's consumption of a notification from a full IPI's delivery")
INTERRUPT_WINDOW_FRACTION = (0.1, "estimated, because an interrupt injected by software while the guest runs with interrupts disabled (spinlocks taken with irqsave, entry and exit paths) must wait for an interrupt-window exit; guest kernels spend about a tenth of their time so; APIC virtualization, posted interrupts, the GIC and event channels deliver pending interrupts without such an exit; plausible 0.03-0.3 because the share of time a guest kernel runs with interrupts off differs by workload")


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


def event(name: str, meaning: str, takes_count: bool = False) -> Callable[[Callable[..., list[Step]]],
                                                                         Callable[..., list[Step]]]:
    """Register a cost-model method as the path of guest event ``name``."""
    def register(method: Callable[..., list[Step]]) -> Callable[..., list[Step]]:
        if name in EVENT_REGISTRY:
            raise ValueError(f"event {name!r} registered twice")
        EVENT_REGISTRY[name] = EventDef(name, meaning, method, takes_count)
        return method
    return register


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


class Paths:
    """What the paths of guest events under ``mode`` on ``hw`` are built from (the event families subclass it)."""

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
        #: what the mode's parts do (the paths ask these, never the parts' names)
        self.cpu = mode.cpu_part
        self.memory = mode.memory_part
        self.io = mode.io_part
        self.interrupts = mode.interrupts_part
        self.arch = mode.arch_part
        self.software = mode.family_part
        self.mitigations = mode.mitigations_part
        #: pages touched after a TLB flush (set per operation)
        self.ws = 4.0

    # -- primitives ------------------------------------------------------------------------
    def path(self, name: str, *args: Any, **kw: Any) -> list[Step]:
        """The path of registered event ``name``."""
        return EVENT_REGISTRY[name].method(self, *args, **kw)

    def param(self, name: str) -> float:
        """A hardware parameter of the profile."""
        return self.hw.val(name)

    def hv_cycles(self, path: str, family: str | None = None) -> float:
        """Cycles of hypervisor code path ``path`` of ``family`` (default: the mode's, with its fallback)."""
        return instructions(family or self.family, self.release, path) * self.hv_cpi

    @property
    def hw_assisted(self) -> bool:
        """Guest traps are VM exits (a hardware-assisted CPU)."""
        return self.cpu.hardware_assisted

    @property
    def type1(self) -> bool:
        """The hypervisor schedules vCPUs itself (Xen, Hyper-V); otherwise they are threads of a host OS."""
        return self.arch.schedules_vcpus

    # -- page walks -------------------------------------------------------------------------
    def _walk_levels(self, guest_page: str | None = None) -> tuple[int, int]:
        """Levels a TLB miss walks in the guest dimension and in the host dimension, after the page sizes (the
        mode's guest page, or ``guest_page``: a transparent huge page of a 4 KiB guest) and the paging-structure
        caches (the profile's pwc_skip_levels, per dimension)."""
        levels = int(self.param("page_levels"))
        pwc = int(self.param("pwc_skip_levels"))
        n = max(1, levels - page_levels_saved(guest_page or self.mode.guest_page) - pwc)
        m = max(1, levels - page_levels_saved(self.mode.host_page) - pwc)
        return n, m

    def walk_distribution(self, nested: bool, guest_page: str | None = None) -> list[tuple[int, float]]:
        """Memory references of one TLB miss and their probabilities.

        Natively (and under shadow or PV paging) a miss walks ``n`` levels. Nested, each of the ``n`` guest
        table references and the final data address is a guest-physical address: one that hits the nested TLB
        (profile's nested_tlb_hit) costs nothing more, one that misses walks ``m`` host levels (Bhargava et al.,
        ASPLOS 2008). ``j`` host walks have binomial probability.
        """
        n, m = self._walk_levels(guest_page)
        if not nested:
            return [(n, 1.0)]
        h = float(self.param("nested_tlb_hit"))
        return [(n + j * m, math.comb(n + 1, j) * (1 - h) ** j * h ** (n + 1 - j)) for j in range(n + 2)]

    def walk_refs(self, nested: bool, guest_page: str | None = None) -> float:
        """Expected memory references of one TLB miss (the mean of :meth:`walk_distribution`)."""
        return sum(r * p for r, p in self.walk_distribution(nested, guest_page))

    def walk_refs_worst(self, nested: bool) -> int:
        """References of a walk that hits no cache at all: ``(n+1)(m+1)-1`` nested, 24 for 4 and 4 levels."""
        n, m = self._walk_levels()
        return (n + 1) * (m + 1) - 1 if nested else n

    @property
    def two_d(self) -> bool:
        """Whether a TLB miss walks in two dimensions: nested paging, or any guest of a nested hypervisor (L1 runs
        on L0's EPT, so even its shadow or PV tables are walked through EPT01)."""
        return self.memory.two_dimensional or self.mode.is_nested

    def walk_cycles(self, nested: bool | None = None, guest_page: str | None = None) -> float:
        if nested is None:
            nested = self.two_d
        return self.walk_refs(nested, guest_page) * self.param("walk_ref_cycles")

    def _refill(self, ws: float) -> list[Step]:
        pages = min(ws, self.param("tlb_entries"))
        return [Step("TLB refill (untagged TLB flushed)", "walk", pages * self.walk_cycles())]

    # -- entering the kernel and the hypervisor ---------------------------------------------------
    def kernel_entry(self) -> list[Step]:
        """What a guest (or native) kernel entry and exit adds beyond the CPU's own cost: page-table isolation
        on a Meltdown CPU with the 2018 mitigations (KPTI in the kernel; for a Xen PV guest Xen's XPTI, whose
        page-table switches flush the TLB)."""
        if not (self.mitigations.page_table_isolation and self.hw.features.meltdown) or self.cpu.full_emulation:
            return []
        if self.cpu.paravirtual_kernel:
            return [Step("Xen XPTI: switch to the restricted page tables and back", "hypervisor",
                         2 * self.param("cr3_switch_cycles")),
                    Step("TLB refill after the XPTI switches", "walk",
                         min(self.ws, self.param("tlb_entries")) * self.walk_cycles(False))]
        return [Step("KPTI: kernel page-table switch on entry and exit", "guest", KPTI_ENTRY_CYCLES[0])]

    def exit(self, reason: str, handler: list[Step], ws: float = 0.0) -> list[Step]:
        """A trap to the hypervisor, handled in its kernel part, and the return."""
        if self.mode.is_nested:  # L2's exit goes to L0, which reflects it to L1 (kit.costs.nested)
            return nested.reflected_exit(self, reason, handler, Step, ws=ws or self.ws)
        rt = self.param("exit_roundtrip_cycles")
        family = self.family
        if self.is_arm:
            steps = [Step(f"trap to EL2 and return: {reason}", "transition", rt)]
            if self.software.exits_to_host_kernel and not self.mode.el2_host:
                steps += self._arm_world_switch()
            elif self.software.exits_to_host_kernel:
                steps.append(Step("KVM (VHE): exit handled at EL2", "hypervisor", self.hv_cycles("arm_vhe_exit")))
            steps += handler
            return [Step(st.step, st.kind, st.cycles, st.reason or reason, st.count) for st in steps]
        steps = [Step(f"VM exit + entry: {reason}", "transition", rt),
                 Step(f"{family}: exit dispatch", "hypervisor", self.hv_cycles("exit_dispatch"))]
        if self.mitigations.exit_barriers:
            steps.append(Step("Spectre v2: RSB fill and IBRS around the exit", "hypervisor", SPECTRE_EXIT_CYCLES[0]))
        if self.mitigations.l1d_flush and self.hw.features.l1tf and any(k in reason for k in L1D_FLUSH_EXITS[0]):
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

    # -- emulation and the device model -------------------------------------------------------------
    def _qemu(self, path: str) -> float:
        """Host instructions of QEMU TCG's ``path`` (translated code runs at the guest code's CPI)."""
        return instructions("qemu", self.release, path)

    def _emul_helper(self, what: str) -> list[Step]:
        return [Step(f"TCG helper: {what}", "emulation", self.hv_cycles("helper", "qemu"))]

    def to_device_model(self, what: str = "device") -> list[Step]:
        """Forward an access to the userspace (or driver-domain, or host) device model."""
        if self.arch.hosted:
            return [Step("world switch to the host OS and back", "transition", 2 * self.param("world_switch_cycles")),
                    Step("hosted VMM: I/O dispatch to the VMX process", "backend", self.hv_cycles("hosted_io_dispatch")),
                    Step(f"VMX process: {what} emulation", "backend", self.hv_cycles("host_device"))]
        reached_by = self.software.device_model
        if reached_by == "userspace":
            name = self.software.vmm_name
            return [Step(f"exit to {name} and back (KVM_RUN returns, two system calls)", "backend",
                         2 * self.param("syscall_cycles") + self.hv_cycles("user_exit")),
                    Step(f"{name}: {what} emulation", "backend", self.hv_cycles("qemu_device"))]
        if reached_by == "ioreq":
            return [Step("ioreq to the device model in dom0 (event channel, dom0 wakeup)", "backend",
                         self.hv_cycles("ioreq")),
                    Step(f"qemu-dm in dom0: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]
        if reached_by == "worker-process":
            return [Step("intercept forwarded to the root partition's worker process", "backend",
                         self.hv_cycles("root_intercept")),
                    Step(f"worker process: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]
        return [Step(f"QEMU: {what} emulation", "backend", self.hv_cycles("qemu_device", "kvm"))]

    # -- waking and scheduling: who runs a vCPU or a backend --------------------------------------------
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
        if self.io.drives_device or self.arch.drives_devices:
            return []
        if self.type1:  # dom0 (Xen) or the root partition (Hyper-V) is a VM: it must be scheduled, then upcalled
            who = self.software.service_vm
            return self.schedule_in(who, "backend") + [
                Step(f"upcall into {who}'s kernel", "backend",
                     self.hv_cycles("upcall", "xen") + self.param("irq_cycles"))]
        return self.thread_wake("the vhost worker" if self.io.kernel_backend else
                                "the VMM thread" if self.io.mmio_transport else "the device model's I/O thread",
                                "backend")

    # -- delivering an interrupt to a vCPU -----------------------------------------------------------
    def _virtual_irq_delivery(self) -> list[Step]:
        """Delivering an interrupt to a running vCPU, after the hypervisor has it."""
        irqs, family = self.interrupts, self.family
        guest = [Step("guest interrupt handler entry and return", "guest", self.param("irq_cycles"))] + self.kernel_entry()
        if irqs.posted:
            return [Step("posted-interrupt notification (no exit)", "transition", self.param("ipi_cycles") * POSTED_NOTIFY_FRACTION[0])] + guest
        if irqs.list_registers:
            return [Step("list register written; guest takes the virtual IRQ", "hypervisor",
                         self.hv_cycles("inject", "kvm"))] + guest
        if irqs.upcalls:
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
        if self.hw_assisted and not self.interrupts.posted:
            steps += self.exit(reason, [])
        return steps + self._virtual_irq_delivery() + self.path("eoi")
