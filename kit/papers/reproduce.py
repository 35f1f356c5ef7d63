"""Reproducible papers: published tables beside the model, the blind predictions' frozen files beside the current
model, and ``hvkit validate``'s statistics.

Each paper is a function returning one table (published value, model value, relative error, and the spec of the
row), registered in :data:`PAPERS`; notebooks in ``notebooks/papers/`` and ``hvkit reproduce NAME`` show the same
tables. The generators of the frozen prediction files are in :mod:`kit.papers.predictions`.
"""
from __future__ import annotations

import pandas as pd

from ..costs.microbench import microbench
from ..errors import HvkitError
from .calibration import GAPS, calibrate, gaps_explained, summary
from .published import load_published

__all__ = ["PAPERS", "reproduce", "error_summary", "validate", "generation_table", "vhe_table"]


def _rows(pred) -> pd.DataFrame:
    rows = load_published()
    return rows[pred(rows)].reset_index(drop=True)


def _table(rows: pd.DataFrame) -> pd.DataFrame:
    r = calibrate(rows)
    r = r[r["compare"] != "parameter"].reset_index(drop=True)
    r["spec"] = [f"{h} / {m}" + (f" [{o}]" if o else "") + f" / {op}" + ("" if c == "value" else f" ({c})")
                 for h, m, o, op, c in zip(r["hardware"], r["hypervisor"], r["overrides"], r["op"], r["compare"])]
    return r[["source", "table", "system", "metric", "unit", "spec", "published", "model", "rel_error", "gap"]]


def barham_2003() -> pd.DataFrame:
    """Barham et al., SOSP 2003, Tables 3-5: native, Xen PV and VMware Workstation 3.2 on p4-xeon-2003."""
    return _table(_rows(lambda d: d["source"].str.startswith("Barham") & d["metric"].str.startswith("lmbench")))


def adams_agesen_2006() -> pd.DataFrame:
    """Adams & Agesen, ASPLOS 2006: native, software (BT) and hardware (first VT-x) VMMs on p4-vtx-2006."""
    return _table(_rows(lambda d: d["source"].str.startswith("Adams")))


def dall_2016() -> pd.DataFrame:
    """Dall et al., ISCA 2016 rows (KVM and Xen on ARM and x86) and Altra's arm/micro-bench."""
    return _table(_rows(lambda d: d["source"].str.startswith("Dall") | d["source"].str.contains("Ananta")))


def kvm_unit_tests() -> pd.DataFrame:
    """kvm-unit-tests x86 vmexit results quoted in commit messages and on the KVM list."""
    return _table(_rows(lambda d: d["source"].str.startswith("kvm-unit-tests") | d["source"].str.contains("Wanpeng")))


def vhe_table() -> pd.DataFrame:
    """The Dall et al. operations under KVM and Xen on ARMv8.0 (no VHE) and ARMv8.2 (VHE): what VHE changes."""
    ops = ["hypercall", "irqchip_trap", "virtual_ipi", "virtual_irq_completion", "vm_switch", "io_latency_out",
           "io_latency_in"]
    frames = [microbench(hw, m, ops) for hw in ("xgene-armv8-2014", "neoverse-n1-2019", "sandybridge-ep-2012")
              for m in ("kvm", "xen-hvm")]
    df = pd.concat(frames)
    return df.pivot_table(index="op", columns=["hardware", "hypervisor"], values="cycles").reindex(ops)


def generation_table() -> pd.DataFrame:
    """The x86 vmexit operations under KVM across CPU generations (cycles)."""
    ops = ["cpuid", "vmcall", "mov_to_cr8", "inl_from_kernel", "outl_to_kernel", "inl_from_qemu", "ipi", "tscdeadline"]
    hws = ["p4-vtx-2006", "core2-2008", "sandybridge-ep-2012", "haswell-ep-2014", "skylake-sp-2017", "icelake-sp-2021",
           "zen3-epyc-2021"]
    df = pd.concat([microbench(h, "kvm", ops) for h in hws])
    return df.pivot_table(index="op", columns="hardware", values="cycles").reindex(index=ops, columns=hws)


# ---- registry -----------------------------------------------------------------------------------------

def barham_2003_macro() -> pd.DataFrame:
    """Barham et al., SOSP 2003, Figure 3 and Table 6: blind (frozen), current model (in-sample) and published."""
    from .barham2003 import table
    return table()


