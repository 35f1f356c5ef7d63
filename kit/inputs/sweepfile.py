"""Sweeps as files: the YAML that ``hvkit sweep FILE`` reads, validated by :class:`SweepFile`.

A sweep file holds a ``base`` spec (the same mapping as a spec file, :mod:`kit.inputs.specfile`), ``set`` pairs applied
to it, and the plan: a full-factorial ``grid``, ``zip`` lists that advance together, explicit ``points`` and
``replications``. :func:`read_sweep_file` reads and validates one; :func:`kit.sweep.load_sweep_file` also expands
every point (:func:`kit.sweep.expand`), so that a bad value anywhere fails before anything runs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import HvkitError
from .coerce import Int, check_finite
from .files import load_validated, read_yaml
from .spec import Spec

__all__ = ["SweepFile", "read_sweep_file"]


class SweepFile(BaseModel):
    """``hvkit sweep`` input.

    ``base`` holds spec fields (hardware, hypervisor, workload, vcpus, vms,
    duration, seed, pcpus, ...); ``set`` holds ``--set`` pairs applied to the
    base; ``grid`` maps ``--set`` keys to lists (full factorial); ``zip`` maps
    keys to equal-length lists that advance together; ``points`` is a list of
    ``{key: value}`` dicts; ``replications`` repeats each point with derived seeds.
    """

    model_config = ConfigDict(extra="forbid")
    base: dict = Field(description="spec fields every point starts from (see Spec below)")
    set: dict = Field(default_factory=dict, description="--set pairs applied to the base")
    grid: dict[str, list] = Field(default_factory=dict, description="--set keys to lists of values (full factorial)")
    zip: dict[str, list] = Field(default_factory=dict, description="--set keys to equal-length lists that advance together")
    points: list[dict] = Field(default_factory=list, description="explicit points, each a {--set key: value} mapping")
    replications: Int = Field(1, ge=1, le=1000, description="runs of each point, with seeds derived from the spec "
                                                         "(a whole number: true is not one)")


def read_sweep_file(path: str | os.PathLike) -> tuple[Spec, dict]:
    """Read and validate a sweep YAML: ``(base spec, the plan as keyword arguments of kit.sweep.sweep)``.

    NaN and infinite values are refused with the key named; the points themselves are built by
    :func:`kit.sweep.load_sweep_file`.
    """
    path = Path(path)
    sf = load_validated(read_yaml(path), SweepFile, str(path), "a sweep file")
    try:
        for name in ("base", "set", "grid", "zip", "points"):
            check_finite(getattr(sf, name), name)
        base = Spec.make(**sf.base).with_sets(list(sf.set.items()))
    except HvkitError as exc:
        raise HvkitError(str(exc), where=str(path)) from None
    kw: dict[str, Any] = {"grid": sf.grid, "zip_params": sf.zip or None, "points": sf.points or None,
                          "replications": sf.replications}
    return base, kw
