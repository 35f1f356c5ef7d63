"""The hybrid engine's parts: the closed form, the fluid scheduler, early stopping, cached baselines, the bulk sweep
path and a light start-up. Correctness only; speed is measured in bench/bench_speed.py."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kit.inputs.resolve import resolve
from kit.inputs.spec import Spec
from kit.inputs.workloads import list_workloads
from kit.run import closed_form_metrics, native_value, run
from kit.sim.host import Host
from kit.sim.stopping import LatencyLog, batch_ci, t95

HW = "skylake-sp-2017"


def spec(**kw) -> Spec:
    return Spec.make(**{"hardware": HW, "hypervisor": "kvm", "workload": "spec-int", **kw})


# ---- which engine answers ----------------------------------------------------------------------------------

def test_each_engine_answers_where_it_should():
    assert run(spec(), baseline=False).summary["engine"].iloc[0] == "analytic"
    contended = spec(workload="kernel-build", vms=4, vcpus=2, pcpus=2)
    assert run(contended, baseline=False).summary["engine"].iloc[0] == "hybrid"
    # waking I/O vCPUs that contend: their latency depends on slices, so slices are simulated
    io = spec(workload="netperf-rr", vms=3, vcpus=2, pcpus=2, duration=0.005)
    assert run(io, baseline=False).summary["engine"].iloc[0] == "discrete"
    assert run(spec(engine="discrete"), baseline=False).summary["engine"].iloc[0] == "discrete"


def test_a_timeline_comes_from_the_discrete_engine():
    r = run(spec(workload="kernel-build", vms=2, vcpus=2, pcpus=2), baseline=False, trace_s=0.05)
    assert r.summary["engine"].iloc[0] == "discrete" and len(r.timeline) > 0


def test_the_engine_is_a_set_key_on_the_command_line(capsys):
    import json

    from kit.cli import main
    assert main(["run", "--hardware", HW, "--hypervisor", "kvm", "--workload", "spec-int", "--json",
                 "--set", "engine=discrete"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "discrete"
    assert main(["run", "--hardware", HW, "--hypervisor", "kvm", "--workload", "spec-int", "--set",
                 "engine=fast"]) == 2


# ---- the closed form ---------------------------------------------------------------------------------------

CPU_PRESETS = [wl.id for wl in list_workloads() if wl.kind == "cpu" and not wl.per_unit.disk_ops]


#: the presets whose eight discrete simulations take the longest: left out of the fast tier
SLOW_PRESETS = {"specjbb", "hackbench", "memory-bomb"}


@pytest.mark.parametrize("workload", [pytest.param(w, marks=pytest.mark.slow) if w in SLOW_PRESETS else w
                                      for w in CPU_PRESETS])
def test_the_closed_form_is_the_simulations_answer(workload):
    """Within the 95% interval of 8 discrete simulations (the comparison of two estimators of one mean: the closed
    form is the expectation, the simulation a sample of it)."""
    s = spec(workload=workload, vcpus=2, duration=0.5)
    closed = run(s, baseline=False).summary.iloc[0]
    assert closed["engine"] == "analytic" and closed["events"] == 0
    sims = [run(s.replace(engine="discrete", seed=k), baseline=False).summary.iloc[0] for k in range(8)]
    values = np.array([x["value"] for x in sims])
    half = t95(7) * values.std(ddof=1) / np.sqrt(8)
    assert abs(closed["value"] - values.mean()) <= half + 1e-12 * abs(values.mean())
    # every category of time is the simulation's, and the vCPUs are busy the whole run in both
    rc = run(s, baseline=False).breakdown
    rd = run(s.replace(engine="discrete"), baseline=False).breakdown
    for b in (rc, rd):
        vc = b[b["entity"] == "vcpu"].groupby("scope")["seconds"].sum()
        assert np.allclose(vc, 0.5)


@pytest.mark.parametrize("kw", [{}, {"vcpus": 4, "vms": 2}, {"vcpus": 2, "pin": True, "pcpus": 4},
                                {"hypervisor": "xen-pv"}, {"hypervisor": "native"}])
def test_closed_form_metrics_are_run_s_summary_bit_for_bit(kw):
    s = spec(**kw)
    fast = closed_form_metrics(s)
    row = run(s).summary.iloc[0]
    assert fast is not None
    for k, v in fast.items():
        if k != "wall_s":
            assert row[k] == v, k


def test_no_closed_form_where_something_contends_or_waits():
    assert closed_form_metrics(spec(vcpus=4, pcpus=2)) is None
    assert closed_form_metrics(spec(workload="kernel-build")) is None  # write-back I/O
    assert closed_form_metrics(spec(workload="netperf-rr")) is None
    assert closed_form_metrics(spec(vms=2, caps=(50, 0))) is None
    assert closed_form_metrics(spec(neighbor="spec-int")) is None


# ---- the fluid scheduler -------------------------------------------------------------------------------------

def _vcpu_busy(result) -> dict:
    b = result.breakdown
    b = b[(b["entity"] == "vcpu") & ~b["category"].isin(["idle", "queueing"])]
    return b.groupby("scope")["seconds"].sum().to_dict()


@pytest.mark.parametrize("hypervisor", ["kvm", "xen-hvm"])
def test_weights_share_contended_cpus_in_proportion(hypervisor):
    s = spec(hypervisor=hypervisor, vms=2, vcpus=1, pcpus=1, weights=(256, 768), duration=2.0)
    busy = _vcpu_busy(run(s, baseline=False))
    assert busy["host.vm0.vcpu0"] == pytest.approx(0.5, rel=1e-6)
    assert busy["host.vm1.vcpu0"] == pytest.approx(1.5, rel=1e-6)


def test_a_share_is_never_above_one_cpu():
    # 1 heavy vCPU (weight 3072) and 2 light ones on 2 CPUs: the heavy one gets a whole CPU, the others share one
    s = spec(vms=3, vcpus=1, pcpus=2, weights=(3072, 256, 256), duration=1.0)
    busy = _vcpu_busy(run(s, baseline=False))
    assert busy["host.vm0.vcpu0"] == pytest.approx(1.0, rel=1e-6)
    assert busy["host.vm1.vcpu0"] == pytest.approx(0.5, rel=1e-6)
    assert busy["host.vm2.vcpu0"] == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("hypervisor", ["xen-hvm", "kvm"])
def test_a_cap_limits_a_vm_to_its_share(hypervisor):
    s = spec(hypervisor=hypervisor, vms=2, vcpus=2, pcpus=2, caps=(50, 0), duration=1.0)
    r = run(s, baseline=False)
    assert r.summary["engine"].iloc[0] == "hybrid"
    busy = _vcpu_busy(r)
    assert busy["host.vm0.vcpu0"] + busy["host.vm0.vcpu1"] == pytest.approx(0.5, rel=1e-6)
    assert busy["host.vm1.vcpu0"] + busy["host.vm1.vcpu1"] == pytest.approx(1.5, rel=1e-6)


@pytest.mark.parametrize("kw", [dict(workload="kernel-build", vms=8, vcpus=2, pcpus=4),
                                # one vCPU per VM: dbench's spinlocks would take a VM of several vCPUs to slices
                                dict(workload="dbench", vms=4, vcpus=1, pcpus=1, hypervisor="xen-pv"),
                                dict(workload="kernel-build", vcpus=4, pcpus=2, pin=True),
                                dict(workload="netperf-rr", duration=0.01)])
def test_every_entitys_time_adds_up_to_the_duration(kw):
    r = run(spec(**kw), baseline=False)
    assert r.summary["engine"].iloc[0] == "hybrid"
    d = r.summary["duration"].iloc[0]
    per = r.breakdown.groupby("scope")["seconds"].sum()
    assert np.allclose(per, d, rtol=1e-9), per[~np.isclose(per, d)]
    assert 0 <= r.summary["pcpu_util"].iloc[0] <= 1 + 1e-9


@pytest.mark.slow
def test_contended_cpu_bound_work_matches_the_discrete_engine():
    """The same throughput as the discrete engine's, and the same share per VM (8 replications each)."""
    def values(engine):
        out = []
        for k in range(8):
            s = spec(workload="kernel-build", vms=4, vcpus=2, pcpus=2, duration=1.0, engine=engine, seed=k)
            out.append(run(s, baseline=False).summary["units"].iloc[0])
        return np.array(out)
    d, h = values("discrete"), values("hybrid")
    half = t95(14) * np.sqrt(d.var(ddof=1) / 8 + h.var(ddof=1) / 8)
    assert abs(d.mean() - h.mean()) <= half


