"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out.

:func:`run` resolves a :class:`~kit.inputs.spec.Spec` (:func:`~kit.inputs.resolve.resolve`), simulates it on a
:class:`~kit.sim.host.Host` and measures the host into a :class:`~kit.results.Result`; with ``baseline`` it also
runs the native baseline of the same spec (:func:`native_spec`) for relative performance.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import math
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
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

__all__ = ["run", "compare", "native_spec", "alone_spec", "baseline_description", "native_value", "alone_value",
           "check_replications", "replication_specs", "MAX_REPLICATIONS", "closed_form_metrics", "summary_row",
           "native_baseline", "Baseline", "add_baseline", "take_new_baselines", "baseline_stats", "baseline_base", "baseline_reads",
           "BASELINE_CACHE_SIZE", "report_progress", "check_reporter", "Reporter", "baseline_warnings",
           "__version__"]

#: What :func:`run`, :func:`compare` and a sweep report their progress to: ``report(done, total, label)``, the
#: simulated seconds (or a sweep's points) done and started so far; a front end draws it (:mod:`kit.ui.progress`)
Reporter = Callable[[float, float, str], None]


class _Tracker:
    """The simulated seconds done and started by the simulations of one piece of work (its runs, their native
    baselines and the same VM alone), reported to ``report(done, total, label)``. The total grows as simulations
    start, since cached baselines are not simulated again; a closed form counts as done at once."""

    def __init__(self, report: Callable[[float, float, str], None]) -> None:
        self.report, self.done, self.total = report, 0.0, 0.0

    def start(self, label: str, duration: float) -> Callable[[float], None]:
        base = self.done
        self.total += duration
        self.report(self.done, self.total, label)

        def at(now: float) -> None:
            self.done = base + min(now, duration)
            self.report(self.done, self.total, label)
        return at

    def finish(self, label: str, started_done: float, duration: float) -> None:
        self.done = started_done + duration
        self.report(self.done, self.total, label)


_TRACKER: contextvars.ContextVar[_Tracker | None] = contextvars.ContextVar("hvkit_progress", default=None)


def check_reporter(progress: Any, field: str = "progress") -> Reporter | None:
    """``progress`` as a reporter: a callable ``(done, total, label)``, or None (also for False) for none.

    The library reports and never draws: a bar is a front end's, e.g. ``with kit.ui.progress.terminal_bar() as
    bar: kit.run(spec, progress=bar)``. Anything else is a one-line :class:`HvkitError` naming ``field``.
    """
    if progress is None or progress is False:
        return None
    if callable(progress):
        return cast("Reporter", progress)
    raise HvkitError("not a progress reporter", field=field, value=progress,
                     allowed="a callable (done, total, label), e.g. the one kit.ui.progress.terminal_bar() yields, "
                             "or None")


@contextlib.contextmanager
def report_progress(report: Reporter | None) -> Iterator[None]:
    """Report the progress of every :func:`run` and :func:`compare` inside the block to ``report(done, total,
    label)``, in simulated seconds (None reports nothing).

    Nested blocks report to the outermost; progress never changes a result (the host only reads its clock for it).
    """
    reporter = check_reporter(report)
    if reporter is None or _TRACKER.get() is not None:
        yield
        return
    token = _TRACKER.set(_Tracker(reporter))
    try:
        yield
    finally:
        _TRACKER.reset(token)


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
    from .inputs.resolve import resolve
    from .results.validity import (censored_latency_rows, check_duration, check_measured, check_work,
                                   run_warnings, unit_seconds)
    from .sim.engines import run_host
    from .sim.host import Host
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
    from .uncertainty.notes import noise_note, not_computed
    summary["ci_note"] = noise_note(summary["engine"], replications, early)
    if summary["engine"] == "analytic":
        summary["ci_low"] = summary["ci_high"] = summary["value"]
    for k, v in not_computed("model_uncertainty=False (--no-model-uncertainty)").items():
        summary.setdefault(k, v)


