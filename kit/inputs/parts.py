"""What each value of a mode part does: the mechanisms the cost model and the host ask about.

A mode (:mod:`kit.inputs.modes`) is a composition of parts, each a name from a fixed set. The cost model and the
simulated host never test those names: they ask the part's value object here what it does (does a trap of the
guest become a VM exit? does the hypervisor keep shadow page tables? is there a backend, and which entity runs
it?). A new technique is a new row of a table below that says which mechanisms it uses; the code that charges a
mechanism does not change.

Every table keeps the order in which the values are listed to users (:data:`kit.inputs.modes.PARTS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CpuPart", "MemoryPart", "IoPart", "InterruptPart", "ArchPart", "FamilyPart", "MitigationPart",
           "DmaRemapPart", "PagePart", "NestedPart", "StoragePart", "OffloadPart", "Backend", "CPU", "MEMORY", "IO",
           "INTERRUPTS", "ARCH", "FAMILY", "MITIGATIONS", "DMA_REMAP", "PAGES", "NESTED", "STORAGE", "OFFLOAD",
           "BACKENDS", "DEVICE_MODEL",
           "BEST_INTERRUPTS", "backend_named",
           "meanings"]

#: The backend of an emulated device is wherever the mode's family runs its device model
#: (:attr:`FamilyPart.emulated_backends`).
DEVICE_MODEL = "device model"


@dataclass(frozen=True)
class CpuPart:
    """How the CPU is virtualized: what a privileged guest operation becomes."""

    name: str
    meaning: str
    #: a hypervisor sits between the guest and the CPU (False: the OS runs on the hardware)
    virtualized: bool = True
    #: guest traps are VM exits to the hypervisor and back (VT-x, AMD-V, ARM EL2)
    hardware_assisted: bool = False
    #: the guest kernel runs deprivileged and calls the hypervisor (hypercalls, faults it emulates)
    paravirtual_kernel: bool = False
    #: guest kernel code is binary-translated; privileged instructions become callouts to the VMM
    binary_translation: bool = False
    #: every guest instruction is translated (TCG); privileged ones run in helpers of the emulator
    full_emulation: bool = False
    #: the guest kernel is loaded and entered by the hypervisor's domain builder at its PV or PVH entry point, with
    #: no firmware, and talks to its console through the hypervisor
    direct_boot: bool = False

    @property
    def translated(self) -> bool:
        """Guest code runs translated (binary translation or full emulation), not on a hardware-virtualized CPU."""
        return self.binary_translation or self.full_emulation


@dataclass(frozen=True)
class MemoryPart:
    """How guest memory is virtualized: who walks and who updates the page tables."""

    name: str
    meaning: str
    #: a TLB miss walks the guest's tables and, for each reference, the host's (EPT, NPT, stage-2)
    two_dimensional: bool = False
    #: the hypervisor keeps shadow tables: guest page-table writes and CR3 loads trap to it
    shadow_tables: bool = False
    #: the guest's own tables, validated by the hypervisor and updated by hypercalls (Xen PV direct paging)
    paravirtual_tables: bool = False
    #: a software MMU of the emulator translates every access (QEMU's softmmu TLB)
    software_mmu: bool = False


@dataclass(frozen=True)
class IoPart:
    """An I/O path: who drives the device, how the guest and its backend signal each other, who the backend is."""

    name: str
    meaning: str
    #: the guest's own driver drives the device (the physical one natively, a virtual function when assigned): no
    #: backend
    drives_device: bool = False
    #: the (host) kernel's own stack reaches the device without a hypervisor: native, and a container's veth
    host_stack: bool = False
    #: a device assigned to the guest through the IOMMU (SR-IOV virtual function)
    assigned: bool = False
    #: Xen's split drivers: rings shared with a backend, signalled by event channels
    split_driver: bool = False
    #: virtio rings, kicked through ioeventfd
    virtio: bool = False
    #: the backend is a host-kernel thread (vhost)
    kernel_backend: bool = False
    #: virtio over memory-mapped registers without PCI (virtio-mmio): a queue notification is a write to one
    #: register that KVM turns into an ioeventfd, and an interrupt is a legacy line whose handler reads the
    #: device's interrupt status and acknowledges it, two register accesses that exit to the VMM (no MSI-X)
    mmio_transport: bool = False
    #: the device's registers are emulated: each access traps to the device model (e1000, IDE)
    register_emulation: bool = False
    #: a hosted VMM forwards the I/O to the host OS through world switches
    host_forwarding: bool = False
    #: synthetic devices over VMBus to the root partition
    vmbus: bool = False
    #: a container's veth pair into the host's bridge
    veth: bool = False
    #: the veth path also runs NAT and connection tracking (Docker port mapping)
    nat: bool = False
    #: the backend entity of network and of disk I/O (None: no backend; DEVICE_MODEL: the family's device model)
    backends: tuple[str | None, str | None] = (None, None)
    #: the virtual NIC takes segments of up to 64 KiB from the guest's stack (virtio-net's HOST_TSO4, netfront's GSO,
    #: netvsc's LSO, the e1000's TSO context descriptors, a veth pair's GSO); False: MTU frames (the Lance)
    guest_tso: bool = False
    #: the device model cuts the guest's segments into frames in software and moves frames (QEMU's e1000, xmit_seg)
    device_segments: bool = False
    #: the backend hands the guest merged segments (virtio-net's GUEST_TSO4 with mergeable receive buffers,
    #: netfront's receive GSO, a veth pair); False: the guest receives MTU frames (and merges them itself with GRO)
    guest_rx_segments: bool = False
    #: the host bridges or routes the traffic (a Linux bridge, a virtual switch, IP forwarding for NAT), which turns
    #: the NIC's hardware LRO off (Linux dev_disable_lro): the host merges received frames in software (GRO) instead
    bridges: bool = False

    @property
    def host_driver(self) -> bool:
        """The host's own driver drives the physical device, with no virtualization on the path (native)."""
        return self.drives_device and self.host_stack

    @property
    def device_model_emulates(self) -> bool:
        """A device model emulates the device (registers, or a hosted VMM's virtual devices)."""
        return self.register_emulation or self.host_forwarding