# ---- early stopping ------------------------------------------------------------------------------------------

def test_t95_is_students_t():
    for df, q in ((4, 2.776), (10, 2.228), (30, 2.042), (1000, 1.962)):
        assert t95(df) == pytest.approx(q, abs=2e-3)
    mean, half = batch_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(t95(2) * 1.0 / np.sqrt(3))


@pytest.mark.slow
def test_a_request_workload_stops_at_its_precision_and_says_so():
    s = spec(workload="netperf-udp-rr", precision=0.01, duration=0.2)
    r = run(s).summary.iloc[0]
    assert r["stop_reason"] == "precision" and r["duration"] < 0.2
    assert r["ci_low"] <= r["value"] <= r["ci_high"]
    assert (r["ci_high"] - r["ci_low"]) / 2 <= 0.01 * r["value"] * 1.001
    full = run(s.replace(precision=None)).summary.iloc[0]
    assert full["stop_reason"] == "duration" and full["duration"] == 0.2 and full["ci_low"] is None
    assert abs(full["value"] - r["value"]) <= 3 * (r["ci_high"] - r["ci_low"])


def test_precision_not_reached_runs_the_whole_duration():
    r = run(spec(workload="netperf-rr", precision=1e-6, duration=0.01)).summary.iloc[0]
    assert r["stop_reason"] == "duration (precision not reached)" and r["duration"] == 0.01


