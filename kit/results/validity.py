"""What a run's numbers may claim: the shortest meaningful run, its warnings, and its unfinished requests.

A run credits units of work as their work is done, and counts apart the units that finished
(:func:`kit.sim.entities.credit_units`). These functions keep a number that looks valid from being one that is
not: a run too short to finish one unit of the workload is refused before it
is simulated (:func:`check_duration`); a value that is not finite, or a run that finished no unit, is an error
(:func:`check_measured`); a run whose value is uncertain because of its length carries a ``warnings`` entry
(:func:`run_warnings`); requests still under way when the run ends are kept as right-censored latency rows
(:func:`censored_latency_rows`), their elapsed time a lower bound of their latency.
"""
from __future__ import annotations

import math
import os
from typing import Any

from ..costs.codepaths import model_as_given
from ..errors import HvkitError
from ..inputs.modes import hypervisor
from ..inputs.resolve import Resolved
from ..inputs.spec import MAX_DURATION_S
from ..sim.mode_costs import Costing
from ..sim.net_costs import TCP_IP_HEADER_BYTES
from ..sim.drivers import UNIT_WORK_CV

__all__ = ["unit_seconds", "check_duration", "in_flight_bound", "peak_rate", "check_measured", "end_uncertainty",
           "run_warnings", "censored_latency_rows", "estimate_work", "sampling_noise", "unit_rate", "peak_warnings",
           "faster_than_native", "hardware_peaks", "demands", "peak_text", "FASTER_SIGMAS", "check_work", "work_budget", "SHORT_RUN_TOLERANCE",
           "PEAK_SIGMAS", "WORK_BUDGET_S", "BUDGET_ENV"]

#: A run is flagged short when the units under way at its end can move its value by more than this share
SHORT_RUN_TOLERANCE = (0.05, "estimated, because an effect under 5% is below the model's own uncertainty against "
                             "published measurements, and one above it would be mistaken for an overhead; fixed because it is a threshold of the run's warnings, which moves no number")
#: A rate is flagged above the peak when it exceeds it by more than this many standard deviations of the mean size
#: of the units counted
PEAK_SIGMAS = (3.0, "estimated, because a sum of independent unit sizes exceeds its mean by three standard "
                    "deviations about once in a thousand runs (normal approximation); fixed because it is a threshold of the run's warnings, which moves no number")


#: unit_seconds of recent (hardware, workload, guest page): the objects themselves are kept, so that an id is never
#: that of another object; the modes of one comparison share the hardware and workload objects
_UNIT_S: dict[tuple[int, int, tuple], tuple[Any, Any, float]] = {}


#: The work a run may cost before it starts, in CPU seconds estimated by :func:`estimate_work`, and the environment
#: variable that changes it (sweeps' workers read it too)
WORK_BUDGET_S = (600.0, "estimated, because a run a user waits for at a prompt or in a notebook cell should end within "
                        "minutes; the estimate is an upper one (1-10 times the CPU seconds measured), so a run refused "
                        "would take at least about a minute and most would take ten; fixed because it is a setting of the kit's checks (what a run may cost, how its cost is estimated), not a property of the system modelled, so it is no source of model uncertainty")
BUDGET_ENV = "HVKIT_WORK_BUDGET_S"
#: Simulated events per CPU second the engines run (SimPy processes in Python)
EVENTS_PER_CPU_S = (150_000.0, "estimated, because the discrete and hybrid engines ran 120,000-230,000 events per CPU "
                               "second for request, disk, stream and CPU workloads on a 2026 x86-64 machine; fixed because it is a setting of the kit's checks (what a run may cost, how its cost is estimated), not a property of the system modelled, so it is no source of model uncertainty")
#: CPU seconds each vCPU, physical CPU, socket and memory node of the host costs to build and keep, events aside
ENTITY_CPU_S = (5e-4, "estimated, because hosts of 1,024 and 65,536 vCPUs took 1.7 and 22 CPU seconds with few "
                      "events: 0.3-1.7 ms per vCPU; fixed because it is a setting of the kit's checks (what a run may cost, how its cost is estimated), not a property of the system modelled, so it is no source of model uncertainty")
