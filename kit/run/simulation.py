"""One simulation of a resolved spec on a :class:`~kit.sim.host.Host`: the metric it measured and the rows of
its tables (summary, breakdown, exits, latencies, VMs, timeline), with no baseline.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .reporting import _TRACKER

if TYPE_CHECKING:  # the engine is imported where it is used, so that ``import kit`` and the CLI start light
    from ..inputs.resolve import Resolved
    from ..inputs.spec import Spec
    from ..inputs.workloads import Workload
    from ..sim.host import Host


def _rate_value(wl: Workload, rate: float) -> float:
    """The metric of a rate of units (bytes for a stream) per second."""
    if wl.metric_kind == "time" and wl.kind != "stream":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _metric_value(host: Host, wl: Workload, duration: float, units: float) -> float:
    """The run's metric from what it measured: a rate of units (or bytes) per second, times the metric's units
    per unit of work; or, for a time metric (a kernel build's time), the units per job divided by that rate.

    A time metric is thus the time per unit of work times the units of a job, from the measured rate (the running
    unit's fraction counts, see :func:`kit.sim.entities.credit_units`), never the time until a job finished
    within the horizon: it does not depend on ``duration`` beyond sampling noise, which shrinks with a longer
    duration and which the interval over replications reports (``tests/test_uncertainty.py``).
    """
    if wl.kind == "stream":
        return host.bytes_done * wl.value_per_unit / duration
    rate = units / duration
    if wl.metric_kind == "time":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _simulate(spec: Spec, run_id: int, scenario: str, trace_s: float = 0.0, resolved: Resolved | None = None,
              tables: bool = True) -> tuple[dict, list, list, dict, list, list]:
    from ..inputs.resolve import resolve
    from ..results.validity import (censored_latency_rows, check_duration, check_measured, check_work,
                                   run_warnings, unit_seconds)
    from ..sim.engines import run_host
    from ..sim.host import Host
    res = resolved if resolved is not None else resolve(spec)
    hw, mode, wl, duration = res.hw, res.mode, res.workload, res.duration
    unit_s = unit_seconds(res)  # once per run: the refusal, the check and the warnings all ask for it
    check_duration(res, unit_s)
    check_work(res)  # before anything is built: a run beyond the budget is refused, not started
    t0 = time.perf_counter()
    host = Host(res, trace_s=trace_s, latencies=tables)
    tracker = _TRACKER.get()
    if tracker is not None:
        started = tracker.done
        label = scenario if spec.hypervisor in scenario else f"{scenario} ({spec.hypervisor})"
        host.on_progress = tracker.start(label, duration)
    events = run_host(host, res, trace_s)
    if tracker is not None:
        tracker.finish(label, started, duration)
    duration = host.duration  # shorter when the run stopped at its requested precision
    wall = time.perf_counter() - t0
    runners = host.vms + host.neighbors + list(host.backends.values())
    units = sum(e.units for vm in host.vms for e in vm.entities)
    value = _metric_value(host, wl, duration, units)
    vm_units = [sum(e.units for e in vm.entities) for vm in host.vms]
    vm_finished = [sum(e.finished_units for e in vm.entities) for vm in host.vms]
    check_measured(res, value, vm_units, vm_finished, unit_s)
    brows: list[dict] = []
    exits: dict[str, float] = {}
    exit_cycles: dict[str, float] = {}
    for r in runners:
        for ent in r.entities:
            for cat, sec in sorted(ent.acct.items()):
                if sec > 0:
                    brows.append({"run": run_id, "scenario": scenario, "scope": ent.scope,
                                  "entity": r.kind, "category": cat, "seconds": sec})
            if r.kind == "vcpu":
                for k, v in ent.exits.items():
                    exits[k] = exits.get(k, 0.0) + v
                for k, v in ent.exit_cycles.items():
                    exit_cycles[k] = exit_cycles.get(k, 0.0) + v
    n_pools = len(host.sched.pools)
    cap = host.sched.n * duration
    busy_backend = {r.name: sum(sec for e in r.entities for c, sec in e.acct.items() if c not in ("idle", "queueing"))
                    / (len(r.entities) * duration) for r in host.backends.values()}
    summary: dict[str, Any] = {
        "run": run_id, "scenario": scenario, "hardware": hw.id, "hypervisor": mode.name, "workload": wl.id,
        "neighbor": spec.neighbor, "vcpus": spec.vcpus, "vms": spec.vms, "seed": spec.seed, "duration": duration, "metric": wl.metric,
        "unit": wl.unit, "higher_is_better": wl.higher_is_better, "value": value, "native_value": float("nan"),
        "relative_performance": float("nan"), "relative_ci_low": None, "relative_ci_high": None,
        "alone_value": float("nan"), "interference": float("nan"), "relative_vs_native_with_neighbor": float("nan"),
        "baseline": "", "replications": 1, "units": units, "events": events,
        "events_per_sim_s": events / duration, "wall_s": wall, "engine": host.engine,
        "pcpu_util": sum(host.sched.busy) / cap if n_pools else 0.0,
        "nic_tx_util": host.nic_tx.busy_until(duration) / duration,
        "nic_rx_util": host.nic_rx.busy_until(duration) / duration,
        "disk_util": host.disk.busy_until(duration) / (duration * host.disk.servers),
        "backend_util": "; ".join(f"{k}={v:.3f}" for k, v in sorted(busy_backend.items())),
        "resolutions": "; ".join(mode.resolutions + tuple(host.notes)), "stop_reason": host.stop_reason,
        "ci_low": None, "ci_high": None, "warnings": run_warnings(res, units, vm_finished, unit_s, value), "error": "",
    }
    interval = host.stopper.interval() if host.stopper is not None else None
    if interval is not None:
        lo, hi = (_rate_value(wl, r) for r in interval)
        summary["ci_low"], summary["ci_high"] = min(lo, hi), max(lo, hi)
    _noise_columns(summary, 1, early=interval is not None)
    exit_rows = [{"run": run_id, "scenario": scenario, "reason": k, "count": v, "cycles": exit_cycles.get(k, 0.0)}
                 for k, v in sorted(exits.items())]
    if not tables:  # a native baseline: only its summary is used
        return summary, [], [], {}, [], []
    lat_vm, lat_start, lat_s = host.latencies.take()
    lat_s *= 1e6  # in place: the columns are the run's own
    censored: Any = False
    unfinished = censored_latency_rows(host.in_flight, duration, run_id, scenario)
    if unfinished:  # requests under way at the end: right-censored rows after the finished ones
        import numpy as np
        lat_vm = np.concatenate([lat_vm, [r["vm"] for r in unfinished]])
        lat_start = np.concatenate([lat_start, [r["start_s"] for r in unfinished]])
        lat_s = np.concatenate([lat_s, [r["latency_us"] for r in unfinished]])
        censored = np.concatenate([np.zeros(len(lat_s) - len(unfinished), bool), np.ones(len(unfinished), bool)])
    lat_rows = {"run": run_id, "scenario": scenario, "vm": lat_vm, "start_s": lat_start, "latency_us": lat_s,
                "censored": censored}
    vm_rows: list[dict] = []
    for index, runner in enumerate(host.vms):
        vu = sum(e.units for e in runner.entities)
        share = vu / units if units else 0.0
        vval = (value * share if wl.metric_kind == "rate" or wl.kind == "stream"
                else (_metric_value(host, wl, duration, vu) if vu else float("inf")))
        vm_rows.append({"run": run_id, "scenario": scenario, "vm": index, "units": vu, "value": vval})
    trace = [{"run": run_id, "scenario": scenario, "scope": sc, "state": st, "start_s": a, "end_s": min(b, trace_s),
              "guest_fraction": gf, "cpu": cpu} for sc, st, a, b, gf, cpu in (host.sched.trace or [])]
    return summary, brows, exit_rows, lat_rows, vm_rows, trace


def _noise_columns(summary: dict, replications: int, early: bool = False) -> None:
    """Say what the summary's noise interval (``ci_*``) is; a closed form's is exact (its bounds are the value),
    and its model-uncertainty columns say they were not computed (:func:`run` with ``model_uncertainty``)."""
    from ..uncertainty.notes import noise_note, not_computed
    summary["ci_note"] = noise_note(summary["engine"], replications, early)
    if summary["engine"] == "analytic":
        summary["ci_low"] = summary["ci_high"] = summary["value"]
    for k, v in not_computed("model_uncertainty=False (--no-model-uncertainty)").items():
        summary.setdefault(k, v)
