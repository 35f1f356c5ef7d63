"""Parameter sweeps: every point a :func:`kit.run` of a frozen spec.

A sweep expands a base spec over a grid (full factorial), zipped parameter
lists or an explicit list of points, times replications. Each point runs
wherever the executor puts it: a local process pool on all cores (default),
any ``concurrent.futures.Executor``, or a Dask ``distributed.Client`` as is.
Every finished point is written to a store (one Parquet file per point, named
by the hash of its spec and the kit version) the moment it finishes, so a
re-run or a ``--resume`` after a crash recomputes only what was in flight.
Seeds come from the spec and the replication index, never from worker order,
so the numbers are the same whichever executor ran them.
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures import as_completed as cf_as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import __version__
from .errors import HvkitError, format_validation_error
from .inputs.spec import Spec

__all__ = ["sweep", "expand", "run_point", "SweepFile", "load_sweep_file", "mean_ci", "Store"]

METRIC_COLUMNS = ["value", "native_value", "relative_performance", "units", "events", "events_per_sim_s",
                  "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util", "backend_util", "metric",
                  "unit", "higher_is_better", "error"]


def _seed_for(base_seed: int, replication: int) -> int:
    return int(np.random.SeedSequence([base_seed, replication]).generate_state(1)[0])


def expand(base: Spec, grid: dict | None = None, *, zip_params: dict | None = None,
           points: list | None = None, replications: int = 1) -> list[dict]:
    """The points of a sweep: ``[{"point": i, "replication": r, "sets": {...}, "spec": Spec}]``.

    ``grid`` is a full factorial over ``--set`` keys; ``zip_params`` lists values
    that advance together; ``points`` is an explicit list of ``{key: value}``
    dicts (or :class:`Spec` objects). They combine: each explicit point, times
    each zipped row, times the factorial grid.
    """
    if replications < 1:
        raise HvkitError("replications must be at least 1", field="replications", value=replications)
    grid = grid or {}
    for k, v in grid.items():
        if not isinstance(v, (list, tuple)) or not v:
            raise HvkitError("a grid entry needs a non-empty list of values", field=f"grid.{k}", value=v)
    zipped = [{}]
    if zip_params:
        lengths = {len(v) for v in zip_params.values()}
        if len(lengths) != 1:
            raise HvkitError("zipped lists must have the same length", field="zip",
                             value={k: len(v) for k, v in zip_params.items()})
        zipped = [dict(zip(zip_params, row)) for row in zip(*zip_params.values())]
    explicit = points or [{}]
    keys = list(grid)
    combos = [dict(zip(keys, vals)) for vals in itertools.product(*grid.values())] if keys else [{}]
    out, i = [], 0
    for ex in explicit:
        for z in zipped:
            for g in combos:
                if isinstance(ex, Spec):
                    spec0, sets = ex, {**z, **g}
                else:
                    spec0, sets = base, {**ex, **z, **g}
                spec = spec0.with_sets(list(sets.items()))
                for r in range(replications):
                    out.append({"point": i, "replication": r, "sets": sets,
                                "spec": spec.replace(seed=_seed_for(spec.seed, r))})
                i += 1
    return out


def run_point(spec: Spec) -> dict:
    """Run one point and return its row; an error becomes a row with ``error`` set."""
    from .run import run
    row = {"spec_hash": spec.key(__version__), "kit_version": __version__}
    row.update(_spec_columns(spec))
    try:
        s = run(spec).summary.iloc[0]
        row.update({k: s[k] for k in METRIC_COLUMNS})
    except Exception as exc:  # recorded, never lost: the sweep goes on
        row.update({k: None for k in METRIC_COLUMNS})
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def _spec_columns(spec: Spec) -> dict:
    d = spec.model_dump(mode="json")
    out = {k: d[k] for k in ("hardware", "hypervisor", "workload", "vcpus", "vms", "duration", "seed", "pcpus",
                             "pin", "dom0_vcpus")}
    out["weights"] = ",".join(map(str, spec.weights)) if spec.weights else ""
    out["caps"] = ",".join(map(str, spec.caps)) if spec.caps else ""
    for prefix, pairs in (("mode.", spec.mode), ("hw.", spec.hw), ("workload.", spec.params)):
        for k, v in pairs:
            out[prefix + k] = str(v)
    return out


class Store:
    """A directory of finished points: ``<spec_hash>.parquet``, written atomically."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def has(self, key: str) -> bool:
        return (self.path / f"{key}.parquet").exists()

    def get(self, key: str) -> dict:
        return pd.read_parquet(self.path / f"{key}.parquet").iloc[0].to_dict()

    def put(self, key: str, row: dict) -> None:
        tmp = self.path / f".{key}.{os.getpid()}.tmp"
        pd.DataFrame([row]).astype({"backend_util": str, "error": str, "metric": str, "unit": str},
                                   errors="ignore").to_parquet(tmp, index=False)
        os.replace(tmp, self.path / f"{key}.parquet")  # atomic: a kill leaves no half file

    def keys(self) -> set[str]:
        return {p.stem for p in self.path.glob("*.parquet")}


def _is_dask(executor) -> bool:
    return type(executor).__module__.startswith("distributed")


