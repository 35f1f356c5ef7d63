"""Workload drivers: the processes that make a guest do its work on a host.

One family per workload kind (``kit.inputs.workloads``): CPU-bound threads that run units back to back (with
optional disk I/O), disk threads that issue requests and wait, a bulk network stream under a TCP window, and
closed-loop clients on the far side of the NIC. Each submits guest work to its VM's runner, backend work to the
backend that serves the I/O path, and requests to the devices; :data:`DRIVERS` maps a kind to its starter.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from .net_costs import RX_FLOW_CPUS, SEGMENTS_PER_ACK, TCP_WINDOW_BATCHES
from .entities import Item
from .work import Work

__all__ = ["start", "blocks", "ChainedCpuThread", "ChainedWrite", "request_started", "request_done", "DRIVERS",
           "ITEM_TARGET_S", "UNIT_WORK_CV", "TCP_WINDOW_BATCHES", "SEGMENTS_PER_ACK"]

#: Variation of one unit's work: gamma with shape k has CV 1/sqrt(k)
UNIT_WORK_CV = (0.3, "estimated, because per-request and per-compilation work varies by tens of percent around its mean in profiles of these benchmarks; fixed because it shapes the sampling noise of a unit's work, which the replications' interval measures, not the expected value")
#: Guest work per scheduled item for CPU-bound threads: short units are batched to about this much
ITEM_TARGET_S = (1e-3, "estimated, because a millisecond is short against scheduler slices (0.75-30 ms) and long against the events it replaces; fixed because it is a setting of the simulation's method (its batching or tick), not a property of the system, so it is no source of model uncertainty")


def jitter(host, k: int = 1) -> float:
    """Multiplicative variation of the work of ``k`` units (gamma, mean 1, CV ``UNIT_WORK_CV`` per unit)."""
    shape = k / UNIT_WORK_CV[0] ** 2
    return float(host.rng.gamma(shape, 1 / shape))


def _blocks_on_disk(host, g) -> bool:
    """Whether the backend of ``g``'s disk waits for the device in its one thread (:meth:`Runner.blocking`)."""
    be = host.backend(g.cost.backend_name("disk"), g.i)
    return be is not None and be.lock is not None


def _start_cpu(host, g) -> None:
    chained = (getattr(host.sched, "chains", False) and not (g.wl.per_unit.disk_ops and g.wl.disk_sync)
               and not any(g.faults) and not (g.wl.per_unit.disk_ops and _blocks_on_disk(host, g))
               and host.failures is None)
    for _ in range(len(g.vm.entities) * g.wl.threads_per_vcpu):
        if chained:
            ChainedCpuThread(host, g).submit()
        else:
            host.env.process(cpu_thread(host, g))


def _start_disk(host, g) -> None:
    for _ in range(g.wl.params.queue_depth):
        host.env.process(disk_thread(host, g))


def _start_stream(host, g) -> None:
    for _ in range(g.wl.params.streams):
        host.env.process(stream(host, g))


#: The starter of each workload kind that runs inside its VM (request clients start per host, see start()).
DRIVERS: dict[str, Callable] = {"cpu": _start_cpu, "disk": _start_disk, "stream": _start_stream}


def blocks(wl) -> bool:
    """Whether the workload's vCPUs sleep and wake (waiting for requests, the disk or the network).

    The latency of a waking vCPU under contention depends on where the running ones are in their slices, so the
    hybrid engine simulates slices for such a workload on a host where entities contend.
    """
    return wl.kind != "cpu" or bool(wl.per_unit.disk_ops and wl.disk_sync)


def start(host) -> None:
    """Start every guest's driver processes, then the clients of request workloads."""
    for g in host.guests:
        starter = DRIVERS.get(g.wl.kind)
        if starter is not None:
            starter(host, g)
    groups: dict[int, list] = {}  # VMs of one group share their workload's clients (a spec's identical VMs)
    for g in host.guests:
        groups.setdefault(g.plan.group if g.plan is not None else (0 if g.primary else 1 + g.i), []).append(g)
    for members in groups.values():
        g0 = members[0]
        if g0.wl.kind == "request":
            for c in range(g0.wl.params.clients):
                host.env.process(client(host, c, members[c % len(members)]))


