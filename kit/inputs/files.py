"""Finding and reading the kit's YAML files (profiles, workloads), shared by their loaders."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import HvkitError

__all__ = ["locate", "read_yaml", "cached_load"]

_CACHE: dict = {}


def locate(name: str, directory: Path, kind: str) -> Path:
    """A shipped file by id, or a user's file by path; a clear error otherwise."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise HvkitError("no such file", where=str(path))
        return path
    path = directory / f"{name}.yaml"
    if not path.exists():
        raise HvkitError(f"unknown {kind}", field=kind.split()[-1], value=name,
                         allowed=sorted(p.stem for p in directory.glob("*.yaml")))
    return path


def read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise HvkitError(f"not valid YAML: {exc}", where=str(path)) from None


def cached_load(path: Path, build):
    """``build(path)``, cached until the file changes (so an edited user file is re-read)."""
    key = (str(path.resolve()), path.stat().st_mtime_ns, build)
    if key not in _CACHE:
        _CACHE[key] = build(path)
    return _CACHE[key]
