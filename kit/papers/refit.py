"""Leave one paper out: refit every fitted path length without one paper's rows, and score that paper.

The calibrated path lengths of :data:`kit.costs.codepaths.FITTED_TO` were set by hand to the rows they name. This
module refits them by least squares on relative error from any subset of the fit rows: a parameter is
identified by the rows it names, and its value minimizes the error of every given fit row whose model value
depends on it (coordinate descent, a few sweeps, golden-section search over a factor of 20 either way); rows
are then evaluated with the refitted values (:func:`kit.costs.codepaths.path_overrides`; the table is never
edited).

Leaving a paper out shows what the model predicts about that paper from everything else. A parameter whose rows
all come from the left-out paper cannot be refitted: it is taken as absent, so the release-less entry or the
fallback family's path (:data:`kit.costs.codepaths.FALLBACK`) stands in for it, and where none exists the rows
that need it are reported as not predictable without the paper. Hardware values fitted to published rows
(:data:`kit.papers.calibration.HARDWARE_FITTED_TO`) are held fixed and named in the table.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from ..costs.codepaths import FITTED_TO, SOFTWARE, path_overrides
from ..errors import HvkitError
from .calibration import HARDWARE_FITTED_TO, joint_groups, model_value, paper_of, row_error
from .published import load_published

__all__ = ["refit", "evaluate", "leave_one_paper_out", "joint_groups", "at_search_bound", "SEARCH_FACTOR", "SWEEPS"]

#: The search interval of each parameter: its current value divided and multiplied by this factor.
SEARCH_FACTOR = 20.0
#: Coordinate-descent sweeps over the parameters.
SWEEPS = 3
_GOLDEN = (math.sqrt(5) - 1) / 2


def _value(row, values: Mapping[str, float | None]) -> float:
    with path_overrides(values):
        return model_value(row)


def _loss(rows: list, values: Mapping[str, float | None]) -> float:
    total = 0.0
    for r in rows:
        try:
            m = _value(r, values)
        except HvkitError:
            return math.inf
        p = float(r["value"])
        total += ((m - p) / p) ** 2
    return total


def refit(fit_rows: pd.DataFrame, params: Iterable[str] | None = None) -> dict[str, float | None]:
    """Path lengths refitted to ``fit_rows`` (each group of :func:`joint_groups` to the rows it names that are
    among them, as one factor on the group's values).

    A parameter none of whose rows is given is returned as ``None`` (absent: its fallback applies).
    """
    params = list(FITTED_TO) if params is None else list(params)
    by_id = {r["id"]: r for _, r in fit_rows.iterrows()}
    groups = [g for g in joint_groups(params) if any(i in by_id for i in FITTED_TO[g[0]])]
    identified = {p for g in groups for p in g}
    values: dict[str, float | None] = {p: (SOFTWARE[p][0] if p in identified else None) for p in params}
    rows_of = {g: _dependent(list(by_id.values()), g, values) for g in groups}
    for _ in range(SWEEPS):
        for g in groups:
            if not rows_of[g]:
                continue
            lo, hi = -math.log(SEARCH_FACTOR), math.log(SEARCH_FACTOR)

            def f(x: float, g: tuple[str, ...] = g) -> float:
                return _loss(rows_of[g], {**values, **{p: SOFTWARE[p][0] * math.exp(x) for p in g}})

            a, b = lo, hi
            c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
            fc, fd = f(c), f(d)
            for _ in range(40):
                if fc <= fd:
                    b, d, fd = d, c, fc
                    c = b - _GOLDEN * (b - a)
                    fc = f(c)
                else:
                    a, c, fc = c, d, fd
                    d = a + _GOLDEN * (b - a)
                    fd = f(d)
            best = (a + b) / 2
            for p in g:  # every value fails: the rows need another parameter that is not identified
                values[p] = SOFTWARE[p][0] * math.exp(best) if math.isfinite(f(best)) else None
    return values


def at_search_bound(values: Mapping[str, float | None], tolerance: float = 0.02) -> pd.DataFrame:
    """The groups of a refit whose factor sits at the search interval's end (within ``tolerance`` of its log
    width): their rows want a value the search did not allow, so the fit says less than its value suggests.
    Columns: ``parameters`` (the group, ``+``-joined), ``factor`` (refitted over current), ``bound``."""
    out = []
    edge = math.log(SEARCH_FACTOR)
    for g in joint_groups([p for p in values if p in FITTED_TO]):
        v = values[g[0]]
        if v is None:
            continue
        x = math.log(v / SOFTWARE[g[0]][0])
        if abs(x) >= edge * (1 - tolerance):
            out.append({"parameters": "+".join(g), "factor": math.exp(x),
                        "bound": f"{'lower' if x < 0 else 'upper'} (x{1 / SEARCH_FACTOR if x < 0 else SEARCH_FACTOR:g})",
                        "rows": ", ".join(FITTED_TO[g[0]])})
    return pd.DataFrame(out, columns=["parameters", "factor", "bound", "rows"])


def _dependent(rows: list, g: tuple[str, ...], values: Mapping[str, float | None]) -> list:
    """The rows whose model value changes when the group ``g``'s values double."""
    out = []
    for r in rows:
        try:
            a = _value(r, values)
            b = _value(r, {**values, **{p: 2 * SOFTWARE[p][0] for p in g}})
        except HvkitError:
            continue
        if a != b:
            out.append(r)
    return out


