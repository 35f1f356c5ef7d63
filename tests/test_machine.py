"""Your own machine: importers of real tool outputs, base: inheritance, the KVM probe (for real where /dev/kvm works,
and its refusal where it does not), and the profile fit with held-out rows."""
import csv
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kit.cli.main import main
from kit.errors import HvkitError

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "tool-outputs"
DATASET = ROOT / "data" / "machines" / "amd-epyc-pvm-guest"
MACHINE = {"hostname": "h", "cpu_model": "c", "kernel": "k", "date": "2026-01-01", "origin": "test"}


def _kvm_works(device: str = "/dev/kvm") -> bool:
    from kit.machine.kvm import KvmUnavailable, Vm
    try:
        with Vm(device):
            return True
    except KvmUnavailable:
        return False


KVM = _kvm_works()


# ---- importers: real samples --------------------------------------------------------------------------------

def _rows(doc):
    return {r["quantity"]: r for r in doc["rows"]}


def test_kvm_unit_tests_arm_micro_bench_samples():
    from kit.inputs.importers import import_files
    kunpeng = _rows(import_files("kvm-unit-tests", [SAMPLES / "kvm-unit-tests/arm-micro-bench-kunpeng920-2023.txt"],
                                 MACHINE))
    assert kunpeng["op.hvc"]["value"] == 408.0 and kunpeng["op.hvc"]["unit"] == "ns"
    assert kunpeng["op.hvc"]["op"] == "hyp_call" and kunpeng["op.mmio_read_user"]["value"] == 2306.0
    assert kunpeng["op.timer_10ms"]["value"] == 1822.0 and "op.ipi_hw" not in kunpeng
    both = import_files("kvm-unit-tests", [SAMPLES / "kvm-unit-tests/arm-micro-bench-kunpeng920-2023.txt",
                                           SAMPLES / "kvm-unit-tests/arm-micro-bench-phytium-s2500-2023.txt"], MACHINE)
    eoi = _rows(both)["op.eoi"]
    assert eoi["n"] == 2 and eoi["value"] == (26.0 + 45.0) / 2
    assert eoi["ci95"][0] < 26.0 and eoi["ci95"][1] > 45.0  # t with one degree of freedom: 12.7 x the spread / 2


def test_kvm_unit_tests_x86_table_needs_a_column_and_maps_ops():
    from kit.inputs.importers import import_files
    table = SAMPLES / "kvm-unit-tests/x86-vmexit-nested-table-2019.txt"
    with pytest.raises(HvkitError, match=r"x86-vmexit-nested-table-2019.txt:4: a table of 2 runs"):
        import_files("kvm-unit-tests", [table], MACHINE)
    after = _rows(import_files("kvm-unit-tests", [table], MACHINE, column="after"))
    assert after["op.cpuid"]["value"] == 13142 and after["op.cpuid"]["op"] == "cpuid"
    assert after["op.inl_from_qemu"]["value"] == 44826 and after["op.self_ipi_tpr"].get("op") is None


def test_importer_op_names_exist_in_the_catalogue():
    from kit.costs.ops import OPS
    from kit.inputs.importers.kvm_unit_tests import ARM_OPS, X86_OPS
    assert set(X86_OPS.values()) | set(ARM_OPS.values()) <= set(OPS)


def test_perf_kvm_samples():
    from kit.inputs.importers import import_files
    dabt = _rows(import_files("perf-kvm", [SAMPLES / "perf-kvm/perf-kvm-stat-report-arm64-dabt-2020.txt"], MACHINE,
                              duration=10.0))
    assert dabt["exit_rate.DABT_LOW"]["value"] == 66186.7 and dabt["exit_avg_us.IRQ"]["value"] == 1276.27
    assert dabt["exit_share.SYS64"]["value"] == pytest.approx(0.0003) and dabt["exit_rate.HVC64"]["role"] == "check"
    trap = _rows(import_files("perf-kvm", [SAMPLES / "perf-kvm/perf-kvm-stat-report-arm64-trap-2019.txt"], MACHINE))
    assert trap["exit_count.TRAP"]["value"] == 49040
    here = import_files("perf-kvm", [SAMPLES / "perf-kvm/perf-stat-kvm-tracepoints-probe-1.txt"], MACHINE)
    rates = _rows(here)
    assert rates["exit_rate.kvm_pio"]["value"] == pytest.approx(18916 / 2.019906920)
    assert rates["exit_rate.kvm_exit"]["value"] == 0 and any("does not emit" in n for n in here["notes"])


