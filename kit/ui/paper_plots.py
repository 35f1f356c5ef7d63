"""Figure builders of the library of papers: published against model, the reliability of the prediction
intervals and the revealed rows (frozen blind, current model, published). Pure functions of :mod:`kit.papers`'
tables (they display nothing and write no file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import _listing, _short, label, mode_colors

__all__ = ["reliability_diagram", "published_vs_model", "blind_vs_published"]


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
