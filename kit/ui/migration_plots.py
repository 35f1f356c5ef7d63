"""Figure builders of a live migration: the timeline of rounds and the guest's throughput, the rounds, the
downtime against the guest's dirty rate and the writable working set. Pure functions of
:class:`~kit.live_migration.Migration`'s tables (they display nothing and write no file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import _DISTINCT, METHOD_COLORS, _sentence, _short, label, mode_color

__all__ = ["migration_timeline", "migration_rounds", "downtime_vs_dirty_rate", "writable_working_set"]


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
    default = f"{_sentence(_short(words_y))} against the guest's {_short(words_x)} (hollow: did not converge)"
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
