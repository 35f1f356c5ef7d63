"""The sixth set of blind predictions (issue 24, section 1): Agache et al.'s Firecracker experiments and Le et al.'s
driver-domain recovery. Each committed file is byte-identical to its commit and registered, lists exactly the rows
its generator lists, every predicted value is finite with its mean inside its 95% interval and the interval under
5% of the mean, every row the model could not compute says why, and the generators still run on small cases."""
import dataclasses
import hashlib
import math

import pandas as pd
import pytest

from kit.inputs.files import data_dir
from kit.papers.blind import BLIND_FILES
from kit.papers.predictions import firecracker_2020 as fc
from kit.papers.predictions import le_2009_driver_recovery as le

#: ``sha256sum data/predictions/<file>`` of the files as computed, before they were committed (copied here, not
#: computed by the code under test)
COMMITTED_SHA256 = {"predictions-firecracker-2020.csv": "d989b38f990391ae1c3bf98595ed15d7f1b8367e93a9d79f53f4e0ba11dde03a",
                    "predictions-le-2009-driver-recovery.csv":
                        "3304232f674b72ddc7e34bf81f75838e2c54896c0d2c951398e040b61ef5a483"}
#: ``git rev-parse --short HEAD`` when they were computed
COMPUTED_AT = "a52121c"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir() / "predictions" / name, keep_default_na=False)


def test_the_files_are_byte_identical_to_their_commit_and_registered():
    for name, digest in COMMITTED_SHA256.items():
        assert hashlib.sha256((data_dir() / "predictions" / name).read_bytes()).hexdigest() == digest, name
        assert BLIND_FILES[name].sha256 == digest and BLIND_FILES[name].model_commit == COMPUTED_AT
    assert fc.PREDICTION_SET.file in BLIND_FILES and le.PREDICTION_SET.file in BLIND_FILES
    for df in (_read(n) for n in COMMITTED_SHA256):
        assert set(df["model_commit"]) == {COMPUTED_AT}


def test_the_firecracker_rows_are_the_generators_in_order():
    df = _read("predictions-firecracker-2020.csv")
    rows = fc.firecracker_rows()
    assert list(zip(df["experiment"], df["configuration"], df["system"])) == [
        (r.experiment, r.configuration, r.system) for r in rows]
    # boot (4 systems x 3 concurrencies x 2 statistics), memory (3), iperf3 (4 configurations x 6), fio (2 x 4)
    assert df["experiment"].value_counts().to_dict() == {"boot": 24, "memory": 3, "iperf3": 24, "fio": 8}
    assert set(df[df["experiment"] == "iperf3"]["params"]) == {
        "direction=tx;streams=1", "direction=tx;streams=10", "direction=rx;streams=1", "direction=rx;streams=10", ""}


def test_every_predicted_value_is_finite_inside_its_narrow_interval():
    df = _read("predictions-firecracker-2020.csv")
    p = df[df["status"] == "predicted"]
    assert len(p) == 22
    for col in ("mean", "ci_low", "ci_high", "ci_half_width", "native_mean", "relative_to_native"):
        assert p[col].astype(float).map(math.isfinite).all(), col
    m, lo, hi = (p[c].astype(float) for c in ("mean", "ci_low", "ci_high"))
    assert ((lo <= m) & (m <= hi)).all()
    assert (p["ci_half_width"].astype(float) < fc.MAX_REL_HALF_WIDTH * m).all()
    r, rlo, rhi = (p[c].astype(float) for c in ("relative_to_native", "relative_ci_low", "relative_ci_high"))
    assert ((rlo <= r) & (r <= rhi)).all()
    virt = p[p["hypervisor"] != "native"]
    assert (virt["sensitivity_paths"] != "").all() and virt["value_paths_half"].astype(float).map(math.isfinite).all()
    assert (p["assumptions"].str.contains("not looked up")).all()
    assert set(p["hypervisor"]) == {"native", "microvm", "kvm"}


def test_every_row_the_model_cannot_compute_says_why():
    for name in COMMITTED_SHA256:
        df = _read(name)
        missing = df[df["status"] == fc.NOT_MODELLED]
        assert (missing[["mean", "ci_low", "ci_high"]] == "").all(axis=None)
        assert missing["assumptions"].str.startswith("not modelled: ").all()
    assert set(_read("predictions-firecracker-2020.csv").query("status == 'not modelled'")["experiment"]) == {
        "boot", "memory", "iperf3", "fio"}
    assert list(_read("predictions-le-2009-driver-recovery.csv")["configuration"]) == [
        c for c, _ in le.CONFIGURATIONS]


@pytest.mark.slow
def test_the_generators_still_run_on_small_cases():
    """The files are never recomputed into; the generator still gives finite rows at the current model."""
    rows = [dataclasses.replace(r, seeds=2, duration=0.03) for r in fc.firecracker_rows()
            if r.experiment == "fio" and r.configuration.startswith("32") and not r.reason]
    df = fc.predict_firecracker(rows, require_width=False)
    assert list(df["system"]) == ["bare metal", "Firecracker", "QEMU, vhost-net"]
    assert df["mean"].astype(float).map(math.isfinite).all()
    assert list(le.predict_le()["status"]) == [le.NOT_MODELLED] * 2
