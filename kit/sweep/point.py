"""One point of a sweep: its run (a closed form where it has one), as one row of plain Python values.

:func:`run_point` is what a worker runs. An error the model raises for the point's spec, or a result that is not
finite, is the point's answer: a row with ``error`` set. ``MemoryError`` and ``OSError`` are the machine's, not the
model's: they propagate, and the sweep retries the point.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from ..inputs.spec import Spec
from ..version import __version__

__all__ = ["run_point", "METRIC_COLUMNS", "NUMERIC_COLUMNS", "spec_columns", "spec_key", "point_spec_json",
           "point_key", "error_result", "result_of", "plain"]

METRIC_COLUMNS = ["value", "native_value", "relative_performance", "units", "events", "events_per_sim_s",
                  "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util", "backend_util", "metric",
                  "unit", "higher_is_better", "engine", "stop_reason", "warnings", "error"]
#: The metric columns that hold numbers; a finished point must have every one finite.
NUMERIC_COLUMNS = ["value", "native_value", "relative_performance", "units", "events", "events_per_sim_s",
                   "wall_s", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"]


def plain(v: Any) -> Any:
    """A NumPy scalar as the Python number it holds (what a store's JSON and a table row keep)."""
    if hasattr(v, "item"):
        return v.item()
    return v


def error_result(message: str, keep: dict | None = None) -> dict:
    """A point's result that is an error: no numbers, ``error`` set (the metric's name and unit kept from ``keep``)."""
    out: dict[str, Any] = {k: None for k in METRIC_COLUMNS}
    for k in ("metric", "unit", "higher_is_better"):
        if keep is not None:
            out[k] = keep.get(k)
    out["warnings"] = ""
    out["error"] = message
    return out


#: Closed forms computed by this process, by their spec with the seed left out (a closed form ignores it, so the
#: replications of a point share one); None: the spec has none
_CLOSED: dict[str, dict | None] = {}
#: Most closed forms remembered
CLOSED_MEMO_SIZE = 4096


def result_of(spec: Spec) -> dict:
    """The metric columns of ``spec``'s run (its closed form where it has one), or the error the model gave."""
    from ..inputs.resolve import resolve
    from ..run import closed_form_metrics, summary_row
    data = spec.model_dump(mode="json")
    data["seed"] = 0
    platform = json.dumps(data, sort_keys=True)
    try:
        res = None
        if platform in _CLOSED:
            fast = _CLOSED[platform]
        else:  # not asked yet: one resolution serves the closed form and, failing it, the run
            res = resolve(spec)
            fast = closed_form_metrics(spec, res)
            if len(_CLOSED) >= CLOSED_MEMO_SIZE:
                _CLOSED.pop(next(iter(_CLOSED)))
            _CLOSED[platform] = fast
        # no host and no table where the answer is a closed form; otherwise the run's summary row alone
        row = fast if fast is not None else summary_row(spec, res)
        result = {k: plain(row[k]) for k in METRIC_COLUMNS}
    except (MemoryError, OSError):
        raise  # the machine, not the model: the sweep retries the point and stores nothing
    except Exception as exc:  # the model's answer for this spec: recorded, and the sweep goes on
        return error_result(f"{type(exc).__name__}: {exc}")
    bad = [k for k in NUMERIC_COLUMNS
           if not isinstance(result[k], (int, float)) or not math.isfinite(result[k])]
    if bad:
        got = ", ".join(f"{k}={result[k]}" for k in bad)
        return error_result(f"the run gave a non-finite result ({got}); not a measurement", keep=result)
    result["error"] = ""
    return result


def run_point(spec: Spec) -> dict:
    """Run one point and return its row (plain Python values).

    An error the model raises for this spec, or a result that is not finite,
    becomes a row with ``error`` set. ``MemoryError`` and ``OSError`` are not
    the model's answer and propagate, so that a sweep retries the point.
    """
    row = {"spec_hash": point_key(spec), "kit_version": __version__}
    row.update(spec_columns(spec))
    row.update(result_of(spec))
    return row


def spec_columns(spec: Spec) -> dict:
    """A spec as a table row: every field, and its ``mode.*``, ``hw.*`` and ``workload.*`` overrides."""
    d = spec.model_dump(mode="json")
    out = {k: d[k] for k in ("hardware", "hypervisor", "workload", "vcpus", "vms", "duration", "seed", "pcpus",
                             "pin", "dom0_vcpus", "net_queues")}
    out["weights"] = ",".join(map(str, spec.weights)) if spec.weights else ""
    out["caps"] = ",".join(map(str, spec.caps)) if spec.caps else ""
    for prefix, pairs in (("mode.", spec.mode), ("hw.", spec.hw), ("workload.", spec.params)):
        for k, v in pairs:
            out[prefix + k] = str(v)
    return out


def spec_key(spec_json: dict, version: str) -> str:
    """:meth:`Spec.key` computed from a spec's JSON form (with :func:`point_spec_json`'s ``content``: a point's
    key, what a store holds)."""
    blob = json.dumps(spec_json, sort_keys=True) + version
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def point_spec_json(spec: Spec, content: str | None = None) -> dict:
    """What a point is keyed and stored on: the spec's JSON form and ``content``, the digest of the content of
    the profile and workloads it names (:func:`kit.inputs.resolve.content_digest`; given when the caller has it).
    A stored point is thus reused only while those files are unchanged, never because a path is the same."""
    from ..inputs.resolve import content_digest
    data = spec.model_dump(mode="json")
    data["content"] = content_digest(spec) if content is None else content
    return data


def point_key(spec: Spec, content: str | None = None) -> str:
    """The key of a point of ``spec`` in a store: :func:`spec_key` of :func:`point_spec_json`."""
    return spec_key(point_spec_json(spec, content), __version__)
