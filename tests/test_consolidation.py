"""Consolidation: each mechanism that decides what VMs on one host cost each other, shown with its effect and its
absence when it is disabled (or does not apply), and scenarios from YAML, Python and the command line.

Mechanisms and their sources are in the modules' docstrings: guest synchronization (kit.sim.locks: Uhlig et al.
VM 2004; Friebel and Biemueller 2008; Intel SDM PLE; VMware's relaxed co-scheduling), the memory system
(kit.sim.memory: McCalpin's STREAM; Marr et al. 2002 for SMT), NUMA (kit.sim.numa), VM switches (kit.sim.switches:
Li, Ding and Shen, ExpCS 2007), host memory (kit.sim.overcommit: Waldspurger, OSDI 2002), schedulers (credit2,
Hyper-V's root scheduler) and the isolation suite (Matthews et al., ExpCS 2007).
"""
from __future__ import annotations

import math

import pytest

import kit
from kit.consolidation import HOGS, isolation_matrix, isolation_scenario, run_scenario
from kit.errors import HvkitError
from kit.inputs.resolve import resolve
from kit.inputs.scenario import Scenario, load_scenario, resolve_scenario, scenario_from_spec
from kit.inputs.spec import Spec
from kit.inputs.workloads import load_workload
from kit.run import run
from kit.sim.locks import COSTOP, IPI_WAIT, LOCK_HALT, LOCK_SPIN
from kit.sim.memory import MEMORY_CONTENTION, NUMA_REMOTE, SMT_SIBLING
from kit.sim.overcommit import plan_memory
from kit.sim.policies import Credit2Policy, RootSchedulerPolicy, policy_for
from kit.sim.switches import CACHE_REFILL

HW = "skylake-sp-2017"
#: hackbench: one VM of 8 vCPUs on 4 CPUs (2:1), and the same VM with a CPU per vCPU
OVER = dict(hardware=HW, workload="hackbench", vcpus=8, pcpus=4, duration=0.2, seed=3)
FIT = dict(OVER, pcpus=8)


def cats(r) -> dict[str, float]:
    b = r.breakdown
    return b[b["entity"] == "vcpu"].groupby("category")["seconds"].sum().to_dict()


def go(hv: str = "kvm", **kw) -> kit.Result:
    return run(Spec.make(**{**OVER, "hypervisor": hv, **kw}))


# ---- guest synchronization ---------------------------------------------------------------------------------

def test_lock_holder_preemption_makes_overcommit_worse_than_time_sharing():
    """Uhlig et al., VM 2004: a preempted lock holder leaves its VM's other vCPUs spinning. Natively the kernel
    never preempts a holder, so native at 2:1 only time-shares; without PLE and PV spinlocks the VM loses far more."""
    bare = go(mode={"spinlocks": "spin", "pause_exit": "off"})
    c = cats(bare)
    assert c.get(LOCK_SPIN, 0) > 0.05 * 8 * OVER["duration"]
    fit = run(Spec.make(**{**FIT, "hypervisor": "kvm", "mode": {"spinlocks": "spin", "pause_exit": "off"}}))
    assert LOCK_SPIN not in cats(fit)  # a CPU per vCPU: nobody is preempted
    rel_over = bare.summary["relative_performance"].iloc[0]
    rel_fit = fit.summary["relative_performance"].iloc[0]
    assert rel_over < 0.8 * rel_fit
    nat = run(Spec.make(**{**OVER, "hypervisor": "native"}), baseline=False)
    assert LOCK_SPIN not in cats(nat)
    # no spinlocks declared: no lock-holder preemption
    quiet = go(mode={"spinlocks": "spin", "pause_exit": "off"}, params={"spinlocks": 0})
    assert LOCK_SPIN not in cats(quiet)


def test_pause_loop_exits_and_pv_spinlocks_mitigate_lock_holder_preemption():
    """PLE (Intel SDM 25.1.3) exits a spinner after its window and yields; PV spinlocks halt a waiter after a
    threshold and the holder kicks it. Each recovers most of what lock-holder preemption took."""
    bare = go(mode={"spinlocks": "spin", "pause_exit": "off"})
    ple = go(mode={"spinlocks": "spin", "pause_exit": "ple"})
    pv = go(mode={"spinlocks": "pv", "pause_exit": "off"})
    both = go()  # KVM's defaults on Skylake: PLE and PV spinlocks
    cb, cp, cv = cats(bare), cats(ple), cats(pv)
    assert any(k.startswith("exit: pause-loop exit") for k in cp) and not any(k.startswith("exit: pause-loop")
                                                                             for k in cb)
    assert cp.get(LOCK_SPIN, 0) < 0.2 * cb[LOCK_SPIN]
    assert cv.get(LOCK_HALT, 0) > 0 and LOCK_HALT not in cb
    rel = {k: r.summary["relative_performance"].iloc[0] for k, r in
           (("bare", bare), ("ple", ple), ("pv", pv), ("both", both))}
    assert rel["bare"] < rel["pv"] < rel["ple"] <= rel["both"] + 0.01


