"""What runs on physical CPUs: entities (vCPUs and backend threads), the items of work they run, what each is
doing, and the cap groups that limit a VM's CPU time.

Both schedulers (the discrete :class:`~kit.sim.scheduler.Scheduler` and the hybrid engine's
:class:`~kit.sim.fluid.FluidScheduler`) run :class:`Item` s for :class:`Entity` s and account their time by
category; the policies (:mod:`kit.sim.policies`) read and charge an entity's credit or virtual runtime.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import simpy

from .work import Work

__all__ = ["Item", "Activity", "CapGroup", "Entity", "credit_units", "WORK_DONE_S", "TALLY_SIZE"]

#: A piece of work is finished when less than this remains.
WORK_DONE_S = 1e-15
#: Distinct Work objects an entity's deferred accounting holds (shared ones: unit batches, wakeups, I/O paths).
TALLY_SIZE = 64


@dataclass
class Item:
    """Work for a runner, and the event to fire (or the continuation to call) when it is done."""

    work: Work
    done: simpy.Event | None = None
    #: workload units this item completes
    units: float = 0.0
    #: called when the item is done, instead of firing ``done``: it may submit the next item at once
    then: Callable[[], None] | None = None
    #: the item is ``scale`` times ``work`` (a varied unit batch shares its Work object with the others)
    scale: float = 1.0
    #: the item ends early, its remaining work dropped, when this event fires (a spinning vCPU's lock is
    #: released; the discrete scheduler only)
    until: simpy.Event | None = None


def credit_units(ent: Entity, item: Item, frac: float, finished: bool = False) -> None:
    """The unit-crediting rule: ``frac`` more of ``item`` ran on ``ent``.

    Throughput counts the work done, in units of the mean unit's work: an item of ``k`` units whose work is
    ``scale`` times the mean (a unit batch's variation, :func:`kit.sim.drivers.jitter`) credits ``k * scale *
    frac`` units as it runs. Over a run this is the CPU time spent on units over the mean unit's time, which is
    the long-run rate whatever the horizon: counting each item's own fraction (``k * frac``) instead favours the
    items under way at the end, which are short ones more often than long ones are finished (E[1/S] > 1/E[S]:
    about 10% high for units whose work varies by 30%, when a run ends with most units under way, as 128 VMs
    time-sharing one CPU for a few units each do), and counting only finished units is low by about half a unit
    per thread. The closed form (:meth:`kit.sim.host.Host.closed_form`) counts the same way. Units whose item
    finished are counted apart in ``finished_units``, so that a run in which no unit finished is known as such
    (:func:`kit.results.validity.check_measured`) instead of reporting a rate made of fractions of unfinished
    units.
    """
    ent.units += item.units * item.scale * frac
    if finished:
        ent.finished_units += item.units


@dataclass(frozen=True, slots=True)
class Activity:
    """What an entity is doing now and since when (for the final flush of the accounting)."""

    state: str  # idle, queueing, running, between
    since: float
    item: Item | None = None
    #: CPU seconds of the item being run
    seconds: float = 0.0


@dataclass
class CapGroup:
    """Entities (a VM's vCPUs) limited together to ``quota_s`` CPU seconds per period."""

    quota_s: float
    used_s: float = 0.0


class Entity:
    """Something that runs on physical CPUs: a vCPU or a backend thread."""

    def __init__(self, name: str, scope: str, kind: str, weight: float, pin: int | None = None) -> None:
        self.name, self.scope, self.kind, self.weight, self.pin = name, scope, kind, weight, pin
        self.acct: defaultdict[str, float] = defaultdict(float)
        self.exits: defaultdict[str, float] = defaultdict(float)
        self.exit_cycles: defaultdict[str, float] = defaultdict(float)
        self.req: Any = None
        #: Xen credit (seconds of CPU the entity may still use this period; negative: OVER)
        self.credit = 0.0
        #: CFS weighted virtual runtime (seconds)
        self.vruntime = 0.0
        self.slice_left = 0.0
        #: when the entity last got a CPU (a policy's minimum run before a waker may preempt it counts from here)
        self.granted_at = 0.0
        #: the entity ran out of work and holds its CPU until the end of the instant, in case its next piece of
        #: work comes in the same instant (the discrete scheduler's :meth:`~kit.sim.scheduler.Scheduler.idle`)
        self.idle_pending = False
        #: Xen credit's BOOST: a vCPU that woke with credit left, until it runs through a tick or credits are
        #: recomputed
        self.boosted = False
        self.active_at = -1.0
        #: the capped group (a VM) this entity belongs to, or None
        self.cap_group: CapGroup | None = None
        self.units = 0.0
        #: units of items that finished (``units`` also counts the running fractions of unfinished ones)
        self.finished_units = 0.0
        self.activity = Activity("idle", 0.0)
        #: deferred accounting (the hybrid engine): id(work) -> [work, fraction of it done, frequency]
        self.tally: dict[int, list] | None = None
        #: the pool of a scheduler built from a partition of the CPUs (None: by ``pin``)
        self.pool: int | None = None
        #: the physical CPU the entity holds (-1: none) and the one it last held
        self.cpu = -1
        self.last_cpu = -1
        #: what a host's mechanisms keep about the entity (its VM, its class of co-runner costs)
        self.owner: Any = None

    def settle(self) -> None:
        """Spread the deferred accounting over categories and exits (once, at the end of a run)."""
        tally, self.tally = self.tally, None
        for work, frac, freq in (tally or {}).values():
            self.account(work, frac, freq)

    def account(self, work: Work, frac: float, freq: float) -> None:
        """Add ``frac`` of ``work`` to the entity's time by category and its exits."""
        if self.tally is not None:  # deferred: one multiply-add per item, spread over categories at the end
            key = id(work)
            hit = self.tally.get(key)
            if hit is not None:
                hit[1] += frac
                return
            if len(self.tally) < TALLY_SIZE:
                self.tally[key] = [work, frac, freq]
                return
            # a Work made for one request: spread at once, so the tally stays small
        for cat, c in work.cycles.items():
            self.acct[cat] += c / freq * frac
        for r, n in work.exits.items():
            self.exits[r] += n * frac
        for r, c in work.exit_cycles.items():
            self.exit_cycles[r] += c * frac
