"""The bad-input suite: every input a hostile or careless user can give, and what hvkit must answer.

Each case is (name, class, input, expected message fragment or expected result). An input expected to be refused
must give one line on stderr naming the problem, exit status 2 and nothing on stdout (through ``kit.cli.main``),
or one :class:`kit.HvkitError` (through the Python API); an input expected to be accepted must give a correct
result, checked by the case. The classes: ``--set``, hardware profiles (every way a profile file can be wrong,
each error naming the file), workloads, sweep files, the Python API, command-line arguments, paths, inputs that
exhaust resources, and results that are not measurements. The output and store cases of ``hvkit sweep``
(symlinks, FIFOs, permissions, full disks, locks) are in ``tests/test_sweep_inputs.py`` (they need the store's
internals patched) and are counted with these.

The same table classifies what an older kit does with every input (``python tests/test_bad_inputs.py --census
TREE``, one subprocess per case, with a timeout and a memory limit): correct, a one-line error with another
message, a traceback, a silent wrong answer, a hang, a crash.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

#: the tree whose catalogues the cases copy (the census points it at the tree under test)
ROOT = Path(os.environ.get("HVKIT_BAD_INPUTS_TREE") or Path(__file__).resolve().parent.parent)
PROFILE = ROOT / "hw_profiles" / "skylake-sp-2017.yaml"
ARM_PROFILE = ROOT / "hw_profiles" / "xgene-armv8-2014.yaml"
WORKLOAD = ROOT / "workloads" / "netperf-rr.yaml"

RUN = ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "netperf-rr",
       "--duration", "0.002"]
MICRO = ["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "cpuid"]
SWEEP_BASE = "base: {hardware: skylake-sp-2017, hypervisor: kvm, workload: netperf-rr, duration: 0.002, seed: 1}\n"
#: six vCPUs on one CPU, running units of about 60 ms each: a short run of it finishes few units or none
CROWDED = ["run", "--hardware", "xgene-armv8-2014", "--hypervisor", "xen-hvm", "--workload", "spec-int",
           "--vms", "3", "--vcpus", "2", "--set", "pcpus=1", "--seed", "742"]


@dataclass(frozen=True)
class Api:
    """A Python API call (``fn(tmp)``), as opposed to a command line."""

    fn: Callable[[Path], Any]


@dataclass(frozen=True)
class Case:
    name: str
    cls: str
    #: ``tmp -> argv`` (a command line) or ``tmp -> Api``
    make: Callable[[Path], Any]
    #: the fragment (or every fragment of a tuple) the one-line error must contain; None when a correct result is
    #: expected
    fragment: str | tuple[str, ...] | None
    #: for an accepted input: is the result right? (stdout of the command, or the value returned)
    check: Callable[[Any], bool] | None = field(default=None, compare=False)


CASES: list[Case] = []


def case(name, cls, make, fragment=None, check=None):
    CASES.append(Case(name, cls, make, fragment, check))


def argv(*a):
    return lambda tmp: list(a)


def api(fn):
    return lambda tmp: Api(fn)


def write(tmp: Path, name: str, content: str | bytes) -> str:
    p = tmp / name
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    return str(p)


def _no_nan(text: str) -> bool:
    """Strict JSON (no NaN or Infinity) whose numbers are all finite."""
    def refuse(c):
        raise ValueError(c)
    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


def _run_json_ok(text: str) -> bool:
    if not _no_nan(text):
        return False
    rec = json.loads(text)
    rec = rec[0] if isinstance(rec, list) else rec
    return rec["error"] in ("", None) and rec["value"] > 0 and 0 < rec["relative_performance"] < 10


# ---- 1. --set ----------------------------------------------------------------------------------------------
SET = "--set"
for key, value, frag in [
    ("hw.exit_roundtrip_cycles", "nan", "not a finite number"),
    ("hw.exit_roundtrip_cycles", "inf", "not a finite number"),
    ("hw.exit_roundtrip_cycles", "-inf", "not a finite number"),
    ("hw.exit_roundtrip_cycles", "1e400", "not a finite number"),
    ("hw.exit_roundtrip_cycles", "NaN", "not a finite number"),
    ("hw.exit_roundtrip_cycles", "abc", "not a number"),
    ("hw.exit_roundtrip_cycles", "", "not a number"),
    ("hw.exit_roundtrip_cycles", "-5", "must not be negative"),
    ("hw.freq_ghz", "0", "must be positive"),
    ("hw.freq_ghz", "-2", "must be positive"),
    ("hw.freq_ghz", "1e-300", "longer than any run may be"),
    ("hw.freq_ghz", "inf", "not a finite number"),
    ("hw.sockets", "nan", "not a finite number"),
    ("hw.sockets", "1.5", "must be a whole number"),
    ("hw.page_levels", "9", "out of range"),
    ("hw.nope", "1", "unknown hardware parameter"),
    ("hw.features.apicv", "maybe", "not a boolean"),
    ("hw.features.la57", "true", "not modelled yet"),
    ("hw.features.warp", "true", "unknown hardware feature"),
    ("hw.features.hw_virt", "none", "no VM exits"),
    ("vcpus", "0", "field 'vcpus'"),
    ("vcpus", "1.5", "not a whole number"),
    ("vcpus", "true", "field 'vcpus'"),
    ("vcpus", "nan", "not a finite number"),
    ("vcpus", "100000", "field 'vcpus'"),
    ("vms", "0", "field 'vms'"),
    ("pcpus", "0", "field 'pcpus'"),
    ("pin", "maybe", "not a boolean"),
    ("weights", "0", "weights must be positive"),
    ("weights", "a,b", "field 'weights'"),
    ("weights", "256,256", "one value per VM"),
    ("caps", "-1", "caps are percent of one CPU"),
    ("duration", "0", "field 'duration'"),
    ("duration", "nan", "not a finite number"),
    ("duration", "1e9", "field 'duration'"),
    ("seed", "-1", "field 'seed'"),
    ("seed", "0.5", "not a whole number"),
    ("dom0_vcpus", "0", "field 'dom0_vcpus'"),
    ("memory", "magic", "field 'memory'"),
    ("io", "telepathy", "field 'io'"),
    ("memory.guest_page", "3M", "guest_page"),
    ("shadow_cache", "perhaps", "not a boolean"),
    ("neighbor", "nope", "unknown workload"),
    ("workload.nope", "1", "unknown workload parameter"),
    ("workload.kind", "stream", "not a setting"),
    ("workload.metric", "speed", "not a setting"),
    ("workload.mtu", "100", "field 'workload.mtu'"),
    ("workload.mtu", "nan", "not a finite number"),
    ("workload.clients", "0", "clients"),
    ("workload.clients", "2.5", "clients"),
    ("colour", "red", "unknown setting"),
]:
    case(f"--set {key}={value}", "set", argv(*RUN, SET, f"{key}={value}"), frag)
case("--set without =", "set", argv(*RUN, SET, "vcpus"), "--set takes key=value")
case("--set with an empty key", "set", argv(*RUN, SET, "=5"), "--set takes key=value")
case("--set interrupts=posted without the hardware", "set",
     argv("run", "--hardware", "p4-xeon-2003", "--hypervisor", "xen-pv", "--workload", "netperf-rr", "--duration",
          "0.002", SET, "interrupts=posted"), "interrupts")
case("microbench --set hw.exit_roundtrip_cycles=nan", "set",
     argv(*MICRO, SET, "hw.exit_roundtrip_cycles=nan"), "not a finite number")
case("microbench --set vcpus=2 (not a CPU or mode part)", "set", argv(*MICRO, SET, "vcpus=2"),
     "not used by microbench")
case("show hypervisor --set workload.mtu=500", "set",
     argv("show", "hypervisor", "kvm", "--hardware", "skylake-sp-2017", SET, "workload.mtu=500"),
     "not used by show hypervisor")
case("--set hw.exit_roundtrip_cycles=200 is applied", "set", argv(*MICRO, SET, "hw.exit_roundtrip_cycles=200",
                                                                 "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)[0]["cycles"] > 200)
case("--set vcpus=1e0 is one vCPU", "set", argv(*RUN, SET, "vcpus=1e0", "--json"), check=_run_json_ok)


# ---- 2. hardware profiles ----------------------------------------------------------------------------------
def profile_text() -> str:
    return PROFILE.read_text()


def profile(edit: Callable[[str], str], base: Path = PROFILE):
    """A profile written to ``hw.yaml`` (which its error must name): ``base``'s text, edited."""
    def make(tmp):
        return ["microbench", "--hardware", write(tmp, "hw.yaml", edit(base.read_text())), "--hypervisor", "kvm",
                "--op", "cpuid"]
    return make


def as_data(change: Callable[[dict], Any]) -> Callable[[str], str]:
    """An edit of the profile read as data: ``change`` alters the mapping in place."""
    def edit(text):
        data = yaml.safe_load(text)
        change(data)
        return yaml.safe_dump(data)
    return edit


def sub_value(param: str, value: str) -> Callable[[str], str]:
    def edit(text):
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.startswith(f"  {param}: {{value: "):
                rest = line.split(", source:", 1)[1]
                lines[i] = f"  {param}: {{value: {value}, source:{rest}"
                return "".join(lines)
        raise KeyError(param)
    return edit


for param, value, frag in [
    ("freq_ghz", ".nan", "not a finite number"), ("freq_ghz", ".inf", "not a finite number"),
    ("freq_ghz", "-.inf", "not a finite number"), ("freq_ghz", "0", "must be positive"),
    ("freq_ghz", "fast", ("params.freq_ghz.value", "not a number", "'fast'")),
    ("freq_ghz", "true", "a boolean is not a number"),
    ("freq_ghz", "[1, 2]", "not a number"), ("sockets", "1.5", "must be a whole number"),
    ("exit_roundtrip_cycles", "-1", ("params.exit_roundtrip_cycles.value", "must not be negative", "-1",
                                     "allowed: a number >= 0")),
    ("page_levels", "7", "out of range"),
    ("page_levels", "3.5", ("params.page_levels.value", "must be a whole number")),
    ("tlb_entries", "1e400", "not a finite number"),
]:
    case(f"profile {param}: {value}", "profile", profile(sub_value(param, value)), frag)
