"""Stop when the answer is known, and keep per-request samples light.

:class:`Stopper` watches a run's progress (completed units, or bytes for a stream) in batches of simulated time
and stops it once the 95% confidence interval of the rate, by the method of batch means, is narrower than a
requested fraction of its mean (``Spec.precision``); the run then reports its interval and why it stopped.
Batch means treat consecutive batches as independent, which holds once a batch is long against the time over which
requests influence each other (a few round trips): ``BATCHES`` batches over the longest duration keep a batch at
tens of requests for every preset.

:class:`LatencyLog` keeps one row per request in growing NumPy arrays (three numbers, 20 bytes a request)
instead of a Python object per request.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Stopper", "LatencyLog", "t95", "batch_ci", "BATCHES", "MIN_BATCHES", "STOP_KINDS"]

#: Batches over the longest duration a run may take.
BATCHES = (100, "estimated, because a hundred batches over a preset's duration keep tens of requests per batch, long against the few round trips over which requests are correlated, while the interval is checked often enough to stop within a few percent of the time it needs")
#: The fewest batches an interval is computed from (a run stops no earlier than this share of its duration).
MIN_BATCHES = (20, "estimated, because the t interval of a batch mean needs about twenty batches before its own width is trusted (Law and Kelton, Simulation Modeling and Analysis, batch means)")
#: Workload kinds that may stop early: request/response and I/O workloads.
STOP_KINDS = frozenset({"request", "disk", "stream"})


def t95(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (Cornish-Fisher expansion, within 1e-3 of
    the exact value from 3 degrees of freedom up)."""
    z = 1.959963984540054
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3


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
    """Per-request rows ``(vm, start, latency)`` in columnar arrays that grow by doubling."""

    def __init__(self, capacity: int = 1024) -> None:
        self.vm = np.empty(capacity, dtype=np.int32)
        self.start = np.empty(capacity, dtype=np.float64)
        self.latency = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, row: tuple[int, float, float]) -> None:
        n = self.n
        if n == len(self.vm):
            for name in ("vm", "start", "latency"):
                old = getattr(self, name)
                new = np.empty(2 * n, dtype=old.dtype)
                new[:n] = old
                setattr(self, name, new)
        self.vm[n], self.start[n], self.latency[n] = row
        self.n = n + 1

    def __len__(self) -> int:
        return self.n

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows so far: vm, start (s) and latency (s) arrays."""
        return self.vm[:self.n], self.start[:self.n], self.latency[:self.n]
