"""``hvkit microbench``, ``hvkit calibrate`` and the table that bare ``hvkit`` prints."""
from __future__ import annotations

from ..version import __version__
from .common import RawEpilog, platform_overrides, print_json, split, table

MICROBENCH_EXAMPLES = """examples:
  hvkit microbench --hardware xgene-armv8-2014 --hypervisor kvm --op hypercall
  hvkit microbench --hardware skylake-sp-2017 --hypervisors native,kvm,xen-hvm --op cpuid,ipi
  hvkit microbench --hardware skylake-sp-2017 --hypervisor kvm --set memory=shadow --op lmbench.fork
  hvkit microbench --hardware skylake-sp-2017 --hypervisor kvm --set hw.exit_roundtrip_cycles=200 --json"""

DEFAULT_OPS = ["hypercall", "cpuid", "ipi", "eoi", "io_latency_out", "io_latency_in",
               "lmbench.null_call", "lmbench.page_fault", "lmbench.ctxsw_2p_0k", "lmbench.fork"]
DEFAULT_MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "vmware-bt", "qemu-tcg"]


def register(sub) -> None:
    s = sub.add_parser("microbench", help="cost of guest operations under one or more modes",
                       description="What single guest operations (hypercall, cpuid, lmbench fork...) cost under "
                                   "one or more modes on a CPU, step by step.", epilog=MICROBENCH_EXAMPLES,
                       formatter_class=RawEpilog)
    s.add_argument("--hardware", required=True, help="a profile id (hvkit list hardware) or a .yaml path")
    s.add_argument("--hypervisor", "--hypervisors", dest="hypervisor",
                   help="a mode, or several separated by commas (default: seven common modes)")
    s.add_argument("--op", action="append", help="operation(s); repeat or separate by commas (hvkit list ops)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a mode part (memory=shadow, guest_page=2M) or a hardware value "
                        "(hw.exit_roundtrip_cycles=500)")
    s.add_argument("--path", action="store_true", help="print every operation's path")
    s.add_argument("--json", action="store_true", help="print JSON instead of tables")
    s.set_defaults(func=cmd_microbench)

    s = sub.add_parser("calibrate", help="published microbenchmarks beside the model",
                       description="Every published microbenchmark row the kit covers, beside the model's value.",
                       epilog="examples:\n  hvkit calibrate\n  hvkit calibrate --json", formatter_class=RawEpilog)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_calibrate)


def cmd_microbench(args) -> None:
    import pandas as pd

    from ..costs.microbench import microbench
    names = split(args.hypervisor) or DEFAULT_MODES
    hw_over, mode_over = platform_overrides(args.set, "microbench")
    ops = [o for group in (args.op or []) for o in split(group)] or None
    frames = [microbench(args.hardware, m, ops, hw_overrides=hw_over, mode_overrides=mode_over) for m in names]
    df = pd.concat(frames, ignore_index=True)
    if args.json:
        print_json(df.to_dict(orient="records"))
        return
    if len(names) == 1:
        # times with the digits they have, never rounded to 0.0
        print(table(df[["op", "suite", "cycles", "us"]].assign(us=[f"{v:.4g}" for v in df["us"]])))
        if len(df) == 1 or args.path:
            for _, row in df.iterrows():
                print(f"\npath of {row['op']} under {row['hypervisor']} on {row['hardware']}:")
                print(table(pd.DataFrame(row["path"])))
        return
    pivot = df.pivot(index="op", columns="hypervisor", values="cycles").reindex(
        index=list(dict.fromkeys(df["op"])), columns=names)
    print(f"cycles per operation on {df['hardware'].iloc[0]}")
    print(pivot.round(0).to_string())


def cmd_calibrate(args) -> None:
    from ..papers.calibration import calibrate, summary
    from .papers import print_stats
    report = calibrate()
    stats = summary(report)
    if args.json:
        print_json({"summary": stats, "rows": report.to_dict(orient="records")})
        return
    show = report.assign(rel_error=(report["rel_error"] * 100).round(1).astype(str) + "%",
                         model=report["model"].round(2))
    print(table(show[["role", "system", "metric", "unit", "hardware", "published", "model", "rel_error"]]))
    print()
    print_stats(stats)
    gaps = report[(report["rel_error"].abs() > 0.25) & report["role"].isin(["test", "fit"])]
    if len(gaps):
        print("\ngaps above 25% and the mechanism the model lacks or simplifies:")
        for _, g in gaps.iterrows():
            print(f"- [{g['role']}] {g['system']}, {g['metric']}: {g['rel_error']:+.0%}: "
                  f"{g['gap'] or 'not yet explained'}")


def cmd_default(args) -> None:
    import pandas as pd

    from ..costs.microbench import microbench
    hw = "skylake-sp-2017"
    frames = [microbench(hw, m, DEFAULT_OPS) for m in DEFAULT_MODES]
    df = pd.concat(frames, ignore_index=True)
    pivot = df.pivot(index="op", columns="hypervisor", values="cycles").reindex(index=DEFAULT_OPS,
                                                                                columns=DEFAULT_MODES)
    print(f"hvkit {__version__}: cycles per guest operation on {hw} (lower is better)")
    print(pivot.round(0).astype(int).to_string())
    print("\nTry: hvkit microbench --hardware xgene-armv8-2014 --hypervisor kvm --op hypercall")
    print("     hvkit list hardware")
    print("     hvkit calibrate")
    print("     hvkit --help")