for name, edit, frag in [
    ("unknown top-level key", lambda t: t + "colour: red\n", ("field 'colour'", "unknown key", "allowed:", "params")),
    ("unknown parameter", lambda t: t.replace("params:\n", "params:\n  warp_factor: {value: 9, source: \"made up\"}\n"),
     ("params.warp_factor", "unknown key", "exit_roundtrip_cycles")),
    ("unknown feature", as_data(lambda d: d["features"].update(warp_drive=True)),
     ("features.warp_drive", "unknown key", "nested_paging")),
    ("missing parameter", as_data(lambda d: d["params"].pop("freq_ghz")), ("params.freq_ghz", "missing")),
    ("a bare number for a quantity", as_data(lambda d: d["params"].update(freq_ghz=2.0)),
     ("params.freq_ghz", "valid dictionary or instance of Quantity")),
    ("an estimate without its reason", as_data(lambda d: d["params"]["freq_ghz"].update(source="estimated")),
     ("params.freq_ghz.source", "estimated, because")),
    ("duplicate key", lambda t: t + "year: 2018\n", "duplicate key 'year'"),
    ("duplicate parameter", lambda t: t.replace("params:\n", "params:\n  freq_ghz: {value: 3, source: \"again\"}\n"),
     "duplicate key 'freq_ghz'"),
    ("missing name", lambda t: t.replace("name: Intel", "nom: Intel", 1), "field 'name'"),
    ("missing params", lambda t: t.split("params:")[0], "field 'params'"),
    ("bad vendor", lambda t: t.replace("vendor: intel", "vendor: cyrix"), "field 'vendor'"),
    ("year out of range", lambda t: t.replace("year: 2017", "year: 1066"), "field 'year'"),
    ("feature not a boolean", lambda t: t.replace("apicv: true", "apicv: sometimes"), "not a boolean"),
    ("hw_virt unknown", lambda t: t.replace("hw_virt: vmx", "hw_virt: vtx"), ("features.hw_virt", "'vtx'", "'vmx'")),
    ("VM exits without hardware virtualization", as_data(lambda d: d["features"].update(hw_virt="none",
                                                                                         nested_paging=False)),
     ("params.exit_roundtrip_cycles", "no VM exits")),
    ("sriov without iommu", lambda t: t.replace("iommu: vt-d", "iommu: none"),
     ("features.sriov", "SR-IOV passthrough needs an IOMMU")),
    ("not a mapping", lambda t: "- a\n- b\n", "must be a YAML mapping"),
    ("empty file", lambda t: "", "must be a YAML mapping"),
    ("only a comment", lambda t: "# nothing\n", "must be a YAML mapping"),
    ("not YAML", lambda t: "id: [unclosed\n", "not valid YAML"),
    ("a python object tag", lambda t: "!!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("id with a slash", lambda t: t.replace("id: skylake-sp-2017", "id: ../evil"), "field 'id'"),
    ("param without source", lambda t: t.replace(", source: \"Intel ark: Xeon Gold 6130, 2.10 GHz base\"", ""),
     ("params.freq_ghz.source", "missing")),
]:
    case(f"profile: {name}", "profile", profile(edit), frag)
case("profile: an ARM CPU without its GIC", "profile",
     profile(lambda t: t.replace("gic: v2", "gic: none"), base=ARM_PROFILE), ("features.gic", "v2, v3"))
case("profile: a valid user copy is accepted", "profile", lambda tmp: [
    "microbench", "--hardware", write(tmp, "mine.yaml", profile_text().replace("id: skylake-sp-2017", "id: mine")),
    "--hypervisor", "kvm", "--op", "cpuid", "--json"],
    check=lambda out: _no_nan(out) and json.loads(out)[0]["hardware"] == "mine")


# ---- 3. workloads ------------------------------------------------------------------------------------------
def workload(edit: Callable[[str], str], extra=()):
    def make(tmp):
        return ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload",
                write(tmp, "wl.yaml", edit(WORKLOAD.read_text())), "--duration", "0.002", *extra]
    return make


for name, edit, frag in [
    ("kind unknown", lambda t: t.replace("kind: request", "kind: batch"), "field 'kind'"),
    ("metric_kind unknown", lambda t: t + "metric_kind: vibes\n", "field 'metric_kind'"),
    ("value_per_unit zero", lambda t: t.replace("value_per_unit: 1", "value_per_unit: 0"), "value_per_unit"),
    ("value_per_unit NaN", lambda t: t.replace("value_per_unit: 1", "value_per_unit: .nan"), "not a finite number"),
    ("per_unit negative", lambda t: t.replace("syscalls: 2", "syscalls: -2"), "per_unit.syscalls"),
    ("per_unit NaN", lambda t: t.replace("syscalls: 2", "syscalls: .nan"), "not a finite number"),
    ("per_unit infinite", lambda t: t.replace("user_instr: 2000", "user_instr: .inf"), "not a finite number"),
    ("per_unit unknown key", lambda t: t.replace("syscalls: 2", "syscalls: 2, teleports: 1"), "teleports"),
    ("per_unit missing", lambda t: t.replace("\nper_unit:", "\nper_unt:"), "field 'per_unit'"),
    ("source too short", lambda t: t.replace("source: >-", "source: x\nold_source: >-"), "field 'source'"),
    ("mtu out of range", lambda t: t.replace("clients: 1,", "clients: 1, mtu: 100000,"), "params.mtu"),
    ("clients zero", lambda t: t.replace("clients: 1,", "clients: 0,"), "params.clients"),
    ("threads_per_vcpu zero", lambda t: t + "threads_per_vcpu: 0\n", "threads_per_vcpu"),
    ("default_duration zero", lambda t: re.sub(r"default_duration: [0-9.]+", "default_duration: 0", t),
     "default_duration"),
    ("higher_is_better not a boolean", lambda t: t.replace("higher_is_better: true", "higher_is_better: mostly"),
     "not a boolean"),
    ("duplicate key", lambda t: t + "kind: cpu\n", "duplicate key 'kind'"),
    ("id with a slash", lambda t: t.replace("id: netperf-rr", "id: a/b"), "field 'id'"),
    ("a list", lambda t: "[1, 2, 3]\n", "must be a YAML mapping"),
    ("disk_random not a boolean", lambda t: t + "disk_random: 2\n", "not a boolean"),
]:
    case(f"workload: {name}", "workload", workload(edit), frag)
case("workload: a valid user copy runs", "workload",
     workload(lambda t: t.replace("id: netperf-rr", "id: my-rr"), ["--json"]), check=_run_json_ok)


# ---- 4. sweep files ----------------------------------------------------------------------------------------
def sweep_file(text: str):
    def make(tmp):
        return ["sweep", write(tmp, "s.yaml", text), "-o", str(tmp / "r.parquet")]
    return make


for name, text, frag in [
    ("base NaN duration", SWEEP_BASE.replace("0.002", ".nan"), "not a finite number"),
    ("grid NaN", SWEEP_BASE + "grid: {hw.exit_roundtrip_cycles: [100, .nan]}\n", "not a finite number"),
    ("grid inf", SWEEP_BASE + "grid: {workload.mtu: [.inf]}\n", "not a finite number"),
    ("grid 'nan' text", SWEEP_BASE + "grid: {hw.freq_ghz: ['nan']}\n", "not a finite number"),
    ("grid empty", SWEEP_BASE + "grid: {vcpus: []}\n", "non-empty list"),
    ("grid not a list", SWEEP_BASE + "grid: {vcpus: 3}\n", "grid.vcpus"),
    ("grid unknown key", SWEEP_BASE + "grid: {colour: [red]}\n", "colour"),
    ("grid bad vcpus", SWEEP_BASE + "grid: {vcpus: [1, 0]}\n", "vcpus"),
    ("grid vcpus true", SWEEP_BASE + "grid: {vcpus: [true]}\n", "vcpus"),
    ("zip lengths differ", SWEEP_BASE + "zip: {pcpus: [1, 2], dom0_vcpus: [1]}\n", "same length"),
    ("points NaN", SWEEP_BASE + "points: [{workload.mtu: .nan}]\n", "not a finite number"),
    ("points not mappings", SWEEP_BASE + "points: [1, 2]\n", "points"),
    ("set unknown", SWEEP_BASE + "set: {colour: red}\n", "colour"),
    ("replications zero", SWEEP_BASE + "replications: 0\n", "replications"),
    ("replications huge", SWEEP_BASE + "replications: 1000000\n", "replications"),
    ("replications NaN", SWEEP_BASE + "replications: .nan\n", "replications"),
    ("base missing", "grid: {vcpus: [1]}\n", "field 'base'"),
    ("base unknown field", SWEEP_BASE.replace("seed: 1", "seed: 1, colour: red"), "colour"),
    ("unknown top key", SWEEP_BASE + "grids: {vcpus: [1]}\n", "grids"),
    ("duplicate key", SWEEP_BASE + "replications: 1\nreplications: 2\n", "duplicate key 'replications'"),
    ("grid too large", SWEEP_BASE + "grid:\n" + "".join(
        f"  hw.k{i}: [{', '.join(map(str, range(100)))}]\n" for i in range(5)), "points"),
    ("not a mapping", "- 1\n", "must be a YAML mapping"),
    ("base hardware unknown", SWEEP_BASE.replace("skylake-sp-2017", "nope-9000"), "unknown hardware profile"),
]:
    case(f"sweep file: {name}", "sweep file", sweep_file(text), frag)


# ---- 5. the Python API -------------------------------------------------------------------------------------
def spec(**kw):
    import kit
    base = dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.002)
    return kit.Spec.make(**{**base, **kw})


def _run(**kw):
    import kit
    return kit.run(spec(**kw))


def _sweep(**kw):
    from kit.sweep import sweep
    return lambda tmp: sweep(spec(), progress=False, **kw)


for name, fn, frag in [
    ("Spec.make(vcpus=True)", lambda tmp: spec(vcpus=True), "field 'vcpus'"),
    ("Spec.make(vcpus='2x')", lambda tmp: spec(vcpus="2x"), "field 'vcpus'"),
    ("Spec.make(vcpus=2.5)", lambda tmp: spec(vcpus=2.5), "field 'vcpus'"),
    ("Spec.make(duration=nan)", lambda tmp: spec(duration=float("nan")), "not a finite number"),
    ("Spec.make(duration=inf)", lambda tmp: spec(duration=math.inf), "not a finite number"),
    ("Spec.make(duration=-1)", lambda tmp: spec(duration=-1), "field 'duration'"),
    ("Spec.make(seed=-1)", lambda tmp: spec(seed=-1), "field 'seed'"),
    ("Spec.make(pcpus=0)", lambda tmp: spec(pcpus=0), "field 'pcpus'"),
    ("Spec.make(colour=...)", lambda tmp: spec(colour="red"), "colour"),
    ("Spec.make(weights=[1]) for 2 VMs", lambda tmp: spec(vms=2, weights=[1]), "one value per VM"),
    ("Spec.make(caps='50,x')", lambda tmp: spec(caps="50,x"), "field 'caps'"),
    ("Spec.make(hw={'freq_ghz': nan})", lambda tmp: spec(hw={"freq_ghz": float("nan")}), "not a finite number"),
    ("Spec.make(params={'mtu': inf})", lambda tmp: spec(params={"mtu": math.inf}), "not a finite number"),
    ("Spec.make(mode={'warp': 1})", lambda tmp: spec(mode={"warp": 1}), "warp"),
    ("with_sets vcpus=0", lambda tmp: spec().with_sets([("vcpus", "0")]), "field 'vcpus'"),
    ("with_sets hw NaN", lambda tmp: spec().with_sets({"hw.exit_roundtrip_cycles": float("nan")}),
     "not a finite number"),
    ("replace(workload='nope') then run", lambda tmp: __import__("kit").run(spec().replace(workload="nope")),
     "unknown workload"),
    ("run('a string')", lambda tmp: __import__("kit").run("skylake-sp-2017"), "run() takes a kit.Spec"),
    ("run: hardware unknown", lambda tmp: _run(hardware="nope"), "unknown hardware profile"),
    ("run: hypervisor unknown", lambda tmp: _run(hypervisor="kvmm"), "unknown hypervisor"),
    ("run: duration 1e-12", lambda tmp: _run(duration=1e-12), "shorter than one unit"),
    ("run: kvm on a CPU without VT-x", lambda tmp: _run(hardware="p4-xeon-2003"), "HVM needs hardware"),
    ("compare: no modes", lambda tmp: __import__("kit").compare("skylake-sp-2017", "netperf-rr", [],
                                                               duration=0.002), "hypervisor"),
    ("load_hardware('../../etc/passwd')", lambda tmp: __import__("kit").load_hardware("../../etc/passwd"),
     "not a hardware profile name"),
    ("load_workload('../x')", lambda tmp: __import__("kit").load_workload("../x"), "not a workload name"),
    ("hypervisor('kvm', memory='magic')", lambda tmp: __import__("kit").hypervisor("kvm", "skylake-sp-2017",
                                                                                 memory="magic"), "memory"),
    ("microbench: op unknown", lambda tmp: __import__("kit").microbench("skylake-sp-2017", "kvm", ["warp"]),
     "unknown op"),
    ("microbench: hardware unknown", lambda tmp: __import__("kit").microbench("nope", "kvm", ["cpuid"]),
     "unknown hardware profile"),
    ("sweep: grid NaN", _sweep(grid={"hw.exit_roundtrip_cycles": [1, float("nan")]}), "not a finite number"),
    ("sweep: grid unknown key", _sweep(grid={"colour": [1]}), "colour"),
    ("sweep: grid empty", _sweep(grid={"vcpus": []}), "non-empty list"),
    ("sweep: replications 0", _sweep(replications=0), "replications"),
    ("run: replications 0", lambda tmp: __import__("kit").run(spec(duration=0.002), replications=0),
     "field 'replications'"),
    ("run: replications True", lambda tmp: __import__("kit").run(spec(duration=0.002), replications=True),
     "field 'replications'"),
    ("run: replications 2.5", lambda tmp: __import__("kit").run(spec(duration=0.002), replications=2.5),
     "field 'replications'"),
    ("run: replications 10**6", lambda tmp: __import__("kit").run(spec(duration=0.002), replications=10 ** 6),
     "field 'replications'"),
    ("compare: replications -1", lambda tmp: __import__("kit").compare("skylake-sp-2017", "netperf-rr", ["kvm"],
                                                                      replications=-1, duration=0.002),
     "field 'replications'"),
    ("compare: neighbour unknown", lambda tmp: __import__("kit").compare("skylake-sp-2017", "netperf-rr", ["kvm"],
                                                                        neighbors=[None, "nope"], duration=0.002),
     "field 'neighbors'"),
    ("compare: neighbours empty", lambda tmp: __import__("kit").compare("skylake-sp-2017", "netperf-rr", ["kvm"],
                                                                       neighbors=[], duration=0.002),
     "no neighbours given"),
    ("sweep: points NaN", _sweep(points=[{"workload.mtu": float("nan")}]), "not a finite number"),
]:
    case(f"api: {name}", "python api", api(fn), frag)
