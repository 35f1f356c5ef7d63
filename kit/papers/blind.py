"""The blind prediction files: frozen forever, checked by digest, shown beside the current model.

A blind prediction is only a test if it is never recomputed after the model changes: the files in
``data/predictions/`` are committed once, before the results they predict exist in the repository, and are never
edited. :data:`BLIND_FILES` registers each file's :class:`~kit.papers.predictions.prediction_set.PredictionSet` (its
SHA-256 as committed, its model commit, its papers, its generator); :func:`check_blind_files` says whether each file
still has its digest. The current model's values are a separate, newer statistic: :func:`frozen_vs_current` sets
them beside the frozen ones, labelled *post-reveal, in-sample* where the predicted results have since been
published in the repository (``data/published`` rows with role ``revealed``), and *blind* where they have not.
"""
from __future__ import annotations

import pandas as pd

from ..errors import HvkitError
from ..inputs.spec import Spec
from .predictions import (apps_2015_2016, clark_2005_migration, consolidation_2003_2007, felter_2015_docker,
                          firecracker_2020, heldout_2026, le_2009_driver_recovery, testbed_2003, turtles_2010_nested)
from .predictions.prediction_set import PredictionSet

__all__ = ["BLIND_FILES", "check_blind_files", "frozen", "frozen_vs_current", "STATUS_REVEALED", "STATUS_BLIND"]

STATUS_REVEALED = "revealed: the current model is post-reveal and in-sample"
STATUS_BLIND = "blind: not yet compared"


#: Every blind file, by name: the set each generator module declares (one line each; a new set is added here).
BLIND_FILES: dict[str, PredictionSet] = {s.file: s for s in (
    testbed_2003.PREDICTION_SET, apps_2015_2016.PREDICTION_SET, turtles_2010_nested.PREDICTION_SET,
    clark_2005_migration.PREDICTION_SET, felter_2015_docker.PREDICTION_SET, consolidation_2003_2007.PREDICTION_SET,
    *heldout_2026.PREDICTION_SETS, firecracker_2020.PREDICTION_SET, le_2009_driver_recovery.PREDICTION_SET)}


def check_blind_files() -> pd.DataFrame:
    """One row per blind file: the recorded and the actual digest, and whether they agree."""
    rows = []
    for f in BLIND_FILES.values():
        actual = f.digest()
        rows.append({"file": f.file, "recorded_sha256": f.sha256, "actual_sha256": actual,
                     "unchanged": actual == f.sha256, "committed": f.committed})
    return pd.DataFrame(rows)


def frozen(name: str) -> pd.DataFrame:
    """Blind file ``name`` as committed."""
    return _frozen(name)


def _frozen(name: str) -> pd.DataFrame:
    if name not in BLIND_FILES:
        raise HvkitError("not a blind prediction file", field="name", value=name, allowed=sorted(BLIND_FILES))
    return BLIND_FILES[name].read()


def _revealed(name: str) -> pd.DataFrame:
    """Revealed published rows for blind file ``name``, keyed like its rows."""
    from .published import load_published
    f = BLIND_FILES[name]
    if not f.revealed_in:
        return pd.DataFrame(columns=["key", "published"])
    pub = load_published(f.revealed_in)
    pub = pub[pub["role"] == "revealed"]
    keys = [_key(h, m, op, o) for h, m, op, o in zip(pub["hardware"], pub["hypervisor"], pub["op"], pub["overrides"])]
    return pd.DataFrame({"key": keys, "published": pub["value"].astype(float).values})


def _key(hardware: str, hypervisor: str, workload: str, settings: str) -> tuple:
    """A row's identity from its hardware, mode, workload and its ``;``-separated settings (order-free)."""
    items = sorted(s.strip().removeprefix("workload.").removeprefix("mode.") for s in settings.split(";") if s.strip())
    return hardware, hypervisor, workload, tuple(items)


