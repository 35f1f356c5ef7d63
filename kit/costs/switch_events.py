"""Switching events: a vCPU that halts and is woken, and a CPU that switches from one VM to another.

Who schedules the vCPU decides the path: a type-1 hypervisor blocks it and schedules it in again; a vCPU of an
in-kernel hypervisor or of a hosted VMM is a host thread that sleeps and is woken by the host scheduler (KVM may
catch the wakeup while it still polls).
"""
from __future__ import annotations

from .paths import Paths, Step, event

__all__ = ["SwitchEvents", "IBPB_CYCLES", "KVM_HALT_POLL_S"]

IBPB_CYCLES = (4000, "estimated, because an indirect-branch prediction barrier, issued when a CPU switches to another VM, costs several thousand cycles on Skylake-class cores; plausible 0.5-2x because the barrier's cost differs by core and microcode by a factor of two")
#: KVM halt polling: a halted vCPU polls this long before its thread sleeps
KVM_HALT_POLL_S = (200e-6, "Linux virt/kvm: halt_poll_ns defaults to KVM_HALT_POLL_NS_DEFAULT, 200,000 ns on x86")


class SwitchEvents(Paths):
    """Halting and waking a vCPU, switching VMs on a CPU."""

    @event("halt_wake", "a vCPU idles (HLT) and is woken by an interrupt")
    def ev_halt_wake(self, polled: bool = False) -> list[Step]:
        """A vCPU idles (HLT) and is woken by an interrupt.

        The mechanism depends on who schedules the vCPU: a type-1 hypervisor blocks it (scheduler, state saved)
        and later schedules it in on its idle CPU; an in-kernel hypervisor's or a hosted VMM's vCPU is a host
        thread that sleeps and is woken by the host scheduler (a hosted VMM also leaves its world and comes
        back). With ``polled`` the wakeup arrived while KVM was still halt-polling, so the vCPU thread was never
        scheduled out.
        """
        cpu = self.cpu
        halt = "HLT" if not self.is_arm else "WFI"
        if not cpu.virtualized:
            return [Step("wake from idle (interrupt)", "guest", self.param("irq_cycles"))]
        if polled and self.hw_assisted and self.arch.in_host_kernel:
            return self.exit(halt, [Step("kvm: halt-polling sees the interrupt, re-enters", "hypervisor",
                                         self.hv_cycles("halt_poll_hit", "kvm"))])
        if self.type1:
            fam = self.software.scheduler_paths
            block = [Step(f"{fam}: block the vCPU (scheduler picks the idle vCPU)", "hypervisor",
                          self.hv_cycles("schedule", fam)),
                     Step(f"{fam}: save the blocked vCPU's state", "hypervisor", self.hv_cycles("vcpu_save", fam))]
            block += self._arm_vm_state()
            wake = self.schedule_in("the woken vCPU")
            if cpu.paravirtual_kernel:
                return [Step("SCHEDOP_block hypercall", "transition", self.param("syscall_cycles"))] + block + wake
            return self.exit(halt, block + wake)
        if self.arch.hosted:
            steps = [Step("world switch to the host OS and back", "transition", 2 * self.param("world_switch_cycles"))]
            steps += self.thread_wake("the VMM's thread")
            return self.exit("HLT", steps) if self.hw_assisted else steps
        steps = self.thread_wake("the vCPU thread")
        return self.exit(halt, steps) if self.hw_assisted else steps

    @event("vm_switch", "switches between two VMs on one CPU")
    def ev_vm_switch(self) -> list[Step]:
        family = self.family
        if not self.cpu.virtualized:
            return [Step("process context switch", "guest", self.param("cr3_switch_cycles") + 2 * self.param("syscall_cycles"))]
        if self.type1:
            fam = self.software.scheduler_paths
            steps = [Step(f"{fam}: scheduler picks the other VM's vCPU", "hypervisor", self.hv_cycles("schedule", fam)),
                     Step(f"{fam}: save one vCPU's state, restore the other's", "hypervisor",
                          self.hv_cycles("vcpu_save", fam) + self.hv_cycles("vcpu_restore", fam))]
        else:
            steps = [Step(f"{family}: save one VM's state, schedule, load the other's", "hypervisor",
                          self.hv_cycles("vm_switch"))]
        steps = self._arm_vm_state(2.0) + steps
        if self.mitigations.ibpb and not self.is_arm:
            steps.append(Step("Spectre v2: IBPB when the CPU switches VMs", "hypervisor", IBPB_CYCLES[0]))
        if self.hw_assisted:
            steps = self.exit("timer (preemption)", steps)
        return steps
