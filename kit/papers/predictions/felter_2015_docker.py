"""The third blind prediction set, containers: Felter et al.'s Docker configurations (ISPASS 2015), in
``data/predictions/predictions-felter-2015-docker.csv``, and its generator (:func:`predict_felter_docker`).

The Docker configurations beside the KVM runs already predicted (``predictions-2015-2016.csv``), on the same testbed
profile with the same specs, seeds and durations: NAT (Docker's default) and host networking, an overlay or a volume
for the storage benchmarks. Each prediction is a mean over seeds with a 95% Student's t interval whose half-width is
under one point (:func:`kit.papers.predictions.rows.predict_rows`), and says which mechanisms it comes from.
The published results of these experiments were not looked up or used; the workloads are characterized on native
and the costs on microbenchmarks, and nothing was adjusted after seeing a prediction. The file was committed with
the Turtles and Felter-Docker files of the third set, all computed at model commit c59d32b; :data:`PREDICTION_SET`
names it, its checksum as committed and that model.
"""
from __future__ import annotations

import pandas as pd

from ...inputs.spec import Spec
from .apps_2015_2016 import FELTER
from .prediction_set import PredictionSet
from .rows import Prediction, predict_rows

__all__ = ["PREDICTION_SET", "NOTHING_GREW", "felter_docker_specs", "predict_felter_docker"]


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


#: What ``explained_by`` says when no category grew against native.
NOTHING_GREW = "nothing grew against native: the container runs on the native paths"


def predict_felter_docker(preds: list[Prediction] | None = None) -> pd.DataFrame:
    """The committed table of Felter et al.'s Docker configurations (:func:`felter_docker_specs`)."""
    df = predict_rows(preds or felter_docker_specs(), model_commit=PREDICTION_SET.model_commit)
    df["explained_by"] = df["explained_by"].where(df["explained_by"] != "", NOTHING_GREW)
    return df


PREDICTION_SET = PredictionSet(
    file="predictions-felter-2015-docker.csv",
    sha256="dbe0bf5232ddde4c5aa53758809cf3d6b83b14f6c1115d31a9581c7d76f9042e",
    model_commit="c59d32b4b6ee051f1df04d933be678a500ef6ed6", citation=FELTER, generator=predict_felter_docker,
    committed="committed at 926b5a7, computed at model c59d32b")
