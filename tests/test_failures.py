"""Failure domains (issue 24, section 2): components derived from a mode's parts, what each failure mode does and
does not do, faults injected into a running host, availability by Monte Carlo, and the trusted computing base.

Every expected value here comes from the recovery costs' table or from first principles (TCP's doubling timer), not
from the code under test."""
import math

import pandas as pd
import pytest

import kit
import kit.failures as F
from kit.costs import lifecycle as lc
from kit.costs import recovery as rc
from kit.errors import HvkitError
from kit.inputs.scenario import Scenario
from kit.sim.failures import FailureDomains, HostSetup, client_outage, plan

HW = "skylake-sp-2017"
VMS = ["a", "b", "c"]


def _fd(mode, setup=HostSetup(), uses=None, **parts):
    return FailureDomains(kit.hypervisor(mode, HW, **parts), kit.load_hardware(HW), VMS, setup, uses)


def _effects(p):
    return [p.vms[i].effect for i in range(len(VMS))]


def _down(p, i=0):
    return max((w.end - w.start for w in p.vms[i].windows), default=0.0)


# ---- components follow the parts ----------------------------------------------------------------------------

def test_a_vms_paths_follow_its_io_part_not_its_hypervisors_name():
    kvm = _fd("kvm")
    assert [c.id for c in kvm.paths[0]["net"]] == ["vhost", "nic-driver"]  # vhost-net
    assert [c.id for c in kvm.paths[0]["disk"]] == ["vmm", "disk-driver"]  # QEMU's virtio-blk
    # the same family with QEMU's user-space virtio-net: the network goes through the VMM process instead
    assert [c.id for c in _fd("kvm", io="virtio").paths[0]["net"]] == ["vmm", "nic-driver"]
    assert [c.id for c in _fd("microvm").paths[0]["net"]] == ["vmm", "nic-driver"]
    xen = _fd("xen-hvm")
    assert [c.id for c in xen.paths[0]["net"]] == ["netback", "nic-driver"]
    assert {c.domain for c in xen.paths[0]["net"]} == {"dom0"}
    dd = _fd("xen-hvm", HostSetup(driver_domain=True))
    assert {c.domain for c in dd.paths[1]["disk"]} == {"driver domain"}
    # an emulated device under Xen is served by the guest's device model in dom0
    assert [c.id for c in _fd("xen-hvm", io="emulated").paths[2]["net"]] == ["device-model", "nic-driver"]


def test_who_holds_a_vm_follows_where_its_vcpus_run():
    # KVM and the microVM: vCPUs are threads of the VM's process; Xen: the hypervisor schedules them
    assert _fd("kvm").holders[1] == ["host kernel", "b vmm", "b guest"]
    assert _fd("microvm").holders[0] == ["host kernel", "a vmm", "a guest"]
    assert _fd("xen-pv").holders[2] == ["hypervisor", "c guest"]
    assert not any(c.id == "vmm" for c in _fd("xen-pv").components)


def test_a_driver_domain_needs_split_drivers_and_a_spare_needs_a_driver_domain():
    with pytest.raises(HvkitError, match="split drivers"):
        _fd("kvm", HostSetup(driver_domain=True))
    with pytest.raises(HvkitError, match="spare"):
        _fd("xen-pv", HostSetup(spare_driver_domain=True))
    with pytest.raises(HvkitError, match="no such component.*allowed"):
        plan(_fd("kvm"), "driver-domain", "crash")
    with pytest.raises(HvkitError, match="per-VM component"):
        plan(_fd("kvm"), "vmm", "crash")


# ---- each failure mode: its effect and its absence ------------------------------------------------------------

def test_a_nic_driver_crash_in_a_driver_domain_stalls_io_and_in_a_kernel_ends_every_vm():
    dd = plan(_fd("xen-hvm", HostSetup(driver_domain=True)), "nic-driver", "crash")
    assert _effects(dd) == ["io stall"] * 3 and not dd.host_restart
    # the driver domain is destroyed, built, booted, its NIC reset and its link renegotiated
    expect = sum(getattr(rc, k)[0] for k in ("DETECT_CRASH_S", "DOMAIN_DESTROY_S", "DOMAIN_BUILD_S",
                                             "DRIVER_DOMAIN_BOOT_S", "DEVICE_RESET_S", "LINK_UP_S"))
    net = [w for w in dd.vms[0].windows if w.path == "net"][0]
    assert net.end == pytest.approx(expect) and net.inflight == "retransmit"
    assert [w for w in dd.vms[0].windows if w.path == "disk"][0].inflight == "reissue"
    for mode in ("xen-hvm", "kvm", "microvm"):  # the driver runs in dom0 or the host kernel
        p = plan(_fd(mode), "nic-driver", "crash")
        assert _effects(p) == ["dies"] * 3 and p.host_restart, mode


