"""Figure builders: pure functions from result DataFrames to plotly figures.

They display nothing and write no file. Every figure has a title saying what
is compared (``title=`` overrides it) and axes titled in words with units:
:func:`label` turns a column name into words, from :data:`LABELS` or a
readable fallback, and ``labels={column: words}`` lets a caller name its own
columns. Colours are stable across figures: one per hypervisor mode
(:data:`MODE_COLORS`), a deterministic one for any other label
(:func:`mode_colors`), one per breakdown category (:data:`CATEGORY_COLORS`)
and a warm family for exit reasons (:func:`category_colors`); within one
figure no two series share a colour.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..sim import work as W
from ..stats import t_interval

__all__ = ["blind_vs_published", "MODE_COLORS", "CATEGORY_COLORS", "STATE_COLORS", "LABELS", "label", "mode_color", "mode_colors",
           "category_color", "category_colors", "EXIT_COLORS", "color_difference", "relative_performance", "overhead_breakdown", "exits_per_second",
           "latency_cdf", "path_waterfall", "sweep_line", "sweep_heatmap", "vcpu_timeline", "published_vs_model",
           "migration_timeline", "migration_rounds", "downtime_vs_dirty_rate", "writable_working_set",
           "METHOD_COLORS", "REFERENCE_WORDS",
           "per_vm_relative", "cpu_occupancy", "isolation_heatmap", "reliability_diagram"]

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


def relative_performance(summary: pd.DataFrame, x: str = "workload", title: str | None = None,
                         labels: dict | None = None) -> go.Figure:
    """Bars of relative performance (1.0 = native) by mode, grouped by ``x``, with the native line at 1 and, as
    whiskers, the 90% prediction intervals where every run has one (``relative_pi_low``/``relative_pi_high``:
    model uncertainty), else, where every run was replicated, the 95% noise intervals
    (``relative_ci_low``/``relative_ci_high``). A closed form's noise interval has no width and is not drawn:
    the figure says it is exact given the parameters."""
    err = summary["error"].fillna("").astype(str) if "error" in summary else pd.Series("", index=summary.index)
    rp = pd.to_numeric(summary["relative_performance"], errors="coerce")
    keep = (err == "") & np.isfinite(rp)
    ok = summary[keep].assign(**{x: lambda d: d[x].astype(str), "hypervisor": lambda d: d["hypervisor"].astype(str)})
    modes = list(dict.fromkeys(ok["hypervisor"]))
    words = {c: label(c, labels) for c in (x, "hypervisor", "relative_performance")}
    ci = {}
    whiskers = ""
    rel = pd.to_numeric(ok["relative_performance"])
    pi_lo = pd.to_numeric(ok.get("relative_pi_low", pd.Series(np.nan, index=ok.index)), errors="coerce")
    pi_hi = pd.to_numeric(ok.get("relative_pi_high", pd.Series(np.nan, index=ok.index)), errors="coerce")
    have_pi = np.isfinite(pi_lo) & np.isfinite(pi_hi)
    if len(ok) and have_pi[ok["hypervisor"] != "native"].all():  # model uncertainty (native is 1 by definition)
        ok = ok.assign(pi_plus=(pi_hi - rel).where(have_pi, 0.0), pi_minus=(rel - pi_lo).where(have_pi, 0.0))
        ci = {"error_y": "pi_plus", "error_y_minus": "pi_minus"}
        whiskers = "whiskers: 90% prediction interval (model uncertainty)"
    elif "relative_ci_high" in ok:  # replicated runs: the 95% interval from Student's t as error bars
        hi = pd.to_numeric(ok["relative_ci_high"], errors="coerce") - rel
        if len(hi) and np.isfinite(hi).all() and (hi > 0).any():
            ok = ok.assign(ci_half=hi.where(~_exact(ok), np.nan))
            ci = {"error_y": "ci_half"}
            whiskers = "whiskers: 95% interval over replications (simulation noise)"
    if _exact(ok).any():
        whiskers += ("; " if whiskers else "") + "closed forms: exact given the parameters, no sampling noise"
    fig = px.bar(ok, x=x, y="relative_performance", color="hypervisor", color_discrete_map=mode_colors(modes),
                 category_orders={"hypervisor": modes, x: list(dict.fromkeys(ok[x]))}, labels=words,
                 barmode="relative" if x == "hypervisor" else "group", **ci)
    fig.update_traces(hovertemplate="%{x}<br>%{fullData.name}: %{y:.3f} of native<extra></extra>")
    fig.add_hline(y=1.0, line_dash="dash", line_color=MODE_COLORS["native"], annotation_text="native = 1",
                  annotation_position="top left")
    others = [m for m in modes if m != "native"]
    by = "" if x in ("hypervisor", "scenario") else f", by {_short(words[x])}"
    named = others or modes  # every mode by name: a reader must not guess the one "and 1 more" hides
    listing = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
    default = f"Relative performance against native: {listing}{by}{_context(ok, skip=[x])}"
    fig.update_layout(title=title or _wrap(default), legend_title=words["hypervisor"], template="plotly_white",
                      showlegend=x != "hypervisor")
    if whiskers:
        fig.add_annotation(text=whiskers, xref="paper", yref="paper", x=1, y=1.02, showarrow=False,
                           xanchor="right", yanchor="bottom", font={"size": 11, "color": "#555"})
    _left_out(fig, [str(s) for s in summary.loc[~keep, "hypervisor"]], "failed or no result")
    return fig


def _category_order(cat: str) -> tuple:
    return (cat.startswith("exit"), cat.startswith("backend"), cat)


def overhead_breakdown(breakdown: pd.DataFrame, summary: pd.DataFrame, include_idle: bool = False,
                       title: str | None = None, labels: dict | None = None) -> go.Figure:
    """Stacked bars, one per run, of where the CPU time per unit of work goes, by category and exit reason.

    vCPU time and backend CPU time (dom0, vhost, QEMU) are both shown per unit of
    work, so an I/O path's cost appears wherever it is paid. Each bar's total is
    written above it. A category a run does not have is simply absent from that
    bar (never a gap that would restart the stack).
    """
    ok, dropped = _valid_runs(summary, "units")
    names = _bar_names(ok)
    b = breakdown[breakdown["run"].isin(ok["run"])]
    if not include_idle:
        b = b[b["category"] != "idle"]
    b = b[(b["entity"] == "vcpu") | (b["category"] != "idle")]  # a backend thread's idle is not the guest's cost
    agg = b.groupby(["run", "category"], sort=False)["seconds"].sum().reset_index()
    agg["us_per_unit"] = agg["seconds"] / agg["run"].map(ok.set_index("run")["units"]) * 1e6
    agg["bar"] = agg["run"].map(names)
    order = [names[r] for r in ok["run"]]
    cats = sorted(agg["category"].unique(), key=_category_order)
    y_words = label("us_per_unit", {"us_per_unit": "CPU time per unit of work (µs)", **(labels or {})})
    fig = px.bar(agg, x="bar", y="us_per_unit", color="category", color_discrete_map=category_colors(cats),
                 category_orders={"category": cats, "bar": order},
                 labels={"bar": label("scenario", labels), "us_per_unit": y_words,
                         "category": label("category", {"category": "where the time goes", **(labels or {})})})
    fig.update_traces(hovertemplate="%{x}<br>%{fullData.name}: %{y:.3g} µs per unit<extra></extra>")
    totals = agg.groupby("bar")["us_per_unit"].sum()
    for name in order:
        if name in totals:
            fig.add_annotation(x=name, y=float(totals[name]), text=f"{totals[name]:.3g} µs", showarrow=False,
                               yshift=10, font={"size": 11})
    default = f"Where the CPU time goes per unit of work: {_listing(order)}{_context(ok)}"
    fig.update_layout(barmode="stack", title=title or _wrap(default), template="plotly_white")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order, range=[-0.5, len(order) - 0.5])
    _left_out(fig, dropped, "failed or no completed work")
    return fig


def exits_per_second(exits: pd.DataFrame, summary: pd.DataFrame, title: str | None = None,
                     labels: dict | None = None) -> go.Figure:
    """Stacked bars, one per run, of VM exits per simulated second by reason; a run without exits says so."""
    ok, dropped = _valid_runs(summary, "duration")
    names = _bar_names(ok)
    e = exits[exits["run"].isin(ok["run"])].copy()
    e["per_s"] = e["count"] / e["run"].map(ok.set_index("run")["duration"])
    e["bar"] = e["run"].map(names)
    e = e[e["per_s"] > 0]
    order = [names[r] for r in ok["run"]]
    reasons = sorted(e["reason"].astype(str).unique())
    exit_colors = category_colors([f"exit: {r}" for r in reasons])
    y_words = label("per_s", {"per_s": "VM exits per simulated second (all vCPUs)", **(labels or {})})
    fig = px.bar(e, x="bar", y="per_s", color="reason",
                 color_discrete_map={r: exit_colors[f"exit: {r}"] for r in reasons},
                 category_orders={"reason": reasons, "bar": order},
                 labels={"bar": label("scenario", labels), "per_s": y_words,
                         "reason": label("reason", {"reason": "exit reason", **(labels or {})})})
    fig.update_traces(hovertemplate="%{x}<br>%{fullData.name}: %{y:,.0f} per s<extra></extra>")
    for name in order:
        if name not in set(e["bar"]):
            fig.add_annotation(x=name, y=0, text="no exits", showarrow=False, yshift=10, font={"size": 11})
    default = f"VM exits per second by reason: {_listing(order)}{_context(ok)}"
    fig.update_layout(barmode="stack", title=title or _wrap(default), template="plotly_white")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order, range=[-0.5, len(order) - 0.5])
    _left_out(fig, dropped, "failed")
    return fig


def latency_cdf(latency: pd.DataFrame, by: str = "scenario", title: str | None = None,
                labels: dict | None = None) -> go.Figure:
    """Empirical CDF of the finished requests' latency, one line per ``by`` value, with p50 (circle) and p99
    (diamond) marked. A request still under way at the end of the run is right-censored: it has no latency to plot
    (``kit.results.latency_stats`` counts it and bounds the max with it)."""
    if "censored" in latency:
        latency = latency[~latency["censored"].fillna(False).astype(bool)]
    lat = latency[np.isfinite(pd.to_numeric(latency["latency_us"], errors="coerce"))]
    lat = lat.assign(**{by: lat[by].astype(str)})
    names = list(dict.fromkeys(lat[by]))
    colors = mode_colors(names)
    words = {"latency_us": label("latency_us", labels), by: label(by, labels)}
    fig = px.ecdf(lat, x="latency_us", color=by, color_discrete_map=colors, category_orders={by: names},
                  labels=words, render_mode="svg")
    fig.for_each_trace(lambda t: t.update(line_color=colors[t.name], legendgroup=t.name,
                                          hovertemplate="%{fullData.name}: %{y:.1%} of requests within %{x:.1f} µs"
                                                        "<extra></extra>"))
    for name, d in lat.groupby(by, sort=False):
        v = d["latency_us"].to_numpy(dtype=float)
        for q, sym in ((0.5, "circle"), (0.99, "diamond")):
            fig.add_scatter(x=[float(np.quantile(v, q))], y=[q], mode="markers", marker_symbol=sym,
                            marker_color=colors[name], marker_size=9, name=f"{name} p{int(q * 100)}",
                            legendgroup=name, showlegend=False,
                            hovertemplate=f"{name} p{int(q * 100)}: " + "%{x:.1f} µs<extra></extra>")
    default = f"Request latency distribution: {_listing(names)}"
    fig.add_annotation(text="circle: median (p50), diamond: p99", xref="paper", yref="paper", x=1, y=0,
                       xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11})
    fig.update_layout(title=title or _wrap(default), yaxis_title="fraction of requests completed within",
                      legend_title=words[by], template="plotly_white")
    return fig


def path_waterfall(path: list[dict], title: str | None = None) -> go.Figure:
    """The steps of one operation's path as a waterfall of CPU cycles, ending in the total."""
    cycles = [float(s["cycles"]) for s in path]
    total = sum(cycles)
    fig = go.Figure(go.Waterfall(
        x=[s["step"] for s in path] + ["total"], y=cycles + [0.0],
        measure=["relative"] * len(path) + ["total"], connector={"line": {"color": "#bdbdbd"}},
        text=[f"{c:,.0f}" for c in cycles] + [f"{total:,.0f}"], textposition="outside",
        hovertemplate="%{x}: %{y:,.0f} cycles<extra></extra>"))
    fig.update_layout(title=title or f"The path of one operation, step by step ({total:,.0f} cycles in all)",
                      xaxis_title="step of the path", yaxis_title="CPU cycles (cumulative)",
                      template="plotly_white", showlegend=False)
    return fig