def test_perf_stat_and_vmstat_samples_give_per_unit_counts():
    from kit.inputs.importers import import_files
    dd = import_files("perf-stat", [SAMPLES / "perf-stat/perf-stat-dd-4k.txt"], MACHINE, units=200000)
    assert dd["per_unit"]["syscalls"] == 400125 / 200000 and dd["per_unit"]["pagefaults"] == 82 / 200000
    assert any("instructions: not supported" in n for n in dd["notes"])
    py = _rows(import_files("perf-stat", [SAMPLES / "perf-stat/perf-stat-python-json.txt"], MACHINE))
    assert py["native.page-faults"]["value"] == 11854
    vm = import_files("vmstat", [SAMPLES / "vmstat/vmstat-dd-before.txt", SAMPLES / "vmstat/vmstat-dd-after.txt"],
                      MACHINE, units=200000)
    before = dict(line.split() for line in (SAMPLES / "vmstat/vmstat-dd-before.txt").read_text().splitlines())
    after = dict(line.split() for line in (SAMPLES / "vmstat/vmstat-dd-after.txt").read_text().splitlines())
    assert vm["per_unit"]["pagefaults"] == (int(after["pgfault"]) - int(before["pgfault"])) / 200000
    other = import_files("vmstat", [SAMPLES / "vmstat/vmstat-python-before.txt",
                                    SAMPLES / "vmstat/vmstat-python-after.txt"], MACHINE)
    assert _rows(other)["native.vmstat.pgfault"]["value"] > 0


def test_fio_iperf3_netperf_samples():
    from kit.inputs.importers import import_files
    rand = import_files("fio", [SAMPLES / "fio/fio-randread-4k-psync.json"], MACHINE)
    r = _rows(rand)
    assert r["fio.randread.read.iops"]["value"] == pytest.approx(9742.419194)
    assert rand["per_unit"] == {"disk_kb": 4.0, "disk_ops": 1.0} and rand["tool"] == "fio 3.33"
    seq = import_files("fio", [SAMPLES / "fio/fio-seqwrite-128k-psync.json"], MACHINE)
    assert seq["per_unit"]["disk_kb"] == 128.0
    tcp = import_files("iperf3", [SAMPLES / "iperf3/iperf3-tcp-loopback.json"], MACHINE)
    assert _rows(tcp)["iperf3.tcp.Gbps"]["value"] == pytest.approx(6.47168457409047)
    assert tcp["machine"]["kernel"] == "6.18.44-fc-v1300" and tcp["machine"]["origin"] == "the tool's output"
    udp = _rows(import_files("iperf3", [SAMPLES / "iperf3/iperf3-udp-loopback.json"], MACHINE))
    assert "iperf3.udp.lost_percent" in udp
    rr = import_files("netperf", [SAMPLES / "netperf/netperf-tcp-rr-25g-mlx5-2019.txt"], MACHINE)
    assert _rows(rr)["netperf.tcp_rr.trans_per_s"]["value"] == 17665.59
    assert rr["params"] == {"request_bytes": 1.0, "response_bytes": 1.0}
    big = import_files("netperf", [SAMPLES / "netperf/netperf-tcp-rr-70k-mlx4-cpu-2022.txt"], MACHINE)
    assert _rows(big)["netperf.tcp_rr.trans_per_s"]["value"] == 6591.45 and big["params"]["request_bytes"] == 70000


def test_every_imported_row_says_where_and_by_what_it_was_measured():
    from kit.inputs.importers import import_files
    from kit.inputs.measurements import Measurements
    doc = import_files("fio", [SAMPLES / "fio/fio-randread-4k-psync.json"], MACHINE)
    m = Measurements.model_validate(doc)
    assert all(r.source.startswith("measured on h (c, Linux k, 2026-01-01) by fio 3.33") for r in m.rows)