def _model_uncertainty(result: Result) -> Result:
    """``result`` with its prediction intervals (:func:`kit.uncertainty.attach`)."""
    from .uncertainty import Model, attach
    return attach(result, Model(evaluate=_evaluate, native=native_spec, alone=alone_spec))


def _evaluate(spec: Spec, resolved: Resolved) -> float:
    """The metric of one simulation of ``spec`` (a sample of the model's parameters), with no table."""
    return float(_simulate(spec, -1, "model uncertainty", resolved=resolved, tables=False)[0]["value"])


#: Mode settings the native baseline keeps: the guest OS's page size, the software era's speculative-execution
#: mitigations and the host's DMA remapping
NATIVE_KEEPS = ("guest_page", "mitigations", "dma_remap")


def native_spec(spec: Spec, keep_neighbor: bool = False) -> Spec:
    """The native baseline of a spec: same hardware, workload, seed, vCPUs, VMs, physical CPUs and pinning, alone
    on the host (no neighbour; with ``keep_neighbor`` the same neighbour, natively).

    Mode overrides do not apply to native and are dropped, except the guest page
    size, which belongs to the guest OS, the speculative-execution mitigations, which
    belong to the software era of both, and the host's DMA remapping; hardware and
    workload overrides are kept. :func:`baseline_description` says this in words for a given spec.
    """
    from .inputs.spec import Spec
    data = spec.model_dump()
    guest = tuple((k, v) for k, v in spec.mode if k in NATIVE_KEEPS)
    data.update(hypervisor="native", mode=guest, dom0_vcpus=1)
    if not keep_neighbor:
        data.update(neighbor=None, neighbor_vcpus=1)
    return Spec(**data)


def alone_spec(spec: Spec) -> Spec:
    """The same spec with no neighbour: what :func:`run`'s ``interference`` is measured against."""
    from .inputs.spec import Spec
    return Spec(**{**spec.model_dump(), "neighbor": None, "neighbor_vcpus": 1})


def baseline_description(spec: Spec) -> str:
    """What the native baseline of ``spec`` (:func:`native_spec`) shares with it and what it does not, in words."""
    if spec.hypervisor == "native" and spec == native_spec(spec):
        return "this run is native alone: its own baseline"
    mode = dict(spec.mode)
    guest = mode.get("guest_page")
    shared = [f"hardware {spec.hardware}" + (" with " + ", ".join(f"hw.{k}={v}" for k, v in spec.hw)
                                             if spec.hw else ""),
              f"workload {spec.workload}" + (" with " + ", ".join(f"workload.{k}={v}" for k, v in spec.params)
                                             if spec.params else ""),
              f"{spec.vms} VM{'s' if spec.vms > 1 else ''} x {spec.vcpus} vCPU{'s' if spec.vcpus > 1 else ''}",
              "the same seed",
              f"{spec.pcpus} physical CPUs" if spec.pcpus else "all physical CPUs",
              "pinned" if spec.pin else "unpinned",
              f"guest pages {guest} (the guest OS's)" if guest else "default guest pages"]
    shared += [f"{k}={mode[k]} (the software era's)" if k == "mitigations" else f"{k}={mode[k]} (the host's)"
               for k in NATIVE_KEEPS[1:] if k in mode]
    if spec.weights:
        shared.append("weights " + ",".join(map(str, spec.weights)))
    if spec.caps:
        shared.append("caps " + ",".join(map(str, spec.caps)))
    differs = []
    if spec.neighbor:
        differs.append(f"no neighbour (this run has {spec.neighbor} on {spec.neighbor_vcpus} vCPU"
                       f"{'s' if spec.neighbor_vcpus > 1 else ''})")
    dropped = [f"{k}={v}" for k, v in spec.mode if k not in NATIVE_KEEPS]
    if dropped:
        differs.append("not the mode's settings " + ", ".join(dropped) + " (no hypervisor: e.g. no host page table)")
    elif spec.hypervisor != "native":
        differs.append(f"no hypervisor (no {spec.hypervisor} paths, no host page table)")
    return "native alone on the host; shares: " + ", ".join(shared) + (
        "; differs: " + "; ".join(differs) if differs else "")


