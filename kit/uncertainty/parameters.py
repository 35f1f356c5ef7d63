"""The model's uncertain parameters: every estimated or fitted value with its plausible range.

Four kinds, each named as the ``--set`` language or the tables name it:

- ``hw.<parameter>``: a hardware profile's value (its ``range`` field, or a fitted value's ``interval``);
- ``path.<family>.<path>``: a hypervisor path length of :data:`kit.costs.codepaths.SOFTWARE` (its source's
  ``plausible ...`` clause; calibrated ones carry the range of their fit, :mod:`kit.papers.fit_ranges`);
- ``const.<NAME>`` (``const.<NAME>.<key>`` for an entry of a table of constants): a module constant written as
  ``(value, "estimated, because ...; plausible ...")`` in the cost model, the host or the inputs;
- ``workload.<field>``: a workload's per-unit count or parameter (its ``provenance`` entry's clause).

:func:`missing_ranges` lists every estimated or fitted value of the shipped catalogues and the code that states no
range; ``tests/test_ranges.py`` fails on any, which is how a new estimate without one is caught.
"""
from __future__ import annotations

import ast
import functools
import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..costs.codepaths import SOFTWARE
from ..inputs.hardware import Hardware
from ..inputs.ranges import Range, needs_range, range_of_text
from ..inputs.workloads import PerUnit, Workload
from ..inputs.workloads import Params as WorkloadParams

__all__ = ["Parameter", "WHOLE_HARDWARE", "hardware_parameters", "path_parameters", "constant_parameters", "workload_parameters",
           "missing_ranges", "CONSTANT_PACKAGES", "Constant", "constants"]

