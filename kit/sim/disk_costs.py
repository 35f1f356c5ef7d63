"""What a workload's disk I/O costs under a mode: submitting a request, its completion, and the backend's work.

The I/O path decides the path of a request: the guest's own driver, the hypervisor's block driver (Xen 1.0), a
backend in a driver domain (blkback), QEMU's block layer behind virtio, the root partition over VMBus, an emulated
IDE controller, or a hosted VMM that reads and writes its virtual disk file through the host.

A VM's request crosses two block layers. The guest's is in the workload's own kernel work, as natively. A backend
that hands the request to a kernel's block layer again, blkback's submit_bio in dom0 or QEMU's io_submit of an
O_DIRECT request in the host (aio=native), pays that kernel's block-layer path a second time
(:data:`HOST_BLOCK_REQUEST_INSTR`), on the backend's thread. QEMU serves a disk from one thread (its main loop, or
one I/O thread), so per request it pops the virtqueue, runs its own block layer, submits to the host kernel, reaps
the completion and injects the interrupt, one request after another: at a deep queue of small requests that thread
is the bottleneck (random 4 KiB reads at 128 outstanding), while a large request's transfer on the device takes far
longer than its per-request costs (a 1 MiB sequential read loses next to nothing).
"""
from __future__ import annotations

from .unit_costs import UnitCosts, cached
from .work import HYPERVISOR, Work, backend_category

__all__ = ["DiskCosts", "IDE_EXITS_PER_REQUEST", "HOSTED_DISK_PORT_ACCESSES", "HOST_BLOCK_REQUEST_INSTR"]

IDE_EXITS_PER_REQUEST = (6, "estimated, because an ATA PIO/DMA command programs the sector count, LBA low/mid/high, device and command registers (ATA-6 taskfile); plausible 4-8 because a driver programs between four and eight taskfile registers per command")
#: The hosted VMM's emulated disk controller (VMware Workstation: IDE or BusLogic)
#: The host's (or driver domain's) block layer for one request a backend issues to the physical device
HOST_BLOCK_REQUEST_INSTR = (15000, "the kit's native characterization of the kernel path of one direct 4 KiB read (workloads/fio-randread.yaml: a submission through the block layer and the driver, and the completion with its interrupt, about 15 k kernel instructions), which a backend's request takes again in the kernel below it: QEMU's io_submit of an O_DIRECT request with aio=native and io_getevents for its completion (QEMU block/linux-aio.c), blkback's submit_bio and its end_io in dom0 (Xen linux-2.6-xen-sparse drivers/xen/blkback/blkback.c); estimated with that characterization, so plausible 8-25 k as it is")
HOSTED_DISK_PORT_ACCESSES = (8, "estimated, because an IDE DMA request programs the ATA taskfile (sector count, LBA low/mid/high, device, command) and the bus-master command register, and its interrupt handler reads the status register (ATA-6 and the SFF-8038i bus-master interface); plausible 6-12 because a driver programs the taskfile and the bus master and reads the status once or twice per request")


class DiskCosts(UnitCosts):
    """The disk I/O of a workload: the guest's side and its backend's."""

    @cached
    def disk_guest(self) -> Work:
        """Guest-side cost of submitting one disk request (beyond the unit's kernel work)."""
        io = self.mode.io_part
        if io.register_emulation:
            w = self.work(self.cm.ev_pio_user(), IDE_EXITS_PER_REQUEST[0], keep_backend=self.inline_backend)
            if self.inline_backend:
                w = w + Work.of(backend_category("qemu"), self.sw("qemu_ide_op", "kvm") + self.host_block())
            return w
        if io.host_forwarding:
            # the IDE registers are emulated in the VMM; issuing the request switches to the host, where the VMApp
            # reads or writes the virtual disk file with a system call
            return (self._port_access(HOSTED_DISK_PORT_ACCESSES[0]) + self._hosted_switch(1.0)
                    + Work.of(backend_category("host"), self.sw("hosted_io_dispatch", "vmware")
                              + self.hw.val("syscall_cycles") + self.sw("host_disk_op", "vmware")))
        if self.io_in_hypervisor:
            return self.kick() + Work.of(HYPERVISOR, self.sw("vbd_op", "xen"))
        if io.drives_device:
            return self.work(self.cm.ev_io_kick()) + self._native_dma(1.0)
        return self.kick()

    @cached
    def disk_done(self) -> Work:
        """Guest-side cost of a disk request's completion."""
        if self.mode.io_part.host_forwarding:
            # the host's disk interrupt (reflected if it lands on the VMM's CPU), the VMApp's completion through a
            # world switch, and the virtual controller's interrupt
            return self._reflected_irqs(1.0) + self._hosted_switch(1.0) + self._hosted_virtual_irq(1.0)
        if self.io_in_hypervisor:
            return (Work.of(HYPERVISOR, self.hw.val("irq_cycles") + self.sw("irq_host", "xen"))
                    + self.work(self.cm.ev_virtual_irq()))
        return self.notify()

    @cached
    def backend_disk(self) -> Work:
        """Backend CPU work of one disk request, on the backend entity."""
        io = self.mode.io_part
        label = backend_category(str(self.backend_name("disk")))
        if io.split_driver and not self.io_in_hypervisor:
            c = self._wake_cycles() + self.sw("blkback_op", "xen") + self.sw("evtchn_send", "xen") + self.host_block()
        elif io.virtio:  # the family's user-space virtio-blk backend (QEMU's block layer, a microVM's VMM)
            c = self._wake_cycles() + self.sw(self.mode.family_part.virtio_paths[1]) + self.sw("irqfd", "kvm") + self.host_block()
        elif io.vmbus:
            c = self.sw("vmbus_signal", "hyperv") + self.sw("vsp_disk_op", "hyperv")
        elif io.register_emulation and not self.inline_backend:
            c = sum(s.cycles for s in self.cm.ev_pio_user() if s.kind == "backend") * IDE_EXITS_PER_REQUEST[0] \
                + self.sw("qemu_ide_op", "kvm") + self.host_block()
        else:
            return Work()
        return Work.of(label, c + self.dma_cycles(1.0))

    def host_block(self) -> float:
        """Cycles of the host's (or driver domain's) block layer for one request a backend hands to it: zero
        where the backend's own path already reaches the device (the root partition's storage stack, a hosted VMM's
        file access, Xen 1.0's own driver)."""
        return HOST_BLOCK_REQUEST_INSTR[0] * self.cpi