def closed_form_metrics(spec: Spec, resolved: Resolved | None = None) -> dict | None:
    """The summary metrics of ``spec`` from its closed form, without a host or a table (None if it has none).

    The same numbers as ``run(spec).summary`` (bit for bit, the same sums in the same order) for a spec where
    nothing contends and nothing waits (:func:`~kit.sim.engines.has_closed_form`); a sweep's points ask it
    first. ``resolved``: ``resolve(spec)`` if the caller has it.
    """
    from .inputs.resolve import resolve
    from .results.validity import check_duration, faster_than_native, run_warnings
    from .results import relative
    from .sim.mode_costs import Costing
    from .sim.engines import has_closed_form
    from .sim.host import backend_label
    res = resolved if resolved is not None else resolve(spec)
    if not has_closed_form(res):
        return None
    check_duration(res)  # a run too short for one unit is refused here as in run()
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
    own = spec.hypervisor == "native" and spec == native_spec(spec)
    nv = value if own else native_value(spec, hw)
    rel = relative(value, nv, wl.higher_is_better)
    warns = [w for w in (run_warnings(res, units, [float(math.floor(per_vcpu)) * spec.vcpus] * spec.vms, value=value),
                         faster_than_native(res, value, nv, rel), "" if own else baseline_warnings(spec, nv, res)) if w]
    return {"value": value, "native_value": nv, "relative_performance": rel,
            "units": units, "events": 0, "events_per_sim_s": 0.0, "wall_s": 0.0, "engine": "analytic",
            "pcpu_util": sum(busy) / (pcpus * d), "nic_tx_util": 0.0, "nic_rx_util": 0.0, "disk_util": 0.0,
            "backend_util": "; ".join(f"{k}={0.0:.3f}" for k in labels), "metric": wl.metric, "unit": wl.unit,
            "higher_is_better": wl.higher_is_better, "stop_reason": "duration",
            "warnings": "; ".join(warns), "error": ""}


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


def _baseline_key(spec: Spec, keep_neighbor: bool = False) -> str:
    """Everything the native run of ``spec`` reads except the hardware overrides (compared value by value, see
    :func:`native_value`): the key of ``native_spec(spec, keep_neighbor)`` without them, computed without
    building it, and the content of the profile and workloads it names (:func:`kit.inputs.resolve.content_digest`)."""
    from .inputs.resolve import content_digest
    return baseline_base(spec.model_dump(mode="json"), keep_neighbor, content_digest(spec, neighbor=keep_neighbor))


def baseline_base(data: dict, keep_neighbor: bool = False, digest: str = "") -> str:
    """:func:`_baseline_key` of the spec whose JSON form (``model_dump(mode="json")``) is ``data`` (a sweep has
    it already) and whose files' content digest is ``digest`` (:func:`kit.inputs.resolve.content_digest` with
    ``neighbor=keep_neighbor``)."""
    data = {**data, "hypervisor": "native", "mode": [[k, v] for k, v in data["mode"] if k in NATIVE_KEEPS],
            "dom0_vcpus": 1, "hw": []}
    if not keep_neighbor:
        data.update(neighbor=None, neighbor_vcpus=1)
    # the content of the files it names, not their paths: an edited workload or profile is a new baseline
    blob = json.dumps(data, sort_keys=True) + __version__ + digest
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def baseline_reads(spec: Spec, names: Sequence[str]) -> tuple:
    """The values of the hardware parameters and features ``names`` (a :class:`Baseline`'s) for ``spec``, from its
    profile and its overrides without resolving them: what says, in a sweep's parent, whether a baseline already
    known serves a point. Only a shortcut: a worker compares the resolved values again (:func:`native_value`), so
    a value written differently only costs a native run."""
    from .inputs.hardware import load_hardware
    hw = load_hardware(spec.hardware)
    over = dict(spec.hw)
    out = []
    for n in names:
        if n.startswith("params.") and n[7:] in over:
            out.append(over[n[7:]])
        elif n.startswith("features.") and n in over:
            out.append(over[n])
        else:
            out.append(_read(hw, n))
    return tuple(out)


