"""perf kvm stat: exits by reason in a virtualized run -> exit rates (a prediction's check, never an input).

Two outputs are read: ``perf kvm stat report`` (a ``VM-EXIT Samples Samples% Time% Min Time Max Time Avg time``
table closed by ``Total Samples:``), which gives each reason's count, share and mean handling time; and
``perf stat -e 'kvm:*'`` (the tracepoint summary, see :mod:`.perf_stat`), which gives each tracepoint's count over
the run's elapsed time. A count becomes a rate per second with the run's duration (``--duration`` for a report,
which does not print it).
"""
from __future__ import annotations

import re
from pathlib import Path

from .common import Parsed, Value, bad, number, read_lines
from .perf_stat import parse_counts

__all__ = ["parse"]

_HEADER = re.compile(r"^\s*VM-EXIT\s+Samples\s+Samples%\s+Time%\s+Min Time\s+Max Time\s+Avg time\s*$")
_ROW = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)us\s+(\S+)us\s+(\S+)us\s*(\(\s*\+-\s*(\S+)%\s*\))?\s*$")


def parse(path: Path, duration: float | None = None) -> Parsed:
    lines = read_lines(path)
    head = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if head is None:
        if any("Performance counter stats for" in line for line in lines):
            return _tracepoints(path, lines)
        if any(line.strip().startswith("VM-EXIT") or "Event name" in line for line in lines):
            n = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("VM-EXIT") or "Event name" in line)
            raise bad(path, n, "a perf kvm stat table with other columns than 'VM-EXIT Samples Samples% Time% Min Time "
                               "Max Time Avg time': another version's format")
        raise bad(path, 1, "neither a 'perf kvm stat report' table nor a 'perf stat' of kvm tracepoints")
    out = Parsed(tool="perf kvm stat report")
    total = None
    for n, line in enumerate(lines[head + 1:], head + 2):
        if not line.strip():
            continue
        if line.strip().startswith("Total Samples:"):
            m = re.match(r"\s*Total Samples:\s*(\S+),", line)
            if not m:
                raise bad(path, n, "a 'Total Samples:' line without its count")
            total = number(m.group(1), path, n, "the total samples")
            break
        m = _ROW.match(line)
        if not m:
            raise bad(path, n, f"not a VM-EXIT row: {line.strip()[:60]!r}")
        reason = m.group(1)
        count = number(m.group(2), path, n, f"the samples of {reason}")
        share = number(m.group(3), path, n, f"the samples% of {reason}")
        avg = number(m.group(7), path, n, f"the avg time of {reason}")
        out.values.append(Value(f"exit_share.{reason}", share / 100.0, "fraction", role="check", hypervisor="kvm",
                                line=n))
        out.values.append(Value(f"exit_avg_us.{reason}", avg, "us", role="check", hypervisor="kvm", line=n))
        if duration:
            out.values.append(Value(f"exit_rate.{reason}", count / duration, "per_s", role="check",
                                    hypervisor="kvm", line=n))
        else:
            out.values.append(Value(f"exit_count.{reason}", count, "exits", role="check", hypervisor="kvm", line=n))
    if total is None:
        raise bad(path, len(lines), "truncated: no 'Total Samples:' line after the VM-EXIT table")
    counted = sum(v.value for v in out.values if v.quantity.startswith(("exit_count.", "exit_rate.")))
    if not duration and abs(counted - total) > 0.5:
        out.notes.append(f"the rows add up to {counted:g} of {total:g} samples (perf prints reasons above a threshold)")
    if not duration:
        out.notes.append("give --duration (seconds recorded) to turn exit counts into rates")
    return out


def _tracepoints(path: Path, lines: list[str]) -> Parsed:
    counts, elapsed, notes = parse_counts(path, lines)
    kvm = {k: v for k, v in counts.items() if k.startswith("kvm:")}
    if not kvm:
        raise bad(path, 1, "a perf stat output without kvm: tracepoints (perf stat -e 'kvm:*' -a)")
    out = Parsed(tool="perf stat (kvm tracepoints)", notes=notes)
    for name, value in kvm.items():
        out.values.append(Value(f"exit_rate.{name[4:]}", value / elapsed, "per_s", role="check", hypervisor="kvm"))
    if kvm.get("kvm:kvm_exit", 1) == 0:
        out.notes.append("kvm:kvm_exit counted 0: this KVM (PVM, for one) does not emit it; the other tracepoints "
                         "(kvm_cpuid, kvm_pio, kvm_userspace_exit, kvm_emulate_insn) still count its exits")
    return out
