"""One measurement of the kit found on PYTHONPATH, printed as one line of JSON: what bench/bench_speed.py runs for this
checkout and for the last tagged release (unpacked into a temporary directory), so that both are measured
the same way in the same run. Only the API both have is used (kit.inputs.spec.Spec, kit.run.run and compare,
kit.inputs.scenario.Scenario, kit.consolidation.run_scenario).

Cases (CPU seconds of this process, best of ``--best``, after one warm-up run that pays for the imports):

- ``cpu N``: kernel-build on N VMs x 2 vCPUs on 16 CPUs of skylake-sp-2017 under KVM: CPU per simulated second,
  the difference between runs of 1 and 5 simulated seconds over 4;
- ``iomix N D1 D2``: N VMs x 2 vCPUs on 16 CPUs, a quarter each memcached, apache-static, fio-randread and dbench
  (a scenario of four groups): CPU per simulated second between D1 and D2 simulated seconds;
- ``compare``: ``compare`` of netperf-rr on skylake-sp-2017 under seven modes (native, xen-pv, xen-hvm, kvm,
  kvm-emulated, kvm-sriov, qemu-tcg), one VM, default duration: CPU seconds of the call.

Usage: PYTHONPATH=ROOT python bench/measure.py CASE [ARGS] [--best K]
"""
from __future__ import annotations

import json
import sys
import time

HW = "skylake-sp-2017"
MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "kvm-sriov", "qemu-tcg"]
MIX = ["memcached", "apache-static", "fio-randread", "dbench"]


def cpu_of(f) -> float:
    t = time.process_time()
    f()
    return time.process_time() - t


def main(argv: list[str]) -> dict:
    best = 3
    if "--best" in argv:
        i = argv.index("--best")
        best = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    case, args = argv[0], argv[1:]
    if case == "cpu":
        from kit.inputs.spec import Spec
        from kit.run import run
        n = int(args[0])

        def one(d: float) -> object:
            return run(Spec.make(hardware=HW, hypervisor="kvm", workload="kernel-build", vms=n, vcpus=2, pcpus=16,
                                 duration=d), baseline=False)
        one(0.5)
        c1 = min(cpu_of(lambda: one(1.0)) for _ in range(best))
        c2 = min(cpu_of(lambda: one(5.0)) for _ in range(best))
        return {"case": case, "n": n, "cpu_per_sim_s": max(c2 - c1, 1e-9) / 4.0}
    if case == "iomix":
        from kit.consolidation import run_scenario
        from kit.inputs.scenario import Scenario
        n, d1, d2 = int(args[0]), float(args[1]), float(args[2])
        vms = [{"name": w.split("-")[0], "workload": w, "count": n // 4, "vcpus": 2} for w in MIX]

        def mix(d: float) -> object:
            sc = Scenario.make(name=f"io{n}", hardware=HW, hypervisor="kvm", duration=d, host={"pcpus": 16}, vms=vms)
            return run_scenario(sc, alone=False, native=False)
        r = mix(d1)
        c1 = min(cpu_of(lambda: mix(d1)) for _ in range(best))
        c2 = min(cpu_of(lambda: mix(d2)) for _ in range(best))
        return {"case": case, "n": n, "cpu_per_sim_s": max(c2 - c1, 1e-9) / (d2 - d1),
                "engine": r.host["engine"]}  # type: ignore[attr-defined]
    if case == "compare":
        from kit.run import compare
        compare(HW, "netperf-rr", ["kvm"], duration=0.01)
        c = min(cpu_of(lambda: compare(HW, "netperf-rr", MODES)) for _ in range(best))
        return {"case": case, "cpu_s": c}
    raise SystemExit(f"unknown case {case!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