def test_directed_yield_is_a_property_of_the_scheduler():
    """KVM's PLE handler yields to a preempted sibling (yield_to, a CFS next buddy); Xen's credit scheduler only
    yields."""
    from kit.sim.entities import Entity
    from kit.sim.policies import CfsPolicy, CreditPolicy

    class Pool:
        queue: list = []

    assert CreditPolicy().directed_yield(Entity("a", "a", "vcpu", 256), Pool()) is False
    assert CfsPolicy().directed_yield(Entity("a", "a", "vcpu", 256), Pool()) is False  # not queued: nothing to move


def test_relaxed_coscheduling_co_stops_a_spinner():
    """VMware's relaxed co-scheduling: a vCPU that runs ahead of a descheduled sibling by the skew threshold is
    co-stopped; under Xen credit's 30 ms slices that cuts the spinning short."""
    base = dict(mode={"spinlocks": "spin", "pause_exit": "off"})
    plain = go("xen-hvm", **base)
    co = go("xen-hvm", mode={"spinlocks": "spin", "pause_exit": "off", "cosched": "relaxed"})
    assert COSTOP not in cats(plain) and cats(co).get(COSTOP, 0) > 0
    assert cats(co)[LOCK_SPIN] < cats(plain)[LOCK_SPIN]
    assert co.summary["relative_performance"].iloc[0] > plain.summary["relative_performance"].iloc[0]


def test_tlb_shootdowns_wait_for_descheduled_vcpus_unless_flushed_by_the_hypervisor():
    """A shootdown's sender waits for every target's acknowledgement; a descheduled target acknowledges when it runs
    again. PV TLB flush (Xen PV's hypercall, KVM's PV flush) defers a descheduled target's flush instead."""
    kw = dict(hardware=HW, hypervisor="kvm", workload="fork-bomb", vcpus=4, pcpus=2, duration=0.3, seed=1)
    bare = {"spinlocks": "pv", "pause_exit": "off", "ipi_yield": "none"}
    ipi = run(Spec.make(**kw, mode={**bare, "tlb_flush": "ipi"}), baseline=False)
    pv = run(Spec.make(**kw, mode={**bare, "tlb_flush": "pv"}), baseline=False)
    assert cats(ipi).get(IPI_WAIT, 0) > 0 and IPI_WAIT not in cats(pv)
    # the waits end: a target acknowledges when it runs again (a nested SimPy AllOf once never triggered, and the
    # waiting vCPUs spun for the rest of the run)
    assert cats(ipi)[IPI_WAIT] < 0.5 * kw["vcpus"] * kw["duration"]
    assert ipi.summary["units"].iloc[0] > 100
    # pv_sched_yield: the sender yields its CPU to the descheduled target (a hypercall) and waits far less
    yielded = run(Spec.make(**kw, mode={**bare, "tlb_flush": "ipi", "ipi_yield": "pv"}), baseline=False)
    assert cats(yielded).get(IPI_WAIT, 0) < 0.5 * cats(ipi)[IPI_WAIT]
    assert cats(yielded).get("exit: VMCALL", 0) > 0


def test_slices_are_simulated_where_a_synchronization_mechanism_needs_them():
    """The engine follows the mechanism: a contended VM of several vCPUs whose workload takes hot spinlocks runs the
    discrete scheduler; native, a CPU per vCPU, or one vCPU per VM keep the hybrid engine's answers."""
    eng = lambda **kw: run(Spec.make(**{**OVER, "hypervisor": "kvm", **kw}),  # noqa: E731
                           baseline=False).summary["engine"].iloc[0]
    assert eng() == "discrete"
    assert eng(hypervisor="native") != "discrete"
    assert eng(pcpus=8) == "analytic"
    assert eng(vcpus=1, vms=8) != "discrete"
    assert eng(workload="spec-int") != "discrete"


# ---- the memory system ------------------------------------------------------------------------------------

def test_dram_bandwidth_caps_stream_below_the_channels_peak():
    """Each socket sustains part of its channels' peak (mem_channels x mem_mts x 8 bytes, McCalpin's STREAM
    efficiency); 64 STREAM threads on Skylake-SP (2 x 6 channels of DDR4-2666, 256 GB/s) stay under it."""
    one = run(Spec.make(hardware=HW, hypervisor="native", workload="stream", duration=0.6), baseline=False)
    many = run(Spec.make(hardware=HW, hypervisor="native", workload="stream", vcpus=64, duration=0.6), baseline=False)
    per_thread = one.summary["value"].iloc[0]
    peak = 2 * 6 * 2666e6 * 8 / 1e9
    v = many.summary["value"].iloc[0]
    assert v < 0.8 * peak < 64 * per_thread
    assert cats(many).get(MEMORY_CONTENTION, 0) > 0
    # with channels enough for every thread, the ceiling is gone (SMT siblings still share cores)
    wide = run(Spec.make(hardware=HW, hypervisor="native", workload="stream", vcpus=64, duration=0.6,
                         hw={"mem_channels": 1000}), baseline=False)
    assert cats(wide).get(MEMORY_CONTENTION, 0) < 0.01 * cats(many)[MEMORY_CONTENTION]
    assert wide.summary["value"].iloc[0] > 1.5 * v


