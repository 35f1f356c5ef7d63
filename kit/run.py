"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out.

:func:`run` resolves a :class:`~kit.inputs.spec.Spec` (:func:`~kit.inputs.resolve.resolve`), simulates it on a
:class:`~kit.sim.host.Host` and measures the host into a :class:`~kit.results.Result`; with ``baseline`` it also
runs the native baseline of the same spec (:func:`native_spec`) for relative performance.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from .version import __version__
from .errors import HvkitError

if TYPE_CHECKING:  # the engine is imported where it is used, so that ``import kit`` and the CLI start light
    from .inputs.hardware import Hardware
    from .inputs.resolve import Resolved
    from .inputs.spec import Spec
    from .inputs.workloads import Workload
    from .results import Result
    from .sim.host import Host

__all__ = ["run", "compare", "native_spec", "native_value", "closed_form_metrics", "Baseline", "add_baseline",
           "take_new_baselines", "baseline_stats", "BASELINE_CACHE_SIZE", "__version__"]


def _rate_value(wl: Workload, rate: float) -> float:
    """The metric of a rate of units (bytes for a stream) per second."""
    if wl.metric_kind == "time" and wl.kind != "stream":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _metric_value(host: Host, wl: Workload, duration: float, units: float) -> float:
    if wl.kind == "stream":
        return host.bytes_done * wl.value_per_unit / duration
    rate = units / duration
    if wl.metric_kind == "time":
        return wl.value_per_unit / rate if rate > 0 else float("inf")
    return rate * wl.value_per_unit


def _simulate(spec: Spec, run_id: int, scenario: str, trace_s: float = 0.0, resolved: Resolved | None = None,
              tables: bool = True) -> tuple[dict, list, list, dict, list, list]:
    from .inputs.resolve import resolve
    from .sim.host import Host, has_closed_form
    res = resolved if resolved is not None else resolve(spec)
    hw, mode, wl, duration = res.hw, res.mode, res.workload, res.duration
    t0 = time.perf_counter()
    host = Host(res, trace_s=trace_s, latencies=tables)
    events = host.closed_form() if has_closed_form(res, trace_s) else host.run()
    duration = host.duration  # shorter when the run stopped at its requested precision
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
        "events_per_sim_s": events / duration, "wall_s": wall, "engine": host.engine,
        "pcpu_util": sum(host.sched.busy) / cap if n_pools else 0.0,
        "nic_tx_util": host.nic_tx.busy_until(duration) / duration,
        "nic_rx_util": host.nic_rx.busy_until(duration) / duration,
        "disk_util": host.disk.busy_until(duration) / (duration * host.disk.servers),
        "backend_util": "; ".join(f"{k}={v:.3f}" for k, v in sorted(busy_backend.items())),
        "resolutions": "; ".join(mode.resolutions + tuple(host.notes)), "stop_reason": host.stop_reason,
        "ci_low": None, "ci_high": None, "error": "",
    }
    interval = host.stopper.interval() if host.stopper is not None else None
    if interval is not None:
        lo, hi = (_rate_value(wl, r) for r in interval)
        summary["ci_low"], summary["ci_high"] = min(lo, hi), max(lo, hi)
    exit_rows = [{"run": run_id, "scenario": scenario, "reason": k, "count": v, "cycles": exit_cycles.get(k, 0.0)}
                 for k, v in sorted(exits.items())]
    if not tables:  # a native baseline: only its summary is used
        return summary, [], [], {}, [], []
    lat_vm, lat_start, lat_s = host.latencies.take()
    lat_s *= 1e6  # in place: the columns are the run's own
    lat_rows = {"run": run_id, "scenario": scenario, "vm": lat_vm, "start_s": lat_start, "latency_us": lat_s}
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


def native_spec(spec: Spec) -> Spec:
    """The native baseline of a spec: same hardware, workload, seed, vCPUs and VMs.

    Mode overrides do not apply to native and are dropped, except the guest page
    size, which belongs to the guest OS; hardware and workload overrides are kept.
    """
    from .inputs.spec import Spec
    data = spec.model_dump()
    guest = tuple((k, v) for k, v in spec.mode if k == "guest_page")  # a property of the guest OS
    data.update(hypervisor="native", mode=guest, dom0_vcpus=1)
    return Spec(**data)