#: Events per unit of work, by workload kind (an upper estimate)
EVENTS_PER_UNIT = ({"request": 20.0, "disk": 20.0, "cpu": 4.0, "stream": 1.0},
                   "estimated, because request workloads ran 10-20 events per request (arrival, wire, backend, "
                   "interrupts, reply), random disk reads about 9, CPU-bound units about 3 and stream segments under 1; fixed because it is a setting of the kit's checks (what a run may cost, how its cost is estimated), not a property of the system modelled, so it is no source of model uncertainty")
#: The shortest scheduler slice the estimate counts switches at
SLICE_S = (0.003, "estimated, because CFS's minimum granularity is 0.75-3 ms and 1,024 vCPUs contending on 64 CPUs "
                  "ran about 340 scheduling events per vCPU per simulated second; fixed because it is a setting of the kit's checks (what a run may cost, how its cost is estimated), not a property of the system modelled, so it is no source of model uncertainty")


def work_budget() -> float:
    """The CPU seconds a run may be estimated to cost: ``$HVKIT_WORK_BUDGET_S`` or :data:`WORK_BUDGET_S`."""
    text = os.environ.get(BUDGET_ENV)
    if text is None or not text.strip():
        return WORK_BUDGET_S[0]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise HvkitError("not a positive number of CPU seconds", field=BUDGET_ENV, value=text,
                         allowed="a number > 0, e.g. 3600")
    return value


def estimate_work(res: Resolved) -> tuple[float, float]:
    """The events a run of ``res`` will simulate and the CPU seconds it will take, estimated before it starts.

    Units of work are bounded by the CPUs the VMs can use at native cost (:func:`peak_rate`), by the clients of a
    request workload (each waits at least a round trip on the wire per request) and by the outstanding requests of a
    disk workload (each waits at least a positioning time); each unit costs :data:`EVENTS_PER_UNIT` events. The
    discrete engine adds a timer tick per vCPU and tick, and vCPUs that outnumber the CPUs a switch per slice
    (:data:`SLICE_S`). Each vCPU, CPU, socket and memory node costs :data:`ENTITY_CPU_S` to build.
    """
    hw, spec, d = res.hw, res.spec, res.duration
    pcpus = spec.pcpus or hw.pcpus
    plans = res.plans
    vcpus = sum(p.vcpus for p in plans)
    wire = 2 * hw.val("nic_latency_us") * 1e-6
    service = hw.val("disk_service_ms") * 1e-3
    native = hypervisor("native", hw)
    seconds: dict[int, float] = {}
    groups: dict[int, list] = {}
    for p in plans:
        groups.setdefault(p.group, []).append(p)
    events = 0.0
    for members in groups.values():
        wl = members[0].workload
        if id(wl) not in seconds:
            seconds[id(wl)] = Costing(hw, native, wl).unit().total / (hw.val("freq_ghz") * 1e9)
        cpus = min(pcpus, sum(p.vcpus for p in members))
        rate = cpus / seconds[id(wl)]
        if wl.kind == "request":
            rate = min(rate, wl.params.clients / wire if wire > 0 else rate)
        elif wl.kind == "disk" and wl.disk_random and service > 0:
            rate = min(rate, len(members) * wl.params.queue_depth / service)
        events += rate * d * EVENTS_PER_UNIT[0][wl.kind]
    if spec.engine == "discrete":
        events += vcpus * d * max(p.workload.timer_hz for p in plans)
    if vcpus > pcpus:
        events += vcpus * d / SLICE_S[0]
    top = hw.pcpus + hw.val("sockets") + (hw.opt("numa_nodes") or 1)
    cpu_s = events / EVENTS_PER_CPU_S[0] + (vcpus + pcpus + top) * ENTITY_CPU_S[0]
    return events, cpu_s


