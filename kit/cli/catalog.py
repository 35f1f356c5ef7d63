"""``hvkit list`` and ``hvkit show``: what the catalogues hold."""
from __future__ import annotations

from ..errors import HvkitError
from .common import platform_overrides, print_json, table


def register(sub) -> None:
    s = sub.add_parser("list", help="list hardware, hypervisors, workloads or ops")
    s.add_argument("what", choices=["hardware", "hypervisors", "workloads", "ops"])
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("show", help="show a hardware profile or a resolved hypervisor mode")
    s.add_argument("what", choices=["hardware", "hypervisor"])
    s.add_argument("name", help="a profile id, or a mode preset")
    s.add_argument("--hardware", help="for 'show hypervisor': the profile to resolve the mode on")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="mode parts or hw.<parameter> overrides")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")
    s.set_defaults(func=cmd_show)


def cmd_list(args) -> None:
    import pandas as pd

    from ..costs.ops import list_ops
    from ..inputs.hardware import list_hardware, load_hardware
    from ..inputs.modes import list_hypervisors
    from ..inputs.workloads import list_workloads
    what = args.what
    if what == "hardware":
        rows = []
        for hid in list_hardware():
            hw = load_hardware(hid)
            rows.append({"id": hid, "name": hw.name, "arch": hw.arch, "year": hw.year,
                         "hw_virt": hw.features.hw_virt, "nested_paging": hw.features.nested_paging,
                         "pcpus": hw.pcpus})
    elif what == "hypervisors":
        rows = [{"name": k, "description": v} for k, v in list_hypervisors().items()]
    elif what == "ops":
        rows = [{"op": o.name, "suite": o.suite, "arch": o.arch, "title": o.title} for o in list_ops()]
    else:
        rows = [{"id": w.id, "metric": w.metric, "unit": w.unit, "higher_is_better": w.higher_is_better,
                 "name": w.name} for w in list_workloads()]
    if args.json:
        print_json(rows)
    else:
        print(table(pd.DataFrame(rows)))


def cmd_show(args) -> None:
    import pandas as pd

    from ..inputs.hardware import PARAM_DOCS, load_hardware
    from ..inputs.resolve import resolve_platform
    if args.what == "hardware":
        hw = load_hardware(args.name)
        if args.json:
            print_json(hw.model_dump())
            return
        print(f"{hw.id}: {hw.name} ({hw.vendor}, {hw.arch}, {hw.year}), {hw.pcpus} logical CPUs")
        if hw.description:
            print(hw.description)
        f = hw.features.model_dump()
        src = f.pop("source")
        print("features: " + ", ".join(f"{k}={v}" for k, v in f.items()))
        print(f"  source: {src}")
        rows = [{"parameter": k, "value": q.value, "meaning": PARAM_DOCS[k], "source": q.source}
                for k, q in hw.params]
        print(table(pd.DataFrame(rows)))
        return
    if not args.hardware:
        raise HvkitError("show hypervisor needs --hardware", field="--hardware",
                         allowed="a profile id from 'hvkit list hardware'")
    hw_over, mode_over = platform_overrides(args.set, "show hypervisor")
    hw, mode = resolve_platform(args.hardware, args.name, hw_over, mode_over)
    if args.json:
        print_json(dict(mode.parts(), hardware=hw.id))
        return
    print(f"{mode.name} on {hw.id}")
    for k, v in mode.parts().items():
        if k not in ("name", "resolutions"):
            print(f"  {k:12s} {v}")
    for note in mode.resolutions:
        print(f"  resolved: {note}")
