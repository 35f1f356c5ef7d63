"""Figure builders: pure functions from result DataFrames to plotly figures.

They display nothing and write no file. Colours are consistent across all
figures: one per hypervisor mode (:data:`MODE_COLORS`) and one per breakdown
category (:func:`category_color`; exit reasons share a warm family).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["MODE_COLORS", "CATEGORY_COLORS", "STATE_COLORS", "mode_color", "category_color",
           "relative_performance", "overhead_breakdown", "exits_per_second", "latency_cdf", "path_waterfall",
           "sweep_line", "sweep_heatmap", "vcpu_timeline", "published_vs_model", "migration_timeline",
           "migration_rounds", "downtime_vs_dirty_rate", "METHOD_COLORS"]

MODE_COLORS = {
    "native": "#4d4d4d", "xen-pv": "#1f77b4", "xen-hvm": "#6baed6", "xen-pvh": "#08519c", "kvm": "#d62728",
    "kvm-emulated": "#ff9896", "kvm-sriov": "#8c2d04", "qemu-tcg": "#9467bd", "vmware-bt": "#2ca02c",
    "hyperv": "#17becf", "kvm-on-kvm": "#67000d", "container-nat": "#bcbd22", "container-host": "#dbdb8d",
}
#: live-migration methods
METHOD_COLORS = {"pre-copy": "#1f77b4", "post-copy": "#ff7f0e"}
CATEGORY_COLORS = {
    "guest user": "#9ecae1", "guest kernel": "#3182bd", "memory stalls": "#c6dbef", "page walks": "#31a354",
    "hypervisor": "#756bb1", "emulation": "#e377c2", "world switch": "#8c564b", "device service": "#bdbdbd",
    "queueing": "#fdae6b", "idle": "#f0f0f0", "backend: dom0": "#08519c", "backend: qemu": "#a50f15",
    "backend: vhost": "#ef3b2c", "backend: host OS": "#54278f", "backend: root partition": "#006d2c",
    "paused": "#000000", "migration": "#ff7f0e", "container network": "#bcbd22", "container storage": "#8c6d31",
}
_EXIT_SHADES = ["#fd8d3c", "#e6550d", "#a63603", "#fdd0a2", "#f16913", "#d94801", "#8c2d04", "#fdae6b"]
STATE_COLORS = {"running": "#3182bd", "exiting": "#e6550d", "waiting": "#fdae6b", "idle": "#f0f0f0",
                "backend": "#756bb1"}


def mode_color(name: str) -> str:
    return MODE_COLORS.get(name, "#7f7f7f")


def category_color(cat: str) -> str:
    if cat in CATEGORY_COLORS:
        return CATEGORY_COLORS[cat]
    if cat.startswith("exit: "):
        return _EXIT_SHADES[sum(map(ord, cat)) % len(_EXIT_SHADES)]
    if cat.startswith("backend"):
        return "#6a51a3"
    return "#7f7f7f"


def relative_performance(summary: pd.DataFrame, x: str = "workload") -> go.Figure:
    """Grouped bars of relative performance (1.0 = native) by mode, grouped by ``x``."""
    fig = go.Figure()
    ok = summary[summary["error"].fillna("") == ""] if "error" in summary else summary
    for mode, d in ok.groupby("hypervisor", sort=False):
        fig.add_bar(name=mode, x=d[x].astype(str), y=d["relative_performance"], marker_color=mode_color(mode),
                    hovertemplate="%{x}<br>" + mode + ": %{y:.3f} of native<extra></extra>")
    fig.add_hline(y=1.0, line_dash="dash", line_color=mode_color("native"), annotation_text="native")
    fig.update_layout(barmode="group", yaxis_title="relative performance (1.0 = native, higher is better)",
                      xaxis_title=x, legend_title="mode", template="plotly_white")
    return fig


def _per_unit(breakdown: pd.DataFrame, summary: pd.DataFrame, include_idle: bool) -> pd.DataFrame:
    b = breakdown.copy()
    if not include_idle:
        b = b[b["category"] != "idle"]
    b = b[(b["entity"] == "vcpu") | (b["category"] != "idle")]
    units = summary.set_index("run")["units"].replace(0, np.nan)
    agg = b.groupby(["run", "category"], sort=False)["seconds"].sum().reset_index()
    agg["us_per_unit"] = agg["seconds"] / agg["run"].map(units) * 1e6
    agg["scenario"] = agg["run"].map(summary.set_index("run")["hypervisor"])
    return agg


def overhead_breakdown(breakdown: pd.DataFrame, summary: pd.DataFrame, include_idle: bool = False) -> go.Figure:
    """Stacked bars per mode of where the time per unit of work goes, by category and exit reason.

    vCPU time and backend CPU time (dom0, vhost, QEMU) are both shown per unit of
    work, so an I/O path's cost appears wherever it is paid.
    """
    agg = _per_unit(breakdown, summary, include_idle)
    order = list(dict.fromkeys(summary["hypervisor"]))
    fig = go.Figure()
    for cat in sorted(agg["category"].unique(), key=lambda c: (c.startswith("exit"), c.startswith("backend"), c)):
        d = agg[agg["category"] == cat].set_index("scenario").reindex(order)
        fig.add_bar(name=cat, x=order, y=d["us_per_unit"], marker_color=category_color(cat),
                    hovertemplate=cat + ": %{y:.3g} us per unit<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title="microseconds per unit of work", xaxis_title="mode",
                      legend_title="category", template="plotly_white")
    return fig


def exits_per_second(exits: pd.DataFrame, summary: pd.DataFrame) -> go.Figure:
    """Exits per simulated second by reason, grouped by mode."""
    dur = summary.set_index("run")["duration"]
    mode = summary.set_index("run")["hypervisor"]
    e = exits.copy()
    e["per_s"] = e["count"] / e["run"].map(dur)
    e["mode"] = e["run"].map(mode)
    fig = go.Figure()
    for reason, d in e.groupby("reason", sort=True):
        fig.add_bar(name=reason, x=d["mode"], y=d["per_s"], marker_color=category_color(f"exit: {reason}"))
    fig.update_layout(barmode="stack", yaxis_title="exits per second (all vCPUs)", xaxis_title="mode",
                      legend_title="exit reason", template="plotly_white")
    return fig


def latency_cdf(latency: pd.DataFrame, by: str = "scenario") -> go.Figure:
    """Empirical CDF of request latency per mode, with p50 and p99 marked."""
    fig = go.Figure()
    for name, d in latency.groupby(by, sort=False):
        v = np.sort(d["latency_us"].to_numpy())
        if not len(v):
            continue
        p = np.arange(1, len(v) + 1) / len(v)
        color = mode_color(str(name))
        fig.add_scatter(x=v, y=p, mode="lines", name=str(name), line_color=color)
        for q, sym in ((0.5, "circle"), (0.99, "diamond")):
            xq = float(np.quantile(v, q))
            fig.add_scatter(x=[xq], y=[q], mode="markers", marker_symbol=sym, marker_color=color, marker_size=9,
                            name=f"{name} p{int(q * 100)}", showlegend=False,
                            hovertemplate=f"{name} p{int(q * 100)}: " + "%{x:.1f} us<extra></extra>")
    fig.update_layout(xaxis_title="request latency (us)", yaxis_title="fraction of requests",
                      legend_title="mode", template="plotly_white")
    return fig


def path_waterfall(path: list[dict], title: str = "") -> go.Figure:
    """The steps of one operation's path as a waterfall (cycles)."""
    fig = go.Figure(go.Waterfall(
        x=[s["step"] for s in path] + ["total"], y=[s["cycles"] for s in path] + [0],
        measure=["relative"] * len(path) + ["total"], connector={"line": {"color": "#bdbdbd"}},
        text=[f"{s['cycles']:.0f}" for s in path] + [f"{sum(s['cycles'] for s in path):.0f}"],
        textposition="outside"))
    fig.update_layout(title=title, yaxis_title="cycles", template="plotly_white", showlegend=False)
    return fig


