"""The probe's guest programs: one 64-bit loop per operation, hand-assembled, timed with RDTSC in the guest.

Every program is the same frame around a different body, as kvm-unit-tests' ``x86/vmexit`` times each test
function in a loop between two TSC readings::

    top:  mov ebp, [0x800]        ; iterations of this batch, written by the monitor (long mode, CPL 0)
          rdtsc
          mov esi, eax            ; start of the batch
          mov edi, edx
    body: <the operation>
          dec ebp
          jnz body
          rdtsc
          mov [0x810], eax        ; end and start, read back by the monitor
          mov [0x814], edx
          mov [0x818], esi
          mov [0x81c], edi
          out 0xf0, al            ; report: one exit to the monitor per batch, outside the timed interval
          jmp top

The loop's own ``dec``/``jnz`` cost about one cycle per iteration; the ``nop`` program measures it. The guest runs
in 64-bit mode, as kvm-unit-tests' x86_64 build does (a real-mode guest may be emulated instruction by
instruction, and KVM refuses hypercalls outside protected mode). The bytes below were assembled from
:data:`LISTING` with GNU as (``as --64``); ``tests/test_machine.py`` assembles the listing again where ``as``
exists and checks that the bytes agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .kvm import EXIT_HLT, EXIT_IO, EXIT_MMIO

__all__ = ["GuestOp", "GUEST_OPS", "REPORT_PORT", "program", "LISTING", "FRAME_HEAD", "FRAME_TAIL"]

#: The port a program writes to report a finished batch.
REPORT_PORT = 0xF0

#: ``top`` to ``body`` (12 bytes, see the module docstring).
FRAME_HEAD = bytes.fromhex("8b2c2500080000" "0f31" "89c6" "89d7")
#: ``dec ebp; jnz body`` is assembled per body (its displacement depends on the body's length); then the end.
FRAME_TAIL = bytes.fromhex("0f31" "89042510080000" "89142514080000" "89342518080000" "893c251c080000" "e6f0")


@dataclass(frozen=True)
class GuestOp:
    """One probe operation.

    Attributes
    ----------
    name : str
        The operation (kvm-unit-tests' name where it is the same operation).
    title : str
        What one iteration does.
    asm : str
        The body in GNU as syntax (``.code64``).
    body : bytes
        The body, assembled.
    exit_to_user : int or None
        The exit each iteration makes to this process (KVM_EXIT_IO, _MMIO, _HLT), or None when the kernel
        completes it.
    irqchip, eventfd_mmio : bool
        What the VM needs: the in-kernel interrupt controllers; an ioeventfd on
        :data:`kit.machine.kvm.MMIO_EVENTFD_ADDR`.
    events : dict
        The model's guest events one iteration is (``kit.costs`` event names), empty where the model has none.
    vendor : str
        ``any``, or the CPU vendor whose instruction the body uses.
    cpl : int
        The privilege level the loop runs at: 3 (user mode, IOPL 3) unless the instruction needs 0 (HLT).
    role : str
        ``input`` (a microbenchmark a fit may use) or ``check`` (a unit of work whose prediction is checked).
    native : str or None
        The native loop (:data:`kit.machine.host.NATIVE_LOOPS`) that runs the same unit without its exits.
    """

    name: str
    title: str
    asm: str
    body: bytes
    exit_to_user: int | None = None
    irqchip: bool = False
    eventfd_mmio: bool = False
    events: dict = field(default_factory=dict)
    vendor: str = "any"
    cpl: int = 3
    role: str = "input"
    native: str | None = None


GUEST_OPS: dict[str, GuestOp] = {op.name: op for op in (
    GuestOp("nop", "the loop alone (dec, jnz)", "nop", bytes.fromhex("90")),
    GuestOp("cpuid", "CPUID leaf 0 (always intercepted)", "xor %eax,%eax; cpuid", bytes.fromhex("31c00fa2"),
            events={"cpuid": 1}),
    GuestOp("vmcall", "null hypercall (VMCALL; KVM answers an unknown number with -ENOSYS)",
            "xor %eax,%eax; vmcall", bytes.fromhex("31c00f01c1"), events={"hypercall": 1}, vendor="intel"),
    GuestOp("vmmcall", "null hypercall (VMMCALL, AMD's VMCALL)", "xor %eax,%eax; vmmcall",
            bytes.fromhex("31c00f01d9"), events={"hypercall": 1}, vendor="amd"),
    GuestOp("hlt_to_user", "HLT without an in-kernel irqchip: KVM_EXIT_HLT to the monitor and back", "hlt",
            bytes.fromhex("f4"), exit_to_user=EXIT_HLT, cpl=0),
    GuestOp("nop_cpl0", "the loop alone in kernel mode (what hlt_to_user's loop costs)", "nop", bytes.fromhex("90"),
            cpl=0),
    GuestOp("inl_from_kernel", "read port 0x4D0 (ELCR) of the in-kernel PIC (kvm-unit-tests' test)",
            "mov $0x4d0,%dx; in %dx,%al", bytes.fromhex("66bad004ec"), irqchip=True, events={"pio_local": 1}),
    GuestOp("outl_to_kernel", "write port 0x4D0 (ELCR) of the in-kernel PIC (kvm-unit-tests' test)",
            "mov $0x4d0,%dx; out %al,%dx", bytes.fromhex("66bad004ee"), irqchip=True, events={"pio_out_local": 1}),
    GuestOp("inl_from_user", "read port 0x1234, which no device claims: KVM_EXIT_IO to the monitor (as "
                             "kvm-unit-tests' inl_from_qemu, with this probe as the device model)",
            "mov $0x1234,%dx; in %dx,%eax", bytes.fromhex("66ba3412ed"), exit_to_user=EXIT_IO,
            events={"pio_user": 1}),
    GuestOp("mmio_read_user", "read guest-physical 0x20000, which no memory slot backs: KVM_EXIT_MMIO to the "
                              "monitor", "mov 0x20000,%al", bytes.fromhex("8a042500000200"), exit_to_user=EXIT_MMIO,
            events={"mmio_user": 1}),
    GuestOp("mmio_read_kernel", "read the I/O APIC's data window (0xFEC00010), emulated in the kernel",
            "movabs 0xfec00010,%eax", bytes.fromhex("a11000c0fe00000000"), irqchip=True, events={"mmio_local": 1}),
    GuestOp("mmio_write_eventfd", "write guest-physical 0x30000, an ioeventfd: the kernel signals an eventfd "
                                  "(a virtio kick without a backend)", "mov %al,0x30000",
            bytes.fromhex("88042500000300"), eventfd_mmio=True),
    GuestOp("kick_loop", "a unit of work: a compute loop of 200 iterations (405 instructions with the kick and the "
                         "outer loop), then one write to a port of an in-kernel device (0x4D0), as a driver kicks its "
                         "device", "mov $200,%ebx; 2: dec %ebx; jnz 2b; mov $0x4d0,%dx; out %al,%dx",
            bytes.fromhex("bbc8000000ffcb75fc66bad004ee"), irqchip=True,
            events={"user_instr": 405, "pio_out_local": 1}, role="check", native="compute"),
)}


def program(op: GuestOp) -> bytes:
    """The whole program of ``op``: the frame's head, the body, ``dec ebp; jnz body``, the tail, ``jmp top``."""
    loop = op.body + bytes.fromhex("ffcd")
    back = -(len(loop) + 2)
    if back < -128:
        raise ValueError(f"body of {op.name} too long for a short jump")
    code = FRAME_HEAD + loop + bytes([0x75, back & 0xFF]) + FRAME_TAIL
    return code + bytes([0xEB, (-(len(code) + 2)) & 0xFF])


#: The program of each operation in GNU as syntax, for checking the bytes (``as --64``).
LISTING = """.code64
top:
  mov 0x800, %ebp
  rdtsc
  mov %eax, %esi
  mov %edx, %edi
body:
  {body}
  dec %ebp
  jnz body
  rdtsc
  mov %eax, 0x810
  mov %edx, 0x814
  mov %esi, 0x818
  mov %edi, 0x81c
  out %al, $0xf0
  jmp top
"""
