"""A run's tidy tables, and the analysis that reads them.

A :class:`Result` holds one row per run (``summary``), per run x entity x category (``breakdown``), per run x
exit reason (``exits``), per request (``latency``), per VM (``vms``) and, when traced, per interval
(``timeline``). :func:`contributors` says which categories grew most against native.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import math
from typing import Any

import pandas as pd

__all__ = ["Result", "SUMMARY_COLUMNS", "VM_COLUMNS", "TIMELINE_COLUMNS", "BREAKDOWN_COLUMNS", "EXIT_COLUMNS",
           "LATENCY_COLUMNS", "LATENCY_STATS_COLUMNS", "REPLICA_COLUMNS", "PI_COLUMNS", "SENSITIVITY_COLUMNS",
           "relative", "contributors", "latency_stats"]

SUMMARY_COLUMNS = ["run", "scenario", "hardware", "hypervisor", "workload", "neighbor", "vcpus", "vms", "seed",
                   "duration", "metric", "unit", "higher_is_better", "value", "native_value", "relative_performance",
                   "relative_ci_low", "relative_ci_high", "alone_value", "interference",
                   "relative_vs_native_with_neighbor", "baseline", "replications", "units", "events", "events_per_sim_s", "wall_s", "engine", "pcpu_util", "nic_tx_util", "nic_rx_util",
                   "disk_util", "backend_util", "resolutions", "stop_reason", "ci_low", "ci_high", "ci_note",
                   "interference_ci_low", "interference_ci_high",
                   "relative_vs_native_with_neighbor_ci_low", "relative_vs_native_with_neighbor_ci_high",
                   "pi_low", "pi_high", "relative_pi_low", "relative_pi_high", "interference_pi_low",
                   "interference_pi_high", "relative_vs_native_with_neighbor_pi_low",
                   "relative_vs_native_with_neighbor_pi_high", "pi_level", "pi_dominant", "pi_method", "pi_note",
                   "warnings", "error"]
#: The summary's model-uncertainty columns (:mod:`kit.uncertainty`) and the quantity each interval is of
PI_COLUMNS = {"value": ("pi_low", "pi_high"), "relative_performance": ("relative_pi_low", "relative_pi_high"),
              "interference": ("interference_pi_low", "interference_pi_high"),
              "relative_vs_native_with_neighbor": ("relative_vs_native_with_neighbor_pi_low",
                                                   "relative_vs_native_with_neighbor_pi_high")}
#: One row per run x quantity x parameter that dominates its prediction interval
SENSITIVITY_COLUMNS = ["run", "scenario", "quantity", "parameter", "first_order", "total", "low", "high", "because"]
VM_COLUMNS = ["run", "scenario", "vm", "units", "value"]
#: ``cpu`` is the physical CPU a running entity held (-1 while it waited or idled)
TIMELINE_COLUMNS = ["run", "scenario", "scope", "state", "start_s", "end_s", "guest_fraction", "cpu"]
BREAKDOWN_COLUMNS = ["run", "scenario", "scope", "entity", "category", "seconds"]
EXIT_COLUMNS = ["run", "scenario", "reason", "count", "cycles"]
LATENCY_COLUMNS = ["run", "scenario", "vm", "start_s", "latency_us", "censored"]
REPLICA_COLUMNS = ["run", "scenario", "replication", "seed", "value", "native_value", "relative_performance",
                   "alone_value", "interference"]


@dataclass
class Result:
    """Tidy tables of one or more runs.

    Attributes
    ----------
    summary : DataFrame
        One row per run (``SUMMARY_COLUMNS``). ``value`` is the metric, the mean over ``replications`` runs
        with seeds derived from the spec's (:func:`kit.stats.replication_seed`; one replication runs the spec's
        own seed), and ``ci_low``/``ci_high`` its 95% interval from Student's t (missing with one replication:
        unknown, not zero; a single run that stopped early at a requested precision gives its batch-means
        interval). ``relative_performance`` is against native ALONE on the same host (no neighbour), with
        ``relative_ci_low``/``relative_ci_high`` over replications; ``baseline`` says what that native run
        shares with this one (hardware and its overrides, guest pages, physical CPUs, pinning) and what it does
        not (the neighbour, the mode's own settings such as host pages). ``alone_value`` is the same spec with
        no neighbour and ``interference`` this run against it (1.0: the neighbour costs nothing; lower: slowed
        by it). ``relative_vs_native_with_neighbor`` is against a native run that has the same neighbour (what
        ``relative_performance`` meant before; a VM can read above 1.0 there, since its neighbour is slowed by
        the VM's overheads too). Without a neighbour, ``alone_value`` is ``value`` and ``interference`` 1.0.
        Two intervals, named for what they are: ``ci_*`` the **simulation noise** (95%, Student's t over the
        replications, of the value and of each ratio: ``relative_ci_*``, ``interference_ci_*``,
        ``relative_vs_native_with_neighbor_ci_*``; ``ci_note`` says which, and a closed form is "exact given the
        parameters: no sampling noise", its bounds equal to the value), and ``pi_*`` the **model uncertainty**: the
        90% prediction interval of the value and of each ratio (``relative_pi_*``, ``interference_pi_*``,
        ``relative_vs_native_with_neighbor_pi_*``) from the plausible ranges of the estimated and fitted
        parameters the run reads (:mod:`kit.uncertainty`), ``pi_dominant`` the parameters that make the headline's
        interval wide (``name first-order/total`` Sobol' indices), ``pi_method`` and ``pi_note`` how it was
        computed (missing, and said so, when it was not).
    breakdown : DataFrame
        One row per run x entity x category: ``run, scenario, scope, entity, category, seconds``;
        ``entity`` is ``vcpu`` (measured VMs), ``backend`` or ``neighbor``.
        For each entity the seconds add up to the simulated duration.
    exits : DataFrame
        One row per run x exit reason: ``run, scenario, reason, count, cycles``.
    latency : DataFrame
        One row per request (request and disk workloads): ``run, scenario, vm, start_s, latency_us, censored``.
        A request still under way when the run ended is kept, right-censored: ``censored`` is true and
        ``latency_us`` is its elapsed time, a lower bound of its latency (see :func:`latency_stats`; select
        ``~latency["censored"]`` for the finished requests).
    replicas : DataFrame
        One row per run x replication (``REPLICA_COLUMNS``): the seed and numbers of each replication, which the
        summary's means and intervals are taken over. The other tables are those of the first replication.
    sensitivity : DataFrame
        One row per run x quantity x dominant parameter of its prediction interval (``SENSITIVITY_COLUMNS``):
        the parameter's first-order and total Sobol' indices, its plausible range and why it is that wide.
    """

    summary: pd.DataFrame
    breakdown: pd.DataFrame
    exits: pd.DataFrame
    latency: pd.DataFrame
    vms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VM_COLUMNS))
    specs: list = field(default_factory=list)
    timeline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TIMELINE_COLUMNS))
    replicas: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPLICA_COLUMNS))
    sensitivity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SENSITIVITY_COLUMNS))

    @classmethod
    def from_rows(cls, summaries: Iterable[dict], breakdown: Iterable[dict], exits: Iterable[dict],
                  latency: Iterable[dict] | Mapping[str, Any], specs: Iterable[Any], vms: Iterable[dict] = (),
                  timeline: Iterable[dict] = (), replicas: Iterable[dict] = ()) -> Result:
        """A result from lists of row dicts (one list per table); ``latency`` may also be columns (a mapping of
        column name to an array or a scalar), which keeps a run with millions of requests light."""
        return cls(pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
                   pd.DataFrame(breakdown, columns=BREAKDOWN_COLUMNS),
                   pd.DataFrame(exits, columns=EXIT_COLUMNS),
                   (pd.DataFrame(latency, columns=LATENCY_COLUMNS, copy=False) if isinstance(latency, Mapping)
                    else pd.DataFrame(list(latency), columns=LATENCY_COLUMNS)),
                   pd.DataFrame(list(vms), columns=VM_COLUMNS),
                   specs=list(specs),
                   timeline=pd.DataFrame(list(timeline), columns=TIMELINE_COLUMNS),
                   replicas=pd.DataFrame(list(replicas), columns=REPLICA_COLUMNS))

    @classmethod
    def failed(cls, run_id: int, scenario: str, spec: Any, error: str) -> Result:
        """The one-row result of a run that could not be made: its spec and its error."""
        row = {**{c: None for c in SUMMARY_COLUMNS}, "run": run_id, "scenario": scenario, "hardware": spec.hardware,
               "hypervisor": spec.hypervisor, "workload": spec.workload, "neighbor": spec.neighbor, "warnings": "",
               "error": error}
        return cls.from_rows([row], [], [], [], [spec])

    @staticmethod
    def concat(results: list["Result"]) -> "Result":
        tables = ("summary", "breakdown", "exits", "latency", "vms", "timeline", "replicas", "sensitivity")
        frames = {k: pd.concat([getattr(r, k) for r in results], ignore_index=True) for k in tables}
        return Result(**frames, specs=[s for r in results for s in r.specs])

    def to_records(self) -> list[dict]:
        """One JSON-ready object per run (the ``--json`` form)."""
        out = []
        for _, row in self.summary.iterrows():
            rid = row["run"]
            b = self.breakdown[(self.breakdown["run"] == rid) & (self.breakdown["entity"] == "vcpu")]
            e = self.exits[self.exits["run"] == rid]
            rec = {k: _json_value(row[k]) for k in SUMMARY_COLUMNS}
            sens = self.sensitivity[self.sensitivity["run"] == rid]
            rec["pi_dominant"] = {q: [{"parameter": r["parameter"], "first_order": round(float(r["first_order"]), 3),
                                       "total": round(float(r["total"]), 3), "range": [r["low"], r["high"]],
                                       "because": r["because"]} for _, r in g.iterrows()]
                                  for q, g in sens.groupby("quantity", sort=False)} if len(sens) else None
            reps = self.replicas[self.replicas["run"] == rid]
            if len(reps) > 1:
                rec["replicas"] = [{k: _json_value(r[k]) for k in ("replication", "seed", "value",
                                                                    "relative_performance", "interference")}
                                   for _, r in reps.iterrows()]
            rec["breakdown"] = {k: round(float(v), 9) for k, v in b.groupby("category")["seconds"].sum().items()}
            rec["backends"] = {k: round(float(v), 9) for k, v in self.breakdown[
                (self.breakdown["run"] == rid) & (self.breakdown["entity"] == "backend")
                & (self.breakdown["category"] != "idle")].groupby("scope")["seconds"].sum().items()}
            rec["exits"] = {r: round(float(c), 3) for r, c in zip(e["reason"], e["count"])}
            v = self.vms[self.vms["run"] == rid]
            # value is the aggregate over the measured VMs; each VM's own value is here
            rec["per_vm"] = [{"vm": int(i), "units": float(u), "value": _json_value(x)}
                             for i, u, x in zip(v["vm"], v["units"], v["value"])]
            lat = latency_stats(self.latency[self.latency["run"] == rid])
            if len(lat):
                st = lat.iloc[0]
                rec["latency_us"] = {"mean": _json_value(st["mean_us"]), "p50": _json_value(st["p50_us"]),
                                     "p99": _json_value(st["p99_us"]), "max": float(st["max_us"]),
                                     "max_is_lower_bound": bool(st["max_censored"]), "n": int(st["count"]),
                                     "censored": int(st["censored"])}
            out.append(rec)
        return out


def _json_value(v: Any) -> Any:
    """A table cell as JSON: a Python scalar, and None for a missing number (JSON has no NaN)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


#: Columns of :func:`latency_stats`
LATENCY_STATS_COLUMNS = ["count", "censored", "mean_us", "p50_us", "p99_us", "p999_us", "max_us", "max_censored",
                         "tail_share"]


def latency_stats(latency: pd.DataFrame, by: str = "scenario") -> pd.DataFrame:
    """Request latency per ``by`` group, with the requests under way at the end counted as right-censored.

    ``count`` is the finished requests, over which ``mean_us``, ``p50_us`` and ``p99_us`` are taken; ``censored``
    is the requests still under way when the run ended. Their elapsed time is a lower bound of their latency, and
    they are the ones most likely to be long (a request stalled at the end is the one cut off), so ``max_us`` is
    the longest latency or elapsed time of all, with ``max_censored`` true when it is that lower bound.
    ``p999_us`` is the 99.9th percentile of the finished requests; ``tail_share`` the fraction of their summed
    latency that the requests above the p99 account for (above 0.5, a tail of at most 1% of the requests
    dominates the mean, which can then exceed the p99).
    """
    if latency.empty:
        return pd.DataFrame(columns=LATENCY_STATS_COLUMNS).rename_axis(by)
    censored = latency["censored"].fillna(False).astype(bool) if "censored" in latency else False
    d = latency.assign(latency_us=pd.to_numeric(latency["latency_us"]), censored=censored)
    rows = {}
    for key, g in d.groupby(by, sort=False):
        done = g.loc[~g["censored"], "latency_us"]
        top = g.loc[g["latency_us"].idxmax()]
        rows[key] = {"count": len(done), "censored": int(g["censored"].sum()),
                     "mean_us": float(done.mean()) if len(done) else None,
                     "p50_us": float(done.quantile(0.5)) if len(done) else None,
                     "p99_us": float(done.quantile(0.99)) if len(done) else None,
                     "p999_us": float(done.quantile(0.999)) if len(done) else None,
                     "max_us": float(top["latency_us"]), "max_censored": bool(top["censored"]),
                     "tail_share": float(done[done > done.quantile(0.99)].sum() / done.sum())
                     if len(done) and done.sum() > 0 else None}
    return pd.DataFrame.from_dict(rows, orient="index", columns=LATENCY_STATS_COLUMNS).rename_axis(by)


def relative(value: float, native_value: float, higher_is_better: bool) -> float:
    """1.0 is native; lower is slower, whatever the metric's direction."""
    if higher_is_better:
        return value / native_value if native_value else float("nan")
    return native_value / value if value else float("nan")


def contributors(result: Result, top: int = 3, native: Result | None = None) -> dict[int, list[tuple[str, float]]]:
    """Per run: the categories whose time per unit of work grew most against native alone.

    vCPU categories are compared per unit of work done (idle and queueing count
    too, as time lost), and backend CPU time (dom0, vhost, QEMU threads) is
    added per unit as well, so an I/O path's backend cost is seen. The baseline is the result's native run
    without a neighbour (a native run beside a neighbour is itself compared), else ``native``'s (a result
    holding native alone, for a comparison that did not list native); with neither, no run has contributors.
    """
    s, b = result.summary, result.breakdown
    out: dict[int, list[tuple[str, float]]] = {}

    def alone(r: Result) -> pd.DataFrame:
        return r.summary[(r.summary["hypervisor"] == "native") & r.summary["neighbor"].isna()
                         & (r.summary["error"].fillna("") == "")]

    nid = None
    if not alone(result).empty:
        nid = alone(result)["run"].iloc[0]
        base_s, base_b = s, b
    elif native is not None and not alone(native).empty:
        nid = alone(native)["run"].iloc[0]
        base_s, base_b = native.summary, native.breakdown
    if nid is None:
        return out

    def per_unit(rid: int, s: pd.DataFrame = s, b: pd.DataFrame = b) -> pd.Series:
        row = s[s["run"] == rid].iloc[0]
        units = row["units"] or 1.0
        d = b[b["run"] == rid]
        vc = d[(d["entity"] == "vcpu") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        be = d[(d["entity"] == "backend") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        return (pd.concat([vc, be]).groupby(level=0).sum() / units)

    base = per_unit(nid, base_s, base_b)
    for rid in s["run"]:
        if (base_s is s and rid == nid) or s[s["run"] == rid]["error"].iloc[0]:
            continue
        diff = per_unit(rid).sub(base, fill_value=0.0)
        total = diff[diff > 0].sum()
        diff = diff[diff > 0].sort_values(ascending=False).head(top)
        out[rid] = [(k, v / total if total else 0.0) for k, v in diff.items()]
    return out
