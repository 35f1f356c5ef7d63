"""Sweeps: expansion, identical numbers on every executor, failures kept, and a kill -9 that loses nothing."""
import json
import importlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest

from kit.errors import HvkitError
from kit.inputs.spec import Spec
from kit.stats import mean_ci
from kit.sweep import expand, load_sweep_file, sweep

BASE = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.005, seed=3)
GRID = {"hw.exit_roundtrip_cycles": [300, 1500], "hypervisor": ["kvm", "xen-hvm"]}
SAME = ["point", "replication", "hypervisor", "seed", "value", "native_value", "relative_performance", "events", "error"]


def test_expand_factorial_zip_points_and_replications():
    assert len(expand(BASE, GRID, replications=3)) == 12
    z = expand(BASE, zip_params={"vcpus": [1, 2, 3], "pcpus": [1, 2, 3]})
    assert [(p["spec"].vcpus, p["spec"].pcpus) for p in z] == [(1, 1), (2, 2), (3, 3)]
    pts = expand(BASE, {"vcpus": [1, 2]}, points=[{"workload": "spec-int"}, {"workload": "ttcp"}])
    assert len(pts) == 4 and {p["spec"].workload for p in pts} == {"spec-int", "ttcp"}
    seeds = [p["spec"].seed for p in expand(BASE, replications=3)]
    assert len(set(seeds)) == 3 and seeds == [p["spec"].seed for p in expand(BASE, replications=3)]
    with pytest.raises(HvkitError, match="same length"):
        expand(BASE, zip_params={"vcpus": [1, 2], "pcpus": [1]})


@pytest.mark.slow
def test_results_identical_on_every_executor(tmp_path):
    inline = sweep(BASE, GRID, replications=2, workers=1, progress=False)
    with ProcessPoolExecutor(2) as ex:
        pool = sweep(BASE, GRID, replications=2, executor=ex, progress=False)
    with ThreadPoolExecutor(2) as ex:
        threads = sweep(BASE, GRID, replications=2, executor=ex, progress=False)
    pd.testing.assert_frame_equal(inline[SAME], pool[SAME])
    pd.testing.assert_frame_equal(inline[SAME], threads[SAME])


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_numbers():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dask_df = sweep(BASE, GRID, replications=2, executor=client, progress=False)
    inline = sweep(BASE, GRID, replications=2, workers=1, progress=False)
    pd.testing.assert_frame_equal(inline[SAME], dask_df[SAME])


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    # KVM on a Pentium 4 without VT-x is the model's answer for that point, not a typo
    df = sweep(BASE, {"hardware": ["skylake-sp-2017", "p4-xeon-2003", "haswell-ep-2014"]}, workers=1,
               progress=False, store=tmp_path / "st")
    bad = df[df["set.hardware"] == "p4-xeon-2003"]
    assert len(bad) == 1 and "HVM needs hardware virtualization" in bad["error"].iloc[0]
    assert (df[df["set.hardware"] != "p4-xeon-2003"]["error"] == "").all()


@pytest.mark.parametrize("key,name", [("hypervisor", "no-such-mode"), ("hardware", "no-such-cpu"),
                                      ("workload", "no-such-workload"), ("neighbor", "no-such-neighbour")])
def test_a_name_that_does_not_exist_is_refused_before_anything_runs(key, name, tmp_path):
    with pytest.raises(HvkitError, match=f"unknown .*{name}"):
        sweep(BASE, {key: [BASE.model_dump()[key] or "hackbench", name]}, workers=1, progress=False,
              store=tmp_path / "st")
    assert not (tmp_path / "st").exists()


def test_store_reuses_finished_points(tmp_path):
    first = sweep(BASE, GRID, workers=1, progress=False, store=tmp_path / "st")
    again = sweep(BASE, GRID, workers=1, progress=False, store=tmp_path / "st")
    assert not first["reused"].any() and again["reused"].all()
    pd.testing.assert_frame_equal(first[SAME], again[SAME])
    ci = mean_ci(first, ["set.hypervisor"])
    assert (ci["ci_low"] <= ci["mean"]).all() and (ci["mean"] <= ci["ci_high"]).all()


def _sweep_yaml(tmp_path):
    """32 points of about 0.1 s of CPU each (one pCPU, so that the discrete engine runs them: on spare CPUs the
    queueing path finishes all of them before the first chunk is written, and there is nothing to interrupt)."""
    p = tmp_path / "s.yaml"
    p.write_text(
        "base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: netperf-rr, duration: 0.02, seed: 5,"
        " pcpus: 1}\n"
        "grid:\n  hw.exit_roundtrip_cycles: [200, 400, 600, 800, 1000, 1200, 1400, 1600]\n"
        "  hypervisor: [kvm, xen-hvm]\nreplications: 2\n")
    return p


