"""The figures' shared style: words with units for columns (:data:`LABELS`, :func:`label`), stable colours
(one per hypervisor mode, per breakdown category, per exit reason; a deterministic one for any other label, no
two series of one figure alike) and the helpers every figure family uses for titles and left-out rows."""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..sim import work as W

__all__ = ["MODE_COLORS", "METHOD_COLORS", "CATEGORY_COLORS", "STATE_COLORS", "EXIT_COLORS", "LABELS", "TITLE_LINE",
           "label", "mode_color", "mode_colors", "category_color", "category_colors", "color_difference",
           "SERIES_MIN_DIFFERENCE"]

MODE_COLORS = {
    "native": "#4d4d4d", "xen-pv": "#1f77b4", "xen-hvm": "#6baed6", "xen-pvh": "#08519c", "kvm": "#d62728",
    "kvm-emulated": "#ff9896", "kvm-sriov": "#8c2d04", "qemu-tcg": "#9467bd", "vmware-bt": "#2ca02c",
    "hyperv": "#17becf", "kvm-on-kvm": "#67000d", "container-nat": "#bcbd22", "container-host": "#eebb99",
    "microvm": "#3df499",
}
#: live-migration methods
METHOD_COLORS = {"pre-copy": "#1f77b4", "post-copy": "#ff7f0e"}
#: One colour per breakdown category; the names come from the model's one category table (kit.sim.work)
CATEGORY_COLORS = {
    W.GUEST_USER: "#9ecae1", W.GUEST_KERNEL: "#3182bd", W.MEMORY_STALLS: "#a1d99b", W.PAGE_WALKS: "#31a354",
    W.HYPERVISOR: "#756bb1", W.EMULATION: "#e377c2", W.WORLD_SWITCH: "#8c564b", W.DEVICE_SERVICE: "#bdbdbd",
    W.QUEUEING: "#fdae6b", W.IDLE: "#f0f0f0", W.backend_category("dom0"): "#08519c",
    W.backend_category("qemu"): "#a50f15", W.backend_category("vhost"): "#ef3b2c",
    W.backend_category("host"): "#54278f", W.backend_category("root"): "#006d2c",
    W.backend_category("vmm"): "#0b1341",
    W.PAUSED: "#000000", W.MIGRATION: "#006666", W.CONTAINER_NET: "#00bbaa", W.CONTAINER_FS: "#668822",
}
STATE_COLORS = {"running": "#3182bd", "exiting": "#e6550d", "waiting": "#fdae6b", "idle": "#f0f0f0",
                "backend": "#756bb1"}
# Labels that are not presets (user-made modes, paper systems, sweep values) draw from this list: each colour is
# at least 28 CIE76 units from every MODE_COLORS entry and from the others, and none is grey.
# Of these, no two are near-identical either (CIE94 at least SERIES_MIN_DIFFERENCE): the second yellow #f6cf71, the
# violets #782ab6 and #da16ff, the pink #f781bf, the green #86ce00, the yellow #f2b701 beside the orange and the
# brown #a6761d beside the olive (notebook 04's two memory modes looked alike) were, and are gone.
_SERIES = ["#511cfb", "#ff7f0e", "#fe00ce", "#b00068", "#11a579", "#b3de69", "#3283fe", "#dcb0f2", "#9c9c5e"]
# Exit reasons: warm colours at least 24 CIE76 units from every CATEGORY_COLORS entry and from each other.
_EXITS = ["#bcbd22", "#fc0080", "#85660d", "#ff9da6", "#ff7f00", "#882255", "#edad08", "#ddcc77", "#dc587d",
          "#a65628", "#cf1c90", "#ed645a"]