def test_dom0_keeps_the_vms_computing_until_xen_restarts_the_machine():
    p = plan(_fd("xen-hvm"), "dom0", "crash", at=1.0)
    delay = rc.HWDOM_REBOOT_DELAY_S[0]
    assert all(p.vms[i].died_at == pytest.approx(1.0 + delay) for i in range(3))
    stall = [w for w in p.vms[0].windows if w.inflight == "retransmit"][0]
    assert (stall.start, stall.end) == (1.0, pytest.approx(1.0 + delay))


def test_a_nic_driver_hang_is_reset_by_its_watchdog_in_every_configuration():
    expect = rc.NETDEV_WATCHDOG_S[0] + rc.DEVICE_RESET_S[0] + rc.LINK_UP_S[0]
    for mode, setup in (("xen-hvm", HostSetup(driver_domain=True)), ("xen-hvm", HostSetup()), ("kvm", HostSetup()),
                        ("microvm", HostSetup())):
        p = plan(_fd(mode, setup), "nic-driver", "hang")
        assert _effects(p) == ["io stall"] * 3 and not p.host_restart  # absence: nobody ends
        assert _down(p) == pytest.approx(expect)
        assert {w.path for w in p.vms[0].windows} == {"net"}  # absence: the disk is untouched


def test_a_disk_driver_hang_stalls_only_the_vms_that_use_the_disk():
    fd = _fd("kvm", uses={0: ["net"], 1: ["disk"], 2: []})
    p = plan(fd, "disk-driver", "hang")
    assert _effects(p) == ["none", "io stall", "none"]
    assert _down(p, 1) == pytest.approx(rc.BLOCK_TIMEOUT_S[0] + rc.DEVICE_RESET_S[0])


def test_a_warm_spare_takes_over_faster_than_a_restart():
    per = rc.FRONTEND_RECONNECT_S[0]
    spare = plan(_fd("xen-pv", HostSetup(driver_domain=True, spare_driver_domain=True)), "nic-driver", "crash")
    # the frontends (net and disk of each VM) reconnect one after another to the spare
    ends = sorted(w.end for e in spare.vms.values() for w in e.windows)
    assert ends == pytest.approx([rc.DETECT_CRASH_S[0] + k * per for k in range(1, 7)])
    cold = plan(_fd("xen-pv", HostSetup(driver_domain=True)), "nic-driver", "crash")
    assert _down(cold) > 10 * _down(spare)


@pytest.mark.parametrize("mode", ["kvm", "microvm"])
def test_a_vmm_crash_ends_its_vm_only(mode):
    p = plan(_fd(mode), "vmm", "crash", at=2.0, vm="b")
    assert _effects(p) == ["none", "dies", "none"] and not p.host_restart
    # back once it has been created and booted again and its service started (its lifecycle)
    restart = lc.restart_seconds(kit.hypervisor(mode, HW), kit.load_hardware(HW))
    assert p.vms[1].back_at == pytest.approx(2.0 + rc.DETECT_CRASH_S[0] + restart)
    hang = plan(_fd(mode), "vmm", "hang", at=2.0, vm="b")
    assert hang.vms[1].died_at == pytest.approx(2.0 + rc.DETECT_HANG_S[0])  # killed when the hang is noticed


def test_a_vhost_thread_is_kernel_code():
    crash = plan(_fd("kvm"), "vhost", "crash", vm="a")
    assert _effects(crash) == ["dies"] * 3 and crash.host_restart  # an oops in the host kernel
    hang = plan(_fd("kvm"), "vhost", "hang", vm="a")
    assert _effects(hang) == ["dies", "none", "none"]  # only its VM, restarted by an operator
    assert hang.vms[0].died_at == pytest.approx(rc.OPERATOR_S[0])


def test_the_toolstack_takes_no_vm_with_it():
    for mode, setup in (("xen-hvm", HostSetup()), ("kvm", HostSetup()), ("microvm", HostSetup())):
        for fault in ("crash", "hang"):
            p = plan(_fd(mode, setup), "toolstack", fault)
            assert _effects(p) == ["none"] * 3 and p.management_down is not None