def frozen_vs_current(name: str, *, current: pd.DataFrame | None = None, seeds: int = 5, max_seeds: int = 40,
                      rows: list[int] | None = None) -> pd.DataFrame:
    """The frozen blind predictions of file ``name`` beside the current model's mean and 95% interval.

    ``current`` is the current model's table (as :func:`kit.papers.predictions.rows.predict_rows` returns it,
    one row per frozen row, in order); without it, the rows (``rows``: their positions, default all) are
    computed now with ``seeds`` seeds each, more (up to ``max_seeds``) where the 95% half-width is not yet under
    one point. ``status`` says whether the predicted results have been revealed
    (then the current model is in-sample, fitted or not, and only the frozen column was blind).
    """
    from .predictions.rows import Prediction, predict_rows
    frozen = _frozen(name)
    picks = list(range(len(frozen))) if rows is None else list(rows)
    frozen = frozen.iloc[picks].reset_index(drop=True)
    if current is None:
        if name == testbed_2003.PREDICTION_SET.file:
            specs = [testbed_2003.prediction_specs()[i][1] for i in picks]
            preds = [Prediction("", "", "", _statistical(s), seeds=seeds) for s in specs]
        elif name == apps_2015_2016.PREDICTION_SET.file:
            preds = [apps_2015_2016.prediction_specs_2015()[i] for i in picks]
        else:
            raise HvkitError("the current model is computed here for the relative-performance files only; pass "
                             "current=", field="name", value=name,
                             allowed=[testbed_2003.PREDICTION_SET.file, apps_2015_2016.PREDICTION_SET.file])
        current = predict_rows(preds, max_seeds=max_seeds, require_width=False)  # the interval says it
    settings = [";".join(x for x in (p, m) if x) for p, m in zip(frozen["params"], frozen["mode_overrides"])]
    keys = [_key(h, m, w, s) for h, m, w, s in zip(frozen["hardware"], frozen["hypervisor"], frozen["workload"],
                                                   settings)]
    revealed = dict(zip(_revealed(name)["key"], _revealed(name)["published"]))
    out = pd.DataFrame({
        "hardware": frozen["hardware"], "hypervisor": frozen["hypervisor"], "workload": frozen["workload"],
        "params": frozen["params"], "mode_overrides": frozen["mode_overrides"],
        "blind_frozen": frozen["relative_performance"].astype(float),
        "blind_ci_half_width": (frozen["ci_half_width"].astype(float) if "ci_half_width" in frozen
                                else float("nan")),
        "current_model": current["relative_performance"].astype(float).values,
        "current_ci_low": current["ci_low"].astype(float).values,
        "current_ci_high": current["ci_high"].astype(float).values,
        "current_seeds": current["seeds"].values,
        "current_duration": current["duration"].values,
        "published": [revealed.get(k, float("nan")) for k in keys],
    })
    out["status"] = [STATUS_REVEALED if k in revealed else STATUS_BLIND for k in keys]
    out["blind_error_pts"] = ((out["blind_frozen"] - out["published"]) * 100).round(1)
    out["current_error_pts"] = ((out["current_model"] - out["published"]) * 100).round(1)
    out["explained_by"] = current["explained_by"].values
    return out


#: Simulated seconds per run of the current model's 2003-file statistics: at least ten 30 ms credit accounting
#: periods, and for CPU-bound workloads enough units of work per vCPU for a half-width under one point.
DURATIONS_2003 = {"spec-int": 10.0, "kernel-build": 60.0, "osdb-ir": 5.0, "osdb-oltp": 5.0, "dbench": 5.0,
                  "specweb": 0.5, "ttcp": 0.3, "linpack": 5.0, "stream": 20.0, "random-access": 10.0,
                  "netperf-rr": 0.3}


def _statistical(spec: Spec) -> Spec:
    """The spec with the duration a statistic needs (the frozen 2003 file used one seed and shorter runs)."""
    return spec.replace(duration=DURATIONS_2003[spec.workload])
