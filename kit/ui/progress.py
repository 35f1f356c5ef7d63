"""Progress bars: how a front end draws the progress that runs and sweeps report.

The library reports and never draws: :func:`kit.run`, :func:`kit.compare` (and any block inside
:func:`kit.run.report_progress`) report the simulated seconds done over those started, :func:`kit.sweep.sweep` its
points done over planned, each to a callable ``report(done, total, label)`` passed as ``progress=``.
:func:`terminal_bar` gives such a callable, drawn by tqdm (text on a terminal's standard error, a widget in a
notebook); the panels draw their own (:class:`kit.ui.panels.base.Panel`).
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from ..run import Reporter

__all__ = ["terminal_bar", "PROGRESS_DELAY_S", "UNITS"]

#: A bar of simulated seconds appears only for work that lasts longer than this (seconds of wall time)
PROGRESS_DELAY_S = 2.0
#: What a bar counts: a run's or comparison's simulated seconds, or a sweep's points
UNITS = ("simulated s", "points")


@contextlib.contextmanager
def terminal_bar(unit: str = "simulated s") -> Iterator[Reporter]:
    """A tqdm bar for the duration of the block; it yields the reporter to pass as ``progress=``.

    Parameters
    ----------
    unit : str
        ``"simulated s"`` for :func:`kit.run` and :func:`kit.compare` (the bar appears only once the work has
        lasted :data:`PROGRESS_DELAY_S`), ``"points"`` for :func:`kit.sweep.sweep` (at once).

    Examples
    --------
    >>> with terminal_bar() as bar:  # doctest: +SKIP
    ...     kit.compare("skylake-sp-2017", "netperf-rr", ["kvm", "xen-hvm"], progress=bar)
    """
    from tqdm.auto import tqdm
    if unit == "simulated s":
        bar = tqdm(total=1.0, delay=PROGRESS_DELAY_S, unit="sim-s", desc="hvkit", dynamic_ncols=True,
                   bar_format="{desc}{percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} simulated s "
                              "[{elapsed}<{remaining}]")
    elif unit == "points":
        bar = tqdm(total=0, desc="sweep", unit="pt", dynamic_ncols=True)
    else:
        raise ValueError(f"terminal_bar counts one of {UNITS}, not {unit!r}")
    last = [0.0]

    def report(done: float, total: float, label: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        bar.total = max(total, 1e-12) if unit == "simulated s" else total
        bar.n = done
        bar.set_description(label[:40], refresh=False)
        bar.update(0)

    try:
        yield report
    finally:
        bar.close()