def test_a_guest_crash_ends_itself_only():
    p = plan(_fd("xen-pv"), "guest", "crash", vm="c")
    assert _effects(p) == ["none", "none", "dies"]


def test_a_device_model_off_the_data_path_is_harmless_and_on_it_is_not():
    assert _effects(plan(_fd("xen-hvm"), "device-model", "crash", vm="a")) == ["none"] * 3
    emulated = plan(_fd("xen-hvm", io="emulated"), "device-model", "crash", vm="a")
    assert _effects(emulated) == ["dies", "none", "none"]


def test_a_hung_kernel_stops_every_vm_until_its_watchdog_panics_it():
    for mode, cid in (("kvm", "host-kernel"), ("xen-pv", "hypervisor")):
        p = plan(_fd(mode), cid, "hang", at=1.0)
        assert all(p.vms[i].paused_at == 1.0 for i in range(3))
        assert all(p.vms[i].died_at == pytest.approx(1.0 + rc.LOCKUP_DETECT_S[0]) for i in range(3))
    assert all(math.isnan(e.paused_at) for e in plan(_fd("kvm"), "nic-driver", "hang").vms.values())


def test_a_client_waits_for_tcps_next_retransmission():
    # RFC 6298 doubling from Linux's 200 ms minimum: resends at 0.2, 0.6, 1.4, 3.0, 6.2 s after the send
    assert rc.retransmission_at(0.0, 5.0) == pytest.approx(6.2)
    assert rc.retransmission_at(10.0, 10.5) == pytest.approx(10.6)
    p = plan(_fd("xen-pv", HostSetup(driver_domain=True)), "netback", "crash")
    assert client_outage(p.vms[0].windows) == pytest.approx(6.2)


# ---- the tables and the injection --------------------------------------------------------------------------

def test_the_blast_radius_of_the_four_configurations():
    b = F.blast_radius()
    assert set(b["configuration"]) == set(F.CONFIGURATIONS)
    row = b.set_index(["configuration", "component", "fault"])
    assert row.loc[("Xen, driver domain", "nic-driver", "crash"), "vms_end"] == 0
    assert row.loc[("Xen, drivers in dom0", "nic-driver", "crash"), "vms_end"] == 3
    assert row.loc[("KVM", "host-kernel", "crash"), "vms_end"] == 3
    assert row.loc[("microVM", "vmm", "crash"), "vms_end"] == 1
    assert (b[b["component"] == "toolstack"]["vms_untouched"] == 3).all()
    from kit.ui.failure_plots import blast_radius_heatmap
    fig = blast_radius_heatmap(b)
    assert [tr.name for tr in fig.data] == [None, None] and list(fig.data[0].x) == list(F.CONFIGURATIONS)
    assert list(fig.data[0].y) == list(dict.fromkeys(b["component"]))
    # every cell of the data has its text: the crash panel's KVM column says the NIC driver ends the three VMs
    row = list(fig.data[0].y).index("nic-driver")
    assert fig.data[0].text[row][list(fig.data[0].x).index("KVM")].startswith("3 end")


def _scenario(hv, setup, faults, **kw):
    return Scenario.make(name="faults", hardware=HW, hypervisor=hv, duration=6.0, seed=3,
                         hw={"disk_service_ms": 2.0}, host={"pcpus": 4, **setup},
                         vms=[{"name": "web", "workload": "netperf-rr", "params": {"clients": 2, "think_us": 20000}},
                              {"name": "batch", "workload": "spec-int"}], faults=faults, **kw)


def test_a_driver_domain_crash_leaves_other_domains_cpu_work_untouched_and_a_host_kernel_crash_ends_all():
    fault = [{"time_s": 1.0, "component": "nic-driver", "mode": "crash"}]
    dd = F.inject(_scenario("xen-hvm", {"driver_domain": True}, fault))["vms"].set_index("vm")
    assert dd.loc["batch", "effect"] == "none" and dd.loc["batch", "vcpu_paused_s"] == 0.0
    assert dd.loc["batch", "vcpu_busy_s"] == pytest.approx(dd.loc["batch", "vcpu_busy_s_without"], rel=1e-6)
    assert dd.loc["web", "survived"] and dd.loc["web", "retransmitted"] > 0 and dd.loc["web", "requests_lost"] == 0
    assert dd.loc["web", "units"] < dd.loc["web", "units_without"]
    kvm = F.inject(_scenario("kvm", {}, fault))["vms"].set_index("vm")
    assert not kvm["survived"].any()
    # the batch VM's vCPU stops at the crash (once the piece of work it is running is done) and stays stopped (the
    # host is not back within the run)
    assert kvm.loc["batch", "vcpu_paused_s"] == pytest.approx(5.0, abs=0.05)


