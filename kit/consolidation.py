"""Consolidation: a scenario (a host with heterogeneous VMs) run once, each VM set beside itself alone and beside
native, and the isolation matrix of Matthews et al.

:func:`run_scenario` simulates a :class:`~kit.inputs.scenario.Scenario` and reports, per VM, its metric, the same
VM alone on the same host (same mode, knobs and placement, the other VMs removed), the same workload natively
alone (the profile's hardware, no hypervisor), the breakdown of its vCPUs' time and its request latency; and the
host's totals: CPU utilization, VM switches, lock-holder preemptions, memory reclaimed by each mechanism.

:func:`isolation_matrix` is the isolation benchmark suite of Matthews, Hu, Hamilton, Brabec, Hunter and Yang
("Quantifying the Performance Isolation Properties of Virtualization Systems", ExpCS 2007): well-behaved VMs run a
service while one more VM runs a misbehaving workload (memory bomb, fork bomb, CPU hog, disk hog, network sender or
receiver hog); the degradation is how much less the well-behaved VMs deliver than with that VM running the service
too, per misbehaving workload and mode.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import HvkitError
from .inputs.scenario import Scenario, VmEntry, resolve_scenario
from .inputs.spec import Spec
from .run import native_value
from .sim.locks import COSTOP, IPI_WAIT, LOCK_HALT, LOCK_SPIN

__all__ = ["run_scenario", "ScenarioResult", "VM_TABLE_COLUMNS", "isolation_matrix", "HOGS", "ISOLATION_MODES",
           "SYNC_CATEGORIES"]

VM_TABLE_COLUMNS = ["vm", "workload", "vcpus", "measured", "metric", "unit", "higher_is_better", "value",
                    "value_ci_low", "value_ci_high", "alone_value", "relative_alone", "native_value", "relative_native",
                    "latency_mean_us", "latency_p99_us", "units", "warnings"]
#: The columns of the VM table that replications average
_MEANS = ("value", "alone_value", "relative_alone", "native_value", "relative_native", "latency_mean_us",
          "latency_p99_us", "units")
#: Categories of guest synchronization (kit.sim.locks)
SYNC_CATEGORIES = (LOCK_SPIN, IPI_WAIT, LOCK_HALT, COSTOP)
#: The misbehaving workloads of the isolation suite (workloads/*.yaml) and the service the well-behaved VMs run
HOGS = ("memory-bomb", "fork-bomb", "cpu-hog", "disk-hog", "net-sender-hog", "net-receiver-hog")
ISOLATION_MODES = ("xen-pv", "xen-hvm", "kvm")


@dataclass
class ScenarioResult:
    """What a scenario did: per VM, per VM x category, per request, and the host's totals."""

    scenario: Scenario
    vms: pd.DataFrame
    breakdown: pd.DataFrame
    latency: pd.DataFrame
    host: dict
    timeline: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per VM, what the scenario's faults did to it (kit.sim.failures.FaultInjector.outcomes); empty without faults
    faults: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: each VM's lifecycle, phase by phase (kit.sim.lifecycle.LifecycleRunner.timeline); empty without events
    lifecycle: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def warnings(self) -> list[str]:
        """Every warning of the scenario: each VM's (named) and the host's (rates above the hardware's peaks in
        all), the same that the table, the JSON and the panel show."""
        out = [f"{r['vm']}: {r['warnings']}" for _, r in self.vms.iterrows() if r["warnings"]]
        return out + list(self.host.get("warnings", []))

    def to_json(self) -> dict:
        """The ``hvkit run --scenario FILE --json`` object."""
        vms = []
        for _, r in self.vms.iterrows():
            b = self.breakdown[self.breakdown["vm"] == r["vm"]]
            rec = {k: _py(r[k]) for k in VM_TABLE_COLUMNS}
            rec["breakdown"] = {k: round(float(v), 9) for k, v in b.groupby("category")["seconds"].sum().items()}
            vms.append(rec)
        out = {"scenario": self.scenario.name, "hardware": self.scenario.hardware,
               "hypervisor": self.scenario.hypervisor, "replications": int(self.host.get("replications", 1)),
               "vms": vms, "host": {k: v for k, v in self.host.items() if k != "warnings"},
               "warnings": self.warnings}
        if len(self.faults):
            out["faults"] = [{k: _py(v) for k, v in r.items()} for r in self.faults.to_dict("records")]
        if len(self.lifecycle):
            out["lifecycle"] = [{k: _py(v) for k, v in r.items()} for r in self.lifecycle.to_dict("records")]
        return out


