"""Failure isolation: which VMs notice a failure, for how long, and what is lost, under each mode; each mode's
availability over time; the code each guest relies on.

- :func:`failure_domains`: the components of a host under a configuration (a mode and how the host is laid out),
  the domain each runs in and the VMs whose I/O passes through it (:class:`kit.sim.failures.FailureDomains`).
- :func:`blast_radius`: for every component, crashing and hanging, what each VM of the host sees: nothing, its I/O
  stalled (for how long, and what its clients wait with TCP's retransmissions), or its end (and when it is back).
- :func:`inject`: a scenario's ``faults:`` run on the simulated host, each VM against the same scenario without them
  (same seed): its work with and without, the requests delayed, retransmitted, reissued and lost, whether it
  survived.
- :func:`availability`: a Monte Carlo over component failures (rates from the code each component runs,
  :mod:`kit.costs.failure_rates`) and recovery costs (:mod:`kit.costs.recovery`) drawn from their plausible ranges:
  each VM's expected availability with a 95% interval, and its course over the horizon.
- :func:`tcb`: the trusted computing base of a configuration's guest: the code beneath it, on its I/O paths and
  managing it, with sizes and sources (``data/tcb.yaml``).

A configuration is ``(hypervisor, part overrides, host layout)``; :data:`CONFIGURATIONS` holds the four the issue
asks about: Xen with a driver domain, Xen with its drivers in dom0, KVM and a microVM.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .costs import failure_rates as fr
from .costs import lifecycle as lc
from .costs import recovery as rc
from .errors import HvkitError
from .inputs.hardware import load_hardware
from .inputs.modes import Mode, hypervisor
from .inputs.scenario import Scenario
from .inputs.tcb import load_tcb
from .sim.failures import (EFFECTS, FAULT_MODES, FailureDomains, HostSetup, client_outage, plan)
from .stats import t_interval

__all__ = ["CONFIGURATIONS", "Configuration", "failure_domains", "blast_radius", "inject", "availability", "tcb",
           "tcb_totals", "recovery_costs"]

#: A configuration: (hypervisor preset, part overrides, host layout)
Configuration = tuple[str, Mapping[str, Any], HostSetup]
#: The four configurations of issue 24: Xen (HVM guests with PV drivers) with a driver domain and with its drivers
#: in dom0, KVM (QEMU, vhost-net) and a Firecracker-style microVM
CONFIGURATIONS: dict[str, Configuration] = {
    "Xen, driver domain": ("xen-hvm", {}, HostSetup(driver_domain=True)),
    "Xen, drivers in dom0": ("xen-hvm", {}, HostSetup()),
    "KVM": ("kvm", {}, HostSetup()),
    "microVM": ("microvm", {}, HostSetup()),
}
_VMS = ("vm0", "vm1", "vm2")


def _mode(config: Configuration, hardware: str) -> Mode:
    name, parts, _ = config
    return hypervisor(name, hardware, **dict(parts))


def _configs(configs: Mapping[str, Configuration] | Sequence[str] | None) -> dict[str, Configuration]:
    if configs is None:
        return dict(CONFIGURATIONS)
    if isinstance(configs, Mapping):
        return dict(configs)
    unknown = [c for c in configs if c not in CONFIGURATIONS]
    if unknown:
        raise HvkitError("not a configuration", field="configs", value=unknown[0], allowed=list(CONFIGURATIONS))
    return {c: CONFIGURATIONS[c] for c in configs}


def _domains(config: Configuration, hardware: str, vms: Sequence[str]) -> FailureDomains:
    return FailureDomains(_mode(config, hardware), load_hardware(hardware), vms, config[2])


def failure_domains(configs: Mapping[str, Configuration] | Sequence[str] | None = None,
                    hardware: str = "skylake-sp-2017", vms: Sequence[str] = _VMS) -> pd.DataFrame:
    """One row per component of each configuration's host with ``vms``: its domain and whose I/O passes through it."""
    frames = []
    for name, cfg in _configs(configs).items():
        t = _domains(cfg, hardware, vms).table()
        t.insert(0, "configuration", name)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def blast_radius(configs: Mapping[str, Configuration] | Sequence[str] | None = None,
                 hardware: str = "skylake-sp-2017", vms: Sequence[str] = _VMS,
                 modes: Sequence[str] = FAULT_MODES) -> pd.DataFrame:
    """What every component's crash and hang does to each VM of a host with ``vms`` (each using its network and its
    disk), per configuration: one row per (configuration, component, fault), with how many VMs end, how many see
    their I/O stall and how many notice nothing, the longest time a VM's service is unavailable, the longest a
    client waits (TCP's retransmission after the path is back), and each VM's effect. A per-VM component fails in
    the first VM."""
    rows = []
    for name, cfg in _configs(configs).items():
        fd = _domains(cfg, hardware, vms)
        seen = set()
        for c in fd.components:
            if c.vm not in (None, 0) or (c.id, c.vm) in seen:
                continue
            seen.add((c.id, c.vm))
            for m in modes:
                p = plan(fd, c.id, m, 0.0, vms[c.vm] if c.vm is not None else None)
                effects = [p.vms[i].effect for i in range(len(vms))]
                unavailable = [_down(p.vms[i].windows) for i in range(len(vms))]
                outage = [client_outage(p.vms[i].windows) if p.vms[i].windows else 0.0 for i in range(len(vms))]
                rows.append({
                    "configuration": name, "hypervisor": cfg[0], "component": c.id, "label": c.label,
                    "domain": c.domain, "fault": m, "vms_end": effects.count("dies"),
                    "vms_io_stall": effects.count("io stall"), "vms_untouched": effects.count("none"),
                    "worst_effect": max(effects, key=EFFECTS.index),
                    "share_affected": 1.0 - effects.count("none") / len(vms),
                    "max_unavailable_s": max(unavailable), "max_client_outage_s": max(outage),
                    "host_restart": p.host_restart,
                    "management_down_s": (p.management_down[1] - p.management_down[0]) if p.management_down else 0.0,
                    **{f"{v} effect": e for v, e in zip(vms, effects)},
                    "cause": next((p.vms[i].cause for i in range(len(vms)) if p.vms[i].cause), "")})
    return pd.DataFrame(rows)


