"""``sweep``: a plan's points through the store, this process and the workers, into one table.

A point already in the store (same spec, same content of the files it names, same kit version) is reused. The others go to the workers
(:mod:`kit.sweep.workers`), each after the native baselines it needs, which the workers compute first, once per
value of what native reads (:mod:`kit.sweep.baselines`; stored apart, so that a resumed or extended sweep runs
none again); every finished point is stored as it finishes.
Ctrl-C stores what finished before it stops; points the workers could not compute are reported, not stored.
"""
from __future__ import annotations

import contextlib
import math
import os
import warnings
from concurrent.futures import Executor
from typing import Any

import pandas as pd

from ..inputs.spec import Spec
from ..run import Reporter, check_reporter
from ..version import __version__
from .plan import expand
from .baselines import BaselinePlan
from .point import (METRIC_COLUMNS, NUMERIC_COLUMNS, error_result, plain, point_spec_json, spec_columns,
                    spec_key)
from .store import Store, SweepStoreWarning, signals_deferred
from .workers import Progress, WorkQueue, check_workers

__all__ = ["sweep", "SweepInterrupted", "SweepIncomplete"]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM in ``hvkit sweep``) stopped a sweep; every finished point it reported is stored."""

    def __init__(self, stored: int, total: int, store: str | None):
        super().__init__(f"interrupted; {stored} of {total} points stored" if store else "interrupted")
        self.stored, self.total, self.store = stored, total, store


class SweepIncomplete(RuntimeError):
    """Some points could not be computed for reasons outside the model (a worker kept dying).

    Nothing was stored for them, so running the sweep again (``--resume``) tries them again.
    ``frame`` holds the sweep's table with those points as error rows.
    """

    def __init__(self, message: str, frame: pd.DataFrame, missing: int, stored: int):
        super().__init__(message)
        self.frame, self.missing, self.stored = frame, missing, stored


def sweep(base: Spec, grid: dict | None = None, *, zip_params: dict | None = None, points: list | None = None,
          replications: int = 1, executor: Executor | Any = None, workers: int | None = None,
          store: str | os.PathLike | Store | None = None, progress: Reporter | None = None,
          retry_errors: bool = False, model_uncertainty: bool = False) -> pd.DataFrame:
    """Run a sweep and return one tidy row per point and replication.

    Parameters
    ----------
    base : Spec
        The spec every point starts from.
    grid, zip_params, points, replications
        See :func:`expand`.
    executor : Executor or distributed.Client, optional
        Where points run; default a process pool with ``workers`` processes,
        rebuilt if a worker dies. Workers die with this process.
    workers : int, optional
        1 to :func:`max_workers` (default: all usable CPUs).
    store : path or Store, optional
        Directory of finished points; points already there are reused (after
        checking that they are the same spec), others are written as they
        finish. The sweep holds the store's lock: a second sweep into the same
        store is refused.
    progress : callable, optional
        Told ``(done, total, label)``: the points finished (stored, with a store) of the plan's distinct
        points; :func:`kit.ui.progress.terminal_bar` draws it (``terminal_bar("points")``).
    retry_errors : bool
        Recompute points stored with an error instead of reusing them.
    model_uncertainty : bool
        Give each point its 90% prediction intervals (``pi_*``, :mod:`kit.sweep.intervals`), computed here after
        the points, once per point (``hvkit sweep`` and the sweep panel ask for them unless told not to; they cost
        about as much again as the points). ``ci_note`` is always given (a closed form is exact given the
        parameters).

    Returns
    -------
    DataFrame
        Spec columns (every field, plus ``mode.*``, ``hw.*``, ``workload.*``
        overrides), ``point``, ``replication``, ``spec_hash``, ``kit_version``,
        the summary metrics, ``error`` (empty when the point succeeded) and
        ``reused`` (True when it came from the store), ``ci_note`` and the prediction intervals
        (:data:`kit.sweep.intervals.INTERVAL_COLUMNS`). A point whose spec appears more than once in the plan is
        computed once.

    Raises
    ------
    HvkitError
        Bad input (before anything runs), or a store that is in use, a link, or another user's.
    SweepInterrupted
        Ctrl-C; the finished points are stored first.
    SweepIncomplete
        Points that could not be computed after ``MAX_ATTEMPTS`` tries (a worker kept dying).
    SweepStoreError
        The store could not be written (disk full); what it holds stays valid.

    Store problems (a chunk that is truncated or altered, a point whose key
    does not match its spec) are reported as :class:`SweepStoreWarning` and
    those points recomputed.
    """
    plan = expand(base, grid, zip_params=zip_params, points=points, replications=replications)
    if executor is None:
        workers = check_workers(workers)
    report = check_reporter(progress)
    own_store = store is not None and not isinstance(store, Store)
    st: Store | None = store if isinstance(store, Store) else (Store(store) if store is not None else None)
    try:
        if st is not None:
            st.lock()
        df = _sweep(plan, st, executor, workers, report, retry_errors)
        from .intervals import with_intervals
        specs = {k: p["spec"] for k, p in zip(df["spec_hash"], plan)}  # each row's spec, by the key it is stored on
        return with_intervals(df, specs, model_uncertainty)
    finally:
        if st is not None:
            for msg in st.problems:
                warnings.warn(msg, SweepStoreWarning, stacklevel=3)
            st.problems.clear()
            if own_store:
                st.close()


def _sweep(plan: list[dict], st: Store | None, executor: Any, workers: int | None, report: Reporter | None,
           retry_errors: bool) -> pd.DataFrame:
    """The points of ``plan``: reused from the store, or computed by the workers (closed forms and simulations
    alike, after the native baselines they need); one row each."""
    from ..inputs.resolve import content_digest
    specs: dict[str, Spec] = {}
    spec_json: dict[str, dict] = {}
    keys = []
    digests: dict[tuple, str] = {}  # the content of the files the points name, read once per sweep
    for p in plan:  # a spec that appears more than once in the plan is computed once
        spec = p["spec"]
        names = (spec.hardware, spec.workload, spec.neighbor)
        if names not in digests:
            digests[names] = content_digest(spec)
        sj = point_spec_json(spec, digests[names])
        k = spec_key(sj, __version__)
        keys.append(k)
        if k not in specs:
            specs[k], spec_json[k] = spec, sj
    reused, todo = _reusable(st, spec_json, retry_errors)
    progress = Progress(report, len(reused), len(specs)) if report is not None else None
    queue = None
    if todo:
        from ..run import take_new_baselines
        take_new_baselines()  # baselines computed before this sweep are not its own to store
        _load_baselines(st.load_baselines() if st is not None else [])
        baselines = BaselinePlan(specs, spec_json, todo)
        queue = WorkQueue(specs, spec_json, baselines, len(todo), executor, workers, st, progress,
                          stored=len(reused), total=len(specs), on_baseline=lambda b: _store_baseline(st, b))
        _drain(queue, st)
    if st is not None and not (queue and queue.given_up):
        with contextlib.suppress(OSError):  # only tidiness: the chunks it would merge stay valid
            st.compact()
    df = _table(plan, keys, reused, queue)
    if queue is not None and queue.given_up:
        first = next(iter(queue.given_up.values()))
        raise SweepIncomplete(f"{len(queue.given_up)} of {queue.total} points could not be computed ({first}); "
                              f"{queue.stored} stored; run again (--resume) to retry them", df, len(queue.given_up),
                              queue.stored)
    return df


def _reusable(st: Store | None, spec_json: dict[str, dict], retry_errors: bool) -> tuple[dict[str, dict], list[str]]:
    """The stored results that can be reused (same version, same spec; an error only without ``retry_errors``) and
    the keys left to compute."""
    if st is None:
        return {}, list(spec_json)
    index = st.load()
    reused: dict[str, dict] = {}
    todo = []
    for k, sj in spec_json.items():
        rec = index.get(k)
        if rec is None:
            todo.append(k)
        elif rec["version"] != __version__ or rec["spec"] != sj:
            st.problems.append(f"{st.path}: point {k} is stored for another spec; recomputed")
            todo.append(k)
        elif rec["result"]["error"] and retry_errors:
            todo.append(k)
        else:
            reused[k] = rec["result"]
    return reused, todo


def _drain(queue: WorkQueue, st: Store | None) -> None:
    """Run the queue to its end. On Ctrl-C or any error, what finished is stored and the workers killed first."""
    try:
        queue.run()
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            queue.flush(force=True)
        queue.close(kill=True)
        raise SweepInterrupted(queue.stored, queue.total, str(st.path) if st is not None else None) from None
    except BaseException:
        with contextlib.suppress(Exception):  # keep what finished, whatever went wrong
            queue.flush(force=True)
        queue.close(kill=True)
        raise
    queue.close(kill=False)


def _table(plan: list[dict], keys: list[str], reused: dict[str, dict], queue: WorkQueue | None) -> pd.DataFrame:
    """One row per planned point and replication: its set values, its spec's columns and its result."""
    results = queue.results if queue is not None else {}
    given_up = queue.given_up if queue is not None else {}
    out = []
    for k, p in zip(keys, plan):
        if k in reused:
            res, was = reused[k], True
        elif k in results:
            res, was = results[k], False
        else:
            res, was = error_result(f"not computed: {given_up.get(k, 'interrupted')}; nothing stored"), False
        r = {"spec_hash": k, "kit_version": __version__, **spec_columns(p["spec"]), **res, "reused": was}
        r.update(point=p["point"], replication=p["replication"])
        for key, val in p["sets"].items():
            r[f"set.{key}"] = val
        out.append(r)
    df = pd.DataFrame(out)
    df["error"] = df["error"].fillna("").astype(str)
    front = ["point", "replication"] + [c for c in df.columns if c.startswith("set.")]
    return df[front + [c for c in df.columns if c not in front]]


