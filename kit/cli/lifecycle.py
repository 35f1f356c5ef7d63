"""``hvkit lifecycle``: a VM's timeline through its operations (create, boot, pause, snapshot, migrate, destroy...),
phase by phase: on an idle host from the mode's costs, or as it ran in a scenario's simulated host."""
from __future__ import annotations

import json
import sys

from ..errors import HvkitError
from .common import RawEpilog, platform_overrides, split, table


def register(sub) -> None:
    s = sub.add_parser("lifecycle", help="a VM's timeline through its lifecycle operations",
                       description="Print a VM's timeline, phase by phase: each lifecycle operation (create, boot, "
                                   "pause, unpause, save, restore, snapshot, clone, migrate, shutdown, destroy) with "
                                   "its phases, the resource each uses (the toolstack, the VM's vCPU, the disk, the "
                                   "NIC) and their start and end. Given --scenario, the timeline of --vm as it ran on "
                                   "the scenario's simulated host, beside the other VMs.",
                       epilog="examples:\n"
                              "  hvkit lifecycle --hardware skylake-sp-2017 --hypervisor microvm\n"
                              "  hvkit lifecycle --hardware skylake-sp-2017 --hypervisor xen-hvm --ops "
                              "create,boot,save,restore,destroy --memory-mib 4096\n"
                              "  hvkit lifecycle --scenario examples/scenario-lifecycle.yaml --vm fresh",
                       formatter_class=RawEpilog)
    s.add_argument("--hardware", default=None, help="a profile id or a .yaml path")
    s.add_argument("--hypervisor", default=None, help="a mode preset")
    s.add_argument("--ops", default=None, help="operations in order, separated by commas (default: "
                                               "create,boot,pause,unpause,snapshot,shutdown)")
    s.add_argument("--memory-mib", default="1024", help="the VM's memory (MiB)")
    s.add_argument("--vcpus", default="1", help="the VM's vCPUs")
    s.add_argument("--preconfigured", action="store_true",
                   help="the VMM is configured before the clock starts (no API calls in create)")
    s.add_argument("--workload", default="netperf-rr", help="the VM's workload while it migrates")
    s.add_argument("--scenario", metavar="FILE", default=None, help="a scenario with lifecycle: events")
    s.add_argument("--vm", default=None, help="with --scenario: the VM whose timeline to print")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="hw.<parameter> and mode parts (or, with --scenario, any of its --set keys)")
    s.add_argument("--json", action="store_true", help="print the timeline as JSON")
    s.set_defaults(func=cmd_lifecycle)


def _number(value: str, name: str, kind=float):
    try:
        v = kind(value)
    except ValueError:
        raise HvkitError("not a number", field=name, value=value, allowed="a positive number") from None
    if v <= 0:
        raise HvkitError("must be positive", field=name, value=value, allowed="a positive number")
    return v


def cmd_lifecycle(args) -> None:
    from ..lifecycle import DEFAULT_OPS, run_lifecycle, timeline
    if args.scenario:
        from ..inputs.scenario import load_scenario
        from ..inputs.spec import parse_sets
        scn = load_scenario(args.scenario)
        if args.set:
            scn = scn.with_sets(parse_sets(args.set))
        names = scn.vm_names()
        if args.vm not in names:
            raise HvkitError("which VM's timeline", field="--vm", value=args.vm, allowed=names)
        out = run_lifecycle(scn)
        t = out["timeline"]
        t = t[t["vm"] == args.vm]
        head = f"{args.vm} in {scn.name}: {scn.hypervisor} on {scn.hardware}, simulated beside the other VMs"
    else:
        if not args.hardware or not args.hypervisor:
            raise HvkitError("a timeline needs a profile and a mode", field="--hardware/--hypervisor",
                             allowed="both, or --scenario FILE --vm NAME")
        hw, mode = platform_overrides(args.set, "hvkit lifecycle")
        ops = split(args.ops) or list(DEFAULT_OPS)
        t = timeline(args.hardware, args.hypervisor, ops, memory_mib=_number(args.memory_mib, "--memory-mib"),
                     vcpus=_number(args.vcpus, "--vcpus", int), preconfigured=args.preconfigured, mode=mode, hw=hw,
                     workload=args.workload)
        head = (f"a VM of {args.memory_mib} MiB under {args.hypervisor} on {args.hardware}, alone on the host: "
                f"{', '.join(ops)}")
    if args.json:
        sys.stdout.write(json.dumps(t.to_dict("records"), indent=1) + "\n")
        return
    print(head)
    view = t.assign(seconds=t["end_s"] - t["start_s"])[["op", "phase", "resource", "start_s", "end_s", "seconds",
                                                          "what"]]
    print(table(view.round(4)))
    if len(t):
        ends = t.groupby("op", sort=False)["end_s"].max() - t.groupby("op", sort=False)["start_s"].min()
        print("per operation (s): " + ", ".join(f"{op} {s:.4g}" for op, s in ends.items()))