#: Hardware values the model uses as whole numbers (kit/costs/paths.py truncates the walk caches' skipped levels)
WHOLE_HARDWARE = frozenset({"pwc_skip_levels"})
#: The packages whose module constants are model parameters (the layers below the runs)
CONSTANT_PACKAGES = ("inputs", "costs", "sim", "results")
_KIT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Parameter:
    """One uncertain value of the model.

    Attributes
    ----------
    name : str
        ``hw.<p>``, ``path.<key>``, ``const.<NAME>[.<key>]`` or ``workload.<field>``.
    value : float or dict
        Its value in the model (a mapping of numbers for a table constant, scaled as a whole).
    range : Range
        Its plausible range (:class:`kit.inputs.ranges.Range`).
    source : str
        Its provenance.
    """

    name: str
    value: Any
    range: Range
    source: str

    @property
    def kind(self) -> str:
        """``hw``, ``path``, ``const`` or ``workload``."""
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        """The name without its kind (the parameter, path key, constant or field)."""
        return self.name.split(".", 1)[1]

    @property
    def integral(self) -> bool:
        """Whether the value counts whole things (an integer constant in the code, or a hardware value the model
        truncates, :data:`WHOLE_HARDWARE`): samples are rounded."""
        if self.kind == "hw":
            return self.key in WHOLE_HARDWARE
        return isinstance(self.value, int) and not isinstance(self.value, bool) and self.kind == "const"

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` in the value's unit; factors for a mapping."""
        if isinstance(self.value, dict):
            return self.range.low, self.range.high
        return self.range.bounds(float(self.value))

    @property
    def varies(self) -> bool:
        """Whether the range is wider than the value (a fixed range is not sampled)."""
        low, high = self.bounds
        return high > low

    @property
    def log_scale(self) -> bool:
        """Sampled uniformly on a log scale: the range is a factor around a positive value (see
        :mod:`kit.uncertainty.propagate` for why)."""
        low, _ = self.bounds
        return low > 0

    def at(self, u: Any) -> Any:
        """The value at quantile ``u`` (0 to 1; a number or an array) of the sampling distribution: uniform on a
        log scale between the bounds when they are positive, else uniform; rounded for a count; for a mapping,
        the factor."""
        import numpy as np
        low, high = self.bounds
        x = (np.exp(np.log(low) + u * (np.log(high) - np.log(low))) if self.log_scale
             else low + u * (high - low))
        if self.integral:
            x = np.clip(np.round(x), math.ceil(low), math.floor(high))
        return x


def hardware_parameters(hw: Hardware) -> list[Parameter]:
    """The hardware values of ``hw`` that are estimated or fitted and state a range (one that states none is
    left out here and listed by :func:`missing_ranges`)."""
    out = []
    for name in type(hw.params).model_fields:
        q = getattr(hw.params, name)
        if q is None:
            continue
        r = q.plausible()
        if r is not None and (q.needs_range() or q.interval is not None):
            out.append(Parameter(f"hw.{name}", float(q.value), r, q.source))
    return out


@functools.cache
def path_parameters() -> tuple[Parameter, ...]:
    """Every path length of :data:`SOFTWARE` with a range."""
    out = []
    for key, (value, source) in SOFTWARE.items():
        r = range_of_text(source, value, f"kit/costs/codepaths.py: {key}")
        if r is not None:
            out.append(Parameter(f"path.{key}", value, r, source))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Constant:
    """A module constant with provenance: ``module.NAME`` (and ``entry`` for a table's entry)."""

    module: str
    attr: str
    entry: str | None
    value: Any
    source: str

    @property
    def name(self) -> str:
        return f"const.{self.attr}" + (f".{self.entry}" if self.entry else "")


def _assigned_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        out += [t.id for t in targets if isinstance(t, ast.Name)]
    return out


def _is_constant(v: Any) -> bool:
    return (isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], str) and not isinstance(v[0], bool)
            and (isinstance(v[0], (int, float)) or (isinstance(v[0], dict) and bool(v[0])
                                                    and all(isinstance(x, (int, float)) for x in v[0].values()))))


@functools.cache
def constants() -> tuple[Constant, ...]:
    """Every module constant written as ``(value, "source")`` (or a table of them) in the packages of
    :data:`CONSTANT_PACKAGES`: the module that assigns it, its name, value and source."""
    out = []
    for pkg in CONSTANT_PACKAGES:
        for path in sorted((_KIT / pkg).rglob("*.py")):
            mod_name = ".".join(("kit",) + path.relative_to(_KIT).with_suffix("").parts).removesuffix(".__init__")
            names = _assigned_names(path)
            if not names:
                continue
            mod = importlib.import_module(mod_name)
            for name in names:
                if name == "SOFTWARE":
                    continue
                v: Any = getattr(mod, name, None)
                if _is_constant(v):
                    out.append(Constant(mod_name, name, None, v[0], v[1]))
                elif isinstance(v, dict):
                    for k, x in v.items():
                        if isinstance(k, str) and _is_constant(x):
                            out.append(Constant(mod_name, name, k, x[0], x[1]))
    return tuple(out)


@functools.cache
def constant_parameters() -> tuple[Parameter, ...]:
    """Every module constant with a range."""
    out = []
    for c in constants():
        r = range_of_text(c.source, c.value, f"{c.module}.{c.attr}")
        if r is not None:
            out.append(Parameter(c.name, c.value, r, c.source))
    return tuple(out)


def _workload_value(wl: Any, field: str) -> Any:
    if field in PerUnit.model_fields:
        return getattr(wl.per_unit, field)
    if field in WorkloadParams.model_fields:
        return getattr(wl.params, field)
    return getattr(wl, field)


def workload_parameters(wl: Workload) -> list[Parameter]:
    """The per-unit counts and parameters of ``wl`` whose provenance is an estimate with a range."""
    out = []
    for field, source in wl.provenance.items():
        value = _workload_value(wl, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        r = range_of_text(source, value, f"workload {wl.id}: {field}")
        if r is not None:
            out.append(Parameter(f"workload.{field}", float(value), r, source))
    return out


def missing_ranges() -> list[str]:
    """Every estimated or fitted value of the shipped profiles, workloads, path lengths and module constants that
    states no range, as ``where: name``."""
    from ..inputs.hardware import list_hardware, load_hardware
    from ..inputs.workloads import list_workloads
    out = []
    for hid in list_hardware():
        hw = load_hardware(hid)
        for name in type(hw.params).model_fields:
            q = getattr(hw.params, name)
            if q is not None and q.needs_range() and q.plausible() is None:
                out.append(f"hw_profiles/{hid}.yaml: params.{name} (add range: {{low, high, because}})")
    for wl in list_workloads():
        for field, source in wl.provenance.items():
            if needs_range(source) and range_of_text(source, _workload_value(wl, field)) is None:
                out.append(f"workloads/{wl.id}.yaml: provenance.{field}")
    for key, (value, source) in SOFTWARE.items():
        if needs_range(source) and range_of_text(source, value) is None:
            out.append(f"kit/costs/codepaths.py: {key}")
    for c in constants():
        if needs_range(c.source) and range_of_text(c.source, c.value) is None:
            out.append(f"{c.module}: {c.attr}" + (f"[{c.entry!r}]" if c.entry else ""))
    return out