def check_work(res: Resolved) -> None:
    """Refuse a run estimated (:func:`estimate_work`) to cost more CPU seconds than :func:`work_budget`, before
    anything is built, saying what it would cost and how to run it anyway."""
    budget = work_budget()
    events, cpu_s = estimate_work(res)
    if not cpu_s <= budget:
        vcpus = sum(p.vcpus for p in res.plans)
        raise HvkitError(f"this run would take about {cpu_s:.3g} CPU seconds ({events:.3g} simulated events, "
                         f"{vcpus} vCPUs on {res.spec.pcpus or res.hw.pcpus} CPUs, {res.duration:g} s simulated); the "
                         f"work budget is {budget:g} s", field="duration", value=res.duration,
                         allowed=f"a shorter duration, fewer VMs or vCPUs, or a larger budget ({BUDGET_ENV}="
                                 f"{_up(cpu_s * 1.5)})")


def unit_seconds(res: Resolved) -> float:
    """CPU seconds of one unit of the workload natively on the run's hardware, at its average size.

    A lower bound of how long one unit takes under any mode: a mode adds to a unit's work, never removes from it.
    """
    guest = tuple((k, v) for k, v in res.spec.mode if k == "guest_page")  # the guest OS's, as in native runs
    key = (id(res.hw), id(res.workload), guest)
    given = model_as_given()  # under a sample's path lengths or constants: computed afresh, not remembered
    hit = _UNIT_S.get(key) if given else None
    if hit is not None and hit[0] is res.hw and hit[1] is res.workload:
        return hit[2]
    native = hypervisor("native", res.hw, **dict(guest))
    cycles = Costing(res.hw, native, res.workload).unit().total
    seconds = cycles / (res.hw.val("freq_ghz") * 1e9)
    if not given:
        return seconds
    if len(_UNIT_S) >= 256:
        _UNIT_S.pop(next(iter(_UNIT_S)))
    _UNIT_S[key] = (res.hw, res.workload, seconds)
    return seconds


def check_duration(res: Resolved, unit_s: float | None = None) -> None:
    """Refuse a run shorter than one unit of its workload (nothing could finish; nothing is simulated).
    ``unit_s``: :func:`unit_seconds` of ``res`` if the caller has it (it is computed once per run)."""
    need = unit_seconds(res) if unit_s is None else unit_s
    if not need <= MAX_DURATION_S:
        raise HvkitError(f"one unit of {res.workload.id} takes {need:.3g} s natively on {res.hw.id} with these "
                         f"values, longer than any run may be", field="hw", value=dict(res.spec.hw) or None,
                         allowed=f"hardware values under which a unit takes at most {MAX_DURATION_S:g} s")
    if res.duration < need:
        raise HvkitError(f"shorter than one unit of {res.workload.id}, which takes at least {need:.3g} s natively "
                         f"on {res.hw.id}; no unit could finish", field="duration", value=res.duration,
                         allowed=f"at least {_up(need)} s (longer for a value worth reading)")


def _up(x: float) -> str:
    """``x`` rounded up to two significant digits, as text."""
    if x <= 0:
        return "0"
    scale = 10 ** (math.floor(math.log10(x)) - 1)
    return f"{math.ceil(x / scale) * scale:.2g}"


def in_flight_bound(res: Resolved) -> float:
    """Most units of the measured VMs that can be under way, unfinished, when a run ends.

    Each guest thread (``cpu``), outstanding disk request (``disk``) or client (``request``) has at most one
    unit under way; a stream has at most its TCP window of segments in flight.
    """
    wl, spec = res.workload, res.spec
    if wl.kind == "cpu":
        return float(spec.vms * spec.vcpus * wl.threads_per_vcpu)
    if wl.kind == "disk":
        return float(spec.vms * wl.params.queue_depth)
    if wl.kind == "request":
        return float(wl.params.clients)
    payload = max(1.0, wl.params.mtu - float(TCP_IP_HEADER_BYTES[0]))
    return spec.vms * math.ceil(wl.params.window_kb * 1024 / payload)


def peak_rate(res: Resolved, unit_s: float | None = None) -> float:
    """Units per second the measured VMs could finish if every CPU they can use ran nothing but their units, at
    average size and native cost (``unit_s``: :func:`unit_seconds` of ``res`` if the caller has it)."""
    spec = res.spec
    cpus = min(spec.pcpus or res.hw.pcpus, spec.vms * spec.vcpus)
    return cpus / (unit_seconds(res) if unit_s is None else unit_s)


