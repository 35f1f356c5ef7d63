"""The request paths of a host as data: its stations (every runner and device, with its servers), the kinds of
work a visit runs, the customers (a disk workload's threads, a request workload's clients) with the templates of
their requests, and the records of every visit as arrays. :mod:`kit.sim.request_paths` walks the customers through
this network and accounts the host from the records."""
from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from .work import Work


class _Visits:
    """Every visit of a run as arrays: its station and server, the work it ran (a device's: -1) with its scale, a
    second work at scale 1 (a disk thread's kick, or -1), the units it credits, and when it arrived, started and
    ended."""

    def __init__(self, net: _Network) -> None:
        key = np.concatenate([np.frombuffer(net.cols[0], dtype=np.int64)] + [b[0] for b in net.blocks])
        self.scale, self.arrive, self.start, self.end = (
            np.concatenate([np.frombuffer(net.cols[i], dtype=float)] + [b[i] for b in net.blocks]) for i in range(1, 5))
        sid, kind = np.divmod(key, max(net.nk, 1))
        self.station, self.server = np.divmod(sid, net.mk)
        kinds = np.array(net.kinds, dtype=float).reshape(-1, 3)
        self.work, self.work2 = kinds[kind, 0].astype(np.int64), kinds[kind, 1].astype(np.int64)
        self.units = kinds[kind, 2]

    def before(self, horizon: float) -> _Visits:
        """The visits booked by ``horizon`` (those that arrived before it)."""
        keep = self.arrive < horizon
        if keep.all():  # the walks book nothing that arrives later: no copy
            return self
        out = object.__new__(_Visits)
        for name in ("scale", "arrive", "start", "end", "station", "server", "work", "work2", "units"):
            setattr(out, name, getattr(self, name)[keep])
        return out


class _Station:
    """A runner's entities or a device's servers: when each is free, and what a halted vCPU pays to wake."""

    __slots__ = ("index", "free", "order", "runner", "device", "wake", "poll", "poll_s", "key0", "link")

    def __init__(self, index: int, servers: int, runner: Any = None, device: Any = None, link: bool = False) -> None:
        self.index, self.runner, self.device = index, runner, device
        self.free = [0.0] * servers
        #: a disk of several servers: the transfers booked on the link they share, (start, end) in time order
        self.link: list[tuple[float, float]] | None = [] if link and servers > 1 else None
        #: several servers: (free_at, server) in a heap, the one free the longest (the lowest index of a tie) first
        self.order = [(0.0, k) for k in range(servers)] if servers > 1 else None
        #: (seconds, kind) of a halted vCPU's wakeup, and of one within ``poll_s`` (the halt-poll window)
        self.wake: tuple[float, int] | None = None
        self.poll: tuple[float, int] | None = None
        self.poll_s = -1.0
        #: the key of its first server's visits (:meth:`_Network.seal`)
        self.key0 = 0


