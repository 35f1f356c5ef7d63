"""How often a component of a host fails: in proportion to the code it runs, with device drivers more error-prone
than the rest, as Chou et al. found in Linux.

A component's failures per year are ``kloc x FAULTS_PER_KLOC_YEAR x (DRIVER_FACTOR for a driver, else 1)`` over the
software it is made of (``data/tcb.yaml``, :mod:`kit.inputs.tcb`); a share :data:`HANG_SHARE` of them are hangs, the
rest crashes. Each constant is ``(value, source, (low, high))``; :func:`sample` draws all of them (and every
software's size) from their ranges for an uncertainty analysis. A component whose code is not published (a
closed-source hypervisor) has no rate: it is reported as such, never counted as zero.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .recovery import log_uniform

__all__ = ["FAULTS_PER_KLOC_YEAR", "DRIVER_FACTOR", "HANG_SHARE", "DRIVER_ROLES", "RATES", "rate", "sample"]

FAULTS_PER_KLOC_YEAR = (2e-4, "estimated, because a host's kernel with its drivers (about two million lines, "
                              "data/tcb.yaml) failing about once in two years of continuous service gives 2e-4 "
                              "failures per thousand lines per year for core code; plausible 5e-5 to 1e-3, a host "
                              "kernel failing once in eight years to twice a year", (5e-5, 1e-3))
DRIVER_FACTOR = (5.0, "Chou, Yang, Chelf, Hallem and Engler, An Empirical Study of Operating Systems Errors, SOSP "
                      "2001: the error rate of Linux device drivers is three to seven times that of the rest of the "
                      "kernel (errors per line found by their checkers)", (3.0, 7.0))
HANG_SHARE = (0.3, "estimated, because most kernel and driver failures end in an oops or panic (a crash) and a "
                   "minority in a deadlock or a stuck device that leaves the code running but stopped (a hang); "
                   "plausible 0.1-0.5", (0.1, 0.5))
#: The roles whose code is a device driver (DRIVER_FACTOR applies)
DRIVER_ROLES = ("nic-driver", "disk-driver")
RATES = {"FAULTS_PER_KLOC_YEAR": FAULTS_PER_KLOC_YEAR, "DRIVER_FACTOR": DRIVER_FACTOR, "HANG_SHARE": HANG_SHARE}


def rate(role: str, code: Sequence[str], kloc: Mapping[str, float], draws: Mapping[str, float] | None = None
         ) -> float | None:
    """Failures per year of a component of ``role`` made of ``code`` (software ids), with each software's size in
    ``kloc``; None when its code is not published (no size to go by)."""
    if not code:
        return None
    d = dict(draws or {})
    per = d.get("FAULTS_PER_KLOC_YEAR", FAULTS_PER_KLOC_YEAR[0])
    factor = d.get("DRIVER_FACTOR", DRIVER_FACTOR[0]) if role in DRIVER_ROLES else 1.0
    return sum(kloc[c] for c in code) * per * factor


def sample(rng: np.random.Generator, sizes: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """One draw of the rate constants and of every software's size (``sizes``: id -> (low, high) kloc), each
    log-uniform over its range."""
    out = {name: log_uniform(rng, *c[2]) for name, c in RATES.items()}
    out.update({f"kloc:{k}": log_uniform(rng, lo, hi) for k, (lo, hi) in sizes.items()})
    return out