def cpu_thread(host, g):
    """A guest thread that runs units back to back (batched to about ``ITEM_TARGET_S`` of work per item)."""
    env, u, vm = host.env, g.wl.per_unit, g.vm
    base = g.cost.unit()
    k = max(1, int(math.ceil(ITEM_TARGET_S[0] * host.freq / max(base.total, 1.0))))
    batch = base * k
    while True:
        yield from vm.run(batch, units=float(k), scale=jitter(host, k))
        if g.faults[0] or g.faults[1]:
            yield from memory_faults(host, g, k)
        if u.disk_ops:
            n = host.rng.poisson(u.disk_ops * k)
            if g.wl.disk_sync:
                for _ in range(n):
                    yield from disk_io(host, g)
            elif n:
                # write-back: the block layer merges this item's writes into one request
                env.process(disk_io(host, g, ops=n))


class ChainedCpuThread:
    """:func:`cpu_thread` as a continuation, for a scheduler that chains items (the hybrid engine).

    Each item's ``then`` draws the item's write-back and submits the next unit batch in the same callback, so a
    thread that never waits costs no process switch per item. Threads whose writes are synchronous wait for the
    disk and stay :func:`cpu_thread` processes.
    """

    def __init__(self, host, g) -> None:
        self.host, self.g = host, g
        base = g.cost.unit()
        self.k = max(1, int(math.ceil(ITEM_TARGET_S[0] * host.freq / max(base.total, 1.0))))
        self.batch = base * self.k

    def submit(self) -> None:
        k = self.k
        self.g.vm.submit(Item(self.batch, units=float(k), then=self._done, scale=jitter(self.host, k)))

    def _done(self) -> None:
        host, g = self.host, self.g
        if g.wl.per_unit.disk_ops:
            n = host.rng.poisson(g.wl.per_unit.disk_ops * self.k)
            if n:
                ChainedWrite(host, g, n).start()
        self.submit()


class ChainedWrite:
    """An asynchronous :func:`disk_io` (write-back of ``ops`` merged operations) as continuations, for a scheduler
    that chains items: the guest's submission, the backend's work, the device and the completion interrupt each
    hand over to the next in a callback, with no process of its own."""

    def __init__(self, host, g, ops: int) -> None:
        self.host, self.g, self.ops = host, g, ops

    def start(self) -> None:
        self.g.vm.submit(Item(self.g.cost.disk_guest(), then=self._submitted))

    def _submitted(self) -> None:
        c = self.g.cost
        be = self.host.backend(c.backend_name("disk"), self.g.i)
        if be is not None:
            be.submit(Item(c.backend_disk(), then=self._to_device))
        else:
            self._to_device()

    def _to_device(self) -> None:
        gate = self.host.disk_dispatch
        turn = gate.arrive(self.g.i) if gate is not None else None
        if turn is not None:
            turn.callbacks.append(self._book)
        else:
            self._book(None)

    def _book(self, _event) -> None:
        host, g = self.host, self.g
        param = host.hw.val
        transfer = self.ops * g.wl.per_unit.disk_kb * 1024 / (param("disk_mbps") * 1e6)
        position = host.rng.exponential(param("disk_service_ms") / 1000.0) if g.wl.disk_random else 0.0
        done = host.env.timeout(host.disk.book_request(position, transfer))
        done.callbacks.append(self._served)

    def _served(self, _event) -> None:
        if self.host.disk_dispatch is not None:
            self.host.disk_dispatch.done()
        self.g.vm.submit(Item(self.g.cost.notify()))


