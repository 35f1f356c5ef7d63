"""Blind predictions, third set: live migration (Clark et al., NSDI 2005), nested virtualization (Ben-Yehuda et
al., OSDI 2010) and containers (Felter et al., ISPASS 2015), each in its own file under ``data/predictions/``.

- Clark et al.: the downtime and the total migration time of a SPECweb99 server in an 800 MB VM and of a Quake 3
  server in a 64 MB VM, migrated by Xen's pre-copy over gigabit Ethernet shared with the service's traffic, on the
  profile of the same generation of Dell PowerEdge Xeon servers (``p4-xeon-2003``), Xen PV of that era.
- Turtles: the overhead of running kernbench, SPECjbb and netperf in a nested guest (KVM on KVM) over running them
  in a single-level KVM guest, with EPT on EPT (multi-dimensional paging) and with shadow paging in L1, and for
  netperf with virtio at both levels, multi-level device assignment and an emulated NIC in L1; on the Sandy Bridge
  profile (``sandybridge-ep-2012``): like the Nehalem-generation servers of 2010 it has EPT and VPID but neither
  VMCS shadowing nor APIC virtualization.
- Felter et al.: the Docker configurations beside the KVM runs already predicted (``predictions-2015-2016.csv``),
  on the same testbed profile with the same specs, seeds and durations: NAT (Docker's default) and host
  networking, an overlay or a volume for the storage benchmarks.

Each prediction is a statistic over seeds: the mean with a 95% confidence interval from Student's t distribution,
whose half-width is under one point of relative performance (Turtles, Felter) or under 5% of the mean (Clark's
times). Each row says which mechanisms it comes from. The published results of these experiments were not looked
up or used; the workloads are characterized on native and the costs on microbenchmarks, and nothing was adjusted
after seeing a prediction. :data:`MODEL_COMMIT` is the model the files were computed with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import HvkitError
from ..inputs.files import data_dir
from ..inputs.spec import Spec
from ..live_migration import migrate
from ..run import compare
from ..version import __version__
from .predictions_2015 import FELTER, Prediction, _explained, _per_unit, predict_rows, seed_interval

__all__ = ["CLARK", "TURTLES", "CLARK_CSV", "TURTLES_CSV", "FELTER_DOCKER_CSV", "MODEL_COMMIT", "MAX_REL_HALF_WIDTH",
           "MAX_HALF_WIDTH", "MigrationPrediction", "NestedPrediction", "clark_specs", "turtles_specs",
           "felter_docker_specs", "predict_clark", "predict_turtles", "predict_felter_docker", "committed",
           "NOTHING_GREW"]

#: The model the committed files were computed with.
MODEL_COMMIT = "c59d32b4b6ee051f1df04d933be678a500ef6ed6"
CLARK_CSV = "predictions/predictions-clark-2005-migration.csv"
TURTLES_CSV = "predictions/predictions-turtles-2010-nested.csv"
FELTER_DOCKER_CSV = "predictions/predictions-felter-2015-docker.csv"
#: Largest accepted 95% half-width of a predicted time, relative to its mean.
MAX_REL_HALF_WIDTH = 0.05
#: Largest accepted 95% half-width of a relative performance or overhead (one point).
MAX_HALF_WIDTH = 0.01

CLARK = ("Clark, Fraser, Hand, Hansen, Jul, Limpach, Pratt and Warfield, Live Migration of Virtual Machines, "
         "NSDI 2005")
TURTLES = ("Ben-Yehuda, Day, Dubitzky, Factor, Har'El, Gordon, Liguori, Wasserman and Yassour, The Turtles Project: "
           "Design and Implementation of Nested Virtualization, OSDI 2010")


@dataclass(frozen=True)
class MigrationPrediction:
    """One migration to predict: the spec whose first seed is ``spec.seed`` and the options of :func:`migrate`."""

    testbed: str
    paper: str
    benchmark: str
    spec: Spec
    options: dict = field(default_factory=dict)
    seeds: int = 5


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


# ---- the specs -----------------------------------------------------------------------------------------

def clark_specs() -> list[MigrationPrediction]:
    """Clark et al.'s two service migrations, as their setup is recalled: Xen PV guests with one vCPU, migrated
    between two identical Xeon servers over gigabit Ethernet that also carries the service's clients; Xen's
    adaptive pre-copy (100 to 500 Mbit/s); the VMs' memory 800 MB (SPECweb99) and 64 MB (Quake 3)."""
    testbed = "two Dell PowerEdge Xeon servers, gigabit Ethernet (Clark et al.), profile p4-xeon-2003"
    opts = {"method": "pre-copy", "policy": "xen", "link_gbps": 1.0, "tracking": "auto", "zero_pages": False,
            "compression": False, "reference": False}
    out = []
    # (benchmark, workload, VM MB, seeds): the game server's downtime is a few ms in which a handful of last pages
    # vary most from seed to seed, so it gets thirty seeds (each run is cheap)
    for bench, wl, vm, seeds in (("SPECweb99 web server", "specweb", 800.0, 5),
                                 ("Quake 3 game server", "quake3-server", 64.0, 30)):
        spec = Spec.make(hardware="p4-xeon-2003", hypervisor="xen-pv", workload=wl, mode={"release": "2003"},
                         seed=2005)
        out.append(MigrationPrediction(testbed, f"{CLARK}; expected in the evaluation of live service migrations",
                                       bench, spec, {**opts, "vm_mib": vm}, seeds))
    return out


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


