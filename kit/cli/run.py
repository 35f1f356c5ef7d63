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
  hvkit run --spec exp.yaml --set interrupts=posted     # a saved experiment, varied
  hvkit run --hardware skylake-sp-2017 --hypervisor kvm --workload stream --replications 5   # mean and 95% CI

  hvkit run --scenario examples/scenario-mixed.yaml      # a host with heterogeneous VMs
  hvkit run --scenario examples/scenario-mixed.yaml --set host.pcpus=4 --set vms.db.vcpus=4 --json"""
COMPARE_EXAMPLES = """examples:
  hvkit compare --hardware skylake-sp-2017 --workload netperf-rr --hypervisors native,xen-pv,kvm,kvm-sriov
  hvkit compare --hardware xgene-armv8-2014 --workload memcached --hypervisors kvm,xen-hvm --json
  hvkit compare --spec exp.yaml                          # native against the file's mode
  hvkit compare --spec exp.yaml --hypervisors native,kvm,xen-hvm
  hvkit compare --hardware skylake-sp-2017 --workload netperf-rr --hypervisors kvm,xen-hvm --set pcpus=1 \
      --neighbors none,spec-int,stream --replications 3     # interference of each neighbour, with 95% CIs"""


def register(sub) -> None:
    s = sub.add_parser("run", help="simulate one workload under one mode, against native",
                       description="Simulate a workload on VMs under a hypervisor mode, and the same on native, "
                                   "and say where the time went.", epilog=RUN_EXAMPLES, formatter_class=RawEpilog)
    add_spec_args(s)
    _add_uncertainty_args(s)
    s.add_argument("--scenario", metavar="FILE", default=None,
                   help="a scenario file (YAML or JSON): a host with heterogeneous VMs; --set reaches hardware, "
                        "hypervisor, duration, seed, engine, mode parts, hw.*, host.<knob> and vms.<name>.<field>")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("compare", help="simulate one workload under several modes, against native",
                       description="Simulate one workload under several modes (native computed once).",
                       epilog=COMPARE_EXAMPLES, formatter_class=RawEpilog)
    add_spec_args(s, several=True)
    _add_uncertainty_args(s, several=True)
    s.set_defaults(func=cmd_compare)


def _add_uncertainty_args(s, several: bool = False) -> None:
    s.add_argument("--replications", default="1", metavar="N",
                   help="runs with seeds derived from --seed; prints the mean and its 95%% interval from Student's "
                        "t, with only the digits the interval supports (default 1: the interval is unknown)")
    if several:
        s.add_argument("--neighbors", default=None, metavar="LIST",
                       help="neighbour workloads separated by commas, 'none' for alone: every mode runs beside "
                            "each (default: the spec's neighbor, set with --set neighbor=W)")