case("api: compare(hw, wl, 'kvm') is one mode", "python api",
     api(lambda tmp: __import__("kit").compare("skylake-sp-2017", "netperf-rr", "kvm", duration=0.002)),
     check=lambda r: list(r.summary["hypervisor"]) == ["kvm"] and r.summary["value"].iloc[0] > 0)
case("api: microbench(hw, mode, 'hypercall') is one op", "python api",
     api(lambda tmp: __import__("kit").microbench("skylake-sp-2017", "kvm", "hypercall")),
     check=lambda df: list(df["op"]) == ["hypercall"])
case("api: a good run is finite", "python api", api(lambda tmp: _run()),
     check=lambda r: all(math.isfinite(r.summary[c].iloc[0]) for c in ("value", "native_value",
                                                                       "relative_performance")))


# ---- 6. command-line arguments -----------------------------------------------------------------------------
def with_opt(opt, value):
    out = list(RUN)
    if opt in out:
        out[out.index(opt) + 1] = value
    else:
        out += [opt, value]
    return argv(*out)


for opt, value, frag in [
    ("--vcpus", "two", "field 'vcpus'"), ("--vcpus", "0", "field 'vcpus'"), ("--vcpus", "1.5", "not a whole number"),
    ("--vcpus", "-1", "field 'vcpus'"), ("--vms", "0", "field 'vms'"), ("--vms", "1e9", "field 'vms'"),
    ("--duration", "abc", "field 'duration'"), ("--duration", "nan", "not a finite number"),
    ("--duration", "inf", "not a finite number"), ("--duration", "0", "field 'duration'"),
    ("--duration", "-0.5", "field 'duration'"), ("--duration", "1e-12", "shorter than one unit"),
    ("--seed", "-5", "field 'seed'"), ("--seed", "x", "field 'seed'"), ("--seed", "1.5", "not a whole number"),
    ("--hardware", "nope", "unknown hardware profile"), ("--hypervisor", "kvmm", "unknown hypervisor"),
    ("--workload", "nope", "unknown workload"), ("--workload", "", "unknown workload"),
    ("--replications", "0", "field '--replications'"), ("--replications", "x", "field '--replications'"),
    ("--replications", "1.5", "field '--replications'"), ("--replications", "nan", "field '--replications'"),
    ("--replications", "1001", "field '--replications'"), ("--replications", "-3", "field '--replications'"),
]:
    case(f"run {opt} {value!r}", "cli args", with_opt(opt, value), frag)
for name, a, frag in [
    ("unknown command", ["frobnicate"], "invalid choice"),
    ("run without --hardware", ["run", "--hypervisor", "kvm", "--workload", "netperf-rr"], "--hardware"),
    ("run with an unknown option", [*RUN, "--turbo"], "unrecognized arguments"),
    ("compare with no hypervisors", ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
                                     "--hypervisors", ",,"], "no hypervisors given"),
    ("compare in which every mode fails", ["compare", "--hardware", "p4-xeon-2003", "--workload", "netperf-rr",
                                           "--hypervisors", "kvm,xen-hvm", "--duration", "0.002"],
     "no mode could run"),
    ("compare --neighbors nope", ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
                                  "--hypervisors", "kvm", "--neighbors", "none,nope"], "field '--neighbors'"),
    ("compare --neighbors ,,", ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
                                "--hypervisors", "kvm", "--neighbors", ",,"], "no neighbours given"),
    ("compare --replications 0", ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
                                  "--hypervisors", "kvm", "--replications", "0"], "field '--replications'"),
    ("microbench --op nope", ["microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op", "warp"],
     "unknown op"),
    ("microbench --hypervisors with a bad name", ["microbench", "--hardware", "skylake-sp-2017", "--hypervisors",
                                                  "kvm,nope", "--op", "cpuid"], "unknown hypervisor"),
    ("list things", ["list", "things"], "invalid choice"),
    ("show hardware nope", ["show", "hardware", "nope"], "unknown hardware profile"),
    ("show hypervisor without --hardware", ["show", "hypervisor", "kvm"], "show hypervisor needs --hardware"),
    ("reproduce nope", ["reproduce", "nope"], "nope"),
    ("sweep without a file", ["sweep", "-o", "r.parquet"], "file"),
    ("sweep --workers 0", ["sweep", "x.yaml", "-o", "r.parquet", "--workers", "0"], "--workers"),
    ("calibrate --bogus", ["calibrate", "--bogus"], "unrecognized arguments"),
    ("dashboard --max-kernels 0", ["dashboard", "--max-kernels", "0"], "--max-kernels"),
    ("lab --dir that does not exist", ["lab", "--dir", "/nonexistent/hvkit"], "no such folder"),
]:
    case(name, "cli args", argv(*a), frag)
case("compare with one impossible mode prints the others", "cli args",
     argv("compare", "--hardware", "p4-xeon-2003", "--workload", "netperf-rr", "--hypervisors", "native,xen-pv,kvm",
          "--duration", "0.002"),
     check=lambda out: "error: hypervisor 'kvm'" in out and "xen-pv" in out and "request latency" in out)
