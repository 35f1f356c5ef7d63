"""The request and I/O paths of a host evaluated as a network of queues, without an event loop.

Where no two entities of a host want the same physical CPU (:func:`kit.sim.engines.has_request_paths`), every
runner (a VM's vCPUs, a backend's threads) serves the items handed to it first come, first served, as many at once
as it has entities, and every device (a NIC direction, a disk) does the same with its servers. A request of a
request workload is then a walk through stations: the wire, the receiving NIC, the backend, the vCPUs (a unit of
work, the disk when the unit needs it), the backend again, the sending NIC and the wire back; a disk request is the
guest's submission, the backend, the disk and the completion interrupt. What the discrete and the hybrid engines
simulate with several events a request (:mod:`kit.sim.drivers`) is here the recursion of each station:

- a station books a request when it arrives: the server that has been free the longest (or frees first) takes
  it, ``start = max(arrival, free_at)``, ``end = start + service`` (what :class:`~kit.sim.devices.Device` does,
  and what a runner's first-come first-served queue of work amounts to when its entities always hold a CPU);
- a vCPU that was halted pays its wakeup first (less within the halt-poll window, nothing when work arrived at
  the instant it went idle), as :class:`~kit.sim.host.Runner` charges it;
- the requests of one customer (a client, a disk thread) follow each other, with think times between them.

Arrivals are processed in the order of time across customers (a heap of one entry per customer; those of one
instant in the order they were booked); when the host has a single customer there is no queue anywhere, and its
whole sample path is cumulative sums of the steps' times (:func:`_single`, arrays instead of a loop). Each random
part is drawn from the host's generator when a simulated run draws it, with the drivers' distributions (a unit's
work gamma with ``UNIT_WORK_CV``, think times and disk positioning exponential, the disk branch uniform), so a run
is the discrete engine's own sample path to rounding (``tests/test_engines.py``), and agrees with it in
distribution across seeds (``tests/test_equivalence.py``). Every visit is recorded, and the host's entities,
devices, latency log and early stopping (:class:`~kit.sim.stopping.Stopper`) are accounted from the records at the
horizon as a simulated run leaves them: busy time by category and exits, idle time, units (an unfinished one by the
fraction done), the requests finished and those still under way.
"""
from __future__ import annotations

import heapq
from array import array
from typing import Any

import numpy as np

from .drivers import UNIT_WORK_CV
from .stopping import STOP_KINDS, Stopper
from .work import IDLE
from .devices import book_link
from .request_network import DISK, FIXED, UNIT, _Visits, _Station, _Network, _Slot, _Customer, _customers

__all__ = ["evaluate", "class_counts"]




