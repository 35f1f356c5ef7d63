"""Figure builders of the library of papers: published against model, the reliability of the prediction
intervals and the revealed rows (frozen blind, current model, published). Pure functions of :mod:`kit.papers`'
tables (they display nothing and write no file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import _listing, _short, _wrap, label, mode_colors

__all__ = ["reliability_diagram", "published_vs_model", "blind_vs_published", "ROW_HEIGHT"]

#: Pixels per revealed row in :func:`blind_vs_published`: each row's label and markers stay legible
ROW_HEIGHT = 34


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


def _num(v: float, unit: str) -> str:
    return f"{v:.4g}" + ("" if unit in ("", "relative") else f" {unit}")


def blind_vs_published(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Per revealed row (:func:`kit.papers.revealed.table`), one line of the figure: the published value (black
    diamond), the frozen blind prediction (hollow grey circle) and the current model (post-reveal, in-sample; blue
    dot with its 95% interval over seeds as a bar).

    Rows are labelled with their short names (the table's ``row``, :func:`kit.papers.revealed.row_names`; the id
    when it has none) on the vertical axis, in the table's
    order; the full name, every value with its unit and the errors are in each marker's hover text. Rows of
    relative performance are drawn as values with the native line at 1, rows of degradation as values with the
    line at 0; rows of times, sizes and counts as their ratio to the published value on a log axis (1 =
    published), in one figure only when no relative row is beside them. The figure grows by :data:`ROW_HEIGHT`
    pixels a row and its legend sits above the plot, outside the data."""
    t = table.reset_index(drop=True)
    n = len(t)
    rows = [str(r) for r in (t["row"] if "row" in t else t["id"])]
    full = (t["system"].astype(str) + ": " + t["metric"].astype(str)).tolist()
    units = t["unit"].astype(str).tolist()
    rel = all(u == "relative" for u in units)
    degradation = t["metric"].astype(str).str.contains("degradation")
    pub = t["published"].astype(float)
    if rel:
        scale = pd.Series(1.0, index=t.index)
        if degradation.all():
            xtitle, ref, ref_text = ("degradation of the well-behaved VMs (fraction of their throughput lost; 0 = "
                                     "none)"), 0.0, "no degradation"
        elif not degradation.any():
            xtitle, ref, ref_text = "relative performance (fraction of native; 1.0 = native)", 1.0, "native"
        else:
            xtitle, ref, ref_text = ("value as published (relative performance: fraction of native; degradation: "
                                     "fraction lost)"), None, ""
    else:
        scale = 1.0 / pub.where(pub > 0)
        xtitle, ref, ref_text = "ratio to the published value (log scale; 1 = published)", 1.0, "published"
    seeds = sorted({int(s) for s in t["current_seeds"]}) if "current_seeds" in t else []
    over = f"95% interval over {_listing([str(s) for s in seeds])} seeds" if seeds else "95% interval"
    cur, lo, hi = t["current_model"].astype(float), t["current_ci_low"].astype(float), t["current_ci_high"].astype(
        float)
    hover = []
    for i in range(n):
        u = units[i]
        ratio = "" if rel else " ({:.3g}x published)"
        text = (f"<b>{rows[i]}</b><br>{full[i]}<br>published: {_num(pub[i], u)}"
                f"<br>blind (frozen): {_num(float(t['blind_frozen'][i]), u)}"
                + (ratio.format(float(t["blind_frozen"][i]) / pub[i]) if ratio and pub[i] > 0 else "")
                + f"<br>current model: {_num(cur[i], u)} [{lo[i]:.4g}, {hi[i]:.4g}]"
                + (ratio.format(cur[i] / pub[i]) if ratio and pub[i] > 0 else ""))
        if "current_error" in t:
            kind = str(t["error_kind"][i])
            err = "{:+.2f} points" if kind == "points" else "a factor of {:.2f}"
            text += (f"<br>error, blind: {err.format(float(t['blind_error'][i]))}; now: "
                     f"{err.format(float(t['current_error'][i]))}")
        hover.append(text + "<extra></extra>")
    fig = go.Figure()
    marks = (("published", pub * scale, {"symbol": "diamond", "size": 12, "color": "#212121"}),
             ("blind (frozen)", t["blind_frozen"].astype(float) * scale,
              {"symbol": "circle-open", "size": 12, "color": "#7f7f7f", "line": {"width": 2.5}}),
             (f"current model, {over}", cur * scale, {"symbol": "circle", "size": 9, "color": "#1f77b4"}))
    for name, x, marker in marks:
        kw = {}
        if name.startswith("current"):
            kw["error_x"] = {"type": "data", "array": ((hi - cur) * scale).tolist(),
                             "arrayminus": ((cur - lo) * scale).tolist(), "thickness": 2, "width": 5,
                             "color": "#1f77b4"}
        fig.add_scatter(x=x.tolist(), y=rows, mode="markers", name=name, marker=marker, hovertemplate=hover,
                        cliponaxis=False, **kw)
    if ref is not None:  # the reference line, its words in the empty band below the last row
        fig.add_vline(x=ref, line_dash="dot", line_color="#616161")
        fig.add_annotation(x=np.log10(ref) if not rel else ref, y=0.0, xref="x", yref="paper", yanchor="bottom",
                           xanchor="left", text=ref_text, showarrow=False, font={"size": 11, "color": "#616161"})
    head = title or f"Frozen blind, current model and published: {n} revealed row{'s' if n != 1 else ''}"
    wrapped = _wrap(head)
    lines = wrapped.count("<br>") + 1
    top = 20 + 24 * lines + 40  # the title, then the legend's line, above the plot
    height = top + 70 + max(n, 2) * ROW_HEIGHT
    xaxis: dict = {"title": {"text": xtitle}, "type": "linear" if rel else "log", "zeroline": False}
    if not rel:  # ratios as "0.5x", "2x": plotly's minor log labels read as bare digits
        ratios = np.concatenate([pub.where(pub > 0) * 0 + 1, t["blind_frozen"].astype(float) * scale,
                                 lo * scale, hi * scale]).astype(float)
        ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
                 if ratios.min() / 2.2 <= v <= ratios.max() * 2.2]
        xaxis.update(tickvals=ticks, ticktext=[f"{v:g}x" for v in ticks])
    fig.update_layout(
        # plotly anchors a title of several lines by its first: each further line is moved down by hand
        title={"text": wrapped, "y": 1 - (14 + 24 * (lines - 1)) / height, "yanchor": "top", "x": 0.02},
        template="plotly_white", height=height, margin={"t": top, "b": 70, "r": 30},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        xaxis=xaxis,
        yaxis={"title": {"text": "revealed row"}, "type": "category", "range": [n - 0.5 + 0.6, -0.6],
               "categoryorder": "array", "categoryarray": rows, "automargin": True},
        hoverlabel={"align": "left"})
    return fig
