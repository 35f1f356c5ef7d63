"""What the system model must show, each fact a test.

Sources: Barham et al. SOSP 2003,
Adams & Agesen ASPLOS 2006, Gordon et al. ASPLOS 2012 (ELI), Dall et al. ISCA
2016, Xen sched_credit.c.
"""
import numpy as np
import pandas as pd
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from kit import microbench
from kit.errors import HvkitError
from kit.inputs.spec import Spec
from kit.results import Result
from kit.run import compare, run
from kit.sim.host import Device


def R(**kw):
    return run(Spec.make(**kw))


def rel(**kw):
    return float(R(**kw).summary["relative_performance"].iloc[0])


# ---- invariants -----------------------------------------------------------------------------

@pytest.mark.parametrize("wl", ["spec-int", "kernel-build", pytest.param("netperf-rr", marks=pytest.mark.slow), "ttcp",
                                pytest.param("fio-randread", marks=pytest.mark.slow),
                                pytest.param("memcached", marks=pytest.mark.slow)])
def test_native_relative_performance_is_exactly_one(wl):
    r = R(hardware="skylake-sp-2017", hypervisor="native", workload=wl)
    assert r.summary["relative_performance"].iloc[0] == 1.0


HW = ["p4-xeon-2003", "core2-2008", "skylake-sp-2017", "xgene-armv8-2014", "neoverse-n1-2019"]
MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "kvm-sriov", "qemu-tcg", "vmware-bt", "hyperv"]
WLS = ["spec-int", "kernel-build", "netperf-rr", "ttcp", "fio-randread", "osdb-oltp", "random-access", "hackbench"]


