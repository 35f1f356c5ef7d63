"""Blind prediction files are frozen: each keeps the SHA-256 it was committed with, and the current model is shown
beside them (never written into them), labelled in-sample where the predicted results have been revealed."""
import hashlib
import math
import re

import pytest

from kit.inputs.files import data_dir
from kit.papers.blind import (BLIND_FILES, STATUS_BLIND, STATUS_REVEALED, check_blind_files,
                              frozen_vs_current)

#: The digests of the files as committed (predictions.csv last written at 0575d92, predictions-2015-2016.csv at
#: f216114, the Turtles, Clark and Felter-Docker files at adacf17, a371f93 and 926b5a7), copied here from
#: ``git show COMMIT:FILE | sha256sum``, not from the code under test.
COMMITTED = {"predictions.csv": "59f71fdba83723963bb89dfdd28934992a116cf404526c5819bf497b2668af5a",
             "predictions-2015-2016.csv": "48ed619be8f4e2598cec52d80d968d67d4f5f93c8bc8091087d71b63aed544ed",
             "predictions-turtles-2010-nested.csv": "30162059986cc558e4ab886b61d163f007d712e55a112822f8e09176eb40ad4a",
             "predictions-clark-2005-migration.csv": "4640f9de441d52f544b2f39487cb69ea7d3e29325cb93f5059a40cfe6e5ea75d",
             "predictions-felter-2015-docker.csv": "dbe0bf5232ddde4c5aa53758809cf3d6b83b14f6c1115d31a9581c7d76f9042e",
             "predictions-consolidation-2003-2007.csv":
                 "3f6544d5df8f5e40c45cceeed14908705f96373ba5e81cc316dcc029f13d0573",
             "predictions-heldout-matthews-2007-vmware-openvz.csv":
                 "7f3bfad0279193623975894b91b8213ff22b12fb884a7506d3c717ce37053120",
             "predictions-heldout-clark-2005-apache-mmuncher.csv":
                 "9123da6386662735561c6120747448b94a9057f6c1e198264b26300888200635",
             "predictions-heldout-barham-2003-fig4-udp.csv":
                 "bf7704127d7b9b943cadaf3823f72a3a562f0beb8f967fd6cd14fbd98d73dca6",
             "predictions-heldout-turtles-2010-drw-vmware.csv":
                 "e7d7f6e3f2cae80068dbac8f5430f588d76a01f91b1de906a62b1005889505c2",
             "predictions-heldout-felter-2015-redis-fio.csv":
                 "8e2ec1d3f5e9b1b326db6ef7ba4a116448be9e2b8a831bb1a131c6cb48ff0f28",
             "predictions-firecracker-2020.csv": "d989b38f990391ae1c3bf98595ed15d7f1b8367e93a9d79f53f4e0ba11dde03a",
             "predictions-le-2009-driver-recovery.csv":
                 "3304232f674b72ddc7e34bf81f75838e2c54896c0d2c951398e040b61ef5a483"}


def test_every_blind_file_is_byte_identical_to_its_commit():
    for name, digest in COMMITTED.items():
        data = (data_dir() / "predictions" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} was edited: blind files are never changed"
    assert {f: b.sha256 for f, b in BLIND_FILES.items()} == COMMITTED
    assert check_blind_files()["unchanged"].all()
    # every file in data/predictions is registered as blind
    assert {p.name for p in (data_dir() / "predictions").glob("*.csv")} == set(COMMITTED)


def test_a_changed_file_is_detected(tmp_path, monkeypatch):
    (tmp_path / "data" / "predictions").mkdir(parents=True)
    for name in COMMITTED:
        text = (data_dir() / "predictions" / name).read_text()
        changed = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), text, count=1)  # one digit moved
        (tmp_path / "data" / "predictions" / name).write_text(changed)
    monkeypatch.setenv("HVKIT_ROOT", str(tmp_path))
    assert not check_blind_files()["unchanged"].any()


def test_the_2003_generator_lists_the_frozen_rows_in_order():
    import pandas as pd
    frozen = pd.read_csv(data_dir() / "predictions" / "predictions.csv", keep_default_na=False)
    from kit.papers.predictions.testbed_2003 import prediction_specs
    specs = [spec for _, spec in prediction_specs()]
    assert [(s.hardware, s.hypervisor, s.workload) for s in specs] == list(
        zip(frozen["hardware"], frozen["hypervisor"], frozen["workload"]))


@pytest.mark.slow
def test_current_model_beside_the_frozen_prediction_is_labelled():
    # row 0 of predictions.csv (Xen PV, SPEC INT) was revealed: the current model is in-sample
    t = frozen_vs_current("predictions.csv", rows=[0], seeds=5)
    row = t.iloc[0]
    assert (row["hypervisor"], row["workload"]) == ("xen-pv", "spec-int")
    assert row["status"] == STATUS_REVEALED and row["published"] == 1.0
    assert row["blind_frozen"] == 0.99946  # as committed
    assert row["current_ci_low"] <= row["current_model"] <= row["current_ci_high"]
    assert row["current_ci_high"] - row["current_ci_low"] < 0.02 and row["current_seeds"] == 5
    # the 2015-2016 file's results are not revealed: blind, no published value
    t2 = frozen_vs_current("predictions-2015-2016.csv", rows=[47], seeds=5)
    assert t2.iloc[0]["status"] == STATUS_BLIND and math.isnan(t2.iloc[0]["published"])
    assert t2.iloc[0]["workload"] == "spec-int" and t2.iloc[0]["hardware"] == "p4-vtx-2006"
