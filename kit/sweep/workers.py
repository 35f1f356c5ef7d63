"""A sweep's workers: the process pool (or any executor, or a Dask client) its points run on, and the queue that
keeps them busy, retries what broke and flushes finished points to the store.

Only an error raised by the model for a spec is a result: a worker that dies (the OOM killer, a ``kill -9``) breaks
the pool, which is rebuilt, and the points that were running are retried one at a time so the one that kills its
worker is found; nothing is stored for them unless they finish. A worker that stops (``kill -STOP``) for longer than
:data:`STOPPED_GRACE_S`, or a point that runs longer than :func:`point_timeout`, is treated the same way: the worker
(or the pool) is killed and the points retried, so a sweep never waits forever. Workers die with the sweep's process. Seeds come
from the spec and the replication index, never from worker order, so the numbers are the same on every executor.
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from typing import Any

import numpy as np

from ..errors import HvkitError
from ..inputs.spec import Spec
from ..run import Reporter
from ..version import __version__
from .baselines import BaselinePlan, NativeTask
from .point import METRIC_COLUMNS, result_of
from .store import Store, SweepStoreError, signals_deferred

__all__ = ["max_workers", "check_workers", "WorkQueue", "Progress", "Inline", "store_records", "FLUSH_SECONDS",
           "FLUSH_POINTS", "MAX_ATTEMPTS", "WORKERS_PER_CPU", "point_timeout", "LIVENESS_S", "STOPPED_GRACE_S",
           "POINT_TIMEOUT_FACTOR"]

#: A finished point is written to the store within this many seconds (or sooner, see FLUSH_POINTS).
FLUSH_SECONDS = 0.5
#: ... or as soon as this many finished points wait to be written.
FLUSH_POINTS = 512
#: A point that breaks the worker pool (or raises a non-model error) this many times is given up, unstored.
MAX_ATTEMPTS = 3
#: More workers than this multiple of the CPUs only adds memory: the points are CPU-bound simulations.
WORKERS_PER_CPU = 4
#: How often the workers are looked at while points are running (seconds)
LIVENESS_S = 2.0
#: A worker stopped (``kill -STOP``, state T in /proc) this long is killed and its points retried
STOPPED_GRACE_S = 10.0
#: A point running longer than this multiple of the work budget (kit.results.validity.work_budget, CPU seconds
#: estimated before a run; a point over it is refused before it starts) is stuck: its pool is killed and it is
#: retried. Estimated, because the estimate is an upper one and WORKERS_PER_CPU workers share a CPU.
POINT_TIMEOUT_FACTOR = 2 * WORKERS_PER_CPU


def point_timeout() -> float:
    """Wall seconds a point may run on a worker before it is taken for stuck."""
    from ..results.validity import work_budget
    return POINT_TIMEOUT_FACTOR * work_budget()


def _state(pid: int) -> str | None:
    """A process's state letter from /proc (R, S, D, T...), or None where there is no /proc or no process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return None


