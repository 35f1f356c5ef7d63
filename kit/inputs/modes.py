"""Hypervisor modes: compositions of virtualization techniques.

A mode is not a label: it is a composition of parts (how the CPU is
virtualized, how memory is, the I/O path, interrupt delivery, where the
hypervisor sits, which vCPU scheduler runs), plus the hypervisor family whose
software paths handle exits. Presets such as ``kvm`` or ``xen-pv`` are named
compositions; any part can be overridden. :func:`hypervisor` resolves a
composition against a hardware profile: impossible combinations are refused
with a clear message, and the ones a real hypervisor resolves by itself (KVM on
a CPU without EPT uses shadow paging) are resolved the same way, with a note
saying so in :attr:`Mode.resolutions`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..errors import HvkitError
from .coerce import to_bool
from .hardware import Hardware, load_hardware
from .parts import (ARCH, BACKENDS, BEST_INTERRUPTS, CPU, DEVICE_MODEL, DMA_REMAP, FAMILY, INTERRUPTS, IO, MEMORY,
                    MITIGATIONS, NESTED, OFFLOAD, PAGES, STORAGE, ArchPart, Backend, CpuPart, DmaRemapPart, FamilyPart,
                    InterruptPart, IoPart, MemoryPart, MitigationPart, NestedPart, OffloadPart, PagePart, StoragePart,
                    meanings)

__all__ = ["Mode", "PARTS", "PRESETS", "hypervisor", "list_hypervisors", "CONTAINER_IO", "l0_io", "page_levels_saved",
           "GSO_YEAR", "GRO_YEAR"]

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


_BASE = dict(release="current", mitigations="none", dma_remap="off", guest_page="4K", host_page="4K", nested="none",
             storage="native", offload="auto", spinlocks="auto", pause_exit="auto", tlb_flush="auto", ipi_yield="auto",
             cosched="none")
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


def _check_part(key: str, value: Any, where: str) -> None:
    if key in ("el2_host", "shadow_cache"):
        if not isinstance(value, bool):
            raise HvkitError("must be true or false", where=where, field=key, value=value,
                             allowed="true, false")
        return
    if key not in PARTS:
        raise HvkitError("unknown hypervisor part", where=where, field=key, value=key,
                         allowed=list(PARTS) + ["shadow_cache"])
    if value not in PARTS[key] and not (key == "interrupts" and value == "best") and not (
            key in (*SYNC_PARTS, "offload") and value == "auto"):
        raise HvkitError("not a known value", where=where, field=key, value=value, allowed=list(PARTS[key]))


def hypervisor(name: str, hardware: Hardware | str | None = None, **overrides: Any) -> Mode:
    """Resolve preset ``name`` (with part ``overrides``) on ``hardware``.

    Parameters
    ----------
    name : str
        A preset from :data:`PRESETS`.
    hardware : Hardware or str, optional
        The profile to resolve on; without it the composition is returned as
        written, unchecked against a CPU.
    **overrides
        Parts to replace, e.g. ``memory="shadow"`` or ``interrupts="posted"``.

    Raises
    ------
    HvkitError
        For an unknown preset, part or value, or an impossible combination.
    """
    if name not in PRESETS:
        raise HvkitError("unknown hypervisor", field="hypervisor", value=name, allowed=list(PRESETS))
    where = f"hypervisor '{name}'"
    parts = dict(_BASE, el2_host=False, shadow_cache=True, **PRESETS[name])
    for key, value in overrides.items():
        if key in ("el2_host", "shadow_cache"):
            value = to_bool(value, where=where, field=key)
        _check_part(key, value, where)
        parts[key] = value
    explicit = set(overrides)
    if isinstance(hardware, str):
        hardware = load_hardware(hardware)
    notes: list[str] = []
    _resolve_offload(parts, hardware, notes, where)
    if hardware is not None:
        _resolve(name, parts, explicit, hardware, notes, where)
    elif parts["interrupts"] == "best":
        parts["interrupts"] = "injected"
    _resolve_sync(parts, hardware, explicit, where)
    return Mode(name=name, resolutions=tuple(notes), **parts)


#: When paravirtual spinlocks, PV TLB flushes and pv_sched_yield reached the guests of each family (their
#: ``release=current`` guests have them; older releases spin and wait)
PV_SYNC_SOURCES = {
    "spinlocks": "Linux: Xen PV spinlocks since 2.6.26 (2008), pvqspinlock for KVM and Xen since 4.2 (2015); Hyper-V "
                 "guests signal long spin waits (HvCallNotifyLongSpinWait)",
    "tlb_flush": "Xen PV flushes through the hypervisor (MMUEXT_TLB_FLUSH_MULTI) since Xen 1.0; KVM PV TLB flush since "
                 "Linux 4.16 (2018); Hyper-V's HvFlushVirtualAddressList enlightenment",
    "ipi_yield": "Linux 5.2 (2019): KVM_HC_SCHED_YIELD, pv_sched_yield, yields to a preempted IPI target",
}


def _resolve_sync(p: dict, hw: Hardware | None, explicit: set, where: str) -> None:
    """The guest-synchronization parts left "auto": what the mode's CPU, family and release have.

    Pause-loop exits need a hardware-virtualized CPU with the feature; paravirtual spinlocks and TLB flushes are
    in current KVM, Xen and Hyper-V guests (and every Xen PV guest flushes through the hypervisor); pv_sched_yield
    is KVM's. Native and containers have no hypervisor to ask: their spinlock holders are never preempted.
    """
    virt = p["cpu"] not in ("native",)
    in_kernel = FAMILY[p["family"]].exits_to_host_kernel  # KVM, with QEMU or a microVM's VMM
    current = p["release"] == "current" and (p["family"] in ("xen", "hyperv") or in_kernel) and p["cpu"] != "emulation"
    can_ple = virt and p["cpu"] in ("hvm", "pvh") and (hw is None or bool(hw.features.ple))
    auto = {"spinlocks": "pv" if virt and current else "spin",
            "pause_exit": "ple" if can_ple else "off",
            "tlb_flush": "pv" if virt and (current or p["cpu"] == "pv") else "ipi",
            "ipi_yield": "pv" if virt and current and in_kernel else "none"}
    for key, value in auto.items():
        if p[key] == "auto":
            p[key] = value
    if p["pause_exit"] == "ple" and not can_ple:
        _refuse("pause-loop exits need a hardware-virtualized CPU (hvm, pvh) whose profile has features.ple", where,
                "pause_exit", "ple", ["off"])


#: When the Linux stacks (of guests, hosts and driver domains) gained segmentation offloads; the kit takes a profile's
#: guests and host to run kernels of its year (as for the guest's timer, kit.costs.interrupt_events)
GSO_YEAR = (2006, "Linux 2.6.18 (September 2006): generic segmentation offload (Herbert Xu's GSO): TCP builds segments "
                  "of up to 64 KiB that a TSO NIC, or software just above a driver without TSO, cuts into frames; "
                  "Xen 3.0's netfront and netback pass them (feature-gso-tcpv4)")
GRO_YEAR = (2009, "Linux 2.6.29 (March 2009): generic receive offload (GRO) merges a flow's frames into segments in "
                  "the driver's NAPI poll before the stack")


def _resolve_offload(p: dict, hw: Hardware | None, notes: list, where: str) -> None:
    """Segmentation offloads left "auto": what the release's software and the profile's era of Linux have (GSO from
    2006, GRO from 2009; Xen 1.0 and VMware Workstation 3.2, ``release=2003``, moved every frame). An offload asked
    for under release 2003 is refused: those VMMs and their Linux 2.4 guests had none."""
    if p["offload"] == "auto":
        year = hw.year if hw is not None else GRO_YEAR[0]
        p["offload"] = ("none" if p["release"] == "2003" or year < GSO_YEAR[0] else
                        "gso" if year < GRO_YEAR[0] else "gro")
        if hw is not None:
            notes.append(f"segmentation offloads: {p['offload']} ({OFFLOAD[p['offload']].meaning})")
    elif p["offload"] != "none" and p["release"] == "2003":
        _refuse("release 2003 (Xen 1.0, VMware Workstation 3.2 and their Linux 2.4 guests) had no segmentation "
                "offload", where, "offload", p["offload"], ["none"])


def _refuse(msg: str, where: str, field_: str, value: Any, allowed: Any) -> NoReturn:
    raise HvkitError(msg, where=where, field=field_, value=value, allowed=allowed)


@dataclass
class _Draft:
    """A composition being resolved on a profile: its parts (changed in place), the parts the user set, the notes
    of what was resolved, and where an error points."""

    name: str
    p: dict
    explicit: set
    hw: Hardware
    notes: list
    where: str

    def refuse(self, msg: str, field_: str, value: Any, allowed: Any) -> NoReturn:
        _refuse(msg, self.where, field_, value, allowed)


def _resolve(name: str, p: dict, explicit: set, hw: Hardware, notes: list, where: str) -> None:
    """Resolve composition ``p`` on ``hw`` in place, one concern after another: refuse what cannot run there, and
    settle what a real hypervisor settles by itself, with a note. The first refusal met is the one reported."""
    d = _Draft(name, p, explicit, hw, notes, f"{where} on '{hw.id}'")
    _check_software_and_platform(d)
    if p["family"] == "container":
        _resolve_container(d)
        return
    _refuse_container_parts(d)
    if p["cpu"] == "native":
        _check_native(d)
        return
    if p["nested"] != "none":
        _resolve_nested(d)
    _check_microvm(d)
    if hw.is_arm:
        _resolve_arm(d)
    elif p["interrupts"] == "vgic":
        d.refuse("the GIC virtual CPU interface is ARM only", "interrupts", "vgic",
                 ["injected", "apicv", "posted", "event-channel"])
    _check_cpu(d)
    _resolve_memory(d)
    _resolve_arch_by_release(d)
    _check_io(d)
    _resolve_interrupts(d)
    _resolve_page_sizes(d)


def _check_software_and_platform(d: _Draft) -> None:
    """Mitigations newer than the release, and DMA remapping without an IOMMU."""
    p, hw = d.p, d.hw
    if p["mitigations"] == "2018" and p["release"] in ("2003", "2006", "2012"):
        d.refuse(f"release {p['release']} predates the 2018 mitigations", "mitigations", "2018", ["none"])
    if p["dma_remap"] != "off" and hw.features.iommu == "none":
        d.refuse(f"DMA remapping needs an IOMMU, which {hw.id} lacks", "dma_remap", p["dma_remap"], ["off"])


def _refuse_container_parts(d: _Draft) -> None:
    """A VM's storage is its I/O path, and veth networking is a container's."""
    p = d.p
    if p["storage"] != "native":
        d.refuse("a union file system or volume is a container's; a VM's storage is its I/O path", "storage",
                 p["storage"], ["native"])
    if p["io"] in ("veth-bridge", "veth-nat"):
        d.refuse("veth networking belongs to containers", "io", p["io"],
                 [k for k in PARTS["io"] if k not in CONTAINER_IO])


def _check_native(d: _Draft) -> None:
    """Native runs without a hypervisor: no virtualized part set by the user, nothing to nest."""
    p = d.p
    for key in ("memory", "io", "interrupts"):
        if key in d.explicit and p[key] != "native":
            d.refuse("native runs without a hypervisor", key, p[key], ["native"])
    if p["nested"] != "none":
        d.refuse("nesting needs a hypervisor on top of L0", "nested", p["nested"], ["none"])


def _resolve_arm(d: _Draft) -> None:
    """ARM: no binary translation or Hyper-V; Xen has one guest type; KVM runs split or with VHE; the GIC's virtual
    CPU interface delivers interrupts."""
    p, f, name = d.p, d.hw.features, d.name
    if p["family"] == "vmware" or p["cpu"] == "bt":
        d.refuse("binary translation is an x86 technique; there is no ARM hosted BT VMM", "cpu", p["cpu"],
                 ["hvm", "emulation"])
    if p["family"] == "hyperv":
        d.refuse("Hyper-V on ARM is not modelled", "hypervisor", name,
                 ["native", "kvm", "kvm-emulated", "kvm-sriov", "xen-hvm", "qemu-tcg"])
    if p["family"] == "xen" and p["cpu"] in ("pv", "pvh"):
        d.notes.append(f"Xen on ARM has one guest type (hardware-virtualized CPU, stage-2 paging, "
                       f"PV drivers); {name} resolves to it")
        p["cpu"] = "hvm"
        if p["memory"] == "pv-direct":
            p["memory"] = "nested"
        p["interrupts"] = "vgic"
    if FAMILY[p["family"]].exits_to_host_kernel:  # KVM, whatever its user-space VMM
        p["el2_host"] = bool(f.vhe)
        d.notes.append("KVM/ARM with VHE: the host kernel runs at EL2, exits stay in EL2"
                       if f.vhe else
                       "KVM/ARM without VHE (split mode): the host runs at EL1, every exit "
                       "switches worlds through a lowvisor at EL2")
    if p["interrupts"] in ("best", "injected", "apicv") and p["cpu"] != "emulation":
        p["interrupts"] = "vgic"
    if p["interrupts"] == "posted":
        d.refuse("posted interrupts are an x86 feature; ARM uses the GIC virtual CPU interface", "interrupts",
                 "posted", ["vgic"])
    if p["interrupts"] == "vgic" and not f.apicv:
        d.refuse(f"the GIC's virtual CPU interface (features.apicv on ARM), which {d.hw.id} lacks, is how KVM/ARM "
                 "and Xen on ARM deliver interrupts", "hw.features.apicv", False, [True])


def _check_cpu(d: _Draft) -> None:
    """Hardware-assisted CPUs need the hardware; a 64-bit Xen PV guest's system calls bounce (a note)."""
    p, hw = d.p, d.hw
    if p["cpu"] in ("hvm", "pvh") and hw.features.hw_virt == "none":
        d.refuse(f"{p['cpu'].upper()} needs hardware virtualization (VT-x, AMD-V or EL2), which "
                 f"{hw.id} lacks", "cpu", p["cpu"], ["pv", "bt", "emulation"])
    if p["cpu"] == "pv" and hw.arch == "x86_64" and p["family"] == "xen":
        d.notes.append("64-bit Xen PV: guest kernel and user share ring 3, so system calls "
                       "bounce through the hypervisor")


