"""Calibration of the prediction intervals: how often the published values fall inside them.

An interval is useful only if it is right about as often as it says. For every published row the kit covers
(microbenchmarks always; the macro rows with ``macro=True``), :func:`row_intervals` computes the model's
prediction intervals at each nominal level of :data:`kit.uncertainty.propagate.LEVELS` (50, 80, 90, 95%) from
the plausible ranges of the parameters the row reads (:mod:`kit.uncertainty`), and :func:`coverage` reports, for
the test rows and, apart, the fit rows, the fraction of published values inside (a published range counts when
it meets the interval) and the median width of the intervals relative to the model's value.

Two failure modes, both shown (:func:`verdict`): **overconfident**, a coverage significantly below the nominal
level (the ranges are too narrow, or the model misses for a reason no range covers); **vacuous**, a coverage met
with intervals so wide they say nothing (a median width above :data:`VACUOUS_WIDTH` of the value).
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..errors import HvkitError
from ..uncertainty.overrides import HardwareView, reads
from ..uncertainty.propagate import LEVEL, LEVELS, Interval, exact_intervals, result_parameters
from .calibration import family_of, model_value, paper_of, parse_overrides
from .published import load_published, value_range

__all__ = ["row_intervals", "coverage", "verdict", "VACUOUS_WIDTH", "reliability", "macro_intervals"]

#: A median interval wider than this share of the model's value says nothing (a factor of about three end to end)
VACUOUS_WIDTH = (1.0, "an interval as wide as the value itself spans a factor of about three from end to end: it "
                      "would hold nearly any measurement of the same order")


def _row_interval(row: Any) -> Interval:
    """The prediction interval of one microbenchmark row's model value."""
    from ..inputs.resolve import resolve_platform
    hw_reads: set[str] = set()
    with reads() as r:
        nominal = float(model_value(row, lambda hw: HardwareView(hw, reads=hw_reads)))
    over = parse_overrides(row["overrides"]) if row["compare"] != "parameter" else None
    if over is not None:
        hw = resolve_platform(row["hardware"], row["hypervisor"], hw_overrides=over.hw or None,
                              mode_overrides=over.mode)[0]
        given = set(over.hw)  # a value the row sets is given, not uncertain
    else:
        from ..inputs.hardware import load_hardware
        hw, given = load_hardware("skylake-sp-2017"), set()
    params = [p for p in result_parameters(hw, _NoWorkload(), hw_reads - given, r["path"], r["const"])]

    def fn(values: Any) -> dict:
        hv = {k[3:]: v for k, v in values.items() if k.startswith("hw.")}
        from ..uncertainty.overrides import applied
        with applied(values):
            return {"model": model_value(row, lambda h: HardwareView(h, hv))}

    return exact_intervals(fn, params, {"model": nominal})["model"]


class _NoWorkload:
    """A microbenchmark has no workload: no workload parameter."""

    provenance: dict = {}
    id = "microbenchmark"


def row_intervals(rows: pd.DataFrame | None = None, roles: tuple[str, ...] = ("test", "fit")) -> pd.DataFrame:
    """Every scored microbenchmark row (``roles``) with the model's value, its interval at each level, whether the
    published value is inside, the interval's width relative to the value and its dominant parameters."""
    pub = load_published() if rows is None else rows
    pub = pub[pub["role"].isin(roles) & ~pub["compare"].isin(["macro", "macro_gain"])]
    out = []
    for _, r in pub.iterrows():
        try:
            iv = _row_interval(r)
        except HvkitError as exc:
            out.append({"id": r["id"], "role": r["role"], "error": str(exc)})
            continue
        out.append(_record(r, float(model_value(r)), iv))
    return pd.DataFrame(out)


def _record(r: Any, model: float, iv: Interval) -> dict:
    low, high = value_range(r["value"])
    rec = {"id": r["id"], "paper": paper_of(r["id"]), "role": r["role"], "family": family_of(r["hypervisor"]),
           "kind": "macro" if r["compare"] in ("macro", "macro_gain") else "micro", "published_low": low,
           "published_high": high, "model": model, "dominant": iv.dominant_text(), "method": iv.method, "error": ""}
    for lv, lo, hi in iv.levels:
        tag = f"{round(lv * 100)}"
        rec[f"low_{tag}"], rec[f"high_{tag}"] = lo, hi
        rec[f"inside_{tag}"] = bool(hi >= low and lo <= high)
        rec[f"width_{tag}"] = (hi - lo) / abs(model) if model else math.inf
    return rec


