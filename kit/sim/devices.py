"""Devices: first-come first-served queues (a NIC direction, a disk) with parallel servers; a disk's servers share
its data link; and the NIC's receive interrupt moderation."""
from __future__ import annotations

import bisect

import simpy

__all__ = ["Device", "DISK_SERVERS", "BlkbackDispatch", "BLKBACK_BATCH", "BLKBACK_MAX_PENDING", "InterruptModeration"]

#: Parallel servers of a disk: a spinning disk serves one request at a time; a flash device many
DISK_SERVERS = ({"hdd": 1, "flash": 16}, "estimated, because an NVMe SSD serves tens of requests in parallel across its channels while a disk head serves one; a profile whose random service time is under 1 ms is taken as flash; fixed because the number of requests a device serves at once is a structural choice of the device model (one head; a flash controller's channels), varied by another disk profile rather than sampled")



def book_link(link: list[tuple[float, float]], now: float, ready: float, transfer: float) -> float:
    """Book ``transfer`` seconds on a disk's shared link (``link``: the sorted (start, end) of transfers booked),
    in the first gap at or after ``ready``, forgetting transfers over by ``now``; returns when it ends."""
    while link and link[0][1] <= now:  # transfers already over
        link.pop(0)
    at = ready
    for a, b in link:
        if at + transfer <= a:
            break
        at = max(at, b)
    end = at + transfer
    bisect.insort(link, (at, end))
    return end

class Device:
    """A first-come first-served device queue (NIC direction or disk) with ``servers`` parallel servers.

    Because service is FCFS and its time is known on arrival, a request's completion time is computed when it
    arrives (it starts when the earliest server frees up), so each request costs one event instead of a
    resource's request, hold and release.

    A receive link also carries paced flows (:meth:`book_paced`): a bulk stream whose sender's own link serializes
    its frames at this link's rate, so that its backlog waits at the sender; another sender's frames interleave
    with the stream's and wait for the frame on the wire, not for the stream's backlog (``frame_s`` of
    :meth:`book`).
    """

    def __init__(self, env: simpy.Environment, name: str, servers: int = 1) -> None:
        self.env, self.name = env, name
        self.free_at = [0.0] * servers
        self.paced_until = 0.0
        self.busy = 0.0
        self.served = 0
        self.servers = servers
        #: the disk link's booked transfers, (start, end) in time order (:meth:`book_request`)
        self.link_busy: list[tuple[float, float]] = []

    def serve(self, seconds: float, frame_s: float = 0.0):
        """Serve one request of ``seconds`` (a generator for ``yield from``): returns when it is done."""
        yield self.env.timeout(self.book(seconds, frame_s))

    def serve_paced(self, seconds: float):
        """Carry ``seconds`` of a paced flow (a generator for ``yield from``): returns when it is done."""
        yield self.env.timeout(self.book_paced(seconds))

    def book(self, seconds: float, frame_s: float = 0.0) -> float:
        """Queue one request of ``seconds``; how long from now until it is done. With ``frame_s``, a paced flow
        on the link delays it by the frame on the wire."""
        now = self.env.now
        k = min(range(self.servers), key=self.free_at.__getitem__) if self.servers > 1 else 0
        start = max(now, self.free_at[k])
        if frame_s and now < self.paced_until:
            start = max(start, now + frame_s)
        self.free_at[k] = start + seconds
        self.busy += seconds
        self.served += 1
        return start + seconds - now

    def book_request(self, position: float, transfer: float) -> float:
        """Queue one disk request: it holds one of the servers while it positions (a seek and rotation, or a
        flash read inside the device) for ``position`` seconds, then moves its data for ``transfer`` seconds over the
        device's link, which every server shares (the profile's disk_mbps is the link's bandwidth: the Fibre
        Channel ports of an array, the interface of a disk). How long from now until it is done.

        The link's transfers are booked on a calendar: a request's transfer takes the first gap long enough after
        its positioning ends, without moving a transfer booked before it (deciding the completion on arrival allows
        no more). A device of one server never waits for its link (a request's transfer follows its own
        positioning): :meth:`book` of the sum, bit for bit.
        """
        if self.servers == 1:
            return self.book(position + transfer)
        now = self.env.now
        k = min(range(self.servers), key=self.free_at.__getitem__)
        start = max(now, self.free_at[k])
        end = book_link(self.link_busy, now, start + position, transfer)
        self.free_at[k] = end
        self.busy += end - start
        self.served += 1
        return end - now

    def book_paced(self, seconds: float) -> float:
        """Carry ``seconds`` of a paced flow, after the paced flows before it; how long from now until done."""
        now = self.env.now
        start = max(now, self.paced_until)
        self.paced_until = start + seconds
        self.busy += seconds
        self.served += 1
        return start + seconds - now

    def busy_until(self, t: float) -> float:
        """Busy time counted up to ``t`` (service booked past the horizon is excluded)."""
        return self.busy - sum(max(0.0, f - t) for f in self.free_at) - max(0.0, self.paced_until - t)