def _resolve_memory(d: _Draft) -> None:
    """Nested paging falls back to shadow paging without EPT/NPT; each other paging technique needs its CPU part."""
    p, hw = d.p, d.hw
    if p["memory"] == "nested" and not hw.features.nested_paging:
        if "memory" in d.explicit:
            d.refuse(f"nested paging needs EPT/NPT/stage-2, which {hw.id} lacks", "memory", "nested",
                     ["shadow"] + (["pv-direct"] if p["cpu"] == "pv" else []))
        p["memory"] = "shadow"
        d.notes.append(f"{hw.id} has no EPT/NPT: {p['family']} uses shadow paging")
    if p["memory"] == "pv-direct" and p["cpu"] != "pv":
        d.refuse("PV direct paging needs a PV guest kernel (cpu=pv)", "memory", "pv-direct", ["nested", "shadow"])
    if p["memory"] == "softmmu" and p["cpu"] != "emulation":
        d.refuse("a software MMU belongs to full emulation (cpu=emulation)", "memory", "softmmu",
                 ["nested", "shadow", "pv-direct"])
    if p["cpu"] == "emulation" and p["memory"] != "softmmu":
        d.refuse("full emulation translates every access through its software MMU", "memory", p["memory"],
                 ["softmmu"])
    if p["cpu"] == "pv" and p["memory"] == "nested":
        d.refuse("a PV guest runs without hardware paging support", "memory", "nested", ["pv-direct", "shadow"])
    if p["cpu"] == "bt" and p["memory"] != "shadow":
        d.refuse("binary translation keeps shadow page tables", "memory", p["memory"], ["shadow"])


