"""Studies: the loops behind the notebooks' tables.

A study runs a family of specs (modes, variants of a mode, profiles, workloads, workload parameters) through
the public API (:func:`kit.run`, :func:`kit.compare`, :func:`kit.microbench`) and returns one tidy DataFrame
with a row per run (or per VM, or per request), labelled by what varied. The notebooks call these functions
and only select, rename and pivot columns; the tests call the same functions. Nothing here prints or plots.
Every spec is built with :meth:`kit.Spec.make`, so a bad keyword or value fails with one readable
:class:`kit.HvkitError` (before any run, where a study builds its specs first).

A *variant* is a label and the :meth:`kit.Spec.make` keywords that make it differ from the common ones, e.g.
``{"kvm shadow": {"hypervisor": "kvm", "mode": {"memory": "shadow"}}}``; a variant's keywords replace the
common keywords of the same name.
"""
from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .costs.microbench import microbench
from .errors import HvkitError
from .inputs.spec import Spec
from .live_migration import migrate
from .run import compare, run
from .results import latency_stats

__all__ = ["microbench_matrix", "compare_grid", "run_variants", "request_latencies", "vm_shares",
           "neighbour_interference", "migrate_variants"]

NO_NEIGHBOUR = "(none)"


def _listed(field: str, values) -> list:
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise HvkitError("needs at least one value", field=field, value=values)
    return values


