"""Nested virtualization (Turtles): an L2 exit goes to L0 and is reflected to L1; L1's VMCS accesses trap unless
the CPU shadows the VMCS; EPT on EPT against shadow paging in L1; L1's own I/O through L0."""
import pytest

import kit
from kit.costs import CostModel
from kit.costs.microbench import op_path
from kit.costs.nested import VMCS_ACCESSES_PER_EXIT, VMCS_TRAP_REASON, VMRESUME_REASON
from kit.errors import HvkitError
from kit.sim.mode_costs import NestedCosting, costing_for


def _exits(steps):
    out = {}
    for s in steps:
        if s.is_exit:
            out[s.reason] = out.get(s.reason, 0) + 1
    return out


def test_no_exit_reflection_without_nesting():
    hw = kit.load_hardware("sandybridge-ep-2012")
    for name in ("kvm", "xen-hvm", "kvm-emulated"):
        for op in ("cpuid", "ipi", "io_latency_out", "eoi"):
            steps = op_path(op, hw, kit.hypervisor(name, hw))
            assert not any("(L0)" in s.step or "(L1)" in s.step for s in steps), (name, op)
    cm = CostModel(hw, kit.hypervisor("kvm", hw))
    assert _exits(cm.ev_cpuid()) == {"CPUID": 1}


def test_an_l2_exit_is_reflected_with_vmcs_traps_on_sandy_bridge():
    hw = kit.load_hardware("sandybridge-ep-2012")
    cm = CostModel(hw, kit.hypervisor("kvm-on-kvm", hw))
    ex = _exits(cm.ev_cpuid())
    assert ex == {"CPUID": 1, VMCS_TRAP_REASON: VMCS_ACCESSES_PER_EXIT[0], VMRESUME_REASON: 1}
    single = sum(s.cycles for s in CostModel(hw, kit.hypervisor("kvm", hw)).ev_cpuid())
    assert sum(s.cycles for s in cm.ev_cpuid()) > 5 * single


@pytest.mark.parametrize("hw_id", ["skylake-sp-2017", "zen3-epyc-2021"])
def test_vmcs_shadowing_or_svm_spare_the_vmcs_traps(hw_id):
    hw = kit.load_hardware(hw_id)
    steps = CostModel(hw, kit.hypervisor("kvm-on-kvm", hw)).ev_cpuid()
    assert _exits(steps) == {"CPUID": 1, VMRESUME_REASON: 1}


def test_turning_vmcs_shadowing_off_brings_the_traps_back():
    on = kit.microbench("skylake-sp-2017", "kvm-on-kvm", "cpuid")["cycles"].iloc[0]
    off = kit.microbench("skylake-sp-2017", "kvm-on-kvm", "cpuid",
                         hw_overrides={"features.vmcs_shadowing": False})["cycles"].iloc[0]
    assert off > on + VMCS_ACCESSES_PER_EXIT[0] * kit.load_hardware("skylake-sp-2017").val("exit_roundtrip_cycles")
    single = kit.microbench("skylake-sp-2017", "kvm", "cpuid",
                            hw_overrides={"features.vmcs_shadowing": False})["cycles"].iloc[0]
    assert single == kit.microbench("skylake-sp-2017", "kvm", "cpuid")["cycles"].iloc[0]


def test_ept_on_ept_leaves_page_table_updates_alone_shadow_in_l1_reflects_them():
    hw = kit.load_hardware("skylake-sp-2017")
    ept = CostModel(hw, kit.hypervisor("kvm-on-kvm", hw))
    shadow = CostModel(hw, kit.hypervisor("kvm-on-kvm", hw, memory="shadow"))
    assert not _exits(ept.ev_pte_write())
    ex = _exits(shadow.ev_pte_write())
    assert ex[VMRESUME_REASON] == 1 and ex["write to a write-protected guest page table"] == 1
    # both walk in two dimensions: L1's shadow tables are walked through L0's EPT
    single_shadow = CostModel(hw, kit.hypervisor("kvm", hw, memory="shadow"))
    assert shadow.walk_cycles() == ept.walk_cycles() > single_shadow.walk_cycles()


def test_a_pv_guest_of_a_nested_xen_makes_no_exits_for_its_hypercalls():
    hw = kit.load_hardware("skylake-sp-2017")
    cm = CostModel(hw, kit.hypervisor("xen-pv", hw, nested="kvm"))
    assert not _exits(cm.ev_hypercall()) and not _exits(cm.ev_syscall())


def test_nested_io_pays_l1s_own_exits_and_l0s_backend():
    hw = kit.load_hardware("skylake-sp-2017")
    wl = kit.load_workload("netperf-rr")
    single = costing_for(hw, kit.hypervisor("kvm", hw), wl)
    nested = costing_for(hw, kit.hypervisor("kvm-on-kvm", hw), wl)
    assert isinstance(nested, NestedCosting) and type(single).__name__ == "Costing"
    assert nested.backend_net(1, 100, "rx").total > 1.5 * single.backend_net(1, 100, "rx").total
    assert any(k.startswith("exit: ") for k in nested.backend_net(1, 100, "rx").cycles)
    # multi-level device assignment: no backend at either level
    assigned = costing_for(hw, kit.hypervisor("kvm-on-kvm", hw, io="sriov"), wl)
    assert assigned.backend_name("net") is None and assigned.l1_mode.io == "sriov"


@pytest.mark.parametrize("hw_id,match", [("xgene-armv8-2014", "ARM"), ("p4-xeon-2003", "EPT/NPT"),
                                         ("core2-2008", "EPT/NPT")])
