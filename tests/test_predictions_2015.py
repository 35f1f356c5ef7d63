"""The second blind prediction file: it lists the generator's runs, every prediction is a mean with a 95% confidence
half-width under one point, and every profile and workload it names exists. It is never recomputed at a later
model (tests/test_blind.py checks its digest; kit.papers.blind sets the current model beside it)."""
import math

import pytest

import kit
from kit.papers.predictions.apps_2015_2016 import PREDICTION_SET, prediction_specs_2015
from kit.papers.predictions.rows import MAX_HALF_WIDTH, predict_rows
from kit.stats import t_quantile

NUMERIC = ["native_value", "value", "relative_performance", "ci_low", "ci_high", "ci_half_width", "duration"]


@pytest.fixture(scope="module")
def committed():
    return PREDICTION_SET.read()


def test_the_file_lists_the_generator_specs_in_order(committed):
    preds = prediction_specs_2015()
    assert len(committed) == len(preds) >= 40
    for (_, row), p in zip(committed.iterrows(), preds):
        assert (row["hardware"], row["hypervisor"], row["workload"]) == (p.spec.hardware, p.spec.hypervisor,
                                                                          p.spec.workload)
        assert row["seeds"] == p.seeds and row["first_seed"] == p.spec.seed
        assert row["duration"] == p.spec.duration
    assert set(committed["model_commit"]) == {PREDICTION_SET.model_commit}
    assert {"Felter", "Dall", "Adams"} <= {paper.split(",")[0].split()[0] for paper in committed["paper"]}


def test_every_prediction_is_finite_with_a_narrow_interval(committed):
    for c in NUMERIC:
        assert committed[c].map(lambda v: math.isfinite(float(v))).all(), c
    assert (committed["ci_half_width"] < MAX_HALF_WIDTH).all()
    assert (committed["ci_high"] - committed["ci_low"] < 2 * MAX_HALF_WIDTH).all()
    inside = (committed["ci_low"] <= committed["relative_performance"]) & (
        committed["relative_performance"] <= committed["ci_high"])
    assert inside.all()
    assert (committed["seeds"] >= 5).all()
    # durations cover at least ten 30 ms credit accounting periods
    assert (committed["duration"] >= 0.3).all()
    assert (committed["relative_performance"] > 0).all() and (committed["native_value"] > 0).all()
    assert (committed["explained_by"].str.len() > 0).all()


def test_every_profile_and_workload_exists(committed):
    for hw in set(committed["hardware"]):
        assert hw in kit.list_hardware() and kit.load_hardware(hw).id == hw
    presets = {w.id for w in kit.list_workloads()}
    assert set(committed["workload"]) <= presets
    for hv in set(committed["hypervisor"]):
        assert hv in kit.list_hypervisors()


def test_t_quantiles_match_the_standard_table():
    # two-sided 95% critical values of Student's t (NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2)
    for df, t in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (19, 2.093), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(t, abs=6e-4)


def test_a_too_wide_interval_is_refused():
    from kit.papers.predictions.rows import Prediction
    # two seeds of a millisecond of random 4K reads: a few dozen requests, each with its own seek, far too noisy for
    # one point (CPU-bound units count the work done and vary little between seeds)
    p = Prediction("t", "p", "b", kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="fio-randread",
                                                duration=0.001, seed=1), seeds=2)
    with pytest.raises(kit.HvkitError, match="confidence interval too wide"):
        predict_rows([p])
