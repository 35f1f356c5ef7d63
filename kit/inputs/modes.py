"""Hypervisor modes: compositions of virtualization techniques, resolved on a profile.

A mode is not a label: it is a composition of parts (how the CPU is
virtualized, how memory is, the I/O path, interrupt delivery, where the
hypervisor sits, which vCPU scheduler runs), plus the hypervisor family whose
software paths handle exits. Presets such as ``kvm`` or ``xen-pv`` are named
compositions; any part can be overridden. :func:`hypervisor` resolves a
composition against a hardware profile: impossible combinations are refused
with a clear message, and the ones a real hypervisor resolves by itself (KVM on
a CPU without EPT uses shadow paging) are resolved the same way, with a note
saying so in :attr:`Mode.resolutions`.

The value objects (:class:`Mode`, :data:`PARTS`, :data:`PRESETS`) are in :mod:`kit.inputs.composition` and
importable from here; this module is the resolution, one concern after another.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import HvkitError
from .coerce import to_bool
from .composition import (CONTAINER_IO, PARTS, PRESET_DEFAULTS, PRESETS, SYNC_PARTS, Mode, l0_io, list_hypervisors,
                          page_levels_saved)
from .hardware import Hardware, load_hardware
from .parts import FAMILY, NESTED, OFFLOAD

__all__ = ["Mode", "PARTS", "PRESETS", "hypervisor", "list_hypervisors", "CONTAINER_IO", "l0_io", "page_levels_saved",
           "GSO_YEAR", "GRO_YEAR"]


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
    parts = dict(PRESET_DEFAULTS, el2_host=False, shadow_cache=True, **PRESETS[name])
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
