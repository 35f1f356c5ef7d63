"""``hvkit list`` and ``hvkit show``: what the catalogues hold."""
from __future__ import annotations

from ..errors import HvkitError
from .common import RawEpilog, platform_overrides, print_json, table

#: the trait names (kept here, not imported, so that --help stays cheap; a test checks they agree)
TRAIT_NAMES = ("tlb-heavy", "memory-bound", "syscall-heavy", "kernel-heavy", "page-table-heavy", "io-heavy",
               "cpu-bound")
LIST_EXAMPLES = """examples:
  hvkit list hardware
  hvkit list workloads --trait tlb-heavy
  hvkit list ops --json"""
SHOW_EXAMPLES = """examples:
  hvkit show hardware xgene-armv8-2014             every value with its provenance
  hvkit show hypervisor kvm --hardware core2-2008  the resolved composition (shadow paging there)
  hvkit show workload memcached                    metric, per-unit counts, traits, source"""


def register(sub) -> None:
    s = sub.add_parser("list", help="list hardware, hypervisors, workloads or ops",
                       description="List a catalogue: hardware profiles, hypervisor mode presets, workloads or "
                                   "guest operations.", epilog=LIST_EXAMPLES, formatter_class=RawEpilog)
    s.add_argument("what", choices=["hardware", "hypervisors", "workloads", "ops"], help="which catalogue")
    s.add_argument("--trait", help="workloads only: those with this trait (" + ", ".join(TRAIT_NAMES) + ")")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("show", help="show a hardware profile, a resolved hypervisor mode or a workload",
                       description="Show one catalogue entry with the provenance of every value.",
                       epilog=SHOW_EXAMPLES, formatter_class=RawEpilog)
    s.add_argument("what", choices=["hardware", "hypervisor", "workload"], help="which catalogue")
    s.add_argument("name", help="a profile id, a mode preset or a workload id (or a .yaml path)")
    s.add_argument("--hardware", help="for 'show hypervisor': the profile to resolve the mode on")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="mode parts or hw.<parameter> overrides")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("examples", help="copy the example files (a what-if CPU, a workload, a scenario, a sweep) to a "
                                        "folder",
                       description="Copy the example files the recipes use (examples/*.yaml: my-cpu, my-workload, "
                                   "scenario-mixed, sweep-exit-latency) into FOLDER, created when missing; an "
                                   "installed hvkit carries them in its package. Existing files are not replaced "
                                   "unless --force is given.",
                       epilog="examples:\n  hvkit examples my-examples\n  hvkit show hardware my-examples/my-cpu.yaml",
                       formatter_class=RawEpilog)
    s.add_argument("folder", help="where to copy them")
    s.add_argument("--force", action="store_true", help="replace files of the same name")
    s.set_defaults(func=cmd_examples)


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
        from ..inputs.workloads import TRAITS, traits
        if args.trait and args.trait not in TRAITS:
            raise HvkitError("unknown trait", field="--trait", value=args.trait, allowed=list(TRAITS))
        rows = [{"id": w.id, "kind": w.kind, "metric": w.metric, "unit": w.unit,
                 "higher_is_better": w.higher_is_better, "traits": ", ".join(traits(w)), "name": w.name}
                for w in list_workloads() if not args.trait or args.trait in traits(w)]
    if args.json:
        print_json(rows)
    else:
        print(table(pd.DataFrame(rows)))


def cmd_show(args) -> None:

    from ..inputs.hardware import PARAM_DOCS, load_hardware
    from ..inputs.resolve import resolve_platform
    if args.what == "workload":
        _show_workload(args)
        return
    if args.what == "hardware":
        hw = load_hardware(args.name)
        org = _origins(args.name, "hardware")
        if args.json:
            print_json({**hw.model_dump(), **({"origins": org} if org else {})})
            return
        print(f"{hw.id}: {hw.name} ({hw.vendor}, {hw.arch}, {hw.year}), {hw.pcpus} logical CPUs")
        if org:
            bases = sorted({v for v in org.values() if v != hw.id})
            print(f"inherits from {', '.join(bases)}: each value says where it is set")
        if hw.description:
            print(wrap(hw.description))
        f = hw.features.model_dump()
        src = f.pop("source")
        print(wrap("features: " + ", ".join(f"{k}={v}" for k, v in f.items())))
        print(wrap(f"source: {src}", indent="  "))
        for k, q in hw.params:
            if q is None:
                print(f"{k}: not given  ({PARAM_DOCS[k]}; the mechanisms that read it are off)")
                continue
            print(f"{k} = {q.value:g}{_tag(q, org.get(f'params.{k}'), hw.id)}  ({PARAM_DOCS[k]})")
            print(wrap(q.source, indent="    "))
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