def predictions_2003_testbed() -> pd.DataFrame:
    """The first blind file, frozen, beside the current model (post-reveal where Barham et al.'s results are
    committed; still blind for the Sandy Bridge KVM rows)."""
    from .blind import frozen_vs_current
    return frozen_vs_current("predictions.csv")


def predictions_2015_2016() -> pd.DataFrame:
    """The second blind file, frozen, beside the current model (every row: several minutes)."""
    from .blind import frozen_vs_current
    return frozen_vs_current("predictions-2015-2016.csv")


PAPERS = {
    "barham-2003-lmbench": (barham_2003, "Barham et al., SOSP 2003, Tables 3-5 (lmbench)"),
    "barham-2003-macro": (barham_2003_macro, "Barham et al., SOSP 2003, Figure 3 and Table 6: blind, now, published"),
    "adams-agesen-2006-nanobench": (adams_agesen_2006, "Adams & Agesen, ASPLOS 2006, nanobenchmarks"),
    "dall-2016-arm": (dall_2016, "Dall et al., ISCA 2016 microbenchmarks, and Altra's arm/micro-bench"),
    "kvm-unit-tests-vmexit": (kvm_unit_tests, "kvm-unit-tests x86 vmexit across CPU generations"),
    "predictions-2003-testbed": (predictions_2003_testbed, "blind predictions (frozen) beside the current model: "
                                                           "2003 testbed and Sandy Bridge KVM"),
    "predictions-2015-2016": (predictions_2015_2016, "blind predictions (frozen), second file, beside the current "
                                                     "model (several minutes)"),
}


def reproduce(name: str) -> pd.DataFrame:
    """The comparison table of paper ``name`` (see :data:`PAPERS`)."""
    if name not in PAPERS:
        raise HvkitError("unknown paper", field="NAME", value=name, allowed=list(PAPERS))
    return PAPERS[name][0]()


def error_summary(table: pd.DataFrame) -> dict:
    """Median and worst relative error of a comparison table (absolute, as fractions)."""
    a = table["rel_error"].abs()
    worst = table.loc[a.idxmax()]
    return {"rows": int(len(table)), "median_abs_rel_error": float(a.median()), "worst_abs_rel_error": float(a.max()),
            "worst_row": f"{worst['system']}, {worst['metric']}", "within_25pct": int((a <= 0.25).sum())}


def validate(macro: bool = False, seeds: int = 5, search_bound: bool = True) -> tuple[pd.DataFrame, dict]:
    """Every published microbenchmark row the kit covers, and the error statistics: the test rows (the headline)
    apart from the fit rows, per hypervisor family with its fitted parameters.

    ``stats["gaps_explained"]`` holds when every scored row missed by more than 25% (its mode adding something
    to native) has a :class:`~kit.papers.calibration.Gap` whose mechanism exists and moves it. With
    ``search_bound`` every fitted group is refitted to all fit rows and ``stats["at_search_bound"]`` lists the
    groups whose value sits at the search interval's end (:func:`kit.papers.refit.at_search_bound`).

    With ``macro`` the macro rows that are not revealed blind-prediction targets (ELI, VMware's EPT and RVI
    gains) are run too, ``seeds`` seeds each, and reported in ``stats["macro"]`` and the ``macro`` table
    (``report.attrs["macro"]``).
    """
    rows = load_published()
    report = calibrate(rows)
    stats = summary(report)
    stats["excluded"]["revealed"] = int((rows["role"] == "revealed").sum())
    gaps = gaps_explained(report)
    stats["gaps_explained"] = bool(gaps["explained"].all())
    stats["gaps_unexplained"] = list(gaps[~gaps["explained"]]["id"])
    if search_bound:
        from .refit import at_search_bound, refit
        fit = rows[(rows["role"] == "fit") & ~rows["compare"].isin(["macro", "macro_gain"])]
        bound = at_search_bound(refit(fit))
        stats["at_search_bound"] = bound.to_dict(orient="records")
    if macro:
        from .calibration import macro_report
        m = macro_report(rows[rows["role"] != "revealed"], seeds=seeds)
        a = m["rel_error"].abs()
        stats["macro"] = {"rows": int(len(m)), "median_abs_rel_error": float(a.median()),
                          "worst_abs_rel_error": float(a.max()), "seeds": seeds,
                          "roles": sorted(set(m["role"]))}
        report.attrs["macro"] = m
    return report, stats


__all__ += ["GAPS"]
