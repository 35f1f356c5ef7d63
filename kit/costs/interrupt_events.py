"""Interrupt events: device interrupts, inter-processor interrupts, their completion (EOI) and the guest's timer.

How an interrupt reaches a vCPU and how the vCPU completes it is the mode's interrupt delivery: injected on VM
entry (EOI and external interrupts exit), a virtual APIC (EOI without exits), posted interrupts (neither
delivery nor EOI exits), the GIC's list registers, Xen's event channels, or ELI's shadow IDT for an assigned
device.
"""
from __future__ import annotations

from ..inputs.hardware import Hardware
from .paths import Paths, Step, event

__all__ = ["InterruptEvents", "EOI_CYCLES", "GUEST_TIMER_REARM_YEAR", "guest_rearms_timer"]

EOI_CYCLES = (60, "estimated, because a local APIC or GIC CPU-interface EOI write takes tens of cycles; plausible 30-120 because an EOI register write takes tens of cycles, and how many depends on the interrupt controller's interface")
#: Whether the guest OS re-arms its timer at every tick (one-shot clock events)
GUEST_TIMER_REARM_YEAR = (2008, "Linux 2.6.21 (2007) introduced clock events and high-resolution timers: the local timer runs one-shot and is re-armed at every tick (the TSC-deadline MSR or the APIC's initial count on x86, the virtual timer's compare register on ARM); the kit takes guests on profiles from 2008 on to run such kernels, and older ones periodic timers (Linux 2.4's PIT)")


def guest_rearms_timer(hw: Hardware) -> bool:
    """Whether the profile's era of guest kernel re-arms its one-shot timer at every tick."""
    return hw.year >= GUEST_TIMER_REARM_YEAR[0]


class InterruptEvents(Paths):
    """Interrupts, IPIs, EOIs and timers."""

    @event("virtual_irq", "virtual interrupts delivered to a running vCPU and completed (after the hypervisor has them)")
    def ev_virtual_irq(self) -> list[Step]:
        return self._virtual_irq_delivery() + self.ev_eoi()

    @event("eoi", "end-of-interrupt writes")
    def ev_eoi(self) -> list[Step]:
        irqs, cpu = self.interrupts, self.cpu
        native = [Step("end-of-interrupt write", "guest", EOI_CYCLES[0])]
        if not cpu.virtualized or irqs.exitless_eoi:
            label = ("virtual EOI completed by the hardware (no exit)" if cpu.virtualized else None)
            return [Step(label, "guest", EOI_CYCLES[0])] if label else native
        if irqs.upcalls:
            return [Step("clear the event-channel pending bit", "guest", EOI_CYCLES[0])]
        if cpu.binary_translation:
            return [Step("BT: translated EOI write calls out to the VMM's APIC", "hypervisor",
                         self.hv_cycles("bt_callout") + self.hv_cycles("eoi", "kvm"))]
        if cpu.full_emulation:
            return [Step("virtual APIC EOI emulated", "emulation", self.hv_cycles("helper", "qemu"))]
        return self.exit("APIC access (EOI)", [Step(f"{self.family}: EOI emulation", "hypervisor", self.hv_cycles("eoi"))])

    @event("timer_arm", "TSC-deadline timer programmings")
    def ev_timer_arm(self, immediate: bool = False) -> list[Step]:
        cpu, family = self.cpu, self.family
        if not cpu.virtualized:
            steps = [Step("WRMSR TSC_DEADLINE", "guest", self.param("msr_write_cycles"))]
        elif cpu.paravirtual_kernel:
            steps = [Step("set_timer_op hypercall", "transition", self.param("syscall_cycles")),
                     Step("Xen: program a timer", "hypervisor", self.hv_cycles("timer_arm", "xen"))]
        elif cpu.translated:
            steps = self._emul_helper("timer programming")
        elif self.is_arm:  # the virtual timer's compare register belongs to the guest: no trap
            steps = [Step("CNTV_CVAL_EL0 write (virtual timer, no trap)", "guest", self.param("msr_write_cycles"))]
        else:
            on_hrtimer = self.software.hrtimer_guest_timer and not self.hw.features.preemption_timer
            path = "timer_arm_hrtimer" if on_hrtimer else "timer_arm"
            steps = self.exit("MSR write (TSC deadline)", [Step(f"{family}: program the guest timer", "hypervisor",
                                                               self.hv_cycles(path))])
        if immediate:
            steps += self._virtual_irq_delivery() if cpu.virtualized else [
                Step("timer interrupt handler entry and return", "guest", self.param("irq_cycles"))]
            steps += self.ev_eoi()
        return steps

    @event("timer_fire", "timer interrupts taken")
    def ev_timer_fire(self) -> list[Step]:
        family = self.family
        if not self.cpu.virtualized:
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
        irqs = self.interrupts
        if not self.cpu.virtualized:
            return [Step("interrupt handler entry and return", "guest", self.param("irq_cycles"))] + \
                self.kernel_entry() + self.ev_eoi()
        if irqs.posted:
            return self._virtual_irq_delivery() + self.ev_eoi()
        if irqs.shadow_idt:
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
        cpu, family = self.cpu, self.family
        if not cpu.virtualized:
            return [Step("IPI send and delivery", "device", self.param("ipi_cycles")),
                    Step("IPI handler entry and return", "guest", self.param("irq_cycles"))] + self.kernel_entry() + self.ev_eoi()
        if cpu.paravirtual_kernel:
            return [Step("EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles")),
                    Step("Xen: mark the event and notify the target", "hypervisor", self.hv_cycles("evtchn_send", "xen"))] + \
                self._remote_interrupt("the target CPU")
        if cpu.translated:
            return [Step("VMM emulates the IPI", "emulation", self.hv_cycles("helper", "qemu"))] + \
                self._remote_interrupt("the target CPU")
        if self.is_arm:
            reason = "GICD_SGIR write (GICv2 MMIO)" if self.hw.features.gic == "v2" else "ICC_SGI1R write (GICv3 sysreg)"
        else:
            reason = "APIC ICR write"
        steps = self.exit(reason, [Step(f"{family}: send the virtual IPI", "hypervisor", self.hv_cycles("ipi_send"))])
        return steps + self._remote_interrupt("the target CPU", "external interrupt on the target")
