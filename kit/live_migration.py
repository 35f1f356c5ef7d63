"""``migrate``: live-migrate a VM while its workload runs, and report what it cost.

:func:`migrate` resolves a :class:`~kit.inputs.spec.Spec`, runs its workload on a simulated host and, after a
warm-up, migrates the first VM with pre-copy or post-copy. The hosts are identical: after the switch the same
simulated host stands for the target. Two engines (``engine``):

- ``rounds`` (pre-copy): the host is simulated event by event for the warm-up, the first moments of round 1 (the
  probe: page by page, as the event engine runs it) and the stop-and-copy with the resumption; the pre-copy rounds
  in between are a dirty-rate model over the workload's writable working set (:mod:`kit.sim.precopy_rounds`). A
  migration costs the warm-up and a second or so of simulated time, however long it lasts.
- ``events``: the whole migration page by page while the workload runs (:mod:`kit.sim.migrator`); post-copy always.

``auto`` takes the round model for pre-copy wherever it applies (the migrating VM's vCPUs and the migration
thread do not share physical CPUs with other entities), and says in the summary which engine ran and why. The two
agree where both run (``tests/test_migration.py``). The result, a :class:`Migration`, holds the summary (total time,
downtime and its parts, rounds, bytes, CPU of the migration threads on both hosts, tracking cost), one row per
round, and the guest's throughput, latency and the migration's link use over time.
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
from .inputs.workloads import GUEST_OS_MIB, Workload, WritableSet, writable_set
from .sim import drivers
from .sim.host import Host
from .sim.lifecycle import MigrationLoad
from .sim.migration_policy import POLICY_NAMES, PrecopyPolicy
from .sim.migrator import GuestTracking, MigrationConfig, Migrator
from .sim.precopy_rounds import GuestLoad, PrecopyOutcome, RoundModel
from .sim.wws import PageRegions

__all__ = ["migrate", "Migration", "METHODS", "POLICIES", "ENGINES", "ROUND_COLUMNS", "TIMELINE_COLUMNS",
           "MAX_WARMUP_S", "MIN_BIN_UNITS", "PROBE_UNITS", "writable_working_set", "source_load"]

METHODS = ("pre-copy", "post-copy")
POLICIES = ("auto", *POLICY_NAMES)
ENGINES = ("auto", "rounds", "events")
ROUND_COLUMNS = ["round", "kind", "start_s", "end_s", "pages", "zero_pages", "skipped", "bytes", "rate_mbps",
                 "dirtied", "first_writes", "units_per_s"]
TIMELINE_COLUMNS = ["t_s", "bin_s", "phase", "source", "units_per_s", "relative_throughput", "relative_low",
                    "relative_high", "latency_mean_us", "latency_p99_us", "requests", "migration_mbps",
                    "tracking_share"]
#: The longest warm-up and tail simulated event by event: the bound of the simulated work of a migration.
MAX_WARMUP_S = (60.0, "estimated, because a warm-up of a minute measures any preset's steady rate many times over, "
                      "while the event engine simulates about a million events per simulated second of a busy "
                      "server: a longer warm-up only costs time (a run longer than this is refused, not cut)")
#: Units of work a timeline bin holds (at the rate before the migration), unless that makes fewer than
#: :data:`MIN_BINS` bins of a simulated stretch.
MIN_BIN_UNITS = (200, "estimated, because a count of 200 units varies by about 7% from bin to bin (Poisson), so a "
                      "bin's throughput shows the migration's effect rather than the count's noise")
#: Bins of a simulated stretch at least (when it holds too few units, each bin carries its interval).
MIN_BINS = 4
#: Normal quantile of the 95% interval of a bin's count of units.
Z95 = 1.959964
#: Units of work the probe of round 1 lasts for, at most a round.
PROBE_UNITS = (500, "estimated, because 500 units give the probe's throughput and latency percentiles to a few "
                    "per cent, at a fraction of a second of simulated time for the presets")
PROBE_S = ((0.02, 0.5), "estimated, because the probe covers at least a few ticks of the migration (2 ms each) and "
                        "at most half a second, which a slow workload's 500 units may exceed")
@dataclass
class Migration:
    """What one live migration did.

    Attributes
    ----------
    summary : dict
        ``method``, ``engine`` (``rounds`` or ``events``, and ``engine_reason``), ``total_s`` (from the first page
        sent to the last page received), ``downtime_ms`` (the VM stopped) and ``downtime_parts_ms`` (suspend, the
        last pages, the CPU and device state, restore, reconnection, announcement), ``rounds`` (pre-copy rounds
        including the stop-and-copy; 0 for post-copy), ``bytes_sent``, ``pages_sent``, the CPU seconds of the
        migration threads on the source and the target (``source_cpu_s``, ``target_cpu_s``), the guest's CPU
        seconds for dirty tracking under pre-copy or for its network faults under post-copy (``tracking_cpu_s``),
        its first writes and faults, whether it converged and why it stopped, the guest's throughput before
        (``throughput_before``, units/s, and ``page_writes_per_s``, its rate of page writes: the dirty rate the
        migration chases) and during the migration, and ``warnings`` (named: ``name: text``). A number the
        migration cannot give is None (for instance the latency of requests when none finished).
    rounds : DataFrame
        One row per round (``ROUND_COLUMNS``).
    timeline : DataFrame
        One row per time bin (``TIMELINE_COLUMNS``), each ``bin_s`` wide and ending at ``t_s``: the guest's
        throughput (also relative to the same run without the migration), request latency, the link use of the
        migration and the share of vCPU time spent on tracking; ``source`` says whether the bin was simulated event
        by event or is a round of the round model (whose values are the round's means).
    breakdown : DataFrame
        Seconds per entity and category of the time simulated event by event (``scope, entity, category,
        seconds``; ``summary['simulated_s']`` seconds for each entity).
    """

    summary: dict
    rounds: pd.DataFrame
    timeline: pd.DataFrame
    breakdown: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scope", "entity", "category",
                                                                                  "seconds"]))
    spec: Spec | None = None

    def to_record(self) -> dict:
        """The JSON form (``hvkit migrate --json``): the summary and the rounds (no NaN: a missing number is None)."""
        rec = {k: _py(v) for k, v in self.summary.items()}
        rec["rounds_table"] = [{k: _py(v) for k, v in row.items()} for row in self.rounds.to_dict("records")]
        return rec


def _py(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return round(v, 9) if math.isfinite(v) else None
    return v


def _option(value: Any, name: str, *, positive: bool = True, most: float | None = None, why: str = "") -> float:
    num = to_number(value, field=name)
    if positive and num <= 0:
        raise HvkitError("must be positive", field=name, value=value, allowed="a number > 0")
    if not positive and num < 0:
        raise HvkitError("must not be negative", field=name, value=value, allowed="a number >= 0")
    if most is not None and num > most:
        raise HvkitError(f"too large{': ' + why if why else ''}", field=name, value=value,
                         allowed=f"a number up to {most:g}")
    return float(num)


def writable_working_set(workload: str, units_per_s: float, windows_s: Any = (0.01, 0.1, 1.0, 10.0, 100.0),
                         vm_mib: float | None = None) -> pd.DataFrame:
    """Clark's writable working set of a workload: the distinct MiB it writes in windows of increasing length at
    ``units_per_s`` units of work per second, in all and per class of pages (hot set, pages written in order, pages
    written anywhere in the footprint), in a VM of ``vm_mib`` (default: as :func:`migrate` sizes it)."""
    from .inputs.workloads import load_workload
    wl = load_workload(workload)
    ws = writable_set(wl)
    vm = _vm_size(wl) if vm_mib is None else _option(vm_mib, "vm_mib")
    reg = PageRegions(ws, int(round(vm * 256)), int(round(wl.footprint_mib * 256)))
    rate = _option(units_per_s, "units_per_s", positive=False) * ws.pages_per_unit
    rows = []
    for w in np.asarray(windows_s, dtype=float):
        d = reg.distinct(rate, w)
        hot, ordered = d.pages[0] / 256, (d.pages[1] + d.pages[2]) * d.swept_share / 256
        rows.append({"window_s": w, "mib": d.total / 256, "hot_mib": hot, "in_order_mib": ordered,
                     "anywhere_mib": d.total / 256 - hot - ordered})
    return pd.DataFrame(rows)


def _vm_size(wl: Workload) -> float:
    need = wl.footprint_mib + GUEST_OS_MIB[0]
    return float(2 ** math.ceil(math.log2(max(need, 64.0))))


def migrate(spec: Spec, *, link_gbps: float | None = None, method: str = "pre-copy", vm_mib: float | None = None,
            used_mib: float | None = None, policy: str = "auto", tracking: str = "auto",
            compression: bool = False, zero_pages: bool | None = None, shared_link: bool = True,
            start_s: float | None = None, tail_s: float = 0.2, reference: bool = True, max_mbps: float | None = None,
            min_mbps: float | None = None, downtime_limit_ms: float | None = None, max_s: float = 600.0,
            bin_s: float | None = None, engine: str = "auto") -> Migration:
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
        Memory of the VM (default: the workload's footprint plus the guest OS, rounded up to a power of two); at
        most the host's memory.
    used_mib : float, optional
        Memory holding non-zero data when the migration starts (default: the whole VM, as in a VM that has run
        long enough to fill its page cache); the rest is zero pages, which ``zero_pages`` elides. At most
        ``vm_mib``.
    policy : {"auto", "xen", "clark", "qemu"}
        When pre-copy stops iterating (:mod:`kit.sim.migration_policy`): Xen's save tool as coded, the policy as
        Clark et al. describe it, or QEMU's bandwidth cap and downtime limit (``auto``: Xen's for Xen, QEMU's
        otherwise).
    tracking : str
        Dirty-tracking method (:data:`kit.costs.tracking.METHODS`) or ``auto``, the mode's own on this CPU.
    compression, zero_pages : bool
        Compress pages (zlib), and send zero pages as headers only (default: on under QEMU's policy, which
        always checks for them, off under Xen's of 2005).
    start_s, tail_s : float
        Simulated seconds of the workload before the migration starts (default: the workload's default duration,
        at least 0.2 s) and after it ends; each at most :data:`MAX_WARMUP_S`.
    reference : bool
        Also run the same host without the migration (same seed, so the same work until the migration starts) and
        express the guest's throughput in each bin relative to it.
    max_mbps, min_mbps, downtime_limit_ms : float, optional
        Override the policy's rates (Mbit/s) and QEMU's downtime limit.
    max_s : float
        Give up iterating after this many seconds of pre-copy.
    bin_s : float, optional
        Width of the timeline's simulated bins (default: long enough for :data:`MIN_BIN_UNITS` units, at least
        5 ms and a two-hundredth of the simulated run).
    engine : {"auto", "rounds", "events"}
        The round model of pre-copy, the event engine, or the round model where it applies (see the module).

    Raises
    ------
    HvkitError
        For a bad option or a mode that cannot be migrated (native, containers, nested guests).
    """
    _check_choices(spec, method, policy, engine)
    compression = to_bool(compression, field="compression")
    shared_link = to_bool(shared_link, field="shared_link")
    bound = MAX_WARMUP_S[0]
    start = None if start_s is None else _option(start_s, "start_s", most=bound,
                                                 why="the warm-up is simulated event by event")
    tail = _option(tail_s, "tail_s", positive=False, most=bound, why="the tail is simulated event by event")
    limit = _option(max_s, "max_s")
    width = None if bin_s is None else _option(bin_s, "bin_s")
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
        start = min(bound, max(0.2, float(wl.default_duration)))
    gbps = float(hw.val("nic_gbps")) if link_gbps is None else gbps
    method_t = choose_method(hw, mode, tracking)  # also refuses what cannot be migrated
    pol = policy if policy != "auto" else ("xen" if mode.family == "xen" else "qemu")
    ws = writable_set(wl)
    vm, used = _vm_memory(spec, res, vm_mib, used_mib)
    zp = (pol == "qemu") if zero_pages is None else to_bool(zero_pages, field="zero_pages")
    cfg = MigrationConfig(method=method, vm_mib=vm, used_mib=used, policy=pol, tracking=method_t, link_gbps=gbps,
                          shared_link=shared_link, compression=compression, zero_pages=zp, start_s=start,
                          tail_s=tail, max_s=limit,
                          max_mbps=None if max_mbps is None else _option(max_mbps, "max_mbps"),
                          min_mbps=None if min_mbps is None else _option(min_mbps, "min_mbps"),
                          downtime_limit_ms=(None if downtime_limit_ms is None
                                             else _option(downtime_limit_ms, "downtime_limit_ms")))
    return _simulate(spec, res, cfg, ws, to_bool(reference, field="reference"), width, engine)


def _check_choices(spec: Spec, method: str, policy: str, engine: str) -> None:
    """Refuse a spec that is not one, or a method, policy or engine :func:`migrate` does not know."""
    if not isinstance(spec, Spec):
        raise HvkitError("migrate() takes a kit.Spec", value=type(spec).__name__, allowed="kit.Spec(...)")
    if method not in METHODS:
        raise HvkitError("unknown migration method", field="method", value=method, allowed=list(METHODS))
    if policy not in POLICIES:
        raise HvkitError("unknown pre-copy policy", field="policy", value=policy, allowed=list(POLICIES))
    if engine not in ENGINES:
        raise HvkitError("unknown migration engine", field="engine", value=engine, allowed=list(ENGINES))
    if engine == "rounds" and method == "post-copy":
        raise HvkitError("the round model is pre-copy's; post-copy runs page by page", field="engine", value=engine,
                         allowed=["auto", "events"])


def _vm_memory(spec: Spec, res: Resolved, vm_mib: float | None, used_mib: float | None) -> tuple[float, float]:
    """The VM's memory and the part of it holding non-zero data, in MiB (see :func:`migrate`): the VM at most the
    host's memory, the used part at most the VM."""
    hw, wl = res.hw, res.workload
    host_mib = float(hw.val("memory_gib")) * 1024.0
    if vm_mib is None:
        vm = _vm_size(wl)
    else:
        vm = _option(vm_mib, "vm_mib", most=host_mib, why=f"a VM fits in the host's memory ({hw.id}: "
                                                           f"{hw.val('memory_gib'):g} GiB)")
    if vm > host_mib:
        raise HvkitError("the VM does not fit in the host's memory: give --vm-mib", where=spec.label(),
                         field="vm_mib", value=vm, allowed=f"up to {host_mib:g} MiB")
    used = vm if used_mib is None else _option(used_mib, "used_mib")
    if used > vm:
        raise HvkitError("more memory in use than the VM has", field="used_mib", value=used_mib,
                         allowed=f"up to vm_mib ({vm:g} MiB)")
    return vm, used


def _shares_cpus(host: Host) -> bool:
    """Whether the host's entities (vCPUs, backends, the migration thread) may want more CPUs than it has."""
    entities = sum(len(r.entities) for r in host.vms + host.neighbors + list(host.backends.values()))
    return entities > host.sched.n or bool(host.spec.pin)


def _simulate(spec: Spec, res: Resolved, cfg: MigrationConfig, ws: WritableSet, reference: bool,
              bin_s: float | None, engine: str) -> Migration:
    """Run the host with the migration until it is over, plus its tail; then the reference run and the result."""
    hw, mode = res.hw, res.mode
    host = Host(res)
    trk = Tracking(hw, mode, cfg.tracking)
    transfer = Transfer(hw, mode, compression=cfg.compression, zero_pages=cfg.zero_pages)
    migrator = Migrator(host, cfg, trk, transfer, ws, spec.seed)
    chosen, why = engine, "asked for"
    if engine == "auto":
        if cfg.method == "post-copy":
            chosen, why = "events", "post-copy runs page by page"
        elif _shares_cpus(host):
            chosen, why = "events", "the migrating VM or the migration thread shares physical CPUs"
        else:
            chosen, why = "rounds", "pre-copy on CPUs of its own"
    if chosen == "rounds":
        n_used = min(migrator.n, max(migrator.footprint, int(round(cfg.used_mib * 256))))

        def model_for(measured: dict[str, float]) -> RoundModel:
            load = GuestLoad(units_per_s=measured["units_per_s"], vcpu_busy=measured["vcpu_busy"],
                             vcpus=int(measured["vcpus"]), link_s_per_unit=measured["link_s_per_unit"],
                             thread_busy=measured["thread_busy"], thread_cpus=int(measured["thread_cpus"]))
            return RoundModel(migrator.regions, ws.pages_per_unit,
                              PrecopyPolicy(cfg.policy, cfg.max_mbps, cfg.min_mbps, cfg.downtime_limit_ms),
                              GuestTracking(host, trk), trk, transfer, load, host.freq, cfg.link_gbps * 1e9,
                              n_used, cfg.max_s)

        def probe_for(measured: dict[str, float]) -> float:
            lo, hi = PROBE_S[0]
            rate = measured["units_per_s"]
            return min(hi, max(lo, PROBE_UNITS[0] / rate if rate > 0 else hi))

        migrator.start_rounds(model_for, probe_for)
    else:
        migrator.start()
    drivers.start(host)
    env = host.env
    horizon = cfg.start_s + (PROBE_S[0][1] + 60.0 if chosen == "rounds" else cfg.max_s + 60.0)
    env.run(until=env.any_of([migrator.done, env.timeout(horizon)]))
    if not migrator.done.triggered:
        raise HvkitError("the migration did not finish in simulated time", where=spec.label(), field="max_s",
                         value=cfg.max_s, allowed="a longer max_s or a faster link")
    end = env.now
    for r in host.vms + host.neighbors + list(host.backends.values()):
        r.flush(end, host.freq)
    ref = _reference(res, end, cfg.tick_s) if reference else None
    return _result(spec, host, migrator, cfg, end, bin_s, ref, chosen, why)


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


@dataclass
class _Clock:
    """Simulated host time and migration time: the same, except that the rounds after the probe are modelled,
    so host time after the pause is ``shift`` seconds behind."""

    pause_h: float = float("inf")
    shift: float = 0.0

    def mig(self, t_h: Any) -> Any:
        t = np.asarray(t_h, dtype=float)
        return np.where(t >= self.pause_h, t + self.shift, t)


def _result(spec: Spec, host: Host, mig: Migrator, cfg: MigrationConfig, end: float, bin_s: float | None,
            ref: tuple[np.ndarray, np.ndarray] | None, engine: str, why: str) -> Migration:
    rep, wl, freq = mig.report, host.wl, host.freq
    clock = _Clock()
    rounds_model = engine == "rounds"
    if rounds_model:
        out = mig.outcome
        last = out.rounds[-1]
        clock = _Clock(rep.pause_s, last.end_s - rep.pause_s)
        final = rep.rounds[-1]
        final.start_s, final.end_s = float(clock.mig(final.start_s)), float(clock.mig(final.end_s))
        b0, p0, s0, t0, k0 = mig.at_pause
        bytes_sent = out.bytes + (rep.bytes - b0)
        pages_sent = out.pages + (rep.pages - p0)
        source = out.source_cycles + (rep.source_cycles - s0)
        target = out.target_cycles + (rep.target_cycles - t0)
        tracking = out.tracking_cycles + (rep.tracking_cycles - k0)
        first, exits = out.first_writes, out.tracking_exits
    else:
        bytes_sent, pages_sent = rep.bytes, rep.pages
        source, target, tracking = rep.source_cycles, rep.target_cycles, rep.tracking_cycles
        first, exits = rep.first_writes, rep.tracking_exits
    start_m = rep.start_s
    end_m = float(clock.mig(rep.end_s))
    rounds = pd.DataFrame([{"round": r.index, "kind": r.kind, "start_s": r.start_s, "end_s": r.end_s,
                            "pages": r.pages, "zero_pages": r.zero_pages, "skipped": r.skipped, "bytes": r.bytes,
                            "rate_mbps": r.rate_mbps, "dirtied": r.dirtied, "first_writes": r.first_writes,
                            "units_per_s": r.units_per_s} for r in rep.rounds], columns=ROUND_COLUMNS)
    base = _baseline_rate(mig, rep.start_s)
    t_h = np.array([0.0] + [x.t for x in rep.samples])
    u_h = np.array([0.0] + [x.units for x in rep.samples])
    if rounds_model:
        # the rounds against the rate they were modelled from (the reference's too: the same run up to the start),
        # the stop-and-copy against the reference run over the same simulated stretch
        done = (sum(r.units_per_s * (r.end_s - r.start_s) for r in out.rounds)
                + float(np.interp(rep.end_s, t_h, u_h) - np.interp(rep.pause_s, t_h, u_h)))
        stopped = (float(np.interp(rep.end_s, *ref) - np.interp(rep.pause_s, *ref)) if ref is not None
                   else base * (rep.end_s - rep.pause_s))
        expected = mig.load["units_per_s"] * (last.end_s - start_m) + stopped
    else:
        done = float(np.interp(rep.end_s, t_h, u_h) - np.interp(rep.start_s, t_h, u_h))
        expected = (float(np.interp(rep.end_s, *ref) - np.interp(rep.start_s, *ref)) if ref is not None
                    else base * (rep.end_s - rep.start_s))
    timeline = _timeline(host, mig, end, bin_s, ref, clock, base)
    n_pre = int((rounds["kind"].isin(["pre-copy", "stop-and-copy"])).sum())
    vcpu_s = sum(sec for e in mig.vm.entities for c, sec in e.acct.items() if c not in ("idle", "queueing", "paused"))
    _, starts, lats = host.latencies.columns()
    ends = starts + lats
    lat_b = lats[ends <= rep.start_s]
    lat_d = lats[(ends > rep.start_s) & (ends <= rep.end_s)]
    relative = done / expected if expected > 0 else float("nan")
    parts = {k: v * 1e3 for k, v in rep.downtime_parts.items()}
    summary = {
        "method": cfg.method, "engine": engine, "engine_reason": why, "hardware": host.hw.id,
        "hypervisor": host.mode.name, "workload": wl.id,
        "tracking": cfg.tracking if cfg.method == "pre-copy" else "none",
        "policy": cfg.policy if cfg.method == "pre-copy" else "none", "link_gbps": cfg.link_gbps,
        "shared_link": cfg.shared_link, "compression": cfg.compression, "zero_pages": cfg.zero_pages,
        "vm_mib": cfg.vm_mib, "used_mib": cfg.used_mib, "vcpus": spec.vcpus, "seed": spec.seed,
        "start_s": start_m, "total_s": end_m - start_m, "downtime_ms": (rep.resume_s - rep.pause_s) * 1e3,
        "downtime_parts_ms": parts, "rounds": n_pre, "bytes_sent": bytes_sent, "pages_sent": pages_sent,
        "memory_factor": pages_sent / mig.n, "converged": rep.converged, "stop_reason": rep.stop_reason,
        "source_cpu_s": source / freq, "target_cpu_s": target / freq, "tracking_cpu_s": tracking / freq,
        "first_writes": first, "tracking_exits": exits, "postcopy_faults": rep.faults,
        "postcopy_stall_s": rep.stall_s, "throughput_before": base,
        "page_writes_per_s": base * mig.ws.pages_per_unit if base > 0 else float("nan"),
        "relative_throughput_during": relative,
        "latency_p99_before_us": float(np.percentile(lat_b, 99)) * 1e6 if len(lat_b) else float("nan"),
        "latency_p99_during_us": float(np.percentile(lat_d, 99)) * 1e6 if len(lat_d) else float("nan"),
        "guest_vcpu_busy_s": vcpu_s, "simulated_s": end,
    }
    if rounds_model:
        summary["modelled_s"] = float(clock.shift)
        summary["probe_s"] = mig.probe.end_s - mig.probe.start_s
    summary["warnings"] = _warnings(summary, ref is not None, expected)
    brows = []
    for r in host.vms + host.neighbors + list(host.backends.values()):
        for ent in r.entities:
            for cat, sec in sorted(ent.acct.items()):
                if sec > 0:
                    brows.append({"scope": ent.scope, "entity": r.kind, "category": cat, "seconds": sec})
    return Migration(summary, rounds, timeline, pd.DataFrame(brows, columns=["scope", "entity", "category", "seconds"]),
                     spec)


#: How far above the run without the migration the guest's throughput during it may read before it is flagged
#: (or three standard deviations of the count of units it expected, if more).
FASTER_TOLERANCE = (0.02, "estimated, because the units under way at the migration's start and end move the ratio "
                          "by about a per cent for the presets at their default warm-up")


def _warnings(s: dict, with_reference: bool, expected_units: float) -> list[str]:
    """Named warnings on a migration's summary."""
    out = []
    rel = s["relative_throughput_during"]
    noise = 3.0 / math.sqrt(expected_units) if expected_units > 0 else float("inf")
    if math.isfinite(rel) and rel > 1.0 + max(FASTER_TOLERANCE[0], noise):
        against = "the same run without the migration" if with_reference else "the rate before it (no reference run)"
        out.append(f"faster-during-migration: the guest did {rel:.3f} of {against}; a migration only takes from the "
                   f"guest, so this is the noise of the comparison")
    if not s["converged"]:
        out.append(f"not-converged: {s['stop_reason']}")
    missing = [k for k in ("latency_p99_before_us", "latency_p99_during_us", "page_writes_per_s",
                           "relative_throughput_during") if not math.isfinite(s[k])]
    if missing:
        out.append("not-measured: " + ", ".join(missing) + " (no request or unit finished in the window)")
    return out


def _baseline_rate(mig: Migrator, start: float) -> float:
    """Units per second in the second half of the warm-up (the first half fills the queues)."""
    s = [x for x in mig.report.samples if start / 2 <= x.t <= start]
    if len(s) < 2 or s[-1].t <= s[0].t:
        return float("nan")
    return (s[-1].units - s[0].units) / (s[-1].t - s[0].t)


def _timeline(host: Host, mig: Migrator, end: float, bin_s: float | None, ref: tuple[np.ndarray, np.ndarray] | None,
              clock: _Clock, base: float) -> pd.DataFrame:
    """Bins of the time simulated event by event (``source`` ``simulated``) and, between the probe and the pause, one
    bin per modelled round (``modelled``: the round's means)."""
    samples = mig.report.samples
    if not samples:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    width = bin_s or max(5e-3, MIN_BIN_UNITS[0] / base if base > 0 else 0.0)
    t = np.array([0.0] + [s.t for s in samples])
    units = np.array([0.0] + [s.units for s in samples])
    sent = np.array([0.0] + [s.bytes for s in samples])
    track = np.array([0.0] + [s.tracking_s for s in samples])
    lat = pd.DataFrame(dict(zip(["vm", "start", "latency"], host.latencies.columns())))
    lat = lat[lat["vm"] == 0]
    done_at = (lat["start"] + lat["latency"]).to_numpy()
    lat_s = lat["latency"].to_numpy()
    phases = [s.phase for s in samples]
    st = np.array([s.t for s in samples])
    nv = len(mig.vm.entities)
    # the simulated segments (host time): one, or two around the modelled rounds
    if np.isfinite(clock.pause_h):
        segments = [(0.0, mig.probe.end_s, 0.0), (clock.pause_h, end, clock.shift)]
    else:
        segments = [(0.0, end, 0.0)]
    rows = []
    for lo, hi, shift in segments:
        if hi <= lo:
            continue
        k = max(1, int(round((hi - lo) / width)))
        if bin_s is None:  # a short stretch gets a few bins of its own, each with its interval
            k = max(k, min(MIN_BINS, int((hi - lo) / 5e-3)))
        edges = np.linspace(lo, hi, k + 1)
        u_at, b_at, tr_at = (np.interp(edges, t, x) for x in (units, sent, track))
        r_at = np.interp(edges, *ref) if ref is not None else None
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            count = u_at[i + 1] - u_at[i]
            rate = count / (b - a)
            expect = (r_at[i + 1] - r_at[i]) if r_at is not None else base * (b - a)
            relative = count / expect if expect > 0 else float("nan")
            half = Z95 * np.sqrt(max(count, 1.0)) / expect if expect > 0 else float("nan")
            inside = (done_at > a) & (done_at <= b)
            lats = lat_s[inside] * 1e6
            j = min(len(phases) - 1, int(np.searchsorted(st, b, side="left")))
            rows.append({"t_s": b + shift, "bin_s": b - a, "phase": phases[j], "source": "simulated",
                         "units_per_s": rate, "relative_throughput": relative,
                         "relative_low": max(0.0, relative - half), "relative_high": relative + half,
                         "latency_mean_us": float(lats.mean()) if len(lats) else float("nan"),
                         "latency_p99_us": float(np.percentile(lats, 99)) if len(lats) else float("nan"),
                         "requests": int(inside.sum()), "migration_mbps": (b_at[i + 1] - b_at[i]) * 8 / (b - a) / 1e6,
                         "tracking_share": (tr_at[i + 1] - tr_at[i]) / ((b - a) * nv)})
    if np.isfinite(clock.pause_h):
        ref_rate = mig.load["units_per_s"]  # what the rounds were modelled from
        probe_end = mig.probe.end_s
        out = mig.outcome
        cycles = _round_tracking(mig, out)
        for r, cyc in zip(out.rounds, cycles):
            a, b = max(r.start_s, probe_end), r.end_s
            if b <= a:
                continue
            length = r.end_s - r.start_s
            rel = r.units_per_s / ref_rate if ref_rate > 0 else float("nan")
            rows.append({"t_s": b, "bin_s": b - a, "phase": f"round {r.index}", "source": "modelled",
                         "units_per_s": r.units_per_s, "relative_throughput": rel, "relative_low": rel,
                         "relative_high": rel,
                         "latency_mean_us": float("nan"), "latency_p99_us": float("nan"),
                         "requests": int(round(r.units_per_s * (b - a))) if host.wl.kind == "request" else 0,
                         "migration_mbps": r.bytes * 8 / length / 1e6 if length > 0 else 0.0,
                         "tracking_share": cyc / host.freq / (length * nv) if length > 0 else 0.0})
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS).sort_values("t_s", kind="stable").reset_index(drop=True)


def _round_tracking(mig: Migrator, out: PrecopyOutcome) -> list[float]:
    """The guest's tracking cycles in each modelled round (first writes, per-unit work, re-arming)."""
    c = mig.costs
    arm = c.round_arm(mig.regions.hot).total
    return [r.first_writes * c.first_write.total + r.units_per_s * (r.end_s - r.start_s) * c.per_unit.total + arm
            for r in out.rounds]


def source_load(spec: Spec, **options: Any) -> MigrationLoad:
    """What live-migrating ``spec``'s VM (:func:`migrate` with ``options``, without its reference run) puts on the
    source host: its duration, the VM's downtime, the bytes sent and the sender's CPU (a scenario's ``migrate``
    lifecycle event replays them there, :mod:`kit.sim.lifecycle`)."""
    s = migrate(spec, **{"reference": False, **options}).summary
    return MigrationLoad(total_s=float(s["total_s"]), downtime_s=float(s["downtime_ms"]) / 1e3,
                         bytes_sent=float(s["bytes_sent"]), source_cpu_s=float(s["source_cpu_s"]))
