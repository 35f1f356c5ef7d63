"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out."""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

import pandas as pd

from . import __version__
from .errors import HvkitError
from .inputs.hardware import load_hardware
from .sim.host import Host
from .inputs.modes import hypervisor
from .inputs.spec import Spec
from .inputs.workloads import load_workload

__all__ = ["Result", "run", "compare", "resolve_spec", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["run", "scenario", "hardware", "hypervisor", "workload", "vcpus", "vms", "seed", "duration",
                   "metric", "unit", "higher_is_better", "value", "native_value", "relative_performance",
                   "units", "events", "events_per_sim_s", "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util",
                   "disk_util", "backend_util", "resolutions", "error"]
VM_COLUMNS = ["run", "scenario", "vm", "units", "value"]
TIMELINE_COLUMNS = ["run", "scenario", "scope", "state", "start_s", "end_s", "guest_fraction"]


@dataclass
class Result:
    """Tidy tables of one or more runs.

    Attributes
    ----------
    summary : DataFrame
        One row per run (``SUMMARY_COLUMNS``).
    breakdown : DataFrame
        One row per run x entity x category: ``run, scenario, scope, entity, category, seconds``;
        ``entity`` is ``vcpu`` (measured VMs), ``backend`` or ``neighbor``.
        For each entity the seconds add up to the simulated duration.
    exits : DataFrame
        One row per run x exit reason: ``run, scenario, reason, count, cycles``.
    latency : DataFrame
        One row per request (request and disk workloads): ``run, scenario, vm, start_s, latency_us``.
    """

    summary: pd.DataFrame
    breakdown: pd.DataFrame
    exits: pd.DataFrame
    latency: pd.DataFrame
    vms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VM_COLUMNS))
    specs: list = field(default_factory=list)
    timeline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TIMELINE_COLUMNS))

    @staticmethod
    def concat(results: list["Result"]) -> "Result":
        return Result(*(pd.concat([getattr(r, k) for r in results], ignore_index=True)
                        for k in ("summary", "breakdown", "exits", "latency", "vms")),
                      specs=[s for r in results for s in r.specs])

    def to_records(self) -> list[dict]:
        """One JSON-ready object per run (the ``--json`` form)."""
        out = []
        for _, row in self.summary.iterrows():
            rid = row["run"]
            b = self.breakdown[(self.breakdown["run"] == rid) & (self.breakdown["entity"] == "vcpu")]
            e = self.exits[self.exits["run"] == rid]
            rec = {k: _py(row[k]) for k in SUMMARY_COLUMNS}
            rec["breakdown"] = {k: round(float(v), 9) for k, v in b.groupby("category")["seconds"].sum().items()}
            rec["backends"] = {k: round(float(v), 9) for k, v in self.breakdown[
                (self.breakdown["run"] == rid) & (self.breakdown["entity"] == "backend")
                & (self.breakdown["category"] != "idle")].groupby("scope")["seconds"].sum().items()}
            rec["exits"] = {r: round(float(c), 3) for r, c in zip(e["reason"], e["count"])}
            lat = self.latency[self.latency["run"] == rid]["latency_us"]
            if len(lat):
                rec["latency_us"] = {"mean": float(lat.mean()), "p50": float(lat.quantile(0.5)),
                                     "p99": float(lat.quantile(0.99)), "n": int(len(lat))}
            out.append(rec)
        return out


def _py(v):
    if hasattr(v, "item"):
        return v.item()
    return v


def resolve_spec(spec: Spec):
    """Load and validate everything a spec names: (hardware, mode, workload, duration)."""
    hw = load_hardware(spec.hardware).with_overrides(dict(spec.hw))
    mode = hypervisor(spec.hypervisor, hw, **dict(spec.mode))
    wl = load_workload(spec.workload).with_params(dict(spec.params))
    duration = spec.duration or wl.default_duration
    return hw, mode, wl, duration


