"""kit.studies: the loops behind the notebooks' tables, on small inputs.

The tabulation is checked exactly on hand-made results (the simulation replaced by a stub); the rest are
properties of short real runs: order and labels, native's row, agreement between two routes to the same runs.
"""
from itertools import product

import pandas as pd
import pytest

import kit
from kit import HvkitError, studies

SHORT = 0.005  # simulated seconds: enough requests for the properties below, a fraction of a second each


# --- microbench_matrix -------------------------------------------------------------------------------------

def test_microbench_matrix_has_every_profile_mode_and_op_in_order():
    hw, hv, ops = ["skylake-sp-2017", "xgene-armv8-2014"], ["native", "kvm"], ["hypercall", "ipi"]
    m = studies.microbench_matrix(hw, hv, ops)
    assert [(h, v, o) for h, v, o in zip(m["hardware"], m["hypervisor"], m["op"])] == list(product(hw, hv, ops))
    assert list(m.index) == list(range(8))
    cyc = m.set_index(["hardware", "hypervisor", "op"])["cycles"]
    for h in hw:  # a hypercall traps to the hypervisor; natively it is a call
        assert cyc[(h, "kvm", "hypercall")] > 10 * cyc[(h, "native", "hypercall")]


def test_microbench_matrix_refuses_empty_lists_and_foreign_ops():
    with pytest.raises(HvkitError, match="hardware"):
        studies.microbench_matrix([], ["kvm"], ["hypercall"])
    with pytest.raises(HvkitError, match="x86"):
        studies.microbench_matrix(["xgene-armv8-2014"], ["kvm"], ["cpuid"])


# --- compare_grid ------------------------------------------------------------------------------------------

def test_compare_grid_nests_profile_workload_parameters_mode():
    d = studies.compare_grid("p4-xeon-2003", ["native", "xen-pv"], "ttcp",
                             grid={"direction": ["tx", "rx"], "mtu": [1500, 500]}, duration=SHORT)
    assert list(zip(d["direction"], d["mtu"], d["hypervisor"])) == list(
        product(["tx", "rx"], [1500, 500], ["native", "xen-pv"]))
    assert list(d["run"]) == [0, 1] * 4  # each comparison numbers its modes from 0
    native = d[d["hypervisor"] == "native"]
    assert (native["relative_performance"] == 1.0).all()
    assert (native[["exits", "exit_cycles"]] == 0.0).all().all()
    assert d["exits"].dtype == float and d["exit_cycles"].dtype == float


def test_compare_grid_counts_the_exits_of_hardware_assisted_modes():
    d = studies.compare_grid(["skylake-sp-2017", "xgene-armv8-2014"], ["native", "kvm"], ["netperf-rr"],
                             duration=SHORT)
    assert list(d["hardware"]) == ["skylake-sp-2017"] * 2 + ["xgene-armv8-2014"] * 2
    kvm = d[d["hypervisor"] == "kvm"]
    assert (kvm["exits"] > 0).all() and (kvm["exit_cycles"] > kvm["exits"]).all()


def test_compare_grid_fixed_and_varied_parameters_are_the_same_runs():
    varied = studies.compare_grid("p4-xeon-2003", ["native", "xen-pv"], "ttcp",
                                  grid={"direction": ["rx"], "mtu": [500]}, duration=SHORT)
    fixed = studies.compare_grid("p4-xeon-2003", ["native", "xen-pv"], "ttcp", grid={"direction": ["rx"]},
                                 params={"mtu": 500}, duration=SHORT)
    assert list(varied["value"]) == list(fixed["value"])
    assert "mtu" not in fixed.columns


# --- run_variants, on stub results: the tabulation exactly -------------------------------------------------