def _stored_keys(store):
    """Keys of every record in the store's chunk files, read without kit.sweep (duplicates kept)."""
    keys = []
    for f in sorted(store.glob("points-*.jsonl")):
        keys += [json.loads(line)["key"] for line in f.read_bytes().splitlines()[1:]]
    return keys


@pytest.mark.slow
def test_kill_minus_9_then_resume_matches_an_uninterrupted_run(tmp_path, cli):
    y = _sweep_yaml(tmp_path)
    out = tmp_path / "r.parquet"
    store = tmp_path / "r.parquet.points"
    argv = ["sweep", str(y), "-o", str(out), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "kit.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(_stored_keys(store)) < 5:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_stored_keys(store))
    assert 5 <= done_before < 32 and not out.exists()
    r = cli.process(*argv, "--resume")
    assert r.code == 0, r.err
    resumed = pd.read_parquet(out)
    assert resumed["reused"].sum() == done_before  # every stored point reused, none recomputed
    keys = _stored_keys(store)
    assert len(keys) == len(set(keys)) == 32  # nothing stored twice
    full_out = tmp_path / "full.parquet"
    cli.process("sweep", str(y), "-o", str(full_out), "--workers", "2", "--no-progress").ok()
    full = pd.read_parquet(full_out)
    pd.testing.assert_frame_equal(resumed[SAME].reset_index(drop=True), full[SAME].reset_index(drop=True))


def test_sweep_file_validation(tmp_path, cli):
    p = tmp_path / "bad.yaml"
    p.write_text("base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: spec-int}\ngrids: {vcpus: [1]}\n")
    with pytest.raises(HvkitError) as e:
        load_sweep_file(p)
    assert str(p) in str(e.value) and "grids" in str(e.value)
    p.write_text("base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: spec-int}\ngrid: {colour: [1]}\n")
    with pytest.raises(HvkitError, match="colour"):
        load_sweep_file(p)
    assert "colour" in cli("sweep", str(p), "-o", str(tmp_path / "x.parquet")).error()


def test_example_sweep_file_is_valid():
    base, kw = load_sweep_file(os.path.join(os.path.dirname(__file__), "..", "examples", "sweep-exit-latency.yaml"))
    assert len(expand(base, **kw)) == 72


# ---- results that are not measurements, errors, duplicates -----------------------------------------

TINY = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=1e-6, seed=1)


def test_a_run_shorter_than_one_unit_is_an_error_row_not_a_success(tmp_path):
    # 1 us of netperf-rr is shorter than one transaction natively: relative performance would be 0/0
    df = sweep(TINY, {"hypervisor": ["kvm", "xen-hvm"]}, workers=1, progress=False, store=tmp_path / "st")
    assert (df["error"].str.contains("shorter than one unit of netperf-rr")).all()
    assert df["relative_performance"].isna().all() and df["value"].isna().all()
    assert mean_ci(df, ["set.hypervisor"]).empty


def test_a_non_finite_result_is_an_error_row_not_a_success(tmp_path, monkeypatch):
    run_mod = importlib.import_module("kit.run")  # the module (the package exports a function of that name)
    real = run_mod.summary_row

    def nan_row(spec, *args):  # a model defect that lets a NaN through: the sweep still refuses to call it a result
        return {**real(spec, *args), "relative_performance": float("nan")}
    monkeypatch.setattr(run_mod, "summary_row", nan_row)
    df = sweep(BASE, {"hypervisor": ["kvm", "xen-hvm"]}, workers=1, progress=False, store=tmp_path / "st")
    assert (df["error"].str.contains("non-finite result")).all()
    assert df["relative_performance"].isna().all() and df["value"].isna().all()
    assert (df["metric"] == "transaction rate").all()  # what was asked is kept; no number is reported
    assert mean_ci(df, ["set.hypervisor"]).empty


def test_stored_errors_are_reused_until_retry_errors_recomputes_them(tmp_path):
    grid = {"hardware": ["skylake-sp-2017", "p4-xeon-2003"]}  # KVM cannot run on the second
    sweep(BASE, grid, workers=1, progress=False, store=tmp_path / "st")
    again = sweep(BASE, grid, workers=1, progress=False, store=tmp_path / "st")
    assert again["reused"].all()
    retried = sweep(BASE, grid, workers=1, progress=False, store=tmp_path / "st", retry_errors=True)
    assert retried["reused"].tolist() == [True, False]  # only the error was recomputed
    assert "HVM needs hardware virtualization" in retried["error"].iloc[1]
    keys = _stored_keys(tmp_path / "st")
    assert len(keys) == len(set(keys)) == 2  # the superseded record was compacted away


