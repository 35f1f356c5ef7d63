"""The blind prediction files: frozen forever, checked by digest, shown beside the current model.

A blind prediction is only a test if it is never recomputed after the model changes: the files in
``data/predictions/`` are committed once, before the results they predict exist in the repository, and are never
edited. :data:`BLIND_FILES` records each file's SHA-256 as committed; :func:`check_blind_files` says whether a
file still has it. The current model's values are a separate, newer statistic: :func:`frozen_vs_current` sets
them beside the frozen ones, labelled *post-reveal, in-sample* where the predicted results have since been
published in the repository (``data/published`` rows with role ``revealed``), and *blind* where they have not.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from ..errors import HvkitError
from ..inputs.files import data_dir
from ..inputs.spec import Spec

__all__ = ["BlindFile", "BLIND_FILES", "file_digest", "check_blind_files", "blind_specs_2003", "frozen", "frozen_vs_current",
           "STATUS_REVEALED", "STATUS_BLIND"]

STATUS_REVEALED = "revealed: the current model is post-reveal and in-sample"
STATUS_BLIND = "blind: not yet compared"


@dataclass(frozen=True)
class BlindFile:
    """A committed blind prediction file and the digest it was committed with."""

    name: str
    sha256: str
    committed: str
    #: the ``data/published`` file holding the revealed results, if any
    revealed_in: str = ""


#: Every blind file, with the SHA-256 of its content as committed (before any of its results were revealed).
BLIND_FILES = {
    "predictions.csv": BlindFile(
        "predictions.csv", "59f71fdba83723963bb89dfdd28934992a116cf404526c5819bf497b2668af5a",
        "last written at commit 0575d92 (one seed per row, no interval), before the Barham et al. results were "
        "revealed", revealed_in="barham-2003-macro"),
    "predictions-2015-2016.csv": BlindFile(
        "predictions-2015-2016.csv", "48ed619be8f4e2598cec52d80d968d67d4f5f93c8bc8091087d71b63aed544ed",
        "committed at f216114, computed at model ca4e7c6"),
    "predictions-turtles-2010-nested.csv": BlindFile(
        "predictions-turtles-2010-nested.csv", "30162059986cc558e4ab886b61d163f007d712e55a112822f8e09176eb40ad4a",
        "committed at adacf17, computed at model c59d32b"),
    "predictions-clark-2005-migration.csv": BlindFile(
        "predictions-clark-2005-migration.csv", "4640f9de441d52f544b2f39487cb69ea7d3e29325cb93f5059a40cfe6e5ea75d",
        "committed at a371f93, computed at model c59d32b"),
    "predictions-felter-2015-docker.csv": BlindFile(
        "predictions-felter-2015-docker.csv", "dbe0bf5232ddde4c5aa53758809cf3d6b83b14f6c1115d31a9581c7d76f9042e",
        "committed at 926b5a7, computed at model c59d32b"),
    "predictions-consolidation-2003-2007.csv": BlindFile(
        "predictions-consolidation-2003-2007.csv", "3f6544d5df8f5e40c45cceeed14908705f96373ba5e81cc316dcc029f13d0573",
        "committed at 5788e6e, computed at model 79dbcee"),
    "predictions-heldout-matthews-2007-vmware-openvz.csv": BlindFile(
        "predictions-heldout-matthews-2007-vmware-openvz.csv",
        "7f3bfad0279193623975894b91b8213ff22b12fb884a7506d3c717ce37053120",
        "committed with its digest (issue 19, section 1), computed at model ee75110 (main 1999d70 and new inputs)"),
    "predictions-heldout-clark-2005-apache-mmuncher.csv": BlindFile(
        "predictions-heldout-clark-2005-apache-mmuncher.csv",
        "9123da6386662735561c6120747448b94a9057f6c1e198264b26300888200635",
        "committed with its digest (issue 19, section 1), computed at model ee75110 (main 1999d70 and new inputs)"),
    "predictions-heldout-barham-2003-fig4-udp.csv": BlindFile(
        "predictions-heldout-barham-2003-fig4-udp.csv",
        "bf7704127d7b9b943cadaf3823f72a3a562f0beb8f967fd6cd14fbd98d73dca6",
        "committed with its digest (issue 19, section 1), computed at model ee75110 (main 1999d70 and new inputs)"),
    "predictions-heldout-turtles-2010-drw-vmware.csv": BlindFile(
        "predictions-heldout-turtles-2010-drw-vmware.csv",
        "e7d7f6e3f2cae80068dbac8f5430f588d76a01f91b1de906a62b1005889505c2",
        "committed with its digest (issue 19, section 1), computed at model ee75110 (main 1999d70 and new inputs)"),
    "predictions-heldout-felter-2015-redis-fio.csv": BlindFile(
        "predictions-heldout-felter-2015-redis-fio.csv",
        "8e2ec1d3f5e9b1b326db6ef7ba4a116448be9e2b8a831bb1a131c6cb48ff0f28",
        "committed with its digest (issue 19, section 1), computed at model ee75110 (main 1999d70 and new inputs)"),
}


def file_digest(name: str) -> str:
    """SHA-256 of blind file ``name`` as it is on disk."""
    path = data_dir() / "predictions" / name
    if not path.exists():
        raise HvkitError("blind prediction file is missing", where=str(path), allowed=sorted(BLIND_FILES))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_blind_files() -> pd.DataFrame:
    """One row per blind file: the recorded and the actual digest, and whether they agree."""
    rows = []
    for f in BLIND_FILES.values():
        actual = file_digest(f.name)
        rows.append({"file": f.name, "recorded_sha256": f.sha256, "actual_sha256": actual,
                     "unchanged": actual == f.sha256, "committed": f.committed})
    return pd.DataFrame(rows)


def blind_specs_2003() -> list[Spec]:
    """The runs of ``predictions.csv``, in file order (the generator of the frozen file, seeds aside)."""
    out = []
    wl_2003: list[tuple[str, dict]] = [("spec-int", {}), ("kernel-build", {}), ("osdb-ir", {}), ("osdb-oltp", {}),
                                       ("dbench", {}), ("specweb", {})]
    wl_2003 += [("ttcp", {"direction": d, "mtu": m}) for d in ("tx", "rx") for m in (1500, 500)]
    for wl, params in wl_2003:
        for hv, mode in (("xen-pv", {"release": "2003"}),
                         ("vmware-bt", {"release": "2003", "shadow_cache": "false"})):
            out.append(Spec.make(hardware="p4-xeon-2003", hypervisor=hv, workload=wl, params=params, mode=mode,
                                 seed=2003))
    for wl in ("linpack", "stream", "random-access", "netperf-rr"):
        out.append(Spec.make(hardware="sandybridge-ep-2012", hypervisor="kvm", workload=wl, seed=2012))
    return out


def frozen(name: str) -> pd.DataFrame:
    """Blind file ``name`` as committed."""
    return _frozen(name)


def _frozen(name: str) -> pd.DataFrame:
    if name not in BLIND_FILES:
        raise HvkitError("not a blind prediction file", field="name", value=name, allowed=sorted(BLIND_FILES))
    return pd.read_csv(data_dir() / "predictions" / name, keep_default_na=False)


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

    ``current`` is the current model's table (as :func:`kit.papers.predictions_2015.predict_rows` returns it,
    one row per frozen row, in order); without it, the rows (``rows``: their positions, default all) are
    computed now with ``seeds`` seeds each, more (up to ``max_seeds``) where the 95% half-width is not yet under
    one point. ``status`` says whether the predicted results have been revealed
    (then the current model is in-sample, fitted or not, and only the frozen column was blind).
    """
    from .predictions_2015 import Prediction, predict_rows, prediction_specs_2015
    frozen = _frozen(name)
    picks = list(range(len(frozen))) if rows is None else list(rows)
    frozen = frozen.iloc[picks].reset_index(drop=True)
    if current is None:
        if name == "predictions.csv":
            specs = [blind_specs_2003()[i] for i in picks]
            preds = [Prediction("", "", "", _statistical(s), seeds=seeds) for s in specs]
        else:
            preds = [prediction_specs_2015()[i] for i in picks]
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
