"""Containers as the reference point: native CPU and memory paths, plus what veth, the bridge, NAT and an overlay
file system add; cgroup bandwidth control limits them like a capped VM."""
import pytest

import kit
from kit.costs.containers import CONNECTION_SETUP_INSTR
from kit.errors import HvkitError
from kit.sim.mode_costs import ContainerCosting, costing_for

HW = "skylake-sp-2017"


def _run(hypervisor, workload="netperf-rr", duration=0.02, **kw):
    return kit.run(kit.Spec.make(hardware=HW, hypervisor=hypervisor, workload=workload, duration=duration, seed=2,
                                 **kw))


def _category(result, name):
    b = result.breakdown
    return b[(b["category"] == name) & (b["entity"] == "vcpu")]["seconds"].sum()


@pytest.mark.slow
def test_no_nat_cost_with_host_networking():
    host = _run("container-host")
    native = _run("native")
    assert host.summary["value"].iloc[0] == native.summary["value"].iloc[0]
    assert host.summary["relative_performance"].iloc[0] == 1.0
    assert _category(host, "container network") == 0
    assert set(host.breakdown["category"]) == set(native.breakdown["category"])


@pytest.mark.slow
def test_nat_costs_more_than_a_bridge_which_costs_more_than_the_host_stack():
    rel = {io: _run("container-nat", mode={"io": io}).summary["relative_performance"].iloc[0]
           for io in ("native", "veth-bridge", "veth-nat")}
    assert rel["native"] == 1.0 > rel["veth-bridge"] > rel["veth-nat"]
    nat = _run("container-nat")
    assert _category(nat, "container network") > 0
    assert nat.exits.empty  # a container never exits: there is no hypervisor


def test_each_new_connection_is_set_up_in_conntrack_only_under_nat():
    hw, wl = kit.load_hardware(HW), kit.load_workload("apache-static")
    one = wl.with_params({"connections": 1})
    for io, grows in (("veth-nat", True), ("veth-bridge", False), ("native", False)):
        mode = kit.hypervisor("container-nat", hw, io=io)
        before = costing_for(hw, mode, wl).unit().total
        after = costing_for(hw, mode, one).unit().total
        expect = CONNECTION_SETUP_INSTR[0] * hw.val("kernel_cpi") if grows else 0.0
        assert after - before == pytest.approx(expect)


@pytest.mark.slow
def test_overlay_costs_each_disk_operation_and_copy_up_a_volume_does_not():
    hw = kit.load_hardware(HW)
    wl = kit.load_workload("fio-randread")
    overlay = costing_for(hw, kit.hypervisor("container-nat", hw), wl)
    volume = costing_for(hw, kit.hypervisor("container-nat", hw, storage="volume"), wl)
    native = costing_for(hw, kit.hypervisor("native", hw), wl)
    assert isinstance(overlay, ContainerCosting)
    assert overlay.disk_guest().total > volume.disk_guest().total == native.disk_guest().total
    writer = wl.with_params({"copy_up_kb": 64})
    assert (costing_for(hw, kit.hypervisor("container-nat", hw), writer).unit().total
            > costing_for(hw, kit.hypervisor("container-nat", hw, storage="volume"), writer).unit().total
            == costing_for(hw, kit.hypervisor("native", hw), writer).unit().total)
    r = _run("container-host", workload="fio-randread", duration=0.05)
    assert _category(r, "container storage") > 0


def test_cgroup_bandwidth_control_limits_a_container():
    def busy(caps):
        kw = dict(vcpus=2, pcpus=4, duration=1.0)
        if caps:
            kw["caps"] = caps
        r = _run("container-host", workload="spec-int", **kw)
        b = r.breakdown
        return b[(b["entity"] == "vcpu") & ~b["category"].isin(["idle", "queueing"])]["seconds"].sum()
    assert busy((100,)) == pytest.approx(1.0, rel=0.05)
    assert busy(None) == pytest.approx(2.0, rel=0.02)


