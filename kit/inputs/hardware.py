"""Hardware profiles: what a CPU, its memory and its devices cost.

A profile is a YAML file in ``hw_profiles/`` (or any path a user gives). Every
numeric parameter is a ``{value, source}`` pair: the source is a citation, a
datasheet, or a sentence that starts "estimated, because ..."; a measured or
fitted value may carry its 95% ``interval``. A profile may inherit another with
``base:`` (:mod:`kit.inputs.inherit`). Unknown keys are refused, and every error
names the file, the field, the bad value and what is allowed.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import HvkitError
from .coerce import Bool, Int, Num, to_bool, to_number
from .files import ID_PATTERN, cached_load, catalogue_dir, load_validated, locate, read_yaml
from .inherit import resolve_base
from .ranges import Range, needs_range

__all__ = ["Quantity", "PlausibleRange", "Features", "Params", "Hardware", "UNMODELLED_FEATURES", "FEATURE_NEEDS", "load_hardware", "list_hardware",
           "profiles_dir", "PARAM_DOCS"]


class PlausibleRange(BaseModel):
    """How far an estimated or fitted value may plausibly be off, and why (:mod:`kit.inputs.ranges`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    low: Num = Field(description="the lowest plausible value, in the parameter's unit")
    high: Num = Field(description="the highest plausible value, in the parameter's unit")
    because: str = Field(min_length=10, description="why the range is this wide (equal bounds: why the value is "
                                                    "not varied, e.g. a configuration the experiment states)")


class Quantity(BaseModel):
    """A number with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Num = Field(description="the number, in the unit its parameter names")
    source: str = Field(min_length=3, description="a citation, a datasheet, or 'estimated, because ...'")
    interval: list[Num] | None = Field(None, description="a measured or fitted value's 95% interval [low, high] "
                                                         "(hvkit probe, hvkit profile fit)")
    range: PlausibleRange | None = Field(None, description="an estimated or fitted value's plausible range with the "
                                                           "reason for its width (what model-uncertainty intervals "
                                                           "propagate; a fitted value's interval serves when absent)")

    @field_validator("source")
    @classmethod
    def _source_is_provenance(cls, s: str) -> str:
        low = s.strip().lower()
        if low.startswith("estimated") and "because" not in low:
            raise ValueError("an estimate must say why: write 'estimated, because ...'")
        return s

    @model_validator(mode="after")
    def _interval_holds_the_value(self) -> "Quantity":
        if self.interval is not None:
            if len(self.interval) != 2:
                raise ValueError("an interval is [low, high]")
            low, high = self.interval
            if not low <= self.value <= high:
                raise ValueError(f"the interval [{low:g}, {high:g}] does not contain the value {self.value:g}")
        return self

    def plausible(self) -> Range | None:
        """The value's plausible range: its ``range``, else the 95% ``interval`` of a measured or fitted value;
        None when it states neither."""
        if self.range is not None:
            return Range(float(self.range.low), float(self.range.high), self.range.because)
        if self.interval is not None and self.source.strip().lower().startswith(("fitted", "measured")):
            return Range(float(self.interval[0]), float(self.interval[1]),
                         "the 95% interval of its measurement or fit")
        return None

    def needs_range(self) -> bool:
        """Whether the value is estimated or fitted, so that it must have a plausible range."""
        return needs_range(self.source)


class Features(BaseModel):
    """Virtualization features of the CPU and platform (booleans and enumerations)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hw_virt: Literal["none", "vmx", "svm", "el2"] = Field(description="hardware virtualization: VT-x, AMD-V, ARM EL2")
    nested_paging: Bool = Field(description="EPT (Intel), NPT/RVI (AMD), stage-2 (ARM)")
    ept_ad_bits: Bool = Field(False, description="accessed/dirty bits in EPT entries")
    tagged_tlb: Bool = Field(description="VPID (Intel), ASID (AMD), VMID (ARM)")
    tpr_shadow: Bool = Field(False, description="CR8/TPR accesses without exits")
    apicv: Bool = Field(False, description="virtual APIC: EOI and TPR without exits (APICv, AVIC)")
    posted_interrupts: Bool = Field(False, description="interrupts delivered to a running vCPU without an exit")
    vmcs_shadowing: Bool = Field(False, description="an L1 hypervisor reads and writes a shadow VMCS without exits")
    pml: Bool = Field(False, description="page-modification logging (hardware dirty-page log)")
    preemption_timer: Bool = Field(False, description="VMX-preemption timer (guest timers without host hrtimers)")
    vhe: Bool = Field(False, description="ARMv8.1 virtualization host extensions (host kernel at EL2)")
    gic: Literal["none", "v2", "v3"] = Field("none", description="ARM generic interrupt controller version")
    la57: Bool = Field(False, description="5-level paging available")
    iommu: Literal["none", "vt-d", "amd-vi", "smmu"] = Field("none", description="IOMMU for DMA remapping and device assignment")
    sriov: Bool = Field(False, description="an SR-IOV capable NIC")
    tso: Bool = Field(False, description="the NIC cuts TCP segments of up to 64 KiB into frames (TSO/LSO); without "
                                         "it software does, just above the driver (GSO)")
    lro: Bool = Field(False, description="the NIC merges a flow's received frames (LRO, RSC); off where the host "
                                         "bridges or routes, where software merges them (GRO)")
    adaptive_moderation: Bool = Field(False, description="the NIC driver adapts its receive interrupt moderation to "
                                                         "the traffic (Intel's dynamic ITR, mlx5's DIM): interrupts "
                                                         "at most params.nic_rx_usecs apart at request rates; "
                                                         "without it the timer of nic_rx_usecs runs from each "
                                                         "first unsignalled frame")
    meltdown: Bool = Field(False, description="speculates past faulting kernel loads (needs page-table isolation)")
    l1tf: Bool = Field(False, description="L1 terminal fault: a hypervisor flushes the L1 data cache on VM entry")
    ple: Bool = Field(False, description="pause-loop exiting (Intel PLE, AMD pause filter, ARM WFE trapping): a "
                                         "spinning vCPU exits to the hypervisor")
    source: str = Field(min_length=3, description="where the feature list comes from")


#: Features a profile records as facts but no mechanism of the model reads yet: overriding them would change
#: nothing, so it is refused rather than silently ignored.
#: (``ept_ad_bits`` and ``pml`` are read by live migration's dirty tracking, kit.costs.tracking;
#: ``vmcs_shadowing`` by nested virtualization's exit reflection, kit.costs.nested.)
UNMODELLED_FEATURES = {
    "la57": "5-level paging is described by params.page_levels, which the page walks read",
}


#: Features that work only with another (on x86; on ARM ``apicv`` is the GIC's virtual CPU interface, which needs no
#: TPR shadow): a profile or an override may record the first without the second, and the modes then cannot use it
#: (:meth:`Hardware.usable`).
FEATURE_NEEDS = {
    "posted_interrupts": ("apicv", "Intel SDM vol. 3C, 26.2.1.1: 'process posted interrupts' needs 'virtual-interrupt "
                                   "delivery' (APICv); AMD's AVIC doorbell is part of AVIC"),
    "apicv": ("tpr_shadow", "Intel SDM vol. 3C, 26.2.1.1: virtual-interrupt delivery and APIC-register "
                            "virtualization need 'use TPR shadow'"),
}


#: The optional parameters of the memory system, NUMA and SMT (read by kit.sim.memory and kit.sim.numa).
PARAM_DOCS_EXTRA = {
    "nic_rx_usecs": "receive interrupt moderation (us): a static timer from the first unsignalled frame (unless "
                    "nic_rx_frames_per_irq frames come first), or with features.adaptive_moderation the shortest "
                    "interval between interrupts in the driver's latency setting; absent: an interrupt per arrival",
    "numa_nodes": "memory nodes (memory controllers with their own DIMMs); 1 for a front-side-bus machine",
    "mem_channels": "DRAM channels per memory node",
    "mem_mts": "DRAM transfer rate per channel (MT/s; 8 bytes per transfer)",
    "fsb_gbs": "front-side bus peak (GB/s) of a platform whose memory controller sits behind it (0: integrated)",
    "llc_mib": "last-level cache per socket (MiB)",
    "l2_kib": "private cache per core that a switch to another VM loses (KiB; L2, or L1 where the L2 is shared)",
    "llc_latency_ns": "last-level cache load latency (ns)",
    "remote_latency_ns": "DRAM load latency from another socket's memory node (ns)",
    "numa_link_gbs": "socket-to-socket interconnect bandwidth, each direction (GB/s)",
    "smt_yield": "throughput of two hardware threads on one core relative to one thread alone",
}



class Params(BaseModel):
    """Numeric parameters; each is a :class:`Quantity`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    freq_ghz: Quantity
    sockets: Quantity
    cores_per_socket: Quantity
    threads_per_core: Quantity
    memory_gib: Quantity
    kernel_cpi: Quantity
    user_cpi: Quantity
    hypervisor_cpi: Quantity
    syscall_cycles: Quantity
    exception_cycles: Quantity
    irq_cycles: Quantity
    ipi_cycles: Quantity
    cr3_switch_cycles: Quantity
    cpuid_cycles: Quantity
    msr_write_cycles: Quantity
    tlb_entries: Quantity
    page_levels: Quantity
    walk_ref_cycles: Quantity
    pwc_skip_levels: Quantity
    nested_tlb_hit: Quantity
    mem_latency_ns: Quantity
    exit_roundtrip_cycles: Quantity
    world_switch_cycles: Quantity
    sysreg_switch_cycles: Quantity
    vgic_switch_cycles: Quantity
    port_io_cycles: Quantity
    mmio_read_cycles: Quantity
    iotlb_miss_cycles: Quantity
    nic_gbps: Quantity
    nic_latency_us: Quantity
    nic_rx_frames_per_irq: Quantity
    nic_tx_frames_per_irq: Quantity
    disk_service_ms: Quantity
    disk_mbps: Quantity
    # receive interrupt moderation by time (optional: without it, interrupts follow the frame count alone)
    nic_rx_usecs: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["nic_rx_usecs"])
    # the memory system, NUMA and SMT (optional: a profile without them runs without those mechanisms, and the
    # run's resolutions say so)
    numa_nodes: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["numa_nodes"])
    mem_channels: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["mem_channels"])
    mem_mts: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["mem_mts"])
    fsb_gbs: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["fsb_gbs"])
    llc_mib: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["llc_mib"])
    l2_kib: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["l2_kib"])
    llc_latency_ns: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["llc_latency_ns"])
    remote_latency_ns: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["remote_latency_ns"])
    numa_link_gbs: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["numa_link_gbs"])
    smt_yield: Quantity | None = Field(None, description=PARAM_DOCS_EXTRA["smt_yield"])


#: One line per parameter: its meaning and unit (shown by ``hvkit show hardware``).
PARAM_DOCS = {
    "freq_ghz": "core clock (GHz)",
    "sockets": "sockets",
    "cores_per_socket": "physical cores per socket",
    "threads_per_core": "hardware threads per core",
    "memory_gib": "installed memory (GiB)",
    "kernel_cpi": "cycles per instruction of guest (and host) kernel code",
    "user_cpi": "cycles per instruction of guest user code",
    "hypervisor_cpi": "cycles per instruction of hypervisor and backend code paths (kit/costs/codepaths.py)",
    "syscall_cycles": "native system call entry and return, empty handler (cycles)",
    "exception_cycles": "native exception delivery and return, e.g. #DE (cycles)",
    "irq_cycles": "native external interrupt delivery, handler entry/exit and EOI (cycles)",
    "ipi_cycles": "native IPI send to handler entry on the target (cycles)",
    "cr3_switch_cycles": "native address-space switch including the untagged TLB flush (cycles)",
    "cpuid_cycles": "native CPUID instruction (cycles)",
    "msr_write_cycles": "native WRMSR to a timer MSR (cycles)",
    "tlb_entries": "last-level TLB entries for 4 KiB pages",
    "page_levels": "page-table levels of the paging mode used (2, 3, 4 or 5)",
    "walk_ref_cycles": "average cycles per page-walk memory reference (mostly cache hits)",
    "pwc_skip_levels": "average upper levels a page-walk cache lets a walk skip, per dimension",
    "nested_tlb_hit": "share of a 2-D walk's guest-physical lookups (of guest page-table pages) that hit a cached gPA-to-hPA translation (nested TLB), 0 to 1",
    "mem_latency_ns": "DRAM load latency (ns)",
    "exit_roundtrip_cycles": "VM exit plus VM entry hardware round trip, or ARM trap to EL2 and eret (cycles; 0 without hardware virtualization)",
    "world_switch_cycles": "hosted VMM world switch between host OS and VMM contexts, one way (cycles)",
    "sysreg_switch_cycles": "ARM: save and restore EL1 system-register context, one direction (cycles)",
    "vgic_switch_cycles": "ARM: save and restore the virtual GIC interface state (cycles)",
    "port_io_cycles": "native port I/O to a chipset register such as port 0x80 (cycles)",
    "mmio_read_cycles": "native uncached device-register read (cycles)",
    "iotlb_miss_cycles": "IOMMU IOTLB miss walk (cycles)",
    "nic_gbps": "NIC line rate (Gbit/s)",
    "nic_latency_us": "NIC and wire one-way latency (us)",
    "nic_rx_frames_per_irq": "frames a stream's receive interrupt covers (the NIC's interrupt coalescing)",
    "nic_tx_frames_per_irq": "transmitted frames a transmit-completion interrupt covers (interrupt coalescing)",
    "disk_service_ms": "disk random 4 KiB read service time (ms)",
    "disk_mbps": "disk sequential bandwidth (MB/s)",
    **PARAM_DOCS_EXTRA,
}

_POSITIVE = {"freq_ghz", "sockets", "cores_per_socket", "threads_per_core", "memory_gib",
             "kernel_cpi", "user_cpi", "hypervisor_cpi", "syscall_cycles", "exception_cycles", "tlb_entries", "page_levels",
             "walk_ref_cycles", "mem_latency_ns", "nic_gbps", "disk_service_ms", "disk_mbps", "nic_rx_frames_per_irq",
             "nic_tx_frames_per_irq", "numa_nodes", "mem_channels", "mem_mts", "llc_mib", "l2_kib", "llc_latency_ns",
             "remote_latency_ns", "smt_yield"}
_INTEGRAL = {"sockets", "cores_per_socket", "threads_per_core", "page_levels", "numa_nodes", "mem_channels"}
#: The largest host a profile may describe: logical CPUs (sockets x cores x threads) and memory nodes
MAX_HOST_CPUS = (8192, "Linux x86-64's largest CONFIG_NR_CPUS (CONFIG_MAXSMP): no kernel runs a larger host")
MAX_NUMA_NODES = (1024, "Linux's largest CONFIG_NODES_SHIFT (10) on x86-64 with CONFIG_MAXSMP: 1,024 memory nodes")


class Hardware(BaseModel):
    """A validated hardware profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN, description="the profile's id (its file name in hw_profiles/)")
    name: str = Field(description="the CPU and platform, as a person names it")
    vendor: Literal["intel", "amd", "arm"] = Field(description="CPU vendor")
    arch: Literal["x86", "x86_64", "arm64"] = Field(description="instruction set the guests run")
    year: Int = Field(ge=1990, le=2100, description="year the platform shipped")
    description: str = Field("", description="what the platform is, in a paragraph")
    features: Features = Field(description="virtualization features (booleans and enumerations)")
    params: Params = Field(description="numeric parameters, each a value with its source")

    def val(self, name: str) -> float:
        """The value of parameter ``name``."""
        return getattr(self.params, name).value

    def opt(self, name: str) -> float | None:
        """The value of optional parameter ``name``, or None when the profile does not give it."""
        q = getattr(self.params, name)
        return None if q is None else q.value

    @property
    def pcpus(self) -> int:
        """Logical CPUs."""
        return int(self.val("sockets") * self.val("cores_per_socket") * self.val("threads_per_core"))

    @property
    def is_arm(self) -> bool:
        return self.arch == "arm64"

    def usable(self, feature: str) -> bool:
        """Whether boolean ``feature`` is on and so is every feature it needs (:data:`FEATURE_NEEDS`; on ARM
        ``apicv`` needs no TPR shadow)."""
        if not getattr(self.features, feature):
            return False
        need = FEATURE_NEEDS.get(feature)
        if need is None or (self.is_arm and feature == "apicv"):
            return True
        return self.usable(need[0])

    def unusable_because(self, feature: str) -> str:
        """Why ``feature``, which the profile records, cannot be used (empty when it can or is off)."""
        if not getattr(self.features, feature) or self.usable(feature):
            return ""
        need, source = FEATURE_NEEDS[feature]
        return f"features.{feature} needs a usable features.{need} ({source})"

    def with_overrides(self, overrides: dict) -> "Hardware":
        """A copy with parameters or features replaced; validated like a file.

        Keys are parameter names (``exit_roundtrip_cycles``) or
        ``features.<name>``; values are numbers (or feature values).
        """
        if not overrides:
            return self
        data = self.model_dump()
        for key, value in overrides.items():
            if key.startswith("features."):
                fname = key.split(".", 1)[1]
                if fname not in Features.model_fields or fname == "source":
                    raise HvkitError("unknown hardware feature", field=f"hw.{key}", value=fname,
                                     allowed=[f for f in Features.model_fields if f != "source"])
                if fname in UNMODELLED_FEATURES:
                    raise HvkitError(f"not modelled yet: {UNMODELLED_FEATURES[fname]}", field=f"hw.{key}",
                                     value=value, allowed=sorted(set(Features.model_fields) - set(UNMODELLED_FEATURES)
                                                                 - {"source"}))
                data["features"][fname] = _coerce_feature(fname, value)
            else:
                if key not in Params.model_fields:
                    raise HvkitError("unknown hardware parameter", field=f"hw.{key}", value=key,
                                     allowed=list(Params.model_fields))
                num = to_number(value, field=f"hw.{key}")
                data["params"][key] = {"value": num, "source": "override given by the user"}
        try:
            return _validate(data, where=f"hardware profile '{self.id}' with overrides")
        except HvkitError as exc:  # name the field as the override spelt it: hw.<parameter>, hw.features.<name>
            field = re.sub(r"^params\.(\w+)\.value$", r"hw.\1", exc.field or "")
            field = re.sub(r"^features\.", "hw.features.", field)
            raise exc.renamed(field or None, f"hardware profile '{self.id}' with --set overrides") from None