def native_value(spec: Spec, hw: Hardware | None = None, keep_neighbor: bool = False) -> float:
    """The metric of ``spec``'s native baseline (alone, or with ``keep_neighbor`` beside the same neighbour),
    computed once per process for what native reads.

    A native run is keyed on its spec without hardware overrides, plus the values of exactly the hardware
    parameters and features it read (recorded the first time): a sweep over a value native never reads, such as
    the VM exit latency, has one native run per workload and setting, not one per point.
    """
    return native_baseline(spec, hw, keep_neighbor).value


def native_baseline(spec: Spec, hw: Hardware | None = None, keep_neighbor: bool = False) -> Baseline:
    """The :class:`Baseline` :func:`native_value` answers from: one known to this process whose reads have this
    spec's values, or a native run made now (and remembered)."""
    from .inputs.modes import hypervisor
    from .inputs.resolve import resolve, resolve_platform
    base = _baseline_key(spec, keep_neighbor)
    entries = _BASELINES.get(base, [])
    if entries:
        if hw is None:  # the spec's hardware with its overrides, which native keeps
            hw = resolve_platform(spec.hardware, "native", dict(spec.hw))[0]
        for b in entries:
            if tuple(_read(hw, n) for n in b.names) == b.values:
                baseline_stats["reused"] += 1
                return b
    native = native_spec(spec, keep_neighbor)
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
    return b


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


#: Most replications of one run or comparison (as a sweep file's ``replications``)
MAX_REPLICATIONS = 1000
#: Values of the same spec alone on the host (no neighbour), for ``interference``: spec key -> value
_ALONE: dict[str, float] = {}


def check_replications(replications: Any, field: str = "replications") -> int:
    """``replications`` as an int from 1 to :data:`MAX_REPLICATIONS`, or a one-line error naming ``field``."""
    from .inputs.coerce import strict_int
    allowed = f"a whole number from 1 to {MAX_REPLICATIONS}"
    try:
        n = strict_int(value=replications)
    except Exception:
        raise HvkitError("not a whole number", field=field, value=replications, allowed=allowed) from None
    if not 1 <= n <= MAX_REPLICATIONS:
        raise HvkitError("out of range", field=field, value=replications, allowed=allowed)
    return n


def replication_specs(spec: Spec, replications: int) -> list[Spec]:
    """The specs of ``replications`` runs of ``spec``: the spec itself for one, else one per replication with
    the seed :func:`kit.stats.replication_seed` derives from the spec's (as a sweep's replications)."""
    from .stats import replication_seed
    n = check_replications(replications)
    if n == 1:
        return [spec]
    return [spec.replace(seed=replication_seed(spec.seed, r)) for r in range(n)]


def alone_value(spec: Spec) -> float:
    """The metric of ``spec`` with no neighbour (:func:`alone_spec`), computed once per process."""
    from .inputs.spec import Spec
    alone = alone_spec(spec)
    if alone.hypervisor == "native" and alone == native_spec(alone):
        return native_value(alone)
    from .inputs.resolve import content_digest
    key = Spec.key(alone, __version__ + content_digest(alone))
    if key not in _ALONE:
        if len(_ALONE) >= BASELINE_CACHE_SIZE:
            _ALONE.pop(next(iter(_ALONE)))
        _ALONE[key] = float(_simulate(alone, -1, "alone", tables=False)[0]["value"])
    return _ALONE[key]


def baseline_warnings(spec: Spec, native: float, resolved: Resolved | None = None) -> str:
    """What makes the native baseline of ``spec`` (its metric ``native``) doubtful as a measurement, prefixed
    ``native baseline:``: a rate above the hardware's peaks (:func:`kit.results.validity.peak_warnings`); a run is
    only as good as what it is compared with. ``resolved``: ``resolve(spec)`` if the caller has it; the peaks and
    demands read only the profile with its overrides, the workload with its parameters and the duration, which
    the native run keeps (:func:`native_spec`), so the spec's own resolution answers for it."""
    from .inputs.resolve import resolve
    from .results.validity import peak_warnings
    res = resolved if resolved is not None and resolved.spec == spec and not resolved.vms else resolve(
        native_spec(spec))
    found = peak_warnings(res, native)
    return "; ".join(f"native baseline: {w}" for w in found)


