"""Blind predictions, sixth set (issue 24, section 1): Le et al.'s recovery from NIC driver failures in Xen driver
domains, with and without a warm spare driver domain (HP Labs and UCLA, 2009), in
``data/predictions/predictions-le-2009-driver-recovery.csv``, and its generator (:func:`predict_le`).

The quantity is the outage a network client sees per NIC driver failure: from the failure until the client's traffic
flows again. The model has no failure of a component yet: failure domains, detection, restart and reconnection come
with issue 24, section 2, after this file is committed. Both rows are therefore committed as *not modelled*, with the
reason, so that the set says what it will be compared with and that the model could not compute it blind. The
published results were not looked up.
"""
from __future__ import annotations

import pandas as pd

from ...version import __version__
from .prediction_set import PredictionSet

__all__ = ["PREDICTION_SET", "MODEL_COMMIT", "PAPER", "NOT_MODELLED", "CONFIGURATIONS", "predict_le"]

#: The model the committed file was computed at (the commit of its generator)
MODEL_COMMIT = "a52121c"
PAPER = ("Le, Gallagher, Tamir and Turner, Maintaining Network QoS Across NIC Device Driver Failures Using "
         "Virtualization, IEEE NCA 2009 (HP Labs with UCLA; the citation as recalled)")
NOT_MODELLED = "not modelled"
#: The two recovery configurations, as recalled: (configuration, what happens after the driver fails)
CONFIGURATIONS = (
    ("driver domain restarted", "the failed driver domain is detected, destroyed and booted again with its NIC "
                                "driver, and the guests' network frontends reconnect to its new backend"),
    ("warm spare driver domain", "a second driver domain, already booted with a NIC, takes over: the guests' "
                                 "frontends reconnect to its backend while the failed one is restarted"),
)
_REASON = ("not modelled: the model has no failure of a component yet (no detection, restart or reconnection of a "
           "driver domain, nothing that stalls or loses the I/O depending on it); issue 24, section 2 adds failure "
           "domains after this file is committed")


def predict_le(model_commit: str = "") -> pd.DataFrame:
    """The file's table: one row per configuration, each not modelled, with its reason."""
    rows = []
    for configuration, recovery in CONFIGURATIONS:
        rows.append({
            "paper": f"{PAPER}; expected in the evaluation of recovery from injected NIC driver failures",
            "testbed": "Xen with the NIC driven from a driver domain, guests' netfront connected to its netback, a "
                       "network client outside the host (as recalled)",
            "benchmark": "outage a network client sees per NIC driver failure", "configuration": configuration,
            "recovery": recovery, "hypervisor": "xen-pv", "metric": "client-visible outage per failure", "unit": "ms",
            "mean": "", "ci_low": "", "ci_high": "", "ci_half_width": "", "seeds": "", "explained_by": "",
            "assumptions": _REASON, "status": NOT_MODELLED, "kit_version": __version__, "model_commit": model_commit})
    return pd.DataFrame(rows)


PREDICTION_SET = PredictionSet(
    file="predictions-le-2009-driver-recovery.csv",
    sha256="3304232f674b72ddc7e34bf81f75838e2c54896c0d2c951398e040b61ef5a483",
    model_commit=MODEL_COMMIT, citation=PAPER, generator=lambda: predict_le(model_commit=MODEL_COMMIT),
    committed="committed with its generator's digest, computed at model a52121c, before any failure mechanism "
              "existed (both rows not modelled)")