def _walk(net: _Network, customers: list[_Customer], horizon: float) -> None:
    """Every customer's requests until ``horizon``, the arrivals at stations taken in the order of time.

    Each random part is drawn when a simulated run draws it (:mod:`kit.sim.drivers`): a think time when the
    previous request is done, a unit's variation when it reaches the vCPUs, whether it goes to the disk when its
    unit is done, a positioning time when it reaches the disk. Taken in the order of time, the draws are the
    simulated run's, one for one, wherever events do not tie.
    """
    rng = net.host.rng
    shape = 1 / UNIT_WORK_CV[0] ** 2
    gamma, exponential, uniform = rng.gamma, rng.exponential, rng.random
    record = tuple(c.append for c in net.cols)
    nk = net.nk
    finished, credits = net.finished, net.credits
    # (time, order, customer): arrivals at the same instant are taken in the order they were booked, as a simulated
    # run takes the events of one instant in the order they were scheduled
    heap: list[tuple[float, int, int]] = []
    for i, cu in enumerate(customers):
        think = cu.template.think
        cu.t0 = float(exponential(think)) if think else 0.0
        heap.append((cu.t0, i, i))
    heapq.heapify(heap)
    order = len(customers)
    irq = _Moderation(net.host)
    while heap:
        t, _, i = heap[0]
        cu = customers[i]
        slots = cu.slots
        t, pos = _next_station(cu, t, uniform)
        if t >= horizon:  # its request (if it began) is under way at the horizon
            if cu.g.primary and cu.t0 < horizon:
                net.open.append((cu.g.i, cu.t0))
            heapq.heappop(heap)
            continue
        slot = slots[pos]
        st, how, scale, position = slot.station, slot.how, 1.0, 0.0
        if how == FIXED:
            seconds = slot.seconds
        elif how == UNIT:
            scale = float(gamma(shape, 1 / shape))
            seconds = slot.seconds * scale + cu.template.extra_s
        else:
            mean = cu.template.position
            position = float(exponential(mean)) if mean else 0.0
            seconds = slot.seconds if st.link is not None else position + slot.seconds
        end = _book(st, t, seconds, position, slot.kind, scale, nk, record)
        t = irq.signal(t, end) if st.device is irq.rx else end
        pos += 1
        n = len(slots)
        while pos < n and slots[pos].station is None:  # the wire back
            t += slots[pos].seconds
            pos += 1
        order += 1
        if pos < n:
            cu.pos = pos
            heapq.heapreplace(heap, (t, order, i))
            continue
        g = cu.g  # the request is done at t
        if t >= horizon:
            if g.primary:
                net.open.append((g.i, cu.t0))
            heapq.heappop(heap)
            continue
        if g.primary:
            finished.extend((g.i, cu.t0, t))
        if cu.disk:
            credits.append((t, st.index, 0))
        think = cu.template.think
        cu.pos, cu.branch = 0, None
        cu.t0 = t + (float(exponential(think)) if think else 0.0)
        heapq.heapreplace(heap, (cu.t0, order, i))


def _next_station(cu: _Customer, t: float, uniform: Any) -> tuple[float, int]:
    """When customer ``cu``'s request reaches its next station, and that step: across the wire, and past the disk
    branch when its unit does not go to the disk (decided, with ``uniform``, when the unit is done)."""
    slots, pos = cu.slots, cu.pos
    slot = slots[pos]
    while slot.station is None:  # the wire
        t += slot.seconds
        pos += 1
        slot = slots[pos]
    if slot.branch and cu.branch is None:  # the unit is done: does it go to the disk?
        cu.branch = bool(uniform() < cu.template.disk_ops)
        if not cu.branch:
            while slot.branch:
                pos += 1
                slot = slots[pos]
            while slot.station is None:
                t += slot.seconds
                pos += 1
                slot = slots[pos]
    return t, pos


def _book(st: _Station, t: float, seconds: float, position: float, kind: int, scale: float, nk: int,
          record: tuple) -> float:
    """Book a visit arriving at ``t`` for ``seconds`` of service and record it: the server free the longest (or
    first) takes it, after a halted vCPU's wakeup (recorded as a visit of its own). On a disk of several servers
    the visit positions for ``position`` seconds, then its transfer of ``seconds`` takes the first gap long enough
    on the shared link, as :meth:`kit.sim.devices.Device.book_request` books it. Returns when the visit ends."""
    c_key, c_scale, c_arr, c_start, c_end = record
    servers = st.order
    if servers is None:
        k, f = 0, st.free[0]
    else:
        f, k = servers[0]
    if f < t:
        start = t
        if st.wake is not None:
            w = st.poll if st.poll is not None and t - f <= st.poll_s else st.wake
            start = t + w[0]
            c_key(st.key0 + k * nk + w[1]), c_scale(1.0), c_arr(t), c_start(t), c_end(start)
    else:
        start = f
    link = st.link
    if link is None:
        end = start + seconds
    else:
        end = book_link(link, t, start + position, seconds)
    if servers is None:
        st.free[0] = end
    else:
        heapq.heapreplace(servers, (end, k))
    c_key(st.key0 + k * nk + kind), c_scale(scale), c_arr(t), c_start(start), c_end(end)
    return end