case("compare --json with a failed mode is strict JSON", "cli args",
     argv("compare", "--hardware", "p4-xeon-2003", "--workload", "netperf-rr", "--hypervisors", "native,kvm",
          "--duration", "0.002", "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)[1]["value"] is None and json.loads(out)[1]["error"])
case("--seed 1e3 is seed 1000", "cli args", with_opt("--seed", "1e3"), check=lambda out: "relative performance" in out)
case("--replications 1e0 is one replication: the interval is unknown", "cli args", with_opt("--replications", "1e0"),
     check=lambda out: "interval is unknown" in out)
case("--replications 2 --json keeps every digit and the interval", "cli args",
     argv(*RUN, "--replications", "2", "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)["replications"] == 2
     and json.loads(out)["ci_low"] <= json.loads(out)["value"] <= json.loads(out)["ci_high"]
     and len(json.loads(out)["replicas"]) == 2)


# ---- 7. paths ----------------------------------------------------------------------------------------------
def planted(tmp: Path) -> Path:
    """A valid workload file outside the catalogue, which a name must never reach."""
    (tmp / "x.yaml").write_text(WORKLOAD.read_text().replace("id: netperf-rr", "id: x"))
    return tmp / "x"


def rel_to_catalogue(tmp: Path) -> str:
    return os.path.relpath(planted(tmp), ROOT / "workloads")


for name, make, frag in [
    ("--workload ../../../tmp/x (a name escaping its folder)", lambda tmp: with_opt("--workload",
                                                                                   rel_to_catalogue(tmp))(tmp),
     "not a workload name"),
    ("--workload workloads/../x", lambda tmp: with_opt("--workload", "workloads/../" + rel_to_catalogue(tmp))(tmp),
     "not a workload name"),
    ("--hardware /etc/passwd", with_opt("--hardware", "/etc/passwd"), "not a hardware profile name"),
    ("--hardware /etc/passwd.yaml", with_opt("--hardware", "/etc/passwd.yaml"), "no such file"),
    ("--hardware SKYLAKE-SP-2017", with_opt("--hardware", "SKYLAKE-SP-2017"), "did you mean 'skylake-sp-2017'?"),
    ("--hardware skylake-sp-2017/../p4-xeon-2003", with_opt("--hardware", "skylake-sp-2017/../p4-xeon-2003"),
     "not a hardware profile name"),
    ("--hardware '.'", with_opt("--hardware", "."), "not a hardware profile name"),
    ("--hardware 'a b'", with_opt("--hardware", "a b"), "unknown hardware profile"),
    ("--hardware with a newline", with_opt("--hardware", "skylake-sp-2017\n"), "not a hardware profile name"),
    ("--workload a missing .yml", with_opt("--workload", "/nonexistent/x.yml"), "no such file"),
    ("--set neighbor=../x", lambda tmp: [*RUN, SET, "neighbor=" + rel_to_catalogue(tmp)], "not a workload name"),
    ("--set neighbor=/etc/passwd", argv(*RUN, SET, "neighbor=/etc/passwd"), "not a workload name"),
    ("reproduce ../../etc/passwd", argv("reproduce", "../../etc/passwd"), "etc/passwd"),
    ("sweep file that is a directory", lambda tmp: ["sweep", str(tmp), "-o", str(tmp / "r.parquet")],
     "not a regular file"),
    ("lab ../../../etc/passwd", argv("lab", "../../../etc/passwd"), "no such notebook in the folder served"),
]:
    case(name, "paths", make, frag)
case("--workload /tmp/.../x.yaml (an explicit path) is loaded", "paths",
     lambda tmp: with_opt("--workload", str(planted(tmp)) + ".yaml")(tmp) + ["--json"], check=_run_json_ok)


# ---- 8. inputs that exhaust resources ----------------------------------------------------------------------
def hw_path(make_file: Callable[[Path], str]):
    def make(tmp):
        return ["microbench", "--hardware", make_file(tmp), "--hypervisor", "kvm", "--op", "cpuid"]
    return make


def _link(target: str, name: str):
    def make(tmp):
        (tmp / name).symlink_to(target)
        return str(tmp / name)
    return make


def _fifo(tmp):
    os.mkfifo(tmp / "f.yaml")
    return str(tmp / "f.yaml")


def _dir(tmp):
    (tmp / "d.yaml").mkdir()
    return str(tmp / "d.yaml")


def _big(tmp):
    return write(tmp, "big.yaml", "a: " + "x" * (2 << 20) + "\n")


NEST = "a: " + "[" * 200 + "]" * 200 + "\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9))
for name, make, frag in [
    ("profile larger than 1 MiB", hw_path(_big), "too large"),
    ("profile is /dev/zero", hw_path(_link("/dev/zero", "z.yaml")), "not a regular file"),
    ("profile is /dev/urandom", hw_path(_link("/dev/urandom", "u.yaml")), "not a regular file"),
    ("profile is a FIFO", hw_path(_fifo), "not a regular file"),
    ("profile is a directory", hw_path(_dir), "not a regular file"),
    ("profile is binary", hw_path(lambda tmp: write(tmp, "b.yaml", bytes(range(256)) * 4)), "not UTF-8"),
    ("profile is a PNG", hw_path(lambda tmp: write(tmp, "p.yaml", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)),
     "not UTF-8"),
    ("profile in Latin-1", hw_path(lambda tmp: write(tmp, "l.yaml", "name: caf\xe9\n".encode("latin-1"))),
     "not UTF-8"),
    ("profile with NUL bytes", hw_path(lambda tmp: write(tmp, "n.yaml", "id: a\x00b\n")), "binary content"),
    ("profile nested 200 deep", hw_path(lambda tmp: write(tmp, "deep.yaml", NEST)), "nested more than 32 levels"),
    ("profile with a recursive alias", hw_path(lambda tmp: write(tmp, "rec.yaml", "a: &a [*a]\n")),
     "nested more than 32 levels"),
    ("profile alias bomb", hw_path(lambda tmp: write(tmp, "bomb.yaml", LAUGHS)), "aliases"),
    ("profile with 300,000 values", hw_path(lambda tmp: write(tmp, "many.yaml", "a: [" + "1," * 300_000 + "1]\n")),
     "more than 100000 values"),
    ("workload alias bomb", lambda tmp: with_opt("--workload", write(tmp, "bomb.yaml", LAUGHS))(tmp), "aliases"),
    ("sweep file is /dev/zero", lambda tmp: ["sweep", _link("/dev/zero", "z.yaml")(tmp), "-o",
                                             str(tmp / "r.parquet")], "not a regular file"),
    ("sweep file is a FIFO", lambda tmp: ["sweep", _fifo(tmp), "-o", str(tmp / "r.parquet")], "not a regular file"),
    ("sweep file alias bomb", lambda tmp: ["sweep", write(tmp, "s.yaml", LAUGHS), "-o", str(tmp / "r.parquet")],
     "aliases"),
    ("sweep grid of 10^10 points", sweep_file(SWEEP_BASE + "grid:\n" + "".join(
        f"  hw.k{i}: [{', '.join(map(str, range(100)))}]\n" for i in range(5))), "points"),
    ("an integer of 5000 digits", hw_path(lambda tmp: write(tmp, "i.yaml", profile_text().replace(
        "year: 2017", "year: " + "9" * 5000))), "a value that cannot be read"),
    ("--vcpus with 5000 digits", with_opt("--vcpus", "9" * 5000), "field 'vcpus'"),
    ("--set with a 100 kB value", argv(*RUN, SET, "hw.exit_roundtrip_cycles=" + "x" * 100_000), "not a number"),
    ("a 100 kB bad name", with_opt("--hardware", "x" * 100_000), "not a hardware profile name"),
    ("a 200 kB unknown key in a profile", hw_path(lambda tmp: write(tmp, "k.yaml", profile_text() + "k" * 200_000
                                                                    + ": 1\n")), "not valid YAML"),
    ("a 100 kB mode name", with_opt("--hypervisor", "x" * 100_000), "unknown hypervisor"),
    ("a 100 kB mode part", argv(*RUN, SET, "memory=" + "x" * 100_000), "field 'memory'"),
    ("a 100 kB operation", argv("microbench", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--op",
                                "x" * 100_000), "unknown op"),
    ("a 100 kB file name", with_opt("--workload", "/tmp/" + "x" * 100_000 + ".yaml"), "File name too long"),
    ("a 100 kB workload parameter", argv(*RUN, SET, "workload." + "x" * 100_000 + "=1"), "unknown workload parameter"),
    ("a 100 kB --set key", argv(*RUN, SET, "x" * 100_000 + "=1"), "unknown setting"),
    ("a 100 kB hardware parameter", argv(*RUN, SET, "hw." + "x" * 100_000 + "=1"), "unknown hardware parameter"),
    ("a 100 kB feature", argv(*RUN, SET, "hw.features." + "x" * 100_000 + "=1"), "unknown hardware feature"),
    ("a 100 kB paper name", argv("reproduce", "x" * 100_000), "unknown paper"),
    ("a 100 kB choice", argv("list", "x" * 100_000), "invalid choice"),
]:
    case(name, "resources", make, frag)


# ---- 9. results that are not measurements ------------------------------------------------------------------
for name, a, frag in [
    ("a 5 ms run of 60 ms units", [*CROWDED, "--duration", "0.005"], "shorter than one unit"),
    ("a run in which no unit finished", [*CROWDED, "--duration", "0.1"], "no unit of spec-int finished"),
    ("kernel-build for 10 ms", ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload",
                                "kernel-build", "--duration", "0.01"], "shorter than one unit"),
    ("pxz under qemu-tcg on a Pentium 4 for 1 s", ["run", "--hardware", "p4-xeon-2003", "--hypervisor", "qemu-tcg",
                                                   "--workload", "pxz", "--duration", "1"], "no unit of pxz finished"),
    ("hw.freq_ghz=1e-300", [*RUN, SET, "hw.freq_ghz=1e-300"], "longer than any run may be"),
]:
    case(name, "results", argv(*a), frag)
case("a short run carries its warning", "results", argv(*CROWDED, "--duration", "1", "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)["warnings"].startswith("short run"))
case("a request under way at the end is in the max, as a lower bound", "results",
     argv("run", "--hardware", "skylake-sp-2017", "--hypervisor", "xen-hvm", "--workload", "netperf-rr",
          "--duration", "0.04", SET, "pcpus=1", SET, "neighbor=spec-int", "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)["latency_us"]["max"] > 1000
     and json.loads(out)["latency_us"]["censored"] == 1)
case("a run's JSON has no NaN", "results", argv(*RUN, "--json"), check=_run_json_ok)
case("microbench with a cheap exit keeps its exit step", "results",
     argv(*MICRO, SET, "hw.exit_roundtrip_cycles=1", "--json"),
     check=lambda out: _no_nan(out) and any("exit" in s["step"].lower() for s in json.loads(out)[0]["path"]))


# ---- live migration (hvkit migrate; kept together) ---------------------------------------------------------
MIGRATE = ["migrate", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "quake3-server"]


def _migrate_json_ok(text: str) -> bool:
    """Strict JSON; the guest not faster during the migration than without it, unless a named warning says so."""
    if not _no_nan(text):
        return False
    rec = json.loads(text)
    rel = rec["relative_throughput_during"]
    return rec["downtime_ms"] > 0 and (rel is None or rel <= 1.02
                                       or any(w.startswith("faster-during-migration") for w in rec["warnings"]))


case("migrate --compression true --json is strict JSON, no faster than without it", "results",
     argv(*MIGRATE, "--vm-mib", "32", "--link-gbps", "1", "--compression", "true", "--json"), check=_migrate_json_ok)
case("migrate --vm-mib 128 --used-mib 512 (more in use than the VM has)", "cli args",
     argv(*MIGRATE, "--vm-mib", "128", "--used-mib", "512"), ("--used-mib", "more memory in use than the VM has"))
case("migrate --duration 1e-9 (a migration has no duration)", "cli args",
     argv(*MIGRATE, "--duration", "1e-9"), ("--duration", "is not used"))
case("migrate --start 1e6 (a warm-up of 11 days)", "resources", argv(*MIGRATE, "--start", "1e6"),
     ("--start", "too large"))
case("migrate --tail 1e6", "resources", argv(*MIGRATE, "--tail", "1e6"), ("--tail", "too large"))
case("migrate --vm-mib 1e12 (larger than the host)", "resources", argv(*MIGRATE, "--vm-mib", "1e12"),
     ("--vm-mib", "fits in the host's memory"))


# ---- 10. stale results: caches and stores key on content, never on a path ----------------------------------
HW_ID = "id: skylake-sp-2017"
#: a change of each kind of input that moves both the run and its native baseline
WL_EDITS = {
    "user instructions": lambda t: t.replace("user_instr: 2000", "user_instr: 200000"),
    "kernel instructions": lambda t: re.sub(r"kernel_instr: [0-9.e]+", "kernel_instr: 90000", t, count=1),
    "system calls": lambda t: t.replace("syscalls: 2", "syscalls: 40"),
    "request bytes": lambda t: t.replace("request_bytes: 1,", "request_bytes: 20000,"),
    "response bytes": lambda t: t.replace("response_bytes: 1}", "response_bytes: 30000}"),
    "value per unit": lambda t: t.replace("value_per_unit: 1", "value_per_unit: 3"),
}
def _set_value(text: str, name: str, value: str) -> str:
    """``text`` with profile parameter ``name`` at ``value``; its plausible range, if any, dropped with the old value
    (a range that no longer holds the value is refused, as it should be)."""
    line = re.search(rf"^  {name}: \{{value: .*$", text, flags=re.M).group(0)
    edited = re.sub(r", range: \{[^}]*\}", "", re.sub(r"value: [0-9.e]+", f"value: {value}", line, count=1))
    return text.replace(line, edited)


HW_EDITS = {
    "NIC latency": lambda t: _set_value(t, "nic_latency_us", "40"),
    "clock": lambda t: _set_value(t, "freq_ghz", "0.5"),
    "syscall cycles": lambda t: _set_value(t, "syscall_cycles", "9000"),
}


def _fresh() -> None:
    """Forget every cache of this process (the loaders', the native baselines', the same VM alone's): what a new
    process would compute, the reference a cached answer must equal."""
    import importlib
    files = importlib.import_module("kit.inputs.files")
    baselines = importlib.import_module("kit.run.baselines")
    files._CACHE.clear()
    baselines._BASELINES.clear()
    baselines._ALONE.clear()


def _edit(path: Path, text: str, keep_mtime: bool) -> None:
    """Rewrite ``path``; with ``keep_mtime`` its modification time stays what it was (an edit within the clock's
    resolution, or a file restored from a backup: only its content says it changed)."""
    st = path.stat()
    path.write_text(text)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _rows(result):
    return result.summary.iloc[0]


def _run_edit_run(edit, what="workload", keep_mtime=True, base_file=False, neighbor=False, replications=1):
    """kit.run, the named file edited, kit.run again in the same process; and the edited input run afresh."""
    def fn(tmp):
        import kit
        wl_text = WORKLOAD.read_text().replace("id: netperf-rr", "id: my-rr")
        hw_text = profile_text().replace(HW_ID, "id: my-hw")
        files = {"workload": tmp / "wl.yaml", "hardware": tmp / "hw.yaml"}
        files["workload"].write_text(wl_text)
        files["hardware"].write_text(hw_text)
        target = files[what]
        if base_file:  # the run names a child that inherits the file edited
            child = tmp / f"child-{what}.yaml"
            child.write_text(f"base: {target.name}\nid: child-{what}\n")
        named = {k: str(v) for k, v in files.items()}
        if base_file:
            named[what] = str(child)
        kw = dict(hardware=named["hardware"], hypervisor="kvm", workload=named["workload"], duration=0.004)
        if neighbor:  # a catalogue netperf-rr shares the one CPU with the edited neighbour
            kw.update(workload="netperf-rr", neighbor=named["workload"], pcpus=1)
        spec = kit.Spec.make(**kw)
        first = _rows(kit.run(spec, replications=replications))
        _edit(target, edit(target.read_text()), keep_mtime)
        second = _rows(kit.run(spec, replications=replications))
        _fresh()
        fresh = _rows(kit.run(spec, replications=replications))
        return first, second, fresh
    return fn


def _fresh_numbers(r, cols=("value", "native_value", "relative_performance", "alone_value")) -> bool:
    first, second, fresh = r
    same = all(second[c] == fresh[c] or (second[c] != second[c] and fresh[c] != fresh[c]) for c in cols)
    return same and any(first[c] != fresh[c] for c in cols)


for label, edit in WL_EDITS.items():
    case(f"kit.run twice, the workload's {label} edited between (mtime kept)", "stale results",
         api(_run_edit_run(edit)), check=_fresh_numbers)
for label, edit in list(WL_EDITS.items())[:3]:
    case(f"kit.run twice, the workload's {label} edited between (mtime moves)", "stale results",
         api(_run_edit_run(edit, keep_mtime=False)), check=_fresh_numbers)
for label, edit in list(WL_EDITS.items())[:3]:
    case(f"kit.run twice, the base of the workload edited: {label}", "stale results",
         api(_run_edit_run(edit, base_file=True)), check=_fresh_numbers)
for label, edit in HW_EDITS.items():
    case(f"kit.run twice, the profile's {label} edited between", "stale results",
         api(_run_edit_run(edit, what="hardware")), check=_fresh_numbers)
    case(f"kit.run twice, the base of the profile edited: {label}", "stale results",
         api(_run_edit_run(edit, what="hardware", base_file=True)), check=_fresh_numbers)
case("kit.run twice, the neighbour's workload edited between", "stale results",
     api(_run_edit_run(WL_EDITS["response bytes"], neighbor=True)),
     check=lambda r: _fresh_numbers(r, ("value", "alone_value", "interference")))
case("kit.run with 2 replications twice, the workload edited between", "stale results",
     api(_run_edit_run(WL_EDITS["user instructions"], replications=2)), check=_fresh_numbers)


def _load_edit_load(kind: str, base_file: bool = False):
    """load_workload / load_hardware of a path, the file (or its base) edited with its mtime kept, loaded again."""
    def fn(tmp):
        from kit.inputs.hardware import load_hardware
        from kit.inputs.workloads import load_workload
        if kind == "workload":
            text, load, edit = WORKLOAD.read_text().replace("id: netperf-rr", "id: w"), load_workload, \
                WL_EDITS["user instructions"]
        else:
            text, load, edit = profile_text().replace(HW_ID, "id: h"), load_hardware, HW_EDITS["clock"]
        f = tmp / "f.yaml"
        f.write_text(text)
        name = f
        if base_file:
            name = tmp / "child.yaml"
            name.write_text("base: f.yaml\nid: child\n")
        before = load(str(name)).model_dump()
        _edit(f, edit(text), keep_mtime=True)
        return before, load(str(name)).model_dump()
    return fn


for kind in ("workload", "hardware"):
    case(f"load_{kind} after an edit that keeps the mtime reads the new content", "stale results",
         api(_load_edit_load(kind)), check=lambda r: r[0] != r[1])
    case(f"load_{kind} of a child after its base was edited reads the new base", "stale results",
         api(_load_edit_load(kind, base_file=True)), check=lambda r: r[0] != r[1])


def _compare_edit_compare(tmp):
    import kit
    f = tmp / "wl.yaml"
    f.write_text(WORKLOAD.read_text().replace("id: netperf-rr", "id: c"))
    first = kit.compare("skylake-sp-2017", str(f), ["kvm"], duration=0.004).summary
    _edit(f, WL_EDITS["request bytes"](f.read_text()), keep_mtime=True)
    second = kit.compare("skylake-sp-2017", str(f), ["kvm"], duration=0.004).summary
    _fresh()
    fresh = kit.compare("skylake-sp-2017", str(f), ["kvm"], duration=0.004).summary
    return first, second, fresh


case("kit.compare twice, the workload edited between", "stale results", api(_compare_edit_compare),
     check=lambda r: list(r[1]["value"]) == list(r[2]["value"]) and list(r[0]["value"]) != list(r[2]["value"]))


def _scenario_edit(tmp):
    import kit
    from kit.consolidation import run_scenario
    from kit.inputs.scenario import load_scenario
    f = tmp / "wl.yaml"
    f.write_text(WORKLOAD.read_text().replace("id: netperf-rr", "id: s"))
    y = tmp / "scn.yaml"
    y.write_text(f"hardware: skylake-sp-2017\nhypervisor: kvm\nduration: 0.004\nvms:\n  - {{name: a, workload: {f}}}\n"
                 f"  - {{name: b, workload: {f}}}\n")
    first = run_scenario(load_scenario(y)).vms
    _edit(f, WL_EDITS["request bytes"](f.read_text()), keep_mtime=True)
    second = run_scenario(load_scenario(y)).vms
    _fresh()
    fresh = run_scenario(load_scenario(y)).vms
    del kit
    return first, second, fresh


case("run_scenario twice, a VM's workload edited between", "stale results", api(_scenario_edit),
     check=lambda r: list(r[1]["native_value"]) == list(r[2]["native_value"])
     and list(r[1]["value"]) == list(r[2]["value"]) and list(r[0]["value"]) != list(r[2]["value"]))


def _sweep_cli(tmp, sweep_yaml: Path, out: str, *extra):
    """``hvkit sweep`` into ``tmp/out``, read back. These cases check a point's numbers, not its prediction
    intervals: ``--no-model-uncertainty`` spares re-simulating each simulated point about 85 times for them (a point
    with a neighbour runs the discrete engine for 0.2 s, so its intervals alone took minutes)."""
    import pandas as pd
    from kit import cli
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = cli.main(["sweep", str(sweep_yaml), "-o", str(tmp / out), "--workers", "1", "--no-progress",
                         "--no-model-uncertainty", *extra])
    if code != 0:
        raise RuntimeError(f"hvkit sweep exit {code}: {err.getvalue()[-300:]}")
    return pd.read_parquet(tmp / out)


def _sweep_edit_rerun(what: str, edit, base_file: bool = False, neighbor: bool = False, restore: bool = False,
                      extra=()):
    """hvkit sweep s.yaml -o r.parquet, the file it names edited (mtime kept), the same command again; and the edited
    inputs swept afresh into another output."""
    def fn(tmp):
        files = {"workload": tmp / "wl.yaml", "hardware": tmp / "hw.yaml"}
        files["workload"].write_text(WORKLOAD.read_text().replace("id: netperf-rr", "id: my-rr"))
        files["hardware"].write_text(profile_text().replace(HW_ID, "id: my-hw"))
        named = {k: str(v) for k, v in files.items()}
        if base_file:
            child = tmp / f"child-{what}.yaml"
            child.write_text(f"base: {files[what].name}\nid: child-{what}\n")
            named[what] = str(child)
        # the neighbour shares the one CPU with a catalogue netperf-rr: its edit moves the run's transaction rate
        wl = f"workload: netperf-rr, neighbor: {named['workload']}, pcpus: 1" if neighbor else \
            f"workload: {named['workload']}"
        y = tmp / "s.yaml"
        y.write_text(f"base: {{hardware: {named['hardware']}, hypervisor: kvm, {wl}, duration: 0.004, seed: 1, "
                     "engine: discrete}\n"
                     "grid: {hypervisor: [kvm, xen-hvm]}\n")
        first = _sweep_cli(tmp, y, "r.parquet")
        original = files[what].read_text()
        _edit(files[what], edit(original), keep_mtime=True)
        if restore:
            _sweep_cli(tmp, y, "r.parquet", *extra)
            _edit(files[what], original, keep_mtime=True)
        second = _sweep_cli(tmp, y, "r.parquet", *extra)
        _fresh()
        fresh = _sweep_cli(tmp, y, "fresh.parquet")
        return first, second, fresh
    return fn


def _sweep_fresh(r) -> bool:
    first, second, fresh = r
    return (list(second["value"]) == list(fresh["value"]) and list(first["value"]) != list(fresh["value"])
            and not second["reused"].any())


for label, edit in list(WL_EDITS.items())[:4]:
    case(f"hvkit sweep, the workload's {label} edited, the same sweep again", "stale results",
         api(_sweep_edit_rerun("workload", edit)), check=_sweep_fresh)
for label, edit in HW_EDITS.items():
    case(f"hvkit sweep, the profile's {label} edited, the same sweep again", "stale results",
         api(_sweep_edit_rerun("hardware", edit)), check=_sweep_fresh)
case("hvkit sweep, the base of its workload edited, the same sweep again", "stale results",
     api(_sweep_edit_rerun("workload", WL_EDITS["user instructions"], base_file=True)), check=_sweep_fresh)
case("hvkit sweep, the base of its profile edited, the same sweep again", "stale results",
     api(_sweep_edit_rerun("hardware", HW_EDITS["NIC latency"], base_file=True)), check=_sweep_fresh)
case("hvkit sweep --resume after the workload was edited", "stale results",
     api(_sweep_edit_rerun("workload", WL_EDITS["system calls"], extra=("--resume",))), check=_sweep_fresh)
case("hvkit sweep with a neighbour whose workload was edited", "stale results",
     api(_sweep_edit_rerun("workload", WL_EDITS["response bytes"], neighbor=True)), check=_sweep_fresh)
case("hvkit sweep: an edited workload restored reuses the first results", "stale results",
     api(_sweep_edit_rerun("workload", WL_EDITS["user instructions"], restore=True)),
     check=lambda r: list(r[1]["value"]) == list(r[0]["value"]) == list(r[2]["value"]) and r[1]["reused"].all())


# ---- 11. results that cannot be true: a result-level check on every result ---------------------------------
def _warns(fragment):
    """A run's JSON (one record or a list) whose warnings name ``fragment``."""
    def check(out):
        rec = json.loads(out)
        rec = rec if isinstance(rec, list) else [rec]
        return _no_nan(out) and any(fragment in (r.get("warnings") or "") for r in rec)
    return check


def _peaks(hw: str):
    """The peaks of a catalogue profile, read here from the file (not from the kit): disk bytes/s, NIC bytes/s,
    DRAM bytes/s (or None)."""
    d = yaml.safe_load((ROOT / "hw_profiles" / f"{hw}.yaml").read_text())["params"]
    v = {k: q["value"] for k, q in d.items() if isinstance(q, dict)}
    dram = None
    if "mem_channels" in v and "mem_mts" in v:
        dram = v.get("numa_nodes", 1) * v["mem_channels"] * v["mem_mts"] * 1e6 * 8
        if v.get("fsb_gbs"):
            dram = min(dram, v["fsb_gbs"] * 1e9 * v["sockets"])
    return {"disk": v["disk_mbps"] * 1e6, "nic": v["nic_gbps"] * 1e9 / 8, "dram": dram}


#: The result checks read a run's value and warnings, not its prediction intervals (each would re-run the spec)
NO_PI = "--no-model-uncertainty"


def _disk_ok(hw: str, wl: str, overrides: dict | None = None):
    """The run's IOPS (and its native baseline's) move at most the profile's disk bandwidth, or carry the warning."""
    w = yaml.safe_load((ROOT / "workloads" / f"{wl}.yaml").read_text())
    per = w["per_unit"]
    kb = per.get("disk_kb", 0) * per.get("disk_ops", 0)

    def check(out):
        rec = json.loads(out)
        peak = (overrides or {}).get("disk_mbps", _peaks(hw)["disk"] / 1e6) * 1e6
        own = rec["value"] / w.get("value_per_unit", 1) * kb * 1024 <= peak * 1.01 or "disk's bandwidth" in (
            rec["warnings"] or "")
        native = rec["native_value"] / w.get("value_per_unit", 1) * kb * 1024 <= peak * 1.01 or \
            "native baseline: above the disk's bandwidth" in (rec["warnings"] or "") or \
            (rec["hypervisor"] == "native" and own)  # a native run is its own baseline: its warning names both
        return _no_nan(out) and own and native
    return check


for hw, wl, hv in [("haswell-ep-2014", "fio-randread", "kvm"), ("haswell-ep-2014", "fio-randread", "native"),
                   ("haswell-ep-2014", "fio-randread", "xen-hvm"), ("haswell-ep-2014", "fio-randwrite", "kvm"),
                   ("haswell-ep-2014", "fio-randrw", "kvm"), ("skylake-sp-2017", "fio-randread", "kvm"),
                   ("icelake-sp-2021", "fio-randread", "kvm"), ("zen3-epyc-2021", "fio-randread", "kvm"),
                   ("neoverse-n1-2019", "fio-randread", "kvm"), ("sandybridge-ep-2012", "fio-randread", "kvm")]:
    case(f"fio on {hw} ({wl}, {hv}): within the disk's bandwidth or warned", "result checks",
         argv("run", "--hardware", hw, "--hypervisor", hv, "--workload", wl, "--duration", "0.01", "--json", NO_PI),
         check=_disk_ok(hw, wl))
case("fio-randread on haswell-ep-2014 under kvm: the native baseline above 500 MB/s is named", "result checks",
     argv("run", "--hardware", "haswell-ep-2014", "--hypervisor", "kvm", "--workload", "fio-randread", "--json", NO_PI),
     check=_disk_ok("haswell-ep-2014", "fio-randread"))
for mbps in ("50", "5"):
    case(f"fio-randread with hw.disk_mbps={mbps}: within it or warned", "result checks",
         argv("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "fio-randread",
              "--duration", "0.05", SET, f"hw.disk_mbps={mbps}", "--json", NO_PI),
         check=_disk_ok("skylake-sp-2017", "fio-randread", {"disk_mbps": float(mbps)}))


def _nic_ok(hw: str, gbps: float | None = None):
    def check(out):
        rec = json.loads(out)
        line = (gbps * 1e9 / 8) if gbps else _peaks(hw)["nic"]
        bits = rec["value"] * 1e6 / 8  # ttcp's Mbit/s of payload
        return _no_nan(out) and (bits <= line * 1.01 or "line rate" in (rec["warnings"] or ""))
    return check


for hw, extra in [("skylake-sp-2017", []), ("p4-xeon-2003", []), ("skylake-sp-2017", [SET, "hw.nic_gbps=0.1"]),
                  ("skylake-sp-2017", [SET, "hw.nic_gbps=0.01"])]:
    gb = float(extra[1].split("=")[1]) if extra else None
    case(f"ttcp on {hw} {' '.join(extra)}: within the line rate or warned", "result checks",
         argv("run", "--hardware", hw, "--hypervisor", "xen-pv" if hw.startswith("p4") else "kvm", "--workload",
              "ttcp", "--duration", "0.2", *extra, "--json", NO_PI), check=_nic_ok(hw, gb))


def _dram_ok(hw: str):
    def check(out):
        rec = json.loads(out)
        peak = _peaks(hw)["dram"]
        return _no_nan(out) and (peak is None or rec["value"] * 1e9 <= peak * 1.01
                                 or "memory bandwidth" in (rec["warnings"] or ""))
    return check


for hw in ("skylake-sp-2017", "haswell-ep-2014", "p4-xeon-2003", "xgene-armv8-2014"):
    case(f"STREAM on {hw}: within the DRAM bandwidth or warned", "result checks",
         argv("run", "--hardware", hw, "--hypervisor", "native", "--workload", "stream", "--vcpus", "4", "--json", NO_PI),
         check=_dram_ok(hw))


def _api_peak(kind: str, value: float, fragment: str):
    """The check itself, on a value no model gave: kit.results.validity.peak_warnings of a spec and a metric."""
    def fn(tmp):
        import kit
        from kit.inputs.resolve import resolve
        from kit.results.validity import peak_warnings
        wl = {"disk": "fio-randread", "nic": "ttcp", "dram": "stream", "request": "apache-static"}[kind]
        out = peak_warnings(resolve(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload=wl,
                                                  duration=0.5)), value)
        return out
    return fn


for kind, value, frag, ok in [("disk", 1e7, "disk's bandwidth", False), ("disk", 1e3, "", True),
                              ("nic", 1e6, "NIC's line rate", False), ("nic", 100.0, "", True),
                              ("dram", 1e4, "memory bandwidth", False), ("dram", 1.0, "", True),
                              ("request", 1e6, "NIC's line rate", False), ("request", 10.0, "", True)]:
    case(f"peak_warnings: {kind} at {value:g} {'passes' if ok else 'is named'}", "result checks",
         api(_api_peak(kind, value, frag)),
         check=(lambda r: r == []) if ok else (lambda r, f=frag: any(f in w for w in r)))


def _faster(rel: float, units_value: float = 1e5):
    def fn(tmp):
        import kit
        from kit.inputs.resolve import resolve
        from kit.results.validity import faster_than_native
        res = resolve(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=1))
        return faster_than_native(res, units_value, units_value / rel, rel)
    return fn


case("a neighbour-free run 1.5x native is named faster than native", "result checks", api(_faster(1.5)),
     check=lambda r: r is not None and "faster than native" in r)
case("a neighbour-free run of 100 requests at 1.001x native is within its end's uncertainty", "result checks",
     api(_faster(1.001, 100.0)),
     check=lambda r: r is None)
case("qemu-tcg quake3-server on neoverse-n1-2019 for 0.2 s: 1.14x native is named", "result checks",
     argv("run", "--hardware", "neoverse-n1-2019", "--hypervisor", "qemu-tcg", "--workload", "quake3-server",
          "--duration", "0.2", "--json", NO_PI),
     check=lambda out: _no_nan(out) and (json.loads(out)["relative_performance"] <= 1.0
                                         or bool(json.loads(out)["warnings"])))
for hv in ("kvm", "xen-hvm", "container-host"):
    case(f"quake3-server under {hv} for 0.2 s: relative above 1 is explained or named", "result checks",
         argv("run", "--hardware", "skylake-sp-2017", "--hypervisor", hv, "--workload", "quake3-server",
              "--duration", "0.2", "--json", NO_PI),
         check=lambda out: _no_nan(out) and (json.loads(out)["relative_performance"] <= 1.0
                                             or bool(json.loads(out)["warnings"])))
case("compare --json: every mode above native carries a warning", "result checks",
     argv("compare", "--hardware", "neoverse-n1-2019", "--workload", "quake3-server", "--hypervisors",
          "native,kvm,qemu-tcg", "--duration", "0.2", "--json"),
     check=lambda out: _no_nan(out) and all(r["relative_performance"] <= 1.0 or r["warnings"]
                                            for r in json.loads(out) if not r["error"]))
case("a 1e-6 Gbit/s NIC: 0 Mbit/s with work done is refused", "result checks",
     argv("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "ttcp", "--duration", "0.1",
          SET, "hw.nic_gbps=1e-6"), "is 0 Mbit/s")
case("a 1e-6 Gbit/s NIC under compare: the error is in the row, strict JSON", "result checks",
     argv("compare", "--hardware", "skylake-sp-2017", "--workload", "ttcp", "--hypervisors", "native,kvm",
          "--duration", "0.1", SET, "hw.nic_gbps=1e-6"), "is 0 Mbit/s")
case("microbench with hw.freq_ghz=1e6: the time is not 0", "result checks",
     argv(*MICRO, SET, "hw.freq_ghz=1e6", "--json"), check=lambda out: json.loads(out)[0]["us"] > 0)
case("microbench with hw.freq_ghz=1e6: the table does not print 0.0", "result checks",
     argv(*MICRO, SET, "hw.freq_ghz=1e6"), check=lambda out: " 0.0\n" not in out and "e-06" in out)
case("a workload whose per-unit counts are all zero", "result checks",
     workload(lambda t: re.sub(r"per_unit: \{[^}]*\}", "per_unit: {}", t)), "executes instructions")
case("--set workload.user_instr=0 and kernel_instr=0", "result checks",
     argv(*RUN, SET, "workload.user_instr=0", SET, "workload.kernel_instr=0"), "executes instructions")
for key, value, wl in [("workload.mtu", "500", "spec-int"), ("workload.clients", "8", "spec-int"),
                       ("workload.queue_depth", "4", "netperf-rr"), ("workload.window_kb", "128", "fio-randread"),
                       ("workload.direction", "rx", "netperf-rr"), ("workload.think_us", "100", "ttcp"),
                       ("workload.request_bytes", "100", "kernel-build"),
                       ("workload.connection_per_request", "true", "ttcp")]:
    case(f"--set {key}={value} on {wl} (its kind never reads it)", "result checks",
         argv("run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", wl, "--duration", "0.5",
              SET, f"{key}={value}"), ("does not read", key))
case("a cpu workload file that sets params.mtu", "result checks",
     lambda tmp: ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload",
                  write(tmp, "c.yaml", (ROOT / "workloads" / "spec-int.yaml").read_text().replace(
                      "id: spec-int", "id: c") + "params: {mtu: 9000}\n"), "--duration", "0.5"],
     ("params.mtu", "does not read"))
case("a sweep grid over workload.mtu of spec-int", "result checks",
     sweep_file(SWEEP_BASE.replace("netperf-rr", "spec-int").replace("0.002", "0.5")
                + "grid: {workload.mtu: [500, 1500]}\n"), "does not read mtu")
case("a sweep's zip over a key its grid sets", "result checks",
     sweep_file(SWEEP_BASE + "grid: {vcpus: [1, 2]}\nzip: {vcpus: [1, 2], pcpus: [2, 4]}\n"), "set by both grid and zip")
case("a sweep's point over a key its grid sets", "result checks",
     sweep_file(SWEEP_BASE + "grid: {vcpus: [1, 2]}\npoints: [{vcpus: 4}]\n"), "set by both points[0] and grid")
case("a sweep's zip and grid over one key spelt two ways", "result checks",
     sweep_file(SWEEP_BASE + "grid: {guest_page: [4K, 2M]}\nzip: {memory.guest_page: [4K, 2M]}\n"),
     "set by both grid and zip")
case("sweep(): zip and grid over one key", "result checks",
     api(_sweep(grid={"vcpus": [1, 2]}, zip_params={"vcpus": [1, 2], "pcpus": [2, 4]})), "set by both grid and zip")
case("a sweep file with replications: true", "result checks", sweep_file(SWEEP_BASE + "replications: true\n"),
     ("replications", "boolean"))
case("a sweep file with replications: 2.5", "result checks", sweep_file(SWEEP_BASE + "replications: 2.5\n"),
     ("replications", "whole number"))
case("sweep(replications=True)", "result checks", api(_sweep(replications=True)), "replications")
case("--seed 9007199254740993 is that seed exactly", "result checks",
     argv(*RUN, "--seed", "9007199254740993", "--json"), check=lambda out: '"seed": 9007199254740993' in out)
case("--seed 9223372036854775807 (2**63-1) runs", "result checks",
     argv(*RUN, "--seed", "9223372036854775807", "--json"), check=_run_json_ok)
case("--seed 1e300 --replications 2", "result checks", argv(*RUN, "--seed", "1e300", "--replications", "2"),
     ("field 'seed'", "too large"))
case("--seed 2**63", "result checks", argv(*RUN, "--seed", str(2 ** 63)), "field 'seed'")
case("--seed 1e999999999 (a billion digits)", "result checks", argv(*RUN, "--seed", "1e999999999"),
     ("field 'seed'", "too large"))
case("--vcpus 1e999999999", "result checks", with_opt("--vcpus", "1e999999999"), "field 'vcpus'")
case("a sweep grid with seed 2**64", "result checks",
     sweep_file(SWEEP_BASE + f"grid: {{seed: [1, {2 ** 64}]}}\n"), ("field 'seed'", "too large"))
case("Spec.make(seed=2**64)", "result checks", api(lambda tmp: spec(seed=2 ** 64)), "field 'seed'")
case("seed 2**53+1 in a sweep grid is kept exactly", "result checks",
     api(lambda tmp: __import__("kit.sweep", fromlist=["sweep"]).sweep(
         spec(seed=0), grid={"seed": [2 ** 53 + 1]}, progress=False, workers=1)),
     check=lambda df: int(df["set.seed"].iloc[0]) == 2 ** 53 + 1)


def scenario_file(text: str, *extra):
    def make(tmp):
        return ["run", "--scenario", write(tmp, "scn.yaml", text), *extra]
    return make


SCN = ("hardware: skylake-sp-2017\nhypervisor: kvm\nduration: 0.05\nhost: {pcpus: 8}\nvms:\n"
       "  - {name: web, workload: apache-static, count: 2, vcpus: 2}\n  - {name: db, workload: mysql-oltp, vcpus: 2}\n")
case("a VM web0 beside a VM web with count 2", "result checks",
     scenario_file(SCN + "  - {name: web0, workload: spec-int}\n"), "unique after count: expansion")
case("a VM db1 beside a VM db with count 2", "result checks",
     scenario_file(SCN.replace("name: db,", "name: db, count: 2,") + "  - {name: db1, workload: spec-int}\n"),
     "unique after count: expansion")
case("a scenario: --set vms.web.pin=9999,9998", "result checks", scenario_file(SCN, SET, "vms.web.pin=9999,9998"),
     ("vms.web.pin", "no physical CPU"))
case("a scenario: --set vms.web.pin=-1,0", "result checks", scenario_file(SCN, SET, "vms.web.pin=-1,0"),
     "negative CPU")
case("a scenario: --set vms.db.pin=-1 (one vCPU too few)", "result checks",
     scenario_file(SCN, SET, "vms.db.pin=-1"), "pin")
case("a scenario: copies pinned past the host's CPUs", "result checks",
     scenario_file(SCN, SET, "vms.web.pin=6,7"), ("vms.web.pin", "no physical CPU 9"))
case("a scenario: pins within the host run", "result checks", scenario_file(SCN, SET, "vms.web.pin=0,1", "--json"),
     check=lambda out: _no_nan(out) and len(json.loads(out)["vms"]) == 3)
case("a scenario --json has a warnings field", "result checks", scenario_file(SCN, "--json"),
     check=lambda out: _no_nan(out) and isinstance(json.loads(out)["warnings"], list))
case("a scenario --replications 2 is two replications with intervals", "result checks",
     scenario_file(SCN, "--replications", "2", "--json"),
     check=lambda out: _no_nan(out) and json.loads(out)["replications"] == 2
     and all(v["value_ci_low"] is not None and v["value_ci_low"] <= v["value"] <= v["value_ci_high"]
             for v in json.loads(out)["vms"]))
case("a scenario --replications 0", "result checks", scenario_file(SCN, "--replications", "0"),
     "field '--replications'")
case("a scenario --replications true", "result checks", scenario_file(SCN, "--replications", "true"),
     "field '--replications'")
case("a scenario's kernel build shorter than one unit is refused, not a number alone", "result checks",
     scenario_file("hardware: skylake-sp-2017\nhypervisor: kvm\nduration: 0.05\nhost: {pcpus: 2}\nvms:\n"
                   "  - {name: batch, workload: kernel-build, vcpus: 2}\n  - {name: hog, workload: cpu-hog, vcpus: 2}\n"),
     ("field 'duration'", "shorter than one unit of kernel-build"))
case("a scenario VM setting workload.mtu on a cpu workload", "result checks",
     scenario_file(SCN + "  - {name: calc, workload: spec-int, params: {mtu: 500}}\n"), "does not read mtu")


# ---- 12. a work budget: nothing unbounded starts ------------------------------------------------------------
for name, a, frag in [
    ("--set hw.cores_per_socket=1e12", [*RUN, SET, "hw.cores_per_socket=1e12"], "larger than any kernel runs"),
    ("--set hw.sockets=1e12 --set pcpus=4", [*RUN, SET, "hw.sockets=1e12", SET, "pcpus=4"],
     "larger than any kernel runs"),
    ("--set hw.threads_per_core=1e9", [*RUN, SET, "hw.threads_per_core=1e9"], "larger than any kernel runs"),
    ("--set hw.numa_nodes=1e9", [*RUN, SET, "hw.numa_nodes=1e9"], "more memory nodes"),
    ("--set hw.cores_per_socket=5000 (10,000 CPUs with 2 sockets)", [*RUN, SET, "hw.cores_per_socket=5000"],
     "larger than any kernel runs"),
    ("microbench on a host of 1e12 sockets", [*MICRO, SET, "hw.sockets=1e12"], "larger than any kernel runs"),
    ("--vms 256 --vcpus 256 for 10 s of spec-int", ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm",
                                                    "--workload", "spec-int", "--vms", "256", "--vcpus", "256",
                                                    "--duration", "10"], ("work budget", "HVKIT_WORK_BUDGET_S")),
    ("netperf-rr for an hour", [*RUN[:-1], "3600"], ("work budget", "HVKIT_WORK_BUDGET_S")),
    ("memcached on 8 VMs for a minute", ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload",
                                        "memcached", "--vms", "8", "--duration", "60"], "work budget"),
    ("spec-int on 4 VMs of 64 vCPUs for an hour, discrete",
     ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--vms", "4", "--workload", "spec-int",
      "--vcpus", "64", "--duration", "3600", SET, "engine=discrete"], "work budget"),
    ("compare of netperf-rr for an hour", ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
                                           "--hypervisors", "native,kvm", "--duration", "3600"], "work budget"),
    ("a scenario of 256 VMs for an hour", None, "work budget"),
]:
    if a is None:
        case(name, "work budget", scenario_file("hardware: skylake-sp-2017\nhypervisor: kvm\nduration: 3600\nvms:\n"
                                                "  - {name: w, workload: netperf-rr, count: 256, vcpus: 16}\n"), frag)
    else:
        case(name, "work budget", argv(*a), frag)
