"""Prediction intervals: the plausible ranges of the model's parameters carried through the model.

What a result does not know beyond its sampling noise is the values of its estimated and fitted parameters
(:mod:`kit.uncertainty.parameters`). Each is sampled from its plausible range, the model is evaluated at every
sample, and the spread of the answers is the result's **90% prediction interval** (the 5th to the 95th
percentile), with the parameters that make it wide.

**Distributions.** Uniform on a log scale between the bounds (log-uniform) when they are positive, uniform
otherwise. A range states the values the evidence does not rule out, not a most likely value within them, so every
value in it is taken as equally plausible; on a log scale because the ranges are factors (a path length "may be off
by a factor of two either way": half is as plausible as double, and a uniform on the linear scale would put three
quarters of the samples above the value). Parameters are independent: no source states a correlation between two
estimates (values whose uncertainty is shared, such as a profile's hypervisor CPI and the path lengths fitted at
it, carry it once: one of them is fixed).

**Screening.** Only the parameters a result reads are varied: the hardware values the cost model and the host
read (:class:`~kit.uncertainty.overrides.HardwareView`), the path lengths its paths resolve
(:func:`kit.costs.codepaths.path_reads`), the module constants it touches
(:func:`~kit.uncertainty.overrides.constant_reads`) and the workload's estimated counts. The I/O costs of a
CPU-bound workload are never read, so they are never sampled. Then each read parameter is moved alone to its high
bound, with the same seed: one that leaves the answer bit for bit the same does not move it (a memory-system
value of a host with one VM, a threshold never crossed) and is not sampled either; the others are ranked by how
far they move it.

**Two ways through the model.**

- *Exact* (a result whose engine is the closed form, and a microbenchmark): the cost model is evaluated at every
  sample of a Sobol' design (SALib's Saltelli scheme, :data:`SOBOL_BASE` base samples) at once, as arrays, where
  every branch of the arithmetic goes the same way for every sample (:class:`_Samples`); first-order and total
  Sobol' indices come from the same evaluations (SALib ``sobol.analyze``). Where the arithmetic takes no arrays,
  sample by sample: :data:`EXACT_SAMPLES` Latin hypercube samples (SALib ``latin``), the interval their own
  percentiles.
- *Sampled* (a simulated result): :data:`SIM_SAMPLES` Latin hypercube samples, each a simulation of the same spec
  and seed at a fraction of the duration (:data:`SHORT_SHARE`; common random numbers, so that the seed's noise
  largely cancels in the ratio to the nominal short run). The log of each quantity's ratio to its nominal short
  run is fitted by a linear model in the parameters' quantiles, chosen by forward selection among the
  :data:`CANDIDATES` largest screening effects (effect sparsity: a few parameters carry most of the variance);
  the interval is that model's distribution plus its residual (what the selected parameters do not explain: the
  others, interactions and the short runs' noise), scaled to the full run's value.

In both, the dominant parameters are the first-order and total Sobol' indices of SALib (of the fitted linear model
where the interval is sampled, times the share of the variance it explains; first-order equals total for a linear
model).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import HvkitError
from .notes import EXACT_NOTE, LEVEL
from .overrides import HardwareView, WorkloadView, applied, reads, spec_with
from .parameters import Parameter, constant_parameters, hardware_parameters, path_parameters, workload_parameters

__all__ = ["LEVEL", "LEVELS", "SOBOL_BASE", "SIM_SAMPLES", "SHORT_SHARE", "SCREEN_SHARE", "CANDIDATES", "Dominant", "Interval", "exact_intervals",
           "sampled_intervals", "result_parameters", "interval_from_samples", "EXACT_NOTE", "Evaluate"]

#: The levels every interval also gives from the same samples (a reliability diagram's nominal coverages)
LEVELS = (0.5, 0.8, 0.9, 0.95)
#: Base samples of the Sobol' design of an exact evaluation (a power of two)
SOBOL_BASE = (128, "the Saltelli scheme needs a power of two; 128 base samples estimate the Sobol' indices of a few "
                   "dominant parameters to about +-0.05 and the interval's 5th and 95th percentiles from thousands "
                   "of evaluations, in milliseconds for a closed form")
#: Latin hypercube samples of an exact evaluation made sample by sample
EXACT_SAMPLES = (64, "sixty-four evaluations of a closed form take tens of milliseconds and fit a linear model of a "
                     "few parameters with a residual estimated from sixty degrees of freedom")
#: Latin hypercube samples of a sampled (simulated) evaluation
SIM_SAMPLES = (16, "sixteen simulations fit a linear model of up to four parameters with room for its residual, at "
                   "under half the cost of one full run when each is a fortieth of its duration")
#: Share of the run's duration each sampled simulation takes
SHORT_SHARE = (0.025, "a fortieth of the duration keeps a hundred or more units per run for the request and stream "
                      "presets while the sixteen samples cost under half a run")
#: Share of the run's duration of a screening simulation (lengthened until a unit finishes)
SCREEN_SHARE = (1 / 300, "a three-hundredth of the duration still runs tens of units of the request and stream "
                         "presets, enough for a parameter that moves the run to change it (bit-identity needs no "
                         "more), at little more than a simulation's set-up")
#: Parameters a sampled interval's linear model may choose from (the largest screening effects)
CANDIDATES = (6, "with sixteen samples, choosing among more parameters than this picks ones that merely "
                 "correlate with the real ones by chance")
#: Sobol' design's seed and the Latin hypercube's: intervals are reproducible to the digit
SEED = 20261207

#: evaluate(spec, resolved) -> the spec's metric value from a simulation (injected by kit.run)
Evaluate = Callable[[Any, Any], float]


@dataclass(frozen=True)
class Dominant:
    """A parameter's share of a quantity's variance: ``first_order`` and ``total`` Sobol' indices."""

    parameter: str
    first_order: float
    total: float


