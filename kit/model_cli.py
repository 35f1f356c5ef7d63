"""``hvkit run`` and ``hvkit compare``."""
from __future__ import annotations

import json
import sys

import pandas as pd

from .errors import HvkitError

__all__ = ["register", "contributors"]


def _add_spec_args(s, several: bool = False):
    s.add_argument("--hardware", required=True)
    if several:
        s.add_argument("--hypervisors", required=True, help="modes separated by commas")
    else:
        s.add_argument("--hypervisor", required=True)
    s.add_argument("--workload", required=True)
    s.add_argument("--vcpus", type=int, default=1)
    s.add_argument("--vms", type=int, default=1)
    s.add_argument("--duration", type=float, default=None, help="simulated seconds (default: the workload's)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="e.g. memory.guest_page=2M, interrupts=posted, hw.exit_roundtrip_cycles=500, workload.mtu=500")
    s.add_argument("--json", action="store_true")


def register(sub) -> None:
    s = sub.add_parser("reproduce", help="print a paper notebook's comparison table without Jupyter")
    s.add_argument("name", nargs="?", help="paper name (see --list)")
    s.add_argument("--list", action="store_true", help="list the papers")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_reproduce)
    s = sub.add_parser("validate", help="error statistics over every published row the kit covers")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_validate)
    s = sub.add_parser("sweep", help="run a parameter sweep from a YAML file into a Parquet file")
    s.add_argument("file", help="sweep YAML (see examples/sweep-exit-latency.yaml)")
    s.add_argument("-o", "--output", required=True, help="results .parquet (finished points go to <output>.points/)")
    s.add_argument("--workers", type=int, default=None, help="processes, 1 to 4 x the CPUs (default: all CPUs)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted sweep from its store")
    s.add_argument("--retry-errors", action="store_true", help="recompute points stored with an error")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_sweep)
    s = sub.add_parser("run", help="simulate one workload under one mode")
    _add_spec_args(s)
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("compare", help="simulate one workload under several modes")
    _add_spec_args(s, several=True)
    s.set_defaults(func=cmd_compare)


def _spec(args, hypervisor):
    from .cli import _parse_set
    from .spec import Spec
    spec = Spec.make(hardware=args.hardware, hypervisor=hypervisor, workload=args.workload, vcpus=args.vcpus,
                     vms=args.vms, duration=args.duration, seed=args.seed)
    return spec.with_sets(_parse_set(args.set))