def _metric_value(host: Host, wl, duration: float, units: float) -> float:
    if wl.kind == "stream":
        return host.bytes_done * wl.value_per_unit / duration
    rate = units / duration
    if wl.metric_kind == "time":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _simulate(spec: Spec, run_id: int, scenario: str, trace_s: float = 0.0):
    hw, mode, wl, duration = resolve_spec(spec)
    neighbor = load_workload(spec.neighbor) if spec.neighbor else None
    t0 = time.perf_counter()
    host = Host(spec, hw, mode, wl, duration, trace_s=trace_s, neighbor=neighbor)
    events = host.run()
    wall = time.perf_counter() - t0
    runners = host.vms + host.neighbors + list(host.backends.values())
    units = sum(e.units for vm in host.vms for e in vm.entities)
    value = _metric_value(host, wl, duration, units)
    brows, exits, exit_cycles = [], {}, {}
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
    summary = {
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
    vm_rows = []
    for k, vm in enumerate(host.vms):
        vu = sum(e.units for e in vm.entities)
        share = vu / units if units else 0.0
        vval = (value * share if wl.metric_kind == "rate" or wl.kind == "stream"
                else (_metric_value(host, wl, duration, vu) if vu else float("inf")))
        vm_rows.append({"run": run_id, "scenario": scenario, "vm": k, "units": vu, "value": vval})
    trace = [{"run": run_id, "scenario": scenario, "scope": sc, "state": st, "start_s": a, "end_s": min(b, trace_s),
              "guest_fraction": gf} for sc, st, a, b, gf in (host.sched.trace or [])]
    return summary, brows, exit_rows, lat_rows, vm_rows, trace


def _frames(summaries, brows, erows, lrows, specs, vrows=()) -> Result:
    return Result(
        pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
        pd.DataFrame(brows, columns=["run", "scenario", "scope", "entity", "category", "seconds"]),
        pd.DataFrame(erows, columns=["run", "scenario", "reason", "count", "cycles"]),
        pd.DataFrame(lrows, columns=["run", "scenario", "vm", "start_s", "latency_us"]),
        pd.DataFrame(list(vrows), columns=VM_COLUMNS),
        specs=list(specs))


def native_spec(spec: Spec) -> Spec:
    """The native baseline of a spec: same hardware, workload, seed, vCPUs and VMs.

    Mode overrides do not apply to native and are dropped, except the guest page
    size, which belongs to the guest OS; hardware and workload overrides are kept.
    """
    data = spec.model_dump()
    guest = tuple((k, v) for k, v in spec.mode if k == "guest_page")  # a property of the guest OS
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
    res = _frames([s], b, e, l, [spec], v)
    res.timeline = pd.DataFrame(tr, columns=TIMELINE_COLUMNS)
    return res


def relative(value: float, native_value: float, higher_is_better: bool) -> float:
    """1.0 is native; lower is slower, whatever the metric's direction."""
    if higher_is_better:
        return value / native_value if native_value else float("nan")
    return native_value / value if value else float("nan")


def compare(hardware: str, workload: str, hypervisors, **kw) -> Result:
    """Run one workload under several modes on one profile (native is computed once).

    Extra keyword arguments go to :class:`Spec` (vcpus, vms, duration, seed, mode, hw, params...).
    A mode that fails (an impossible combination) gives a row with its error; the others still run.
    """
    base = Spec.make(hardware=hardware, hypervisor="native", workload=workload, **kw)
    native = run(native_spec(base), baseline=False, run_id=0, scenario="native")
    nv = native.summary.loc[0, "value"]
    parts = []
    for i, name in enumerate(hypervisors):
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
            parts.append(_frames([{**{c: None for c in SUMMARY_COLUMNS}, "run": i, "scenario": name,
                                   "hardware": hardware, "hypervisor": name, "workload": workload,
                                   "error": str(exc)}], [], [], [], [spec]))
            continue
        except Exception as exc:  # keep what was computed; say what broke
            parts.append(_frames([{**{c: None for c in SUMMARY_COLUMNS}, "run": i, "scenario": name,
                                   "hardware": hardware, "hypervisor": name, "workload": workload,
                                   "error": f"{type(exc).__name__}: {exc}; {traceback.format_exc(limit=1)}"}],
                                 [], [], [], [spec]))
            continue
        r.summary.loc[:, "native_value"] = nv
        r.summary.loc[:, "relative_performance"] = relative(r.summary.loc[0, "value"], nv,
                                                            bool(r.summary.loc[0, "higher_is_better"]))
        parts.append(r)
    return Result.concat(parts)


__all__ += ["native_spec", "relative", "__version__"]
