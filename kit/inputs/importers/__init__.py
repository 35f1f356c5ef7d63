"""``hvkit import``: the outputs of the standard measurement tools, as they print them, as measurements.

One module per tool reads one file into :class:`Parsed` values; :func:`import_files` takes several files of the
same tool (replications), averages each value with its 95% interval (Student's t over the files) and writes a
measurements document (:mod:`kit.inputs.measurements`) whose every row says "measured on HOST (CPU model, kernel,
date) by TOOL". A file that is not what its tool prints (truncated, another version's format, numbers in another
locale's notation) is refused with one line naming the file and the line (``file:line``).

========================  ====================================================================================
kind                      what it reads
========================  ====================================================================================
``kvm-unit-tests``        x86 ``vmexit`` (``name cycles`` lines, or a ``before after`` table as posted with
                          patches) and ARM ``micro-bench`` (``name total ns avg ns``): exit costs
``perf-kvm``              ``perf kvm stat report`` (exits by reason), or ``perf stat -e 'kvm:*'``: exit rates
``perf-stat``             ``perf stat`` of a native run: a workload's counts (with ``--units``)
``vmstat``                two ``/proc/vmstat`` snapshots, before and after: their deltas
``fio``                   ``fio --output-format=json``: I/O rates, sizes and latencies
``iperf3``                ``iperf3 -J``: throughput
``netperf``               netperf's classic output (TCP_RR, TCP_STREAM, UDP_*): transactions or throughput
========================  ====================================================================================
"""
from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import HvkitError
from ...stats import t_interval

__all__ = ["Parsed", "Value", "bad", "read_lines", "import_files", "KINDS", "MAX_BYTES", "number"]

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


Parser = Callable[..., Parsed]


def _registry() -> dict[str, tuple[Parser, str]]:
    from . import fio, iperf3, kvm_unit_tests, netperf, perf_kvm, perf_stat, vmstat
    return {"kvm-unit-tests": (kvm_unit_tests.parse, "kvm-unit-tests (x86 vmexit, ARM micro-bench)"),
            "perf-kvm": (perf_kvm.parse, "perf kvm stat / perf stat of kvm tracepoints"),
            "perf-stat": (perf_stat.parse, "perf stat"),
            "vmstat": (vmstat.parse, "/proc/vmstat deltas"),
            "fio": (fio.parse, "fio (JSON output)"),
            "iperf3": (iperf3.parse, "iperf3 (JSON output)"),
            "netperf": (netperf.parse, "netperf")}


#: The kinds ``hvkit import`` reads.
KINDS = ("kvm-unit-tests", "perf-kvm", "perf-stat", "vmstat", "fio", "iperf3", "netperf")


def import_files(kind: str, paths: Sequence[str | os.PathLike[str]], machine: dict, *, units: float | None = None,
                 duration: float | None = None, column: str | None = None) -> dict:
    """Parse ``paths`` (replications of one tool's run) into a measurements document.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    paths : list of paths
        The outputs; each is one replication (``vmstat`` takes pairs: before, after).
    machine : dict
        The machine facts (:class:`kit.inputs.measurements.Machine` fields) where the files do not state them.
    units : float, optional
        Units of work the native run did (``perf-stat``, ``vmstat``): counts are divided by it into ``per_unit``.
    duration : float, optional
        Seconds a ``perf kvm stat record`` lasted (turns its exit counts into rates).
    column : str, optional
        ``kvm-unit-tests`` tables with several columns (``before``, ``after``): the one to read (default each,
        as separate runs).
    """
    if kind not in KINDS:
        raise HvkitError("unknown tool output", field="kind", value=kind, allowed=list(KINDS))
    parse, tool = _registry()[kind]
    files = [Path(p) for p in paths]
    if not files:
        raise HvkitError("give at least one file", field="FILE")
    if kind == "vmstat":
        if len(files) % 2:
            raise HvkitError("vmstat takes pairs of snapshots: before and after", field="FILE", value=len(files))
        parsed = [parse(files[i], files[i + 1]) for i in range(0, len(files), 2)]
        names = [f"{files[i].name} -> {files[i + 1].name}" for i in range(0, len(files), 2)]
    else:
        parsed = []
        for f in files:
            p = parse(f, duration=duration) if kind == "perf-kvm" else parse(f, column=column) \
                if kind == "kvm-unit-tests" else parse(f)
            parsed.extend(p if isinstance(p, list) else [p])
        names = [f.name for f in files]
    facts = dict(machine)
    for p in parsed:
        facts.update({k: v for k, v in p.machine.items() if v not in (None, "")})
    origin = "the tool's output" if any(p.machine for p in parsed) else machine.get("origin", "")
    facts["origin"] = origin
    version = next((p.tool for p in parsed if p.tool), tool)
    where = _describe(facts)
    grouped: dict[str, list[Value]] = {}
    for p in parsed:
        for v in p.values:
            grouped.setdefault(v.quantity, []).append(v)
    rows = []
    for quantity, vals in grouped.items():
        mean, half = t_interval([v.value for v in vals])
        first = vals[0]
        row = {"id": f"{kind}:{quantity}", "quantity": quantity, "value": mean, "unit": first.unit,
               "ci95": None if half is None else [mean - half, mean + half], "n": len(vals), "role": first.role,
               "hypervisor": first.hypervisor,
               "source": f"measured on {where} by {version}: {quantity}, "
                         + (f"mean of {len(vals)} runs" if len(vals) > 1 else "one run")
                         + f" ({', '.join(sorted(set(names)))[:200]})"}
        if first.op:
            row["op"] = first.op
        rows.append(row)
    per_unit: dict[str, float] = {}
    params: dict[str, float] = {}
    notes: list[str] = []
    for p in parsed:
        notes.extend(n for n in p.notes if n not in notes)
    if any(p.counts for p in parsed):
        if not units:
            notes.append("per-unit counts need --units (the units of work the run did); counts kept as rows only")
        else:
            keys = sorted({k for p in parsed for k in p.counts})
            for k in keys:
                per_unit[k] = math.fsum(p.counts.get(k, 0.0) for p in parsed) / (units * len(parsed))
    for k in sorted({k for p in parsed for k in p.ratios}):
        vals = [p.ratios[k] for p in parsed if k in p.ratios]
        per_unit[k] = math.fsum(vals) / len(vals)
    for p in parsed:
        params.update(p.params)
    doc = {"kind": "measurements", "tool": version, "machine": facts, "rows": rows, "notes": notes}
    if per_unit:
        doc["per_unit"] = per_unit
    if params:
        doc["params"] = params
    return doc


def _describe(m: dict) -> str:
    text = f"{m.get('hostname', 'unknown host')} ({m.get('cpu_model', 'unknown CPU')}, Linux " \
           f"{m.get('kernel', 'unknown')}, {m.get('date', 'unknown date')})"
    if m.get("is_guest"):
        text += ", itself a virtual machine: every exit measured there includes the outer hypervisor"
    return text
