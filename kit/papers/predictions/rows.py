"""What the blind prediction generators share: a predicted row of relative performance (:class:`Prediction`),
computed over seeds with its 95% interval (:func:`predict_rows`, :func:`seed_interval`), and the categories whose
time per unit of work grew most against native (:func:`explained`).

Each prediction is a statistic, not one run: the mean over ``seeds`` consecutive seeds (native and the mode share
each seed) with a 95% confidence interval from Student's t (:func:`kit.stats.t_interval`), whose half-width must be
under :data:`MAX_HALF_WIDTH` (one point of relative performance) for a file to be committed. Committed predictions
recompute bit for bit with the engine that computed them (the discrete engine: every slice and tick simulated).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ...errors import HvkitError
from ...inputs.spec import Spec
from ...run import compare
from ...stats import t_interval
from ...version import __version__

__all__ = ["Prediction", "predict_rows", "seed_interval", "explained", "per_unit", "sig", "MAX_HALF_WIDTH"]

#: Largest accepted 95% confidence half-width of a relative performance (one point).
MAX_HALF_WIDTH = 0.01


@dataclass(frozen=True)
class Prediction:
    """One predicted row: where it will be compared, and the spec whose first seed is ``spec.seed``."""

    testbed: str
    paper: str
    benchmark: str
    spec: Spec
    seeds: int = 5


_DEFAULTS = Spec.make(hardware="-", hypervisor="-", workload="-")


def _pairs(items) -> str:
    return ";".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in items)


def _knobs(spec: Spec) -> str:
    """The spec's host and VM settings that differ from the defaults."""
    keys = ("vcpus", "vms", "pcpus", "pin", "weights", "caps", "dom0_vcpus", "neighbor", "neighbor_vcpus", "hw")
    return _pairs((k, getattr(spec, k)) for k in keys if getattr(spec, k) != getattr(_DEFAULTS, k))


def per_unit(res, run_id) -> tuple[pd.Series, float]:
    """Busy seconds by category (vCPUs and backends, idle excluded) and units of work of one run."""
    b = res.breakdown[(res.breakdown["run"] == run_id) & (res.breakdown["category"] != "idle")
                      & res.breakdown["entity"].isin(["vcpu", "backend"])]
    units = float(res.summary.loc[res.summary["run"] == run_id, "units"].iloc[0])
    return b.groupby("category")["seconds"].sum(), units


def explained(native: list, virt: list, top: int = 3) -> str:
    """The categories whose time per unit of work grew most against native, over all seeds.

    As ``hvkit compare`` explains a run (queueing counts as time lost; backend CPU time is added per unit), but
    with seconds and units summed over the seeds before dividing.
    """
    def spent(runs):
        sec = pd.concat([s for s, _ in runs], axis=1).fillna(0.0).sum(axis=1)
        return sec / (sum(u for _, u in runs) or 1.0)
    diff = spent(virt).sub(spent(native), fill_value=0.0)
    grew = diff[diff > 0]
    total = grew.sum()
    return "; ".join(f"{k} {v / total:.0%}" for k, v in grew.sort_values(ascending=False).head(top).items())


def sig(x: float, digits: int = 5) -> float:
    """``x`` to ``digits`` significant digits (how the files print native and virtualized values)."""
    return float(f"{x:.{digits}g}")


def seed_interval(where: str, values: list[float]) -> tuple[float, float]:
    """Mean and 95% half-width (:func:`kit.stats.t_interval`) of a prediction over its seeds: every value finite,
    and at least two of them (one seed gives no interval)."""
    if not all(math.isfinite(v) for v in values):
        raise HvkitError("a prediction is not finite", where=where, value=values, allowed="finite numbers")
    mean, half = t_interval(values)
    if half is None:
        raise HvkitError("one seed gives no interval", where=where, field="seeds", value=len(values),
                         allowed="2 or more")
    return mean, half