def _ci(mean, low, high, unit: str = "", fmt: str = ".4g") -> str:
    """A number with only the digits its interval supports; the interval said unknown when there is none."""
    import math

    from ..stats import format_ci
    half = None
    if low is not None and high is not None and math.isfinite(float(low)) and math.isfinite(float(high)):
        half = (float(high) - float(low)) / 2
    if half is None:
        return f"{mean:{fmt}}" + (f" {unit}" if unit else "")
    return format_ci(float(mean), half, unit)


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
    any_neighbor = ok["neighbor"].notna().any()
    several_neighbors = s["neighbor"].fillna("none").nunique() > 1
    rows = []
    for _, r in s.iterrows():
        if r["error"]:
            row = {"hypervisor": r["hypervisor"], **({"neighbour": r["neighbor"] or "none"} if several_neighbors
                                                     else {}), "value": "-", "relative": "-"}
            rows.append({**row, **({"interference": "-"} if any_neighbor else {}),
                         "top contributors to overhead": f"error: {r['error']}"})
            continue
        top = ", ".join(f"{k} {share:.0%}" for k, share in cons.get(r["run"], []))
        row = {"hypervisor": r["hypervisor"]}
        if several_neighbors:
            row["neighbour"] = r["neighbor"] or "none"
        row.update({"value": _ci(r["value"], r["ci_low"], r["ci_high"]),
                    "relative": _ci(r["relative_performance"], r["relative_ci_low"], r["relative_ci_high"], fmt=".3f")})
        if any_neighbor:
            row["interference"] = f"{r['interference']:.3f}"
        row["top contributors to overhead"] = top or "-"
        rows.append(row)
    first = ok.iloc[0]
    direction = "higher" if first["higher_is_better"] else "lower"
    n = int(first["replications"])
    print(f"{first['workload']} on {first['hardware']}: {first['metric']} in {first['unit']} ({direction} is "
          f"better); relative performance 1.0 = native alone" + (
              "; interference 1.0 = as fast as the same mode alone" if any_neighbor else ""))
    print(f"mean of {n} replications, 95% interval from Student's t (digits it supports)" if n > 1 else
          "one replication: the 95% interval is unknown (--replications N gives it)")
    shown = ok[ok["hypervisor"] != "native"]
    print("native baseline: " + str((shown if len(shown) else ok).iloc[0]["baseline"]))
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
    show = st.assign(max_us=[(">=" if c else "") + _us(m) for m, c in zip(st["max_us"], st["max_censored"])],
                     **{c: [_us(v) for v in st[c]] for c in ("mean_us", "p50_us", "p99_us")})
    show = show.rename(columns={"count": "finished", "censored": "under way", "mean_us": "mean", "p50_us": "p50",
                                "p99_us": "p99", "max_us": "max"}).drop(columns="max_censored")
    print(show.round(1).to_string())


def _us(x: float) -> str:
    """A time in microseconds to one decimal, or to two significant digits where one decimal would read 0.0."""
    return f"{x:.1f}" if x == 0 or abs(x) >= 0.05 else f"{x:.2g}"


def _bar():
    """A bar of simulated seconds on standard error when it is a terminal (kit.ui.progress), else none."""
    import contextlib

    from ..ui.progress import terminal_bar
    return terminal_bar() if sys.stderr.isatty() else contextlib.nullcontext()


def cmd_run(args):
    if args.scenario:
        return cmd_scenario(args)
    from ..run import check_replications, run
    n = check_replications(args.replications, "--replications")
    with _bar() as bar:
        result = run(spec_from_args(args), replications=n, progress=bar)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records()[0], indent=1) + "\n")
        return
    _print_single(result)


def _print_single(result) -> None:
    r = result.summary.iloc[0]
    n = int(r["replications"])
    print(f"{r['workload']} under {r['hypervisor']} on {r['hardware']}: {r['metric']} "
          f"{_ci(r['value'], r['ci_low'], r['ci_high'], r['unit'])} (native alone {r['native_value']:.4g}); "
          f"relative performance {_ci(r['relative_performance'], r['relative_ci_low'], r['relative_ci_high'], fmt='.3f')}")
    print(f"mean of {n} replications, 95% interval from Student's t (digits it supports)" if n > 1 else
          "one replication: the 95% interval is unknown (--replications N gives it)")
    if r["neighbor"]:
        print(f"beside {r['neighbor']}: interference {r['interference']:.3f} (against the same VM alone, "
              f"{r['alone_value']:.4g} {r['unit']}); against native beside the same neighbour "
              f"{r['relative_vs_native_with_neighbor']:.3f}")
    print(f"native baseline: {r['baseline']}")
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
        done = (f"mean {_us(st['mean_us'])} us, p50 {_us(st['p50_us'])} us, p99 {_us(st['p99_us'])} us, "
                if st["count"] else "")
        print(f"latency: {done}max {bound}{_us(st['max_us'])} us ({st['count']} requests finished; {st['censored']} "
              f"still under way at the end, right-censored: their elapsed time counts in the max as a lower bound)")
    if r["warnings"]:
        print(f"warning: {r['warnings']}")