def _variants(variants: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    if not isinstance(variants, Mapping) or not variants:
        raise HvkitError("needs at least one variant: {label: {Spec.make keyword: value}}", field="variants",
                         value=variants)
    out = {}
    for label, over in variants.items():
        if not isinstance(over, Mapping):
            raise HvkitError("a variant is a mapping of Spec.make keywords", field=f"variants.{label}", value=over)
        out[str(label)] = dict(over)
    return out


def microbench_matrix(hardware: Sequence[str], hypervisors: Sequence[str], ops: Sequence[str]) -> pd.DataFrame:
    """Operation costs for every profile x mode.

    Parameters
    ----------
    hardware : sequence of str
        Profile ids.
    hypervisors : sequence of str
        Mode presets, each resolved on each profile.
    ops : sequence of str
        Operation names (see :func:`kit.list_ops`); each must exist on every profile's architecture.

    Returns
    -------
    DataFrame
        The rows of :func:`kit.microbench` (``op, suite, hardware, hypervisor, cycles, us, path``), profile by
        profile, mode by mode, in the order given.
    """
    hardware, hypervisors, ops = _listed("hardware", hardware), _listed("hypervisors", hypervisors), _listed("ops", ops)
    parts = [microbench(hw, hv, ops) for hw in hardware for hv in hypervisors]
    return pd.concat(parts, ignore_index=True)


def compare_grid(hardware: str | Sequence[str], hypervisors: Sequence[str], workloads: str | Sequence[str], *,
                 grid: Mapping[str, Sequence] | None = None, **spec) -> pd.DataFrame:
    """:func:`kit.compare` on every profile x workload x combination of workload parameters.

    Parameters
    ----------
    hardware : str or sequence of str
        Profile ids.
    hypervisors : sequence of str
        The modes compared (include ``"native"`` for its row); native is simulated once per comparison.
    workloads : str or sequence of str
        Workload ids.
    grid : mapping of str to sequence, optional
        Workload parameters to vary, full factorial (e.g. ``{"direction": ["tx", "rx"], "mtu": [1500, 500]}``);
        they add to (and replace) the fixed ones in ``params``.
    **spec
        Further :meth:`kit.Spec.make` keywords shared by every run (duration, vcpus, mode, hw, params...).

    Returns
    -------
    DataFrame
        The summary rows of each comparison (``run`` numbers each comparison's modes from 0), then one column
        per varied parameter, ``exits`` (VM exits of the run's vCPUs) and ``exit_cycles`` (their cycles);
        native's are 0. Loops nest in argument order: profile, workload, parameters, mode.
    """
    hardware, workloads = _listed("hardware", hardware), _listed("workloads", workloads)
    hypervisors = _listed("hypervisors", hypervisors)
    grid = {key: _listed(f"grid.{key}", values) for key, values in (grid or {}).items()}
    parts = []
    for hw, wl in itertools.product(hardware, workloads):
        for values in itertools.product(*grid.values()):
            combo = dict(zip(grid, values))
            kw = dict(spec)
            if combo:
                kw["params"] = {**dict(spec.get("params") or {}), **combo}
            r = compare(hw, wl, hypervisors, **kw)
            s = r.summary.copy()
            for k, v in combo.items():  # workload parameter names never clash with result columns
                s[k] = v
            totals = r.exits.groupby("run")[["count", "cycles"]].sum()
            s["exits"] = s["run"].map(totals["count"]).fillna(0.0).astype(float)
            s["exit_cycles"] = s["run"].map(totals["cycles"]).fillna(0.0).astype(float)
            parts.append(s)
    return pd.concat(parts, ignore_index=True)


def _metrics(r, label: str, name: str, *, baseline: bool, latency: bool) -> dict:
    s = r.summary.iloc[0]
    units = s["units"]
    if not units > 0:
        raise HvkitError("no unit of work completed in the simulated time; lengthen it", field="duration",
                         value=s["duration"])
    row = {label: name, "hardware": s["hardware"], "hypervisor": s["hypervisor"], "workload": s["workload"],
           "value": s["value"], "unit": s["unit"]}
    if baseline:
        row.update(native_value=s["native_value"], relative_performance=s["relative_performance"])
    exits = r.exits["count"].sum()
    busy = r.breakdown[r.breakdown["category"] != "idle"]["seconds"].sum()  # vCPUs, backends and neighbours
    row.update(units=units, exits=exits, exit_cycles=r.exits["cycles"].sum(), exits_per_unit=exits / units,
               busy_us_per_unit=busy / units * 1e6)
    if latency:
        if not len(r.latency):
            raise HvkitError("the workload issues no requests to time", field="workload", value=s["workload"])
        st = latency_stats(r.latency).iloc[0]
        row.update(latency_mean_us=st["mean_us"], latency_p50_us=st["p50_us"], latency_p99_us=st["p99_us"],
                   latency_max_us=st["max_us"], latency_censored=int(st["censored"]))
    return row


def run_variants(variants: Mapping[str, Mapping[str, Any]], *, workloads: Sequence[str] | None = None,
                 label: str = "variant", latency: bool = False, baseline: bool = True, **spec) -> pd.DataFrame:
    """Run each variant of a spec (for each workload) and tabulate what it cost.

    Parameters
    ----------
    variants : mapping of str to mapping
        Label -> :meth:`kit.Spec.make` keywords of the variant (see the module docstring).
    workloads : sequence of str, optional
        Run every variant on each of these workloads (outer loop); otherwise ``spec`` or the variant names it.
    label : str
        Name of the column holding the variant's label.
    latency : bool
        Add request latency statistics; every run must time requests (request and disk workloads).
    baseline : bool
        Also simulate each run's native baseline, for ``relative_performance``.
    **spec
        :meth:`kit.Spec.make` keywords shared by every variant.

    Returns
    -------
    DataFrame
        One row per workload x variant: ``label``, ``hardware``, ``hypervisor``, ``workload``, ``value``,
        ``unit``, with ``baseline`` also ``native_value`` and ``relative_performance``; ``units`` (units of
        work done), ``exits`` and ``exit_cycles`` (the vCPUs' VM exits), ``exits_per_unit``,
        ``busy_us_per_unit`` (non-idle CPU time of every thread, backends and neighbours included, in us per
        unit of work); with ``latency`` also ``latency_mean_us``, ``latency_p50_us``, ``latency_p99_us``,
        ``latency_max_us`` and ``latency_censored`` (the requests still under way at the end, right-censored:
        their elapsed time counts in the max as a lower bound; :func:`kit.results.latency_stats`).

    Raises
    ------
    HvkitError
        A bad spec, a run that completed no unit of work, or ``latency`` on a workload without requests.
    """
    variants = _variants(variants)
    plan = []
    for wl in _listed("workloads", workloads) if workloads is not None else [None]:
        for name, over in variants.items():
            kw = {**spec, **over}
            if wl is not None:
                kw["workload"] = wl
            plan.append((name, Spec.make(**kw)))
    return pd.DataFrame([_metrics(run(s, baseline=baseline, scenario=name), label, name, baseline=baseline,
                                  latency=latency) for name, s in plan])


def request_latencies(variants: Mapping[str, Mapping[str, Any]], **spec) -> pd.DataFrame:
    """Every request's latency under each variant (for :func:`kit.ui.plots.latency_cdf`).

    Parameters
    ----------
    variants : mapping of str to mapping
        Label -> :meth:`kit.Spec.make` keywords of the variant.
    **spec
        :meth:`kit.Spec.make` keywords shared by every variant.

    Returns
    -------
    DataFrame
        ``run`` (the variant's position), ``scenario`` (its label), ``vm``, ``start_s``, ``latency_us``,
        ``censored``: one row per request, the same requests :func:`run_variants` summarizes for the same specs;
        a request still under way at the end is right-censored (``censored`` true, its elapsed time a lower bound).
    """
    plan = [(name, Spec.make(**{**spec, **over})) for name, over in _variants(variants).items()]
    parts = [run(s, baseline=False, run_id=i, scenario=name).latency for i, (name, s) in enumerate(plan)]
    return pd.concat(parts, ignore_index=True)


def vm_shares(hardware: str, workload: str, hypervisors: Sequence[str],
              layouts: Sequence[tuple[int, Sequence[int] | None]], **spec) -> pd.DataFrame:
    """What each VM gets when several share the host, under each mode's scheduler.

    Parameters
    ----------
    hardware, workload : str
        Profile and workload ids.
    hypervisors : sequence of str
        Modes (each brings its vCPU scheduler).
    layouts : sequence of (int, sequence of int or None)
        Number of VMs and their scheduler weights (``None``: equal).
    **spec
        Further :meth:`kit.Spec.make` keywords (vcpus, pcpus, duration...). No native baseline is run.

    Returns
    -------
    DataFrame
        One row per mode x layout x VM: ``hypervisor``, ``vms``, ``weights`` (as given), ``vm``, ``units``
        (work the VM completed) and ``value`` (its share of the metric).
    """
    plan = [(hv, vms, weights, Spec.make(hardware=hardware, hypervisor=hv, workload=workload, vms=vms,
                                         weights=weights, **spec))
            for hv in _listed("hypervisors", hypervisors) for vms, weights in _listed("layouts", layouts)]
    rows = []
    for hv, vms, weights, s in plan:
        r = run(s, baseline=False)
        for _, v in r.vms.iterrows():
            rows.append({"hypervisor": hv, "vms": vms, "weights": weights, "vm": v["vm"], "units": v["units"],
                         "value": v["value"]})
    return pd.DataFrame(rows)


def neighbour_interference(hardware: str, workload: str, hypervisors: Sequence[str],
                           neighbours: Sequence[str | None], **spec) -> pd.DataFrame:
    """A measured guest beside each neighbour VM, under each mode: throughput and latency.

    Parameters
    ----------
    hardware, workload : str
        Profile and the measured guest's workload (one that times requests).
    hypervisors : sequence of str
        Modes.
    neighbours : sequence of str or None
        The neighbour VM's workload; ``None`` for the guest alone.
    **spec
        Further :meth:`kit.Spec.make` keywords (pcpus, neighbor_vcpus, duration...). No native baseline is run.

    Returns
    -------
    DataFrame
        The columns of :func:`run_variants` with ``latency``, one row per mode x neighbour, the neighbour in
        column ``neighbour`` (``"(none)"`` for the guest alone).
    """
    variants = {nb or NO_NEIGHBOUR: {"neighbor": nb} for nb in _listed("neighbours", neighbours)}
    parts = [run_variants(variants, label="neighbour", latency=True, baseline=False, hardware=hardware,
                          hypervisor=hv, workload=workload, **spec) for hv in _listed("hypervisors", hypervisors)]
    return pd.concat(parts, ignore_index=True)


#: Keywords of :func:`kit.migrate` (the rest of a variant's keywords go to :meth:`kit.Spec.make`).
MIGRATE_OPTIONS = frozenset(inspect.signature(migrate).parameters) - {"spec"}


def migrate_variants(variants: Mapping[str, Mapping[str, Any]], *, label: str = "variant", seeds: int = 1,
               **common) -> pd.DataFrame:
    """Live-migrate each variant (with ``seeds`` consecutive seeds) and tabulate the migrations' summaries.

    Parameters
    ----------
    variants : mapping of str to mapping
        Label -> keywords of :meth:`kit.Spec.make` and of :func:`kit.migrate` (``method``, ``vm_mib``,
        ``link_gbps``, ``tracking``...), which replace the common ones of the same name.
    label : str
        Name of the column holding the variant's label.
    seeds : int
        Runs per variant, from the spec's seed on.
    **common
        Keywords shared by every variant.

    Returns
    -------
    DataFrame
        One row per variant x seed: ``label``, ``seed`` and the fields of :attr:`kit.Migration.summary`.
    """
    variants = _variants(variants)
    if seeds < 1:
        raise HvkitError("needs at least one seed", field="seeds", value=seeds)
    plan = []
    for name, over in variants.items():
        kw = {**common, **over}
        opts = {k: v for k, v in kw.items() if k in MIGRATE_OPTIONS}
        spec = Spec.make(**{k: v for k, v in kw.items() if k not in MIGRATE_OPTIONS})
        plan.append((name, spec, opts))
    rows = []
    for name, spec, opts in plan:
        for k in range(seeds):
            m = migrate(spec.replace(seed=spec.seed + k), **opts)
            rows.append({label: name, **m.summary})
    return pd.DataFrame(rows)
