"""The catalog of guest operations (microbenchmarks).

Each operation is a vector of primitive guest events (see
:data:`kit.costs.EVENTS`), characterized on native hardware: how many system
calls, faults, page-table writes, address-space switches, device accesses and
how much kernel work one iteration of the benchmark performs. Native kernel
work is given in instructions; a profile's ``kernel_cpi`` turns it into
cycles. The counts come from the benchmark's source and from the native column
of the paper that measured it; virtualized results are never used to set them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HvkitError

__all__ = ["Op", "OPS", "get_op", "list_ops"]


@dataclass(frozen=True)
class Op:
    """One guest operation."""

    name: str
    suite: str
    title: str
    arch: str  # x86, arm or any
    events: dict = field(default_factory=dict)
    ws_pages: float = 4.0
    dram_lines: float = 0.0
    immediate_timer: bool = False
    source: str = ""


_LMB = "lmbench 2 (McVoy & Staelin, USENIX 1996); counts from the benchmark's source, native work from Barham et al. SOSP 2003 native column"
_KUT = "kvm-unit-tests x86/vmexit.c"
_KUTA = "kvm-unit-tests arm/micro-bench.c"
_AA = "Adams & Agesen, ASPLOS 2006, nanobenchmarks (native column)"
_DALL = "Dall et al., ISCA 2016, Section IV microbenchmarks"

_OPS = [
    # kvm-unit-tests x86 vmexit
    Op("cpuid", "kvm-unit-tests", "CPUID in a loop", "x86", {"cpuid": 1}, source=_KUT),
    Op("vmcall", "kvm-unit-tests", "null VMCALL hypercall", "x86", {"hypercall": 1}, source=_KUT),
    Op("mov_to_cr8", "kvm-unit-tests", "write the TPR through CR8", "x86", {"cr8_write": 1}, source=_KUT),
    Op("inl_from_pmtimer", "kvm-unit-tests", "read the ACPI PM timer port (device model)", "x86",
       {"pio_pmtimer": 1}, source=_KUT),
    Op("inl_from_qemu", "kvm-unit-tests", "read a port emulated in userspace (QEMU)", "x86",
       {"pio_user": 1}, source=_KUT),
    Op("inl_from_kernel", "kvm-unit-tests", "read a port emulated in the kernel", "x86",
       {"pio_local": 1}, source=_KUT),
    Op("outl_to_kernel", "kvm-unit-tests", "write a port emulated in the kernel", "x86",
       {"pio_out_local": 1}, source=_KUT),
    Op("ipi", "kvm-unit-tests", "IPI to another vCPU and its handling", "any", {"ipi": 1},
       source=_KUT + " and " + _KUTA),
    Op("tscdeadline", "kvm-unit-tests", "arm a TSC-deadline timer and take its interrupt", "x86",
       {"timer_arm": 1, "timer_fire": 1}, source=_KUT),
    Op("tscdeadline_immed", "kvm-unit-tests", "arm an already-expired TSC-deadline timer", "x86",
       {"timer_arm": 1}, immediate_timer=True, source=_KUT),
    # kvm-unit-tests ARM micro-bench
    Op("hyp_call", "kvm-unit-tests-arm", "null HVC hypercall", "arm", {"hypercall": 1}, source=_KUTA),
    Op("mmio_read_user", "kvm-unit-tests-arm", "MMIO read of a device emulated in userspace", "arm",
       {"mmio_user": 1}, source=_KUTA),
    Op("mmio_read_vgic", "kvm-unit-tests-arm", "MMIO read of the in-kernel VGIC distributor", "arm",
       {"mmio_local": 1}, source=_KUTA),
    Op("eoi", "kvm-unit-tests-arm", "complete a virtual interrupt (EOI)", "any", {"eoi": 1}, source=_KUTA),
    # Adams & Agesen nanobenchmarks
    Op("syscall", "adams-agesen", "null system call", "x86", {"syscall": 1}, source=_AA),
    Op("in", "adams-agesen", "in from port 0x80", "x86", {"pio_local": 1}, source=_AA),
    Op("cr8wr", "adams-agesen", "write CR8 (TPR)", "x86", {"cr8_write": 1}, source=_AA),
    Op("call/ret", "adams-agesen", "kernel-mode call and return", "x86",
       {"call_ret": 1, "kernel_instr": 4.6}, source=_AA + ": 11 cycles natively"),
    Op("pgfault", "adams-agesen", "page fault handled by the guest kernel", "x86",
       {"pagefault": 1, "kernel_instr": 130}, source=_AA + ": 1,093 cycles natively"),
    Op("divzero", "adams-agesen", "divide by zero handled by the guest kernel", "x86",
       {"exception": 1, "kernel_instr": 45}, source=_AA + ": 889 cycles natively"),
    Op("ptemod", "adams-agesen", "modify a PTE and invalidate its TLB entry", "x86",
       {"pte_write": 1, "invlpg": 1}, source=_AA),
    # Dall et al. ISCA 2016
    Op("hypercall", "dall-2016", "null hypercall, guest to hypervisor and back", "any", {"hypercall": 1}, source=_DALL),
    Op("irqchip_trap", "dall-2016", "interrupt controller trap (emulated distributor access)", "any",
       {"mmio_local": 1}, source=_DALL),
    Op("virtual_ipi", "dall-2016", "virtual IPI from one running vCPU to another", "any", {"ipi": 1}, source=_DALL),
    Op("virtual_irq_completion", "dall-2016", "virtual IRQ completion (EOI)", "any", {"eoi": 1}, source=_DALL),
    Op("vm_switch", "dall-2016", "switch between two VMs on one CPU", "any", {"vm_switch": 1}, source=_DALL),
    Op("io_latency_out", "dall-2016", "one-way: the guest signals its virtual I/O device until the device receives it",
       "any", {"io_signal_out": 1}, source=_DALL + " and section V: I/O latency out and in are one-way signalling latencies"),
    Op("io_latency_in", "dall-2016", "one-way: the virtual I/O device signals the guest until an idle vCPU takes "
       "the interrupt", "any", {"io_signal_in": 1}, source=_DALL + " and section V"),
    # lmbench (Barham et al. Tables 3-5)
    Op("lmbench.null_call", "lmbench", "null call (getppid)", "any", {"syscall": 1, "kernel_instr": 50}, source=_LMB),
    Op("lmbench.null_io", "lmbench", "null I/O (1-byte read/write of /dev/zero, /dev/null)", "any",
       {"syscall": 1, "kernel_instr": 100}, source=_LMB),
    Op("lmbench.stat", "lmbench", "stat of a file", "any", {"syscall": 1, "kernel_instr": 880}, source=_LMB),
    Op("lmbench.open_close", "lmbench", "open and close a file", "any", {"syscall": 2, "kernel_instr": 1120}, source=_LMB),
    Op("lmbench.select_tcp", "lmbench", "select on TCP sockets", "any", {"syscall": 1, "kernel_instr": 5300}, source=_LMB),
    Op("lmbench.sig_install", "lmbench", "install a signal handler", "any", {"syscall": 1, "kernel_instr": 280}, source=_LMB),
    Op("lmbench.sig_handler", "lmbench", "deliver a signal to a handler and return", "any",
       {"syscall": 2, "kernel_instr": 1690}, source=_LMB),
    Op("lmbench.fork", "lmbench", "fork, child exits, parent waits", "any",
       {"syscall": 3, "pt_page": 6, "pte_write": 300, "pte_batch": 100, "pagefault": 20, "cr3_load": 2,
        "kernel_instr": 100000}, ws_pages=30, source=_LMB),
    Op("lmbench.exec", "lmbench", "fork, exec a small program, exit", "any",
       {"syscall": 5, "pt_page": 12, "pte_write": 800, "pte_batch": 100, "pagefault": 120, "cr3_load": 3,
        "kernel_instr": 485000}, ws_pages=40, source=_LMB),
    Op("lmbench.sh", "lmbench", "fork, exec /bin/sh -c a program, exit", "any",
       {"syscall": 40, "pt_page": 30, "pte_write": 2500, "pte_batch": 100, "pagefault": 600, "cr3_load": 8,
        "kernel_instr": 3770000}, ws_pages=60, source=_LMB),
    Op("lmbench.ctxsw_2p_0k", "lmbench", "context switch, 2 processes, 0 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=13, source=_LMB),
    Op("lmbench.ctxsw_2p_16k", "lmbench", "context switch, 2 processes, 16 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=17, source=_LMB),
    Op("lmbench.ctxsw_2p_64k", "lmbench", "context switch, 2 processes, 64 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=29, source=_LMB),
    Op("lmbench.ctxsw_8p_16k", "lmbench", "context switch, 8 processes, 16 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=17, dram_lines=7, source=_LMB),
    Op("lmbench.ctxsw_8p_64k", "lmbench", "context switch, 8 processes, 64 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=29, dram_lines=960, source=_LMB),
    Op("lmbench.ctxsw_16p_16k", "lmbench", "context switch, 16 processes, 16 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=17, dram_lines=114, source=_LMB),
    Op("lmbench.ctxsw_16p_64k", "lmbench", "context switch, 16 processes, 64 KiB each", "any",
       {"cr3_load": 1, "kernel_instr": 235}, ws_pages=29, dram_lines=1517, source=_LMB),
    Op("lmbench.file_create_0k", "lmbench", "create a 0 KiB file", "any",
       {"syscall": 3, "kernel_instr": 30900}, source=_LMB),
    Op("lmbench.file_delete_0k", "lmbench", "delete a 0 KiB file", "any",
       {"syscall": 1, "kernel_instr": 5680}, source=_LMB),
    Op("lmbench.file_create_10k", "lmbench", "create a 10 KiB file", "any",
       {"syscall": 3, "kernel_instr": 64800}, source=_LMB),
    Op("lmbench.file_delete_10k", "lmbench", "delete a 10 KiB file", "any",
       {"syscall": 1, "kernel_instr": 12100}, source=_LMB),
    Op("lmbench.mmap", "lmbench", "mmap a file, touch its pages, munmap", "any",
       {"syscall": 2, "pagefault": 45, "pte_write": 45, "pte_batch": 45, "pt_page": 2, "kernel_instr": 52600},
       source=_LMB),
    Op("lmbench.prot_fault", "lmbench", "protection fault delivered as a signal", "any",
       {"exception": 1, "syscall": 1, "kernel_instr": 335}, source=_LMB),
    Op("lmbench.page_fault", "lmbench", "page fault on a file mapping", "any",
       {"pagefault": 1, "pte_write": 1, "kernel_instr": 1094}, source=_LMB),
]

OPS: dict[str, Op] = {op.name: op for op in _OPS}


def get_op(name: str) -> Op:
    if name not in OPS:
        raise HvkitError("unknown operation", field="op", value=name, allowed=list(OPS))
    return OPS[name]


def list_ops() -> list[Op]:
    return list(_OPS)