def test_precision_is_a_fraction():
    from kit.errors import HvkitError
    for bad in (0, 1, -0.1, float("nan")):
        with pytest.raises(HvkitError):
            spec(precision=bad)


def test_latency_log_grows_and_hands_over_its_columns():
    log = LatencyLog(2)
    for i in range(5):
        log.append((i % 2, float(i), 1e-6 * i))
    vm, start, lat = log.take()
    assert list(vm) == [0, 1, 0, 1, 0] and list(start) == [0, 1, 2, 3, 4] and len(lat) == 5 and len(log) == 0


def test_latencies_are_columns_of_the_result():
    r = run(spec(workload="netperf-rr", duration=0.005), baseline=False)
    lat = r.latency
    assert len(lat) == r.summary["units"].iloc[0] // 1 or len(lat) > 0
    assert str(lat["latency_us"].dtype) == "float64" and (lat["latency_us"] > 0).all()


# ---- baselines computed once ---------------------------------------------------------------------------------

def test_a_native_baseline_is_computed_once_for_what_native_reads():
    import kit.run  # noqa: F401
    mod = sys.modules["kit.run"]
    base = spec(workload="netperf-rr", duration=0.005, seed=11)
    before = dict(mod.baseline_stats)
    values = [run(base.with_sets([("hw.exit_roundtrip_cycles", c)])).summary["native_value"].iloc[0]
              for c in (300, 600, 1200)]
    assert mod.baseline_stats["computed"] - before["computed"] == 1
    assert mod.baseline_stats["reused"] - before["reused"] == 2
    assert len(set(values)) == 1
    # the same value as an uncached native run
    fresh = mod._simulate(mod.native_spec(base.with_sets([("hw.exit_roundtrip_cycles", 600)])), -1, "native")[0]
    assert fresh["value"] == values[0]
    # a value native reads gives another baseline
    other = base.with_sets([("hw.nic_latency_us", 20)])
    assert native_value(other) == mod._simulate(mod.native_spec(other), -1, "native")[0]["value"]
    assert mod.baseline_stats["computed"] - before["computed"] == 2


def test_a_sweep_keeps_its_baselines_in_its_store(tmp_path):
    from kit.sweep import Store, sweep
    mod = sys.modules["kit.run"]
    base = spec(workload="netperf-rr", duration=0.003, seed=5)
    sweep(base, {"hw.exit_roundtrip_cycles": [200, 400]}, workers=1, progress=False, store=tmp_path / "s")
    with Store(tmp_path / "s") as st:
        stored = st.load_baselines()
    assert len(stored) == 1 and stored[0]["spec"]["hypervisor"] == "native"
    assert "params.nic_latency_us" in stored[0]["baseline"]["reads"]
    assert "params.exit_roundtrip_cycles" not in stored[0]["baseline"]["reads"]
    mod._BASELINES.clear()
    before = dict(mod.baseline_stats)
    sweep(base, {"hw.exit_roundtrip_cycles": [200, 400, 800]}, workers=1, progress=False, store=tmp_path / "s")
    assert mod.baseline_stats["computed"] == before["computed"]  # loaded from the store, not recomputed


# ---- the bulk sweep path -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_closed_form_points_of_a_sweep_are_computed_in_bulk_with_the_same_numbers():
    from kit import sweep as sweep_mod
    base = spec(duration=0.5)
    df = sweep_mod.sweep(base, {"hw.exit_roundtrip_cycles": [250, 500], "hypervisor": ["kvm", "native"],
                                "workload": ["spec-int", "netperf-rr"]}, replications=2, workers=1,
                         progress=False)
    assert (df[df["set.workload"] == "spec-int"]["engine"] == "analytic").all()
    assert (df[df["set.workload"] == "netperf-rr"]["engine"] != "analytic").all()
    for _, row in df[df["set.workload"] == "spec-int"].iterrows():
        s = base.with_sets([("hw.exit_roundtrip_cycles", row["set.hw.exit_roundtrip_cycles"]),
                            ("hypervisor", row["set.hypervisor"])]).replace(seed=int(row["seed"]))
        ref = sweep_mod.run_point(s)
        assert ref["value"] == row["value"] and ref["relative_performance"] == row["relative_performance"]


# ---- start-up ------------------------------------------------------------------------------------------------

def test_importing_kit_and_its_command_line_loads_no_heavy_library():
    probe = ("import sys, kit, kit.cli; from kit.cli.main import build_parser; build_parser(); "
             "print(sorted(m for m in ('pandas', 'pydantic', 'numpy', 'simpy', 'plotly', 'yaml') "
             "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_the_public_api_is_still_there():
    import kit
    assert callable(kit.run) and callable(kit.compare) and kit.Spec is Spec
    for name in kit.__all__:
        assert getattr(kit, name) is not None
    host = Host(resolve(spec()))
    assert host.engine == "hybrid"
