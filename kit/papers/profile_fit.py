"""``hvkit profile fit``: a profile's parameters fitted to a user's own measurements, with rows held out.

The rows of a measurements file (:mod:`kit.inputs.measurements`, written by ``hvkit import`` and ``hvkit probe``)
are split before anything is fitted: a share of the microbenchmark rows (``test_share``, chosen by a seeded
permutation, or named) is held out and never used for fitting, as ``hvkit validate`` keeps its test rows apart.
A native row sets the parameter it measures directly (CPUID -> ``cpuid_cycles``, a system call ->
``syscall_cycles``). The fit rows then determine parameters of the base profile: a parameter is a candidate when
doubling it moves a fit row's model value, and it is fitted only when it adds to the rank of the rows' sensitivity
matrix (a parameter the rows cannot tell apart from one already chosen is reported as not determined and keeps
the base's value). The chosen parameters minimize the squared relative errors of the fit rows (Gauss-Newton on
the logarithms of the parameters, so they stay positive).

Intervals: the fit rows' 95% intervals are propagated to the parameters through the sensitivity matrix, and, when
there are more fit rows than parameters, so is the residual scatter (Student's t with the remaining degrees of
freedom); the two are added in quadrature. A held-out row's prediction carries the parameters' interval, and the
report says whether its measurement falls inside. A ``check`` row (a unit of work: native instructions and its
exits) is predicted as its native time, measured, plus the model's path for its exits; its interval adds the
native time's interval to the path's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..costs.microbench import op_path
from ..costs.ops import Op, get_op
from ..errors import HvkitError
from ..inputs.hardware import Hardware, Params, load_hardware
from ..inputs.measurements import MeasuredRow, Measurements
from ..inputs.modes import hypervisor
from ..stats import fit_interval_scale

__all__ = ["fit_profile", "FitReport", "split_rows", "NATIVE_PARAMS", "DEVICE_MODEL_PREFIX", "model_cycles",
           "profile_document"]

#: Native rows that set a profile parameter directly.
NATIVE_PARAMS = {"native.cpuid": "cpuid_cycles", "native.syscall": "syscall_cycles"}
#: The model's device-model step, replaced by the measuring monitor's own user-space time when a row gives it.
DEVICE_MODEL_PREFIX = "QEMU: "
#: Events of a unit of work that are its native part (measured natively, not modelled in a check).
NATIVE_EVENTS = frozenset({"user_instr", "kernel_instr"})
_RANK_TOL = 1e-6
#: A fitted parameter stays within this factor of the base's value (e^12, about 160,000) either way, and an
#: interval's half-width in log space is capped at 20 (a factor of 5e8: an interval that says nothing, reported
#: with a note rather than as an overflow).
MAX_LOG_STEP_FROM_BASE = 12.0
MAX_LOG_HALF = 20.0
#: Parameters a fit never moves: counts of things (whole numbers) and the hit rate bounded by 1.
NOT_CONTINUOUS = frozenset({"sockets", "cores_per_socket", "threads_per_core", "page_levels", "numa_nodes",
                            "mem_channels", "tlb_entries", "nested_tlb_hit"})


def _events(row: MeasuredRow) -> dict[str, float]:
    if row.events:
        return dict(row.events)
    if row.op:
        return dict(get_op(row.op).events)
    return {}


def model_cycles(row: MeasuredRow, hw: Hardware, events: dict[str, float] | None = None) -> float:
    """The model's cycles for one iteration of ``row`` under its mode on ``hw`` (the device-model step replaced by
    the row's ``device_model_cycles`` when it gives them)."""
    ev = _events(row) if events is None else events
    op = Op(row.id, "measured", row.quantity, "any", ev)
    mode = hypervisor(row.hypervisor, hw)
    steps = op_path(op, hw, mode)
    total = sum(s.cycles for s in steps)
    if row.device_model_cycles is not None:
        total += row.device_model_cycles - sum(s.cycles for s in steps if s.step.startswith(DEVICE_MODEL_PREFIX))
    return total


