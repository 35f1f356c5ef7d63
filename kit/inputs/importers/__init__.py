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
from collections.abc import Callable, Sequence
from typing import Any
from pathlib import Path

from ...errors import HvkitError
from ...stats import t_interval
from .common import MAX_BYTES, Parsed, Value, bad, number, read_lines

__all__ = ["Parsed", "Value", "bad", "read_lines", "import_files", "KINDS", "MAX_BYTES", "number"]


Parser = Callable[..., Any]


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
        ratios = [p.ratios[k] for p in parsed if k in p.ratios]
        per_unit[k] = math.fsum(ratios) / len(ratios)
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
