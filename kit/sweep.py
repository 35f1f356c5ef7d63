"""Parameter sweeps: every point a :func:`kit.run` of a frozen spec.

A sweep expands a base spec over a grid (full factorial), zipped parameter
lists or an explicit list of points, times replications. Each point runs
wherever the executor puts it: a local process pool (default), any
``concurrent.futures.Executor``, or a Dask ``distributed.Client`` as is.

Finished points go to a store, a directory of append-only chunk files. Each
chunk holds several points, carries a checksum, and appears under its final
name only once it is complete (written to a fresh temporary file, synced, then
renamed), so a kill at any moment leaves whole chunks or none. Every stored
point carries its spec and the spec's key; a point is reused only if both
match what the sweep asks for, and anything truncated, altered or unreadable is
reported and recomputed. A point counts as stored only once its chunk is on
disk; finished points are written at least every ``FLUSH_SECONDS``.

Only an error raised by the model for a spec is a result: a worker that dies
(the OOM killer, a ``kill -9``) breaks the pool, which is rebuilt, and the
points that were running are retried one at a time so the one that kills its
worker is found; nothing is stored for them unless they finish. A result that
is not finite is an error row. Seeds come from the spec and the replication
index, never from worker order, so the numbers are the same on every executor.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import math
import os
import secrets
import signal
import stat
import sys
import threading
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .version import __version__
from .errors import HvkitError
from .inputs.files import load_validated, read_yaml
from .inputs.spec import Spec
from .run import Reporter, check_reporter
from .stats import replication_seed

__all__ = ["sweep", "expand", "run_point", "SweepFile", "load_sweep_file", "Store", "plan_size",
           "check_workers", "max_workers", "check_output", "write_parquet_atomic", "SweepInterrupted",
           "SweepIncomplete", "SweepStoreError", "SweepStoreWarning", "MAX_POINTS"]

METRIC_COLUMNS = ["value", "native_value", "relative_performance", "units", "events", "events_per_sim_s",
                  "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util", "backend_util", "metric",
                  "unit", "higher_is_better", "engine", "stop_reason", "warnings", "error"]
#: The metric columns that hold numbers; a finished point must have every one finite.
NUMERIC_COLUMNS = ["value", "native_value", "relative_performance", "units", "events", "events_per_sim_s",
                   "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"]

#: Most points in one sweep. Estimated, because each point holds a spec and a result row of a few kB in the
#: parent (and its validation builds every spec first): 100,000 points is a few hundred MB and about a minute
#: of set-up; a grid beyond it is refused before anything is expanded.
MAX_POINTS = 100_000
#: A finished point is written to the store within this many seconds (or sooner, see FLUSH_POINTS).
FLUSH_SECONDS = 0.5
#: ... or as soon as this many finished points wait to be written.
FLUSH_POINTS = 512
#: A point that breaks the worker pool (or raises a non-model error) this many times is given up, unstored.
MAX_ATTEMPTS = 3
#: More workers than this multiple of the CPUs only adds memory: the points are CPU-bound simulations.
WORKERS_PER_CPU = 4
#: A store chunk larger than this is not read (no sweep writes one: MAX_POINTS rows are about 150 MB).
MAX_CHUNK_BYTES = 1 << 30

_FORMAT = "hvkit-sweep-points/1"
_CHUNK_PREFIX, _CHUNK_SUFFIX = "points-", ".jsonl"
#: Native baselines a sweep computed (see kit.run.native_value), in chunks of the same format
_BASELINE_PREFIX = "baselines-"
_TMP_PREFIX, _TMP_SUFFIX = ".tmp-", ".part"
#: Compact the store when it holds more chunk files than this (one file per flush adds up in long sweeps).
_COMPACT_FILES = 32


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


class SweepStoreError(RuntimeError):
    """The store could not be written (disk full, I/O error); what it holds stays valid."""

    def __init__(self, message: str, stored: int, total: int, cause: OSError):
        super().__init__(message)
        self.stored, self.total, self.cause = stored, total, cause


class SweepStoreWarning(UserWarning):
    """Something in a store was not trusted (a bad chunk, a mismatched point) and is recomputed."""


# ---- expansion -----------------------------------------------------------------------------------

def _nonfinite(v) -> bool:
    if isinstance(v, (bool, int, np.integer)):
        return False
    if isinstance(v, (float, np.floating)):
        return not math.isfinite(v)
    if isinstance(v, str):
        try:
            return not math.isfinite(float(v))  # "nan", "inf", "-Infinity" become numbers downstream
        except ValueError:
            return False
    return False


def _check_finite(value, field: str, where: str | None = None) -> None:
    """Refuse NaN and infinities anywhere in a sweep input, naming the key."""
    if isinstance(value, Spec):
        value = value.model_dump()  # Python form: JSON form would turn NaN into null
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{field}.{k}" if field else str(k), where)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{field}[{i}]", where)
    elif _nonfinite(value):
        raise HvkitError("not a finite number", where=where, field=field, value=value, allowed="finite numbers")


def plan_size(grid: dict | None = None, zip_params: dict | None = None, points: list | None = None,
              replications: int = 1) -> int:
    """How many points (times replications) a sweep has, without expanding it."""
    n = max(len(points or []), 1) * replications
    if zip_params:
        n *= len(next(iter(zip_params.values())))
    for v in (grid or {}).values():
        n *= len(v)
    return n


def _check_plan(grid, zip_params, points, replications) -> None:
    if not isinstance(replications, int) or replications < 1:
        raise HvkitError("replications must be at least 1", field="replications", value=replications)
    for k, v in (grid or {}).items():
        if not isinstance(v, (list, tuple)) or not v:
            raise HvkitError("a grid entry needs a non-empty list of values", field=f"grid.{k}", value=v)
    if zip_params:
        for k, v in zip_params.items():
            if not isinstance(v, (list, tuple)) or not v:
                raise HvkitError("a zip entry needs a non-empty list of values", field=f"zip.{k}", value=v)
        lengths = {len(v) for v in zip_params.values()}
        if len(lengths) != 1:
            raise HvkitError("zipped lists must have the same length", field="zip",
                             value={k: len(v) for k, v in zip_params.items()})
    _check_finite(dict(grid or {}), "grid")
    _check_finite(dict(zip_params or {}), "zip")
    _check_finite(list(points or []), "points")
    n = plan_size(grid, zip_params, points, replications)
    if n > MAX_POINTS:
        parts = [f"{len(v)} {k}" for k, v in (grid or {}).items()]
        if zip_params:
            parts.append(f"{len(next(iter(zip_params.values())))} zipped rows")
        if points:
            parts.append(f"{len(points)} points")
        parts.append(f"{replications} replication{'s' if replications != 1 else ''}")
        raise HvkitError(f"the sweep has {n:,} points ({' x '.join(parts)}); at most {MAX_POINTS:,} fit in one "
                         f"sweep: split it or use fewer values")


def expand(base: Spec, grid: dict | None = None, *, zip_params: dict | None = None,
           points: list | None = None, replications: int = 1) -> list[dict]:
    """The points of a sweep: ``[{"point": i, "replication": r, "sets": {...}, "spec": Spec}]``.

    ``grid`` is a full factorial over ``--set`` keys; ``zip_params`` lists values
    that advance together; ``points`` is an explicit list of ``{key: value}``
    dicts (or :class:`Spec` objects). They combine: each explicit point, times
    each zipped row, times the factorial grid. NaN and infinite values are
    refused, and so is a sweep of more than ``MAX_POINTS`` points (before any
    point is built).
    """
    _check_plan(grid, zip_params, points, replications)
    _check_finite(base, "base")
    grid = grid or {}
    zipped = [dict(zip(zip_params, row)) for row in zip(*zip_params.values())] if zip_params else [{}]
    explicit = points or [{}]
    keys = list(grid)
    out, i = [], 0
    for ex in explicit:
        for z in zipped:
            for vals in (itertools.product(*grid.values()) if keys else [()]):
                g = dict(zip(keys, vals))
                if isinstance(ex, Spec):
                    spec0, sets = ex, {**z, **g}
                else:
                    spec0, sets = base, {**ex, **z, **g}
                spec = spec0.with_sets(list(sets.items()))
                for r in range(replications):
                    out.append({"point": i, "replication": r, "sets": sets,
                                "spec": spec.replace(seed=replication_seed(spec.seed, r))})
                i += 1
    _check_names(out)
    return out


def _check_names(plan: list[dict]) -> None:
    """Every hardware profile, mode and workload the points name exists (a typo fails before anything runs; an
    impossible combination is still the model's answer for its point)."""
    from .inputs.hardware import load_hardware
    from .inputs.modes import list_hypervisors
    from .inputs.workloads import load_workload
    modes = list_hypervisors()
    for name in sorted({p["spec"].hardware for p in plan}):
        load_hardware(name)
    for name in sorted({p["spec"].workload for p in plan} | {p["spec"].neighbor for p in plan if p["spec"].neighbor}):
        load_workload(name)
    for name in sorted({p["spec"].hypervisor for p in plan}):
        if name not in modes:
            raise HvkitError("unknown hypervisor", field="hypervisor", value=name, allowed=list(modes))


# ---- one point -----------------------------------------------------------------------------------

def _py(v):
    if hasattr(v, "item"):
        return v.item()
    return v


def _error_result(message: str, keep: dict | None = None) -> dict:
    out: dict[str, Any] = {k: None for k in METRIC_COLUMNS}
    for k in ("metric", "unit", "higher_is_better"):
        if keep is not None:
            out[k] = keep.get(k)
    out["warnings"] = ""
    out["error"] = message
    return out


def _result_of(spec: Spec) -> dict:
    from .run import closed_form_metrics, run
    try:
        fast = closed_form_metrics(spec)  # no host and no table where the answer is a closed form
        if fast is not None:
            result = {k: _py(fast[k]) for k in METRIC_COLUMNS}
        else:
            s = run(spec).summary.iloc[0]
            result = {k: _py(s[k]) for k in METRIC_COLUMNS}
    except (MemoryError, OSError):
        raise  # the machine, not the model: the sweep retries the point and stores nothing
    except Exception as exc:  # the model's answer for this spec: recorded, and the sweep goes on
        return _error_result(f"{type(exc).__name__}: {exc}")
    bad = [k for k in NUMERIC_COLUMNS
           if not isinstance(result[k], (int, float)) or not math.isfinite(result[k])]
    if bad:
        got = ", ".join(f"{k}={result[k]}" for k in bad)
        return _error_result(f"the run gave a non-finite result ({got}); not a measurement", keep=result)
    result["error"] = ""
    return result


def run_point(spec: Spec) -> dict:
    """Run one point and return its row (plain Python values).

    An error the model raises for this spec, or a result that is not finite,
    becomes a row with ``error`` set. ``MemoryError`` and ``OSError`` are not
    the model's answer and propagate, so that a sweep retries the point.
    """
    row = {"spec_hash": spec.key(__version__), "kit_version": __version__}
    row.update(_spec_columns(spec))
    row.update(_result_of(spec))
    return row


def _spec_columns(spec: Spec) -> dict:
    d = spec.model_dump(mode="json")
    out = {k: d[k] for k in ("hardware", "hypervisor", "workload", "vcpus", "vms", "duration", "seed", "pcpus",
                             "pin", "dom0_vcpus", "net_queues")}
    out["weights"] = ",".join(map(str, spec.weights)) if spec.weights else ""
    out["caps"] = ",".join(map(str, spec.caps)) if spec.caps else ""
    for prefix, pairs in (("mode.", spec.mode), ("hw.", spec.hw), ("workload.", spec.params)):
        for k, v in pairs:
            out[prefix + k] = str(v)
    return out


def _spec_key(spec_json: dict, version: str) -> str:
    """:meth:`Spec.key` computed from a spec's JSON form (what a store holds)."""
    blob = json.dumps(spec_json, sort_keys=True) + version
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---- files ---------------------------------------------------------------------------------------

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _is_temp(name: str, prefix: str, suffix: str) -> bool:
    """Whether ``name`` is one of our temporary names (``prefix``, 16 hex digits, ``suffix``)."""
    mid = name[len(prefix):len(name) - len(suffix)]
    return (name.startswith(prefix) and name.endswith(suffix) and len(mid) == 16
            and all(c in "0123456789abcdef" for c in mid))


def _open_excl(dir_fd: int, prefix: str, suffix: str) -> tuple[str, int]:
    """A new file with an unpredictable name in ``dir_fd``: never an existing file, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    for _ in range(100):
        name = f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return name, os.open(name, flags, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name after 100 tries", prefix)


def _write_file_atomic(dir_fd: int, name: str, write, tmp_prefix: str, tmp_suffix: str) -> None:
    """Write ``name`` in ``dir_fd`` via a fresh temporary file (``write(fd)``), synced, then renamed."""
    tmp, fd = _open_excl(dir_fd, tmp_prefix, tmp_suffix)
    try:
        try:
            write(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    with contextlib.suppress(OSError):  # some file systems cannot sync a directory
        os.fsync(dir_fd)


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM (if Python handles them) until a store write is done, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s, h in old.items():
        if callable(h):
            signal.signal(s, lambda n, f: got.append(n))
    try:
        yield
    finally:
        for s, h in old.items():
            if callable(h):
                signal.signal(s, h)
        if got:
            old[got[0]](got[0], None)


def _open_dir(path: Path, *, create: bool) -> int:
    """Open a store directory (creating it if asked); refuse links, non-directories and other users' ones."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise HvkitError("no such store directory", where=str(path)) from None
        try:
            os.makedirs(path, 0o777)
        except FileExistsError:
            pass
        except OSError as exc:
            raise HvkitError(f"cannot create the store directory: {exc.strerror}", where=str(path)) from None
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise HvkitError("the store is a symbolic link; give a real directory", where=str(path))
    if not stat.S_ISDIR(st.st_mode):
        raise HvkitError("the store path exists and is not a directory", where=str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError as exc:
        raise HvkitError(f"cannot open the store directory: {exc.strerror}", where=str(path)) from None
    st = os.fstat(fd)
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        os.close(fd)
        raise HvkitError(f"the store directory belongs to another user (uid {st.st_uid}); refusing to use it",
                         where=str(path))
    return fd


class _BadChunk(Exception):
    pass


def _check_record(rec) -> str | None:
    """Why a stored point is not to be trusted, or None."""
    if not isinstance(rec, dict) or not {"key", "version", "spec", "result"} <= rec.keys():
        return "not a point record"
    key, version, spec, result = rec["key"], rec["version"], rec["spec"], rec["result"]
    if not (isinstance(key, str) and isinstance(version, str) and isinstance(spec, dict)
            and isinstance(result, dict)):
        return "not a point record"
    if set(result) != set(METRIC_COLUMNS) or not isinstance(result["error"], str):
        return f"point {key}: wrong result columns"
    for k in NUMERIC_COLUMNS:
        v = result[k]
        if v is None and result["error"]:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"point {key}: {k} is not a finite number ({v!r})"
    if _spec_key(spec, version) != key:
        return f"point {key}: the key does not match the spec stored with it"
    return None


class Store:
    """A directory of finished points, written as atomic, checksummed chunks.

    ``<dir>/points-<seq>-<random>.jsonl``: a header line (format, row count,
    SHA-256 of the rest) and one JSON record per point: ``key`` (the spec's
    hash with the kit version), ``version``, ``spec`` (its JSON form) and
    ``result`` (the metric columns). Later chunks win when a key appears twice
    (a point recomputed with ``retry_errors``). ``<dir>/baselines-<seq>-<random>.jsonl`` chunks, of the same
    format, hold the native baselines the sweeps computed (each a point of the native spec with the hardware
    overrides native reads, tagged with what it read), so that a resumed or extended sweep runs none again.
    Files are created with
    unpredictable names, ``O_EXCL`` and ``O_NOFOLLOW``, relative to the opened
    directory, so a link planted in the store, or the store swapped for a link,
    redirects nothing. A writer holds an exclusive lock on ``<dir>/.lock``.

    Problems found while reading (a truncated, altered or unreadable chunk, a
    record whose key does not match its spec) are listed in ``problems``; when
    the store is locked, bad chunks are renamed ``bad-...`` and kept for
    inspection.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        self.problems: list[str] = []
        self._fd = _open_dir(self.path, create=create)
        self._lock_fd: int | None = None
        self._index: dict[str, dict] | None = None
        self._chunks: list[str] = []
        self._superseded = 0
        self._seq = 0

    # -- life cycle
    def close(self) -> None:
        for attr in ("_lock_fd", "_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, attr, None)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def lock(self) -> None:
        """Become the store's only writer, or raise :class:`HvkitError` naming the sweep that is."""
        if self._lock_fd is not None:
            return
        import fcntl
        try:
            fd = os.open(".lock", os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o666, dir_fd=self._fd)
        except OSError as exc:
            raise HvkitError(f"cannot open the store's lock file: {exc.strerror}", where=str(self.path)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HvkitError(f"another sweep (pid {holder}) is writing to this store; wait for it to finish "
                             f"or write to another output", where=str(self.path)) from None
        with contextlib.suppress(OSError):  # who holds it, for the message above; a full disk is no reason to fail
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        names = [e.name for e in os.scandir(self._fd)]
        stale = [n for n in names if _is_temp(n, _TMP_PREFIX, _TMP_SUFFIX)]
        for name in stale:  # only a writer makes these, and we are the only writer now
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=self._fd)
        if stale:
            self.problems.append(f"{self.path}: removed {len(stale)} temporary file(s) left by an interrupted "
                                 f"write")
        old = [n for n in names if n.endswith(".parquet")]
        if old:
            self.problems.append(f"{self.path}: {len(old)} point file(s) of the earlier one-file-per-point format "
                                 f"are not read; their points are recomputed")

    # -- reading
    def _read_chunk(self, name: str) -> list:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=self._fd)
        except OSError as exc:
            why = "a symbolic link (not followed)" if exc.errno == errno.ELOOP else f"unreadable ({exc.strerror})"
            raise _BadChunk(why) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _BadChunk("not a regular file")
            if st.st_size > MAX_CHUNK_BYTES:
                raise _BadChunk(f"too large ({st.st_size} bytes)")
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
        except OSError as exc:
            raise _BadChunk(f"unreadable ({exc.strerror})") from None
        finally:
            os.close(fd)
        head, _, body = data.partition(b"\n")
        try:
            header = json.loads(head)
            ok = isinstance(header, dict) and header.get("format") == _FORMAT
        except ValueError:
            ok = False
        if not ok:
            raise _BadChunk("not a point chunk (no header)")
        if hashlib.sha256(body).hexdigest() != header.get("sha256"):
            raise _BadChunk("checksum mismatch (truncated or altered)")
        lines = body.splitlines()
        if len(lines) != header.get("rows"):
            raise _BadChunk("row count does not match its header")
        try:
            return [json.loads(line) for line in lines]
        except ValueError:
            raise _BadChunk("a row is not valid JSON") from None

    def _report(self, name: str, why: str) -> None:
        msg = f"{self.path / name}: {why}; its points are recomputed"
        if self.locked:
            bad = f"bad-{name}"
            with contextlib.suppress(OSError):
                os.replace(name, bad, src_dir_fd=self._fd, dst_dir_fd=self._fd)
                msg += f" (kept as {bad})"
        self.problems.append(msg)

    def _readable_chunks(self, prefix: str) -> Iterator[tuple[str, list[dict]]]:
        """``(name, records)`` of every chunk named ``prefix``..., in name order, keeping the sequence number past
        each; a chunk that cannot be read is reported (:meth:`_report`) and skipped."""
        names = sorted(e.name for e in os.scandir(self._fd)
                       if e.name.startswith(prefix) and e.name.endswith(_CHUNK_SUFFIX))
        for name in names:
            with contextlib.suppress(ValueError, IndexError):
                self._seq = max(self._seq, int(name.split("-")[1]))
            try:
                recs = self._read_chunk(name)
            except _BadChunk as exc:
                self._report(name, str(exc))
                continue
            yield name, recs

    def load(self) -> dict[str, dict]:
        """Read every chunk: ``{key: record}`` of the points that can be trusted."""
        index: dict[str, dict] = {}
        self._superseded = 0
        good = []
        for name, recs in self._readable_chunks(_CHUNK_PREFIX):
            good.append(name)
            for rec in recs:
                why = _check_record(rec)
                if why is not None:
                    self.problems.append(f"{self.path / name}: {why}; not trusted")
                    self._superseded += 1
                    continue
                if rec["key"] in index:
                    self._superseded += 1
                index[rec["key"]] = rec
        self._index, self._chunks = index, good
        return index

    def _ensure(self) -> dict[str, dict]:
        return self._index if self._index is not None else self.load()

    def has(self, key: str) -> bool:
        return key in self._ensure()

    def get(self, key: str) -> dict:
        """The stored record of a point: ``key``, ``version``, ``spec`` and ``result``."""
        return self._ensure()[key]

    def keys(self) -> set[str]:
        return set(self._ensure())

    # -- writing
    def _write_chunk(self, prefix: str, records: list[dict]) -> str:
        if not self.locked:
            raise RuntimeError("lock() the store before writing to it")
        body = "".join(json.dumps(r, separators=(",", ":"), allow_nan=False) + "\n" for r in records).encode()
        head = json.dumps({"format": _FORMAT, "rows": len(records), "sha256": hashlib.sha256(body).hexdigest(),
                           "kit_version": __version__}).encode() + b"\n"
        self._seq += 1
        name = f"{prefix}{self._seq:08d}-{secrets.token_hex(4)}{_CHUNK_SUFFIX}"
        _write_file_atomic(self._fd, name, lambda fd: _write_all(fd, head + body), _TMP_PREFIX, _TMP_SUFFIX)
        return name

    def put_baselines(self, records: list[dict]) -> None:
        """Append native baselines (point records with a ``baseline`` entry) as one chunk of their own."""
        self._ensure()  # the sequence number continues after every chunk
        self._write_chunk(_BASELINE_PREFIX, records)

    def load_baselines(self) -> list[dict]:
        """The native baselines stored (records that check like points); bad chunks are reported like points'."""
        self._ensure()
        out: list[dict] = []
        for _, recs in self._readable_chunks(_BASELINE_PREFIX):
            out.extend(r for r in recs if _check_record(r) is None)
        return out

    def put_many(self, records: list[dict]) -> None:
        """Append points as one chunk; they are durable when this returns."""
        index = self._ensure()
        name = self._write_chunk(_CHUNK_PREFIX, records)
        self._chunks.append(name)
        for r in records:
            if r["key"] in index:
                self._superseded += 1
            index[r["key"]] = r

    def put(self, record: dict) -> None:
        self.put_many([record])

    def compact(self, force: bool = False) -> bool:
        """Rewrite the store as one chunk when it has many files or superseded points; True if it did."""
        index = self._ensure()
        if not (force or self._superseded or len(self._chunks) > _COMPACT_FILES) or len(self._chunks) < 1:
            return False
        old = list(self._chunks)
        self._chunks = []
        self.put_many(list(index.values()))
        self._superseded = 0
        for name in old:  # a crash here leaves duplicates of identical records: harmless, later wins
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=self._fd)
        return True