def _resolve_arch_by_release(d: _Draft) -> None:
    """Xen 1.0 drove the devices inside the hypervisor and scheduled domains with BVT; no other hypervisor did."""
    p = d.p
    if p["family"] == "xen" and p["release"] == "2003" and "arch" not in d.explicit:
        p["arch"] = "type1-hypervisor-drivers"
        d.notes.append("Xen 1.0 (2003) drove the devices inside the hypervisor (Barham et al., SOSP 2003, sections "
                       "3.3 and 4); driver domains and netback/blkback in dom0 came with Xen 2.0 (Fraser et al., "
                       "OASIS 2004)")
    if p["family"] == "xen" and p["release"] == "2003" and "scheduler" not in d.explicit:
        p["scheduler"] = "bvt"
        d.notes.append("Xen 1.0 (2003) scheduled domains with borrowed virtual time (Barham et al., SOSP 2003, "
                       "section 3.3.1; Duda and Cheriton, SOSP 1999); the credit scheduler came with Xen 3.0.4 "
                       "(December 2006)")
    if p["scheduler"] == "bvt" and p["family"] != "xen":
        d.refuse("borrowed virtual time scheduled Xen's domains (Xen 1.0 to 3.2)", "scheduler", "bvt",
                 ["cfs", "host", "hyperv", "none"])
    if p["arch"] == "type1-hypervisor-drivers" and p["family"] != "xen":
        d.refuse("only Xen 1.0 drove devices inside a type-1 hypervisor", "arch", p["arch"],
                 ["type1-driver-domain", "type1-root-partition", "in-kernel", "type2-hosted"])


