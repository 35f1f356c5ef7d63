"""``hvkit sweep``: a parameter sweep from a YAML file into a Parquet file."""
from __future__ import annotations

import sys

from ..errors import HvkitError
from .common import RawEpilog


def register(sub) -> None:
    s = sub.add_parser("sweep", help="run a parameter sweep from a YAML file into a Parquet file",
                       description="Run every point of a sweep file on all cores; finished points are stored as "
                                   "they finish, so an interrupted sweep resumes where it stopped.",
                       epilog="examples:\n  hvkit sweep examples/sweep-exit-latency.yaml -o results.parquet\n"
                              "  hvkit sweep examples/sweep-exit-latency.yaml -o results.parquet --resume --workers 2",
                       formatter_class=RawEpilog)
    s.add_argument("file", help="sweep YAML (see examples/sweep-exit-latency.yaml)")
    s.add_argument("-o", "--output", required=True, help="results .parquet (finished points go to <output>.points/)")
    s.add_argument("--workers", type=int, default=None, help="processes, 1 to 4 x the CPUs (default: all CPUs)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted sweep from its store")
    s.add_argument("--retry-errors", action="store_true", help="recompute points stored with an error")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--no-model-uncertainty", dest="model_uncertainty", action="store_false",
                   help="leave out each point's 90%% prediction interval from the plausible ranges of the estimated "
                        "and fitted parameters (computed by default, once per point, after the points)")
    s.set_defaults(func=cmd_sweep)


def cmd_sweep(args):
    """Every problem is one line on stderr: bad input exit 2 (before any point runs), a store that cannot be
    written or points that could not be computed exit 1, Ctrl-C exit 130, SIGTERM exit 143. What is stored
    stays valid in every case; ``--resume`` continues."""
    import contextlib
    import signal
    import threading
    import warnings

    from ..sweep import (Store, SweepIncomplete, SweepInterrupted, SweepStoreError, SweepStoreWarning, check_output,
                        check_workers, load_sweep_file, sweep, write_parquet_atomic)
    from ..ui.progress import terminal_bar
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
                with contextlib.nullcontext() if args.no_progress else terminal_bar("points") as bar:
                    df = sweep(base, **kw, workers=workers, store=store, progress=bar,
                               retry_errors=args.retry_errors, model_uncertainty=args.model_uncertainty)
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
    warned = df[df["warnings"].fillna("") != ""] if "warnings" in df else df.iloc[:0]
    if len(warned):  # the result-level checks (kit.results.validity): in the table's warnings column, and said here
        sys.stderr.write(f"sweep: {len(warned)} points carry warnings (column 'warnings'), e.g. point "
                         f"{warned['point'].iloc[0]}: {warned['warnings'].iloc[0]}\n")
