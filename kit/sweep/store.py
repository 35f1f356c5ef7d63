"""A sweep's store: a directory of finished points in append-only, checksummed chunks, safe against a kill at any
moment.

Each chunk holds several points, carries a checksum and an HMAC under the store's own key (``<dir>/.key``, 32
random bytes readable by its owner only), and appears under its final name only once it is complete (written to a
fresh temporary file, synced, then renamed: :func:`write_file_atomic`), so a kill leaves whole chunks or none, and a
chunk written by anyone without the key (a value changed and its checksum recomputed) is refused. Every stored point
carries its spec and the spec's key; a point is reused only if both match what the sweep asks for, and anything
truncated, altered, unauthenticated or unreadable is reported and recomputed. The store is created ``0700`` and its
files ``0600`` whatever the umask. The file primitives here (unpredictable names, ``O_EXCL``, ``O_NOFOLLOW``, signals
held during a write) also write the sweep's Parquet output (:mod:`kit.sweep.output`).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import math
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import HvkitError
from ..version import __version__
from .point import METRIC_COLUMNS, NUMERIC_COLUMNS, spec_key

__all__ = ["Store", "SweepStoreError", "SweepStoreWarning", "MAX_CHUNK_BYTES", "write_file_atomic", "open_excl",
           "is_temp", "signals_deferred"]

#: A store chunk larger than this is not read (no sweep writes one: MAX_POINTS rows are about 150 MB).
MAX_CHUNK_BYTES = 1 << 30

_FORMAT = "hvkit-sweep-points/1"
_CHUNK_PREFIX, _CHUNK_SUFFIX = "points-", ".jsonl"
#: Native baselines a sweep computed (see kit.run.native_value), in chunks of the same format
_BASELINE_PREFIX = "baselines-"
_TMP_PREFIX, _TMP_SUFFIX = ".tmp-", ".part"
#: Compact the store when it holds more chunk files than this (one file per flush adds up in long sweeps).
_COMPACT_FILES = 32
#: The store's HMAC key (hex of 32 random bytes), and the modes of its directory and of its files
_KEY_NAME = ".key"
DIR_MODE, FILE_MODE = 0o700, 0o600


class SweepStoreError(RuntimeError):
    """The store could not be written (disk full, I/O error); what it holds stays valid."""

    def __init__(self, message: str, stored: int, total: int, cause: OSError):
        super().__init__(message)
        self.stored, self.total, self.cause = stored, total, cause


class SweepStoreWarning(UserWarning):
    """Something in a store was not trusted (a bad chunk, a mismatched point) and is recomputed."""


O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def is_temp(name: str, prefix: str, suffix: str) -> bool:
    """Whether ``name`` is one of our temporary names (``prefix``, 16 hex digits, ``suffix``)."""
    mid = name[len(prefix):len(name) - len(suffix)]
    return (name.startswith(prefix) and name.endswith(suffix) and len(mid) == 16
            and all(c in "0123456789abcdef" for c in mid))


def open_excl(dir_fd: int, prefix: str, suffix: str, mode: int = 0o666) -> tuple[str, int]:
    """A new file with an unpredictable name in ``dir_fd``: never an existing file, never through a link.

    ``mode`` is what the umask trims (0o666: a user's output); a store's own files pass :data:`FILE_MODE`, set
    exactly whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
    for _ in range(100):
        name = f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            fd = os.open(name, flags, mode, dir_fd=dir_fd)
        except FileExistsError:
            continue
        if mode == FILE_MODE:
            try:
                os.fchmod(fd, FILE_MODE)
            except OSError:
                os.close(fd)
                raise
        return name, fd
    raise FileExistsError(errno.EEXIST, "no unused temporary name after 100 tries", prefix)


def write_file_atomic(dir_fd: int, name: str, write, tmp_prefix: str, tmp_suffix: str, mode: int = 0o666) -> None:
    """Write ``name`` in ``dir_fd`` via a fresh temporary file (``write(fd)``, created with ``mode``), synced,
    then renamed."""
    tmp, fd = open_excl(dir_fd, tmp_prefix, tmp_suffix, mode)
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
def signals_deferred():
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
            if path.parent != path:
                os.makedirs(path.parent, exist_ok=True)
            os.mkdir(path, DIR_MODE)  # the umask may only take bits away; _tighten sets it exactly
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
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | O_NOFOLLOW | O_CLOEXEC)
    except OSError as exc:
        raise HvkitError(f"cannot open the store directory: {exc.strerror}", where=str(path)) from None
    st = os.fstat(fd)
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        os.close(fd)
        raise HvkitError(f"the store directory belongs to another user (uid {st.st_uid}); refusing to use it",
                         where=str(path))
    return fd


