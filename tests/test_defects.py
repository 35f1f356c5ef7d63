"""Defects found in review, each with a test that failed before its fix."""
import pytest

import kit
from kit.errors import HvkitError
from kit.inputs.spec import Spec
from kit.results import Result


def _steps(hw, mode, op, **mode_overrides):
    df = kit.microbench(hw, mode, [op], mode_overrides=mode_overrides)
    return [s["step"] for s in df["path"].iloc[0]]


def _event_steps(hw, mode, event, **mode_overrides):
    from kit.costs import CostModel
    h = kit.load_hardware(hw)
    return [s.step for s in CostModel(h, kit.hypervisor(mode, h, **mode_overrides)).path(event)]


def test_full_emulation_with_vhost_takes_no_hardware_exit():
    """QEMU TCG runs without VT-x: a vhost interrupt reaches the emulated CPU without a VM exit or entry."""
    for event in ("io_notify", "io_signal_in"):
        steps = _event_steps("skylake-sp-2017", "qemu-tcg", event, io="vhost")
        assert not any(s.startswith(("VM exit", "VM entry", "trap to EL2")) for s in steps), steps
    # the same interrupt to a running vCPU under KVM (no posted interrupts on Sandy Bridge) does exit
    kvm = _event_steps("sandybridge-ep-2012", "kvm", "io_notify")
    assert any(s.startswith("VM exit") for s in kvm), kvm


def test_concat_keeps_the_timeline():
    a = kit.run(Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.002),
                baseline=False, trace_s=0.001)
    b = kit.run(Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", duration=0.002),
                baseline=False, run_id=1, trace_s=0.001)
    assert len(a.timeline) and len(b.timeline)
    both = Result.concat([a, b])
    assert len(both.timeline) == len(a.timeline) + len(b.timeline)
    assert set(both.timeline["run"]) == {0, 1}


def test_a_zero_cap_means_uncapped():
    """The README documents caps=50,0: the second VM is not capped."""
    s = Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="spec-int", vms=2).with_sets(
        [("caps", "50,0")])
    assert s.caps == (50, 0)
    with pytest.raises(HvkitError, match="caps"):
        s.with_sets([("caps", "-5,0")])
    with pytest.raises(HvkitError, match="weights"):
        s.with_sets([("weights", "256,0")])


def test_hvkit_root_moves_every_catalogue(tmp_path, monkeypatch):
    """$HVKIT_ROOT relocates hardware profiles as well as workloads and published data."""
    from kit.inputs.files import catalogue_dir
    src = catalogue_dir("hw_profiles") / "skylake-sp-2017.yaml"
    (tmp_path / "hw_profiles").mkdir()
    (tmp_path / "workloads").mkdir()
    (tmp_path / "hw_profiles" / "skylake-sp-2017.yaml").write_text(src.read_text())
    monkeypatch.setenv("HVKIT_ROOT", str(tmp_path))
    assert kit.list_hardware() == ["skylake-sp-2017"]
    assert catalogue_dir("workloads") == tmp_path / "workloads"
    assert catalogue_dir("data") == tmp_path / "data"


@pytest.mark.parametrize("feature", ["la57"])
def test_a_feature_no_mechanism_reads_cannot_be_set(feature):
    """No setting is silently ignored: a feature flag that changes nothing is refused as not modelled yet."""
    hw = kit.load_hardware("skylake-sp-2017")
    with pytest.raises(HvkitError, match="not modelled yet"):
        hw.with_overrides({f"features.{feature}": "true"})


@pytest.mark.parametrize("hypervisor", ["xen-hvm", "kvm"])
def test_caps_hold_under_credit_and_cfs(hypervisor):
    """A 50% cap holds under Xen credit (credit cap) and under CFS (cgroup bandwidth control); before the fix
    CFS ignored caps silently."""
    def busy(caps):
        kw = dict(hardware="skylake-sp-2017", hypervisor=hypervisor, workload="spec-int", vcpus=2, pcpus=4,
                  duration=1.0)
        if caps:
            kw["caps"] = caps
        r = kit.run(Spec.make(**kw), baseline=False)
        b = r.breakdown
        return b[(b["entity"] == "vcpu") & ~b["category"].isin(["idle", "queueing"])]["seconds"].sum()
    assert busy((50,)) == pytest.approx(0.5, rel=0.05)
    assert busy(None) == pytest.approx(2.0, rel=0.02)


def test_cfs_bandwidth_period_is_linux_default():
    from kit.sim.policies import CFS
    assert CFS["bandwidth_period_ms"][0] == 100


def test_one_name_is_one_mode_and_one_op():
    r = kit.compare("skylake-sp-2017", "spec-int", "kvm", duration=0.05)
    assert list(r.summary["hypervisor"]) == ["kvm"]
    df = kit.microbench("skylake-sp-2017", "kvm", "hypercall")
    assert list(df["op"]) == ["hypercall"]


def test_a_misspelt_name_gets_a_suggestion(capsys):
    from kit.cli import main
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kmv", "--workload", "spec-int"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'kvm'?" in err and len(err.splitlines()) == 1
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
                 "--set", "hw.exit_roundtrip_cycle=3"]) == 2
    assert "did you mean 'exit_roundtrip_cycles'?" in capsys.readouterr().err
    # a name far from every choice gets no guess
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "zzzzzz", "--workload", "spec-int"]) == 2
    assert "did you mean" not in capsys.readouterr().err


@pytest.mark.parametrize("setting,field", [("hw.exit_roundtrip_cycles=-5", "hw.exit_roundtrip_cycles"),
                                           ("hw.features.gic=v9", "hw.features.gic"),
                                           ("workload.mtu=100", "workload.mtu")])
def test_set_errors_name_the_key_as_spelt(setting, field, capsys):
    """Errors about --set values name the --set key, never the profile's inner path (params.X.value)."""
    from kit.cli import main
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "ttcp",
                 "--set", setting]) == 2
    err = capsys.readouterr().err
    assert f"field '{field}'" in err and ".value" not in err and len(err.splitlines()) == 1
