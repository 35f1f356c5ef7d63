"""Live migration: pre-copy rounds and post-copy faults, dirty tracking per mode and CPU generation, the shared
link, and the interfaces (Python, CLI). Small VMs and light workloads keep the runs short."""
import json

import pytest

import kit
from kit.cli import main
from kit.costs.tracking import PML_ENTRIES, Tracking, choose_method
from kit.errors import HvkitError
from kit.live_migration import migrate
from kit.sim.migrator import XEN_POLICY

QUAKE = dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server", seed=3)


def _spec(**kw):
    return kit.Spec.make(**{**QUAKE, **kw})


def _mig(spec=None, **kw):
    kw.setdefault("vm_mib", 32)
    kw.setdefault("link_gbps", 1.0)
    kw.setdefault("start_s", 0.2)
    kw.setdefault("tail_s", 0.05)
    return migrate(spec or _spec(), **kw)


# ---- which tracking method a mode uses, and what it costs ---------------------------------------------------

@pytest.mark.parametrize("hardware,hypervisor,overrides,expected", [
    ("p4-xeon-2003", "xen-pv", {}, "log-dirty-shadow"),
    ("skylake-sp-2017", "xen-pv", {}, "log-dirty-shadow"),
    ("core2-2008", "kvm", {}, "log-dirty-shadow"),           # no EPT: shadow paging keeps shadows
    ("sandybridge-ep-2012", "kvm", {}, "write-protect"),       # EPT, no PML
    ("haswell-ep-2014", "kvm", {}, "write-protect"),           # A/D bits but no PML: KVM write-protects
    ("skylake-sp-2017", "kvm", {}, "pml"),
    ("skylake-sp-2017", "kvm", {"features.pml": False}, "write-protect"),
    ("skylake-sp-2017", "qemu-tcg", {}, "softmmu"),
    ("xgene-armv8-2014", "kvm", {}, "write-protect"),          # stage-2 permission faults
])
def test_the_tracking_method_follows_the_mode_and_the_cpu(hardware, hypervisor, overrides, expected):
    hw = kit.load_hardware(hardware).with_overrides(overrides)
    assert choose_method(hw, kit.hypervisor(hypervisor, hw)) == expected


def test_features_decide_which_methods_exist():
    has_ad = kit.load_hardware("haswell-ep-2014")
    assert choose_method(has_ad, kit.hypervisor("kvm", has_ad), "ad-bits") == "ad-bits"
    with pytest.raises(HvkitError, match="page-modification logging needs features.pml"):
        choose_method(has_ad, kit.hypervisor("kvm", has_ad), "pml")
    no_ad = kit.load_hardware("sandybridge-ep-2012")
    with pytest.raises(HvkitError, match="ept_ad_bits"):
        choose_method(no_ad, kit.hypervisor("kvm", no_ad), "ad-bits")
    with pytest.raises(HvkitError, match="allowed: auto, log-dirty-shadow"):
        choose_method(no_ad, kit.hypervisor("xen-pv", no_ad), "pml")


@pytest.mark.parametrize("name", ["native", "container-host", "kvm-on-kvm"])
def test_what_is_not_a_migratable_vm_is_refused(name):
    with pytest.raises(HvkitError):
        _mig(_spec(hypervisor=name))


def test_first_write_costs_order_write_protection_pml_and_dirty_bits():
    hw = kit.load_hardware("skylake-sp-2017")
    mode = kit.hypervisor("kvm", hw)
    cost = {m: sum(s.cycles for s in Tracking(hw, mode, m).first_write()) for m in ("write-protect", "pml", "ad-bits")}
    assert cost["write-protect"] > cost["pml"] > cost["ad-bits"] > 0
    assert Tracking(hw, mode, "write-protect").first_write_exits() == 1
    assert Tracking(hw, mode, "pml").first_write_exits() == pytest.approx(1 / PML_ENTRIES[0])
    assert Tracking(hw, mode, "ad-bits").first_write_exits() == 0
    # a slower exit makes write protection dearer and leaves the dirty bits alone
    slow = hw.with_overrides({"exit_roundtrip_cycles": 2000})
    assert (sum(s.cycles for s in Tracking(slow, kit.hypervisor("kvm", slow), "write-protect").first_write())
            > cost["write-protect"])
    assert sum(s.cycles for s in Tracking(slow, kit.hypervisor("kvm", slow), "ad-bits").first_write()) == cost["ad-bits"]


