"""Blind predictions, second file: application results of Felter et al. (ISPASS 2015), Dall et al. (ISCA 2016)
and Adams & Agesen (ASPLOS 2006) on the testbeds the kit has profiles for.

Each prediction is a statistic, not one run: the relative performance against native on the same hardware is
the mean over ``seeds`` consecutive seeds (native and virtualized runs share each seed), with a 95% confidence
interval from Student's t distribution whose half-width must be under 0.01 (one point of relative
performance). Durations cover at least ten 30 ms Xen credit accounting periods, and CPU-bound runs last long
enough for hundreds of units of work per vCPU. The table also gives the mean native and virtualized values and
the categories whose time per unit of work grew most against native, summed over the seeds.

The published application results of these papers were not looked up or used: workloads are characterized on
native (``workloads/*.yaml``), costs are calibrated on microbenchmarks, and nothing here was adjusted after
seeing a prediction. The predictions were computed at model commit :data:`MODEL_COMMIT`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..version import __version__
from ..errors import HvkitError
from ..inputs.files import data_dir
from ..inputs.spec import Spec
from ..run import compare
from ..stats import t_interval

__all__ = ["Prediction", "prediction_specs_2015", "predict_2015", "predict_rows", "seed_interval",
           "committed_predictions_2015", "PREDICTIONS_2015_CSV", "MODEL_COMMIT", "MAX_HALF_WIDTH"]

#: The model the committed predictions were computed with (the branch base; kit mechanisms unchanged since).
MODEL_COMMIT = "ca4e7c6e7997bfdb5d91b9b81aeb90802149333d"
#: Where the committed table lives, under ``data/``.
PREDICTIONS_2015_CSV = "predictions/predictions-2015-2016.csv"
#: Largest accepted 95% confidence half-width of a relative performance (one point).
MAX_HALF_WIDTH = 0.01

FELTER = ("Felter, Ferreira, Rajamony and Rubio, An Updated Performance Comparison of Virtual Machines and Linux "
          "Containers, ISPASS 2015")
DALL = ("Dall, Li, Lim, Nieh and Koloventzos, ARM Virtualization: Performance and Architectural Implications, "
        "ISCA 2016")
ADAMS = "Adams and Agesen, A Comparison of Software and Hardware Techniques for x86 Virtualization, ASPLOS 2006"


@dataclass(frozen=True)
class Prediction:
    """One predicted row: where it will be compared, and the spec whose first seed is ``spec.seed``."""

    testbed: str
    paper: str
    benchmark: str
    spec: Spec
    seeds: int = 5


def prediction_specs_2015() -> list[Prediction]:
    """The predicted runs, in table order.

    Felter et al.: KVM (virtio with vhost) on the IBM x3650 M4 with two E5-2665, a guest sized to the whole host
    (32 vCPUs), except Redis, whose server is one thread (one vCPU). Dall et al.: KVM and Xen (HVM with PV
    drivers; on ARM Xen's one guest type) with 4 vCPUs pinned to 4 physical CPUs and the host's or dom0's work on 4
    others, on X-Gene and on their Xeon E5-2450 server. Adams & Agesen: VMware's software (BT) and hardware
    (first VT-x) VMMs of 2006 on the Pentium 4 672.
    """
    out: list[Prediction] = []
    felter_hw = "sandybridge-ep-2665-2012"
    felter = "IBM System x3650 M4, two Xeon E5-2665 (Felter et al.)"
    cpu_mem = f"{FELTER}; expected in the CPU and memory results table (linpack, STREAM, RandomAccess, PXZ)"
    for bench, wl, dur in (("linpack (HPL), GFLOPS", "linpack", 5.0), ("STREAM, GB/s", "stream", 20.0),
                           ("HPCC RandomAccess, GUPS", "random-access", 10.0), ("PXZ compression, MB/s", "pxz", 10.0)):
        out.append(Prediction(felter, cpu_mem, bench, Spec.make(
            hardware=felter_hw, hypervisor="kvm", workload=wl, vcpus=32, duration=dur, seed=2015)))
    net = f"{FELTER}; expected in the network figures"
    latency = f"{FELTER}; expected in the network latency figure"
    # (benchmark, workload, params, vCPUs, paper, seeds): fio's IOPS vary most between seeds, so it gets ten
    rows = [("nuttcp bulk TCP, client to SUT (guest receives)", "ttcp", {"direction": "rx"}, 32, net, 5),
            ("nuttcp bulk TCP, SUT to client (guest transmits)", "ttcp", {"direction": "tx"}, 32, net, 5),
            ("netperf TCP_RR", "netperf-rr", {}, 32, latency, 5),
            ("netperf UDP_RR", "netperf-udp-rr", {}, 32, latency, 5),
            ("fio 4 KiB random read, IOPS", "fio-randread", {}, 32, f"{FELTER}; expected in the block I/O figures", 10),
            ("Redis GET/SET (redis-benchmark defaults)", "redis", {}, 1, f"{FELTER}; expected in the Redis figures", 5),
            ("MySQL, SysBench OLTP, 32 clients", "mysql-oltp", {}, 32, f"{FELTER}; expected in the MySQL figures", 5)]
    for bench, wl, params, vcpus, paper, seeds in rows:
        out.append(Prediction(felter, paper, bench, Spec.make(
            hardware=felter_hw, hypervisor="kvm", workload=wl, params=params, vcpus=vcpus, duration=0.3,
            seed=2015), seeds=seeds))

    dall_apps = f"{DALL}; expected in the application benchmark figure (performance normalized to native)"
    dall_rows: list[tuple[str, str, dict, float]] = [("kernbench", "kernel-build", {}, 30.0), ("hackbench", "hackbench", {}, 0.5),
                 ("SPECjvm2008", "specjvm", {}, 20.0), ("netperf TCP_RR", "netperf-rr", {}, 0.3),
                 ("netperf TCP_STREAM (guest receives)", "ttcp", {"direction": "rx"}, 0.3),
                 ("netperf TCP_MAERTS (guest transmits)", "ttcp", {"direction": "tx"}, 0.3),
                 ("Apache with ApacheBench, 100 concurrent requests", "apache-static", {}, 0.3),
                 ("memcached with memtier (200 connections)", "memcached", {"clients": 200}, 0.3),
                 ("MySQL with SysBench OLTP (200 parallel transactions)", "mysql-oltp", {"clients": 200}, 0.3)]
    for hw, testbed in (("xgene-armv8-2014", "HP Moonshot m400, APM X-Gene (Dall et al.)"),
                        ("sandybridge-ep-2012", "Xeon E5-2450 server (Dall et al.)")):
        for bench, wl, params, dur in dall_rows:
            for hv in ("kvm", "xen-hvm"):
                out.append(Prediction(testbed, dall_apps, bench, Spec.make(
                    hardware=hw, hypervisor=hv, workload=wl, params=params, vcpus=4, pcpus=8, pin=True,
                    dom0_vcpus=4, duration=dur, seed=2016)))

    adams = f"{ADAMS}; expected in the macrobenchmark figure"
    for bench, wl, dur in (("SPECint 2000", "spec-int", 10.0), ("compile job on Linux", "kernel-build", 60.0)):
        for mode in ({"release": "2006"}, {"release": "2006", "cpu": "hvm"}):
            out.append(Prediction("HP xw4300, Pentium 4 672 with VT-x (Adams & Agesen)", adams, bench, Spec.make(
                hardware="p4-vtx-2006", hypervisor="vmware-bt", workload=wl, mode=mode, duration=dur, seed=2006)))
    return out


# ---- statistics -----------------------------------------------------------------------------------

# ---- computation ----------------------------------------------------------------------------------

_DEFAULTS = Spec.make(hardware="-", hypervisor="-", workload="-")


def _pairs(items) -> str:
    return ";".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in items)


def _knobs(spec: Spec) -> str:
    """The spec's host and VM settings that differ from the defaults."""
    keys = ("vcpus", "vms", "pcpus", "pin", "weights", "caps", "dom0_vcpus", "neighbor", "neighbor_vcpus", "hw")
    return _pairs((k, getattr(spec, k)) for k in keys if getattr(spec, k) != getattr(_DEFAULTS, k))


def _per_unit(res, run_id) -> tuple[pd.Series, float]:
    """Busy seconds by category (vCPUs and backends, idle excluded) and units of work of one run."""
    b = res.breakdown[(res.breakdown["run"] == run_id) & (res.breakdown["category"] != "idle")
                      & res.breakdown["entity"].isin(["vcpu", "backend"])]
    units = float(res.summary.loc[res.summary["run"] == run_id, "units"].iloc[0])
    return b.groupby("category")["seconds"].sum(), units


def _explained(native: list, virt: list, top: int = 3) -> str:
    """The categories whose time per unit of work grew most against native, over all seeds.

    As ``hvkit compare`` explains a run (queueing counts as time lost; backend CPU time is added per unit), but
    with seconds and units summed over the seeds before dividing.
    """
    def per_unit(runs):
        sec = pd.concat([s for s, _ in runs], axis=1).fillna(0.0).sum(axis=1)
        return sec / (sum(u for _, u in runs) or 1.0)
    diff = per_unit(virt).sub(per_unit(native), fill_value=0.0)
    grew = diff[diff > 0]
    total = grew.sum()
    return "; ".join(f"{k} {v / total:.0%}" for k, v in grew.sort_values(ascending=False).head(top).items())


def _sig(x: float, digits: int = 5) -> float:
    return float(f"{x:.{digits}g}")


def seed_interval(where: str, values: list[float]) -> tuple[float, float]:
    """Mean and 95% half-width (:func:`kit.stats.t_interval`) of a prediction over its seeds: every value finite,
    and at least two of them (one seed gives no interval)."""
    if not all(math.isfinite(v) for v in values):
        raise HvkitError("a prediction is not finite", where=where, value=values, allowed="finite numbers")
    mean, half = t_interval(values)
    if half is None:
        raise HvkitError("one seed gives no interval", where=where, field="seeds", value=len(values),
                         allowed="2 or more")
    return mean, half


def predict_rows(preds: list[Prediction], max_seeds: int | None = None, require_width: bool = True) -> pd.DataFrame:
    """Compute the rows of ``preds``; rows that differ only in hypervisor share their native runs.

    With ``max_seeds``, a group whose widest 95% half-width is not under :data:`MAX_HALF_WIDTH` after its
    ``seeds`` gets more seeds (doubling, up to ``max_seeds``); the table reports the seeds used.

    Raises :class:`HvkitError` if a run fails or (with ``require_width``, as for a prediction to commit) a
    confidence half-width is not under :data:`MAX_HALF_WIDTH`; without it a wider interval is reported as it is.
    """
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(preds):
        groups.setdefault((p.spec.replace(hypervisor="native"), p.seeds), []).append(i)
    rows: dict[int, dict] = {}
    for (base, n), members in groups.items():
        modes = list(dict.fromkeys(preds[i].spec.hypervisor for i in members))
        kw = base.model_dump(exclude={"hardware", "hypervisor", "workload", "seed"})
        kw["engine"] = "discrete"  # committed predictions recompute bit for bit with the engine that computed them
        samples: dict[str, dict[str, list]] = {m: {"rel": [], "value": [], "native": [], "runs": []} for m in modes}
        native_runs = []
        k = 0
        while True:
            if k == n:
                widest = max(seed_interval(base.label(), samples[m]["rel"])[1] for m in modes)
                if not (max_seeds and widest >= MAX_HALF_WIDTH and n < max_seeds):
                    break
                n = min(max_seeds, 2 * n)
            res = compare(base.hardware, base.workload, ["native", *modes], seed=base.seed + k, **kw)
            s = res.summary
            bad = s[s["error"] != ""]
            if len(bad):
                raise HvkitError("a predicted run failed", where=base.label(), field="hypervisor",
                                     value=bad["hypervisor"].iloc[0], allowed=bad["error"].iloc[0])
            native_runs.append(_per_unit(res, s["run"].iloc[0]))
            for m in modes:
                row = s[s["hypervisor"] == m].iloc[0]
                samples[m]["rel"].append(float(row["relative_performance"]))
                samples[m]["value"].append(float(row["value"]))
                samples[m]["native"].append(float(row["native_value"]))
                samples[m]["runs"].append(_per_unit(res, row["run"]))
            k += 1
        metric = res.summary.iloc[0]
        for i in members:
            p = preds[i]
            d = samples[p.spec.hypervisor]
            values = [*d["rel"], *d["value"], *d["native"]]
            if not all(math.isfinite(v) for v in values):
                raise HvkitError("a prediction is not finite", where=p.spec.label(), field="relative_performance",
                                     value=values, allowed="finite numbers")
            mean, half = seed_interval(p.spec.label(), d["rel"])
            if require_width and half >= MAX_HALF_WIDTH:
                raise HvkitError("confidence interval too wide: raise seeds or duration", where=p.spec.label(),
                                     field="seeds", value=f"{n} seeds, half-width {half:.4f}",
                                     allowed=f"a 95% half-width under {MAX_HALF_WIDTH}")
            rows[i] = {
                "testbed": p.testbed, "paper": p.paper, "benchmark": p.benchmark, "hardware": p.spec.hardware,
                "hypervisor": p.spec.hypervisor, "workload": p.spec.workload, "params": _pairs(p.spec.params),
                "mode_overrides": _pairs(p.spec.mode), "knobs": _knobs(p.spec), "metric": metric["metric"],
                "unit": metric["unit"], "native_value": _sig(sum(d["native"]) / n), "value": _sig(sum(d["value"]) / n),
                "relative_performance": round(mean, 4), "ci_low": round(mean - half, 4),
                "ci_high": round(mean + half, 4), "ci_half_width": round(half, 4), "seeds": n,
                "first_seed": p.spec.seed, "duration": float(base.duration),
                "explained_by": _explained(native_runs, d["runs"]), "kit_version": __version__,
                "model_commit": MODEL_COMMIT}
    return pd.DataFrame([rows[i] for i in range(len(preds))])


def predict_2015() -> pd.DataFrame:
    """Every prediction of :func:`prediction_specs_2015` (the committed table)."""
    return predict_rows(prediction_specs_2015())


def committed_predictions_2015() -> pd.DataFrame:
    """The committed table (``data/predictions/predictions-2015-2016.csv``)."""
    return pd.read_csv(data_dir() / PREDICTIONS_2015_CSV, keep_default_na=False)
