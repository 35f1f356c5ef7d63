"""The plausible range of each calibrated path length, from its fit.

A calibrated path (:data:`kit.costs.codepaths.FITTED_TO`) was set to the published rows it names. How far it may
be off is what those rows allow: a profile likelihood of the fit. Moving the parameter away from its value, with
every other parameter held, the rows it was fitted to drift from their published values; the range is where the
sum of their squared relative errors rises by at most :data:`CHI2_90` times the square of :data:`TOLERANCE`: the
90% profile-likelihood interval of one parameter when each row carries a relative error of the size the model
shows on evidence (its median error on the test rows). A row the path does not move is left out. Where the fit
does not constrain a side (the path is a small part of its rows), what bounds it is what any path length read
from the code carries, a factor of :data:`PRIOR_FACTOR`: the range is the profile interval within that factor.
The bounds are searched by bisection on a log scale.

The ranges are written into the sources of :data:`kit.costs.codepaths.SOFTWARE` ("calibrated: ...; plausible
LOW-HIGH because ..."), beside the values they belong to; ``tests/test_ranges.py`` recomputes them here and fails
when a committed range no longer matches its fit.
"""
from __future__ import annotations

import math

import pandas as pd

from ..costs.codepaths import FITTED_TO, SOFTWARE, path_overrides
from ..errors import HvkitError
from .calibration import model_value, row_error
from .published import load_published

__all__ = ["TOLERANCE", "CHI2_90", "PRIOR_FACTOR", "fit_range", "fit_ranges", "range_clause"]

#: The error a fitted row may take before a value is no longer plausible
TOLERANCE = (0.15, "the median |relative error| of the model on the test rows (hvkit validate: 15.0% over 72 rows) "
                   "when the ranges were derived: a fit row within it is as good as the model is on evidence")
#: The 0.90 quantile of the chi-square distribution with one degree of freedom (any statistics table): the rise of
#: the sum of squared standardized errors that bounds a one-parameter 90% profile-likelihood interval
CHI2_90 = 2.706
#: How far a path length read from the code may be off before any fit (the estimated paths' range)
PRIOR_FACTOR = 2.0
_STEPS = 40


def _errors(rows: list, path: str, value: float) -> list[float]:
    out = []
    with path_overrides({path: value}):
        for r in rows:
            try:
                out.append(abs(row_error(model_value(r), r["value"])[0]))
            except HvkitError:
                out.append(math.inf)
    return out


def _bound(rows: list, path: str, v0: float, limit: float, direction: float) -> float:
    """The farthest value from ``v0`` (towards ``direction``: -1 lower, +1 higher) whose rows' sum of squared
    relative errors stays within ``limit``."""
    def ok(x: float) -> bool:
        return math.fsum(e * e for e in _errors(rows, path, v0 * math.exp(direction * x))) <= limit

    far = math.log(PRIOR_FACTOR)
    if ok(far):
        return v0 * math.exp(direction * far)
    lo, hi = 0.0, far
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return v0 * math.exp(direction * lo)


def fit_range(path: str, published: pd.DataFrame | None = None) -> tuple[float, float]:
    """``(low, high)`` of calibrated path ``path``: the values at which the sum of squared relative errors of
    the rows it was fitted to (those whose model value depends on it) rises by at most ``CHI2_90 *
    TOLERANCE**2`` over its value at the calibrated length, within a factor of :data:`PRIOR_FACTOR`."""
    if path not in FITTED_TO:
        raise HvkitError("not a calibrated path", field="path", value=path, allowed=sorted(FITTED_TO))
    pub = load_published() if published is None else published
    by_id = {r["id"]: r for _, r in pub.iterrows()}
    v0 = float(SOFTWARE[path][0])
    rows = [by_id[i] for i in FITTED_TO[path] if i in by_id]
    base = _errors(rows, path, v0)
    moved = _errors(rows, path, 2 * v0)
    rows = [r for r, a, b in zip(rows, base, moved) if a != b]  # rows that read the path
    if not rows:
        raise HvkitError("no fitted row depends on the path", field="path", value=path)
    limit = math.fsum(e * e for e in _errors(rows, path, v0)) + CHI2_90 * TOLERANCE[0] ** 2
    return _bound(rows, path, v0, limit, -1.0), _bound(rows, path, v0, limit, +1.0)


def _round_out(x: float, up: bool) -> float:
    """``x`` to two significant digits, rounded away from the value it bounds."""
    if x <= 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(x)) - 1)
    return (math.ceil(x / step - 1e-9) if up else math.floor(x / step + 1e-9)) * step


def range_clause(path: str, published: pd.DataFrame | None = None) -> str:
    """The clause a calibrated path's source ends with: ``plausible LOW-HIGH because ...``."""
    lo, hi = fit_range(path, published)
    lo, hi = _round_out(lo, up=False), _round_out(hi, up=True)
    rows = ", ".join(FITTED_TO[path])
    return (f"plausible {lo:g}-{hi:g} because this is the 90% profile-likelihood interval of its fit to {rows}, "
            f"each row taken to carry the model's median error on test rows ({TOLERANCE[0]:.0%}), within the "
            f"factor of {PRIOR_FACTOR:g} a path length read from the code carries")


def fit_ranges(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every calibrated path with its value, its range from the fit, and the range its source states."""
    from ..inputs.ranges import parse_clause
    pub = load_published() if published is None else published
    out = []
    for path in FITTED_TO:
        lo, hi = fit_range(path, pub)
        stated = parse_clause(SOFTWARE[path][1])
        out.append({"path": path, "value": float(SOFTWARE[path][0]), "low": lo, "high": hi,
                    "stated_low": stated.low if stated else math.nan,
                    "stated_high": stated.high if stated else math.nan})
    return pd.DataFrame(out)