# ---- output --------------------------------------------------------------------------------------

def check_output(path: str | os.PathLike) -> Path:
    """Check that a sweep's Parquet output can be written, before anything is computed.

    Raises :class:`HvkitError` (field ``--output``) for a wrong suffix, a
    directory, a link, a parent that is missing or not a directory, or a
    directory where no file can be created (permission, read-only).
    """
    out = Path(path)

    def bad(msg, value=str(out)):
        return HvkitError(msg, field="--output", value=value)

    if out.suffix != ".parquet":
        raise HvkitError("the output must be a .parquet file", field="--output", value=str(out), allowed="*.parquet")
    parent = out.parent
    try:
        pst = os.stat(parent)
    except FileNotFoundError:
        raise bad("its directory does not exist", str(parent)) from None
    except NotADirectoryError:
        raise bad("a part of its directory path is a file, not a directory", str(parent)) from None
    except PermissionError:
        raise bad("no permission to reach its directory", str(parent)) from None
    if not stat.S_ISDIR(pst.st_mode):
        raise bad("its directory is a file, not a directory", str(parent))
    try:
        ost = os.lstat(out)
    except FileNotFoundError:
        ost = None
    if ost is not None:
        if stat.S_ISDIR(ost.st_mode):
            raise bad("it is a directory")
        if stat.S_ISLNK(ost.st_mode):
            raise bad("it is a symbolic link; give the real path")
        if not stat.S_ISREG(ost.st_mode):
            raise bad("it exists and is not a regular file")
    try:
        dfd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    except OSError as exc:
        raise bad(f"cannot open its directory: {exc.strerror}", str(parent)) from None
    try:
        name, fd = _open_excl(dfd, f".{out.name}.", ".probe")
        os.close(fd)
        os.unlink(name, dir_fd=dfd)
    except OSError as exc:
        why = {errno.EACCES: "no permission to write in its directory",
               errno.EPERM: "no permission to write in its directory",
               errno.EROFS: "its directory is on a read-only file system",
               errno.ENOSPC: "no space left on its device",
               errno.EDQUOT: "disk quota exceeded on its device"}.get(exc.errno or 0, f"cannot write there: {exc.strerror}")
        raise bad(why, str(parent)) from None
    finally:
        os.close(dfd)
    return out


