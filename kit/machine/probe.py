"""``hvkit probe``: what an exit costs on this machine, measured through /dev/kvm, with replications and intervals.

For each operation of :data:`kit.machine.guest.GUEST_OPS` the probe creates its own VM (:class:`kit.machine.kvm.Vm`),
sizes a batch by doubling its iterations until the batch lasts ``target_ms``, then times ``replications`` batches
with RDTSC in the guest (a batch's ticks over its iterations: the cost of one iteration in TSC ticks, which are
cycles at the TSC rate KVM reports). An exit to user space is also timed from this process around KVM_RUN: the
time this monitor spends in user space per exit is reported apart, because it is this Python monitor's, not
QEMU's. The native loops (CPUID, a system call) run in this process the same way. Every mean comes with the 95%
interval of Student's t over the replications (:func:`kit.stats.t_interval`).

The result becomes a measurements file (:func:`measurements_document`, the format of
:mod:`kit.inputs.measurements`) and, with values fitted to it, a hardware profile that inherits from a shipped
one (:func:`profile_document`).
"""
from __future__ import annotations

import fcntl
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..errors import HvkitError
from ..stats import t_interval
from .guest import GUEST_OPS, REPORT_PORT, GuestOp, program
from .host import HostInfo, host_info, native_loop_ticks
from .kvm import DATA_ADDR, EXIT_IO, EXIT_NAMES, KVM_RUN, Vm

__all__ = ["probe", "ProbeResult", "default_ops", "measurements_document", "profile_document", "NATIVE_OPS",
           "TOOL", "ProbeError"]

#: The tool named in every provenance sentence.
TOOL = "hvkit probe (a minimal VM through the KVM API from Python: 64-bit guest loops timed with RDTSC)"
#: The native loops the probe also times, and the profile parameter each measures.
NATIVE_OPS = {"native_cpuid": ("cpuid", "cpuid_cycles"), "native_syscall": ("syscall", "syscall_cycles"),
              "native_nop": ("nop", None), "native_compute": ("compute", None)}
MAX_ITERATIONS = 1 << 24


class ProbeError(HvkitError):
    """The VM did something the probe did not ask for (an unexpected exit): the measurement is refused."""


@dataclass
class ProbeResult:
    """What one probe measured.

    Attributes
    ----------
    host : HostInfo
        The machine.
    device : str
        The KVM device used.
    tsc_khz : int
        The vCPU's TSC rate (KVM_GET_TSC_KHZ): ticks per millisecond.
    samples : pandas.DataFrame
        One row per operation and replication: ``op``, ``replication``, ``iterations``, ``cycles`` (TSC ticks per
        iteration), ``monitor_user_cycles`` (this process's user-space time per exit to it, in the same ticks;
        0 where the kernel completes the exit), ``where`` (``vm`` or ``native``).
    """

    host: HostInfo
    device: str
    tsc_khz: int
    samples: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per operation: replications, the mean cycles and its 95% interval, microseconds, and the
        monitor's user-space cycles per exit."""
        rows = []
        for op, g in self.samples.groupby("op", sort=False):
            mean, half = t_interval(g["cycles"])
            user, _ = t_interval(g["monitor_user_cycles"])
            rows.append({"op": op, "where": g["where"].iloc[0], "n": len(g), "iterations": int(g["iterations"].iloc[0]),
                         "cycles": mean, "half": half,
                         "ci_low": None if half is None else mean - half, "ci_high": None if half is None else mean + half,
                         "us": mean / (self.tsc_khz / 1000.0), "monitor_user_cycles": user})
        return pd.DataFrame(rows)


def default_ops(vendor: str) -> list[str]:
    """The operations a probe runs on a CPU of ``vendor``: every one, with the vendor's hypercall instruction."""
    skip = "vmcall" if vendor == "amd" else "vmmcall"
    return [name for name in GUEST_OPS if name != skip]


