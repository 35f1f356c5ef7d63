"""The third blind prediction set, nested virtualization: the Turtles project (Ben-Yehuda et al., OSDI 2010), in
``data/predictions/predictions-turtles-2010-nested.csv``, and its generator (:func:`predict_turtles`).

The overhead of running kernbench, SPECjbb and netperf in a nested guest (KVM on KVM) over running them in a
single-level KVM guest, with EPT on EPT (multi-dimensional paging) and with shadow paging in L1, and for netperf with
virtio at both levels, multi-level device assignment and an emulated NIC in L1; on the Sandy Bridge profile
(``sandybridge-ep-2012``): like the Nehalem-generation servers of 2010 it has EPT and VPID but neither VMCS
shadowing nor APIC virtualization. Each prediction is a mean over seeds with a 95% Student's t interval whose
half-width is under one point, and says which mechanisms it comes from. The published results of these experiments were not looked up or used; the workloads are characterized on native
and the costs on microbenchmarks, and nothing was adjusted after seeing a prediction. The file was committed with
the Turtles and Felter-Docker files of the third set, all computed at model commit c59d32b; :data:`PREDICTION_SET`
names it, its checksum as committed and that model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...errors import HvkitError
from ...inputs.spec import Spec
from ...run import compare
from ...version import __version__
from .prediction_set import PredictionSet
from .rows import MAX_HALF_WIDTH, explained, per_unit, seed_interval

__all__ = ["TURTLES", "PREDICTION_SET", "NestedPrediction", "turtles_specs", "predict_turtles"]

TURTLES = ("Ben-Yehuda, Day, Dubitzky, Factor, Har'El, Gordon, Liguori, Wasserman and Yassour, The Turtles Project: "
           "Design and Implementation of Nested Virtualization, OSDI 2010")


@dataclass(frozen=True)
class NestedPrediction:
    """Nested over single level: the same workload under ``single`` and under ``nested`` (each a mode and parts)."""

    testbed: str
    paper: str
    benchmark: str
    configuration: str
    spec: Spec
    single: tuple[str, tuple[tuple[str, Any], ...]]
    nested: tuple[str, tuple[tuple[str, Any], ...]]
    seeds: int = 5


def turtles_specs() -> list[NestedPrediction]:
    """Turtles' workloads in a one-vCPU guest, nested (KVM on KVM) against single-level KVM."""
    testbed = "Nehalem-generation Xeon server (Turtles), profile sandybridge-ep-2012 (EPT, VPID, no VMCS shadowing)"
    paper = f"{TURTLES}; expected in the macro-benchmark and I/O evaluation"
    out = []
    # (benchmark, workload, duration, seeds): a compile's units are long, so its runs vary most and get ten seeds
    for bench, wl, dur, seeds in (("kernbench (Linux kernel compile)", "kernel-build", 30.0, 10),
                                  ("SPECjbb2005", "specjbb", 3.0, 5)):
        spec = Spec.make(hardware="sandybridge-ep-2012", hypervisor="kvm", workload=wl, duration=dur, seed=2010)
        out.append(NestedPrediction(testbed, paper, bench, "multi-dimensional paging (EPT on EPT)", spec,
                                    ("kvm", ()), ("kvm-on-kvm", ()), seeds))
        out.append(NestedPrediction(testbed, paper, bench, "shadow paging in L1 on EPT (shadow on EPT)", spec,
                                    ("kvm", (("memory", "shadow"),)), ("kvm-on-kvm", (("memory", "shadow"),)), seeds))
    net = Spec.make(hardware="sandybridge-ep-2012", hypervisor="kvm", workload="ttcp", params={"direction": "rx"},
                    duration=0.3, seed=2010)
    for config, single, nested in (
            ("virtio (vhost) at both levels", ("kvm", ()), ("kvm-on-kvm", ())),
            ("multi-level device assignment (SR-IOV VF through both levels)", ("kvm-sriov", ()),
             ("kvm-on-kvm", (("io", "sriov"),))),
            ("emulated NIC (e1000) in L1, virtio from L0", ("kvm-emulated", ()), ("kvm-on-kvm", (("io", "emulated"),)))):
        out.append(NestedPrediction(testbed, paper, "netperf TCP stream to the guest", config, net, single, nested))
    return out


