"""The VM lifecycle: create, boot (firmware, kernel, init), pause and unpause, save and restore, snapshot and clone,
live migrate, shut down and destroy, as timed operations of a mode on a host.

- :func:`timeline`: one VM's operations one after another on an otherwise idle host, phase by phase
  (:func:`kit.costs.lifecycle.operation`, a live migration by :func:`kit.live_migration.migrate`), each phase with
  its resource and its start and end: what ``hvkit lifecycle`` prints.
- :func:`boot_time`: create and boot to the guest's init, per mode (the boot of Agache et al.'s Firecracker
  comparison, end to end or with the VMM configured beforehand).
- :func:`sensitivity`: what each estimated constant moves an operation's time by, from its low to its high value.
- :func:`run_lifecycle`: a scenario's ``lifecycle:`` events on the simulated host, where operations compete with
  the other VMs (the toolstack on dom0's vCPUs or a host thread, a booting guest on the CPUs, saves and restores on
  the disk, a migration on the NIC), against the same scenario without them: each VM's timeline and what its
  neighbours lost.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .costs import lifecycle as lc
from .errors import HvkitError
from .inputs.hardware import Hardware, load_hardware
from .inputs.modes import Mode, hypervisor
from .inputs.scenario import Scenario
from .sim.lifecycle import MigrationLoad

__all__ = ["timeline", "boot_time", "sensitivity", "run_lifecycle", "neighbour_latency", "DEFAULT_OPS"]

#: The life ``hvkit lifecycle`` shows when no operations are given
DEFAULT_OPS = ("create", "boot", "pause", "unpause", "snapshot", "shutdown")


def _platform(hardware: str | Hardware, hypervisor_name: str | Mode, mode: Mapping[str, Any] | None,
              hw: Mapping[str, Any] | None) -> tuple[Hardware, Mode]:
    h = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    h = h.with_overrides(dict(hw or {}))
    m = hypervisor_name if isinstance(hypervisor_name, Mode) else hypervisor(hypervisor_name, h, **dict(mode or {}))
    return h, m


def timeline(hardware: str | Hardware, hypervisor_name: str | Mode, ops: Sequence[str] = DEFAULT_OPS, *,
             memory_mib: float = 1024.0, vcpus: int = 1, touched_mib: float | None = None, preconfigured: bool = False,
             mode: Mapping[str, Any] | None = None, hw: Mapping[str, Any] | None = None,
             workload: str = "netperf-rr", migrate: Mapping[str, Any] | None = None,
             draws: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One VM's ``ops`` one after another on an idle host: a row per phase (operation, phase, resource, amount,
    start and end in seconds, what happens). A ``migrate`` runs :func:`kit.live_migration.migrate` with ``workload``
    in the VM (``migrate`` options passed on)."""
    from .inputs.events import LIFECYCLE_OPS
    for op in ops:
        if op not in LIFECYCLE_OPS:
            raise HvkitError("not a lifecycle operation", field="ops", value=op, allowed=list(LIFECYCLE_OPS))
    h, m = _platform(hardware, hypervisor_name, mode, hw)
    shape = lc.VmShape(memory_mib=memory_mib, vcpus=vcpus, touched_mib=touched_mib, preconfigured=preconfigured)
    rows, t = [], 0.0
    for op in ops:
        if op == "migrate":
            if isinstance(hardware, Hardware) or isinstance(hypervisor_name, Mode):
                raise HvkitError("a migration in a timeline names its hardware and mode", field="ops", value=op,
                                 allowed="hardware and hypervisor given by name")
            mig = _migration(hardware, hypervisor_name, dict(mode or {}), workload, vcpus, memory_mib,
                             dict(migrate or {}), hw=hw)
            for phase, length, what in (("pre-copy", mig.total_s - mig.downtime_s, "memory sent while the VM runs"),
                                        ("stop-and-copy", mig.downtime_s, "the VM stops; the last pages and its "
                                                                          "state are sent")):
                rows.append({"op": op, "phase": phase, "resource": "net" if phase == "pre-copy" else "wait",
                             "amount": length, "start_s": t, "end_s": t + length, "what": what})
                t += length
            continue
        for p in lc.operation(op, m, h, shape, draws):
            s = lc.seconds(p, h)
            rows.append({"op": op, "phase": p.phase, "resource": p.resource, "amount": p.amount, "start_s": t,
                         "end_s": t + s, "what": p.what})
            t += s
    return pd.DataFrame(rows, columns=["op", "phase", "resource", "amount", "start_s", "end_s", "what"])


