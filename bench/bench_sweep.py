"""Sweep scaling and model growth. Prints ratios measured in this same process run.

- sweep scaling: a 200-point sweep with 1 worker and with 2: efficiency = t1 / (2 * t2) (target >= 0.8),
  and the wall time with 2 workers (target < 60 s);
- growth: wall time against simulated duration (1-16 s), vCPUs (1-256) and VMs (1-64), with the fitted
  exponent of wall ~ x^k (target k <= 1.1).

Usage: python bench/bench_sweep.py [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from kit.run import run
from kit.inputs.spec import Spec
from kit.sweep import sweep

QUICK = "--quick" in sys.argv


def sweep_scaling() -> None:
    base = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.01, seed=1)
    grid = {"hw.exit_roundtrip_cycles": list(range(200, 2200, 200)), "hypervisor": ["kvm", "xen-hvm"],
            "vcpus": [1, 2], "interrupts": ["posted"]}
    n_rep = 5  # 10 x 2 x 2 x 1 x 5 = 200 points
    t0 = time.perf_counter()
    one = sweep(base, grid, replications=n_rep, workers=1, progress=False)
    t1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    two = sweep(base, grid, replications=n_rep, workers=2, progress=False)
    t2 = time.perf_counter() - t0
    same = (one["value"].values == two["value"].values).all()
    print(f"sweep of {len(one)} points: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s, "
          f"efficiency {t1 / (2 * t2):.2f} (target >= 0.8); identical values: {same}")


def growth(name, xs, make) -> None:
    walls = []
    for x in xs:
        spec = make(x)
        t0 = time.perf_counter()
        run(spec, baseline=False)
        walls.append(time.perf_counter() - t0)
    k = np.polyfit(np.log(xs), np.log(walls), 1)[0]
    pts = ", ".join(f"{x}: {w:.3f}s" for x, w in zip(xs, walls))
    print(f"growth with {name}: exponent {k:.2f} (target <= 1.1)  [{pts}]")


def main() -> None:
    sweep_scaling()
    kb = dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="kernel-build")
    growth("simulated duration (s)", [1, 2, 4, 8, 16] if not QUICK else [1, 2, 4],
           lambda x: Spec.make(**kb, vcpus=4, duration=float(x)))
    growth("vCPUs", [1, 4, 16, 64, 256] if not QUICK else [1, 4, 16],
           lambda x: Spec.make(**kb, vcpus=x, duration=1.0))
    growth("VMs (2 vCPUs each)", [1, 4, 16, 64] if not QUICK else [1, 4],
           lambda x: Spec.make(**kb, vcpus=2, vms=x, duration=1.0))
    nr = dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr")
    growth("simulated duration, netperf-rr (s)", [0.01, 0.02, 0.04, 0.08], lambda x: Spec.make(**nr, duration=x))


if __name__ == "__main__":
    main()
