"""Devices: first-come first-served queues (a NIC direction, a disk) with parallel servers, and the NIC's receive
interrupt moderation."""
from __future__ import annotations

import simpy

__all__ = ["Device", "DISK_SERVERS", "InterruptModeration"]

#: Parallel servers of a disk: a spinning disk serves one request at a time; a flash device many
DISK_SERVERS = ({"hdd": 1, "flash": 16}, "estimated, because an NVMe SSD serves tens of requests in parallel across its channels while a disk head serves one; a profile whose random service time is under 1 ms is taken as flash")


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