class _Network:
    """The stations of a host, the works they run, and every visit of the run."""

    def __init__(self, host: Any) -> None:
        self.host, self.freq = host, host.freq
        self.stations: list[_Station] = []
        self._of: dict[int, _Station] = {}
        self.works: list[Work] = []
        self._work_of: dict[int, int] = {}
        #: what a visit runs: (work, second work, units), by kind
        self.kinds: list[tuple[int, int, float]] = []
        self._kind_of: dict[tuple[int, int, float], int] = {}
        self.nk = self.mk = 1
        #: visits one by one (a walk: a column each of key, scale, arrival, start, end, as machine numbers, 8 bytes
        #: a value instead of a list's 32 or more; a key is the station, server and kind, see seal), and in blocks of
        #: such columns (arrays)
        self.cols: tuple[array, ...] = (array("q"), array("d"), array("d"), array("d"), array("d"))
        self.blocks: list[tuple[np.ndarray, ...]] = []
        #: (time, station, server) of each unit a disk request credits when it is done
        self.credits: list[tuple[float, int, int]] = []
        #: (vm, start, end) of each measured request that finished, one by one (flat, as machine numbers) and in
        #: blocks of rows; (vm, start) of those under way at the end
        self.finished = array("d")
        self.finished_blocks: list[np.ndarray] = []
        self.open: list[tuple[int, float]] = []

    def visits(self) -> _Visits:
        """Every visit, as arrays."""
        return _Visits(self)

    def kind(self, work: int, work2: int = -1, units: float = 0.0) -> int:
        """The index of what a visit runs."""
        key = (work, work2, units)
        i = self._kind_of.get(key)
        if i is None:
            i = self._kind_of[key] = len(self.kinds)
            self.kinds.append(key)
        return i

    def seal(self) -> None:
        """Every station and kind is known: a visit's key is ``(station * servers + server) * kinds + kind``."""
        self.nk = max(len(self.kinds), 1)
        self.mk = max([len(st.free) for st in self.stations] or [1])
        for st in self.stations:
            st.key0 = st.index * self.mk * self.nk

    def requests(self) -> np.ndarray:
        """Every measured request that finished: rows of (vm, start, end)."""
        rows = np.frombuffer(self.finished, dtype=float).reshape(-1, 3)
        return np.concatenate([rows] + self.finished_blocks) if self.finished_blocks else rows

    def station(self, owner: Any, device: bool = False) -> _Station:
        """The station of a runner (its entities are the servers, halted vCPUs pay their wakeup) or of a device."""
        st = self._of.get(id(owner))
        if st is None:
            i = len(self.stations)
            if device:
                st = _Station(i, owner.servers, device=owner, link=owner is self.host.disk)
            else:
                st = _Station(i, len(owner.entities), runner=owner)
                if owner.wake_work is not None:
                    st.wake = (owner.wake_work.total / self.freq, self.kind(self.work(owner.wake_work)))
                    if owner.poll is not None:
                        st.poll_s = owner.poll[0]
                        st.poll = (owner.poll[1].total / self.freq, self.kind(self.work(owner.poll[1])))
            self.stations.append(st)
            self._of[id(owner)] = st
        return st

    def work(self, w: Work) -> int:
        """The index of a piece of work (kept here, so that its id is never another's)."""
        i = self._work_of.get(id(w))
        if i is None:
            i = self._work_of[id(w)] = len(self.works)
            self.works.append(w)
        return i


#: The ways a step's time is drawn per request
FIXED, UNIT, DISK = 0, 1, 2


class _Slot:
    """One step of a workload's request: a station (None: a delay), its time (``seconds``; times the unit's
    variation for ``UNIT``, plus a positioning time for ``DISK``), the work it runs and the units it credits, and
    whether it is on the disk branch of a request (taken with probability ``disk_ops``)."""

    __slots__ = ("station", "seconds", "how", "work", "work2", "units", "branch", "kind")

    def __init__(self, net: _Network, station: _Station | None, seconds: float, how: int = FIXED, work: int = -1,
                 work2: int = -1, units: float = 0.0, branch: bool = False) -> None:
        self.station: Any = station  # None: a delay
        self.seconds, self.how, self.work, self.work2 = seconds, how, work, work2
        self.units, self.branch = units, branch
        self.kind = net.kind(work, work2, units)