def _batch(vm: Vm, op: GuestOp, iterations: int) -> tuple[int, float, int]:
    """Run one batch: (TSC ticks in the guest, ns this process spent in user space between exits, exits)."""
    vm.memory[DATA_ADDR:DATA_ADDR + 4] = struct.pack("<I", iterations)
    vcpu, run_page, clock = vm.vcpu, vm.run_page, time.perf_counter_ns
    user_ns, exits = 0, 0
    expected = op.exit_to_user
    while True:
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        back = clock()
        reason = struct.unpack_from("<I", run_page, 8)[0]
        if reason == EXIT_IO and struct.unpack_from("<H", run_page, 34)[0] == REPORT_PORT:
            break
        if reason != expected or exits >= iterations:
            raise ProbeError(f"the guest of '{op.name}' exited with {EXIT_NAMES.get(reason, reason)} after {exits} "
                             f"of {iterations} iterations; nothing is reported from a run that went astray",
                             where=vm.device)
        exits += 1
        user_ns += clock() - back
    end_lo, end_hi, start_lo, start_hi = struct.unpack_from("<IIII", vm.memory, DATA_ADDR + 0x10)
    ticks = ((end_hi << 32) | end_lo) - ((start_hi << 32) | start_lo)
    return ticks, user_ns, exits


def _size(run_batch: Callable[[int], int], target_ticks: float) -> int:
    """Iterations that make a batch last at least ``target_ticks`` (doubling from 16, as kvm-unit-tests does)."""
    iterations = 16
    while iterations < MAX_ITERATIONS:
        if run_batch(iterations) >= target_ticks:
            return iterations
        iterations *= 2
    return iterations


def probe(device: str = "/dev/kvm", ops: Sequence[str] | None = None, *, replications: int = 10,
          target_ms: float = 20.0, native: bool = True, date: str | None = None,
          progress: Callable[[str], None] | None = None) -> ProbeResult:
    """Measure exit round trips on this machine.

    Parameters
    ----------
    device : str
        The KVM device. A missing or unusable one raises :class:`kit.machine.kvm.KvmUnavailable` (one line).
    ops : list of str, optional
        Operations of :data:`kit.machine.guest.GUEST_OPS` (default :func:`default_ops` for this CPU's vendor).
    replications : int
        Timed batches per operation (at least 2, for an interval).
    target_ms : float
        The least duration of a batch.
    native : bool
        Also time the native loops of :data:`NATIVE_OPS` in this process.
    date : str, optional
        The date recorded (default today).
    progress : callable, optional
        Called with each operation's name before it runs.
    """
    if replications < 2:
        raise HvkitError("an interval needs at least two replications", field="--replications",
                         value=replications, allowed="an integer >= 2")
    if not target_ms > 0:
        raise HvkitError("must be positive", field="--target-ms", value=target_ms, allowed="a number > 0")
    host = host_info(date)
    names = list(ops) if ops else default_ops(host.vendor)
    unknown = [n for n in names if n not in GUEST_OPS]
    if unknown:
        raise HvkitError("unknown probe operation", field="--ops", value=unknown[0], allowed=list(GUEST_OPS))
    with Vm(device) as first:  # the refusal path: a missing or unusable device says why before anything runs
        tsc_khz = first.tsc_khz()
    target = target_ms * tsc_khz
    rows = []
    for name in names:
        op = GUEST_OPS[name]
        if progress:
            progress(name)
        with Vm(device, irqchip=op.irqchip, eventfd_mmio=op.eventfd_mmio) as vm:
            vm.start_long_mode(program(op), op.cpl)
            iterations = _size(lambda n: _batch(vm, op, n)[0], target)
            for rep in range(replications):
                ticks, user_ns, exits = _batch(vm, op, iterations)
                user_cycles = user_ns * tsc_khz / 1e6 / exits if exits else 0.0
                rows.append({"op": name, "where": "vm", "replication": rep, "iterations": iterations,
                             "cycles": ticks / iterations, "monitor_user_cycles": user_cycles})
    if native:
        for name, (loop, _) in NATIVE_OPS.items():
            if progress:
                progress(name)
            iterations = _size(lambda n: native_loop_ticks(loop, n), target)
            for rep in range(replications):
                rows.append({"op": name, "where": "native", "replication": rep, "iterations": iterations,
                             "cycles": native_loop_ticks(loop, iterations) / iterations, "monitor_user_cycles": 0.0})
    notes = [f"/dev/kvm is served by {host.kvm_module or 'an unknown module'}: {host.kvm_description()}"]
    if host.is_guest:
        notes.append(f"this machine is itself a guest ({host.hypervisor or 'unknown hypervisor'}): every number "
                     "includes the outer hypervisor")
    return ProbeResult(host=host, device=device, tsc_khz=tsc_khz, samples=pd.DataFrame(rows), notes=notes)


