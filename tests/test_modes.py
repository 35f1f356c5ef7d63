"""Hypervisor modes are compositions; impossible ones are refused, and the ones
real hypervisors resolve are resolved visibly."""
import pytest

import kit
from kit.errors import HvkitError
from kit.inputs.modes import PRESETS

PRESET_NAMES = ["native", "xen-pv", "xen-hvm", "xen-pvh", "kvm", "kvm-emulated", "kvm-sriov", "qemu-tcg",
                "vmware-bt", "hyperv"]


def test_all_presets_exist():
    assert set(PRESET_NAMES) <= set(PRESETS)


@pytest.mark.parametrize("hid", kit.list_hardware())
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_resolves_or_refuses_clearly(hid, name):
    hw = kit.load_hardware(hid)
    try:
        m = kit.hypervisor(name, hw)
    except HvkitError as e:
        assert "allowed" in str(e) or "not modelled" in str(e)
        return
    assert m.interrupts != "best"
    if m.memory == "nested":
        assert hw.features.nested_paging


def test_kvm_without_ept_uses_shadow_and_says_so():
    m = kit.hypervisor("kvm", "core2-2008")
    assert m.memory == "shadow"
    assert any("shadow" in r for r in m.resolutions)


def test_explicit_nested_without_ept_is_refused():
    with pytest.raises(HvkitError, match="nested paging needs EPT"):
        kit.hypervisor("kvm", "core2-2008", memory="nested")


def test_hvm_without_vtx_is_refused():
    with pytest.raises(HvkitError) as e:
        kit.hypervisor("kvm", "p4-xeon-2003")
    assert "hardware virtualization" in str(e.value) and "pv" in str(e.value)


def test_pv_paging_under_hvm_is_refused():
    with pytest.raises(HvkitError, match="PV direct paging needs a PV guest"):
        kit.hypervisor("kvm", "skylake-sp-2017", memory="pv-direct")


def test_sriov_without_iommu_is_refused():
    with pytest.raises(HvkitError, match="SR-IOV needs an IOMMU"):
        kit.hypervisor("kvm-sriov", "core2-2008")


def test_posted_interrupts_where_missing_are_refused():
    with pytest.raises(HvkitError, match="no posted interrupts"):
        kit.hypervisor("kvm", "sandybridge-ep-2012", interrupts="posted")


def test_best_interrupts_follow_the_cpu():
    assert kit.hypervisor("kvm", "sandybridge-ep-2012").interrupts == "injected"
    assert kit.hypervisor("kvm", "icelake-sp-2021").interrupts == "posted"
    assert kit.hypervisor("kvm", "icelake-sp-2021", interrupts="injected").interrupts == "injected"


def test_overrides_compose():
    m = kit.hypervisor("kvm", "skylake-sp-2017", memory="shadow", guest_page="2M")
    assert (m.memory, m.guest_page, m.io) == ("shadow", "2M", "vhost")


def test_unknown_part_and_value():
    with pytest.raises(HvkitError, match="unknown hypervisor part"):
        kit.hypervisor("kvm", "skylake-sp-2017", colour="red")
    with pytest.raises(HvkitError) as e:
        kit.hypervisor("kvm", "skylake-sp-2017", memory="magic")
    assert "nested" in str(e.value) and "shadow" in str(e.value)


def test_arm_structure():
    split = kit.hypervisor("kvm", "xgene-armv8-2014")
    vhe = kit.hypervisor("kvm", "neoverse-n1-2019")
    assert not split.el2_host and vhe.el2_host
    assert split.interrupts == "vgic"
    xen = kit.hypervisor("xen-pv", "xgene-armv8-2014")
    assert xen.cpu == "hvm" and xen.memory == "nested"
    assert any("one guest type" in r for r in xen.resolutions)
    with pytest.raises(HvkitError, match="binary translation"):
        kit.hypervisor("vmware-bt", "xgene-armv8-2014")


def test_mode_is_frozen():
    m = kit.hypervisor("kvm", "skylake-sp-2017")
    with pytest.raises(Exception):
        m.memory = "shadow"