def _check_io(d: _Draft) -> None:
    """Each I/O path needs its hardware (SR-IOV) or its hypervisor's backend."""
    p, hw = d.p, d.hw
    f = hw.features
    if p["io"] == "sriov":
        if f.iommu == "none" or not f.sriov:
            d.refuse(f"SR-IOV needs an IOMMU and an SR-IOV NIC, which {hw.id} lacks", "io", "sriov",
                     ["emulated", "virtio", "vhost", "pv-split"])
        if p["cpu"] in ("bt", "emulation"):
            d.refuse("device assignment needs hardware virtualization", "io", "sriov", ["emulated", "hosted"])
    if p["io"] == "pv-split" and p["family"] != "xen":
        d.refuse("split drivers need a Xen driver domain", "io", "pv-split", ["emulated", "virtio", "vhost", "sriov"])
    if p["io"] in ("virtio", "vhost") and p["family"] not in ("kvm", "qemu"):
        d.refuse("virtio backends live in QEMU or vhost (KVM)", "io", p["io"],
                 ["emulated", "pv-split", "sriov"] if p["family"] == "xen" else ["emulated", "sriov"])
    if p["io"] == "hosted" and p["arch"] != "type2-hosted":
        d.refuse("hosted I/O needs a hosted (type-2) VMM", "io", "hosted",
                 ["emulated", "virtio", "vhost", "sriov", "pv-split"])
    if p["io"] == "vmbus" and p["family"] != "hyperv":
        d.refuse("VMBus is Hyper-V's", "io", "vmbus", ["emulated", "virtio", "vhost", "sriov"])