def felter_docker_specs() -> list[Prediction]:
    """Felter et al.'s Docker runs: the specs of the KVM predictions with a container instead of the VM."""
    hw = "sandybridge-ep-2665-2012"
    testbed = "IBM System x3650 M4, two Xeon E5-2665 (Felter et al.)"
    out: list[Prediction] = []
    cpu_mem = f"{FELTER}; expected in the CPU and memory results table (Docker)"
    for bench, wl, dur in (("linpack (HPL), GFLOPS", "linpack", 5.0), ("STREAM, GB/s", "stream", 20.0),
                           ("HPCC RandomAccess, GUPS", "random-access", 10.0), ("PXZ compression, MB/s", "pxz", 10.0)):
        out.append(Prediction(testbed, cpu_mem, bench, Spec.make(
            hardware=hw, hypervisor="container-nat", workload=wl, vcpus=32, duration=dur, seed=2015)))
    net = f"{FELTER}; expected in the network figures (Docker NAT and --net=host)"
    latency = f"{FELTER}; expected in the network latency figure (Docker NAT and --net=host)"
    rows = [("nuttcp bulk TCP, client to SUT (container receives)", "ttcp", {"direction": "rx"}, 32, net, 5),
            ("nuttcp bulk TCP, SUT to client (container transmits)", "ttcp", {"direction": "tx"}, 32, net, 5),
            ("netperf TCP_RR", "netperf-rr", {}, 32, latency, 5),
            ("netperf UDP_RR", "netperf-udp-rr", {}, 32, latency, 5),
            ("Redis GET/SET (redis-benchmark defaults)", "redis", {}, 1, f"{FELTER}; expected in the Redis figures", 5),
            ("MySQL, SysBench OLTP, 32 clients", "mysql-oltp", {}, 32, f"{FELTER}; expected in the MySQL figures", 5)]
    for bench, wl, params, vcpus, paper, seeds in rows:
        for mode in ("container-nat", "container-host"):
            out.append(Prediction(testbed, paper, bench, Spec.make(
                hardware=hw, hypervisor=mode, workload=wl, params=params, vcpus=vcpus, duration=0.3, seed=2015,
                mode={"storage": "volume"} if wl == "mysql-oltp" else {}), seeds=seeds))
    out.append(Prediction(testbed, f"{FELTER}; expected in the MySQL figures (AUFS)", "MySQL, SysBench OLTP, 32 clients",
                          Spec.make(hardware=hw, hypervisor="container-nat", workload="mysql-oltp", vcpus=32,
                                    duration=0.3, seed=2015), seeds=5))
    blk = f"{FELTER}; expected in the block I/O figures"
    for storage in ("volume", "overlay"):
        out.append(Prediction(testbed, blk, "fio 4 KiB random read, IOPS", Spec.make(
            hardware=hw, hypervisor="container-nat", workload="fio-randread", vcpus=32, duration=0.3, seed=2015,
            mode={"storage": storage}), seeds=10))
    return out


# ---- statistics --------------------------------------------------------------------------------------------

def _sig(x: float, digits: int = 5) -> float:
    return float(f"{x:.{digits}g}")


# ---- Clark et al. --------------------------------------------------------------------------------------------

def _downtime_parts(m) -> dict:
    r = m.rounds
    last = r[r["kind"] == "stop-and-copy"].iloc[0]
    return {"final_pages": float(last["pages"]), "final_wire_s": float(last["end_s"] - last["start_s"]),
            "final_rate": float(last["rate_mbps"]), "round1_s": float(r.iloc[0]["end_s"] - r.iloc[0]["start_s"]),
            "later_s": float(r[r["kind"] == "pre-copy"].iloc[1:].eval("end_s - start_s").sum())}


