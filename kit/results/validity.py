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
from typing import Any

from ..errors import HvkitError
from ..inputs.modes import hypervisor
from ..inputs.resolve import Resolved
from ..inputs.spec import MAX_DURATION_S
from ..sim.mode_costs import Costing
from ..sim.net_costs import TCP_IP_HEADER_BYTES
from ..sim.drivers import UNIT_WORK_CV

__all__ = ["unit_seconds", "check_duration", "in_flight_bound", "peak_rate", "check_measured", "end_uncertainty",
           "run_warnings", "censored_latency_rows", "SHORT_RUN_TOLERANCE", "PEAK_SIGMAS"]

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


def unit_seconds(res: Resolved) -> float:
    """CPU seconds of one unit of the workload natively on the run's hardware, at its average size.

    A lower bound of how long one unit takes under any mode: a mode adds to a unit's work, never removes from it.
    """
    guest = tuple((k, v) for k, v in res.spec.mode if k == "guest_page")  # the guest OS's, as in native runs
    key = (id(res.hw), id(res.workload), guest)
    hit = _UNIT_S.get(key)
    if hit is not None and hit[0] is res.hw and hit[1] is res.workload:
        return hit[2]
    native = hypervisor("native", res.hw, **dict(guest))
    cycles = Costing(res.hw, native, res.workload).unit().total
    seconds = cycles / (res.hw.val("freq_ghz") * 1e9)
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


def run_warnings(res: Resolved, units: float, vm_finished: list[float], unit_s: float | None = None) -> str:
    """What makes a run's value doubtful, as ``; ``-separated text (empty when nothing does).

    A short run (:func:`end_uncertainty` above ``SHORT_RUN_TOLERANCE``); a rate above the hardware's peak
    (:func:`peak_rate`) by more than the variation of unit sizes explains (``PEAK_SIGMAS`` standard deviations of
    the mean size of the units counted); a measured VM that finished no unit.
    """
    out = []
    doubt = end_uncertainty(res, units)
    if doubt > SHORT_RUN_TOLERANCE[0]:
        out.append(f"short run: {units:.3g} units of work, and up to {in_flight_bound(res):.0f} more under way at "
                   f"the end could move the value by {doubt:.0%}; lengthen the duration")
    rate, peak = units / res.duration, peak_rate(res, unit_s)
    spread = PEAK_SIGMAS[0] * UNIT_WORK_CV[0] / math.sqrt(max(units, 1.0))
    if rate > peak * (1.0 + spread):
        out.append(f"above the hardware's peak: {rate:.4g} units/s against {peak:.4g} for units of average size, "
                   f"more than their variation explains; lengthen the duration or add replications")
    idle = [i for i, u in enumerate(vm_finished) if u <= 0]
    if idle:
        out.append(f"VM {', '.join(map(str, idle))} finished no unit of work")
    return "; ".join(out)


def censored_latency_rows(in_flight: dict[Any, tuple[int, float]], end: float, run_id: int,
                          scenario: str) -> list[dict]:
    """Latency rows of the requests under way when the run ended: right-censored, their elapsed time (a lower
    bound of their latency) in ``latency_us``, ``censored`` true."""
    return [{"run": run_id, "scenario": scenario, "vm": vm, "start_s": t0, "latency_us": (end - t0) * 1e6,
             "censored": True} for vm, t0 in sorted(in_flight.values(), key=lambda x: (x[1], x[0]))]