def _per_unit_contention(spec: Spec) -> float:
    r = run(spec, baseline=False)
    b = r.breakdown[r.breakdown["entity"] == "vcpu"]
    units = r.summary["units"].iloc[0]
    return float(b[b["category"] == MEMORY_CONTENTION]["seconds"].sum()) / units


def test_a_stream_neighbour_slows_random_access():
    """The neighbour's bandwidth raises the loaded latency of every DRAM line: random-access's misses take longer."""
    kw = dict(hardware=HW, hypervisor="kvm", workload="random-access", duration=0.3, seed=2)
    alone = _per_unit_contention(Spec.make(**kw))
    beside = _per_unit_contention(Spec.make(**kw, neighbor="stream", neighbor_vcpus=24))
    assert alone == 0.0 and beside > 0.0


def test_a_cache_hungry_neighbour_takes_the_last_level_cache():
    """LLC shares follow the working sets: SPECjbb's 16 MiB of hot objects beside a stream neighbour miss more, and
    the misses become DRAM lines; a workload that declares no cache working set feels nothing of it."""
    pin = {"pcpus": 4, "pin": True}  # both VMs on socket 0's first cores
    jbb = dict(hardware=HW, hypervisor="kvm", workload="specjbb", duration=0.05, **pin)
    assert _per_unit_contention(Spec.make(**jbb, neighbor="stream", neighbor_vcpus=3)) > 0
    blind = Spec.make(**jbb, neighbor="stream", neighbor_vcpus=3, params={"cache_mib": 0})
    assert _per_unit_contention(blind) == 0.0


def test_smt_siblings_share_a_core():
    """Two busy threads of a core do smt_yield of one thread's work (Marr et al., ITJ 2002): 64 CPU-bound threads on
    Skylake-SP's 32 cores give well under twice 32 threads, and exactly twice with a yield of 2."""
    v = {n: run(Spec.make(hardware=HW, hypervisor="native", workload="cpu-hog", vcpus=n), baseline=False)
         .summary["value"].iloc[0] for n in (32, 64)}
    assert 1.2 < v[64] / v[32] < 1.3
    full = run(Spec.make(hardware=HW, hypervisor="native", workload="cpu-hog", vcpus=64, hw={"smt_yield": 2}),
               baseline=False)
    assert full.summary["value"].iloc[0] == pytest.approx(2 * v[32], rel=1e-9)
    assert SMT_SIBLING not in cats(full)


def _node_fixed_point(hardware: str, hypervisor: str, workload: str, vcpus: int) -> tuple[list[float], float]:
    """The memory nodes' utilizations with every vCPU of one VM busy, and the largest gap between a node's
    utilization and the demand it meets there (zero at the fixed point)."""
    from kit.sim.host import Host
    c = Host(resolve(Spec.make(hardware=hardware, hypervisor=hypervisor, workload=workload, vcpus=vcpus,
                               duration=0.01, seed=1))).contention
    running, paired = c._running([vcpus])
    extra, hit = c._llc_misses(running)
    smt = [(2.0 / c.smt - 1.0) * paired[k.pool] for k in c.classes]
    rho, link = c._utilization(running, extra, hit, smt)
    demand = c._unit_times(rho, link, running, extra, hit, smt)[2]
    return rho, max(abs(sum(d[n] for d in demand) / c.node_bw - rho[n]) for n in range(len(rho)))


def test_the_memory_nodes_settle_at_their_fixed_point():
    """Native STREAM on all 32 CPUs of two sockets keeps each thread's memory on its node: both nodes carry the same
    demand, so they settle at the same utilization, where each meets its demand. (The sweeps over the nodes once
    measured their progress against the last bisection midpoint, stopped after two rounds and left node 0 at 0.93
    and node 1 at 0.82, whose convex loaded latency made the VM with remote memory faster than native.)"""
    rho, gap = _node_fixed_point("sandybridge-ep-2665-2012", "native", "stream", 32)
    assert rho[0] == pytest.approx(rho[1], abs=1e-5) and 0.5 < rho[0] < 1.0
    assert gap < 1e-5
    # the effect on the runs: with its memory spread over both nodes and no vNUMA, the VM pays remote latency and
    # the interconnect, so it cannot beat native
    r = run(Spec.make(hardware="sandybridge-ep-2665-2012", hypervisor="xen-hvm", workload="stream", vcpus=32,
                      duration=1.0, seed=1))
    assert NUMA_REMOTE in cats(r) and r.summary["relative_performance"].iloc[0] < 1.0


def test_a_vm_spanning_nodes_without_vnuma_pays_remote_accesses():
    """64 vCPUs span both sockets. Xen's domain builder allocates the domain's memory up front, spread over the
    nodes, so without vNUMA half of each thread's references are remote (remote latency and the interconnect); the
    NUMA-aware native kernel, or a guest with vNUMA, keeps them local."""
    spanning = run(Spec.make(hardware=HW, hypervisor="xen-hvm", workload="stream", vcpus=64, duration=0.6))
    assert cats(spanning).get(NUMA_REMOTE, 0) > 0
    assert spanning.summary["relative_performance"].iloc[0] < 0.9
    scn = Scenario.make(hardware=HW, hypervisor="xen-hvm", duration=0.2,
                        vms=[{"name": "big", "workload": "stream", "vcpus": 64, "vnuma": True}])
    r = run_scenario(scn, alone=False, native=False)
    assert NUMA_REMOTE not in set(r.breakdown["category"])


