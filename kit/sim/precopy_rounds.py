"""Pre-copy as rounds of a dirty-rate model: the round model of a live migration.

Simulating a guest page by page through a migration costs as much as simulating its workload for the whole
migration (a minute of a web server is millions of events). The round model computes each round instead:

- the pages a round sends are those the previous round dirtied, less the pages Xen's sender finds dirty again
  before their turn (:meth:`kit.sim.wws.PageRegions.skipped`), and the pages it dirties are the distinct pages of
  the writable working set written in a window of the round's length at the guest's rate of page writes
  (:meth:`kit.sim.wws.PageRegions.distinct`): the expectations of the event engine's draws;
- the round lasts as long as its bytes take at the policy's rate (:class:`~kit.sim.migration_policy.PrecopyPolicy`),
  or less where the link or the migration thread cannot carry that rate;
- the guest's rate of units is the one measured before the migration, slowed where a resource it needs is
  saturated (:class:`GuestLoad`): its vCPUs by the tracking work of the round (each first write, the per-unit
  work, re-arming), the link it shares with the migration, and the backend CPUs it shares with the migration
  thread. Each saturated resource is shared in proportion to what each side asks of it (a fluid approximation of
  first-come first-served queues).

A round's length, the pages it skips and the guest's rate depend on each other; each round is their fixed point.
The stop-and-copy, whose pages decide the downtime, runs page by page on the simulated host
(:class:`kit.sim.migrator.Migrator`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..costs.tracking import Tracking, Transfer
from .migration_policy import PrecopyPolicy, RoundEnd
from .migrator import GuestTracking, Round
from .wws import Dirty, PageRegions

__all__ = ["GuestLoad", "RoundModel", "PrecopyOutcome", "FIXED_POINT_ITERATIONS"]

#: Iterations of each round's fixed point (length, skipped pages, guest rate): each is a contraction, and the
#: round's length changes by less than a part in a million after this many.
FIXED_POINT_ITERATIONS = 40


@dataclass(frozen=True)
class GuestLoad:
    """The migrating guest and its host before the migration, as measured on the simulated host.

    Attributes
    ----------
    units_per_s : float
        The guest's units of work per second.
    vcpu_busy : float
        Share of its vCPUs' time they run (1.0: saturated).
    vcpus : int
    link_s_per_unit : float
        Seconds of the migration's link the workload's own traffic holds per unit (0: the link is the migration's).
    thread_busy : float
        CPUs of the migration thread's runner busy with the workload's own I/O (0: a thread of its own).
    thread_cpus : int
        CPUs of that runner (dom0's vCPUs; 1 for a migration thread).
    """

    units_per_s: float
    vcpu_busy: float
    vcpus: int
    link_s_per_unit: float
    thread_busy: float
    thread_cpus: int


@dataclass
class PrecopyOutcome:
    """The pre-copy rounds, why they stopped, and what they cost."""

    rounds: list[Round]
    stop_reason: str
    converged: bool
    final: Dirty
    final_rate_mbps: float | None
    first_writes: float
    tracking_cycles: float
    tracking_exits: float
    source_cycles: float
    target_cycles: float
    bytes: float
    pages: float
    units: float

    @property
    def duration_s(self) -> float:
        return self.rounds[-1].end_s - self.rounds[0].start_s if self.rounds else 0.0


class RoundModel:
    """The pre-copy rounds of one migration (see the module docstring).

    Parameters
    ----------
    regions : PageRegions
        The VM's pages and how the workload writes them.
    pages_per_unit : float
        Page writes per unit of work.
    policy : PrecopyPolicy
    costs : GuestTracking
        The tracking work charged to the guest.
    tracking : Tracking
        The migration thread's costs of collecting and re-arming the dirty log.
    transfer : Transfer
        The costs and bytes of sending pages.
    load : GuestLoad
        The guest before the migration.
    freq : float
        Host CPU cycles per second.
    link_bps : float
        Line rate of the migration link.
    used_pages : int
        Pages holding data when the migration starts (the rest are zero pages).
    max_s : float
        Give up iterating after this many seconds.
    """

    def __init__(self, regions: PageRegions, pages_per_unit: float, policy: PrecopyPolicy, costs: GuestTracking,
                 tracking: Tracking, transfer: Transfer, load: GuestLoad, freq: float, link_bps: float,
                 used_pages: int, max_s: float) -> None:
        self.regions, self.ppu, self.policy, self.costs = regions, float(pages_per_unit), policy, costs
        self.tracking, self.transfer, self.load, self.freq = tracking, transfer, load, freq
        self.link_bps, self.used, self.max_s = link_bps, used_pages, max_s
        self._sent_var = 0.0
        self._dirty_of = regions.all_pages()

    # -- the guest and the migration sharing resources ------------------------------------------------------
    def _shares(self, rate_mbps: float | None, send_cycles_per_byte: float, tracking_s_per_unit: float
                ) -> tuple[float, float]:
        """The guest's units per second and the migration's bits per second, given the round's rate limit (None:
        the link's rate), the sender's cycles per byte on the wire and the guest's tracking seconds per unit."""
        ld = self.load
        x0 = ld.units_per_s
        # the vCPUs: the tracking work lengthens each unit; a guest that was not saturated absorbs it until it is
        demand = ld.vcpu_busy + tracking_s_per_unit * x0 / max(ld.vcpus, 1)
        x = x0 / max(1.0, demand)
        r = self.link_bps if rate_mbps is None else min(rate_mbps * 1e6, self.link_bps)
        # the migration thread: one thread, at most a CPU, on a runner whose CPUs the workload's own I/O may use
        if send_cycles_per_byte > 0:
            r = min(r, 8.0 * self.freq / send_cycles_per_byte)
            busy = ld.thread_busy * x / x0 if x0 > 0 else 0.0
            mig = r / 8.0 * send_cycles_per_byte / self.freq
            total = (busy + mig) / max(ld.thread_cpus, 1)
            if total > 1.0:
                r /= total
                if busy > 0:
                    x /= total
        # the link, shared with the workload's own traffic in the same direction
        rho = x * ld.link_s_per_unit + r / self.link_bps
        if rho > 1.0:
            x, r = x / rho, r / rho
        return x, r

    # -- one round ---------------------------------------------------------------------------------------------
    def _variance(self, d: Dirty, of: Dirty) -> float:
        """Variance of a count of pages, each of ``of`` counted with the probability ``d / of`` of its zone."""
        return sum(k * (1.0 - k / m) for k, m in zip(d.pages, of.pages) if m > 0)

    def _round(self, index: int, start_s: float, to_send: Dirty, zero: float, lead_s: float, units_per_s: float
               ) -> tuple[Round, Dirty, float, float]:
        """Round ``index``: the round, the pages it dirtied, the guest's tracking cycles and units in it.

        ``lead_s`` is the time between the end of the last round and this one's first page (collecting the dirty
        log), in which the guest's writes already count for this round."""
        reg, pol, tr = self.regions, self.policy, self.transfer
        x = units_per_s
        arm = self.costs.round_arm(reg.hot).total
        fw, per_unit = self.costs.first_write.total, self.costs.per_unit.total
        n = to_send.total
        z = min(zero, n)
        # wire bytes and sender cycles per page, as if no page were skipped (zero pages are never written again)
        per_page = tr.wire_bytes(n, z) / n if n > 0 else 4096.0
        per_byte = tr.send_cycles(n, z) / (per_page * n) if n > 0 else 0.0
        skipped = Dirty((0.0, 0.0, 0.0, 0.0, 0.0))
        length = 0.0
        track_per_unit = 0.0
        dirty = reg.distinct(x * self.ppu, lead_s)
        for _ in range(FIXED_POINT_ITERATIONS):
            x_new, r = self._shares(pol.rate, per_byte, track_per_unit)
            pages_per_s = r / 8.0 / per_page
            if pol.skips:
                skipped, new_length = reg.skipped(to_send, x_new * self.ppu, pages_per_s)
            else:
                new_length = n / pages_per_s if pages_per_s > 0 else float("inf")
            window = new_length + lead_s
            dirty = reg.distinct(x_new * self.ppu, window)
            units = x_new * window
            cycles = dirty.total * fw + units * per_unit + arm
            track_per_unit = cycles / self.freq / units if units > 0 else 0.0
            done = abs(new_length - length) <= 1e-9 * max(new_length, 1e-9) and abs(x_new - x) <= 1e-9 * max(x, 1.0)
            length, x = new_length, x_new
            if done:
                break
        sent = max(0.0, to_send.total - skipped.total)
        z = min(zero, sent)
        nbytes = tr.wire_bytes(sent, z)
        window = length + lead_s
        units = x * window
        cycles = dirty.total * fw + units * per_unit + arm
        rnd = Round(index, start_s, start_s + length, pages=sent, zero_pages=z, skipped=skipped.total, bytes=nbytes,
                    rate_mbps=pol.rate, dirtied=dirty.total, first_writes=dirty.total, units_per_s=x)
        self._sent_var = self._variance(skipped, to_send)
        return rnd, dirty, cycles, units

    # -- the rounds -----------------------------------------------------------------------------------------
    def run(self, start_s: float) -> PrecopyOutcome:
        """The pre-copy rounds from ``start_s`` (tracking is enabled then), up to the stop-and-copy."""
        reg, pol, tr, xfer = self.regions, self.policy, self.tracking, self.transfer
        n = reg.n
        per_exit_fw = sum(self.costs.first_write.exits.values())
        per_exit_unit = sum(self.costs.per_unit.exits.values())
        arm_exits = sum(self.costs.round_arm(reg.hot).exits.values())
        source = tr.start_cycles(n)
        lead = source / self.freq / max(self.load.thread_cpus - self.load.thread_busy, 1e-3)
        t = start_s + lead
        to_send, zero = reg.all_pages(), float(max(0, n - self.used))
        x = self.load.units_per_s
        rounds: list[Round] = []
        first = cycles_all = exits = target = sent_bytes = sent_pages = units_all = 0.0
        lead_dirty = lead  # tracking was on while the thread enabled it
        stop = None
        var_last = 0.0
        while True:
            rnd, dirty, cycles, units = self._round(len(rounds) + 1, t, to_send, zero, lead_dirty, x)
            # the pages a round sends vary with the pages the last one dirtied and with those it skips
            var = self._sent_var + (self._variance(to_send, self._dirty_of) if rounds else 0.0)
            rounds.append(rnd)
            x = rnd.units_per_s
            first += rnd.first_writes
            cycles_all += cycles
            units_all += units
            exits += rnd.first_writes * per_exit_fw + units * per_exit_unit + arm_exits
            source += xfer.send_cycles(rnd.pages, rnd.zero_pages)
            target += xfer.recv_cycles(rnd.pages, rnd.zero_pages)
            sent_bytes += rnd.bytes
            sent_pages += rnd.pages
            remaining = xfer.wire_bytes(dirty.total, 0.0)
            stop = pol.after_round(RoundEnd(rnd.index, rnd.pages, rnd.skipped, max(rnd.end_s - rnd.start_s, 1e-9),
                                            dirty.total, remaining, rnd.bytes, sent_pages, n,
                                            progress_sd=float(np.sqrt(var + var_last))))
            var_last = var
            self._dirty_of = reg.all_pages()
            if stop is None and rnd.end_s - start_s > self.max_s:
                stop = "time limit: did not converge"
            if stop is not None:
                break
            sync = tr.sync_cycles(n, dirty.total)
            source += sync
            lead_dirty = sync / self.freq / max(self.load.thread_cpus - self.load.thread_busy, 1e-3)
            t = rnd.end_s + lead_dirty
            to_send, zero = dirty, 0.0
        return PrecopyOutcome(rounds, stop, not stop.endswith("did not converge"), dirty, pol.final_mbps, first,
                              cycles_all, exits, source, target, sent_bytes, sent_pages, units_all)
