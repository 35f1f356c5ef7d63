"""kvm-unit-tests: x86 ``vmexit`` and ARM ``micro-bench`` outputs -> exit costs.

x86 ``vmexit.flat`` prints one ``name cycles`` line per test (TSC cycles per iteration) among its start-up lines;
KVM patches often post the same numbers as a table with a header of run names (``before after``), one column per
run, which is read too (``--column`` chooses the run). ARM ``micro-bench`` prints a ``name total ns avg ns`` table between
``Timer Frequency`` and ``EXIT: STATUS``. Test names map onto the catalogue's operations where the same
operation exists (``hvc`` is ``hyp_call``'s former name).
"""
from __future__ import annotations

import re
from pathlib import Path

from .common import Parsed, Value, bad, number, read_lines

__all__ = ["parse", "X86_OPS", "ARM_OPS"]

#: vmexit tests that are catalogue operations (``hvkit list ops``).
X86_OPS = {"cpuid": "cpuid", "vmcall": "vmcall", "mov_to_cr8": "mov_to_cr8", "inl_from_pmtimer": "inl_from_pmtimer",
           "inl_from_qemu": "inl_from_qemu", "inl_from_kernel": "inl_from_kernel", "outl_to_kernel": "outl_to_kernel",
           "ipi": "ipi", "tscdeadline": "tscdeadline", "tscdeadline_immed": "tscdeadline_immed"}
#: micro-bench tests that are catalogue operations.
ARM_OPS = {"hvc": "hyp_call", "hyp_call": "hyp_call", "mmio_read_user": "mmio_read_user",
           "mmio_read_vgic": "mmio_read_vgic", "eoi": "eoi", "ipi": "ipi"}
_NAME = re.compile(r"^[a-z][a-z0-9_+\-]*$")
_ARM_HEADER = re.compile(r"^\s*name\s+total\s+ns\s+avg\s+ns\s*$")


def parse(path: Path, column: str | None = None) -> list[Parsed]:
    """The runs in one output file (one, or one per column of a posted table)."""
    lines = read_lines(path)
    for i, line in enumerate(lines):
        if _ARM_HEADER.match(line):
            return [_arm(path, lines, i)]
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) >= 1 and all(not _is_number(w) for w in words) and i + 1 < len(lines):
            nxt = lines[i + 1].split()
            if len(nxt) == len(words) + 1 and nxt[0] in X86_OPS and all(_is_number(w) for w in nxt[1:]):
                return _table(path, lines, i, column)
    return [_x86(path, lines)]


def _is_number(w: str) -> bool:
    try:
        float(w)
        return True
    except ValueError:
        return False


def _x86(path: Path, lines: list[str]) -> Parsed:
    out = Parsed(tool="kvm-unit-tests x86/vmexit")
    for n, line in enumerate(lines, 1):
        words = line.split()
        if not words or not _NAME.match(words[0]):
            continue
        name = words[0]
        if name in X86_OPS or (len(words) == 2 and _looks_like_value(words[1])):
            if len(words) == 1:
                raise bad(path, n, f"truncated: the '{name}' line has no value")
            if len(words) != 2:
                raise bad(path, n, f"the '{name}' line has {len(words)} fields where vmexit prints 'name cycles': "
                                   "another version's format")
            cycles = number(words[1], path, n, f"the cycles of '{name}'")
            out.values.append(Value(f"op.{name}", cycles, "cycles", role="input", hypervisor="kvm",
                                    op=X86_OPS.get(name), line=n))
    if not out.values:
        raise bad(path, len(lines), "no 'name cycles' line of x86/vmexit (nor a micro-bench table)")
    return out


def _looks_like_value(w: str) -> bool:
    return bool(re.fullmatch(r"-?[0-9][0-9.,]*", w))


def _table(path: Path, lines: list[str], head: int, column: str | None) -> list[Parsed]:
    names = lines[head].split()
    if column is not None and column not in names:
        raise bad(path, head + 1, f"no column {column!r}; the table's columns: {', '.join(names)}")
    if column is None and len(names) > 1:
        raise bad(path, head + 1, f"a table of {len(names)} runs ({', '.join(names)}): choose one with --column")
    runs = {c: Parsed(tool=f"kvm-unit-tests x86/vmexit (table column '{c}')") for c in names}
    for n, line in enumerate(lines[head + 1:], head + 2):
        words = line.split()
        if not words:
            break
        if len(words) != len(names) + 1:
            raise bad(path, n, f"{len(words)} fields where the table has a name and {len(names)} columns: truncated "
                               "or another format")
        for c, w in zip(names, words[1:]):
            runs[c].values.append(Value(f"op.{words[0]}", number(w, path, n, f"the {c} value of '{words[0]}'"),
                                        "cycles", role="input", hypervisor="kvm", op=X86_OPS.get(words[0]), line=n))
    chosen = [column] if column else names
    return [runs[c] for c in chosen]


def _arm(path: Path, lines: list[str], head: int) -> Parsed:
    out = Parsed(tool="kvm-unit-tests arm/micro-bench")
    for line in lines[:head]:
        m = re.search(r"Timer Frequency\s+(\S+)\s+Hz", line)
        if m:
            out.notes.append(f"micro-bench timer frequency {m.group(1)} Hz")
    ended = False
    for n, line in enumerate(lines[head + 1:], head + 2):
        words = line.split()
        if not words or set(line.strip()) == {"-"}:
            continue
        if line.strip().startswith("EXIT:"):
            ended = True
            break
        if words[-2:] == ["test", "skipped"]:
            out.notes.append(f"micro-bench: {words[0]} skipped")
            continue
        if len(words) != 3 or not _NAME.match(words[0]):
            raise bad(path, n, f"not a micro-bench row ('name total-ns avg-ns'): {line.strip()[:60]!r}")
        avg = number(words[2], path, n, f"the avg ns of '{words[0]}'")
        number(words[1], path, n, f"the total ns of '{words[0]}'")
        out.values.append(Value(f"op.{words[0]}", avg, "ns", role="input", hypervisor="kvm",
                                op=ARM_OPS.get(words[0]), line=n))
    if not ended:
        raise bad(path, len(lines), "truncated: no 'EXIT: STATUS' line after the micro-bench table")
    if not out.values:
        raise bad(path, head + 1, "the micro-bench table has no rows")
    return out
