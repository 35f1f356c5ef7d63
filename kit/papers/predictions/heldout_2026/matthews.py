"""Matthews et al.: the isolation suite for VMware Workstation 5.5 and OpenVZ (the held-out set's generator of ``predictions-heldout-matthews-*.csv``, see :mod:`kit.papers.predictions.heldout_2026`)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ....consolidation import isolation_scenario, run_scenario
from ....version import __version__

from .common import PAPERS, BLIND, _ci, _r, _commit


#: The misbehaving workloads of the suite, in the order of the Xen column
HOGS = ("memory-bomb", "fork-bomb", "cpu-hog", "disk-hog", "net-sender-hog", "net-receiver-hog")
#: The setup of the Xen column (predictions-consolidation-2003-2007.csv): three web-serving VMs and one misbehaving,
#: one vCPU and 768 MiB each, eight clients per VM with a 40 ms think time, all the testbed's CPUs
ISOLATION: dict[str, Any] = dict(service="specweb", service_params={"clients": 8, "think_us": 40000},
                                 memory_mib=768.0, victims=3, vcpus=1, pcpus=None)
ISOLATION_DURATION = 10.0
#: The two systems, as compositions of the kit's parts: (system, preset, part overrides, how it is composed)
MATTHEWS_SYSTEMS: tuple[tuple[str, str, dict, str], ...] = (
    ("VMware Workstation 5.5", "vmware-bt", {"release": "2006"},
     "the vmware-bt preset (hosted binary translation with shadow paging, I/O through the host OS, the host's "
     "scheduler) at release 2006: the binary-translating VMM of Workstation 5.5, the generation Adams and Agesen "
     "measured in 2006; Workstation 5.5 runs 32-bit guests by binary translation even on a VT-x CPU"),
    ("OpenVZ", "container-nat", {"io": "veth-bridge", "storage": "volume"},
     "a container composed from the kit's parts: the container-nat preset (native CPU and memory on the host kernel, "
     "CFS for its processes) with io=veth-bridge and storage=volume. OpenVZ's venet device hands each packet to the "
     "host's stack, which routes it (no NAT, no connection tracking): the kit's nearest path is a veth pair into "
     "the host's bridge (the bridge's forwarding standing for the host's IP forwarding). Its containers' files are "
     "a directory tree on the host's file system (simfs), the native path a volume is. OpenVZ's own fair-share CPU "
     "scheduler and per-container memory limits (user beancounters) are taken as CFS and the VM's memory size"),
)


def _victims(r) -> tuple[float, float, float, dict]:
    good = r.vms[r.vms["measured"]]
    b = r.breakdown
    vb = b[b["vm"].isin(list(good["vm"]))]
    queue = float(vb[vb["category"] == "queueing"]["seconds"].sum())
    reqs = float(good["units"].sum())
    return (float(good["value"].mean()), float(good["latency_p99_us"].mean()), queue / reqs if reqs else 0.0,
            {"disk": r.host["disk_util"], "nic_tx": r.host["nic_tx_util"], "nic_rx": r.host["nic_rx_util"],
             "cpu": r.host["pcpu_util"], "swapped_mib": float(r.host["memory"]["swapped_mib"])})


_RESOURCES = {"disk": "the shared disk (one queue for every VM's block I/O)",
              "nic_tx": "the shared NIC's transmit side", "nic_rx": "the shared NIC's receive side",
              "cpu": "the CPUs (the scheduler's shares and wake-ups)"}


def _mechanisms(util: dict, dq_us: float) -> str:
    rose = [_RESOURCES[k] for k in _RESOURCES if util[k][1] - util[k][0] > 0.1]
    if util["swapped_mib"][1] > util["swapped_mib"][0]:
        rose.append(f"host memory ({util['swapped_mib'][1]:.0f} MiB swapped to the disk)")
    head = "contention for " + " and ".join(rose) if rose else "no shared resource busier than in the baseline"
    return (f"{head}; victims' queueing for a CPU {dq_us:+.0f} us per request; utilization baseline -> with: disk "
            f"{util['disk'][0]:.2f} -> {util['disk'][1]:.2f}, NIC tx {util['nic_tx'][0]:.2f} -> "
            f"{util['nic_tx'][1]:.2f}, NIC rx {util['nic_rx'][0]:.2f} -> {util['nic_rx'][1]:.2f}, CPUs "
            f"{util['cpu'][0]:.2f} -> {util['cpu'][1]:.2f}")


def predict_matthews(systems: Sequence[tuple[str, str, dict, str]] = MATTHEWS_SYSTEMS,
                     hogs: Sequence[str] = HOGS, seeds: int = 10, first_seed: int = 2007,
                     hardware: str = "core2-2008", duration: float = ISOLATION_DURATION,
                     model_commit: str | None = None) -> pd.DataFrame:
    """The well-behaved VMs' degradation beside each misbehaving one, per system: 1 - their throughput over the
    baseline's (the fourth VM serving requests too), each seed shared by a run and its baseline; with the ratio of
    their 99th-percentile response times."""
    rows = []
    setup: dict[str, Any] = dict(ISOLATION, duration=duration)
    for system, hv, mode, composed in systems:
        base = {first_seed + k: _victims(run_scenario(isolation_scenario(hardware, hv, None, seed=first_seed + k,
                                                                         mode=mode, **setup),
                                                      alone=False, native=False)) for k in range(seeds)}
        for hog in hogs:
            deg, lat, extra = [], [], []
            for k in range(seeds):
                seed = first_seed + k
                v, p99, q, util = _victims(run_scenario(isolation_scenario(hardware, hv, hog, seed=seed, mode=mode,
                                                                           **setup), alone=False, native=False))
                bv, bp99, bq, butil = base[seed]
                deg.append(1.0 - v / bv)
                lat.append(p99 / bp99)
                extra.append((q - bq, {key: (butil[key], util[key]) for key in util}))
            mean, half = _ci(deg, f"matthews {system} {hog}")
            lmean, lhalf = _ci(lat, f"matthews {system} {hog} latency")
            dq = sum(e[0] for e in extra) / seeds * 1e6
            util = {key: (sum(e[1][key][0] for e in extra) / seeds, sum(e[1][key][1] for e in extra) / seeds)
                    for key in extra[0][1]}
            rows.append({
                "experiment": "isolation", "system": system,
                "paper": f"{PAPERS['matthews']}; expected in the isolation results per system and stress test",
                "testbed": "a two-core VT-x machine of 2007-2008 without EPT (profile core2-2008), as the Xen column",
                "configuration": hog, "hardware": hardware, "hypervisor": hv, "workload": ISOLATION["service"],
                "mode_overrides": ";".join(f"{k}={v}" for k, v in sorted(mode.items())),
                "knobs": "vms=4 (3 well-behaved, 1 misbehaving);vcpus=1;memory_mib=768;clients=8;think_us=40000",
                "metric": "well-behaved VMs' throughput degradation (1 - with / baseline)", "mean": _r(mean),
                "ci_low": _r(mean - half), "ci_high": _r(mean + half), "ci_half_width": _r(half),
                "latency_ratio": _r(lmean), "latency_ci_low": _r(lmean - lhalf), "latency_ci_high": _r(lmean + lhalf),
                "value": _r(sum(base[first_seed + k][0] * (1 - deg[k]) for k in range(seeds)) / seeds, 5),
                "baseline_value": _r(sum(base[first_seed + k][0] for k in range(seeds)) / seeds, 5),
                "seeds": seeds, "first_seed": first_seed, "duration": float(duration),
                "explained_by": _mechanisms(util, dq),
                "assumptions": f"{composed}; baseline: the fourth VM runs the web service too; the Xen column's "
                               f"setup, seeds and duration (a moderate web load of 8 clients per VM with a 40 ms "
                               f"think time, VMs of one vCPU and 768 MiB); {BLIND}",
                "status": "predicted", "kit_version": __version__, "model_commit": _commit(model_commit)})
    return pd.DataFrame(rows)
