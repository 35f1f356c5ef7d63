"""Figure builders of a sweep: a metric against a parameter with its bands, and over a two-parameter grid.
Pure functions of a sweep's rows (they display nothing and write no file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import _context, _exact, _sentence, _short, _wrap, label, mode_colors

__all__ = ["sweep_line", "sweep_heatmap"]


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
    default = _sentence(vs) + (f", by {_short(words[color])}" if color else "") + _context(df)
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
    fig.update_layout(title=title or _wrap(_sentence(default)), xaxis_title=words[x], yaxis_title=words[y],
                      template="plotly_white")
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig
