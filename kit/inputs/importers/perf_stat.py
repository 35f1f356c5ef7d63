"""perf stat of a native run -> a workload's counts (and, divided by ``--units``, its per-unit counts).

The default ``perf stat`` output: a ``Performance counter stats for`` header, one ``value event`` line per event
(``<not supported>`` and ``<not counted>`` where the machine cannot count it: a virtual machine often has no
hardware counters), and ``seconds time elapsed``. Events map onto the workload file's ``per_unit`` vocabulary:
``raw_syscalls:sys_enter`` (or ``syscalls:sys_enter_*``) -> syscalls, ``page-faults`` -> pagefaults,
``context-switches`` -> cr3_loads, ``instructions:u``/``:k`` -> user_instr/kernel_instr, dTLB misses -> tlb_mpki.
"""
from __future__ import annotations

import re
from pathlib import Path

from .common import Parsed, Value, bad, number, read_lines

__all__ = ["parse", "parse_counts", "PER_UNIT"]

#: perf events -> per_unit fields.
PER_UNIT = {"raw_syscalls:sys_enter": "syscalls", "page-faults": "pagefaults", "faults": "pagefaults",
            "context-switches": "cr3_loads", "cs": "cr3_loads", "instructions:u": "user_instr",
            "instructions:k": "kernel_instr"}
_LINE = re.compile(r"^\s*(<not supported>|<not counted>|[0-9][0-9.,]*)\s+(?:(msec|ns|us)\s+)?(\S+)(\s.*)?$")


def parse_counts(path: Path, lines: list[str]) -> tuple[dict[str, float], float, list[str]]:
    """The events' counts and the elapsed seconds of a ``perf stat`` output."""
    head = next((i for i, line in enumerate(lines) if "Performance counter stats for" in line), None)
    if head is None:
        if any(line.count(",") >= 3 or line.count(";") >= 3 for line in lines[:20]):
            raise bad(path, 1, "CSV output (perf stat -x): give perf stat's default output")
        raise bad(path, 1, "no 'Performance counter stats for' header: not a perf stat output")
    counts: dict[str, float] = {}
    notes: list[str] = []
    elapsed = None
    for n, line in enumerate(lines[head + 1:], head + 2):
        s = line.strip()
        if not s:
            continue
        if s.endswith("seconds time elapsed"):
            elapsed = number(s.split()[0], path, n, "the elapsed time")
            break
        m = _LINE.match(line)
        if not m:
            raise bad(path, n, f"not a perf stat counter line: {s[:60]!r}")
        value, unit, event = m.group(1), m.group(2), m.group(3)
        if value.startswith("<"):
            notes.append(f"{event}: {value[1:-1]} on this machine")
            continue
        if "," in value or value.count(".") > 1 or (value.count(".") == 1 and unit is None and
                                                   len(value.split(".")[1]) == 3 and event != "task-clock"):
            raise bad(path, n, f"count {value!r} of {event} has a thousands separator: another locale's notation; "
                               "run perf with LC_ALL=C")
        counts[event] = number(value, path, n, f"the count of {event}")
    if elapsed is None:
        raise bad(path, len(lines), "truncated: no 'seconds time elapsed' line")
    if elapsed <= 0:
        raise bad(path, len(lines), "elapsed time is not positive")
    return counts, elapsed, notes


def parse(path: Path) -> Parsed:
    lines = read_lines(path)
    counts, elapsed, notes = parse_counts(path, lines)
    out = Parsed(tool="perf stat", notes=notes)
    out.values.append(Value("native.elapsed_s", elapsed, "s"))
    for event, value in counts.items():
        out.values.append(Value(f"native.{event}", value, "count"))
        if event in PER_UNIT:
            out.counts[PER_UNIT[event]] = out.counts.get(PER_UNIT[event], 0.0) + value
        elif event.startswith("syscalls:sys_enter_"):
            out.counts["syscalls"] = out.counts.get("syscalls", 0.0) + value
    instr = counts.get("instructions") or (counts.get("instructions:u", 0) + counts.get("instructions:k", 0))
    misses = sum(v for k, v in counts.items() if k.startswith(("dTLB-load-misses", "dTLB-store-misses")))
    if instr and misses:
        out.ratios["tlb_mpki"] = 1000.0 * misses / instr
    if "instructions" in counts and "instructions:u" not in counts:
        out.notes.append("instructions without :u/:k modifiers: the user/kernel split is not measured")
    return out