def _check_microvm(d: _Draft) -> None:
    """A microVM's VMM runs its guest on KVM and offers virtio-mmio devices only; virtio-mmio devices are served by
    such a VMM (Firecracker's docs/design.md: virtio net and block, a serial console and a partial keyboard
    controller, no PCI; no vhost or device assignment before v1.0)."""
    p = d.p
    if p["family"] == "firecracker":
        if d.hw.features.hw_virt == "none":
            d.refuse(f"a microVM's VMM runs its guest on KVM, which needs hardware virtualization (VT-x, AMD-V or "
                     f"EL2), and {d.hw.id} lacks it", "hypervisor", d.name, ["native", "xen-pv", "vmware-bt",
                                                                            "qemu-tcg"])
        if p["cpu"] != "hvm":
            d.refuse("a microVM's VMM runs its guest on KVM, a hardware-virtualized CPU", "cpu", p["cpu"], ["hvm"])
        if p["arch"] != "in-kernel":
            d.refuse("a microVM's VMM uses KVM, the hypervisor inside the host kernel", "arch", p["arch"],
                     ["in-kernel"])
        if p["io"] != "virtio-mmio":
            d.refuse("a microVM's devices are virtio-mmio net and block served by its VMM (no PCI, no vhost, no "
                     "device assignment)", "io", p["io"], ["virtio-mmio"])
    elif p["io"] == "virtio-mmio":
        d.refuse("virtio-mmio devices are served by a microVM's VMM (family firecracker)", "io", "virtio-mmio",
                 {"kvm": ["emulated", "virtio", "vhost", "sriov"], "xen": ["emulated", "pv-split", "sriov"],
                  "hyperv": ["vmbus", "emulated", "sriov"], "qemu": ["emulated", "virtio"],
                  "vmware": ["hosted"]}.get(p["family"], ["emulated"]))