#: One colour per VM exit reason the model emits, the same in every figure (as modes have theirs): each at least 21
#: CIE76 units from every other and from every CATEGORY_COLORS entry (a greedy max-min pick over an HSV grid with
#: L* 28-85, so none is near white or near another); tests/test_figures.py checks the table covers every reason
#: the cost model emits. A reason not listed takes a colour from _EXITS.
EXIT_COLORS = {
    "external interrupt": "#18f218", "HLT": "#1818f2", "MMIO/PIO kick": "#f218f2",
    "MMIO/PIO kick (ioeventfd)": "#d9d916", "APIC access (EOI)": "#f2186f", "APIC ICR write": "#8c0e51",
    "interrupt window": "#18f27e", "I/O instruction (in)": "#3d55f2", "I/O instruction (out)": "#8c620e",
    "EPT violation (MMIO)": "#6fbf13", "EPT misconfiguration (MMIO)": "#f2858d", "#PF (shadow paging)": "#f218aa",
    "CR3 load (shadow paging)": "#bf57d9", "INVLPG (shadow paging)": "#f27e18",
    "write to a write-protected guest page table": "#d9a516", "CPUID": "#d9cc77",
    "MSR write (TSC deadline)": "#3d79f2", "CR8 write": "#7a13bf", "VMCALL": "#73733f", "HVC": "#733f5e",
    "HVC/VMCALL (event channel send)": "#bf6030", "event channel send": "#18d5f2",
    "VMBus signal hypercall": "#a6298d", "VMX preemption timer": "#732e0b", "timer (preemption)": "#bf9169",
    "external interrupt (host timer)": "#aa85f2", "external interrupt on the target": "#4d8c6b", "WFI": "#a6a611",
    "stage-2 data abort (MMIO)": "#0b5073", "GICD_SGIR write (GICv2 MMIO)": "#8c2331",
    "ICC_SGI1R write (GICv3 sysreg)": "#16d998", "L1 VMREAD/VMWRITE (nested)": "#b6d957",
    "L1 VMRESUME (nested)": "#bf698c", "pause-loop exit (PAUSE or WFE)": "#6a2e73", "#PF (dirty logging)": "#85a2f2",
    "PML log full": "#f26191", "TLB flush request (dirty log sync)": "#4292a6",
    "EPT violation (post-copy fault)": "#aa18f2", "virtio-mmio interrupt status read": "#dfa69f",
    "virtio-mmio interrupt acknowledge write": "#dfcc9f",
}
#: Series of one figure in their order (workloads, which have no colours of their own): far apart in hue
_DISTINCT = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f"]
#: Words (with units) for the columns figures are drawn from; ``set.`` and ``mode.`` prefixes are looked up
#: without the prefix. Callers add their own with ``labels={column: words}``.
LABELS = {
    "relative_performance": "relative performance (1.0 = native, higher is better)",
    "hypervisor": "hypervisor mode", "scenario": "mode", "workload": "workload", "hardware": "hardware profile",
    "system": "system", "vcpus": "vCPUs per VM", "vms": "VMs", "pcpus": "physical CPUs", "seed": "seed",
    "duration": "simulated duration (s)", "replication": "replication",
    "cpu": "CPU virtualization", "memory": "memory virtualization", "io": "I/O path",
    "interrupts": "interrupt delivery", "arch": "hypervisor architecture", "scheduler": "vCPU scheduler",
    "guest_page": "guest page size", "host_page": "host page size",
    "hw.exit_roundtrip_cycles": "VM exit round trip (cycles)", "hw.world_switch_cycles": "world switch (cycles)",
    "hw.walk_ref_cycles": "page-walk memory reference (cycles)", "hw.mem_latency_ns": "memory latency (ns)",
    "hw.freq_ghz": "clock frequency (GHz)", "hw.syscall_cycles": "system call round trip (cycles)",
    "hw.irq_cycles": "interrupt delivery (cycles)", "hw.nic_gbps": "NIC line rate (Gbit/s)",
    "workload.clients": "concurrent clients", "workload.tlb_mpki": "TLB misses per 1,000 instructions",
    "workload.cr3_loads": "address-space switches per unit of work", "workload.mtu": "MTU (bytes)",
    "workload.pte_writes": "page-table writes per unit of work", "workload.pagefaults": "page faults per unit of work",
    "workload.syscalls": "system calls per unit of work",
    "workload.think_us": "client think time (µs)", "workload.queue_depth": "I/O queue depth",
    "latency_us": "request latency (µs)", "value": "measured value", "native_value": "native value",
    "units": "units of work completed", "pcpu_util": "physical CPU utilization (fraction)",
    "backend_util": "backend CPU utilization (fraction)", "published": "published value", "model": "model value",
    "downtime_ms": "downtime (ms)", "total_s": "total migration time (s)", "page_writes_per_s": "page writes per second",
    "migration_mbps": "migration traffic (Mbit/s)", "bytes_sent": "bytes sent",
    "relative_throughput": "guest throughput (1 = as without migration)",
    "relative_throughput_during": "guest throughput during the migration / without it",
    "window_s": "window (s)", "mib": "distinct memory written (MiB)", "rounds": "pre-copy rounds",
}
_UNITS = {"cycles": "cycles", "us": "µs", "ns": "ns", "ms": "ms", "s": "s", "ghz": "GHz", "gbps": "Gbit/s",
          "mbps": "MB/s", "gib": "GiB", "mib": "MiB", "kb": "KiB", "bytes": "bytes", "mpki": "per 1,000 instructions",
          "util": "fraction", "pct": "%"}