def test_faults_are_validated_where_they_are_read():
    with pytest.raises(HvkitError, match="component"):
        _scenario("kvm", {}, [{"time_s": 1.0, "component": "nic", "mode": "crash"}])
    with pytest.raises(HvkitError, match="names VM"):
        _scenario("kvm", {}, [{"time_s": 1.0, "component": "vmm", "vm": "nope"}])
    with pytest.raises(HvkitError, match="mode"):
        _scenario("kvm", {}, [{"time_s": 1.0, "component": "vmm", "vm": "web", "mode": "explode"}])


def test_a_scenario_without_faults_runs_as_before():
    from kit.consolidation import run_scenario
    plain = _scenario("kvm", {}, []).replace(duration=0.2)
    r = run_scenario(plain, alone=False, native=False)
    assert r.faults.empty and "faults" not in r.to_json()
    # a driver domain under KVM is refused even without faults (a setting is never ignored)
    with pytest.raises(HvkitError, match="split drivers"):
        run_scenario(_scenario("kvm", {"driver_domain": True}, []).replace(duration=0.2), alone=False, native=False)


def test_availability_by_monte_carlo_has_an_interval_and_a_course():
    s, c = F.availability(replications=30, seed=1)
    assert list(s["configuration"]) == list(F.CONFIGURATIONS)
    assert ((s["ci_low"] <= s["availability"]) & (s["availability"] <= s["ci_high"])).all()
    assert ((s["availability"] > 0.99) & (s["availability"] < 1.0)).all()
    by = s.set_index("configuration")
    # drivers in a driver domain turn the host restarts their failures cause into I/O stalls
    assert by.loc["Xen, driver domain", "io_stalls_per_year"] > by.loc["Xen, drivers in dom0", "io_stalls_per_year"]
    assert by.loc["Xen, driver domain", "vm_ends_per_year"] < by.loc["Xen, drivers in dom0", "vm_ends_per_year"]
    assert len(c) == 4 * 12 and (c["p2_5"] <= c["availability"]).all()
    # the same seed gives the same numbers
    pd.testing.assert_frame_equal(s, F.availability(replications=30, seed=1)[0])


def test_the_tcb_is_data_with_sources():
    t = F.tcb()
    assert (t["source"].str.len() > 10).all()
    tot = F.tcb_totals(t).set_index(["configuration", "relation"])["kloc"]
    # a microVM's VMM is a fraction of QEMU's; a driver domain moves the drivers off what is beneath the guest
    assert tot[("microVM", "beneath")] < tot[("KVM", "beneath")]
    assert ("Xen, driver domain", "I/O path") in tot.index and ("Xen, drivers in dom0", "I/O path") not in tot.index
    hv = F.tcb({"Hyper-V": ("hyperv", {}, HostSetup())})
    assert hv["kloc"].isna().all() and (hv["source"] == "not published").all()


def test_the_fault_timeline_draws_the_worst_wait_per_interval():
    from kit.ui.failure_plots import fault_timeline
    lat = pd.DataFrame({"vm": ["a", "a", "a", "b"], "start_s": [0.01, 0.02, 0.12, 0.01],
                        "latency_us": [100.0, 300.0, 50.0, 7.0]})
    phases = pd.DataFrame([{"phase": p, "start_s": 0.05 + 0.001 * k, "end_s": 0.1}
                           for k, p in enumerate(["detection", "destroy", "build", "boot", "reconnect"])])
    fig = fault_timeline(lat, phases, bin_s=0.05)
    a = next(tr for tr in fig.data if tr.name == "a")
    assert list(a.x) == [0.0, 0.1] and list(a.y) == [0.3, 0.05]  # the worst of each 50 ms, in ms
    assert len(fig.layout.shapes) == 5
    # phases that begin close together keep their labels on different rows
    rows = [ann.yshift or 0 for ann in fig.layout.annotations]
    assert [ann.text for ann in fig.layout.annotations] == list(phases["phase"]) and len(set(rows[:4])) == 4