def _stub_result(spec, units=4.0):
    s = dict(run=0, scenario="stub", hardware=spec.hardware, hypervisor=spec.hypervisor, workload=spec.workload,
             duration=spec.duration, unit="trans/s", value=200.0, native_value=400.0, relative_performance=0.5,
             units=units, error="")
    breakdown = pd.DataFrame(
        [(0, "stub", "host.vm0.vcpu0", "vcpu", "guest", 0.002), (0, "stub", "host.vm0.vcpu0", "vcpu", "idle", 0.5),
         (0, "stub", "host.vhost0", "backend", "backend", 0.001), (0, "stub", "host.vhost0", "backend", "idle", 0.5)],
        columns=["run", "scenario", "scope", "entity", "category", "seconds"])
    exits = pd.DataFrame([(0, "stub", "ept_violation", 3.0, 3000.0), (0, "stub", "io", 5.0, 10000.0)],
                         columns=["run", "scenario", "reason", "count", "cycles"])
    latency = pd.DataFrame([(0, "stub", 0, t / 1000, lat) for t, lat in enumerate([40.0, 10.0, 30.0, 20.0])],
                           columns=["run", "scenario", "vm", "start_s", "latency_us"])
    return kit.Result(pd.DataFrame([s]), breakdown, exits, latency, specs=[spec])


@pytest.fixture
def stubbed(monkeypatch):
    calls = []

    def fake_run(spec, *, baseline=True, run_id=0, scenario=None):
        calls.append((spec, baseline, scenario))
        return _stub_result(spec, units=0.0 if spec.duration < 0.001 else 4.0)  # too short to finish a unit

    monkeypatch.setattr(studies, "run", fake_run)
    return calls


def test_run_variants_tabulates_a_result_exactly(stubbed):
    row = studies.run_variants({"v": {}}, latency=True, hardware="skylake-sp-2017", hypervisor="kvm",
                               workload="netperf-rr", duration=0.5).iloc[0]
    assert row["variant"] == "v" and row["relative_performance"] == 0.5 and row["native_value"] == 400.0
    assert row["exits"] == 8.0 and row["exit_cycles"] == 13000.0 and row["exits_per_unit"] == 2.0
    assert row["busy_us_per_unit"] == pytest.approx(0.003 / 4 * 1e6)  # guest and backend time; idle is not busy
    assert row["latency_mean_us"] == 25.0 and row["latency_p50_us"] == 25.0
    assert row["latency_p99_us"] == pytest.approx(30.0 + 0.97 * 10.0)  # linear between the two largest of four


def test_run_variants_loops_workloads_outside_and_variants_override_common_keywords(stubbed):
    d = studies.run_variants({"a": {"hypervisor": "xen-hvm"}, "b": {"mode": {"memory": "shadow"}}},
                             workloads=["spec-int", "hackbench"], label="mode", hardware="skylake-sp-2017",
                             hypervisor="kvm", duration=0.5)
    assert list(zip(d["workload"], d["mode"])) == [("spec-int", "a"), ("spec-int", "b"), ("hackbench", "a"),
                                                   ("hackbench", "b")]
    specs = [c[0] for c in stubbed]
    assert [s.hypervisor for s in specs] == ["xen-hvm", "kvm"] * 2
    assert [dict(s.mode) for s in specs] == [{}, {"memory": "shadow"}] * 2
    assert [c[2] for c in stubbed] == ["a", "b", "a", "b"]  # the label names the run's scenario


def test_run_variants_without_baseline_reports_no_relative_performance(stubbed):
    d = studies.run_variants({"v": {}}, baseline=False, hardware="skylake-sp-2017", hypervisor="kvm",
                             workload="netperf-rr", duration=0.5)
    assert stubbed[0][1] is False
    assert "relative_performance" not in d.columns and "native_value" not in d.columns
    assert not {"latency_mean_us", "latency_p50_us", "latency_p99_us"} & set(d.columns)


def test_run_variants_refuses_what_it_cannot_report(stubbed):
    common = dict(hardware="skylake-sp-2017", hypervisor="kvm", duration=0.5)
    with pytest.raises(HvkitError, match="variant"):
        studies.run_variants({}, workload="netperf-rr", **common)
    with pytest.raises(HvkitError, match="variants.v"):
        studies.run_variants({"v": "kvm"}, workload="netperf-rr", **common)
    with pytest.raises(HvkitError, match="no unit of work"):
        studies.run_variants({"v": {"duration": 0.0005}}, workload="netperf-rr", **common)