def test_the_same_spec_twice_in_a_plan_is_computed_once(tmp_path):
    df = sweep(BASE, {"hw.exit_roundtrip_cycles": [500, 500, 900]}, workers=1, progress=False,
               store=tmp_path / "st")
    assert len(df) == 3 and df["spec_hash"].nunique() == 2
    assert df.iloc[0]["value"] == df.iloc[1]["value"]
    assert sorted(_stored_keys(tmp_path / "st")) == sorted(set(df["spec_hash"]))


def test_store_key_is_the_spec_key():
    from kit.sweep.point import spec_key
    for p in expand(BASE, GRID, points=[{"workload.mtu": 500}, {"weights": "256", "caps": "50"}], replications=2):
        spec = p["spec"]
        assert spec_key(json.loads(json.dumps(spec.model_dump(mode="json"))), "9.9") == spec.key("9.9")


@pytest.mark.parametrize("kw,field", [
    ({"grid": {"hw.exit_roundtrip_cycles": [100, float("nan")]}}, "grid.hw.exit_roundtrip_cycles[1]"),
    ({"grid": {"workload.mtu": ["inf"]}}, "grid.workload.mtu[0]"),
    ({"zip_params": {"vcpus": [1, 2], "hw.exit_roundtrip_cycles": [1.0, float("-inf")]}},
     "zip.hw.exit_roundtrip_cycles[1]"),
    ({"points": [{"workload.mtu": float("nan")}]}, "points[0].workload.mtu"),
])
def test_nan_and_inf_are_refused_in_grids_zips_and_points(kw, field):
    with pytest.raises(HvkitError, match="not a finite number") as e:
        sweep(BASE, **kw, workers=1, progress=False)
    assert f"'{field}'" in str(e.value)


def test_workers_are_bounded():
    from kit.sweep import max_workers
    assert max_workers() == 4 * len(os.sched_getaffinity(0))
    for bad in (0, -1, max_workers() + 1, 2.5, True):
        with pytest.raises(HvkitError, match="out of range"):
            sweep(BASE, {"vcpus": [1]}, workers=bad, progress=False)


def test_a_grid_too_large_is_refused_with_its_size_before_expansion():
    grid = {f"hw.k{i}": list(range(100)) for i in range(6)}  # 10^12 points: expanding would never finish
    with pytest.raises(HvkitError, match="1,000,000,000,000 points"):
        expand(BASE, grid)


# ---- native baselines on the workers -------------------------------------------------------------------------

def _stored_baselines(store):
    from kit.sweep import Store
    with Store(store) as st:
        return st.load_baselines()


def test_native_baselines_are_tasks_of_the_pool_one_per_value_of_what_native_reads(tmp_path):
    """Two modes over four exit latencies (which native never reads) and two NIC latencies (which it does), two
    replications: one native run per replication and NIC latency, made by the workers before the points, none in
    this process."""
    run_mod = importlib.import_module("kit.run.baselines")
    run_mod._BASELINES.clear()  # a baseline this process made in an earlier test is not this sweep's to make or store
    before = dict(run_mod.baseline_stats)
    grid = {"hw.exit_roundtrip_cycles": [300, 600, 900, 1200], "hw.nic_latency_us": [3, 6],
            "hypervisor": ["kvm", "xen-hvm"]}
    df = sweep(BASE, grid, replications=2, workers=2, progress=False, store=tmp_path / "st")
    assert (df["error"] == "").all() and len(df) == 32
    assert run_mod.baseline_stats["computed"] == before["computed"]  # the parent simulated no native run
    stored = _stored_baselines(tmp_path / "st")
    assert len(stored) == 4
    assert sorted({(b["spec"]["seed"], dict(b["spec"]["hw"]).get("nic_latency_us")) for b in stored}) == sorted(
        {(s, n) for s in df["seed"].unique() for n in (3, 6)})
    # each point's native value is the one stored for its seed and NIC latency
    native = {(b["spec"]["seed"], dict(b["spec"]["hw"])["nic_latency_us"]): b["result"]["value"] for b in stored}
    for _, row in df.iterrows():
        assert row["native_value"] == native[(row["seed"], int(row["set.hw.nic_latency_us"]))]


def test_a_native_run_that_fails_leaves_its_points_to_report_it(tmp_path):
    # 1 us of netperf-rr is shorter than one transaction natively: the native run is refused, and so is each point
    tiny = BASE.replace(duration=1e-6)
    df = sweep(tiny, {"hypervisor": ["kvm", "xen-hvm"]}, workers=2, progress=False, store=tmp_path / "st")
    assert df["error"].str.contains("shorter than one unit").all()
    assert _stored_baselines(tmp_path / "st") == []