def evaluate(rows: pd.DataFrame, values: Mapping[str, float | None]) -> pd.DataFrame:
    """``rows`` with the model's value and relative error under ``values`` (NaN where not predictable)."""
    out = []
    for _, r in rows.iterrows():
        try:
            m = _value(r, values)
            err, _ = row_error(m, r["value"])
        except HvkitError:
            m, err = math.nan, math.nan
        out.append({"id": r["id"], "role": r["role"], "published": float(r["value"]), "model": m, "rel_error": err})
    return pd.DataFrame(out)


def leave_one_paper_out(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per paper with scored rows: its median and worst relative error with every paper's fit (the
    current hand calibration) and with the parameters refitted without it, the parameters refitted and the
    ones left unidentified, and how many of its rows cannot be predicted without it. A first row, ``(none)``,
    refits on every paper: how close the refit comes to the hand calibration."""
    pub = load_published() if rows is None else rows
    scored = pub[pub["role"].isin(["fit", "test"]) & ~pub["compare"].isin(["macro", "macro_gain"])]
    fit = scored[scored["role"] == "fit"]
    current = {p: SOFTWARE[p][0] for p in FITTED_TO}
    base = evaluate(scored, {})
    held = "; ".join(f"{hw}.{p}" for hw, p in HARDWARE_FITTED_TO)
    out = []
    everything = refit(fit)
    drift = max(abs(math.log(v / current[p])) for p, v in everything.items() if v is not None)
    allfit = evaluate(scored, everything)
    out.append({"left_out": "(none)", "rows": len(scored), "fit_rows": len(fit),
                "median_in_sample": float(base["rel_error"].abs().median()),
                "median_left_out": float(allfit["rel_error"].abs().median()),
                "worst_left_out": float(allfit["rel_error"].abs().max()), "not_predictable": 0,
                "refitted": len([v for v in everything.values() if v is not None]), "unidentified": "",
                "note": f"refit on every paper; largest change from the hand calibration x{math.exp(drift):.2f}; "
                        f"hardware values held: {held}"})
    for paper in sorted({paper_of(i) for i in scored["id"]}):
        mine = scored[[paper_of(i) == paper for i in scored["id"]]]
        rest = fit[[paper_of(i) != paper for i in fit["id"]]]
        values = refit(rest)
        unidentified = sorted(p for p, v in values.items() if v is None and any(paper_of(i) == paper
                                                                                  for i in FITTED_TO[p]))
        ev = evaluate(mine, values)
        b = base[base["id"].isin(mine["id"])]
        a = ev["rel_error"].abs()
        out.append({"left_out": paper, "rows": len(mine), "fit_rows": int((mine["role"] == "fit").sum()),
                    "median_in_sample": float(b["rel_error"].abs().median()),
                    "median_left_out": float(a.median()) if a.notna().any() else math.nan,
                    "worst_left_out": float(a.max()) if a.notna().any() else math.nan,
                    "not_predictable": int(a.isna().sum()),
                    "refitted": len([p for p, v in values.items() if v is not None]),
                    "unidentified": ", ".join(unidentified), "note": ""})
    return pd.DataFrame(out)