def closed_form_metrics(spec: Spec) -> dict | None:
    """The summary metrics of ``spec`` from its closed form, without a host or a table (None if it has none).

    The same numbers as ``run(spec).summary`` (bit for bit, the same sums in the same order) for a spec where
    nothing contends and nothing waits (:func:`~kit.sim.host.has_closed_form`); the bulk path of sweeps.
    """
    from .inputs.resolve import resolve
    from .results import relative
    from .sim.costing import Costing
    from .sim.host import backend_label, has_closed_form
    res = resolve(spec)
    if not has_closed_form(res):
        return None
    hw, mode, wl, d = res.hw, res.mode, res.workload, res.duration
    cost = Costing(hw, mode, wl)
    freq = hw.val("freq_ghz") * 1e9
    per_vcpu = d * freq / cost.unit().total
    n = spec.vms * spec.vcpus
    units = sum(per_vcpu for _ in range(n))
    pcpus = spec.pcpus or hw.pcpus
    busy = [d] * n + [0.0] * (pcpus - n) if spec.pin else [sum(d for _ in range(n))]
    value = _rate_value(wl, units / d)
    labels = sorted({backend_label(name, i) for i in range(spec.vms) for what in ("net", "disk")
                     if (name := cost.backend_name(what)) is not None})
    nv = value if spec.hypervisor == "native" and spec == native_spec(spec) else native_value(spec, hw)
    return {"value": value, "native_value": nv, "relative_performance": relative(value, nv, wl.higher_is_better),
            "units": units, "events": 0, "events_per_sim_s": 0.0, "wall_s": 0.0, "engine": "analytic",
            "pcpu_util": sum(busy) / (pcpus * d), "nic_tx_util": 0.0, "nic_rx_util": 0.0, "disk_util": 0.0,
            "backend_util": "; ".join(f"{k}={0.0:.3f}" for k in labels), "metric": wl.metric, "unit": wl.unit,
            "higher_is_better": wl.higher_is_better, "stop_reason": "duration", "error": ""}


class _HardwareReads:
    """A hardware profile that records which of its values a run reads (to key native baselines on exactly that).

    Names are ``params.<name>``, ``features.<name>`` or a top-level field (``arch``, ``year``, ``id``...).
    """

    def __init__(self, hw: Hardware) -> None:
        self._hw = hw
        self.reads: set[str] = set()

    def val(self, name: str) -> float:
        self.reads.add(f"params.{name}")
        return self._hw.val(name)

    def opt(self, name: str) -> float | None:
        self.reads.add(f"params.{name}")
        return self._hw.opt(name)

    @property
    def pcpus(self) -> int:
        return int(self.val("sockets") * self.val("cores_per_socket") * self.val("threads_per_core"))

    @property
    def is_arm(self) -> bool:
        self.reads.add("arch")
        return self._hw.is_arm

    @property
    def features(self) -> Any:
        return _FeatureReads(self._hw.features, self.reads)

    def __getattr__(self, name: str) -> Any:
        self.reads.add(name)
        return getattr(self._hw, name)


class _FeatureReads:
    def __init__(self, features: Any, reads: set[str]) -> None:
        self._features, self._reads = features, reads

    def __getattr__(self, name: str) -> Any:
        self._reads.add(f"features.{name}")
        return getattr(self._features, name)