def memory_faults(host, g, units: float):
    """The page faults ``units`` of work take when the guest's memory is short (:mod:`kit.sim.overcommit`): guest
    page-ins through the VM's own disk path, and host swap-ins the vCPU waits for on the host's disk."""
    guest, swap = g.faults
    if guest:
        for _ in range(host.rng.poisson(guest * units)):
            yield from g.vm.run(g.cost.work(g.cost.cm.path("pagefault")))
            yield from disk_io(host, g)
    if swap:
        from .overcommit import HOST_SWAP_FAULT_CYCLES
        param = host.hw.val
        work = g.cost.work(g.cost.cm.path("pagefault")) + Work.of("host swap-in", HOST_SWAP_FAULT_CYCLES[0])
        for _ in range(host.rng.poisson(swap * units)):
            yield from g.vm.run(work)
            position = host.rng.exponential(param("disk_service_ms") / 1000.0)
            yield host.env.timeout(host.disk.book_request(position, 4096 / (param("disk_mbps") * 1e6)))


def disk_thread(host, g):
    """A guest thread that issues one disk request at a time and waits for it (latency recorded)."""
    vm = g.vm
    base = g.cost.unit()
    kick = g.cost.disk_guest()
    while True:
        t0 = host.env.now
        token = request_started(host, g, t0)
        yield from vm.run(base * jitter(host) + kick, units=0.0)
        yield from disk_io(host, g, kicked=True)
        vm.entities[0].units += 1.0
        vm.entities[0].finished_units += 1.0
        request_done(host, g, token, t0)


def disk_io(host, g, kicked: bool = False, ops: int = 1):
    """One disk request: the guest's submission, the backend, the device, the completion interrupt."""
    c, vm = g.cost, g.vm
    if not kicked:
        yield from vm.run(c.disk_guest())
    if host.failures is not None:  # a failed component on the path: the request waits for its recovery
        yield from host.failures.wait(g, "disk", host.env.now)
    be = host.backend(c.backend_name("disk"), g.i)
    if be is not None and be.lock is not None:  # its thread waits for the device in the system call
        yield from be.blocking(c.backend_disk(), _disk_service(host, g, ops))
    else:
        if be is not None:
            yield from be.run(c.backend_disk())
        yield from _disk_service(host, g, ops)
    yield from vm.run(c.disk_done())


def _disk_service(host, g, ops: int):
    """The disk serving a request of ``ops`` merged operations."""
    u = g.wl.per_unit
    param = host.hw.val
    transfer = ops * u.disk_kb * 1024 / (param("disk_mbps") * 1e6)
    # random requests pay a positioning time (exponential around the profile's mean); all pay the transfer
    position = host.rng.exponential(param("disk_service_ms") / 1000.0) if g.wl.disk_random else 0.0
    gate = host.disk_dispatch  # blkback's turns between frontends
    if gate is not None:
        turn = gate.arrive(g.i)
        if turn is not None:
            yield turn
    yield host.env.timeout(host.disk.book_request(position, transfer))
    if gate is not None:
        gate.done()


def stream(host, g):
    """Bulk transfer under a TCP window: batches of half a window (or of one segment, several in flight, where the
    stack builds segments: Costing.stream_plan), transmit or receive (a workload's ``streams`` run side by side,
    each with its own window, all on the VM's vCPUs and its I/O path)."""
    env, c, p, vm = host.env, g.cost, g.wl.params, g.vm
    batch, in_flight = c.stream_plan()
    outstanding = simpy.Container(env, init=in_flight, capacity=in_flight)
    nbytes = batch * c.payload
    wire_bytes = c.wire_bytes(batch, nbytes)
    guest = c.stream_guest(p.direction, batch)
    if p.direction == "tx":
        while True:
            yield outstanding.get(1)
            yield from vm.run(guest * jitter(host), units=batch)
            env.process(_tx_batch(host, g, batch, nbytes, wire_bytes, outstanding))
    else:
        # one flow's receive runs on RX_FLOW_CPUS CPUs at most (with two batches in flight it never waits)
        cpus = simpy.Resource(env, capacity=RX_FLOW_CPUS[0]) if in_flight > RX_FLOW_CPUS[0] else None
        while True:
            yield outstanding.get(1)
            env.process(_rx_batch(host, g, batch, nbytes, wire_bytes, guest, outstanding, cpus))