_PREFIX_WORDS = {"hw.": "hardware: ", "workload.": "workload: ", "mode.": ""}


def label(column: str, labels: dict | None = None) -> str:
    """Words with units for a column name: ``labels`` first, then :data:`LABELS`, then a readable fallback.

    >>> label("set.hw.exit_roundtrip_cycles")
    'VM exit round trip (cycles)'
    >>> label("set.hw.pwc_skip_levels")
    'hardware: pwc skip levels'
    >>> label("set.workload.think_us")
    'client think time (µs)'
    """
    name = str(column)
    if labels and name in labels:
        return labels[name]
    for key in (name, name.removeprefix("set."), name.removeprefix("set.").removeprefix("mode.")):
        if key in LABELS:
            return LABELS[key]
    name, prefix = name.removeprefix("set."), ""
    for p, words in _PREFIX_WORDS.items():
        if name.startswith(p):
            name, prefix = name[len(p):], words
            break
    parts = [p for p in re.split(r"[_.]", name) if p]
    unit = _UNITS.get(parts[-1].lower()) if len(parts) > 1 else None
    words = " ".join(parts[:-1] if unit else parts) or name
    return f"{prefix}{words}" + (f" ({unit})" if unit else "")


#: the longest title line that fits a figure of the default width (760 px) in plotly's title font
TITLE_LINE = 84


def _wrap(text: str, width: int = TITLE_LINE) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces, with ``<br>``): a title or a note
    longer than the figure is cut off at its right edge when drawn."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _short(text: str) -> str:
    """A label without its trailing parenthesis, for titles."""
    return re.sub(r"\s*\([^()]*\)$", "", text)


def _sentence(text: str) -> str:
    """``text`` with its first letter capitalized, for a title, unless its first word is a name a reader must see
    as spelt (an id such as ``my-jit``, ``kvm`` or ``xen-pv``, a unit, an acronym): only a plain lowercase word
    is capitalized, and nothing else in the text changes.

    >>> _sentence("downtime against the guest's page writes")
    "Downtime against the guest's page writes"
    >>> _sentence("my-jit throughput against clients")
    'my-jit throughput against clients'
    """
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower() and first not in _VERBATIM:
        return text[:1].upper() + text[1:]
    return text


#: lowercase words that are names and keep their spelling at the start of a title (mode and scheduler names)
_VERBATIM = frozenset({"native", "kvm", "qemu", "xen", "vmware", "hyperv", "microvm", "cfs", "credit", "credit2"})


