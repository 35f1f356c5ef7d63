"""Clark et al.: Apache at full load and MMuncher (the held-out set's generator of ``predictions-heldout-clark-*.csv``, see :mod:`kit.papers.predictions.heldout_2026`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ....errors import HvkitError
from ....inputs.spec import Spec
from ....live_migration import migrate
from ....version import __version__

from .common import PAPERS, BLIND, MAX_REL_HALF_WIDTH, _ci, _r, _sig, _commit


@dataclass(frozen=True)
class ClarkRun:
    """One migration to predict: the workload (with its parameters), the VM's memory and how many seeds."""

    benchmark: str
    workload: str
    params: tuple[tuple[str, Any], ...]
    vm_mib: float
    seeds: int
    max_s: float
    assumptions: str


#: The two migrations (the Apache server's 512 KB file and 100 clients are its setup as recalled)
CLARK_RUNS = (
    ClarkRun("Apache web server at full load", "apache-static",
             (("clients", 100), ("response_bytes", 524538), ("think_us", 0)), 800.0, 5, 3600.0,
             "Apache serving one static file of 512 KB (response_bytes 524,538 with about 250 bytes of headers) to "
             "100 concurrent closed-loop clients without think time (the setup as recalled), with the apache-static "
             "preset's per-request characterization (Apache 2.4, a connection per request: the paper ran Apache "
             "1.3); the preset declares no writable working set, so the kit derives one (a 4 MiB hot set of stacks, "
             "allocator data and socket buffers, kit.inputs.workloads.writable_set); the service saturates the "
             "gigabit link the migration shares, and the kit's NIC is one first-come first-served queue (no per-flow "
             "fairness between the migration's TCP stream and the clients'), so the migration's chunks wait behind "
             "the queued responses; max_s raised to 3600 s so that the migration can finish"),
    ClarkRun("MMuncher diabolical workload", "mmuncher", (), 512.0, 5, 600.0,
             "a process rewriting a 256 MB region of a 512 MB VM without end (mmuncher preset, characterized on "
             "native: a word-storing loop, about 1 GB/s of writes on this profile, every page of the region "
             "rewritten about four times a second); the rest of the VM's memory holds data that is not rewritten"),
)
CLARK_OPTIONS: dict[str, Any] = {"method": "pre-copy", "policy": "xen", "link_gbps": 1.0, "tracking": "auto", "zero_pages": False,
                 "compression": False, "reference": False}


def _round_parts(m) -> dict:
    r = m.rounds
    last = r[r["kind"] == "stop-and-copy"].iloc[0]
    pre = r[r["kind"] == "pre-copy"]
    return {"final_pages": float(last["pages"]), "final_wire_s": float(last["end_s"] - last["start_s"]),
            "final_rate": float(last["rate_mbps"]), "round1_s": float(pre.iloc[0]["end_s"] - pre.iloc[0]["start_s"]),
            "later_s": float((pre["end_s"] - pre["start_s"]).iloc[1:].sum())}


