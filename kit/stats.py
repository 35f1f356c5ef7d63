"""The statistics every layer shares: Student's t quantiles, the t interval of a mean over replications (of a list,
:func:`t_interval`, or of the groups of a table, :func:`mean_ci`), the seed of a replication, and a number printed
with only the digits its interval supports.

A replicated run (``kit.run(spec, replications=N)``, ``hvkit run --replications N``) and a sweep's replications
take their seeds from :func:`replication_seed`, so the same spec and replication give the same run in every
process. Intervals over replications use Student's t (:func:`t_interval`): with two or three replications the
normal z interval is 2.3 to 6.5 times too narrow (z = 1.96 against t = 12.71 for one degree of freedom and 4.30
for two). With one replication the interval is unknown, never zero; no value is no mean, and a value that is not
finite is refused rather than averaged. :func:`t_interval` is the one place such an interval is computed: runs,
sweeps, the calibration's macro rows and the blind prediction generators all call it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["replication_seed", "t_quantile", "t95", "t_interval", "fit_interval_scale", "mean_ci", "format_ci", "ci_digits"]


def replication_seed(base_seed: int, replication: int) -> int:
    """The seed of replication ``replication`` of a spec whose seed is ``base_seed`` (NumPy's SeedSequence: the
    streams of different replications are independent, and the same pair gives the same seed everywhere)."""
    return int(np.random.SeedSequence([base_seed, replication]).generate_state(1)[0])


def _t_cdf(x: float, df: int, steps: int = 4000) -> float:
    """Student's t CDF at ``x`` >= 0 by Simpson's rule on the density."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    h = x / steps
    f = [c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(steps + 1)]
    return 0.5 + h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))


@lru_cache(maxsize=64)
def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``df`` degrees of freedom, by bisection."""
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


#: The 0.975 quantile of Student's t for 1 to 30 degrees of freedom (any statistics table, e.g. NIST/SEMATECH
#: e-Handbook of Statistical Methods, table 1.3.6.7.2).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t95(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom, fast (an early-stopping run asks at every
    batch): the table up to 30 (a fractional ``df``, as Welch's, is rounded down, which widens the interval), then
    the Cornish-Fisher expansion (within 1e-4)."""
    if df < 1:
        raise ValueError("t95 needs at least one degree of freedom")
    if df < 31:
        return _T975[int(df) - 1]
    z = 1.959963984540054
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float | None]:
    """Mean of ``values`` and the half-width of its ``level`` confidence interval from Student's t.

    Parameters
    ----------
    values : sequence of float
        One number per replication (or seed), all finite.
    level : float
        Confidence level of the interval.

    Returns
    -------
    mean : float
        The mean (an exactly rounded sum over the count).
    half : float or None
        The half-width: None (unknown) for a single value, and 0 for values equal up to rounding (sums of the same
        terms in another order differ in the last bits; a closed form has no sampling noise).

    Raises
    ------
    ValueError
        With no value (there is no mean), or a value that is NaN or infinite (named with its position).
    """
    x = [float(v) for v in values]
    n = len(x)
    if not n:
        raise ValueError("t_interval needs at least one value: with none there is no mean")
    bad = next((i for i, v in enumerate(x) if not math.isfinite(v)), None)
    if bad is not None:
        raise ValueError(f"t_interval takes finite numbers: value {bad} of {n} is {x[bad]}")
    mean = math.fsum(x) / n
    if n < 2:
        return mean, None
    if max(x) - min(x) <= 1e-12 * max(abs(v) for v in x):
        return mean, 0.0  # the same value up to rounding (a closed form has no sampling noise): no spread
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in x) / (n - 1))
    return mean, t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)


def fit_interval_scale(dof: int, level: float = 0.95) -> float:
    """The Student's t factor that turns a least-squares parameter's standard error into its ``level`` interval,
    with ``dof`` = rows fitted minus parameters fitted (a fit's interval, not a mean's: :func:`t_interval` is the
    one interval of a mean over replications or seeds)."""
    if dof < 1:
        raise ValueError("a fit's interval needs at least one spare row (degrees of freedom >= 1)")
    return t_quantile(0.5 + level / 2, dof)


def mean_ci(df: Any, by: list[str], value: str = "relative_performance", level: float = 0.95) -> Any:
    """The mean of ``value`` and its ``level`` interval from Student's t (:func:`t_interval`) per group of ``by``.

    Parameters
    ----------
    df : DataFrame
        One row per replication, as a sweep returns it; rows whose ``error`` is set are left out.
    by : list of str
        The columns that name a group (a sweep point without its replication).
    value : str
        The column to average.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``mean``, ``std`` (the sample standard deviation), ``count``,
        ``ci_low`` and ``ci_high``. A group of one replication has no interval: its ``ci_low`` and ``ci_high``
        are missing (unknown, not zero).
    """
    ok = df[df["error"] == ""] if "error" in df.columns else df
    groups = ok.groupby(by)[value]
    g = groups.agg(["mean", "std", "count"]).reset_index()
    intervals = [t_interval(list(values), level) for _, values in groups]
    g["mean"] = [mean for mean, _ in intervals]
    half = [math.nan if h is None else h for _, h in intervals]
    g["ci_low"] = [m - h for (m, _), h in zip(intervals, half)]
    g["ci_high"] = [m + h for (m, _), h in zip(intervals, half)]
    return g


def ci_digits(half: float) -> int:
    """Decimal places that a half-width supports: its leading significant digit, or two digits when that digit is
    1 (so that 0.013 keeps 0.013 rather than rounding to 0.01, a 25% change of the interval). Negative for
    half-widths of tens and more (round(x, -1) rounds to tens)."""
    if not half > 0 or not math.isfinite(half):
        raise ValueError("ci_digits needs a positive finite half-width")
    lead = math.floor(math.log10(half))
    first = int(half / 10 ** lead + 1e-9)
    return -lead + (1 if first == 1 else 0)


def format_ci(mean: float, half: float | None, unit: str = "", sig: int = 4) -> str:
    """``mean ± half`` with only the digits the interval supports: ``format_ci(96.74, 2.13)`` is ``97 ± 2``,
    ``format_ci(0.90123, 0.0132)`` is ``0.901 ± 0.013``. With no interval (one replication) the mean is given
    to ``sig`` significant digits and the interval said to be unknown; an interval of exactly zero (a closed
    form, which has no sampling noise) keeps ``sig`` significant digits and says ``± 0`` (``1.00 ± 0``)."""
    u = f" {unit}" if unit else ""
    if half is None or not math.isfinite(half):
        return f"{mean:.{sig}g}{u} (95% CI unknown: one replication)"
    if half == 0:
        return f"{mean:#.{sig}g} ± 0{u}"
    d = ci_digits(half)
    if d > 0:
        return f"{mean:.{d}f} ± {half:.{d}f}{u}"
    step = 10 ** -d
    return f"{round(mean / step) * step:.0f} ± {round(half / step) * step:.0f}{u}"