def predict_rows(preds: list[Prediction], max_seeds: int | None = None, require_width: bool = True,
                 model_commit: str = "", model_uncertainty: bool = False) -> pd.DataFrame:
    """Compute the rows of ``preds``; rows that differ only in hypervisor share their native runs.

    With ``max_seeds``, a group whose widest 95% half-width is not under :data:`MAX_HALF_WIDTH` after its
    ``seeds`` gets more seeds (doubling, up to ``max_seeds``); the table reports the seeds used.

    Raises :class:`HvkitError` if a run fails or (with ``require_width``, as for a prediction to commit) a
    confidence half-width is not under :data:`MAX_HALF_WIDTH`; without it a wider interval is reported as it is.
    ``model_commit`` fills the column of that name: the model a file to commit is computed at (its set's
    :attr:`~kit.papers.predictions.prediction_set.PredictionSet.model_commit`); empty for the current model.

    With ``model_uncertainty`` (every blind file from the sixth set on; the committed files stay as they were)
    each row also carries the model's 90% prediction interval of its relative performance at the first seed
    (``pi_low``, ``pi_high``: the plausible ranges of the parameters it reads, :mod:`kit.uncertainty`) and the
    parameters that dominate it (``pi_dominant``), beside the seeds' 95% noise interval (``ci_*``).
    """
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(preds):
        groups.setdefault((p.spec.replace(hypervisor="native"), p.seeds), []).append(i)
    rows: dict[int, dict] = {}
    for (base, n), members in groups.items():
        modes = list(dict.fromkeys(preds[i].spec.hypervisor for i in members))
        kw = base.model_dump(exclude={"hardware", "hypervisor", "workload", "seed"})
        kw["engine"] = "discrete"  # committed predictions recompute bit for bit with the engine that computed them
        samples: dict[str, dict[str, list]] = {m: {"rel": [], "value": [], "native": [], "runs": []} for m in modes}
        native_runs = []
        k = 0
        while True:
            if k == n:
                widest = max(seed_interval(base.label(), samples[m]["rel"])[1] for m in modes)
                if not (max_seeds and widest >= MAX_HALF_WIDTH and n < max_seeds):
                    break
                n = min(max_seeds, 2 * n)
            res = compare(base.hardware, base.workload, ["native", *modes], seed=base.seed + k,
                          model_uncertainty=model_uncertainty and k == 0, **kw)
            s = res.summary
            if k == 0:
                first = s
            bad = s[s["error"] != ""]
            if len(bad):
                raise HvkitError("a predicted run failed", where=base.label(), field="hypervisor",
                                     value=bad["hypervisor"].iloc[0], allowed=bad["error"].iloc[0])
            native_runs.append(per_unit(res, s["run"].iloc[0]))
            for m in modes:
                row = s[s["hypervisor"] == m].iloc[0]
                samples[m]["rel"].append(float(row["relative_performance"]))
                samples[m]["value"].append(float(row["value"]))
                samples[m]["native"].append(float(row["native_value"]))
                samples[m]["runs"].append(per_unit(res, row["run"]))
            k += 1
        metric = res.summary.iloc[0]
        for i in members:
            p = preds[i]
            d = samples[p.spec.hypervisor]
            values = [*d["rel"], *d["value"], *d["native"]]
            if not all(math.isfinite(v) for v in values):
                raise HvkitError("a prediction is not finite", where=p.spec.label(), field="relative_performance",
                                     value=values, allowed="finite numbers")
            mean, half = seed_interval(p.spec.label(), d["rel"])
            if require_width and half >= MAX_HALF_WIDTH:
                raise HvkitError("confidence interval too wide: raise seeds or duration", where=p.spec.label(),
                                     field="seeds", value=f"{n} seeds, half-width {half:.4f}",
                                     allowed=f"a 95% half-width under {MAX_HALF_WIDTH}")
            rows[i] = {
                "testbed": p.testbed, "paper": p.paper, "benchmark": p.benchmark, "hardware": p.spec.hardware,
                "hypervisor": p.spec.hypervisor, "workload": p.spec.workload, "params": _pairs(p.spec.params),
                "mode_overrides": _pairs(p.spec.mode), "knobs": _knobs(p.spec), "metric": metric["metric"],
                "unit": metric["unit"], "native_value": sig(sum(d["native"]) / n), "value": sig(sum(d["value"]) / n),
                "relative_performance": round(mean, 4), "ci_low": round(mean - half, 4),
                "ci_high": round(mean + half, 4), "ci_half_width": round(half, 4), "seeds": n,
                "first_seed": p.spec.seed, "duration": float(base.duration),
                "explained_by": explained(native_runs, d["runs"]), "kit_version": __version__,
                "model_commit": model_commit}
            if model_uncertainty:
                pi = first[first["hypervisor"] == p.spec.hypervisor].iloc[0]
                rows[i].update(pi_low=round(float(pi["relative_pi_low"]), 4),
                               pi_high=round(float(pi["relative_pi_high"]), 4), pi_dominant=pi["pi_dominant"])
    return pd.DataFrame([rows[i] for i in range(len(preds))])
