"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out.

:func:`run` resolves a :class:`~kit.inputs.spec.Spec` (:func:`~kit.inputs.resolve.resolve`), simulates it on a
:class:`~kit.sim.host.Host` and measures the host into a :class:`~kit.results.Result`; with ``baseline`` it also
runs the native baseline of the same spec (:func:`native_spec`) for relative performance.
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from typing import Any


from .version import __version__
from .errors import HvkitError
from .inputs.resolve import resolve
from .inputs.spec import Spec
from .inputs.workloads import Workload
from .results import Result, relative
from .sim.host import Host

__all__ = ["run", "compare", "native_spec", "__version__"]


def _metric_value(host: Host, wl: Workload, duration: float, units: float) -> float:
    if wl.kind == "stream":
        return host.bytes_done * wl.value_per_unit / duration
    rate = units / duration
    if wl.metric_kind == "time":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _simulate(spec: Spec, run_id: int, scenario: str, trace_s: float = 0.0) -> tuple[dict, list, list, list, list, list]:
    res = resolve(spec)
    hw, mode, wl, duration = res.hw, res.mode, res.workload, res.duration
    t0 = time.perf_counter()
    host = Host(res, trace_s=trace_s)
    events = host.run()
    wall = time.perf_counter() - t0
    runners = host.vms + host.neighbors + list(host.backends.values())
    units = sum(e.units for vm in host.vms for e in vm.entities)
    value = _metric_value(host, wl, duration, units)
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
        "vcpus": spec.vcpus, "vms": spec.vms, "seed": spec.seed, "duration": duration, "metric": wl.metric,
        "unit": wl.unit, "higher_is_better": wl.higher_is_better, "value": value, "native_value": float("nan"),
        "relative_performance": float("nan"), "units": units, "events": events,
        "events_per_sim_s": events / duration, "wall_s": wall,
        "pcpu_util": sum(host.sched.busy) / cap if n_pools else 0.0,
        "nic_tx_util": host.nic_tx.busy_until(duration) / duration,
        "nic_rx_util": host.nic_rx.busy_until(duration) / duration,
        "disk_util": host.disk.busy_until(duration) / (duration * host.disk.servers),
        "backend_util": "; ".join(f"{k}={v:.3f}" for k, v in sorted(busy_backend.items())),
        "resolutions": "; ".join(mode.resolutions), "error": "",
    }
    exit_rows = [{"run": run_id, "scenario": scenario, "reason": k, "count": v, "cycles": exit_cycles.get(k, 0.0)}
                 for k, v in sorted(exits.items())]
    lat_rows = [{"run": run_id, "scenario": scenario, "vm": vm, "start_s": st, "latency_us": lat * 1e6}
                for vm, st, lat in host.latencies]
    vm_rows: list[dict] = []
    for index, runner in enumerate(host.vms):
        vu = sum(e.units for e in runner.entities)
        share = vu / units if units else 0.0
        vval = (value * share if wl.metric_kind == "rate" or wl.kind == "stream"
                else (_metric_value(host, wl, duration, vu) if vu else float("inf")))
        vm_rows.append({"run": run_id, "scenario": scenario, "vm": index, "units": vu, "value": vval})
    trace = [{"run": run_id, "scenario": scenario, "scope": sc, "state": st, "start_s": a, "end_s": min(b, trace_s),
              "guest_fraction": gf} for sc, st, a, b, gf in (host.sched.trace or [])]
    return summary, brows, exit_rows, lat_rows, vm_rows, trace


def native_spec(spec: Spec) -> Spec:
    """The native baseline of a spec: same hardware, workload, seed, vCPUs and VMs.

    Mode overrides do not apply to native and are dropped, except the guest page
    size, which belongs to the guest OS, the speculative-execution mitigations, which
    belong to the software era of both, and the host's DMA remapping; hardware and
    workload overrides are kept.
    """
    data = spec.model_dump()
    guest = tuple((k, v) for k, v in spec.mode if k in ("guest_page", "mitigations", "dma_remap"))
    data.update(hypervisor="native", mode=guest, dom0_vcpus=1)
    return Spec(**data)


def run(spec: Spec, *, baseline: bool = True, run_id: int = 0, scenario: str | None = None,
        trace_s: float = 0.0) -> Result:
    """Simulate one spec; with ``baseline`` also its native run, for relative performance.

    With ``trace_s`` > 0 the result's ``timeline`` holds every entity's states
    (running, exiting, waiting, idle, backend) during the first ``trace_s`` seconds.

    Raises :class:`HvkitError` for a bad spec (nothing is simulated then).
    """
    if not isinstance(spec, Spec):
        raise HvkitError("run() takes a kit.Spec", value=type(spec).__name__, allowed="kit.Spec(...)")
    s, b, e, l, v, tr = _simulate(spec, run_id, scenario or spec.label(), trace_s=trace_s)
    if baseline:
        if spec.hypervisor == "native" and spec == native_spec(spec):
            nv = s["value"]
        else:
            nv = _simulate(native_spec(spec), -1, "native")[0]["value"]
        s["native_value"] = nv
        s["relative_performance"] = relative(s["value"], nv, s["higher_is_better"])
    return Result.from_rows([s], b, e, l, [spec], v, timeline=tr)


def compare(hardware: str, workload: str, hypervisors: str | Sequence[str], **kw: Any) -> Result:
    """Run one workload under several modes on one profile (native is computed once).

    Extra keyword arguments go to :class:`Spec` (vcpus, vms, duration, seed, mode, hw, params...).
    A mode that fails (an impossible combination) gives a row with its error; the others still run.
    """
    names = [hypervisors] if isinstance(hypervisors, str) else list(hypervisors)  # one name is one mode
    base = Spec.make(hardware=hardware, hypervisor="native", workload=workload, **kw)
    native = run(native_spec(base), baseline=False, run_id=0, scenario="native")
    nv = native.summary.loc[0, "value"]
    parts = []
    for i, name in enumerate(names):
        if name == "native":
            r = native
            r.summary.loc[:, ["native_value", "relative_performance"]] = [nv, 1.0]
            r.summary.loc[:, "run"] = i
            for df in (r.breakdown, r.exits, r.latency, r.vms):
                df.loc[:, "run"] = i
            parts.append(r)
            continue
        spec = base.replace(hypervisor=name)
        try:
            r = run(spec, baseline=False, run_id=i, scenario=name)
        except HvkitError as exc:
            parts.append(Result.failed(i, name, spec, str(exc)))
            continue
        except Exception as exc:  # keep what was computed; say what broke
            parts.append(Result.failed(i, name, spec,
                                       f"{type(exc).__name__}: {exc}; {traceback.format_exc(limit=1)}"))
            continue
        r.summary.loc[:, "native_value"] = nv
        r.summary.loc[:, "relative_performance"] = relative(r.summary.loc[0, "value"], nv,
                                                            bool(r.summary.loc[0, "higher_is_better"]))
        parts.append(r)
    return Result.concat(parts)

