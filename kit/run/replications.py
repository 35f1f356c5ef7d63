"""Replications of one run: how many (:func:`check_replications`), their seeds (:func:`replication_specs`) and
one result from them, the summary's means with Student's t intervals (:func:`_combine`).
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from ..errors import HvkitError

if TYPE_CHECKING:
    from ..inputs.spec import Spec
    from ..results import Result

__all__ = ["MAX_REPLICATIONS", "check_replications", "replication_specs"]


#: Most replications of one run or comparison (as a sweep file's ``replications``)
MAX_REPLICATIONS = 1000


def check_replications(replications: Any, field: str = "replications") -> int:
    """``replications`` as an int from 1 to :data:`MAX_REPLICATIONS`, or a one-line error naming ``field``."""
    from ..inputs.coerce import strict_int
    allowed = f"a whole number from 1 to {MAX_REPLICATIONS}"
    try:
        n = strict_int(value=replications)
    except Exception:
        raise HvkitError("not a whole number", field=field, value=replications, allowed=allowed) from None
    if not 1 <= n <= MAX_REPLICATIONS:
        raise HvkitError("out of range", field=field, value=replications, allowed=allowed)
    return n


def replication_specs(spec: Spec, replications: int) -> list[Spec]:
    """The specs of ``replications`` runs of ``spec``: the spec itself for one, else one per replication with
    the seed :func:`kit.stats.replication_seed` derives from the spec's (as a sweep's replications)."""
    from ..stats import replication_seed
    n = check_replications(replications)
    if n == 1:
        return [spec]
    return [spec.replace(seed=replication_seed(spec.seed, r)) for r in range(n)]



def _replication_mean(values: list[float]) -> tuple[float, float | None]:
    """A summary column's mean over replications and its 95% half-width (:func:`kit.stats.t_interval`): missing
    (NaN, no interval) where no replication measured it (no baseline, no neighbour); a column measured by some
    replications only is an error there."""
    if all(math.isnan(v) for v in values):
        return math.nan, None
    from ..stats import t_interval
    return t_interval(values)


def _combine(parts: list[Result], spec: Spec) -> Result:
    """One result from the replications of ``spec`` (``parts``, one run each): the summary's numbers are their
    means with 95% intervals from Student's t; the other tables are the first replication's."""
    import pandas as pd

    first = parts[0]
    if len(parts) == 1:
        return first
    rows = [p.summary.iloc[0] for p in parts]
    s = first.summary.copy()
    for col in ("value", "native_value", "alone_value", "interference", "relative_vs_native_with_neighbor",
                "units", "events", "events_per_sim_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"):
        s[col] = s[col].astype(float)
        s.loc[0, col] = _replication_mean([float(r[col]) for r in rows])[0]
    value, half = _replication_mean([float(r["value"]) for r in rows])
    s["ci_low"], s["ci_high"] = s["ci_low"].astype(object), s["ci_high"].astype(object)
    s.loc[0, ["ci_low", "ci_high"]] = [value - half, value + half] if half is not None else [None, None]
    rel, rhalf = _replication_mean([float(r["relative_performance"]) for r in rows])
    s["relative_performance"] = s["relative_performance"].astype(float)
    s.loc[0, "relative_performance"] = rel
    if rhalf is not None:
        s["relative_ci_low"], s["relative_ci_high"] = rel - rhalf, rel + rhalf
    for col in ("interference", "relative_vs_native_with_neighbor"):  # the derived ratios, over replications
        mean, half = _replication_mean([float(r[col]) for r in rows])
        if half is not None:
            s[f"{col}_ci_low"], s[f"{col}_ci_high"] = mean - half, mean + half
    from ..uncertainty.notes import noise_note
    s.loc[0, "ci_note"] = noise_note(str(s.loc[0, "engine"]), len(parts))
    s.loc[0, "seed"] = spec.seed
    s.loc[0, "replications"] = len(parts)
    s.loc[0, "wall_s"] = sum(float(r["wall_s"]) for r in rows)
    s.loc[0, "stop_reason"] = "; ".join(dict.fromkeys(str(r["stop_reason"]) for r in rows))
    s.loc[0, "warnings"] = "; ".join(dict.fromkeys(str(r["warnings"]) for r in rows if r["warnings"]))
    reps = pd.concat([p.replicas.assign(replication=i) for i, p in enumerate(parts)], ignore_index=True)
    return dataclasses.replace(first, summary=s, replicas=reps, specs=[spec])