def check_measured(res: Resolved, value: float, vm_units: list[float], vm_finished: list[float],
                   unit_s: float | None = None) -> None:
    """Refuse a measurement that is not a number worth reporting: a run in which no unit finished (its rate would
    be made of fractions of unfinished units), a VM that did no work at all under a time metric (its time would be
    unbounded), or a value that is not finite. ``unit_s``: :func:`unit_seconds` of ``res`` if the caller has it."""
    wl = res.workload

    def more() -> str:  # only a refusal says it
        return f"a longer run (one unit takes at least {unit_seconds(res) if unit_s is None else unit_s:.3g} s natively)"
    if sum(vm_finished) <= 0:
        raise HvkitError(f"no unit of {wl.id} finished in {res.duration:g} s of simulated time", field="duration",
                         value=res.duration, allowed=more())
    if wl.metric_kind == "time":
        idle = [i for i, u in enumerate(vm_units) if u <= 0]
        if idle:
            raise HvkitError(f"VM {idle[0]} did no work on {wl.id} in {res.duration:g} s, so its {wl.metric} is "
                             f"unbounded", field="duration", value=res.duration, allowed=more())
    if not math.isfinite(value):
        raise HvkitError(f"the measured {wl.metric} is not a finite number", field="duration", value=res.duration,
                         allowed=more())
    if value <= 0:
        raise HvkitError(f"the measured {wl.metric} is 0 {wl.unit} although {sum(vm_units):.4g} units of work were "
                         f"done: nothing it counts got through in {res.duration:g} s of simulated time",
                         field="duration", value=res.duration, allowed=f"{more()}, or hardware that delivers it")


def end_uncertainty(res: Resolved, units: float) -> float:
    """How far, relative to the value, the units under way at the end of a run can move it.

    Disk requests count when they finish, so those under way are missing: up to :func:`in_flight_bound` units.
    Other units are credited by the fraction of their work done; their size varies (``UNIT_WORK_CV``), so each
    unfinished one is off by about that share of a unit.
    """
    if units <= 0:
        return math.inf
    per_unit = 1.0 if res.workload.kind == "disk" else UNIT_WORK_CV[0]
    return per_unit * in_flight_bound(res) / units


def sampling_noise(res: Resolved, units: float) -> float:
    """The relative standard deviation of a run's rate that comes from exponential times in it: clients that think for
    an exponential time issue requests as a Poisson process, whose count over a run is off by about one over the
    square root of the count; random disk requests wait an exponential positioning time each, which moves the time
    of the units that wait for them by at most as much (one over the square root of the requests). 0 for a workload
    whose units follow one another as soon as they can."""
    wl = res.workload
    if wl.kind == "request" and wl.params.think_us > 0:
        return 1.0 / math.sqrt(max(units, 1.0))
    if wl.disk_random and wl.per_unit.disk_ops > 0:
        return 1.0 / math.sqrt(max(units * wl.per_unit.disk_ops, 1.0))
    return 0.0


def run_warnings(res: Resolved, units: float, vm_finished: list[float], unit_s: float | None = None,
                 value: float | None = None) -> str:
    """What makes a run's value doubtful, as ``; ``-separated text (empty when nothing does).

    A short run (:func:`end_uncertainty`, or twice the :func:`sampling_noise` of random arrivals, above
    ``SHORT_RUN_TOLERANCE``); a rate above the CPUs' peak (:func:`peak_rate`) by more than the variation of unit
    sizes explains (``PEAK_SIGMAS`` standard deviations of the mean size of the units counted); a rate above the
    disk's, the NIC's or the memory's peak (:func:`peak_warnings`, from ``value``, the run's metric); a measured VM
    that finished no unit.
    """
    out = []
    doubt = end_uncertainty(res, units)
    if doubt > SHORT_RUN_TOLERANCE[0]:
        out.append(f"short run: {units:.3g} units of work, and up to {in_flight_bound(res):.0f} more under way at "
                   f"the end could move the value by {doubt:.0%}; lengthen the duration")
    elif 2 * sampling_noise(res, units) > SHORT_RUN_TOLERANCE[0]:
        why = ("requests from clients that think for a random time" if res.workload.kind == "request"
               else "units that wait for random disk positioning times")
        out.append(f"short run: {units:.3g} {why}, so the rate is known to about ±{2 * sampling_noise(res, units):.0%} "
                   f"(95%); lengthen the duration or add replications")
    if value is not None:
        out += peak_warnings(res, value)
    rate, peak = units / res.duration, peak_rate(res, unit_s)
    spread = PEAK_SIGMAS[0] * UNIT_WORK_CV[0] / math.sqrt(max(units, 1.0))
    if rate > peak * (1.0 + spread):
        out.append(f"above the hardware's peak: {rate:.4g} units/s against {peak:.4g} for units of average size, "
                   f"more than their variation explains; lengthen the duration or add replications")
    idle = [i for i, u in enumerate(vm_finished) if u <= 0]
    if idle:
        which = ", ".join(map(str, idle)) if len(idle) <= 8 else (
            f"{len(idle)} of {len(vm_finished)} VMs (" + ", ".join(map(str, idle[:4])) + f", ... {idle[-1]})")
        out.append(f"VM {which} finished no unit of work")
    return "; ".join(out)