def _run_once(spec: Spec, baseline: bool, run_id: int, scenario: str, trace_s: float = 0.0,
              native: float | None = None) -> Result:
    """One run of ``spec`` (its own seed); with ``baseline`` also against native alone (``native`` if the
    caller has it), the same spec alone and native with the same neighbour."""
    from .results import Result
    s, b, e, l, v, tr = _rows_once(spec, baseline, run_id, scenario, trace_s, native)
    replica = {k: s[k] for k in ("run", "scenario", "seed", "value", "native_value", "relative_performance",
                                 "alone_value", "interference")}
    return Result.from_rows([s], b, e, l, [spec], v, timeline=tr, replicas=[{**replica, "replication": 0}])


def summary_row(spec: Spec, resolved: Resolved | None = None) -> dict:
    """The summary row of ``run(spec)`` (one replication, with its baselines) as plain values, without building
    the tables nobody reads (a sweep's point: its breakdown, exits, latencies and VMs). ``resolved``:
    ``resolve(spec)`` if the caller has it."""
    return _rows_once(spec, True, 0, spec.label(), tables=False, resolved=resolved)[0]


def _rows_once(spec: Spec, baseline: bool, run_id: int, scenario: str, trace_s: float = 0.0,
               native: float | None = None, tables: bool = True,
               resolved: Resolved | None = None) -> tuple[dict, list, list, dict, list, list]:
    """The rows of one run of ``spec`` (see :func:`_run_once`); with ``tables`` false, the summary only."""
    from .inputs.resolve import resolve
    from .results import relative
    res = resolved if resolved is not None else resolve(spec)
    own = spec.hypervisor == "native" and spec == native_spec(spec)
    # the baseline first: its run's memory is free again before this run's tables are built; the run's hardware
    # is the one native keeps (the spec's profile and overrides)
    nv = native if native is not None else (native_value(spec, res.hw) if baseline and not own else None)
    s, b, e, l, v, tr = _simulate(spec, run_id, scenario, trace_s=trace_s, tables=tables, resolved=res)
    if baseline:
        value, hib = s["value"], bool(s["higher_is_better"])
        if nv is None:
            nv = value
        if spec.neighbor:
            alone = alone_value(spec)
            shared = value if spec == native_spec(spec, keep_neighbor=True) else native_value(spec,
                                                                                             keep_neighbor=True)
        else:
            alone, shared = value, nv
        s.update(native_value=nv, relative_performance=relative(value, nv, hib), alone_value=alone,
                 interference=relative(value, alone, hib),
                 relative_vs_native_with_neighbor=relative(value, shared, hib), baseline=baseline_description(spec))
        if not own:  # the result-level checks that need the baseline
            from .results.validity import faster_than_native
            extra = [faster_than_native(res, value, nv, s["relative_performance"]),
                     baseline_warnings(spec, nv, res)]
            s["warnings"] = "; ".join(w for w in [s["warnings"], *extra] if w)
    return s, b, e, l, v, tr


def _replication_mean(values: list[float]) -> tuple[float, float | None]:
    """A summary column's mean over replications and its 95% half-width (:func:`kit.stats.t_interval`): missing
    (NaN, no interval) where no replication measured it (no baseline, no neighbour); a column measured by some
    replications only is an error there."""
    if all(math.isnan(v) for v in values):
        return math.nan, None
    from .stats import t_interval
    return t_interval(values)


