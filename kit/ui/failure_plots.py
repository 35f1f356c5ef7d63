"""Figure builders for failure isolation: pure functions from the tables of :mod:`kit.failures` to plotly figures
(they display nothing and write no file).

- :func:`blast_radius_heatmap`: per fault (crash, hang), components (rows) by configuration (columns), each cell
  what the VMs of the host see (how many end, or else how many see their I/O stall), coloured by severity.
- :func:`availability_over_time`: each configuration's cumulative VM availability over the horizon, the band the
  Monte Carlo mean's 95% interval.
- :func:`tcb_bars`: the code a guest relies on, per configuration, stacked by how it relies on it.
- :func:`fault_timeline`: a faulted run's requests over time per VM (the longest latency of those begun in each
  interval), with the recovery's phases as bands.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import mode_colors

__all__ = ["blast_radius_heatmap", "availability_over_time", "tcb_bars", "fault_timeline", "SEVERITY"]

#: The colour scale's value of each effect
SEVERITY = {"none": 0.0, "io stall": 1.0, "dies": 2.0}


def _cell(row: pd.Series) -> str:
    if row["vms_end"]:
        text = f"{row['vms_end']} end"
    elif row["vms_io_stall"]:
        text = f"{row['vms_io_stall']} stall"
    else:
        return "none"
    return text + f"<br>{row['max_unavailable_s']:.3g} s"


def blast_radius_heatmap(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """The blast radius (:func:`kit.failures.blast_radius`): one panel per fault (crash, hang), rows are components,
    columns configurations; a cell's colour is its worst effect scaled by the share of the host's VMs affected (0:
    none notices, 1: every VM's I/O stalls, 2: every VM ends), its text how many VMs end (or else stall) and the
    longest a VM is unavailable. A component a configuration does not have is left blank."""
    d = df.assign(z=[SEVERITY[w] * s for w, s in zip(df["worst_effect"], df["share_affected"])],
                  text=[_cell(r) for _, r in df.iterrows()])
    faults = list(dict.fromkeys(d["fault"]))
    rows = list(dict.fromkeys(d["component"]))
    cols = list(dict.fromkeys(d["configuration"]))
    fig = make_subplots(rows=1, cols=len(faults), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"{f}" for f in faults])
    for k, f in enumerate(faults, 1):
        part = d[d["fault"] == f]
        z = part.pivot(index="component", columns="configuration", values="z").reindex(index=rows, columns=cols)
        text = part.pivot(index="component", columns="configuration", values="text").reindex(index=rows, columns=cols)
        zv = [[float(v) if np.isfinite(v) else None for v in r] for r in z.to_numpy(dtype=float)]
        tv = [["" if not isinstance(v, str) else v for v in r] for r in text.to_numpy(dtype=object)]
        fig.add_trace(go.Heatmap(z=zv, x=cols, y=rows, text=tv, texttemplate="%{text}", textfont={"size": 10},
                                 zmin=0, zmax=2, colorscale=[[0, "#f7fbff"], [0.5, "#fdae6b"], [1, "#a50f15"]],
                                 showscale=k == len(faults), xgap=2, ygap=2,
                                 colorbar={"title": "severity", "tickvals": [0, 1, 2],
                                           "ticktext": ["none", "I/O stall", "VMs end"]},
                                 hovertemplate=f"%{{y}} {f} under %{{x}}: %{{text}}<extra></extra>"), row=1, col=k)
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=rows, ticktext=rows)
    fig.update_xaxes(tickangle=-30)
    fig.update_layout(title=title or "Blast radius: what a host's three VMs see when a component crashes or hangs",
                      yaxis_title="component", template="plotly_white", height=max(420, 34 * len(rows) + 200))
    return fig


def availability_over_time(curve: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Cumulative availability over the horizon (:func:`kit.failures.availability`'s second table): a line per
    configuration, the mean over the Monte Carlo's replications, its band the mean's 95% interval (the spread of
    single hosts, the percentiles, is in the hover)."""
    fig = go.Figure()
    colors = mode_colors(list(dict.fromkeys(curve["configuration"])))
    for name, d in curve.groupby("configuration", sort=False):
        c = colors[name]
        x = list(d["days"])
        fig.add_scatter(x=x + x[::-1], y=list(d["ci_high"]) + list(d["ci_low"])[::-1], fill="toself", fillcolor=c,
                        opacity=0.2, line={"width": 0}, hoverinfo="skip", showlegend=False, name=f"{name} interval")
        fig.add_scatter(x=x, y=d["availability"], mode="lines+markers", name=name, line_color=c,
                        customdata=d[["p2_5", "p97_5"]].to_numpy(),
                        hovertemplate=name + ", day %{x:.0f}: %{y:.5%} (hosts 2.5-97.5%: %{customdata[0]:.5%}-"
                                             "%{customdata[1]:.5%})<extra></extra>")
    fig.update_layout(title=title or "VM availability over a year (Monte Carlo mean and its 95% interval)",
                      xaxis_title="time (days)", yaxis_title="availability so far (fraction of the time)",
                      template="plotly_white", yaxis_tickformat=".4%")
    return fig


def tcb_bars(totals: pd.DataFrame, title: str | None = None) -> go.Figure:
    """The trusted computing base (:func:`kit.failures.tcb_totals`): thousands of lines a guest relies on per
    configuration, stacked by relation (beneath it, on its I/O paths, managing it); the hover gives the range."""
    fig = go.Figure()
    colors = {"beneath": "#a50f15", "I/O path": "#fd8d3c", "management": "#6baed6"}
    for rel, d in totals.groupby("relation", sort=False):
        fig.add_bar(x=d["configuration"], y=d["kloc"], name=rel, marker_color=colors.get(rel, "#999999"),
                    customdata=np.stack([d["kloc_low"], d["kloc_high"]], axis=1),
                    hovertemplate="%{x}, " + rel + ": %{y:.0f} kLOC (%{customdata[0]:.0f}-%{customdata[1]:.0f})"
                                  "<extra></extra>")
    fig.update_layout(title=title or "What a guest relies on: thousands of lines of code, by relation",
                      barmode="stack", xaxis_title="configuration", yaxis_title="thousands of lines (kLOC)",
                      template="plotly_white")
    return fig


def fault_timeline(latency: pd.DataFrame, phases: pd.DataFrame, title: str | None = None,
                   bin_s: float = 0.05) -> go.Figure:
    """A run with faults (:func:`kit.failures.inject`): per VM, the longest latency of the requests that began in
    each ``bin_s`` of the run (a gap where none began), with the recovery's phases as bands, so that who waited, and
    for how long, shows against what the host was doing."""
    fig = go.Figure()
    colors = mode_colors(list(dict.fromkeys(latency["vm"])) if len(latency) else [])
    for vm, d in latency.groupby("vm", sort=False):
        worst = d.groupby((d["start_s"] // bin_s) * bin_s)["latency_us"].max()
        fig.add_scatter(x=list(worst.index), y=list(worst.to_numpy() / 1e3), mode="markers", name=str(vm),
                        marker={"size": 5, "color": colors[vm]},
                        hovertemplate=f"{vm}: requests begun at %{{x:.2f}} s waited up to %{{y:.3g}} ms<extra></extra>")
    palette = ["#756bb1", "#31a354", "#e6550d", "#3182bd", "#636363"]
    for k, (_, p) in enumerate(phases.iterrows()):  # labels in four rows, so that short phases' stay apart
        fig.add_vrect(x0=float(p["start_s"]), x1=float(max(p["end_s"], p["start_s"] + 1e-3)), line_width=0,
                      opacity=0.12, fillcolor=palette[k % len(palette)], annotation_text=p["phase"],
                      annotation_position="top left", annotation={"yshift": -15 * (k % 4)})
    fig.update_layout(title=title or "Requests around a fault: the longest wait per interval, with the recovery's "
                                     "phases", xaxis_title="time the requests began (s)",
                      yaxis_title=f"longest latency per {bin_s * 1e3:g} ms (ms)", yaxis_type="log",
                      template="plotly_white")
    return fig
