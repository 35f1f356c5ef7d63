"""Figure builders of a host with several VMs: each VM against its references, who occupied each physical CPU
and the isolation matrix. Pure functions of :mod:`kit.consolidation`'s tables (they display nothing and write
no file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..stats import t_interval
from .style import MODE_COLORS, _left_out, mode_colors

__all__ = ["REFERENCE_WORDS", "per_vm_relative", "cpu_occupancy", "isolation_heatmap"]


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