def sweep_line(df: pd.DataFrame, x: str, y: str = "relative_performance", color: str | None = None,
               level: float = 0.95) -> go.Figure:
    """Mean of ``y`` against ``x`` with a confidence band over replications, one line per ``color``."""
    from .sweep import mean_ci
    by = [x] + ([color] if color else [])
    g = mean_ci(df, by, value=y, level=level).sort_values(by)
    fig = go.Figure()
    for name, d in (g.groupby(color, sort=False) if color else [(y, g)]):
        c = mode_color(str(name))
        fig.add_scatter(x=list(d[x]) + list(d[x])[::-1], y=list(d["ci_high"]) + list(d["ci_low"])[::-1],
                        fill="toself", fillcolor=c, opacity=0.2, line_width=0, showlegend=False, hoverinfo="skip",
                        name=f"{name} band")
        fig.add_scatter(x=d[x], y=d["mean"], mode="lines+markers", name=str(name), line_color=c)
    fig.update_layout(xaxis_title=x, yaxis_title=y, legend_title=color or "", template="plotly_white")
    return fig


def sweep_heatmap(df: pd.DataFrame, x: str, y: str, z: str = "relative_performance") -> go.Figure:
    """Mean of ``z`` over a two-parameter grid."""
    ok = df[df["error"] == ""] if "error" in df else df
    t = ok.groupby([y, x])[z].mean().unstack(x)
    fig = go.Figure(go.Heatmap(z=t.values, x=[str(c) for c in t.columns], y=[str(i) for i in t.index],
                               colorscale="RdYlGn", colorbar_title=z))
    fig.update_layout(xaxis_title=x, yaxis_title=y, template="plotly_white")
    return fig