def _resolve_interrupts(d: _Draft) -> None:
    """``best`` becomes the best delivery the CPU offers; every delivery needs its feature and its CPU part."""
    p, hw = d.p, d.hw
    posted, apicv = hw.usable("posted_interrupts"), hw.usable("apicv")
    for feature in ("apicv", "posted_interrupts"):
        if hw.unusable_because(feature) and p["cpu"] in ("hvm", "pvh") and p["interrupts"] in ("best", "posted"):
            d.notes.append(f"{hw.id}: {hw.unusable_because(feature)}")
    if p["interrupts"] == "best":
        if p["cpu"] == "pv":
            p["interrupts"] = "event-channel"
        elif posted:
            p["interrupts"] = "posted"
        elif apicv:
            p["interrupts"] = "apicv"
        else:
            p["interrupts"] = "injected"
        d.notes.append(f"interrupt delivery on {hw.id}: {p['interrupts']}")
    if p["interrupts"] == "posted" and not posted:
        d.refuse(f"{hw.id} has no posted interrupts" + (f" ({hw.unusable_because('posted_interrupts')})"
                                                                 if hw.features.posted_interrupts else ""),
                 "interrupts", "posted", ["apicv"] * apicv + ["injected"])
    if p["interrupts"] == "apicv" and not apicv:
        d.refuse(f"{hw.id} has no APIC virtualization (APICv/AVIC)" + (
            f" ({hw.unusable_because('apicv')})" if hw.features.apicv else ""), "interrupts", "apicv", ["injected"])
    if p["interrupts"] in ("posted", "apicv") and p["cpu"] in ("pv", "bt", "emulation"):
        d.refuse("APIC virtualization needs a hardware-virtualized CPU", "interrupts", p["interrupts"],
                 ["event-channel" if p["cpu"] == "pv" else "injected"])
    if p["interrupts"] == "eli" and (p["io"] != "sriov" or p["cpu"] != "hvm" or hw.is_arm):
        d.refuse("ELI's exitless interrupts are for an assigned device (io=sriov) on an x86 hardware-virtualized CPU",
                 "interrupts", "eli",
                 ["injected"] + ["apicv"] * apicv + ["posted"] * posted)
    if p["interrupts"] == "event-channel" and p["family"] != "xen":
        d.refuse("event channels are Xen's", "interrupts", "event-channel", ["injected", "apicv", "posted"])


