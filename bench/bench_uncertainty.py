"""What model uncertainty costs: a single-VM compare of seven modes with its 90% prediction intervals against the
same compare without them, measured in the same process run (ratios of CPU seconds, best of three).

Each measurement starts cold: the process's native baselines and screening results are forgotten first, so the
compare with intervals pays for every simulation it needs. The libraries the intervals import once per process
(SALib, SciPy's statistics) are imported before timing and their cost printed apart. /proc/loadavg is printed
before and after: the machine is shared, and CPU seconds are what the ratio compares.

Usage: python bench/bench_uncertainty.py [--quick]
"""
from __future__ import annotations

import subprocess
import sys
import time

import kit
from kit.uncertainty import propagate

QUICK = "--quick" in sys.argv
REPEATS = 1 if QUICK else 3
MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "kvm-sriov", "qemu-tcg"]
#: (workload, why): the README's compare example first (simulated), a cheap simulated one, a closed form
CASES = [("netperf-rr", "the README's compare example: request/response, every mode simulated"),
         ("kernel-build", "CPU-bound with write-back disk I/O: cheap simulations"),
         ("stream", "a closed form: no simulation at all")]


def _cold() -> None:
    run_mod = sys.modules["kit.run.baselines"]
    run_mod._BASELINES.clear()
    run_mod._ALONE.clear()
    propagate._SCREENS.clear()


def _once(workload: str, uncertainty: bool) -> tuple[float, float]:
    _cold()
    c0, w0 = time.process_time(), time.perf_counter()
    kit.compare("skylake-sp-2017", workload, MODES, model_uncertainty=uncertainty)
    return time.process_time() - c0, time.perf_counter() - w0


def _import_cost() -> float:
    code = ("import time, kit.run; t = time.process_time(); from SALib.sample import latin, sobol; "
            "from SALib.analyze import sobol as a; print(time.process_time() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    print(f"loadavg before: {open('/proc/loadavg').read().strip()}")
    print(f"one-time import of SALib and SciPy's statistics (a separate process): {_import_cost():.2f} s CPU")
    kit.compare("skylake-sp-2017", "stream", ["kvm"], model_uncertainty=True)  # the libraries, warmed
    print(f"single-VM compare of {len(MODES)} modes on skylake-sp-2017, CPU seconds, best of {REPEATS}:")
    print(f"{'workload':<14}{'without':>10}{'with 90% PI':>13}{'ratio':>8}   wall without / with")
    for workload, why in CASES:
        plain, with_pi = [], []
        for _ in range(REPEATS):  # alternated, so that a change of load hits both
            plain.append(_once(workload, False))
            with_pi.append(_once(workload, True))
        a, b = min(plain), min(with_pi)
        print(f"{workload:<14}{a[0]:>10.2f}{b[0]:>13.2f}{b[0] / a[0]:>7.2f}x   {a[1]:.2f} / {b[1]:.2f} s   ({why})")
    print(f"loadavg after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
