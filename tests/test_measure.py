"""No silent wrong answer from a run: too short to finish a unit, not finite, a failed mode, unfinished requests."""
import json

import pytest

import kit
from kit import cli
from kit.errors import HvkitError
from kit.inputs.resolve import resolve
from kit.results import latency_stats
from kit.results.validity import PEAK_SIGMAS, SHORT_RUN_TOLERANCE, peak_rate, run_warnings, unit_seconds
from kit.sim.drivers import UNIT_WORK_CV

#: six vCPUs on one CPU for 5 ms, running units of about 60 ms each
CROWDED_5MS = ["run", "--hardware", "xgene-armv8-2014", "--hypervisor", "xen-hvm", "--workload", "spec-int", "--vms",
               "3", "--vcpus", "2", "--set", "pcpus=1", "--duration", "0.005", "--seed", "742"]


def test_a_run_shorter_than_one_unit_is_refused_before_it_runs(cli):
    # before the check, this run reported a relative performance of 1.51, better than native
    err = cli(*CROWDED_5MS).error()
    assert "shorter than one unit of spec-int" in err and "xgene-armv8-2014" in err
    err = cli(*CROWDED_5MS[:-4], "--duration", "1e-12").error()
    assert "shorter than one unit of spec-int" in err and "(got 1e-12)" in err


def test_the_shortest_run_allowed_is_one_native_unit_of_average_size():
    res = resolve(kit.Spec.make(hardware="xgene-armv8-2014", hypervisor="xen-hvm", workload="spec-int"))
    hw = res.hw
    # one unit is 1e8 user instructions; at the profile's CPI and clock they take at least this long
    lower = 1e8 * hw.val("kernel_cpi") / (hw.val("freq_ghz") * 1e9)
    assert lower <= unit_seconds(res) <= 1.5 * lower
    with pytest.raises(HvkitError, match="shorter than one unit"):
        kit.run(kit.Spec.make(hardware="xgene-armv8-2014", hypervisor="xen-hvm", workload="spec-int",
                              duration=0.99 * unit_seconds(res)))


def test_a_run_in_which_no_unit_finished_is_an_error(cli):
    # long enough for one unit on an idle CPU, but six vCPUs share it: no vCPU gets 60 ms
    argv = CROWDED_5MS[:-4] + ["--duration", "0.1", "--seed", "742"]
    assert "no unit of spec-int finished in 0.1 s" in cli(*argv).error()


@pytest.mark.slow
def test_a_short_run_carries_a_warning_column(capsys):
    argv = CROWDED_5MS[:-4] + ["--duration", "1", "--seed", "742", "--json"]
    assert cli.main(argv) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["warnings"].startswith("short run: ")
    assert 0 < rec["relative_performance"] <= 1.0
    assert cli.main(argv[:-1]) == 0
    assert "\nwarning: short run: " in capsys.readouterr().out
    # a run long enough has no warning
    assert cli.main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "netperf-rr",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == ""


def test_the_short_run_warning_follows_the_units_under_way_at_the_end():
    res = resolve(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", vcpus=4))
    # four threads, each with at most one unit under way, each off by about the unit-size variation
    limit = UNIT_WORK_CV[0] * 4 / SHORT_RUN_TOLERANCE[0]
    assert "short run" in run_warnings(res, 0.9 * limit, [1.0])
    assert "short run" not in run_warnings(res, 1.1 * limit, [1.0])


def test_a_rate_above_the_peak_is_flagged():
    res = resolve(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", duration=10.0))
    peak_units = peak_rate(res) * 10.0
    assert peak_rate(res) == pytest.approx(1 / unit_seconds(res))  # one vCPU: one CPU's worth
    beyond = peak_units * (1 + PEAK_SIGMAS[0] * UNIT_WORK_CV[0] / peak_units ** 0.5) * 1.01
    assert "above the hardware's peak" in run_warnings(res, beyond, [1.0])
    assert "above the hardware's peak" not in run_warnings(res, peak_units, [1.0])


@pytest.mark.slow
def test_requests_under_way_at_the_end_are_right_censored(capsys):
    # netperf-rr under Xen HVM on one CPU beside a CPU-bound neighbour: each request waits for the neighbour's
    # rate-limited millisecond, and the last is still under way when the run ends (before, it was dropped)
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr", pcpus=1,
                         neighbor="spec-int", duration=0.04)
    r = kit.run(spec, baseline=False)
    lat = r.latency
    cens = lat[lat["censored"]]
    assert len(cens) == 1  # one client, one request under way
    end = r.summary["duration"].iloc[0]
    assert cens["latency_us"].iloc[0] == pytest.approx(end * 1e6 - cens["start_s"].iloc[0] * 1e6)
    st = latency_stats(lat).iloc[0]
    longest = max(cens["latency_us"].iloc[0], lat[~lat["censored"]]["latency_us"].max())
    assert st["censored"] == 1 and st["max_us"] == longest
    assert bool(st["max_censored"]) == (cens["latency_us"].iloc[0] == longest)  # a lower bound only if it is the max
    assert st["count"] == (~lat["censored"]).sum()
    rec = r.to_records()[0]["latency_us"]
    assert rec["censored"] == 1 and rec["max_is_lower_bound"] is bool(st["max_censored"]) and rec["max"] > 1000
    assert cli.main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "xen-hvm", "--workload", "netperf-rr",
                     "--duration", "0.04", "--set", "pcpus=1", "--set", "neighbor=spec-int"]) == 0
    out = capsys.readouterr().out
    assert f"{st['max_us']:.1f} us" in out and "1 still under way at the end" in out


@pytest.mark.slow
def test_compare_prints_every_row_when_a_mode_fails(capsys):
    # before, the table ended in KeyError: "['mean', '50%', '99%'] not in index" after computing its rows
    argv = ["compare", "--hardware", "p4-xeon-2003", "--workload", "netperf-rr", "--hypervisors", "native,xen-pv,kvm"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    table, _, latency = out.partition("request latency (us)")
    rows = {line.split()[0]: line for line in table.splitlines() if line.split()[:1] in (["native"], ["xen-pv"],
                                                                                         ["kvm"])}
    assert "error: hypervisor 'kvm' on 'p4-xeon-2003'" in rows["kvm"]
    assert "1.000" in rows["native"] and "error" not in rows["xen-pv"]
    assert "native" in latency and "xen-pv" in latency and "kvm" not in latency
    assert cli.main(argv + ["--json"]) == 0
    recs = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert [r["hypervisor"] for r in recs] == ["native", "xen-pv", "kvm"]
    assert recs[2]["error"] and recs[2]["value"] is None and recs[1]["value"] > 0


def test_compare_in_which_every_mode_fails_is_one_line_and_exit_2(cli):
    err = cli("compare", "--hardware", "p4-xeon-2003", "--workload", "netperf-rr", "--hypervisors",
              "kvm,xen-hvm").error()
    assert "no mode could run; kvm: hypervisor 'kvm' on 'p4-xeon-2003'" in err and "HVM needs hardware" in err