def _tx_batch(host, g, npkts, nbytes, wire_bytes, outstanding):
    c = g.cost
    if host.failures is not None:
        yield from host.failures.wait(g, "net", host.env.now)
    be = host.backend(c.backend_name("net"), g.i)
    work = c.stream_backend("tx", npkts)
    if be is not None and work.total:
        yield from be.run(work)
    yield from host.nic_tx.serve(wire_bytes * 8 / host.line_bps)
    g.bytes_done += nbytes
    yield host.env.timeout(2 * host.wire_s)  # the window reopens when the ACKs are back
    yield outstanding.put(1)


def _rx_batch(host, g, npkts, nbytes, wire_bytes, guest, outstanding, cpus=None):
    c, vm = g.cost, g.vm
    yield host.env.timeout(host.wire_s)
    if host.failures is not None:
        yield from host.failures.wait(g, "net", host.env.now)
    # the sender's own link paces the stream: other senders' frames interleave with it on the receive link
    yield from host.nic_rx.serve_paced(wire_bytes * 8 / host.line_bps)
    be = host.backend(c.backend_name("net"), g.i)
    work = c.stream_backend("rx", npkts)
    if be is not None and work.total:
        yield from be.run(work)
    if cpus is None:
        yield from vm.run(guest * jitter(host), units=npkts)
    else:
        with cpus.request() as turn:
            yield turn
            yield from vm.run(guest * jitter(host), units=npkts)
    g.bytes_done += nbytes
    yield host.env.timeout(host.wire_s)
    yield outstanding.put(1)


def client(host, c: int, g):
    """A closed-loop client across the wire: send a request, wait for the response (latency recorded)."""
    env, cost, p, vm, i = host.env, g.cost, g.wl.params, g.vm, g.i
    pk = cost.request_packets()
    work = cost.request_guest()
    be_rx, be_tx = cost.request_backend("rx"), cost.request_backend("tx")
    be = host.backend(cost.backend_name("net"), i)
    u = g.wl.per_unit
    frame_s = cost.wire_bytes(1, cost.payload) * 8 / host.line_bps  # a full frame on the receive link
    while True:
        if p.think_us:
            yield env.timeout(host.rng.exponential(p.think_us * 1e-6))
        t0 = env.now
        token = request_started(host, g, t0)
        yield env.timeout(host.wire_s)
        if host.failures is not None:  # the request reaches a failed path: TCP resends it until it gets through
            yield from host.failures.wait(g, "net", t0)
        yield from host.nic_rx.serve(pk.rx_wire_bytes * 8 / host.line_bps, frame_s)
        irq = host.nic_irq.interrupt(pk.rx)  # the NIC's interrupt moderation
        if irq is not None:
            yield irq
        if be is not None and be_rx.total:
            yield from be.run(be_rx)
        yield from vm.run(work * jitter(host), units=1.0)
        if g.faults[0] or g.faults[1]:
            yield from memory_faults(host, g, 1)
        if u.disk_ops and host.rng.random() < u.disk_ops:
            yield from disk_io(host, g)
        if host.failures is not None:  # the response leaves through a failed path
            yield from host.failures.wait(g, "net", env.now)
        if be is not None and be_tx.total:
            yield from be.run(be_tx)
        yield from host.nic_tx.serve(pk.tx_wire_bytes * 8 / host.line_bps)
        yield env.timeout(host.wire_s)
        request_done(host, g, token, t0)


def request_started(host, g, t0: float) -> int | None:
    """A measured request begins: it is under way until :func:`request_done` (right-censored if the run ends
    first). Returns its token (None for an unmeasured neighbour's request)."""
    if not g.primary:
        return None
    token = host.requests_started
    host.requests_started += 1
    host.in_flight[token] = (g.i, t0)
    return token


def request_done(host, g, token: int | None, t0: float) -> None:
    """A measured request finished: its latency is recorded."""
    if token is None or host.in_flight.pop(token, None) is None:  # not measured, or lost when its VM ended
        return
    host.requests_done += 1
    host.latencies.append((g.i, t0, host.env.now - t0))