@dataclass(frozen=True)
class InterruptPart:
    """How interrupts reach a vCPU and how it completes them."""

    name: str
    meaning: str
    #: interrupts are delivered to a running vCPU without an exit (posted interrupts)
    posted: bool = False
    #: the hypervisor writes the GIC's list registers; the guest takes the virtual IRQ (ARM)
    list_registers: bool = False
    #: the hypervisor upcalls the guest (Xen event channels)
    upcalls: bool = False
    #: the guest completes an interrupt (EOI) without an exit
    exitless_eoi: bool = False
    #: an assigned device's interrupts enter the guest through a shadow IDT, without an exit (ELI)
    shadow_idt: bool = False


@dataclass(frozen=True)
class ArchPart:
    """Where the hypervisor sits."""

    name: str
    meaning: str
    #: the hypervisor schedules vCPUs itself (type 1); otherwise they are threads of a host OS
    schedules_vcpus: bool = False
    #: the hypervisor drives the devices itself, on the guest's CPU (Xen 1.0): no driver domain
    drives_devices: bool = False
    #: the hypervisor is part of the host kernel, the device model a user process (KVM)
    in_host_kernel: bool = False
    #: a hosted VMM beside a host OS: reaching the host is a world switch
    hosted: bool = False


@dataclass(frozen=True)
class FamilyPart:
    """The hypervisor software whose code paths handle exits, and what its implementation does."""

    name: str
    meaning: str
    #: there is hypervisor software at all
    hypervisor: bool = True
    #: the workload shares the host's kernel (a container)
    shares_host_kernel: bool = False
    #: exits reach the host kernel it is part of: on ARM a world switch to EL1 (split mode) or a handler at EL2 (VHE)
    exits_to_host_kernel: bool = False
    #: how an access reaches the device model: "userspace" (KVM_RUN returns to QEMU), "ioreq" (qemu-dm in dom0),
    #: "worker-process" (the root partition's worker), "in-process" (the emulator itself)
    device_model: str = "in-process"
    #: the device model runs in the vCPU's own thread (its work is the vCPU's)
    device_model_in_vcpu_thread: bool = False
    #: the backend entity of an emulated device's network and disk I/O
    emulated_backends: tuple[str | None, str | None] = ("qemu", None)
    #: port reads go through the hypervisor's instruction emulator (no fast path)
    emulates_port_reads: bool = False
    #: on ARM it runs its own EL2 paths for hypercalls and GIC emulation (others take KVM's)
    own_arm_paths: bool = False
    #: without a VMX preemption timer the guest's TSC deadline is a host hrtimer
    hrtimer_guest_timer: bool = False
    #: a halted vCPU polls for a while before its thread sleeps
    halt_polling: bool = False
    #: the VM that serves the hypervisor's guests (in step labels)
    service_vm: str = "dom0"
    #: the family whose scheduler code paths block and switch vCPUs when the hypervisor schedules them itself
    scheduler_paths: str = "xen"
    #: live migration maps the guest's pages into the sender (foreign mappings)
    foreign_map: bool = False
    #: how the breakdown's steps name the user-space device model that a vCPU thread exits to
    vmm_name: str = "QEMU"
    #: code paths (kit.costs.codepaths) of its user-space virtio backends: per packet, per disk request
    virtio_paths: tuple[str, str] = ("qemu_virtio_pkt", "qemu_blk_op")
    #: the firmware a hardware-virtualized guest boots through before its kernel ("none": the VMM loads the kernel
    #: and enters it directly); kit.costs.lifecycle has what each costs
    firmware: str = "seabios"
    #: the kernel image it loads: "compressed" (a bzImage the guest decompresses) or "uncompressed" (an ELF vmlinux)
    kernel_image: str = "compressed"
    #: all of a guest's memory is allocated when the VM is built (otherwise on the guest's first touch)
    prepopulates_memory: bool = False
    #: a snapshot is restored by mapping its memory file (pages read on first touch) rather than reading it all
    restore_maps_memory: bool = False
    #: calls to its API that configure a VM before it starts (a VM given by a command line or a file: none)
    api_calls: int = 0
    #: guest memory is ordinary host memory, allocated when a vCPU first touches a page (the EPT violation is
    #: handled in that vCPU's thread, and Linux allocates on the node it runs on): a guest thread's own data lands
    #: on its vCPU's node, as a native thread's does
    first_touch_memory: bool = False


