"""The per-operation cost model: exact small paths, and invariants."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kit
from kit.costs import CostModel
from kit.costs.microbench import op_path
from kit.costs.ops import OPS
from kit.costs.codepaths import SOFTWARE


def _sw(key):
    return SOFTWARE[key][0]


def test_kvm_arm_split_hypercall_path_exactly():
    hw = kit.load_hardware("xgene-armv8-2014")
    mode = kit.hypervisor("kvm", hw)
    steps = op_path("hypercall", hw, mode)
    v, cpi = hw.val, hw.val("kernel_cpi")
    expected = (v("exit_roundtrip_cycles") * 2 + 2 * v("sysreg_switch_cycles") + v("vgic_switch_cycles")
                + cpi * (_sw("kvm.arm_timer_switch") + _sw("kvm.arm_run_loop") + _sw("kvm.hypercall")))
    assert sum(s.cycles for s in steps) == pytest.approx(expected)
    assert any(s.step == "VGIC state save and restore" for s in steps)


def test_xen_arm_hypercall_stays_in_el2():
    hw = kit.load_hardware("xgene-armv8-2014")
    steps = op_path("hypercall", hw, kit.hypervisor("xen-hvm", hw))
    assert [s.step for s in steps] == ["trap to EL2 and return: HVC", "Xen: hypercall handler"]
    assert sum(s.cycles for s in steps) == pytest.approx(
        hw.val("exit_roundtrip_cycles") + hw.val("kernel_cpi") * _sw("xen.arm_hypercall"))


def _cycles(op, hw, mode):
    return sum(s.cycles for s in op_path(op, hw, mode))


def test_type1_vs_type2_on_arm_and_vhe_shrinks_the_gap():
    gaps = {}
    for hid in ("xgene-armv8-2014", "neoverse-n1-2019"):
        hw = kit.load_hardware(hid)
        gaps[hid] = _cycles("hypercall", hw, kit.hypervisor("kvm", hw)) / _cycles("hypercall", hw, kit.hypervisor("xen-hvm", hw))
    assert gaps["xgene-armv8-2014"] > 10
    assert gaps["neoverse-n1-2019"] < gaps["xgene-armv8-2014"] / 3


def test_userspace_exit_costs_more_than_kernel():
    hw = kit.load_hardware("sandybridge-ep-2012")
    m = kit.hypervisor("kvm", hw, release="2012")  # kvm-unit-tests 2012: about 13,000 cycles more
    assert _cycles("inl_from_qemu", hw, m) > _cycles("inl_from_kernel", hw, m) + 10000
    now = kit.hypervisor("kvm", hw)  # the run loop's return and re-entry and QEMU's dispatch, still thousands
    assert _cycles("inl_from_qemu", hw, now) > _cycles("inl_from_kernel", hw, now) + 2000


def test_bt_cr8_write_is_cheaper_than_native_for_the_documented_reason():
    hw = kit.load_hardware("p4-vtx-2006")
    bt = op_path("cr8wr", hw, kit.hypervisor("vmware-bt", hw, release="2006"))
    assert sum(s.cycles for s in bt) < _cycles("cr8wr", hw, kit.hypervisor("native", hw))
    assert "virtual TPR" in bt[0].step


def test_nested_walk_references():
    hw = kit.load_hardware("skylake-sp-2017").with_overrides({"pwc_skip_levels": 0})
    assert CostModel(hw, kit.hypervisor("kvm", hw, host_page="4K")).walk_refs_worst(True) == 24
    assert CostModel(hw, kit.hypervisor("kvm", hw, guest_page="2M", host_page="2M")).walk_refs_worst(True) == 15
    assert CostModel(hw, kit.hypervisor("native", hw)).walk_refs(False) == 4
    # without a nested TLB every gPA lookup walks the host dimension: the worst case is the only case
    cold = CostModel(hw.with_overrides({"nested_tlb_hit": 0}), kit.hypervisor("kvm", hw, host_page="4K"))
    assert cold.walk_refs(True) == pytest.approx(24) and dict(cold.walk_distribution(True))[24] == pytest.approx(1.0)


def test_walk_reference_distribution_with_a_nested_tlb():
    """Bhargava et al., ASPLOS 2008: a gPA lookup that hits the nested TLB skips its host walk; with n guest and m
    host levels, j of the n+1 lookups walking gives n + j*m references, binomially distributed."""
    hw = kit.load_hardware("skylake-sp-2017").with_overrides({"pwc_skip_levels": 0, "nested_tlb_hit": 0.75})
    cm = CostModel(hw, kit.hypervisor("kvm", hw, host_page="4K"))
    dist = cm.walk_distribution(True)
    assert [r for r, _ in dist] == [4, 8, 12, 16, 20, 24]
    assert sum(p for _, p in dist) == pytest.approx(1.0)
    assert dict(dist)[4] == pytest.approx(0.75 ** 5) and dict(dist)[24] == pytest.approx(0.25 ** 5)
    assert cm.walk_refs(True) == pytest.approx(4 + 5 * 0.25 * 4)


# ---- invariants over every profile, mode and operation -----------------------------------------

def _combos():
    out = []
    for hid in kit.list_hardware():
        hw = kit.load_hardware(hid)
        for name in kit.list_hypervisors():
            try:
                out.append((hw, kit.hypervisor(name, hw)))
            except kit.HvkitError:
                pass
    return out


COMBOS = _combos()
#: operations whose native cost is a real device access: an emulated device (in the
#: hypervisor or by binary translation) can answer faster than the chipset does
DEVICE_OPS = {"in", "inl_from_kernel", "outl_to_kernel", "inl_from_qemu", "inl_from_pmtimer",
              "mmio_read_user", "mmio_read_vgic", "irqchip_trap"}
#: binary translation makes these cheaper than native (Adams & Agesen 2006: CR8 write becomes a store)
BT_CHEAPER = {"cr8wr", "mov_to_cr8"}


def _ops_for(hw):
    return [o for o in OPS.values() if o.arch == "any" or (o.arch == "arm") == hw.is_arm]


@pytest.mark.parametrize("hw,mode", COMBOS, ids=[f"{h.id}-{m.name}" for h, m in COMBOS])
def test_costs_positive_and_native_is_the_floor(hw, mode):
    native = kit.hypervisor("native", hw)
    for op in _ops_for(hw):
        c = _cycles(op, hw, mode)
        assert c > 0, op.name
        if op.name in DEVICE_OPS or (mode.cpu == "bt" and op.name in BT_CHEAPER):
            continue
        assert c >= _cycles(op, hw, native) - 1e-9, (op.name, mode.name)


@given(st.sampled_from(COMBOS), st.floats(min_value=1.0, max_value=5000.0))
def test_raising_exit_latency_never_makes_an_exiting_op_cheaper(combo, extra):
    hw, mode = combo
    if hw.features.hw_virt == "none":
        return
    slower = hw.with_overrides({"exit_roundtrip_cycles": hw.val("exit_roundtrip_cycles") + extra})
    for op in _ops_for(hw):
        before = op_path(op, hw, mode)
        after = _cycles(op, slower, mode)
        # whole exits, and the one-way halves of Dall et al.'s signalling latencies
        exits = any(s.step.startswith(("VM exit", "VM entry", "trap to EL2", "eret to the guest")) for s in before)
        total = sum(s.cycles for s in before)
        if exits:
            assert after > total, op.name
        else:
            assert after == pytest.approx(total), op.name


@given(st.sampled_from(["cpuid", "vmcall", "inl_from_kernel", "tscdeadline", "ipi"]),
       st.floats(min_value=100, max_value=3000))
def test_every_exiting_op_moves_with_exit_latency_exactly(op, rt):
    hw = kit.load_hardware("skylake-sp-2017").with_overrides({"exit_roundtrip_cycles": rt})
    mode = kit.hypervisor("kvm", hw)
    steps = op_path(op, hw, mode)
    n_exits = sum(1 for s in steps if s.step.startswith("VM exit"))
    hw2 = hw.with_overrides({"exit_roundtrip_cycles": rt + 100})
    # merged steps keep one row per exit reason, so count occurrences via the cycles
    delta = _cycles(op, hw2, mode) - _cycles(op, hw, mode)
    assert delta >= 100 * n_exits - 1e-6 and delta > 0


def test_microbench_dataframe_columns():
    df = kit.microbench("skylake-sp-2017", "kvm", ["cpuid", "hypercall"])
    assert list(df.columns) == ["op", "suite", "hardware", "hypervisor", "cycles", "us", "path"]
    row = df.iloc[0]
    assert row["us"] == pytest.approx(row["cycles"] / (kit.load_hardware("skylake-sp-2017").val("freq_ghz") * 1000), rel=1e-3)
    assert sum(s["cycles"] for s in row["path"]) == pytest.approx(row["cycles"], rel=1e-6)


def test_arch_specific_op_on_the_wrong_arch_is_refused():
    with pytest.raises(kit.HvkitError, match="only on x86"):
        kit.microbench("xgene-armv8-2014", "kvm", ["cpuid"])


def test_64_bit_pv_system_calls_switch_page_tables():
    """64-bit Xen PV: the guest kernel and user have separate page tables, switched on every system call."""
    sky, p4 = kit.load_hardware("skylake-sp-2017"), kit.load_hardware("p4-xeon-2003")
    steps = {s.step: s.cycles for s in op_path("lmbench.null_call", sky, kit.hypervisor("xen-pv", sky))}
    assert steps["Xen: switch to the guest kernel's page tables and back"] == 2 * sky.val("cr3_switch_cycles")
    assert "TLB refill after the page-table switches" in steps
    assert not any("page tables and back" in s.step for s in op_path("lmbench.null_call", p4, kit.hypervisor("xen-pv", p4)))


def test_a_one_shot_guest_timer_is_rearmed_every_tick():
    from kit.inputs.workloads import load_workload
    from kit.sim.mode_costs import Costing
    wl = load_workload("spec-int")
    sky = kit.load_hardware("skylake-sp-2017")
    unit = Costing(sky, kit.hypervisor("kvm", sky), wl).unit()
    ticks = unit.exits["VMX preemption timer"]
    assert unit.exits["MSR write (TSC deadline)"] == pytest.approx(ticks)
    p4 = kit.load_hardware("p4-vtx-2006")  # a 2006 guest kernel: periodic timer, nothing to re-arm
    old = Costing(p4, kit.hypervisor("vmware-bt", p4, cpu="hvm", release="2006"), wl).unit()
    assert not any("TSC deadline" in r for r in old.exits)
    arm = kit.load_hardware("xgene-armv8-2014")  # the virtual timer's compare register does not trap
    assert not any("TSC" in r or "CNTV" in r for r in Costing(arm, kit.hypervisor("kvm", arm), wl).unit().exits)


def test_injected_interrupts_sometimes_wait_for_an_interrupt_window():
    from kit.costs.paths import INTERRUPT_WINDOW_FRACTION
    from kit.inputs.workloads import load_workload
    from kit.sim.mode_costs import Costing
    snb, sky = kit.load_hardware("sandybridge-ep-2012"), kit.load_hardware("skylake-sp-2017")
    wl = load_workload("netperf-rr")
    injected = Costing(snb, kit.hypervisor("kvm", snb), wl).notify()
    assert injected.exits["interrupt window"] == pytest.approx(INTERRUPT_WINDOW_FRACTION[0])
    assert "interrupt window" not in Costing(sky, kit.hypervisor("kvm", sky), wl).notify().exits  # posted


def test_2018_mitigations_follow_the_cpu_and_the_exit():
    sky, ice = kit.load_hardware("skylake-sp-2017"), kit.load_hardware("icelake-sp-2021")
    on = {"mitigations": "2018"}

    def path(hw, hv, op, **over):
        return {s["step"]: s["cycles"] for s in kit.microbench(hw, hv, [op], mode_overrides=over).iloc[0]["path"]}
    # page-table isolation on Meltdown CPUs only, natively and in the guest
    assert "KPTI: kernel page-table switch on entry and exit" in path(sky, "native", "lmbench.null_call", **on)
    assert "KPTI: kernel page-table switch on entry and exit" not in path(ice, "native", "lmbench.null_call", **on)
    assert "Xen XPTI: switch to the restricted page tables and back" in path(sky, "xen-pv", "lmbench.null_call", **on)
    # every exit pays the Spectre v2 entry/exit work; the L1D is flushed only after slow-path exits, on L1TF CPUs
    vmcall, io = path(sky, "kvm", "vmcall", **on), path(sky, "kvm", "inl_from_qemu", **on)
    assert "Spectre v2: RSB fill and IBRS around the exit" in vmcall and "L1TF: L1D flush before VM entry" not in vmcall
    assert "L1TF: L1D flush before VM entry" in io
    assert "L1TF: L1D flush before VM entry" not in path(ice, "kvm", "inl_from_qemu", **on)
    assert "Spectre v2: RSB fill and IBRS around the exit" not in path(sky, "kvm", "vmcall")
    # the native baseline of a mitigated run is mitigated too (both belong to one software era)
    from kit.run import native_spec
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", mode=on)
    assert dict(native_spec(spec).mode) == {"mitigations": "2018"}
    with pytest.raises(kit.HvkitError, match="predates"):
        kit.hypervisor("xen-pv", kit.load_hardware("p4-xeon-2003"), release="2003", mitigations="2018")