def write_parquet_atomic(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to ``path`` via a fresh temporary file in the same directory, synced, then renamed."""
    out = Path(path)
    dfd = os.open(out.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    try:
        for e in os.scandir(dfd):  # left by a writer that was killed; the store lock makes us the only one
            if _is_temp(e.name, f".{out.name}.", ".tmp") or _is_temp(e.name, f".{out.name}.", ".probe"):
                with contextlib.suppress(OSError):
                    os.unlink(e.name, dir_fd=dfd)

        def write(fd):
            with os.fdopen(os.dup(fd), "wb") as f:
                df.to_parquet(f, index=False)

        _write_file_atomic(dfd, out.name, write, f".{out.name}.", ".tmp")
    finally:
        os.close(dfd)


# ---- workers -------------------------------------------------------------------------------------

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


class _Inline(Executor):
    """Runs points in this process (one worker)."""

    def submit(self, fn, *args, **kwargs):
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as exc:
            f.set_exception(exc)
        return f


# ---- the sweep -----------------------------------------------------------------------------------

class _Progress:
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


class _Run:
    """One sweep's bookkeeping: what is pending, stored, retried, given up."""

    def __init__(self, specs: dict[str, Spec], spec_json: dict[str, dict], todo: list[str], executor, workers,
                 store: Store | None, bar, stored: int, total: int):
        self.specs, self.spec_json, self.store, self.bar = specs, spec_json, store, bar
        self.todo = deque(todo)
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

    def _make_pool(self):
        if not self.pool_size:  # a rebuilt pool keeps the first one's size: never the parent in its place
            n = self.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                 else os.cpu_count())
            self.pool_size = max(1, min(n or 1, len(self.todo) or 1))
        return _new_pool(self.pool_size) if self.pool_size > 1 else _Inline()

    def _inflight(self) -> int:
        if isinstance(self.executor, _Inline):
            return 1
        if self.dask:
            with contextlib.suppress(Exception):
                return 2 * max(1, sum(self.executor.nthreads().values()))
            return 64
        return 2 * max(1, getattr(self.executor, "_max_workers", None) or os.cpu_count() or 1)

    # -- scheduling
    def _submit(self, key: str, queue: deque) -> None:
        spec = self.specs[key]
        try:
            if self.dask:
                fut = self.executor.submit(run_point, spec, pure=False)
            elif self.own:
                with _blocked_for_children():
                    fut = self.executor.submit(run_point, spec)
            else:
                fut = self.executor.submit(run_point, spec)
        except BrokenExecutor:  # the pool broke before we saw it: this point never ran
            queue.appendleft(key)
            self.broken = True
            return
        self.pending[fut] = key

    def _fill(self) -> None:
        if self.broken:
            return
        if self.suspects:  # after a pool break: one at a time, so the point that kills its worker is found
            if not self.pending:
                self._submit(self.suspects.popleft(), self.suspects)
            return
        while self.todo and len(self.pending) < self.inflight and not self.broken:
            self._submit(self.todo.popleft(), self.todo)

    def _wait(self) -> list:
        if not self.pending:
            return []
        timeout = None
        if self.buffer:
            timeout = max(0.0, self.buffer_since + FLUSH_SECONDS - time.monotonic())
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
            if self.bar is not None:
                self.bar.add(0, self.failed)
        elif isolate:
            self.suspects.append(key)
        else:
            self.todo.appendleft(key)

    def _finish(self, fut) -> None:
        key = self.pending.pop(fut)
        try:
            row = fut.result()
        except BrokenExecutor as exc:
            self.broken = True
            self._retry(key, f"its worker process died ({type(exc).__name__})", isolate=True)
            return
        except Exception as exc:  # not the model's answer (the model's errors come back as rows)
            self._retry(key, f"{type(exc).__name__}: {exc}", isolate=False)
            return
        result = {k: row[k] for k in METRIC_COLUMNS}
        self.results[key] = result
        if result["error"]:
            self.failed += 1
        if self.store is None:
            if self.bar is not None:
                self.bar.add(1, self.failed)
            return
        if not self.buffer:
            self.buffer_since = time.monotonic()
        self.buffer.append({"key": key, "version": __version__, "spec": self.spec_json[key], "result": result})

    def flush(self, force: bool = False) -> None:
        if not self.buffer or self.store is None:
            return
        if not force and len(self.buffer) < FLUSH_POINTS and time.monotonic() - self.buffer_since < FLUSH_SECONDS:
            return
        with _signals_deferred():
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
        if self.bar is not None:
            self.bar.add(n, self.failed)

    def _rebuild(self) -> None:
        if self.pending:
            return  # the other futures of the broken pool are still being failed
        self.broken = False
        if not self.own:
            why = "a worker process of the executor died, and an executor we did not make is not rebuilt"
            for key in list(self.suspects) + list(self.todo):
                self.given_up[key] = why
            self.failed += len(self.suspects) + len(self.todo)
            self.suspects.clear()
            self.todo.clear()
            return
        _kill_pool(self.executor)
        self.executor = self._make_pool()

    def run(self) -> None:
        while self.todo or self.suspects or self.pending:
            self._fill()
            for fut in self._wait():
                self._finish(fut)
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
        if self.own and not isinstance(self.executor, _Inline):
            if kill:
                _kill_pool(self.executor)
            else:
                self.executor.shutdown(wait=True)


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
    own_store = store is not None and not isinstance(store, Store)
    st: Store | None = store if isinstance(store, Store) else (Store(store) if store is not None else None)
    try:
        if st is not None:
            st.lock()
        return _sweep(plan, st, executor, workers, progress, retry_errors)
    finally:
        if st is not None:
            for msg in st.problems:
                warnings.warn(msg, SweepStoreWarning, stacklevel=3)
            st.problems.clear()
            if own_store:
                st.close()


