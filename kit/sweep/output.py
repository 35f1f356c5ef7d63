"""A sweep's output: a Parquet file, checked writable before anything is computed and written atomically (a fresh
temporary file in the same directory, synced, then renamed), so that a kill never leaves half a file.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

import pandas as pd

from ..errors import HvkitError
from .store import O_CLOEXEC, is_temp, open_excl, write_file_atomic

__all__ = ["check_output", "write_parquet_atomic"]


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
        dfd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | O_CLOEXEC)
    except OSError as exc:
        raise bad(f"cannot open its directory: {exc.strerror}", str(parent)) from None
    try:
        name, fd = open_excl(dfd, f".{out.name}.", ".probe")
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
    dfd = os.open(out.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | O_CLOEXEC)
    try:
        for e in os.scandir(dfd):  # left by a writer that was killed; the store lock makes us the only one
            if is_temp(e.name, f".{out.name}.", ".tmp") or is_temp(e.name, f".{out.name}.", ".probe"):
                with contextlib.suppress(OSError):
                    os.unlink(e.name, dir_fd=dfd)

        def write(fd):
            with os.fdopen(os.dup(fd), "wb") as f:
                df.to_parquet(f, index=False)

        write_file_atomic(dfd, out.name, write, f".{out.name}.", ".tmp")
    finally:
        os.close(dfd)
