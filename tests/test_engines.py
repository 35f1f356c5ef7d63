"""The hybrid engine's parts: the closed form, the fluid scheduler, the request paths as queues (and the queueing
theory they meet), early stopping, cached baselines, sweeps' closed forms and a light start-up. Correctness only;
speed is measured in bench/bench_speed.py."""
from __future__ import annotations

import math
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


@pytest.mark.parametrize("kw,engine", [(dict(workload="kernel-build", vms=8, vcpus=2, pcpus=4), "hybrid"),
                                       # one vCPU per VM: dbench's spinlocks would take a VM of several vCPUs to slices
                                       (dict(workload="dbench", vms=4, vcpus=1, pcpus=1, hypervisor="xen-pv"), "hybrid"),
                                       (dict(workload="kernel-build", vcpus=4, pcpus=2, pin=True), "hybrid"),
                                       (dict(workload="netperf-rr", duration=0.01), "queueing"),
                                       (dict(workload="memcached", vms=2, vcpus=2, pcpus=16, duration=0.01), "queueing"),
                                       (dict(workload="fio-randread", vcpus=2, duration=0.01, precision=0.01), "queueing")])
def test_every_entitys_time_adds_up_to_the_duration(kw, engine):
    r = run(spec(**kw), baseline=False)
    assert r.summary["engine"].iloc[0] == engine
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


# ---- the request paths as queues -----------------------------------------------------------------------------

#: Uncontended hosts of request and disk workloads: the queueing path and the discrete engine draw the same numbers
#: in the same order, so they give the same run (one customer: arrays; several: the walk; several VMs sharing
#: clients, a neighbour on the NIC, dom0 shared by two VMs, think times, a disk branch, a hosted VMM)
PATH_CASES = [dict(workload="netperf-rr"), dict(workload="netperf-rr", vcpus=3, hypervisor="xen-hvm"),
              dict(workload="netperf-udp-rr", hypervisor="native"),
              dict(workload="memcached", vms=2, vcpus=2, pcpus=16),
              dict(workload="fio-randread", vms=2, vcpus=2, pcpus=16, hypervisor="xen-hvm"),
              dict(workload="mysql-oltp"), dict(workload="quake3-server"), dict(workload="specweb", vcpus=2),
              dict(workload="netperf-rr", neighbor="memcached"), dict(workload="redis", hypervisor="qemu-tcg"),
              dict(workload="apache-static", hypervisor="kvm-emulated"), dict(workload="disk-hog")]


