"""``sweep``: a plan's points through the store, this process and the workers, into one table.

A point already in the store (same spec, same content of the files it names, same kit version) is reused. Points with a closed form are computed here,
in bulk, and so are the native baselines of the others (stored apart, so that a resumed or extended sweep runs none
again); the rest go to the workers (:mod:`kit.sweep.workers`), and every finished point is stored as it finishes.
Ctrl-C stores what finished before it stops; points the workers could not compute are reported, not stored.
"""
from __future__ import annotations

import contextlib
import json
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
from .point import (METRIC_COLUMNS, NUMERIC_COLUMNS, error_result, plain, point_spec_json, result_of, spec_columns,
                    spec_key)
from .store import Store, SweepStoreWarning, signals_deferred
from .workers import Progress, WorkQueue, check_workers, store_records

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
          retry_errors: bool = False) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        Spec columns (every field, plus ``mode.*``, ``hw.*``, ``workload.*``
        overrides), ``point``, ``replication``, ``spec_hash``, ``kit_version``,
        the summary metrics, ``error`` (empty when the point succeeded) and
        ``reused`` (True when it came from the store). A point whose spec
        appears more than once in the plan is computed once.

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
        return _sweep(plan, st, executor, workers, report, retry_errors)
    finally:
        if st is not None:
            for msg in st.problems:
                warnings.warn(msg, SweepStoreWarning, stacklevel=3)
            st.problems.clear()
            if own_store:
                st.close()


def _sweep(plan: list[dict], st: Store | None, executor: Any, workers: int | None, report: Reporter | None,
           retry_errors: bool) -> pd.DataFrame:
    """The points of ``plan``: reused from the store, computed here (closed forms), or by the workers; one row each."""
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
    closed, todo = _in_this_process(specs, spec_json, todo, st, progress)
    queue = (WorkQueue(specs, spec_json, todo, executor, workers, st, progress, stored=len(reused) + len(closed),
                       total=len(specs)) if todo else None)
    if queue is not None:
        _drain(queue, st)
    if st is not None and not (queue and queue.given_up):
        with contextlib.suppress(OSError):  # only tidiness: the chunks it would merge stay valid
            st.compact()
    df = _table(plan, keys, reused, closed, queue)
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


def _in_this_process(specs: dict[str, Spec], spec_json: dict[str, dict], todo: list[str], st: Store | None,
                     progress: Progress | None) -> tuple[dict[str, dict], list[str]]:
    """What runs here before any worker starts: the points with a closed form (stored at once) and the native
    baselines of the others (stored apart). Returns the closed forms' results and the keys left for the workers."""
    _baseline_records()  # baselines computed before this sweep are not its own to store
    _load_baselines(st.load_baselines() if st is not None else [])
    closed, todo = _closed_forms(specs, todo)  # points with a closed form: here, in bulk, no executor
    store_records(st, [{"key": k, "version": __version__, "spec": spec_json[k], "result": r}
                       for k, r in closed.items()], progress)
    _baselines_first(specs, todo)
    records = _baseline_records()
    if st is not None and records:
        with signals_deferred():
            st.put_baselines(records)
    return closed, todo


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


def _table(plan: list[dict], keys: list[str], reused: dict[str, dict], closed: dict[str, dict],
           queue: WorkQueue | None) -> pd.DataFrame:
    """One row per planned point and replication: its set values, its spec's columns and its result."""
    results = queue.results if queue is not None else {}
    given_up = queue.given_up if queue is not None else {}
    out = []
    for k, p in zip(keys, plan):
        if k in reused:
            res, was = reused[k], True
        elif k in closed:
            res, was = closed[k], False
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


def _closed_forms(specs: dict[str, Spec], todo: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Split the points to compute into those with a closed form (computed here, in bulk: one cost evaluation per
    distinct platform, replications share it, no SimPy and no table) and those the executor simulates."""
    from ..run import closed_form_metrics
    closed: dict[str, dict] = {}
    rest: list[str] = []
    memo: dict[str, dict | None] = {}
    for k in todo:
        spec = specs[k]
        data = spec.model_dump(mode="json")
        data["seed"] = 0  # the closed form ignores the seed: replications share it
        platform = json.dumps(data, sort_keys=True)
        if platform not in memo:
            try:
                memo[platform] = closed_form_metrics(spec)
            except Exception:  # the executor computes it and records the model's error as a row
                memo[platform] = None
        m = memo[platform]
        if m is None:
            rest.append(k)
            continue
        result = {c: plain(m[c]) for c in METRIC_COLUMNS}
        closed[k] = result if all(math.isfinite(result[c]) for c in NUMERIC_COLUMNS) else result_of(spec)
    return closed, rest


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


def _baselines_first(specs: dict[str, Spec], todo: list[str]) -> None:
    """Compute each distinct native baseline of the points to simulate once, here, before the workers start (they
    inherit them when forked, and the store keeps them): not once per point and worker."""
    from ..run import native_value
    for k in todo:
        if specs[k].hypervisor == "native":
            continue
        try:
            native_value(specs[k])
        except Exception:  # the point's own run reports what is wrong with it
            continue


def _baseline_records() -> list[dict]:
    """Store records of the baselines computed in this process since the last call."""
    from ..run import take_new_baselines
    out: list[dict] = []
    for b in take_new_baselines():
        if b.spec is None or b.summary is None:
            continue
        result = {c: plain(b.summary.get(c)) for c in METRIC_COLUMNS}
        if any(not isinstance(result[c], (int, float)) or not math.isfinite(result[c]) for c in NUMERIC_COLUMNS):
            continue
        sj = point_spec_json(b.spec)
        out.append({"key": spec_key(sj, __version__), "version": __version__, "spec": sj, "result": result, "baseline": {"base": b.base, "reads": list(b.names), "values": list(b.values)}})
    return out
