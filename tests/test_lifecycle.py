"""The VM lifecycle (issue 24, section 3): each operation's phases follow from the mode's parts (an effect where the
mechanism is, its absence where it is not), operations scheduled in a scenario run on the host's resources and the
neighbours feel them, and ``hvkit lifecycle`` prints a VM's timeline. Expected values come from the constants'
table and the cost model's own paths, not from the code under test's totals."""
import pytest

import kit
import kit.lifecycle as L
from kit.costs import lifecycle as lc
from kit.costs.model import CostModel
from kit.errors import HvkitError
from kit.inputs.scenario import Scenario

HW = "skylake-sp-2017"


def _phases(op, mode, **shape):
    h = kit.load_hardware(HW)
    return {p.phase: p for p in lc.operation(op, kit.hypervisor(mode, h), h, lc.VmShape(**shape))}


def _sec(op, mode, phase, **shape):
    h = kit.load_hardware(HW)
    return lc.seconds(_phases(op, mode, **shape)[phase], h)


def test_create_allocates_memory_where_the_hypervisor_builds_it_and_configures_a_microvm_by_api():
    xen = _phases("create", "xen-hvm", memory_mib=2048)
    assert _sec("create", "xen-hvm", "memory allocation", memory_mib=2048) == pytest.approx(
        2 * lc.POPULATE_S_PER_GIB[0])
    assert "memory allocation" not in _phases("create", "kvm", memory_mib=2048)  # KVM backs memory on first touch
    assert "memory allocation" not in _phases("create", "microvm")
    assert _sec("create", "microvm", "API configuration") == pytest.approx(5 * lc.API_CALL_S[0])
    assert "API configuration" not in _phases("create", "microvm", preconfigured=True)
    assert "API configuration" not in _phases("create", "kvm") and xen["VMM start"].resource == "toolstack"


def test_boot_runs_firmware_and_decompresses_only_where_the_mode_does():
    for mode in ("kvm", "xen-hvm"):
        assert {"firmware", "decompression"} <= set(_phases("boot", mode)), mode
    for mode in ("microvm", "xen-pv", "xen-pvh"):  # the kernel entered directly (and Firecracker's is a vmlinux)
        assert "firmware" not in _phases("boot", mode), mode
    assert "decompression" not in _phases("boot", "microvm")
    assert _sec("boot", "kvm", "firmware") == pytest.approx(lc.FIRMWARE_S["seabios"][0])
    assert _sec("boot", "xen-hvm", "firmware") == pytest.approx(lc.FIRMWARE_S["hvmloader"][0])


def test_boot_pays_an_exit_per_console_byte_on_an_emulated_uart_and_little_on_a_pv_console():
    h = kit.load_hardware(HW)
    per_exit = sum(s.cycles for s in CostModel(h, kit.hypervisor("kvm", h)).path("pio_user"))
    expect = lc.CONSOLE_KB[0] * 1024 * lc.UART_ACCESSES_PER_BYTE[0] * per_exit
    assert _phases("boot", "kvm")["console"].amount == pytest.approx(expect)
    assert _phases("boot", "xen-pv")["console"].amount < expect / 100


def test_devices_are_enumerated_on_pci_or_named_to_the_kernel():
    assert "PCI" in _phases("boot", "kvm")["device probe"].what
    assert "virtio-mmio" in _phases("boot", "microvm")["device probe"].what
    assert _phases("boot", "microvm")["device probe"].amount < _phases("boot", "kvm")["device probe"].amount / 10
    assert _phases("boot", "xen-pv")["device probe"].resource == "wait"  # xenstore round trips to dom0


def test_first_touch_only_where_memory_is_not_built_beforehand():
    assert "first touch" in _phases("boot", "kvm") and "first touch" in _phases("boot", "microvm")
    assert "first touch" not in _phases("boot", "xen-hvm")


def test_save_and_restore_move_the_memory_through_the_disk_unless_restore_maps_it():
    save = _phases("save", "kvm", memory_mib=512)
    assert save["memory write"].amount == 512 * 2 ** 20 and save["memory write"].resource == "disk-write"
    assert _phases("restore", "kvm", memory_mib=512)["memory read"].resource == "disk-read"
    # Firecracker maps the snapshot's memory file: no read of the whole memory, pages fault in instead
    fc = _phases("restore", "microvm", memory_mib=512)
    assert fc["memory read"].resource == "toolstack" and "first touch" in fc
    assert set(_phases("pause", "kvm")) == {"pause"} and set(_phases("unpause", "kvm")) == {"unpause"}
    snap = _phases("snapshot", "microvm")
    assert list(snap) == ["pause", "device state", "memory write", "resume"]


def test_destroy_frees_all_of_a_prepopulated_guests_memory_and_what_a_lazy_one_touched():
    xen = _sec("destroy", "xen-hvm", "memory release", memory_mib=4096, touched_mib=512)
    kvm = _sec("destroy", "kvm", "memory release", memory_mib=4096, touched_mib=512)
    assert xen == pytest.approx(4 * lc.FREE_S_PER_GIB[0]) and kvm == pytest.approx(0.5 * lc.FREE_S_PER_GIB[0])
    assert "guest shutdown" in _phases("shutdown", "kvm") and "guest shutdown" not in _phases("destroy", "kvm")