def _combine(parts: list[Result], spec: Spec) -> Result:
    """One result from the replications of ``spec`` (``parts``, one run each): the summary's numbers are their
    means with 95% intervals from Student's t; the other tables are the first replication's."""
    import pandas as pd

    first = parts[0]
    if len(parts) == 1:
        return first
    rows = [p.summary.iloc[0] for p in parts]
    s = first.summary.copy()
    for col in ("value", "native_value", "alone_value", "interference", "relative_vs_native_with_neighbor",
                "units", "events", "events_per_sim_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"):
        s[col] = s[col].astype(float)
        s.loc[0, col] = _replication_mean([float(r[col]) for r in rows])[0]
    value, half = _replication_mean([float(r["value"]) for r in rows])
    s["ci_low"], s["ci_high"] = s["ci_low"].astype(object), s["ci_high"].astype(object)
    s.loc[0, ["ci_low", "ci_high"]] = [value - half, value + half] if half is not None else [None, None]
    rel, rhalf = _replication_mean([float(r["relative_performance"]) for r in rows])
    s["relative_performance"] = s["relative_performance"].astype(float)
    s.loc[0, "relative_performance"] = rel
    if rhalf is not None:
        s["relative_ci_low"], s["relative_ci_high"] = rel - rhalf, rel + rhalf
    for col in ("interference", "relative_vs_native_with_neighbor"):  # the derived ratios, over replications
        mean, half = _replication_mean([float(r[col]) for r in rows])
        if half is not None:
            s[f"{col}_ci_low"], s[f"{col}_ci_high"] = mean - half, mean + half
    from .uncertainty.notes import noise_note
    s.loc[0, "ci_note"] = noise_note(str(s.loc[0, "engine"]), len(parts))
    s.loc[0, "seed"] = spec.seed
    s.loc[0, "replications"] = len(parts)
    s.loc[0, "wall_s"] = sum(float(r["wall_s"]) for r in rows)
    s.loc[0, "stop_reason"] = "; ".join(dict.fromkeys(str(r["stop_reason"]) for r in rows))
    s.loc[0, "warnings"] = "; ".join(dict.fromkeys(str(r["warnings"]) for r in rows if r["warnings"]))
    reps = pd.concat([p.replicas.assign(replication=i) for i, p in enumerate(parts)], ignore_index=True)
    return dataclasses.replace(first, summary=s, replicas=reps, specs=[spec])


def _renumber(result: Result, run_id: int, scenario: str) -> Result:
    for df in (result.summary, result.breakdown, result.exits, result.latency, result.vms, result.timeline,
               result.replicas):
        if len(df):
            df.loc[:, "run"] = run_id
            df.loc[:, "scenario"] = scenario
    return result


def run(spec: Spec, *, baseline: bool = True, run_id: int = 0, scenario: str | None = None,
        trace_s: float = 0.0, replications: int = 1, progress: Reporter | None = None,
        model_uncertainty: bool = False) -> Result:
    """Simulate one spec; with ``baseline`` also its native run alone on the host, for relative performance.

    With ``replications`` N > 1 the spec runs N times with seeds derived from its own
    (:func:`kit.stats.replication_seed`); the summary gives the means and 95% intervals from Student's t
    (``ci_low``/``ci_high``, ``relative_ci_low``/``relative_ci_high``), ``replicas`` each replication's numbers,
    and the other tables are the first replication's. With one replication the interval is unknown (missing).

    With a neighbour (``spec.neighbor``) ``relative_performance`` is against native alone, ``interference``
    against the same spec alone and ``relative_vs_native_with_neighbor`` against native beside the same
    neighbour; ``baseline`` says in words what the native baseline shares with the run.

    With ``trace_s`` > 0 the result's ``timeline`` holds every entity's states
    (running, exiting, waiting, idle, backend) during the first ``trace_s`` seconds (of the first replication).

    ``ci_note`` says what the noise interval is (a closed form is exact given the parameters: no sampling
    noise). With ``model_uncertainty`` the summary also gives the 90% prediction intervals of the value and its
    ratios from the plausible ranges of the estimated and fitted parameters the run reads (``pi_*``, the
    dominant parameters in ``pi_dominant`` and the ``sensitivity`` table; :mod:`kit.uncertainty`).

    Raises :class:`HvkitError` for a bad spec or a bad ``replications`` (nothing is simulated then).
    """
    from .inputs.spec import Spec
    if not isinstance(spec, Spec):
        raise HvkitError("run() takes a kit.Spec", value=type(spec).__name__, allowed="kit.Spec(...)")
    specs = replication_specs(spec, replications)
    label = scenario or spec.label()
    with report_progress(progress):
        parts = [_run_once(sp, baseline, run_id, label, trace_s=trace_s if r == 0 else 0.0)
                 for r, sp in enumerate(specs)]
        result = _combine(parts, spec)
        return _model_uncertainty(result) if model_uncertainty else result


