"""``hvkit run`` and ``hvkit compare``: the system model from the command line."""
from __future__ import annotations

import json
import sys

from ..errors import HvkitError
from .common import RawEpilog, add_spec_args, spec_from_args, split

RUN_EXAMPLES = """examples:
  hvkit run --hardware skylake-sp-2017 --hypervisor kvm --workload kernel-build --vcpus 4
  hvkit run --hardware skylake-sp-2017 --hypervisor kvm --workload random-access --set guest_page=2M
  hvkit run --hardware p4-xeon-2003 --hypervisor xen-pv --workload ttcp --set workload.mtu=500 --json
  hvkit run --hardware skylake-sp-2017 --hypervisor xen-hvm --workload netperf-rr --set pcpus=1 \\
      --set neighbor=spec-int
  hvkit run --hardware skylake-sp-2017 --hypervisor kvm --workload netperf-rr --save-spec exp.yaml
  hvkit run --spec exp.yaml --set interrupts=posted     # a saved experiment, varied"""
COMPARE_EXAMPLES = """examples:
  hvkit compare --hardware skylake-sp-2017 --workload netperf-rr --hypervisors native,xen-pv,kvm,kvm-sriov
  hvkit compare --hardware xgene-armv8-2014 --workload memcached --hypervisors kvm,xen-hvm --json
  hvkit compare --spec exp.yaml                          # native against the file's mode
  hvkit compare --spec exp.yaml --hypervisors native,kvm,xen-hvm"""


def register(sub) -> None:
    s = sub.add_parser("run", help="simulate one workload under one mode, against native",
                       description="Simulate a workload on VMs under a hypervisor mode, and the same on native, "
                                   "and say where the time went.", epilog=RUN_EXAMPLES, formatter_class=RawEpilog)
    add_spec_args(s)
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("compare", help="simulate one workload under several modes, against native",
                       description="Simulate one workload under several modes (native computed once).",
                       epilog=COMPARE_EXAMPLES, formatter_class=RawEpilog)
    add_spec_args(s, several=True)
    s.set_defaults(func=cmd_compare)


def _print_table(result) -> None:
    """The rows of a comparison, each mode's error in its row; then warnings and request latency."""
    import pandas as pd

    from ..results import contributors
    s = result.summary
    ok = s[s["error"].fillna("") == ""]
    if not len(ok):
        raise HvkitError(f"no mode could run; {s['hypervisor'].iloc[0]}: {s['error'].iloc[0]}",
                         field="--hypervisors")
    cons = contributors(result)
    rows = []
    for _, r in s.iterrows():
        if r["error"]:
            rows.append({"hypervisor": r["hypervisor"], "value": "-", "relative": "-",
                         "top contributors to overhead": f"error: {r['error']}"})
            continue
        top = ", ".join(f"{k} {share:.0%}" for k, share in cons.get(r["run"], []))
        rows.append({"hypervisor": r["hypervisor"], "value": f"{r['value']:.4g}",
                     "relative": f"{r['relative_performance']:.3f}", "top contributors to overhead": top or "-"})
    first = ok.iloc[0]
    direction = "higher" if first["higher_is_better"] else "lower"
    print(f"{first['workload']} on {first['hardware']}: {first['metric']} in {first['unit']} ({direction} is "
          f"better); relative performance 1.0 = native")
    with pd.option_context("display.max_colwidth", 120, "display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
    for _, r in ok.iterrows():
        if r["warnings"]:
            print(f"warning: {r['hypervisor']}: {r['warnings']}")
    _print_latency(result.latency)


def _print_latency(latency) -> None:
    """Request latency per scenario; requests under way at the end are right-censored and said so."""
    from ..results import latency_stats
    st = latency_stats(latency)
    if not len(st):
        return
    cens = int(st["censored"].sum())
    print("\nrequest latency (us) of the finished requests" + (
        f"; {cens} still under way at the end are right-censored: the max includes their elapsed time, a lower "
        "bound (marked >=)" if cens else ""))
    show = st.assign(max_us=[(">=" if c else "") + f"{m:.1f}" for m, c in zip(st["max_us"], st["max_censored"])])
    show = show.rename(columns={"count": "finished", "censored": "under way", "mean_us": "mean", "p50_us": "p50",
                                "p99_us": "p99", "max_us": "max"}).drop(columns="max_censored")
    print(show.round(1).to_string())


def cmd_run(args):
    from ..run import run
    result = run(spec_from_args(args))
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
        # exits are expected counts (a unit of work carries a rate of them), so they print as rates
        per_s = ex["count"] / r["duration"]
        print("exits per second (all vCPUs):")
        print(ex.assign(per_second=per_s.round(0).astype(int))[["reason", "per_second"]].to_string(index=False))
    if len(result.latency):
        from ..results import latency_stats
        st = latency_stats(result.latency).iloc[0]
        bound = ">=" if st["max_censored"] else ""
        done = (f"mean {st['mean_us']:.1f} us, p50 {st['p50_us']:.1f} us, p99 {st['p99_us']:.1f} us, "
                if st["count"] else "")
        print(f"latency: {done}max {bound}{st['max_us']:.1f} us ({st['count']} requests finished; {st['censored']} "
              f"still under way at the end, right-censored: their elapsed time counts in the max as a lower bound)")
    if r["warnings"]:
        print(f"warning: {r['warnings']}")


def cmd_compare(args):
    from ..run import compare
    proto = spec_from_args(args, "native")
    names = split(args.hypervisors)
    if not names and args.spec and args.hypervisors is None:
        from ..inputs.specfile import load_spec
        mode = load_spec(args.spec).hypervisor
        names = ["native"] + ([mode] if mode != "native" else [])
    if not names:
        raise HvkitError("no hypervisors given", field="--hypervisors", allowed="names separated by commas")
    kw = proto.model_dump(exclude={"hardware", "hypervisor", "workload"})
    result = compare(proto.hardware, proto.workload, names, **kw)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records(), indent=1) + "\n")
        return
    _print_table(result)