def boot_time(hardware: str | Hardware, hypervisors: Sequence[str], *, memory_mib: float = 128.0,
              preconfigured: bool = False, hw: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Create and boot to init, per mode, on an idle host: the seconds of each phase and the total."""
    rows = []
    for name in hypervisors:
        t = timeline(hardware, name, ("create", "boot"), memory_mib=memory_mib, preconfigured=preconfigured, hw=hw)
        row: dict[str, Any] = {"hypervisor": name, "boot_to_init_s": float(t["end_s"].max()) if len(t) else 0.0}
        for phase, d in t.groupby("phase", sort=False):
            row[phase] = float((d["end_s"] - d["start_s"]).sum())
        rows.append(row)
    return pd.DataFrame(rows).fillna(0.0)


def sensitivity(hardware: str | Hardware, hypervisor_name: str | Mode, op: str = "boot", *,
                memory_mib: float = 1024.0, mode: Mapping[str, Any] | None = None,
                hw: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Operation ``op``'s time with each constant it uses at the low and the high end of its plausible range (the
    others at their values), largest swing first: which estimates the answer rests on."""
    h, m = _platform(hardware, hypervisor_name, mode, hw)
    shape = lc.VmShape(memory_mib=memory_mib)

    def total(draws: Mapping[str, float] | None = None) -> float:
        return sum(lc.seconds(p, h) for p in lc.operation(op, m, h, shape, draws))
    base = total()
    names: list[tuple[str, tuple[float, float]]] = [(k, c[2]) for k, c in lc.COSTS.items()]
    for table in ("VMM_START_S", "FIRMWARE_S", "KERNEL_IMAGE_MIB"):
        names += [(f"{table}:{k}", c[2]) for k, c in getattr(lc, table).items()]
    rows = []
    for name, (low, high) in names:
        lo, hi = total({name: low}), total({name: high})
        if lo != base or hi != base:
            rows.append({"constant": name, "low": low, "high": high, "seconds_at_low": lo, "seconds": base,
                         "seconds_at_high": hi, "swing_s": abs(hi - lo)})
    return pd.DataFrame(rows).sort_values("swing_s", ascending=False, kind="stable").reset_index(drop=True)


def _migration(hardware: str, name: str, overrides: Mapping[str, Any], workload: str, vcpus: int, memory_mib: float,
               options: Mapping[str, Any], hw: Mapping[str, Any] | None = None) -> MigrationLoad:
    from .inputs.spec import Spec
    from .live_migration import source_load
    spec = Spec.make(hardware=hardware, hypervisor=name, workload=workload, vcpus=vcpus, hw=dict(hw or {}),
                     mode=dict(overrides))
    return source_load(spec, vm_mib=memory_mib, **dict(options))


def run_lifecycle(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Run ``scenario`` with its ``lifecycle:`` events and without them (same seed): ``timeline`` has each VM's
    phases, ``vms`` each VM's work with and without (without, every VM runs its workload all along), and
    ``neighbours`` the other VMs' request latency during each operation against outside them
    (:func:`neighbour_latency`)."""
    from .consolidation import run_scenario
    if not scenario.lifecycle:
        raise HvkitError("a scenario with lifecycle events", field="lifecycle", value=[],
                         allowed="one or more events")
    with_l = run_scenario(scenario, alone=False, native=False)
    without = run_scenario(scenario.replace(lifecycle=[]), alone=False, native=False)
    vms = with_l.vms[["vm", "workload", "metric", "unit", "value", "units", "latency_p99_us"]].merge(
        without.vms[["vm", "value", "units", "latency_p99_us"]].rename(
            columns={"value": "value_without", "units": "units_without", "latency_p99_us": "latency_p99_us_without"}),
        on="vm")
    vms["relative_to_without"] = vms["value"] / vms["value_without"]
    vms["own_operations"] = vms["vm"].map(lambda v: ", ".join(e.op for e in scenario.lifecycle if e.vm == v))
    return {"timeline": with_l.lifecycle, "vms": vms, "latency": with_l.latency,
            "neighbours": neighbour_latency(with_l.lifecycle, with_l.latency)}


def neighbour_latency(timeline: pd.DataFrame, latency: pd.DataFrame) -> pd.DataFrame:
    """What each operation did to the other VMs' requests: per operation (VM, op, its first start and last end) and
    per other VM with requests, their count, median and 99th-percentile latency among those that began during the
    operation, and the same outside every operation."""
    if timeline.empty or latency.empty:
        return pd.DataFrame(columns=["vm", "op", "start_s", "end_s", "neighbour", "requests_during", "p50_during_us",
                                     "p99_during_us", "p50_outside_us", "p99_outside_us"])
    ops = timeline.groupby(["vm", "op"], sort=False).agg(start_s=("start_s", "min"), end_s=("end_s", "max"))
    ops = ops.reset_index()
    busy = pd.Series(False, index=latency.index)
    for _, o in ops.iterrows():
        busy |= (latency["start_s"] >= o["start_s"]) & (latency["start_s"] < o["end_s"])
    rows = []
    for _, o in ops.iterrows():
        during = (latency["start_s"] >= o["start_s"]) & (latency["start_s"] < o["end_s"])
        for nb, lat in latency[latency["vm"] != o["vm"]].groupby("vm", sort=False):
            inside = lat[during.loc[lat.index]]["latency_us"]
            outside = lat[~busy.loc[lat.index]]["latency_us"]
            rows.append({"vm": o["vm"], "op": o["op"], "start_s": o["start_s"], "end_s": o["end_s"], "neighbour": nb,
                         "requests_during": len(inside),
                         "p50_during_us": float(inside.median()) if len(inside) else float("nan"),
                         "p99_during_us": float(inside.quantile(0.99)) if len(inside) else float("nan"),
                         "p50_outside_us": float(outside.median()) if len(outside) else float("nan"),
                         "p99_outside_us": float(outside.quantile(0.99)) if len(outside) else float("nan")})
    return pd.DataFrame(rows)