def test_kvm_s_host_places_a_guest_thread_s_data_where_its_vcpu_first_touches_it():
    """KVM's guest memory is host memory allocated at the first touch, in the faulting vCPU's thread, on its node
    (FamilyPart.first_touch_memory): a spanning guest's threads find their own data local, as native threads do,
    while each vCPU has a CPU to stay on; with twice the vCPUs of the host's CPUs they wander and it is spread."""
    kvm = run(Spec.make(hardware=HW, hypervisor="kvm", workload="stream", vcpus=64, duration=0.6))
    assert NUMA_REMOTE not in cats(kvm)
    assert kvm.summary["relative_performance"].iloc[0] > 0.97
    crowded = run(Spec.make(hardware=HW, hypervisor="kvm", workload="stream", vcpus=64, pcpus=32, duration=0.6))
    assert cats(crowded).get(NUMA_REMOTE, 0) > 0


def test_references_to_memory_every_thread_shares_cross_sockets_natively_too():
    """RandomAccess updates random words of one table (shared_refs 1): spread over both nodes, half its references
    are remote whoever runs it, natively as in KVM, while STREAM's threads (each its own part of the arrays) stay
    local natively. The split per node is the VM's memory for the shared part, the thread's node for the rest."""
    from kit.inputs.hardware import load_hardware
    from kit.sim.numa import Topology
    top = Topology(load_hardware(HW))
    assert top.remote_share(0, (0.5, 0.5), True, shared=1.0) == 0.5
    assert top.remote_share(0, (0.5, 0.5), True, shared=0.0) == 0.0
    assert top.reference_shares(1, (0.5, 0.5), True, shared=0.5) == [0.25, 0.75]
    assert load_workload("random-access").shared_refs == 1 and load_workload("stream").shared_refs == 0
    kw = dict(hardware=HW, hypervisor="native", vcpus=64)
    table = run(Spec.make(workload="random-access", duration=0.3, **kw), baseline=False)
    arrays = run(Spec.make(workload="stream", duration=0.6, **kw), baseline=False)
    assert cats(table).get(NUMA_REMOTE, 0) > 0 and NUMA_REMOTE not in cats(arrays)
    kvm = run(Spec.make(hardware=HW, hypervisor="kvm", workload="random-access", vcpus=64, duration=0.3))
    native_share = cats(table)[NUMA_REMOTE] / table.summary["units"].iloc[0]
    kvm_share = cats(kvm)[NUMA_REMOTE] / kvm.summary["units"].iloc[0]
    assert kvm_share == pytest.approx(native_share, rel=0.1)



def test_a_process_that_fits_a_node_keeps_even_its_shared_table_local():
    """A VM or process that fits a node (one thread of RandomAccess) has all its memory, the table its threads would
    share included, where first touch and NUMA balancing put it: beside its vCPU. Only a spanning one spreads it."""
    for mode in ("native", "kvm"):
        one = run(Spec.make(hardware=HW, hypervisor=mode, workload="random-access", vcpus=1, duration=0.3),
                  baseline=False)
        assert NUMA_REMOTE not in cats(one), mode
    spanning = run(Spec.make(hardware=HW, hypervisor="native", workload="random-access", vcpus=64, duration=0.3),
                   baseline=False)
    assert cats(spanning).get(NUMA_REMOTE, 0) > 0

# ---- VM switches ------------------------------------------------------------------------------------------

def test_every_switch_between_vms_is_charged():
    """ev_vm_switch and the working set's reload (Li, Ding and Shen, ExpCS 2007) when a CPU passes between VMs; two
    vCPUs of one VM sharing a CPU switch without it."""
    two = run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vms=2, pcpus=1, duration=0.2,
                        engine="discrete"), baseline=False)
    c = cats(two)
    assert c.get(CACHE_REFILL, 0) > 0 and c.get("exit: timer (preemption)", 0) > 0
    one = run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vcpus=2, pcpus=1, duration=0.2,
                        engine="discrete"), baseline=False)
    assert CACHE_REFILL not in cats(one)
    # eight VMs taking turns: the seven between two runs of one touch more than the 1 MiB L2 holds
    fluid = run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vms=8, pcpus=1, duration=1.0),
                baseline=False)
    assert fluid.summary["engine"].iloc[0] == "hybrid" and cats(fluid).get(CACHE_REFILL, 0) > 0


