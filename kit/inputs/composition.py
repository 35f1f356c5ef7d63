"""A mode as a value: the parts a composition is made of with their allowed values (:data:`PARTS`), the frozen
:class:`Mode` and the named compositions (:data:`PRESETS`). Resolving one on a profile is
:func:`kit.inputs.modes.hypervisor`'s; what each value of a part does is in :mod:`kit.inputs.parts`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .parts import (ARCH, BACKENDS, BEST_INTERRUPTS, CPU, DEVICE_MODEL, DMA_REMAP, FAMILY, INTERRUPTS, IO, MEMORY, MITIGATIONS, NESTED,
                    OFFLOAD, PAGES, STORAGE, ArchPart, Backend, CpuPart, DmaRemapPart, FamilyPart, InterruptPart, IoPart,
                    MemoryPart, MitigationPart, NestedPart, OffloadPart, PagePart, StoragePart, meanings)

__all__ = ["Mode", "PARTS", "PRESETS", "SYNC_PARTS", "PRESET_DEFAULTS", "list_hypervisors", "CONTAINER_IO", "l0_io", "page_levels_saved"]

#: Allowed values of each part, with a one-line meaning (what each value does is in :mod:`kit.inputs.parts`).
PARTS: dict[str, dict[str, str]] = {
    "cpu": meanings(CPU),
    "memory": meanings(MEMORY),
    "io": meanings(IO),
    "interrupts": meanings(INTERRUPTS),
    "arch": meanings(ARCH),
    "scheduler": {
        "none": "no vCPU scheduler",
        "credit": "Xen credit: weights, caps, 30 ms slice, 10 ms accounting, boost",
        "credit2": "Xen credit2 (Xen's default since 4.8): credit reset, no boost, 1-10 ms runs",
        "bvt": "Xen 1.0's borrowed virtual time: smallest virtual time runs, 5 ms context switch allowance",
        "cfs": "Linux CFS scheduling vCPU threads",
        "hyperv": "Hyper-V's root scheduler (vCPUs as root-partition threads; approximated by Linux CFS)",
        "host": "the host OS scheduler of a hosted VMM",
    },
    "family": meanings(FAMILY),
    "release": {
        "current": "recent software paths (about 2016 onwards)",
        "2012": "KVM of 2012, whose exit paths were longer (kvm-unit-tests commit 00bfecaa)",
        "2003": "Xen 1.0 and VMware Workstation 3.2 era",
        "2006": "VMware's 2006 VMMs measured by Adams & Agesen",
    },
    "mitigations": meanings(MITIGATIONS),
    "dma_remap": meanings(DMA_REMAP),
    "guest_page": meanings(PAGES["guest_page"]),
    "host_page": meanings(PAGES["host_page"]),
    "nested": meanings(NESTED),
    "spinlocks": {
        "spin": "guest spinlocks spin while the lock is held (a preempted holder leaves its waiters spinning)",
        "pv": "paravirtual spinlocks: a waiter halts after a spin threshold and the holder kicks it on release",
    },
    "pause_exit": {
        "ple": "pause-loop exiting: a vCPU spinning longer than the PLE window exits and yields its CPU",
        "off": "no pause-loop exits (disabled, or the CPU lacks them): spinners spin",
    },
    "tlb_flush": {
        "ipi": "TLB shootdowns are IPIs the sender waits for, also from descheduled target vCPUs",
        "pv": "paravirtual TLB flush: the hypervisor defers the flush of a descheduled vCPU, the sender goes on",
    },
    "ipi_yield": {
        "none": "a vCPU waiting for an IPI to a descheduled vCPU keeps its CPU",
        "pv": "pv_sched_yield: the sender yields its CPU to the descheduled target (directed yield)",
    },
    "cosched": {
        "none": "vCPUs are scheduled independently",
        "relaxed": "relaxed co-scheduling (VMware ESX): a vCPU that runs ahead of a descheduled sibling by the "
                   "skew threshold is co-stopped until the sibling runs",
    },
    "storage": meanings(STORAGE),
    "offload": meanings(OFFLOAD),
}

#: I/O paths of a container's network namespace
CONTAINER_IO = ("native", "veth-bridge", "veth-nat")


@dataclass(frozen=True)
class Mode:
    """A resolved hypervisor mode (a frozen composition of parts)."""

    name: str
    family: str
    cpu: str
    memory: str
    io: str
    interrupts: str
    arch: str
    scheduler: str
    release: str = "current"
    mitigations: str = "none"
    dma_remap: str = "off"
    guest_page: str = "4K"
    host_page: str = "4K"
    #: ARM only: the KVM host runs at EL2 (VHE) instead of split mode
    el2_host: bool = False
    #: shadow tables survive address-space switches (false in early hosted VMMs)
    shadow_cache: bool = True
    #: the hypervisor (L0) this mode's hypervisor (L1) runs on, or "none"
    nested: str = "none"
    #: a container's file system (overlay, volume); "native" otherwise
    storage: str = "native"
    #: segmentation offloads of the stacks (none, gso, gro); "auto" until resolved by the release and the profile
    offload: str = "gro"
    #: guest synchronization under contention (kit.sim.locks): spinlock kind, pause-loop exits, TLB flushes, IPI
    #: yield, co-scheduling
    spinlocks: str = "spin"
    pause_exit: str = "off"
    tlb_flush: str = "ipi"
    ipi_yield: str = "none"
    cosched: str = "none"
    resolutions: tuple[str, ...] = field(default=())

    @property
    def is_native(self) -> bool:
        return self.cpu == "native"

    # -- what each part does (kit.inputs.parts): the cost model and the host ask these, never the names ----------
    @property
    def cpu_part(self) -> CpuPart:
        return CPU[self.cpu]

    @property
    def memory_part(self) -> MemoryPart:
        return MEMORY[self.memory]

    @property
    def io_part(self) -> IoPart:
        return IO[self.io]

    @property
    def interrupts_part(self) -> InterruptPart:
        return INTERRUPTS.get(self.interrupts, BEST_INTERRUPTS)

    @property
    def arch_part(self) -> ArchPart:
        return ARCH[self.arch]

    @property
    def family_part(self) -> FamilyPart:
        return FAMILY[self.family]

    @property
    def mitigations_part(self) -> MitigationPart:
        return MITIGATIONS[self.mitigations]

    @property
    def dma_remap_part(self) -> DmaRemapPart:
        return DMA_REMAP[self.dma_remap]

    @property
    def guest_page_part(self) -> PagePart:
        return PAGES["guest_page"][self.guest_page]

    @property
    def host_page_part(self) -> PagePart:
        return PAGES["host_page"][self.host_page]

    @property
    def nested_part(self) -> NestedPart:
        return NESTED[self.nested]

    @property
    def storage_part(self) -> StoragePart:
        return STORAGE[self.storage]

    @property
    def offload_part(self) -> OffloadPart:
        return OFFLOAD[self.offload]

    @property
    def is_nested(self) -> bool:
        """This mode's hypervisor (L1) runs as a guest of another (L0)."""
        return self.nested != "none"

    @property
    def runs_on_host_kernel(self) -> bool:
        """The workload runs on the host's kernel: natively, or in a container (no VM)."""
        return self.is_native or self.family_part.shares_host_kernel

    @property
    def halt_polls(self) -> bool:
        """A halted vCPU of this mode polls before its thread sleeps (a wakeup within the window is cheaper)."""
        return self.family_part.halt_polling and self.cpu_part.hardware_assisted

    def backend(self, what: str = "net") -> Backend | None:
        """The entity that serves the guest's ``what`` I/O (``net``, otherwise disk): the I/O path's backend, the
        family's device model for emulated devices, or None where the guest drives the device or the hypervisor's
        own drivers serve it."""
        if self.arch_part.drives_devices:
            return None
        net, disk = self.io_part.backends
        name = net if what == "net" else disk
        if name == DEVICE_MODEL:
            net, disk = self.family_part.emulated_backends
            name = net if what == "net" else disk
        return BACKENDS[name] if name is not None else None

    def parts(self) -> dict:
        """The composition as a plain dict (for tables and JSON)."""
        d = dataclasses.asdict(self)
        d["resolutions"] = list(self.resolutions)
        return d