def _tighten(fd: int) -> None:
    """The store directory readable by its owner only (``0700``), whatever the umask made of it."""
    with contextlib.suppress(OSError):  # a read-only store stays as it is; its chunks are still authenticated
        if stat.S_IMODE(os.fstat(fd).st_mode) != DIR_MODE:
            os.fchmod(fd, DIR_MODE)


def _read_key(dir_fd: int) -> bytes | None:
    """The store's HMAC key, or None when it has none (or one that cannot be trusted: a link, another user's, one
    others may read or write)."""
    try:
        fd = os.open(_KEY_NAME, os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077
                or (hasattr(os, "geteuid") and st.st_uid != os.geteuid())):
            return None
        text = os.read(fd, 129).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def _make_key(dir_fd: int) -> bytes:
    """A new HMAC key for the store (``0600``), written atomically; an existing key file is replaced (the chunks it
    authenticated no longer are: they are recomputed)."""
    key = secrets.token_bytes(32)
    write_file_atomic(dir_fd, _KEY_NAME, lambda fd: _write_all(fd, key.hex().encode() + b"\n"), _TMP_PREFIX,
                      _TMP_SUFFIX, FILE_MODE)
    return key


def _mac(key: bytes | None, body: bytes) -> str | None:
    return None if key is None else hmac.new(key, body, hashlib.sha256).hexdigest()


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
    if spec_key(spec, version) != key:
        return f"point {key}: the key does not match the spec stored with it"
    return None


class Store:
    """A directory of finished points, written as atomic, checksummed chunks.

    ``<dir>/points-<seq>-<random>.jsonl``: a header line (format, row count,
    SHA-256 of the rest and its HMAC-SHA256 under the store's key, ``<dir>/.key``) and one JSON record per point:
    ``key`` (the hash of its spec, the content digest of the files it names and the kit version), ``version``,
    ``spec`` (its JSON form, with ``content``) and ``result`` (the metric columns). Later chunks win when a key appears twice
    (a point recomputed with ``retry_errors``). ``<dir>/baselines-<seq>-<random>.jsonl`` chunks, of the same
    format, hold the native baselines the sweeps computed (each a point of the native spec with the hardware
    overrides native reads, tagged with what it read), so that a resumed or extended sweep runs none again.
    Files are created with
    unpredictable names, ``O_EXCL`` and ``O_NOFOLLOW``, relative to the opened
    directory, so a link planted in the store, or the store swapped for a link,
    redirects nothing. A writer holds an exclusive lock on ``<dir>/.lock``. The directory is ``0700`` and every
    file ``0600``, whatever the umask.

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
        self._key = _read_key(self._fd)

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
            fd = os.open(".lock", os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC, FILE_MODE, dir_fd=self._fd)
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
        _tighten(self._fd)
        with contextlib.suppress(OSError):
            if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
                os.fchmod(fd, FILE_MODE)
        if self._key is None:
            try:
                self._key = _make_key(self._fd)
            except OSError as exc:
                os.close(fd)
                self._lock_fd = None
                raise HvkitError(f"cannot write the store's key: {exc.strerror}", where=str(self.path)) from None
        names = [e.name for e in os.scandir(self._fd)]
        stale = [n for n in names if is_temp(n, _TMP_PREFIX, _TMP_SUFFIX)]
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
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, dir_fd=self._fd)
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
        mac = _mac(self._key, body)
        given = header.get("hmac")
        if mac is None or not isinstance(given, str) or not hmac.compare_digest(mac, given):
            raise _BadChunk("not authenticated by the store's key (written by someone else, or by an hvkit without "
                            "keys)")
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
                           "hmac": _mac(self._key, body), "kit_version": __version__}).encode() + b"\n"
        self._seq += 1
        name = f"{prefix}{self._seq:08d}-{secrets.token_hex(4)}{_CHUNK_SUFFIX}"
        write_file_atomic(self._fd, name, lambda fd: _write_all(fd, head + body), _TMP_PREFIX, _TMP_SUFFIX,
                          FILE_MODE)
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