@dataclass(frozen=True)
class MitigationPart:
    """The speculative-execution mitigations in force."""

    name: str
    meaning: str
    #: page-table isolation on kernel entry and exit (KPTI; XPTI for Xen PV) on Meltdown CPUs
    page_table_isolation: bool = False
    #: return-stack filling and IBRS around every VM exit
    exit_barriers: bool = False
    #: an L1D flush before VM entry after exits that may pull other data in, on L1TF CPUs
    l1d_flush: bool = False
    #: an indirect-branch prediction barrier when a CPU switches VMs
    ibpb: bool = False


@dataclass(frozen=True)
class DmaRemapPart:
    """DMA remapping of the host's own devices through the IOMMU."""

    name: str
    meaning: str
    #: buffers are mapped and unmapped for each DMA
    remaps: bool = False
    #: every unmapping invalidates the IOTLB synchronously (otherwise in batches)
    synchronous_invalidation: bool = False


@dataclass(frozen=True)
class PagePart:
    """A page size."""

    name: str
    meaning: str
    #: bytes one TLB entry maps
    bytes: int
    #: page-walk levels the size removes
    levels_saved: int


@dataclass(frozen=True)
class NestedPart:
    """The hypervisor (L0) a nested guest's hypervisor (L1) runs on."""

    name: str
    meaning: str
    #: the preset that describes how L0 runs L1, and the I/O path L0 gives it (None: not nested)
    l0_preset: str | None = None
    l0_io: str | None = None


