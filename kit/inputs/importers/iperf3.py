"""iperf3's JSON output (``iperf3 -J``) -> throughput of a stream, and the host it ran on.

``end.sum_received`` (TCP) or ``end.sum`` (UDP) gives bits per second; ``start.test_start`` the protocol, the
block size and the streams; ``start.system_info`` the uname of the host, its date in ``start.timestamp``.
"""
from __future__ import annotations

import json
from pathlib import Path

from .common import Parsed, Value, bad, read_lines

__all__ = ["parse"]


def parse(path: Path) -> Parsed:
    lines = read_lines(path)
    text = "\n".join(lines)
    if not text.lstrip().startswith("{"):
        first = lines[0].strip()
        hint = " (iperf 2's output?)" if "Client connecting" in text or "------" in first else ""
        raise bad(path, 1, f"not JSON: give iperf3 -J output{hint}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(path, exc.lineno, f"not valid JSON ({exc.msg}): truncated?") from None
    if not isinstance(data, dict) or "start" not in data or "end" not in data:
        raise bad(path, 1, "JSON without 'start' and 'end': not iperf3's output")
    if data.get("error"):
        raise bad(path, 1, f"iperf3 reported an error: {str(data['error'])[:80]}")
    start, end = data["start"], data["end"]
    test = start.get("test_start", {})
    proto = str(test.get("protocol", "TCP")).lower()
    out = Parsed(tool=f"iperf3 {start.get('version', '').removeprefix('iperf ')}".strip())
    summary = end.get("sum_received") or end.get("sum")
    if not isinstance(summary, dict) or "bits_per_second" not in summary:
        raise bad(path, 1, "no end.sum_received nor end.sum: truncated?")
    out.values.append(Value(f"iperf3.{proto}.Gbps", float(summary["bits_per_second"]) / 1e9, "Gbit/s"))
    if proto == "udp" and "lost_percent" in summary:
        out.values.append(Value("iperf3.udp.lost_percent", float(summary["lost_percent"]), "%"))
    if test.get("blksize"):
        out.params["message_bytes"] = float(test["blksize"])
    uname = str(start.get("system_info", "")).split()
    if len(uname) >= 3 and uname[0] == "Linux":
        out.machine["hostname"], out.machine["kernel"] = uname[1], uname[2]
    stamp = start.get("timestamp", {}).get("time")
    if stamp:
        out.notes.append(f"iperf3 run at {stamp}")
    return out
