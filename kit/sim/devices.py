"""Devices: first-come first-served queues (a NIC direction, a disk) with parallel servers; a disk's servers share
its data link."""
from __future__ import annotations

import bisect

import simpy

__all__ = ["Device", "DISK_SERVERS"]

#: Parallel servers of a disk: a spinning disk serves one request at a time; a flash device many
DISK_SERVERS = ({"hdd": 1, "flash": 16}, "estimated, because an NVMe SSD serves tens of requests in parallel across its channels while a disk head serves one; a profile whose random service time is under 1 ms is taken as flash")


class Device:
    """A first-come first-served device queue (NIC direction or disk) with ``servers`` parallel servers.

    Because service is FCFS and its time is known on arrival, a request's completion time is computed when it
    arrives (it starts when the earliest server frees up), so each request costs one event instead of a
    resource's request, hold and release.
    """

    def __init__(self, env: simpy.Environment, name: str, servers: int = 1) -> None:
        self.env, self.name = env, name
        self.free_at = [0.0] * servers
        self.busy = 0.0
        self.served = 0
        self.servers = servers
        #: the disk link's booked transfers, (start, end) in time order (:meth:`book_request`)
        self.link_busy: list[tuple[float, float]] = []

    def serve(self, seconds: float):
        """Serve one request of ``seconds`` (a generator for ``yield from``): returns when it is done."""
        yield self.env.timeout(self.book(seconds))

    def book(self, seconds: float) -> float:
        """Queue one request of ``seconds``; how long from now until it is done."""
        now = self.env.now
        k = min(range(self.servers), key=self.free_at.__getitem__) if self.servers > 1 else 0
        start = max(now, self.free_at[k])
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
        link = self.link_busy
        while link and link[0][1] <= now:  # transfers already over
            link.pop(0)
        at = start + position
        for a, b in link:
            if at + transfer <= a:
                break
            at = max(at, b)
        end = at + transfer
        bisect.insort(link, (at, end))
        self.free_at[k] = end
        self.busy += end - start
        self.served += 1
        return end - now

    def busy_until(self, t: float) -> float:
        """Busy time counted up to ``t`` (service booked past the horizon is excluded)."""
        return self.busy - sum(max(0.0, f - t) for f in self.free_at)
