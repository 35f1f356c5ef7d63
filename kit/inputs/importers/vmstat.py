"""Two ``/proc/vmstat`` snapshots (before and after a native run) -> the run's deltas.

``/proc/vmstat`` is ``name value`` lines of non-negative integers. The deltas that map onto the workload file's
``per_unit`` vocabulary: ``pgfault`` -> pagefaults, ``nr_tlb_remote_flush`` -> tlb_shootdowns (and ipis),
``pgpgin`` + ``pgpgout`` (KiB) -> disk traffic (a note).
"""
from __future__ import annotations

from pathlib import Path

from .common import Parsed, Value, bad, read_lines

__all__ = ["parse", "snapshot"]


def snapshot(path: Path) -> dict[str, int]:
    lines = read_lines(path)
    out: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        if len(words) != 2 or words[0].endswith(":"):
            raise bad(path, n, f"not a /proc/vmstat line ('name value'): {line.strip()[:60]!r}"
                      + ("; this looks like /proc/meminfo" if words[0].endswith(":") else ""))
        if not words[1].lstrip("-").isdigit():
            raise bad(path, n, f"the value of {words[0]} is not an integer: {words[1][:30]!r}")
        if words[0] in out:
            raise bad(path, n, f"{words[0]} appears twice")
        out[words[0]] = int(words[1])
    if "pgfault" not in out:
        raise bad(path, len(lines), "no pgfault line: truncated, or not /proc/vmstat")
    return out


def parse(before: Path, after: Path) -> Parsed:
    a, b = snapshot(before), snapshot(after)
    missing = sorted(set(a) ^ set(b))
    if missing:
        raise bad(after, 1, f"the snapshots differ in their counters ({missing[0]}...): from different kernels?")
    out = Parsed(tool="/proc/vmstat (two snapshots)")
    for name in sorted(a):
        if name.startswith("nr_") and not name.startswith(("nr_tlb_",)):
            continue  # gauges (pages in a state now), not event counters
        delta = b[name] - a[name]
        if delta:
            out.values.append(Value(f"native.vmstat.{name}", float(delta), "count"))
    d = {k: b[k] - a[k] for k in a}
    if d.get("pgfault"):
        out.counts["pagefaults"] = float(d["pgfault"])
    if d.get("nr_tlb_remote_flush"):
        out.counts["tlb_shootdowns"] = float(d["nr_tlb_remote_flush"])
        out.counts["ipis"] = float(d["nr_tlb_remote_flush"])
    if d.get("pgpgin", 0) + d.get("pgpgout", 0):
        out.notes.append(f"paged in and out: {d.get('pgpgin', 0) + d.get('pgpgout', 0)} KiB")
    return out
