"""A minimal user of the KVM API: one VM with one 64-bit vCPU, from Python (``fcntl.ioctl`` and ``mmap``).

It does what a virtual machine monitor must and nothing else: it opens the KVM device, creates a VM with 64 KiB
of guest memory (an anonymous mapping of this process), optionally the in-kernel interrupt controllers (so that
port 0x4D0, the ELCR, and the I/O APIC are emulated in the kernel, as kvm-unit-tests' ``inl_from_kernel``
expects), optionally an ioeventfd (a guest write that the kernel completes by signalling an eventfd, the path of
a virtio kick), one vCPU, and runs it. Nothing outside this VM is touched: no other device, file or process, and
every descriptor is closed when the VM is.

Where the device is missing or unusable, :class:`KvmUnavailable` says why in one line (the command line exits
with status 2). The ioctl numbers and structure layouts are those of ``include/uapi/linux/kvm.h`` (API version
12) for x86.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import HvkitError

__all__ = ["KvmUnavailable", "Vm", "EXIT_IO", "EXIT_HLT", "EXIT_MMIO", "EXIT_NAMES", "GUEST_MEMORY", "CODE_ADDR",
           "DATA_ADDR", "MMIO_USER_ADDR", "MMIO_EVENTFD_ADDR", "IOAPIC_ADDR", "open_vm"]

KVMIO = 0xAE
API_VERSION = 12


def _io(nr: int) -> int:
    return (KVMIO << 8) | nr


def _iow(nr: int, size: int) -> int:
    return (1 << 30) | (size << 16) | (KVMIO << 8) | nr


def _ior(nr: int, size: int) -> int:
    return (2 << 30) | (size << 16) | (KVMIO << 8) | nr


_REGS_SIZE, _SREGS_SIZE, _REGION_SIZE, _IOEVENTFD_SIZE = 144, 312, 32, 64
KVM_GET_API_VERSION = _io(0x00)
KVM_CREATE_VM = _io(0x01)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, _REGION_SIZE)
KVM_SET_TSS_ADDR = _io(0x47)
KVM_CREATE_IRQCHIP = _io(0x60)
KVM_IOEVENTFD = _iow(0x79, _IOEVENTFD_SIZE)
KVM_RUN = _io(0x80)
KVM_GET_REGS = _ior(0x81, _REGS_SIZE)
KVM_SET_REGS = _iow(0x82, _REGS_SIZE)
KVM_GET_SREGS = _ior(0x83, _SREGS_SIZE)
KVM_SET_SREGS = _iow(0x84, _SREGS_SIZE)
KVM_GET_TSC_KHZ = _io(0xA3)
IOEVENTFD_FLAG_PIO = 1 << 1

EXIT_IO, EXIT_HLT, EXIT_MMIO = 2, 5, 6
EXIT_NAMES = {0: "UNKNOWN", 1: "EXCEPTION", 2: "IO", 3: "HYPERCALL", 4: "DEBUG", 5: "HLT", 6: "MMIO",
              7: "IRQ_WINDOW_OPEN", 8: "SHUTDOWN", 9: "FAIL_ENTRY", 10: "INTR", 17: "INTERNAL_ERROR"}

#: Guest physical layout: 64 KiB of RAM at 0; the program at 0x1000; the data page (iteration count in, TSC
#: readings out) at 0x800; the page tables at 0x8000; a hole where reads exit to this process (KVM_EXIT_MMIO); an
#: ioeventfd address; the in-kernel I/O APIC at its architectural address.
GUEST_MEMORY = 0x10000
CODE_ADDR = 0x1000
DATA_ADDR = 0x800
PAGE_TABLES = 0x8000
TSS_GUEST = 0xC000
MMIO_USER_ADDR = 0x20000
MMIO_EVENTFD_ADDR = 0x30000
IOAPIC_ADDR = 0xFEC00000
#: Where KVM keeps the real-mode TSS it needs on Intel CPUs with an in-kernel irqchip: three pages below the BIOS
#: area, outside this guest's RAM (QEMU's choice).
TSS_ADDR = 0xFFFBD000

# struct kvm_segment: base, limit, selector, type, present, dpl, db, s, l, g, avl, unusable, padding
_SEGMENT = struct.Struct("<QIHBBBBBBBBBB")
_SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")


def _ioctl_ulong(fd: int, request: int, value: int) -> None:
    """An ioctl whose argument is an unsigned long (``fcntl.ioctl`` passes a C int, too small for an address)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.c_ulong(value)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class KvmUnavailable(HvkitError):
    """KVM cannot be used here; the message says why in one line."""


def _unavailable(device: str, what: str, exc: OSError | None = None) -> KvmUnavailable:
    reason = f": {os.strerror(exc.errno)}" if exc is not None and exc.errno else ""
    return KvmUnavailable(f"cannot probe: {what}{reason}", where=device)