MALFORMED = [
    ("kvm-unit-tests", "kvm-unit-tests-truncated.txt", ":12: truncated"),
    ("kvm-unit-tests", "kvm-unit-tests-decimal-comma.txt", ":9: .*another locale"),
    ("kvm-unit-tests", "kvm-unit-tests-other-version.txt", ":1: .*another version"),
    ("perf-kvm", "perf-kvm-truncated.txt", ":9: truncated"),
    ("perf-kvm", "perf-kvm-decimal-comma.txt", ":7: .*another locale"),
    ("perf-kvm", "perf-kvm-other-version.txt", ":5: .*another version"),
    ("perf-stat", "perf-stat-truncated.txt", ":8: truncated"),
    ("perf-stat", "perf-stat-csv.txt", ":1: CSV output"),
    ("perf-stat", "perf-stat-thousands-separator.txt", ":9: .*another locale"),
    ("fio", "fio-truncated.json", ":60: not valid JSON"),
    ("fio", "fio-version-2-latencies.json", r":\d+: job randread: .*another version"),
    ("fio", "fio-normal-output.txt", ":1: not JSON"),
    ("iperf3", "iperf3-truncated.json", ":20: not valid JSON"),
    ("iperf3", "iperf3-error.json", ":1: iperf3 reported an error"),
    ("iperf3", "iperf3-text-output.txt", ":1: not JSON"),
    ("netperf", "netperf-truncated.txt", ":7: truncated"),
    ("netperf", "netperf-keyword-output.txt", ":2: .*another format"),
    ("netperf", "netperf-decimal-comma.txt", ":9: .*another locale"),
]


