"""Scale of consolidation: hundreds of VMs on a large host, whose cost should grow no faster than the number of
VMs. Every figure is measured in this same run, as CPU seconds of this process (best of several, so that other load
on the machine counts little), and reported as a ratio to the baseline measured here: the same run with one VM.

1. `hvkit run --vms N --vcpus 2` on the 64-core profile (``zen3-epyc-2021``, ``pcpus=64``: one socket's cores),
   N = 1, 4, 16, 64, 256, under KVM: kernel-build (CPU-bound units and small writes; the hybrid engine's fluid
   sharing) and apache-static (requests from clients; vCPUs that wake contend, so the hybrid engine runs slices),
   and kernel-build on the discrete engine (every slice and tick). Per N: CPU seconds, events, the ratio to N = 1;
   the fitted growth exponent over N (at most 1: linear) and the largest local one (a knee shows there).
2. A scenario of 16, 64 and 256 heterogeneous VMs (web, database, batch, a STREAM neighbour per 16) through
   ``run_scenario`` without the alone and native references: the ratio to 16 VMs and the growth exponent.

Usage: python bench/bench_consolidation.py [--quick]    (quick: N = 1, 16, 256 and one repetition)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit.consolidation import run_scenario  # noqa: E402
from kit.inputs.scenario import Scenario  # noqa: E402
from kit.inputs.spec import Spec  # noqa: E402
from kit.run import run  # noqa: E402

QUICK = "--quick" in sys.argv
HW = "zen3-epyc-2021"
PCPUS = 64
NS = [1, 16, 256] if QUICK else [1, 4, 16, 64, 256]
K = 1 if QUICK else 3
#: simulated seconds: kernel-build's units last tens of milliseconds; apache-static serves thousands of requests
#: per VM per second
#: simulated seconds of the heterogeneous scenario
SCENARIO_S = 0.02
CASES = [("kernel-build", "hybrid", 1.0), ("apache-static", "hybrid", 0.05), ("kernel-build", "discrete", 0.2)]


def cpu_of(f) -> tuple[float, object]:
    t = time.process_time()
    out = f()
    return time.process_time() - t, out


def best(f, k: int = K) -> tuple[float, object]:
    runs = [cpu_of(f) for _ in range(k)]
    return min(r[0] for r in runs), runs[-1][1]


def exponent(xs, ys) -> tuple[float, float]:
    """Fitted exponent of y ~ x^k, and the largest exponent between consecutive points."""
    lx, ly = np.log(xs), np.log(ys)
    local = np.diff(ly) / np.diff(lx)
    return float(np.polyfit(lx, ly, 1)[0]), float(local.max())


def vms_case(workload: str, engine: str, duration: float) -> None:
    print(f"\n{workload}, {engine} engine, {duration:g} simulated s: N VMs x 2 vCPUs on {PCPUS} CPUs of {HW} (KVM)")
    print(f"{'N':>5} {'vCPUs':>6} {'CPU s':>8} {'x N=1':>7} {'events':>9} {'engine':>9}")
    costs = []
    run(Spec.make(hardware=HW, hypervisor="kvm", workload=workload, vms=1, vcpus=2, pcpus=PCPUS, duration=duration,
                  engine=engine), baseline=False)  # warm-up: imports and caches are not the baseline's cost
    for n in NS:
        spec = Spec.make(hardware=HW, hypervisor="kvm", workload=workload, vms=n, vcpus=2, pcpus=PCPUS,
                         duration=duration, engine=engine)
        c, r = best(lambda: run(spec, baseline=False))
        s = r.summary.iloc[0]
        costs.append(c)
        print(f"{n:>5} {2 * n:>6} {c:>8.3f} {c / costs[0]:>7.1f} {int(s['events']):>9} {s['engine']:>9}", flush=True)
    k, knee = exponent(NS, costs)
    print(f"growth with VMs: exponent {k:.2f} over N = {NS[0]}..{NS[-1]} (largest local {knee:.2f}); "
          f"{NS[-1]} VMs cost {costs[-1] / costs[0]:.1f}x one VM for {NS[-1]}x the VMs")


def mixed(n: int) -> Scenario:
    per = n // 16
    vms = [{"name": "web", "workload": "apache-static", "count": 6 * per, "vcpus": 2},
           {"name": "db", "workload": "mysql-oltp", "count": 4 * per, "vcpus": 2},
           {"name": "batch", "workload": "kernel-build", "count": 5 * per, "vcpus": 2},
           {"name": "noisy", "workload": "stream", "count": per, "vcpus": 2, "measured": False}]
    return Scenario.make(name=f"mixed {n}", hardware=HW, hypervisor="kvm", duration=SCENARIO_S,
                         host={"pcpus": PCPUS}, vms=vms)


def scenario_case() -> None:
    print(f"\nA heterogeneous scenario (6 web, 4 database, 5 batch, 1 STREAM neighbour per 16 VMs, 2 vCPUs each) on "
          f"{PCPUS} CPUs of {HW}, {SCENARIO_S:g} simulated s, run_scenario without the alone/native references")
    run_scenario(mixed(16), alone=False, native=False)  # warm-up
    ns = [16, 256] if QUICK else [16, 64, 256]
    costs = []
    for n in ns:
        c, r = best(lambda: run_scenario(mixed(n), alone=False, native=False))
        costs.append(c)
        sw = r.host["vm_switches"]
        print(f"{n:>5} VMs: {c:.3f} CPU s ({c / costs[0]:.1f}x 16 VMs), {r.host['events']} events, engine "
              f"{r.host['engine']}, {'n/a' if sw is None else sw} VM switches", flush=True)
    k, knee = exponent(ns, costs)
    print(f"growth with VMs: exponent {k:.2f} over N = {ns[0]}..{ns[-1]} (largest local {knee:.2f})")


def main() -> None:
    for wl, engine, d in CASES:
        vms_case(wl, engine, d)
    scenario_case()


if __name__ == "__main__":
    main()