case("a profile of 1e12 sockets", "work budget", profile(sub_value("sockets", "1e12")),
     ("params.sockets.value", "larger than any kernel runs"))
case("a profile of 1e6 memory nodes", "work budget", profile(
    lambda t: re.sub(r"numa_nodes: \{value: [0-9]+", "numa_nodes: {value: 1000000", t)),
    ("params.numa_nodes.value", "more memory nodes"))


def _with_budget(value: str, fn):
    def run_it(tmp):
        old = os.environ.get("HVKIT_WORK_BUDGET_S")
        os.environ["HVKIT_WORK_BUDGET_S"] = value
        try:
            return fn(tmp)
        finally:
            if old is None:
                os.environ.pop("HVKIT_WORK_BUDGET_S", None)
            else:
                os.environ["HVKIT_WORK_BUDGET_S"] = old
    return run_it


case("HVKIT_WORK_BUDGET_S=1e-6 refuses a small run", "work budget",
     api(_with_budget("1e-6", lambda tmp: _run())), ("work budget is 1e-06 s", "HVKIT_WORK_BUDGET_S="))
case("HVKIT_WORK_BUDGET_S=abc", "work budget", api(_with_budget("abc", lambda tmp: _run())),
     ("HVKIT_WORK_BUDGET_S", "not a positive number"))
