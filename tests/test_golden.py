"""Golden outputs: the numbers of every command a refactor must leave bit-identical.

``hvkit validate --json``, ``hvkit calibrate --json``, ``hvkit compare --json`` for every workload preset under
every mode preset on three profiles (fixed seed), a set of scheduler scenarios (weights, caps, pinning,
overcommit, a neighbour, several VMs) and ``hvkit microbench --json`` on the three profiles. The blind prediction
files are never recomputed: ``tests/test_blind.py`` checks their digests. Runs and comparisons use the discrete
engine (``--set engine=discrete``), which simulates every slice and tick and is frozen bit for bit; the ``hybrid-*``
files freeze the default (hybrid) engine on the scheduler scenarios and one profile's comparisons. The files in
``tests/golden/`` were written by this module; a change that moves a number
on purpose regenerates them (``python tests/test_golden.py --write``) in a commit that says why.
Wall-clock times are the only fields left out.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from conftest import run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"
PROFILES = ["skylake-sp-2017", "p4-xeon-2003", "xgene-armv8-2014"]
SEED = 7
#: The discrete engine simulates every slice and tick: its numbers are frozen bit for bit, so that refactors of
#: the engine stay checked exactly (the hybrid engine is checked against it by tests/test_equivalence.py).
DISCRETE = ["--set", "engine=discrete"]
#: Runs and comparisons freeze the model's numbers, not their prediction intervals (sampled, and tested by
#: tests/test_model_uncertainty.py): the golden commands skip them
NO_PI = ["--no-model-uncertainty"]
#: The default engine's golden set (``hybrid-*``) covers the scheduler scenarios and this profile's comparisons
HYBRID_PROFILE = "skylake-sp-2017"
#: Scheduler and host scenarios: (name, hardware, hypervisor, workload, extra CLI arguments)
SCENARIOS = [
    ("credit-caps", "skylake-sp-2017", "xen-hvm", "spec-int",
     ["--vms", "2", "--vcpus", "2", "--set", "pcpus=2", "--set", "caps=50,0"]),
    ("credit-weights", "skylake-sp-2017", "xen-pv", "kernel-build",
     ["--vms", "2", "--vcpus", "2", "--set", "pcpus=2", "--set", "weights=256,768"]),
    ("cfs-weights", "skylake-sp-2017", "kvm", "kernel-build",
     ["--vms", "2", "--vcpus", "2", "--set", "pcpus=2", "--set", "weights=256,768"]),
    ("cfs-overcommit-io", "skylake-sp-2017", "kvm", "netperf-rr",
     ["--vms", "3", "--vcpus", "2", "--set", "pcpus=2"]),
    ("credit-overcommit-io", "skylake-sp-2017", "xen-hvm", "memcached",
     ["--vms", "2", "--vcpus", "2", "--set", "pcpus=2", "--set", "dom0_vcpus=2"]),
    ("pinned", "skylake-sp-2017", "kvm", "hackbench", ["--vcpus", "4", "--set", "pcpus=2", "--set", "pin=true"]),
    ("neighbor-credit", "skylake-sp-2017", "xen-hvm", "netperf-rr",
     ["--set", "pcpus=1", "--set", "neighbor=spec-int", "--set", "neighbor_vcpus=1"]),
    ("neighbor-cfs", "skylake-sp-2017", "kvm", "fio-randread",
     ["--set", "pcpus=1", "--set", "neighbor=hackbench"]),
    ("hosted-2003", "p4-xeon-2003", "vmware-bt", "ttcp",
     ["--set", "release=2003", "--set", "workload.mtu=500", "--set", "workload.direction=rx"]),
    ("pages", "skylake-sp-2017", "kvm", "random-access",
     ["--set", "memory.guest_page=2M", "--set", "host_page=2M"]),
    ("shadow", "skylake-sp-2017", "kvm", "kernel-build", ["--set", "memory=shadow", "--vcpus", "2"]),
]


def _strip(obj):
    """Drop wall-clock fields (the only legitimately varying ones)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != "wall_s"}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def cases() -> dict:
    """Name -> argv (or a callable) of every golden output."""
    from kit.inputs.modes import PRESETS
    from kit.inputs.workloads import list_workloads
    modes = ",".join(PRESETS)
    out = {"validate": ["validate", "--json"], "calibrate": ["calibrate", "--json"]}
    for hw in PROFILES:
        for mode in PRESETS:
            out[f"microbench-{hw}-{mode}"] = ["microbench", "--hardware", hw, "--hypervisor", mode, "--json"]
        for wl in list_workloads():
            out[f"compare-{hw}-{wl.id}"] = ["compare", "--hardware", hw, "--workload", wl.id, "--hypervisors", modes,
                                            "--seed", str(SEED), "--json", *DISCRETE, *NO_PI]
    for name, hw, hv, wl, extra in SCENARIOS:
        out[f"run-{name}"] = ["run", "--hardware", hw, "--hypervisor", hv, "--workload", wl, "--seed", str(SEED),
                              "--json", *DISCRETE, *NO_PI, *extra]
    # the default (hybrid) engine: the scheduler scenarios and one profile's comparisons
    for wl in list_workloads():
        out[f"hybrid-compare-{HYBRID_PROFILE}-{wl.id}"] = ["compare", "--hardware", HYBRID_PROFILE, "--workload", wl.id,
                                                           "--hypervisors", modes, "--seed", str(SEED), "--json",
                                                           *NO_PI]
    for name, hw, hv, wl, extra in SCENARIOS:
        out[f"hybrid-run-{name}"] = ["run", "--hardware", hw, "--hypervisor", hv, "--workload", wl, "--seed",
                                     str(SEED), "--json", *NO_PI, *extra]
    return out