def sweep_line(df: pd.DataFrame, x: str, y: str = "relative_performance", color: str | None = None,
               level: float = 0.95, title: str | None = None, labels: dict | None = None) -> go.Figure:
    """Mean of ``y`` against ``x`` with a 95% band from Student's t over replications (simulation noise; none where
    a point has one replication, and none where it is a closed form, exact given the parameters: a band of zero
    width is not a measurement), and a dotted band of the 90% prediction interval (model uncertainty) where the
    rows have one (``pi_*`` of ``value``, ``relative_pi_*`` of ``relative_performance``), one line per ``color``
    value."""
    from ..stats import mean_ci
    by = [x] + ([color] if color else [])
    g = mean_ci(df, by, value=y, level=level).sort_values(by)
    pi = {"value": ("pi_low", "pi_high"), "relative_performance": ("relative_pi_low", "relative_pi_high")}.get(y)
    ok_rows = df[df["error"] == ""] if "error" in df else df
    if pi is not None and pi[0] in ok_rows:
        first = ok_rows.groupby(by)[[pi[0], pi[1]]].first().reset_index()
        g = g.merge(first, on=by, how="left")
    if "ci_note" in ok_rows:  # a closed form's replications are identical: no noise band, not a zero-wide one
        exact = _exact(ok_rows).groupby([ok_rows[c] for c in by]).all().rename("exact").reset_index()
        g = g.merge(exact, on=by, how="left")
        g.loc[g["exact"].fillna(False).astype(bool), ["ci_low", "ci_high"]] = np.nan
    g = g[np.isfinite(g["mean"])]
    words = {c: label(c, labels) for c in [x, y] + ([color] if color else [])}
    groups = [(str(n), d) for n, d in g.groupby(color, sort=False)] if color else [(_short(words[y]), g)]
    colors = mode_colors([n for n, _ in groups])
    fig = go.Figure()
    for name, d in groups:
        c = colors[name]
        if pi is not None and pi[0] in d:
            pb = d[np.isfinite(pd.to_numeric(d[pi[0]], errors="coerce"))]
            xs, lo, hi = list(pb[x]), list(pb[pi[0]].astype(float)), list(pb[pi[1]].astype(float))
            if xs:
                fig.add_scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", fillcolor=c, opacity=0.08,
                                line={"width": 1, "dash": "dot", "color": c}, showlegend=False, hoverinfo="skip",
                                name=f"{name}: 90% prediction interval", legendgroup=name)
        band = d[np.isfinite(d["ci_low"].astype(float))]  # one replication has no interval: no band there
        xs, lo, hi = list(band[x]), list(band["ci_low"]), list(band["ci_high"])
        fig.add_scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", fillcolor=c, opacity=0.2, line_width=0,
                        showlegend=False, hoverinfo="skip", name=f"{name} band", legendgroup=name)
        fig.add_scatter(x=d[x], y=d["mean"], mode="lines+markers", name=name, line_color=c, legendgroup=name,
                        hovertemplate=f"{name}<br>{_short(words[x])} %{{x}}: %{{y:.4g}}<extra></extra>")
    vs = f"{_short(words[y])} against {_short(words[x])}"
    default = vs[0].upper() + vs[1:] + (f", by {_short(words[color])}" if color else "") + _context(df)
    fig.update_layout(title=title or _wrap(default), xaxis_title=words[x], yaxis_title=words[y],
                      legend_title=words[color] if color else "", template="plotly_white")
    notes = ["solid band: 95% interval over replications (simulation noise)"]
    if pi is not None and pi[0] in g and np.isfinite(pd.to_numeric(g[pi[0]], errors="coerce")).any():
        notes.append("dotted band: 90% prediction interval (model uncertainty)")
    if "exact" in g and g["exact"].fillna(False).astype(bool).any():
        notes.append("closed forms: exact given the parameters, no noise band")
    fig.add_annotation(text="; ".join(notes), xref="paper", yref="paper", x=0, y=1.02, showarrow=False,
                       xanchor="left", yanchor="bottom", font={"size": 10, "color": "#555"})
    return fig