def macro_intervals(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The macro rows (an application's relative performance, or a mode's best gain over a baseline setting)
    with the model's value at the row's first seed and its prediction intervals from simulations
    (:func:`kit.uncertainty.propagate.sampled_intervals`)."""
    from ..inputs.spec import Spec
    from ..run.runs import _evaluate, native_spec
    from ..uncertainty.propagate import sampled_intervals
    pub = load_published() if rows is None else rows
    macro = pub[pub["compare"].isin(["macro", "macro_gain"]) & pub["role"].isin(["test", "fit"])]
    out = []
    for _, r in macro.iterrows():
        over = parse_overrides(r["overrides"])
        kw = dict(hardware=r["hardware"], hypervisor=r["hypervisor"], mode=over.mode, hw=over.hw, seed=1, **over.top)
        scale = 100.0 if r["unit"] == "%" else 1.0
        best = None
        for wl in r["op"].split("|"):
            a = Spec.make(workload=wl, params=over.params, **kw)
            specs = [a, native_spec(a)]
            if r["compare"] == "macro_gain":
                specs.append(a.replace(mode={**dict(a.mode), **parse_overrides(r["baseline"]).mode}))
            hib = _higher_is_better(a)
            from ..run import run
            nominal_vals = [float(run(sp, baseline=False).summary.iloc[0]["value"]) for sp in specs]

            def rel(v: dict, k: str) -> float:
                x, n = v[k], v["1"]
                return x / n if hib else n / x

            def quantities(v: dict, i: int) -> dict:
                if r["compare"] == "macro":
                    return {"q": rel(v, "0")}
                return {"q": rel(v, "0") / rel(v, "2")}  # the gain plus one: positive, so its log exists

            nv = {str(k): x for k, x in enumerate(nominal_vals)}
            q = quantities(nv, 0)["q"]
            iv = sampled_intervals(specs, _evaluate, quantities, [{"q": q}], lambda i: list(range(len(specs))))[0]["q"]
            if r["compare"] == "macro_gain":
                iv = _shift(iv, -1.0)
                q -= 1.0
            if best is None or q > best[0]:
                best = (q, iv)
        assert best is not None
        q, iv = best
        iv = _scale(iv, scale)
        out.append(_record(r, q * scale, iv))
    return pd.DataFrame(out)


def _higher_is_better(spec: Any) -> bool:
    from ..inputs.workloads import load_workload
    return bool(load_workload(spec.workload).higher_is_better)


def _shift(iv: Interval, d: float) -> Interval:
    import dataclasses
    return dataclasses.replace(iv, low=iv.low + d, high=iv.high + d,
                               levels=tuple((lv, lo + d, hi + d) for lv, lo, hi in iv.levels))


def _scale(iv: Interval, k: float) -> Interval:
    import dataclasses
    return dataclasses.replace(iv, low=iv.low * k, high=iv.high * k,
                               levels=tuple((lv, lo * k, hi * k) for lv, lo, hi in iv.levels))


def verdict(coverage_share: float, nominal: float, rows: int, median_width: float) -> str:
    """``overconfident`` when the coverage is below the nominal level by more than two binomial standard errors,
    ``vacuous`` when it is met with a median width above :data:`VACUOUS_WIDTH`, else ``calibrated``."""
    if rows == 0:
        return "no rows"
    se = math.sqrt(nominal * (1 - nominal) / rows)
    if coverage_share < nominal - 2 * se:
        return "overconfident"
    if median_width > VACUOUS_WIDTH[0]:
        return "vacuous"
    return "calibrated"


def reliability(table: pd.DataFrame) -> pd.DataFrame:
    """Nominal against observed coverage per role (and kind): one row per role x kind x level, with the rows
    counted, the share inside, the median relative width and the verdict."""
    ok = table[table["error"].fillna("") == ""] if "error" in table else table
    out = []
    for (role, kind), g in ok.groupby(["role", "kind"]):
        for lv in LEVELS:
            tag = f"{round(lv * 100)}"
            share = float(g[f"inside_{tag}"].mean()) if len(g) else math.nan
            width = float(g[f"width_{tag}"].median()) if len(g) else math.nan
            out.append({"role": role, "kind": kind, "nominal": lv, "rows": len(g), "observed": share,
                        "median_width": width, "verdict": verdict(share, lv, len(g), width)})
    return pd.DataFrame(out)


def coverage(macro: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scored row with its intervals (micro, and macro when asked) and the reliability table
    (:func:`reliability`); the headline is the test rows at the 90% level."""
    table = row_intervals()
    if macro:
        table = pd.concat([table, macro_intervals()], ignore_index=True)
    return table, reliability(table)


def headline(rel: pd.DataFrame) -> dict:
    """The test rows at the 90% level: rows, coverage, median width and verdict (per kind)."""
    t = rel[(rel["role"] == "test") & (rel["nominal"] == LEVEL)]
    return {row["kind"]: {"rows": int(row["rows"]), "coverage": float(row["observed"]),
                          "median_width": float(row["median_width"]), "verdict": row["verdict"]}
            for _, row in t.iterrows()}
