"""The writable working set of a guest as regions of pages, and what pre-copy sees of it.

Clark et al. (NSDI 2005, section 4.1) characterize a workload's writable working set by the number of distinct
pages it writes in windows of increasing length: a hot set, rewritten so often that it is dirty again in any
window, and pages written once in a while, which a short window misses. A workload's
:class:`~kit.inputs.workloads.WritableSet` gives three classes of page writes, which land on regions of the VM's
pages (``n`` pages of 4 KiB):

- hot writes, anywhere in ``[0, H)`` (the hot set, at most the footprint);
- ordered writes, each the next page of the sweep region ``[H, H + S)`` (a log's tail, the page cache's least
  recently used frames, a buffer rewritten end to end), cycling;
- spread writes, anywhere in the footprint ``[0, F)``.

:class:`PageRegions` holds these regions for a VM and a workload. The same regions serve both engines of a live
migration: :meth:`PageRegions.sample` draws the page numbers of so many writes (the event engine marks them in its
dirty bitmap), and the expectations of the same draws give the round model's counts: the distinct pages written
in a window (:meth:`PageRegions.distinct`, Clark's curve), and how many of the pages a round has to send are written
again before their turn (:meth:`PageRegions.skipped`, the pages Xen's sender skips) and how long the round lasts. Within a window the guest
writes at a constant rate; uniform writes to a page are a Poisson stream (so a page escapes ``k`` writes spread over
``m`` pages with probability ``exp(-k/m)``), and the ordered writes cover ``v t`` consecutive pages in ``t`` seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs.workloads import WritableSet

__all__ = ["PageRegions", "Dirty", "ZONES", "SKIP_POINTS"]

#: The zones of pages with the same writes: the hot set; the sweep region inside the footprint (ordered and spread
#: writes); the sweep region beyond the footprint (ordered writes only); the rest of the footprint (spread writes);
#: the rest of the VM (never written).
ZONES = ("hot", "sweep", "sweep-out", "footprint", "rest")

#: Steps of the midpoint rule through a round's pages for those written again before their turn.
SKIP_POINTS = 64


@dataclass(frozen=True)
class Dirty:
    """Expected pages per zone (a count for each of :data:`ZONES`), and for the pages of the sweep region the
    share the ordered writes dirtied (the rest were dirtied by spread writes only) and how long ago, at most, the
    ordered writes passed them (``sweep_age_s``; ``inf`` for pages whose place in the cycle is unknown)."""

    pages: tuple[float, ...]
    swept_share: float = 0.0
    sweep_age_s: float = float("inf")

    @property
    def total(self) -> float:
        return float(sum(self.pages))


class PageRegions:
    """The regions of a VM's ``n`` pages that a workload writes (see the module docstring).

    Parameters
    ----------
    ws : WritableSet
        How the workload writes.
    n : int
        Pages of the VM.
    footprint_pages : int
        Pages the workload touches (at most ``n``).
    """

    def __init__(self, ws: WritableSet, n: int, footprint_pages: int) -> None:
        self.ws, self.n = ws, max(1, int(n))
        self.footprint = max(1, min(self.n, int(footprint_pages)))
        self.hot = min(self.footprint, int(round(ws.hot_mib * 256)))
        if ws.sweep_mib is not None:
            size = int(round(ws.sweep_mib * 256))
        else:
            size = self.footprint - self.hot
        self.sweep = max(1, min(self.n - self.hot, size)) if self.n > self.hot else 0
        self.sweep_share = float(ws.sweep_fraction) if self.sweep else 0.0
        self.hot_share = float(ws.hot_fraction) if self.hot else 0.0
        self.spread_share = max(0.0, 1.0 - self.hot_share - self.sweep_share)
        inside = max(0, min(self.hot + self.sweep, self.footprint) - self.hot)
        self.zone_pages = (float(self.hot), float(inside), float(self.sweep - inside),
                           float(self.footprint - self.hot - inside),
                           float(self.n - self.footprint - (self.sweep - inside)))

    # -- the event engine's draws -----------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, writes: int, cursor: int) -> tuple[np.ndarray, int]:
        """Page numbers of ``writes`` page writes, and the sweep's cursor after them (ordered writes start at
        ``cursor``, counted in pages since the workload started)."""
        if writes <= 0:
            return np.empty(0, dtype=np.int64), cursor
        k_hot, k_sweep, _ = rng.multinomial(writes, [self.hot_share, self.sweep_share, self.spread_share])
        parts = []
        if k_hot:
            parts.append(rng.integers(0, self.hot, k_hot))
        if k_sweep:
            parts.append(self.hot + (cursor + np.arange(k_sweep)) % self.sweep)
            cursor += int(k_sweep)
        k_spread = writes - k_hot - k_sweep
        if k_spread:
            parts.append(rng.integers(0, self.footprint, k_spread))
        return np.concatenate(parts), cursor

    # -- the round model's expectations -----------------------------------------------------------------------
    def _rates(self, writes_per_s: float) -> tuple[float, float, float]:
        """Writes per second to each hot page and to each footprint page, and ordered pages per second."""
        hot = writes_per_s * self.hot_share / self.hot if self.hot else 0.0
        spread = writes_per_s * self.spread_share / self.footprint
        return hot, spread, writes_per_s * self.sweep_share

    def period_s(self, writes_per_s: float) -> float:
        """Seconds for the ordered writes to go once round the sweep region (``inf`` if there are none)."""
        v = writes_per_s * self.sweep_share
        return self.sweep / v if v > 0 and self.sweep else float("inf")

    def distinct(self, writes_per_s: float, window_s: float) -> Dirty:
        """Expected distinct pages written in a window of ``window_s`` seconds at ``writes_per_s`` page writes."""
        hot, spread, v = self._rates(writes_per_s)
        t = max(0.0, float(window_s))
        h, sin, sout, fp, _ = self.zone_pages
        q = min(1.0, v * t / self.sweep) if self.sweep else 0.0
        miss = np.exp(-spread * t)
        pages = (h * (1.0 - np.exp(-(hot + spread) * t)), sin * (1.0 - (1.0 - q) * miss), sout * q,
                 fp * (1.0 - miss), 0.0)
        swept = (sin + sout) * q
        in_sweep = pages[1] + pages[2]
        return Dirty(tuple(float(p) for p in pages), swept / in_sweep if in_sweep > 0 else 0.0,
                     t if q < 1.0 else float("inf"))

    def skipped(self, to_send: Dirty, writes_per_s: float, pages_per_s: float) -> tuple[Dirty, float]:
        """Expected pages of ``to_send`` written again before their turn, and the round's length, when the sender
        takes the pages in a random order and sends ``pages_per_s`` of them (Xen's sender skips a page dirty again:
        it goes in the next round, and the sender moves on at once).

        A page's turn comes when the sender reaches its place ``x`` in the order; the sender goes through the order
        faster where it skips more, ``dx/dt = pages_per_s / (N (1 - P(t)))``, with ``P(t)`` the share of pages
        reached at ``t`` that are dirty again. Integrated over ``x`` by the midpoint rule (:data:`SKIP_POINTS`)."""
        n = to_send.total
        if n <= 0 or pages_per_s <= 0:
            return Dirty((0.0, 0.0, 0.0, 0.0, 0.0)), 0.0
        hot, spread, v = self._rates(writes_per_s)
        period = self.sweep / v if v > 0 and self.sweep else float("inf")
        s = to_send.pages
        share = [p / n for p in s]

        def dirty_again(t: float) -> tuple[float, float, float, float]:
            reached = float(self._swept_by(np.array([t]), period, to_send)[0])
            return (1.0 - np.exp(-(hot + spread) * t), 1.0 - (1.0 - reached) * np.exp(-spread * t), reached,
                    1.0 - np.exp(-spread * t))

        def slope(t: float) -> float:  # dt/dx
            p = dirty_again(t)
            return n * (1.0 - sum(w * q for w, q in zip(share[:4], p))) / pages_per_s

        dx = 1.0 / SKIP_POINTS
        t = 0.0
        acc = [0.0, 0.0, 0.0, 0.0]
        for _ in range(SKIP_POINTS):
            mid = t + 0.5 * dx * slope(t)
            for z, q in enumerate(dirty_again(mid)):
                acc[z] += q * dx
            t += dx * slope(mid)
        return Dirty(tuple(s[z] * acc[z] for z in range(4)) + (0.0,)), t

    @staticmethod
    def _swept_by(u: np.ndarray, period: float, to_send: Dirty) -> np.ndarray:
        """Probability that the ordered writes reach a page of ``to_send``'s sweep region within ``u`` seconds.

        Pages the ordered writes passed ``a`` seconds before the round (``a`` up to ``sweep_age_s``) come round
        again after ``period - a``; pages dirtied by spread writes only lie ahead of the cursor, reached within
        ``period - sweep_age_s``; pages of unknown place in the cycle are reached evenly over a period."""
        if not np.isfinite(period):
            return np.zeros_like(u)
        age = to_send.sweep_age_s
        if not np.isfinite(age) or age >= period:
            return np.minimum(1.0, u / period)
        swept = np.clip((u - (period - age)) / age, 0.0, 1.0) if age > 0 else (u >= period).astype(float)
        ahead = np.minimum(1.0, u / (period - age))
        return to_send.swept_share * swept + (1.0 - to_send.swept_share) * ahead

    def all_pages(self) -> Dirty:
        """Every page of the VM (what the first round sends), each at an unknown place in the cycle."""
        return Dirty(self.zone_pages, 0.0, float("inf"))

    def curve(self, writes_per_s: float, windows_s: np.ndarray) -> np.ndarray:
        """Clark's writable working set over time: expected distinct pages written in each window."""
        return np.array([self.distinct(writes_per_s, w).total for w in np.asarray(windows_s, dtype=float)])
