"""Turtles: direct VMCS reads and writes, and VMware Server as L1 (the held-out set's generator of ``predictions-heldout-turtles-*.csv``, see :mod:`kit.papers.predictions.heldout_2026`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ....errors import HvkitError
from ....run import compare
from ....version import __version__

from .common import PAPERS, BLIND, MAX_HALF_WIDTH, _ci, _r, _commit


@dataclass(frozen=True)
class TurtlesRow:
    """Nested over single level: the same workload under ``single`` and ``nested`` (each a preset and parts)."""

    benchmark: str
    configuration: str
    workload: str
    duration: float
    seeds: int
    single: tuple[str, tuple[tuple[str, Any], ...]]
    nested: tuple[str, tuple[tuple[str, Any], ...]]
    hw: tuple[tuple[str, Any], ...]
    assumptions: str


#: DRW as the kit's inputs can express it: L1's VMCS accesses do not trap (the profile's vmcs_shadowing switch)
DRW_HW = (("features.vmcs_shadowing", True),)
_DRW = ("DRW (L1 reads and writes VMCS12 in memory without exits) expressed by the profile's "
        "features.vmcs_shadowing=true, the kit's only way for L1's VMREAD/VMWRITE not to trap: it also charges L0's "
        "copy of the shadowed fields between VMCS12 and a shadow VMCS on each reflected exit (400 instructions, "
        "kit.costs.nested.SHADOW_VMCS_SYNC_INSTR), which DRW does not need (missing mechanism: a DRW switch without "
        "that copy); everything else as predictions-turtles-2010-nested.csv")
_VMW = ("VMware Server as L1 composed from the kit's parts: the vmware-bt preset with cpu=hvm (VMware's VT-x VMM, "
        "exposed by L0's nested VMX) and nested=kvm, its exit handlers VMware's 2006 hardware VMM's (Adams & Agesen), "
        "its guests' I/O through the hosted path in L1; the file's single-level baseline stays the KVM guest of the "
        "other rows (nested_relative gives the nested guest against native); everything else as "
        "predictions-turtles-2010-nested.csv")


def turtles_rows() -> list[TurtlesRow]:
    """The eight rows: kernbench and SPECjbb, each with DRW and with VMware Server as L1, each with EPT on EPT and
    with shadow paging in L1 on EPT; one vCPU, as the rows of ``predictions-turtles-2010-nested.csv``."""
    out = []
    for bench, wl, dur, seeds in (("kernbench (Linux kernel compile)", "kernel-build", 30.0, 10),
                                  ("SPECjbb2005", "specjbb", 3.0, 5)):
        for mem, label in (("nested", "multi-dimensional paging (EPT on EPT)"),
                           ("shadow", "shadow paging in L1 on EPT (shadow on EPT)")):
            parts = () if mem == "nested" else (("memory", "shadow"),)
            out.append(TurtlesRow(bench, f"DRW (direct VMCS reads and writes), {label}", wl, dur, seeds,
                                   ("kvm", parts), ("kvm-on-kvm", parts), DRW_HW, _DRW))
        for mem, label in (("nested", "multi-dimensional paging (EPT on EPT)"),
                           ("shadow", "shadow paging in L1 on EPT (shadow on EPT)")):
            out.append(TurtlesRow(bench, f"VMware Server as L1, {label}", wl, dur, seeds,
                                  ("kvm", () if mem == "nested" else (("memory", "shadow"),)),
                                  ("vmware-bt", (("cpu", "hvm"), ("memory", mem), ("nested", "kvm"))), (), _VMW))
    return out


def _per_unit(res, run_id) -> tuple[pd.Series, float]:
    b = res.breakdown[(res.breakdown["run"] == run_id) & (res.breakdown["category"] != "idle")
                      & res.breakdown["entity"].isin(["vcpu", "backend"])]
    units = float(res.summary.loc[res.summary["run"] == run_id, "units"].iloc[0])
    return b.groupby("category")["seconds"].sum(), units


def _grew(before: list, after: list, top: int = 3) -> str:
    """The categories whose time per unit of work grew most from ``before`` to ``after``, over all seeds."""
    def per_unit(runs):
        sec = pd.concat([s for s, _ in runs], axis=1).fillna(0.0).sum(axis=1)
        return sec / (sum(u for _, u in runs) or 1.0)
    diff = per_unit(after).sub(per_unit(before), fill_value=0.0)
    grew = diff[diff > 0]
    total = grew.sum()
    return "; ".join(f"{k} {v / total:.0%}" for k, v in grew.sort_values(ascending=False).head(top).items())


def _failed(res, where: str) -> None:
    bad = res.summary[res.summary["error"] != ""]
    if len(bad):
        raise HvkitError("a predicted run failed", where=where, field="hypervisor", value=bad["hypervisor"].iloc[0],
                         allowed=bad["error"].iloc[0])


def predict_turtles(rows: Sequence[TurtlesRow] | None = None, first_seed: int = 2010,
                    model_commit: str | None = None, require_width: bool = True) -> pd.DataFrame:
    """Each row's nested guest against its single-level guest (and both against native), per seed, on
    ``sandybridge-ep-2012`` (EPT and VPID, no VMCS shadowing of its own), discrete engine."""
    hardware = "sandybridge-ep-2012"
    out = []
    for p in rows if rows is not None else turtles_rows():
        (sname, sparts), (nname, nparts) = p.single, p.nested
        rel_s, rel_n, ratio, nat, sr, nr = [], [], [], [], [], []
        where = f"turtles {p.benchmark} {p.configuration}"
        for k in range(p.seeds):
            kw: dict[str, Any] = dict(seed=first_seed + k, duration=p.duration, engine="discrete", hw=dict(p.hw))
            a = compare(hardware, p.workload, ["native", sname], mode=dict(sparts), **kw)
            b = compare(hardware, p.workload, [nname], mode=dict(nparts), **kw)
            _failed(a, where)
            _failed(b, where)
            rs = float(a.summary.iloc[1]["relative_performance"])
            native = float(a.summary.iloc[0]["value"])
            vn = float(b.summary.iloc[0]["value"])
            rn = vn / native if a.summary.iloc[0]["higher_is_better"] else native / vn
            rel_s.append(rs)
            rel_n.append(rn)
            ratio.append(rn / rs)
            nat.append(_per_unit(a, a.summary.iloc[0]["run"]))
            sr.append(_per_unit(a, a.summary.iloc[1]["run"]))
            nr.append(_per_unit(b, b.summary.iloc[0]["run"]))
        ms, hs = _ci(rel_s, where)
        mn, hn = _ci(rel_n, where)
        mr, hr = _ci(ratio, where)
        if require_width and max(hs, hn, hr) >= MAX_HALF_WIDTH:
            raise HvkitError("confidence interval too wide: raise seeds or duration", where=where, field="seeds",
                             value=f"{p.seeds} seeds, half-width {max(hs, hn, hr):.4f}",
                             allowed=f"a 95% half-width under {MAX_HALF_WIDTH}")
        out.append({
            "testbed": "Nehalem-generation Xeon server (Turtles), profile sandybridge-ep-2012 (EPT, VPID, no VMCS "
                       "shadowing)",
            "paper": f"{PAPERS['turtles']}; expected in the macro-benchmark evaluation",
            "benchmark": p.benchmark, "configuration": p.configuration, "hardware": hardware, "workload": p.workload,
            "params": "", "hw_overrides": ";".join(f"{k}={str(v).lower()}" for k, v in p.hw),
            "single": sname + "".join(f";{k}={v}" for k, v in sparts),
            "nested": nname + "".join(f";{k}={v}" for k, v in nparts),
            "metric": a.summary.iloc[0]["metric"], "unit": a.summary.iloc[0]["unit"],
            "single_relative": _r(ms), "single_ci_half_width": _r(hs), "nested_relative": _r(mn),
            "nested_ci_half_width": _r(hn), "nested_over_single": _r(mr), "overhead": _r(1 - mr),
            "overhead_ci_low": _r(1 - mr - hr), "overhead_ci_high": _r(1 - mr + hr), "ci_half_width": _r(hr),
            "seeds": p.seeds, "first_seed": first_seed, "duration": float(p.duration),
            "explained_by": "nested over single: " + _grew(sr, nr) + " | single over native: " + _grew(nat, sr),
            "assumptions": f"{p.assumptions}; {BLIND}", "status": "predicted", "kit_version": __version__,
            "model_commit": _commit(model_commit)})
    return pd.DataFrame(out)