def _py(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _value(wl: Any, units: float, bytes_done: float, duration: float) -> float:
    if wl.kind == "stream":
        return bytes_done * wl.value_per_unit / duration
    rate = units / duration
    if wl.metric_kind == "time":
        return wl.value_per_unit / rate if rate > 0 else math.inf
    return rate * wl.value_per_unit


def _relative(value: float, ref: float, higher: bool) -> float:
    if not (math.isfinite(value) and math.isfinite(ref)) or value <= 0 or ref <= 0:
        return math.nan
    return value / ref if higher else ref / value


def _simulate(scn: Scenario, trace_s: float = 0.0) -> tuple[Any, float, int]:
    from .sim.engines import run_host
    from .sim.failures import attach
    from .sim.host import Host
    from .results.validity import check_work
    res = resolve_scenario(scn)
    check_work(res)  # before anything is built
    host = Host(res, trace_s=trace_s)
    injected = attach(host, res.mode, scn)  # the scenario's faults, on the host laid out as its knobs say
    if scn.lifecycle:  # and its VMs' lifecycle operations
        _attach_lifecycle(host, res, scn)
    events = host.run() if injected or scn.lifecycle else run_host(host, res, trace_s)
    return host, host.duration, events


def _attach_lifecycle(host: Any, res: Any, scn: Scenario) -> None:
    """Schedule ``scn``'s lifecycle events on ``host``; each live migration is run first
    (:func:`kit.live_migration.source_load`) with the VM's workload, and replayed on the host."""
    from .live_migration import source_load
    from .sim.lifecycle import LifecycleRunner, shapes_of
    shapes = shapes_of(res.plans)
    entry_of = {f"{v.name}{k}" if v.count > 1 else v.name: v for v in scn.vms for k in range(v.count)}
    loads = {}
    for k, e in enumerate(scn.lifecycle):
        if e.op == "migrate":
            v = entry_of[e.vm]
            spec = Spec.make(hardware=scn.hardware, hypervisor=scn.hypervisor, workload=v.workload, vcpus=v.vcpus,
                             seed=scn.seed, hw=dict(scn.hw), mode=dict(scn.mode), params=dict(v.params))
            loads[k] = source_load(spec, vm_mib=shapes[e.vm].memory_mib, **dict(e.options))
    LifecycleRunner(host, scn.lifecycle, scn.vm_names(), shapes, loads)


def _alone(scn: Scenario, entry: VmEntry) -> Scenario:
    """The VM alone on the host (without the scenario's faults and lifecycle events, which may name the other
    VMs)."""
    return scn.replace(vms=[entry.model_copy(update={"count": 1, "measured": True}).model_dump()], faults=[],
                       lifecycle=[])


def run_scenario(scn: Scenario, *, alone: bool = True, native: bool = True, trace_s: float = 0.0,
                 replications: int = 1) -> ScenarioResult:
    """Simulate ``scn`` and report each VM against itself alone on the host (``alone``) and against native alone
    (``native``); see the module docstring.

    With ``replications`` N > 1 the scenario runs N times with seeds derived from its own
    (:func:`kit.stats.replication_seed`): the VM table holds the means and each value's 95% interval from
    Student's t (``value_ci_low``, ``value_ci_high``; missing with one replication), the other tables are the first
    replication's. Every VM carries the result-level checks of :mod:`kit.results.validity` in ``warnings`` (a short
    run, a VM that finished no unit, a rate above the hardware's peaks, faster than native), and the host the rates
    of all VMs against the peaks; :attr:`ScenarioResult.warnings` lists them all.
    """
    if not isinstance(scn, Scenario):
        raise HvkitError("run_scenario() takes a kit.Scenario", value=type(scn).__name__, allowed="kit.Scenario")
    from .run import check_replications
    n = check_replications(replications)
    if n > 1:
        from .stats import replication_seed
        parts = [_run_scenario(scn.replace(seed=replication_seed(scn.seed, r)), alone, native,
                               trace_s if r == 0 else 0.0) for r in range(n)]
        return _combine_scenarios(scn, parts)
    return _run_scenario(scn, alone, native, trace_s)


def _combine_scenarios(scn: Scenario, parts: list[ScenarioResult]) -> ScenarioResult:
    """One result from the replications of ``scn``: the VM table's means with 95% intervals, the rest the first's."""
    from .stats import t_interval
    first = parts[0]
    vms = first.vms.copy()
    for col in _MEANS:
        vms[col] = [float("nan") if all(math.isnan(float(p.vms[col].iloc[i])) for p in parts)
                    else sum(float(p.vms[col].iloc[i]) for p in parts) / len(parts) for i in range(len(vms))]
    lows, highs = [], []
    for i in range(len(vms)):
        values = [float(p.vms["value"].iloc[i]) for p in parts]
        if all(math.isfinite(v) for v in values):
            mean, half = t_interval(values)
            lows.append(None if half is None else mean - half)
            highs.append(None if half is None else mean + half)
        else:
            lows.append(None)
            highs.append(None)
    vms["value_ci_low"], vms["value_ci_high"] = lows, highs
    vms["warnings"] = ["; ".join(dict.fromkeys(w for p in parts for w in str(p.vms["warnings"].iloc[i]).split("; ")
                                               if w)) for i in range(len(vms))]
    host = dict(first.host)
    host["replications"] = len(parts)
    host["warnings"] = list(dict.fromkeys(w for p in parts for w in p.host.get("warnings", [])))
    return ScenarioResult(scn, vms, first.breakdown, first.latency, host, first.timeline)


def _vm_checks(scn: Scenario, entry: VmEntry, wl: Any, value: float, units: float, finished: float,
               duration: float, native_val: float, rel_native: float) -> tuple[list[str], Any]:
    """The result-level checks of one VM of a scenario (kit.results.validity), and the resolved spec of that VM alone
    that they were made against (for the host's sums)."""
    from .inputs.resolve import resolve
    from .results.validity import faster_than_native, run_warnings
    spec = Spec.make(hardware=scn.hardware, hypervisor=scn.hypervisor, workload=entry.workload, vcpus=entry.vcpus,
                     duration=duration, seed=scn.seed, params=dict(entry.params), hw=dict(scn.spec().hw),
                     mode=dict(scn.mode), pcpus=scn.host.pcpus)
    res = resolve(spec)
    out = [w.replace("VM 0 finished no unit", "finished no unit")
           for w in run_warnings(res, units, [finished], value=value if units > 0 else None).split("; ") if w]
    if units <= 0 or not math.isfinite(value):
        out.append(f"measured no {wl.metric}: it did no work in {duration:g} s")
    elif wl.metric_kind == "time" and finished <= 0:
        out.append(f"its {wl.metric} is extrapolated from {units:.3g} units of work, none finished; lengthen the "
                   f"duration")
    faster = faster_than_native(res, value, native_val, rel_native)
    if faster:
        out.append(faster)
    return out, res


def _host_checks(vm_checked: list[tuple[Any, float]]) -> list[str]:
    """Rates above the hardware's peaks of all VMs of a host together (each VM's own are in its row)."""
    from .results.validity import demands, hardware_peaks, peak_text
    if not vm_checked:
        return []
    total: dict[str, float] = {}
    for res, value in vm_checked:
        for k, v in demands(res, value).items():
            total[k] = total.get(k, 0.0) + v
    peaks = hardware_peaks(vm_checked[0][0])
    return [f"host, all VMs together: {peak_text(vm_checked[0][0], k, got, peaks)}" for k, got in total.items()
            if k in peaks and got > peaks[k] * (1.0 + 1e-9)]


def _run_scenario(scn: Scenario, alone: bool, native: bool, trace_s: float) -> ScenarioResult:
    host, duration, events = _simulate(scn, trace_s)
    entry_of: dict[str, VmEntry] = {}
    for v in scn.vms:
        for k in range(v.count):
            entry_of[f"{v.name}{k}" if v.count > 1 else v.name] = v
    lat = host.latencies.take()
    lat_df = pd.DataFrame({"vm_index": lat[0], "start_s": lat[1], "latency_us": lat[2] * 1e6})
    rows, brows = [], []
    checked: list[tuple[Any, float]] = []  # each VM's resolved spec and value, for the host's sums
    alone_cache: dict[tuple, float] = {}
    native_cache: dict[tuple, float] = {}
    for g in host.guests:
        name, wl = g.vm.name, g.wl
        units = sum(e.units for e in g.vm.entities)
        value = _value(wl, units, g.bytes_done, duration)
        entry = entry_of[name]
        alone_value = native_val = math.nan
        if alone and g.primary:
            key = (entry.model_copy(update={"name": "x", "count": 1}).model_dump_json(),)
            if key not in alone_cache:
                if len(entry_of) == 1:
                    alone_cache[key] = value
                else:
                    h2, d2, _ = _simulate(_alone(scn, entry))
                    g2 = h2.guests[0]
                    alone_cache[key] = _value(g2.wl, sum(e.units for e in g2.vm.entities), g2.bytes_done, d2)
            alone_value = alone_cache[key]
        if native and g.primary:
            spec = Spec.make(hardware=scn.hardware, hypervisor="native", workload=entry.workload, vcpus=entry.vcpus,
                             duration=duration, seed=scn.seed, params=dict(entry.params), hw=dict(scn.spec().hw),
                             pcpus=scn.host.pcpus)
            key = (spec.key(),)
            if key not in native_cache:
                native_cache[key] = native_value(spec)
            native_val = native_cache[key]
        mine = lat_df[lat_df["vm_index"] == g.i]["latency_us"]
        rel_native = _relative(value, native_val, wl.higher_is_better)
        finished = sum(e.finished_units for e in g.vm.entities)
        warns, vres = _vm_checks(scn, entry, wl, value, units, finished, duration, native_val, rel_native)
        if units > 0 and math.isfinite(value):
            checked.append((vres, value))
        rows.append({"vm": name, "workload": wl.id, "vcpus": len(g.vm.entities), "measured": g.primary,
                     "metric": wl.metric, "unit": wl.unit, "higher_is_better": wl.higher_is_better, "value": value,
                     "value_ci_low": None, "value_ci_high": None,
                     "alone_value": alone_value, "relative_alone": _relative(value, alone_value, wl.higher_is_better),
                     "native_value": native_val, "relative_native": rel_native,
                     "latency_mean_us": float(mine.mean()) if len(mine) else math.nan,
                     "latency_p99_us": float(mine.quantile(0.99)) if len(mine) else math.nan, "units": units,
                     "warnings": "; ".join(warns)})
        for ent in g.vm.entities:
            for cat, sec in ent.acct.items():
                if sec > 0:
                    brows.append({"vm": name, "scope": ent.scope, "category": cat, "seconds": sec})
    for r in host.backends.values():
        for ent in r.entities:
            for cat, sec in ent.acct.items():
                if sec > 0 and cat != "idle":
                    brows.append({"vm": r.name, "scope": ent.scope, "category": cat, "seconds": sec})
    vm_names = {g.i: g.vm.name for g in host.guests}
    lat_df.insert(0, "vm", lat_df["vm_index"].map(vm_names))
    lat_df = lat_df.drop(columns="vm_index")
    sync = host.sync
    totals = {
        "engine": host.engine, "duration": duration, "events": events,
        "pcpus": host.sched.n, "pcpu_util": sum(host.sched.busy) / (host.sched.n * duration) if duration else 0.0,
        "vm_switches": sum(host.switches.count.values()) if host.switches is not None else None,
        "lock_holder_preemptions": sum(v.lhp for v in sync.vms.values()) if sync is not None else 0,
        "sync_waits": sum(v.waits for v in sync.vms.values()) if sync is not None else 0,
        "memory": host.memory.summary(),
        "scan_cpu_s": float(sum(sec for e in host.scanner.entities for c, sec in e.acct.items()
                                if c not in ("idle", "queueing"))) if host.scanner is not None else 0.0,
        "notes": list(host.notes),
        "disk_util": host.disk.busy_until(duration) / (duration * host.disk.servers),
        "nic_tx_util": host.nic_tx.busy_until(duration) / duration,
        "nic_rx_util": host.nic_rx.busy_until(duration) / duration,
        "replications": 1, "warnings": _host_checks(checked),
    }
    timeline = pd.DataFrame(list(host.sched.trace or []),
                            columns=["scope", "state", "start_s", "end_s", "guest_fraction", "cpu"])
    faults = host.failures.outcomes(scn.vm_names()) if host.failures is not None else pd.DataFrame()
    life = host.lifecycle.timeline() if host.lifecycle is not None else pd.DataFrame()
    return ScenarioResult(scn, pd.DataFrame(rows, columns=VM_TABLE_COLUMNS),
                          pd.DataFrame(brows, columns=["vm", "scope", "category", "seconds"]), lat_df, totals,
                          timeline, faults, life)


# ---- the isolation suite ----------------------------------------------------------------------------------

def isolation_scenario(hardware: str, hypervisor: str, hog: str | None, *, victims: int = 3,
                       service: str = "apache-static", vcpus: int = 1, pcpus: int | None = 4,
                       duration: float = 0.2, seed: int = 0, memory_mib: float | None = None,
                       mode: dict | None = None, service_params: dict | None = None) -> Scenario:
    """Matthews et al.'s setup as recalled: ``victims`` well-behaved VMs running ``service`` (with
    ``service_params``) and one more VM running ``hog`` (None: the service too, the baseline), all alike in vCPUs and
    memory, on a host of ``pcpus`` CPUs."""
    params = dict(service_params or {})
    vms = [VmEntry(name=f"good{k}", workload=service, vcpus=vcpus, memory_mib=memory_mib, params=params)
           for k in range(victims)]  # each well-behaved VM has clients of its own
    vms.append(VmEntry(name="bad", workload=hog or service, vcpus=vcpus, memory_mib=memory_mib, measured=False,
                       params=params if hog is None else {}))
    return Scenario.make(name=f"isolation {hog or 'baseline'}", hardware=hardware, hypervisor=hypervisor,
                         mode=mode or {}, duration=duration, seed=seed, host={"pcpus": pcpus},
                         vms=[v.model_dump() for v in vms])


def isolation_matrix(hardware: str, hypervisors: Sequence[str] = ISOLATION_MODES, hogs: Sequence[str] = HOGS,
                     **kw: Any) -> pd.DataFrame:
    """The victims' degradation beside each misbehaving workload, per mode: ``1 - value / baseline`` where the
    baseline is the same host with the misbehaving VM running the service too (positive: the victims lost)."""
    rows = []
    for hv in hypervisors:
        base = run_scenario(isolation_scenario(hardware, hv, None, **kw), alone=False, native=False)
        good = base.vms[base.vms["measured"]]
        b = float(good["value"].mean())
        for hog in hogs:
            r = run_scenario(isolation_scenario(hardware, hv, hog, **kw), alone=False, native=False)
            g = r.vms[r.vms["measured"]]
            v = float(g["value"].mean())
            higher = bool(g["higher_is_better"].iloc[0])
            rel = v / b if higher else b / v
            rows.append({"hypervisor": hv, "hog": hog, "victim_value": v, "baseline_value": b,
                         "degradation": 1.0 - rel, "victim_p99_us": float(g["latency_p99_us"].mean()),
                         "baseline_p99_us": float(good["latency_p99_us"].mean()), "engine": r.host["engine"]})
    return pd.DataFrame(rows)
