"""Live migration as processes on the simulated host, page by page: pre-copy (Clark et al., NSDI 2005) and
post-copy (Hines and Gopalan, VEE 2009). This is the event engine; :mod:`kit.sim.precopy_rounds` is the round model
of pre-copy, which :func:`kit.live_migration.migrate` uses unless told otherwise, and which agrees with this engine
where both run (``tests/test_migration.py``).

A :class:`Migrator` attaches to a :class:`~kit.sim.host.Host` whose first VM it migrates while the workload runs.
The guest's memory is a bitmap of 4 KiB pages. Every tick the guest's completed units of work become page writes
(the workload's writable working set as regions of pages, :class:`~kit.sim.wws.PageRegions`: a hot set rewritten
continually, a region written in order, the rest spread over its footprint); a write to a page not yet dirty in the
current round is a *first write*, which costs the guest what the mode's dirty-tracking method charges for it
(:class:`~kit.costs.tracking.Tracking`), run by the VM's own vCPUs.

Pre-copy: the first round sends every page, each later round the pages dirtied during the previous one (Xen skips
pages dirtied again before their turn), through a migration thread that competes for CPUs (Xen's save tool in
dom0, QEMU's migration thread under KVM) and over a link it shares with the workload's own transmissions, at the
rate of the policy (:class:`~kit.sim.migration_policy.PrecopyPolicy`), which also says when the rounds stop. Then
the guest stops (a paravirtual guest suspends itself), the remaining dirty pages and the CPU and device state are
sent, the target restores the VM, its devices reconnect, its address is announced, and it resumes there
(:func:`~kit.sim.migration_policy.downtime_steps`).

Post-copy: the VM is paused only to move its CPU and device state, resumes on the target, and every access to a
page not yet there is a network fault that stalls the vCPU for a round trip, while the source pushes the rest in
the background, starting with the neighbourhood of each fault (pre-paging).
"""
from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

from ..costs.paths import Step
from ..costs.tracking import PAGE_BYTES, POSTCOPY_FAULT_INSTR, POSTCOPY_SERVE_INSTR, Tracking, Transfer
from ..inputs.modes import Mode
from ..inputs.workloads import WritableSet
from .devices import Device
from .entities import Item
from .migration_policy import QEMU_POLICY, XEN_POLICY, PrecopyPolicy, RoundEnd, downtime_steps
from .mode_costs import Costing
from .work import MIGRATION as W_MIGRATION
from .work import Work
from .locks import WAIT_STATES
from .work import IDLE, PAUSED
from .wws import PageRegions

__all__ = ["MigrationConfig", "Migrator", "XEN_POLICY", "QEMU_POLICY", "POSTCOPY", "MIGRATION", "CHUNK_PAGES",
           "SOCKET_WINDOW_CHUNKS", "TICK_S", "MIN_CHARGE_S", "thread_name", "GuestTracking", "Report", "Round"]

#: The breakdown category of the migration threads' work (one of kit.sim.work's categories).
MIGRATION = W_MIGRATION

#: Post-copy with pre-paging (Hines and Gopalan, VEE 2009)
POSTCOPY = {
    "prepage_pages": (64, "estimated, because Hines and Gopalan's bubbling pre-pages outward from each faulting "
                          "page; a 256 KiB neighbourhood is a few chunks of the background push; plausible 16-256 because the pre-paging window of Hines and Gopalan's bubbling is not published; a quarter to four times the estimate"),
}
#: Pages a migration thread hands to the socket at a time.
CHUNK_PAGES = (16, "estimated, because a sender writes 64 KiB (one TSO burst) at a time; fixed because it is a setting of the simulation's method (the size of the writes it simulates), not a property of the system, so it is no source of model uncertainty")
#: Chunks in flight between the migration thread and the wire.
SOCKET_WINDOW_CHUNKS = (4, "estimated, because a TCP socket send buffer of 256 KiB keeps four 64 KiB writes queued; plausible 2-8 because socket send buffers of 128-512 KiB are common defaults")
#: Period at which the guest's completed work is turned into page writes and tracking costs.
TICK_S = (2e-3, "estimated, because a couple of milliseconds is short against a round (hundreds of ms) and long "
                "against one unit of most workloads; fixed because it is a setting of the simulation's method (its batching or tick), not a property of the system, so it is no source of model uncertainty")