def _coerce_feature(name: str, value: Any) -> Any:
    if Features.model_fields[name].annotation is bool:
        return to_bool(value, field=f"hw.features.{name}")
    return value


def _check_ranges(hw: Hardware, where: str) -> None:
    for name in Params.model_fields:
        if getattr(hw.params, name) is None:
            continue
        v = hw.val(name)
        if v < 0 or (name in _POSITIVE and v <= 0):
            raise HvkitError("must be positive" if name in _POSITIVE else "must not be negative",
                             where=where, field=f"params.{name}.value", value=v,
                             allowed="a number > 0" if name in _POSITIVE else "a number >= 0")
        if name in _INTEGRAL and v != int(v):
            raise HvkitError("must be a whole number", where=where, field=f"params.{name}.value",
                             value=v, allowed="an integer")
    cpus = hw.val("sockets") * hw.val("cores_per_socket") * hw.val("threads_per_core")
    if cpus > MAX_HOST_CPUS[0]:
        biggest = max(("sockets", "cores_per_socket", "threads_per_core"), key=hw.val)
        raise HvkitError(f"a host of {cpus:.4g} logical CPUs (sockets x cores_per_socket x threads_per_core) is larger "
                         f"than any kernel runs", where=where, field=f"params.{biggest}.value",
                         value=hw.val(biggest), allowed=f"at most {MAX_HOST_CPUS[0]} logical CPUs in all")
    if (hw.opt("numa_nodes") or 1) > min(MAX_NUMA_NODES[0], cpus):
        raise HvkitError("more memory nodes than the host has CPUs (or than any kernel supports)", where=where,
                         field="params.numa_nodes.value", value=hw.opt("numa_nodes"),
                         allowed=f"at most {min(MAX_NUMA_NODES[0], int(cpus))}")
    for name in Params.model_fields:  # after the values themselves: a range that does not hold its value
        q = getattr(hw.params, name)
        if q is not None and q.range is not None and not q.range.low <= q.value <= q.range.high:
            raise HvkitError(f"the range {q.range.low:g} to {q.range.high:g} does not hold the value {q.value:g}",
                             where=where, field=f"params.{name}.range", value=[q.range.low, q.range.high],
                             allowed=f"low <= {q.value:g} <= high")
    f = hw.features
    if f.hw_virt == "none" and hw.val("exit_roundtrip_cycles") > 0:
        raise HvkitError("a CPU without hardware virtualization has no VM exits", where=where,
                         field="params.exit_roundtrip_cycles.value",
                         value=hw.val("exit_roundtrip_cycles"), allowed="0 when features.hw_virt is none")
    if f.hw_virt != "none" and hw.val("exit_roundtrip_cycles") <= 0:
        raise HvkitError("hardware virtualization needs an exit round trip", where=where,
                         field="params.exit_roundtrip_cycles.value", value=0, allowed="a number > 0")
    arch_virt = {"x86": {"none", "vmx", "svm"}, "x86_64": {"none", "vmx", "svm"}, "arm64": {"none", "el2"}}
    if f.hw_virt not in arch_virt[hw.arch]:
        raise HvkitError(f"not available on {hw.arch}", where=where, field="features.hw_virt",
                         value=f.hw_virt, allowed=sorted(arch_virt[hw.arch]))
    if hw.arch == "arm64" and f.gic == "none":
        raise HvkitError("an ARM profile needs its GIC version", where=where, field="features.gic",
                         value="none", allowed=["v2", "v3"])
    if f.nested_paging and f.hw_virt == "none":
        raise HvkitError("nested paging needs hardware virtualization", where=where,
                         field="features.nested_paging", value=True, allowed="false when hw_virt is none")
    if f.sriov and f.iommu == "none":
        raise HvkitError("SR-IOV passthrough needs an IOMMU", where=where, field="features.sriov",
                         value=True, allowed="false when iommu is none")
    if hw.val("nested_tlb_hit") > 1:
        raise HvkitError("a hit rate is at most 1", where=where, field="params.nested_tlb_hit.value",
                         value=hw.val("nested_tlb_hit"), allowed="0 to 1")
    if not 2 <= hw.val("page_levels") <= 5:
        raise HvkitError("out of range", where=where, field="params.page_levels.value",
                         value=hw.val("page_levels"), allowed="2 to 5")


def _validate(data: dict, where: str) -> Hardware:
    hw = load_validated(data, Hardware, where, "a profile")
    _check_ranges(hw, where)
    return hw


def profiles_dir() -> Path:
    """Where the shipped profiles live (``hw_profiles/`` under the project root; ``$HVKIT_ROOT`` moves it)."""
    return catalogue_dir("hw_profiles")


def list_hardware() -> list[str]:
    """Ids of the shipped profiles."""
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def load_hardware(name_or_path: str | os.PathLike) -> Hardware:
    """Load and validate a profile by id (``skylake-sp-2017``) or by path to a YAML file."""
    if isinstance(name_or_path, Hardware):
        return name_or_path
    return cached_load(locate(str(name_or_path), profiles_dir(), "hardware profile"), _build)


def _build(path: Path) -> Hardware:
    data, _ = resolve_base(read_yaml(path), path, profiles_dir(), "hardware profile")
    hw = _validate(data, where=str(path))
    if path.parent.resolve() == profiles_dir().resolve() and hw.id != path.stem:
        raise HvkitError("profile id must match its file name", where=str(path), field="id",
                         value=hw.id, allowed=path.stem)
    return hw
