"""Benchmarks of the system model. Prints ratios measured in this same process.

- event throughput: SimPy events per wall second of a standard kernel-build run,
  against a bare SimPy loop of timeouts (target: ratio >= 0.5);
- event budget: events per simulated second of kernel-build on a 4-vCPU VM (<= 50,000);
- interactive latency: wall time of one run of each preset workload at default settings (< 0.5 s);
- the wall time of `hvkit compare` on netperf-rr across seven modes (the issue's command).

Usage: python bench/bench_model.py
"""
from __future__ import annotations

import subprocess
import sys
import time

import simpy

from kit.run import run
from kit.inputs.spec import Spec
from kit.inputs.workloads import list_workloads


def bare_simpy(n: int = 300_000) -> float:
    env = simpy.Environment()

    def proc():
        for _ in range(n):
            yield env.timeout(1)
    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t0)


def bare_resource(n: int = 100_000) -> float:
    """Events per second of a bare SimPy loop that requests, holds and releases a preemptive resource."""
    env = simpy.Environment()
    res = simpy.PreemptiveResource(env, capacity=1)

    def proc():
        for _ in range(n):
            with res.request(priority=1) as req:
                yield req
                yield env.timeout(1)
    env.process(proc())
    t0 = time.perf_counter()
    count = 0
    while env.peek() != float("inf"):
        env.step()
        count += 1
    return count / (time.perf_counter() - t0)


def best_of(f, k=3):
    return min(f() for _ in range(k))


def main() -> None:
    bare = max(bare_simpy() for _ in range(3))
    spec = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="kernel-build", vcpus=4, duration=100.0)
    t0 = time.perf_counter()
    r = run(spec, baseline=False)
    wall = time.perf_counter() - t0
    ev = int(r.summary["events"].iloc[0])
    model_rate = ev / wall
    bare_res = max(bare_resource() for _ in range(3))
    print(f"bare SimPy: {bare:,.0f} timeout events/s; {bare_res:,.0f} events/s in a bare preemptive-resource loop")
    print(f"kernel-build (4 vCPUs, 100 simulated s): {ev:,} events, {ev / 100:,.0f} events per simulated second, "
          f"{model_rate:,.0f} events/s wall")
    print(f"event throughput ratio (model / bare timeouts): {model_rate / bare:.2f}  (target >= 0.5); "
          f"against the bare resource loop: {model_rate / bare_res:.2f}")
    print(f"event budget: {ev / 100:,.0f} per simulated second (target <= 50,000)")
    # a request workload, whose events are mostly I/O
    spec = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.2)
    t0 = time.perf_counter()
    r = run(spec, baseline=False)
    wall = time.perf_counter() - t0
    ev = int(r.summary["events"].iloc[0])
    print(f"netperf-rr (kvm, 0.2 s): {ev / 0.2:,.0f} events per simulated second, {ev / wall:,.0f} events/s wall, "
          f"ratio {ev / wall / bare:.2f} against timeouts, {ev / wall / bare_res:.2f} against the resource loop")
    print("\ninteractive latency: one run (with its native baseline) per preset at default settings")
    rows = []
    for wl in list_workloads():
        s = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload=wl.id)
        t = best_of(lambda: _timed(s), 1)
        rows.append((t, wl.id))
        print(f"  {wl.id:14s} {t:.3f} s")
    worst = max(rows)
    print(f"slowest preset: {worst[1]} {worst[0]:.3f} s (target < 0.5 s)")
    cmd = [sys.executable, "-m", "kit.cli", "compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr",
           "--hypervisors", "native,xen-pv,xen-hvm,kvm,kvm-emulated,kvm-sriov,qemu-tcg"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    print(f"\n`hvkit compare ... netperf-rr` across 7 modes: {time.perf_counter() - t0:.2f} s wall (including start-up)")


def _timed(spec) -> float:
    t0 = time.perf_counter()
    run(spec)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
