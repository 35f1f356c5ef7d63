"""Model uncertainty: what a result does not know besides its sampling noise, as a prediction interval.

Two intervals, named for what they are:

- **simulation noise** (``ci_*``): the 95% interval of the mean over replications from Student's t
  (:func:`kit.stats.t_interval`); a result whose engine is the closed form has none: it is "exact given the
  parameters: no sampling noise" (:data:`~kit.uncertainty.propagate.EXACT_NOTE`), never "± 0";
- **model uncertainty** (``pi_*``): the 90% prediction interval from the plausible ranges of the estimated and
  fitted parameters the result reads (:mod:`kit.uncertainty.parameters`), propagated through the model
  (:mod:`kit.uncertainty.propagate`), with the parameters that dominate it.

Modules: ``parameters`` (the uncertain parameters and their ranges, and what states none), ``overrides`` (other
values for them, and which ones a result reads), ``propagate`` (sampling with SALib, the two ways through the
model, the intervals and Sobol' indices), ``microbench`` (a microbenchmark's interval). :func:`attach` fills a
:class:`~kit.results.Result`'s columns; :func:`kit.run` and :func:`kit.compare` call it with
``model_uncertainty=True``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import HvkitError
from .notes import EXACT_NOTE, LEVEL, noise_note, not_computed

if TYPE_CHECKING:  # the propagation (NumPy, pandas, the cost model) is imported where it is used: every run
    import pandas as pd  # imports this package for its notes

    from .parameters import Parameter
    from .propagate import Interval

__all__ = ["attach", "Model", "noise_note", "EXACT_NOTE", "LEVEL", "not_computed"]


@dataclass(frozen=True)
class Model:
    """What :func:`attach` needs of the runs (given by :mod:`kit.run`, which this layer cannot import):
    ``evaluate(spec, resolved)`` the metric of a simulation, ``native(spec, keep_neighbor)`` and ``alone(spec)``
    the baselines' specs."""

    evaluate: Callable[[Any, Any], float]
    native: Callable[..., Any]
    alone: Callable[[Any], Any]


def _quantities(row: Any) -> list[str]:
    out = ["value"]
    if isinstance(row["native_value"], (int, float)) and math.isfinite(float(row["native_value"])):
        out.append("relative_performance")
    measured = row.get("interference")  # a sweep's point carries no interference: nothing to put an interval on
    if row["neighbor"] and isinstance(measured, (int, float)) and math.isfinite(float(measured)):
        out += ["interference", "relative_vs_native_with_neighbor"]
    return out


def _exact(spec: Any, model: Model, hib: bool) -> "dict[str, Interval] | None":
    """The intervals of a run whose answer and native baseline are plain closed forms, or None."""
    from ..inputs.resolve import resolve
    from ..sim.engines import plain_closed_form
    from .propagate import closed_form_value, exact_intervals
    res, nres = resolve(spec), resolve(model.native(spec))
    if not (plain_closed_form(res) and plain_closed_form(nres)):
        return None
    vm, vm_params = closed_form_value(res)
    nat, nat_params = closed_form_value(nres)
    params = {p.name: p for p in vm_params + nat_params}

    def fn(values: Any) -> dict:
        v, n = vm(values), nat(values)
        return {"value": v, "relative_performance": (v / n) if hib else (n / v)}

    nominal = fn({})
    return exact_intervals(fn, sorted(params.values(), key=lambda p: p.name), nominal)


def _sensitivity_rows(run: int, scenario: str, quantity: str, iv: "Interval", params: "dict[str, Parameter]",
                      top: int = 5) -> list[dict]:
    out = []
    for d in iv.dominant[:top]:
        p = params.get(d.parameter)
        low, high = p.bounds if p is not None else (math.nan, math.nan)
        out.append({"run": run, "scenario": scenario, "quantity": quantity, "parameter": d.parameter,
                    "first_order": d.first_order, "total": d.total, "low": low, "high": high,
                    "because": p.range.because if p is not None else ""})
    return out


def _parameters_of(spec: Any) -> "dict[str, Parameter]":
    """Every parameter a spec's run may read, by name (for the sensitivity table's ranges)."""
    from ..inputs.resolve import resolve
    from .parameters import constant_parameters, hardware_parameters, path_parameters, workload_parameters
    res = resolve(spec)
    out = {p.name: p for p in path_parameters() + constant_parameters()}
    out.update({p.name: p for p in hardware_parameters(res.hw)})
    out.update({p.name: p for p in workload_parameters(res.workload)})
    return out


