"""Speed of the hybrid engine, against the discrete engine, SimGrid's C++ fluid model and the last tagged release.
Every figure is measured in this same run (CPU seconds, best of several, so that other load on the machine counts
as little as possible) and printed with /proc/loadavg beside it; SimGrid is built from bench/simgrid_peer.cpp when
g++ and Debian's libsimgrid-dev are installed, and otherwise its figures come from bench/simgrid_reference.json
with the date and machine they were measured on. The last release (``git describe --tags --abbrev=0``) is unpacked
with ``git archive`` into a temporary directory, measured by bench/measure.py with PYTHONPATH pointing at it, and
removed.

1. CPU per simulated second of N VMs x 2 vCPUs on 16 pCPUs running kernel-build under KVM (CPU-bound units plus
   small asynchronous writes), N = 1..256 (512 vCPUs): hybrid, discrete (N <= 64) and SimGrid; growth exponents
   over N and over vCPUs, with the largest local exponent (a knee shows as one well above the rest); at N = 64,
   this checkout against the last release. Target: hybrid <= SimGrid, no regression against the release.
2. The analytic path: each CPU-bound preset's closed form against the discrete simulation (speed-up, agreement).
3. A 10,000-point mixed sweep on all cores: 40% CPU-bound points (closed forms), 20% overcommitted (2 VMs x 2
   vCPUs of kernel-build on 2 CPUs, the fluid scheduler), 40% request and I/O points (netperf-rr, memcached,
   fio-randread, apache-static, 10 ms each: the queueing path), each at its own exit latency. Target: <= 5 ms of
   CPU per point (this process and its workers).
4. Start-up: CLI start-up against `python -c "import simpy"`; a single-VM compare of 7 modes on netperf-rr
   (in-process, after the imports) against the same `import simpy`, and against the last release. Target: <= 10x.
5. Peak memory of memcached with 8 VMs x 4 vCPUs for 0.5 s.
6. A widget's answer per preset (one VM, precision 0.005), and early stopping.
7. The I/O mix at N = 64 (memcached, apache-static, fio-randread, dbench, 2 vCPUs each, 16 CPUs): CPU per
   simulated second against the last release. Target: >= 100x cheaper.

Usage: python bench/bench_speed.py [--quick]    (quick: fewer sizes, no memory case)
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit.inputs.resolve import resolve  # noqa: E402
from kit.inputs.spec import Spec  # noqa: E402
from kit.inputs.workloads import list_workloads  # noqa: E402
from kit.run import closed_form_metrics, run  # noqa: E402
from kit.sim.mode_costs import Costing  # noqa: E402
from kit.sim.drivers import UNIT_WORK_CV  # noqa: E402
from kit.sim.stopping import t95  # noqa: E402

QUICK = "--quick" in sys.argv
HW = "skylake-sp-2017"
PCPUS = 16
REFERENCE = Path(__file__).resolve().parent / "simgrid_reference.json"
#: Replications of the discrete simulation the closed form is compared with
REPS = 10


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def load() -> str:
    """The machine's load (1, 5 and 15 minutes), printed beside every ratio."""
    try:
        return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load ?"