case("HVKIT_WORK_BUDGET_S=-5", "work budget", api(_with_budget("-5", lambda tmp: _run())),
     ("HVKIT_WORK_BUDGET_S", "not a positive number"))
case("HVKIT_WORK_BUDGET_S=nan", "work budget", api(_with_budget("nan", lambda tmp: _run())),
     ("HVKIT_WORK_BUDGET_S", "not a positive number"))
case("HVKIT_WORK_BUDGET_S=1e9 lets a normal run run", "work budget",
     api(_with_budget("1e9", lambda tmp: _run())), check=lambda r: r.summary["value"].iloc[0] > 0)
case("a sweep whose points are over the budget: error rows, nothing hangs", "work budget",
     api(_with_budget("1e-6", lambda tmp: __import__("kit.sweep", fromlist=["sweep"]).sweep(
         spec(), grid={"vcpus": [1, 2]}, progress=False, workers=1))),
     check=lambda df: (df["error"].str.contains("work budget")).all())
case("estimate_work: 256 x 256 vCPUs for 10 s is over 600 CPU s", "work budget",
     api(lambda tmp: __import__("kit.results.validity", fromlist=["x"]).estimate_work(
         __import__("kit.inputs.resolve", fromlist=["x"]).resolve(spec(workload="spec-int", vms=256, vcpus=256,
                                                                      duration=10)))),
     check=lambda r: r[1] > 600)
