"""Which machine a measurement was taken on: CPU, kernel, date, and whether the machine is itself a guest.

A measurement's provenance reads "measured on HOST (CPU model, Linux KERNEL, DATE) by TOOL". When the CPUID
hypervisor bit is set (CPUID.1:ECX[31], which Linux shows as the ``hypervisor`` flag in ``/proc/cpuinfo``), the
machine is a virtual machine: every exit the probe measures then includes the outer hypervisor's work (nested
virtualization), and the provenance says so. Which module serves ``/dev/kvm`` says what an exit is here: VT-x
(``kvm_intel``), AMD-V (``kvm_amd``) or PVM (``kvm_pvm``, software-based: the guest runs in ring 3 and a switcher
takes its exits, with no hardware virtualization underneath).

The native measurements (CPUID and a system call, in a loop between two TSC readings) run as a few bytes of
machine code in this process, and touch nothing else.
"""
from __future__ import annotations

import datetime as _dt
import mmap
import platform
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["HostInfo", "host_info", "KVM_MODULES", "native_cpuid", "native_loop_ticks", "NATIVE_LOOPS"]

#: Modules that serve /dev/kvm, and what an exit is under each.
KVM_MODULES = {
    "kvm_intel": "Intel VT-x",
    "kvm_amd": "AMD-V (SVM)",
    "kvm_pvm": "PVM, software-based (the guest runs in ring 3, a switcher takes its exits; no VT-x or AMD-V)",
}


@dataclass(frozen=True)
class HostInfo:
    """The machine a measurement comes from.

    Attributes
    ----------
    hostname, cpu_model, vendor, kernel, date : str
        ``vendor`` is ``intel``, ``amd``, ``arm`` or ``unknown``; ``date`` is ISO 8601 (a day).
    is_guest : bool
        The CPUID hypervisor bit is set: this machine is a virtual machine.
    hypervisor : str
        The outer hypervisor's CPUID signature (``KVMKVMKVM``), or ``""``.
    kvm_module : str
        The module serving ``/dev/kvm`` (``kvm_intel``, ``kvm_amd``, ``kvm_pvm``), or ``""``.
    hw_virt : str
        ``vmx``, ``svm`` or ``none``: what the CPU flags show this kernel.
    """

    hostname: str
    cpu_model: str
    vendor: str
    kernel: str
    date: str
    is_guest: bool = False
    hypervisor: str = ""
    kvm_module: str = ""
    hw_virt: str = "none"

    def describe(self, guest: bool = True) -> str:
        """``HOST (CPU model, Linux KERNEL, DATE)``, and that it is a guest when it is."""
        text = f"{self.hostname} ({self.cpu_model}, Linux {self.kernel}, {self.date})"
        if guest and self.is_guest:
            outer = f" of {self.hypervisor}" if self.hypervisor else ""
            text += (f", itself a virtual machine{outer} (CPUID hypervisor bit set): every exit measured here "
                     "includes the outer hypervisor")
        return text

    def kvm_description(self) -> str:
        return KVM_MODULES.get(self.kvm_module, self.kvm_module or "no KVM module loaded")

    def as_dict(self) -> dict:
        return asdict(self)


def _cpuinfo() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor is enough
        key, _, value = line.partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


def host_info(date: str | None = None) -> HostInfo:
    """This machine, read from ``/proc/cpuinfo``, ``uname`` and ``/sys/module``; ``date`` defaults to today."""
    info = _cpuinfo()
    flags = set(info.get("flags", info.get("Features", "")).split())
    vendor_id = info.get("vendor_id", "")
    vendor = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(vendor_id, "arm" if "CPU implementer" in info
                                                                  else "unknown")
    model = info.get("model name") or info.get("Processor") or platform.processor() or "unknown CPU"
    hypervisor = ""
    if "hypervisor" in flags and platform.machine() in ("x86_64", "AMD64"):
        try:
            _, b, c, d = native_cpuid(0x40000000)
            hypervisor = b"".join(x.to_bytes(4, "little") for x in (b, c, d)).rstrip(b"\0").decode("ascii", "replace")
        except OSError:  # no executable mapping allowed here: the flag alone says it is a guest
            hypervisor = ""
    modules = [m for m in KVM_MODULES if Path(f"/sys/module/{m}").is_dir()]
    return HostInfo(hostname=socket.gethostname(), cpu_model=" ".join(model.split()), vendor=vendor,
                    kernel=platform.release(), date=date or _dt.date.today().isoformat(),
                    is_guest="hypervisor" in flags, hypervisor=hypervisor, kvm_module=",".join(modules),
                    hw_virt="vmx" if "vmx" in flags else "svm" if "svm" in flags else "none")


