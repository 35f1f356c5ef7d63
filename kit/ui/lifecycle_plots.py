"""Figure builders for the VM lifecycle: pure functions from :mod:`kit.lifecycle`'s tables to plotly figures.

- :func:`lifecycle_timeline`: a Gantt chart of operations and their phases over time, one row per VM (or per
  operation of one VM), coloured by the resource each phase uses.
- :func:`boot_phases`: create and boot to init per mode, stacked by phase.
- :func:`sensitivity_bars`: an operation's time with each estimate at the ends of its range (a tornado).
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .style import mode_colors

__all__ = ["lifecycle_timeline", "boot_phases", "sensitivity_bars", "RESOURCE_COLORS"]

#: One colour per resource a phase uses
RESOURCE_COLORS = {"toolstack": "#756bb1", "vcpu": "#3182bd", "disk-read": "#31a354", "disk-write": "#a1d99b",
                   "net": "#e6550d", "wait": "#bdbdbd"}


def lifecycle_timeline(timeline: pd.DataFrame, by: str = "vm", title: str | None = None) -> go.Figure:
    """Each phase as a horizontal bar from its start to its end, on the row of its ``by`` (``vm`` for a scenario's
    VMs, ``op`` for one VM's operations), coloured by its resource; the hover names the operation and the phase."""
    fig = go.Figure()
    t = timeline if by in timeline else timeline.assign(**{by: timeline["op"]})
    for res, d in t.groupby("resource", sort=False):
        fig.add_bar(y=d[by], x=(d["end_s"] - d["start_s"]).clip(lower=1e-4), base=d["start_s"], orientation="h",
                    name=str(res), marker_color=RESOURCE_COLORS.get(str(res), "#636363"),
                    customdata=d[["op", "phase"]].to_numpy(),
                    hovertemplate="%{customdata[0]}: %{customdata[1]}<br>%{base:.4f} s + %{x:.4f} s<extra>" + str(res)
                                  + "</extra>")
    rows = list(dict.fromkeys(t[by]))
    fig.update_layout(title=title or "Lifecycle timeline: each operation's phases by the resource they use",
                      barmode="overlay", xaxis_title="time (s)", yaxis_title=by,
                      yaxis={"categoryorder": "array", "categoryarray": rows[::-1]}, template="plotly_white",
                      legend_title="resource")
    return fig


def boot_phases(boot: pd.DataFrame, title: str | None = None) -> go.Figure:
    """:func:`kit.lifecycle.boot_time`'s table: seconds per phase stacked per mode, the total at the end."""
    fig = go.Figure()
    phases = [c for c in boot.columns if c not in ("hypervisor", "boot_to_init_s")]
    colors = mode_colors(phases)
    for ph in phases:
        fig.add_bar(x=boot["hypervisor"], y=boot[ph], name=ph, marker_color=colors[ph])
    fig.update_layout(title=title or "Create and boot to init, by phase (idle host)", barmode="stack",
                      xaxis_title="hypervisor mode", yaxis_title="seconds", template="plotly_white")
    return fig


def sensitivity_bars(sens: pd.DataFrame, top: int = 8, title: str | None = None) -> go.Figure:
    """:func:`kit.lifecycle.sensitivity`'s table: for the ``top`` constants with the largest swing, a bar from the
    time at their low end to the time at their high end, the line the time at their values."""
    d = sens.head(top).iloc[::-1]
    lo = d[["seconds_at_low", "seconds_at_high"]].min(axis=1)
    hi = d[["seconds_at_low", "seconds_at_high"]].max(axis=1)
    fig = go.Figure(go.Bar(y=d["constant"], x=hi - lo, base=lo, orientation="h", marker_color="#6baed6",
                           name="low to high", hovertemplate="%{y}: %{base:.3f}-%{x:.3f} s<extra></extra>"))
    if len(d):
        fig.add_vline(x=float(d["seconds"].iloc[0]), line_dash="dash", line_color="#000000")
    fig.update_layout(title=title or "What the time rests on: each estimate from the low to the high end of its range",
                      xaxis_title="seconds", yaxis_title="constant", template="plotly_white", showlegend=False)
    return fig
