"""Barham et al.: Figure 4 and the UDP latency beside 128 CPU-bound domains (the held-out set's generator of ``predictions-heldout-barham-*.csv``, see :mod:`kit.papers.predictions.heldout_2026`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ....consolidation import run_scenario
from ....inputs.scenario import Scenario
from ....inputs.workloads import GUEST_OS_MIB, load_workload
from ....sim.overcommit import HOST_RESERVE_MIB
from ....version import __version__

from .common import PAPERS, BLIND, NOT_MODELLED, _ci, _r, _sig, _commit


BARHAM_INSTANCES = (1, 2, 4, 8, 16)
#: Mean time between a client's UDP probes to the idle domain (the probes keep it idle)
UDP_THINK_US = 100000.0
UDP_DOMAINS = 128


def _fits(workload: str, count: int, extra_mib: float = 0.0) -> float:
    """GiB of host memory that holds ``count`` guests of ``workload`` (and ``extra_mib``) beside the hypervisor."""
    need = count * (load_workload(workload).footprint_mib + GUEST_OS_MIB[0]) + extra_mib + HOST_RESERVE_MIB[0]
    return max(2.0, math.ceil(need / 1024.0))


def _fig4_scenario(hv: str, n: int, seed: int, duration: float) -> Scenario:
    """N SPECweb99 servers on the two CPUs of the 2003 testbed: N uniprocessor Xen 1.0 domains, or N instances on
    one SMP Linux (each instance's processes run on either CPU: two threads of work per instance)."""
    native = hv == "native"
    return Scenario.make(name=f"barham figure 4, {n} {'instances' if native else 'domains'}", hardware="p4-xeon-2003",
                         hypervisor=hv, mode={} if native else {"release": "2003"}, duration=duration, seed=seed,
                         engine="discrete", host={"pcpus": 2, "memory_gib": _fits("specweb", n)},
                         vms=[{"name": "web", "workload": "specweb", "count": n, "vcpus": 2 if native else 1}])


def _udp_scenario(domains: int, seed: int, duration: float) -> Scenario:
    vms: list[dict] = [{"name": "echo", "workload": "netperf-udp-rr", "params": {"think_us": UDP_THINK_US}}]
    if domains:
        vms.append({"name": "busy", "workload": "spec-int", "count": domains, "measured": False})
    return Scenario.make(name=f"barham UDP latency beside {domains} CPU-bound domains", hardware="p4-xeon-2003",
                         hypervisor="xen-pv", mode={"release": "2003"}, duration=duration, seed=seed,
                         engine="discrete", host={"pcpus": 1, "memory_gib": _fits("spec-int", domains, 128.0)},
                         vms=vms)


def _barham_row(**kw: Any) -> dict:
    row = {"experiment": "", "paper": "", "testbed": "", "configuration": "", "hardware": "p4-xeon-2003",
           "hypervisor": "xen-pv", "workload": "", "mode_overrides": "release=2003", "knobs": "", "metric": "",
           "unit": "", "mean": None, "ci_low": None, "ci_high": None, "ci_half_width": None, "value": None,
           "value_ci_half_width": None, "baseline": "", "baseline_value": None, "baseline_ci_half_width": None,
           "value_over_one": None, "baseline_over_one": None, "seeds": None, "first_seed": None, "duration": None,
           "explained_by": "", "assumptions": "", "status": "predicted", "kit_version": __version__,
           "model_commit": ""}
    row.update(kw)
    return row


def predict_barham(instances: Sequence[int] = BARHAM_INSTANCES, seeds: int = 10, first_seed: int = 2003,
                   duration: float = 10.0, udp_seeds: int = 10, udp_duration: float = 60.0,
                   udp_domains: int = UDP_DOMAINS, model_commit: str | None = None) -> pd.DataFrame:
    """Figure 4: the aggregate SPECweb99 throughput of N Xen domains over that of N instances on native Linux
    (each seed shared by the pair), with both aggregates and their scaling from one; then the UDP round-trip
    latency to an idle domain beside ``udp_domains`` CPU-bound ones, and the row the model cannot compute."""
    commit = _commit(model_commit)
    rows = _figure4_rows(instances, seeds, first_seed, duration, commit)
    rows += _udp_rows(udp_seeds, first_seed, udp_duration, udp_domains, commit)
    return pd.DataFrame(rows)


def _figure4_rows(instances: Sequence[int], seeds: int, first_seed: int, duration: float, commit: str) -> list[dict]:
    """Figure 4's rows of :func:`predict_barham`: N Xen domains against N native instances, one row per N."""
    fig = f"{PAPERS['barham']}; expected in Figure 4 (simultaneous SPECweb99 instances on Linux and Xen)"
    testbed = "Dell PowerEdge 2650, two 2.4 GHz Xeon (profile p4-xeon-2003, pcpus=2)"
    rows = []
    aggs: dict[str, dict[int, list[float]]] = {"xen-pv": {}, "native": {}}
    for n in instances:
        ratio, parts = [], []
        for k in range(seeds):
            seed = first_seed + k
            rx = run_scenario(_fig4_scenario("xen-pv", n, seed, duration), alone=False, native=False)
            rn = run_scenario(_fig4_scenario("native", n, seed, duration), alone=False, native=False)
            x, nat = float(rx.vms["value"].sum()), float(rn.vms["value"].sum())
            aggs["xen-pv"].setdefault(n, []).append(x)
            aggs["native"].setdefault(n, []).append(nat)
            ratio.append(x / nat)
            parts.append((rx.host, rn.host))
        mean, half = _ci(ratio, f"barham figure 4, {n}")
        xm, xh = _ci(aggs["xen-pv"][n], f"barham figure 4, {n} domains")
        nm, nh = _ci(aggs["native"][n], f"barham figure 4, {n} instances")
        u = {key: (sum(h[0][key] for h in parts) / seeds, sum(h[1][key] for h in parts) / seeds)
             for key in ("pcpu_util", "nic_tx_util", "disk_util")}
        one_x = sum(aggs["xen-pv"][instances[0]]) / seeds if instances[0] == 1 else None
        one_n = sum(aggs["native"][instances[0]]) / seeds if instances[0] == 1 else None
        rows.append(_barham_row(
            experiment="figure 4", paper=fig, testbed=testbed,
            configuration=f"{n} SPECweb99 {'domain' if n == 1 else 'domains'} / {n} Linux "
                          f"{'instance' if n == 1 else 'instances'}",
            workload="specweb", knobs=f"vms={n};xen vcpus=1 per domain;native: 2 threads of work per instance;pcpus=2",
            metric="aggregate SPECweb99 throughput of N Xen domains over that of N instances on native Linux",
            unit="ratio", mean=_r(mean), ci_low=_r(mean - half), ci_high=_r(mean + half), ci_half_width=_r(half),
            value=_sig(xm), value_ci_half_width=_sig(xh), baseline="native Linux, N instances on one SMP kernel",
            baseline_value=_sig(nm), baseline_ci_half_width=_sig(nh),
            value_over_one=_r(xm / one_x) if one_x else None, baseline_over_one=_r(nm / one_n) if one_n else None,
            seeds=seeds, first_seed=first_seed, duration=float(duration),
            explained_by=(f"aggregate requests/s (value: Xen, baseline_value: native Linux); utilization Xen / "
                          f"native: CPUs {u['pcpu_util'][0]:.2f} / {u['pcpu_util'][1]:.2f}, NIC transmit "
                          f"{u['nic_tx_util'][0]:.2f} / {u['nic_tx_util'][1]:.2f}, disk {u['disk_util'][0]:.2f} / "
                          f"{u['disk_util'][1]:.2f}: the shared disk (SPECweb99's page-cache misses) and the gigabit "
                          f"link bound both; Xen 1.0's domains have one vCPU each, so one domain uses one of the two "
                          f"CPUs, while one Linux instance runs on both"),
            assumptions=("SPECweb99 as the specweb preset (64 clients per instance without think time, 3% of "
                         "requests reading the disk); the score (conforming connections) compared through throughput "
                         "(the ratio of scores taken as the ratio of throughputs: conformance is not modelled); Xen "
                         "1.0's domains are uniprocessor, so one vCPU each, and dom0 idle; the Linux instances share "
                         "one kernel on both CPUs (two threads of work each); host memory sized to hold every domain "
                         "(Xen 1.0 could only run domains that fit, and the memory a small fileset needs is not the "
                         "mechanism here); the credit scheduler in place of Xen 1.0's BVT; discrete engine; "
                         f"half-widths are several points because the shared disk's random misses make each run's "
                         f"throughput vary by about 3%; {BLIND}"),
            model_commit=commit))
    return rows


def _udp_rows(udp_seeds: int, first_seed: int, udp_duration: float, udp_domains: int, commit: str) -> list[dict]:
    """The UDP latency rows of :func:`predict_barham`: to an idle domain beside ``udp_domains`` CPU-bound ones
    (against the same domain alone), and to a loaded domain, which the model cannot compute."""
    rows = []
    # UDP latency to an idle domain beside the CPU-bound domains, against the same domain alone
    lat, alone, p99 = [], [], []
    switches = 0.0
    for k in range(udp_seeds):
        seed = first_seed + k
        r = run_scenario(_udp_scenario(udp_domains, seed, udp_duration), alone=False, native=False)
        a = run_scenario(_udp_scenario(0, seed, udp_duration), alone=False, native=False)
        lat.append(float(r.vms[r.vms["measured"]]["latency_mean_us"].iloc[0]))
        p99.append(float(r.vms[r.vms["measured"]]["latency_p99_us"].iloc[0]))
        alone.append(float(a.vms[a.vms["measured"]]["latency_mean_us"].iloc[0]))
        switches += (r.host["vm_switches"] or 0) / udp_seeds
    lm, lh = _ci(lat, "barham udp latency")
    am, ah = _ci(alone, "barham udp latency alone")
    pm, _ = _ci(p99, "barham udp latency p99")
    udp_paper = f"{PAPERS['barham']}; expected in the scalability discussion (UDP latency beside 128 busy domains)"
    udp_testbed = "Dell PowerEdge 2650, one 2.4 GHz Xeon used (profile p4-xeon-2003, pcpus=1), as the scalability rows"
    rows.append(_barham_row(
        experiment="udp latency", paper=udp_paper, testbed=udp_testbed,
        configuration=f"an idle domain (the {udp_domains + 1}th) beside {udp_domains} CPU-bound domains",
        workload="netperf-udp-rr", knobs=f"vms={udp_domains + 1};vcpus=1;pcpus=1;think_us={UDP_THINK_US:.0f}",
        metric="mean UDP round-trip latency to the idle domain", unit="us", mean=_r(lm, 2), ci_low=_r(lm - lh, 2),
        ci_high=_r(lm + lh, 2), ci_half_width=_r(lh, 2), value=_r(lm, 2), value_ci_half_width=_r(lh, 2),
        baseline="the same domain alone (no CPU-bound domains)", baseline_value=_r(am, 2),
        baseline_ci_half_width=_r(ah, 2), seeds=udp_seeds, first_seed=first_seed, duration=float(udp_duration),
        explained_by=(f"{switches / udp_duration:.0f} VM switches per second; a probe wakes the idle domain, which "
                      f"the credit scheduler boosts ahead of the CPU-bound domains (it stays under its share), so it "
                      f"waits for the running domain's preemption and pays the switch and the reload of its working "
                      f"set; 99th percentile {pm:.1f} us; alone {am:.1f} us"),
        assumptions=("the idle domain answers sparse UDP probes (netperf-udp-rr, one client with a mean of 100 ms "
                     "between probes, so the domain stays idle and under its fair share); the CPU-bound domains run "
                     "spec-int as the scalability rows of predictions-consolidation-2003-2007.csv, on one CPU with "
                     "dom0 idle and host memory sized to hold them; the credit scheduler (boost on wake-up) in place "
                     f"of Xen 1.0's BVT (its warp for a waking domain); latency from the client across the wire; "
                     f"{BLIND}"),
        model_commit=commit))
    rows.append(_barham_row(
        experiment="udp latency", paper=udp_paper, testbed=udp_testbed,
        configuration=f"a loaded domain (one of the {udp_domains} CPU-bound domains)", workload="netperf-udp-rr",
        knobs=f"vms={udp_domains};vcpus=1;pcpus=1", metric="mean UDP round-trip latency to a CPU-bound domain",
        unit="us", explained_by="", status=NOT_MODELLED,
        assumptions=("not modelled: a loaded domain answers UDP while its own CPU-bound process runs, two workloads "
                     "in one guest; the kit runs one workload per VM (kit.sim.drivers starts one kind of thread per "
                     "guest), so it has neither the guest's own scheduling between the echo server and the CPU hog "
                     "nor a domain that is busy and answering at once"),
        model_commit=commit))
    return rows
