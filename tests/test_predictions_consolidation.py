"""The fourth set of blind predictions (Barham et al. 2003 scalability, Matthews et al. 2007 isolation): the
committed file is byte-identical to its commit, every prediction is finite with a 95% interval around its mean and
names its mechanisms, and the generator still runs (on a tiny case: the whole file takes minutes)."""
import math

import pandas as pd
import pytest

from kit.papers.blind import BLIND_FILES
from kit.papers.predictions import consolidation_2003_2007 as pc
NUMERIC = ["mean", "ci_low", "ci_high", "ci_half_width", "value", "baseline_value", "seeds", "duration"]
LATENCY = ["latency_ratio", "latency_ci_low", "latency_ci_high"]


@pytest.fixture(scope="module")
def committed():
    return pc.PREDICTION_SET.read()


def test_the_file_is_registered_and_unchanged():
    """Its digest is recorded once, in its set; tests/test_blind.py holds the independent copy from git."""
    assert BLIND_FILES[pc.PREDICTION_SET.file] is pc.PREDICTION_SET
    assert pc.PREDICTION_SET.digest() == pc.PREDICTION_SET.sha256, "blind files are never edited"


def test_every_prediction_is_finite_with_its_mean_inside_its_interval(committed):
    assert set(committed["experiment"]) == {"scalability", "isolation"}
    for c in NUMERIC:
        assert committed[c].map(lambda v: math.isfinite(float(v))).all(), c
    assert (committed["ci_low"] <= committed["mean"]).all() and (committed["mean"] <= committed["ci_high"]).all()
    assert (committed["ci_half_width"] >= 0).all()
    iso = committed[committed["experiment"] == "isolation"]
    for c in LATENCY:
        assert iso[c].map(lambda v: math.isfinite(float(v))).all(), c
    assert ((iso["latency_ci_low"].astype(float) <= iso["latency_ratio"].astype(float))
            & (iso["latency_ratio"].astype(float) <= iso["latency_ci_high"].astype(float))).all()
    assert (committed["explained_by"].str.len() > 20).all()  # every prediction says its mechanisms
    assert set(committed["model_commit"]) == {pc.PREDICTION_SET.model_commit}


def test_the_file_covers_barham_s_scalability_and_matthews_s_isolation_runs(committed):
    scal = committed[committed["experiment"] == "scalability"]
    assert list(scal["configuration"]) == [f"{n} domains" for n in pc.BARHAM_DOMAINS]
    assert scal["mean"].iloc[0] == 1.0  # one domain against itself
    assert set(scal["hypervisor"]) == {"xen-pv"} and set(scal["hardware"]) == {"p4-xeon-2003"}
    iso = committed[committed["experiment"] == "isolation"]
    assert list(zip(iso["hypervisor"], iso["configuration"])) == [(hv, hog) for hv in pc.ISOLATION_MODES
                                                                  for hog in pc.HOGS]
    assert (iso["seeds"] == 10).all() and (iso["duration"] == pc.ISOLATION_DURATION).all()


def test_the_generator_still_runs_on_a_tiny_case(committed):
    b = pc.predict_barham(domains=(1, 2), seeds=2, seconds=1.0)
    m = pc.predict_matthews(modes=("kvm",), hogs=("cpu-hog",), seeds=2, duration=0.3)
    fresh = pd.concat([b, m], ignore_index=True)
    assert list(fresh.columns) == list(committed.columns)
    assert b["mean"].iloc[0] == 1.0 and 0.5 < b["mean"].iloc[1] <= 1.0
    for c in ("mean", "ci_low", "ci_high"):
        assert fresh[c].map(math.isfinite).all()
    assert ((fresh["ci_low"] <= fresh["mean"]) & (fresh["mean"] <= fresh["ci_high"])).all()
    assert "VM switches per second" in b["explained_by"].iloc[1]
    assert "queueing" in m["explained_by"].iloc[0]