#: A neighbour-free run is flagged faster than native when its relative performance exceeds 1 by more than this many
#: standard deviations of the difference of two runs' sampling noise
FASTER_SIGMAS = (3.0, "estimated, because the difference of two independent runs' rates exceeds three of its standard "
                      "deviations about once in a thousand pairs (normal approximation); fixed because it is the threshold of a check, "
                      "not a property of the system modelled")


def unit_rate(res: Resolved, value: float) -> float:
    """Units of work per second of the measured VMs that a run's metric ``value`` stands for (its inverse for a time
    metric; for a stream, segments of one MTU's payload)."""
    wl = res.workload
    if not (math.isfinite(value) and value > 0):
        return 0.0
    if wl.kind == "stream":
        return value / wl.value_per_unit / max(1.0, wl.params.mtu - float(TCP_IP_HEADER_BYTES[0]))
    if wl.metric_kind == "time":
        return wl.value_per_unit / value
    return value / wl.value_per_unit


def hardware_peaks(res: Resolved) -> dict[str, float]:
    """What the profile says its devices can do at most, per second: disk bytes and 4 KiB requests, NIC bytes each
    way, DRAM bytes (absent when the profile gives no memory channels)."""
    hw = res.hw
    disk, nic = hw.val("disk_mbps") * 1e6, hw.val("nic_gbps") * 1e9 / 8.0
    out = {"disk_bytes": disk, "disk_requests": disk / 4096.0, "nic_bytes": nic, "nic_tx_bytes": nic,
           "nic_rx_bytes": nic}
    ch, mts, fsb = hw.opt("mem_channels"), hw.opt("mem_mts"), hw.opt("fsb_gbs")
    if ch is not None and mts is not None:
        dram = (hw.opt("numa_nodes") or 1) * ch * mts * 1e6 * 8.0
        if fsb:
            dram = min(dram, fsb * 1e9 * hw.val("sockets"))
        out["dram_bytes"] = dram
    return out


def _wire(payload: float, mtu: float) -> float:
    """Bytes on the wire for ``payload`` bytes of TCP (or UDP) data: at least one TCP/IP header per segment."""
    if payload <= 0:
        return 0.0
    header = float(TCP_IP_HEADER_BYTES[0])
    return payload + math.ceil(payload / max(1.0, mtu - header)) * header


def demands(res: Resolved, value: float) -> dict[str, float]:
    """What a run whose metric is ``value`` asks of the devices per second, from the workload's own per-unit counts
    (:func:`unit_rate`): disk bytes and requests, NIC bytes each way (payload and one TCP/IP header per segment, a
    lower bound of the wire's), streamed DRAM bytes; the keys of :func:`hardware_peaks`."""
    wl = res.workload
    rate = unit_rate(res, value)
    u, p = wl.per_unit, wl.params
    out = {"disk_bytes": rate * u.disk_ops * u.disk_kb * 1024.0, "dram_bytes": rate * u.dram_lines * 64.0,
           "nic_tx_bytes": 0.0, "nic_rx_bytes": 0.0}
    if u.disk_kb < 4:  # a request smaller than a page: the device's request rate is the tighter bound
        out["disk_requests"] = rate * u.disk_ops
    if wl.kind == "stream" and rate > 0:
        payload = value / wl.value_per_unit
        out["nic_tx_bytes" if p.direction == "tx" else "nic_rx_bytes"] = _wire(payload, p.mtu)
    elif wl.kind == "request":
        out["nic_rx_bytes"] = _wire(rate * p.request_bytes, p.mtu)
        out["nic_tx_bytes"] = _wire(rate * p.response_bytes, p.mtu)
    return out


