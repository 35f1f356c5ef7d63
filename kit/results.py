"""Results: tidy tables of runs, and the analysis that reads them.

A :class:`Result` holds one row per run (``summary``), per run x entity x category (``breakdown``), per run x
exit reason (``exits``), per request (``latency``), per VM (``vms``) and, when traced, per interval
(``timeline``). :func:`contributors` says which categories grew most against native.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Result", "SUMMARY_COLUMNS", "VM_COLUMNS", "TIMELINE_COLUMNS", "BREAKDOWN_COLUMNS", "EXIT_COLUMNS",
           "LATENCY_COLUMNS", "relative", "contributors"]

SUMMARY_COLUMNS = ["run", "scenario", "hardware", "hypervisor", "workload", "vcpus", "vms", "seed", "duration",
                   "metric", "unit", "higher_is_better", "value", "native_value", "relative_performance",
                   "units", "events", "events_per_sim_s", "wall_s", "engine", "pcpu_util", "nic_tx_util", "nic_rx_util",
                   "disk_util", "backend_util", "resolutions", "stop_reason", "ci_low", "ci_high", "error"]
VM_COLUMNS = ["run", "scenario", "vm", "units", "value"]
#: ``cpu`` is the physical CPU a running entity held (-1 while it waited or idled)
TIMELINE_COLUMNS = ["run", "scenario", "scope", "state", "start_s", "end_s", "guest_fraction", "cpu"]
BREAKDOWN_COLUMNS = ["run", "scenario", "scope", "entity", "category", "seconds"]
EXIT_COLUMNS = ["run", "scenario", "reason", "count", "cycles"]
LATENCY_COLUMNS = ["run", "scenario", "vm", "start_s", "latency_us"]


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

    @classmethod
    def from_rows(cls, summaries: Iterable[dict], breakdown: Iterable[dict], exits: Iterable[dict],
                  latency: Iterable[dict] | Mapping[str, Any], specs: Iterable[Any], vms: Iterable[dict] = (),
                  timeline: Iterable[dict] = ()) -> Result:
        """A result from lists of row dicts (one list per table); ``latency`` may also be columns (a mapping of
        column name to an array or a scalar), which keeps a run with millions of requests light."""
        return cls(pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
                   pd.DataFrame(breakdown, columns=BREAKDOWN_COLUMNS),
                   pd.DataFrame(exits, columns=EXIT_COLUMNS),
                   (pd.DataFrame(latency, columns=LATENCY_COLUMNS, copy=False) if isinstance(latency, Mapping)
                    else pd.DataFrame(list(latency), columns=LATENCY_COLUMNS)),
                   pd.DataFrame(list(vms), columns=VM_COLUMNS),
                   specs=list(specs),
                   timeline=pd.DataFrame(list(timeline), columns=TIMELINE_COLUMNS))

    @classmethod
    def failed(cls, run_id: int, scenario: str, spec: Any, error: str) -> Result:
        """The one-row result of a run that could not be made: its spec and its error."""
        row = {**{c: None for c in SUMMARY_COLUMNS}, "run": run_id, "scenario": scenario, "hardware": spec.hardware,
               "hypervisor": spec.hypervisor, "workload": spec.workload, "error": error}
        return cls.from_rows([row], [], [], [], [spec])

    @staticmethod
    def concat(results: list["Result"]) -> "Result":
        tables = ("summary", "breakdown", "exits", "latency", "vms", "timeline")
        frames = {k: pd.concat([getattr(r, k) for r in results], ignore_index=True) for k in tables}
        return Result(**frames, specs=[s for r in results for s in r.specs])

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
            v = self.vms[self.vms["run"] == rid]
            # value is the aggregate over the measured VMs; each VM's own value is here
            rec["per_vm"] = [{"vm": int(i), "units": float(u), "value": _py(x)}
                             for i, u, x in zip(v["vm"], v["units"], v["value"])]
            lat = self.latency[self.latency["run"] == rid]["latency_us"]
            if len(lat):
                rec["latency_us"] = {"mean": float(lat.mean()), "p50": float(lat.quantile(0.5)),
                                     "p99": float(lat.quantile(0.99)), "n": int(len(lat))}
            out.append(rec)
        return out


def _py(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v


def relative(value: float, native_value: float, higher_is_better: bool) -> float:
    """1.0 is native; lower is slower, whatever the metric's direction."""
    if higher_is_better:
        return value / native_value if native_value else float("nan")
    return native_value / value if value else float("nan")


def contributors(result: Result, top: int = 3) -> dict[int, list[tuple[str, float]]]:
    """Per run: the categories whose time per unit of work grew most against native.

    vCPU categories are compared per unit of work done (idle and queueing count
    too, as time lost), and backend CPU time (dom0, vhost, QEMU threads) is
    added per unit as well, so an I/O path's backend cost is seen.
    """
    s, b = result.summary, result.breakdown
    out: dict[int, list[tuple[str, float]]] = {}
    native_rows = s[s["hypervisor"] == "native"]
    if native_rows.empty:
        return out
    nid = native_rows["run"].iloc[0]

    def per_unit(rid: int) -> pd.Series:
        row = s[s["run"] == rid].iloc[0]
        units = row["units"] or 1.0
        d = b[b["run"] == rid]
        vc = d[(d["entity"] == "vcpu") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        be = d[(d["entity"] == "backend") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        return (pd.concat([vc, be]).groupby(level=0).sum() / units)

    base = per_unit(nid)
    for rid in s["run"]:
        if rid == nid or s[s["run"] == rid]["error"].iloc[0]:
            continue
        diff = per_unit(rid).sub(base, fill_value=0.0)
        total = diff[diff > 0].sum()
        diff = diff[diff > 0].sort_values(ascending=False).head(top)
        out[rid] = [(k, v / total if total else 0.0) for k, v in diff.items()]
    return out
