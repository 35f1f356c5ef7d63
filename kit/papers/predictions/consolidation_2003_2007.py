"""The fourth blind prediction set: consolidation (Barham et al., SOSP 2003) and performance isolation (Matthews et
al., ExpCS 2007), in one file under ``data/predictions/``, and its generator (:func:`predict`).

- Barham et al.'s scalability experiment: many domains, each running a CPU-bound SPEC CINT2000-like workload
  (``spec-int``) in one vCPU, all on one CPU of the 2003 testbed (``p4-xeon-2003``, ``pcpus=1``) under Xen PV of
  that release (``xen-pv``, ``release=2003``), dom0 idle on the same CPU; the prediction is the aggregate
  throughput of N domains relative to one domain, for N = 1, 2, 4, ..., 128 (the domain counts of the paper's
  figure, as its setup is recalled: up to 128 domains). Assumption: every domain's memory fits (Xen 1.0 did not
  overcommit memory, so the experiment could only run domains that fit): the host's memory is sized to hold them,
  and host memory is not the mechanism here. Xen 1.0 scheduled domains with BVT; the kit runs Xen's credit
  scheduler (30 ms slices, 10 ms ticks), an approximation that the file states.
- Matthews et al.'s isolation benchmark suite: three well-behaved VMs run a web service (``specweb``: eight
  clients each with a 40 ms think time, a moderate load that saturates no device) and a fourth VM runs a
  misbehaving workload (memory bomb, fork bomb, CPU hog, disk hog, network sender and receiver hogs); one vCPU and
  768 MiB per VM, on a two-core 2007-2008 machine with VT-x but no EPT (``core2-2008``: Xen HVM and KVM use shadow
  paging), under Xen PV, Xen HVM and KVM. The prediction is the well-behaved VMs' degradation: 1 - their throughput
  beside the misbehaving VM over their throughput when the fourth VM runs the web service too (the suite's
  baseline, as recalled), with the ratio of their 99th-percentile response time to the baseline's.

Each prediction is a mean over consecutive seeds (the seed is shared by the runs it compares) with a 95% Student's
t interval, and says which mechanisms it comes from: Barham et al.'s rows five seeds of 400 simulated seconds each
(the discrete engine, every slice and tick simulated), Matthews et al.'s rows ten seeds of 10 simulated seconds
(columns ``seeds``, ``first_seed`` and ``duration``). The published results of these experiments were not looked up
or used, and nothing was adjusted after a prediction was computed. :data:`PREDICTION_SET` names the file, its
checksum as committed (the file is never edited) and the model it was computed with.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ...consolidation import isolation_scenario, run_scenario
from ...inputs.scenario import Scenario
from ...version import __version__
from .prediction_set import PredictionSet
from .rows import seed_interval

__all__ = ["BARHAM", "MATTHEWS", "PREDICTION_SET", "BARHAM_DOMAINS", "ISOLATION_MODES", "HOGS", "ISOLATION",
           "ISOLATION_DURATION", "barham_scenario", "barham_duration", "predict_barham", "predict_matthews", "predict"]

BARHAM = "Barham, Dragovic, Fraser, Hand, Harris, Ho, Neugebauer, Pratt and Warfield, Xen and the Art of " \
         "Virtualization, SOSP 2003"
MATTHEWS = "Matthews, Hu, Hamilton, Brabec, Hunter and Yang, Quantifying the Performance Isolation Properties of " \
           "Virtualization Systems, ExpCS 2007"
BARHAM_DOMAINS = (1, 2, 4, 8, 16, 32, 64, 128)
ISOLATION_MODES = ("xen-pv", "xen-hvm", "kvm")
HOGS = ("memory-bomb", "fork-bomb", "cpu-hog", "disk-hog", "net-sender-hog", "net-receiver-hog")
#: Matthews et al.'s setup as the kit takes it (see the module docstring)
ISOLATION: dict[str, Any] = dict(service="specweb", service_params={"clients": 8, "think_us": 40000},
                                 memory_mib=768.0, victims=3, vcpus=1, pcpus=None)
#: Simulated seconds of an isolation run: about 2,000 requests per well-behaved VM, so that ten seeds give
#: intervals of a few points (a web request's disk reads make single runs vary by several percent)
ISOLATION_DURATION = 10.0


# ---- Barham et al.: scalability -----------------------------------------------------------------------------

def barham_scenario(domains: int, seed: int, duration: float = 20.0) -> Scenario:
    """N domains of spec-int on one CPU of the 2003 testbed, Xen PV 2003, host memory sized to hold them."""
    from ...inputs.workloads import GUEST_OS_MIB, load_workload
    from ...sim.overcommit import HOST_RESERVE_MIB
    need = domains * (load_workload("spec-int").footprint_mib + GUEST_OS_MIB[0]) + HOST_RESERVE_MIB[0]
    gib = max(2.0, math.ceil(need / 1024.0))
    return Scenario.make(name=f"barham {domains} domains", hardware="p4-xeon-2003", hypervisor="xen-pv",
                         mode={"release": "2003"}, duration=duration, seed=seed, engine="discrete",
                         host={"pcpus": 1, "memory_gib": gib},
                         vms=[{"name": "dom", "workload": "spec-int", "count": domains}])


def barham_duration(domains: int) -> float:
    """Simulated seconds of a run: the CPU does about 4,000 units of spec-int whatever the number of domains (each
    unit's work varies by 30%, so the aggregate is known to about half a percent), and at 128 domains each still
    completes some thirty, so that the units left half done at the end weigh little."""
    return 400.0


def predict_barham(domains: tuple[int, ...] = BARHAM_DOMAINS, seeds: int = 5, first_seed: int = 2003,
                   seconds: float | None = None) -> pd.DataFrame:
    """Aggregate throughput of N domains over one domain, per N (mean and 95% interval over seeds); ``seconds``
    (simulated seconds) replaces :func:`barham_duration` for a quick check."""
    base: dict[int, float] = {}
    rows = []
    for n in domains:
        duration = barham_duration(n) if seconds is None else seconds
        rel, parts, switches, agg = [], [], [], []
        for k in range(seeds):
            seed = first_seed + k
            r = run_scenario(barham_scenario(n, seed, duration), alone=False, native=False)
            total = float(r.vms["value"].sum())
            if n == 1:
                base[seed] = total
            if seed not in base:
                one = run_scenario(barham_scenario(1, seed, duration), alone=False, native=False)
                base[seed] = float(one.vms["value"].sum())
            rel.append(total / base[seed])
            agg.append(total)
            b = r.breakdown
            parts.append(b[b["scope"].str.startswith("host.dom")].groupby("category")["seconds"].sum())
            switches.append(r.host["vm_switches"] or 0)
        mean, half = seed_interval(f"barham {n}", rel)
        cat = pd.concat(parts, axis=1).fillna(0.0).sum(axis=1) / seeds
        busy = cat.drop(labels=[c for c in ("idle", "queueing") if c in cat.index]).sum()
        over = {k: cat.get(k, 0.0) for k in ("cache refill", "page walks", "hypervisor", "exit: timer (preemption)")}
        sw = sum(switches) / seeds
        explained = (f"{sw / duration:.0f} VM switches per second (credit ticks and slices); per switch the "
                     f"hypervisor's switch path and the reload of the incoming domain's working set; of the domains' "
                     f"busy CPU time {busy:.2f} s: cache refill {over['cache refill'] / busy:.2%}, page walks "
                     f"{over['page walks'] / busy:.2%}, hypervisor {over['hypervisor'] / busy:.2%}; dom0 idle")
        rows.append({
            "experiment": "scalability", "paper": f"{BARHAM}; expected in the scalability figure (SPEC CINT2000 in "
                                                   f"many domains)",
            "testbed": "Dell PowerEdge 2650, one 2.4 GHz Xeon used (profile p4-xeon-2003, pcpus=1)",
            "configuration": f"{n} domains", "hardware": "p4-xeon-2003", "hypervisor": "xen-pv",
            "workload": "spec-int", "mode_overrides": "release=2003", "knobs": f"vms={n};vcpus=1;pcpus=1",
            "metric": "aggregate throughput relative to one domain", "mean": round(mean, 4),
            "ci_low": round(mean - half, 4), "ci_high": round(mean + half, 4), "ci_half_width": round(half, 4),
            "latency_ratio": None, "latency_ci_low": None, "latency_ci_high": None,
            "value": round(sum(agg) / seeds, 5), "baseline_value": round(sum(base[first_seed + k]
                                                                            for k in range(seeds)) / seeds, 5),
            "seeds": seeds, "first_seed": first_seed, "duration": duration, "explained_by": explained,
            "assumptions": "every domain's memory fits (host memory sized to hold them); credit scheduler in place "
                           "of Xen 1.0's BVT; dom0 one idle vCPU on the same CPU; discrete engine",
            "kit_version": __version__, "model_commit": PREDICTION_SET.model_commit})
    return pd.DataFrame(rows)


# ---- Matthews et al.: isolation ---------------------------------------------------------------------------------

def _victims(r) -> tuple[float, float, float, dict]:
    good = r.vms[r.vms["measured"]]
    b = r.breakdown
    vb = b[b["vm"].isin(list(good["vm"]))]
    queue = float(vb[vb["category"] == "queueing"]["seconds"].sum())
    reqs = float(good["units"].sum())
    return (float(good["value"].mean()), float(good["latency_p99_us"].mean()), queue / reqs if reqs else 0.0,
            {"disk": r.host["disk_util"], "nic_tx": r.host["nic_tx_util"], "nic_rx": r.host["nic_rx_util"],
             "cpu": r.host["pcpu_util"], "swapped_mib": float(r.host["memory"]["swapped_mib"])})


#: The shared resources a misbehaving VM can take from the others, in the words of explained_by
RESOURCES = {"disk": "the shared disk (one queue for every VM's block I/O)",
             "nic_tx": "the shared NIC's transmit side", "nic_rx": "the shared NIC's receive side",
             "cpu": "the CPUs (the vCPU scheduler's shares and wake-up boosts)"}


def _mechanisms(util: dict, dq_us: float) -> str:
    """What the victims competed for: the shared resources whose utilization rose by more than 0.1, and host
    swapping if any."""
    rose = [RESOURCES[k] for k in RESOURCES if util[k][1] - util[k][0] > 0.1]
    if util["swapped_mib"][1] > util["swapped_mib"][0]:
        rose.append(f"host memory ({util['swapped_mib'][1]:.0f} MiB swapped to the disk)")
    head = "contention for " + " and ".join(rose) if rose else "no shared resource busier than in the baseline"
    return (f"{head}; victims' vCPU queueing {dq_us:+.0f} us per request; utilization baseline -> with: disk "
            f"{util['disk'][0]:.2f} -> {util['disk'][1]:.2f}, NIC tx {util['nic_tx'][0]:.2f} -> "
            f"{util['nic_tx'][1]:.2f}, NIC rx {util['nic_rx'][0]:.2f} -> {util['nic_rx'][1]:.2f}, CPUs "
            f"{util['cpu'][0]:.2f} -> {util['cpu'][1]:.2f}")


def predict_matthews(modes: tuple[str, ...] = ISOLATION_MODES, hogs: tuple[str, ...] = HOGS, seeds: int = 10,
                     first_seed: int = 2007, hardware: str = "core2-2008",
                     duration: float = ISOLATION_DURATION) -> pd.DataFrame:
    """The well-behaved VMs' degradation beside each misbehaving VM, per mode (mean and 95% interval over seeds,
    each seed pairing a run with its baseline)."""
    rows = []
    setup: dict[str, Any] = dict(ISOLATION, duration=duration)
    for hv in modes:
        base = {}
        for k in range(seeds):
            seed = first_seed + k
            base[seed] = _victims(run_scenario(isolation_scenario(hardware, hv, None, seed=seed, **setup),
                                               alone=False, native=False))
        for hog in hogs:
            deg, lat, extra = [], [], []
            for k in range(seeds):
                seed = first_seed + k
                v, p99, q, util = _victims(run_scenario(isolation_scenario(hardware, hv, hog, seed=seed, **setup),
                                                        alone=False, native=False))
                bv, bp99, bq, butil = base[seed]
                deg.append(1.0 - v / bv)
                lat.append(p99 / bp99)
                extra.append((q - bq, {key: (butil[key], util[key]) for key in util}))
            mean, half = seed_interval(f"matthews {hv} {hog}", deg)
            lmean, lhalf = seed_interval(f"matthews {hv} {hog}", lat)
            dq = sum(e[0] for e in extra) / seeds * 1e6
            util = {key: (sum(e[1][key][0] for e in extra) / seeds, sum(e[1][key][1] for e in extra) / seeds)
                    for key in extra[0][1]}
            explained = _mechanisms(util, dq)
            rows.append({
                "experiment": "isolation", "paper": f"{MATTHEWS}; expected in the isolation results per system and "
                                                    f"stress test",
                "testbed": "a two-core VT-x machine of 2007-2008 without EPT (profile core2-2008)",
                "configuration": hog, "hardware": hardware, "hypervisor": hv, "workload": "specweb",
                "mode_overrides": "", "knobs": "vms=4 (3 well-behaved, 1 misbehaving);vcpus=1;memory_mib=768;"
                                               "clients=8;think_us=40000",
                "metric": "well-behaved VMs' throughput degradation (1 - with / baseline)", "mean": round(mean, 4),
                "ci_low": round(mean - half, 4), "ci_high": round(mean + half, 4), "ci_half_width": round(half, 4),
                "latency_ratio": round(lmean, 4), "latency_ci_low": round(lmean - lhalf, 4),
                "latency_ci_high": round(lmean + lhalf, 4),
                "value": round(sum(base[first_seed + k][0] * (1 - deg[k]) for k in range(seeds)) / seeds, 5),
                "baseline_value": round(sum(base[first_seed + k][0] for k in range(seeds)) / seeds, 5),
                "seeds": seeds, "first_seed": first_seed, "duration": duration,
                "explained_by": explained,
                "assumptions": "baseline: the fourth VM runs the web service too; a moderate web load (8 clients "
                               "per VM, 40 ms think time); VMs of one vCPU and 768 MiB; current software paths",
                "kit_version": __version__, "model_commit": PREDICTION_SET.model_commit})
    return pd.DataFrame(rows)


def predict() -> pd.DataFrame:
    """The committed table: Barham et al.'s scalability, then Matthews et al.'s isolation matrix."""
    return pd.concat([predict_barham(), predict_matthews()], ignore_index=True)


#: The committed file (``data/predictions/predictions-consolidation-2003-2007.csv``), its digest and its model. The
#: model is unchanged since 79dbcee (later commits add this generator, figures, a panel and tests).
PREDICTION_SET = PredictionSet(
    file="predictions-consolidation-2003-2007.csv",
    sha256="3f6544d5df8f5e40c45cceeed14908705f96373ba5e81cc316dcc029f13d0573", model_commit="79dbcee",
    citation=f"{BARHAM}; {MATTHEWS}", generator=predict, committed="committed at 5788e6e, computed at model 79dbcee")
