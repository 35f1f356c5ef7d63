"""I/O events: port and MMIO accesses to devices, and the notifications between a guest and its I/O path (a kick
of the backend, a virtual interrupt back), with their one-way latencies.

The I/O path decides who is notified and how: the device itself (the guest drives its NIC), a backend in a driver
domain over event channels (Xen's split drivers), a vhost thread or the device model woken through ioeventfd
(virtio), the root partition over VMBus, the host OS through a hosted VMM, or an emulated device's registers.
"""
from __future__ import annotations

from .paths import Paths, Step, event

__all__ = ["IoEvents", "DOORBELL_CYCLES", "IRQ_REMAP_MISS_FRACTION", "VIRTIO_MMIO_ISR_ACCESSES"]

DOORBELL_CYCLES = (150, "estimated, because a posted MMIO doorbell write to a NIC costs about 100-200 cycles; plausible 100-200 because a posted MMIO write to a NIC costs about 100-200 cycles")
#: The registers a virtio-mmio driver's interrupt handler touches per interrupt, each an exit to the VMM
VIRTIO_MMIO_ISR_ACCESSES = (("interrupt status read", "interrupt acknowledge write"), "Linux drivers/virtio/virtio_mmio.c, vm_interrupt(): readl(VIRTIO_MMIO_INTERRUPT_STATUS), then writel(status, VIRTIO_MMIO_INTERRUPT_ACK), on every interrupt; the virtio-mmio transport has one interrupt line per device and no MSI-X (virtio specification 1.1, section 4.2)")
IRQ_REMAP_MISS_FRACTION = (0.1, "estimated, because interrupt-remapping entries are mostly cached, so about one interrupt in ten walks the remapping table; plausible 0.02-0.3 because how often the interrupt-remapping cache misses depends on how many interrupt sources share it")


