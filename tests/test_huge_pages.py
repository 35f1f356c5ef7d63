"""Transparent huge pages, an era default that native gets too: a Linux of 2011 or later backs a process's large
anonymous memory with 2 MiB pages, natively, in a container and in a guest that can map large pages, so the TLB
misses in it are fewer and their walks a level shorter on both sides of a comparison (kit.costs.memory_events:
THP_SINCE_YEAR, thp_applies; the workload's thp_share)."""
from __future__ import annotations

import pytest

from kit.inputs.hardware import load_hardware
from kit.inputs.modes import hypervisor
from kit.inputs.workloads import load_workload
from kit.sim.mode_costs import Costing
from kit.sim.work import Work

FELTER = "sandybridge-ep-2665-2012"


def _walks(hw: str, mode: str, workload: str, thp_share: float | None = None, **mode_parts) -> float:
    h = load_hardware(hw)
    wl = load_workload(workload)
    if thp_share is not None:
        wl = wl.with_params({"thp_share": thp_share})
    unit: Work = Costing(h, hypervisor(mode, h, **mode_parts), wl).unit()
    return unit.cycles.get("page walks", 0.0)


def test_a_2012_linux_maps_randomaccess_s_table_with_huge_pages_natively_and_in_kvm():
    """RandomAccess's table is one anonymous region (thp_share 1): on Felter's 2012 testbed its misses walk to a
    2 MiB page, as with guest_page=2M, natively and under KVM; with THP off for it (thp_share 0) they walk to 4 KiB
    pages, longer on both sides, and KVM's two-dimensional walk adds more over native."""
    for mode in ("native", "kvm"):
        thp = _walks(FELTER, mode, "random-access")
        assert thp == pytest.approx(_walks(FELTER, mode, "random-access", guest_page="2M"), rel=1e-12)
        assert thp < 0.5 * _walks(FELTER, mode, "random-access", thp_share=0)
    extra_thp = _walks(FELTER, "kvm", "random-access") - _walks(FELTER, "native", "random-access")
    extra_4k = _walks(FELTER, "kvm", "random-access", thp_share=0) - _walks(FELTER, "native", "random-access",
                                                                            thp_share=0)
    assert 0 < extra_thp < 0.7 * extra_4k


def test_no_huge_pages_before_2011_nor_in_a_xen_pv_guest_nor_for_4k_workloads():
    """Absent where the mechanism is: a 2008 platform runs a Linux without THP (Matthews et al.'s era), a Xen PV
    guest cannot map large pages (Xen hides PSE and validates 4 KiB mappings), and a workload whose TLB misses are
    not in large anonymous regions (thp_share 0, such as a compiler's many small processes) keeps 4 KiB walks."""
    old = load_hardware("core2-2008")
    assert old.year < 2011
    assert _walks("core2-2008", "native", "random-access") > _walks("core2-2008", "native", "random-access",
                                                                        guest_page="2M")
    assert _walks(FELTER, "xen-pv", "random-access") > _walks(FELTER, "xen-pv", "random-access", guest_page="2M")
    assert load_workload("kernel-build").thp_share == 0
    assert _walks(FELTER, "native", "kernel-build") > _walks(FELTER, "native", "kernel-build", guest_page="2M")
