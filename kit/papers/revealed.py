"""The revealed rows of the later blind sets: the frozen blind value, the current model and the published value.

The published results of Felter et al. (ISPASS 2015), the Turtles project (OSDI 2010), Clark et al. (NSDI 2005),
Barham et al.'s scalability figure (SOSP 2003) and Matthews et al. (ExpCS 2007) were committed after the blind
predictions of their rows had been scored (``data/published/revealed-2026-12.csv``, role ``revealed``). Each row
names its prediction: a blind file, a row and a column. :func:`table` sets side by side

- the **frozen blind** value, read from the blind file (never recomputed; its digest is checked by
  :func:`kit.papers.blind.check_blind_files`);
- the **current model**: the same row recomputed now by the blind file's own generator, with its 95% interval over
  seeds. It is *post-reveal and in-sample*: mechanisms added since were chosen knowing which rows missed, although
  no workload or mode factor was fitted to a row;
- the **published** value,

with the error of each in points of relative performance (or as a factor for times, sizes and counts) and, for
every gap above :data:`GAP_PTS` points or :data:`GAP_FACTOR`, the mechanism behind it (:data:`MECHANISMS`, a
:class:`~kit.papers.calibration.Gap` whose mechanism must exist in the code).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pandas as pd

from ..errors import HvkitError
from ..stats import t_interval
from .blind import frozen
from .calibration import Gap, mechanism_exists
from .published import load_published

__all__ = ["REVEALED", "PAPERS", "GAP_PTS", "GAP_FACTOR", "MECHANISMS", "rows", "current", "table", "summary"]

#: The published file of the revealed rows.
REVEALED = "revealed-2026-12"
#: Paper name (as the notebooks and ``hvkit reproduce`` call it) -> the prefix of its rows' ids.
PAPERS = {"felter-2015": "felter2015:", "turtles-2010": "turtles2010:", "clark-2005": "clark2005:",
          "barham-2003-scalability": "barham2003:", "matthews-2007": "matthews2007:"}
#: A gap in points of relative performance (or of a degradation) above this needs its mechanism named.
GAP_PTS = 5.0
#: A gap of a time, size or count beyond this factor either way needs its mechanism named.
GAP_FACTOR = 1.5

#: Per row id: the mechanism behind a gap above the thresholds (see :func:`table`'s ``explained``). A mechanism
#: named here must exist in the code (:func:`~kit.papers.calibration.mechanism_exists`).
MECHANISMS: dict[str, Gap] = {}


def rows(paper: str | None = None) -> pd.DataFrame:
    """The revealed rows compared through their blind predictions (all, or ``paper``'s, see :data:`PAPERS`)."""
    pub = load_published(REVEALED)
    pub = pub[(pub["role"] == "revealed") & (pub["compare"] == "blind_row")].reset_index(drop=True)
    if paper is None:
        return pub
    if paper not in PAPERS:
        raise HvkitError("unknown paper", field="paper", value=paper, allowed=list(PAPERS))
    return pub[pub["id"].str.startswith(PAPERS[paper])].reset_index(drop=True)


def _interval(values: list[float]) -> tuple[float, float, float]:
    mean, half = t_interval(values)
    h = math.nan if half is None else half  # one value: no interval (current() asks for two seeds or more)
    return mean, mean - h, mean + h


def _relative(specs: Callable[[], list], seeds: int) -> Callable[[int, str], dict]:
    from .predictions.rows import predict_rows

    def compute(i: int, column: str) -> dict:
        p = dataclasses.replace(specs()[i], seeds=seeds)
        r = predict_rows([p], max_seeds=seeds, require_width=False).iloc[0]
        return {"value": float(r["relative_performance"]), "ci_low": float(r["ci_low"]),
                "ci_high": float(r["ci_high"]), "seeds": int(r["seeds"])}
    return compute


def _turtles(seeds: int) -> Callable[[int, str], dict]:
    from .predictions.turtles_2010_nested import predict_turtles, turtles_specs

    def compute(i: int, column: str) -> dict:
        r = predict_turtles([dataclasses.replace(turtles_specs()[i], seeds=seeds)]).iloc[0]
        return {"value": float(r["nested_over_single"]), "ci_low": 1.0 - float(r["overhead_ci_high"]),
                "ci_high": 1.0 - float(r["overhead_ci_low"]), "seeds": int(r["seeds"])}
    return compute


def _clark(seeds: int) -> Callable[[int, str], dict]:
    from ..live_migration import migrate
    from .predictions.clark_2005_migration import clark_specs
    cache: dict[int, list[dict]] = {}

    def compute(i: int, column: str) -> dict:
        p = clark_specs()[i]
        if i not in cache:
            cache[i] = [migrate(p.spec.replace(seed=p.spec.seed + k), **p.options).summary for k in range(seeds)]
        key = {"mib_sent": "bytes_sent"}.get(column, column)
        scale = 2.0 ** -20 if column == "mib_sent" else 1.0
        mean, low, high = _interval([float(s[key]) * scale for s in cache[i]])
        return {"value": mean, "ci_low": low, "ci_high": high, "seeds": seeds}
    return compute


def _consolidation(seeds: int) -> Callable[[int, str], dict]:
    from ..consolidation import run_scenario
    from .predictions import consolidation_2003_2007 as c
    blind = frozen("predictions-consolidation-2003-2007.csv")
    isolation: dict[str, pd.DataFrame] = {}

    def compute(i: int, column: str) -> dict:
        b = blind.iloc[i]
        if b["experiment"] == "scalability":  # aggregate of N domains relative to native Linux, as the file's value
            n = int(str(b["configuration"]).split()[0])
            totals = [float(run_scenario(c.barham_scenario(n, int(b["first_seed"]) + k, c.barham_duration(n)),
                                         alone=False, native=False).vms["value"].sum()) for k in range(seeds)]
            mean, low, high = _interval(totals)
            return {"value": mean, "ci_low": low, "ci_high": high, "seeds": seeds}
        hv = b["hypervisor"]
        if hv not in isolation:  # every hog of the mode at once: they share each seed's baseline run
            isolation[hv] = c.predict_matthews(modes=(hv,), seeds=seeds, hardware=b["hardware"]).set_index(
                "configuration")
        r = isolation[hv].loc[b["configuration"]]
        return {"value": float(r["mean"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
                "seeds": seeds}
    return compute


def _computers(seeds: int) -> dict[str, Callable[[int, str], dict]]:
    from .predictions.apps_2015_2016 import prediction_specs_2015
    from .predictions.felter_2015_docker import felter_docker_specs
    return {"predictions-2015-2016.csv": _relative(prediction_specs_2015, seeds),
            "predictions-felter-2015-docker.csv": _relative(felter_docker_specs, seeds),
            "predictions-turtles-2010-nested.csv": _turtles(seeds),
            "predictions-clark-2005-migration.csv": _clark(seeds),
            "predictions-consolidation-2003-2007.csv": _consolidation(seeds)}


def current(revealed: pd.DataFrame, seeds: int = 3) -> pd.DataFrame:
    """The current model for each revealed row (``value``, ``ci_low``, ``ci_high``, ``seeds``), computed by its
    blind file's generator for the row it names, ``seeds`` seeds from the file's first seed."""
    if seeds < 2:
        raise HvkitError("a current value needs an interval", field="seeds", value=seeds, allowed="2 or more")
    comp = _computers(seeds)
    out = []
    for _, r in revealed.iterrows():
        if r["blind_file"] not in comp:
            raise HvkitError("no generator for this blind file", where=f"data/published/{REVEALED}.csv",
                             field="blind_file", value=r["blind_file"], allowed=sorted(comp))
        out.append(comp[r["blind_file"]](int(r["blind_row"]), r["blind_column"]))
    return pd.DataFrame(out, columns=["value", "ci_low", "ci_high", "seeds"])


def _error(model: float, published: float, unit: str) -> tuple[float, str]:
    """Points (relative performance, degradation) or a factor (model over published, either way above 1)."""
    if unit == "relative":
        return (model - published) * 100.0, "points"
    if published <= 0 or model <= 0:
        return math.inf, "factor"
    return max(model / published, published / model), "factor"


def _is_gap(err: float, kind: str) -> bool:
    return abs(err) > GAP_PTS if kind == "points" else err > GAP_FACTOR


def table(paper: str | None = None, seeds: int = 3, cur: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frozen blind, current model (mean and 95% interval over ``seeds``; post-reveal, in-sample) and published,
    one row per revealed row of ``paper`` (all papers by default), with both errors and, for every gap above
    the thresholds, its mechanism and whether that mechanism exists in the code (``explained``). ``cur`` is a
    precomputed :func:`current` table of the same rows."""
    rv = rows(paper)
    cur = current(rv, seeds) if cur is None else cur
    out = pd.DataFrame({"id": rv["id"], "system": rv["system"], "metric": rv["metric"], "unit": rv["unit"],
                        "published": rv["value"].astype(float), "blind_frozen": rv["blind_prediction"].astype(float),
                        "current_model": cur["value"].values, "current_ci_low": cur["ci_low"].values,
                        "current_ci_high": cur["ci_high"].values, "current_seeds": cur["seeds"].values})
    blind = [_error(b, p, u) for b, p, u in zip(out["blind_frozen"], out["published"], out["unit"])]
    now = [_error(m, p, u) for m, p, u in zip(out["current_model"], out["published"], out["unit"])]
    out["error_kind"] = [k for _, k in now]
    out["blind_error"] = [round(e, 2) for e, _ in blind]
    out["current_error"] = [round(e, 2) for e, _ in now]
    out["gap"] = [_is_gap(e, k) for e, k in now]
    out["mechanism"] = [MECHANISMS[i].mechanism if i in MECHANISMS else "" for i in out["id"]]
    out["note"] = [MECHANISMS[i].note if i in MECHANISMS else "" for i in out["id"]]
    out["explained"] = [(not g) or (bool(m) and mechanism_exists(m)) for g, m in zip(out["gap"], out["mechanism"])]
    out["status"] = "revealed: the current model is post-reveal and in-sample"
    if not all(math.isfinite(v) for v in out["current_model"]):
        raise HvkitError("a current value is not finite", field="current_model",
                         value=list(out[~out["current_model"].map(math.isfinite)]["id"]))
    return out


def summary(t: pd.DataFrame) -> pd.DataFrame:
    """Median and worst error, blind and now, for the points rows and the factor rows apart."""
    out = []
    for kind in ("points", "factor"):
        d = t[t["error_kind"] == kind]
        if d.empty:
            continue
        for col, label in (("blind_error", "blind (frozen, before the reveal)"),
                           ("current_error", "current model (post-reveal, in-sample)")):
            a = d[col].abs()
            out.append({"rows": f"{kind} ({len(d)})", "predictions": label, "median": float(a.median()),
                        "worst": float(a.max()),
                        "gaps": int(sum(_is_gap(e, kind) for e in d[col]))})
    return pd.DataFrame(out)