def test_a_switch_reloads_what_the_vms_in_between_displaced():
    """The private cache keeps the most recent lines: a VM's working set survives the VMs that ran since it did
    while their data and it fit; the last of many VMs taking turns reloads all of it, two small ones nothing."""
    from kit.inputs.hardware import load_hardware
    from kit.inputs.modes import hypervisor
    from kit.inputs.workloads import load_workload
    from kit.sim.mode_costs import costing_for
    from kit.sim.switches import switch_work, touched_bytes
    hw = load_hardware(HW)
    wl = load_workload("kernel-build")
    cost = costing_for(hw, hypervisor("kvm", hw), wl)
    freq = hw.val("freq_ghz") * 1e9
    own = wl.per_unit.ws_pages * 4096.0  # 256 KiB, in a 1 MiB L2

    def refill(displaced):
        return switch_work(cost, hw, freq, wl, displaced).cycles.get(CACHE_REFILL, 0.0)

    everything = refill(None)
    assert everything > 0 and refill(1024 * 1024.0) == everything
    assert refill(touched_bytes(wl, hw)) == 0.0  # one other kernel-build: both fit
    assert refill(1024 * 1024.0 - own / 2) == pytest.approx(everything / 2)  # half of it pushed out
    # the discrete engine counts the VMs that ran in between: three kernel-builds on one CPU fit with room to spare,
    # eight do not (only each VM's first run on the CPU reloads everything)
    few, many = (run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vms=n, pcpus=1, duration=0.4,
                               engine="discrete"), baseline=False) for n in (3, 8))
    per_unit = [cats(r).get(CACHE_REFILL, 0.0) / r.summary["units"].iloc[0] for r in (few, many)]
    assert per_unit[0] < 0.5 * per_unit[1]


def test_a_timeline_says_which_cpu_each_vcpu_ran_on():
    r = run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vms=2, vcpus=2, pcpus=2,
                      duration=0.2), baseline=False, trace_s=0.05)
    running = r.timeline[r.timeline["state"] == "running"]
    assert set(running["cpu"]) == {0, 1}
    assert (r.timeline[r.timeline["state"] == "idle"]["cpu"] == -1).all()
    # no CPU runs two entities at once
    for _, seg in running.sort_values("start_s").groupby("cpu"):
        assert (seg["start_s"].iloc[1:].to_numpy() >= seg["end_s"].iloc[:-1].to_numpy() - 1e-12).all()


# ---- schedulers -------------------------------------------------------------------------------------------

def test_credit2_is_a_policy_of_its_own():
    """Xen credit2 (Xen's default since 4.8): weights set the shares (burning credit in inverse proportion)."""
    assert isinstance(policy_for("credit2"), Credit2Policy)
    r = run(Spec.make(hardware=HW, hypervisor="xen-hvm", workload="kernel-build", vms=2, vcpus=2, pcpus=2,
                      weights=(256, 768), mode={"scheduler": "credit2"}, duration=1.0, engine="discrete"),
            baseline=False)
    units = r.vms["units"].to_list()
    assert 2.0 < units[1] / units[0] < 4.0


def test_hyper_v_s_root_scheduler_is_labelled_an_approximation():
    p = policy_for("hyperv")
    assert isinstance(p, RootSchedulerPolicy) and "approximation" in p.name
    from kit.inputs.modes import PARTS
    assert "approximated" in PARTS["scheduler"]["hyperv"]


# ---- host memory ------------------------------------------------------------------------------------------

def _plans(n: int, wl: str = "specjbb", **kw):
    spec = Spec.make(hardware=HW, hypervisor="kvm", workload=wl, vms=n, **kw)
    return resolve(spec)


@pytest.mark.slow
def test_host_memory_is_a_resource():
    """32 GiB of guests on a host of 1 GiB: the guests fault to the host's disk and the run slows down."""
    kw = dict(hardware=HW, hypervisor="kvm", workload="specjbb", vms=8, duration=0.3)
    big = run(Spec.make(**kw), baseline=False).summary
    small = run(Spec.make(**kw, hw={"memory_gib": 1}), baseline=False).summary
    assert small["value"].iloc[0] < 0.5 * big["value"].iloc[0]
    assert "host swapping" in small["resolutions"].iloc[0]


def test_ballooning_faults_less_than_host_swapping_for_the_same_deficit():
    """Waldspurger, OSDI 2002: the guest pages its coldest pages; the host's random choice also evicts hot ones,
    which fault straight back, so the same deficit costs more faults."""
    res = _plans(8)
    hw = res.hw.with_overrides({"memory_gib": 4})
    swap = plan_memory(hw, res.mode, res.plans)
    balloon = plan_memory(hw, res.mode, res.plans, balloon=True)
    assert swap.swapped_mib > 0 and balloon.ballooned_mib == pytest.approx(swap.swapped_mib)
    g_s, h_s = swap.vms[0].faults_per_unit()
    g_b, h_b = balloon.vms[0].faults_per_unit()
    assert g_s == 0 and h_b == 0 and 0 < g_b < h_s
    # with memory enough, nothing is reclaimed
    assert not plan_memory(res.hw, res.mode, res.plans).pressure


