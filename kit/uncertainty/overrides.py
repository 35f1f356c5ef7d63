"""Give the model other values of its uncertain parameters, and record which ones a result reads.

- Hardware values and workload fields: :class:`HardwareView` and :class:`WorkloadView` stand in for a profile and
  a workload in the cost model, answering the given values (numbers, or NumPy arrays of samples, which the cost
  arithmetic carries through element by element) and recording what was read. A simulation takes them as
  ``--set`` overrides instead (:func:`spec_with`), validated like any.
- Path lengths: :func:`kit.costs.codepaths.path_overrides` and :func:`kit.costs.codepaths.path_reads`.
- Module constants: :func:`constants_replaced` rebinds each constant, for the duration of a ``with`` block, in
  every loaded ``kit`` module that holds it (the defining module and those that imported it by name), as
  ``unittest.mock.patch`` does, and puts it back afterwards; :func:`constant_reads` records which constants are
  read. Neither is thread-safe: the model's runs are single-threaded, and a sweep's workers are processes.

:func:`applied` combines the three for one set of values.
"""
from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from ..costs.codepaths import path_overrides, path_reads, values_altered, values_tagged
from .parameters import Constant, constants

__all__ = ["HardwareView", "WorkloadView", "constants_replaced", "constant_reads", "applied", "reads",
           "spec_with"]


class HardwareView:
    """A hardware profile whose parameters ``values`` (name -> number or array) replace the profile's, and which
    records in ``reads`` the parameters read (``val``, ``opt``)."""

    def __init__(self, hw: Any, values: Mapping[str, Any] | None = None, reads: set[str] | None = None) -> None:
        self._hw = hw
        self._values = dict(values or {})
        self._reads = reads

    def val(self, name: str) -> Any:
        if self._reads is not None:
            self._reads.add(name)
        return self._values[name] if name in self._values else self._hw.val(name)

    def opt(self, name: str) -> Any:
        if self._reads is not None:
            self._reads.add(name)
        v = self._hw.opt(name)
        return None if v is None else self._values.get(name, v)

    @property
    def pcpus(self) -> int:
        return self._hw.pcpus

    @property
    def is_arm(self) -> bool:
        return self._hw.is_arm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hw, name)


class _Fields:
    def __init__(self, inner: Any, values: Mapping[str, Any]) -> None:
        self._inner, self._values = inner, values

    def __getattr__(self, name: str) -> Any:
        return self._values[name] if name in self._values else getattr(self._inner, name)


class WorkloadView:
    """A workload whose per-unit counts, parameters and tunable fields ``values`` (field -> number or array)
    replace its own."""

    def __init__(self, wl: Any, values: Mapping[str, Any] | None = None) -> None:
        self._wl = wl
        self._values = dict(values or {})
        self.per_unit = _Fields(wl.per_unit, {k: v for k, v in self._values.items()
                                              if k in type(wl.per_unit).model_fields})
        self.params = _Fields(wl.params, {k: v for k, v in self._values.items()
                                          if k in type(wl.params).model_fields})

    def __getattr__(self, name: str) -> Any:
        return self._values[name] if name in self._values else getattr(self._wl, name)


class _Read(tuple):
    """A constant that records when its value is read (``CONST[0]``, or unpacked)."""

    name: str
    sink: set

    def __getitem__(self, i: Any) -> Any:
        self.sink.add(self.name)
        return tuple.__getitem__(self, i)

    def __iter__(self) -> Iterator[Any]:
        self.sink.add(self.name)
        return tuple.__iter__(self)


#: (loaded modules, the constants' objects) -> (the objects, kept so that an id is never another's, their holders):
#: the scan is redone when a module is loaded
_HOLDERS: dict[tuple[int, frozenset[int]], tuple[list[Any], dict[int, list[tuple[Any, str]]]]] = {}
_KIT_MODULES: list = [-1, []]  # (len(sys.modules) when listed, the loaded kit modules)


def _kit_modules() -> list[Any]:
    if _KIT_MODULES[0] != len(sys.modules):
        _KIT_MODULES[:] = [len(sys.modules), [mod for name, mod in list(sys.modules.items())
                                              if mod is not None and (name == "kit" or name.startswith("kit."))]]
    return _KIT_MODULES[1]


def _holders(objs: list[Any]) -> dict[int, list[tuple[Any, str]]]:
    """For each of ``objs`` (by id), every (loaded kit module, attribute) bound to it."""
    mods = _kit_modules()
    key = (len(sys.modules), frozenset(id(o) for o in objs))
    hit = _HOLDERS.get(key)
    if hit is not None and len(hit[0]) == len(objs) and all(any(a is b for b in hit[0]) for a in objs):
        return hit[1]
    wanted: dict[int, list[tuple[Any, str]]] = {id(o): [] for o in objs}
    for mod in mods:
        for attr, v in list(vars(mod).items()):
            found = wanted.get(id(v))
            if found is not None:
                found.append((mod, attr))
    if len(_HOLDERS) > 256:
        _HOLDERS.clear()
    _HOLDERS[key] = (list(objs), wanted)
    return wanted