def compute(name: str, argv) -> object:
    r = run_cli(*argv)
    if r.code != 0:  # a refused combination is part of the behaviour too
        return {"exit": r.code, "stderr": r.err}
    return _strip(json.loads(r.out))


def _file(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def _dump(obj) -> str:
    return json.dumps(obj, indent=0, sort_keys=True)


def _first_difference(a, b, path="$"):
    if isinstance(a, dict) and set(a) == {"exit", "stderr"} and isinstance(b, dict) and set(b) == {"exit", "stderr"}:
        # a refused input: the refusal is frozen, its wording may improve
        return None if a["exit"] == b["exit"] else f"{path}: exit {a['exit']} != {b['exit']}"
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present on one side only"
            d = _first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    same = a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
    return None if same else f"{path}: {a!r} != {b!r}"


def _grouped():
    """Golden cases grouped into one test each (per profile, plus the rest), to keep the report short."""
    groups: dict[str, list[str]] = {}
    for name in cases():
        key = next((f"{kind}-{hw}" for hw in PROFILES for kind in ("compare", "microbench")
                    if name.startswith(f"{kind}-{hw}")), name.split("-")[0])
        groups.setdefault(key, []).append(name)
    return groups


#: Groups that simulate every workload (a minute or more each): left out of the fast tier
SLOW_GROUPS = {f"compare-{hw}" for hw in PROFILES} | {"run", "hybrid"}
#: The fast tier's golden cases: one discrete comparison of every mode and one scenario under each engine
QUICK = ["compare-xgene-armv8-2014-spec-int", "run-pages", "hybrid-run-pages"]


def _check(names: list[str]) -> None:
    all_cases = cases()
    for name in names:
        path = _file(name)
        assert path.exists(), f"{path} is missing: python tests/test_golden.py --write"
        expected = json.loads(path.read_text())
        got = json.loads(_dump(compute(name, all_cases[name])))
        diff = _first_difference(expected, got)
        assert diff is None, f"{name}: {diff}"


@pytest.mark.parametrize("group", [pytest.param(g, marks=pytest.mark.slow) if g in SLOW_GROUPS else g
                                   for g in _grouped()])
def test_golden_outputs_are_unchanged(group):
    _check(_grouped()[group])


def test_a_few_golden_outputs_are_unchanged():
    """The fast tier's sample of the slow groups, through the same comparison."""
    assert set(QUICK) <= set(cases())
    _check(QUICK)


def write() -> None:
    GOLDEN.mkdir(exist_ok=True)
    all_cases = cases()
    for old in GOLDEN.glob("*.json"):
        if old.stem not in all_cases:
            old.unlink()
    for name, argv in all_cases.items():
        _file(name).write_text(_dump(compute(name, argv)) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.stderr.write("usage: python tests/test_golden.py --write\n")
        sys.exit(2)