def _origins(name: str, what: str) -> dict[str, str]:
    """Which file set each value of a profile or workload that inherits (empty when it has no base)."""
    from ..inputs.files import locate
    from ..inputs.hardware import profiles_dir
    from ..inputs.inherit import origins
    from ..inputs.workloads import workloads_dir
    directory, kind = (profiles_dir(), "hardware profile") if what == "hardware" else (workloads_dir(), "workload")
    return origins(locate(name, directory, kind), directory, kind)


def _tag(q, origin: str | None, own: str) -> str:
    """`` [measured, 95% interval a to b; inherited from X]``: how a value was obtained and which file set it."""
    parts = []
    if q.source.strip().lower().startswith(("measured", "fitted")):
        parts.append(q.source.split()[0].lower())
    if q.interval is not None:
        parts.append(f"95% interval {q.interval[0]:g} to {q.interval[1]:g}")
    if origin is not None:
        parts.append("set here" if origin == own else f"inherited from {origin}")
    return f" [{'; '.join(parts)}]" if parts else ""


def wrap(text: str, indent: str = "", width: int = 100) -> str:
    """Long provenance text wrapped for a terminal."""
    import textwrap
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent + "  ")


def _show_workload(args) -> None:
    from ..inputs.workloads import PerUnit, load_workload, rates, traits
    wl = load_workload(args.name)
    org = _origins(args.name, "workload")
    if args.json:
        print_json({**wl.model_dump(), "traits": traits(wl), "rates_per_kilo_instruction": rates(wl),
                    **({"origins": org} if org else {})})
        return
    print(f"{wl.id}: {wl.name} ({wl.kind} workload)")
    print(wrap(wl.description))
    direction = "higher" if wl.higher_is_better else "lower"
    how = (f"the job is {wl.value_per_unit:g} units of work, its time = units / (units per second)"
           if wl.metric_kind == "time" else f"value = units of work per second x {wl.value_per_unit:g}")
    print(f"metric: {wl.metric} in {wl.unit}, {direction} is better ({how})")
    print("traits: " + (", ".join(traits(wl)) or "-"))
    print("per unit of work (characterized on native):")
    for name, info in PerUnit.model_fields.items():
        value = getattr(wl.per_unit, name)
        if value != info.default:
            where = org.get(f"per_unit.{name}")
            how = "" if where is None else ("  [set here" if where == wl.id else f"  [inherited from {where}")
            if how and name in wl.provenance and wl.provenance[name].lower().startswith("measured"):
                how += "; measured"
            print(f"  {name:20s} {value:>14,.6g}  {info.description or ''}{how + ']' if how else ''}")
    from ..inputs.workloads import KIND_PARAMS
    read = KIND_PARAMS[wl.kind]
    print(f"parameters (what a {wl.kind} workload reads): " + (", ".join(
        f"{k}={getattr(wl.params, k)}" for k in read) or "none"))
    print("source:")
    print(wrap(wl.source, indent="  "))


def cmd_examples(args) -> None:
    """Copy ``examples/*.yaml`` (from the checkout or the installed package) into ``args.folder``."""
    import shutil
    from pathlib import Path

    from ..inputs.files import project_root
    files = sorted((project_root() / "examples").glob("*.yaml"))
    if not files:
        raise HvkitError("no example files in this installation", field="examples",
                         value=str(project_root() / "examples"))
    dest = Path(args.folder).expanduser()
    if dest.exists() and not dest.is_dir():
        raise HvkitError("not a folder", field="folder", value=str(dest), allowed="a folder, or a path to create")
    clash = [f.name for f in files if (dest / f.name).exists()]
    if clash and not args.force:
        raise HvkitError("would replace existing files (pass --force to replace them)", field="folder",
                         value=str(dest / clash[0]), allowed="a folder without them, or --force")
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, dest / f.name)
    print(f"copied {len(files)} example files to {dest}: " + ", ".join(f.name for f in files))
