"""The reference of the YAML formats, generated from the validation models (so it cannot drift from them).

:func:`format_reference` writes Markdown for the hardware profile, workload, sweep and scenario formats and the
``--set`` keys: every field with its type, default, bounds and meaning, read from the same pydantic models that validate
the files. ``docs/formats.md`` is its output; a test keeps the two equal.
"""
from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .hardware import PARAM_DOCS, UNMODELLED_FEATURES, Features, Hardware, Params, PlausibleRange, Quantity
from .ranges import CLAUSE_HELP
from .measurements import Machine, MeasuredRow, Measurements
from .modes import PARTS
from .scenario import HostKnobs, Scenario, VmEntry
from .spec import ALIASES, MODE_KEYS, TOP_KEYS, Spec
from .workloads import TRAITS, TUNABLE, PerUnit, Workload
from .workloads import Params as WorkloadParams
from .sweepfile import SweepFile

__all__ = ["format_reference"]


def _type_name(ann: Any) -> str:
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(ann)[0])
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(ann))
    if origin is not None:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        inner = ", ".join(_type_name(a) for a in args)
        name = getattr(origin, "__name__", str(origin))
        if name == "tuple" and typing.get_args(ann)[-1] is Ellipsis:
            return f"list of {_type_name(typing.get_args(ann)[0])}"
        if name in ("Union", "UnionType"):
            return inner + (" or none" if type(None) in typing.get_args(ann) else "")
        return f"{name}[{inner}]"
    if isinstance(ann, type):
        if issubclass(ann, BaseModel):
            return ann.__name__
        return {"float": "number", "int": "integer", "bool": "true/false", "str": "text"}.get(ann.__name__,
                                                                                          ann.__name__)
    return str(ann)


def _bounds(info: FieldInfo) -> str:
    out = []
    for m in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v}")
    return ", ".join(out)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "empty"
    return f"`{info.default!r}`" if info.default is not None else "none"


def _table(model: type[BaseModel], docs: dict[str, str] | None = None, prefix: str = "") -> list[str]:
    rows = ["| field | type | default | bounds | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        meaning = (docs or {}).get(name) or info.description or ""
        rows.append(f"| `{prefix}{name}` | {_type_name(info.annotation)} | {_default(info)} | {_bounds(info)} | "
                    f"{meaning} |")
    return rows


def format_reference() -> str:
    """The Markdown reference of every YAML format and of the ``--set`` keys."""
    out = ["# File formats and settings", "",
           "Generated from the validation models by `kit.inputs.format_reference.format_reference()`; "
           "`tests/test_docs.py` keeps this page equal to it.", "",
           "Every number is finite (NaN and infinities are refused), integers refuse fractions, booleans are "
           "`true`/`false`. Unknown keys and duplicate keys are refused with the file, the field and what is "
           "allowed. Files above 1 MiB, non-regular files and non-UTF-8 text are refused.", ""]
    out += ["## Hardware profile (`hw_profiles/*.yaml`)", "",
            "Top-level keys:", ""] + _table(Hardware)
    out += ["", "Each `params` entry is a quantity with its provenance:", ""] + _table(Quantity)
    out += ["", "A source that starts with 'estimated' must say why ('estimated, because ...').", "",
            "An estimated, calibrated or fitted value also states how far it may plausibly be off, beside its "
            "source (`tests/test_ranges.py` fails on a shipped one that does not; model-uncertainty intervals "
            "propagate these ranges, `kit.uncertainty`). Its `range`:", ""] + _table(PlausibleRange)
    out += ["", "A fitted or measured value with a 95% `interval` and no `range` takes the interval as its range. "
            "Where a provenance is a bare string (a workload's `provenance` entry, a path length or constant in "
            f"the code), the range is a clause at its end: {CLAUSE_HELP}.", "",
            "A profile or workload may start with `base: ID` (a catalogue id, or a path ending in `.yaml` relative to "
            "the file) and give only what differs: mappings merge key by key, a value with its source is replaced "
            "whole, `id` is never inherited; cycles and unknown bases are refused (`kit.inputs.inherit`).", "",
            "### `params`", ""] + _table(Params, PARAM_DOCS)
    out += ["", "### `features`", ""] + _table(Features)
    out += ["", "Features a profile records but no mechanism reads yet (overriding them is refused): "
            + ", ".join(f"`{k}` ({v})" for k, v in UNMODELLED_FEATURES.items()) + ".", ""]
    out += ["## Workload (`workloads/*.yaml`)", "", "Top-level keys:", ""] + _table(Workload)
    out += ["", "A `provenance` entry that is an estimate ends with its plausible range: " + CLAUSE_HELP
            + " (for example `\"estimated, because ...; plausible 0.5-2x because a count estimated from the "
              "benchmark's description may be off by a factor of two either way\"`)."]
    out += ["", "### `per_unit`: native events per unit of work", ""] + _table(PerUnit)
    out += ["", "### `params`", ""] + _table(WorkloadParams)
    out += ["", "Traits (`hvkit list workloads --trait T`): "
            + "; ".join(f"`{k}`: {v[0]}" for k, v in TRAITS.items()) + ".", ""]
    out += ["## Measurements file (`hvkit import`, `hvkit probe`; read by `hvkit profile fit`)", ""] + _table(Measurements)
    out += ["", "### `machine`", ""] + _table(Machine)
    out += ["", "### `rows`: each entry", ""] + _table(MeasuredRow)
    out += [""]
    out += ["## Sweep file (`hvkit sweep FILE`)", ""] + _table(SweepFile)
    out += ["", "## Scenario (`hvkit run --scenario FILE`)", "",
            "A host with heterogeneous VMs (`examples/scenario-mixed.yaml`). Top-level keys:", ""] + _table(Scenario)
    out += ["", "### `host`", ""] + _table(HostKnobs)
    out += ["", "### `vms`: each entry", ""] + _table(VmEntry)
    out += ["", "`--set` on a scenario: `host.<knob>`, `vms.<name>.<field>`, `vms.<name>.workload.<parameter>`, and "
            "the top-level keys above.", ""]
    out += ["", "## Spec and `--set` keys", "", "Spec fields (the keys of a sweep file's `base`):", ""]
    out += _table(Spec)
    out += ["", "`--set key=value` reaches:", "",
            "- top-level knobs: " + ", ".join(f"`{k}`" for k in sorted(TOP_KEYS)) + ";",
            "- mode parts: " + ", ".join(f"`{k}`" for k in sorted(MODE_KEYS)) + " (also spelt `mode.<part>`);",
            "- aliases: " + ", ".join(f"`{k}` = `{v}`" for k, v in sorted(ALIASES.items())) + ";",
            "- hardware: `hw.<parameter>` (any `params` key above), `hw.features.<name>`;",
            "- workload: `workload.<name>` (any `per_unit` or `params` key, and "
            + ", ".join(f"`{k}`" for k in sorted(TUNABLE)) + ").", "",
            "Mode parts and their values:", ""]
    for part, values in PARTS.items():
        out.append(f"- `{part}`: " + "; ".join(f"`{k}` ({v})" for k, v in values.items()))
    out.append("")
    return "\n".join(out)