def test_operations_are_refused_where_they_make_no_sense():
    h = kit.load_hardware(HW)
    with pytest.raises(HvkitError, match="native runs no VM"):
        lc.operation("boot", kit.hypervisor("native", h), h)
    with pytest.raises(HvkitError, match="not a lifecycle operation"):
        L.timeline(HW, "kvm", ["create", "fly"])
    assert lc.operation("boot", kit.hypervisor("container-nat", h), h) == []  # processes on the host kernel


def test_a_timeline_adds_its_phases_and_the_boot_table_compares_modes():
    t = L.timeline(HW, "microvm", ["create", "boot", "pause"])
    assert (t["start_s"].iloc[1:].to_numpy() == t["end_s"].iloc[:-1].to_numpy()).all()
    boot = L.boot_time(HW, ["kvm", "microvm", "xen-pv"]).set_index("hypervisor")
    # no firmware, no decompression, no PCI scan: the microVM reaches init before QEMU's guest
    assert boot.loc["microvm", "boot_to_init_s"] < boot.loc["kvm", "boot_to_init_s"]
    assert boot.loc["microvm", "firmware"] == 0.0 and boot.loc["kvm", "firmware"] > 0
    s = L.sensitivity(HW, "microvm")
    assert s["swing_s"].is_monotonic_decreasing and "CONSOLE_KB" in set(s["constant"])
    assert "FIRMWARE_S:seabios" not in set(s["constant"])  # what the microVM does not use moves nothing


def test_a_restart_after_a_failure_is_the_modes_create_and_boot():
    h = kit.load_hardware(HW)
    for mode in ("kvm", "microvm"):
        m = kit.hypervisor(mode, h)
        phases = lc.operation("create", m, h) + lc.operation("boot", m, h)
        assert lc.restart_seconds(m, h) == pytest.approx(sum(lc.seconds(p, h) for p in phases)
                                                         + lc.SERVICE_START_S[0])


def _scn(hv, events, pcpus=1, **kw):
    return Scenario.make(name="life", hardware=HW, hypervisor=hv, duration=3.0, seed=2, host={"pcpus": pcpus},
                         vms=[{"name": "web", "workload": "netperf-rr", "params": {"clients": 2, "think_us": 10000}},
                              {"name": "new", "workload": "spec-int", "memory_mib": 256}], lifecycle=events, **kw)


def test_a_booting_vm_competes_for_the_cpu_and_its_workload_waits_for_its_boot():
    out = L.run_lifecycle(_scn("kvm", [{"time_s": 0.5, "vm": "new", "op": "create"},
                                       {"time_s": 0.5, "vm": "new", "op": "boot"}]))
    t = out["timeline"]
    assert list(t["op"].unique()) == ["create", "boot"] and t["start_s"].min() == pytest.approx(0.5)
    vms = out["vms"].set_index("vm")
    booted = float(t["end_s"].max())
    # the new VM's work starts after its boot: about the share of the run that is left (units vary by some 5%)
    assert vms.loc["new", "units"] < vms.loc["new", "units_without"] * (3.0 - booted) / 3.0 * 1.2
    # one CPU shared with the booting guest under KVM (CFS): the web VM's vCPU wakes with less virtual runtime
    # than the booting one and preempts it (check_preempt_wakeup), so its tail latency barely moves
    assert vms.loc["web", "latency_p99_us"] == pytest.approx(vms.loc["web", "latency_p99_us_without"], rel=0.1)


def test_a_paused_vm_does_no_work_and_a_snapshot_keeps_it_paused():
    out = L.run_lifecycle(_scn("kvm", [{"time_s": 1.0, "vm": "new", "op": "pause"},
                                       {"time_s": 1.5, "vm": "new", "op": "snapshot"}], pcpus=2))
    vms = out["vms"].set_index("vm")
    assert vms.loc["new", "units"] == pytest.approx(vms.loc["new", "units_without"] / 3.0, rel=0.1)
    snap = out["timeline"][out["timeline"]["op"] == "snapshot"]
    assert set(snap["phase"]) == {"pause", "device state", "memory write", "resume"}
    # two CPUs for two vCPUs: the web VM barely notices
    assert vms.loc["web", "relative_to_without"] == pytest.approx(1.0, abs=0.05)


def test_lifecycle_events_are_validated():
    with pytest.raises(HvkitError, match="lifecycle event names VM"):
        _scn("kvm", [{"time_s": 1.0, "vm": "ghost", "op": "pause"}])
    with pytest.raises(HvkitError, match="op"):
        _scn("kvm", [{"time_s": 1.0, "vm": "new", "op": "fly"}])
    with pytest.raises(HvkitError, match="source"):
        _scn("kvm", [{"time_s": 1.0, "vm": "new", "op": "clone"}])
    with pytest.raises(HvkitError, match="boots only after its create"):
        L.run_lifecycle(_scn("kvm", [{"time_s": 1.0, "vm": "new", "op": "boot"}]))


