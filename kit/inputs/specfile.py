"""Experiments as files: a :class:`~kit.inputs.spec.Spec` to and from YAML or JSON.

A spec file is the same mapping as a sweep file's ``base`` (``hvkit run --spec FILE``, the panels' Save and Load):
spec fields, with mode, hardware and workload overrides as mappings. It is read by the one YAML loader
(:func:`kit.inputs.files.read_yaml`, JSON being YAML) and validated by :meth:`Spec.make`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import HvkitError
from .files import MAX_YAML_BYTES, read_yaml, write_file
from .spec import Spec

__all__ = ["SPEC_FORMATS", "spec_to_text", "spec_from_text", "load_spec", "save_spec"]

#: What a spec is written as
SPEC_FORMATS = ("yaml", "json")


def spec_to_text(spec: Spec, fmt: str = "yaml") -> str:
    """A spec as YAML or JSON: the same mapping as a sweep file's ``base`` (fields left at their defaults are
    omitted; mode, hardware and workload overrides are mappings)."""
    import yaml
    fmt = fmt.lower()
    if fmt not in SPEC_FORMATS:
        raise HvkitError("unknown spec format", field="format", value=fmt, allowed=SPEC_FORMATS)
    data = spec.model_dump(mode="json", exclude_defaults=True)
    for name in ("mode", "hw", "params"):
        if name in data:
            data[name] = {k: v for k, v in data[name]}
    for name in ("weights", "caps"):
        if name in data:
            data[name] = list(data[name])
    order = list(Spec.model_fields)
    data = {k: data[k] for k in order if k in data}
    if fmt == "json":
        return json.dumps(data, indent=1) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def spec_from_text(text: str, where: str = "spec text") -> Spec:
    """A spec from YAML or JSON text (JSON is YAML), read by the kit's one YAML loader."""
    import tempfile
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise HvkitError("too large", where=where, allowed=f"at most {MAX_YAML_BYTES} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            data = read_yaml(path)
        except HvkitError as exc:
            raise HvkitError(str(exc).replace(str(path), where)) from None
    return _spec_from_data(data, where)


def _spec_from_data(data: Any, where: str) -> Spec:
    if not isinstance(data, dict):
        raise HvkitError("a spec file must be a YAML mapping", where=where, value=type(data).__name__,
                         allowed="the keys of a sweep file's base: " + ", ".join(Spec.model_fields))
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise HvkitError("keys are names", where=where, value=bad[0], allowed=", ".join(Spec.model_fields))
    try:
        return Spec.make(**data)
    except HvkitError as exc:  # the same error, said of the file
        raise exc.renamed(exc.field, where=where) from None


def load_spec(path: str | os.PathLike) -> Spec:
    """A spec from a YAML or JSON file (the same mapping as a sweep file's ``base``)."""
    return _spec_from_data(read_yaml(Path(path)), str(path))


def save_spec(spec: Spec, path: str | os.PathLike) -> Path:
    """Write a spec as YAML (``.yaml``/``.yml``) or JSON (``.json``); returns the path."""
    path = Path(path)
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(path.suffix.lower())
    if fmt is None:
        raise HvkitError("a spec file ends in .yaml, .yml or .json", field="path", value=str(path))
    text = spec_to_text(spec, fmt).encode("utf-8")
    return write_file(path, lambda fh: fh.write(text))  # never through a symbolic link
