"""What every importer shares: the values of one file, the one-line error naming the file and line, reading a
tool's text output, and numbers in the C locale's notation."""
from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import HvkitError

__all__ = ["Parsed", "Value", "bad", "read_lines", "MAX_BYTES", "number"]

#: Largest tool output accepted.
MAX_BYTES = 8 << 20


@dataclass
class Value:
    """One measured value of one file: ``quantity`` in ``unit``; ``op``/``events`` map it onto the model."""

    quantity: str
    value: float
    unit: str
    role: str = "native"
    hypervisor: str = "native"
    op: str | None = None
    line: int = 0


@dataclass
class Parsed:
    """What one file holds: its values, the machine facts it states, what its tool said, and per-unit counts."""

    values: list[Value] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    tool: str = ""
    notes: list[str] = field(default_factory=list)
    counts: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)


def bad(path: Path | str, line: int, message: str) -> HvkitError:
    """The one-line error for a malformed tool output: ``FILE:LINE: message``."""
    return HvkitError(message, where=f"{path}:{line}" if line else str(path))


def read_lines(path: Path) -> list[str]:
    """A tool output's lines: a regular UTF-8 text file of at most :data:`MAX_BYTES`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HvkitError("no such file", where=str(path)) from None
    except OSError as exc:
        raise HvkitError(f"cannot read: {exc.strerror}", where=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise HvkitError("not a regular file", where=str(path))
    if st.st_size > MAX_BYTES:
        raise HvkitError(f"too large ({st.st_size} bytes)", where=str(path), allowed=f"at most {MAX_BYTES} bytes")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise bad(path, 1, "binary content: give the tool's text output")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise bad(path, line, "not UTF-8 text") from None
    if not text.strip():
        raise bad(path, 1, "empty file")
    return text.splitlines()


def number(text: str, path: Path, line: int, what: str) -> float:
    """A number as the tools print it in the C locale (``1234``, ``12.5``, ``45.67%``); a decimal comma, a
    thousands separator or anything else is refused with the file and line."""
    t = text.strip().rstrip("%")
    if "," in t:
        raise bad(path, line, f"{what} {text.strip()!r} has a comma: numbers in another locale's notation; run the "
                              "tool with LC_ALL=C")
    try:
        v = float(t)
    except ValueError:
        raise bad(path, line, f"{what} is not a number: {text.strip()[:40]!r}") from None
    if not math.isfinite(v):
        raise bad(path, line, f"{what} is not finite: {text.strip()[:40]!r}")
    return v