@dataclass(frozen=True)
class StoragePart:
    """The file system a workload's files are on."""

    name: str
    meaning: str
    #: a union file system over image layers: each operation resolves through them, a first write copies up
    union_layers: bool = False


@dataclass(frozen=True)
class OffloadPart:
    """Segmentation offloads of the software stacks: whether packets move as segments of up to 64 KiB or as frames.

    What each layer does with segments is the I/O path's (:class:`IoPart`) and the NIC's (``features.tso``,
    ``features.lro``); this part is the stacks' era: Linux 2.4 moved every MTU frame through the whole stack.
    """

    name: str
    meaning: str
    #: transmit: the stack builds segments of up to 64 KiB (TSO/GSO) that the NIC, or software just above its
    #: driver, cuts into frames
    segments_tx: bool = False
    #: receive: the driver merges the frames of a flow into segments before the stack (GRO; the NIC's LRO)
    merges_rx: bool = False


@dataclass(frozen=True)
class Backend:
    """An entity that serves guests' I/O: how results name it, whether every VM shares it, how many threads."""

    name: str
    label: str
    #: one for the whole host (a driver domain, a root partition, a host OS), otherwise one per VM
    shared: bool
    #: the spec field that gives its threads (None: one)
    threads_from: str | None = None
    #: its one thread serves a disk request with blocking system calls: nothing else it serves runs until the
    #: device completes the request (Firecracker's synchronous block engine)
    blocks_on_disk: bool = False

    def label_for(self, vm: int) -> str:
        """How results name it when it serves VM ``vm`` (a shared backend has one name for all VMs)."""
        return self.label if self.shared else f"vm{vm} {self.name}"

    def threads(self, spec: Any) -> int:
        """Its threads under ``spec`` (dom0's vCPUs, a vhost worker per queue pair, or one)."""
        return int(getattr(spec, self.threads_from)) if self.threads_from else 1


def backend_named(name: str) -> Backend:
    """The backend entity ``name``: one of :data:`BACKENDS`, or another thread of one VM by that name (a live
    migration's thread, for example)."""
    return BACKENDS.get(name) or Backend(name, name, shared=False)


def _table(*parts: Any) -> dict[str, Any]:
    return {p.name: p for p in parts}


def meanings(table: dict[str, Any]) -> dict[str, str]:
    """The one-line meaning of each value of a part, in order."""
    return {name: p.meaning for name, p in table.items()}


CPU: dict[str, CpuPart] = _table(
    CpuPart("native", "no hypervisor", virtualized=False),
    CpuPart("hvm", "hardware-assisted trap-and-emulate (VT-x, AMD-V, ARM EL2)", hardware_assisted=True),
    CpuPart("pv", "paravirtualized kernel, deprivileged, calls the hypervisor", paravirtual_kernel=True,
            direct_boot=True),
    CpuPart("pvh", "PV interfaces over a hardware-virtualized CPU", hardware_assisted=True, direct_boot=True),
    CpuPart("bt", "binary translation of guest kernel code", binary_translation=True),
    CpuPart("emulation", "every guest instruction translated in software (QEMU TCG)", full_emulation=True),
)

MEMORY: dict[str, MemoryPart] = _table(
    MemoryPart("native", "the guest owns the page tables"),
    MemoryPart("nested", "two-dimensional walks (EPT, NPT, stage-2)", two_dimensional=True),
    MemoryPart("shadow", "hypervisor-maintained shadow page tables", shadow_tables=True),
    MemoryPart("pv-direct", "guest tables validated by the hypervisor, updated by hypercalls", paravirtual_tables=True),
    MemoryPart("softmmu", "software MMU of a full emulator", software_mmu=True),
)

