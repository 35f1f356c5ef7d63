"""A sweep's plan: a base spec expanded over a grid (full factorial), zipped lists or explicit points, times
replications, each point a frozen spec with its replication's seed (:func:`kit.stats.replication_seed`).

Everything is checked before any point is built: the sizes, NaN and infinities (with the key named), at most
:data:`MAX_POINTS` points; then every hardware profile, mode and workload the points name.
"""
from __future__ import annotations

import itertools
import os

from ..errors import HvkitError
from ..inputs.coerce import check_finite
from ..inputs.spec import Spec
from ..inputs.sweepfile import read_sweep_file
from ..stats import replication_seed

__all__ = ["expand", "plan_size", "load_sweep_file", "MAX_POINTS"]

#: Most points in one sweep. Estimated, because each point holds a spec and a result row of a few kB in the
#: parent (and its validation builds every spec first): 100,000 points is a few hundred MB and about a minute
#: of set-up; a grid beyond it is refused before anything is expanded.
MAX_POINTS = 100_000


def plan_size(grid: dict | None = None, zip_params: dict | None = None, points: list | None = None,
              replications: int = 1) -> int:
    """How many points (times replications) a sweep has, without expanding it."""
    n = max(len(points or []), 1) * replications
    if zip_params:
        n *= len(next(iter(zip_params.values())))
    for v in (grid or {}).values():
        n *= len(v)
    return n


def _canonical_key(key: str) -> str:
    from ..inputs.spec import ALIASES
    key = str(key)
    key = ALIASES.get(key, key)
    return key[5:] if key.startswith("mode.") else key


def _check_overlap(grid, zip_params, points) -> None:
    """Refuse a key that two parts of the plan set (``grid`` and ``zip``, or an explicit point and either): one
    would silently override the other's values."""
    owners: dict[str, str] = {}
    for part, keys in (("grid", list(grid or {})), ("zip", list(zip_params or {}))):
        for key in keys:
            canon = _canonical_key(key)
            if canon in owners:
                raise HvkitError(f"set by both {owners[canon]} and {part}: one would silently replace the other's "
                                 f"values", field=f"{part}.{key}", value=key,
                                 allowed="each key in one of grid, zip or points")
            owners[canon] = part
    for i, pt in enumerate(points or []):
        if isinstance(pt, dict):
            for key in pt:
                canon = _canonical_key(key)
                if canon in owners:
                    raise HvkitError(f"set by both points[{i}] and {owners[canon]}: one would silently replace the "
                                     f"other's values", field=f"points[{i}].{key}", value=key,
                                     allowed="each key in one of grid, zip or points")


def _check_plan(grid, zip_params, points, replications) -> None:
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise HvkitError("replications must be a whole number of at least 1", field="replications",
                         value=replications)
    for k, v in (grid or {}).items():
        if not isinstance(v, (list, tuple)) or not v:
            raise HvkitError("a grid entry needs a non-empty list of values", field=f"grid.{k}", value=v)
    if zip_params:
        for k, v in zip_params.items():
            if not isinstance(v, (list, tuple)) or not v:
                raise HvkitError("a zip entry needs a non-empty list of values", field=f"zip.{k}", value=v)
        lengths = {len(v) for v in zip_params.values()}
        if len(lengths) != 1:
            raise HvkitError("zipped lists must have the same length", field="zip",
                             value={k: len(v) for k, v in zip_params.items()})
    _check_overlap(grid, zip_params, points)
    check_finite(dict(grid or {}), "grid")
    check_finite(dict(zip_params or {}), "zip")
    check_finite(list(points or []), "points")
    n = plan_size(grid, zip_params, points, replications)
    if n > MAX_POINTS:
        parts = [f"{len(v)} {k}" for k, v in (grid or {}).items()]
        if zip_params:
            parts.append(f"{len(next(iter(zip_params.values())))} zipped rows")
        if points:
            parts.append(f"{len(points)} points")
        parts.append(f"{replications} replication{'s' if replications != 1 else ''}")
        raise HvkitError(f"the sweep has {n:,} points ({' x '.join(parts)}); at most {MAX_POINTS:,} fit in one "
                         f"sweep: split it or use fewer values")