@pytest.mark.parametrize("kw", PATH_CASES, ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_the_queueing_path_is_the_discrete_engines_run(kw):
    s = spec(**{"duration": 0.02, **kw})
    q, d = run(s, baseline=False), run(s.replace(engine="discrete"), baseline=False)
    assert q.summary["engine"].iloc[0] == "queueing" and q.summary["events"].iloc[0] == 0
    for col in ("value", "units", "pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"):
        assert q.summary[col].iloc[0] == pytest.approx(d.summary[col].iloc[0], rel=1e-9, abs=1e-15), col
    assert q.summary["backend_util"].iloc[0] == d.summary["backend_util"].iloc[0]
    key = ["scope", "category"]
    bq, bd = q.breakdown.set_index(key)["seconds"], d.breakdown.set_index(key)["seconds"]
    assert set(bq.index) == set(bd.index)
    assert np.allclose(bq.sort_index(), bd.sort_index(), rtol=1e-9, atol=1e-15)
    eq, ed = (dict(zip(r.exits["reason"], r.exits["count"])) for r in (q, d))
    assert eq.keys() == ed.keys() and all(eq[k] == pytest.approx(ed[k], rel=1e-9) for k in eq)
    lq, ld = q.latency, d.latency
    assert len(lq) == len(ld) and (lq["censored"].values == ld["censored"].values).all()
    assert np.allclose(lq["latency_us"], ld["latency_us"], rtol=1e-9) and (lq["vm"].values == ld["vm"].values).all()


def test_the_queueing_path_stops_at_the_same_precision():
    for wl in ("netperf-rr", "fio-randread"):
        s = spec(workload=wl, precision=0.01, duration=0.05)
        q, d = run(s, baseline=False).summary.iloc[0], run(s.replace(engine="discrete"), baseline=False).summary.iloc[0]
        assert q["engine"] == "queueing"
        assert (q["stop_reason"], q["duration"]) == (d["stop_reason"], d["duration"])
        assert q["value"] == pytest.approx(d["value"], rel=1e-12)
        assert q["ci_low"] == pytest.approx(d["ci_low"], rel=1e-9) and q["ci_high"] == pytest.approx(d["ci_high"],
                                                                                                     rel=1e-9)


def test_the_queueing_path_answers_only_where_nothing_contends():
    def engine(**kw):
        return run(spec(**{"duration": 0.005, **kw}), baseline=False).summary["engine"].iloc[0]
    assert engine(workload="netperf-rr") == "queueing"
    assert engine(workload="netperf-rr", vms=3, vcpus=2, pcpus=2) == "discrete"  # waking vCPUs contend
    assert engine(workload="netperf-rr", engine="discrete") == "discrete"
    assert engine(workload="redis", neighbor="spec-int") != "queueing"  # a CPU-bound VM beside it
    assert engine(workload="memcached", vms=2, caps=(50, 0)) != "queueing"  # a cap
    assert engine(workload="ttcp", duration=0.05) != "queueing"  # a bulk stream is not a request path
    r = run(spec(workload="netperf-rr", duration=0.005), baseline=False, trace_s=0.001)
    assert r.summary["engine"].iloc[0] == "discrete" and len(r.timeline)  # a timeline is the discrete engine's


def _mm1_mean_response(lam: float, mu: float) -> float:
    return 1.0 / (mu - lam)


def test_lindley_gives_the_m_m_1_mean_response():
    from kit.sim.queueing import lindley
    rng = np.random.default_rng(3)
    lam, mu, n = 0.7, 1.0, 400_000
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    response = lindley(arrivals, rng.exponential(1 / mu, n)) - arrivals
    # batch means of 100 batches: the mean response within its 99% interval of 1 / (mu - lambda)
    batches = response[n // 10:].reshape(100, -1).mean(axis=1)
    half = 2.63 * batches.std(ddof=1) / np.sqrt(100)
    assert abs(batches.mean() - _mm1_mean_response(lam, mu)) <= half


def test_lindley_is_the_recursion():
    from kit.sim.queueing import lindley
    a, s = np.array([0.0, 0.5, 0.6, 5.0]), np.array([1.0, 1.0, 0.5, 0.1])
    assert lindley(a, s).tolist() == [1.0, 2.0, 2.5, 5.1]
    assert lindley(a, s, free_at=3.0).tolist() == [4.0, 5.0, 5.5, 5.6]


def _repairman(clients: int, servers: int, service: float, think: float) -> float:
    """Throughput of the finite-source queue M/M/m//N (machine repair with m repairmen), from its stationary
    distribution: p(k) proportional to C(N, k) r^k / (k! for k <= m, else m! m^(k-m)) times k!, r = S / Z."""
    r = service / think
    weights = []
    for k in range(clients + 1):
        w = math.comb(clients, k) * r ** k
        w *= 1.0 if k <= servers else math.factorial(k) / (math.factorial(servers) * servers ** (k - servers))
        weights.append(w)
    total = sum(weights)
    return sum(w * min(k, servers) for k, w in enumerate(weights)) / total / service


@pytest.mark.parametrize("clients,servers", [(1, 1), (5, 1), (20, 1), (7, 3), (30, 4)])
def test_mva_gives_the_finite_source_queue(clients, servers):
    from kit.sim.queueing import mva
    got = mva([0.002], [servers], clients, think=0.01)
    assert got.throughput == pytest.approx(_repairman(clients, servers, 0.002, 0.01), rel=1e-9)
    assert got.response == pytest.approx(clients / got.throughput - 0.01, rel=1e-9)  # Little's law


def test_mva_gives_a_product_form_cyclic_network():
    """Two single-server stations in a cycle (exponential service): p(n1, n2) proportional to D1^n1 D2^n2, so the
    throughput is G(N-1) / G(N) with G(N) = sum over n1 + n2 = N of D1^n1 D2^n2."""
    from kit.sim.queueing import mva
    d1, d2 = 0.003, 0.005
    for n in (1, 2, 6, 15):
        def g(k):
            return sum(d1 ** i * d2 ** (k - i) for i in range(k + 1))
        got = mva([d1, d2, 0.001], [1, 1, None], n)
        # a delay of 1 ms adds a product-form factor D3^n3 / n3!: enumerate the three stations
        def gz(k):
            return sum(d1 ** i * d2 ** j * 0.001 ** (k - i - j) / math.factorial(k - i - j)
                       for i in range(k + 1) for j in range(k + 1 - i))
        assert got.throughput == pytest.approx(gz(n - 1) / gz(n), rel=1e-9)
        assert got.utilization[1] == pytest.approx(got.throughput * d2, rel=1e-9)
        assert g(n) > 0


def test_the_queueing_path_meets_mean_value_analysis_where_it_is_exact():
    """One client: no queue anywhere, so the rate is one over the mean cycle whatever the service distributions
    (MVA with one customer). Many clients: the bottleneck saturates, and the rate is its capacity."""
    from kit.sim.queueing import mva
    from kit.sim.host import Host as _Host
    res = resolve(spec(workload="netperf-rr", duration=0.3))
    host = _Host(res)
    c, g = host.cost, host.guests[0]
    be = host.backend(c.backend_name("net"), 0)
    freq = host.freq
    pk = c.request_packets()
    # stations: the two NIC directions, the vhost thread (the request's receive and its response), the vCPU
    backend = (c.request_backend("rx").total + c.request_backend("tx").total) / freq
    nics = [pk.rx_wire_bytes * 8 / host.line_bps, pk.tx_wire_bytes * 8 / host.line_bps]
    unit = c.request_guest().total / freq
    assert be is not None and host.mode.halt_polls and g.wl.params.clients == 1
    one = mva(nics + [backend, unit + c.wake(polled=True).total / freq], [1] * 4, 1, think=2 * host.wire_s)
    r = run(res.spec, baseline=False).summary.iloc[0]
    assert r["engine"] == "queueing"
    assert r["value"] == pytest.approx(one.throughput, rel=0.005)  # 14,000 requests: the unit varies by 30%
    many = spec(workload="netperf-rr", params=(("clients", 64),), duration=0.05)
    rm = run(many, baseline=False).summary.iloc[0]
    bottleneck = mva(nics + [backend, unit], [1] * 4, 64, think=2 * host.wire_s)
    assert rm["engine"] == "queueing" and max(bottleneck.utilization) > 0.999
    assert rm["value"] == pytest.approx(bottleneck.throughput, rel=0.01)


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


# ---- a sweep's closed forms ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_closed_form_points_of_a_sweep_have_the_same_numbers():
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
