"""``hvkit sweep``: a parameter sweep from a YAML file into a Parquet file."""
from __future__ import annotations

import sys

from ..errors import HvkitError


def register(sub) -> None:
    s = sub.add_parser("sweep", help="run a parameter sweep from a YAML file into a Parquet file")
    s.add_argument("file", help="sweep YAML (see examples/sweep-exit-latency.yaml)")
    s.add_argument("-o", "--output", required=True, help="results .parquet")
    s.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted sweep from its store")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)


def cmd_sweep(args):
    from pathlib import Path

    from ..sweep import load_sweep_file, sweep
    out = Path(args.output)
    if out.suffix != ".parquet":
        raise HvkitError("the output must be a .parquet file", field="--output", value=str(out), allowed="*.parquet")
    store = out.with_name(out.name + ".points")
    if args.resume and not store.exists():
        raise HvkitError("nothing to resume: no store next to the output", field="--resume", value=str(store))
    base, kw = load_sweep_file(args.file)
    df = sweep(base, **kw, workers=args.workers, store=store, progress=not args.no_progress)
    tmp = out.with_name(out.name + ".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(out)
    failed = df[df["error"] != ""]
    sys.stderr.write(f"sweep: {len(df)} points ({int(df['reused'].sum())} reused from {store}), "
                     f"{len(failed)} failed; wrote {out}\n")
    for _, r in failed.head(10).iterrows():
        sys.stderr.write(f"  point {r['point']} replication {r['replication']}: {r['error']}\n")