#: Smallest batch of tracking work handed to the vCPUs (so that an idle vCPU is not woken for nothing).
MIN_CHARGE_S = (20e-6, "estimated, because tracking faults of a few tens of microseconds are run together; fixed because it is a setting of the simulation's method (its batching or tick), not a property of the system, so it is no source of model uncertainty")


def thread_name(mode: Mode) -> str:
    """The backend that runs the migration threads: Xen's dom0, Hyper-V's root, a hosted VMM's host OS, or a
    per-VM migration thread (QEMU's, under KVM and TCG)."""
    return {"xen": "dom0", "hyperv": "root", "vmware": "host"}.get(mode.family, "migration")


@dataclass(frozen=True)
class MigrationConfig:
    """How a migration runs (validated by :func:`kit.live_migration.migrate`)."""

    method: str
    vm_mib: float
    used_mib: float
    policy: str
    tracking: str
    link_gbps: float
    shared_link: bool = True
    compression: bool = False
    zero_pages: bool = False
    start_s: float = 0.2
    tail_s: float = 0.2
    max_mbps: float | None = None
    min_mbps: float | None = None
    downtime_limit_ms: float | None = None
    max_s: float = 600.0
    tick_s: float = TICK_S[0]


@dataclass
class Round:
    index: int
    start_s: float
    end_s: float = 0.0
    pages: float = 0
    zero_pages: float = 0
    skipped: float = 0
    bytes: float = 0.0
    rate_mbps: float = 0.0
    dirtied: float = 0
    first_writes: float = 0
    kind: str = "pre-copy"
    #: the guest's units of work per second during the round (the round model's; NaN in the event engine)
    units_per_s: float = float("nan")


@dataclass
class Sample:
    t: float
    units: float
    phase: str
    bytes: float
    first_writes: int
    faults: int
    tracking_s: float


@dataclass
class Report:
    """What a migration did (filled in as it runs)."""

    start_s: float = float("nan")
    pause_s: float = float("nan")
    resume_s: float = float("nan")
    end_s: float = float("nan")
    rounds: list[Round] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    bytes: float = 0.0
    pages: float = 0
    first_writes: float = 0
    faults: int = 0
    tracking_exits: float = 0.0
    tracking_cycles: float = 0.0
    source_cycles: float = 0.0
    target_cycles: float = 0.0
    stall_s: float = 0.0
    converged: bool = True
    stop_reason: str = ""
    #: seconds of each step of the downtime: suspend, pages (the last round), state, restore, reconnect, announce
    downtime_parts: dict[str, float] = field(default_factory=dict)


class GuestTracking:
    """What dirty tracking costs the migrating guest, as work run by its vCPUs: per first write to a page in a
    round, per unit of work (log-dirty shadows of PV page-table writes, walks of huge pages split while logged) and
    per round (re-arming: TLB flushes and refills, or rebuilt shadows). Both engines charge the same work."""

    def __init__(self, host, tracking: Tracking) -> None:
        guest = host.guests[0]
        cost, wl = guest.cost, guest.wl
        self.host, self.tracking, self.cost = host, tracking, cost
        self.vcpus = len(guest.vm.entities)
        self.first_write = Work()
        for steps, times in tracking.first_write_parts():
            self.first_write = self.first_write + cost.work(steps, times)
        pte = tracking.pte_write()
        self.per_unit = (cost.work(pte) * wl.per_unit.pte_writes if pte else Work()) + self._huge_page_split(cost)
        self.ws_pages = float(wl.per_unit.ws_pages)

    def _huge_page_split(self, cost: Costing) -> Work:
        """Extra page-walk work per unit while dirty logging keeps the guest on 4 KiB host pages."""
        m = self.host.mode
        if m.memory != "nested" or m.host_page == "4K":
            return Work()
        small = Costing(self.host.hw, dataclasses.replace(m, host_page="4K"), self.host.guests[0].wl)
        extra = {k: v - cost.unit().cycles.get(k, 0.0) for k, v in small.unit().cycles.items()}
        return Work({k: v for k, v in extra.items() if v > 0})

    def round_arm(self, hot_pages: float) -> Work:
        """The guest's cost of (re-)arming tracking for a round."""
        return self.cost.work(self.tracking.round_guest(self.vcpus, hot_pages, self.ws_pages))