def reliability_diagram(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Nominal against observed coverage of the prediction intervals (:func:`kit.papers.coverage.reliability`):
    one line per role and kind of row (test rows, fit rows; micro, macro), the diagonal where an interval is right
    as often as it says, and each point's median interval width in its hover text. Below the diagonal:
    overconfident; on it with wide intervals: vacuous."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#888"},
                    name="calibrated (observed = nominal)", hoverinfo="skip")
    palette = {"test": "#c0392b", "fit": "#2471a3"}
    for (role, kind), d in table.groupby(["role", "kind"], sort=True):
        d = d.sort_values("nominal")
        fig.add_scatter(x=d["nominal"], y=d["observed"], mode="lines+markers+text",
                        name=f"{role} rows ({kind}, {int(d['rows'].iloc[0])})",
                        line={"color": palette.get(str(role), "#555"), "dash": "solid" if kind == "micro" else "dot"},
                        text=[f"{w:.0%}" for w in d["median_width"]], textposition="bottom right",
                        customdata=d[["median_width", "verdict"]],
                        hovertemplate="nominal %{x:.0%}: observed %{y:.0%}<br>median width %{customdata[0]:.0%} "
                                      "of the value<br>%{customdata[1]}<extra></extra>")
    fig.update_layout(title=title or ("Reliability of the prediction intervals<br><sup>nominal against observed "
                                      "coverage of the published values; labels: median width of the intervals, "
                                      "share of the model's value</sup>"),
                      xaxis={"title": "nominal coverage", "range": [0.45, 1.0], "tickformat": ".0%"},
                      yaxis={"title": "share of published values inside", "range": [0.0, 1.05], "tickformat": ".0%"},
                      template="plotly_white", legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"})
    return fig


def sweep_heatmap(df: pd.DataFrame, x: str, y: str, z: str = "relative_performance", title: str | None = None,
                  labels: dict | None = None, center: float | None = None) -> go.Figure:
    """Mean of ``z`` over a two-parameter grid.

    Signed values (any below zero) or an explicit ``center`` get a diverging
    scale centred there (zero by default); otherwise a sequential one.
    """
    ok = df[df["error"] == ""] if "error" in df else df
    t = ok.groupby([y, x])[z].mean().unstack(x)
    vals = t.to_numpy(dtype=float)
    words = {c: label(c, labels) for c in (x, y, z)}
    if center is None and np.nanmin(vals) < 0:
        center = 0.0
    scale = {"colorscale": "RdBu", "zmid": center} if center is not None else {"colorscale": "Viridis"}
    fig = go.Figure(go.Heatmap(z=[[None if np.isnan(v) else float(v) for v in row] for row in vals],
                               x=[str(c) for c in t.columns], y=[str(i) for i in t.index], **scale,
                               colorbar={"title": {"text": _wrap(words[z], 40), "side": "right"}},
                               texttemplate="%{z:.3g}",
                               hovertemplate=f"{_short(words[x])} %{{x}}, {_short(words[y])} %{{y}}: "
                                             "%{z:.4g}<extra></extra>"))
    default = f"{_short(words[z])} over {_short(words[x])} and {_short(words[y])}{_context(df)}"
    fig.update_layout(title=title or _wrap(default[0].upper() + default[1:]), xaxis_title=words[x], yaxis_title=words[y],
                      template="plotly_white")
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def vcpu_timeline(timeline: pd.DataFrame, t0: float = 0.0, t1: float | None = None,
                  title: str | None = None) -> go.Figure:
    """What each vCPU and backend thread was doing in ``[t0, t1]`` seconds (running, exiting, waiting, idle)."""
    tl = timeline.copy()
    if t1 is None:
        t1 = float(tl["end_s"].max()) if len(tl) else t0
    tl = tl[(tl["end_s"] > t0) & (tl["start_s"] < t1)]
    rows = []
    for r in tl.itertuples():
        a, b = max(r.start_s, t0), min(r.end_s, t1)
        if r.state == "running" and r.guest_fraction < 1.0:
            mid = r.start_s + (r.end_s - r.start_s) * r.guest_fraction
            for state, lo, hi in (("running", r.start_s, mid), ("exiting", mid, r.end_s)):
                lo, hi = max(lo, t0), min(hi, t1)
                if hi > lo:
                    rows.append((r.scope, state, lo, hi))
        elif b > a:
            rows.append((r.scope, r.state, a, b))
    fig = go.Figure()
    for state in STATE_COLORS:
        seg = [s for s in rows if s[1] == state]
        if seg:
            fig.add_bar(name=state, orientation="h", y=[s[0] for s in seg], base=[s[2] * 1e6 for s in seg],
                        x=[(s[3] - s[2]) * 1e6 for s in seg], marker_color=STATE_COLORS[state],
                        hovertemplate=state + ": from %{base:.1f} µs for %{x:.2f} µs<extra></extra>")
    default = f"What each vCPU and backend thread does, {t0 * 1e6:.0f} to {t1 * 1e6:.0f} µs{_context(tl)}"
    fig.update_layout(barmode="overlay", title=title or default, xaxis_title="simulated time (µs)",
                      yaxis_title="vCPU or backend thread", legend_title="state", template="plotly_white",
                      yaxis={"categoryorder": "category descending"})
    return fig


def published_vs_model(report: pd.DataFrame, x: str = "published", y: str = "model", color: str = "system",
                       title: str | None = None, labels: dict | None = None) -> go.Figure:
    """Published values against the model's on log-log axes, with the 1:1 line and factor-of-2 bounds.

    Colour is the system; when rows carry different units (cycles and µs), the
    marker symbol is the unit and the axis titles say so.
    """
    rep = report[np.isfinite(report[x].astype(float)) & np.isfinite(report[y].astype(float))
                 & (report[x].astype(float) > 0) & (report[y].astype(float) > 0)]
    unit_of = rep["unit"].astype(str) if "unit" in rep else pd.Series("", index=rep.index)
    units = [u for u in dict.fromkeys(unit_of) if u]
    unit_words = {"us": "µs"}
    shown = [unit_words.get(u, u) for u in units]
    in_units = f" ({shown[0]})" if len(shown) == 1 else f" ({' or '.join(shown)}, by marker)" if shown else ""
    words = {x: _short(label(x, labels)) + in_units, y: _short(label(y, labels)) + in_units,
             color: label(color, labels)}
    systems = list(dict.fromkeys(rep[color].astype(str)))
    colors = mode_colors(systems)
    symbols = dict(zip(units, ["circle", "diamond", "square", "triangle-up", "x"]))
    fig = go.Figure()
    for (name, unit), d in rep.groupby([rep[color].astype(str), unit_of], sort=False):
        u = unit_words.get(unit, unit)
        fig.add_scatter(x=d[x].astype(float), y=d[y].astype(float), mode="markers",
                        name=name + (f" ({u})" if len(units) > 1 else ""), legendgroup=name,
                        marker={"color": colors[name], "symbol": symbols.get(unit, "circle"), "size": 9},
                        text=d["metric"] if "metric" in d else None,
                        hovertemplate="%{text}<br>published %{x:.3g} " + u + "<br>model %{y:.3g} " + u
                        + "<extra></extra>")
    lo = float(min(rep[x].min(), rep[y].min())) * 0.8
    hi = float(max(rep[x].max(), rep[y].max())) * 1.25
    for k, dash, name in ((1, "solid", "model = published"), (2, "dot", "model = 2 x published"),
                          (0.5, "dot", "model = published / 2")):
        fig.add_scatter(x=[lo, hi], y=[lo * k, hi * k], mode="lines", line={"color": "#bdbdbd", "dash": dash},
                        showlegend=False, hoverinfo="skip", name=name)
    default = f"Model against published values: {len(rep)} measurements of {_listing(systems)}"
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title=words[x], yaxis_title=words[y],
                      title=title or default, template="plotly_white", legend_title=words[color])
    return fig


