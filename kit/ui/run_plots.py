"""Figure builders of a run or a comparison: relative performance, where the time went (the breakdown,
exits, a path's steps), request latency and what each vCPU did over time. Pure functions of a
:class:`~kit.results.Result`'s tables (they display nothing and write no file); the words, units and colours are
:mod:`kit.ui.style`'s."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .style import (MODE_COLORS, STATE_COLORS, _bar_names, _category_order, _context, _exact, _left_out, _listing,
    _short, _valid_runs, _wrap, category_colors, label, mode_colors)

__all__ = [
    "relative_performance", "overhead_breakdown", "exits_per_second", "latency_cdf", "path_waterfall",
    "vcpu_timeline"]


def _interval_words(d: pd.DataFrame) -> list[str]:
    """Per row, the intervals its relative performance carries, in words for the hover text: the 90% prediction
    interval (model uncertainty) and the 95% interval over replications (simulation noise), or why there is none."""
    def num(col: str) -> np.ndarray:
        return (pd.to_numeric(d[col], errors="coerce") if col in d else pd.Series(np.nan, index=d.index)).to_numpy(
            dtype=float)
    pi_lo, pi_hi = num("relative_pi_low"), num("relative_pi_high")
    ci_lo, ci_hi = num("relative_ci_low"), num("relative_ci_high")
    exact = _exact(d).to_numpy()
    out = []
    for i in range(len(d)):
        words = []
        if np.isfinite(pi_lo[i]) and np.isfinite(pi_hi[i]):
            words.append(f"90% prediction interval {pi_lo[i]:.3f}-{pi_hi[i]:.3f} (model uncertainty)")
        if exact[i]:
            words.append("exact given the parameters: no sampling noise")
        elif np.isfinite(ci_lo[i]) and np.isfinite(ci_hi[i]):
            words.append(f"95% interval {ci_lo[i]:.3f}-{ci_hi[i]:.3f} over replications (simulation noise)")
        else:
            words.append("one replication: simulation noise not estimated")
        out.append("<br>".join(words))
    return out


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
    ok = ok.assign(interval=_interval_words(ok))
    fig = px.bar(ok, x=x, y="relative_performance", color="hypervisor", color_discrete_map=mode_colors(modes),
                 category_orders={"hypervisor": modes, x: list(dict.fromkeys(ok[x]))}, labels=words,
                 barmode="relative" if x == "hypervisor" else "group", custom_data=["interval"], **ci)
    fig.update_traces(hovertemplate="%{x}<br>%{fullData.name}: %{y:.3f} of native<br>%{customdata[0]}<extra></extra>")
    fig.add_hline(y=1.0, line_dash="dash", line_color=MODE_COLORS["native"], annotation_text="native = 1",
                  annotation_position="top left")
    others = [m for m in modes if m != "native"]
    by = "" if x in ("hypervisor", "scenario") else f", by {_short(words[x])}"
    named = others or modes  # every mode by name: a reader must not guess the one "and 1 more" hides
    listing = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
    default = f"Relative performance against native: {listing}{by}{_context(ok, skip=[x])}"
    shown = title or _wrap(default)
    lines = shown.count("<br>") + 1
    dropped = [str(s) for s in summary.loc[~keep, "hypervisor"]]
    # tall enough for the vertical axis's title beside the plot, whatever the title's lines and the notes below
    top, bottom = 50 + 26 * lines, 120 if whiskers else 80
    plot = 340
    fig.update_layout(title={"text": shown, "y": 1 - 20 / (top + plot + bottom), "yanchor": "top"},
                      legend_title=words["hypervisor"], template="plotly_white", showlegend=x != "hypervisor",
                      height=top + plot + bottom, margin={"t": top, "b": bottom})
    if whiskers:  # below the axis title, where no title line or bar reaches it
        below = (80 if dropped else 62) / plot
        fig.add_annotation(text=_wrap(whiskers, 110), xref="paper", yref="paper", x=0, y=-below,
                           showarrow=False, xanchor="left", yanchor="top", align="left",
                           font={"size": 11, "color": "#555"})
    _left_out(fig, dropped, "failed or no result")
    return fig


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
    """The steps of one operation's path as a waterfall of CPU cycles, ending in the total: one row a step, top to
    bottom, its name (wrapped) on the vertical axis, so long step names neither angle nor squash the plot."""
    cycles = [float(s["cycles"]) for s in path]
    total = sum(cycles)
    steps = [str(s["step"]) for s in path]
    # one category per step even when two steps share a name; the name wrapped to two short lines at most
    names = [_wrap(n, 34) + "\u200b" * steps[:i].count(n) for i, n in enumerate(steps)]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=names + ["total"], x=cycles + [0.0], measure=["relative"] * len(path) + ["total"],
        connector={"line": {"color": "#bdbdbd"}}, text=[f"{c:,.0f}" for c in cycles] + [f"{total:,.0f}"],
        textposition="outside", cliponaxis=False, customdata=steps + ["total"],
        hovertemplate="%{customdata}: %{x:,.0f} cycles<extra></extra>"))
    shown = title or f"The path of one operation, step by step ({total:,.0f} cycles in all)"
    fig.update_layout(title=_wrap(shown), xaxis_title="CPU cycles (cumulative)", yaxis_title="step of the path",
                      template="plotly_white", showlegend=False, height=150 + 40 * (len(path) + 1),
                      margin={"t": 60 + 24 * _wrap(shown).count("<br>"), "b": 60, "r": 60})
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(range=[0, total * 1.15])
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