def contributors(result, top: int = 3) -> dict:
    """Per run: the categories whose time per unit of work grew most against native.

    vCPU categories are compared per unit of work done (idle and queueing count
    too, as time lost), and backend CPU time (dom0, vhost, QEMU threads) is
    added per unit as well, so an I/O path's backend cost is seen.
    """
    s, b = result.summary, result.breakdown
    out = {}
    native_rows = s[s["hypervisor"] == "native"]
    if native_rows.empty:
        return out
    nid = native_rows["run"].iloc[0]

    def per_unit(rid):
        row = s[s["run"] == rid].iloc[0]
        units = row["units"] or 1.0
        d = b[b["run"] == rid]
        vc = d[(d["entity"] == "vcpu") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        be = d[(d["entity"] == "backend") & (d["category"] != "idle")].groupby("category")["seconds"].sum()
        return (pd.concat([vc, be]).groupby(level=0).sum() / units)

    base = per_unit(nid)
    for rid in s["run"]:
        if rid == nid or s[s["run"] == rid]["error"].iloc[0]:
            continue
        diff = per_unit(rid).sub(base, fill_value=0.0)
        total = diff[diff > 0].sum()
        diff = diff[diff > 0].sort_values(ascending=False).head(top)
        out[rid] = [(k, v / total if total else 0.0) for k, v in diff.items()]
    return out


def _print_table(result) -> None:
    s = result.summary
    cons = contributors(result)
    rows = []
    for _, r in s.iterrows():
        if r["error"]:
            rows.append({"hypervisor": r["hypervisor"], "value": "-", "relative": "-", "top contributors to overhead": f"error: {r['error']}"})
            continue
        top = ", ".join(f"{k} {share:.0%}" for k, share in cons.get(r["run"], []))
        rows.append({"hypervisor": r["hypervisor"], "value": f"{r['value']:.4g}",
                     "relative": f"{r['relative_performance']:.3f}", "top contributors to overhead": top or "-"})
    first = s.dropna(subset=["metric"]).iloc[0]
    direction = "higher" if first["higher_is_better"] else "lower"
    print(f"{first['workload']} on {first['hardware']}: {first['metric']} in {first['unit']} ({direction} is better); "
          f"relative performance 1.0 = native")
    with pd.option_context("display.max_colwidth", 120, "display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
    lat = result.latency
    if len(lat):
        q = lat.groupby("scenario")["latency_us"].describe(percentiles=[0.5, 0.99])[["count", "mean", "50%", "99%"]]
        print("\nrequest latency (us):")
        print(q.round(1).to_string())


def cmd_run(args):
    from .run import run
    result = run(_spec(args, args.hypervisor))
    if args.json:
        sys.stdout.write(json.dumps(result.to_records()[0], indent=1) + "\n")
        return
    _print_single(result)


def _print_single(result) -> None:
    r = result.summary.iloc[0]
    print(f"{r['workload']} under {r['hypervisor']} on {r['hardware']}: {r['metric']} {r['value']:.4g} {r['unit']} "
          f"(native {r['native_value']:.4g}); relative performance {r['relative_performance']:.3f}")
    b = result.breakdown
    vc = b[b["entity"] == "vcpu"].groupby("category")["seconds"].sum().sort_values(ascending=False)
    print("vCPU time by category (s, all vCPUs):")
    print(vc.round(6).to_string())
    be = b[(b["entity"] == "backend") & (b["category"] != "idle")].groupby(["scope", "category"])["seconds"].sum()
    if len(be):
        print("backend CPU time (s):")
        print(be.round(6).to_string())
    ex = result.exits.sort_values("count", ascending=False)
    if len(ex):
        print("exits:")
        print(ex[["reason", "count"]].round(1).to_string(index=False))
    if len(result.latency):
        lat = result.latency["latency_us"]
        print(f"latency: mean {lat.mean():.1f} us, p50 {lat.quantile(.5):.1f} us, p99 {lat.quantile(.99):.1f} us")


def cmd_compare(args):
    from .cli import _split
    from .run import compare
    names = _split(args.hypervisors)
    if not names:
        raise HvkitError("no hypervisors given", field="--hypervisors", allowed="names separated by commas")
    proto = _spec(args, "native")
    kw = proto.model_dump(exclude={"hardware", "hypervisor", "workload"})
    result = compare(args.hardware, args.workload, names, **kw)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records(), indent=1) + "\n")
        return
    _print_table(result)