IO: dict[str, IoPart] = _table(
    IoPart("native", "the guest drives the device", drives_device=True, host_stack=True, guest_tso=True,
           guest_rx_segments=True),
    IoPart("emulated", "emulated device registers (e1000, IDE)", register_emulation=True,
           backends=(DEVICE_MODEL, DEVICE_MODEL), guest_tso=True, device_segments=True, bridges=True),
    IoPart("pv-split", "split driver: frontend in the guest, backend in a driver domain", split_driver=True,
           backends=("dom0", "dom0"), guest_tso=True, guest_rx_segments=True, bridges=True),
    IoPart("virtio", "virtio with the backend in the userspace device model", virtio=True, backends=("qemu", "qemu"),
           guest_tso=True, guest_rx_segments=True, bridges=True),
    IoPart("vhost", "virtio with an in-kernel vhost backend", virtio=True, kernel_backend=True,
           backends=("vhost", "qemu"), guest_tso=True, guest_rx_segments=True, bridges=True),
    # Firecracker (docs/design.md, "Machine Model"; Agache et al., NSDI 2020, section 3): virtio-mmio net and block
    # devices, backed by a tap device and a file on the host, emulated by the VMM thread; no PCI bus, no vhost. Its
    # virtio-net offers the guest TSO and checksum offload and takes segments from the tap (the net device's
    # advertised VIRTIO_NET_F_GUEST_TSO4/HOST_TSO4 features, as recalled); the host routes the tap's traffic (NAT)
    IoPart("virtio-mmio", "virtio-mmio net and block devices without PCI, served by a microVM's VMM thread in user "
                          "space (Firecracker)", virtio=True, mmio_transport=True, backends=("vmm", "vmm"),
           guest_tso=True, guest_rx_segments=True, bridges=True),
    IoPart("sriov", "SR-IOV virtual function assigned through an IOMMU (through both levels when nested)",
           drives_device=True, assigned=True, guest_tso=True),
    IoPart("hosted", "I/O forwarded to the host OS by a hosted VMM", host_forwarding=True, backends=("host", "host"),
           bridges=True),
    IoPart("vmbus", "synthetic devices over VMBus to the root partition", vmbus=True, backends=("root", "root"),
           guest_tso=True, bridges=True),
    IoPart("veth-bridge", "container: a veth pair into the host's Linux bridge", host_stack=True, veth=True,
           guest_tso=True, guest_rx_segments=True, bridges=True),
    IoPart("veth-nat", "container: veth and bridge with iptables NAT and connection tracking (Docker port mapping)",
           host_stack=True, veth=True, nat=True, guest_tso=True, guest_rx_segments=True, bridges=True),
)

INTERRUPTS: dict[str, InterruptPart] = _table(
    InterruptPart("native", "no virtualization"),
    InterruptPart("injected", "interrupts injected on entry; EOI and external interrupts exit"),
    InterruptPart("apicv", "virtual APIC: EOI without exits, delivery still exits", exitless_eoi=True),
    InterruptPart("posted", "posted interrupts: delivery and EOI without exits", posted=True, exitless_eoi=True),
    InterruptPart("event-channel", "Xen event channels (PV upcalls)", upcalls=True),
    InterruptPart("vgic", "ARM GIC virtual CPU interface: completion without traps", list_registers=True,
                  exitless_eoi=True),
    InterruptPart("eli", "ELI (Gordon et al., ASPLOS 2012): an assigned device's interrupts reach the guest through a "
                         "shadow IDT and are completed by a direct x2APIC EOI, without exits (other interrupts still "
                         "exit)", exitless_eoi=True, shadow_idt=True),
)

#: ``interrupts=best`` before a profile resolves it (a mode resolved without hardware, or a native CPU, which never
#: resolves it): no delivery mechanism of its own
BEST_INTERRUPTS = InterruptPart("best", "the best delivery the CPU offers (resolved on a hardware profile)")