#: Xen 3.0 blkback's limits: requests taken from one frontend's ring per turn, and requests in flight below blkback
BLKBACK_BATCH = (16, "Xen 3.0 blkback (linux-2.6-xen-sparse drivers/xen/blkback/blkback.c, Keir Fraser, Steve Hand and "
                     "Christopher Clark, 2003-2005): BATCH_PER_DOMAIN 16, the requests do_block_io_op takes from one "
                     "frontend's ring before blkio_schedule moves on to the next frontend on its list")
BLKBACK_MAX_PENDING = (64, "Xen 3.0 blkback: MAX_PENDING_REQS 64 requests in flight below blkback; blkio_schedule "
                           "is woken only while fewer than half of them are (maybe_trigger_blkio_schedule)")


class BlkbackDispatch:
    """Xen 3.0 blkback's scheduler between frontends (blkio_schedule): frontends with requests wait on a list and
    are served in turn, up to :data:`BLKBACK_BATCH` requests each, while fewer than :data:`BLKBACK_MAX_PENDING` are
    in flight below blkback; a frontend's notification, or a completion, wakes the scheduler only while fewer than
    half of them are. A frontend with a long queue therefore cannot keep another's request behind all of its own
    once the pool binds; below that, every request goes straight to the disk's queue.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.pending = 0
        self.waiting: dict[int, list[simpy.Event]] = {}
        self.turns: list[int] = []
        #: requests that waited for their frontend's turn
        self.held = 0

    def arrive(self, frontend: int) -> simpy.Event | None:
        """A request of ``frontend`` reaches blkback: None when it goes to the disk now, else the event of its
        turn."""
        if not self.turns and self.pending < BLKBACK_MAX_PENDING[0] // 2:  # the scheduler takes it at once
            self.pending += 1
            return None
        ev = self.env.event()
        self.waiting.setdefault(frontend, []).append(ev)
        if frontend not in self.turns:
            self.turns.append(frontend)
        self._trigger()
        if not ev.triggered:
            self.held += 1
        return ev

    def done(self) -> None:
        """A request below blkback completed."""
        self.pending -= 1
        self._trigger()

    def _trigger(self) -> None:
        if self.pending >= BLKBACK_MAX_PENDING[0] // 2:
            return
        while self.pending < BLKBACK_MAX_PENDING[0] and self.turns:
            frontend = self.turns.pop(0)
            queue = self.waiting[frontend]
            for _ in range(min(BLKBACK_BATCH[0], len(queue))):
                if self.pending >= BLKBACK_MAX_PENDING[0]:
                    break
                self.pending += 1
                queue.pop(0).succeed()
            if queue:
                self.turns.append(frontend)


class InterruptModeration:
    """When a NIC raises the receive interrupt for frames that have arrived: its moderation by time.

    Two kinds, as the profile says (``features.adaptive_moderation``):

    - a static timer (Broadcom's host coalescing): the interrupt follows the first frame not yet signalled by
      ``usecs``, or comes as soon as ``frames`` frames are pending; a lone request waits the whole timer, a busy
      NIC fills the count sooner;
    - adaptive moderation (Intel's dynamic ITR, mlx5's DIM) in its latency setting: interrupts at least ``usecs``
      apart; a frame after a quiet interval is signalled at once, frames within the interval wait for its end.

    A bulk stream's interrupts are counted by frames (``nic_rx_frames_per_irq``: under load NAPI polls with the
    interrupt off); this moderates request arrivals, whose latency it adds to.
    """

    def __init__(self, env: simpy.Environment, usecs: float, frames: int, adaptive: bool) -> None:
        self.env, self.delay, self.frames, self.adaptive = env, usecs * 1e-6, max(1, int(frames)), adaptive
        self.armed: simpy.Event | None = None
        self.pending = 0
        self.last = -float("inf")  # the latest interrupt raised or due (adaptive)

    def interrupt(self, frames: float) -> simpy.Event | None:
        """``frames`` frames have arrived now: the event of the interrupt that signals them, or None when it is
        raised at once."""
        if self.delay <= 0:
            return None
        now = self.env.now
        if self.adaptive:
            if now >= self.last + self.delay:
                self.last = now
                return None
            if self.armed is None or self.last < now:  # the next interrupt is due one interval after the last
                self.last = max(self.last + self.delay, now)
                self.armed = self._after(self.last - now)
            return self.armed
        if self.armed is None:
            self.pending = 0
            self.armed = self._after(self.delay)
        self.pending += int(frames)
        if self.pending >= self.frames:  # the count fills first: the interrupt comes now
            ev, self.armed = self.armed, None
            if not ev.triggered:
                ev.succeed()
            return None
        return self.armed

    def _after(self, seconds: float) -> simpy.Event:
        ev = self.env.event()

        def fire(_):
            if not ev.triggered:
                ev.succeed()
            if self.armed is ev:
                self.armed = None
        self.env.timeout(seconds).callbacks.append(fire)
        return ev