def vcpu_timeline(timeline: pd.DataFrame, t0: float = 0.0, t1: float | None = None) -> go.Figure:
    """What each vCPU and backend thread was doing in a short window (running, exiting, waiting, idle, backend)."""
    tl = timeline.copy()
    if t1 is not None:
        tl = tl[(tl["end_s"] > t0) & (tl["start_s"] < t1)]
    rows = []
    for r in tl.itertuples():
        if r.state == "running" and r.guest_fraction < 1.0:
            mid = r.start_s + (r.end_s - r.start_s) * r.guest_fraction
            rows.append((r.scope, "running", r.start_s, mid))
            rows.append((r.scope, "exiting", mid, r.end_s))
        else:
            rows.append((r.scope, r.state, r.start_s, r.end_s))
    fig = go.Figure()
    for state in STATE_COLORS:
        seg = [x for x in rows if x[1] == state]
        if not seg:
            continue
        fig.add_bar(name=state, orientation="h", y=[s[0] for s in seg], base=[s[2] * 1e6 for s in seg],
                    x=[(s[3] - s[2]) * 1e6 for s in seg], marker_color=STATE_COLORS[state],
                    hovertemplate=state + ": %{base:.1f} us + %{x:.2f} us<extra></extra>")
    fig.update_layout(barmode="overlay", xaxis_title="time (us)", yaxis_title="", legend_title="state",
                      template="plotly_white", yaxis={"categoryorder": "category descending"})
    return fig


def published_vs_model(report: pd.DataFrame, x: str = "published", y: str = "model", color: str = "system") -> go.Figure:
    """Published values against the model's on log-log axes, with the 1:1 line and 2x bounds."""
    fig = go.Figure()
    for name, d in report.groupby(color, sort=False):
        fig.add_scatter(x=d[x], y=d[y], mode="markers", name=str(name), text=d.get("metric"),
                        hovertemplate="%{text}<br>published %{x:.3g}<br>model %{y:.3g}<extra></extra>")
    lo = float(min(report[x].min(), report[y].min())) * 0.8
    hi = float(max(report[x].max(), report[y].max())) * 1.25
    for k, dash in ((1, "solid"), (2, "dot"), (0.5, "dot")):
        fig.add_scatter(x=[lo, hi], y=[lo * k, hi * k], mode="lines", line={"color": "#bdbdbd", "dash": dash},
                        showlegend=False, hoverinfo="skip")
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title=f"{x}", yaxis_title=f"{y}",
                      template="plotly_white", legend_title=color)
    return fig


def migration_timeline(timeline: pd.DataFrame, title: str = "") -> go.Figure:
    """A live migration over time: the guest's throughput relative to the same run without the migration, the
    migration's use of the link (right axis), and the phases (rounds, stop-and-copy, post-copy) as bands."""
    fig = go.Figure()
    tl = timeline.sort_values("t_s")
    for phase, d in tl.groupby((tl["phase"] != tl["phase"].shift()).cumsum()):
        name = d["phase"].iloc[0]
        if name in ("before", "after"):
            continue
        fig.add_vrect(x0=float(d["t_s"].iloc[0]), x1=float(d["t_s"].iloc[-1]), line_width=0, opacity=0.12,
                      fillcolor="#000000" if name in ("stop-and-copy", "stop") else "#1f77b4",
                      annotation_text=name if len(d) > 2 else None, annotation_position="top left")
    fig.add_scatter(x=tl["t_s"], y=tl["relative_throughput"], mode="lines", name="guest throughput (relative)",
                    line_color="#d62728")
    fig.add_scatter(x=tl["t_s"], y=tl["migration_mbps"], mode="lines", name="migration traffic (Mbit/s)",
                    line_color="#7f7f7f", yaxis="y2")
    fig.update_layout(title=title, xaxis_title="time (s)", yaxis_title="throughput / same run without migration",
                      yaxis2={"title": "Mbit/s", "overlaying": "y", "side": "right", "showgrid": False},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig


def migration_rounds(rounds: pd.DataFrame, title: str = "") -> go.Figure:
    """Pages sent per round (pre-copy rounds and the stop-and-copy) and pages dirtied during each round."""
    fig = go.Figure()
    x = [f"{r}: {k}" if k != "pre-copy" else str(r) for r, k in zip(rounds["round"], rounds["kind"])]
    fig.add_bar(x=x, y=rounds["pages"], name="pages sent", marker_color="#1f77b4")
    fig.add_bar(x=x, y=rounds["dirtied"], name="pages dirtied during the round", marker_color="#ff7f0e")
    fig.update_layout(title=title, barmode="group", xaxis_title="round", yaxis_title="4 KiB pages",
                      yaxis_type="log", template="plotly_white")
    return fig


def downtime_vs_dirty_rate(df: pd.DataFrame, x: str = "page_writes_per_s", y: str = "downtime_ms",
                           color: str = "method") -> go.Figure:
    """One line per migration method: ``y`` (downtime) against the guest's rate of page writes, on a log axis;
    hollow markers for migrations that did not converge."""
    fig = go.Figure()
    for name, d in df.sort_values(x).groupby(color, sort=False):
        ok = d["converged"].astype(bool) if "converged" in d else pd.Series(True, index=d.index)
        fig.add_scatter(x=d[x], y=d[y], mode="lines+markers", name=str(name),
                        line_color=METHOD_COLORS.get(str(name), mode_color(str(name))),
                        marker={"symbol": ["circle" if c else "circle-open" for c in ok], "size": 9})
    fig.update_layout(xaxis_type="log", xaxis_title="page writes per second", yaxis_title=y, legend_title=color,
                      template="plotly_white")
    return fig
