"""The hybrid engine gives the discrete engine's answer: every workload preset under every mode preset, at three
levels of overcommit, within the discrete engine's 95% confidence interval.

The discrete engine simulates every slice and tick; its replications are frozen in
``tests/reference/equivalence-discrete.json`` (written by ``python tests/test_equivalence.py --write``, with the
discrete engine, which ``tests/test_golden.py`` pins bit for bit). The test runs the same cases with the hybrid
engine (the default: closed form where nothing contends, fluid sharing for CPU-bound work, slices where waking
vCPUs contend) and compares the means.

The comparison is a two-sample one: the difference of the means must lie within the 95% interval of the
difference (Welch), the discrete interval widened by the hybrid's own sampling error. With hundreds of cases, some
fall outside a 95% interval by chance even when the engines agree; so every case must pass at the family-wise
level (Bonferroni over all cases), and at least ``MIN_COVERAGE`` of the cases at the 95% level itself. A bias of
the hybrid engine in any mechanism shows up as a run of failures at 95% and, when large, as a family-wise failure.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from statistics import NormalDist, mean, stdev

import pytest

REFERENCE = Path(__file__).resolve().parent / "reference" / "equivalence-discrete.json"
HARDWARE = "skylake-sp-2017"
REPLICATIONS = 5
#: VMs x vCPUs on how many physical CPUs: none contend, twice and four times overcommitted
OVERCOMMIT = {"spare": dict(vms=2, vcpus=2, pcpus=16), "2x": dict(vms=2, vcpus=2, pcpus=2),
              "4x": dict(vms=2, vcpus=2, pcpus=1)}
#: Share of the cases that must pass at the 95% level (the expected share is 95%; 90% leaves room for chance).
MIN_COVERAGE = 0.90
#: The fast tier's cases, a tenth of a second each: one the closed form answers, one the fluid scheduler answers
QUICK = {"spec-int/kvm/spare": "analytic", "kernel-build/xen-hvm/2x": "hybrid"}


def _cases() -> dict[str, dict]:
    from kit.inputs.modes import PRESETS
    from kit.inputs.workloads import list_workloads
    out = {}
    for wl in list_workloads():
        # short runs: the comparison needs replications, not long ones (request workloads: a few thousand requests)
        duration = 0.2 if wl.kind == "cpu" else min(wl.default_duration, 0.01)
        for mode in PRESETS:
            for level, knobs in OVERCOMMIT.items():
                out[f"{wl.id}/{mode}/{level}"] = dict(hardware=HARDWARE, hypervisor=mode, workload=wl.id,
                                                      duration=duration, **knobs)
    return out


def _values(kw: dict, engine: str) -> list[float] | str:
    """The metric of each replication, or the refusal of an impossible combination."""
    from kit.errors import HvkitError
    from kit.inputs.spec import Spec
    from kit.run import run
    try:
        spec = Spec.make(**kw, engine=engine)
        return [float(run(spec.replace(seed=seed), baseline=False).summary["value"].iloc[0])
                for seed in range(REPLICATIONS)]
    except HvkitError as exc:
        return f"refused: {exc}"


def _t975(df: float) -> float:
    from kit.sim.stopping import t95
    return t95(max(1.0, df))


def _welch(a: list[float], b: list[float], level: float) -> tuple[float, float]:
    """(|difference of means|, half-width of its two-sided ``level`` interval)."""
    n = len(a)
    va, vb = stdev(a) ** 2 / n, stdev(b) ** 2 / n
    diff = abs(mean(a) - mean(b))
    se = math.sqrt(va + vb)
    if se == 0.0:
        return diff, 1e-9 * max(1.0, abs(mean(a)))
    df = (va + vb) ** 2 / ((va ** 2 + vb ** 2) / (n - 1)) if va + vb > 0 else n - 1
    if level == 0.95:
        q = _t975(df)
    else:  # a family-wise level: the normal quantile, inflated as t's is at this df
        z = NormalDist().inv_cdf(0.5 + level / 2)
        q = z * _t975(df) / NormalDist().inv_cdf(0.975)
    return diff, q * se


def _reference() -> dict:
    assert REFERENCE.exists(), f"{REFERENCE} is missing: python tests/test_equivalence.py --write"
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="module")
def comparison():
    reference = _reference()
    cases = _cases()
    assert sorted(reference) == sorted(cases), "the reference covers other cases: python tests/test_equivalence.py --write"
    rows = []
    for name, kw in cases.items():
        ref = reference[name]
        got = _values(kw, "hybrid")
        rows.append((name, ref, got))
    return rows


@pytest.mark.slow
def test_every_case_has_the_discrete_engines_answer(comparison):
    family = 1 - 0.05 / len(comparison)
    bad, within, compared = [], 0, 0
    for name, ref, got in comparison:
        if isinstance(ref, str) or isinstance(got, str):
            assert isinstance(ref, str) and isinstance(got, str), f"{name}: one engine refused: {ref} / {got}"
            continue
        compared += 1
        diff, half95 = _welch(ref, got, 0.95)
        within += diff <= half95
        diff, half = _welch(ref, got, family)
        if diff > half:
            bad.append(f"{name}: discrete {mean(ref):.6g} hybrid {mean(got):.6g} (difference {diff:.3g} > {half:.3g})")
    assert not bad, "outside the family-wise interval:\n" + "\n".join(bad)
    assert compared > 0.8 * len(comparison)
    assert within / compared >= MIN_COVERAGE, f"only {within} of {compared} cases within the 95% interval"


@pytest.mark.slow
def test_the_cases_exercise_every_engine(comparison):
    """The grid reaches the closed form, the queueing path, the fluid scheduler and the discrete scheduler under the
    hybrid engine."""
    from kit.inputs.spec import Spec
    from kit.run import run
    engines = set()
    for name, kw in _cases().items():
        if name.split("/")[1] in ("kvm", "xen-hvm") and name.split("/")[0] in ("spec-int", "kernel-build",
                                                                               "netperf-rr"):
            engines.add(run(Spec.make(**kw), baseline=False).summary["engine"].iloc[0])
    assert engines == {"analytic", "queueing", "hybrid", "discrete"}


def test_a_few_cases_have_the_discrete_engines_answer():
    """The fast tier's sample of the grid: the same family-wise comparison, on a case the closed form answers and
    one the fluid scheduler answers."""
    from kit.inputs.spec import Spec
    from kit.run import run
    reference, cases = _reference(), _cases()
    family = 1 - 0.05 / len(cases)
    for name, engine in QUICK.items():
        got = _values(cases[name], "hybrid")
        assert run(Spec.make(**cases[name]), baseline=False).summary["engine"].iloc[0] == engine, name
        diff, half = _welch(reference[name], got, family)
        assert diff <= half, f"{name}: discrete {mean(reference[name]):.6g} hybrid {mean(got):.6g}"


# ---- request workloads: the queueing path against the discrete engine -----------------------------------------

#: The discrete engine's replications of the request cases (written with the grid's, by ``--write``)
REQUEST_REFERENCE = REFERENCE.with_name("equivalence-requests.json")
#: Request and I/O workloads on hosts where nothing contends, which the hybrid engine answers with the queueing
#: path (kit.sim.request_paths): one VM on the whole host, several VMs sharing their clients, VMs sharing dom0,
#: neighbours on the same NIC and disk, and a scenario of heterogeneous VMs
REQUEST_CASES = {
    "netperf-rr/kvm/one-vm": dict(workload="netperf-rr", hypervisor="kvm"),
    "memcached/xen-hvm/one-vm": dict(workload="memcached", hypervisor="xen-hvm"),
    "fio-randread/kvm/one-vm": dict(workload="fio-randread", hypervisor="kvm"),
    "mysql-oltp/kvm-emulated/one-vm": dict(workload="mysql-oltp", hypervisor="kvm-emulated"),
    "quake3-server/vmware-bt/one-vm": dict(workload="quake3-server", hypervisor="vmware-bt", duration=0.1),
    "memcached/kvm/four-vms": dict(workload="memcached", hypervisor="kvm", vms=4, vcpus=2, pcpus=16),
    "netperf-rr/xen-pv/two-vms-one-dom0": dict(workload="netperf-rr", hypervisor="xen-pv", vms=2, pcpus=16,
                                               params={"clients": 4}),
    "specweb/container-nat/two-vms": dict(workload="specweb", hypervisor="container-nat", vms=2, vcpus=2),
    "apache-static/kvm/neighbor-memcached": dict(workload="apache-static", hypervisor="kvm", neighbor="memcached"),
    "fio-randrw/xen-hvm/neighbor-netperf-rr": dict(workload="fio-randrw", hypervisor="xen-hvm",
                                                   neighbor="netperf-rr"),
    "redis/kvm-sriov/neighbor-fio-randread": dict(workload="redis", hypervisor="kvm-sriov", neighbor="fio-randread"),
}
#: A scenario of heterogeneous request and disk VMs on 32 CPUs (nothing contends)
REQUEST_SCENARIO = dict(name="request-mix", hardware=HARDWARE, hypervisor="kvm", host={"pcpus": 32},
                        vms=[{"name": "web", "workload": "apache-static", "count": 2},
                             {"name": "kv", "workload": "memcached", "count": 2, "vcpus": 2},
                             {"name": "io", "workload": "fio-randread"},
                             {"name": "rr", "workload": "netperf-rr", "measured": False}])


#: The seeds of the request cases' replications: the discrete engine's reference, and the hybrid engine's run
#: against it (independent: the queueing path draws the discrete engine's numbers in the same order, so shared
#: seeds would compare a run with itself, see tests/test_engines.py)
REQUEST_SEEDS = {"discrete": range(REPLICATIONS), "hybrid": range(1000, 1000 + REPLICATIONS)}


def _request_values(name: str, engine: str) -> list[float]:
    """The metric of each replication of a request case (a scenario: the mean over its measured VMs)."""
    from kit.inputs.spec import Spec
    from kit.run import run
    if name == "request-mix":
        from kit.consolidation import run_scenario
        from kit.inputs.scenario import Scenario
        out = []
        for seed in REQUEST_SEEDS[engine]:
            sc = Scenario.make(**REQUEST_SCENARIO, duration=0.01, seed=seed, engine=engine)
            out.append(float(run_scenario(sc, alone=False, native=False).vms["value"].mean()))
        return out
    kw = {"hardware": HARDWARE, "duration": 0.01, **REQUEST_CASES[name]}
    params = kw.pop("params", {})
    spec = Spec.make(**kw, engine=engine).with_sets([(f"workload.{k}", v) for k, v in params.items()])
    return [float(run(spec.replace(seed=seed), baseline=False).summary["value"].iloc[0])
            for seed in REQUEST_SEEDS[engine]]


def _request_engine(name: str) -> str:
    from kit.inputs.spec import Spec
    from kit.run import run
    if name == "request-mix":
        from kit.consolidation import run_scenario
        from kit.inputs.scenario import Scenario
        return run_scenario(Scenario.make(**REQUEST_SCENARIO, duration=0.01), alone=False, native=False).host["engine"]
    kw = {"hardware": HARDWARE, "duration": 0.01, **REQUEST_CASES[name]}
    params = kw.pop("params", {})
    spec = Spec.make(**kw).with_sets([(f"workload.{k}", v) for k, v in params.items()])
    return str(run(spec, baseline=False).summary["engine"].iloc[0])


def _allowed_outside(n: int, p: float = 0.05, level: float = 1e-3) -> int:
    """The most of ``n`` cases that may fall outside their 95% interval by chance: the smallest ``k`` with
    P(Binomial(n, 0.05) > k) below ``level`` (a dozen cases are too few for ``MIN_COVERAGE``'s 90%)."""
    k, tail = 0, 1.0
    while True:
        tail -= math.comb(n, k) * p ** k * (1 - p) ** (n - k)
        if tail < level:
            return k
        k += 1


@pytest.mark.slow
def test_request_workloads_have_the_discrete_engines_answer():
    """Every request case through the queueing path, within the family-wise interval of the discrete engine's
    replications (independent seeds), and no more of them outside the 95% interval than chance allows."""
    assert REQUEST_REFERENCE.exists(), f"{REQUEST_REFERENCE} is missing: python tests/test_equivalence.py --write"
    reference = json.loads(REQUEST_REFERENCE.read_text())
    names = list(REQUEST_CASES) + ["request-mix"]
    assert sorted(reference) == sorted(names), "the reference covers other cases: python tests/test_equivalence.py --write"
    family = 1 - 0.05 / len(names)
    bad, within = [], 0
    for name in names:
        assert _request_engine(name) == "queueing", name
        got = _request_values(name, "hybrid")
        diff, half95 = _welch(reference[name], got, 0.95)
        within += diff <= half95
        diff, half = _welch(reference[name], got, family)
        if diff > half:
            bad.append(f"{name}: discrete {mean(reference[name]):.6g} queueing {mean(got):.6g}")
    assert not bad, "outside the family-wise interval:\n" + "\n".join(bad)
    assert len(names) - within <= _allowed_outside(len(names)), f"only {within} of {len(names)} within 95%"


def test_a_request_case_has_the_discrete_engines_answer():
    """The fast tier's sample: one VM of netperf-rr and four VMs of memcached sharing their clients."""
    reference = json.loads(REQUEST_REFERENCE.read_text())
    family = 1 - 0.05 / (len(REQUEST_CASES) + 1)
    for name in ("netperf-rr/kvm/one-vm", "memcached/kvm/four-vms"):
        assert _request_engine(name) == "queueing", name
        diff, half = _welch(reference[name], _request_values(name, "hybrid"), family)
        assert diff <= half, name


def _write_requests() -> None:
    out = {name: _request_values(name, "discrete") for name in list(REQUEST_CASES) + ["request-mix"]}
    REQUEST_REFERENCE.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")


def write() -> None:
    out = {name: _values(kw, "discrete") for name, kw in _cases().items()}
    REFERENCE.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    _write_requests()


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.stderr.write("usage: python tests/test_equivalence.py --write\n")
        sys.exit(2)
