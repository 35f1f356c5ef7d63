"""A sweep's two intervals per point: what its noise interval is (``ci_note``), and its model uncertainty.

:func:`with_intervals` adds to a sweep's rows, once per point (its replications share it), the 90% prediction
intervals of ``value`` and ``relative_performance`` from the plausible ranges of the parameters the point reads
(:mod:`kit.uncertainty`; the same as ``kit.run(spec, model_uncertainty=True)``), the dominant parameters, and
``ci_note``: a point whose engine is the closed form is "exact given the parameters: no sampling noise", so that a
band of zero width over its replications is not read as a measurement. ``sweep(..., model_uncertainty=True)``
computes the prediction intervals (``hvkit sweep`` does unless given ``--no-model-uncertainty``).
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..inputs.spec import Spec

__all__ = ["with_intervals", "INTERVAL_COLUMNS"]

#: The columns :func:`with_intervals` adds
INTERVAL_COLUMNS = ["ci_note", "pi_low", "pi_high", "relative_pi_low", "relative_pi_high", "pi_dominant",
                    "pi_method", "pi_note"]


def _point_result(spec: Spec, row: Any) -> Any:
    """A one-row Result of a finished point (what :func:`kit.uncertainty.attach` reads)."""
    from ..results import SUMMARY_COLUMNS, Result
    summary: dict[str, Any] = {c: None for c in SUMMARY_COLUMNS}
    summary.update({k: row[k] for k in ("value", "native_value", "relative_performance", "engine",
                                        "higher_is_better", "metric", "unit")},
                   run=0, scenario=spec.label(), neighbor=spec.neighbor, error="")
    return Result.from_rows([summary], [], [], [], [spec])


def with_intervals(df: pd.DataFrame, specs: dict[str, Spec], model_uncertainty: bool = True) -> pd.DataFrame:
    """``df`` (a sweep's rows) with :data:`INTERVAL_COLUMNS`; ``specs`` maps each row's ``spec_hash`` to its spec.
    Without ``model_uncertainty`` the prediction intervals are missing and ``pi_note`` says so."""
    from ..run.runs import _model_uncertainty
    from ..uncertainty.notes import noise_note, not_computed
    out: dict[str, list] = {c: [] for c in INTERVAL_COLUMNS}
    done: dict[str, dict] = {}
    for _, row in df.iterrows():
        ok = not row.get("error")
        spec = specs.get(row["spec_hash"])
        point = None if spec is None else spec.replace(seed=0).key("point")
        if not ok or spec is None:
            got = {**not_computed("the point has an error" if not ok else "no spec"), "ci_note": None}
        elif not model_uncertainty:
            got = {**not_computed("model_uncertainty=False (--no-model-uncertainty)"),
                   "ci_note": noise_note(str(row["engine"]), 1)}
        elif point is not None and point in done:
            got = done[point]
        else:
            s = _model_uncertainty(_point_result(spec, row)).summary.iloc[0]
            got = {c: (None if isinstance(s[c], float) and math.isnan(s[c]) else s[c]) for c in INTERVAL_COLUMNS}
            got["ci_note"] = noise_note(str(row["engine"]), 1)
            if point is not None:
                done[point] = got
        for c in INTERVAL_COLUMNS:
            out[c].append(got.get(c))
    res = df.copy()
    for c in INTERVAL_COLUMNS:
        res[c] = out[c]
    return res
