"""Honest uncertainty: replications with a Student's t interval, digits the interval supports,
a time metric that does not depend on the horizon, and what a baseline shares with the run (neighbours)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.run import alone_spec, baseline_description, native_spec
from kit.stats import format_ci, mean_ci, replication_seed, t_interval, t_quantile
from kit.sweep import expand

ROOT = Path(__file__).resolve().parent.parent


# ---- the interval ------------------------------------------------------------------------------------------

def test_t_interval_of_three_values_by_hand():
    # 1, 2, 3: mean 2, sample sd 1; t_{0.975, 2} = 4.303 (NIST/SEMATECH table 1.3.6.7.2): half = 4.303 / sqrt(3)
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)
    assert half == pytest.approx(2.484, abs=1e-3)


def test_one_value_has_no_interval_not_a_zero_one():
    assert t_interval([5.0]) == (5.0, None)
    assert "unknown" in format_ci(5.0, None)


def test_t_quantile_lives_in_one_place():
    from kit.sim import stopping
    assert stopping.t95 is kit.stats.t95
    assert t_quantile(0.975, 2) == pytest.approx(4.303, abs=6e-4)


def test_sweep_intervals_are_students_t_not_normal():
    df = pd.DataFrame({"g": ["a"] * 3 + ["b"], "relative_performance": [1.0, 2.0, 3.0, 7.0], "error": ""})
    ci = mean_ci(df, ["g"]).set_index("g")
    assert ci.loc["a", "ci_high"] - ci.loc["a", "mean"] == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)
    # one replication: the interval is unknown (missing), not zero wide
    assert math.isnan(ci.loc["b", "ci_low"]) and math.isnan(ci.loc["b", "ci_high"])


@pytest.mark.parametrize("mean,half,text", [
    (96.7438, 2.13, "97 ± 2"),            # the interval's leading digit is units: no decimals
    (0.90123, 0.0132, "0.901 ± 0.013"),   # a leading 1 keeps a second digit
    (0.90123, 0.0432, "0.90 ± 0.04"),
    (12345.6, 260.0, "12300 ± 300"),      # tens and hundreds are rounded too
    (5.55, 0.5, "5.5 ± 0.5"),
    (1.0, 0.0, "1.000 ± 0"),              # no spread at all (a closed form): the digits are all exact
])
def test_format_ci_prints_only_the_digits_the_interval_supports(mean, half, text):
    assert format_ci(mean, half) == text


def test_format_ci_with_a_unit():
    assert format_ci(45.04, 2.6, "s") == "45 ± 3 s"


# ---- replications ------------------------------------------------------------------------------------------

SPEC = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="kernel-build", duration=0.5, seed=3)


def test_replications_report_the_mean_and_its_t_interval():
    r = kit.run(SPEC, replications=3)
    s, reps = r.summary.iloc[0], r.replicas
    assert int(s["replications"]) == 3 and len(reps) == 3
    assert list(reps["seed"]) == [replication_seed(3, i) for i in range(3)]
    assert len(set(reps["value"])) == 3  # different seeds, different samples
    mean, half = t_interval(reps["value"])
    assert s["value"] == pytest.approx(mean) and s["ci_low"] == pytest.approx(mean - half)
    assert s["ci_high"] == pytest.approx(mean + half)
    rel, rhalf = t_interval(reps["relative_performance"])
    assert s["relative_performance"] == pytest.approx(rel)
    assert s["relative_ci_high"] - s["relative_ci_low"] == pytest.approx(2 * rhalf)
    assert s["seed"] == 3  # the spec's seed, from which the replications' are derived


def test_one_replication_is_the_spec_itself_with_no_interval():
    one = kit.run(SPEC).summary.iloc[0]
    assert one["replications"] == 1 and one["seed"] == 3
    assert pd.isna(one["ci_low"]) and pd.isna(one["relative_ci_low"])


def test_replications_use_the_seeds_of_a_sweep():
    plan = expand(SPEC, replications=3)
    assert [p["spec"].seed for p in plan] == [replication_seed(3, r) for r in range(3)]


@pytest.mark.slow
def test_replications_are_the_same_in_another_process():
    here = kit.run(SPEC, replications=3).replicas[["seed", "value"]].values.tolist()
    probe = ("import json, kit; s = kit.Spec.make(hardware='skylake-sp-2017', hypervisor='kvm', "
             "workload='kernel-build', duration=0.5, seed=3); "
             "print(json.dumps(kit.run(s, replications=3).replicas[['seed', 'value']].values.tolist()))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == here


def test_compare_replicates_every_mode_and_native():
    r = kit.compare("skylake-sp-2017", "kernel-build", ["native", "kvm"], duration=0.5, replications=3)
    s = r.summary.set_index("hypervisor")
    assert (s["replications"] == 3).all()
    assert s.loc["native", "relative_performance"] == 1.0
    kvm = kit.run(SPEC.replace(seed=0), replications=3).summary.iloc[0]  # the same runs through run()
    assert s.loc["kvm", "value"] == pytest.approx(kvm["value"])
    assert s.loc["kvm", "relative_performance"] == pytest.approx(kvm["relative_performance"])


def test_cli_prints_the_supported_digits_and_json_keeps_them_all(cli):
    args = ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "kernel-build",
            "--duration", "0.5", "--seed", "3", "--replications", "3"]
    text = cli(*args).ok()
    s = kit.run(SPEC, replications=3).summary.iloc[0]
    assert format_ci(s["value"], (s["ci_high"] - s["ci_low"]) / 2, "s") in text.splitlines()[0]
    rec = cli(*args, "--json").json()
    assert rec["value"] == s["value"] and rec["ci_low"] == s["ci_low"] and rec["replications"] == 3
    assert [x["seed"] for x in rec["replicas"]] == [replication_seed(3, i) for i in range(3)]
    assert "interval is unknown" in cli(*args[:-2]).ok()


# ---- a time metric does not depend on the horizon ---------------------------------------------------------

def test_build_time_does_not_depend_on_the_duration():
    # a build time is the time per unit of work times the units of a build, from the measured rate: a run of 1 s
    # and one of 4 s estimate the same build time (within their intervals), although neither finishes a build
    spec = SPEC.replace(seed=0, vcpus=2)
    short = kit.run(spec.replace(duration=1.0), replications=5).summary.iloc[0]
    long = kit.run(spec.replace(duration=4.0), replications=5).summary.iloc[0]
    for s in (short, long):
        assert s["units"] < 1500  # no build finished within the horizon
    h_short, h_long = (short["ci_high"] - short["ci_low"]) / 2, (long["ci_high"] - long["ci_low"]) / 2
    assert abs(short["value"] - long["value"]) <= math.hypot(h_short, h_long)
    assert h_long < h_short  # a longer horizon only narrows the interval


# ---- baselines and neighbours ------------------------------------------------------------------------------

NB = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", duration=0.05,
                   pcpus=1, neighbor="spec-int", seed=2)


@pytest.mark.slow
def test_relative_is_against_native_alone_and_interference_against_the_same_vm_alone():
    s = kit.run(NB).summary.iloc[0]
    native_alone = kit.run(NB.replace(hypervisor="native", neighbor=None), baseline=False).summary.iloc[0]["value"]
    native_shared = kit.run(NB.replace(hypervisor="native"), baseline=False).summary.iloc[0]["value"]
    vm_alone = kit.run(NB.replace(neighbor=None), baseline=False).summary.iloc[0]["value"]
    assert native_shared < native_alone  # the neighbour slows native too: the two baselines differ
    assert s["native_value"] == native_alone
    assert s["relative_performance"] == pytest.approx(s["value"] / native_alone)
    assert s["alone_value"] == vm_alone
    assert s["interference"] == pytest.approx(s["value"] / vm_alone) and s["interference"] < 1.0
    assert s["relative_vs_native_with_neighbor"] == pytest.approx(s["value"] / native_shared)
    assert s["relative_performance"] < s["relative_vs_native_with_neighbor"]
    assert "no neighbour (this run has spec-int" in s["baseline"]


@pytest.mark.slow
def test_without_a_neighbour_nothing_interferes():
    s = kit.run(NB.replace(neighbor=None)).summary.iloc[0]
    assert s["interference"] == 1.0 and s["alone_value"] == s["value"]
    assert s["relative_vs_native_with_neighbor"] == s["relative_performance"]


def test_the_baseline_says_what_native_shares():
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access", pcpus=4, pin=True,
                         mode={"guest_page": "2M", "host_page": "2M"})
    text = baseline_description(spec)
    assert "guest pages 2M" in text and "4 physical CPUs" in text and "pinned" in text
    assert "not the mode's settings host_page=2M" in text
    assert native_spec(spec).mode == (("guest_page", "2M"),)  # what the text says is what native runs
    assert baseline_description(native_spec(spec)) == "this run is native alone: its own baseline"
    assert native_spec(NB).neighbor is None and native_spec(NB, keep_neighbor=True).neighbor == "spec-int"
    assert alone_spec(NB).neighbor is None and alone_spec(NB).hypervisor == "xen-hvm"


@pytest.mark.slow
def test_compare_varies_the_neighbour(cli):
    r = kit.compare("skylake-sp-2017", "netperf-rr", ["native", "xen-hvm"], neighbors=[None, "spec-int"],
                    duration=0.05, pcpus=1, seed=2)
    s = r.summary.set_index("scenario")
    assert list(s.index) == ["native + none", "xen-hvm + none", "native + spec-int", "xen-hvm + spec-int"]
    assert s.loc["native + none", "relative_performance"] == 1.0
    assert (s["native_value"] == s.loc["native + none", "value"]).all()  # one baseline: native alone
    row = kit.run(NB).summary.iloc[0]
    assert s.loc["xen-hvm + spec-int", "value"] == row["value"]
    assert s.loc["xen-hvm + spec-int", "interference"] == pytest.approx(row["interference"])
    assert s.loc["xen-hvm + spec-int", "alone_value"] == s.loc["xen-hvm + none", "value"]
    text = cli("compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--hypervisors", "xen-hvm",
               "--neighbors", "none,spec-int", "--duration", "0.05", "--set", "pcpus=1", "--seed", "2").ok()
    assert "interference" in text and "native baseline: native alone" in text and "spec-int" in text


def test_values_equal_up_to_rounding_have_no_spread():
    mean, half = t_interval([0.1 + 0.2, 0.3, 0.3])
    assert half == 0.0 and format_ci(mean, half) == "0.3000 ± 0"


def test_the_native_baseline_cache_tells_mitigations_apart():
    """Native keeps the software era's mitigations, so two specs that differ only in them have different native
    runs; the per-process cache of native values must not hand one the other's (it keyed on guest pages only)."""
    from kit.run import native_value
    base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="hackbench", duration=0.3, seed=3,
                         engine="discrete")
    off = base.replace(mode=(("mitigations", "none"),))
    on = base.replace(mode=(("mitigations", "2018"),))
    first, second = native_value(off), native_value(on)
    assert "mitigations=2018" in baseline_description(on)
    assert first == kit.run(native_spec(off), baseline=False).summary["value"].iloc[0]
    assert second == kit.run(native_spec(on), baseline=False).summary["value"].iloc[0]
    assert first != second