@settings(max_examples=30, deadline=None)
@given(hw=st.sampled_from(HW), mode=st.sampled_from(MODES), wl=st.sampled_from(WLS),
       vcpus=st.integers(1, 3), vms=st.integers(1, 2), pcpus=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_time_is_conserved_and_utilizations_are_bounded(hw, mode, wl, vcpus, vms, pcpus, seed):
    try:
        spec = Spec.make(hardware=hw, hypervisor=mode, workload=wl, vcpus=vcpus, vms=vms, pcpus=pcpus,
                         seed=seed, duration=0.01)
        r = run(spec, baseline=False)
    except Exception as exc:  # impossible combinations are refused with the kit's own error
        from kit.errors import HvkitError
        assert isinstance(exc, HvkitError)
        return
    b = r.breakdown
    per_entity = b.groupby("scope")["seconds"].sum()
    assert np.allclose(per_entity.values, 0.01, rtol=0, atol=1e-9), per_entity
    vcpu_total = b[b["entity"] == "vcpu"]["seconds"].sum()
    assert vcpu_total == pytest.approx(vcpus * vms * 0.01, abs=1e-9)
    assert (b["seconds"] >= -1e-12).all()
    s = r.summary.iloc[0]
    for col in ("pcpu_util", "nic_tx_util", "nic_rx_util", "disk_util"):
        assert -1e-9 <= s[col] <= 1 + 1e-9, col
    for part in filter(None, s["backend_util"].split("; ")):
        assert 0 <= float(part.split("=")[1]) <= 1 + 1e-9


@pytest.mark.slow
def test_same_spec_and_seed_give_identical_results_in_another_process(cli):
    a = cli.process("run", "--hardware", "skylake-sp-2017", "--hypervisor", "xen-pv", "--workload", "netperf-rr",
                    "--seed", "7", "--json").json()
    b = R(hardware="skylake-sp-2017", hypervisor="xen-pv", workload="netperf-rr", seed=7).to_records()[0]
    for key in ("value", "native_value", "relative_performance", "events"):
        assert a[key] == b[key], key
    assert a["breakdown"] == b["breakdown"] and a["exits"] == b["exits"]
    other = R(hardware="skylake-sp-2017", hypervisor="xen-pv", workload="netperf-rr", seed=8).to_records()[0]
    assert other["value"] != b["value"]


def test_kernel_build_event_budget():
    """Event budget: 1 simulated second of kernel-build on a 4-vCPU VM <= 50,000 events."""
    r = R(hardware="skylake-sp-2017", hypervisor="kvm", workload="kernel-build", vcpus=4, duration=1.0)
    assert r.summary["events"].iloc[0] <= 50_000


# ---- CPU virtualization -----------------------------------------------------------------------

def test_cpu_bound_is_near_native_except_under_emulation():
    """hardware-assisted and PV within a few percent; TCG several times slower."""
    for m in ("kvm", "xen-hvm", "xen-pv", "hyperv"):
        assert rel(hardware="skylake-sp-2017", hypervisor=m, workload="spec-int") >= 0.95, m
    assert rel(hardware="skylake-sp-2017", hypervisor="qemu-tcg", workload="spec-int") <= 1 / 3


# ---- memory virtualization: the crossover ----------------------------------------------------------

def test_tlb_miss_heavy_favours_shadow_and_pv_paging():
    """misses cost native under shadow/PV and 2-D walks under nested paging; host huge pages (KVM's default,
    transparent huge pages) shorten the host dimension and narrow the gap without closing it. The guest keeps 4 KiB
    pages for the table (thp_share 0: THP off for it, natively too), as a PV guest must."""
    kw = dict(hardware="skylake-sp-2017", workload="random-access", params={"thp_share": 0})
    nested_4k = rel(hypervisor="kvm", mode={"host_page": "4K"}, **kw)
    nested_thp = rel(hypervisor="kvm", **kw)
    shadow = rel(hypervisor="kvm", mode={"memory": "shadow"}, **kw)
    pv = rel(hypervisor="xen-pv", **kw)
    assert shadow > nested_4k + 0.1 and pv > nested_4k + 0.1
    assert nested_4k < nested_thp < min(shadow, pv)


@pytest.mark.parametrize("wl", ["kernel-build", "hackbench"])
def test_page_table_update_heavy_favours_nested(wl):
    """updates and CR3 loads exit under shadow paging and cost nothing under nested."""
    nested = rel(hardware="skylake-sp-2017", hypervisor="kvm", workload=wl)
    shadow = rel(hardware="skylake-sp-2017", hypervisor="kvm", workload=wl, mode={"memory": "shadow"})
    assert nested > shadow + 0.03


def test_large_pages_shrink_the_nested_penalty():
    """4 KiB guest pages for the table (THP off for it: thp_share 0) against 2 MiB guest and host pages."""
    small = rel(hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access", params={"thp_share": 0})
    large = rel(hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access",
                mode={"guest_page": "2M", "host_page": "2M"})
    assert 1 - large < (1 - small) / 2


# ---- I/O --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_netperf_rr_latency_ordering():
    """ELI (Gordon et al. 2012): emulated > virtio/vhost > SR-IOV with exits > posted ~ native."""
    def mean_lat(mode, **over):
        r = R(hardware="skylake-sp-2017", hypervisor=mode, workload="netperf-rr", mode=over)
        return r.latency["latency_us"].mean()
    emulated, vhost = mean_lat("kvm-emulated"), mean_lat("kvm")
    sriov_exit, sriov_posted = mean_lat("kvm-sriov", interrupts="apicv"), mean_lat("kvm-sriov")
    native = mean_lat("native")
    assert emulated > vhost > sriov_exit > sriov_posted > native
    assert sriov_posted / native < 1.15


@pytest.mark.slow
def test_xen_pv_network_work_is_dom0_time_and_dom0_saturation_limits_throughput():
    """the PV backend consumes dom0 CPU; when dom0 saturates, guest throughput is capped."""
    r = R(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="ttcp")
    dom0 = r.breakdown[r.breakdown["scope"].str.startswith("host.dom0")]
    assert dom0[dom0["category"] == "backend: dom0"]["seconds"].sum() > 0
    fast = dict(hw={"nic_gbps": 10})
    native = R(hardware="p4-xeon-2003", hypervisor="native", workload="ttcp", **fast)
    xen = R(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="ttcp", **fast)
    assert float(xen.summary["backend_util"].iloc[0].split("=")[1]) > 0.95
    assert xen.summary["value"].iloc[0] < 0.8 * native.summary["value"].iloc[0]
    # the guest is not the bottleneck: its vCPU waits while dom0 is busy
    guest = xen.breakdown[xen.breakdown["scope"] == "host.vm0.vcpu0"].set_index("category")["seconds"]
    assert guest.get("idle", 0) > 0.1 * xen.summary["duration"].iloc[0]


def test_vmware_bt_pays_a_world_switch_per_io_operation():
    """hosted VMMs route I/O through the host OS with a world switch per operation (Sugerman et al. 2001): one
    round trip per transmitted packet, one per batch of ACKs delivered, and one per host interrupt that lands on
    the VMM's CPU (one in two on this two-CPU host)."""
    import math
    r = R(hardware="p4-xeon-2003", hypervisor="vmware-bt", workload="ttcp")
    from kit.inputs.hardware import load_hardware
    hw = load_hardware("p4-xeon-2003")
    ws = r.breakdown[r.breakdown["category"] == "world switch"]["seconds"].sum()
    packets = r.summary["units"].iloc[0]
    per_packet = ws / packets * hw.val("freq_ghz") * 1e9
    batch = 64 * 1024 // 2 // (1500 - 52)  # segments per half window
    irqs = math.ceil(batch / 2 / hw.val("nic_rx_frames_per_irq")) + math.ceil(batch / hw.val("nic_tx_frames_per_irq"))
    pairs = batch + 1 + irqs / hw.pcpus
    assert per_packet == pytest.approx(pairs / batch * 2 * hw.val("world_switch_cycles"), rel=0.05)
    cpu = R(hardware="p4-xeon-2003", hypervisor="vmware-bt", workload="spec-int")
    assert rel(hardware="p4-xeon-2003", hypervisor="vmware-bt", workload="ttcp") < cpu.summary["relative_performance"].iloc[0] - 0.2


# ---- ARM ----------------------------------------------------------------------------------------

def _cycles_per_exit(hw, mode):
    """Cycles per exit, idle exits (HLT, WFI) aside: their cost is the scheduler's block and wake, not the trap."""
    e = R(hardware=hw, hypervisor=mode, workload="netperf-rr").exits
    e = e[~e["reason"].isin(["HLT", "WFI"])]
    return e["cycles"].sum() / e["count"].sum()


@pytest.mark.slow
def test_arm_type2_pays_more_per_exit_and_vhe_shrinks_the_gap():
    """Dall et al. ISCA 2016: KVM/ARM split mode switches worlds on every exit."""
    gap_v80 = _cycles_per_exit("xgene-armv8-2014", "kvm") / _cycles_per_exit("xgene-armv8-2014", "xen-hvm")
    gap_vhe = _cycles_per_exit("neoverse-n1-2019", "kvm") / _cycles_per_exit("neoverse-n1-2019", "xen-hvm")
    assert gap_v80 > 3
    assert gap_vhe < gap_v80 / 3


# ---- scheduling -----------------------------------------------------------------------------------

def test_two_vms_share_two_cpus_evenly():
    alone = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vcpus=2, pcpus=2)
    two = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vcpus=2, vms=2, pcpus=2)
    a = alone.vms["units"].iloc[0]
    for units in two.vms["units"]:
        assert units / a == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("mode", ["xen-hvm", "kvm"])