class _Moderation:
    """The NIC's adaptive receive moderation (:class:`kit.sim.devices.InterruptModeration`) as the walk meets it:
    a request's frames are signalled at once after a quiet interval, else at the interrupt due one interval after
    the last. The receive link is one first-come first-served server, so its completions come in the order they
    are booked; ``rx`` is a station's device that none is when there is no moderation to follow."""

    __slots__ = ("rx", "delay", "last", "fire")

    def __init__(self, host: Any) -> None:
        irq = host.nic_irq
        self.rx: Any = host.nic_rx if irq.adaptive and irq.delay > 0 else _NOTHING
        self.delay = irq.delay
        self.last = self.fire = -float("inf")

    def signal(self, t: float, end: float) -> float:
        """When the frames that arrived at ``t`` and were received by ``end`` are signalled."""
        now = t + (end - t)  # when the simulated run's timeout of end - t, booked at t, fires
        if now >= self.last + self.delay:
            self.last = now
            return now
        if self.fire > now:  # the interrupt already due takes these frames too
            return self.fire
        # armed now: it fires after last - now, as a timeout of that length does
        self.last = max(self.last + self.delay, now)
        self.fire = now + (self.last - now)
        return self.fire


#: what no station's device is
_NOTHING = object()


def _single(net: _Network, cu: _Customer, horizon: float) -> bool:
    """The requests of the host's only customer until ``horizon``, in arrays: with one request in the host at a
    time nothing queues, a station's servers take its visits in turn (the one free the longest is the one used
    least recently), and the sample path is the cumulative sum of the steps' times, a halted vCPU's wakeup chosen
    by how long it was idle (a fixed point: the idle times depend on the wakeups of the visits between).

    Used when a unit's variation is the only draw (no think time, no disk branch, no positioning time): the draws
    are then a walk's in the same order (NumPy draws an array as it draws its elements one by one), and the times
    the same sums in the same order. Under the NIC's adaptive moderation, only where every request's frames are
    signalled at once (each reception ends at least one interval after the one before, and the walk's time of it,
    :meth:`_Moderation.signal`, is the same number). False (nothing drawn, nothing recorded) where it does not apply.
    """
    tpl = cu.template
    slots = tpl.slots
    if tpl.think or any(s.branch or (s.how == DISK and tpl.position) for s in slots):
        return False
    rng = net.host.rng
    shape = 1 / UNIT_WORK_CV[0] ** 2
    base = np.array([s.seconds for s in slots])
    unit = [i for i, s in enumerate(slots) if s.how == UNIT]
    stations = list(dict.fromkeys(s.station for s in slots if s.station is not None))
    turns = {id(st): [i for i, s in enumerate(slots) if s.station is st] for st in stations}
    n = int(horizon / max(float(base.sum()), 1e-12) * 1.25) + 64
    state = rng.bit_generator.state
    while True:
        j = rng.gamma(shape, 1 / shape, n)
        steps = np.tile(base, (n, 1))
        for i in unit:
            steps[:, i] = steps[:, i] * j + tpl.extra_s
        woken = _wakes(stations, turns, steps)
        if woken is None:
            rng.bit_generator.state = state
            return False
        wake, kind = woken
        t = _times(steps, wake)
        if not _signalled_at_once(net, slots, t, horizon):
            rng.bit_generator.state = state
            return False
        if t[-1, -1, 1] >= horizon:
            break
        rng.bit_generator.state = state  # not far enough: the same draws and more
        n *= 2
    served, end = t[:, :, 0], t[:, :, 1]
    arrive = _arrivals(t)
    # (order, key, scale, arrival, start, end) of the visits, put in the order a walk records them (by request, by
    # step, a wakeup before its service) so that the host is accounted from the same sums in the same order
    rows: list[tuple[np.ndarray, ...]] = []
    width = 2 * len(slots)
    for st in stations:
        m, mine = len(st.free), turns[id(st)]
        for q, i in enumerate(mine):
            s = slots[i]
            server = (np.arange(n) * len(mine) + q) % m
            live = arrive[:, i] < horizon
            req = np.flatnonzero(live)
            k, a, b, e = server[live], arrive[live, i], served[live, i], end[live, i]
            for code, how in ((1, st.wake), (2, st.poll)):
                if how is not None:
                    on = kind[live, i] == code
                    rows.append((req[on] * width + 2 * i, st.key0 + k[on] * net.nk + how[1],
                                 np.ones(int(on.sum())), a[on], a[on], b[on]))
            scale = j[live] if s.how == UNIT else np.ones(len(k))
            rows.append((req * width + 2 * i + 1, st.key0 + k * net.nk + s.kind, scale, a, b, e))
        last = [(t_end, r) for r in range(m) for t_end in [_last_end(arrive, end, mine, m, r, horizon)]]
        for t_end, r in last:
            if t_end is not None:
                st.free[r] = t_end
    order = np.argsort(np.concatenate([r[0] for r in rows]), kind="stable")
    _extend(net, *(np.concatenate([r[c] for r in rows])[order] for c in range(1, 6)))
    t0 = np.concatenate([[0.0], end[:-1, -1]])
    done = end[:, -1] < horizon
    g = cu.g
    if g.primary:
        net.finished_blocks.append(np.column_stack([np.full(int(done.sum()), g.i), t0[done], end[done, -1]]))
        left = np.flatnonzero(~done)
        if len(left) and t0[left[0]] < horizon:
            net.open.append((g.i, float(t0[left[0]])))
    if cu.disk:
        vm = slots[-1].station.index
        net.credits += [(float(x), vm, 0) for x in end[done, -1]]
    return True