def _down(windows) -> float:
    from .sim.failures import _union
    return _union(windows)


def recovery_costs() -> pd.DataFrame:
    """The recovery costs with their sources and plausible ranges (:mod:`kit.costs.recovery`)."""
    return pd.DataFrame([{"cost": k, "seconds": v[0], "low": v[2][0], "high": v[2][1], "source": v[1]}
                         for k, v in rc.COSTS.items()])


def inject(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Run ``scenario`` with its ``faults:`` and without them (the same seed): ``vms`` has, per VM, its work with
    and without the faults, its vCPUs' busy and paused seconds with and without, and what the faults did to it
    (:meth:`kit.sim.failures.FaultInjector.outcomes`);
    ``plans`` the recovery's phases of each fault; ``latency`` the requests of the run with faults."""
    from .consolidation import run_scenario
    if not scenario.faults:
        raise HvkitError("a scenario with faults to inject", field="faults", value=[], allowed="one or more events")
    with_f = run_scenario(scenario, alone=False, native=False)
    without = run_scenario(scenario.replace(faults=[]), alone=False, native=False)
    vms = with_f.vms[["vm", "workload", "measured", "metric", "unit", "value", "units"]].merge(
        without.vms[["vm", "value", "units"]].rename(columns={"value": "value_without", "units": "units_without"}),
        on="vm")
    vms["relative_to_without"] = vms["value"] / vms["value_without"]
    for key, r in (("", with_f), ("_without", without)):
        cpu = _vcpu_time(r.breakdown)
        vms = vms.merge(cpu.rename(columns={c: c + key for c in ("vcpu_busy_s", "vcpu_paused_s")}), on="vm",
                        how="left")
    vms = vms.merge(with_f.faults, on="vm")
    hw = load_hardware(scenario.hardware).with_overrides(dict(scenario.hw))
    fd = FailureDomains(hypervisor(scenario.hypervisor, hw, **dict(scenario.mode)), hw, scenario.vm_names(),
                        HostSetup(scenario.host.driver_domain, scenario.host.spare_driver_domain))
    phases = []
    for k, f in enumerate(scenario.faults):
        p = plan(fd, f.component, f.mode, float(f.time_s), f.vm)
        phases += [{"fault": k, "component": f.component, "mode": f.mode, "phase": ph.name, "start_s": ph.start,
                    "end_s": ph.end, "what": ph.what} for ph in p.phases]
    return {"vms": vms, "plans": pd.DataFrame(phases), "latency": with_f.latency}


def _vcpu_time(breakdown: pd.DataFrame) -> pd.DataFrame:
    """Per VM, its vCPUs' busy seconds (everything but idle, queueing and paused) and paused seconds (stopped by its
    host: its VM ended, or the host hung)."""
    vcpu = breakdown[breakdown["scope"].str.contains(".vcpu")]
    busy = vcpu[~vcpu["category"].isin(["idle", "queueing", "paused"])].groupby("vm")["seconds"].sum()
    paused = vcpu[vcpu["category"] == "paused"].groupby("vm")["seconds"].sum()
    out = pd.DataFrame({"vcpu_busy_s": busy, "vcpu_paused_s": paused}).fillna(0.0)
    return out.rename_axis("vm").reset_index()


def availability(configs: Mapping[str, Configuration] | Sequence[str] | None = None,
                 hardware: str = "skylake-sp-2017", vms: Sequence[str] = _VMS, years: float = 1.0,
                 replications: int = 200, seed: int = 0, points: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each configuration's VM availability over ``years`` by Monte Carlo.

    Each replication draws the failure rates and every software's size (:func:`kit.costs.failure_rates.sample`),
    the recovery costs (:func:`kit.costs.recovery.sample`) and the lifecycle's, which restarting a VM takes
    (:func:`kit.costs.lifecycle.sample`), from their plausible ranges, then each component's
    failures as a Poisson process (a share of them hangs), with common random numbers across configurations (the
    same draws and the same component's failure times in each), and charges each VM the time its service is unavailable
    by each failure's plan (its I/O stalled or the VM down until it is back). Returns the summary (per
    configuration: the mean availability over replications and VMs with its 95% Student's t interval, the 2.5th and
    97.5th percentiles of the replications, which hold the model's uncertainty, the expected failures, VM ends and
    I/O stalls per year, and the components whose code is not published and so carry no rate) and the course over
    the horizon (the cumulative availability at ``points`` times: the mean with its 95% interval, and the
    percentiles). The guest's own failures
    are left out: the comparison is of what the host adds.
    """
    if replications < 2:
        raise HvkitError("an interval needs at least two replications", field="replications", value=replications,
                         allowed="2 or more")
    data = load_tcb()
    sizes = {k: (s.low, s.high) for k, s in data.software.items()}
    horizon = years * 365.25 * 86400.0
    grid = np.linspace(horizon / points, horizon, points)
    summary, curves = [], []
    for name, cfg in _configs(configs).items():
        fd = _domains(cfg, hardware, vms)
        parts = [c for c in fd.components if c.role != "guest"]
        avail, ends, stalls, fails = [], [], [], []
        unpublished = sorted({c.id for c in parts if not c.code})
        curve = np.zeros((replications, points))
        for r in range(replications):
            # common random numbers: every configuration draws replication r's constants, and a component's
            # failures, from the same streams, so that configurations differ by their structure, not by luck
            rng = np.random.default_rng(np.random.SeedSequence([seed, r]))
            draws = fr.sample(rng, sizes)
            costs = {**rc.sample(rng), **lc.sample(rng)}
            kloc = {k: draws[f"kloc:{k}"] for k in sizes}
            down = np.zeros((len(vms), points))
            total = np.zeros(len(vms))
            n_end = n_stall = n_fail = 0
            for c in parts:
                lam = fr.rate(c.role, c.code, kloc, draws)
                if lam is None:
                    continue
                crng = np.random.default_rng(np.random.SeedSequence([seed, r, _stable(f"{c.id}:{c.vm}")]))
                for t in crng.uniform(0.0, horizon, crng.poisson(lam * years)):
                    mode = "hang" if crng.random() < draws["HANG_SHARE"] else "crash"
                    p = plan(fd, c.id, mode, float(t), vms[c.vm] if c.vm is not None else None, costs)
                    n_fail += 1
                    for i, e in p.vms.items():
                        n_end += e.effect == "dies"
                        n_stall += e.effect == "io stall"
                        for w0, w1 in _spans(e.windows):
                            w1 = min(w1, horizon)
                            total[i] += max(0.0, w1 - w0)
                            down[i] += np.clip(np.minimum(w1, grid) - w0, 0.0, None)
            avail.append(float(np.mean(1.0 - np.minimum(total, horizon) / horizon)))
            curve[len(avail) - 1] = 1.0 - np.minimum(down, grid).mean(axis=0) / grid
            ends.append(n_end / years)
            stalls.append(n_stall / years)
            fails.append(n_fail / years)
        mean, half = t_interval(avail)
        summary.append({"configuration": name, "hypervisor": cfg[0], "availability": mean,
                        "ci_low": mean - (half or 0.0), "ci_high": mean + (half or 0.0),
                        "p2_5": float(np.percentile(avail, 2.5)), "p97_5": float(np.percentile(avail, 97.5)),
                        "downtime_min_per_year": (1.0 - mean) * 365.25 * 1440.0,
                        "failures_per_year": float(np.mean(fails)), "vm_ends_per_year": float(np.mean(ends)),
                        "io_stalls_per_year": float(np.mean(stalls)), "replications": replications,
                        "unrated_components": ", ".join(unpublished)})
        for k, t in enumerate(grid):
            col = curve[:, k]
            m, h = t_interval([float(x) for x in col])
            curves.append({"configuration": name, "days": t / 86400.0, "availability": m,
                           "ci_low": m - (h or 0.0), "ci_high": m + (h or 0.0),
                           "p2_5": float(np.percentile(col, 2.5)), "p97_5": float(np.percentile(col, 97.5))})
    return pd.DataFrame(summary), pd.DataFrame(curves)


def _spans(windows) -> list[tuple[float, float]]:
    """The disjoint spans ``windows`` cover (a VM down on both paths counts once)."""
    out: list[list[float]] = []
    for s, e in sorted((w.start, w.end) for w in windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _stable(name: str) -> int:
    """A seed of ``name`` that is the same in every process (``hash`` is salted per process)."""
    return sum((k + 1) * ord(ch) for k, ch in enumerate(name))


#: How a guest relies on a component: it runs beneath the guest (and could read or change its memory), it is on the
#: guest's I/O paths (sees its I/O), or it manages the guest's life
RELATIONS = ("beneath", "I/O path", "management")


def tcb(configs: Mapping[str, Configuration] | Sequence[str] | None = None,
        hardware: str = "skylake-sp-2017") -> pd.DataFrame:
    """What a guest relies on, per configuration: one row per component beneath it, on its I/O paths or managing it,
    with the software it is made of, its size in thousands of lines (and plausible range) and the source; a
    component whose code is not published has no size."""
    data = load_tcb()
    rows = []
    for name, cfg in _configs(configs).items():
        fd = _domains(cfg, hardware, ("guest",))
        io_domains = {c.domain for p in fd.paths[0].values() for c in p}
        for c in fd.components:
            d = fd.domains[c.domain]
            if c.role == "guest":
                continue
            if c.role == "toolstack":
                rel = "management"
            elif d.kind in ("hypervisor", "kernel", "service-vm") or (d.kind == "process" and d.vm == 0):
                # privileged over the guest: the hypervisor, the host kernel, the service VM (which maps any
                # guest's memory), and the guest's own VMM or device model (which maps its memory)
                rel = "beneath"
            elif c.domain in io_domains:  # a driver domain: it sees the guest's I/O, not its memory
                rel = "I/O path"
            else:
                continue
            sw = [data.software[k] for k in c.code]
            rows.append({"configuration": name, "component": c.id, "label": c.label, "relation": rel,
                         "domain": c.domain, "software": "; ".join(s.name for s in sw),
                         "kloc": sum(s.kloc for s in sw) if sw else math.nan,
                         "kloc_low": sum(s.low for s in sw) if sw else math.nan,
                         "kloc_high": sum(s.high for s in sw) if sw else math.nan,
                         "source": " | ".join(s.source for s in sw) if sw else "not published"})
    return pd.DataFrame(rows)


def tcb_totals(table: pd.DataFrame) -> pd.DataFrame:
    """The :func:`tcb` table summed per configuration and relation (thousands of lines, with the ranges' sums)."""
    g = table.groupby(["configuration", "relation"], sort=False)[["kloc", "kloc_low", "kloc_high"]].sum(min_count=1)
    return g.reset_index()