def _lab(color: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB ``#rrggbb`` colour."""
    rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def color_difference(a: str, b: str) -> float:
    """CIE94 colour difference (graphic arts) of two ``#rrggbb`` colours: below about 20 two series of a figure
    read as one colour (CIE76 calls two yellows 30 apart that CIE94 puts 10 apart)."""
    l1, a1, b1 = _lab(a)
    l2, a2, b2 = _lab(b)
    c1, c2 = float(np.hypot(a1, b1)), float(np.hypot(a2, b2))
    c = float(np.sqrt(c1 * c2))  # the symmetric form: the geometric mean chroma weighs both colours alike
    dh2 = max(0.0, (a1 - a2) ** 2 + (b1 - b2) ** 2 - (c1 - c2) ** 2)
    return float(np.sqrt((l1 - l2) ** 2 + ((c1 - c2) / (1 + 0.045 * c)) ** 2 + dh2 / (1 + 0.015 * c) ** 2))


#: the smallest CIE94 difference between two series of one figure that :func:`mode_colors` allows while it can
SERIES_MIN_DIFFERENCE = 20.0


def _pick(name: str, palette: list[str], used: Iterable[str] = ()) -> str:
    """A colour from ``palette`` chosen by a stable hash of ``name``, skipping colours in ``used`` and, while the
    palette allows, colours near one of them (:data:`SERIES_MIN_DIFFERENCE`)."""
    used = set(used)
    start = zlib.crc32(name.encode()) % len(palette)
    order = [palette[(start + i) % len(palette)] for i in range(len(palette))]
    for c in order:
        if c not in used and all(color_difference(c, u) >= SERIES_MIN_DIFFERENCE for u in used):
            return c
    for c in order:
        if c not in used:
            return c
    return palette[start]  # more series than colours: distinctness is no longer possible


def mode_color(name: str) -> str:
    """The colour of one mode (or any other series label): its preset colour, else a stable non-grey one."""
    return MODE_COLORS.get(name) or _pick(str(name), _SERIES)


def mode_colors(names: Iterable) -> dict[str, str]:
    """Colours for the series of one figure: presets keep theirs, other labels get distinct stable ones.

    A label's colour depends on the label alone unless it would repeat another in the same figure; then the
    labels are taken in sorted order and each takes the next free colour, so the result does not depend on the
    order of the traces.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    out = {n: MODE_COLORS[n] for n in names if n in MODE_COLORS}
    used = set(out.values())
    for n in sorted(n for n in names if n not in out):
        out[n] = _pick(n, _SERIES, used)
        used.add(out[n])
    return {n: out[n] for n in names}


def _fixed(cat: str) -> str | None:
    """The colour of a breakdown category or an exit reason (``exit: ...``) that has one of its own."""
    if cat in CATEGORY_COLORS:
        return CATEGORY_COLORS[cat]
    return EXIT_COLORS.get(cat.removeprefix("exit: ")) if cat.startswith("exit: ") else None


def category_color(cat: str) -> str:
    """The colour of one breakdown category; exit reasons (``exit: ...``) take theirs from :data:`EXIT_COLORS`."""
    if _fixed(cat):
        return str(_fixed(cat))
    return _pick(cat, _EXITS if cat.startswith("exit: ") else _SERIES)


def category_colors(cats: Iterable[str]) -> dict[str, str]:
    """Colours for the categories of one figure, distinct within it (see :func:`mode_colors`)."""
    cats = list(dict.fromkeys(cats))
    out = {c: str(_fixed(c)) for c in cats if _fixed(c)}
    used = set(out.values())
    for c in sorted(c for c in cats if c not in out):
        out[c] = _pick(c, _EXITS if c.startswith("exit: ") else _SERIES, used)
        used.add(out[c])
    return {c: out[c] for c in cats}


def _context(df: pd.DataFrame, skip: Iterable[str] = ()) -> str:
    """`` (netperf-rr on skylake-sp-2017)`` when the table holds one workload and one hardware profile."""
    parts = []
    for col in ("workload", "hardware"):
        if col in df and col not in skip and df[col].nunique() == 1:
            parts.append(str(df[col].iloc[0]))
    return f" ({' on '.join(parts)})" if parts else ""


def _listing(names: list[str], limit: int = 4) -> str:
    return ", ".join(names) if len(names) <= limit else ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _valid_runs(summary: pd.DataFrame, need: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows without an error and with a positive ``need`` column, and the labels of those left out."""
    err = summary["error"].fillna("").astype(str) if "error" in summary else pd.Series("", index=summary.index)
    val = pd.to_numeric(summary[need], errors="coerce")
    ok = (err == "") & np.isfinite(val) & (val > 0)
    return summary[ok], [str(s) for s in summary.loc[~ok, "scenario"]] if "scenario" in summary else []


def _bar_names(summary: pd.DataFrame) -> dict:
    """One x-axis name per run: its scenario, with the run number added where two runs share one."""
    names = summary["scenario"].astype(str) if "scenario" in summary else summary["hypervisor"].astype(str)
    dup = names.duplicated(keep=False)
    return {r: (f"{n} (run {r})" if d else n) for r, n, d in zip(summary["run"], names, dup)}


def _left_out(fig: go.Figure, dropped: list[str], why: str) -> None:
    if dropped:
        fig.add_annotation(text=f"not shown: {', '.join(dropped)} ({why})", xref="paper", yref="paper", x=0, y=-0.2,
                           showarrow=False, xanchor="left", font={"size": 11, "color": "#b30000"})


def _exact(d: pd.DataFrame) -> pd.Series:
    """Rows whose noise interval is none because they are closed forms (``ci_note``, :mod:`kit.uncertainty`)."""
    from ..uncertainty import EXACT_NOTE
    return d["ci_note"].astype(str).eq(EXACT_NOTE) if "ci_note" in d else pd.Series(False, index=d.index)


def _category_order(cat: str) -> tuple:
    return (cat.startswith("exit"), cat.startswith("backend"), cat)