def test_weights_divide_cpu_in_proportion(mode):
    """Xen credit (weight 256 default, sched_credit.c) and CFS shares divide CPU by weight."""
    r = R(hardware="skylake-sp-2017", hypervisor=mode, workload="spec-int", vcpus=2, vms=2, pcpus=2,
          weights=(256, 768), duration=2.0)
    u = r.vms["units"].values
    assert u[1] / u[0] == pytest.approx(3.0, rel=0.15)


def test_overcommit_more_vcpus_than_pcpus():
    r = R(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", vcpus=4, pcpus=2)
    b = r.breakdown
    assert b[b["category"] == "queueing"]["seconds"].sum() == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("hypervisor", ["xen-hvm", "kvm"])
def test_caps_hold_under_credit_and_cfs(hypervisor):
    """A 50% cap holds under Xen credit (credit cap) and under CFS (cgroup bandwidth control); before the fix
    CFS ignored caps silently."""
    def busy(caps):
        kw = dict(hardware="skylake-sp-2017", hypervisor=hypervisor, workload="spec-int", vcpus=2, pcpus=4,
                  duration=1.0)
        if caps:
            kw["caps"] = caps
        r = run(Spec.make(**kw), baseline=False)
        b = r.breakdown
        return b[(b["entity"] == "vcpu") & ~b["category"].isin(["idle", "queueing"])]["seconds"].sum()
    assert busy((50,)) == pytest.approx(0.5, rel=0.05)
    assert busy(None) == pytest.approx(2.0, rel=0.02)


def test_cfs_bandwidth_period_is_linux_default():
    from kit.sim.policies import CFS
    assert CFS["bandwidth_period_ms"][0] == 100


# ---- queueing theory ----------------------------------------------------------------------------------

def test_device_queue_agrees_with_mm1():
    """An M/M/1 device: mean time in system 1/(mu - lambda)."""
    env = simpy.Environment()
    dev = Device(env, "disk")
    rng = np.random.default_rng(1)
    lam, mu, n = 0.8, 1.0, 20000
    times = []

    def customer():
        t0 = env.now
        yield from dev.serve(rng.exponential(1 / mu))
        times.append(env.now - t0)

    def source():
        for _ in range(n):
            yield env.timeout(rng.exponential(1 / lam))
            env.process(customer())

    env.process(source())
    env.run()
    assert np.mean(times) == pytest.approx(1 / (mu - lam), rel=0.1)
    assert dev.busy_until(env.now) / env.now == pytest.approx(lam / mu, rel=0.05)


# ---- API shape ---------------------------------------------------------------------------------------

def test_result_tables_and_compare():
    r = compare("skylake-sp-2017", "netperf-rr", ["native", "kvm", "kvm-sriov"], duration=0.01)
    assert list(r.summary["hypervisor"]) == ["native", "kvm", "kvm-sriov"]
    assert r.summary["relative_performance"].iloc[0] == 1.0
    assert {"run", "scenario", "scope", "entity", "category", "seconds"} <= set(r.breakdown.columns)
    assert {"reason", "count", "cycles"} <= set(r.exits.columns)
    assert len(r.latency) > 0
    recs = r.to_records()
    for key in ("hardware", "hypervisor", "workload", "seed", "metric", "unit", "higher_is_better", "value",
                "native_value", "relative_performance", "breakdown", "exits", "events", "wall_s"):
        assert key in recs[1], key


def test_one_name_is_one_mode_and_one_op():
    r = compare("skylake-sp-2017", "spec-int", "kvm", duration=0.05)
    assert list(r.summary["hypervisor"]) == ["kvm"]
    df = microbench("skylake-sp-2017", "kvm", "hypercall")
    assert list(df["op"]) == ["hypercall"]


def test_concat_keeps_the_timeline():
    a = run(Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.002),
            baseline=False, trace_s=0.001)
    b = run(Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", duration=0.002),
            baseline=False, run_id=1, trace_s=0.001)
    assert len(a.timeline) and len(b.timeline)
    both = Result.concat([a, b])
    assert len(both.timeline) == len(a.timeline) + len(b.timeline)
    assert set(both.timeline["run"]) == {0, 1}