#: The parts every preset has unless it says otherwise (the "auto" ones are resolved by the release and profile)
PRESET_DEFAULTS = dict(release="current", mitigations="none", dma_remap="off", guest_page="4K", host_page="4K", nested="none",
                       storage="native", offload="auto", spinlocks="auto", pause_exit="auto", tlb_flush="auto",
                       ipi_yield="auto", cosched="none")
#: The guest-synchronization parts resolved per CPU and release (the "auto" value of presets)
SYNC_PARTS = ("spinlocks", "pause_exit", "tlb_flush", "ipi_yield")

PRESETS: dict[str, dict] = {
    "native": dict(family="none", cpu="native", memory="native", io="native", interrupts="native",
                   arch="bare-metal", scheduler="none"),
    "xen-pv": dict(family="xen", cpu="pv", memory="pv-direct", io="pv-split",
                   interrupts="event-channel", arch="type1-driver-domain", scheduler="credit"),
    "xen-hvm": dict(family="xen", cpu="hvm", memory="nested", io="pv-split", interrupts="best",
                    arch="type1-driver-domain", scheduler="credit"),
    "xen-pvh": dict(family="xen", cpu="pvh", memory="nested", io="pv-split", interrupts="event-channel",
                    arch="type1-driver-domain", scheduler="credit"),
    "kvm": dict(family="kvm", cpu="hvm", memory="nested", io="vhost", interrupts="best",
                arch="in-kernel", scheduler="cfs"),
    "kvm-emulated": dict(family="kvm", cpu="hvm", memory="nested", io="emulated", interrupts="best",
                         arch="in-kernel", scheduler="cfs"),
    "kvm-sriov": dict(family="kvm", cpu="hvm", memory="nested", io="sriov", interrupts="best",
                      arch="in-kernel", scheduler="cfs"),
    "qemu-tcg": dict(family="qemu", cpu="emulation", memory="softmmu", io="emulated",
                     interrupts="injected", arch="emulator", scheduler="cfs"),
    "vmware-bt": dict(family="vmware", cpu="bt", memory="shadow", io="hosted", interrupts="injected",
                      arch="type2-hosted", scheduler="host"),
    "hyperv": dict(family="hyperv", cpu="hvm", memory="nested", io="vmbus", interrupts="best",
                   arch="type1-root-partition", scheduler="hyperv"),
    "kvm-on-kvm": dict(family="kvm", cpu="hvm", memory="nested", io="vhost", interrupts="best",
                       arch="in-kernel", scheduler="cfs", nested="kvm"),
    "container-nat": dict(family="container", cpu="native", memory="native", io="veth-nat", interrupts="native",
                          arch="container", scheduler="cfs", storage="overlay"),
    "container-host": dict(family="container", cpu="native", memory="native", io="native", interrupts="native",
                           arch="container", scheduler="cfs", storage="overlay"),
    "microvm": dict(family="firecracker", cpu="hvm", memory="nested", io="virtio-mmio", interrupts="best",
                    arch="in-kernel", scheduler="cfs"),
}

