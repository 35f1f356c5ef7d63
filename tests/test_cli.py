"""The command line, run as a user runs it (a subprocess of the installed entry point)."""
import json
import subprocess
import sys

import pytest


def hvkit(*args):
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, timeout=120)


def test_default_prints_a_comparison_table():
    r = hvkit()
    assert r.returncode == 0
    assert "kvm" in r.stdout and "hypercall" in r.stdout


def test_microbench_json_arm_type1_vs_type2():
    kvm = json.loads(hvkit("microbench", "--hardware", "xgene-armv8-2014", "--hypervisor", "kvm",
                           "--op", "hypercall", "--json").stdout)
    xen = json.loads(hvkit("microbench", "--hardware", "xgene-armv8-2014", "--hypervisor", "xen-hvm",
                           "--op", "hypercall", "--json").stdout)
    for rec in (kvm[0], xen[0]):
        assert {"op", "hardware", "hypervisor", "cycles", "us", "path"} <= set(rec)
        assert all({"step", "cycles"} <= set(s) for s in rec["path"])
    assert kvm[0]["cycles"] > 10 * xen[0]["cycles"]
    assert any("VGIC" in s["step"] for s in kvm[0]["path"])
    assert not any("VGIC" in s["step"] for s in xen[0]["path"])


@pytest.mark.parametrize("args,needle", [
    (["microbench", "--hardware", "nope", "--hypervisor", "kvm"], "skylake-sp-2017"),
    (["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvmm"], "xen-pv"),
    (["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "warp"], "cpuid"),
    (["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--set", "memory=magic"], "shadow"),
    (["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--set", "hw.exit_roundtrip_cycles=x"], "number"),
    (["list", "things"], "hardware"),
    (["show", "hypervisor", "kvm", "--hardware", "p4-xeon-2003"], "allowed"),
])
def test_user_errors_exit_2_with_one_line(args, needle):
    r = hvkit(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert needle in lines[0]


def test_list_and_show():
    hw = json.loads(hvkit("list", "hardware", "--json").stdout)
    assert any(h["id"] == "xgene-armv8-2014" for h in hw)
    ops = json.loads(hvkit("list", "ops", "--json").stdout)
    assert {"cpuid", "hyp_call", "pgfault", "lmbench.fork", "io_latency_in"} <= {o["op"] for o in ops}
    r = hvkit("show", "hypervisor", "kvm", "--hardware", "core2-2008")
    assert r.returncode == 0 and "shadow" in r.stdout and "resolved" in r.stdout
    r = hvkit("show", "hardware", "p4-xeon-2003")
    assert "Barham" in r.stdout


def test_set_moves_exiting_ops():
    base = json.loads(hvkit("microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "cpuid", "--json").stdout)
    slow = json.loads(hvkit("microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "cpuid",
                            "--set", "hw.exit_roundtrip_cycles=2000", "--json").stdout)
    assert slow[0]["cycles"] > base[0]["cycles"]


def test_calibrate_json():
    out = json.loads(hvkit("calibrate", "--json").stdout)
    assert out["summary"]["headline"] == "test"
    assert out["summary"]["fit"]["median_abs_rel_error"] <= 0.10
    assert {r["role"] for r in out["rows"]} == {"fit", "test", "native", "tautology"}


def test_run_json_has_the_documented_keys():
    r = hvkit("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "netperf-rr",
              "--duration", "0.01", "--set", "memory.guest_page=2M", "--set", "interrupts=posted",
              "--set", "hw.exit_roundtrip_cycles=500", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    for key in ("hardware", "hypervisor", "workload", "seed", "metric", "unit", "higher_is_better", "value",
                "native_value", "relative_performance", "breakdown", "exits", "events", "wall_s"):
        assert key in rec, key
    assert rec["relative_performance"] < 1


def test_compare_table_and_json():
    r = hvkit("compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--duration", "0.01",
              "--hypervisors", "native,xen-pv,kvm,kvm-sriov")
    assert r.returncode == 0, r.stderr
    assert "top contributors" in r.stdout and "backend: dom0" in r.stdout
    out = json.loads(hvkit("compare", "--hardware", "skylake-sp-2017", "--workload", "spec-int", "--duration", "0.05",
                           "--hypervisors", "native,kvm", "--json").stdout)
    assert [o["hypervisor"] for o in out] == ["native", "kvm"]


def test_run_bad_set_exits_2():
    r = hvkit("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
              "--set", "colour=blue")
    assert r.returncode == 2 and "colour" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = hvkit("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
              "--set", "workload.mtu=10")
    assert r.returncode == 2 and "mtu" in r.stderr


def test_show_workload_and_find_by_trait(capsys):
    from kit.cli import main
    from kit.cli.catalog import TRAIT_NAMES
    from kit.inputs.workloads import TRAITS
    assert tuple(TRAITS) == TRAIT_NAMES
    assert main(["show", "workload", "random-access"]) == 0
    out = capsys.readouterr().out
    assert "GUPS" in out and "random_refs" in out and "tlb-heavy" in out and "Luszczek" in out
    assert main(["list", "workloads", "--trait", "io-heavy", "--json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert {"netperf-rr", "ttcp", "fio-randread"} <= ids and "spec-int" not in ids
    assert main(["list", "workloads", "--trait", "tlb-hevy"]) == 2
    assert "did you mean 'tlb-heavy'?" in capsys.readouterr().err


def test_every_option_of_every_command_says_what_it_does_and_each_command_has_examples():
    import argparse

    from kit.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, cmd in sub.choices.items():
        for action in cmd._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"hvkit {name}: {action.option_strings or action.dest} has no help"
        assert cmd.epilog and "examples:" in cmd.epilog and f"hvkit {name}" in cmd.epilog, name