def cmd_sweep(args):
    """Every problem is one line on stderr: bad input exit 2 (before any point runs), a store that cannot be
    written or points that could not be computed exit 1, Ctrl-C exit 130, SIGTERM exit 143. What is stored
    stays valid in every case; ``--resume`` continues."""
    import signal
    import threading
    import warnings

    from .sweep import (Store, SweepIncomplete, SweepInterrupted, SweepStoreError, SweepStoreWarning, check_output,
                        check_workers, load_sweep_file, sweep, write_parquet_atomic)
    stopped = []

    def on_term(signum, frame):
        stopped.append(signum)
        raise KeyboardInterrupt

    def stop(exc_stored=None, total=None):
        word, code = ("terminated", 143) if stopped else ("interrupted", 130)
        done = f"{exc_stored} of {total} points stored" if total is not None else "finished points are stored"
        sys.stderr.write(f"hvkit: {word}; {done}, resume with --resume\n")
        return SystemExit(code)

    in_main = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, on_term) if in_main else None
    notes: list = []
    try:
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always", SweepStoreWarning)
            workers = check_workers(args.workers, field="--workers")
            out = check_output(args.output)
            store_path = out.with_name(out.name + ".points")
            if args.resume and not store_path.exists():
                raise HvkitError("nothing to resume: no store next to the output", field="--resume",
                                 value=str(store_path))
            base, kw = load_sweep_file(args.file)
            with Store(store_path) as store:
                store.lock()
                df = sweep(base, **kw, workers=workers, store=store, progress=not args.no_progress,
                           retry_errors=args.retry_errors)
                try:
                    write_parquet_atomic(df, out)
                except OSError as exc:
                    sys.stderr.write(f"hvkit: error: cannot write {out}: {exc.strerror or exc}; all {len(df)} "
                                     f"points are stored in {store_path}, run again with --resume\n")
                    raise SystemExit(1) from None
    except SweepInterrupted as exc:
        raise stop(exc.stored, exc.total) from None
    except KeyboardInterrupt:
        raise stop() from None
    except (SweepIncomplete, SweepStoreError) as exc:
        sys.stderr.write(f"hvkit: error: {exc}\n")
        raise SystemExit(1) from None
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        for w in notes:
            if issubclass(w.category, SweepStoreWarning):
                sys.stderr.write(f"hvkit: warning: {' '.join(str(w.message).split())}\n")
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    failed = df[df["error"] != ""]
    sys.stderr.write(f"sweep: {len(df)} points ({int(df['reused'].sum())} reused from {store_path}), "
                     f"{len(failed)} failed; wrote {out}\n")
    for _, r in failed.head(10).iterrows():
        sys.stderr.write(f"  point {r['point']} replication {r['replication']}: {r['error']}\n")


def cmd_reproduce(args):
    from .papers import PAPERS, error_summary, reproduce
    if args.list or not args.name:
        rows = [{"name": k, "what": v[1]} for k, v in PAPERS.items()]
        if args.json:
            sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        else:
            print(pd.DataFrame(rows).to_string(index=False))
        return
    table = reproduce(args.name)
    if args.json:
        out = {"name": args.name, "rows": json.loads(table.to_json(orient="records"))}
        if "rel_error" in table:
            out["summary"] = error_summary(table)
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
        return
    with pd.option_context("display.width", 220, "display.max_rows", 500, "display.max_colwidth", 70):
        if "rel_error" in table:
            show = table.drop(columns=["source", "gap"]).assign(rel_error=(table["rel_error"] * 100).round(1))
            print(show.to_string(index=False))
            st = error_summary(table)
            print(f"\n{st['rows']} rows: median |relative error| {st['median_abs_rel_error']:.1%}, worst "
                  f"{st['worst_abs_rel_error']:.1%} ({st['worst_row']}), {st['within_25pct']} within 25%")
            for _, g in table[table["rel_error"].abs() > 0.25].iterrows():
                print(f"- {g['system']}, {g['metric']}: {g['rel_error']:+.0%}: {g['gap']}")
        else:
            print(table.to_string(index=False))


def cmd_validate(args):
    from .papers import validate
    report, stats = validate()
    if args.json:
        sys.stdout.write(json.dumps({"summary": stats, "rows": json.loads(report.to_json(orient="records"))},
                                    indent=1) + "\n")
        return
    by = report.assign(abs_err=report["rel_error"].abs()).groupby("source")["abs_err"].agg(["count", "median", "max"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(by.round(3).to_string())
    a, v = stats["all"], stats["virtualized_only"]
    print(f"\nall {a['rows']} published rows covered: median |relative error| {a['median_abs_rel_error']:.1%}, "
          f"worst ratio {a['worst_ratio']:.2f}x, {a['within_25pct']} within 25%, {a['beyond_2x']} beyond 2x")
    print(f"virtualized rows only ({v['rows']}): median {v['median_abs_rel_error']:.1%}, worst ratio "
          f"{v['worst_ratio']:.2f}x; every gap above 25% explained: {stats['gaps_explained']}")
