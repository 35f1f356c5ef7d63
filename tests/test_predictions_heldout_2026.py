"""The fifth set of blind predictions (issue 19: Matthews, Clark, Barham, Turtles and Felter held-out experiments):
each committed file is byte-identical to its commit, lists exactly what its generator computes, every prediction is
finite with its mean inside its 95% interval (the row the model cannot compute says so), and the generators still
run on small cases (the whole set takes about half an hour)."""
import hashlib
import math

import pandas as pd
import pytest

import kit
from kit.inputs.files import data_dir
from kit.papers.predictions import heldout_2026 as h
from kit.papers.blind import BLIND_FILES

#: ``sha256sum data/predictions/<file>`` at the commit that added the files (copied here, not computed by the code
#: under test)
COMMITTED_SHA256 = {
    "matthews": "7f3bfad0279193623975894b91b8213ff22b12fb884a7506d3c717ce37053120",
    "clark": "9123da6386662735561c6120747448b94a9057f6c1e198264b26300888200635",
    "barham": "bf7704127d7b9b943cadaf3823f72a3a562f0beb8f967fd6cd14fbd98d73dca6",
    "turtles": "e7d7f6e3f2cae80068dbac8f5430f588d76a01f91b1de906a62b1005889505c2",
    "felter": "8e2ec1d3f5e9b1b326db6ef7ba4a116448be9e2b8a831bb1a131c6cb48ff0f28",
}
#: The model the files were computed with (``git rev-parse --short HEAD`` at compute time)
COMPUTED_AT = "ee75110"


def _finite(df: pd.DataFrame, cols) -> None:
    for c in cols:
        assert df[c].map(lambda v: math.isfinite(float(v))).all(), c


def _inside(df: pd.DataFrame, mean: str, low: str, high: str) -> None:
    lo, m, hi = df[low].astype(float), df[mean].astype(float), df[high].astype(float)
    assert ((lo <= m) & (m <= hi)).all(), mean


@pytest.fixture(scope="module")
def files():
    return {name: h.committed(name) for name in h.CSV}


def test_the_files_are_byte_identical_to_their_commit_and_registered():
    for name, digest in COMMITTED_SHA256.items():
        data = (data_dir() / h.CSV[name]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name}: blind files are never edited"
        assert h.checksum(name) == digest == h.SHA256[name]
        assert BLIND_FILES[h.CSV[name].split("/")[1]].sha256 == digest
    assert h.MODEL_COMMIT == COMPUTED_AT


def test_every_file_was_computed_at_the_model_commit(files):
    for name, df in files.items():
        assert set(df["model_commit"]) == {COMPUTED_AT}, name
        assert (df["assumptions"].str.contains("not looked up") | (df["status"] == h.NOT_MODELLED)).all(), name


def test_matthews_rows_are_the_two_systems_by_the_six_hogs(files):
    df = files["matthews"]
    assert list(zip(df["system"], df["configuration"])) == [(s[0], hog) for s in h.MATTHEWS_SYSTEMS for hog in h.HOGS]
    assert list(df["hypervisor"].unique()) == ["vmware-bt", "container-nat"]
    assert set(df["mode_overrides"]) == {"release=2006", "io=veth-bridge;storage=volume"}
    # the Xen column's testbed and configuration
    assert set(df["hardware"]) == {"core2-2008"} and set(df["workload"]) == {"specweb"}
    assert (df["seeds"] == 10).all() and (df["first_seed"] == 2007).all() and (df["duration"] == 10.0).all()
    _finite(df, ["mean", "ci_low", "ci_high", "ci_half_width", "latency_ratio", "value", "baseline_value"])
    _inside(df, "mean", "ci_low", "ci_high")
    _inside(df, "latency_ratio", "latency_ci_low", "latency_ci_high")
    assert (df["explained_by"].str.contains("utilization baseline -> with")).all()


def test_clark_rows_are_the_two_migrations_with_intervals(files):
    df = files["clark"]
    assert list(df["benchmark"]) == [r.benchmark for r in h.CLARK_RUNS]
    assert list(df["workload"]) == ["apache-static", "mmuncher"] and list(df["vm_mib"]) == [800.0, 512.0]
    assert (df["link_gbps"] == 1.0).all() and set(df["policy"]) == {"xen"}
    _finite(df, ["downtime_ms", "downtime_ci_low", "total_s", "total_ci_low", "mib_sent", "mib_sent_ci_low", "rounds",
                 "rounds_ci_low"])
    _inside(df, "downtime_ms", "downtime_ci_low", "downtime_ci_high")
    _inside(df, "total_s", "total_ci_low", "total_ci_high")
    _inside(df, "mib_sent", "mib_sent_ci_low", "mib_sent_ci_high")
    _inside(df, "rounds", "rounds_ci_low", "rounds_ci_high")
    assert ((df["total_ci_high"] - df["total_ci_low"]) / 2 < h.MAX_REL_HALF_WIDTH * df["total_s"]).all()
    assert (df["mib_sent"] >= df["vm_mib"] * 0.99).all()  # round 1 sends every page
    assert (df["explained_by"].str.contains("round 1")).all()


