"""What a VM's life costs: each operation of a mode on a host (create, boot, pause and unpause, save and restore,
snapshot and clone, shut down and destroy) as phases, each a piece of work on a resource of the host.

A phase's resource says who pays: ``toolstack`` (CPU cycles of whatever builds and manages VMs: dom0's vCPUs under a
type-1 hypervisor, a host thread otherwise), ``vcpu`` (cycles of the VM's own vCPU: its firmware, its kernel's
decompression and initialization, the exits its device probing and console output take), ``disk-read`` and
``disk-write`` (bytes through the host's disk) and ``wait`` (seconds nothing on the host spends). The phases follow
from the mode's parts (:mod:`kit.inputs.parts`): which firmware the family boots through (none when the VMM or the
domain builder enters the kernel directly), whether the kernel image is compressed, whether memory is allocated when
the VM is built or on first touch, whether devices are found on a PCI bus or described to the kernel (virtio-mmio,
xenbus), whether the console is an emulated UART whose every byte exits to the device model or a hypervisor call,
whether a snapshot's memory is read back or mapped. What a device probe or a console byte costs is the cost model's
own path for the access (:class:`kit.costs.model.CostModel`).

Every constant is ``(value, source, (low, high))``; :func:`sample` draws them from their ranges and ``draws``
replaces any of them by name, which is how :func:`kit.lifecycle.sensitivity` shows what each estimate moves.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import HvkitError
from ..inputs.hardware import Hardware
from ..inputs.modes import Mode
from . import recovery as rc
from .model import CostModel

__all__ = ["Phase", "VmShape", "OPERATIONS", "RESOURCES", "COSTS", "VMM_START_S", "FIRMWARE_S", "operation", "seconds",
           "sample", "restart_seconds", "value"]

Cost = tuple[float, str, tuple[float, float]]
#: The operations, in the order a VM's life goes through them
OPERATIONS = ("create", "boot", "pause", "unpause", "save", "restore", "snapshot", "clone", "shutdown", "destroy")
RESOURCES = ("toolstack", "vcpu", "disk-read", "disk-write", "wait")

#: Starting the software that runs one VM (its VMM process, or the toolstack's domain build), by family
VMM_START_S: dict[str, Cost] = {
    "kvm": (0.08, "estimated, because QEMU's start (exec of a dynamically linked binary with its libraries, QOM type "
                  "registration, realizing a PC's machine and devices) takes tens of milliseconds; plausible 20-500 ms",
            (0.02, 0.5)),
    "qemu": (0.08, "estimated as kvm's: the same QEMU binary starting; plausible 20-500 ms", (0.02, 0.5)),
    "firecracker": (0.008, "estimated, because Firecracker is one statically linked process that installs its seccomp "
                           "filters and starts its API server, with no device enumeration (docs/design.md), in a few "
                           "milliseconds, and the jailer's chroot and cgroup setup before it a few more; plausible "
                           "2-50 ms", (0.002, 0.05)),
    "xen": (rc.DOMAIN_BUILD_S[0], "Xen's xl/libxl domain build: " + rc.DOMAIN_BUILD_S[1], rc.DOMAIN_BUILD_S[2]),
    "hyperv": (1.0, "estimated, because the virtual machine management service starts a worker process per VM and "
                    "creates its partition through the hypervisor, about a second; plausible 0.3-3 s", (0.3, 3.0)),
    "vmware": (2.0, "estimated, because a hosted VMM starts its user process, loads its monitor into the host kernel "
                    "and maps guest memory, a couple of seconds; plausible 0.5-5 s", (0.5, 5.0)),
    "container": (0.3, "estimated, because containerd and runc create the namespaces and cgroups, mount the overlay "
                       "and exec the entry point in a few hundred milliseconds; plausible 0.1-1 s", (0.1, 1.0)),
}
#: The firmware a hardware-virtualized guest runs before its kernel (kit.inputs.parts.FamilyPart.firmware)
FIRMWARE_S: dict[str, Cost] = {
    "none": (0.0, "no firmware: the VMM or the domain builder enters the kernel directly", (0.0, 0.0)),
    "seabios": (0.15, "estimated, because SeaBIOS under QEMU sets up its devices through fw_cfg and runs the option "
                      "ROMs, with no boot menu wait, in a fraction of a second; plausible 50-600 ms", (0.05, 0.6)),
    "hvmloader": (0.4, "estimated, because Xen's hvmloader builds the ACPI, SMBIOS and MP tables and then runs SeaBIOS, "
                       "its devices emulated by qemu-dm in dom0; plausible 0.1-1.5 s", (0.1, 1.5)),
    "uefi": (1.5, "estimated, because UEFI firmware (OVMF, Hyper-V's generation 2) loads and runs its drivers before "
                  "the boot manager, one to a few seconds; plausible 0.5-5 s", (0.5, 5.0)),
    "pc-bios": (2.0, "estimated, because a hosted VMM's PC BIOS runs its POST with a splash delay, about two seconds; "
                     "plausible 0.5-6 s", (0.5, 6.0)),
}
API_CALL_S: Cost = (0.001, "estimated, because one API call is an HTTP request over a Unix socket that the VMM's API "
                           "thread parses and hands to the VMM thread, about a millisecond; plausible 0.2-5 ms",
                    (0.0002, 0.005))
POPULATE_S_PER_GIB: Cost = (0.2, "estimated, because a hypervisor that allocates all of a new domain's memory takes "
                                 "and scrubs (zeroes) each page, about 5-10 GB/s on one core with the allocator's "
                                 "work; plausible 0.05-1 s per GiB", (0.05, 1.0))
FREE_S_PER_GIB: Cost = (0.1, "estimated, because freeing a VM's memory returns each page to the allocator (and Xen "
                             "scrubs it), faster than allocating; plausible 0.02-0.5 s per GiB", (0.02, 0.5))
KERNEL_IMAGE_MIB: dict[str, Cost] = {
    "compressed": (10.0, "estimated, because a distribution's x86 bzImage is about 8-12 MiB; plausible 5-15 MiB",
                   (5.0, 15.0)),
    "uncompressed": (40.0, "estimated, because its uncompressed ELF vmlinux is three to five times larger; plausible "
                           "20-60 MiB", (20.0, 60.0)),
}
DECOMPRESS_MB_PER_S: Cost = (200.0, "estimated, because the kernel's own decompressor (gzip by default, LZ4 and zstd "
                                    "faster) produces a few hundred MB/s on a modern core; plausible 80-600 MB/s",
                             (80.0, 600.0))
COPY_GB_PER_S: Cost = (5.0, "estimated, because loading a kernel image from the host's page cache into guest memory "
                            "is a memory copy of a few GB/s; plausible 2-10 GB/s", (2.0, 10.0))
KERNEL_INIT_INSTR: Cost = (3e8, "estimated, because a general-purpose Linux kernel's initialization up to exec'ing "
                                "init, without waiting for devices (memory and page tables, subsystems, initcalls), is "
                                "about a tenth of a second of CPU on a modern core; plausible 1e8-1e9 instructions",
                           (1e8, 1e9))
PCI_CONFIG_ACCESSES: Cost = (1000.0, "estimated, because enumerating a PC's PCI bus (32 slots, the functions present, "
                                     "their BARs and capabilities) with a dozen emulated devices takes about a "
                                     "thousand configuration reads and writes, each an 0xCF8 address write and an "
                                     "0xCFC data access; plausible 300-3,000", (300.0, 3000.0))
VIRTIO_MMIO_PROBE_ACCESSES: Cost = (30.0, "Linux drivers/virtio/virtio_mmio.c: vm_probe reads the magic value, version, "
                                          "device and vendor ids, then the features are read and written and each "
                                          "queue set up (select, size, the three ring addresses, ready) and the status "
                                          "written, about thirty register accesses for a device of one or two queues; "
                                          "plausible 20-60", (20.0, 60.0))
XENBUS_OPS: Cost = (20.0, "estimated, because a PV frontend connects through xenstore: reading its backend's path and "
                          "features, writing its ring reference and event channel and the state changes, about twenty "
                          "xenstore operations per device; plausible 10-50", (10.0, 50.0))
XENSTORE_OP_S: Cost = (5e-5, "estimated, because a xenstore operation is a request on a shared ring to xenstored in "
                             "dom0 and its reply, tens of microseconds; plausible 20-200 us", (2e-5, 2e-4))
DEVICES: Cost = (2.0, "the kit's VMs have a network and a disk device (and a console)", (2.0, 2.0))
CONSOLE_KB: Cost = (30.0, "estimated, because a distribution kernel prints 20-60 KB to its console at the default log "
                          "level while it boots (far less with quiet); plausible 5-100 KB", (5.0, 100.0))
UART_ACCESSES_PER_BYTE: Cost = (2.0, "Linux drivers/tty/serial/8250/8250_port.c: serial8250_console_putchar waits for "
                                     "the transmitter (a read of the line status register) and writes the byte (the "
                                     "transmit holding register): two port accesses per byte at least", (2.0, 4.0))
PV_CONSOLE_BYTES_PER_CALL: Cost = (80.0, "estimated, because a PV console (hvc over Xen's console ring or hypercall) "
                                         "takes a line per call; plausible 20-200 bytes", (20.0, 200.0))
BOOT_TOUCHED_MIB: Cost = (64.0, "estimated, because booting to init touches the kernel's text and data, its page "
                                "tables, slabs and the page cache it fills, tens of MiB; plausible 20-256 MiB",
                          (20.0, 256.0))
FIRST_TOUCH_CYCLES_PER_PAGE: Cost = (4000.0, "estimated, because a guest's first access to a page not yet backed is an "
                                             "EPT violation, the host's page fault allocating and zeroing 4 KiB and "
                                             "the new EPT entry, a couple of microseconds; plausible 2,000-10,000 "
                                             "cycles", (2000.0, 10000.0))
PAUSE_S: Cost = (0.002, "estimated, because pausing kicks every vCPU out of the guest (an IPI each) and marks it "
                        "stopped, through a toolstack call of a millisecond or two; plausible 0.5-20 ms",
                 (0.0005, 0.02))
DEVICE_STATE_KB: Cost = (64.0, "estimated, because a VM's vCPU registers, interrupt controllers and devices' state "
                               "serialize to tens of KiB; plausible 16-512 KiB", (16.0, 512.0))
SHUTDOWN_S: Cost = (2.0, "estimated, because a guest's init stops its services, syncs its file systems and powers "
                         "off in a couple of seconds; plausible 0.2-20 s", (0.2, 20.0))
TEARDOWN_S: Cost = (0.05, "estimated, because tearing a VM down (its process or domain, devices, xenstore or API "
                          "state) takes tens of milliseconds besides freeing its memory; plausible 10-500 ms",
                    (0.01, 0.5))
SERVICE_START_S: Cost = (3.0, "estimated, because from init to a ready service (the init system's units, the service's "
                              "own start) takes a few seconds in a general-purpose guest; plausible 0.5-30 s",
                         (0.5, 30.0))

#: Every scalar constant by name (for the sensitivity table and :func:`sample`)
COSTS: dict[str, Cost] = {name: c for name, c in globals().items()
                          if name.isupper() and isinstance(c, tuple) and len(c) == 3 and isinstance(c[0], float)}


@dataclass(frozen=True)
class VmShape:
    """What a lifecycle operation needs to know of the VM: its memory, its vCPUs, the memory it has touched (what
    a save writes), and whether its VMM was configured before the clock started (Firecracker's pre-configured)."""

    memory_mib: float = 1024.0
    vcpus: int = 1
    touched_mib: float | None = None
    preconfigured: bool = False

    @property
    def written_mib(self) -> float:
        return self.memory_mib if self.touched_mib is None else min(self.touched_mib, self.memory_mib)


@dataclass(frozen=True)
class Phase:
    """One phase of an operation: ``amount`` of ``resource`` (cycles, bytes or seconds)."""

    op: str
    phase: str
    resource: str
    amount: float
    what: str


def value(name: str, draws: Mapping[str, float] | None = None, key: str | None = None) -> float:
    """Constant ``name`` (an entry ``key`` of a table of them), or its draw."""
    label = f"{name}:{key}" if key is not None else name
    if draws is not None and label in draws:
        return float(draws[label])
    table = globals()[name]
    return float((table[key] if key is not None else table)[0])


def sample(rng: np.random.Generator) -> dict[str, float]:
    """One draw of every constant (and every entry of the tables), log-uniform over its range."""
    out = {name: rc.log_uniform(rng, *c[2]) for name, c in COSTS.items()}
    for table in ("VMM_START_S", "FIRMWARE_S", "KERNEL_IMAGE_MIB"):
        for k, c in globals()[table].items():
            out[f"{table}:{k}"] = rc.log_uniform(rng, *c[2])
    return out


def _path_cycles(cm: CostModel, event: str) -> float:
    return sum(s.cycles for s in cm.path(event))


def operation(op: str, mode: Mode, hw: Hardware, vm: VmShape = VmShape(),
              draws: Mapping[str, float] | None = None) -> list[Phase]:
    """The phases of lifecycle operation ``op`` of a VM of shape ``vm`` under ``mode`` on ``hw`` (see the module
    docstring); ``draws`` replaces constants by name (``TABLE:key`` for a table's entry)."""
    if op not in OPERATIONS:
        raise HvkitError("not a lifecycle operation", field="op", value=op, allowed=list(OPERATIONS))
    if not mode.cpu_part.virtualized and not mode.family_part.shares_host_kernel:
        raise HvkitError("native runs no VM to create or boot", field="hypervisor", value=mode.name,
                         allowed="a hypervisor mode or a container")
    steps = _Steps(op, mode, hw, vm, draws)
    if op == "create":
        steps.create()
    elif op == "boot":
        steps.boot()
    elif op in ("pause", "unpause"):
        steps.pause(op)
    elif op == "save":
        steps.pause()
        steps.save_state()
    elif op == "snapshot":
        steps.pause()
        steps.save_state()
        steps.pause("resume")
    elif op == "restore":
        steps.load("memory read")
    elif op == "clone":
        steps.load("memory read")
    elif op == "shutdown":
        steps.add("guest shutdown", "wait", steps.c("SHUTDOWN_S"), "the guest stops its services and powers off")
        steps.destroy()
    elif op == "destroy":
        steps.destroy()
    return steps.out


class _Steps:
    """The steps lifecycle operations are made of (create, boot, pause, save, load, destroy), each adding its
    phases to ``out`` for operation ``op`` of a VM of shape ``vm`` under ``mode`` on ``hw``."""

    def __init__(self, op: str, mode: Mode, hw: Hardware, vm: VmShape, draws: Mapping[str, float] | None) -> None:
        self.op, self.mode, self.hw, self.vm, self.draws = op, mode, hw, vm, draws
        self.freq = hw.val("freq_ghz") * 1e9
        self.fam, self.cpu, self.io = mode.family_part, mode.cpu_part, mode.io_part
        self.gib = vm.memory_mib / 1024.0
        self.out: list[Phase] = []

    def c(self, name: str, key: str | None = None) -> float:
        """Constant ``name`` (a table's entry ``key``), or its draw."""
        return value(name, self.draws, key)

    def add(self, phase: str, resource: str, amount: float, what: str) -> None:
        if amount > 0:
            self.out.append(Phase(self.op, phase, resource, float(amount), what))

    def create(self) -> None:
        c, add, freq, fam, vm, mode, gib = self.c, self.add, self.freq, self.fam, self.vm, self.mode, self.gib
        start = c("VMM_START_S", mode.family if mode.family in VMM_START_S else "kvm")
        who = (f"{fam.vmm_name}'s process starts" if fam.device_model == "userspace"
               else "the toolstack builds the domain" if mode.arch_part.schedules_vcpus else "the VM's process starts")
        add("VMM start", "toolstack", start * freq, who)
        if fam.api_calls and not vm.preconfigured:
            add("API configuration", "toolstack", fam.api_calls * c("API_CALL_S") * freq,
                f"{fam.api_calls} API calls configure the VM before it starts")
        if fam.prepopulates_memory:
            add("memory allocation", "toolstack", gib * c("POPULATE_S_PER_GIB") * freq,
                "all of the guest's memory is allocated and scrubbed")

    def boot(self) -> None:
        c, add, freq, fam, cpu, io = self.c, self.add, self.freq, self.fam, self.cpu, self.io
        vm, mode, hw = self.vm, self.mode, self.hw
        if not cpu.virtualized:  # a container: its processes start on the host kernel
            return
        cm = CostModel(hw, mode)
        if not cpu.direct_boot and fam.firmware != "none":
            add("firmware", "vcpu", c("FIRMWARE_S", fam.firmware) * freq, f"{fam.firmware} runs before the kernel")
        image = c("KERNEL_IMAGE_MIB", fam.kernel_image) * 2 ** 20
        add("kernel load", "toolstack", image / (c("COPY_GB_PER_S") * 1e9) * freq,
            f"the {fam.kernel_image} kernel image is copied into guest memory from the host's page cache")
        if fam.kernel_image == "compressed" and not cpu.direct_boot:
            full = c("KERNEL_IMAGE_MIB", "uncompressed") * 2 ** 20
            add("decompression", "vcpu", full / (c("DECOMPRESS_MB_PER_S") * 1e6) * freq,
                "the guest decompresses its kernel")
        add("kernel init", "vcpu", c("KERNEL_INIT_INSTR") * hw.val("kernel_cpi"),
            "the guest kernel initializes, up to exec'ing init")
        if io.mmio_transport:
            add("device probe", "vcpu", c("DEVICES") * c("VIRTIO_MMIO_PROBE_ACCESSES") * _path_cycles(cm, "mmio_user"),
                "virtio-mmio devices named on the command line are probed: each register access exits to the VMM")
        elif cpu.direct_boot:
            add("device probe", "wait", c("DEVICES") * c("XENBUS_OPS") * c("XENSTORE_OP_S"),
                "PV frontends connect through xenstore")
        else:
            add("device probe", "vcpu", 2 * c("PCI_CONFIG_ACCESSES") * _path_cycles(cm, "pio_user"),
                "the PCI bus is enumerated: each configuration access is two port accesses to the device model")
        console = c("CONSOLE_KB") * 1024
        if cpu.direct_boot:
            add("console", "vcpu", console / c("PV_CONSOLE_BYTES_PER_CALL") * _path_cycles(cm, "hypercall"),
                "boot messages go to the PV console, a line per hypervisor call")
        else:
            add("console", "vcpu", console * c("UART_ACCESSES_PER_BYTE") * _path_cycles(cm, "pio_user"),
                "boot messages go to an emulated 8250 UART: every byte exits to the device model")
        if not fam.prepopulates_memory:
            add("first touch", "vcpu", min(c("BOOT_TOUCHED_MIB"), vm.memory_mib) * 256
                * c("FIRST_TOUCH_CYCLES_PER_PAGE"), "pages the boot touches are backed on first touch")

    def pause(self, phase: str = "pause") -> None:
        c, add, freq = self.c, self.add, self.freq
        add(phase, "toolstack", c("PAUSE_S") * freq, "the vCPUs are kicked out and stopped" if phase == "pause"
            else "the vCPUs run again")

    def save_state(self) -> None:
        c, add, freq, vm = self.c, self.add, self.freq, self.vm
        add("device state", "toolstack", c("DEVICE_STATE_KB") * 1024 / (c("COPY_GB_PER_S") * 1e9) * freq,
            "the vCPUs' and devices' state is serialized")
        add("memory write", "disk-write", vm.written_mib * 2 ** 20, "the guest's memory is written to disk")

    def load(self, phase: str) -> None:
        c, add, freq, fam, vm = self.c, self.add, self.freq, self.fam, self.vm
        self.create()
        if fam.restore_maps_memory:
            add(phase, "toolstack", c("PAUSE_S") * freq, "the memory file is mapped (pages read on first touch)")
            add("first touch", "vcpu", min(c("BOOT_TOUCHED_MIB"), vm.written_mib) * 256
                * c("FIRST_TOUCH_CYCLES_PER_PAGE"), "the pages the guest touches first fault in from the file")
        else:
            add(phase, "disk-read", vm.written_mib * 2 ** 20, "the guest's memory is read back from disk")
        add("device state", "toolstack", c("DEVICE_STATE_KB") * 1024 / (c("COPY_GB_PER_S") * 1e9) * freq,
            "the vCPUs' and devices' state is restored")
        self.pause("resume")

    def destroy(self) -> None:
        c, add, freq, fam, vm = self.c, self.add, self.freq, self.fam, self.vm
        add("teardown", "toolstack", c("TEARDOWN_S") * freq, "the VM's process or domain and devices are torn down")
        freed = vm.memory_mib if fam.prepopulates_memory else vm.written_mib
        add("memory release", "toolstack", freed / 1024.0 * c("FREE_S_PER_GIB") * freq, "its memory is freed")


def seconds(p: Phase, hw: Hardware) -> float:
    """How long phase ``p`` takes on an idle host of ``hw`` (nothing else wanting its CPU or its disk)."""
    if p.resource in ("toolstack", "vcpu"):
        return p.amount / (hw.val("freq_ghz") * 1e9)
    if p.resource in ("disk-read", "disk-write"):
        return p.amount / (hw.val("disk_mbps") * 1e6)
    return p.amount


def restart_seconds(mode: Mode, hw: Hardware, vm: VmShape = VmShape(), draws: Mapping[str, float] | None = None
                    ) -> float:
    """How long a VM whose state was lost takes to serve again: created, booted, and its service started."""
    phases = operation("create", mode, hw, vm, draws) + operation("boot", mode, hw, vm, draws)
    return sum(seconds(p, hw) for p in phases) + value("SERVICE_START_S", draws)