def peak_text(res: Resolved, key: str, got: float, peaks: dict[str, float]) -> str:
    """The warning of one demand ``got`` above its peak (:func:`hardware_peaks`)."""
    hw = res.hw
    if key == "disk_bytes":
        return (f"above the disk's bandwidth: {got / 1e6:.4g} MB/s against the profile's {hw.val('disk_mbps'):g} MB/s "
                f"(params.disk_mbps); the model let the disk move more than it can")
    if key == "disk_requests":
        return (f"above the disk's request rate: {got:.4g} requests/s, more 4 KiB pages than its "
                f"{hw.val('disk_mbps'):g} MB/s move (params.disk_mbps)")
    if key in ("nic_tx_bytes", "nic_rx_bytes"):
        way = "transmit" if key == "nic_tx_bytes" else "receive"
        return (f"above the NIC's line rate: {got * 8 / 1e9:.4g} Gbit/s to {way} against the profile's "
                f"{hw.val('nic_gbps'):g} Gbit/s (params.nic_gbps)")
    return (f"above the memory bandwidth: {got / 1e9:.4g} GB/s of streamed cache lines against the platform's "
            f"{peaks['dram_bytes'] / 1e9:.4g} GB/s (numa_nodes x mem_channels x mem_mts x 8 B)")


def peak_warnings(res: Resolved, value: float) -> list[str]:
    """Rates above the hardware's peaks that the run's metric ``value`` implies (:func:`demands` against
    :func:`hardware_peaks`): the disk's bandwidth and requests, the NIC's line rate each way, the DRAM's bandwidth,
    each beyond the variation of unit sizes (``PEAK_SIGMAS``). They follow from the workload's own per-unit counts,
    whatever the model computed."""
    rate = unit_rate(res, value)
    if rate <= 0:
        return []
    spread = PEAK_SIGMAS[0] * UNIT_WORK_CV[0] / math.sqrt(max(rate * res.duration, 1.0))
    peaks = hardware_peaks(res)
    return [peak_text(res, k, got, peaks) for k, got in demands(res, value).items()
            if k in peaks and got > peaks[k] * (1.0 + spread)]


def faster_than_native(res: Resolved, value: float, native: float, relative: float) -> str | None:
    """A warning when a run with no neighbour is faster than native alone beyond its sampling noise: no hypervisor
    mechanism makes a guest faster than the same guest on the bare machine, so a relative performance above 1 is a
    defect of the model or of its inputs, and is said so (None otherwise)."""
    spec = res.spec
    if spec.neighbor or not (math.isfinite(relative) and relative > 1.0):
        return None
    units = unit_rate(res, value) * res.duration
    noise = max(sampling_noise(res, units), end_uncertainty(res, units) / 2.0)
    tol = max(1e-9, FASTER_SIGMAS[0] * math.sqrt(2.0) * noise)
    if relative <= 1.0 + tol:
        return None
    return (f"faster than native: relative performance {relative:.3f} with no neighbour, beyond the runs' sampling "
            f"noise (±{tol:.1%}); no hypervisor makes a guest faster than the bare machine, so this is a defect of "
            f"the model or of its inputs")


def censored_latency_rows(in_flight: dict[Any, tuple[int, float]], end: float, run_id: int,
                          scenario: str) -> list[dict]:
    """Latency rows of the requests under way when the run ended: right-censored, their elapsed time (a lower
    bound of their latency) in ``latency_us``, ``censored`` true."""
    return [{"run": run_id, "scenario": scenario, "vm": vm, "start_s": t0, "latency_us": (end - t0) * 1e6,
             "censored": True} for vm, t0 in sorted(in_flight.values(), key=lambda x: (x[1], x[0]))]