def _signalled_at_once(net: _Network, slots: list[_Slot], t: np.ndarray, horizon: float) -> bool:
    """Whether the walk would signal every reception before ``horizon`` at once under the NIC's adaptive moderation
    (:class:`_Moderation`; true without it): each ends at least one interval after the previous one, and the walk's
    time of it, ``t + (end - t)``, is its end (``t``: the sums of :func:`_times`)."""
    irq = _Moderation(net.host)
    if irq.rx is _NOTHING:
        return True
    for i, s in enumerate(slots):
        if s.station is not None and s.station.device is irq.rx:
            arrive, end = t[:, i, 0], t[:, i, 1]  # a device has no wakeup: it serves at the arrival
            live = arrive < horizon
            arrive, end = arrive[live], end[live]
            if not (np.array_equal(arrive + (end - arrive), end) and bool(np.all(end[1:] >= end[:-1] + irq.delay))):
                return False
    return True


def _times(steps: np.ndarray, wake: np.ndarray) -> np.ndarray:
    """When each step's service begins and ends: the cumulative sum of the increments in the order a walk adds
    them (a wakeup, then the service), from time 0."""
    n, k = steps.shape
    inc = np.empty((n, k, 2))
    inc[:, :, 0], inc[:, :, 1] = wake, steps
    return np.cumsum(inc.ravel()).reshape(n, k, 2)


def _arrivals(t: np.ndarray) -> np.ndarray:
    """When each step's request arrives at its station: the sum before its wakeup (:func:`_times`), the walk's
    time of arrival to the last bit (the service's start less the wakeup need not be)."""
    flat = t.ravel()
    return np.concatenate([[0.0], flat[:-1]]).reshape(t.shape)[:, :, 0]