_PRESET_DOCS = {
    "native": "bare metal, the reference",
    "xen-pv": "Xen paravirtualized guest, split drivers through dom0, credit scheduler",
    "xen-hvm": "Xen HVM guest with PV drivers (PV-on-HVM)",
    "xen-pvh": "Xen PVH: PV interfaces over a hardware-virtualized CPU",
    "kvm": "KVM, HVM guest, virtio with vhost, CFS",
    "kvm-emulated": "KVM with QEMU-emulated devices (e1000, IDE)",
    "kvm-sriov": "KVM with an SR-IOV virtual function assigned",
    "qemu-tcg": "QEMU pure emulation (TCG)",
    "vmware-bt": "hosted binary translation with shadow paging (VMware Workstation style)",
    "hyperv": "Hyper-V: type-1 microkernel, root partition, VMBus synthetic devices",
    "kvm-on-kvm": "nested: a KVM guest hypervisor (L1) on KVM (L0), EPT on EPT, virtio/vhost at both levels",
    "container-nat": "a Docker-style container: native CPU and memory, veth, bridge and NAT, overlay file system",
    "container-host": "a container on the host's network stack (--net=host), overlay file system",
    "microvm": "a Firecracker-style microVM: KVM with a minimal VMM in user space, virtio-mmio net and block served "
               "by one VMM thread (synchronous block I/O), no PCI, no vhost",
}


def list_hypervisors() -> dict[str, str]:
    """Preset names with a one-line description."""
    return dict(_PRESET_DOCS)


def l0_io(mode: Mode) -> str:
    """The I/O path L0 gives a nested guest's hypervisor (L1) for its own traffic: its assigned device through both
    levels, or the path L0's family gives its guests."""
    return "sriov" if mode.io_part.assigned else str(mode.nested_part.l0_io)


def page_levels_saved(size: str) -> int:
    """How many walk levels a page size removes (2M: one, 1G: two)."""
    return PAGES["guest_page"][size].levels_saved