# ---- native code: CPUID and timed loops, a few bytes run in this process ------------------------------------

#: ``void cpuid(u32 leaf, u32 out[4])``: push rbx; mov eax,edi; xor ecx,ecx; cpuid; mov [rsi..rsi+12],eax..edx;
#: pop rbx; ret (assembled with GNU as, ``as --64``).
_CPUID_FN = bytes.fromhex("5389f831c90fa28906895e04894e0889560c5bc3")
#: ``u64 loop(u64 n)``: push rbx; mov r9,rdi; rdtsc; (rdx:rax -> rax); mov r10,rax; body; dec r9; jnz body;
#: rdtsc; (rdx:rax -> rax); sub rax,r10; pop rbx; ret: the TSC ticks of ``n`` iterations of the body.
_LOOP_HEAD = bytes.fromhex("534989f90f3148c1e2204809d04989c2")
_LOOP_TAIL = bytes.fromhex("0f3148c1e2204809d04c29d05bc3")
#: The bodies: CPUID leaf 0 (``xor eax,eax; cpuid``), a getppid system call (``mov eax,110; syscall``; Linux
#: x86-64 system call 110, which reads one field of this process), nothing (the loop alone), and the compute part
#: of the probe's ``kick_loop`` unit (``mov ebx,200; 2: dec ebx; jnz 2b``: 403 instructions with the loop).
NATIVE_LOOPS = {
    "cpuid": bytes.fromhex("31c00fa2"),
    "syscall": bytes.fromhex("b86e0000000f05"),
    "nop": bytes.fromhex("90"),
    "compute": bytes.fromhex("bbc8000000ffcb75fc"),
}


def _loop_code(body: bytes) -> bytes:
    inner = body + bytes.fromhex("49ffc9")  # dec r9
    return _LOOP_HEAD + inner + bytes([0x75, (-(len(inner) + 2)) & 0xFF]) + _LOOP_TAIL


class _Native:
    """Machine code in an executable anonymous mapping of this process, called through ctypes."""

    def __init__(self, code: bytes) -> None:
        import ctypes
        self._map = mmap.mmap(-1, mmap.PAGESIZE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                              mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self._map[:len(code)] = code
        self._buf = ctypes.c_char.from_buffer(self._map)
        self.address = ctypes.addressof(self._buf)


_CACHE: dict[bytes, object] = {}


def _function(code: bytes, restype: Any, *argtypes: Any) -> Any:
    import ctypes
    if platform.machine() not in ("x86_64", "AMD64"):
        raise OSError(0, "native measurements need an x86-64 CPU")
    key = code + repr((restype, argtypes)).encode()
    if key not in _CACHE:
        native = _Native(code)
        fn = ctypes.CFUNCTYPE(restype, *argtypes)(native.address)
        _CACHE[key] = (native, fn)
    return _CACHE[key][1]  # type: ignore[index]


def native_cpuid(leaf: int) -> tuple[int, int, int, int]:
    """CPUID ``leaf`` (subleaf 0) executed on this CPU: (eax, ebx, ecx, edx)."""
    import ctypes
    fn = _function(_CPUID_FN, None, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))
    out = (ctypes.c_uint32 * 4)()
    fn(leaf, out)
    return out[0], out[1], out[2], out[3]


def native_loop_ticks(kind: str, iterations: int) -> int:
    """TSC ticks of ``iterations`` iterations of a native loop (:data:`NATIVE_LOOPS`) in this process."""
    import ctypes
    if kind not in NATIVE_LOOPS:
        raise ValueError(f"unknown native loop {kind!r}")
    fn = _function(_loop_code(NATIVE_LOOPS[kind]), ctypes.c_uint64, ctypes.c_uint64)
    return int(fn(iterations))
