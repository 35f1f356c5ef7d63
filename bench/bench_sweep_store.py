"""Parent-side cost of storing sweep points, before and after the chunked store. Prints ratios measured in this
same process run.

- store one point: what the parent spends from a finished row to a durable record. Before: the per-point
  Parquet store this replaced (its ``put``, copied below: one DataFrame and one Parquet file per point).
  After: ``kit.sweep.Store`` with the records of one flush written as one checksummed, synced chunk, at
  several batch sizes (a flush writes whatever finished in the last ``FLUSH_SECONDS``, at most ``FLUSH_POINTS``).
- reuse one point: reading a stored point back (before: one ``read_parquet`` per point; after: one ``load``).
- a whole sweep (if git can show the code before the change): the parent process's CPU time per point of the
  same 2-worker sweep into a fresh store, with the old ``kit/sweep.py`` and the current ``kit/sweep/`` package.

Usage: python bench/bench_sweep_store.py [--quick]
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import kit
from kit import sweep as sw
from kit.sweep.point import METRIC_COLUMNS
from kit.sweep.workers import FLUSH_POINTS
from kit.inputs.spec import Spec

QUICK = "--quick" in sys.argv
N = 200 if QUICK else 1000
BEFORE = "ca4e7c6"  # the last commit with one Parquet file per point


def old_put(path: Path, key: str, row: dict) -> None:
    """``kit.sweep.Store.put`` as it was at BEFORE."""
    tmp = path / f".{key}.{os.getpid()}.tmp"
    pd.DataFrame([row]).astype({"backend_util": str, "error": str, "metric": str, "unit": str},
                               errors="ignore").to_parquet(tmp, index=False)
    os.replace(tmp, path / f"{key}.parquet")


def rows(n: int):
    base = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", duration=0.05)
    row = sw.run_point(base)
    specs = [base.replace(seed=i) for i in range(n)]
    return [(s, {**row, "spec_hash": s.key(kit.__version__), "seed": s.seed}) for s in specs]


def store_cost(points) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "old"
        path.mkdir()
        t0 = time.perf_counter()
        for _, row in points:
            old_put(path, row["spec_hash"], row)
        before = (time.perf_counter() - t0) / len(points)
        t0 = time.perf_counter()
        for _, row in points:
            pd.read_parquet(path / f"{row['spec_hash']}.parquet").iloc[0].to_dict()
        read_before = (time.perf_counter() - t0) / len(points)
        print(f"store one point, before (one Parquet file each): {before * 1e3:.2f} ms")
        for batch in (1, 16, 128, FLUSH_POINTS):
            st = sw.Store(Path(d) / f"new{batch}")
            st.lock()
            t0 = time.perf_counter()
            buf = []
            for spec, row in points:  # what WorkQueue._finish and flush() do in the parent
                result = {k: row[k] for k in METRIC_COLUMNS}
                buf.append({"key": row["spec_hash"], "version": kit.__version__,
                            "spec": spec.model_dump(mode="json"), "result": result})
                if len(buf) == batch:
                    st.put_many(buf)
                    buf = []
            if buf:
                st.put_many(buf)
            after = (time.perf_counter() - t0) / len(points)
            st.close()
            print(f"  after, {batch:4d} points a chunk: {after * 1e3:.3f} ms; before/after = {before / after:.1f}x")
        st = sw.Store(Path(d) / f"new{FLUSH_POINTS}")
        t0 = time.perf_counter()
        index = st.load()
        for _, row in points:
            index[row["spec_hash"]]["result"]
        read_after = (time.perf_counter() - t0) / len(points)
        st.close()
        print(f"reuse one point: before {read_before * 1e3:.2f} ms, after {read_after * 1e3:.3f} ms; "
              f"before/after = {read_before / read_after:.1f}x")


def old_module():
    root = Path(__file__).resolve().parent.parent
    try:
        src = subprocess.run(["git", "-C", str(root), "show", f"{BEFORE}:kit/sweep.py"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sweep_before.py"
        path.write_text(src)
        name = "kit._sweep_before"  # inside the kit package, so that its relative imports resolve
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


def whole_sweep() -> None:
    old = old_module()
    if old is None:
        print("whole sweep: skipped (git cannot show the code before the change)")
        return
    base = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="spec-int", duration=0.05)
    grid = {"hw.exit_roundtrip_cycles": list(range(100, 100 + 10 * (40 if QUICK else 150), 10))}
    cpu = {}
    for label, mod in (("before", old), ("after", sw)):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.process_time()
            df = mod.sweep(base, grid, workers=2, store=Path(d) / "st", progress=False)
            cpu[label] = (time.process_time() - t0) / len(df)
    print(f"whole sweep of {len(df)} points on 2 workers, parent CPU a point: before {cpu['before'] * 1e3:.2f} ms, "
          f"after {cpu['after'] * 1e3:.2f} ms; before/after = {cpu['before'] / cpu['after']:.1f}x")


def main() -> None:
    store_cost(rows(N))
    whole_sweep()


if __name__ == "__main__":
    main()
