"""Live migration as processes on the simulated host: pre-copy (Clark et al., NSDI 2005) and post-copy (Hines and
Gopalan, VEE 2009).

A :class:`Migrator` attaches to a :class:`~kit.sim.host.Host` whose first VM it migrates while the workload runs.
The guest's memory is a bitmap of 4 KiB pages. Every tick the guest's completed units of work become page writes
(the workload's writable working set: a hot set rewritten continually, the rest spread over its footprint); a
write to a page not yet dirty in the current round is a *first write*, which costs the guest what the mode's
dirty-tracking method charges for it (:class:`~kit.costs.tracking.Tracking`), run by the VM's own vCPUs.

Pre-copy: the first round sends every page, each later round the pages dirtied during the previous one (Xen skips
pages dirtied again before their turn), through a migration thread that competes for CPUs (Xen's save tool in
dom0, QEMU's migration thread under KVM) and over a link it shares with the workload's own transmissions. The
sending rate is Xen's adaptive limit (from 100 Mbit/s, raised to the dirtying rate plus 50 Mbit/s, up to 500) or
QEMU's fixed bandwidth cap. The rounds stop when Xen's conditions hold (few pages left, no progress at the maximum
rate, 30 rounds, three times memory sent) or when QEMU's expected downtime is under its limit; then the VM is
paused, the remaining dirty pages and the CPU and device state are sent, the devices reconnect on the target,
and the VM resumes there.

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
from .mode_costs import Costing
from .devices import Device
from .entities import Item
from .work import MIGRATION as W_MIGRATION
from .work import Work

__all__ = ["MigrationConfig", "Migrator", "XEN_POLICY", "QEMU_POLICY", "POSTCOPY", "MIGRATION", "CHUNK_PAGES",
           "SOCKET_WINDOW_CHUNKS", "RECONNECT_S", "RESUME_S", "TICK_S", "MIN_CHARGE_S", "thread_name"]

#: The breakdown category of the migration threads' work (one of kit.sim.work's categories).
MIGRATION = W_MIGRATION

#: Xen's adaptive pre-copy (tools/libxc/xc_linux_save.c, ADAPTIVE_SAVE; Clark et al., NSDI 2005, section 5)
XEN_POLICY = {
    "start_mbps": (100, "Xen tools/libxc/xc_linux_save.c: START_MBIT_RATE 100, the first round's rate limit"),
    "max_mbps": (500, "Xen tools/libxc/xc_linux_save.c: MAX_MBIT_RATE 500, the most the sender allows itself"),
    "step_mbps": (50, "Xen tools/libxc/xc_linux_save.c print_stats: when a round dirtied pages faster than the "
                      "current limit, the next limit is that dirtying rate plus 50 Mbit/s"),
    "max_iters": (29, "Xen tools/libxc/xc_linux_save.c: DEF_MAX_ITERS 29 ('limit us to 30 times round loop')"),
    "max_factor": (3, "Xen tools/libxc/xc_linux_save.c: DEF_MAX_FACTOR 3 ('never send more than 3x' memory)"),
    "min_pages": (50, "Xen tools/libxc/xc_linux_save.c: the last iteration starts when a round sent and skipped "
                      "fewer than 50 pages"),
}
#: QEMU's pre-copy (migration/migration.c, migration/options.c)
QEMU_POLICY = {
    "max_bandwidth_mib_s": (128, "QEMU migration: MAX_THROTTLE (128 << 20), the default max-bandwidth in bytes/s"),
    "downtime_limit_ms": (300, "QEMU migration: DEFAULT_MIGRATE_SET_DOWNTIME 300 ms; the VM stops when the "
                               "remaining dirty memory can be sent in that time at the measured bandwidth"),
    "max_rounds": (60, "estimated, because QEMU itself iterates until the downtime limit is met (or forever); the "
                       "model stops after this many rounds and reports that the migration did not converge; fixed because QEMU has no round limit: the cap only ends a migration that would never converge, whose result is that it does not"),
}
#: Post-copy with pre-paging (Hines and Gopalan, VEE 2009)
POSTCOPY = {
    "prepage_pages": (64, "estimated, because Hines and Gopalan's bubbling pre-pages outward from each faulting "
                          "page; a 256 KiB neighbourhood is a few chunks of the background push; plausible 16-256 because the pre-paging window of Hines and Gopalan's bubbling is not published; a quarter to four times the estimate"),
}
#: Pages a migration thread hands to the socket at a time.
CHUNK_PAGES = (16, "estimated, because a sender writes 64 KiB (one TSO burst) at a time; fixed because it is a setting of the simulation's method (the size of the writes it simulates), not a property of the system, so it is no source of model uncertainty")
#: Chunks in flight between the migration thread and the wire.
SOCKET_WINDOW_CHUNKS = (4, "estimated, because a TCP socket send buffer of 256 KiB keeps four 64 KiB writes queued; plausible 2-8 because socket send buffers of 128-512 KiB are common defaults")
#: Time for the devices to reconnect on the target, by I/O path.
RECONNECT_S = ({"pv-split": 5e-3, "vmbus": 5e-3, "default": 5e-4},
               "estimated, because Xen split drivers and VMBus channels reconnect through a handful of control "
               "messages between the guest and the new backend, each a wakeup of a toolstack or root-partition "
               "process (about a millisecond), while emulated, virtio and vhost devices restore their state from "
               "the migration stream in well under a millisecond; plausible 0.3-3x because the devices' reconnection is a few control-message round trips whose cost depends on the toolstack")
#: Time to re-create and unpause the VM on the target, and announce its MAC address.
RESUME_S = (1e-3, "estimated, because the target loads the vCPUs' state, unpauses them and sends a gratuitous ARP "
                  "(or RARP) so that the switch learns the new port; about a millisecond; plausible 5e-4 to 3e-3 because re-creating and unpausing a VM and announcing its address takes about a millisecond, up to a few with a slow toolstack")
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
    pages: int = 0
    zero_pages: int = 0
    skipped: int = 0
    bytes: float = 0.0
    rate_mbps: float = 0.0
    dirtied: int = 0
    first_writes: int = 0
    kind: str = "pre-copy"


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
    pages: int = 0
    first_writes: int = 0
    faults: int = 0
    tracking_exits: float = 0.0
    tracking_cycles: float = 0.0
    source_cycles: float = 0.0
    target_cycles: float = 0.0
    stall_s: float = 0.0
    converged: bool = True
    stop_reason: str = ""


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
        self.footprint = max(1, min(self.n, int(round(wl.footprint_mib * 256))))
        self.hot = min(self.footprint, int(round(ws.hot_mib * 256)))
        used = min(self.n, max(self.footprint, int(round(cfg.used_mib * 256))))
        self.nonzero = np.zeros(self.n, dtype=bool)
        self.nonzero[:used] = True
        self.dirty = np.zeros(self.n, dtype=bool)
        self.resident = np.ones(self.n, dtype=bool)
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
        # per-event work of tracking
        cost = self.guest.cost
        self.first_write_work = Work()
        for steps, times in tracking.first_write_parts():
            self.first_write_work = self.first_write_work + cost.work(steps, times)
        pte = tracking.pte_write()
        self.pte_work = cost.work(pte) * wl.per_unit.pte_writes if pte else Work()
        self.split_work = self._huge_page_split(cost)
        fault_steps = tracking.cm.exit("EPT violation (post-copy fault)", [
            Step("post-copy fault: request the page, install it on arrival", "hypervisor",
                 POSTCOPY_FAULT_INSTR[0] * tracking.cpi)]) if tracking.cm.hw_assisted else [
            Step("post-copy fault: request the page, install it on arrival", "hypervisor",
                 tracking.cm.param("exception_cycles") + POSTCOPY_FAULT_INSTR[0] * tracking.cpi)]
        self.fault_work = cost.work(fault_steps)
        self.fault_serve_cycles = POSTCOPY_SERVE_INSTR[0] * tracking.cpi

    def _huge_page_split(self, cost: Costing) -> Work:
        """Extra page-walk work per unit while dirty logging keeps the guest on 4 KiB host pages."""
        m = self.host.mode
        if m.memory != "nested" or m.host_page == "4K":
            return Work()
        small = Costing(self.host.hw, dataclasses.replace(m, host_page="4K"), self.guest.wl)
        extra = {k: v - cost.unit().cycles.get(k, 0.0) for k, v in small.unit().cycles.items()}
        return Work({k: v for k, v in extra.items() if v > 0})

    # -- helpers ----------------------------------------------------------------------------------------
    def units(self) -> float:
        return sum(e.units for e in self.vm.entities)

    def start(self) -> None:
        """Start the migration's processes (call before the host runs)."""
        self.env.process(self._ticker())
        self.env.process(self._precopy() if self.cfg.method == "pre-copy" else self._postcopy())

    def _charge_round(self) -> None:
        """The guest's cost of (re-)arming tracking for a round: flushes and refills, or shadow rebuilds."""
        work = self.guest.cost.work(self.tracking.round_guest(len(self.vm.entities), self.hot, self._ws()))
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
        """Page indices of ``n`` accesses: the hot set with the workload's hot fraction, else the footprint."""
        hot = int(self.rng.binomial(n, self.ws.hot_fraction)) if self.hot else 0
        return np.concatenate([self.rng.integers(0, self.hot, hot) if hot else np.empty(0, dtype=np.int64),
                               self.rng.integers(0, self.footprint, n - hot)])

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
                work = self.first_write_work * len(new) + self.pte_work * du + self.split_work * du
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

    def _send(self, pages: np.ndarray, rate_mbps: float | None, rnd: Round, skip: bool):
        """Send ``pages`` in chunks at most at ``rate_mbps`` (None: as fast as the link), on the source."""
        env, rep = self.env, self.report
        free_at = env.now
        for k in range(0, len(pages), CHUNK_PAGES[0]):
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
        """Pause the VM and wait until no vCPU is still running a piece of work."""
        self.vm.pause()
        self.report.pause_s = self.env.now
        while any(e.activity.state == "running" for e in self.vm.entities):
            yield self.env.timeout(self.cfg.tick_s / 20)

    def _resume(self):
        """Reconnect the devices on the target and resume the VM there."""
        io = self.host.mode.io
        reconnect = RECONNECT_S[0].get(io, RECONNECT_S[0]["default"])
        yield self.env.timeout(reconnect + RESUME_S[0])
        self.vm.resume()
        self.report.resume_s = self.env.now

    def _finish(self):
        self.phase = "after"
        self.report.end_s = self.env.now
        yield self.env.timeout(self.cfg.tail_s)
        self.done.succeed()

    # -- pre-copy ----------------------------------------------------------------------------------------------
    def _policy(self) -> dict:
        cfg = self.cfg
        if cfg.policy == "xen":
            return {"rate": float(cfg.min_mbps or XEN_POLICY["start_mbps"][0]),
                    "max": float(cfg.max_mbps or XEN_POLICY["max_mbps"][0])}
        cap = cfg.max_mbps or QEMU_POLICY["max_bandwidth_mib_s"][0] * 8 * 1.048576
        return {"rate": float(cap), "max": float(cap),
                "downtime_s": (cfg.downtime_limit_ms or QEMU_POLICY["downtime_limit_ms"][0]) / 1000.0}

    def _precopy(self):
        env, cfg, rep, tr = self.env, self.cfg, self.report, self.tracking
        yield env.timeout(cfg.start_s)
        rep.start_s = env.now
        self.phase = "round 1"
        self.tracking_on = True
        start = tr.start_cycles(self.n)
        rep.source_cycles += start
        yield from self._thread_run(start)
        self._charge_round()
        pol = self._policy()
        to_send = self.rng.permutation(self.n)
        sent_last, total = self.n, 0
        xen = cfg.policy == "xen"
        while True:
            it = len(rep.rounds) + 1
            rnd = Round(it, env.now, rate_mbps=pol["rate"], first_writes=-rep.first_writes)
            self.phase = f"round {it}"
            yield from self._send(to_send, pol["rate"], rnd, skip=xen)
            rnd.end_s = env.now
            rnd.first_writes += rep.first_writes
            dirty = np.flatnonzero(self.dirty)
            rnd.dirtied = len(dirty)
            rep.rounds.append(rnd)
            total += rnd.pages
            dur = max(rnd.end_s - rnd.start_s, 1e-9)
            dirty_mbps = len(dirty) * PAGE_BYTES * 8 / dur / 1e6
            if xen:
                reasons = [(rnd.pages > sent_last and pol["rate"] >= pol["max"], "no progress at the maximum rate"),
                           (it >= XEN_POLICY["max_iters"][0], "round limit (30 rounds)"),
                           (rnd.pages + rnd.skipped < XEN_POLICY["min_pages"][0], "fewer than 50 pages left"),
                           (total > self.n * XEN_POLICY["max_factor"][0], "three times memory sent")]
                if dirty_mbps > pol["rate"]:
                    pol["rate"] = min(dirty_mbps + XEN_POLICY["step_mbps"][0], pol["max"])
            else:
                bandwidth = rnd.bytes / dur
                remaining = self.transfer.wire_bytes(len(dirty), int((~self.nonzero[dirty]).sum()))
                reasons = [(remaining <= bandwidth * pol["downtime_s"], "expected downtime under the limit"),
                           (it >= QEMU_POLICY["max_rounds"][0], "round limit: did not converge")]
            stop = [why for cond, why in reasons if cond]
            if stop or env.now - rep.start_s > cfg.max_s:
                rep.stop_reason = stop[0] if stop else "time limit: did not converge"
                rep.converged = not rep.stop_reason.endswith("did not converge")
                break
            # the dirty log is collected and re-armed; those pages are the next round's
            to_send = self.rng.permutation(dirty)
            self.dirty[:] = False
            sync = tr.sync_cycles(self.n, len(dirty))
            rep.source_cycles += sync
            yield from self._thread_run(sync)
            self._charge_round()
            sent_last = rnd.pages
        # stop-and-copy
        self.phase = "stop-and-copy"
        yield from self._stop()
        self.tracking_on = False
        self._charge(Work(), force=True)
        final = np.flatnonzero(self.dirty)
        rnd = Round(len(rep.rounds) + 1, env.now, kind="stop-and-copy",
                    rate_mbps=pol["rate"] if xen else 0.0, dirtied=0)
        yield from self._send(self.rng.permutation(final), pol["rate"] if xen else None, rnd, skip=False)
        yield from self._send_state()
        rnd.end_s = env.now
        rep.rounds.append(rnd)
        yield from self._resume()
        yield from self._finish()

    def _ws(self) -> float:
        return float(self.guest.wl.per_unit.ws_pages)

    # -- post-copy ---------------------------------------------------------------------------------------------
    def _postcopy(self):
        env, cfg, rep = self.env, self.cfg, self.report
        yield env.timeout(cfg.start_s)
        rep.start_s = env.now
        self.phase = "stop"
        yield from self._stop()
        yield from self._send_state()
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