def attach(result: Any, model: Model, level: float = LEVEL) -> Any:
    """Fill the model-uncertainty columns of ``result`` (every row without an error) and its ``sensitivity``
    table; rows that are closed forms are evaluated exactly, the simulated ones together (their native baselines
    shared)."""
    import pandas as pd

    from ..results import PI_COLUMNS, SENSITIVITY_COLUMNS
    s = result.summary
    sens: list[dict] = []
    found: "dict[int, dict[str, Interval]]" = {}
    sampled: list[tuple[int, Any, list[str]]] = []
    for i, row in s.iterrows():
        if row["error"]:
            continue
        spec = result.specs[i] if i < len(result.specs) else result.specs[-1]
        qs = _quantities(row)
        if spec == model.native(spec):  # native alone is its own baseline: its relative performance is 1 by definition
            qs = [q for q in qs if q != "relative_performance"]
        hib = bool(row["higher_is_better"])
        ex = _exact(spec, model, hib) if row["engine"] == "analytic" else None
        if ex is not None:
            found[i] = {q: ex[q] for q in qs if q in ex}
        else:
            sampled.append((i, spec, qs))
    if sampled:
        try:
            found.update(_sampled(s, sampled, model, level))
        except HvkitError as exc:  # said in the rows, not raised: the runs themselves are fine
            for i, _, _ in sampled:
                for k, v in not_computed(f"the model could not answer its samples ({exc})").items():
                    s.loc[i, k] = v
    for i, ivs in found.items():
        row = s.loc[i]
        params = _parameters_of(result.specs[i] if i < len(result.specs) else result.specs[-1])
        for q, iv in ivs.items():
            lo_col, hi_col = PI_COLUMNS[q]
            s.loc[i, lo_col], s.loc[i, hi_col] = iv.low, iv.high
            sens += _sensitivity_rows(int(row["run"]), str(row["scenario"]), q, iv, params)
        head = ivs.get("relative_performance") or ivs["value"]
        s.loc[i, "pi_level"] = head.level
        s.loc[i, "pi_dominant"] = head.dominant_text()
        s.loc[i, "pi_method"] = head.method
        s.loc[i, "pi_note"] = head.note
    result.sensitivity = pd.DataFrame(sens, columns=SENSITIVITY_COLUMNS)
    return result


def _sampled(s: "pd.DataFrame", rows: Sequence[tuple[int, Any, list[str]]], model: Model,
             level: float) -> "dict[int, dict[str, Interval]]":
    """The intervals of the simulated rows: every spec they need simulated once per sample."""
    from ..results import relative
    from .propagate import sampled_intervals
    specs: list[Any] = []
    index: dict[str, int] = {}

    def slot(spec: Any) -> str:
        key = spec.key("pi")
        if key not in index:
            index[key] = len(specs)
            specs.append(spec)
        return str(index[key])

    plan = []
    for i, spec, qs in rows:
        row = s.loc[i]
        hib = bool(row["higher_is_better"])
        own = slot(spec)
        nat = slot(model.native(spec)) if "relative_performance" in qs else None
        alone = slot(model.alone(spec)) if "interference" in qs else None
        shared = slot(model.native(spec, keep_neighbor=True)) if "interference" in qs else None
        plan.append((own, nat, alone, shared, hib))

    def quantities(v: dict, k: int) -> dict:
        own, nat, alone, shared, hib = plan[k]
        out = {"value": v[own]}
        if nat is not None:
            out["relative_performance"] = relative(v[own], v[nat], hib)
        if alone is not None:
            out["interference"] = relative(v[own], v[alone], hib)
            out["relative_vs_native_with_neighbor"] = relative(v[own], v[shared], hib)
        return out

    nominal = [{q: float(s.loc[i, q]) for q in qs} for i, _, qs in rows]
    got = sampled_intervals(specs, model.evaluate, quantities, nominal,
                            lambda k: [int(x) for x in plan[k][:4] if x is not None], level)
    return {i: g for (i, _, _), g in zip(rows, got)}
