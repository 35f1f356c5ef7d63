"""fio's JSON output (``--output-format=json``, fio 3.x) -> I/O rates, sizes and latencies of each job.

Per job and direction with I/O: ``iops``, bandwidth (``bw``, KiB/s, as MB/s), mean completion latency
(``clat_ns``), and the block size from the job's options; a unit of work is one I/O (``disk_ops`` 1, ``disk_kb``
the block size). fio 2.x reported latencies in microseconds (``clat`` without ``_ns``): that format is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

from .common import Parsed, Value, bad, read_lines

__all__ = ["parse"]

_SUFFIX = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _size(text: str, path: Path) -> float:
    t = str(text).strip().lower().rstrip("b").rstrip("i")
    mult = _SUFFIX.get(t[-1:], 1)
    try:
        return float(t[:-1] if t[-1:] in _SUFFIX else t) * mult
    except ValueError:
        raise bad(path, 1, f"block size {text!r} is not a size") from None


def _line_of(lines: list[str], needle: str) -> int:
    return next((i for i, line in enumerate(lines, 1) if needle in line), 1)


def parse(path: Path) -> Parsed:
    lines = read_lines(path)
    text = "\n".join(lines)
    start = text.find("{")
    if start < 0:
        raise bad(path, 1, "not JSON: give fio's --output-format=json output")
    try:
        data = json.loads(text[start:])
    except json.JSONDecodeError as exc:
        line = text[:start].count("\n") + exc.lineno
        raise bad(path, line, f"not valid JSON ({exc.msg}): truncated?") from None
    version = data.get("fio version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not version or "jobs" not in data:
        raise bad(path, 1, "JSON without 'fio version' and 'jobs': not fio's output")
    out = Parsed(tool=f"fio {version.removeprefix('fio-')}")
    if data.get("time"):
        out.notes.append(f"fio run at {data['time']}")
    for job in data["jobs"]:
        name = str(job.get("jobname", "job"))
        opts = job.get("job options", {})
        for rw in ("read", "write"):
            d = job.get(rw)
            if not isinstance(d, dict) or not d.get("io_bytes"):
                continue
            if "clat_ns" not in d:
                raise bad(path, _line_of(lines, f'"{name}"'), f"job {name}: no clat_ns (fio 2.x reported "
                                                              "microseconds): another version's format; use fio 3")
            try:
                iops, bw = float(d["iops"]), float(d["bw"])
                clat = float(d["clat_ns"]["mean"])
            except (KeyError, TypeError, ValueError):
                raise bad(path, _line_of(lines, f'"{name}"'), f"job {name} {rw}: iops, bw or clat_ns.mean missing") \
                    from None
            out.values += [Value(f"fio.{name}.{rw}.iops", iops, "iops"),
                           Value(f"fio.{name}.{rw}.MBps", bw * 1024 / 1e6, "MB/s"),
                           Value(f"fio.{name}.{rw}.clat_us", clat / 1000.0, "us")]
            bs = opts.get("bs") or opts.get(f"bs_{rw}") or data.get("global options", {}).get("bs")
            if bs:
                out.params[f"{rw}_kb"] = _size(bs, path) / 1024
                out.counts["disk_ops"] = out.counts.get("disk_ops", 0.0) + 1.0
    if not out.values:
        raise bad(path, _line_of(lines, '"jobs"'), "no job did any I/O")
    for k in [k for k in out.params if k.endswith("_kb")]:
        out.ratios["disk_kb"] = out.params.pop(k)
    out.counts.clear()
    out.ratios["disk_ops"] = 1.0
    return out