@dataclass(frozen=True)
class Interval:
    """The 90% prediction interval of one quantity and what makes it wide."""

    low: float
    high: float
    dominant: tuple[Dominant, ...]
    method: str
    parameters: int
    evaluations: int
    note: str = ""
    level: float = LEVEL
    #: ``(level, low, high)`` at each of :data:`LEVELS` from the same samples (for calibration)
    levels: tuple[tuple[float, float, float], ...] = ()

    def dominant_text(self, top: int = 3) -> str:
        """The ``top`` dominant parameters as ``name S1/ST``, most first."""
        return "; ".join(f"{d.parameter} {d.first_order:.2f}/{d.total:.2f}" for d in self.dominant[:top])


@dataclass
class _Design:
    params: list[Parameter]
    u: np.ndarray  # samples x parameters, quantiles in [0, 1]
    values: dict[str, Any] = field(default_factory=dict)


def result_parameters(hw: Any, workload: Any, hw_reads: set[str], path_reads: set[str],
                      const_reads: set[str]) -> list[Parameter]:
    """The parameters a result read whose plausible range is wider than their value (in a stable order)."""
    out = [p for p in hardware_parameters(hw) if p.key in hw_reads]
    out += [p for p in path_parameters() if p.key in path_reads]
    out += [p for p in constant_parameters() if p.name in const_reads]
    out += workload_parameters(workload)
    return [p for p in out if p.varies]


def _merge(groups: Sequence[Sequence[Parameter]]) -> list[Parameter]:
    seen: dict[str, Parameter] = {}
    for g in groups:
        for p in g:
            seen.setdefault(p.name, p)
    return sorted(seen.values(), key=lambda p: p.name)


def _problem(params: Sequence[Parameter]) -> dict:
    """SALib's problem over the parameters' quantiles (each sampled on [0, 1], then mapped by
    :meth:`Parameter.at`). The names are an array: SALib 1.5 takes their unique values with ``pd.unique``, which
    pandas 3 refuses for a list."""
    return {"num_vars": len(params), "names": np.array([p.name for p in params]),
            "bounds": [[0.0, 1.0]] * len(params)}


def _values(params: Sequence[Parameter], u: np.ndarray) -> dict[str, Any]:
    return {p.name: p.at(u[:, j]) for j, p in enumerate(params)}


def _row(values: Mapping[str, Any], i: int) -> dict[str, Any]:
    return {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in values.items()}