def _steps(t_end: pd.Series, width: pd.Series, y: pd.Series) -> tuple[list, list]:
    """Each bin ``(t_end - width, t_end]`` as a horizontal segment at ``y`` (segments apart by gaps)."""
    xs: list = []
    ys: list = []
    for t, w, v in zip(t_end, width, y):
        xs += [t - w, t, None]
        ys += [v, v, None]
    return xs, ys


def _gapped(x: pd.Series, y: pd.Series, start: pd.Series) -> tuple[list, list]:
    """Points ``(x, y)`` joined by a line except across gaps (a bin that does not start where the last ended)."""
    xs: list = []
    ys: list = []
    last = None
    for xi, yi, s0 in zip(x, y, start):
        if last is not None and s0 > last + 1e-9:
            xs.append(None)
            ys.append(None)
        xs.append(xi)
        ys.append(yi)
        last = xi + (xi - s0)
    return xs, ys


def _runs(xs: list, ys: list) -> list[tuple[list, list]]:
    """The stretches of a gapped series (split at its None entries, and at non-finite values)."""
    out: list[tuple[list, list]] = []
    cx: list = []
    cy: list = []
    for x, y in zip(xs + [None], ys + [None]):
        if x is None or y is None or not np.isfinite(y):
            if cx:
                out.append((cx, cy))
            cx, cy = [], []
        else:
            cx.append(x)
            cy.append(y)
    return out