def test_host_swapping_double_pages_a_guest_that_pages_itself_ballooning_does_not():
    """Waldspurger, OSDI 2002, section 3.2: a guest short of its own memory pages out its coldest pages, which the
    host's random eviction has mostly put on the host's disk already; each such page-out first swaps the page in."""
    import dataclasses
    res = _plans(8)
    hw = res.hw.with_overrides({"memory_gib": 4})
    need = res.plans[0].workload.footprint_mib + 64
    short = [dataclasses.replace(p, memory_mib=0.75 * need) for p in res.plans]
    swap = plan_memory(hw, res.mode, short)
    balloon = plan_memory(hw, res.mode, short, balloon=True)
    v = swap.vms[0]
    g, h = v.faults_per_unit()
    d = v.double_paged(g)
    assert v.guest_paged_mib > 0 and v.host_swapped_mib > 0 and g > 0 and 0 < d <= g
    # each guest page-out is double-paged with the chance that its (cold) victim is among the host's swapped pages
    cold = v.touched_mib - v.guest_paged_mib - v.hot_mib
    assert d == pytest.approx(g * min(1.0, v.host_swapped_mib / cold)) and h > d
    # ballooning: the guest chooses its victims, nothing under them is on the host's disk
    gb, hb = balloon.vms[0].faults_per_unit()
    assert hb == 0 and balloon.vms[0].double_paged(gb) == 0
    # absent: a guest with all the memory it touches never pages itself, so host swapping alone does not double-page
    full = plan_memory(hw, res.mode, res.plans).vms[0]
    assert full.faults_per_unit()[0] == 0 and full.double_paged(0.0) == 0


def test_page_sharing_merges_identical_vms_and_costs_scanning():
    """Content-based sharing: n identical VMs keep one copy of their shareable memory; the scanner spends CPU per
    page; writes to merged pages break them copy-on-write."""
    res = _plans(4, params={"share_fraction": 0.25})
    plan = plan_memory(res.hw, res.mode, res.plans, page_sharing=True)
    touched = res.plans[0].workload.footprint_mib + 64
    assert plan.saved_mib == pytest.approx(3 * 0.25 * touched)
    assert plan.converge_s > 0 and plan.vms[1].cow_per_unit() > 0 and plan.vms[0].cow_per_unit() == 0
    scn = Scenario.make(hardware=HW, hypervisor="kvm", duration=0.2, host={"page_sharing": True},
                        vms=[{"name": "jbb", "workload": "specjbb", "count": 4, "params": {"share_fraction": 0.25}}])
    r = run_scenario(scn, alone=False, native=False)
    assert r.host["scan_cpu_s"] > 0 and r.host["memory"]["saved_mib"] > 0
    assert "copy-on-write" in set(r.breakdown["category"])
    with pytest.raises(HvkitError):  # Xen has no page sharing
        plan_memory(res.hw, kit.hypervisor("xen-hvm", res.hw), res.plans, page_sharing=True)


def test_xen_does_not_swap_guest_memory_it_balloons():
    res = _plans(8, hw={"memory_gib": 4})
    plan = plan_memory(res.hw, kit.hypervisor("xen-hvm", res.hw), res.plans)
    assert plan.swapped_mib == 0 and plan.ballooned_mib > 0


# ---- isolation ---------------------------------------------------------------------------------------------

def test_the_isolation_suite_is_characterized_on_native():
    for hog in HOGS:
        wl = load_workload(hog)
        assert "Matthews" in wl.source and wl.id == hog


@pytest.mark.slow
def test_a_disk_hog_hurts_a_disk_using_victim_and_the_matrix_has_every_cell():
    kw = dict(service="specweb", service_params={"clients": 8, "think_us": 40000}, memory_mib=768, duration=0.5)
    df = isolation_matrix("core2-2008", ["kvm"], ["disk-hog", "cpu-hog"], pcpus=None, **kw)
    assert list(df["hog"]) == ["disk-hog", "cpu-hog"]
    disk = df[df["hog"] == "disk-hog"].iloc[0]
    assert disk["victim_p99_us"] > 2 * disk["baseline_p99_us"]
    assert df["degradation"].map(math.isfinite).all()
    scn = isolation_scenario("core2-2008", "kvm", "memory-bomb", memory_mib=768)
    r = run_scenario(scn, alone=False, native=False)
    assert "ballooning" not in " ".join(r.host["notes"])  # the VMs fit; the bomb pages inside its own VM
    bad = r.vms[~r.vms["measured"]]
    assert len(bad) == 1


# ---- scenarios --------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_scenario_runs_from_yaml_with_sets():
    scn = load_scenario("examples/scenario-mixed.yaml").with_sets(
        [("duration", 0.2), ("host.pcpus", 6), ("vms.db.vcpus", 4), ("vms.web.workload.clients", 4)])
    assert scn.host.pcpus == 6 and next(v for v in scn.vms if v.name == "db").vcpus == 4
    r = run_scenario(scn)
    assert list(r.vms["vm"]) == ["web0", "web1", "db", "batch", "noisy"]
    measured = r.vms[r.vms["measured"]]
    assert measured["relative_alone"].map(math.isfinite).all()
    assert measured["relative_native"].map(math.isfinite).all()
    assert r.vms[~r.vms["measured"]]["relative_alone"].isna().all()
    with pytest.raises(HvkitError):
        scn.with_sets([("vms.nope.vcpus", 2)])
    with pytest.raises(HvkitError):
        scn.with_sets([("vcpus", 2)])


