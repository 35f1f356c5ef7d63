"""Stop when the answer is known, and keep per-request samples light.

:class:`Stopper` watches a run's progress (completed units, or bytes for a stream) in batches of simulated time
and stops it once the 95% confidence interval of the rate, by the method of batch means, is narrower than a
requested fraction of its mean (``Spec.precision``); the run then reports its interval and why it stopped.
Batch means treat consecutive batches as independent, which holds once a batch is long against the time over which
requests influence each other (a few round trips): ``BATCHES`` batches over the longest duration keep a batch at
tens of requests for every preset.

:class:`LatencyLog` keeps one row per request in NumPy arrays grown in place by half (three numbers, 20 bytes a
request) instead of a Python object per request.
"""
from __future__ import annotations

import math

import numpy as np

from ..stats import t95

__all__ = ["Stopper", "LatencyLog", "NoLatencyLog", "t95", "batch_ci", "BATCHES", "MIN_BATCHES", "STOP_KINDS"]

#: Batches over the longest duration a run may take.
BATCHES = (100, "estimated, because a hundred batches over a preset's duration keep tens of requests per batch, long against the few round trips over which requests are correlated, while the interval is checked often enough to stop within a few percent of the time it needs; fixed because it is a setting of the simulation's method (the batches of its stopping rule), not a property of the system, so it is no source of model uncertainty")
#: The fewest batches an interval is computed from (a run stops no earlier than this share of its duration).
MIN_BATCHES = (20, "estimated, because the t interval of a batch mean needs about twenty batches before its own width is trusted (Law and Kelton, Simulation Modeling and Analysis, batch means); fixed because it is a setting of the simulation's method (the batches of its stopping rule), not a property of the system, so it is no source of model uncertainty")
#: Workload kinds that may stop early: request/response and I/O workloads.
STOP_KINDS = frozenset({"request", "disk", "stream"})


def batch_ci(rates: list[float] | np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval of the mean of batch rates."""
    x = np.asarray(rates, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else 0.0
    if n < 2:
        return mean, math.inf
    return mean, t95(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)


class Stopper:
    """Batch means of a run's progress; ``done`` once the interval is within ``precision`` of the mean.

    ``progress`` returns the run's cumulative measure (units or bytes); ``check`` is called at every batch
    boundary.
    """

    def __init__(self, progress, duration: float, precision: float | None) -> None:
        self.progress, self.precision = progress, precision
        self.batch_s = duration / BATCHES[0]
        self.rates: list[float] = []
        self.last = 0.0
        self.done = False

    def check(self) -> None:
        now = self.progress()
        self.rates.append((now - self.last) / self.batch_s)
        self.last = now
        if self.precision is None or len(self.rates) < MIN_BATCHES[0]:
            return
        mean, half = batch_ci(self.rates)
        if mean > 0 and half <= self.precision * mean:
            self.done = True

    def interval(self) -> tuple[float, float] | None:
        """(low, high) of the mean rate, or None with fewer than ``MIN_BATCHES`` batches."""
        if len(self.rates) < MIN_BATCHES[0]:
            return None
        mean, half = batch_ci(self.rates)
        return mean - half, mean + half


class LatencyLog:
    """Per-request rows ``(vm, start, latency)`` in columnar arrays that grow in place by half."""

    def __init__(self, capacity: int = 1024) -> None:
        self._empty(capacity)

    def _empty(self, capacity: int) -> None:
        self.vm = np.empty(capacity, dtype=np.int32)
        self.start = np.empty(capacity, dtype=np.float64)
        self.latency = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, row: tuple[int, float, float]) -> None:
        n = self.n
        if n == len(self.vm):
            for name in ("vm", "start", "latency"):
                getattr(self, name).resize(n + n // 2 + 16, refcheck=False)  # in place where the allocator can
        self.vm[n], self.start[n], self.latency[n] = row
        self.n = n + 1

    def extend(self, vm: np.ndarray, start: np.ndarray, latency: np.ndarray) -> None:
        """Append many rows at once (arrays of equal length)."""
        n, k = self.n, len(vm)
        if n + k > len(self.vm):
            for name in ("vm", "start", "latency"):
                getattr(self, name).resize(n + k + (n + k) // 2 + 16, refcheck=False)
        self.vm[n:n + k], self.start[n:n + k], self.latency[n:n + k] = vm, start, latency
        self.n = n + k

    def __len__(self) -> int:
        return self.n

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows so far: vm, start (s) and latency (s) arrays (views)."""
        return self.vm[:self.n], self.start[:self.n], self.latency[:self.n]

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows as arrays of their own length (shrunk in place, no copy); the log is emptied."""
        n = self.n
        out = []
        for a in (self.vm, self.start, self.latency):
            a.resize(n, refcheck=False)  # only the log refers to them
            out.append(a)
        self._empty(1)
        return out[0], out[1], out[2]


class NoLatencyLog(LatencyLog):
    """A log that keeps nothing (a native baseline, whose requests nobody reads)."""

    def append(self, row: tuple[int, float, float]) -> None:
        pass

    def extend(self, vm: np.ndarray, start: np.ndarray, latency: np.ndarray) -> None:
        pass
