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
  hvkit run --scenario examples/scenario-mixed.yaml      # a host with heterogeneous VMs
  hvkit run --scenario examples/scenario-mixed.yaml --set host.pcpus=4 --set vms.db.vcpus=4 --json"""
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
    s.add_argument("--scenario", metavar="FILE", default=None,
                   help="a scenario file (YAML or JSON): a host with heterogeneous VMs; --set reaches hardware, "
                        "hypervisor, duration, seed, engine, mode parts, hw.*, host.<knob> and vms.<name>.<field>")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("compare", help="simulate one workload under several modes, against native",
                       description="Simulate one workload under several modes (native computed once).",
                       epilog=COMPARE_EXAMPLES, formatter_class=RawEpilog)
    add_spec_args(s, several=True)
    s.set_defaults(func=cmd_compare)


def _print_table(result) -> None:
    import pandas as pd

    from ..results import contributors
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
    if args.scenario:
        return cmd_scenario(args)
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
        lat = result.latency["latency_us"]
        print(f"latency: mean {lat.mean():.1f} us, p50 {lat.quantile(.5):.1f} us, p99 {lat.quantile(.99):.1f} us")


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
    scn = load_scenario(args.scenario)
    sets = parse_sets(args.set)
    if args.duration is not None:
        sets.append(("duration", args.duration))
    if args.seed is not None:
        sets.append(("seed", args.seed))
    if sets:
        scn = scn.with_sets(sets)
    r = run_scenario(scn)
    if args.json:
        sys.stdout.write(json.dumps(r.to_json(), indent=1) + "\n")
        return
    h = r.host
    print(f"{scn.name}: {scn.hypervisor} on {scn.hardware}, {h['pcpus']} CPUs, {h['duration']:g} s simulated "
          f"({h['engine']} engine); relative = this VM's metric against the same VM alone on the host, and against "
          f"native alone (1.0 = as good)")
    cols = ["vm", "workload", "vcpus", "measured", "value", "unit", "relative_alone", "relative_native",
            "latency_p99_us"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(r.vms[cols].round(4).to_string(index=False))
    mem = h["memory"]
    print(f"host: CPU utilization {h['pcpu_util']:.3f}, VM switches {h['vm_switches']}, lock-holder preemptions "
          f"{h['lock_holder_preemptions']}; memory: demand {mem['demand_mib']:.0f} of {mem['host_mib']:.0f} MiB, "
          f"shared {mem['saved_mib']:.0f}, ballooned {mem['ballooned_mib']:.0f}, swapped {mem['swapped_mib']:.0f}"
          + (f", scanning {h['scan_cpu_s']:.4f} CPU s" if h["scan_cpu_s"] else ""))
    for note in h["notes"]:
        print(f"  {note}")


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