def expand(base: Spec, grid: dict | None = None, *, zip_params: dict | None = None,
           points: list | None = None, replications: int = 1) -> list[dict]:
    """The points of a sweep: ``[{"point": i, "replication": r, "sets": {...}, "spec": Spec}]``.

    ``grid`` is a full factorial over ``--set`` keys; ``zip_params`` lists values
    that advance together; ``points`` is an explicit list of ``{key: value}``
    dicts (or :class:`Spec` objects). They combine: each explicit point, times
    each zipped row, times the factorial grid. NaN and infinite values are
    refused, and so is a sweep of more than ``MAX_POINTS`` points (before any
    point is built).
    """
    _check_plan(grid, zip_params, points, replications)
    check_finite(base, "base")
    grid = grid or {}
    zipped = [dict(zip(zip_params, row)) for row in zip(*zip_params.values())] if zip_params else [{}]
    explicit = points or [{}]
    keys = list(grid)
    out, i = [], 0
    for ex in explicit:
        for z in zipped:
            for vals in (itertools.product(*grid.values()) if keys else [()]):
                g = dict(zip(keys, vals))
                if isinstance(ex, Spec):
                    spec0, sets = ex, {**z, **g}
                else:
                    spec0, sets = base, {**ex, **z, **g}
                spec = spec0.with_sets(list(sets.items()))
                for r in range(replications):
                    out.append({"point": i, "replication": r, "sets": sets,
                                "spec": spec.replace(seed=replication_seed(spec.seed, r))})
                i += 1
    _check_names(out)
    return out


def _check_names(plan: list[dict]) -> None:
    """Every hardware profile, mode and workload the points name exists (a typo fails before anything runs; an
    impossible combination is still the model's answer for its point)."""
    from ..inputs.hardware import load_hardware
    from ..inputs.modes import list_hypervisors
    from ..inputs.workloads import load_workload
    modes = list_hypervisors()
    for name in sorted({p["spec"].hardware for p in plan}):
        load_hardware(name)
    for name in sorted({p["spec"].workload for p in plan} | {p["spec"].neighbor for p in plan if p["spec"].neighbor}):
        load_workload(name)
    _check_unread(plan)
    for name in sorted({p["spec"].hypervisor for p in plan}):
        if name not in modes:
            raise HvkitError("unknown hypervisor", field="hypervisor", value=name, allowed=list(modes))


def _check_unread(plan: list[dict]) -> None:
    """A workload parameter a point sets that its workload's kind never reads is refused before anything runs (as
    ``--set`` refuses it): every point would otherwise fail alone, or run with the setting silently ignored."""
    from ..inputs.workloads import PARAMS_READ_BY, load_workload
    seen: set = set()
    for p in plan:
        spec = p["spec"]
        for key, value in dict(spec.params).items():
            if (spec.workload, key) in seen or key not in PARAMS_READ_BY:
                continue
            seen.add((spec.workload, key))
            kind = load_workload(spec.workload).kind
            if kind not in PARAMS_READ_BY[key]:
                kinds = " and ".join(PARAMS_READ_BY[key])
                raise HvkitError(f"a {kind} workload ({spec.workload}) does not read {key} (only {kinds} workloads "
                                 f"do), so sweeping it would change nothing", field=f"workload.{key}", value=value,
                                 allowed=[k for k, read in PARAMS_READ_BY.items() if kind in read]
                                 or "none for this kind")


def load_sweep_file(path: str | os.PathLike) -> tuple[Spec, dict]:
    """Read and validate a sweep YAML (:func:`kit.inputs.sweepfile.read_sweep_file`): ``(base spec, keyword
    arguments of sweep())``.

    Every point is built once here, so a bad value anywhere fails before anything runs; NaN and infinite values
    are refused with the key named.
    """
    base, kw = read_sweep_file(path)
    try:
        expand(base, **kw)  # validate every point before anything runs
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    return base, kw