case("estimate_work: a 2 ms netperf run is under a second", "work budget",
     api(lambda tmp: __import__("kit.results.validity", fromlist=["x"]).estimate_work(
         __import__("kit.inputs.resolve", fromlist=["x"]).resolve(spec()))),
     check=lambda r: r[1] < 1)


# ---- 13. permissions and what may be trusted on disk ----------------------------------------------------------
def _store_modes(umask: int, precreate: int | None = None):
    """A sweep into a store under ``umask`` (in a folder made ``precreate`` first): the modes of the store's folder
    and of every file in it."""
    def fn(tmp):
        from kit.sweep import sweep
        st = tmp / "st"
        if precreate is not None:
            st.mkdir()
            st.chmod(precreate)
        old = os.umask(umask)
        try:
            sweep(spec(), grid={"vcpus": [1, 2]}, progress=False, workers=1, store=st)
        finally:
            os.umask(old)
        return {p.name: oct(p.stat().st_mode & 0o777) for p in [st, *st.iterdir()]}
    return fn


def _private(modes: dict) -> bool:
    return modes.get("st") == "0o700" and all(v == "0o600" for k, v in modes.items() if k != "st") and len(modes) > 2


for um in (0o000, 0o002, 0o022, 0o077):
    case(f"a store made under umask {um:03o} is 0700 and its files 0600", "permissions", api(_store_modes(um)),
         check=_private)
case("a store folder made 0777 beforehand is 0700 after a sweep", "permissions", api(_store_modes(0, 0o777)),
     check=_private)


def _planted(edit, sign_with_other_store: bool = False):
    """A sweep, then a chunk of its store changed (and its checksum recomputed), then the sweep again: the values it
    returns, and the first sweep's."""
    def fn(tmp):
        import hashlib
        from kit.sweep import sweep
        st = tmp / "st"
        first = sweep(spec(), grid={"vcpus": [1, 2]}, progress=False, workers=1, store=st)
        chunk = sorted(st.glob("points-*.jsonl"))[0]
        head, _, body = chunk.read_bytes().partition(b"\n")
        header = json.loads(head)
        recs = [json.loads(x) for x in body.splitlines()]
        edit(recs, header, st, tmp)
        body = "".join(json.dumps(r) + "\n" for r in recs).encode()
        header["sha256"] = hashlib.sha256(body).hexdigest()
        chunk.write_bytes(json.dumps(header).encode() + b"\n" + body)
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            again = sweep(spec(), grid={"vcpus": [1, 2]}, progress=False, workers=1, store=st)
        return first, again
    return fn


def _times8(recs, header, st, tmp):
    for r in recs:
        r["result"]["value"] *= 8


def _hmac_of_other(recs, header, st, tmp):
    """Its HMAC replaced by a valid one under another store's key."""
    import hashlib
    import hmac
    for r in recs:
        r["result"]["value"] *= 8
    other = os.urandom(32)
    body = "".join(json.dumps(r) + "\n" for r in recs).encode()
    header["hmac"] = hmac.new(other, body, hashlib.sha256).hexdigest()


def _key_removed(recs, header, st, tmp):
    for r in recs:
        r["result"]["value"] *= 8
    (st / ".key").unlink()


def _key_readable(recs, header, st, tmp):
    for r in recs:
        r["result"]["value"] *= 8
    (st / ".key").chmod(0o644)


def _key_linked(recs, header, st, tmp):
    for r in recs:
        r["result"]["value"] *= 8
    key = st / ".key"
    (tmp / "k").write_text(key.read_text())
    key.unlink()
    key.symlink_to(tmp / "k")


def _same_values(r) -> bool:
    first, again = r
    return list(first["value"]) == list(again["value"])


for label, edit in [("a value changed 8x, its checksum recomputed", _times8),
                    ("an HMAC under another key", _hmac_of_other),
                    ("a value changed and the store's key removed", _key_removed),
                    ("a value changed and the key made world-readable", _key_readable),
                    ("a value changed and the key replaced by a link", _key_linked)]:
    case(f"a planted chunk: {label}", "permissions", api(_planted(edit)), check=_same_values)


def _save_spec_to(target_kind: str, suffix: str = ".yaml"):
    def make(tmp):
        (tmp / "victim").write_text("precious")
        path = tmp / f"spec{suffix}"
        if target_kind == "link":
            path.symlink_to(tmp / "victim")
        elif target_kind == "dangling":
            path.symlink_to(tmp / "nowhere")
        elif target_kind == "dir":
            path.mkdir()
        return [*RUN, "--save-spec", str(path)]
    return make


for kind, suffix, frag in [("link", ".yaml", "symbolic link"), ("link", ".json", "symbolic link"),
                           ("dangling", ".yaml", "symbolic link"), ("dir", ".yaml", "not a regular file")]:
    case(f"--save-spec to a {kind} ({suffix})", "permissions", _save_spec_to(kind, suffix), frag)


def _victim_kept(fn):
    def run_it(tmp):
        try:
            fn(tmp)
        except Exception as exc:  # noqa: BLE001 - the refusal is the answer; the victim is what is checked
            return (tmp / "victim").read_text(), str(exc)
        return (tmp / "victim").read_text(), ""
    return run_it


def _save_spec_api(tmp):
    from kit.inputs.specfile import save_spec
    (tmp / "victim").write_text("precious")
    (tmp / "s.yaml").symlink_to(tmp / "victim")
    save_spec(spec(), tmp / "s.yaml")


def _save_tables_api(tmp):
    from kit.ui.export import save_tables
    (tmp / "victim").write_text("precious")
    (tmp / "t.summary.csv").symlink_to(tmp / "victim")
    save_tables(_run(), tmp / "t", "csv")


case("save_spec() to a symbolic link leaves its target alone", "permissions", api(_victim_kept(_save_spec_api)),
     check=lambda r: r[0] == "precious" and "symbolic link" in r[1])
case("save_tables() to a symbolic link leaves its target alone", "permissions",
     api(_victim_kept(_save_tables_api)), check=lambda r: r[0] == "precious" and "symbolic link" in r[1])