ARCH: dict[str, ArchPart] = _table(
    ArchPart("bare-metal", "no hypervisor"),
    ArchPart("type1-driver-domain", "type-1 hypervisor, device backends in a driver domain (Xen dom0)",
             schedules_vcpus=True),
    ArchPart("type1-hypervisor-drivers", "type-1 hypervisor that drives the devices itself (Xen 1.0: I/O rings and "
                                         "event channels to the hypervisor's own drivers, no driver domain)",
             schedules_vcpus=True, drives_devices=True),
    ArchPart("type1-root-partition", "type-1 microkernel with a root partition (Hyper-V)", schedules_vcpus=True),
    ArchPart("in-kernel", "hypervisor inside the host kernel, device model in userspace (KVM)", in_host_kernel=True),
    ArchPart("type2-hosted", "hosted VMM beside a host OS (VMware Workstation)", hosted=True),
    ArchPart("emulator", "a userspace emulator process"),
    ArchPart("container", "processes in namespaces and cgroups on the host kernel"),
)

FAMILY: dict[str, FamilyPart] = _table(
    FamilyPart("none", "no hypervisor software", hypervisor=False),
    FamilyPart("kvm", "Linux KVM (+QEMU)", exits_to_host_kernel=True, device_model="userspace",
               device_model_in_vcpu_thread=True, emulates_port_reads=True, hrtimer_guest_timer=True,
               halt_polling=True, first_touch_memory=True),
    # Firecracker's docs/design.md, "Internal Architecture": one process per microVM with an API thread, one VMM
    # thread (the machine model, the legacy devices, the virtio net, block and vsock devices) and the vCPU threads,
    # which run KVM_RUN and perform the MMIO accesses to the device models themselves. Its life: no firmware, an
    # uncompressed ELF kernel on x86 (docs/rootfs-and-kernel-setup.md), configured through its API before
    # InstanceStart (docs/getting-started.md: boot source, drives, machine configuration, network interface, the
    # start action), a snapshot's memory file mapped privately on restore (docs/snapshotting/snapshot-support.md)
    FamilyPart("firecracker", "Firecracker: KVM with a minimal VMM, one process per microVM (an API thread, a VMM "
                              "thread serving every device, a thread per vCPU)", exits_to_host_kernel=True,
               device_model="userspace", device_model_in_vcpu_thread=True, emulated_backends=("vmm", "vmm"),
               emulates_port_reads=True, hrtimer_guest_timer=True, halt_polling=True, vmm_name="Firecracker",
               virtio_paths=("vmm_virtio_pkt", "vmm_blk_op"), firmware="none", kernel_image="uncompressed",
               restore_maps_memory=True, api_calls=5, first_touch_memory=True),
    # Xen builds a domain with all of its memory (libxc's meminit), boots an HVM guest through hvmloader and SeaBIOS
    # and a PV or PVH guest's kernel directly (the cpu part's direct_boot)
    FamilyPart("xen", "Xen", device_model="ioreq", emulated_backends=("dom0", "dom0"), own_arm_paths=True,
               foreign_map=True, firmware="hvmloader", prepopulates_memory=True),
    FamilyPart("vmware", "VMware hosted VMM", device_model_in_vcpu_thread=True, firmware="pc-bios"),
    # Hyper-V: generation 2 VMs boot through UEFI; static memory is allocated when the VM starts
    FamilyPart("hyperv", "Microsoft Hyper-V", device_model="worker-process", emulated_backends=("root", "root"),
               service_vm="the root partition", scheduler_paths="hyperv", firmware="uefi", prepopulates_memory=True),
    FamilyPart("qemu", "QEMU TCG", device_model_in_vcpu_thread=True),
    FamilyPart("container", "Linux containers (namespaces and cgroups, no hypervisor)", hypervisor=False,
               shares_host_kernel=True),
)

MITIGATIONS: dict[str, MitigationPart] = _table(
    MitigationPart("none", "software before the 2018 speculative-execution disclosures (or mitigations off)"),
    MitigationPart("2018", "the 2018 defaults of Linux, KVM and Xen: page-table isolation on Meltdown CPUs (KPTI; XPTI "
                           "for Xen PV), return-stack filling and IBRS around VM exits, an L1D flush on VM entry on "
                           "L1TF CPUs, an IBPB when a CPU switches VMs",
                   page_table_isolation=True, exit_barriers=True, l1d_flush=True, ibpb=True),
)