def test_pv_page_table_updates_pay_the_log_dirty_shadow_only_under_pv():
    hw = kit.load_hardware("p4-xeon-2003")
    assert Tracking(hw, kit.hypervisor("xen-pv", hw), "log-dirty-shadow").pte_write()
    sk = kit.load_hardware("skylake-sp-2017")
    assert not Tracking(sk, kit.hypervisor("kvm", sk), "write-protect").pte_write()


# ---- the guest pays for tracking only while it is tracked -------------------------------------------------

def test_no_dirty_tracking_cost_when_not_migrating():
    r = kit.run(_spec(duration=0.3), baseline=False)
    assert not any("dirty logging" in reason or "PML" in reason for reason in r.exits["reason"])
    assert not {"migration", "paused"} & set(r.breakdown["category"])
    m = _mig(tracking="write-protect")
    before = [s for s in m.timeline.itertuples() if s.t_s <= m.summary["start_s"]]
    assert before and all(s.tracking_share == 0 for s in before)
    assert m.summary["first_writes"] > 0 and m.summary["tracking_exits"] > 0
    assert m.summary["tracking_cpu_s"] > 0


def test_write_protection_exits_once_per_first_write_and_pml_rarely():
    wp = _mig(tracking="write-protect")
    pml = _mig(tracking="pml")
    s = wp.summary
    armed = s["rounds"] - 1  # tracking is armed for each pre-copy round: one TLB-flush exit per vCPU
    assert s["tracking_exits"] == pytest.approx(s["first_writes"] + armed)
    p = pml.summary
    assert p["tracking_exits"] == pytest.approx(p["first_writes"] / PML_ENTRIES[0] + p["rounds"] - 1)
    assert p["tracking_cpu_s"] < s["tracking_cpu_s"]


def test_dirty_logging_splits_huge_pages():
    """KVM maps a logged slot with 4 KiB pages: a guest on 2 MiB host pages walks more while it is tracked."""
    spec = _spec(workload="spec-int", mode={"guest_page": "2M", "host_page": "2M"})
    huge = _mig(spec, tracking="pml")
    small = _mig(_spec(workload="spec-int"), tracking="pml")
    assert huge.summary["tracking_cpu_s"] > small.summary["tracking_cpu_s"]


# ---- pre-copy -----------------------------------------------------------------------------------------------

def test_precopy_rounds_converge_for_a_small_writable_set():
    m = _mig()
    r = m.rounds
    assert list(r["kind"])[-1] == "stop-and-copy" and m.summary["rounds"] == len(r)
    assert r["pages"].iloc[0] >= 0.9 * 32 * 256  # the first round sends (nearly) all memory
    assert r["pages"].iloc[1:-1].is_monotonic_decreasing or len(r) <= 3
    assert m.summary["converged"]
    assert m.summary["downtime_ms"] > 0 and m.summary["total_s"] > m.summary["downtime_ms"] / 1000


@pytest.mark.slow
def test_downtime_grows_with_the_dirty_rate_under_precopy_not_postcopy():
    def run(pages, method):
        spec = _spec(params={"writable.pages_per_unit": pages, "writable.hot_fraction": 0.2})
        return _mig(spec, method=method, reference=False).summary
    low, high = run(3, "pre-copy"), run(300, "pre-copy")
    assert high["downtime_ms"] > 2 * low["downtime_ms"]
    assert high["bytes_sent"] > low["bytes_sent"]
    plow, phigh = run(3, "post-copy"), run(300, "post-copy")
    assert phigh["downtime_ms"] == pytest.approx(plow["downtime_ms"], rel=0.2)
    assert phigh["downtime_ms"] < high["downtime_ms"]


def test_xen_policy_rate_starts_at_100_and_stays_under_500_mbit():
    spec = kit.Spec.make(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="quake3-server", seed=1,
                         mode={"release": "2003"})
    m = _mig(spec, vm_mib=16, reference=False)
    assert m.summary["policy"] == "xen"
    r = m.rounds
    assert r["rate_mbps"].iloc[0] == XEN_POLICY["start_mbps"][0]
    assert (r["rate_mbps"] <= XEN_POLICY["max_mbps"][0]).all()
    # a round at the rate limit takes at least its bytes over the limit
    first = r.iloc[0]
    assert first["end_s"] - first["start_s"] >= 0.95 * first["bytes"] * 8 / (first["rate_mbps"] * 1e6)