def sweep(base: Spec, grid: dict | None = None, *, zip_params: dict | None = None, points: list | None = None,
          replications: int = 1, executor: Executor | Any = None, workers: int | None = None,
          store: str | os.PathLike | None = None, progress: bool = True) -> pd.DataFrame:
    """Run a sweep and return one tidy row per point and replication.

    Parameters
    ----------
    base : Spec
        The spec every point starts from.
    grid, zip_params, points, replications
        See :func:`expand`.
    executor : Executor or distributed.Client, optional
        Where points run; default a process pool with ``workers`` (all cores).
    store : path, optional
        Directory of finished points; points already there are reused.
    progress : bool
        Show a ``tqdm.auto`` bar (a widget in notebooks, text in a terminal).

    Returns
    -------
    DataFrame
        Spec columns (every field, plus ``mode.*``, ``hw.*``, ``workload.*``
        overrides), ``point``, ``replication``, ``spec_hash``, ``kit_version``,
        the summary metrics, ``error`` (empty when the point succeeded) and
        ``reused`` (True when it came from the store).
    """
    plan = expand(base, grid, zip_params=zip_params, points=points, replications=replications)
    st = Store(store) if store is not None else None
    rows: dict[int, dict] = {}
    todo = []
    for k, p in enumerate(plan):
        key = p["spec"].key(__version__)
        if st is not None and st.has(key):
            rows[k] = {**st.get(key), "reused": True}
        else:
            todo.append((k, p))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(plan), initial=len(rows), desc="sweep", unit="pt", dynamic_ncols=True)
    failed = sum(1 for r in rows.values() if r.get("error"))
    own = None
    try:
        if todo:
            if executor is None:
                n = workers or os.cpu_count() or 1
                executor = own = (ProcessPoolExecutor(max_workers=n) if n > 1 else _Inline())
            if _is_dask(executor):
                from distributed import as_completed as dask_as_completed
                futs = {executor.submit(run_point, p["spec"], pure=False): k for k, p in todo}
                iterator = dask_as_completed(list(futs))
            else:
                futs = {executor.submit(run_point, p["spec"]): k for k, p in todo}
                iterator = cf_as_completed(list(futs))
            for fut in iterator:
                k = futs[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # the worker itself died
                    row = {**_spec_columns(plan[k]["spec"]), **{c: None for c in METRIC_COLUMNS},
                           "spec_hash": plan[k]["spec"].key(__version__), "kit_version": __version__,
                           "error": f"{type(exc).__name__}: {exc}"}
                if st is not None:
                    st.put(row["spec_hash"], row)
                rows[k] = {**row, "reused": False}
                failed += bool(row.get("error"))
                if bar is not None:
                    bar.set_postfix(failed=failed)
                    bar.update(1)
    finally:
        if own is not None:
            own.shutdown(cancel_futures=True)
        if bar is not None:
            bar.close()
    out = []
    for k, p in enumerate(plan):
        r = dict(rows[k])
        r.update(point=p["point"], replication=p["replication"])
        for key, val in p["sets"].items():
            r[f"set.{key}"] = val
        out.append(r)
    df = pd.DataFrame(out)
    df["error"] = df["error"].fillna("").astype(str).replace({"None": "", "nan": ""})
    front = ["point", "replication"] + [c for c in df.columns if c.startswith("set.")]
    return df[front + [c for c in df.columns if c not in front]]


class _Inline(Executor):
    """Runs points in this process (one worker)."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as exc:
            f.set_exception(exc)
        return f


def mean_ci(df: pd.DataFrame, by: list[str], value: str = "relative_performance", level: float = 0.95) -> pd.DataFrame:
    """Mean and a normal-approximation confidence interval of ``value`` over replications."""
    from statistics import NormalDist
    z = NormalDist().inv_cdf(0.5 + level / 2)
    ok = df[df["error"] == ""]
    g = ok.groupby(by)[value].agg(["mean", "std", "count"]).reset_index()
    half = z * g["std"].fillna(0.0) / np.sqrt(g["count"])
    g["ci_low"], g["ci_high"] = g["mean"] - half, g["mean"] + half
    return g


# ---- the YAML sweep file -------------------------------------------------------------------------

class SweepFile(BaseModel):
    """``hvkit sweep`` input.

    ``base`` holds spec fields (hardware, hypervisor, workload, vcpus, vms,
    duration, seed, pcpus, ...); ``set`` holds ``--set`` pairs applied to the
    base; ``grid`` maps ``--set`` keys to lists (full factorial); ``zip`` maps
    keys to equal-length lists that advance together; ``points`` is a list of
    ``{key: value}`` dicts; ``replications`` repeats each point with derived seeds.
    """

    model_config = ConfigDict(extra="forbid")
    base: dict
    set: dict = Field(default_factory=dict)
    grid: dict[str, list] = Field(default_factory=dict)
    zip: dict[str, list] = Field(default_factory=dict)
    points: list[dict] = Field(default_factory=list)
    replications: int = Field(1, ge=1, le=1000)


def load_sweep_file(path: str | os.PathLike) -> tuple[Spec, dict]:
    path = Path(path)
    if not path.exists():
        raise HvkitError("no such file", where=str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise HvkitError(f"not valid YAML: {exc}", where=str(path)) from None
    try:
        sf = SweepFile.model_validate(data)
    except ValidationError as exc:
        exc._hvkit_model = SweepFile
        raise format_validation_error(exc, str(path)) from None
    try:
        base = Spec.make(**sf.base).with_sets(list(sf.set.items()))
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    kw = {"grid": sf.grid, "zip_params": sf.zip or None, "points": sf.points or None,
          "replications": sf.replications}
    try:
        expand(base, **kw)  # validate every point before anything runs
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    return base, kw
