"""netperf's classic output -> transactions per second (``*_RR``, ``*_CRR``) or throughput (``*_STREAM``).

A ``... TEST from ...`` banner (which a mailer may wrap onto two lines), then the column headings, then the
result row. Request/response tests give the request and response sizes (the workload's ``request_bytes`` and
``response_bytes``) and the rate; stream tests the message size and the throughput in 10^6 bits/s. netperf's
keyword output (``-k``/``-j``, ``THROUGHPUT=...``) is refused: give the classic output.
"""
from __future__ import annotations

import re
from pathlib import Path

from .common import Parsed, Value, bad, number, read_lines

__all__ = ["parse"]


def parse(path: Path) -> Parsed:
    lines = read_lines(path)
    banner = next((i for i, line in enumerate(lines) if re.search(r"\bTEST from\b", line)), None)
    if banner is None:
        raise bad(path, 1, "no '... TEST from ...' banner: not netperf's output")
    if any(re.match(r"^\s*[A-Z_0-9]+=", line) for line in lines[banner + 1:]):
        n = next(i for i, line in enumerate(lines, 1) if i > banner + 1 and re.match(r"^\s*[A-Z_0-9]+=", line))
        raise bad(path, n, "netperf's keyword output (-k): another format; give the classic output")
    title = lines[banner]
    kind = "rr" if "REQUEST/RESPONSE" in title or "Request/Response" in title else \
        "stream" if "STREAM" in title or "UNIDIRECTIONAL" in title else None
    if kind is None:
        raise bad(path, banner + 1, f"a netperf test this importer does not read: {title.strip()[:60]!r}")
    proto = "udp" if "UDP" in title else "tcp"
    crr = "Connect/Request/Response" in title
    unit_line = next((i for i in range(banner, len(lines)) if ("per sec" in lines[i] or "10^6bits/sec" in lines[i]
                                                              or "10^9bits/s" in lines[i])), None)
    if unit_line is None:
        raise bad(path, len(lines), "truncated: no column headings after the banner")
    row = next((i for i in range(unit_line + 1, len(lines)) if lines[i].split()), None)
    if row is None:
        raise bad(path, len(lines), "truncated: no result row after the column headings")
    words = lines[row].split()
    n = row + 1
    out = Parsed(tool="netperf")
    if kind == "rr":
        if len(words) < 6:
            raise bad(path, n, f"{len(words)} fields where a request/response row has at least 6: truncated")
        req, resp = number(words[2], path, n, "the request size"), number(words[3], path, n, "the response size")
        rate = number(words[5], path, n, "the transaction rate")
        name = f"netperf.{proto}_{'crr' if crr else 'rr'}.trans_per_s"
        out.values.append(Value(name, rate, "per_s"))
        out.params["request_bytes"], out.params["response_bytes"] = req, resp
    else:
        if len(words) < 5:
            raise bad(path, n, f"{len(words)} fields where a stream row has at least 5: truncated")
        thr = number(words[-1], path, n, "the throughput")
        scale = 1000.0 if "10^9bits" in lines[unit_line] else 1.0
        out.values.append(Value(f"netperf.{proto}_stream.Mbps", thr * scale, "Mbit/s"))
        out.params["message_bytes"] = number(words[2], path, n, "the message size")
    return out
