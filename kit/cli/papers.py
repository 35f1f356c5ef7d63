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
    s = sub.add_parser("validate", help="error statistics over the published rows: test rows (the headline) apart "
                                         "from fit rows",
                       description="Error statistics over every published row the kit covers: the test rows (which "
                                   "set no parameter) are the headline, the fit rows apart.",
                       epilog="examples:\n  hvkit validate\n  hvkit validate --json\n  hvkit validate "
                              "--leave-one-paper-out\n  hvkit validate --macro", formatter_class=RawEpilog)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--macro", action="store_true",
                   help="also run the macro rows (ELI, VMware's EPT/RVI gains) with seeds and intervals (minutes)")
    s.add_argument("--seeds", type=int, default=5, help="seeds per macro row (default 5)")
    s.add_argument("--leave-one-paper-out", action="store_true", dest="lopo",
                   help="refit every fitted parameter without each paper's rows and report that paper's error")
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


def print_stats(stats: dict) -> None:
    """The validation headline (test rows), the fit rows apart, and the per-family counts."""
    import pandas as pd

    t, f = stats["test"], stats["fit"]
    print(f"TEST rows (nothing was fitted to them; the headline): {t['rows']} rows, median |relative error| "
          f"{t['median_abs_rel_error']:.1%}, worst {t['worst_abs_rel_error']:.0%} ({t['worst_row']}), "
          f"{t['within_25pct']} within 25%, {t['beyond_2x']} beyond 2x")
    print(f"fit rows (parameters were fitted to them; not evidence): {f['rows']} rows, median "
          f"{f['median_abs_rel_error']:.1%}, worst {f['worst_abs_rel_error']:.0%} ({f['worst_row']}); "
          f"{stats['fitted_parameters']} fitted parameters")
    ex = stats["excluded"]
    n = stats["test_mode_adds_nothing"]
    if n["rows"]:
        print(f"test rows whose mode adds nothing to native in the model (apart: they test the native "
              f"characterization): {n['rows']} rows, median {n['median_abs_rel_error']:.1%}, "
              f"worst {n['worst_abs_rel_error']:.0%} ({n['worst_row']})")
    print(f"not scored: {ex['native']} native-characterization rows, {ex['tautology']} tautologies, "
          f"{ex['revealed']} revealed blind-prediction targets (see hvkit reproduce barham-2003-macro and the "
          f"notebooks of notebooks/papers)")
    fam = pd.DataFrame(stats["by_family"]).T
    fam["test_median_abs_rel_error"] = (fam["test_median_abs_rel_error"].astype(float) * 100).round(1)
    fam["test_worst_ratio"] = fam["test_worst_ratio"].astype(float).round(2)
    print("\nper family (test median in %):")
    print(fam.to_string())


def print_coverage(rel) -> None:
    """The calibration of the prediction intervals: the test rows at 90% (the headline), and the reliability
    table (nominal against observed coverage, median width, verdict) for test rows and, apart, fit rows."""
    import pandas as pd

    from ..papers.coverage import VACUOUS_WIDTH, headline
    print("\nmodel uncertainty: do the published values fall inside the model's prediction intervals?")
    for kind, h in headline(rel).items():
        print(f"TEST rows ({kind}), 90% prediction interval: {h['coverage']:.0%} of {h['rows']} published values "
              f"inside, median width {h['median_width']:.0%} of the model's value: {h['verdict']}")
    show = rel.assign(nominal=(rel["nominal"] * 100).round().astype(int).astype(str) + "%",
                      observed=(rel["observed"] * 100).round(1), median_width=(rel["median_width"] * 100).round(1))
    with pd.option_context("display.width", 200):
        print(show.rename(columns={"observed": "observed %", "median_width": "median width %"})
              .to_string(index=False))
    print(f"overconfident: coverage more than two binomial standard errors below the nominal level; vacuous: met "
          f"with a median width above {VACUOUS_WIDTH[0]:.0%} of the value")


def cmd_validate(args):
    import pandas as pd

    from ..papers.reproduce import validate
    if args.lopo:
        from ..papers.refit import leave_one_paper_out
        table = leave_one_paper_out()
        if args.json:
            sys.stdout.write(table.to_json(orient="records", indent=1) + "\n")
        else:
            with pd.option_context("display.width", 200, "display.max_colwidth", 60):
                print(table.to_string(index=False))
        return
    report, stats = validate(macro=args.macro, seeds=args.seeds)
    from ..papers.coverage import coverage, headline
    intervals, rel = coverage(macro=args.macro)
    if args.json:
        out = {"summary": stats, "rows": json.loads(report.to_json(orient="records"))}
        if args.macro:
            out["macro"] = json.loads(report.attrs["macro"].to_json(orient="records"))
        out["coverage"] = {"headline": headline(rel), "reliability": json.loads(rel.to_json(orient="records")),
                           "rows": json.loads(intervals.to_json(orient="records"))}
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
        return
    scored = report[report["role"].isin(["test", "fit"])]
    by = scored.assign(abs_err=scored["rel_error"].abs()).groupby(["paper", "role"])["abs_err"].agg(
        ["count", "median", "max"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(by.round(3).to_string())
    print()
    print_stats(stats)
    print(f"every scored gap above 25% explained by a mechanism that moves it: {stats['gaps_explained']}"
          + (f" (not: {', '.join(stats['gaps_unexplained'])})" if stats["gaps_unexplained"] else ""))
    bound = stats.get("at_search_bound", [])
    print("fitted parameters at a search bound (refitted to every fit row; the rows want a value outside x1/20-x20):"
          + ("" if bound else " none"))
    for b in bound:
        print(f"- {b['parameters']}: x{b['factor']:.3g} of the current value, {b['bound']} bound; rows {b['rows']}")
    print_coverage(rel)
    if args.macro:
        m = report.attrs["macro"]
        with pd.option_context("display.width", 200, "display.max_colwidth", 70):
            print("\nmacro rows (model: mean over seeds with its 95% interval):")
            print(m[["id", "role", "published", "unit", "model", "ci_low", "ci_high", "rel_error", "how"]]
                  .round(3).to_string(index=False))