def predict_clark(runs: Sequence[ClarkRun] = CLARK_RUNS, first_seed: int = 2005,
                  model_commit: str | None = None, require_width: bool = True) -> pd.DataFrame:
    """Downtime, total time, MiB sent and rounds of each migration (:data:`CLARK_RUNS`), as the migrations of
    ``predictions-clark-2005-migration.csv``: Xen PV of the era on ``p4-xeon-2003``, Xen's adaptive pre-copy over
    gigabit Ethernet shared with the service, shadow log-dirty tracking, no zero-page elision or compression."""
    rows = []
    for p in runs:
        spec = Spec.make(hardware="p4-xeon-2003", hypervisor="xen-pv", workload=p.workload, mode={"release": "2003"},
                         params=dict(p.params), seed=first_seed)
        ms = [migrate(spec.replace(seed=first_seed + k), **CLARK_OPTIONS, vm_mib=p.vm_mib, max_s=p.max_s)
              for k in range(p.seeds)]
        s = [m.summary for m in ms]
        where = spec.label()
        dm, dh = _ci([x["downtime_ms"] for x in s], where)
        tm, th = _ci([x["total_s"] for x in s], where)
        bm, bh = _ci([x["bytes_sent"] / 2 ** 20 for x in s], where)
        rm, rh = _ci([x["rounds"] for x in s], where)
        if require_width:
            for name, mean, half in (("downtime", dm, dh), ("total time", tm, th)):
                if half >= MAX_REL_HALF_WIDTH * mean:
                    raise HvkitError("confidence interval too wide: raise seeds", where=where, field="seeds",
                                     value=f"{p.seeds} seeds, {name} half-width {half / mean:.1%}",
                                     allowed=f"under {MAX_REL_HALF_WIDTH:.0%} of the mean")
        parts = [_round_parts(m) for m in ms]
        avg = {k: sum(d[k] for d in parts) / len(parts) for k in parts[0]}
        means = {k: sum(x[k] for x in s) / len(s) for k in ("source_cpu_s", "tracking_cpu_s", "first_writes",
                                                            "relative_throughput_during", "throughput_before",
                                                            "page_writes_per_s")}
        reasons = sorted({x["stop_reason"] for x in s})
        explained = (f"round 1: all {p.vm_mib:.0f} MB at Xen's first limit of 100 Mbit/s over the gigabit link shared "
                     f"with the service, {avg['round1_s']:.1f} s; later rounds {avg['later_s']:.1f} s; stopped: "
                     f"{'; '.join(reasons)}; the guest wrote {means['page_writes_per_s']:.0f} pages/s before the "
                     f"migration; downtime: {avg['final_pages']:.0f} dirty pages at {avg['final_rate']:.0f} Mbit/s "
                     f"({avg['final_wire_s'] * 1e3:.0f} ms on the wire with the CPU state) plus the devices' "
                     f"reconnection and resumption; the guest pays shadow log-dirty faults "
                     f"({means['tracking_cpu_s']:.2f} CPU s, {means['first_writes']:.0f} first writes); dom0's save "
                     f"tool {means['source_cpu_s']:.2f} CPU s")
        rows.append({
            "paper": f"{PAPERS['clark']}; expected in the evaluation's migrations of a web server and of a "
                     f"diabolical workload",
            "testbed": "two Dell PowerEdge Xeon servers, gigabit Ethernet (Clark et al.), profile p4-xeon-2003, as "
                       "predictions-clark-2005-migration.csv",
            "benchmark": p.benchmark, "hardware": spec.hardware, "hypervisor": spec.hypervisor,
            "workload": spec.workload, "params": ";".join(f"{k}={v}" for k, v in spec.params),
            "mode_overrides": ";".join(f"{k}={v}" for k, v in spec.mode), "vm_mib": p.vm_mib,
            "link_gbps": s[0]["link_gbps"], "method": s[0]["method"], "policy": s[0]["policy"],
            "tracking": s[0]["tracking"],
            "downtime_ms": round(dm, 2), "downtime_ci_low": round(dm - dh, 2), "downtime_ci_high": round(dm + dh, 2),
            "total_s": round(tm, 3), "total_ci_low": round(tm - th, 3), "total_ci_high": round(tm + th, 3),
            "mib_sent": round(bm, 1), "mib_sent_ci_low": round(bm - bh, 1), "mib_sent_ci_high": round(bm + bh, 1),
            "rounds": round(rm, 2), "rounds_ci_low": round(rm - rh, 2), "rounds_ci_high": round(rm + rh, 2),
            "stop_reason": "; ".join(reasons),
            "relative_throughput_during": _r(means["relative_throughput_during"]),
            "throughput_before": _sig(means["throughput_before"]),
            "seeds": p.seeds, "first_seed": first_seed, "max_s": p.max_s, "explained_by": explained,
            "assumptions": f"{p.assumptions}; the migration setup of predictions-clark-2005-migration.csv (Xen PV "
                           f"release 2003 standing for Xen 2.0, one vCPU, Xen's adaptive pre-copy from 100 to 500 "
                           f"Mbit/s, shadow log-dirty tracking); {BLIND}",
            "status": "predicted", "kit_version": __version__, "model_commit": _commit(model_commit)})
    return pd.DataFrame(rows)