def test_hvkit_lifecycle_prints_a_timeline(cli):
    r = cli("lifecycle", "--hardware", HW, "--hypervisor", "microvm", "--ops", "create,boot,destroy")
    assert r.code == 0 and "kernel init" in r.out and "per operation" in r.out and "firmware" not in r.out
    bad = cli("lifecycle", "--hardware", HW, "--hypervisor", "kvm", "--ops", "create,fly")
    assert bad.code == 2 and "not a lifecycle operation" in bad.err


def test_the_timeline_figure_has_a_bar_per_resource():
    from kit.ui.lifecycle_plots import lifecycle_timeline
    t = L.timeline(HW, "kvm", ["create", "boot", "snapshot"])
    fig = lifecycle_timeline(t, by="op")
    assert {tr.name for tr in fig.data} == set(t["resource"])
    assert sum(len(tr.x) for tr in fig.data) == len(t)


def test_a_clone_waits_for_its_source_snapshot_and_restores_it():
    scn = Scenario.make(name="clone", hardware=HW, hypervisor="microvm", duration=2.0, seed=2, host={"pcpus": 2},
                        vms=[{"name": "src", "workload": "spec-int", "memory_mib": 256},
                             {"name": "dst", "workload": "spec-int", "memory_mib": 256}],
                        lifecycle=[{"time_s": 0.5, "vm": "src", "op": "snapshot"},
                                   {"time_s": 1.0, "vm": "dst", "op": "clone", "source": "src"}])
    out = L.run_lifecycle(scn)
    t, vms = out["timeline"], out["vms"].set_index("vm")
    clone = t[t["op"] == "clone"]
    assert clone["start_s"].min() == pytest.approx(1.0) and "memory read" in set(clone["phase"])
    assert vms.loc["dst", "units"] < 0.6 * vms.loc["dst", "units_without"]  # nothing before the clone
    early = Scenario.make(**{**scn.model_dump(), "lifecycle": [{"time_s": 0.2, "vm": "dst", "op": "clone",
                                                                 "source": "src"}]})
    with pytest.raises(HvkitError, match="no snapshot yet"):
        L.run_lifecycle(early)


@pytest.mark.slow
def test_a_migrated_vm_leaves_the_host_after_its_stop_and_copy():
    scn = Scenario.make(name="migrate", hardware=HW, hypervisor="kvm", duration=4.0, seed=2, host={"pcpus": 2},
                        vms=[{"name": "web", "workload": "netperf-rr", "params": {"clients": 2, "think_us": 10000}},
                             {"name": "mover", "workload": "spec-int", "memory_mib": 128}],
                        lifecycle=[{"time_s": 0.5, "vm": "mover", "op": "migrate"}])
    out = L.run_lifecycle(scn)
    t = out["timeline"]
    assert list(t["phase"]) == ["pre-copy", "stop-and-copy"]
    left = float(t["end_s"].max())
    vms = out["vms"].set_index("vm")
    assert vms.loc["mover", "units"] < vms.loc["mover", "units_without"] * left / 4.0 * 1.2


def test_the_neighbours_latency_is_split_by_operation():
    import pandas as pd
    t = pd.DataFrame([{"vm": "a", "op": "boot", "phase": "x", "resource": "vcpu", "start_s": 1.0, "end_s": 2.0,
                       "what": ""}])
    lat = pd.DataFrame({"vm": ["b"] * 4 + ["a"], "start_s": [0.5, 1.2, 1.5, 3.0, 1.1],
                        "latency_us": [10.0, 50.0, 70.0, 20.0, 999.0]})
    n = L.neighbour_latency(t, lat).iloc[0]
    # b's requests that began during a's boot (1.2, 1.5) against those outside it (0.5, 3.0); a's own are left out
    assert (n["neighbour"], n["requests_during"], n["p50_during_us"], n["p50_outside_us"]) == ("b", 2, 60.0, 15.0)


def test_hvkit_run_scenario_prints_the_lifecycle(cli, tmp_path):
    import yaml
    scn = _scn("microvm", [{"time_s": 0.2, "vm": "new", "op": "create"}, {"time_s": 0.2, "vm": "new", "op": "boot"}])
    path = tmp_path / "life.yaml"
    path.write_text(yaml.safe_dump(scn.replace(duration=1.0).model_dump(mode="json")))
    r = cli("run", "--scenario", str(path))
    assert r.code == 0, r.err
    assert "lifecycle:" in r.out and "kernel init" in r.out
    j = cli("run", "--scenario", str(path), "--json")
    assert {"op": "boot", "phase": "console"}.items() <= next(x for x in __import__("json").loads(j.out)["lifecycle"]
                                                              if x["phase"] == "console").items()