def test_compare_keeps_going_when_one_mode_is_impossible():
    r = compare("p4-xeon-2003", "spec-int", ["native", "kvm", "xen-pv"], duration=0.15)
    assert r.summary.set_index("hypervisor").loc["kvm", "error"]
    assert not r.summary.set_index("hypervisor").loc["xen-pv", "error"]


def test_time_metric_relative_is_native_over_value():
    r = R(hardware="skylake-sp-2017", hypervisor="kvm", workload="kernel-build", vcpus=2)
    s = r.summary.iloc[0]
    assert s["higher_is_better"] is False or s["higher_is_better"] == False  # noqa: E712
    assert s["relative_performance"] == pytest.approx(s["native_value"] / s["value"])


def test_spec_is_frozen_and_replace_copies():
    s = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int")
    with pytest.raises(Exception):
        s.vcpus = 4
    t = s.replace(vcpus=4)
    assert s.vcpus == 1 and t.vcpus == 4
    u = s.with_sets([("memory.guest_page", "2M"), ("interrupts", "posted"), ("hw.exit_roundtrip_cycles", "500")])
    assert dict(u.mode) == {"guest_page": "2M", "interrupts": "posted"}
    assert isinstance(pd.DataFrame(), pd.DataFrame)


def test_a_zero_cap_means_uncapped():
    """The README documents caps=50,0: the second VM is not capped."""
    s = Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vms=2).with_sets(
        [("caps", "50,0")])
    assert s.caps == (50, 0)
    with pytest.raises(HvkitError, match="caps"):
        s.with_sets([("caps", "-5,0")])
    with pytest.raises(HvkitError, match="weights"):
        s.with_sets([("weights", "256,0")])


