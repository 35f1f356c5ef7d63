"""The second blind prediction file: application results of Felter et al. (ISPASS 2015), Dall et al. (ISCA 2016)
and Adams & Agesen (ASPLOS 2006) on the testbeds the kit has profiles for.

Each prediction is a statistic, not one run: the relative performance against native on the same hardware is
the mean over ``seeds`` consecutive seeds (native and virtualized runs share each seed), with a 95% confidence
interval from Student's t distribution whose half-width must be under 0.01 (one point of relative
performance). Durations cover at least ten 30 ms Xen credit accounting periods, and CPU-bound runs last long
enough for hundreds of units of work per vCPU. The table also gives the mean native and virtualized values and
the categories whose time per unit of work grew most against native, summed over the seeds.

The published application results of these papers were not looked up or used: workloads are characterized on
native (``workloads/*.yaml``), costs are calibrated on microbenchmarks, and nothing here was adjusted after
seeing a prediction. :data:`PREDICTION_SET` names the file, its checksum as committed and the model commit the
predictions were computed at.
"""
from __future__ import annotations

import pandas as pd

from ...inputs.spec import Spec
from .prediction_set import PredictionSet
from .rows import Prediction, predict_rows

__all__ = ["FELTER", "DALL", "ADAMS", "PREDICTION_SET", "prediction_specs_2015", "predict_2015"]

FELTER = ("Felter, Ferreira, Rajamony and Rubio, An Updated Performance Comparison of Virtual Machines and Linux "
          "Containers, ISPASS 2015")
DALL = ("Dall, Li, Lim, Nieh and Koloventzos, ARM Virtualization: Performance and Architectural Implications, "
        "ISCA 2016")
ADAMS = "Adams and Agesen, A Comparison of Software and Hardware Techniques for x86 Virtualization, ASPLOS 2006"


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


def predict_2015() -> pd.DataFrame:
    """Every prediction of :func:`prediction_specs_2015` (the committed table)."""
    return predict_rows(prediction_specs_2015(), model_commit=PREDICTION_SET.model_commit)


#: The committed file (``data/predictions/predictions-2015-2016.csv``), its digest and its model (the branch base; the
#: profile and workloads it needed were added on top of it, the mechanisms unchanged).
PREDICTION_SET = PredictionSet(
    file="predictions-2015-2016.csv", sha256="48ed619be8f4e2598cec52d80d968d67d4f5f93c8bc8091087d71b63aed544ed",
    model_commit="ca4e7c6e7997bfdb5d91b9b81aeb90802149333d", citation=f"{FELTER}; {DALL}; {ADAMS}",
    generator=predict_2015, committed="committed at f216114, computed at model ca4e7c6")
