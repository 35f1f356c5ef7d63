"""The first blind prediction file, ``data/predictions/predictions.csv``, and its generator
(:func:`predict_2003_testbed`): Xen PV and VMware Workstation 3.2 (``vmware-bt``, ``release=2003``, no shadow cache)
on the 2003 testbed of Barham et al. (SOSP 2003) for their application benchmarks, and KVM on Sandy Bridge for
linpack, STREAM, RandomAccess and netperf TCP_RR.

One seed per row, no interval, as the frozen file was made (the later sets are statistics over seeds); computed
only from calibrated operation costs and the workloads' native characterization. Barham et al.'s results have since
been committed (``data/published/barham-2003-macro.csv``, role ``revealed``): :mod:`kit.papers.barham2003` and
:func:`kit.papers.blind.frozen_vs_current` set the current model beside the frozen rows.
"""
from __future__ import annotations

import pandas as pd

from ...inputs.spec import Spec, format_value
from ...run import compare
from ...version import __version__
from .consolidation_2003_2007 import BARHAM
from .prediction_set import PredictionSet

__all__ = ["PREDICTION_SET", "prediction_specs", "predict_2003_testbed"]


def prediction_specs() -> list[tuple[str, Spec]]:
    """The predicted runs, in file order, each with its testbed: the 2003 testbed (Xen PV, VMware Workstation 3.2)
    and Sandy Bridge KVM."""
    out = []
    wl_2003: list[tuple[str, dict, float]] = [("spec-int", {}, 1.0), ("kernel-build", {}, 2.0), ("osdb-ir", {}, 1.0),
                                              ("osdb-oltp", {}, 1.0), ("dbench", {}, 1.0), ("specweb", {}, 0.5)]
    wl_2003 += [("ttcp", {"direction": d, "mtu": m}, 0.2) for d in ("tx", "rx") for m in (1500, 500)]
    for wl, params, dur in wl_2003:
        for hv, mode in (("xen-pv", {"release": "2003"}), ("vmware-bt", {"release": "2003", "shadow_cache": "false"})):
            spec = Spec.make(hardware="p4-xeon-2003", hypervisor=hv, workload=wl, params=params, mode=mode,
                             duration=dur, seed=2003)
            out.append(("p4-xeon-2003", spec))
    for wl, dur in (("linpack", 1.0), ("stream", 1.0), ("random-access", 1.0), ("netperf-rr", 0.05)):
        out.append(("sandybridge-ep-2012", Spec.make(hardware="sandybridge-ep-2012", hypervisor="kvm", workload=wl,
                                                     duration=dur, seed=2012)))
    return out


def predict_2003_testbed() -> pd.DataFrame:
    """The table of ``data/predictions/predictions.csv`` (one seed per row, as the frozen file was made).

    At the current model it no longer reproduces the frozen file (the model has changed since); the file is
    checked by its digest (:mod:`kit.papers.blind`), and :func:`kit.papers.blind.frozen_vs_current` gives the
    current model as a statistic beside it."""
    from ...results import contributors
    rows = []
    for testbed, spec in prediction_specs():
        # committed blind predictions recompute bit for bit with the engine that computed them (every slice simulated)
        both = compare(spec.hardware, spec.workload, ["native", spec.hypervisor], duration=spec.duration,
                       seed=spec.seed, params=spec.params, mode=spec.mode, engine="discrete")
        s = both.summary.iloc[1]
        top = contributors(both, top=3).get(1, [])
        rows.append({"testbed": testbed, "hardware": spec.hardware, "hypervisor": spec.hypervisor,
                     "workload": spec.workload, "params": ";".join(f"{k}={format_value(v)}" for k, v in spec.params),
                     "mode_overrides": ";".join(f"{k}={format_value(v)}" for k, v in spec.mode), "metric": s["metric"],
                     "unit": s["unit"], "native_value": round(float(s["native_value"]), 6),
                     "value": round(float(s["value"]), 6),
                     "relative_performance": round(float(s["relative_performance"]), 6),
                     "explained_by": "; ".join(f"{k} {share:.0%}" for k, share in top),
                     "kit_version": __version__})
    return pd.DataFrame(rows)


#: The frozen file (it has no model_commit column: the commit it was last written at stands for its model)
PREDICTION_SET = PredictionSet(
    file="predictions.csv", sha256="59f71fdba83723963bb89dfdd28934992a116cf404526c5819bf497b2668af5a",
    model_commit="0575d92", citation=f"{BARHAM} (the 2003 testbed); KVM on Sandy Bridge (linpack, STREAM, "
                                     "RandomAccess, netperf TCP_RR)",
    generator=predict_2003_testbed,
    committed="last written at commit 0575d92 (one seed per row, no interval), before the Barham et al. results were "
              "revealed", revealed_in="barham-2003-macro")