def predict_turtles(preds: list[NestedPrediction] | None = None) -> pd.DataFrame:
    """The committed table of nested over single-level overheads (:func:`turtles_specs`)."""
    rows = []
    for p in preds or turtles_specs():
        single_name, single_parts = p.single
        nested_name, nested_parts = p.nested
        kw = p.spec.model_dump(exclude={"hardware", "hypervisor", "workload", "seed", "mode"})
        kw["engine"] = "discrete"  # the engine the committed predictions were computed with
        rel_s, rel_n, ratio, nat, sr, nr = [], [], [], [], [], []
        for k in range(p.seeds):
            seed = p.spec.seed + k
            a = compare(p.spec.hardware, p.spec.workload, ["native", single_name], seed=seed,
                        mode=dict(single_parts), **kw)
            b = compare(p.spec.hardware, p.spec.workload, [nested_name], seed=seed, mode=dict(nested_parts), **kw)
            for res in (a, b):
                bad = res.summary[res.summary["error"] != ""]
                if len(bad):
                    raise HvkitError("a predicted run failed", where=p.spec.label(), field="hypervisor",
                                     value=bad["hypervisor"].iloc[0], allowed=bad["error"].iloc[0])
            rs = float(a.summary.iloc[1]["relative_performance"])
            rn = float(b.summary.iloc[0]["value"])
            native = float(a.summary.iloc[0]["value"])
            rn = rn / native if a.summary.iloc[0]["higher_is_better"] else native / rn
            rel_s.append(rs)
            rel_n.append(rn)
            ratio.append(rn / rs)
            nat.append(per_unit(a, a.summary.iloc[0]["run"]))
            sr.append(per_unit(a, a.summary.iloc[1]["run"]))
            nr.append(per_unit(b, b.summary.iloc[0]["run"]))
        (ms, hs), (mn, hn), (mr, hr) = (seed_interval(p.spec.label(), v) for v in (rel_s, rel_n, ratio))
        if max(hs, hn, hr) >= MAX_HALF_WIDTH:
            raise HvkitError("confidence interval too wide: raise seeds or duration", where=p.spec.label(),
                             field="seeds", value=f"{p.seeds} seeds, half-width {max(hs, hn, hr):.4f}",
                             allowed=f"a 95% half-width under {MAX_HALF_WIDTH}")
        rows.append({
            "testbed": p.testbed, "paper": p.paper, "benchmark": p.benchmark, "configuration": p.configuration,
            "hardware": p.spec.hardware, "workload": p.spec.workload,
            "params": ";".join(f"{k}={v}" for k, v in p.spec.params),
            "single": single_name + "".join(f";{k}={v}" for k, v in single_parts),
            "nested": nested_name + "".join(f";{k}={v}" for k, v in nested_parts),
            "metric": a.summary.iloc[0]["metric"], "unit": a.summary.iloc[0]["unit"],
            "single_relative": round(ms, 4), "nested_relative": round(mn, 4),
            "nested_over_single": round(mr, 4), "overhead": round(1 - mr, 4), "overhead_ci_low": round(1 - mr - hr, 4),
            "overhead_ci_high": round(1 - mr + hr, 4), "ci_half_width": round(hr, 4), "seeds": p.seeds,
            "first_seed": p.spec.seed, "duration": float(p.spec.duration or 0),
            "explained_by": "nested over single: " + explained(sr, nr) + " | single over native: " + explained(nat, sr),
            "kit_version": __version__, "model_commit": PREDICTION_SET.model_commit})
    return pd.DataFrame(rows)


PREDICTION_SET = PredictionSet(
    file="predictions-turtles-2010-nested.csv",
    sha256="30162059986cc558e4ab886b61d163f007d712e55a112822f8e09176eb40ad4a",
    model_commit="c59d32b4b6ee051f1df04d933be678a500ef6ed6", citation=TURTLES, generator=predict_turtles,
    committed="committed at adacf17, computed at model c59d32b")