# --- run_variants and request_latencies on real runs ---------------------------------------------------------

PATHS = {"native": {"hypervisor": "native"}, "vhost": {"hypervisor": "kvm"},
         "posted": {"hypervisor": "kvm-sriov", "mode": {"interrupts": "posted"}}}
COMMON = dict(hardware="skylake-sp-2017", workload="netperf-rr", duration=SHORT)


def test_run_variants_native_row_and_latency_order():
    d = studies.run_variants(PATHS, label="path", latency=True, **COMMON)
    assert list(d["path"]) == list(PATHS)
    native = d.iloc[0]
    assert native["relative_performance"] == 1.0 and native["exits"] == 0.0 and native["exits_per_unit"] == 0.0
    assert (d["latency_p50_us"] <= d["latency_p99_us"]).all() and (d["latency_mean_us"] > 0).all()
    assert (d.drop(columns=["path", "hardware", "hypervisor", "workload", "unit"]).notna()).all().all()


def test_request_latencies_are_the_requests_run_variants_summarizes():
    d = studies.run_variants(PATHS, label="path", latency=True, **COMMON)
    lat = studies.request_latencies(PATHS, **COMMON)
    assert list(lat["scenario"].unique()) == list(PATHS)
    assert list(lat.groupby("scenario", sort=False)["run"].first()) == [0, 1, 2]
    assert (lat.groupby("scenario", sort=False)["censored"].sum() == d["latency_censored"].to_numpy()).all()
    assert (lat.groupby("scenario", sort=False)["latency_us"].max() == d["latency_max_us"].to_numpy()).all()
    q = lat[~lat["censored"]].groupby("scenario", sort=False)["latency_us"]  # the finished requests
    assert list(q.quantile(0.99)) == list(d["latency_p99_us"])
    assert list(q.mean()) == pytest.approx(list(d["latency_mean_us"]), rel=1e-12)  # groupby sums compensated


def test_run_variants_latency_needs_requests():
    with pytest.raises(HvkitError, match="no requests"):
        studies.run_variants({"kvm": {}}, latency=True, hardware="skylake-sp-2017", hypervisor="kvm",
                             workload="hackbench", duration=SHORT)


# --- vm_shares and neighbour_interference --------------------------------------------------------------------

def test_vm_shares_one_row_per_vm_and_weights_divide_the_cpu():
    d = studies.vm_shares("skylake-sp-2017", "dbench", ["kvm"], [(1, None), (2, (256, 768))], vcpus=1, pcpus=1,
                          duration=0.05)
    assert list(zip(d["vms"], d["vm"])) == [(1, 0), (2, 0), (2, 1)]
    assert d["weights"].iloc[0] is None and d["weights"].iloc[1] == (256, 768)
    two = d[d["vms"] == 2].set_index("vm")["units"]
    assert two[1] > two[0] > 0  # the VM with three times the weight gets more of the one CPU


@pytest.mark.slow
def test_neighbour_interference_labels_and_counts_the_neighbours_cpu():
    # 30 ms: beside a CPU hog a request waits out credit's 1 ms rate limit at each wake-up, and under CFS the first
    # one waits for the hog's first slice to end (a tick after 8 ms on two CPUs)
    d = studies.neighbour_interference("skylake-sp-2017", "netperf-rr", ["xen-hvm", "kvm"], [None, "hackbench"],
                                       pcpus=2, neighbor_vcpus=2, duration=0.03)
    assert list(zip(d["hypervisor"], d["neighbour"])) == list(product(["xen-hvm", "kvm"], ["(none)", "hackbench"]))
    assert "relative_performance" not in d.columns
    assert (d["latency_p50_us"] <= d["latency_p99_us"]).all()
    busy = d.set_index(["hypervisor", "neighbour"])["busy_us_per_unit"]
    for hv in ["xen-hvm", "kvm"]:  # a CPU hog next door: its time is in the all-threads CPU per transaction
        assert busy[(hv, "hackbench")] > busy[(hv, "(none)")]