case("--save-spec into a new folder writes a spec that loads", "permissions",
     lambda tmp: [*RUN, "--save-spec", str(tmp / "new" / "deep" / "s.yaml"), "--json"],
     check=_run_json_ok)


# ---- 14. servers: one policy for hvkit lab and hvkit dashboard, and nothing left listening --------------------
def _served(a: list[str], uid: int = 1000):
    """``hvkit lab`` or ``hvkit dashboard`` with the server replaced by a stand-in (nothing starts): an error as an
    HvkitError, else the command it would run and what it said."""
    def fn(tmp):
        from unittest import mock

        from kit import cli
        from kit.cli import dashboard as dashboard_mod
        from kit.cli import lab as lab_mod
        from kit.errors import HvkitError
        seen: dict = {}

        def fake(cmd, cwd, name):
            seen["cmd"] = cmd
            raise SystemExit(0)
        err = io.StringIO()
        with mock.patch.object(lab_mod, "serve", fake), mock.patch.object(dashboard_mod, "serve", fake), \
                mock.patch("os.geteuid", lambda: uid), contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(a)
        if code == 2:
            raise HvkitError(err.getvalue().strip().splitlines()[-1].removeprefix("hvkit: error: "))
        return {"code": code, "cmd": seen.get("cmd") or [], "stderr": err.getvalue()}
    return fn


for name, a, uid, frag in [
    ("dashboard --token of 16 spaces", ["dashboard", "--token", " " * 16], 1000, "not a token"),
    ("dashboard --token with spaces inside", ["dashboard", "--token", "abcd efgh ijkl mnop"], 1000, "not a token"),
    ("dashboard --token ''", ["dashboard", "--token", ""], 1000, "not a token"),
    ("dashboard --token of 15 letters", ["dashboard", "--token", "a" * 15], 1000, "too short"),
    ("dashboard --LimitedKernelManager.max_kernels=100000", ["dashboard", "--LimitedKernelManager.max_kernels=100000"],
     1000, ("sets this itself", "--max-kernels")),
    ("dashboard --VoilaConfiguration.file_allowlist=['.*']", ["dashboard", "--VoilaConfiguration.file_allowlist=['.*']"],
     1000, "sets this itself"),
    ("dashboard --MappingKernelManager.cull_idle_timeout=0", ["dashboard", "--MappingKernelManager.cull_idle_timeout=0"],
     1000, "sets this itself"),
    ("dashboard --ServerApp.token=", ["dashboard", "--ServerApp.token="], 1000, "sets this itself"),
    ("dashboard --VoilaConfiguration.multi_kernel_manager_class=x",
     ["dashboard", "--VoilaConfiguration.multi_kernel_manager_class=x"], 1000, "sets this itself"),
    ("dashboard as root", ["dashboard"], 0, "--allow-root"),
    ("lab as root", ["lab", "--no-browser"], 0, "--allow-root"),
    ("lab --ServerApp.token= (authentication off)", ["lab", "--ServerApp.token="], 1000, "not a token"),
    ("lab --IdentityProvider.token=short", ["lab", "--IdentityProvider.token=short"], 1000, "too short"),
    ("lab --ServerApp.token with 16 spaces", ["lab", "--ServerApp.token=" + " " * 16], 1000, "ServerApp.token"),
    ("lab --token= (empty)", ["lab", "--token="], 1000, "not a token"),
]:
    case(name, "servers", api(_served(a, uid)), frag)
case("dashboard --allow-root as root starts, without passing it to Voila", "servers",
     api(_served(["dashboard", "--allow-root"], 0)),
     check=lambda r: r["code"] == 0 and "--allow-root" not in r["cmd"] and "voila" in r["cmd"])
case("lab --allow-root as root starts with it", "servers", api(_served(["lab", "--allow-root"], 0)),
     check=lambda r: r["code"] == 0 and "--allow-root" in r["cmd"])
case("dashboard serves no file of its folder", "servers", api(_served(["dashboard"])),
     check=lambda r: "--VoilaConfiguration.file_allowlist=[]" in r["cmd"])
case("dashboard --ip 0.0.0.0 warns", "servers", api(_served(["dashboard", "--ip", "0.0.0.0"])),
     check=lambda r: "WARNING: listening on 0.0.0.0" in r["stderr"])
case("lab --ip=0.0.0.0 warns as dashboard does", "servers", api(_served(["lab", "--ip=0.0.0.0"])),
     check=lambda r: r["code"] == 0 and "WARNING: listening on 0.0.0.0" in r["stderr"])
case("lab --ip 0.0.0.0 (two words) warns", "servers", api(_served(["lab", "--ip", "0.0.0.0"])),
     check=lambda r: r["code"] == 0 and "WARNING: listening on 0.0.0.0" in r["stderr"])
case("lab --ServerApp.ip=:: warns", "servers", api(_served(["lab", "--ServerApp.ip=::"])),
     check=lambda r: r["code"] == 0 and "WARNING: listening on ::" in r["stderr"])
case("lab --ip=127.0.0.1 does not warn", "servers", api(_served(["lab", "--ip=127.0.0.1"])),
     check=lambda r: r["code"] == 0 and "WARNING" not in r["stderr"])


def _dies_with_parent(tmp):
    """The preexec function hvkit gives a server: in a child of a child that is then killed with SIGKILL, the
    grandchild gets the parent-death signal (Linux) and is gone."""
    import signal
    import subprocess
    import time
    code = ("import os, signal, subprocess, sys, time\n"
            "from kit.cli.serving import _dies_with\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True,"
            " preexec_fn=_dies_with(os.getpid()))\n"
            "print(p.pid, flush=True)\ntime.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return "gone"
            if state == "Z":
                return "gone"
            time.sleep(0.1)
        os.kill(child, signal.SIGKILL)
        return "survived"
    finally:
        if parent.poll() is None:
            parent.kill()


case("a server's process dies with hvkit's kill -9 (parent-death signal)", "servers", api(_dies_with_parent),
     check=lambda r: r == "gone")


# ---- running a case ----------------------------------------------------------------------------------------
def attempt(c: Case, tmp: Path) -> tuple[str, Any]:
    """What the kit does with the input: ("error", the message), ("ok", stdout or the value), ("traceback",
    the exception), ("messy", a refusal that is not one line on stderr with exit 2) or ("crash", the status)."""
    from kit import cli
    from kit.errors import HvkitError
    what = c.make(tmp)
    if isinstance(what, Api):
        try:
            return "ok", what.fn(tmp)
        except HvkitError as exc:
            return ("error", str(exc)) if "\n" not in str(exc) else ("messy", str(exc))
        except BaseException as exc:  # noqa: BLE001 - what the user would see
            return "traceback", f"{type(exc).__name__}: {str(exc)[:300]}"
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(what)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException as exc:  # noqa: BLE001 - what the user would see
                return "traceback", f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        os.chdir(cwd)
    stdout, stderr = out.getvalue(), err.getvalue()
    if "Traceback (most recent call last)" in stderr:
        return "traceback", stderr.strip().splitlines()[-1][:300]
    if code == 0:
        return "ok", stdout
    if code == 2:
        lines = stderr.strip().splitlines()
        if len(lines) == 1 and lines[0].startswith("hvkit: error: ") and not stdout.strip():
            return "error", lines[0]
        if c.fragment is not None and lines and lines[-1].startswith("hvkit: error: "):
            return "error+output", (stdout + stderr)[-2000:]
        return "messy", (stdout + stderr)[-300:]
    return "crash", f"exit status {code}: {stderr[-300:]}"


def verdict(c: Case, kind: str, detail: Any) -> str:
    """correct, other message (a one-line error without the expected fragment), messy, traceback, silent wrong
    (an answer where an error was due, or a wrong answer), refused (an error where an answer was due), crash."""
    if c.fragment is not None:
        if kind in ("error", "error+output"):
            wanted = (c.fragment,) if isinstance(c.fragment, str) else c.fragment
            return "correct" if all(w in str(detail) for w in wanted) else "other message"
        return "silent wrong" if kind == "ok" else kind
    if kind == "ok":
        try:
            return "correct" if c.check is None or c.check(detail) else "silent wrong"
        except Exception:  # noqa: BLE001 - a result the check cannot read is a wrong one
            return "silent wrong"
    return "refused" if kind in ("error", "error+output") else kind


# ---- the tests ---------------------------------------------------------------------------------------------
CLASSES = ("set", "profile", "workload", "sweep file", "python api", "cli args", "paths", "resources", "results",
           "stale results", "result checks", "work budget", "permissions", "servers")


#: cases that take seconds (parsing 300,000 values before refusing them, a run beside a CPU-bound neighbour): left
#: out of the fast tier
#: Cases of a minute or more of CPU: out of the fast tier (``-m "not slow"``); the sweep beside an edited neighbour
#: runs three sweeps of two modes for 0.2 simulated seconds each on the discrete engine (the same staleness through
#: kit.run stays in the fast tier)
SLOW_CASES = {"profile with 300,000 values", "a request under way at the end is in the max, as a lower bound",
              "hvkit sweep with a neighbour whose workload was edited"}


@pytest.mark.parametrize("c", [pytest.param(c, marks=pytest.mark.slow) if c.name in SLOW_CASES else c for c in CASES],
                         ids=[f"{c.cls}: {c.name}"[:120] for c in CASES])
def test_bad_input(c, tmp_path):
    kind, detail = attempt(c, tmp_path)
    assert verdict(c, kind, detail) == "correct", f"{kind}: {detail}"
    if c.fragment is not None:
        assert kind == "error", detail  # one line on stderr, exit 2, nothing on stdout
        assert len(str(detail)) < 1200, "an error quotes at most a short excerpt of what it was given"
        if c.cls == "profile":
            assert "hw.yaml" in str(detail), "the error names the profile's file"


def test_the_table_covers_every_class_with_at_least_150_cases():
    from test_sweep_inputs import CASES as SWEEP_OUTPUT_CASES
    per = Counter(c.cls for c in CASES)
    assert set(per) == set(CLASSES) and min(per.values()) >= 5, per
    assert len({c.name for c in CASES}) == len(CASES)  # every case named once
    assert len(CASES) >= 289 + 120 and len(SWEEP_OUTPUT_CASES) >= 40  # 289 before issue 22, which added 120 or more


# ---- the census: the same table against another tree ------------------------------------------------------
def _one(index: int) -> None:
    import tempfile
    c = CASES[index]
    with tempfile.TemporaryDirectory() as d:
        kind, detail = attempt(c, Path(d))
        v = verdict(c, kind, detail)
    sys.__stdout__.write("\n" + json.dumps({"verdict": v, "kind": kind, "detail": str(detail)[:300]}) + "\n")


def _census(tree: str, timeout: float) -> None:
    import resource
    import signal
    import subprocess

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a runaway read fails, not the machine

    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()), HVKIT_BAD_INPUTS_TREE=str(Path(tree).resolve()))
    env.pop("HVKIT_ROOT", None)
    rows = []
    for i, c in enumerate(CASES):
        # its own session, so that whatever a case starts (an old ``hvkit lab`` started JupyterLab) ends with it
        proc = subprocess.Popen([sys.executable, __file__, "--one", str(i)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=limits, cwd=tree, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
            if r.returncode < 0:
                v = {"verdict": "crash", "detail": f"signal {-r.returncode}"}
            else:
                try:
                    v = json.loads(last)
                except ValueError:
                    v = {"verdict": "crash", "detail": (r.stdout + r.stderr)[-300:]}
        except subprocess.TimeoutExpired:
            v = {"verdict": "hang", "detail": f"no answer in {timeout:g} s"}
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        rows.append({"case": c.name, "class": c.cls, **v})
        sys.stderr.write(f"{i + 1}/{len(CASES)} {c.cls}: {c.name}: {v['verdict']}\n")
    sys.stdout.write(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if sys.argv[1:2] == ["--one"]:
        _one(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--census"]:
        _census(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 120.0)
    else:
        sys.exit("usage: python tests/test_bad_inputs.py --census TREE [TIMEOUT_S]")