def migration_timeline(timeline: pd.DataFrame, title: str = "", rounds: pd.DataFrame | None = None) -> go.Figure:
    """A live migration over time: the guest's throughput relative to the same run without the migration, each
    simulated bin with its 95% interval and each modelled round as its mean (dashed); the migration's use of the
    link (right axis); every round and the stop-and-copy as a band (rounds alternately shaded, the stop-and-copy
    dark), named where the band is wide enough to hold its name. The bands come from ``rounds`` (the migration's
    rounds table) when given, else from the bins' phases."""
    fig = go.Figure()
    tl = timeline.sort_values("t_s")
    starts = tl["t_s"] - tl["bin_s"]
    span = float(tl["t_s"].max() - starts.min()) if len(tl) else 1.0
    if rounds is not None and len(rounds):
        bands = [(f"r{r}" if k == "pre-copy" else str(k), float(a), float(b), k in ("stop-and-copy", "state"))
                 for r, k, a, b in zip(rounds["round"], rounds["kind"], rounds["start_s"], rounds["end_s"])]
    else:
        bands = []
        for _, d in tl.groupby((tl["phase"] != tl["phase"].shift()).cumsum()):
            name = str(d["phase"].iloc[0])
            if name not in ("before", "after"):
                bands.append((name.replace("round ", "r"), float(starts.loc[d.index].min()), float(d["t_s"].max()),
                              name in ("stop-and-copy", "stop")))
    k = 0
    for name, x0, x1, dark in bands:
        band = {"x0": x0, "x1": x1, "line_width": 0, "layer": "below",
                "fillcolor": "#000000" if dark else ("#1f77b4" if k % 2 == 0 else "#9ecae1"),
                "opacity": 0.35 if dark else 0.15}
        k += 0 if dark else 1
        if (x1 - x0) >= 0.06 * span:  # a name only where it fits (an annotation without text is plotly's "new text")
            band.update(annotation_text=name, annotation_position="top left")
        elif dark:  # the stop-and-copy is named however short, beside its band
            band.update(annotation_text=name, annotation_position="top right")
        fig.add_vrect(**band)
    sim = tl[tl["source"] == "simulated"] if "source" in tl else tl
    mod = tl[tl["source"] == "modelled"] if "source" in tl else tl.iloc[0:0]
    if len(sim):
        centre = sim["t_s"] - sim["bin_s"] / 2
        s0 = sim["t_s"] - sim["bin_s"]
        if "relative_low" in sim:
            lx, ly = _gapped(centre, sim["relative_low"], s0)
            hx, hy = _gapped(centre, sim["relative_high"], s0)
            px_, py_ = [], []  # one closed outline per stretch without gaps
            for (xl, yl), (xh, yh) in zip(_runs(lx, ly), _runs(hx, hy)):
                px_ += xh + xl[::-1] + [xh[0], None]
                py_ += yh + yl[::-1] + [yh[0], None]
            fig.add_scatter(x=px_, y=py_, mode="lines", line={"width": 0}, fill="toself",
                            fillcolor="rgba(214,39,40,0.18)", hoverinfo="skip",
                            name="95% interval of a bin's throughput")
        x, y = _gapped(centre, sim["relative_throughput"], s0)
        fig.add_scatter(x=x, y=y, mode="lines+markers", marker={"size": 4},
                        name="guest throughput (relative), simulated", line_color="#d62728")
    if len(mod):
        xs, ys = _steps(mod["t_s"], mod["bin_s"], mod["relative_throughput"])
        fig.add_scatter(x=xs, y=ys, mode="lines", name="guest throughput (relative), round model",
                        line={"color": "#d62728", "dash": "dash", "width": 3})
    xs, ys = _steps(tl["t_s"], tl["bin_s"], tl["migration_mbps"])
    fig.add_scatter(x=xs, y=ys, mode="lines", name="migration traffic (Mbit/s)", line_color="#7f7f7f", yaxis="y2")
    fig.add_hline(y=1.0, line_dash="dot", line_color="#4d4d4d")
    high = sim["relative_high"] if "relative_high" in sim else sim["relative_throughput"]
    values = pd.concat([high, mod["relative_throughput"]]).to_numpy(dtype=float)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    fig.update_layout(title=title or "A live migration over time: the guest's throughput and the migration's traffic",
                      xaxis_title="time (s)", yaxis_title=label("relative_throughput"),
                      yaxis={"range": [0, max(1.2, min(top * 1.05, 3.0))]},
                      yaxis2={"title": label("migration_mbps"), "overlaying": "y", "side": "right", "showgrid": False,
                              "rangemode": "tozero"},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig


def migration_rounds(rounds: pd.DataFrame, title: str = "") -> go.Figure:
    """Pages sent per round (pre-copy rounds and the stop-and-copy) and pages dirtied during each round."""
    fig = go.Figure()
    x = [f"{r}: {k}" if k != "pre-copy" else str(r) for r, k in zip(rounds["round"], rounds["kind"])]
    fig.add_bar(x=x, y=rounds["pages"], name="pages sent", marker_color="#1f77b4")
    fig.add_bar(x=x, y=rounds["dirtied"], name="pages dirtied during the round", marker_color="#ff7f0e")
    fig.update_layout(title=title or "Pre-copy round by round: pages sent and pages dirtied meanwhile",
                      barmode="group", xaxis_title="round", yaxis_title="4 KiB pages (log)", yaxis_type="log",
                      template="plotly_white")
    return fig


def downtime_vs_dirty_rate(df: pd.DataFrame, x: str = "page_writes_per_s", y: str = "downtime_ms",
                           color: str = "method", title: str = "", labels: dict | None = None) -> go.Figure:
    """One line per migration method: ``y`` (downtime) against the guest's rate of page writes, on a log axis;
    hollow markers for migrations that did not converge."""
    fig = go.Figure()
    for name, d in df.sort_values(x).groupby(color, sort=False):
        ok = d["converged"].astype(bool) if "converged" in d else pd.Series(True, index=d.index)
        fig.add_scatter(x=d[x], y=d[y], mode="lines+markers", name=str(name),
                        line_color=METHOD_COLORS.get(str(name), mode_color(str(name))),
                        marker={"symbol": ["circle" if c else "circle-open" for c in ok], "size": 9})
    words_y, words_x = label(y, labels), label(x, labels)
    default = f"{_short(words_y).capitalize()} against the guest's {_short(words_x)} (hollow: did not converge)"
    fig.update_layout(title=title or default, xaxis_type="log", xaxis_title=words_x + " (log scale)",
                      yaxis_title=words_y, legend_title=label(color, labels), template="plotly_white")
    return fig


def writable_working_set(curves: pd.DataFrame, title: str = "") -> go.Figure:
    """Clark's writable working set: the distinct memory written in windows of increasing length, one line per
    ``workload`` (columns ``window_s``, ``mib``, ``workload``), both axes logarithmic."""
    fig = go.Figure()
    for i, (name, d) in enumerate(curves.groupby("workload", sort=False)):
        fig.add_scatter(x=d["window_s"], y=d["mib"], mode="lines+markers", name=str(name),
                        line_color=_DISTINCT[i % len(_DISTINCT)])
    fig.update_layout(title=title or "Writable working sets: distinct memory written in a window of each length",
                      xaxis_type="log", yaxis_type="log", xaxis_title="window (s, log scale)",
                      yaxis_title=label("mib") + " (log scale)", legend_title="workload", template="plotly_white")
    return fig


# ---- consolidation ----------------------------------------------------------------------------------------------

#: The two references a VM of a scenario is set against (kit.consolidation.run_scenario's columns)
REFERENCE_WORDS = {"relative_alone": "against the same VM alone on the host",
                   "relative_native": "against the workload natively alone"}


def per_vm_relative(vms: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Bars per measured VM of a scenario: its performance relative to itself alone on the host and to native alone
    (1.0 = as fast; lower is slower), with the line at 1. VMs without a finite ratio are named under the figure."""
    measured = vms[vms["measured"]] if "measured" in vms else vms
    fig = go.Figure()
    names = [f"{v} ({w})" for v, w in zip(measured["vm"], measured["workload"])]
    dropped: set[str] = set()
    colors = mode_colors(REFERENCE_WORDS.values())
    for col, words in REFERENCE_WORDS.items():
        if col not in measured:
            continue
        val = pd.to_numeric(measured[col], errors="coerce")
        ok = np.isfinite(val.to_numpy(dtype=float))
        dropped |= {n for n, k in zip(names, ok) if not k}
        if ok.any():
            fig.add_bar(name=words, x=[n for n, k in zip(names, ok) if k], y=val[ok].tolist(),
                        marker_color=colors[words], hovertemplate="%{x}<br>%{y:.3f} " + words + "<extra></extra>")
    fig.add_hline(y=1.0, line_dash="dash", line_color=MODE_COLORS["native"], annotation_text="alone = 1",
                  annotation_position="top left")
    fig.update_layout(barmode="group", title=title or "Each VM beside the others, relative to running alone",
                      xaxis_title="VM (workload)", yaxis_title="relative performance (1.0 = alone)",
                      legend_title="relative to", template="plotly_white")
    _left_out(fig, sorted(dropped), "no finite ratio")
    return fig


def _occupant(scope: str) -> str:
    """``host.web.vcpu1`` -> ``web``; ``host.vm0.vhost.thread0`` -> ``vm0 backend``; ``host.dom0.vcpu0`` -> ``dom0``."""
    parts = scope.split(".")
    name = parts[1] if len(parts) > 2 else scope
    return name if parts[-1].startswith("vcpu") else f"{name} backend"


def cpu_occupancy(timeline: pd.DataFrame, t0: float = 0.0, t1: float | None = None,
                  title: str | None = None) -> go.Figure:
    """Which vCPU ran on which physical CPU in ``[t0, t1]`` seconds: one row per CPU, one colour per VM (its vCPUs)
    and per VM's backend threads, from a scenario's timeline (``run_scenario(..., trace_s=...)``)."""
    tl = timeline[(timeline["cpu"] >= 0) & (timeline["state"].isin(["running", "backend"]))]
    if t1 is None:
        t1 = float(tl["end_s"].max()) if len(tl) else t0
    tl = tl[(tl["end_s"] > t0) & (tl["start_s"] < t1)]
    vm = tl["scope"].map(_occupant)
    colors = mode_colors(sorted(set(vm)))
    fig = go.Figure()
    for name in sorted(set(vm)):
        seg = tl[vm == name]
        lo = seg["start_s"].clip(lower=t0)
        hi = seg["end_s"].clip(upper=t1)
        fig.add_bar(name=name, orientation="h", y=[f"CPU {int(c)}" for c in seg["cpu"]], base=(lo * 1e3).tolist(),
                    x=((hi - lo) * 1e3).tolist(), marker_color=colors[name], customdata=seg["scope"].tolist(),
                    hovertemplate="%{customdata} on %{y}: from %{base:.3f} ms for %{x:.3f} ms<extra></extra>")
    fig.update_layout(barmode="overlay", title=title or f"Which vCPU ran on which CPU, {t0 * 1e3:.0f} to "
                                                        f"{t1 * 1e3:.0f} ms",
                      xaxis_title="simulated time (ms)", yaxis_title="physical CPU", legend_title="VM",
                      template="plotly_white", yaxis={"categoryorder": "category descending"})
    return fig


def isolation_heatmap(matrix: pd.DataFrame, z: str = "degradation", title: str | None = None) -> go.Figure:
    """The isolation matrix: misbehaving workload (rows) x mode (columns), the well-behaved VMs' degradation (1 -
    their throughput beside it over their baseline; 0 = untouched, positive = they lost) in percent in each cell, on
    a diverging scale centred on zero (red: they lost, blue: they ran faster than in their baseline run). Given
    several rows per cell (seeds), a cell shows their mean and its 95% interval from Student's t."""
    cells = matrix.groupby(["hog", "hypervisor"], sort=False)[z].apply(
        lambda v: t_interval([float(x) for x in v if np.isfinite(x)]) if np.isfinite(v).any() else (np.nan, None))
    hogs, modes = list(dict.fromkeys(matrix["hog"])), list(dict.fromkeys(matrix["hypervisor"]))
    piv = pd.DataFrame(np.nan, index=hogs, columns=modes)
    half = pd.DataFrame(np.nan, index=hogs, columns=modes)
    for (hog, mode), (mean, h) in cells.items():
        piv.loc[hog, mode], half.loc[hog, mode] = mean, np.nan if h is None else h
    vals, halves = piv.to_numpy(dtype=float) * 100.0, half.to_numpy(dtype=float) * 100.0
    text = [[(f"{v:+.1f}%" + (f" ± {h:.1f}" if np.isfinite(h) else "")) if np.isfinite(v) else ""
             for v, h in zip(row, hrow)] for row, hrow in zip(vals, halves)]
    finite = vals[np.isfinite(vals)]
    reach = float(np.max(np.abs(finite))) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
    fig = go.Figure(go.Heatmap(z=[[float(v) if np.isfinite(v) else None for v in row] for row in vals],
                               x=list(piv.columns), y=list(piv.index), text=text, texttemplate="%{text}",
                               colorscale="RdBu_r", zmid=0.0, zmin=-reach, zmax=reach,
                               colorbar={"title": {"text": "degradation (%)", "side": "right"}, "ticksuffix": "%"},
                               hovertemplate="%{y} under %{x}: %{text}<extra></extra>"))
    fig.add_annotation(text="degradation = 1 - throughput beside the misbehaving VM / throughput in the baseline<br>"
                            "positive (red): the well-behaved VMs lost; negative (blue): they ran faster"
                            + ("; ± the 95% interval over the seeds" if np.isfinite(halves).any() else ""),
                       xref="paper", yref="paper", x=0, y=-0.2, showarrow=False, xanchor="left", yanchor="top",
                       align="left", font={"size": 11})
    fig.update_layout(title=title or "Isolation: how much the well-behaved VMs lose beside each misbehaving one",
                      xaxis_title="hypervisor mode", yaxis_title="misbehaving workload", template="plotly_white",
                      yaxis={"autorange": "reversed"}, margin={"b": 130})
    return fig


def blind_vs_published(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Published, frozen blind and current (post-reveal, in-sample, with its 95% interval) per revealed row
    (:func:`kit.papers.revealed.table`). Rows of relative performance or degradation are drawn as values; rows of
    times, sizes and counts as their ratio to the published value on a log axis (1 = published), in one figure
    only when no relative row is beside them."""
    t = table.copy()
    rel = (t["unit"] == "relative").all()
    names = t["system"].astype(str) + ": " + t["metric"].astype(str).str.replace(" relative to native", "")
    fig = go.Figure()
    if rel:
        fig.add_bar(name="published", x=names, y=t["published"], marker_color="#424242")
        fig.add_bar(name="blind (frozen)", x=names, y=t["blind_frozen"], marker_color="#9e9e9e")
        fig.add_bar(name="current model (post-reveal, in-sample), 95% interval", x=names, y=t["current_model"],
                    marker_color="#1f77b4",
                    error_y={"type": "data", "array": t["current_ci_high"] - t["current_model"],
                             "arrayminus": t["current_model"] - t["current_ci_low"]})
        ytitle = "value as published (relative performance: 1.0 = native; degradation: a fraction)"
    else:
        pub = t["published"].astype(float)
        fig.add_bar(name="blind (frozen) / published", x=names, y=t["blind_frozen"] / pub, marker_color="#9e9e9e")
        fig.add_bar(name="current model / published (95% interval)", x=names, y=t["current_model"] / pub,
                    marker_color="#1f77b4",
                    error_y={"type": "data", "array": (t["current_ci_high"] - t["current_model"]) / pub,
                             "arrayminus": (t["current_model"] - t["current_ci_low"]) / pub})
        fig.add_hline(y=1.0, line_dash="dot", line_color="#424242", annotation_text="published")
        fig.update_yaxes(type="log")
        ytitle = "ratio to the published value (log scale; 1 = published)"
    fig.update_layout(barmode="group", template="plotly_white", yaxis_title=ytitle, xaxis_title="revealed row",
                      title=title or f"Blind, current and published: {len(t)} revealed rows", height=480,
                      legend={"orientation": "h", "y": -0.45})
    return fig