DMA_REMAP: dict[str, DmaRemapPart] = _table(
    DmaRemapPart("off", "the host's own devices DMA untranslated (Linux's default without intel_iommu=on)"),
    DmaRemapPart("lazy", "the host's devices DMA through the IOMMU; unmappings are batched and the IOTLB flushed in "
                         "bulk", remaps=True),
    DmaRemapPart("strict", "the host's devices DMA through the IOMMU; every unmapping invalidates the IOTLB "
                           "synchronously", remaps=True, synchronous_invalidation=True),
)

#: Page sizes of the guest's tables (``guest_page``) and of the host's (``host_page``)
PAGES: dict[str, dict[str, PagePart]] = {
    "guest_page": _table(PagePart("4K", "4 KiB guest pages", 4096, 0), PagePart("2M", "2 MiB guest pages", 2 << 20, 1),
                         PagePart("1G", "1 GiB guest pages", 1 << 30, 2)),
    "host_page": _table(PagePart("4K", "4 KiB host/EPT pages", 4096, 0), PagePart("2M", "2 MiB host pages", 2 << 20, 1),
                        PagePart("1G", "1 GiB host pages", 1 << 30, 2)),
}

NESTED: dict[str, NestedPart] = _table(
    NestedPart("none", "the hypervisor runs on the hardware"),
    NestedPart("kvm", "the hypervisor runs as a guest of KVM (L0): every exit of its guest goes to L0 first",
               l0_preset="kvm", l0_io="vhost"),
    NestedPart("xen", "the hypervisor runs as an HVM guest of Xen (L0)", l0_preset="xen-hvm", l0_io="pv-split"),
    NestedPart("hyperv", "the hypervisor runs as a guest of Hyper-V (L0)", l0_preset="hyperv", l0_io="vmbus"),
)

STORAGE: dict[str, StoragePart] = _table(
    StoragePart("native", "the file system the workload's files are on (a VM's disk is its I/O path)"),
    StoragePart("overlay", "container: a union file system over the image layers (overlayfs, AUFS), copy-up on first "
                           "write", union_layers=True),
    StoragePart("volume", "container: a bind-mounted host directory (a Docker volume)"),
)

OFFLOAD: dict[str, OffloadPart] = _table(
    OffloadPart("none", "every layer moves MTU-sized frames: no TSO/GSO, no GRO/LRO (Linux 2.4, Xen 1.0, VMware "
                        "Workstation 3.2)"),
    OffloadPart("gso", "TSO/GSO on transmit (segments of up to 64 KiB through the path, cut into frames by the NIC or "
                       "just above its driver); received frames each run the stack (Linux 2.6.18 to 2.6.28)",
                segments_tx=True),
    OffloadPart("gro", "TSO/GSO on transmit and GRO/LRO on receive: frames merged into segments at the driver "
                       "(Linux 2.6.29 on)", segments_tx=True, merges_rx=True),
)

#: The backend entities, by the name an I/O path or a family gives them
BACKENDS: dict[str, Backend] = _table(
    Backend("dom0", "dom0", shared=True, threads_from="dom0_vcpus"),
    Backend("root", "root partition", shared=True, threads_from="dom0_vcpus"),
    Backend("host", "host OS", shared=True),
    Backend("vhost", "vhost", shared=False, threads_from="net_queues"),
    Backend("qemu", "qemu", shared=False),
    # Firecracker's block device: "for all Firecracker versions prior to v1.0.0, the emulated block device uses a
    # synchronous IO engine ... based on blocking system calls" (docs/api_requests/block-io-engine.md), in the VMM
    # thread that also serves the network device (docs/design.md)
    Backend("vmm", "vmm", shared=False, blocks_on_disk=True),
)
