"""Queueing theory the request paths are evaluated with: mean-value analysis of closed networks, and the Lindley
recursion of a first-come first-served queue in vectorised form.

:func:`mva` is exact mean-value analysis (Reiser and Lavenberg, J. ACM 27(2), 1980) of a closed network of one
class of customers: ``clients`` customers, each thinking for ``think`` seconds on average between requests, visit
stations with ``demands`` seconds of service per request (visits times mean service), each station a delay (infinite
servers) or a first-come first-served queue with one or several servers. Several servers make a station's rate
depend on how many customers it holds, so it keeps the marginal probabilities of its queue length (Lazowska et al.,
Quantitative System Performance, 1984, section 8.4). The result is exact for product-form networks (exponential
service at the queues, any distribution at the delays) and gives the asymptotic bounds exactly: one customer meets
no queue, and a saturated bottleneck sets the throughput whatever its service distribution.

:func:`lindley` is the recursion of a single-server FCFS queue, ``D[n] = max(A[n], D[n-1]) + S[n]``, computed as one
cumulative maximum: ``D[n] - C[n] = max(A[n] - C[n-1], D[n-1] - C[n-1])`` with ``C`` the cumulative service, so the
departures of a whole sample path cost a few array operations instead of an event each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MvaResult", "mva", "lindley"]


@dataclass(frozen=True)
class MvaResult:
    """What :func:`mva` gives for the full population: throughput (requests per second), the mean response time
    (seconds per request, thinking excluded), and per station its mean residence time per request, mean number of
    customers and utilization (busy servers over servers)."""

    throughput: float
    response: float
    residence: tuple[float, ...]
    customers: tuple[float, ...]
    utilization: tuple[float, ...]


def mva(demands: list[float], servers: list[int | None], clients: int, think: float = 0.0) -> MvaResult:
    """Exact mean-value analysis of a closed single-class network.

    Parameters
    ----------
    demands : list of float
        Service demand of one request at each station (seconds: visits times mean service time).
    servers : list of int or None
        Servers of each station; None makes it a delay (infinite servers: no queue).
    clients : int
        Customers in the network (at least 1).
    think : float
        Mean think time between a customer's requests (seconds).

    Returns
    -------
    MvaResult
    """
    if clients < 1 or len(demands) != len(servers):
        raise ValueError("mva needs at least one client and one server count per station")
    k = len(demands)
    q = [0.0] * k
    # marginal queue-length probabilities of the multi-server stations, p[j] for j = 0..n
    probs = {i: np.array([1.0]) for i, m in enumerate(servers) if m is not None and m > 1}
    x, res = 0.0, [0.0] * k
    for n in range(1, clients + 1):
        for i, (d, m) in enumerate(zip(demands, servers)):
            if m is None:
                res[i] = d
            elif m == 1:
                res[i] = d * (1.0 + q[i])
            else:
                p = probs[i]
                j = np.arange(min(m - 1, len(p)))
                res[i] = d / m * (1.0 + q[i] + float(np.sum((m - 1 - j) * p[:len(j)])))
        total = sum(res)
        x = n / (think + total) if think + total > 0 else math.inf
        q = [x * r for r in res]
        for i, p in probs.items():
            m = servers[i]
            assert m is not None
            j = np.arange(1, n + 1)
            new = np.empty(n + 1)
            new[1:] = x * demands[i] / np.minimum(j, m) * p[:n]
            new[0] = max(0.0, 1.0 - float(new[1:].sum()))
            probs[i] = new
    util = tuple(0.0 if m is None else min(1.0, x * d / m) for d, m in zip(demands, servers))
    return MvaResult(x, sum(res), tuple(res), tuple(q), util)


def lindley(arrivals: np.ndarray, services: np.ndarray, free_at: float = 0.0) -> np.ndarray:
    """Departure times of a single-server FCFS queue whose customers arrive at ``arrivals`` (non-decreasing) and
    need ``services``; the server is free from ``free_at``. ``D[n] = max(A[n], D[n-1]) + S[n]``, vectorised."""
    a = np.asarray(arrivals, dtype=float)
    s = np.asarray(services, dtype=float)
    if not len(a):
        return a.copy()
    c = np.cumsum(s)
    ahead = c - s  # the service of the customers ahead
    # D[n] - C[n] = max(A[n] - C[n-1], D[n-1] - C[n-1]), from free_at: a running maximum
    return np.maximum.accumulate(np.maximum(a - ahead, free_at)) + c