def test_barham_rows_are_figure_4_and_the_udp_latency(files):
    df = files["barham"]
    fig = df[df["experiment"] == "figure 4"]
    assert [c.split(" ")[0] for c in fig["configuration"]] == [str(n) for n in h.BARHAM_INSTANCES]
    _finite(fig, ["mean", "ci_low", "ci_high", "value", "baseline_value", "value_over_one", "baseline_over_one"])
    _inside(fig, "mean", "ci_low", "ci_high")
    assert float(fig["value_over_one"].iloc[0]) == 1.0 and float(fig["baseline_over_one"].iloc[0]) == 1.0
    udp = df[df["experiment"] == "udp latency"]
    predicted, missing = udp[udp["status"] == "predicted"], udp[udp["status"] == h.NOT_MODELLED]
    assert len(predicted) == 1 and len(missing) == 1
    _finite(predicted, ["mean", "ci_low", "ci_high", "baseline_value"])
    _inside(predicted, "mean", "ci_low", "ci_high")
    assert float(predicted["mean"].iloc[0]) > 0 and predicted["unit"].iloc[0] == "us"
    # the row the model cannot compute has no number and says why
    assert (missing[["mean", "ci_low", "ci_high", "value"]] == "").all(axis=None)
    assert missing["assumptions"].iloc[0].startswith("not modelled: ")


def test_turtles_rows_are_the_generator_rows_with_narrow_intervals(files):
    df = files["turtles"]
    rows = h.turtles_rows()
    assert list(zip(df["benchmark"], df["configuration"])) == [(r.benchmark, r.configuration) for r in rows]
    assert (df["ci_half_width"] < h.MAX_HALF_WIDTH).all()
    assert (df["overhead"] == (1 - df["nested_over_single"]).round(4)).all()
    _inside(df, "overhead", "overhead_ci_low", "overhead_ci_high")
    drw = df[df["configuration"].str.startswith("DRW")]
    assert len(drw) == 4 and set(drw["hw_overrides"]) == {"features.vmcs_shadowing=true"}
    vmw = df[df["configuration"].str.startswith("VMware Server")]
    assert len(vmw) == 4 and vmw["nested"].str.startswith("vmware-bt;cpu=hvm").all()


def test_felter_rows_are_the_generator_rows_with_narrow_intervals(files):
    df = files["felter"]
    expected = [(g.benchmark, m) for g in h.felter_rows() for m in g.modes]
    assert list(zip(df["benchmark"], df["hypervisor"])) == expected
    _finite(df, ["native_value", "value", "relative_performance", "ci_low", "ci_high", "ci_half_width"])
    _inside(df, "relative_performance", "ci_low", "ci_high")
    assert (df["ci_half_width"] < h.MAX_HALF_WIDTH).all()
    native = df[df["hypervisor"] == "native"]
    assert (native["relative_performance"] == 1.0).all() and (native["value"] == native["native_value"]).all()
    assert set(df[df["workload"] == "redis"]["params"].str.extract(r"clients=(\d+)")[0].astype(int)) == {10, 50, 100}
    assert set(df["workload"]) == {"redis", "fio-randwrite", "fio-randrw"}


def test_every_profile_workload_and_mode_exists(files):
    for df in files.values():
        assert set(df["hardware"]) <= set(kit.list_hardware())
        assert set(df["workload"]) <= {w.id for w in kit.list_workloads()}
    for name in ("matthews", "clark", "barham", "felter"):
        assert set(files[name]["hypervisor"]) <= set(kit.list_hypervisors())


@pytest.mark.slow  # five papers' generators, each simulating its small cases: seconds of CPU
def test_the_generators_still_run_on_small_cases():
    """The files are never recomputed into; the generators still give finite rows with intervals at the current
    model (small cases: a few seeds of short runs)."""
    m = h.predict_matthews(hogs=("cpu-hog",), seeds=2, duration=0.3)
    assert len(m) == 2 and m["mean"].map(math.isfinite).all()
    assert ((m["ci_low"] <= m["mean"]) & (m["mean"] <= m["ci_high"])).all()
    jbb = [r for r in h.turtles_rows() if r.workload == "specjbb" and r.configuration.startswith("VMware")][:1]
    t = h.predict_turtles(jbb)
    assert 0 < t["nested_over_single"].iloc[0] <= 1.01 and t["ci_half_width"].iloc[0] < h.MAX_HALF_WIDTH
    f = h.predict_felter(h.felter_rows()[:1], duration=0.02)
    assert list(f["hypervisor"]) == ["native", "container-host", "container-nat", "kvm"]
    assert f["relative_performance"].iloc[0] == 1.0 and f["relative_performance"].map(math.isfinite).all()
    b = h.predict_barham(instances=(1, 2), seeds=2, duration=0.3, udp_seeds=2, udp_duration=1.0, udp_domains=2)
    assert list(b["status"]) == ["predicted", "predicted", "predicted", h.NOT_MODELLED]
    assert b["value_over_one"].iloc[0] == 1.0 and b["mean"].iloc[:3].map(math.isfinite).all()
    c = h.predict_clark([h.ClarkRun("small", "mmuncher", (), 96.0, 2, 120.0, "a small VM for the test")],
                        require_width=False)
    assert c["downtime_ms"].iloc[0] > 0 and c["mib_sent"].iloc[0] >= 96.0 * 0.99