def _source(result: ProbeResult, what: str) -> str:
    guest = (f"; this machine is itself a virtual machine ({result.host.hypervisor or 'unknown hypervisor'}): the "
             "value includes the outer hypervisor" if result.host.is_guest else "")
    return f"measured on {result.host.describe(guest=False)} by {TOOL}: {what}{guest}"


def measurements_document(result: ProbeResult) -> dict:
    """The probe's rows as a measurements file (:class:`kit.inputs.measurements.Measurements`)."""
    rows = []
    for _, s in result.summary().iterrows():
        name = s["op"]
        ci = None if s["half"] is None else [float(s["ci_low"]), float(s["ci_high"])]
        if s["where"] == "native":
            loop, _param = NATIVE_OPS[name]
            rows.append({"id": f"probe:{name}", "quantity": f"native.{loop}", "value": float(s["cycles"]),
                         "unit": "cycles", "ci95": ci, "n": int(s["n"]), "role": "native", "hypervisor": "native",
                         "source": _source(result, f"{loop} in a loop of {int(s['iterations'])} in this process, "
                                                   f"{int(s['n'])} replications")})
            continue
        op = GUEST_OPS[name]
        row = {"id": f"probe:{name}", "quantity": f"op.{name}", "value": float(s["cycles"]), "unit": "cycles",
               "ci95": ci, "n": int(s["n"]), "role": op.role, "hypervisor": "kvm", "events": dict(op.events),
               "source": _source(result, f"{op.title}; a loop of {int(s['iterations'])} at CPL {op.cpl}, "
                                         f"{int(s['n'])} replications")}
        if op.exit_to_user is not None:
            row["device_model_cycles"] = float(s["monitor_user_cycles"])
        if op.native:
            row["native"] = f"probe:native_{op.native}"
        rows.append(row)
    h = result.host
    machine = {**h.as_dict(), "origin": f"this machine, read by hvkit probe from /proc/cpuinfo, uname and "
                                        f"/sys/module; TSC {result.tsc_khz} kHz (KVM_GET_TSC_KHZ)"}
    return {"kind": "measurements", "tool": TOOL, "machine": machine, "rows": rows, "notes": list(result.notes)}


def profile_document(result: ProbeResult, base: str, profile_id: str,
                     fitted: dict[str, dict] | None = None) -> dict:
    """A hardware profile that inherits ``base`` and sets what this machine measured: the clock (the TSC rate) and
    the ``fitted`` values (each a ``{value, source, interval}`` mapping, from
    :meth:`kit.papers.profile_fit.FitReport.profile_params`: the native CPUID and system call, and the parameters
    fitted to the probe's rows)."""
    h = result.host
    params: dict[str, dict] = {
        "freq_ghz": {"value": round(result.tsc_khz / 1e6, 6),
                     "source": _source(result, "the vCPU's TSC rate (KVM_GET_TSC_KHZ), taken as the core clock "
                                               "(constant TSC: every cycle count here is in TSC ticks)")}}
    params.update(fitted or {})
    guest = (f" This machine is itself a virtual machine ({h.hypervisor or 'unknown hypervisor'}): every measured "
             "value includes the outer hypervisor." if h.is_guest else "")
    return {"id": profile_id, "base": base, "name": f"{h.cpu_model} ({h.hostname}, probed {h.date})",
            "description": f"Measured on {h.describe()} by {TOOL}. /dev/kvm is served by "
                           f"{h.kvm_module or 'an unknown module'}: {h.kvm_description()}.{guest} Values not "
                           f"listed under params are inherited from {base}.",
            "params": params}
