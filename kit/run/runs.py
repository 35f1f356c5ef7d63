"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out.

:func:`run` resolves a :class:`~kit.inputs.spec.Spec` (:func:`~kit.inputs.resolve.resolve`), simulates it on a
:class:`~kit.sim.host.Host` (:mod:`kit.run.simulation`) and measures the host into a :class:`~kit.results.Result`;
with ``baseline`` it also runs the native baseline of the same spec (:mod:`kit.run.baselines`) for relative
performance.
"""
from __future__ import annotations

import math
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import HvkitError
from .baselines import alone_spec, alone_value, baseline_description, baseline_warnings, native_spec, native_value
from .replications import _combine, check_replications, replication_specs
from .reporting import Reporter, report_progress
from .simulation import _rate_value, _simulate

if TYPE_CHECKING:  # the engine is imported where it is used, so that ``import kit`` and the CLI start light
    from ..inputs.resolve import Resolved
    from ..inputs.spec import Spec
    from ..results import Result

__all__ = ["run", "compare", "closed_form_metrics", "summary_row"]


def _model_uncertainty(result: Result) -> Result:
    """``result`` with its prediction intervals (:func:`kit.uncertainty.attach`)."""
    from ..uncertainty import Model, attach
    return attach(result, Model(evaluate=_evaluate, native=native_spec, alone=alone_spec))


def _evaluate(spec: Spec, resolved: Resolved) -> float:
    """The metric of one simulation of ``spec`` (a sample of the model's parameters), with no table."""
    return float(_simulate(spec, -1, "model uncertainty", resolved=resolved, tables=False)[0]["value"])



def closed_form_metrics(spec: Spec, resolved: Resolved | None = None) -> dict | None:
    """The summary metrics of ``spec`` from its closed form, without a host or a table (None if it has none).

    The same numbers as ``run(spec).summary`` (bit for bit, the same sums in the same order) for a spec where
    nothing contends and nothing waits (:func:`~kit.sim.engines.has_closed_form`); a sweep's points ask it
    first. ``resolved``: ``resolve(spec)`` if the caller has it.
    """
    from ..inputs.resolve import resolve
    from ..results.validity import check_duration, faster_than_native, run_warnings
    from ..results import relative
    from ..sim.mode_costs import Costing
    from ..sim.engines import has_closed_form
    from ..sim.host import backend_label
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



def _run_once(spec: Spec, baseline: bool, run_id: int, scenario: str, trace_s: float = 0.0,
              native: float | None = None) -> Result:
    """One run of ``spec`` (its own seed); with ``baseline`` also against native alone (``native`` if the
    caller has it), the same spec alone and native with the same neighbour."""
    from ..results import Result
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
    from ..inputs.resolve import resolve
    from ..results import relative
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
            from ..results.validity import faster_than_native
            extra = [faster_than_native(res, value, nv, s["relative_performance"]),
                     baseline_warnings(spec, nv, res)]
            s["warnings"] = "; ".join(w for w in [s["warnings"], *extra] if w)
    return s, b, e, l, v, tr



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
    from ..inputs.spec import Spec
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
    from ..inputs.spec import Spec
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
        from ..inputs.workloads import load_workload
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
    from ..results import Result
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