@contextlib.contextmanager
def release_checkout():
    """The last tagged release's files (``git archive``) in a temporary directory: yields (tag, path); removed
    after, and nothing registered in the repository, so that an interrupted run leaves no worktree behind. None
    when there is no tag (or no git)."""
    try:
        tag = subprocess.run(["git", "-C", str(ROOT), "describe", "--tags", "--abbrev=0", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="hvkit-release-"))
    path = tmp / tag
    path.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", tag], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive, check=True, capture_output=True)
        yield tag, path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(root: Path, *args: str) -> dict:
    """bench/measure.py run against the kit at ``root`` (this checkout or the unpacked release)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("measure.py")), *args], capture_output=True,
                       text=True, env=env, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        raise RuntimeError(f"measure.py {' '.join(args)} at {root}: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def against_release(release, key: str, *args: str, rounds: int = 2) -> tuple[float, float] | None:
    """``key`` of bench/measure.py's case ``args`` for this checkout and for the release, the two measured in
    turn ``rounds`` times (so that a change of load hits both), best of each."""
    if release is None:
        return None
    head, old = [], []
    for _ in range(rounds):
        head.append(measure(ROOT, *args)[key])
        old.append(measure(release[1], *args)[key])
    return min(head), min(old)


def cpu_of(f) -> float:
    t = time.process_time()
    f()
    return time.process_time() - t


def best(f, k: int = 3) -> float:
    return min(cpu_of(f) for _ in range(k))


def per_sim_second(make, d1: float, d2: float, k: int = 3) -> tuple[float, float]:
    """Marginal CPU seconds per simulated second (between two durations, best of k each), and events per second."""
    c1 = best(lambda: run(make(d1), baseline=False), k)
    c2 = best(lambda: run(make(d2), baseline=False), k)
    events = run(make(d2), baseline=False).summary["events"].iloc[0] / d2
    return max(c2 - c1, 1e-9) / (d2 - d1), events


def exponent(xs, ys) -> tuple[float, float]:
    """Fitted exponent of y ~ x^k, and the largest exponent between consecutive points."""
    lx, ly = np.log(xs), np.log(ys)
    local = np.diff(ly) / np.diff(lx)
    return float(np.polyfit(lx, ly, 1)[0]), float(local.max())


# ---- 1. SimGrid and the fluid scaling ------------------------------------------------------------------------

def simgrid_binary() -> Path | None:
    if not shutil.which("g++") or not Path("/usr/include/simgrid/s4u.hpp").exists():
        return None
    out = Path(tempfile.mkdtemp()) / "simgrid_peer"
    r = subprocess.run(["g++", "-O2", "-o", str(out), str(Path(__file__).with_name("simgrid_peer.cpp")),
                        "-lsimgrid"], capture_output=True, text=True)
    return out if r.returncode == 0 else None


def simgrid_cost(binary: Path, n: int, args: list[str], d1: float, d2: float) -> float:
    def once(d: float) -> float:
        r = subprocess.run([str(binary), str(n), "2", str(PCPUS), *args, str(d), "--log=root.thres:critical"],
                           capture_output=True, text=True, check=True)
        return float(r.stdout.split()[4])
    c1 = min(once(d1) for _ in range(3))
    c2 = min(once(d2) for _ in range(3))
    return max(c2 - c1, 1e-9) / (d2 - d1)


def scaling(release) -> None:
    kb = dict(hardware=HW, hypervisor="kvm", workload="kernel-build", vcpus=2, pcpus=PCPUS)
    res = resolve(Spec.make(**kb))
    unit = Costing(res.hw, res.mode, res.workload).unit()
    freq = res.hw.val("freq_ghz") * 1e9
    pu = res.workload.per_unit
    peer_args = [f"{unit.total:.6g}", str(UNIT_WORK_CV[0]), f"{freq:.6g}", str(pu.disk_ops), str(pu.disk_kb),
                 f"{res.hw.val('disk_mbps') * 1e6:.6g}"]
    ns = [1, 4, 16, 64, 256] if QUICK else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    binary = simgrid_binary()
    ref = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    peer_note = ("built here from bench/simgrid_peer.cpp" if binary else
                 f"not built here (no g++/libsimgrid-dev); figures from {REFERENCE.name}, measured "
                 f"{ref.get('date', '?')} on {ref.get('machine', '?')}")
    print(f"1. CPU per simulated second: N VMs x 2 vCPUs on {PCPUS} pCPUs, kernel-build under KVM "
          f"(unit {unit.total:.3g} cycles, {pu.disk_ops} writes of {pu.disk_kb:g} KiB per unit). SimGrid: {peer_note}")
    print(f"{'N':>5} {'vCPUs':>6} {'hybrid ms':>10} {'events/s':>9} {'discrete ms':>12} {'SimGrid ms':>11} "
          f"{'hybrid/SimGrid':>15}")
    rows = []
    measured = {}
    for n in ns:
        h, ev = per_sim_second(lambda d: Spec.make(**kb, vms=n, duration=d), 1.0, 5.0)
        disc = per_sim_second(lambda d: Spec.make(**kb, vms=n, duration=d, engine="discrete"), 0.5, 2.0, 1)[0] \
            if n <= 64 else float("nan")
        sg = simgrid_cost(binary, n, peer_args, 1.0, 10.0) if binary else ref.get("ms_per_sim_s", {}).get(str(n),
                                                                                                        float("nan")) / 1e3
        measured[str(n)] = round(sg * 1e3, 3)
        rows.append((n, h, disc, sg))
        print(f"{n:>5} {2 * n:>6} {h * 1e3:>10.2f} {ev:>9.0f} {disc * 1e3:>12.2f} {sg * 1e3:>11.2f} {h / sg:>15.2f}",
              flush=True)
    xs = [r[0] for r in rows]
    k, knee = exponent(xs, [r[1] for r in rows])
    sat = [r for r in rows if 2 * r[0] >= PCPUS]  # once the pCPUs are full, the work done per second is fixed
    ks, knees = exponent([r[0] for r in sat], [r[1] for r in sat])
    print(f"growth of the hybrid engine with VMs: exponent {k:.2f} over N = 1..{ns[-1]} (largest local {knee:.2f}); "
          f"{ks:.2f} once the {PCPUS} pCPUs are full (largest local {knees:.2f})")
    dn = [r for r in rows if r[2] == r[2]]
    kd, kneed = exponent([r[0] for r in dn], [r[2] for r in dn])
    print(f"discrete engine: exponent {kd:.2f} (largest local {kneed:.2f}); SimGrid: exponent "
          f"{exponent(xs, [r[3] for r in rows])[0]:.2f}")
    at64 = next((r for r in rows if r[0] == 64), None)
    if at64:
        print(f"at N = 64: hybrid {at64[1] * 1e3:.2f} ms, SimGrid {at64[3] * 1e3:.2f} ms per simulated second "
              f"(ratio {at64[1] / at64[3]:.2f}, target <= 1; {load()}); discrete {at64[2] / at64[1]:.0f}x the hybrid")
        TARGETS["(a) hybrid / SimGrid, 64 VMs"] = (at64[1] / at64[3], "<= 1")
    pair = against_release(release, "cpu_per_sim_s", "cpu", "64")
    if pair is not None:
        print(f"at N = 64 against {release[0]} (bench/measure.py cpu 64, each measured twice in turn): this checkout "
              f"{pair[0] * 1e3:.2f} ms, {release[0]} {pair[1] * 1e3:.2f} ms per simulated second: ratio "
              f"{pair[0] / pair[1]:.2f} (target <= 1, no regression; {load()})")
        TARGETS[f"(a) this checkout / {release[0]}, 64 VMs"] = (pair[0] / pair[1], "<= 1")
    if binary and not QUICK:
        REFERENCE.write_text(json.dumps({"date": str(date.today()), "machine": machine(), "ms_per_sim_s": measured,
                                         "scenario": "simgrid_peer N 2 16 " + " ".join(peer_args) + " D"},
                                        indent=1) + "\n")
    vs = [2, 8, 32, 128, 256] if QUICK else [2, 4, 8, 16, 32, 64, 128, 256]
    hv = [per_sim_second(lambda d: Spec.make(**{**kb, "vcpus": v}, duration=d), 1.0, 5.0)[0] for v in vs]
    v512 = per_sim_second(lambda d: Spec.make(**{**kb, "vcpus": 256}, vms=2, duration=d), 1.0, 5.0)[0]
    k, knee = exponent(vs + [512], hv + [v512])
    print(f"growth with vCPUs (one VM of 2..256 vCPUs, then 2 x 256 = 512): exponent {k:.2f}, largest local "
          f"{knee:.2f}  [" + ", ".join(f"{v}: {c * 1e3:.1f} ms" for v, c in zip(vs + [512], hv + [v512])) + "]")


# ---- 2. the analytic path ----------------------------------------------------------------------------------

def analytic() -> None:
    print(f"\n2. The analytic path (one VM, 2 vCPUs, KVM): closed form against the discrete simulation, "
          f"{REPS} replications each")
    inside, total, ratios = 0, 0, []
    for wl in list_workloads():
        spec = Spec.make(hardware=HW, hypervisor="kvm", workload=wl.id, vcpus=2)
        if closed_form_metrics(spec) is None:
            continue
        t_closed = best(lambda: closed_form_metrics(spec), 5)
        t_run = best(lambda: run(spec, baseline=False), 3)
        vals, t_sim = [], 0.0
        for seed in range(REPS):
            s = spec.replace(seed=seed, engine="discrete")
            t = time.process_time()
            vals.append(run(s, baseline=False).summary["value"].iloc[0])
            t_sim += time.process_time() - t
        m, sd = float(np.mean(vals)), float(np.std(vals, ddof=1))
        half = t95(REPS - 1) * sd / np.sqrt(REPS)
        a = run(spec, baseline=False).summary["value"].iloc[0]
        # a discrete run with no randomness left gives the same value for every seed up to the order of its
        # floating-point sums: the interval is then a few ulps wide, and agreement is to 1e-9 of the value
        ok = abs(a - m) <= max(half, 1e-9 * abs(m))
        inside += ok
        total += 1
        ratios.append(t_sim / REPS / t_closed)
        print(f"  {wl.id:14s} closed form {a:.6g}, simulation {m:.6g} +- {half:.2g}: "
              f"{'inside' if ok else 'OUTSIDE'}; speed-up {t_sim / REPS / t_closed:,.0f}x (metrics only), "
              f"{t_sim / REPS / t_run:,.1f}x (run() with its tables)")
    print(f"  {inside} of {total} closed forms inside the simulation's 95% interval; median speed-up "
          f"{np.median(ratios):,.0f}x")


# ---- 3. sweeps ---------------------------------------------------------------------------------------------

def mixed_points(n: int) -> list:
    """``n`` points: 40% CPU-bound (closed forms), 20% overcommitted (the fluid scheduler), 40% request and I/O
    (the queueing path), each at its own exit latency so that no two share a platform."""
    cpu_wl = ["spec-int", "linpack", "specjvm", "pxz", "osdb-ir"]
    io_wl = ["netperf-rr", "memcached", "fio-randread", "apache-static"]
    modes = ["kvm", "xen-hvm", "vmware-bt", "hyperv"]
    n_cpu, n_over = int(n * 0.4), int(n * 0.2)
    pts = []
    for i in range(n):
        hw = {"exit_roundtrip_cycles": 200 + i}
        if i < n_cpu:
            pts.append(Spec.make(hardware=HW, hypervisor=modes[i % 4], workload=cpu_wl[i % 5], hw=hw))
        elif i < n_cpu + n_over:
            pts.append(Spec.make(hardware=HW, hypervisor=modes[i % 2], workload="kernel-build", vms=2, vcpus=2,
                                 pcpus=2, duration=0.5, hw=hw))
        else:
            pts.append(Spec.make(hardware=HW, hypervisor=modes[i % 4], workload=io_wl[i % 4], duration=0.01, hw=hw))
    return pts


def sweeps() -> None:
    from kit.sweep import sweep
    n = 2_000 if QUICK else 10_000
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    pts = mixed_points(n)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as d:
        t, c = time.perf_counter(), time.process_time()
        df = sweep(pts[0], points=pts, workers=cores, progress=False, store=Path(d) / "pts")
        wall, parent = time.perf_counter() - t, time.process_time() - c
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, reaped when the sweep ended
    kids = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    per = (parent + kids) / len(df)
    print(f"\n3. A {n:,}-point mixed sweep (40% CPU-bound, 20% overcommitted, 40% request and I/O; {cores} workers, "
          f"with a store): {wall:.1f} s wall, {parent:.2f} s CPU in this process, {kids:.1f} s in the workers: "
          f"{per * 1e3:.2f} ms of CPU per point (target <= 5; {load()}); engines "
          f"{df['engine'].value_counts().to_dict()}, errors {(df['error'] != '').sum()}")
    TARGETS[f"(d) CPU per point of a {n:,}-point mixed sweep, ms"] = (per * 1e3, "<= 5")


# ---- 4. start-up -------------------------------------------------------------------------------------------

def child_cpu(cmd: list[str], k: int = 5) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = []
    for _ in range(k):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(out)


def startup(release) -> None:
    py = sys.executable
    simpy = child_cpu([py, "-c", "import simpy"])
    bare = child_cpu([py, "-c", "pass"])
    helpcmd = child_cpu([py, "-m", "kit.cli", "run", "--help"])
    runcmd = child_cpu([py, "-m", "kit.cli", "run", "--hardware", HW, "--hypervisor", "kvm", "--workload",
                        "spec-int"])
    imports = child_cpu([py, "-c", "import kit.run, kit.inputs.spec, kit.sim.host, kit.results"])
    print(f"\n4. Start-up (CPU, best of 5): python -c pass {bare * 1e3:.0f} ms, python -c 'import simpy' "
          f"{simpy * 1e3:.0f} ms; `hvkit run --help` (parse and dispatch) {helpcmd * 1e3:.0f} ms = "
          f"{helpcmd / simpy:.2f}x import simpy; a whole `hvkit run` of spec-int {runcmd * 1e3:.0f} ms = "
          f"{runcmd / simpy:.1f}x, of which importing the engine and its tables (numpy, pydantic, pandas) "
          f"{imports * 1e3:.0f} ms")
    pair = against_release(release, "cpu_s", "compare")
    mine = pair[0] if pair is not None else measure(ROOT, "compare")["cpu_s"]
    print(f"   compare of 7 modes on netperf-rr, one VM, default duration (bench/measure.py compare, in-process after "
          f"its imports): {mine * 1e3:.0f} ms = {mine / simpy:.1f}x `python -c 'import simpy'` (target <= 10x; "
          f"{mine / max(simpy - bare, 1e-9):.1f}x the import alone, {simpy - bare:.3f} s; {load()})"
          + (f"; {release[0]}: {pair[1] * 1e3:.0f} ms = {pair[1] / simpy:.1f}x, {pair[1] / mine:.1f}x this checkout"
             if pair is not None else ""))
    TARGETS["(c) 7-mode netperf-rr compare / import simpy"] = (mine / simpy, "<= 10")


# ---- 5. memory ---------------------------------------------------------------------------------------------

#: The peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from the parent across exec).
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"


def memory() -> None:
    code = ("import time\nfrom kit.run import run\nfrom kit.inputs.spec import Spec\n"
            "t = time.process_time()\n"
            "r = run(Spec.make(hardware='skylake-sp-2017', hypervisor='kvm', workload='memcached', vms=8, vcpus=4,"
            f" duration=0.5))\nprint(len(r.latency), {PEAK}, time.process_time() - t)\n")
    base = ("from kit.run import run\nfrom kit.inputs.spec import Spec\n"
            "run(Spec.make(hardware='skylake-sp-2017', hypervisor='kvm', workload='memcached', vms=8, vcpus=4,"
            f" duration=0.001))\nprint({PEAK})\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    n, peak, cpu = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  env=env).stdout.split()
    floor = int(subprocess.run([sys.executable, "-c", base], capture_output=True, text=True, check=True,
                               env=env).stdout)
    print(f"\n5. memcached, 8 VMs x 4 vCPUs, 0.5 s (with its native baseline): {int(n):,} requests, peak "
          f"{int(peak) / 1024:.0f} MiB ({(int(peak) - floor) * 1024 / int(n):.0f} bytes a request above the "
          f"{floor / 1024:.0f} MiB of the same run for 1 ms), {float(cpu):.1f} s CPU")


# ---- 6. widgets and early stopping ---------------------------------------------------------------------------

def widgets() -> None:
    print("\n6. A widget's answer (one VM, default duration, precision 0.005; run() with its native baseline, "
          "which a panel computes once):")
    worst = []
    for wl in list_workloads():
        spec = Spec.make(hardware=HW, hypervisor="kvm", workload=wl.id, precision=0.005)
        cold = cpu_of(lambda: run(spec.replace(seed=1)))
        warm = best(lambda: run(spec.replace(seed=1)), 2)
        full = run(spec.replace(precision=None, seed=1)).summary.iloc[0]
        s = run(spec.replace(seed=1)).summary.iloc[0]
        worst.append((warm, wl.id))
        ci = f"[{s['ci_low']:.5g}, {s['ci_high']:.5g}]" if s["ci_low"] is not None else "-"
        print(f"  {wl.id:14s} {warm:.3f} s CPU ({cold:.3f} s with its baseline) {s['engine']:8s} "
              f"{s['stop_reason']:34s} {s['duration']:.3g} of {full['duration']:.3g} s simulated, CI {ci}")
    print(f"  slowest: {max(worst)[1]} {max(worst)[0]:.3f} s; presets under 0.1 s: "
          f"{sum(t < 0.1 for t, _ in worst)} of {len(worst)}")


# ---- 7. the I/O mix -------------------------------------------------------------------------------------------

def io_mix(release) -> None:
    n = 64
    d1, d2 = (0.01, 0.02) if QUICK else (0.01, 0.03)
    pair = against_release(release, "cpu_per_sim_s", "iomix", str(n), str(d1), str(d2), "--best", "2")
    mine = measure(ROOT, "iomix", str(n), str(d1), str(d2), "--best", "1")
    print(f"\n7. The I/O mix at N = {n} (memcached, apache-static, fio-randread, dbench; 2 vCPUs each on {PCPUS} "
          f"CPUs, KVM; engine {mine['engine']}): "
          + (f"{pair[0]:.2f} s of CPU per simulated second, {release[0]} {pair[1]:.2f} s: {pair[1] / pair[0]:.2f}x "
             f"cheaper (target >= 100x; {load()})" if pair is not None else
             f"{mine['cpu_per_sim_s']:.2f} s of CPU per simulated second (no release to compare with; {load()})"))
    if pair is not None:
        TARGETS[f"(b) I/O mix at N = 64: {release[0]} / this checkout"] = (pair[1] / pair[0], ">= 100")


#: Each target's figure and goal, printed together at the end
TARGETS: dict[str, tuple[float, str]] = {}


def main() -> None:
    print(f"hvkit speed benchmark, {date.today()}, {machine()}, {load()}\n")
    with release_checkout() as release:
        print(f"last release: {release[0] if release else 'none (no tag)'}\n")
        scaling(release)
        analytic()
        sweeps()
        startup(release)
        if not QUICK:
            memory()
        widgets()
        io_mix(release)
    print(f"\nTargets ({load()}):")
    for name, (value, goal) in TARGETS.items():
        print(f"  {name}: {value:.3g} (target {goal})")


if __name__ == "__main__":
    main()