@contextlib.contextmanager
def _replaced(new: Mapping[Constant, Any]) -> Iterator[None]:
    """Within the block, each constant stands for the object given (a tuple of the same shape). A kit module first
    imported within the block, which bound a replaced object by name, gets the constant's own object back at the end
    (otherwise it would keep a sample's value, or a recorder of reads, for the rest of the process)."""
    if not new:
        yield
        return
    loaded = len(sys.modules)
    undo: list[tuple[Any, str, Any]] = []  # (module or table, attribute or key, old object)
    olds = {c: getattr(sys.modules[c.module], c.attr) for c in new if c.entry is None}
    holders = _holders(list(olds.values()))
    try:
        for c, obj in new.items():
            mod = sys.modules[c.module]
            if c.entry is None:
                old = olds[c]
                for holder, attr in holders[id(old)]:
                    undo.append((holder, attr, old))
                    setattr(holder, attr, obj)
            else:
                table = getattr(mod, c.attr)
                undo.append((table, c.entry, table[c.entry]))
                table[c.entry] = obj
        with values_altered():  # no process-wide cache of costs answers or remembers meanwhile
            yield
    finally:
        for holder, attr, old in reversed(undo):
            if isinstance(holder, dict):
                holder[attr] = old
            else:
                setattr(holder, attr, old)
        if len(sys.modules) != loaded:  # modules imported within the block
            back = {id(obj): olds[c] for c, obj in new.items() if c.entry is None}
            for mod in _kit_modules():
                for attr, v in list(vars(mod).items()):
                    if id(v) in back and any(v is obj for obj in new.values()):
                        setattr(mod, attr, back[id(v)])


@functools.cache
def _by_name() -> dict[str, Constant]:
    return {c.name: c for c in constants()}


def constants_replaced(values: Mapping[str, Any]) -> contextlib.AbstractContextManager[None]:
    """Within the block, the constants named ``const.<NAME>[.<key>]`` in ``values`` have those values (a mapping
    constant: every entry scaled by the factor given)."""
    by_name = _by_name()
    new = {}
    for name, v in values.items():
        c = by_name[name]
        value = {k: x * v for k, x in c.value.items()} if isinstance(c.value, dict) else v
        new[c] = (value, c.source)
    return _tagged_replaced(new, values)


@contextlib.contextmanager
def _tagged_replaced(new: Mapping[Constant, Any], values: Mapping[str, Any]) -> Iterator[None]:
    """:func:`_replaced`, with the values named to the caches of results (:func:`kit.costs.codepaths.values_tagged`)."""
    with values_tagged({f"const.{k}": v for k, v in values.items()}), _replaced(new):
        yield


@contextlib.contextmanager
def constant_reads() -> Iterator[set[str]]:
    """Record, in the set yielded, the name of every module constant read within the block."""
    sink: set[str] = set()
    new = {}
    for c in constants():
        table = getattr(sys.modules[c.module], c.attr)
        obj = _Read(table if c.entry is None else table[c.entry])  # the value in force (maybe replaced)
        obj.name, obj.sink = c.name, sink
        new[c] = obj
    with _replaced(new):
        yield sink


@contextlib.contextmanager
def applied(values: Mapping[str, Any]) -> Iterator[None]:
    """Within the block, the path lengths (``path.*``) and module constants (``const.*``) of ``values`` replace the
    model's (hardware and workload values are given to the model through :class:`HardwareView` and
    :class:`WorkloadView`, or :func:`spec_with`)."""
    paths = {k[5:]: v for k, v in values.items() if k.startswith("path.")}
    consts = {k: v for k, v in values.items() if k.startswith("const.")}
    with path_overrides(paths), constants_replaced(consts):
        yield


@contextlib.contextmanager
def reads() -> Iterator[dict[str, set[str]]]:
    """Record the path lengths and module constants read within the block: yields ``{"path": keys, "const":
    names}`` (hardware reads are recorded by a :class:`HardwareView`)."""
    with path_reads() as p, constant_reads() as c:
        yield {"path": p, "const": c}


def spec_with(spec: Any, values: Mapping[str, Any]) -> Any:
    """``spec`` with the hardware (``hw.*``) and workload (``workload.*``) values of ``values`` as its overrides
    (for a simulation, which validates them as any ``--set``)."""
    hw = {**dict(spec.hw), **{k[3:]: float(v) for k, v in values.items() if k.startswith("hw.")}}
    params = {**dict(spec.params), **{k[9:]: float(v) for k, v in values.items() if k.startswith("workload.")}}
    return spec.replace(hw=hw, params=params)
