"""``migrate``: live-migrate a VM while its workload runs, and report what it cost.

:func:`migrate` resolves a :class:`~kit.inputs.spec.Spec`, runs its workload on a simulated host and, after a
warm-up, migrates the first VM with pre-copy or post-copy (:mod:`kit.sim.migrator`). The hosts are identical:
after the switch the same simulated host stands for the target. The result, a :class:`Migration`, holds the
summary (total time, downtime, rounds, bytes, CPU of the migration threads on both hosts, tracking cost), one row
per round, and the guest's throughput, latency and the migration's link use over time.
"""
from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from .costs.tracking import Tracking, Transfer, choose_method
from .errors import HvkitError
from .inputs.coerce import to_bool, to_number
from .inputs.resolve import Resolved, resolve
from .inputs.spec import Spec
from .inputs.workloads import GUEST_OS_MIB, writable_set
from .sim import drivers
from .sim.host import Host
from .sim.lifecycle import MigrationLoad
from .sim.migrator import MigrationConfig, Migrator

__all__ = ["migrate", "source_load", "Migration", "METHODS", "POLICIES", "ROUND_COLUMNS", "TIMELINE_COLUMNS"]

METHODS = ("pre-copy", "post-copy")
POLICIES = ("auto", "xen", "qemu")
ROUND_COLUMNS = ["round", "kind", "start_s", "end_s", "pages", "zero_pages", "skipped", "bytes", "rate_mbps",
                 "dirtied", "first_writes"]
TIMELINE_COLUMNS = ["t_s", "phase", "units_per_s", "relative_throughput", "latency_mean_us", "latency_p99_us",
                    "requests", "migration_mbps", "tracking_share"]


@dataclass
class Migration:
    """What one live migration did.

    Attributes
    ----------
    summary : dict
        ``method``, ``total_s`` (from the first page sent to the last page received), ``downtime_ms`` (the VM
        paused), ``rounds`` (pre-copy rounds including the stop-and-copy; 0 for post-copy), ``bytes_sent``,
        ``pages_sent``, the CPU seconds of the migration threads on the source and the target
        (``source_cpu_s``, ``target_cpu_s``), the guest's CPU seconds for dirty tracking under pre-copy or for its
        network faults under post-copy (``tracking_cpu_s``), its first writes and faults, whether it converged and why it stopped, the guest's throughput
        before (``throughput_before``, units/s, and ``page_writes_per_s``, its rate of page writes: the dirty
        rate the migration chases) and during the migration.
    rounds : DataFrame
        One row per round (``ROUND_COLUMNS``).
    timeline : DataFrame
        One row per time bin (``TIMELINE_COLUMNS``): the guest's throughput (also relative to before the
        migration), request latency, the link use of the migration and the share of vCPU time spent on tracking.
    breakdown : DataFrame
        Seconds per entity and category over the whole run (``scope, entity, category, seconds``).
    """

    summary: dict
    rounds: pd.DataFrame
    timeline: pd.DataFrame
    breakdown: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scope", "entity", "category",
                                                                                  "seconds"]))
    spec: Spec | None = None

    def to_record(self) -> dict:
        """The JSON form (``hvkit migrate --json``): the summary and the rounds."""
        rec = {k: _py(v) for k, v in self.summary.items()}
        rec["rounds_table"] = [{k: _py(v) for k, v in row.items()} for row in self.rounds.to_dict("records")]
        return rec