def _closed_forms(specs: dict[str, Spec], todo: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Split the points to compute into those with a closed form (computed here, in bulk: one cost evaluation per
    distinct platform, replications share it, no SimPy and no table) and those the executor simulates."""
    from .run import closed_form_metrics
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
        result = {c: _py(m[c]) for c in METRIC_COLUMNS}
        closed[k] = result if all(math.isfinite(result[c]) for c in NUMERIC_COLUMNS) else _result_of(spec)
    return closed, rest


def _load_baselines(records: list[dict]) -> None:
    """Make the native baselines a store holds known to this process (and to the workers it forks)."""
    from .run import Baseline, add_baseline
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
    from .run import native_value
    for k in todo:
        if specs[k].hypervisor == "native":
            continue
        try:
            native_value(specs[k])
        except Exception:  # the point's own run reports what is wrong with it
            continue


def _baseline_records() -> list[dict]:
    """Store records of the baselines computed in this process since the last call."""
    from .run import take_new_baselines
    out: list[dict] = []
    for b in take_new_baselines():
        if b.spec is None or b.summary is None:
            continue
        result = {c: _py(b.summary.get(c)) for c in METRIC_COLUMNS}
        if any(not isinstance(result[c], (int, float)) or not math.isfinite(result[c]) for c in NUMERIC_COLUMNS):
            continue
        out.append({"key": b.spec.key(__version__), "version": __version__, "spec": b.spec.model_dump(mode="json"),
                    "result": result, "baseline": {"base": b.base, "reads": list(b.names), "values": list(b.values)}})
    return out


def _store_now(st: Store | None, records: list[dict], bar) -> None:
    """Write finished points to the store in chunks of ``FLUSH_POINTS`` (durable when this returns)."""
    for i in range(0, len(records), FLUSH_POINTS):
        chunk = records[i:i + FLUSH_POINTS]
        if st is not None:
            with _signals_deferred():
                st.put_many(chunk)
        if bar is not None:
            bar.add(len(chunk))


def _sweep(plan, st, executor, workers, progress, retry_errors) -> pd.DataFrame:
    specs: dict[str, Spec] = {}
    keys = []
    for p in plan:
        k = p["spec"].key(__version__)
        keys.append(k)
        specs.setdefault(k, p["spec"])
    spec_json = {k: s.model_dump(mode="json") for k, s in specs.items()}
    index = st.load() if st is not None else {}
    reused: dict[str, dict] = {}
    todo = []
    for k in specs:
        rec = index.get(k)
        if rec is None:
            todo.append(k)
        elif rec["version"] != __version__ or rec["spec"] != spec_json[k]:
            st.problems.append(f"{st.path}: point {k} is stored for another spec; recomputed")
            todo.append(k)
        elif rec["result"]["error"] and retry_errors:
            todo.append(k)
        else:
            reused[k] = rec["result"]
    report = check_reporter(progress)
    bar = _Progress(report, len(reused), len(specs)) if report is not None else None
    _baseline_records()  # baselines computed before this sweep are not its own to store
    _load_baselines(st.load_baselines() if st is not None else [])
    closed, todo = _closed_forms(specs, todo)  # points with a closed form: here, in bulk, no executor
    _store_now(st, [{"key": k, "version": __version__, "spec": spec_json[k], "result": r}
                    for k, r in closed.items()], bar)
    _baselines_first(specs, todo)
    records = _baseline_records()
    if st is not None and records:
        with _signals_deferred():
            st.put_baselines(records)
    run = _Run(specs, spec_json, todo, executor, workers, st, bar, stored=len(reused) + len(closed),
               total=len(specs)) if todo else None
    try:
        if run is not None:
            run.run()
    except KeyboardInterrupt:
        stored = len(reused) + len(closed)
        if run is not None:
            with contextlib.suppress(Exception):
                run.flush(force=True)
            run.close(kill=True)
            stored = run.stored
        raise SweepInterrupted(stored, len(specs), str(st.path) if st is not None else None) from None
    except BaseException:
        if run is not None:
            with contextlib.suppress(Exception):  # keep what finished, whatever went wrong
                run.flush(force=True)
            run.close(kill=True)
        raise
    else:
        if run is not None:
            run.close(kill=False)
    results = dict(run.results) if run is not None else {}
    if st is not None and not (run and run.given_up):
        with contextlib.suppress(OSError):  # only tidiness: the chunks it would merge stay valid
            st.compact()
    out = []
    for k, p in zip(keys, plan):
        if k in reused:
            res, was = reused[k], True
        elif k in closed:
            res, was = closed[k], False
        elif k in results:
            res, was = results[k], False
        else:
            given_up = run.given_up if run is not None else {}
            res, was = _error_result(f"not computed: {given_up.get(k, 'interrupted')}; nothing stored"), False
        r = {"spec_hash": k, "kit_version": __version__, **_spec_columns(p["spec"]), **res, "reused": was}
        r.update(point=p["point"], replication=p["replication"])
        for key, val in p["sets"].items():
            r[f"set.{key}"] = val
        out.append(r)
    df = pd.DataFrame(out)
    df["error"] = df["error"].fillna("").astype(str)
    front = ["point", "replication"] + [c for c in df.columns if c.startswith("set.")]
    df = df[front + [c for c in df.columns if c not in front]]
    if run is not None and run.given_up:
        first = next(iter(run.given_up.values()))
        raise SweepIncomplete(f"{len(run.given_up)} of {run.total} points could not be computed ({first}); "
                              f"{run.stored} stored; run again (--resume) to retry them", df, len(run.given_up),
                              run.stored)
    return df


# ---- the YAML sweep file -------------------------------------------------------------------------

class SweepFile(BaseModel):
    """``hvkit sweep`` input.

    ``base`` holds spec fields (hardware, hypervisor, workload, vcpus, vms,
    duration, seed, pcpus, ...); ``set`` holds ``--set`` pairs applied to the
    base; ``grid`` maps ``--set`` keys to lists (full factorial); ``zip`` maps
    keys to equal-length lists that advance together; ``points`` is a list of
    ``{key: value}`` dicts; ``replications`` repeats each point with derived seeds.
    """

    model_config = ConfigDict(extra="forbid")
    base: dict = Field(description="spec fields every point starts from (see Spec below)")
    set: dict = Field(default_factory=dict, description="--set pairs applied to the base")
    grid: dict[str, list] = Field(default_factory=dict, description="--set keys to lists of values (full factorial)")
    zip: dict[str, list] = Field(default_factory=dict, description="--set keys to equal-length lists that advance together")
    points: list[dict] = Field(default_factory=list, description="explicit points, each a {--set key: value} mapping")
    replications: int = Field(1, ge=1, le=1000, description="runs of each point, with seeds derived from the spec")


def load_sweep_file(path: str | os.PathLike) -> tuple[Spec, dict]:
    """Read and validate a sweep YAML: ``(base spec, keyword arguments of sweep())``.

    Every point is built once here, so a bad value anywhere fails before
    anything runs; NaN and infinite values are refused with the key named.
    """
    path = Path(path)
    sf = load_validated(read_yaml(path), SweepFile, str(path), "a sweep file")
    try:
        for name in ("base", "set", "grid", "zip", "points"):
            _check_finite(getattr(sf, name), name)
        base = Spec.make(**sf.base).with_sets(list(sf.set.items()))
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    kw: dict[str, Any] = {"grid": sf.grid, "zip_params": sf.zip or None, "points": sf.points or None,
                          "replications": sf.replications}
    try:
        expand(base, **kw)  # validate every point before anything runs
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    return base, kw