def _load_baselines(records: list[dict]) -> None:
    """Make the native baselines a store holds known to this process (and to the workers it forks)."""
    from ..run import Baseline, add_baseline
    for rec in records:
        b = rec.get("baseline")
        if rec["version"] != __version__ or not isinstance(b, dict) or rec["result"]["error"]:
            continue
        names, values = b.get("reads"), b.get("values")
        if (isinstance(b.get("base"), str) and isinstance(names, list) and isinstance(values, list)
                and len(names) == len(values) and all(isinstance(n, str) for n in names)):
            add_baseline(Baseline(b["base"], tuple(names), tuple(values), rec["result"]["value"]))


def _store_baseline(st: Store | None, b: Any) -> None:
    """A native run a worker made for this sweep: known to this process (the points that need it are handed it)
    and kept in the store, so that a resumed or extended sweep runs none again."""
    from ..run import add_baseline
    if b is None:
        return
    add_baseline(b)
    if st is None or b.spec is None or b.summary is None:
        return
    result = {c: plain(b.summary.get(c)) for c in METRIC_COLUMNS}
    if any(not isinstance(result[c], (int, float)) or not math.isfinite(result[c]) for c in NUMERIC_COLUMNS):
        return
    sj = point_spec_json(b.spec)  # keyed as the points are: on the spec and the content of its files
    with signals_deferred():
        st.put_baselines([{"key": spec_key(sj, __version__), "version": __version__, "spec": sj, "result": result,
                           "baseline": {"base": b.base, "reads": list(b.names), "values": list(b.values)}}])