def test_a_scenario_of_one_spec_gives_the_spec_s_numbers():
    spec = Spec.make(hardware=HW, hypervisor="kvm", workload="netperf-rr", vms=2, vcpus=2, pcpus=2,
                     duration=0.01, seed=4)
    a = run(spec, baseline=False).summary["value"].iloc[0]
    r = run_scenario(scenario_from_spec(spec), alone=False, native=False)
    assert r.vms["value"].sum() == pytest.approx(a, rel=1e-12)


def test_placement_pins_and_numa_nodes_partition_the_cpus():
    scn = Scenario.make(hardware=HW, hypervisor="kvm", duration=1.0, host={"pcpus": 8}, vms=[
        {"name": "a", "workload": "spec-int", "vcpus": 2, "pin": [0, 1]},
        {"name": "b", "workload": "spec-int", "vcpus": 2, "pin": [0, 1]},
        {"name": "c", "workload": "spec-int", "vcpus": 2}])
    r = run_scenario(scn, alone=False, native=False)
    v = dict(zip(r.vms["vm"], r.vms["value"]))
    assert v["a"] == pytest.approx(v["c"] / 2, rel=0.1)  # a and b share CPUs 0 and 1; c floats on the rest
    with pytest.raises(HvkitError):
        Scenario.make(hardware=HW, hypervisor="kvm", vms=[{"name": "a", "workload": "spec-int", "vcpus": 2,
                                                           "pin": [0]}])
    res = resolve_scenario(scn)
    assert [p.name for p in res.plans] == ["a", "b", "c"]


@pytest.mark.slow
def test_the_command_line_runs_a_scenario_and_gives_per_vm_json(cli):
    d = cli("run", "--scenario", "examples/scenario-mixed.yaml", "--set", "duration=0.2", "--json").json()
    assert [v["vm"] for v in d["vms"]] == ["web0", "web1", "db", "batch", "noisy"]
    assert {"value", "relative_alone", "relative_native", "breakdown"} <= set(d["vms"][0])
    assert "memory" in d["host"]
    assert "vms.x.vcpus" in cli("run", "--scenario", "examples/scenario-mixed.yaml", "--set", "vms.x.vcpus=2").error()
    d = cli("run", "--hardware", HW, "--hypervisor", "kvm", "--workload", "spec-int", "--vms", "3", "--json").json()
    assert len(d["per_vm"]) == 3 and sum(v["value"] for v in d["per_vm"]) == pytest.approx(d["value"])


# ---- figures and the panel ---------------------------------------------------------------------------------

def test_per_vm_bars_plot_each_measured_vm_s_ratios_and_name_those_left_out():
    import pandas as pd

    from kit.ui import plots
    vms = pd.DataFrame({"vm": ["a", "b", "n", "z"], "workload": ["spec-int", "specweb", "stream", "dbench"],
                        "measured": [True, True, False, True], "relative_alone": [0.5, 0.8, float("nan"), float("nan")],
                        "relative_native": [0.4, 0.7, float("nan"), 0.6]})
    fig = plots.per_vm_relative(vms)
    bars = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert bars[plots.REFERENCE_WORDS["relative_alone"]] == (["a (spec-int)", "b (specweb)"], [0.5, 0.8])
    assert bars[plots.REFERENCE_WORDS["relative_native"]] == (["a (spec-int)", "b (specweb)", "z (dbench)"],
                                                              [0.4, 0.7, 0.6])
    assert "n (stream)" not in str(fig.data)  # an unmeasured neighbour has no bar
    assert any("z (dbench)" in a.text for a in fig.layout.annotations)  # no finite ratio to alone: named
    assert fig.layout.yaxis.title.text and fig.layout.xaxis.title.text


def test_cpu_occupancy_draws_what_ran_on_each_cpu():
    import pandas as pd

    from kit.ui import plots
    tl = pd.DataFrame([("host.a.vcpu0", "running", 0.000, 0.004, 1.0, 0),
                       ("host.b.vcpu0", "running", 0.004, 0.010, 0.9, 0),
                       ("host.a.vcpu1", "running", 0.000, 0.010, 1.0, 1),
                       ("host.b.vcpu0", "waiting", 0.000, 0.004, 1.0, -1),
                       ("host.vm0.vhost.thread0", "backend", 0.002, 0.003, 1.0, 1)],
                      columns=["scope", "state", "start_s", "end_s", "guest_fraction", "cpu"])
    fig = plots.cpu_occupancy(tl, t1=0.008)
    by = {t.name: t for t in fig.data}
    assert set(by) == {"a", "b", "vm0 backend"}  # waiting is not on a CPU
    assert list(by["a"].y) == ["CPU 0", "CPU 1"] and list(by["a"].base) == [0.0, 0.0]
    assert list(by["a"].x) == pytest.approx([4.0, 8.0])  # CPU 1's run clipped at t1 = 8 ms
    assert list(by["b"].base) == pytest.approx([4.0]) and list(by["b"].x) == pytest.approx([4.0])
    assert list(by["vm0 backend"].y) == ["CPU 1"]
    assert len({t.marker.color for t in fig.data}) == 3