class _Template:
    """The steps of one request of guest ``g``'s workload and how their random parts are drawn, as the drivers
    draw them (:func:`kit.sim.drivers.client`, :func:`kit.sim.drivers.disk_thread`, :func:`kit.sim.drivers.disk_io`):
    a think time (exponential), a unit's variation (gamma, mean 1, CV ``UNIT_WORK_CV``), whether the unit goes to
    the disk, and the disk's positioning time (exponential)."""

    def __init__(self, net: _Network, g: Any) -> None:
        host, c, freq = net.host, g.cost, net.freq
        self.rng = host.rng
        self.think = g.wl.params.think_us * 1e-6 if g.wl.kind == "request" else 0.0
        self.disk_ops = g.wl.per_unit.disk_ops if g.wl.kind == "request" else 1.0
        param = host.hw.val
        self.position = param("disk_service_ms") / 1000.0 if g.wl.disk_random else 0.0
        #: seconds of the unvaried work that rides on a unit's item (a disk thread's kick)
        self.extra_s = 0.0
        vm = net.station(g.vm)
        slots: list[_Slot] = []
        if g.wl.kind == "request":
            pk = c.request_packets()
            work = c.request_guest()
            be_rx, be_tx = c.request_backend("rx"), c.request_backend("tx")
            be = host.backend(c.backend_name("net"), g.i)
            slots += [_Slot(net, None, host.wire_s),
                      _Slot(net, net.station(host.nic_rx, device=True), pk.rx_wire_bytes * 8 / host.line_bps)]
            if be is not None and be_rx.total:
                slots.append(_Slot(net, net.station(be), be_rx.total / freq, work=net.work(be_rx)))
            slots.append(_Slot(net, vm, work.total / freq, UNIT, net.work(work), units=1.0))
            if g.wl.per_unit.disk_ops:
                slots += self._disk(net, g, vm, kicked=False)
            if be is not None and be_tx.total:
                slots.append(_Slot(net, net.station(be), be_tx.total / freq, work=net.work(be_tx)))
            slots += [_Slot(net, net.station(host.nic_tx, device=True), pk.tx_wire_bytes * 8 / host.line_bps),
                      _Slot(net, None, host.wire_s)]
        else:  # a disk thread: the unit's work and the kick in one item (the kick is not varied), then the disk
            base, kick = c.unit(), c.disk_guest()
            self.extra_s = kick.total / freq
            slots.append(_Slot(net, vm, base.total / freq, UNIT, net.work(base), net.work(kick)))
            slots += self._disk(net, g, vm, kicked=True)
        self.slots = slots

    def _disk(self, net: _Network, g: Any, vm: _Station, kicked: bool) -> list[_Slot]:
        host, c, freq = net.host, g.cost, net.freq
        branch = g.wl.kind == "request"
        out = [] if kicked else [_Slot(net, vm, c.disk_guest().total / freq, work=net.work(c.disk_guest()),
                                       branch=branch)]
        be = host.backend(c.backend_name("disk"), g.i)
        if be is not None:
            out.append(_Slot(net, net.station(be), c.backend_disk().total / freq, work=net.work(c.backend_disk()),
                             branch=branch))
        transfer = g.wl.per_unit.disk_kb * 1024 / (host.hw.val("disk_mbps") * 1e6)
        out.append(_Slot(net, net.station(host.disk, device=True), transfer, DISK, branch=branch))
        out.append(_Slot(net, vm, c.disk_done().total / freq, work=net.work(c.disk_done()), branch=branch))
        return out



class _Customer:
    """A client of a request workload or a thread of a disk workload: where its request under way is, when it
    began, and whether it goes to the disk (None: not decided yet)."""

    __slots__ = ("g", "template", "slots", "pos", "t0", "disk", "branch")

    def __init__(self, g: Any, template: _Template) -> None:
        self.g, self.template, self.slots = g, template, template.slots
        self.pos = 0
        self.t0 = 0.0
        self.disk = g.wl.kind == "disk"
        self.branch: bool | None = None


def _customers(net: _Network) -> list[_Customer]:
    """The host's customers in the order the drivers start them (:func:`kit.sim.drivers.start`): each disk
    workload's threads, then the clients of each group of VMs running a request workload (client ``c`` of a group
    of ``n`` VMs talks to VM ``c % n``)."""
    host = net.host
    out: list[_Customer] = []
    for g in host.guests:
        if g.wl.kind == "disk":
            t = _Template(net, g)
            out += [_Customer(g, t) for _ in range(g.wl.params.queue_depth)]
    groups: dict[int, list] = {}
    for g in host.guests:
        groups.setdefault(g.plan.group if g.plan is not None else (0 if g.primary else 1 + g.i), []).append(g)
    for members in groups.values():
        if members[0].wl.kind == "request":
            ts = [_Template(net, g) for g in members]
            out += [_Customer(members[c % len(members)], ts[c % len(members)])
                    for c in range(members[0].wl.params.clients)]
    return out
