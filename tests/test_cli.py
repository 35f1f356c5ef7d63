"""The command line: each command's output and one-line errors, through the entry point's function
(``kit.cli.main``), and as a process of its own where the exit status the shell sees is the point."""
import pytest


@pytest.mark.slow
def test_default_prints_a_comparison_table(cli):
    r = cli.process()
    assert r.code == 0
    assert "kvm" in r.out and "hypercall" in r.out


def test_microbench_json_arm_type1_vs_type2(cli):
    kvm = cli("microbench", "--hardware", "xgene-armv8-2014", "--hypervisor", "kvm", "--op", "hypercall",
              "--json").json()
    xen = cli("microbench", "--hardware", "xgene-armv8-2014", "--hypervisor", "xen-hvm", "--op", "hypercall",
              "--json").json()
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
def test_user_errors_exit_2_with_one_line(args, needle, cli):
    assert needle in cli(*args).error()


def test_list_and_show(cli):
    hw = cli("list", "hardware", "--json").json()
    assert any(h["id"] == "xgene-armv8-2014" for h in hw)
    ops = cli("list", "ops", "--json").json()
    assert {"cpuid", "hyp_call", "pgfault", "lmbench.fork", "io_latency_in"} <= {o["op"] for o in ops}
    r = cli("show", "hypervisor", "kvm", "--hardware", "core2-2008")
    assert r.code == 0 and "shadow" in r.out and "resolved" in r.out
    r = cli("show", "hardware", "p4-xeon-2003")
    assert "Barham" in r.out


def test_set_moves_exiting_ops(cli):
    base = cli("microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "cpuid", "--json").json()
    slow = cli("microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "cpuid",
               "--set", "hw.exit_roundtrip_cycles=2000", "--json").json()
    assert slow[0]["cycles"] > base[0]["cycles"]


def test_calibrate_json(cli):
    out = cli("calibrate", "--json").json()
    assert out["summary"]["headline"] == "test"
    assert out["summary"]["fit"]["median_abs_rel_error"] <= 0.10
    assert {r["role"] for r in out["rows"]} == {"fit", "test", "native", "tautology"}


def test_run_json_has_the_documented_keys(cli):
    rec = cli("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "netperf-rr",
              "--duration", "0.01", "--set", "memory.guest_page=2M", "--set", "interrupts=posted",
              "--set", "hw.exit_roundtrip_cycles=500", "--json").json()
    for key in ("hardware", "hypervisor", "workload", "seed", "metric", "unit", "higher_is_better", "value",
                "native_value", "relative_performance", "breakdown", "exits", "events", "wall_s"):
        assert key in rec, key
    assert rec["relative_performance"] < 1


@pytest.mark.slow
def test_compare_table_and_json(cli):
    r = cli("compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--duration", "0.01",
            "--hypervisors", "native,xen-pv,kvm,kvm-sriov")
    assert r.code == 0, r.err
    assert "top contributors" in r.out and "backend: dom0" in r.out
    out = cli("compare", "--hardware", "skylake-sp-2017", "--workload", "spec-int", "--duration", "0.05",
              "--hypervisors", "native,kvm", "--json").json()
    assert [o["hypervisor"] for o in out] == ["native", "kvm"]


def test_run_bad_set_exits_2(cli):
    """As a process: the shell sees exit status 2 and one line, no traceback."""
    r = cli.process("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
                    "--set", "colour=blue")
    assert "colour" in r.error()
    r = cli("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
            "--set", "workload.mtu=10")
    assert "mtu" in r.error()


def test_show_workload_and_find_by_trait(cli):
    from kit.cli.catalog import TRAIT_NAMES
    from kit.inputs.workloads import TRAITS
    assert tuple(TRAITS) == TRAIT_NAMES
    r = cli("show", "workload", "random-access")
    assert r.code == 0
    assert "GUPS" in r.out and "random_refs" in r.out and "tlb-heavy" in r.out and "Luszczek" in r.out
    ids = {r["id"] for r in cli("list", "workloads", "--trait", "io-heavy", "--json").json()}
    assert {"netperf-rr", "ttcp", "fio-randread"} <= ids and "spec-int" not in ids
    assert "did you mean 'tlb-heavy'?" in cli("list", "workloads", "--trait", "tlb-hevy").error()


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


def test_a_misspelt_name_gets_a_suggestion(cli):
    assert "did you mean 'kvm'?" in cli("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kmv", "--workload",
                                        "spec-int").error()
    assert "did you mean 'exit_roundtrip_cycles'?" in cli("run", "--hardware", "skylake-sp-2017", "--hypervisor",
                                                          "kvm", "--workload", "spec-int",
                                                          "--set", "hw.exit_roundtrip_cycle=3").error()
    # a name far from every choice gets no guess
    assert "did you mean" not in cli("run", "--hardware", "skylake-sp-2017", "--hypervisor", "zzzzzz", "--workload",
                                     "spec-int").error()


@pytest.mark.parametrize("setting,field", [("hw.exit_roundtrip_cycles=-5", "hw.exit_roundtrip_cycles"),
                                           ("hw.features.gic=v9", "hw.features.gic"),
                                           ("workload.mtu=100", "workload.mtu")])
def test_set_errors_name_the_key_as_spelt(setting, field, cli):
    """Errors about --set values name the --set key, never the profile's inner path (params.X.value)."""
    err = cli("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "ttcp",
              "--set", setting).error()
    assert f"field '{field}'" in err and ".value" not in err