def compare(hardware: str, workload: str, hypervisors: str | Sequence[str], *, replications: int = 1,
            neighbors: Sequence[str | None] | None = None, progress: Reporter | None = None,
            model_uncertainty: bool = False, **kw: Any) -> Result:
    """Run one workload under several modes on one profile (native alone is computed once per replication).

    Extra keyword arguments go to :class:`Spec` (vcpus, vms, duration, seed, mode, hw, params, neighbor...).
    ``replications`` runs each mode N times (see :func:`run`). ``neighbors`` varies the neighbour: every mode
    runs beside each (None or ``"none"``: alone), and a row's scenario is ``mode + neighbour``; relative
    performance is always against native alone, ``interference`` against the same mode alone.
    A mode that fails (an impossible combination) gives a row with its error; the others still run.
    ``progress`` (here and in :func:`run`): a callable ``(done, total, label)``, told the simulated seconds done
    and started (see :func:`report_progress`); :func:`kit.ui.progress.terminal_bar` draws one.
    ``model_uncertainty`` adds every mode's prediction intervals (see :func:`run`); the modes' simulated samples
    share their native baselines.
    """
    from .inputs.spec import Spec
    names = [hypervisors] if isinstance(hypervisors, str) else list(hypervisors)  # one name is one mode
    if not names:
        raise HvkitError("no hypervisors given", field="hypervisors", allowed="one or more mode names")
    n = check_replications(replications)
    base = Spec.make(hardware=hardware, hypervisor="native", workload=workload, **kw)
    if neighbors is None:
        nbs: list[str | None] = [base.neighbor]
    else:
        nbs = [None if nb in (None, "", "none") else nb for nb in
               ([neighbors] if isinstance(neighbors, str) else list(neighbors))]
        if not nbs:
            raise HvkitError("no neighbours given", field="neighbors", allowed="workload names or none")
        from .inputs.workloads import load_workload
        for nb in nbs:  # a typo fails before anything runs
            if nb is not None:
                try:
                    load_workload(nb)
                except HvkitError as exc:
                    raise HvkitError(str(exc), field="neighbors") from None
    with report_progress(progress):
        result = _compare_all(base, names, nbs, n)
        return _model_uncertainty(result) if model_uncertainty else result


def _compare_all(base: Spec, names: list[str], nbs: list[str | None], n: int) -> Result:
    from .results import Result
    alone = native_spec(base)
    native_runs = [_run_once(sp, True, 0, "native") for sp in replication_specs(alone, n)]
    natives = [float(r.summary.loc[0, "value"]) for r in native_runs]
    parts = []
    i = 0
    for nb in nbs:
        for name in names:
            scenario = name if len(nbs) == 1 else f"{name} + {nb or 'none'}"
            if name == "native" and nb is None:
                parts.append(_renumber(_combine(native_runs, alone), i, scenario))
                i += 1
                continue
            spec = base.replace(hypervisor=name, neighbor=nb, **({} if nb else {"neighbor_vcpus": 1}))
            try:
                specs = replication_specs(spec, n)
                r = _combine([_run_once(sp, True, i, scenario, native=natives[k]) for k, sp in enumerate(specs)],
                             spec)
            except HvkitError as exc:
                r = Result.failed(i, scenario, spec, str(exc))
            except Exception as exc:  # keep what was computed; say what broke
                r = Result.failed(i, scenario, spec, f"{type(exc).__name__}: {exc}; {traceback.format_exc(limit=1)}")
            parts.append(r)
            i += 1
    return Result.concat(parts)