def _py(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return round(v, 9)
    return v


def _option(value: Any, name: str, *, positive: bool = True) -> float:
    num = to_number(value, field=name)
    if positive and num <= 0:
        raise HvkitError("must be positive", field=name, value=value, allowed="a number > 0")
    if not positive and num < 0:
        raise HvkitError("must not be negative", field=name, value=value, allowed="a number >= 0")
    return float(num)


def migrate(spec: Spec, *, link_gbps: float | None = None, method: str = "pre-copy", vm_mib: float | None = None,
            used_mib: float | None = None, policy: str = "auto", tracking: str = "auto",
            compression: bool = False, zero_pages: bool | None = None, shared_link: bool = True,
            start_s: float | None = None, tail_s: float = 0.2, reference: bool = True, max_mbps: float | None = None, min_mbps: float | None = None,
            downtime_limit_ms: float | None = None, max_s: float = 600.0, bin_s: float | None = None) -> Migration:
    """Live-migrate the first VM of ``spec`` while its workload runs.

    Parameters
    ----------
    spec : Spec
        Hardware, mode, workload and knobs (``spec.duration`` is not used: the run lasts until the migration is
        over plus ``tail_s``).
    link_gbps : float, optional
        Line rate of the migration link (default: the profile's NIC). With ``shared_link`` the link *is* the
        host's NIC, shared with the workload's own traffic, and this sets its rate.
    method : {"pre-copy", "post-copy"}
    vm_mib : float, optional
        Memory of the VM (default: the workload's footprint plus the guest OS, rounded up to a power of two).
    used_mib : float, optional
        Memory holding non-zero data when the migration starts (default: the whole VM, as in a VM that has run
        long enough to fill its page cache); the rest is zero pages, which ``zero_pages`` elides.
    policy : {"auto", "xen", "qemu"}
        When pre-copy stops iterating: Xen's adaptive rate and stop conditions, or QEMU's bandwidth cap and
        downtime limit (``auto``: Xen's for Xen, QEMU's otherwise).
    tracking : str
        Dirty-tracking method (:data:`kit.costs.tracking.METHODS`) or ``auto``, the mode's own on this CPU.
    compression, zero_pages : bool
        Compress pages (zlib), and send zero pages as headers only (default: on under QEMU's policy, which
        always checks for them, off under Xen's of 2005).
    start_s, tail_s : float
        Simulated seconds of the workload before the migration starts (default: the workload's default duration,
        at least 0.2 s) and after it ends.
    reference : bool
        Also run the same host without the migration (same seed, so the same work until the migration starts) and
        express the guest's throughput in each bin relative to it.
    max_mbps, min_mbps, downtime_limit_ms : float, optional
        Override the policy's rates (Mbit/s) and QEMU's downtime limit.
    max_s : float
        Give up iterating after this many seconds of pre-copy.
    bin_s : float, optional
        Width of the timeline's bins (default: a hundredth of the run, at least 5 ms).

    Raises
    ------
    HvkitError
        For a bad option or a mode that cannot be migrated (native, containers, nested guests).
    """
    if not isinstance(spec, Spec):
        raise HvkitError("migrate() takes a kit.Spec", value=type(spec).__name__, allowed="kit.Spec(...)")
    if method not in METHODS:
        raise HvkitError("unknown migration method", field="method", value=method, allowed=list(METHODS))
    if policy not in POLICIES:
        raise HvkitError("unknown pre-copy policy", field="policy", value=policy, allowed=list(POLICIES))
    compression = to_bool(compression, field="compression")
    shared_link = to_bool(shared_link, field="shared_link")
    start = None if start_s is None else _option(start_s, "start_s")
    tail = _option(tail_s, "tail_s", positive=False)
    limit = _option(max_s, "max_s")
    if link_gbps is not None:
        gbps = _option(link_gbps, "link_gbps")
        if shared_link:
            spec = spec.with_sets([("hw.nic_gbps", gbps)])
    # the migration pauses the guest, charges tracking per first write and samples completed work every few
    # milliseconds: outcomes that depend on each item's progress, which only the discrete engine simulates
    spec = spec.replace(engine="discrete")
    res = resolve(spec)
    hw, mode, wl = res.hw, res.mode, res.workload
    if start is None:
        start = max(0.2, float(wl.default_duration))
    gbps = float(hw.val("nic_gbps")) if link_gbps is None else gbps
    method_t = choose_method(hw, mode, tracking)  # also refuses what cannot be migrated
    pol = policy if policy != "auto" else ("xen" if mode.family == "xen" else "qemu")
    ws = writable_set(wl)
    if vm_mib is None:
        need = wl.footprint_mib + GUEST_OS_MIB[0]
        vm = float(2 ** math.ceil(math.log2(max(need, 64.0))))
    else:
        vm = _option(vm_mib, "vm_mib")
    used = vm if used_mib is None else min(vm, _option(used_mib, "used_mib"))
    zp = (pol == "qemu") if zero_pages is None else to_bool(zero_pages, field="zero_pages")
    cfg = MigrationConfig(method=method, vm_mib=vm, used_mib=used, policy=pol, tracking=method_t, link_gbps=gbps,
                          shared_link=shared_link, compression=compression, zero_pages=zp, start_s=start,
                          tail_s=tail, max_s=limit,
                          max_mbps=None if max_mbps is None else _option(max_mbps, "max_mbps"),
                          min_mbps=None if min_mbps is None else _option(min_mbps, "min_mbps"),
                          downtime_limit_ms=(None if downtime_limit_ms is None
                                             else _option(downtime_limit_ms, "downtime_limit_ms")))
    return _simulate(spec, res, cfg, ws, to_bool(reference, field="reference"), bin_s)


def _simulate(spec: Spec, res: Resolved, cfg: MigrationConfig, ws: Any, reference: bool,
              bin_s: float | None) -> Migration:
    """Run the host with the migration until it is over, plus its tail; then the reference run and the result."""
    hw, mode = res.hw, res.mode
    host = Host(res)
    trk = Tracking(hw, mode, cfg.tracking)
    transfer = Transfer(hw, mode, compression=cfg.compression, zero_pages=cfg.zero_pages)
    migrator = Migrator(host, cfg, trk, transfer, ws, spec.seed)
    migrator.start()
    drivers.start(host)
    env = host.env
    env.run(until=env.any_of([migrator.done, env.timeout(cfg.start_s + cfg.max_s + 60.0)]))
    if not migrator.done.triggered:
        raise HvkitError("the migration did not finish in simulated time", where=spec.label(), field="max_s",
                         value=cfg.max_s, allowed="a longer max_s or a faster link")
    end = env.now
    for r in host.vms + host.neighbors + list(host.backends.values()):
        r.flush(end, host.freq)
    ref = _reference(res, end, cfg.tick_s) if reference else None
    return _result(spec, host, migrator, cfg, end, bin_s, ref)


def _reference(res: Resolved, end: float, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Times and units of the first VM on the same host without a migration."""
    host = Host(res)
    times: list[float] = [0.0]
    units: list[float] = [0.0]

    def sampler() -> Generator[simpy.Event, Any, None]:
        while True:
            yield host.env.timeout(tick)
            times.append(host.env.now)
            units.append(sum(e.units for e in host.vms[0].entities))

    host.env.process(sampler())
    drivers.start(host)
    host.env.run(until=end + tick / 2)
    return np.array(times), np.array(units)


def _result(spec: Spec, host: Host, mig: Migrator, cfg: MigrationConfig, end: float, bin_s: float | None,
            ref: tuple[np.ndarray, np.ndarray] | None) -> Migration:
    rep, wl, freq = mig.report, host.wl, host.freq
    rounds = pd.DataFrame([{"round": r.index, "kind": r.kind, "start_s": r.start_s, "end_s": r.end_s,
                            "pages": r.pages, "zero_pages": r.zero_pages, "skipped": r.skipped, "bytes": r.bytes,
                            "rate_mbps": r.rate_mbps, "dirtied": r.dirtied, "first_writes": r.first_writes}
                           for r in rep.rounds], columns=ROUND_COLUMNS)
    timeline = _timeline(host, mig, end, bin_s, ref)
    base = _baseline_rate(mig, rep.start_s)
    t = np.array([0.0] + [x.t for x in rep.samples])
    u = np.array([0.0] + [x.units for x in rep.samples])
    done = float(np.interp(rep.end_s, t, u) - np.interp(rep.start_s, t, u))
    if ref is not None:
        expected = float(np.interp(rep.end_s, *ref) - np.interp(rep.start_s, *ref))
    else:
        expected = base * (rep.end_s - rep.start_s)
    n_pre = int((rounds["kind"].isin(["pre-copy", "stop-and-copy"])).sum())
    vcpu_s = sum(sec for e in mig.vm.entities for c, sec in e.acct.items() if c not in ("idle", "queueing", "paused"))
    _, starts, lats = host.latencies.columns()
    ends = starts + lats
    lat_b = list(lats[ends <= rep.start_s])
    lat_d = list(lats[(ends > rep.start_s) & (ends <= rep.end_s)])
    summary = {
        "method": cfg.method, "hardware": host.hw.id, "hypervisor": host.mode.name, "workload": wl.id,
        "tracking": cfg.tracking if cfg.method == "pre-copy" else "none",
        "policy": cfg.policy if cfg.method == "pre-copy" else "none", "link_gbps": cfg.link_gbps, "shared_link": cfg.shared_link,
        "compression": cfg.compression, "zero_pages": cfg.zero_pages, "vm_mib": cfg.vm_mib, "used_mib": cfg.used_mib,
        "vcpus": spec.vcpus, "seed": spec.seed,
        "start_s": rep.start_s, "total_s": rep.end_s - rep.start_s, "downtime_ms": (rep.resume_s - rep.pause_s) * 1e3,
        "rounds": n_pre, "bytes_sent": rep.bytes, "pages_sent": rep.pages,
        "memory_factor": rep.pages / mig.n, "converged": rep.converged, "stop_reason": rep.stop_reason,
        "source_cpu_s": rep.source_cycles / freq, "target_cpu_s": rep.target_cycles / freq,
        "tracking_cpu_s": rep.tracking_cycles / freq, "first_writes": rep.first_writes,
        "tracking_exits": rep.tracking_exits, "postcopy_faults": rep.faults, "postcopy_stall_s": rep.stall_s,
        "throughput_before": base,
        "page_writes_per_s": base * mig.ws.pages_per_unit if base > 0 else float("nan"),
        "relative_throughput_during": done / expected if expected > 0 else float("nan"),
        "latency_p99_before_us": float(np.percentile(lat_b, 99)) * 1e6 if lat_b else float("nan"),
        "latency_p99_during_us": float(np.percentile(lat_d, 99)) * 1e6 if lat_d else float("nan"),
        "guest_vcpu_busy_s": vcpu_s, "simulated_s": end,
    }
    brows = []
    for r in host.vms + host.neighbors + list(host.backends.values()):
        for ent in r.entities:
            for cat, sec in sorted(ent.acct.items()):
                if sec > 0:
                    brows.append({"scope": ent.scope, "entity": r.kind, "category": cat, "seconds": sec})
    return Migration(summary, rounds, timeline, pd.DataFrame(brows, columns=["scope", "entity", "category", "seconds"]),
                     spec)


def _baseline_rate(mig: Migrator, start: float) -> float:
    """Units per second in the second half of the warm-up (the first half fills the queues)."""
    s = [x for x in mig.report.samples if start / 2 <= x.t <= start]
    if len(s) < 2 or s[-1].t <= s[0].t:
        return float("nan")
    return (s[-1].units - s[0].units) / (s[-1].t - s[0].t)


def _timeline(host: Host, mig: Migrator, end: float, bin_s: float | None,
              ref: tuple[np.ndarray, np.ndarray] | None) -> pd.DataFrame:
    samples = mig.report.samples
    if not samples:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    width = bin_s or max(5e-3, end / 100.0)
    edges = np.arange(0.0, end + width / 2, width)
    t = np.array([0.0] + [s.t for s in samples])
    units = np.array([0.0] + [s.units for s in samples])
    sent = np.array([0.0] + [s.bytes for s in samples])
    track = np.array([0.0] + [s.tracking_s for s in samples])
    u_at = np.interp(edges, t, units)
    b_at = np.interp(edges, t, sent)
    tr_at = np.interp(edges, t, track)
    base = _baseline_rate(mig, mig.report.start_s)
    r_at = np.interp(edges, *ref) if ref is not None else None
    lat = pd.DataFrame(dict(zip(["vm", "start", "latency"], host.latencies.columns())))
    lat = lat[lat["vm"] == 0]
    done_at = (lat["start"] + lat["latency"]).to_numpy()
    phases = [s.phase for s in samples]
    st = np.array([s.t for s in samples])
    nv = len(mig.vm.entities)
    rows = []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        ua, ub, ba, bb, ta, tb = u_at[i], u_at[i + 1], b_at[i], b_at[i + 1], tr_at[i], tr_at[i + 1]
        rate = (ub - ua) / (b - a)
        if r_at is not None:
            expect = r_at[i + 1] - r_at[i]
            relative = (ub - ua) / expect if expect > 0 else float("nan")
        else:
            relative = rate / base if base > 0 else float("nan")
        inside = (done_at > a) & (done_at <= b)
        lats = lat["latency"].to_numpy()[inside] * 1e6
        k = min(len(phases) - 1, int(np.searchsorted(st, b, side="left")))
        rows.append({"t_s": b, "phase": phases[k], "units_per_s": rate,
                     "relative_throughput": relative,
                     "latency_mean_us": float(lats.mean()) if len(lats) else float("nan"),
                     "latency_p99_us": float(np.percentile(lats, 99)) if len(lats) else float("nan"),
                     "requests": int(inside.sum()), "migration_mbps": (bb - ba) * 8 / (b - a) / 1e6,
                     "tracking_share": (tb - ta) / ((b - a) * nv)})
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def source_load(spec: Spec, **options: Any) -> MigrationLoad:
    """What live-migrating ``spec``'s VM (:func:`migrate` with ``options``, without its reference run) puts on the
    source host: its duration, the VM's downtime, the bytes sent and the sender's CPU (a scenario's ``migrate``
    lifecycle event replays them there, :mod:`kit.sim.lifecycle`)."""
    s = migrate(spec, **{"reference": False, **options}).summary
    return MigrationLoad(total_s=float(s["total_s"]), downtime_s=float(s["downtime_ms"]) / 1e3,
                         bytes_sent=float(s["bytes_sent"]), source_cpu_s=float(s["source_cpu_s"]))