def _resolve_page_sizes(d: _Draft) -> None:
    """The hypervisor that owns the EPT/NPT tables (the mode's own under nested paging, L0 for a nested guest) backs
    guest memory with 2 MiB pages by default; 1 GiB guest pages need 4-level paging."""
    p, hw = d.p, d.hw
    ept_owner = p["nested"] if p.get("nested", "none") != "none" else (p["family"] if p["memory"] == "nested" else "")
    if ept_owner and "host_page" not in d.explicit and p["host_page"] == "4K":
        if ept_owner == "kvm":
            p["host_page"] = "2M"
            d.notes.append("host pages: transparent huge pages back the guest's memory by default (Linux 2.6.38 and "
                           "later; QEMU marks guest RAM MADV_HUGEPAGE), so nested entries map 2 MiB")
        elif ept_owner == "firecracker":
            d.notes.append("host pages: Firecracker maps guest memory as plain anonymous memory without asking for "
                           "huge pages (guest huge pages were a request in 2020: Firecracker issue #2139, rust-vmm "
                           "vm-memory pull request #113), so nested entries map 4 KiB where the host's transparent "
                           "huge pages are in madvise mode")
        elif ept_owner == "xen":
            p["host_page"] = "2M"
            d.notes.append("host pages: Xen's domain builder populates an HVM or PVH guest's memory with 2 MiB "
                           "(and 1 GiB) superpages where it can (libxc meminit_hvm), so nested entries map 2 MiB")
    if p["guest_page"] == "1G" and hw.val("page_levels") < 4:
        d.refuse("1 GiB pages need 4-level paging", "guest_page", "1G", ["4K", "2M"])
    if p["host_page"] != "4K" and p["memory"] != "nested" and p.get("nested", "none") == "none":
        d.notes.append(f"host_page={p['host_page']} has no effect without nested paging")


def _resolve_container(d: _Draft) -> None:
    """A container runs on the host kernel: native CPU, memory and interrupts; its own network path and storage."""
    p = d.p
    for key in ("cpu", "memory", "interrupts"):
        if p[key] != "native":
            d.refuse("a container runs natively on the host kernel", key, p[key], ["native"])
    if p["io"] not in CONTAINER_IO:
        d.refuse("a container's network is the host's stack, a veth pair or veth with NAT", "io", p["io"],
                 list(CONTAINER_IO))
    if p["nested"] != "none":
        d.refuse("a container has no hypervisor to nest", "nested", p["nested"], ["none"])
    if p["storage"] == "native":
        p["storage"] = "volume"
        d.notes.append("container storage: a volume (a host directory, the native path)")


def _resolve_nested(d: _Draft) -> None:
    """A hypervisor (L1, the mode's family) running as a guest of another (L0, ``nested``): Turtles."""
    p, hw = d.p, d.hw
    f = hw.features
    if hw.is_arm:
        d.refuse("nested virtualization on ARM (NV, NV2) is not modelled", "nested", p["nested"], ["none"])
    if f.hw_virt == "none" or not f.nested_paging:
        d.refuse(f"the model runs L1 on EPT/NPT with VMX/SVM at L0, which {hw.id} lacks", "nested", p["nested"],
                 ["none"])
    if p["cpu"] in ("hvm", "pvh") and p["interrupts"] in ("best", "posted"):
        if p["interrupts"] == "posted" and "interrupts" in d.explicit:
            d.refuse("posted interrupts for a nested guest are not modelled", "interrupts", "posted",
                     ["apicv"] * hw.usable("apicv") + ["injected"])
        p["interrupts"] = "apicv" if hw.usable("apicv") else "injected"
    l0_io = "sriov" if p["io"] == "sriov" else NESTED[p["nested"]].l0_io
    memory = {"nested": "EPT on EPT (L0 shadows L1's EPT: multi-dimensional paging)",
              "shadow": "shadow paging by L1 on L0's EPT"}.get(p["memory"], f"{p['memory']} paging in L1 on L0's EPT")
    d.notes.append(f"nested: the guest (L2) runs under {p['family']} (L1) on {p['nested']} (L0); every exit of L2 "
                   f"goes to L0, which reflects it to L1; memory: {memory}; L1's own I/O to L0: {l0_io}"
                   + ("; VMCS shadowing spares L1's VMREAD/VMWRITE exits" if f.vmcs_shadowing and not hw.vendor == "amd"
                      else ""))


def l0_io(mode: Mode) -> str:
    """The I/O path L0 gives a nested guest's hypervisor (L1) for its own traffic: its assigned device through both
    levels, or the path L0's family gives its guests."""
    return "sriov" if mode.io_part.assigned else str(mode.nested_part.l0_io)


def page_levels_saved(size: str) -> int:
    """How many walk levels a page size removes (2M: one, 1G: two)."""
    return PAGES["guest_page"][size].levels_saved