def _read(hw: Hardware, name: str) -> Any:
    """The value a :class:`_HardwareReads` name stands for."""
    if name.startswith("params."):
        return hw.opt(name[7:])
    if name.startswith("features."):
        return getattr(hw.features, name[9:])
    return getattr(hw, name)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A native run, keyed on what it read: ``base`` (its spec without hardware overrides) and the values of the
    hardware parameters and features it read (``names``, ``values``). ``spec`` is the native spec with only the
    overrides it read and ``summary`` its summary row (None when it came from a sweep store)."""

    base: str
    names: tuple[str, ...]
    values: tuple
    value: float
    spec: Spec | None = None
    summary: dict | None = None


#: Native baselines known to this process: base key -> baselines (computed here, or loaded from a sweep store).
_BASELINES: dict[str, list[Baseline]] = {}
#: Baselines computed since :func:`take_new_baselines` was last called (a sweep stores them).
_NEW_BASELINES: list[Baseline] = []
#: Most base keys kept (a sweep over a hardware value has one base per workload and knob setting).
BASELINE_CACHE_SIZE = 1024
#: How many native baselines were computed and how many reused (for benchmarks and tests).
baseline_stats = {"computed": 0, "reused": 0}


def _baseline_key(spec: Spec) -> str:
    """Everything the native run of ``spec`` reads except the hardware overrides (compared value by value, see
    :func:`native_value`): the key of ``native_spec(spec)`` without them, computed without building it."""
    data = spec.model_dump(mode="json")
    data.update(hypervisor="native", mode=[[k, v] for k, v in data["mode"] if k == "guest_page"], dom0_vcpus=1,
                hw=[])
    blob = json.dumps(data, sort_keys=True) + __version__
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def native_value(spec: Spec, hw: Hardware | None = None) -> float:
    """The metric of ``spec``'s native baseline, computed once per process for what native reads.

    A native run is keyed on its spec without hardware overrides, plus the values of exactly the hardware
    parameters and features it read (recorded the first time): a sweep over a value native never reads, such as
    the VM exit latency, has one native run per workload and setting, not one per point.
    """
    from .inputs.modes import hypervisor
    from .inputs.resolve import resolve, resolve_platform
    base = _baseline_key(spec)
    entries = _BASELINES.get(base, [])
    if entries:
        if hw is None:  # the spec's hardware with its overrides, which native keeps
            hw = resolve_platform(spec.hardware, "native", dict(spec.hw))[0]
        for b in entries:
            if tuple(_read(hw, n) for n in b.names) == b.values:
                baseline_stats["reused"] += 1
                return b.value
    native = native_spec(spec)
    res = resolve(native)
    tracked = _HardwareReads(res.hw)
    hw = cast("Hardware", tracked)  # what the mode's resolution and the run read of it is recorded
    res = dataclasses.replace(res, hw=hw, mode=hypervisor("native", hw, **dict(native.mode)))
    s = _simulate(native, -1, "native", resolved=res, tables=False)[0]
    res = dataclasses.replace(res, hw=tracked._hw)
    names = tuple(sorted(tracked.reads))
    read_hw = {k: v for k, v in native.hw if (k if k.startswith("features.") else f"params.{k}") in names}
    s.update(native_value=s["value"], relative_performance=1.0)
    b = Baseline(base, names, tuple(_read(res.hw, n) for n in names), s["value"], native.replace(hw=read_hw), s)
    add_baseline(b)
    _NEW_BASELINES.append(b)
    del _NEW_BASELINES[:-BASELINE_CACHE_SIZE]  # nobody takes them outside a sweep: keep the newest only
    baseline_stats["computed"] += 1
    return s["value"]


def add_baseline(b: Baseline) -> None:
    """Make a native baseline known to this process (a sweep loads the ones its store holds)."""
    if b.base not in _BASELINES and len(_BASELINES) >= BASELINE_CACHE_SIZE:
        _BASELINES.pop(next(iter(_BASELINES)))
    entries = _BASELINES.setdefault(b.base, [])
    if all(e.names != b.names or e.values != b.values for e in entries):
        entries.append(b)


def take_new_baselines() -> list[Baseline]:
    """The baselines computed since the last call (and forget them)."""
    out = list(_NEW_BASELINES)
    _NEW_BASELINES.clear()
    return out


def run(spec: Spec, *, baseline: bool = True, run_id: int = 0, scenario: str | None = None,
        trace_s: float = 0.0) -> Result:
    """Simulate one spec; with ``baseline`` also its native run, for relative performance.

    With ``trace_s`` > 0 the result's ``timeline`` holds every entity's states
    (running, exiting, waiting, idle, backend) during the first ``trace_s`` seconds.

    Raises :class:`HvkitError` for a bad spec (nothing is simulated then).
    """
    from .inputs.spec import Spec
    from .results import Result, relative
    if not isinstance(spec, Spec):
        raise HvkitError("run() takes a kit.Spec", value=type(spec).__name__, allowed="kit.Spec(...)")
    own = spec.hypervisor == "native" and spec == native_spec(spec)
    # the baseline first: its run's memory is free again before this run's tables are built
    nv = native_value(spec) if baseline and not own else None
    s, b, e, l, v, tr = _simulate(spec, run_id, scenario or spec.label(), trace_s=trace_s)
    if baseline:
        if nv is None:
            nv = s["value"]
        s["native_value"] = nv
        s["relative_performance"] = relative(s["value"], nv, s["higher_is_better"])
    return Result.from_rows([s], b, e, l, [spec], v, timeline=tr)


def compare(hardware: str, workload: str, hypervisors: str | Sequence[str], **kw: Any) -> Result:
    """Run one workload under several modes on one profile (native is computed once).

    Extra keyword arguments go to :class:`Spec` (vcpus, vms, duration, seed, mode, hw, params...).
    A mode that fails (an impossible combination) gives a row with its error; the others still run.
    """
    from .inputs.spec import Spec
    from .results import Result, relative
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