@pytest.mark.parametrize("parts,match", [
    ({"cpu": "hvm"}, "runs natively"),
    ({"io": "vhost"}, "veth"),
])
def test_a_container_is_native_underneath(parts, match):
    with pytest.raises(HvkitError, match=match):
        kit.hypervisor("container-nat", HW, **parts)


@pytest.mark.parametrize("parts,match", [({"storage": "overlay"}, "container"), ({"io": "veth-nat"}, "containers")])
def test_container_parts_are_refused_for_vms(parts, match):
    with pytest.raises(HvkitError, match=match):
        kit.hypervisor("kvm", HW, **parts)


def test_containers_against_kvm_per_workload():
    r = kit.compare("sandybridge-ep-2665-2012", "netperf-rr", ["kvm", "container-nat", "container-host"],
                    duration=0.02, seed=1)
    rel = r.summary.set_index("hypervisor")["relative_performance"]
    assert rel["container-host"] == 1.0 > rel["container-nat"] > rel["kvm"]


def _per_packet_steps(hw_id, io):
    hw = kit.load_hardware(hw_id)
    c = costing_for(hw, kit.hypervisor("container-nat", hw, io=io), kit.load_workload("netperf-rr"))
    return c, c._per_packet().total


def test_docker_nat_routes_each_packet_through_the_host_with_netfilter_both_ways():
    """Docker's port mapping: each packet is routed by the host (a second IP-layer pass) with conntrack, NAT, the
    FORWARD chain and the tables on its hooks; a plain bridge only crosses veth and the bridge."""
    from kit.costs.containers import (BRIDGE_PKT_INSTR, CONNTRACK_PKT_INSTR, IP_FORWARD_PKT_INSTR,
                                      IPTABLES_TABLE_INSTR, NAT_CONTAINER_TABLE_WALKS, VETH_PKT_INSTR)
    c, bridge = _per_packet_steps("sandybridge-ep-2665-2012", "veth-bridge")
    _, nat = _per_packet_steps("sandybridge-ep-2665-2012", "veth-nat")
    cpi = c.cpi
    assert bridge == pytest.approx((VETH_PKT_INSTR[0] + BRIDGE_PKT_INSTR[0]) * cpi)
    assert nat - bridge > (IP_FORWARD_PKT_INSTR[0] + 2 * CONNTRACK_PKT_INSTR[0]) * cpi
    # a kernel of 2017 or later runs netfilter's hooks per namespace: none in the container's own
    _, nat_2017 = _per_packet_steps("skylake-sp-2017", "veth-nat")
    k = kit.load_hardware("skylake-sp-2017").val("kernel_cpi")
    assert nat / cpi - nat_2017 / k == pytest.approx(CONNTRACK_PKT_INSTR[0]
                                                     + NAT_CONTAINER_TABLE_WALKS[0] * IPTABLES_TABLE_INSTR[0])
    # a round trip of TCP_RR crosses the path twice, the request in and the response out
    hw = kit.load_hardware("sandybridge-ep-2665-2012")
    wl = kit.load_workload("netperf-rr")
    nat_c = costing_for(hw, kit.hypervisor("container-nat", hw), wl)
    host_c = costing_for(hw, kit.hypervisor("container-host", hw), wl)
    assert nat_c.request_guest().total - host_c.request_guest().total == pytest.approx(2 * nat)


def test_nat_work_on_a_bulk_stream_is_per_segment_with_offloads_and_per_frame_without():
    hw = kit.load_hardware("sandybridge-ep-2665-2012")
    wl = kit.load_workload("ttcp")
    with_off = costing_for(hw, kit.hypervisor("container-nat", hw), wl)
    without = costing_for(hw, kit.hypervisor("container-nat", hw, offload="none"), wl)
    nat = with_off._per_packet().total

    def net(c):
        return c.stream_guest("tx", 45).cycles.get("container network", 0.0)
    # offloads: one 64 KiB segment and the far end's ACKs (one per merged 16 frames); none: 45 frames, 22.5 ACKs
    assert net(with_off) == pytest.approx(nat * (1 + 3))
    assert net(without) == pytest.approx(nat * (45 + 22.5))