def _wakes(stations: list[_Station], turns: dict[int, list[int]],
           steps: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The wakeup of every visit of a vCPU station when one request is in the host at a time: a server was idle
    from the end of its previous visit (or from time 0) to the arrival; the full wakeup (kind 1), the one within
    the halt-poll window (kind 2), or none (kind 0: idle for no time). Returns the wakeups' seconds and kinds, a
    fixed point over the idle times; None if it does not settle."""
    wake = np.zeros_like(steps)
    kind = np.zeros(steps.shape, dtype=np.int8)
    for _ in range(64):
        t = _times(steps, wake)
        new, new_kind = np.zeros_like(steps), np.zeros_like(kind)
        for st in stations:
            full, poll = st.wake, st.poll
            if full is None:
                continue
            cols = turns[id(st)]
            m = len(st.free)
            arrive = _arrivals(t)[:, cols].ravel()  # the station's visits in order of time
            end = t[:, cols, 1].ravel()
            before = np.concatenate([np.zeros(m), end[:-m]]) if m < len(end) else np.zeros(len(end))
            idle = arrive - before
            k = np.where(idle > 0, 1, 0).astype(np.int8)
            if poll is not None:
                k[(idle > 0) & (idle <= st.poll_s)] = 2
            secs = np.choose(k, [0.0, full[0], poll[0] if poll is not None else 0.0])
            new[:, cols] = secs.reshape(len(steps), len(cols))
            new_kind[:, cols] = k.reshape(len(steps), len(cols))
        if np.array_equal(new_kind, kind) and np.array_equal(new, wake):
            return wake, kind
        wake, kind = new, new_kind
    return None


def _last_end(arrive: np.ndarray, end: np.ndarray, cols: list[int], m: int, server: int,
              horizon: float) -> float | None:
    """When server ``server`` of a station (visited at ``cols`` of each request, in turn) frees after its last
    visit that arrived before the horizon; None if it had none."""
    a = arrive[:, cols].ravel()
    e = end[:, cols].ravel()
    r = np.flatnonzero((a < horizon) & (np.arange(len(a)) % m == server))
    return float(e[r[-1]]) if len(r) else None


def _extend(net: _Network, key: np.ndarray, scale: Any, arrive: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> None:
    """Record visits given as arrays (``scale``: an array or one number)."""
    if len(key):
        net.blocks.append((key.astype(np.int64), np.broadcast_to(np.asarray(scale, dtype=float), key.shape),
                           arrive, start, end))


def _stop(host: Any, net: _Network, rec: _Visits) -> float:
    """The horizon: the duration, or the batch boundary where the metric is known to ``spec.precision``
    (:class:`~kit.sim.stopping.Stopper`, fed the units done by each boundary as a simulated run feeds it)."""
    end = host.duration
    if host.wl.kind not in STOP_KINDS or host.spec.precision is None:
        return end
    measured = {net.station(g.vm).index for g in host.guests if g.primary}
    if host.wl.kind == "disk":
        times = np.sort([t for t, st, _ in net.credits if st in measured])
    else:
        mine = np.isin(rec.station, list(measured)) & (rec.units > 0)
        times = np.sort(rec.end[mine])
    stopper = Stopper(lambda: 0.0, end, host.spec.precision)
    boundaries = np.cumsum(np.full(int(end / stopper.batch_s) + 2, stopper.batch_s))
    boundaries = boundaries[boundaries < end]  # a boundary at the horizon comes after it, as in a simulated run
    done = np.searchsorted(times, boundaries, side="right")
    host.stopper = stopper
    for b, n in zip(boundaries, done):
        stopper.progress = lambda n=n: float(n)
        stopper.check()
        if stopper.done:
            host.stop_reason = "precision"
            return float(b)
    host.stop_reason = "duration (precision not reached)"
    return end


def _account(host: Any, net: _Network, visits: _Visits, horizon: float) -> None:
    """Leave the host's entities, devices and latency log as a simulated run to ``horizon`` leaves them."""
    freq = host.freq
    rec = visits.before(horizon)  # what arrived by the horizon was booked
    st_col, srv = rec.station, rec.server
    start, end = rec.start, rec.end
    span = end - start
    ran = np.clip(np.minimum(end, horizon) - start, 0.0, None)
    frac = np.where(end <= horizon, 1.0, np.divide(ran, span, out=np.zeros_like(ran), where=span > 0))
    m = max(len(st.free) for st in net.stations) if net.stations else 1
    w_n = max(len(net.works), 1)
    sid = st_col * m + srv  # one index per server of every station
    size = len(net.stations) * m
    busy = np.bincount(sid, weights=ran, minlength=size)
    units = rec.units
    credit = np.bincount(sid, weights=units * frac, minlength=size)
    done = np.bincount(sid, weights=units * (end <= horizon), minlength=size)
    w1, w2 = rec.work, rec.work2
    one = w1 >= 0  # a device's visit runs no work
    share = np.bincount(sid[one] * w_n + w1[one], weights=rec.scale[one] * frac[one], minlength=size * w_n)
    two = w2 >= 0
    share2 = np.bincount(sid[two] * w_n + w2[two], weights=frac[two], minlength=size * w_n)
    last = np.full(size, -np.inf)
    np.maximum.at(last, sid, end)
    span_of = np.bincount(st_col, weights=span, minlength=len(net.stations))
    served = np.bincount(st_col, minlength=len(net.stations))
    for st in net.stations:
        base = st.index * m
        if st.device is not None:
            dev = st.device
            dev.busy, dev.served = float(span_of[st.index]), int(served[st.index])
            for k in range(len(dev.free_at)):
                dev.free_at[k] = float(last[base + k]) if last[base + k] > -np.inf else 0.0
            continue
        for k, ent in enumerate(st.runner.entities):
            i = base + k
            for acc in (share, share2):
                row = acc[i * w_n:(i + 1) * w_n]
                for w in np.flatnonzero(row):
                    ent.account(net.works[w], float(row[w]), freq)
            ent.units += float(credit[i])
            ent.finished_units += float(done[i])
            host.sched.pool_of(ent).busy += float(busy[i])
            ent.acct[IDLE] = horizon - float(busy[i])
    for t, station, k in net.credits:
        if t < horizon:
            ent = net.stations[station].runner.entities[k]
            ent.units += 1.0
            ent.finished_units += 1.0
    touched = {id(st.runner) for st in net.stations if st.runner is not None}
    for r in host.vms + host.neighbors + list(host.backends.values()):
        for ent in r.entities:
            if id(r) not in touched:
                ent.acct[IDLE] = horizon
            ent.settle()
    # the latency log: finished requests in the order they finished, then those under way
    req = net.requests()
    fin = req[req[:, 2] < horizon]
    fin = fin[np.lexsort((fin[:, 0], fin[:, 2]))]
    host.latencies.extend(fin[:, 0].astype(np.int32), fin[:, 1], fin[:, 2] - fin[:, 1])
    host.requests_done = len(fin)
    late = req[(req[:, 1] < horizon) & (req[:, 2] >= horizon)]
    open_ = [(int(vm), float(t0)) for vm, t0 in late[:, :2]] + [(vm, t0) for vm, t0 in net.open if t0 < horizon]
    host.in_flight = dict(enumerate(sorted(open_, key=lambda r: (r[1], r[0])), start=len(fin)))
    host.requests_started = len(fin) + len(open_)


def evaluate(host: Any) -> int:
    """Run ``host`` (whose paths :func:`kit.sim.engines.has_request_paths` says are queues) by the recursion of
    its stations, leave it accounted as :meth:`kit.sim.host.Host.run` would, and return 0 (no SimPy event)."""
    net = _Network(host)
    customers = _customers(net)
    net.seal()
    if not (len(customers) == 1 and _single(net, customers[0], host.duration)):
        _walk(net, customers, host.duration)
    rec = net.visits()
    net.cols = tuple(array(c.typecode) for c in net.cols)  # the columns are in ``rec`` now
    horizon = _stop(host, net, rec)
    host.duration = horizon
    _account(host, net, rec, horizon)
    host._engine = "queueing"  # what answered, as Host.closed_form marks "analytic"
    return 0


def class_counts(host: Any) -> list[int]:
    """vCPUs of each class of the host's memory-system model (:class:`~kit.sim.memory.Contention`), for
    :func:`kit.sim.engines.has_request_paths`; empty without one."""
    cont = host.contention
    if cont is None:
        return []
    counts = [0] * len(cont.classes)
    for g in host.guests:
        for ent in g.vm.entities:
            cls = host._class(ent)
            if cls is not None:
                counts[cls] += 1
    return counts
