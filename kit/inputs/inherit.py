"""``base:``: a profile or workload file that inherits another and says only what differs.

A file that starts with ``base: skylake-sp-2017`` (a catalogue id, or a path ending in ``.yaml``, relative to the
file) is its base with the file's own keys laid over it: mappings merge key by key (``params``, ``features``,
``per_unit``, ``provenance``), while a value with its provenance (a ``{value, source}`` quantity) or a writable set
is replaced whole, so that a value and its source always come from the same file. ``id`` is never inherited. A
base may have a base; a cycle, an unknown base and a chain deeper than :data:`MAX_DEPTH` are one-line errors
naming the file and the field ``base``. :func:`origins` tells, for ``hvkit show``, which file set each value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import HvkitError
from .files import locate, read_yaml

__all__ = ["resolve_base", "origins", "MAX_DEPTH"]

#: The longest chain of bases.
MAX_DEPTH = 16
#: Mappings replaced whole, never merged: a value with its source, and a workload's writable set.
_WHOLE = frozenset({"writable"})


def _is_leaf(key: str, value: Any) -> bool:
    return not isinstance(value, dict) or "value" in value or key in _WHOLE


def _merge(base: dict, child: dict, who: str, org: dict[str, str], prefix: str = "") -> dict:
    """``child`` over ``base``; ``org`` (dotted key -> who set it) is updated in place."""
    out = dict(base)
    for key, value in child.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict) and not _is_leaf(key, value) \
                and not _is_leaf(key, base[key]):
            out[key] = _merge(base[key], value, who, org, path + ".")
        else:
            out[key] = value
            for k in [k for k in org if k == path or k.startswith(path + ".")]:
                del org[k]
            org.update(_leaves(value, who, path))
    return out


def _leaves(value: Any, who: str, path: str) -> dict[str, str]:
    key = path.rsplit(".", 1)[-1]
    if _is_leaf(key, value) or not value:
        return {path: who}
    out: dict[str, str] = {}
    for k, v in value.items():
        out.update(_leaves(v, who, f"{path}.{k}"))
    return out


def _base_path(data: dict, path: Path, directory: Path, kind: str) -> Path:
    name = data["base"]
    if not isinstance(name, str) or not name:
        raise HvkitError("must be a catalogue id or a path ending in .yaml", where=str(path), field="base",
                         value=name)
    if name.endswith((".yaml", ".yml")) and not Path(name).is_absolute():
        return path.parent / name
    try:
        return locate(name, directory, kind)
    except HvkitError:
        raise HvkitError(f"unknown base {kind}", where=str(path), field="base", value=name,
                         allowed=sorted(p.stem for p in directory.glob("*.yaml"))) from None


def resolve_base(data: Any, path: Path, directory: Path, kind: str) -> tuple[Any, dict[str, str]]:
    """``data`` (read from ``path``) over its chain of bases, and which file set each value (dotted key -> the
    id or file name of the file that set it).

    ``directory`` is the catalogue a base id names (``hw_profiles/``), ``kind`` its name in messages.
    """
    chain: list[tuple[Path, dict]] = []
    seen: list[str] = []
    current, cur_path = data, path
    while isinstance(current, dict) and "base" in current:
        key = str(cur_path.resolve())
        if key in seen:
            loop = " -> ".join(Path(s).stem for s in seen[seen.index(key):] + [key])
            raise HvkitError(f"inheritance cycle: {loop}", where=str(path), field="base")
        seen.append(key)
        if len(seen) > MAX_DEPTH:
            raise HvkitError("chain of bases too deep", where=str(path), field="base",
                             allowed=f"at most {MAX_DEPTH} levels")
        chain.append((cur_path, current))
        next_path = _base_path(current, cur_path, directory, kind)
        current, cur_path = read_yaml(next_path), next_path
    if not chain:
        return data, {}
    if not isinstance(current, dict):
        raise HvkitError(f"the base {kind} is not a YAML mapping", where=str(cur_path))
    root_name = _name(cur_path, current)
    merged, org = current, _leaves_of(current, root_name)
    for file_path, layer in reversed(chain):
        own = {k: v for k, v in layer.items() if k != "base"}
        merged = _merge({k: v for k, v in merged.items() if k != "id"}, own, _name(file_path, layer), org)
    org.pop("id", None)
    return merged, org


def _name(path: Path, data: dict) -> str:
    value = data.get("id")
    return value if isinstance(value, str) and value else path.name


def _leaves_of(data: dict, who: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in data.items():
        out.update(_leaves(v, who, k))
    return out


def origins(path: Path, directory: Path, kind: str) -> dict[str, str]:
    """Which file set each value of the file at ``path`` (empty when it has no base)."""
    return resolve_base(read_yaml(path), path, directory, kind)[1]