def cmd_scenario(args):
    """``hvkit run --scenario FILE``: each VM against itself alone on the host and against native alone."""
    import pandas as pd

    from ..consolidation import run_scenario
    from ..inputs.scenario import load_scenario
    from ..inputs.spec import parse_sets
    given = [name for name in ("hardware", "hypervisor", "workload", "vcpus", "vms", "spec", "save_spec")
             if getattr(args, name, None) is not None]
    if given:
        raise HvkitError("a scenario names its host and VMs; vary them with --set", field=f"--{given[0]}",
                         allowed="--set hardware=..., --set host.pcpus=..., --set vms.<name>.vcpus=...")
    from ..run import check_replications
    n = check_replications(args.replications, "--replications")
    scn = load_scenario(args.scenario)
    sets = parse_sets(args.set)
    if args.duration is not None:
        sets.append(("duration", args.duration))
    if args.seed is not None:
        sets.append(("seed", args.seed))
    if sets:
        scn = scn.with_sets(sets)
    r = run_scenario(scn, replications=n)
    if args.json:
        sys.stdout.write(json.dumps(r.to_json(), indent=1) + "\n")
        return
    h = r.host
    print(f"{scn.name}: {scn.hypervisor} on {scn.hardware}, {h['pcpus']} CPUs, {h['duration']:g} s simulated "
          f"({h['engine']} engine); relative = this VM's metric against the same VM alone on the host, and against "
          f"native alone (1.0 = as good)")
    cols = ["vm", "workload", "vcpus", "measured", "value", "unit", "relative_alone", "relative_native",
            "latency_p99_us"]
    if n > 1:
        print(f"mean of {n} replications; value_ci_low/value_ci_high: its 95% interval from Student's t")
        cols[5:5] = ["value_ci_low", "value_ci_high"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(r.vms[cols].round(4).to_string(index=False))
    mem = h["memory"]
    print(f"host: CPU utilization {h['pcpu_util']:.3f}, VM switches {h['vm_switches']}, lock-holder preemptions "
          f"{h['lock_holder_preemptions']}; memory: demand {mem['demand_mib']:.0f} of {mem['host_mib']:.0f} MiB, "
          f"shared {mem['saved_mib']:.0f}, ballooned {mem['ballooned_mib']:.0f}, swapped {mem['swapped_mib']:.0f}"
          + (f", scanning {h['scan_cpu_s']:.4f} CPU s" if h["scan_cpu_s"] else ""))
    for note in h["notes"]:
        print(f"  {note}")
    for w in r.warnings:
        print(f"warning: {w}")


def cmd_compare(args):
    from ..run import check_replications, compare
    proto = spec_from_args(args, "native")
    names = split(args.hypervisors)
    if not names and args.spec and args.hypervisors is None:
        from ..inputs.specfile import load_spec
        mode = load_spec(args.spec).hypervisor
        names = ["native"] + ([mode] if mode != "native" else [])
    if not names:
        raise HvkitError("no hypervisors given", field="--hypervisors", allowed="names separated by commas")
    n = check_replications(args.replications, "--replications")
    neighbors = None
    if args.neighbors is not None:
        neighbors = [None if nb.lower() == "none" else nb for nb in split(args.neighbors)]
        if not neighbors:
            raise HvkitError("no neighbours given", field="--neighbors", allowed="workload names or none, "
                             "separated by commas")
        from ..inputs.workloads import load_workload
        for nb in neighbors:
            if nb is not None:
                try:
                    load_workload(nb)
                except HvkitError as exc:
                    raise HvkitError(str(exc), field="--neighbors") from None
    kw = proto.model_dump(exclude={"hardware", "hypervisor", "workload"})
    with _bar() as bar:
        result = compare(proto.hardware, proto.workload, names, replications=n, neighbors=neighbors,
                         progress=bar, **kw)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records(), indent=1) + "\n")
        return
    _print_table(result)
