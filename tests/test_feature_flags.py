"""Every hardware feature flag does what it says: turned off, each mode part that needs it changes (is resolved
to another) or the run is refused with a one-line error and exit status 2 (issue 23, section 2).

The flags are read from ``docs/formats.md``'s features table, so a new flag without a row here fails the test.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import simpy

from kit.cli.main import main
from kit.costs.microbench import microbench
from kit.costs.model import CostModel
from kit.costs.paths import EVENT_REGISTRY
from kit.costs.tracking import choose_method
from kit.errors import HvkitError
from kit.inputs.resolve import resolve_platform
from kit.inputs.workloads import load_workload
from kit.sim.devices import InterruptModeration
from kit.sim.mode_costs import costing_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def documented_flags() -> list[str]:
    """The rows of the ``features`` table in docs/formats.md (``source`` is text, not a flag)."""
    text = DOC.read_text().split("### `features`", 1)[1].split("\n\n", 2)[1]
    return [m for m in re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.M) if m != "source"]


#: flag -> (profile on which it is on, mode, mode parts, the flag's "off" value): a case where a part needs it
CASES: dict[str, tuple[str, str, dict[str, str], str]] = {
    "hw_virt": ("skylake-sp-2017", "kvm", {}, "none"),
    "nested_paging": ("skylake-sp-2017", "kvm", {}, "false"),
    "ept_ad_bits": ("skylake-sp-2017", "kvm", {}, "false"),
    "tagged_tlb": ("skylake-sp-2017", "kvm", {}, "false"),
    "tpr_shadow": ("core2-2008", "kvm", {}, "false"),
    "apicv": ("skylake-sp-2017", "kvm", {}, "false"),
    "posted_interrupts": ("skylake-sp-2017", "kvm", {}, "false"),
    "vmcs_shadowing": ("skylake-sp-2017", "kvm", {"nested": "kvm"}, "false"),
    "pml": ("skylake-sp-2017", "kvm", {}, "false"),
    "preemption_timer": ("skylake-sp-2017", "kvm", {}, "false"),
    "vhe": ("neoverse-n1-2019", "kvm", {}, "false"),
    "gic": ("xgene-armv8-2014", "kvm", {}, "none"),
    "la57": ("icelake-sp-2021", "kvm", {}, "false"),
    "iommu": ("skylake-sp-2017", "kvm-sriov", {}, "none"),
    "sriov": ("skylake-sp-2017", "kvm-sriov", {}, "false"),
    "meltdown": ("skylake-sp-2017", "kvm", {"mitigations": "2018"}, "false"),
    "l1tf": ("skylake-sp-2017", "kvm", {"mitigations": "2018"}, "false"),
    "ple": ("skylake-sp-2017", "kvm", {}, "false"),
    "tso": ("skylake-sp-2017", "kvm", {}, "false"),
    "lro": ("haswell-ep-2014", "native", {}, "false"),
    "adaptive_moderation": ("skylake-sp-2017", "kvm", {}, "false"),
}


def observe(hw_id: str, mode: str, parts: dict[str, str], hw_overrides: dict[str, str]) -> dict | None:
    """What a reader of a run sees of the hardware: the resolved parts, every operation's cycles, the migration's
    dirty tracking (each method, or refused); None when the combination is refused."""
    try:
        hw, m = resolve_platform(hw_id, mode, hw_overrides, parts)
        ops = microbench(hw, m)
    except HvkitError:
        return None
    tracking = {}
    for method in ("auto", "ad-bits", "pml"):
        try:
            tracking[method] = choose_method(hw, m, method)
        except HvkitError:
            tracking[method] = "refused"
    cm, events = CostModel(hw, m), {}
    for name, registered in EVENT_REGISTRY.items():
        try:  # every event its path needs no argument for
            events[name] = [(s.step, s.cycles) for s in (cm.path(name, 1) if registered.takes_count else cm.path(name))]
        except (TypeError, HvkitError):
            continue
    resolved = {k: v for k, v in dataclasses.asdict(m).items() if k != "resolutions"}
    return {"parts": resolved, "cycles": dict(zip(ops["op"], ops["cycles"], strict=True)), "events": events,
            "tracking": tracking, "segments": dataclasses.asdict(costing_for(hw, m, load_workload("ttcp")).seg),
            "interrupts": _moderation(hw)}


def _moderation(hw) -> list[bool]:
    """Which of a fixed sequence of request frames the NIC signals at once (its receive interrupt moderation, built
    as kit.sim.host builds it): frames at 0, 2, 4 and 200 us."""
    env = simpy.Environment()
    im = InterruptModeration(env, hw.opt("nic_rx_usecs") or 0.0, int(hw.val("nic_rx_frames_per_irq")),
                             bool(hw.features.adaptive_moderation))
    out = []
    for t in (0.0, 2e-6, 4e-6, 200e-6):
        env.run(until=t) if t > env.now else None
        out.append(im.interrupt(1) is None)
    return out


def test_every_documented_flag_has_a_case():
    assert sorted(CASES) == sorted(documented_flags())


@pytest.mark.parametrize("flag", sorted(CASES))
def test_a_flag_turned_off_changes_a_part_or_is_refused(flag, capsys):
    hw_id, mode, parts, off = CASES[flag]
    on = observe(hw_id, mode, parts, {})
    assert on is not None, f"the case of {flag} must run with the flag on"
    off_seen = observe(hw_id, mode, parts, {f"features.{flag}": off})
    if off_seen is not None:
        changed = [k for k in on if on[k] != off_seen[k]]
        assert changed, f"hw.features.{flag}={off} changes nothing for {mode} {parts} on {hw_id}"
        return
    argv = ["microbench", "--hardware", hw_id, "--hypervisor", mode, "--op", "hypercall",
            "--set", f"hw.features.{flag}={off}"]
    for key, value in parts.items():
        argv += ["--set", f"{key}={value}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err, err


@pytest.mark.parametrize(("hw_id", "off"), [("skylake-sp-2017", "apicv"), ("skylake-sp-2017", "tpr_shadow"),
                                            ("zen3-epyc-2021", "apicv")])
def test_posted_interrupts_need_apicv(hw_id, off):
    """Posted interrupts are part of APIC virtualization, which needs the TPR shadow on x86: either turned off,
    the best delivery is an injected interrupt (with a note saying why), and asking for posted is refused."""
    _, mode = resolve_platform(hw_id, "kvm", {f"features.{off}": "false"})
    assert mode.interrupts == "injected"
    assert any("needs" in note and "apicv" in note for note in mode.resolutions)
    with pytest.raises(HvkitError, match="no posted interrupts .features.posted_interrupts needs"):
        resolve_platform(hw_id, "kvm", {f"features.{off}": "false"}, {"interrupts": "posted"})


def test_apicv_off_on_the_command_line_is_refused_with_posted(capsys):
    assert main(["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "ipi",
                 "--set", "hw.features.apicv=false", "--set", "interrupts=posted"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "interrupts" in err and "apicv" in err


def test_arm_without_the_gic_virtual_cpu_interface_is_refused():
    with pytest.raises(HvkitError, match="virtual CPU interface"):
        resolve_platform("xgene-armv8-2014", "kvm", {"features.apicv": "false"})


def test_the_readme_spec_file_example_changes_the_mode():
    """The README's ``--spec exp.yaml --set PART=VALUE`` example must change what exp.yaml resolves to."""
    readme = (DOC.parents[1] / "README.md").read_text()
    saved = re.search(r"hvkit run --hardware (\S+) --hypervisor (\S+) .*--save-spec exp\.yaml", readme)
    part, value = re.search(r"hvkit run --spec exp\.yaml --set (\w+)=(\S+)", readme).groups()
    _, before = resolve_platform(saved.group(1), saved.group(2))
    _, after = resolve_platform(saved.group(1), saved.group(2), None, {part: value})
    assert getattr(before, part) != getattr(after, part)