class Vm:
    """One VM with one vCPU in 64-bit mode. Use as a context manager (or call :meth:`close`).

    Parameters
    ----------
    device : str
        The KVM device (``/dev/kvm``).
    irqchip : bool
        Create the in-kernel PIC, I/O APIC and local APIC (then HLT waits in the kernel for an interrupt, so a
        program that halts needs ``irqchip=False``).
    eventfd_port, eventfd_mmio : bool
        Register an ioeventfd on port 0xF2 or on :data:`MMIO_EVENTFD_ADDR` (a guest write there is completed by
        the kernel, which signals an eventfd of this process).
    """

    def __init__(self, device: str = "/dev/kvm", *, irqchip: bool = False, eventfd_port: bool = False,
                 eventfd_mmio: bool = False) -> None:
        self.device = device
        self._fds: list[int] = []
        self._maps: list[mmap.mmap] = []
        try:
            self._open(irqchip, eventfd_port, eventfd_mmio)
        except BaseException:
            self.close()
            raise

    def _open(self, irqchip: bool, eventfd_port: bool, eventfd_mmio: bool) -> None:
        device = self.device
        try:
            kvm = os.open(device, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise _unavailable(device, "no such device (no KVM here: the kvm module is not loaded, or this is not "
                                       "Linux)") from None
        except PermissionError:
            raise _unavailable(device, "permission denied (join the group that owns it, usually 'kvm')") from None
        except OSError as exc:
            raise _unavailable(device, "cannot open", exc) from None
        self._fds.append(kvm)
        try:
            version = fcntl.ioctl(kvm, KVM_GET_API_VERSION, 0)
        except OSError as exc:
            raise _unavailable(device, "not a KVM device (KVM_GET_API_VERSION failed)", exc) from None
        if version != API_VERSION:
            raise _unavailable(device, f"KVM API version {version}, this probe speaks version {API_VERSION}")
        try:
            self.vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        except OSError as exc:
            raise _unavailable(device, "KVM_CREATE_VM failed (virtualization disabled in the firmware, or held by "
                                       "another hypervisor)", exc) from None
        self._fds.append(self.vm)
        self.memory = mmap.mmap(-1, GUEST_MEMORY, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                                mmap.PROT_READ | mmap.PROT_WRITE)
        self._maps.append(self.memory)
        import ctypes
        host_addr = ctypes.addressof(ctypes.c_char.from_buffer(self.memory))
        try:
            fcntl.ioctl(self.vm, KVM_SET_USER_MEMORY_REGION, struct.pack("<IIQQQ", 0, 0, 0, GUEST_MEMORY, host_addr))
            if irqchip:
                _ioctl_ulong(self.vm, KVM_SET_TSS_ADDR, TSS_ADDR)  # Intel CPUs need it before the irqchip
                fcntl.ioctl(self.vm, KVM_CREATE_IRQCHIP, 0)
            self.eventfd = -1
            if eventfd_port or eventfd_mmio:
                self.eventfd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
                self._fds.append(self.eventfd)
                addr, length, flags = (0xF2, 1, IOEVENTFD_FLAG_PIO) if eventfd_port else (MMIO_EVENTFD_ADDR, 1, 0)
                fcntl.ioctl(self.vm, KVM_IOEVENTFD, struct.pack("<QQIiI36x", 0, addr, length, self.eventfd, flags))
            self.vcpu = fcntl.ioctl(self.vm, KVM_CREATE_VCPU, 0)
            self._fds.append(self.vcpu)
            size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
        except OSError as exc:
            raise _unavailable(device, "the KVM device refused to set up a minimal VM", exc) from None
        self.run_page = mmap.mmap(self.vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._maps.append(self.run_page)
        os.close(kvm)
        self._fds.remove(kvm)

    def tsc_khz(self) -> int:
        """The vCPU's TSC rate in kHz, as KVM reports it."""
        return fcntl.ioctl(self.vcpu, KVM_GET_TSC_KHZ, 0)

    def start_long_mode(self, code: bytes, cpl: int = 3) -> None:
        """Load ``code`` at :data:`CODE_ADDR` and point the vCPU at it in 64-bit mode at privilege level ``cpl``.

        The page tables (at :data:`PAGE_TABLES`) map the first and the fourth GiB one to one with 2 MiB user pages,
        so that the program reaches its RAM, the holes above it and the I/O APIC; the segments are flat and loaded
        directly into the vCPU's state (there is no descriptor table to load them from). At CPL 3 the flags give
        IOPL 3, so port I/O needs no I/O bitmap; the exits are the same as at CPL 0 (CPUID, VMCALL, port I/O and
        MMIO are intercepted at every privilege level), but a software-based KVM that emulates a guest kernel's
        instructions one by one (PVM) runs user-mode code natively.
        """
        if cpl not in (0, 3):
            raise ValueError("cpl must be 0 or 3")
        mem = self.memory
        mem[CODE_ADDR:CODE_ADDR + len(code)] = code
        pml4, pdpt, pd0, pd3 = PAGE_TABLES, PAGE_TABLES + 0x1000, PAGE_TABLES + 0x2000, PAGE_TABLES + 0x3000
        present_rw, large = 0x7, 0x80  # present, writable, user
        struct.pack_into("<Q", mem, pml4, pdpt | present_rw)
        struct.pack_into("<Q", mem, pdpt, pd0 | present_rw)
        struct.pack_into("<Q", mem, pdpt + 3 * 8, pd3 | present_rw)
        for i in range(512):
            struct.pack_into("<Q", mem, pd0 + 8 * i, (i << 21) | present_rw | large)
            struct.pack_into("<Q", mem, pd3 + 8 * i, ((3 << 30) + (i << 21)) | present_rw | large)
        sregs = bytearray(_SREGS_SIZE)
        fcntl.ioctl(self.vcpu, KVM_GET_SREGS, sregs, True)
        # base, limit, selector, type, present, dpl, db, s, l, g, avl, unusable, padding
        code_seg = (0, 0xFFFFFFFF, 0x8 | cpl, 0xB, 1, cpl, 0, 1, 1, 1, 0, 0, 0)
        data_seg = (0, 0xFFFFFFFF, 0x10 | cpl, 0x3, 1, cpl, 1, 1, 0, 1, 0, 0, 0)
        # a 64-bit TSS whose I/O permission bitmap allows every port: an emulator that checks the bitmap instead
        # of IOPL (PVM's does) lets the program's port I/O through as well
        io_bitmap = 0x68
        mem[TSS_GUEST:TSS_GUEST + io_bitmap + 8193] = bytes(io_bitmap + 8192) + b"\xff"
        struct.pack_into("<H", mem, TSS_GUEST + 102, io_bitmap)
        task_seg = (TSS_GUEST, io_bitmap + 8192, 0x18, 0xB, 1, 0, 0, 0, 0, 0, 0, 0, 0)
        for i, name in enumerate(_SEGMENTS[:7]):
            seg = code_seg if name == "cs" else task_seg if name == "tr" else data_seg
            _SEGMENT.pack_into(sregs, i * _SEGMENT.size, *seg)
        cr_offset = len(_SEGMENTS) * _SEGMENT.size + 2 * 16
        cr0 = 0x80000000 | 0x10000 | 0x20 | 0x10 | 0x2 | 0x1  # PG, WP, NE, ET, MP, PE
        cr4 = 0x20  # PAE
        efer = 0x500  # LME, LMA
        cr8, apic_base = struct.unpack_from("<QQ", sregs, cr_offset + 4 * 8)
        struct.pack_into("<QQQQQQQ", sregs, cr_offset, cr0, 0, pml4, cr4, cr8, efer, apic_base)
        fcntl.ioctl(self.vcpu, KVM_SET_SREGS, bytes(sregs))
        regs = bytearray(_REGS_SIZE)
        rflags = 0x2 | (0x3000 if cpl == 3 else 0)  # bit 1 is always set; IOPL 3 at CPL 3
        struct.pack_into("<QQ", regs, 16 * 8, CODE_ADDR, rflags)
        fcntl.ioctl(self.vcpu, KVM_SET_REGS, bytes(regs))

    def exit_reason(self) -> int:
        return struct.unpack_from("<I", self.run_page, 8)[0]

    def io_exit(self) -> tuple[int, int, int]:
        """The port exit just taken: (direction, size, port); direction 1 is out."""
        direction, size, port = struct.unpack_from("<BBH", self.run_page, 32)
        return direction, size, port

    def mmio_exit(self) -> tuple[int, int]:
        """The MMIO exit just taken: (guest physical address, is_write)."""
        addr, = struct.unpack_from("<Q", self.run_page, 32)
        return addr, self.run_page[32 + 8 + 8 + 4]

    def close(self) -> None:
        for m in self._maps:
            try:
                m.close()
            except BufferError:  # a ctypes view still refers to it; the process's exit frees it
                pass
        self._maps.clear()
        for fd in reversed(self._fds):
            try:
                os.close(fd)
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
        self._fds.clear()

    def __enter__(self) -> "Vm":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_vm(device: str = "/dev/kvm", **kw: bool) -> Iterator[Vm]:
    """A :class:`Vm`, closed on leaving the block."""
    vm = Vm(device, **kw)
    try:
        yield vm
    finally:
        vm.close()