def test_isolation_heatmap_cells_are_the_matrix():
    import pandas as pd

    from kit.ui import plots
    m = pd.DataFrame({"hypervisor": ["kvm", "kvm", "xen-pv", "xen-pv"], "hog": ["cpu-hog", "disk-hog"] * 2,
                      "degradation": [0.01, 0.2, -0.02, 0.15]})
    fig = plots.isolation_heatmap(m)
    h = fig.data[0]
    assert list(h.x) == ["kvm", "xen-pv"] and list(h.y) == ["cpu-hog", "disk-hog"]
    assert [v for r in h.z for v in r] == pytest.approx([1.0, -2.0, 20.0, 15.0])  # percent, as the cells say
    assert [list(r) for r in h.text] == [["+1.0%", "-2.0%"], ["+20.0%", "+15.0%"]]
    # signed values: a diverging scale centred on zero, symmetric, its colour bar in percent; the sign explained
    assert h.zmid == 0 and h.zmin == -h.zmax == -20.0 and h.colorscale[0][1] != h.colorscale[-1][1]
    assert h.colorbar.title.text == "degradation (%)" and h.colorbar.ticksuffix == "%"
    assert any("negative" in a.text and "positive" in a.text for a in fig.layout.annotations)


@pytest.mark.slow
def test_the_scenario_panel_builds_a_scenario_from_its_vm_table_and_runs_it():
    from kit.ui.panels import ScenarioPanel
    p = ScenarioPanel(hardware=HW, hypervisor="kvm", pcpus=1, duration=0.2, trace_ms=5.0,
                      vms=(("a", "spec-int", 1), ("b", "spec-int", 1)))
    p.add_vm("apache-static", 1)
    assert [r.name.value for r in p.rows.children] == ["a", "b", "vm2"]
    p.remove_vm(p.rows.children[1])
    scn = p.scenario()
    assert [(v.name, v.workload) for v in scn.vms] == [("a", "spec-int"), ("vm2", "apache-static")]
    assert scn.host.pcpus == 1 and scn.hypervisor == "kvm"
    r = p.run()
    assert r is not None and list(r.vms["vm"]) == ["a", "vm2"]
    assert (r.vms["relative_alone"] < 1.0).all()  # two VMs on one CPU
    assert len(r.timeline) and p.last_figure is not None and "VM" in p.status.value
    p.rows.children[0].name.value = "Bad Name"
    assert p.run() is None and "name" in p.status.value  # an error is shown in the panel
    for row in list(p.rows.children):
        p.remove_vm(row)
    assert len(p.rows.children) == 1  # a scenario keeps one VM


def test_identical_vms_share_one_memory_system_class():
    """The memory system's fixed point is solved over distinct classes: copies of one VM placed alike are one class
    (each sum over classes is linear in the active counts), a different workload is another."""
    from kit.sim.host import Host
    scn = Scenario.make(hardware=HW, hypervisor="kvm", duration=0.01, host={"pcpus": 4},
                        vms=[{"name": "s", "workload": "stream", "count": 6},
                             {"name": "r", "workload": "random-access", "count": 2}])
    host = Host(resolve_scenario(scn))
    assert host.contention is not None
    assert len(host.contention.classes) == 2 and len(host.contention._class_of) == 8
    classes = {host._class(e) for g in host.guests for e in g.vm.entities}
    assert len(classes) == 2


@pytest.mark.slow
def test_a_contended_memory_system_gives_the_same_numbers_in_any_process():
    """Same spec and seed, same numbers, whatever the process's hash seed and allocator: the memory system's cache
    of per-item extra work once keyed on a bare id(), so a freed work's id reused by another item returned the
    wrong extra cycles (32 vCPUs of linpack on the 2665 read 568.8, 562.2 or 559.5 GFLOPS by hash seed)."""
    import os
    import subprocess
    import sys
    code = ("import kit; s = kit.Spec.make(hardware='sandybridge-ep-2665-2012', hypervisor='kvm', workload='linpack', "
            "vcpus=32, duration=1.0, seed=3, engine='discrete'); r = kit.run(s); "
            "print(repr(float(r.summary.value.iloc[0])), repr(float(r.summary.native_value.iloc[0])))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2, 3)}
    assert len(outs) == 1


def test_isolation_heatmap_gives_the_interval_over_seeds():
    """Notebook 05's title said 3 seeds and its cells gave no interval."""
    import pandas as pd

    from kit.ui import plots
    m = pd.DataFrame({"hypervisor": ["kvm"] * 3, "hog": ["disk-hog"] * 3, "degradation": [0.10, 0.12, 0.14]})
    h = plots.isolation_heatmap(m).data[0]
    # by hand: 10, 12, 14 % have mean 12 and s = 2; t(0.975, 2) = 4.303, so the half-width is 4.303 * 2 / sqrt(3)
    assert h.z[0][0] == pytest.approx(12.0) and list(h.text[0]) == ["+12.0% ± 5.0"]