def predict_clark(preds: list[MigrationPrediction] | None = None) -> pd.DataFrame:
    """The committed table of Clark et al.'s migrations (:func:`clark_specs`)."""
    rows = []
    for p in preds or clark_specs():
        runs = [migrate(p.spec.replace(seed=p.spec.seed + k), **p.options) for k in range(p.seeds)]
        s = [m.summary for m in runs]
        down = [x["downtime_ms"] for x in s]
        total = [x["total_s"] for x in s]
        (dm, dh), (tm, th) = seed_interval(p.spec.label(), down), seed_interval(p.spec.label(), total)
        for name, mean, half in (("downtime", dm, dh), ("total time", tm, th)):
            if half >= MAX_REL_HALF_WIDTH * mean:
                raise HvkitError("confidence interval too wide: raise seeds", where=p.spec.label(), field="seeds",
                                 value=f"{p.seeds} seeds, {name} half-width {half / mean:.1%}",
                                 allowed=f"under {MAX_REL_HALF_WIDTH:.0%} of the mean")
        parts = [_downtime_parts(m) for m in runs]
        avg = {k: sum(d[k] for d in parts) / len(parts) for k in parts[0]}
        means = {k: sum(x[k] for x in s) / len(s) for k in ("rounds", "bytes_sent", "source_cpu_s", "target_cpu_s",
                                                            "tracking_cpu_s", "first_writes",
                                                            "relative_throughput_during", "guest_vcpu_busy_s")}
        reasons = sorted({x["stop_reason"] for x in s})
        explained = (f"round 1: all {p.options['vm_mib']:.0f} MB at the first limit ({s[0]['link_gbps']:g} Gbit/s link "
                     f"shared with the service), {avg['round1_s']:.1f} s; later rounds {avg['later_s']:.1f} s; "
                     f"stopped: {'; '.join(reasons)}; downtime: {avg['final_pages']:.0f} dirty pages at "
                     f"{avg['final_rate']:.0f} Mbit/s ({avg['final_wire_s'] * 1e3:.0f} ms with the CPU state) plus "
                     f"device reconnection and resumption; guest pays shadow log-dirty faults "
                     f"({means['tracking_cpu_s']:.2f} CPU s, {means['first_writes']:.0f} first writes); dom0's save "
                     f"tool {means['source_cpu_s']:.2f} CPU s, the target's restore {means['target_cpu_s']:.2f} CPU s")
        rows.append({
            "testbed": p.testbed, "paper": p.paper, "benchmark": p.benchmark, "hardware": p.spec.hardware,
            "hypervisor": p.spec.hypervisor, "workload": p.spec.workload,
            "mode_overrides": ";".join(f"{k}={v}" for k, v in p.spec.mode), "vm_mib": p.options["vm_mib"],
            "link_gbps": s[0]["link_gbps"], "method": s[0]["method"], "policy": s[0]["policy"],
            "tracking": s[0]["tracking"], "downtime_ms": round(dm, 2), "downtime_ci_low": round(dm - dh, 2),
            "downtime_ci_high": round(dm + dh, 2), "total_s": round(tm, 3), "total_ci_low": round(tm - th, 3),
            "total_ci_high": round(tm + th, 3), "rounds": round(means["rounds"], 1),
            "mib_sent": round(means["bytes_sent"] / 2 ** 20, 1),
            "relative_throughput_during": round(means["relative_throughput_during"], 4),
            "seeds": p.seeds, "first_seed": p.spec.seed, "explained_by": explained, "kit_version": __version__,
            "model_commit": MODEL_COMMIT})
    return pd.DataFrame(rows)


# ---- Turtles --------------------------------------------------------------------------------------------------

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
            nat.append(_per_unit(a, a.summary.iloc[0]["run"]))
            sr.append(_per_unit(a, a.summary.iloc[1]["run"]))
            nr.append(_per_unit(b, b.summary.iloc[0]["run"]))
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
            "explained_by": "nested over single: " + _explained(sr, nr) + " | single over native: " + _explained(nat, sr),
            "kit_version": __version__, "model_commit": MODEL_COMMIT})
    return pd.DataFrame(rows)


# ---- Felter et al., Docker ---------------------------------------------------------------------------------

#: What ``explained_by`` says when no category grew against native.
NOTHING_GREW = "nothing grew against native: the container runs on the native paths"


def predict_felter_docker(preds: list[Prediction] | None = None) -> pd.DataFrame:
    """The committed table of Felter et al.'s Docker configurations (:func:`felter_docker_specs`)."""
    df = predict_rows(preds or felter_docker_specs())
    df["explained_by"] = df["explained_by"].where(df["explained_by"] != "", NOTHING_GREW)
    df["model_commit"] = MODEL_COMMIT
    return df


def committed(name: str) -> pd.DataFrame:
    """A committed table: ``name`` is one of :data:`CLARK_CSV`, :data:`TURTLES_CSV`, :data:`FELTER_DOCKER_CSV`."""
    return pd.read_csv(data_dir() / name, keep_default_na=False)