class Migrator:
    """Migrates the first VM of ``host`` while its workload runs (see the module docstring)."""

    def __init__(self, host, cfg: MigrationConfig, tracking: Tracking, transfer: Transfer, ws: WritableSet,
                 seed: int) -> None:
        self.host, self.cfg, self.tracking, self.transfer, self.ws = host, cfg, tracking, transfer, ws
        self.env: simpy.Environment = host.env
        self.guest = host.guests[0]
        self.vm = self.guest.vm
        self.freq = host.freq
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6D6967]))
        self.n = max(1, int(round(cfg.vm_mib * 256)))
        wl = self.guest.wl
        self.regions = PageRegions(ws, self.n, int(round(wl.footprint_mib * 256)))
        self.footprint = self.regions.footprint
        self.hot = self.regions.hot
        used = min(self.n, max(self.footprint, int(round(cfg.used_mib * 256))))
        self.nonzero = np.zeros(self.n, dtype=bool)
        self.nonzero[:used] = True
        self.dirty = np.zeros(self.n, dtype=bool)
        self.resident = np.ones(self.n, dtype=bool)
        self.cursor = 0
        self.tracking_on = False
        self.postcopy_on = False
        self.phase = "before"
        self.report = Report()
        self.done = self.env.event()
        self.thread = host.backend(thread_name(host.mode), 0)
        if cfg.method == "post-copy":  # pages arrive on the target's NIC, beside the workload's requests
            self.link = host.nic_rx if cfg.shared_link else Device(self.env, "migration link")
        else:  # pages leave on the source's NIC, beside the workload's responses
            self.link = host.nic_tx if cfg.shared_link else Device(self.env, "migration link")
        self.line_bps = cfg.link_gbps * 1e9
        self.wire_s = host.wire_s
        self.window = simpy.Container(self.env, init=SOCKET_WINDOW_CHUNKS[0], capacity=SOCKET_WINDOW_CHUNKS[0])
        self._pending = Work()
        self._stall_debt = 0.0
        self._stalling = False
        #: pages whose neighbourhood the post-copy push sends next (pre-paging)
        self.prepage: deque[int] = deque()
        self.costs = GuestTracking(host, tracking)
        self.steps = downtime_steps(host.mode, self.n, self.wire_s)
        fault_steps = tracking.cm.exit("EPT violation (post-copy fault)", [
            Step("post-copy fault: request the page, install it on arrival", "hypervisor",
                 POSTCOPY_FAULT_INSTR[0] * tracking.cpi)]) if tracking.cm.hw_assisted else [
            Step("post-copy fault: request the page, install it on arrival", "hypervisor",
                 tracking.cm.param("exception_cycles") + POSTCOPY_FAULT_INSTR[0] * tracking.cpi)]
        self.fault_work = self.guest.cost.work(fault_steps)
        self.fault_serve_cycles = POSTCOPY_SERVE_INSTR[0] * tracking.cpi

    # -- helpers ----------------------------------------------------------------------------------------
    def units(self) -> float:
        return sum(e.units for e in self.vm.entities)

    def start(self) -> None:
        """Start the migration's processes (call before the host runs)."""
        self.env.process(self._ticker())
        self.env.process(self._precopy() if self.cfg.method == "pre-copy" else self._postcopy())

    def _charge_round(self) -> None:
        """The guest's cost of (re-)arming tracking for a round: flushes and refills, or shadow rebuilds."""
        work = self.costs.round_arm(self.hot)
        self.report.tracking_exits += sum(work.exits.values())
        self._charge(work, force=True)

    def _charge(self, work: Work, force: bool = False) -> None:
        """Owe ``work`` to the migrating VM's vCPUs (run at the front of their queue)."""
        self._pending = self._pending + work
        if self._pending.total > 0 and (force or self._pending.total >= MIN_CHARGE_S[0] * self.freq):
            self.report.tracking_cycles += self._pending.total
            self.vm.submit(Item(self._pending), front=True)
            self._pending = Work()

    def _pages(self, n: int) -> np.ndarray:
        """Page numbers of ``n`` page writes (the sweep's cursor moves on)."""
        idx, self.cursor = self.regions.sample(self.rng, n, self.cursor)
        return idx

    def _thread_run(self, cycles: float):
        """Run ``cycles`` of migration work on the source's (or, in post-copy, the target's) migration thread."""
        yield from self.thread.run(Work.of(MIGRATION, cycles))

    def _ticker(self):
        env, cfg, rep = self.env, self.cfg, self.report
        last = self.units()
        track_s = 0.0
        while True:
            yield env.timeout(cfg.tick_s)
            now_units = self.units()
            du = max(0.0, now_units - last)
            last = now_units
            if du > 0 and self.tracking_on:
                idx = self._pages(int(self.rng.poisson(du * self.ws.pages_per_unit)))
                new = np.unique(idx[~self.dirty[idx]])
                self.dirty[new] = True
                self.nonzero[new] = True
                work = self.costs.first_write * len(new) + self.costs.per_unit * du
                rep.first_writes += len(new)
                rep.tracking_exits += sum(work.exits.values())
                track_s += work.total / self.freq
                self._charge(work)
            if du > 0 and self.postcopy_on:
                self._faults(du)
            rep.samples.append(Sample(env.now, now_units, self.phase, rep.bytes, rep.first_writes, rep.faults, track_s))
            if self.done.triggered:
                return

    # -- moving pages -----------------------------------------------------------------------------------------
    def _wire(self, nbytes: float, on_arrival=None):
        """One chunk on the link (the window slot is released when it has left)."""
        yield from self.link.serve(nbytes * 8.0 / self.line_bps)
        self.report.bytes += nbytes
        yield self.window.put(1)
        if on_arrival is not None:
            yield from on_arrival()

    def _send(self, pages: np.ndarray, rate_mbps: float | None, rnd: Round, skip: bool, until: float | None = None):
        """Send ``pages`` in chunks at most at ``rate_mbps`` (None: as fast as the link), on the source (until
        ``until``, if given: the chunks handed over by then are sent, the rest is not)."""
        env, rep = self.env, self.report
        free_at = env.now
        for k in range(0, len(pages), CHUNK_PAGES[0]):
            if until is not None and env.now >= until:
                break
            chunk = pages[k:k + CHUNK_PAGES[0]]
            if skip:  # Xen: a page dirtied again since the round started goes in the next round instead
                again = self.dirty[chunk]
                rnd.skipped += int(again.sum())
                chunk = chunk[~again]
            if not len(chunk):
                continue
            zero = int((~self.nonzero[chunk]).sum())
            cycles = self.transfer.send_cycles(len(chunk), zero)
            rep.source_cycles += cycles
            yield from self._thread_run(cycles)
            rep.target_cycles += self.transfer.recv_cycles(len(chunk), zero)
            nbytes = self.transfer.wire_bytes(len(chunk), zero)
            if rate_mbps and free_at > env.now:  # the rate limit's budget of earlier chunks is not spent yet
                yield env.timeout(free_at - env.now)
            yield self.window.get(1)
            env.process(self._wire(nbytes))
            if rate_mbps:
                free_at = max(free_at, env.now) + nbytes * 8.0 / (rate_mbps * 1e6)
            rnd.pages += len(chunk)
            rnd.zero_pages += zero
            rnd.bytes += nbytes
            rep.pages += len(chunk)
        # the round ends when its last chunk has left
        yield self.window.get(SOCKET_WINDOW_CHUNKS[0])
        yield self.window.put(SOCKET_WINDOW_CHUNKS[0])

    def _send_state(self):
        """The vCPUs' and devices' state, after the VM has stopped."""
        nbytes = self.transfer.state_bytes(len(self.vm.entities))
        yield self.window.get(1)
        yield from self._wire(nbytes)

    def _stop(self):
        """Stop the VM: pause it, wait until no vCPU is still running a piece of work, and let it suspend."""
        self.vm.pause()
        self.report.pause_s = self.env.now
        while any(e.activity.state == "running" for e in self.vm.entities):
            yield self.env.timeout(self.cfg.tick_s / 20)
        yield self.env.timeout(self.steps["suspend"])
        self.report.downtime_parts["suspend"] = self.env.now - self.report.pause_s

    def _resume(self):
        """Restore the VM on the target, reconnect its devices, announce its address, and resume it there."""
        parts = self.report.downtime_parts
        for step in ("restore", "reconnect", "announce"):
            parts[step] = self.steps[step]
            yield self.env.timeout(self.steps[step])
        self.vm.resume()
        self.report.resume_s = self.env.now

    def _finish(self):
        self.phase = "after"
        self.report.end_s = self.env.now
        yield self.env.timeout(self.cfg.tail_s)
        self.done.succeed()

    # -- pre-copy ----------------------------------------------------------------------------------------------
    def _precopy(self):
        env, cfg, rep, tr = self.env, self.cfg, self.report, self.tracking
        yield env.timeout(cfg.start_s)
        rep.start_s = env.now
        self.phase = "round 1"
        # the ordered writes went on since the workload started
        self.cursor = int(self.units() * self.ws.pages_per_unit * self.regions.sweep_share)
        self.tracking_on = True
        start = tr.start_cycles(self.n)
        rep.source_cycles += start
        yield from self._thread_run(start)
        self._charge_round()
        pol = PrecopyPolicy(cfg.policy, cfg.max_mbps, cfg.min_mbps, cfg.downtime_limit_ms)
        to_send = self.rng.permutation(self.n)
        total = 0
        while True:
            it = len(rep.rounds) + 1
            rnd = Round(it, env.now, rate_mbps=pol.rate, first_writes=-rep.first_writes)
            self.phase = f"round {it}"
            yield from self._send(to_send, pol.rate, rnd, skip=pol.skips)
            rnd.end_s = env.now
            rnd.first_writes += rep.first_writes
            dirty = np.flatnonzero(self.dirty)
            rnd.dirtied = len(dirty)
            rep.rounds.append(rnd)
            total += rnd.pages
            remaining = self.transfer.wire_bytes(len(dirty), int((~self.nonzero[dirty]).sum()))
            stop = pol.after_round(RoundEnd(it, rnd.pages, rnd.skipped, max(rnd.end_s - rnd.start_s, 1e-9),
                                            len(dirty), remaining, rnd.bytes, total, self.n))
            if stop or env.now - rep.start_s > cfg.max_s:
                rep.stop_reason = stop or "time limit: did not converge"
                rep.converged = not rep.stop_reason.endswith("did not converge")
                break
            # the dirty log is collected and re-armed; those pages are the next round's
            to_send = self.rng.permutation(dirty)
            self.dirty[:] = False
            sync = tr.sync_cycles(self.n, len(dirty))
            rep.source_cycles += sync
            yield from self._thread_run(sync)
            self._charge_round()
        # stop-and-copy
        self.phase = "stop-and-copy"
        yield from self._stop()
        self.tracking_on = False
        self._charge(Work(), force=True)
        final = np.flatnonzero(self.dirty)
        rnd = Round(len(rep.rounds) + 1, env.now, kind="stop-and-copy", rate_mbps=pol.final_mbps or 0.0, dirtied=0)
        yield from self._send(self.rng.permutation(final), pol.final_mbps, rnd, skip=False)
        rep.downtime_parts["pages"] = env.now - rnd.start_s
        t0 = env.now
        yield from self._send_state()
        rep.downtime_parts["state"] = env.now - t0
        rnd.end_s = env.now
        rep.rounds.append(rnd)
        yield from self._resume()
        yield from self._finish()

    # -- pre-copy by the round model ---------------------------------------------------------------------------
    def start_rounds(self, model_for, probe_for) -> None:
        """Start a pre-copy whose rounds the round model computes (call before the host runs): the host runs the
        warm-up, then the first seconds of round 1 page by page (the probe, ``probe_for(load)`` seconds at most),
        then the stop-and-copy of the pages the model left dirty, the resumption and the tail.

        ``model_for(load)`` gives the :class:`~kit.sim.precopy_rounds.RoundModel` for the guest measured in the
        second half of the warm-up (a mapping of the fields of :class:`~kit.sim.precopy_rounds.GuestLoad`); its
        outcome is :attr:`outcome`."""
        self.env.process(self._ticker())
        self.env.process(self._precopy_rounds(model_for, probe_for))

    def _idle_s(self, entities, now: float) -> float:
        """Seconds the entities did not want a CPU up to ``now`` (idle, paused or waiting)."""
        out = 0.0
        for e in entities:
            act = e.activity
            out += e.acct.get(IDLE, 0.0) + e.acct.get(PAUSED, 0.0) + sum(e.acct.get(w, 0.0) for w in WAIT_STATES)
            if act.state in (IDLE, PAUSED) or act.state in WAIT_STATES:
                out += now - act.since
        return out

    def _snapshot(self) -> tuple[float, ...]:
        now = self.env.now
        link = self.link.busy_until(now) if self.cfg.shared_link else 0.0
        return (now, self.units(), self._idle_s(self.vm.entities, now), link, self._idle_s(self.thread.entities, now))

    def _load(self, a: tuple[float, ...], b: tuple[float, ...]) -> dict[str, float]:
        """The guest and the migration thread's runner between two snapshots (the fields of
        :class:`~kit.sim.precopy_rounds.GuestLoad`)."""
        dt, du = b[0] - a[0], b[1] - a[1]
        nv, k = len(self.vm.entities), len(self.thread.entities)
        return {"units_per_s": du / dt, "vcpu_busy": min(1.0, max(0.0, 1.0 - (b[2] - a[2]) / (dt * nv))),
                "vcpus": nv, "link_s_per_unit": (b[3] - a[3]) / du if du > 0 else 0.0,
                "thread_busy": min(float(k), max(0.0, k - (b[4] - a[4]) / dt)), "thread_cpus": k}

    def _precopy_rounds(self, model_for, probe_for):
        env, cfg, rep, tr = self.env, self.cfg, self.report, self.tracking
        yield env.timeout(cfg.start_s / 2)
        half = self._snapshot()
        yield env.timeout(cfg.start_s - env.now)
        rep.start_s = env.now
        self.load = self._load(half, self._snapshot())
        model = model_for(self.load)
        self.outcome = out = model.run(env.now)
        first = out.rounds[0]
        # the probe: round 1's first seconds page by page, as the event engine runs them
        self.phase = "round 1"
        self.cursor = int(self.units() * self.ws.pages_per_unit * self.regions.sweep_share)
        self.tracking_on = True
        start = tr.start_cycles(self.n)
        rep.source_cycles += start
        yield from self._thread_run(start)
        self._charge_round()
        until = min(first.end_s, rep.start_s + probe_for(self.load))
        self.probe = Round(1, env.now, rate_mbps=first.rate_mbps)
        # the pages round 1 reaches in the probe, in its random order (a sample: the rest wait for the model)
        bits = min(first.rate_mbps * 1e6 if first.rate_mbps else self.line_bps, self.line_bps)
        reach = int(bits * (until - env.now) / 8 / PAGE_BYTES * 2) + CHUNK_PAGES[0]
        order = self.rng.choice(self.n, size=min(self.n, reach), replace=False)
        yield from self._send(order, first.rate_mbps, self.probe, skip=model.policy.skips, until=until)
        self.probe.end_s = env.now
        self.probe.first_writes = rep.first_writes
        rep.rounds = list(out.rounds)
        rep.stop_reason, rep.converged = out.stop_reason, out.converged
        # the stop-and-copy of the pages the rounds left dirty (written, so none is a zero page)
        self.phase = "stop-and-copy"
        yield from self._stop()
        self.tracking_on = False
        self._charge(Work(), force=True)
        self.at_pause = (rep.bytes, rep.pages, rep.source_cycles, rep.target_cycles, rep.tracking_cycles)
        final = np.arange(min(self.n, int(round(out.final.total))))
        self.nonzero[final] = True
        rnd = Round(len(rep.rounds) + 1, env.now, kind="stop-and-copy", rate_mbps=out.final_rate_mbps or 0.0,
                    dirtied=0)
        yield from self._send(final, out.final_rate_mbps, rnd, skip=False)
        rep.downtime_parts["pages"] = env.now - rnd.start_s
        t0 = env.now
        yield from self._send_state()
        rep.downtime_parts["state"] = env.now - t0
        rnd.end_s = env.now
        rep.rounds.append(rnd)
        yield from self._resume()
        yield from self._finish()

    # -- post-copy ---------------------------------------------------------------------------------------------
    def _postcopy(self):
        env, cfg, rep = self.env, self.cfg, self.report
        yield env.timeout(cfg.start_s)
        rep.start_s = env.now
        self.phase = "stop"
        self.cursor = int(self.units() * self.ws.pages_per_unit * self.regions.sweep_share)
        yield from self._stop()
        t0 = env.now
        yield from self._send_state()
        rep.downtime_parts["pages"] = 0.0
        rep.downtime_parts["state"] = env.now - t0
        rep.rounds.append(Round(1, rep.pause_s, env.now, kind="state", bytes=self.transfer.state_bytes(
            len(self.vm.entities))))
        self.resident[:] = False
        self.postcopy_on = True
        yield from self._resume()
        self.phase = "post-copy"
        rnd = Round(2, env.now, kind="push")
        cursor = 0
        while True:
            yield self.window.get(1)  # a free slot first, then the chunk: faults meanwhile may have fetched pages
            chunk, cursor = self._next_push(cursor)
            if chunk is None:
                yield self.window.put(1)
                break
            zero = int((~self.nonzero[chunk]).sum())
            rep.source_cycles += self.transfer.send_cycles(len(chunk), zero)
            nbytes = self.transfer.wire_bytes(len(chunk), zero)
            self.resident[chunk] = True  # in flight: a fault on it now waits for this chunk, not a new request
            env.process(self._wire(nbytes, on_arrival=self._receiver(len(chunk), zero)))
            rnd.pages += len(chunk)
            rnd.zero_pages += zero
            rnd.bytes += nbytes
            rep.pages += len(chunk)
        yield self.window.get(SOCKET_WINDOW_CHUNKS[0])
        yield self.window.put(SOCKET_WINDOW_CHUNKS[0])
        rnd.end_s = env.now
        rep.rounds.append(rnd)
        self.postcopy_on = False
        yield from self._finish()

    def _receiver(self, pages: int, zero: int):
        def arrive():
            cycles = self.transfer.recv_cycles(pages, zero)
            self.report.target_cycles += cycles
            yield from self._thread_run(cycles)
        return arrive

    def _next_push(self, cursor: int) -> tuple[np.ndarray | None, int]:
        """The next chunk of the background push: the neighbourhood of a recent fault first, then address order."""
        while self.prepage:
            p = self.prepage.popleft()
            lo = max(0, p - POSTCOPY["prepage_pages"][0] // 2)
            span = np.arange(lo, min(self.n, lo + POSTCOPY["prepage_pages"][0]))
            missing = span[~self.resident[span]]
            if len(missing):
                return missing[:CHUNK_PAGES[0]], cursor
        while cursor < self.n:
            span = np.arange(cursor, min(self.n, cursor + CHUNK_PAGES[0] * 8))
            missing = span[~self.resident[span]]
            if len(missing):
                chunk = missing[:CHUNK_PAGES[0]]
                return chunk, int(chunk[-1]) + 1
            cursor = int(span[-1]) + 1
        return None, cursor

    def _faults(self, du: float) -> int:
        """The network faults of ``du`` units of work on the target, and the stall they cost the VM."""
        rep = self.report
        touched = int(self.rng.poisson(du * self.ws.pages_per_unit * self.ws.touched_per_written))
        idx = self._pages(touched)
        missing = np.unique(idx[~self.resident[idx]])
        f = len(missing)
        if not f:
            return 0
        self.resident[missing] = True
        rep.faults += f
        rep.pages += f
        rep.source_cycles += f * (self.fault_serve_cycles + self.transfer.send_cycles(1))
        rep.target_cycles += f * (self.fault_work.total + self.transfer.recv_cycles(1))
        rep.tracking_exits += sum(self.fault_work.exits.values()) * f
        self.prepage.extend(int(p) for p in missing[:8])
        nbytes = f * self.transfer.wire_bytes(1)
        self.env.process(self._demand(nbytes))
        # each fault stalls its vCPU for a request and the page's round trip; the VM's vCPUs share the stalls
        latency = (self.fault_serve_cycles + self.fault_work.total) / self.freq + 2 * self.wire_s \
            + PAGE_BYTES * 8.0 / self.line_bps
        stall = f * latency / len(self.vm.entities)
        rep.stall_s += stall
        self._charge(self.fault_work * f)
        self._stall_debt += stall
        if not self._stalling:
            self._stalling = True
            self.env.process(self._staller())
        return f

    def _demand(self, nbytes: float):
        yield from self.link.serve(nbytes * 8.0 / self.line_bps)
        self.report.bytes += nbytes

    def _staller(self):
        """Hold the VM paused while it owes fault stalls (new faults extend the hold)."""
        self.vm.pause()
        while self._stall_debt > 0.0:
            debt, self._stall_debt = self._stall_debt, 0.0
            yield self.env.timeout(debt)
        self.vm.resume()
        self._stalling = False