def split_rows(meas: Measurements, test_share: float = 0.34, seed: int = 0,
               test_ids: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The ids of the fit rows and of the held-out test rows among the modelled microbenchmark rows."""
    candidates = [r.id for r in meas.rows if r.role == "input" and r.hypervisor != "native" and _events(r)]
    if test_ids is not None:
        unknown = [i for i in test_ids if i not in candidates]
        if unknown:
            raise HvkitError("not a modelled microbenchmark row of the measurements", field="--test",
                             value=unknown[0], allowed=candidates)
        test = list(test_ids)
    else:
        if not 0 <= test_share < 1:
            raise HvkitError("out of range", field="--test-share", value=test_share, allowed="0 <= share < 1")
        k = int(round(test_share * len(candidates)))
        if test_share > 0 and len(candidates) >= 3:
            k = max(1, k)
        order = np.random.default_rng(seed).permutation(len(candidates))
        test = [candidates[i] for i in sorted(order[:k])]
    fit = [i for i in candidates if i not in test]
    if not fit:
        raise HvkitError("no row left to fit: hold fewer out", field="--test-share", value=test_share)
    return fit, test


@dataclass
class FitReport:
    """What a fit did.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per measured row: ``id``, ``quantity``, ``use`` (fit, test, check, native, not modelled),
        ``measured`` with ``ci_low``/``ci_high``, ``base_model`` (the base profile's value), ``model`` (the fitted
        profile's) with ``model_low``/``model_high``, ``rel_error`` (model / measured - 1) and ``inside`` (the
        measurement lies in the model's interval).
    params : pandas.DataFrame
        One row per parameter considered: ``parameter``, ``status`` (fitted, measured natively, not determined),
        ``base``, ``value``, ``low``, ``high``, ``rows`` (the fit rows that determine it).
    """

    base: str
    machine: str
    fit_ids: list[str]
    test_ids: list[str]
    rows: pd.DataFrame
    params: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The held-out rows' median and worst relative error, and how many fall inside their interval."""
        out = {}
        for use in ("fit", "test", "check"):
            d = self.rows[self.rows["use"] == use]
            a = d["rel_error"].abs()
            out[use] = {"rows": int(len(d)), "median_abs_rel_error": float(a.median()) if len(d) else math.nan,
                        "worst_abs_rel_error": float(a.max()) if len(d) else math.nan,
                        "inside_interval": int(d["inside"].sum())}
        return out

    def profile_params(self) -> dict[str, dict]:
        """The fitted and natively measured parameters as profile quantities ``{value, source, interval}``."""
        out = {}
        for _, p in self.params.iterrows():
            if p["status"] == "not determined":
                continue
            q = {"value": _round(p["value"]), "source": p["source"]}
            if p["low"] is not None and not math.isnan(p["low"]):
                q["interval"] = [_round(min(p["low"], p["value"])), _round(max(p["high"], p["value"]))]
            out[p["parameter"]] = q
        return out


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _jacobian(rows: list[MeasuredRow], hw: Hardware, names: list[str], values: dict[str, float]) -> np.ndarray:
    """d log(model) / d log(parameter) for each row and parameter, by central differences (2% either way)."""
    jac = np.zeros((len(rows), len(names)))
    for j, name in enumerate(names):
        up = hw.with_overrides({**values, name: values[name] * 1.02})
        down = hw.with_overrides({**values, name: values[name] / 1.02})
        for i, r in enumerate(rows):
            a, b = model_cycles(r, up), model_cycles(r, down)
            jac[i, j] = (math.log(a) - math.log(b)) / (2 * math.log(1.02)) if a > 0 and b > 0 else 0.0
    return jac


def _value(hw: Hardware, name: str) -> float:
    return float(getattr(hw.params, name).value)


def fit_profile(base: str | Hardware, meas: Measurements, *, test_share: float = 0.34, seed: int = 0,
                test_ids: list[str] | None = None, candidates: list[str] | None = None) -> FitReport:
    """Fit ``base``'s parameters to the fit rows of ``meas`` and score the held-out rows.

    The steps: the rows measured natively set their parameters (:func:`_native_parameters`); the parameters the
    fit rows determine are chosen (:func:`_determined_parameters`) and fitted by Gauss-Newton on their logarithms
    (:func:`_gauss_newton`); their covariance (:func:`_covariance`) gives every modelled row its interval
    (:func:`_scored_row`).

    Parameters
    ----------
    base : str or Hardware
        The profile whose values the fit starts from and keeps where the rows determine nothing.
    meas : Measurements
        The user's rows.
    test_share : float
        Share of the modelled microbenchmark rows held out (never used for fitting).
    seed : int
        Seed of the permutation that picks them.
    test_ids : list of str, optional
        Hold out exactly these rows instead.
    candidates : list of str, optional
        Parameters the fit may set (default: every numeric parameter of the profile).
    """
    hw0 = load_hardware(base) if not isinstance(base, Hardware) else base
    fit_ids, test = split_rows(meas, test_share, seed, test_ids)
    by_id = {r.id: r for r in meas.rows}
    notes: list[str] = []
    machine = meas.machine.describe(guest=False)
    if meas.machine.is_guest:
        notes.append(f"measured on a virtual machine ({meas.machine.hypervisor or 'unknown hypervisor'}): every "
                     "fitted value includes the outer hypervisor")
    fixed, param_rows = _native_parameters(meas, hw0, machine)
    hw1 = hw0.with_overrides(fixed) if fixed else hw0
    fit_rows = [by_id[i] for i in fit_ids]
    names, values, jac, fitted, undetermined = _determined_parameters(fit_rows, hw1, candidates, fixed)
    logp, res = _gauss_newton(fit_rows, hw1, fitted, values)
    best = {n: math.exp(v) for n, v in zip(fitted, logp)}
    hw_fit = hw1.with_overrides(best) if best else hw1
    cov, half = _covariance(fit_rows, hw1, fitted, best, res, notes)
    fit_list = ", ".join(fit_ids)
    held = ", ".join(test) or "none"
    for k, n in enumerate(fitted):
        determining = [r.id for i, r in enumerate(fit_rows) if abs(jac[i, names.index(n)]) > 1e-9]
        param_rows.append({"parameter": n, "status": "fitted", "base": values[n], "value": best[n],
                           "low": best[n] * math.exp(-half[k]), "high": best[n] * math.exp(half[k]),
                           "rows": ", ".join(determining),
                           "source": f"fitted by hvkit profile fit to rows measured on {machine} by {meas.tool}: "
                                     f"fit rows {fit_list}; held out (never fitted): {held}"})
    for n in undetermined:
        determining = [r.id for i, r in enumerate(fit_rows) if abs(jac[i, names.index(n)]) > 1e-9]
        param_rows.append({"parameter": n, "status": "not determined", "base": values[n], "value": values[n],
                           "low": math.nan, "high": math.nan, "rows": ", ".join(determining),
                           "source": "kept from the base: the fit rows cannot tell it apart from the fitted ones"})
    fit = _Fit(fitted, best, cov)
    out = [_scored_row(r, fit_ids, test, by_id, hw0, hw_fit, fit) for r in meas.rows]
    rows_df = pd.DataFrame(out)
    if any(not math.isfinite(v) for v in rows_df["model"].dropna()):
        raise HvkitError("the fit produced a value that is not finite", where=meas.tool)
    base_id = hw0.id
    return FitReport(base=base_id, machine=machine, fit_ids=fit_ids, test_ids=test, rows=rows_df,
                     params=pd.DataFrame(param_rows), notes=notes)


def _native_parameters(meas: Measurements, hw0: Hardware, machine: str) -> tuple[dict[str, float], list[dict]]:
    """The parameters native rows set directly (their values, and their rows of the parameter table)."""
    fixed: dict[str, float] = {}
    param_rows = []
    for r in meas.rows:
        name = NATIVE_PARAMS.get(r.quantity)
        if name and r.unit == "cycles":
            fixed[name] = r.value
            row_half = r.half_width()
            param_rows.append({"parameter": name, "status": "measured natively", "base": _value(hw0, name),
                               "value": r.value, "low": r.ci95[0] if r.ci95 else math.nan,
                               "high": r.ci95[1] if r.ci95 else math.nan, "rows": r.id,
                               "source": f"measured on {machine} by {meas.tool}: row {r.id}"
                                         + ("" if row_half is None else f" (n={r.n})")})
    return fixed, param_rows


def _determined_parameters(fit_rows: list[MeasuredRow], hw1: Hardware, candidates: list[str] | None,
                           fixed: dict[str, float]) -> tuple[list[str], dict[str, float], np.ndarray, list[str], list[str]]:
    """The parameters the fit rows determine: sensitive to them, and adding to the rank. Returns the candidates,
    their base values, the Jacobian of the fit rows in them, the ones fitted and the sensitive ones left
    undetermined."""
    names = [n for n in (candidates or list(Params.model_fields)) if getattr(hw1.params, n) is not None
             and n not in fixed and n not in NOT_CONTINUOUS and _value(hw1, n) > 0]
    values = {n: _value(hw1, n) for n in names}
    jac = _jacobian(fit_rows, hw1, names, values)
    sensitive = [j for j in range(len(names)) if np.any(np.abs(jac[:, j]) > 1e-9)]
    sensitive.sort(key=lambda j: (-int(np.sum(np.abs(jac[:, j]) > 1e-9)), -float(np.sum(np.abs(jac[:, j])))))
    chosen: list[int] = []
    for j in sensitive:
        trial = jac[:, chosen + [j]]
        sv = np.linalg.svd(trial, compute_uv=False)
        if len(chosen) + 1 <= len(fit_rows) and sv[-1] > _RANK_TOL * sv[0]:
            chosen.append(j)
    fitted = [names[j] for j in chosen]
    undetermined = [names[j] for j in sensitive if j not in chosen]
    return names, values, jac, fitted, undetermined


def _gauss_newton(fit_rows: list[MeasuredRow], hw1: Hardware, fitted: list[str],
                  values: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton on the log-parameters ``fitted`` from their base ``values``, each within
    :data:`MAX_LOG_STEP_FROM_BASE` of it, halving a step until the loss falls. Returns the log-parameters and the
    fit rows' relative residuals there."""
    logp = np.array([math.log(values[n]) for n in fitted])
    lower, upper = logp - MAX_LOG_STEP_FROM_BASE, logp + MAX_LOG_STEP_FROM_BASE
    y = np.array([r.value for r in fit_rows])

    def residuals(lp: np.ndarray) -> np.ndarray:
        hw = hw1.with_overrides({n: math.exp(v) for n, v in zip(fitted, lp)})
        return np.array([model_cycles(r, hw) for r in fit_rows]) / y - 1.0

    res = residuals(logp)
    for _ in range(30):
        if not fitted:
            break
        cur = {n: math.exp(v) for n, v in zip(fitted, logp)}
        j_rel = _jacobian(fit_rows, hw1, fitted, cur) * (res + 1.0)[:, None]
        step, *_ = np.linalg.lstsq(j_rel, -res, rcond=None)
        step = np.clip(step, -3.0, 3.0)  # at most a factor of 20 per iteration
        loss, t = float(res @ res), 1.0
        while t > 1e-4:
            trial = np.clip(logp + t * step, lower, upper)
            r2 = residuals(trial)
            if float(r2 @ r2) < loss:
                logp, res = trial, r2
                break
            t /= 2
        if t <= 1e-4 or float(np.max(np.abs(t * step))) < 1e-7:
            break
    return logp, res


def _covariance(fit_rows: list[MeasuredRow], hw1: Hardware, fitted: list[str], best: dict[str, float],
                res: np.ndarray, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The fitted parameters' covariance (log space, 95% scale) from the measurement intervals and, with spare
    rows, the scatter; and their half-widths, at most :data:`MAX_LOG_HALF` (``notes`` say when one was cut)."""
    cov = np.zeros((len(fitted), len(fitted)))
    if fitted:
        jf = _jacobian(fit_rows, hw1, fitted, best)
        pinv = np.linalg.pinv(jf)
        rel_half = np.array([(r.half_width() or 0.0) / r.value for r in fit_rows])
        cov = pinv @ np.diag(rel_half ** 2) @ pinv.T
        dof = len(fit_rows) - len(fitted)
        if dof > 0:
            s2 = float(res @ res) / dof
            cov = cov + (fit_interval_scale(dof) ** 2) * s2 * np.linalg.pinv(jf.T @ jf)
        else:
            notes.append(f"{len(fitted)} parameters from {len(fit_rows)} fit rows: no spare row, so the intervals "
                         "carry only the measurements' own intervals, not the model's misfit")
    half = np.sqrt(np.clip(np.diag(cov), 0, None)) if fitted else np.zeros(0)
    if np.any(half > MAX_LOG_HALF):
        notes.append("the fit rows leave some parameters undetermined in practice: intervals wider than a factor of "
                     f"e^{MAX_LOG_HALF:g} are shown at that width")
        half = np.minimum(half, MAX_LOG_HALF)
    return cov, half


@dataclass(frozen=True)
class _Fit:
    """The fitted parameters, their values and their covariance in log space."""

    fitted: list[str]
    best: dict[str, float]
    cov: np.ndarray

    def interval(self, row: MeasuredRow, hw: Hardware, events: dict[str, float] | None = None) -> float:
        """The model value's 95% half-width in log space, from the parameters' covariance."""
        fitted, best, cov = self.fitted, self.best, self.cov
        if not fitted:
            return 0.0
        g = np.zeros(len(fitted))
        for k, n in enumerate(fitted):
            up = hw.with_overrides({n: best[n] * 1.02})
            down = hw.with_overrides({n: best[n] / 1.02})
            a, b = model_cycles(row, up, events), model_cycles(row, down, events)
            g[k] = (math.log(a) - math.log(b)) / (2 * math.log(1.02)) if a > 0 and b > 0 else 0.0
        return min(math.sqrt(max(float(g @ cov @ g), 0.0)), MAX_LOG_HALF)


def _scored_row(r: MeasuredRow, fit_ids: list[str], test: list[str], by_id: dict[str, MeasuredRow], hw0: Hardware,
                hw_fit: Hardware, fit: _Fit) -> dict[str, object]:
    """Row ``r`` of the report: its use (fit, test, check, native, input...), the base and fitted models' values
    with the fitted one's interval, its relative error and whether the measurement is inside the interval."""
    ci_low, ci_high = (r.ci95 if r.ci95 else (math.nan, math.nan))
    rec: dict[str, object] = {"id": r.id, "quantity": r.quantity, "unit": r.unit, "measured": r.value, "ci_low": ci_low,
           "ci_high": ci_high, "n": r.n, "base_model": math.nan, "model": math.nan, "model_low": math.nan,
           "model_high": math.nan, "rel_error": math.nan, "inside": False}
    ev = _events(r)
    if r.id in fit_ids or r.id in test:
        rec["use"] = "fit" if r.id in fit_ids else "test"
        m = model_cycles(r, hw_fit)
        h = fit.interval(r, hw_fit)
        rec.update(base_model=model_cycles(r, hw0), model=m, model_low=m * math.exp(-h), model_high=m * math.exp(h))
    elif r.role == "check" and r.native and r.native in by_id and ev:
        native = by_id[r.native]
        exits = {k: v for k, v in ev.items() if k not in NATIVE_EVENTS}
        path = model_cycles(r, hw_fit, exits)
        h = fit.interval(r, hw_fit, exits)
        nat_half = native.half_width() or 0.0
        m = native.value + path
        rec.update(use="check", base_model=native.value + model_cycles(r, hw0, exits), model=m,
                   model_low=native.value - nat_half + path * math.exp(-h),
                   model_high=native.value + nat_half + path * math.exp(h))
    elif r.role == "native":
        rec["use"] = "native"
    else:
        rec["use"] = "not modelled" if not ev else ("input" if r.role == "input" else r.role)
    model, low, high = float(rec["model"]), float(rec["model_low"]), float(rec["model_high"])  # type: ignore[arg-type]
    if not math.isnan(model):
        rec["rel_error"] = model / r.value - 1.0
        rec["inside"] = bool(low <= r.value <= high)
    return rec


def profile_document(report: FitReport, profile_id: str, name: str, description: str,
                     extra: dict[str, dict] | None = None) -> dict:
    """A profile that inherits the fit's base and sets the fitted and measured parameters (``extra`` first)."""
    params = dict(extra or {})
    params.update(report.profile_params())
    return {"id": profile_id, "base": report.base, "name": name, "description": description, "params": params}