def test_qemu_stops_when_the_expected_downtime_is_under_its_limit():
    m = _mig(reference=False, downtime_limit_ms=50)
    assert m.summary["policy"] == "qemu"
    assert m.summary["stop_reason"] == "expected downtime under the limit"


@pytest.mark.slow
def test_zero_pages_and_compression_trade_bytes_for_cpu():
    # 128 MiB of which the workload's 40 MiB footprint holds data
    plain = _mig(vm_mib=128, used_mib=16, zero_pages=False, reference=False).summary
    zero = _mig(vm_mib=128, used_mib=16, zero_pages=True, reference=False).summary
    assert zero["bytes_sent"] < 0.5 * plain["bytes_sent"]
    packed = _mig(vm_mib=128, used_mib=16, zero_pages=False, compression=True, reference=False).summary
    assert packed["bytes_sent"] < plain["bytes_sent"]
    assert packed["source_cpu_s"] > plain["source_cpu_s"]


def test_the_link_shared_with_the_workload_slows_its_responses():
    shared = _mig(link_gbps=1.0, reference=False).summary
    apart = _mig(link_gbps=1.0, shared_link=False, reference=False).summary
    assert shared["latency_p99_during_us"] > apart["latency_p99_during_us"]


@pytest.mark.slow
def test_migration_threads_run_on_both_hosts():
    s = _mig(reference=False).summary
    assert s["source_cpu_s"] > 0 and s["target_cpu_s"] > 0
    xen = _mig(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="quake3-server"),
               reference=False)
    assert set(xen.breakdown[xen.breakdown["category"] == "migration"]["scope"]) == {"host.dom0.thread0"}


# ---- post-copy ------------------------------------------------------------------------------------------------

def test_postcopy_sends_each_page_once_and_faults_on_the_target():
    m = _mig(method="post-copy", vm_mib=64, reference=False)
    s = m.summary
    assert s["rounds"] == 0 and s["pages_sent"] == 64 * 256 and s["memory_factor"] == 1.0
    assert s["postcopy_faults"] > 0 and s["postcopy_stall_s"] > 0
    assert s["downtime_ms"] < 10
    assert s["first_writes"] == 0  # nothing to track


# ---- accounting, determinism, interfaces ----------------------------------------------------------------------

def test_every_entity_accounts_the_whole_run():
    m = _mig()
    per = m.breakdown.groupby("scope")["seconds"].sum()
    assert per.to_numpy() == pytest.approx(m.summary["simulated_s"], rel=1e-9)
    assert "paused" in set(m.breakdown["category"])


def test_same_seed_same_migration():
    a, b = _mig(reference=False).summary, _mig(reference=False).summary
    assert a == b


def test_bad_options_are_one_line_errors():
    with pytest.raises(HvkitError, match="unknown migration method"):
        _mig(method="teleport")
    with pytest.raises(HvkitError, match="must be positive"):
        _mig(link_gbps=0)
    with pytest.raises(HvkitError, match="unknown pre-copy policy"):
        _mig(policy="vmware")


def test_cli_migrate_json(capsys):
    code = main(["migrate", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "quake3-server",
                 "--vm-mib", "16", "--link-gbps", "1", "--method", "post-copy", "--json"])
    assert code == 0
    rec = json.loads(capsys.readouterr().out)
    assert {"total_s", "downtime_ms", "rounds", "bytes_sent", "method"} <= set(rec)
    assert rec["method"] == "post-copy"
    assert main(["migrate", "--hardware", "skylake-sp-2017", "--hypervisor", "native", "--workload",
                 "quake3-server"]) == 2
    assert "nothing to migrate" in capsys.readouterr().err


def test_cli_migrate_table(capsys):
    assert main(["migrate", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "quake3-server",
                 "--vm-mib", "16", "--link-gbps", "1", "--start", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "pre-copy migration of quake3-server" in out and "stop-and-copy" in out