class IoEvents(Paths):
    """Device-register accesses and the guest's notifications of its I/O path."""

    # -- device registers ----------------------------------------------------------------------------
    def _pio(self, where: str, direction: str) -> list[Step]:
        cpu, family = self.cpu, self.family
        native = [Step(f"port {direction} on the chipset", "device", self.param("port_io_cycles"))]
        if not cpu.virtualized:
            return native
        if cpu.full_emulation:
            steps = self._emul_helper(f"port {direction}")
            return steps + (self.to_device_model() if where != "local" else [])
        if cpu.binary_translation:
            if where == "local":
                return [Step("BT: translated port access calls the VMM's device directly", "hypervisor",
                             self.hv_cycles("bt_inline_device"))]
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))] + self.to_device_model()
        if cpu.paravirtual_kernel:
            steps = [Step("#GP delivery to Xen", "transition", self.param("exception_cycles")),
                     Step("Xen: emulate the privileged I/O instruction", "emulation", self.hv_cycles("emulate_priv"))]
            return steps + (self.to_device_model() if where != "local" else [])
        if self.arch.hosted:
            return self.exit(f"I/O instruction ({direction})", [
                Step(f"{family}: decode the I/O exit", "emulation", self.hv_cycles("emulate"))]) + self.to_device_model()
        handler = []
        if direction == "in" and self.software.emulates_port_reads:
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

    def _mmio(self, where: str) -> list[Step]:
        cpu, family = self.cpu, self.family
        if not cpu.virtualized:
            return [Step("uncached device-register read", "device", self.param("mmio_read_cycles"))]
        if cpu.full_emulation:
            return self._emul_helper("MMIO") + (self.to_device_model() if where == "user" else [])
        if cpu.binary_translation or cpu.paravirtual_kernel:
            return ([Step("page fault on the unmapped device page", "transition", self.param("exception_cycles")),
                     Step("VMM decodes and emulates the access", "emulation",
                          self.hv_cycles("emulate_priv", "xen"))] + (self.to_device_model() if where == "user" else []))
        if self.is_arm:
            handler: Step = (Step("Xen: emulate the GIC distributor access", "hypervisor", self.hv_cycles("arm_mmio_vgic"))
                             if self.software.own_arm_paths else
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
        reason = "EPT misconfiguration (MMIO)" if self.arch.in_host_kernel else "EPT violation (MMIO)"
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

    # -- one-way signalling latencies (Dall et al., ISCA 2016, section V) ---------------------------
    def _one_way_trap(self, reason: str) -> list[Step]:
        """The guest's trap into the hypervisor, one way (half the round trip; on split-mode KVM/ARM the switch
        to the host's EL1 world, one way)."""
        label = "trap to EL2 (one way)" if self.is_arm else "VM exit (one way)"
        steps = [Step(f"{label}: {reason}", "transition", self.param("exit_roundtrip_cycles") / 2)]
        if self.is_arm and self.software.exits_to_host_kernel and not self.mode.el2_host:
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
        io = self.io
        if io.drives_device:
            return [Step("doorbell write to the device", "device", DOORBELL_CYCLES[0])]
        if io.split_driver:
            head = ([Step("EVTCHNOP_send hypercall, one way", "transition", self.param("syscall_cycles") / 2)]
                    if self.cpu.paravirtual_kernel else self._one_way_trap("event channel send"))
            head.append(Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen")))
            if self.arch.drives_devices:
                return head
            return head + self.backend_wake()
        if io.virtio or (io.register_emulation and self.arch.in_host_kernel):
            # the device is signalled in the host kernel (ioeventfd), which the exit has reached
            return self._one_way_trap("MMIO/PIO kick") + [
                Step("kvm: ioeventfd signals the device", "hypervisor", self.hv_cycles("ioeventfd", "kvm"))]
        if io.vmbus:
            return self._one_way_trap("VMBus signal hypercall") + [
                Step("hyperv: post to the root partition", "hypervisor", self.hv_cycles("vmbus_signal", "hyperv"))] \
                + self.backend_wake()
        if io.host_forwarding:
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout")),
                    Step("world switch to the host OS, one way", "transition", self.param("world_switch_cycles")),
                    Step("hosted VMM: I/O dispatch to the VMX process", "backend", self.hv_cycles("hosted_io_dispatch"))]
        return self.ev_io_kick()

    @event("io_signal_in", "one-way latency from the virtual I/O device signalling the guest to an idle vCPU "
                           "taking the virtual interrupt (Dall et al.'s I/O latency in)")
    def ev_io_signal_in(self) -> list[Step]:
        io = self.io
        guest = [Step("guest interrupt handler entry", "guest", self.param("irq_cycles"))]
        if not self.cpu.virtualized:
            return guest
        if io.assigned and self.interrupts.posted:
            return [Step("posted interrupt wakes the vCPU's CPU", "device", self.param("ipi_cycles"))] + \
                self.thread_wake("the vCPU thread") + guest
        if self.type1:
            entry = [self._one_way_entry()] if self.hw_assisted else []
            return self._hypervisor_signals_guest() + self.schedule_in("the guest's vCPU") + entry + \
                self._virtual_irq_delivery()
        if io.virtio or io.register_emulation or io.assigned:
            sender = [Step("irqfd: inject into the in-kernel interrupt controller", "hypervisor",
                           self.hv_cycles("irqfd", "kvm"))]
            entry = self._arm_vm_state() if (self.is_arm and not self.mode.el2_host) else []
            entry += [self._one_way_entry()] if self.hw_assisted else []
            return sender + self.thread_wake("the vCPU thread") + entry + self._virtual_irq_delivery()
        return self.ev_io_notify()

    def _hypervisor_signals_guest(self) -> list[Step]:
        """How the signal for a guest reaches a type-1 hypervisor: dom0's event channel, the root partition's VMBus
        hypercall, or the hypervisor's own driver."""
        io = self.io
        if io.split_driver and not self.arch.drives_devices:
            return [Step("dom0: EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles")
                         if not self.hw_assisted else self.param("exit_roundtrip_cycles")),
                    Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen"))]
        if io.vmbus:
            return [Step("root partition: VMBus signal hypercall", "transition", self.param("exit_roundtrip_cycles")),
                    Step("hyperv: signal the guest", "hypervisor", self.hv_cycles("vmbus_signal", "hyperv"))]
        return [Step("the hypervisor's driver raises the event", "hypervisor", self.hv_cycles("evtchn_send", "xen"))]

    @event("io_kick", "guest notifications of an I/O backend (doorbell, kick, event channel)")
    def ev_io_kick(self) -> list[Step]:
        """Guest notifies the I/O backend; cycles until the backend runs."""
        io = self.io
        if io.host_stack or io.assigned:
            return [Step("doorbell write to the device", "device", DOORBELL_CYCLES[0])]
        if io.split_driver:
            if self.cpu.paravirtual_kernel:
                head = [Step("EVTCHNOP_send hypercall", "transition", self.param("syscall_cycles"))]
            else:
                head = self.exit("HVC/VMCALL (event channel send)", [])
            if self.arch.drives_devices:  # Xen 1.0: the hypervisor's driver takes the ring
                return head + [Step("Xen: notification reaches the hypervisor's own driver", "hypervisor",
                                    self.hv_cycles("evtchn_send", "xen"))]
            return head + [Step("Xen: event channel send", "hypervisor", self.hv_cycles("evtchn_send", "xen")),
                           Step("dom0 woken: backend (netback/blkback) runs", "backend",
                                sum(s.cycles for s in self.backend_wake()))]
        if io.kernel_backend or io.mmio_transport:
            # vhost's kick, and a virtio-mmio queue notification, which the VMM registers as a zero-length ioeventfd
            # on the QueueNotify register: KVM's fast MMIO path signals the eventfd without decoding the access
            reason = "MMIO/PIO kick (ioeventfd)"
            who = "vhost worker" if io.kernel_backend else f"{self.software.vmm_name} VMM thread"
            return self.exit(reason, [Step(f"kvm: ioeventfd signals the {who}", "hypervisor",
                                           self.hv_cycles("ioeventfd", "kvm"))]) + [
                Step(f"{who} woken on the backend CPU", "backend", sum(s.cycles for s in self.backend_wake()))]
        if io.vmbus:
            return self.exit("VMBus signal hypercall", [Step("hyperv: post to the root partition", "backend",
                                                             self.hv_cycles("vmbus_signal", "hyperv"))])
        if io.host_forwarding and self.cpu.binary_translation:
            return [Step("BT: VMM callout", "hypervisor", self.hv_cycles("bt_callout"))] + self.to_device_model("NIC")
        # emulated registers or virtio with a QEMU backend: one exit to the device model
        return self._mmio("user") if io.register_emulation else self._pio("user", "out")

    @event("io_notify", "backend notifications of the guest (virtual interrupt)")
    def ev_io_notify(self) -> list[Step]:
        """Backend signals the guest: a virtual interrupt reaches the running vCPU."""
        io = self.io
        if io.host_stack:
            return self.path("irq")
        if io.assigned:
            return [Step("IOMMU interrupt remapping", "device", self.param("iotlb_miss_cycles") * IRQ_REMAP_MISS_FRACTION[0])] + self.path("irq")
        if io.split_driver and self.arch.drives_devices:
            return [Step("Xen's driver takes the device interrupt", "hypervisor",
                         self.param("irq_cycles") + self.hv_cycles("irq_host", "xen"))] + self.path("virtual_irq")
        if io.split_driver:
            return [Step("dom0 backend: EVTCHNOP_send", "backend",
                         self.param("syscall_cycles") + self.hv_cycles("evtchn_send", "xen"))] + self._remote_interrupt()
        if io.kernel_backend:
            return [Step("vhost: irqfd injection", "backend", self.hv_cycles("irqfd", "kvm"))] + \
                self._remote_interrupt()
        # device model (QEMU, VMX process, root partition, a microVM's VMM) raises the interrupt
        steps = [Step("device model raises the interrupt (ioctl)", "backend",
                      self.param("syscall_cycles") + self.hv_cycles("irqfd", "kvm"))] + self._remote_interrupt()
        if io.mmio_transport:  # the guest's handler reads the interrupt status and acknowledges it
            for what in VIRTIO_MMIO_ISR_ACCESSES[0]:
                steps += self.vmm_register_access(f"virtio-mmio {what}")
        return steps

    def vmm_register_access(self, what: str) -> list[Step]:
        """A guest access to a device register that its VMM emulates in the vCPU thread (a virtio-mmio register
        Firecracker's vCPU threads serve, docs/design.md): an MMIO exit that KVM cannot complete in the kernel,
        decoded (on ARM the syndrome says what it was), returned to the VMM's vCPU thread (KVM_RUN returns), the
        register emulated there, and the re-entry. Every step is the exit's, under reason ``what``."""
        name = self.software.vmm_name
        handler = [] if self.is_arm else [
            Step(f"{self.family}: decode the MMIO access", "emulation", self.hv_cycles("mmio_decode"))]
        handler += [Step(f"exit to the {name} vCPU thread and back (KVM_RUN returns, two system calls)", "transition",
                         2 * self.param("syscall_cycles") + self.hv_cycles("user_exit")),
                    Step(f"{name}: {what} emulated in the vCPU thread", "emulation", self.hv_cycles("qemu_device"))]
        return self.exit(what, handler)
