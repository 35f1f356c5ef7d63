"""Devices: first-come first-served queues (a NIC direction, a disk) with parallel servers."""
from __future__ import annotations

import simpy

__all__ = ["Device", "DISK_SERVERS"]

#: Parallel servers of a disk: a spinning disk serves one request at a time; a flash device many
DISK_SERVERS = ({"hdd": 1, "flash": 16}, "estimated, because an NVMe SSD serves tens of requests in parallel across its channels while a disk head serves one; a profile whose random service time is under 1 ms is taken as flash; fixed because the number of requests a device serves at once is a structural choice of the device model (one head; a flash controller's channels), varied by another disk profile rather than sampled")


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

    def busy_until(self, t: float) -> float:
        """Busy time counted up to ``t`` (service booked past the horizon is excluded)."""
        return self.busy - sum(max(0.0, f - t) for f in self.free_at)