@pytest.mark.parametrize("kind, name, message", MALFORMED)
def test_malformed_outputs_are_refused_with_file_and_line(kind, name, message, tmp_path, capsys):
    path = SAMPLES / "malformed" / name
    assert main(["import", kind, str(path), "-o", str(tmp_path / "m.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}" in err
    import re
    assert re.search(re.escape(name) + message, err), err
    assert not (tmp_path / "m.yaml").exists()


@pytest.mark.parametrize("before", ["vmstat-meminfo.txt", "vmstat-truncated.txt"])
def test_malformed_vmstat_is_refused(before, tmp_path, capsys):
    path = SAMPLES / "malformed" / before
    assert main(["import", "vmstat", str(path), str(SAMPLES / "vmstat/vmstat-dd-after.txt"),
                 "-o", str(tmp_path / "m.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re_line(before, err)


def re_line(name, err):
    import re
    return re.search(re.escape(name) + r":\d+: ", err)


def test_import_writes_measurements_and_an_inheriting_workload(tmp_path, capsys):
    from kit.inputs.measurements import load_measurements
    from kit.inputs.workloads import load_workload
    out, wl = tmp_path / "dd.yaml", tmp_path / "dd-copy.yaml"
    assert main(["import", "perf-stat", str(SAMPLES / "perf-stat/perf-stat-dd-4k.txt"), "--units", "200000",
                 "-o", str(out), "--workload", str(wl), "--base", "netperf-rr", "--host", "box", "--cpu", "Xeon",
                 "--kernel", "5.15", "--date", "2024-03-01"]) == 0
    m = load_measurements(out)
    assert m.machine.hostname == "box" and m.per_unit["syscalls"] == 400125 / 200000
    w = load_workload(wl)
    base = load_workload("netperf-rr")
    assert w.per_unit.syscalls == 400125 / 200000 and w.kind == base.kind and w.metric == base.metric
    assert w.provenance["syscalls"].startswith("measured on box (Xeon, Linux 5.15, 2024-03-01) by perf stat")
    assert main(["show", "workload", str(wl)]) == 0
    shown = capsys.readouterr().out
    assert "[set here; measured]" in shown and "[inherited from netperf-rr" in shown


# ---- base: inheritance --------------------------------------------------------------------------------------

def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_profile_inherits_and_overrides_only_what_differs(tmp_path, capsys):
    from kit.inputs.hardware import load_hardware
    _write(tmp_path / "mid.yaml", {"base": "skylake-sp-2017", "id": "mid", "name": "mid",
                                         "features": {"apicv": False},
                                         "params": {"exit_roundtrip_cycles": {"value": 300, "source": "what-if",
                                                                              "interval": [250, 350]}}})
    top = _write(tmp_path / "top.yaml", {"base": "mid.yaml", "id": "top", "params": {
        "kernel_cpi": {"value": 1.0, "source": "estimated, because a test says so"}}})
    sky, hw = load_hardware("skylake-sp-2017"), load_hardware(top)
    assert hw.id == "top" and hw.name == "mid" and hw.val("exit_roundtrip_cycles") == 300
    assert hw.params.exit_roundtrip_cycles.interval == [250, 350] and hw.val("kernel_cpi") == 1.0
    assert hw.features.apicv is False and hw.features.posted_interrupts == sky.features.posted_interrupts
    assert hw.params.mem_latency_ns == sky.params.mem_latency_ns
    assert main(["show", "hardware", str(top)]) == 0
    out = capsys.readouterr().out
    assert "exit_roundtrip_cycles = 300 [95% interval 250 to 350; inherited from mid]" in out
    assert "kernel_cpi = 1 [set here]" in out and "mem_latency_ns = 90 [inherited from skylake-sp-2017]" in out


def test_inheritance_refuses_cycles_unknown_bases_and_a_value_outside_its_interval(tmp_path, capsys):
    from kit.inputs.hardware import load_hardware
    from kit.inputs.workloads import load_workload
    _write(tmp_path / "a.yaml", {"base": "b.yaml", "id": "a"})
    _write(tmp_path / "b.yaml", {"base": "a.yaml", "id": "b"})
    with pytest.raises(HvkitError, match=r"a.yaml: field 'base': inheritance cycle: a -> b -> a"):
        load_hardware(tmp_path / "a.yaml")
    _write(tmp_path / "u.yaml", {"base": "skylake-sp-2016", "id": "u"})
    assert main(["show", "hardware", str(tmp_path / "u.yaml")]) == 2
    err = capsys.readouterr().err
    assert "field 'base': unknown base hardware profile" in err and "did you mean 'skylake-sp-2017'" in err
    _write(tmp_path / "w.yaml", {"base": "no-such-workload", "id": "w"})
    with pytest.raises(HvkitError, match="unknown base workload"):
        load_workload(tmp_path / "w.yaml")
    _write(tmp_path / "i.yaml", {"base": "skylake-sp-2017", "id": "i", "params": {
        "exit_roundtrip_cycles": {"value": 400, "source": "measured", "interval": [250, 350]}}})
    with pytest.raises(HvkitError, match="does not contain the value 400"):
        load_hardware(tmp_path / "i.yaml")


def test_a_workload_inherits_per_unit_counts_key_by_key(tmp_path):
    from kit.inputs.workloads import load_workload
    base = load_workload("kernel-build")
    w = load_workload(_write(tmp_path / "kb.yaml", {"base": "kernel-build", "id": "kb", "per_unit": {"syscalls": 7},
                                                   "provenance": {"syscalls": "measured on h by perf stat (test)"}}))
    assert w.per_unit.syscalls == 7 and w.per_unit.pagefaults == base.per_unit.pagefaults
    assert w.provenance["syscalls"].startswith("measured") and w.source == base.source


# ---- the probe ----------------------------------------------------------------------------------------------

def test_the_guest_programs_are_what_their_listing_assembles_to(tmp_path):
    from kit.machine.guest import GUEST_OPS, LISTING, program
    if not shutil.which("as") or not shutil.which("objcopy"):
        pytest.skip("GNU as and objcopy are not installed")
    for op in GUEST_OPS.values():
        src = tmp_path / f"{op.name}.s"
        src.write_text(LISTING.format(body=op.asm.replace("; ", "\n  ")))
        subprocess.run(["as", "--64", str(src), "-o", str(tmp_path / "p.o")], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "p.o"), str(tmp_path / "p.bin")],
                       check=True)
        assert (tmp_path / "p.bin").read_bytes() == program(op), op.name


def test_the_probe_refuses_a_missing_or_unusable_device_in_one_line(tmp_path, capsys):
    from kit.machine.kvm import KvmUnavailable
    from kit.machine.probe import probe
    missing = tmp_path / "no-kvm"
    with pytest.raises(KvmUnavailable, match="no such device"):
        probe(str(missing), ["cpuid"], replications=2, target_ms=1)
    assert main(["probe", "--device", str(missing), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{missing}: cannot probe: no such device" in err
    assert not (tmp_path / "out").exists()
    assert main(["probe", "--device", os.devnull, "-o", str(tmp_path / "out")]) == 2
    assert "not a KVM device" in capsys.readouterr().err


@pytest.mark.skipif(not KVM, reason="/dev/kvm is missing or unusable here (the refusal path is tested above)")
def test_the_probe_measures_here_and_writes_a_profile_with_intervals(tmp_path, capsys):
    from kit.inputs.hardware import load_hardware
    from kit.inputs.measurements import load_measurements
    from kit.machine.host import host_info
    out = tmp_path / "probe"
    ops = "cpuid,vmmcall,vmcall,inl_from_kernel,outl_to_kernel,inl_from_user,mmio_read_user,kick_loop"
    vendor = host_info().vendor
    ops = ",".join(o for o in ops.split(",") if o != ("vmcall" if vendor == "amd" else "vmmcall"))
    assert main(["probe", "-o", str(out), "--ops", ops, "--replications", "3", "--target-ms", "2"]) == 0
    text = capsys.readouterr().out
    assert "measured on" in text and "held out (never fitted)" in text
    m = load_measurements(out / "measurements.yaml")
    vm_rows = [r for r in m.rows if r.hypervisor == "kvm"]
    assert len(vm_rows) == len(ops.split(",")) and all(r.n == 3 and r.value > 0 for r in vm_rows)
    assert all(r.ci95[0] <= r.value <= r.ci95[1] for r in m.rows if r.ci95)
    assert m.machine.is_guest == ("hypervisor" in Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n")[0])
    assert next(r for r in m.rows if r.id == "probe:inl_from_user").device_model_cycles > 0
    hw = load_hardware(out / "profile.yaml")
    assert hw.params.exit_roundtrip_cycles.interval is not None
    assert hw.params.exit_roundtrip_cycles.source.startswith("fitted by hvkit profile fit")
    assert hw.params.freq_ghz.source.startswith("measured on")
    assert hw.params.syscall_cycles.interval is not None
    with open(out / "fit.csv") as fh:
        uses = {row["id"]: row["use"] for row in csv.DictReader(fh)}
    assert uses["probe:kick_loop"] == "check" and "test" in uses.values() and "fit" in uses.values()


# ---- the fit ------------------------------------------------------------------------------------------------

def test_the_split_holds_rows_out_and_never_fits_them():
    from kit.inputs.measurements import load_measurements
    from kit.papers.profile_fit import fit_profile, split_rows
    m = load_measurements(DATASET / "measurements.yaml")
    fit, test = split_rows(m, 0.34, 0)
    assert test == ["probe:inl_from_kernel", "probe:inl_from_user"] and not set(fit) & set(test)
    report = fit_profile("zen3-epyc-2021", m, test_ids=["probe:cpuid"])
    assert report.test_ids == ["probe:cpuid"] and "probe:cpuid" not in report.fit_ids
    fitted = report.params[report.params["status"] == "fitted"]
    assert all("probe:cpuid" not in rows for rows in fitted["rows"])
    assert all("held out (never fitted): probe:cpuid" in s for s in fitted["source"])
    with pytest.raises(HvkitError, match="not a modelled microbenchmark row"):
        fit_profile("zen3-epyc-2021", m, test_ids=["probe:native_cpuid"])


def test_the_committed_example_fit_is_reproduced_digit_for_digit():
    from kit.inputs.measurements import load_measurements
    from kit.papers.profile_fit import fit_profile
    m = load_measurements(DATASET / "measurements.yaml")
    report = fit_profile("zen3-epyc-2021", m, test_share=0.34, seed=0)
    with open(DATASET / "fit.csv") as fh:
        committed = list(csv.DictReader(fh))
    assert [r["id"] for r in committed] == list(report.rows["id"])
    for row, (_, new) in zip(committed, report.rows.iterrows()):
        assert row["use"] == new["use"]
        for col in ("measured", "model", "model_low", "model_high", "rel_error"):
            a, b = float(row[col]) if row[col] else math.nan, float(new[col])
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9), (row["id"], col)
    profile = yaml.safe_load((DATASET / "profile.yaml").read_text())
    for name, q in report.profile_params().items():
        assert profile["params"][name]["value"] == q["value"] and profile["params"][name]["interval"] == q["interval"]


def test_profile_fit_on_the_command_line_writes_an_inheriting_profile(tmp_path, capsys):
    from kit.inputs.hardware import load_hardware
    out = tmp_path / "mine.yaml"
    assert main(["profile", "fit", "--base", "zen3-epyc-2021", "--measurements", str(DATASET / "measurements.yaml"),
                 "-o", str(out), "--id", "mine"]) == 0
    text = capsys.readouterr().out
    assert "held out (never fitted): probe:inl_from_kernel, probe:inl_from_user" in text
    hw = load_hardware(out)
    assert hw.id == "mine" and hw.val("cpuid_cycles") == pytest.approx(39348.97806, rel=1e-6)
    assert yaml.safe_load(out.read_text())["base"] == "zen3-epyc-2021"
    assert main(["profile", "fit", "--base", "zen3-epyc-2021", "--measurements", str(tmp_path / "none.yaml")]) == 2
    assert main(["profile", "fit", "--base", "zen3-epyc-2021", "--measurements", str(DATASET / "measurements.yaml"),
                 "--test-share", "1.5"]) == 2
