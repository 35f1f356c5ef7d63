"""How runs report their progress: ``report(done, total, label)`` in simulated seconds, to the outermost
:func:`report_progress` block; the library reports and never draws (a bar is a front end's, :mod:`kit.ui.progress`).
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, cast

from ..errors import HvkitError

__all__ = ["Reporter", "check_reporter", "report_progress"]


#: What :func:`run`, :func:`compare` and a sweep report their progress to: ``report(done, total, label)``, the
#: simulated seconds (or a sweep's points) done and started so far; a front end draws it (:mod:`kit.ui.progress`)
Reporter = Callable[[float, float, str], None]


class _Tracker:
    """The simulated seconds done and started by the simulations of one piece of work (its runs, their native
    baselines and the same VM alone), reported to ``report(done, total, label)``. The total grows as simulations
    start, since cached baselines are not simulated again; a closed form counts as done at once."""

    def __init__(self, report: Callable[[float, float, str], None]) -> None:
        self.report, self.done, self.total = report, 0.0, 0.0

    def start(self, label: str, duration: float) -> Callable[[float], None]:
        base = self.done
        self.total += duration
        self.report(self.done, self.total, label)

        def at(now: float) -> None:
            self.done = base + min(now, duration)
            self.report(self.done, self.total, label)
        return at

    def finish(self, label: str, started_done: float, duration: float) -> None:
        self.done = started_done + duration
        self.report(self.done, self.total, label)


_TRACKER: contextvars.ContextVar[_Tracker | None] = contextvars.ContextVar("hvkit_progress", default=None)


def check_reporter(progress: Any, field: str = "progress") -> Reporter | None:
    """``progress`` as a reporter: a callable ``(done, total, label)``, or None (also for False) for none.

    The library reports and never draws: a bar is a front end's, e.g. ``with kit.ui.progress.terminal_bar() as
    bar: kit.run(spec, progress=bar)``. Anything else is a one-line :class:`HvkitError` naming ``field``.
    """
    if progress is None or progress is False:
        return None
    if callable(progress):
        return cast("Reporter", progress)
    raise HvkitError("not a progress reporter", field=field, value=progress,
                     allowed="a callable (done, total, label), e.g. the one kit.ui.progress.terminal_bar() yields, "
                             "or None")


@contextlib.contextmanager
def report_progress(report: Reporter | None) -> Iterator[None]:
    """Report the progress of every :func:`run` and :func:`compare` inside the block to ``report(done, total,
    label)``, in simulated seconds (None reports nothing).

    Nested blocks report to the outermost; progress never changes a result (the host only reads its clock for it).
    """
    reporter = check_reporter(report)
    if reporter is None or _TRACKER.get() is not None:
        yield
        return
    token = _TRACKER.set(_Tracker(reporter))
    try:
        yield
    finally:
        _TRACKER.reset(token)