def test_nesting_where_the_model_cannot_is_refused(hw_id, match):
    with pytest.raises(HvkitError, match=match):
        kit.hypervisor("kvm-on-kvm", hw_id)


def test_nesting_is_a_mode_part_reachable_by_set():
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int").with_sets(
        [("nested", "kvm")])
    assert dict(spec.mode)["nested"] == "kvm"
    with pytest.raises(HvkitError):
        kit.hypervisor("kvm", "skylake-sp-2017", nested="vmware")


def test_the_system_model_runs_an_l2_workload():
    r = kit.compare("sandybridge-ep-2012", "netperf-rr", ["kvm", "kvm-on-kvm"], duration=0.02, seed=1)
    s = r.summary.set_index("hypervisor")
    assert s.loc["kvm-on-kvm", "relative_performance"] < s.loc["kvm", "relative_performance"] < 1
    ex = r.exits[r.exits["run"] == s.loc["kvm-on-kvm", "run"]].set_index("reason")["count"]
    l2 = ex.drop([VMRESUME_REASON, VMCS_TRAP_REASON]).sum()
    assert ex[VMRESUME_REASON] == pytest.approx(l2, rel=1e-9)  # one VMRESUME per reflected exit
    assert ex[VMCS_TRAP_REASON] == pytest.approx(VMCS_ACCESSES_PER_EXIT[0] * l2, rel=1e-9)


def _cpuid(cm, ws):
    cm.ws = ws  # the working set a workload gives its cost model (kit.sim.unit_costs)
    return cm.ev_cpuid()


def _flush_steps(steps):
    return [s for s in steps if "after the flush" in s.step or "reload the MMU's roots" in s.step]


def test_kvm_of_2012_flushes_at_nested_transitions_l1s_handler_and_l2_pay_2d_refills():
    """KVM 3.x let L2 share L1's VPID and flushed the TLB at every nested entry and exit, and reloaded the MMU's
    roots (prepare_vmcs02, load_vmcs12_host_state): L1's handler runs TLB-cold and L2 refills its working set, both
    through two-dimensional walks."""
    from kit.costs.nested import L1_HANDLER_PAGES, switch_flushes
    hw = kit.load_hardware("sandybridge-ep-2012")
    old = CostModel(hw, kit.hypervisor("kvm-on-kvm", hw, release="2012"))
    assert switch_flushes(hw, old.mode)
    flush = _flush_steps(_cpuid(old, 40))
    walks = {s.step: s.cycles for s in flush if s.kind == "walk"}
    assert len(flush) == 3 and len(walks) == 2
    l1 = next(c for k, c in walks.items() if "(L1)" in k)
    l2 = next(c for k, c in walks.items() if k.startswith("L2"))
    # two-dimensional walks: dearer than the same pages walked natively
    assert l1 > L1_HANDLER_PAGES[0] * old.walk_cycles(False) and l2 > 40 * old.walk_cycles(False)
    # the refill grows with L2's working set, the handler's misses do not
    more = {s.step: s.cycles for s in _flush_steps(_cpuid(old, 80)) if s.kind == "walk"}
    assert more[next(k for k in more if k.startswith("L2"))] == pytest.approx(2 * l2)
    assert more[next(k for k in more if "(L1)" in k)] == pytest.approx(l1)
    # the flushes are not exits: the exit counts stay those of the reflection
    assert _exits(old.ev_cpuid()) == {"CPUID": 1, VMCS_TRAP_REASON: VMCS_ACCESSES_PER_EXIT[0], VMRESUME_REASON: 1}


def test_no_nested_flushes_with_nested_vpid_or_without_nesting(monkeypatch):
    """Current KVM gives L2 its own VPID and keeps previous roots; a single-level guest has no nested transitions;
    and without the mechanism a 2012 nested exit costs exactly the flushes less."""
    from kit.costs import nested
    hw = kit.load_hardware("sandybridge-ep-2012")
    assert not _flush_steps(_cpuid(CostModel(hw, kit.hypervisor("kvm-on-kvm", hw)), 40))
    assert not _flush_steps(_cpuid(CostModel(hw, kit.hypervisor("kvm", hw, release="2012")), 40))
    with_flush = _cpuid(CostModel(hw, kit.hypervisor("kvm-on-kvm", hw, release="2012")), 40)
    monkeypatch.setattr(nested, "NESTED_SWITCH_FLUSHES", (set(), "absent"))
    without = _cpuid(CostModel(hw, kit.hypervisor("kvm-on-kvm", hw, release="2012")), 40)
    assert not _flush_steps(without)
    assert sum(s.cycles for s in with_flush) - sum(s.cycles for s in without) == pytest.approx(
        sum(s.cycles for s in _flush_steps(with_flush)))


def test_nested_flushes_slow_an_l2_compile_of_2012(monkeypatch):
    """The system model: with the flushes a nested kernel compile under KVM of 2012 is slower than without them."""
    from kit.costs import nested
    kw = dict(seed=2010, duration=5.0, engine="discrete", mode={"release": "2012"})
    on = kit.compare("sandybridge-ep-2012", "kernel-build", ["kvm-on-kvm"], **kw).summary["value"].iloc[0]
    monkeypatch.setattr(nested, "NESTED_SWITCH_FLUSHES", (set(), "absent"))
    off = kit.compare("sandybridge-ep-2012", "kernel-build", ["kvm-on-kvm"], **kw).summary["value"].iloc[0]
    assert on > off  # build time: higher is worse
