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
     check=lambda out: _no_nan(out) and json.loads(out)["latency_us"]["max"] > 10_000
     and json.loads(out)["latency_us"]["max_is_lower_bound"] and json.loads(out)["latency_us"]["censored"] == 1)
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
CLASSES = ("set", "profile", "workload", "sweep file", "python api", "cli args", "paths", "resources", "results")


#: cases that take seconds (parsing 300,000 values before refusing them, a run beside a CPU-bound neighbour): left
#: out of the fast tier
SLOW_CASES = {"profile with 300,000 values", "a request under way at the end is in the max, as a lower bound"}


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
    assert len(CASES) >= 150 and len(SWEEP_OUTPUT_CASES) >= 40


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