def max_workers() -> int:
    """The most worker processes a sweep accepts: ``WORKERS_PER_CPU`` times the usable CPUs."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return WORKERS_PER_CPU * max(n, 1)


def check_workers(workers, field: str = "workers") -> int | None:
    """``None`` (all CPUs) or an integer from 1 to :func:`max_workers`."""
    if workers is None:
        return None
    top = max_workers()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 1 <= workers <= top:
        raise HvkitError("the number of worker processes is out of range", field=field, value=workers,
                         allowed=f"1 to {top} ({WORKERS_PER_CPU} x the CPUs)")
    return int(workers)


def _die_with_parent(parent: int | None) -> None:
    """In a worker: be killed when the sweep's process dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
            if parent is not None and os.getppid() != parent:  # it died before the line above
                os._exit(1)
            return
    ppid = os.getppid()

    def watch():
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker_init(parent: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def _blocked_for_children():
    """Block SIGINT/SIGTERM in this thread while it may fork workers: they start with them blocked (the
    initializer then ignores SIGINT and unblocks), so a Ctrl-C racing with start-up prints nothing."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _new_pool(n: int) -> ProcessPoolExecutor:
    import multiprocessing
    parent = os.getpid() if multiprocessing.get_start_method() == "fork" else None
    return ProcessPoolExecutor(max_workers=n, initializer=_worker_init, initargs=(parent,))


def _kill_pool(pool) -> None:
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            p.kill()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)


def _is_dask(executor) -> bool:
    return type(executor).__module__.startswith("distributed")


def _point_task(spec: Spec, baselines: list) -> dict:
    """What a worker runs for a point: the baselines the sweep made for it known first, then the point's metric
    columns (:func:`kit.sweep.point.result_of`; the sweep has the point's key and spec columns already)."""
    from ..run import add_baseline
    for b in baselines:
        add_baseline(b)
    return result_of(spec)


def _native_task(spec: Spec) -> Any:
    """What a worker runs for a native baseline: its :class:`kit.run.Baseline` (None if the model refused it; the
    points that need it then report why)."""
    from ..run import native_baseline
    try:
        return native_baseline(spec)
    except (MemoryError, OSError):
        raise
    except Exception:
        return None


class Inline(Executor):
    """Runs points in this process (one worker)."""

    def submit(self, fn, *args, **kwargs):
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as exc:
            f.set_exception(exc)
        return f


class Progress:
    """A sweep's progress: its points finished (stored, with a store) of its distinct points, and how many failed,
    told to ``report(done, total, label)`` at every change."""

    def __init__(self, report: Reporter, done: int, total: int) -> None:
        self.report, self.done, self.total, self.failed = report, done, total, 0
        self.report(done, total, "sweep")

    def add(self, n: int, failed: int | None = None) -> None:
        self.done += n
        if failed is not None:
            self.failed = failed
        self.report(self.done, self.total, f"sweep, {self.failed} failed" if self.failed else "sweep")


class WorkQueue:
    """One sweep's points on the workers: what is pending, stored, retried and given up, and the finished points
    waiting to be flushed to the store."""

    def __init__(self, specs: dict[str, Spec], spec_json: dict[str, dict], plan: BaselinePlan, size: int, executor,
                 workers, store: Store | None, progress: Progress | None, stored: int, total: int,
                 on_baseline: Any = None):
        """``plan`` hands out the points as their baselines are known and the native runs to make first;
        ``size`` is how many points there are to run (the pool is no larger); ``on_baseline(b)`` is told each
        baseline a native run made (None if it failed)."""
        self.specs, self.spec_json, self.store, self.progress = specs, spec_json, store, progress
        self.plan, self.on_baseline, self.size = plan, on_baseline, size
        self.todo: deque[str] = deque(plan.take_ready())
        self.natives: deque[NativeTask] = deque(plan.take_tasks())
        self.native_of: dict[Any, NativeTask] = {}
        self.suspects: deque[str] = deque()
        self.pending: dict[Any, str] = {}
        self.attempts: dict[str, int] = {}
        self.results: dict[str, dict] = {}
        self.given_up: dict[str, str] = {}
        self.buffer: list[dict] = []
        self.buffer_since = 0.0
        self.stored, self.total = stored, total
        self.failed = 0
        self.own = executor is None
        self.workers = workers
        self.broken = False
        self.pool_size = 0
        self.executor = executor if executor is not None else self._make_pool()
        self.dask = _is_dask(self.executor)
        self.inflight = self._inflight()
        self.running_since: dict[Any, float] = {}  # a future -> when it was first seen running
        self.stopped_since: dict[int, float] = {}  # a worker's pid -> when it was first seen stopped
        self.killed_why: str | None = None  # why the pool was killed by the liveness check (for the retries)
        self.timeout = point_timeout()

    def _make_pool(self):
        if not self.pool_size:  # a rebuilt pool keeps the first one's size: never the parent in its place
            n = self.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                 else os.cpu_count())
            self.pool_size = max(1, min(n or 1, self.size or 1))
        return _new_pool(self.pool_size) if self.pool_size > 1 else Inline()

    def _inflight(self) -> int:
        if isinstance(self.executor, Inline):
            return 1
        if self.dask:
            with contextlib.suppress(Exception):
                return 2 * max(1, sum(self.executor.nthreads().values()))
            return 64
        return 2 * max(1, getattr(self.executor, "_max_workers", None) or os.cpu_count() or 1)

    # -- scheduling
    def _call(self, fn, *args):
        if self.dask:
            return self.executor.submit(fn, *args, pure=False)
        if self.own:
            with _blocked_for_children():
                return self.executor.submit(fn, *args)
        return self.executor.submit(fn, *args)

    def _submit(self, key: str, queue: deque) -> None:
        spec = self.specs[key]
        try:
            fut = self._call(_point_task, spec, self.plan.baselines_for(key))
        except BrokenExecutor:  # the pool broke before we saw it: this point never ran
            queue.appendleft(key)
            self.broken = True
            return
        self.pending[fut] = key

    def _submit_native(self, task: NativeTask) -> None:
        try:
            fut = self._call(_native_task, task.spec)
        except BrokenExecutor:
            self.natives.appendleft(task)
            self.broken = True
            return
        self.native_of[fut] = task
        self.pending[fut] = task.key

    def _fill(self) -> None:
        if self.broken:
            return
        if self.suspects:  # after a pool break: one at a time, so the point that kills its worker is found
            if not self.pending:
                self._submit(self.suspects.popleft(), self.suspects)
            return
        while self.natives and len(self.pending) < self.inflight and not self.broken:  # baselines first
            self._submit_native(self.natives.popleft())
        while self.todo and len(self.pending) < self.inflight and not self.broken:
            self._submit(self.todo.popleft(), self.todo)

    def _wait(self) -> list:
        if not self.pending:
            return []
        timeout = None
        if self.buffer:
            timeout = max(0.0, self.buffer_since + FLUSH_SECONDS - time.monotonic())
        if self._watched():
            timeout = LIVENESS_S if timeout is None else min(timeout, LIVENESS_S)
        if self.dask:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                ready = [f for f in self.pending if f.done()]
                if ready or (deadline is not None and time.monotonic() >= deadline):
                    return ready
                time.sleep(0.02)
        done, _ = cf_wait(list(self.pending), timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def _retry(self, key: str, why: str, isolate: bool) -> None:
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.attempts[key] >= MAX_ATTEMPTS:
            self.given_up[key] = f"{why}, {self.attempts[key]} times"
            self.failed += 1
            if self.progress is not None:
                self.progress.add(0, self.failed)
        elif isolate:
            self.suspects.append(key)
        else:
            self.todo.appendleft(key)

    def _finish_native(self, fut) -> None:
        """A native run is back: its baseline known here (and stored), its points ready or planned further. A
        native run whose worker died is not retried: its points compute their own."""
        task = self.native_of.pop(fut)
        self.pending.pop(fut)
        try:
            b = fut.result()
        except BrokenExecutor:
            self.broken = True
            b = None
        except (MemoryError, OSError):
            b = None
        if self.on_baseline is not None:
            self.on_baseline(b)
        self.plan.finished(task.key, b is not None)
        self.todo.extend(self.plan.take_ready())
        self.natives.extend(self.plan.take_tasks())

    def _watched(self) -> bool:
        """Whether this queue watches its workers: its own process pool (not Inline, not someone else's)."""
        return self.own and isinstance(self.executor, ProcessPoolExecutor)

    def _check_liveness(self) -> None:
        """Kill a worker that has been stopped for ``STOPPED_GRACE_S``, or the whole pool when a point has run longer
        than the point timeout (which worker runs it is not known): the pool breaks and the points are retried."""
        if not self._watched() or not self.pending:
            return
        now = time.monotonic()
        for fut in self.pending:
            if fut not in self.running_since and fut.running():
                self.running_since[fut] = now
        procs = dict(getattr(self.executor, "_processes", None) or {})
        for pid in procs:
            if _state(pid) in ("T", "t"):
                first = self.stopped_since.setdefault(pid, now)
                if now - first >= STOPPED_GRACE_S:
                    self.killed_why = f"its worker process was stopped for {now - first:.0f} s (SIGSTOP) and killed"
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            else:
                self.stopped_since.pop(pid, None)
        late = [self.pending[f] for f, t in self.running_since.items() if f in self.pending and now - t > self.timeout]
        if late:
            self.killed_why = (f"it ran longer than {self.timeout:g} s (the point timeout: {POINT_TIMEOUT_FACTOR} x "
                               f"the work budget) and its worker pool was killed")
            for p in procs.values():
                with contextlib.suppress(Exception):
                    p.kill()

    def _finish(self, fut) -> None:
        if fut in self.native_of:
            self._finish_native(fut)
            return
        key = self.pending.pop(fut)
        self.running_since.pop(fut, None)
        try:
            row = fut.result()
        except BrokenExecutor as exc:
            self.broken = True
            why = self.killed_why or f"its worker process died ({type(exc).__name__})"
            self._retry(key, why, isolate=True)
            return
        except Exception as exc:  # not the model's answer (the model's errors come back as rows)
            self._retry(key, f"{type(exc).__name__}: {exc}", isolate=False)
            return
        result = {k: row[k] for k in METRIC_COLUMNS}
        self.results[key] = result
        if result["error"]:
            self.failed += 1
        if self.store is None:
            if self.progress is not None:
                self.progress.add(1, self.failed)
            return
        if not self.buffer:
            self.buffer_since = time.monotonic()
        self.buffer.append({"key": key, "version": __version__, "spec": self.spec_json[key], "result": result})

    def flush(self, force: bool = False) -> None:
        if not self.buffer or self.store is None:
            return
        if not force and len(self.buffer) < FLUSH_POINTS and time.monotonic() - self.buffer_since < FLUSH_SECONDS:
            return
        with signals_deferred():
            try:
                self.store.put_many(self.buffer)
            except OSError as exc:
                n = len(self.buffer)
                self.buffer = []
                hint = "free space and " if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
                raise SweepStoreError(
                    f"cannot write to the store {self.store.path}: {exc.strerror or exc}; {self.stored} of "
                    f"{self.total} points stored and valid, {n} finished ones not; {hint}run again with --resume",
                    self.stored, self.total, exc) from None
            n = len(self.buffer)
            self.buffer = []
            self.stored += n
        if self.progress is not None:
            self.progress.add(n, self.failed)

    def _rebuild(self) -> None:
        if self.pending:
            return  # the other futures of the broken pool are still being failed
        self.broken = False
        if not self.own:
            for task in list(self.natives):  # their points are given up with the others
                self.plan.finished(task.key, False)
            self.natives.clear()
            self.todo.extend(self.plan.take_ready())
            why = "a worker process of the executor died, and an executor we did not make is not rebuilt"
            for key in list(self.suspects) + list(self.todo):
                self.given_up[key] = why
            self.failed += len(self.suspects) + len(self.todo)
            self.suspects.clear()
            self.todo.clear()
            return
        _kill_pool(self.executor)
        self.executor = self._make_pool()
        self.running_since.clear()
        self.stopped_since.clear()
        self.killed_why = None

    def run(self) -> None:
        while self.todo or self.suspects or self.pending or self.natives:
            self._fill()
            for fut in self._wait():
                self._finish(fut)
            self._check_liveness()
            if self.broken:
                self._rebuild()
            self.flush()
        self.flush(force=True)

    def close(self, kill: bool) -> None:
        if self.dask:
            if kill:
                with contextlib.suppress(Exception):
                    self.executor.cancel(list(self.pending))
            return
        if self.own and not isinstance(self.executor, Inline):
            if kill:
                _kill_pool(self.executor)
            else:
                self.executor.shutdown(wait=True)


def store_records(st: Store | None, records: list[dict], progress: Progress | None) -> None:
    """Write finished points to the store in chunks of ``FLUSH_POINTS`` (durable when this returns)."""
    for i in range(0, len(records), FLUSH_POINTS):
        chunk = records[i:i + FLUSH_POINTS]
        if st is not None:
            with signals_deferred():
                st.put_many(chunk)
        if progress is not None:
            progress.add(len(chunk))
