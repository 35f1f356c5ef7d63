"""Felter et al.: Redis GET by connections, fio random writes and mixed (the held-out set's generator of ``predictions-heldout-felter-*.csv``, see :mod:`kit.papers.predictions.heldout_2026`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ....run import compare
from ....version import __version__

from .turtles import _failed, _grew, _per_unit
from .common import PAPERS, BLIND, _ci, _r, _sig, _commit


@dataclass(frozen=True)
class FelterRow:
    """A group of predictions sharing their native runs: one workload with its parameters and mode parts under
    several modes (``native`` among them gives the native value itself)."""

    benchmark: str
    workload: str
    params: tuple[tuple[str, Any], ...]
    vcpus: int
    modes: tuple[str, ...]
    parts: tuple[tuple[str, Any], ...]
    seeds: int
    paper: str
    assumptions: str


REDIS_CONNECTIONS = (10, 50, 100)


def felter_rows() -> list[FelterRow]:
    """Redis GET (one vCPU, the server's one thread) at 10, 50 and 100 connections under native, Docker with host
    networking, Docker NAT and KVM; fio random writes and 70/30 mixed at 4 KiB, 128 outstanding, 32 vCPUs, under
    KVM and on a Docker volume."""
    out = []
    redis = ("Redis GET only (redis-benchmark -t get): the redis preset's per-command characterization with a GET's "
             "request (about 35 bytes in RESP) and reply ($3 and a 3-byte value, 9 bytes), closed-loop clients "
             "without pipelining, one connection each; the server is one thread, so one vCPU (the KVM guest's, the "
             "container's CPU), as the Redis rows of predictions-2015-2016.csv")
    for c in REDIS_CONNECTIONS:
        out.append(FelterRow(f"Redis GET, {c} connections", "redis",
                             (("clients", c), ("request_bytes", 35), ("response_bytes", 9)), 1,
                             ("native", "container-host", "container-nat", "kvm"), (), 5,
                             f"{PAPERS['felter']}; expected in the Redis figures (throughput by connections)", redis))
    fio = ("fio with direct I/O, 4 KiB blocks and 128 requests outstanding (the new presets fio-randwrite and "
           "fio-randrw, characterized on native like fio-randread: the kit's disk does not tell reads from writes, "
           "so a write and a mixed request cost what a read does; missing mechanism: the flash array's write path "
           "and its write cache), 32 vCPUs as the fio rows of predictions-2015-2016.csv; KVM's disk is virtio-blk "
           "through its default backend, the container's a volume (a host directory: the native path)")
    for bench, wl in (("fio 4 KiB random write, 128 outstanding, IOPS", "fio-randwrite"),
                      ("fio 4 KiB mixed 70% read / 30% write, 128 outstanding, IOPS", "fio-randrw")):
        for modes, parts in ((("kvm",), ()), (("container-nat",), (("storage", "volume"),))):
            out.append(FelterRow(bench, wl, (("queue_depth", 128),), 32, modes, parts, 10,
                                 f"{PAPERS['felter']}; expected in the block I/O figures", fio))
    return out


def predict_felter(rows: Sequence[FelterRow] | None = None, first_seed: int = 2015, duration: float = 0.3,
                   model_commit: str | None = None) -> pd.DataFrame:
    """One row per mode of each group: the mean relative performance against native on the same seed, with the
    absolute values; a native row gives the native value itself (relative performance 1 by definition)."""
    hardware = "sandybridge-ep-2665-2012"
    testbed = "IBM System x3650 M4, two Xeon E5-2665 (Felter et al.), as predictions-2015-2016.csv"
    out = []
    for g in rows if rows is not None else felter_rows():
        virt = [m for m in g.modes if m != "native"]
        where = f"felter {g.benchmark}"
        nat_vals: list[float] = []
        nat_runs: list = []
        got: dict[str, dict[str, list]] = {m: {"rel": [], "value": [], "runs": []} for m in virt}
        for k in range(g.seeds):
            res = compare(hardware, g.workload, ["native", *virt], seed=first_seed + k, duration=duration,
                          vcpus=g.vcpus, params=dict(g.params), mode=dict(g.parts), engine="discrete")
            _failed(res, where)
            s = res.summary
            nat_vals.append(float(s.iloc[0]["value"]))
            nat_runs.append(_per_unit(res, s.iloc[0]["run"]))
            for m in virt:
                row = s[s["hypervisor"] == m].iloc[0]
                got[m]["rel"].append(float(row["relative_performance"]))
                got[m]["value"].append(float(row["value"]))
                got[m]["runs"].append(_per_unit(res, row["run"]))
        nm, nh = _ci(nat_vals, where)
        for mode_name in g.modes:
            if mode_name == "native":
                vm, vh, rm, rh = nm, nh, 1.0, 0.0
                explained = "native: the reference (relative performance 1 by definition)"
            else:
                vm, vh = _ci(got[mode_name]["value"], f"{where} {mode_name}")
                rm, rh = _ci(got[mode_name]["rel"], f"{where} {mode_name}")
                explained = (_grew(nat_runs, got[mode_name]["runs"])
                             or "nothing grew against native: the container runs on the native paths")
            out.append({
                "testbed": testbed, "paper": g.paper, "benchmark": g.benchmark, "hardware": hardware,
                "hypervisor": mode_name, "workload": g.workload,
                "params": ";".join(f"{k}={v}" for k, v in g.params),
                "mode_overrides": "" if mode_name == "native" else ";".join(f"{k}={v}" for k, v in g.parts),
                "knobs": f"vcpus={g.vcpus}", "metric": s.iloc[0]["metric"], "unit": s.iloc[0]["unit"],
                "native_value": _sig(nm), "native_ci_half_width": _sig(nh), "value": _sig(vm),
                "value_ci_half_width": _sig(vh), "relative_performance": _r(rm), "ci_low": _r(rm - rh),
                "ci_high": _r(rm + rh), "ci_half_width": _r(rh), "seeds": g.seeds, "first_seed": first_seed,
                "duration": float(duration), "explained_by": explained, "assumptions": f"{g.assumptions}; {BLIND}",
                "status": "predicted", "kit_version": __version__, "model_commit": _commit(model_commit)})
    return pd.DataFrame(out)
