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
    assert out["summary"]["all"]["median_abs_rel_error"] <= 0.15
