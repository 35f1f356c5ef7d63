"""``hvkit reproduce`` and ``hvkit validate``: the papers without Jupyter."""
from __future__ import annotations

import json
import sys

from .common import RawEpilog


def register(sub) -> None:
    s = sub.add_parser("reproduce", help="print a paper notebook's comparison table without Jupyter",
                       description="A paper's published values beside the model's, row by row.",
                       epilog="examples:\n  hvkit reproduce --list\n  hvkit reproduce barham-2003-lmbench --json",
                       formatter_class=RawEpilog)
    s.add_argument("name", nargs="?", help="paper name (see --list)")
    s.add_argument("--list", action="store_true", help="list the papers")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_reproduce)
    s = sub.add_parser("validate", help="error statistics over every published row the kit covers",
                       description="Error statistics over every published row the kit covers.",
                       epilog="examples:\n  hvkit validate\n  hvkit validate --json", formatter_class=RawEpilog)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_validate)


def cmd_reproduce(args):
    import pandas as pd

    from ..papers.reproduce import PAPERS, error_summary, reproduce
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
    import pandas as pd

    from ..papers.reproduce import validate
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