def test_credit_cap_limits_a_vm_to_its_share_of_one_cpu():
    """Xen credit cap: a VM capped at 50 gets at most half of one physical CPU, however many vCPUs it has."""
    r = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vcpus=2, pcpus=4, caps=(50,))
    b = r.breakdown
    busy = b[(b["entity"] == "vcpu") & ~b["category"].isin(["idle", "queueing"])]["seconds"].sum()
    assert busy == pytest.approx(0.5, rel=0.05)
    free = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vcpus=2, pcpus=4)
    assert free.summary["value"].iloc[0] > 3 * r.summary["value"].iloc[0]


def test_cached_costs_are_not_mutated_by_concurrent_clients():
    """Many clients build their request work from the same cached unit cost: results must not depend on how many."""
    one = R(hardware="p4-xeon-2003", hypervisor="vmware-bt", workload="specweb", params={"clients": 1}, duration=0.2)
    from kit.sim.mode_costs import Costing
    from kit.inputs.resolve import resolve
    res = resolve(one.specs[0])
    hw, mode, wl = res.hw, res.mode, res.workload
    c = Costing(hw, mode, wl)
    before = c.unit(kb=1.0).total
    many = R(hardware="p4-xeon-2003", hypervisor="vmware-bt", workload="specweb", params={"clients": 8}, duration=0.2)
    assert Costing(hw, mode, wl).unit(kb=1.0).total == before
    b1 = one.breakdown[one.breakdown["entity"] == "vcpu"]
    b8 = many.breakdown[many.breakdown["entity"] == "vcpu"]
    # emulation (the emulated NIC's register accesses) is charged per request whether or not the vCPU idled
    per1 = b1[b1["category"] == "emulation"]["seconds"].sum() / one.summary["units"].iloc[0]
    per8 = b8[b8["category"] == "emulation"]["seconds"].sum() / many.summary["units"].iloc[0]
    assert per8 == pytest.approx(per1, rel=0.05)


@pytest.mark.slow
def test_a_noisy_neighbour_hurts_latency_and_is_not_counted():
    """performance isolation, a well-behaved guest next to a CPU hog on shared CPUs."""
    quiet = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", pcpus=2, duration=0.02)
    noisy = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", pcpus=2, duration=0.02,
              neighbor="ttcp", neighbor_vcpus=2)
    # a bulk sender shares the NIC: responses queue behind its batches
    assert noisy.latency["latency_us"].quantile(0.99) > 3 * quiet.latency["latency_us"].quantile(0.99)
    # a CPU hog makes it wait for the hog's rate-limited millisecond: credit boosts the waking guest, but
    # sched_ratelimit_us (1 ms) keeps a vCPU that has run less than that on its CPU
    hog = R(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", pcpus=2, duration=0.02,
            neighbor="hackbench", neighbor_vcpus=2)
    p99 = hog.latency["latency_us"].quantile(0.99)
    assert 300 < p99 < 1000 + 2 * quiet.latency["latency_us"].quantile(0.99)
    b = noisy.breakdown
    assert set(b["entity"]) == {"vcpu", "backend", "neighbor"}
    assert b[b["entity"] == "vcpu"]["seconds"].sum() == pytest.approx(0.02, abs=1e-9)
    assert b[b["entity"] == "neighbor"].groupby("scope")["seconds"].sum().values == pytest.approx([0.02, 0.02])