def _quantiles(y: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(y, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _levels(y: np.ndarray, scale: Callable[[float], float] = float) -> tuple[tuple[float, float, float], ...]:
    return tuple((lv, scale(lo), scale(hi)) for lv in LEVELS for lo, hi in [_quantiles(y, lv)])


def _sobol(params: Sequence[Parameter], y: np.ndarray) -> tuple[Dominant, ...]:
    """SALib's first-order and total Sobol' indices of ``y`` over a Saltelli design, most total first."""
    if len(params) == 0 or not np.all(np.isfinite(y)) or float(np.var(y)) == 0.0:
        return ()
    from SALib.analyze import sobol
    si = sobol.analyze(_problem(params), y, calc_second_order=False, num_resamples=10, seed=SEED)
    out = [Dominant(p.name, float(max(0.0, s1)), float(max(0.0, st)))
           for p, s1, st in zip(params, si["S1"], si["ST"])]
    return tuple(sorted(out, key=lambda d: -d.total))


# ---- exact: a closed form or a microbenchmark, evaluated at every sample ----------------------------------

def _saltelli(params: Sequence[Parameter]) -> np.ndarray:
    from SALib.sample import sobol as sobol_sample
    return sobol_sample.sample(_problem(params), SOBOL_BASE[0], calc_second_order=False, scramble=True,
                               seed=SEED)


class _Samples(np.ndarray):
    """Samples of a value, carried through the cost arithmetic at once. A branch on them (``if x:``, ``max(a,
    b)``) is taken only when every sample takes it the same way; otherwise it raises, and the caller evaluates
    sample by sample: the result is the same as one evaluation per sample, or none."""

    def __bool__(self) -> bool:
        truth = np.asarray(self, dtype=bool)
        if truth.all():
            return True
        if not truth.any():
            return False
        raise ValueError("the samples take a branch different ways")


def _vectorized(fn: Callable[[Mapping[str, Any]], dict[str, Any]], values: dict[str, Any],
                n: int) -> dict[str, np.ndarray] | None:
    """``fn`` at every sample at once, as :class:`_Samples`, where the cost arithmetic carries them; None where it
    does not (a function that takes only a number, or a branch the samples take different ways)."""
    try:
        with np.errstate(all="raise"):
            out = fn({k: np.asarray(v, dtype=float).view(_Samples) for k, v in values.items()})
        arrays = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in out.items()}
    except (TypeError, ValueError, FloatingPointError, ArithmeticError):
        return None
    return arrays if all(np.all(np.isfinite(a)) for a in arrays.values()) else None


def exact_intervals(fn: Callable[[Mapping[str, Any]], dict[str, Any]], params: Sequence[Parameter],
                    nominal: Mapping[str, float], level: float = LEVEL) -> dict[str, Interval]:
    """The prediction interval of each quantity ``fn`` returns, evaluating ``fn`` (a function of the parameters'
    values, a mapping of name to number or array) at every sample of a Sobol' design over ``params``; where the
    arithmetic takes no arrays, sample by sample on a smaller design (:func:`_exact_sampled`).

    With no parameter to vary, each interval is the nominal value, said so in its note.
    """
    params = list(params)
    if not params:
        return {q: Interval(v, v, (), "exact", 0, 0, "no estimated parameter it reads has a range wider than its "
                                                   "value: exact given the model", LEVEL,
                            tuple((lv, v, v) for lv in LEVELS)) for q, v in nominal.items()}
    u = _saltelli(params)
    values = _values(params, u)
    y = _vectorized(fn, values, len(u))
    if y is None:
        return _exact_sampled(fn, params, nominal, level)
    how = "at once, as arrays"
    out = {}
    for q, arr in y.items():
        lo, hi = _quantiles(arr, level)
        out[q] = Interval(lo, hi, _sobol(params, arr), "exact", len(params), len(u),
                          f"{level:.0%} prediction interval from {len(params)} parameters' ranges: a Sobol' design "
                          f"of {len(u)} evaluations of the closed form ({how})", level, _levels(arr))
    return out


def _exact_sampled(fn: Callable[[Mapping[str, Any]], dict[str, Any]], params: Sequence[Parameter],
                   nominal: Mapping[str, float], level: float) -> dict[str, Interval]:
    """:func:`exact_intervals` sample by sample: each parameter moved alone to its high bound (one evaluation
    each; one that moves nothing is not sampled), then :data:`EXACT_SAMPLES` Latin hypercube samples of the
    others and a linear model chosen among the :data:`CANDIDATES` largest effects (:func:`interval_from_samples`)."""
    from SALib.sample import latin
    effects = {}
    for p in params:
        moved = fn({p.name: p.bounds[1]})
        effects[p.name] = max(abs(math.log(moved[q] / nominal[q])) for q in nominal if nominal[q] > 0)
    active = [p for p in params if effects[p.name] > 0]
    if not active:
        return {q: Interval(v, v, (), "exact", 0, len(params), "no estimated parameter it reads moves it: exact "
                                                                "given the model", LEVEL,
                            tuple((lv, v, v) for lv in LEVELS)) for q, v in nominal.items()}
    u = latin.sample(_problem(active), EXACT_SAMPLES[0], seed=SEED)
    values = _values(active, u)
    rows = [fn(_row(values, i)) for i in range(len(u))]
    order = sorted(range(len(active)), key=lambda j: -effects[active[j].name])[:CANDIDATES[0]]
    how = (f"of the closed form, sample by sample, after moving each of {len(params)} parameters alone "
           f"({len(active)} move it)")
    out = {}
    for q, v in nominal.items():
        arr = np.array([float(r[q]) for r in rows])
        iv = interval_from_samples(active, u, np.log(arr / v), v, level, how, order)
        lo, hi = _quantiles(arr, level)  # exact evaluations: the samples' own percentiles, not the fit's
        out[q] = dataclasses.replace(iv, low=lo, high=hi, method="exact", evaluations=len(params) + len(u),
                                     levels=_levels(arr),
                                     note=iv.note.replace("the rest is its residual", "the interval is the "
                                                          "samples' own percentiles"))
    return out


# ---- sampled: simulations at a fraction of the duration ------------------------------------------------------

def _forward_select(u: np.ndarray, y: np.ndarray, max_terms: int) -> list[int]:
    """Columns of ``u`` chosen one at a time, each the one that most reduces the residual sum of squares, while the
    adjusted R^2 improves."""
    n = len(y)
    chosen: list[int] = []
    best_adj = 0.0
    tss = float(np.sum((y - y.mean()) ** 2))
    if tss == 0.0:
        return []
    while len(chosen) < max_terms:
        trial = []
        for j in range(u.shape[1]):
            if j in chosen:
                continue
            x = np.column_stack([np.ones(n)] + [u[:, c] for c in chosen + [j]])
            _, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
            r = float(rss[0]) if len(rss) else float(np.sum((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2))
            trial.append((r, j))
        if not trial:
            break
        rss, j = min(trial)
        p = len(chosen) + 1
        if n - p - 1 <= 0:
            break
        adj = 1 - (rss / (n - p - 1)) / (tss / (n - 1))
        if adj <= best_adj + 1e-3:
            break
        chosen.append(j)
        best_adj = adj
    return chosen


def interval_from_samples(params: Sequence[Parameter], u: np.ndarray, y: np.ndarray, nominal: float,
                          level: float = LEVEL, how: str = "", candidates: Sequence[int] | None = None) -> Interval:
    """The interval of a quantity from samples ``y`` (the log of its ratio to the nominal evaluation) at quantiles
    ``u`` of ``params``: a linear model in the parameters chosen by forward selection, its distribution plus the
    residual, scaled to ``nominal``; indices from SALib on the fitted model."""
    params = list(params)
    n = len(y)
    max_terms = max(1, min(CANDIDATES[0], n // 4))
    cols = list(range(u.shape[1])) if candidates is None else list(candidates)
    chosen = [cols[c] for c in _forward_select(u[:, cols], y, max_terms)]
    x = np.column_stack([np.ones(n)] + [u[:, c] for c in chosen])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    resid = y - x @ coef
    dof = max(1, n - len(chosen) - 1)
    sigma = math.sqrt(float(np.sum(resid ** 2)) / dof)
    tss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum(resid ** 2)) / tss if tss > 0 else 1.0
    sel = [params[c] for c in chosen]
    rng = np.random.default_rng(SEED)
    if sel:
        ud = _saltelli(sel)
        fit = coef[0] + ud @ coef[1:]
        dominant = tuple(Dominant(d.parameter, d.first_order * max(0.0, r2), d.total * max(0.0, r2))
                         for d in _sobol(sel, fit))
    else:
        fit, dominant = np.full(4096, coef[0]), ()
    draws = fit + rng.normal(0.0, sigma, len(fit))
    lo, hi = _quantiles(draws, level)
    low, high = nominal * math.exp(lo), nominal * math.exp(hi)
    levels = _levels(draws, lambda x: nominal * math.exp(x))
    note = (f"{level:.0%} prediction interval: {n} Latin hypercube samples {how}; a linear model in {len(sel)} of them explains {max(0.0, r2):.0%} of the variance, the rest "
            f"is its residual")
    return Interval(low, high, dominant, "sampled", len(params), n, note, level, levels)


def _run_short(evaluate: Evaluate, spec: Any, duration: float, values: Mapping[str, Any] | None = None,
               record: dict | None = None) -> tuple[float, Any]:
    """The metric of ``spec`` simulated for ``duration`` (lengthened fourfold until a unit finishes) with
    ``values`` applied; with ``record``, the hardware values, paths and constants read go into it."""
    from ..inputs.resolve import resolve
    while True:
        sp = spec_with(spec.replace(duration=duration), values or {})
        try:
            res = resolve(sp)
            if record is not None:
                view: Any = HardwareView(res.hw, reads=record.setdefault("hw", set()))  # a Hardware to the model
                res = dataclasses.replace(res, hw=view)
                with reads() as r:
                    v = float(evaluate(sp, res))
                record.update(r)
                return v, sp
            with applied(values or {}):
                return float(evaluate(sp, res)), sp
        except HvkitError as exc:
            if exc.field != "duration" or duration >= spec_duration(spec):
                raise
            duration = min(spec_duration(spec), duration * 4)


def spec_duration(spec: Any) -> float:
    """The simulated seconds of ``spec`` (its own, or its workload's default)."""
    from ..inputs.resolve import resolve
    return resolve(spec).duration


#: In-process screening results: what decides them (the spec with its seed, the screening duration, the parameters
#: screened; its files' content is in the spec's resolution) -> the parameters ranked by effect
_SCREENS: dict[str, list[tuple[float, str]]] = {}
#: Most screening results remembered
SCREENS_CACHED = 256


def _screen(evaluate: Evaluate, spec: Any, params: Sequence[Parameter], duration: float,
            base: float) -> list[tuple[float, str]]:
    """Each parameter's effect on ``spec``'s metric, one at a time at its high bound, in a simulation of
    ``duration`` with the same seed (so that a parameter that does not move the run leaves it bit for bit the
    same): ``(|log ratio|, name)``, largest first. Cached on everything that decides it: the spec with its seed, the
    duration, the parameters and their bounds, and the content of the files the spec names (a screen of another
    seed or duration would rank them differently, and an answer would then depend on what the process ran
    before)."""
    from ..inputs.resolve import content_digest
    key = spec.replace(duration=duration).key("screen " + content_digest(spec) + repr(
        [(p.name, p.bounds) for p in params]))
    if key in _SCREENS:
        return _SCREENS[key]
    out = []
    for p in params:
        v, _ = _run_short(evaluate, spec, duration, {p.name: p.bounds[1]})
        out.append((abs(math.log(v / base)) if v > 0 and base > 0 else math.inf, p.name))
    out.sort(reverse=True)
    if len(_SCREENS) >= SCREENS_CACHED:
        _SCREENS.pop(next(iter(_SCREENS)))
    _SCREENS[key] = out
    return out


def sampled_intervals(specs: Sequence[Any], evaluate: Evaluate, quantities: Callable[[dict[str, float], int],
                      dict[str, float]], nominal: Sequence[Mapping[str, float]], uses: Callable[[int], list[int]],
                      level: float = LEVEL, samples: int | None = None) -> list[dict[str, Interval]]:
    """Prediction intervals of simulated results.

    Each spec is simulated at its nominal values (recording what it reads), then screened: every parameter it
    reads is moved alone to its high bound in a simulation of :data:`SCREEN_SHARE` of its duration with the same
    seed; a parameter that leaves the run bit for bit the same does not move it and is not sampled. The others
    are sampled together (:data:`SIM_SAMPLES` Latin hypercube samples, simulations of :data:`SHORT_SHARE` of
    the duration), and the :data:`CANDIDATES` with the largest screening effects are the candidates of the
    linear model (:func:`interval_from_samples`).

    Parameters
    ----------
    specs : sequence of Spec
        Every spec the quantities need (a mode, its native baseline, the same mode alone...).
    evaluate : callable
        ``evaluate(spec, resolved)``: the metric of a simulation of ``spec``.
    quantities : callable
        ``quantities(values, i)``: the quantities of result ``i`` from the metric of each spec (``values`` maps
        each spec's index in ``specs``, as a string, to its metric).
    nominal : sequence of mapping
        Per result, each quantity's value in the full run (the interval is scaled to it).
    uses : callable
        ``uses(i)``: the indices in ``specs`` of the specs result ``i``'s quantities read (its linear model
        chooses among the parameters that move those).
    """
    n = samples or SIM_SAMPLES[0]
    short, groups, base, ranks = [], [], {}, []
    for k, sp in enumerate(specs):
        d = spec_duration(sp)
        record: dict = {}
        tiny = d * SCREEN_SHARE[0]
        v0, tiny_spec = _run_short(evaluate, sp, tiny, record=record)
        from ..inputs.resolve import resolve
        rs = resolve(tiny_spec)
        read = result_parameters(rs.hw, rs.workload, record["hw"], record["path"], record["const"])
        effects = _screen(evaluate, sp, read, tiny_spec.duration, v0)
        ranks.append({name: e for e, name in effects if e > 0})
        active = {name for e, name in effects if e > 0}
        groups.append([p for p in read if p.name in active])
        ds = min(d, max(d * SHORT_SHARE[0], tiny_spec.duration))
        base[str(k)], s = _run_short(evaluate, sp, ds)
        short.append(s)
    params = _merge(groups)
    if not params:
        return [{q: Interval(v, v, (), "sampled", 0, 0, "no estimated parameter it reads moves it: exact given "
                                                         "the model") for q, v in nom.items()} for nom in nominal]
    from SALib.sample import latin
    u = latin.sample(_problem(params), n, seed=SEED)
    values = _values(params, u)
    runs = []
    for i in range(n):
        row = _row(values, i)
        got = {}
        for k, s in enumerate(short):
            mine = {p.name: row[p.name] for p in groups[k]}
            try:  # lengthened up to the spec's own duration when a sample's units are too slow to finish
                got[str(k)] = _run_short(evaluate, specs[k], s.duration, mine)[0]
            except HvkitError:  # a sample the model cannot answer (no unit finishes in the run): left out
                got[str(k)] = math.nan
        runs.append(got)
    out = []
    for i, nom in enumerate(nominal):
        mine = {}
        for k in uses(i):
            for name, e in ranks[k].items():
                mine[name] = max(mine.get(name, 0.0), e)
        order = sorted((j for j, p in enumerate(params) if p.name in mine), key=lambda j: -mine[params[j].name])
        candidates = order[:CANDIDATES[0]]
        how = (f"of simulations of {short[uses(i)[0]].duration:.3g} s with the run's seed; {len(mine)} of them move "
               "it when moved alone")
        q0 = quantities(base, i)
        per_q = {}
        for q, full in nom.items():
            ratios = np.array([quantities(r, i)[q] / q0[q] for r in runs])
            keep = np.isfinite(ratios) & (ratios > 0)
            if keep.sum() < max(8, n // 2):
                raise HvkitError("too few samples the model could answer for a prediction interval", field=q,
                                 value=f"{int(keep.sum())} of {n}")
            per_q[q] = interval_from_samples(params, u[keep], np.log(ratios[keep]), full, level,
                                             how + ("" if keep.all() else f"; {int((~keep).sum())} samples the "
                                                    "model could not answer left out"), candidates)
        out.append(per_q)
    return out


# ---- the closed form of a run -------------------------------------------------------------------------------

def _rate_value(wl: Any, rate: Any) -> Any:
    """The metric of a rate of units per second (the closed form's; :func:`kit.run.closed_form_metrics`)."""
    if wl.metric_kind == "time" and wl.kind != "stream":
        return wl.value_per_unit / rate
    return rate * wl.value_per_unit


def closed_form_value(res: Any) -> tuple[Callable[[Mapping[str, Any]], Any], list[Parameter]]:
    """A function of the parameters' values giving the metric of the plain closed form of ``res`` (one VM or VMs
    that do not meet in the memory system), and the parameters it reads."""
    from ..sim.mode_costs import costing_for
    spec, mode, wl0 = res.spec, res.mode, res.workload
    n = spec.vms * spec.vcpus

    def value(values: Mapping[str, Any], hw_reads: set[str] | None = None) -> Any:
        hw: Any = HardwareView(res.hw, {k[3:]: v for k, v in values.items() if k.startswith("hw.")}, hw_reads)
        wl: Any = WorkloadView(wl0, {k[9:]: v for k, v in values.items() if k.startswith("workload.")})
        with applied(values):
            total = costing_for(hw, mode, wl).unit().total
            return _rate_value(wl0, n * hw.val("freq_ghz") * 1e9 / total)

    hw_reads: set[str] = set()
    with reads() as r:
        value({}, hw_reads)
    return value, result_parameters(res.hw, wl0, hw_reads, r["path"], r["const"])


def check_finite(intervals: Mapping[str, Interval]) -> None:
    """Refuse an interval that is not finite (a sample the model could not answer)."""
    for q, iv in intervals.items():
        if not (math.isfinite(iv.low) and math.isfinite(iv.high)):
            raise HvkitError("the prediction interval is not finite", field=q, value=(iv.low, iv.high))
