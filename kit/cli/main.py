"""The ``hvkit`` command line.

Every command calls the same library functions a notebook calls, and prints
what they return. A user error (a bad name or value) prints one line on stderr
that names it and what is allowed, and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from .. import __version__
from ..errors import HvkitError

DEFAULT_OPS = ["hypercall", "cpuid", "ipi", "eoi", "io_latency_out", "io_latency_in",
               "lmbench.null_call", "lmbench.page_fault", "lmbench.ctxsw_2p_0k", "lmbench.fork"]
DEFAULT_MODES = ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "vmware-bt", "qemu-tcg"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise HvkitError(f"{self.prog}: {message}")


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=1, default=_json_default) + "\n")


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(type(o).__name__)


def _table(df: pd.DataFrame) -> str:
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500,
                           "display.max_colwidth", 60):
        return df.to_string(index=False)


def _split(s: str | None) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()] if s else []


def _parse_set(items: list[str] | None) -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HvkitError("--set takes key=value", field="--set", value=item,
                             allowed="e.g. memory=shadow, hw.exit_roundtrip_cycles=500")
        out.append((key.strip(), value.strip()))
    return out


def _mode_and_hw_overrides(pairs):
    hw, mode = {}, {}
    for key, value in pairs:
        if key.startswith("hw."):
            hw[key[3:]] = value
        elif key.startswith("mode."):
            mode[key[5:]] = value
        else:
            mode[key] = value
    return hw, mode


# ---- commands ---------------------------------------------------------------------------------

def cmd_list(args):
    from ..inputs.hardware import list_hardware, load_hardware
    from ..inputs.modes import list_hypervisors
    from ..costs.ops import list_ops
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
        from ..inputs.workloads import list_workloads
        rows = [{"id": w.id, "metric": w.metric, "unit": w.unit, "higher_is_better": w.higher_is_better,
                 "name": w.name} for w in list_workloads()]
    if args.json:
        _print_json(rows)
    else:
        print(_table(pd.DataFrame(rows)))


def cmd_show(args):
    from ..inputs.hardware import PARAM_DOCS, load_hardware
    from ..inputs.modes import hypervisor
    if args.what == "hardware":
        hw = load_hardware(args.name)
        if args.json:
            _print_json(hw.model_dump())
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
        print(_table(pd.DataFrame(rows)))
    else:
        if not args.hardware:
            raise HvkitError("show hypervisor needs --hardware", field="--hardware",
                             allowed="a profile id from 'hvkit list hardware'")
        hw_over, mode_over = _mode_and_hw_overrides(_parse_set(args.set))
        hw = load_hardware(args.hardware).with_overrides(hw_over)
        mode = hypervisor(args.name, hw, **mode_over)
        if args.json:
            _print_json(dict(mode.parts(), hardware=hw.id))
            return
        print(f"{mode.name} on {hw.id}")
        for k, v in mode.parts().items():
            if k not in ("name", "resolutions"):
                print(f"  {k:12s} {v}")
        for note in mode.resolutions:
            print(f"  resolved: {note}")


def cmd_microbench(args):
    from ..costs.microbench import microbench
    names = _split(args.hypervisor) or DEFAULT_MODES
    hw_over, mode_over = _mode_and_hw_overrides(_parse_set(args.set))
    ops = [o for group in (args.op or []) for o in _split(group)] or None
    frames = [microbench(args.hardware, m, ops, hw_overrides=hw_over, mode_overrides=mode_over) for m in names]
    df = pd.concat(frames, ignore_index=True)
    if args.json:
        _print_json(df.to_dict(orient="records"))
        return
    if len(names) == 1:
        print(_table(df[["op", "suite", "cycles", "us"]]))
        if len(df) == 1 or args.path:
            for _, row in df.iterrows():
                print(f"\npath of {row['op']} under {row['hypervisor']} on {row['hardware']}:")
                print(_table(pd.DataFrame(row["path"])))
        return
    table = df.pivot(index="op", columns="hypervisor", values="cycles").reindex(
        index=list(dict.fromkeys(df["op"])), columns=names)
    print(f"cycles per operation on {df['hardware'].iloc[0]}")
    print(table.round(0).to_string())


def cmd_calibrate(args):
    from ..papers.calibration import calibrate, summary
    report = calibrate()
    stats = summary(report)
    if args.json:
        _print_json({"summary": stats, "rows": report.to_dict(orient="records")})
        return
    show = report.assign(rel_error=(report["rel_error"] * 100).round(1).astype(str) + "%",
                         model=report["model"].round(2))
    print(_table(show[["system", "metric", "unit", "hardware", "published", "model", "rel_error"]]))
    a, v = stats["all"], stats["virtualized_only"]
    print(f"\n{a['rows']} rows: median |relative error| {a['median_abs_rel_error']:.1%}, "
          f"worst ratio {a['worst_ratio']:.2f}x, {a['beyond_2x']} beyond 2x, {a['within_25pct']} within 25%")
    print(f"{v['rows']} virtualized rows (native rows characterize the operations): median "
          f"{v['median_abs_rel_error']:.1%}, worst ratio {v['worst_ratio']:.2f}x")
    gaps = report[(report["rel_error"].abs() > 0.25)]
    if len(gaps):
        print("\ngaps above 25% and the mechanism the model lacks or simplifies:")
        for _, g in gaps.iterrows():
            print(f"- {g['system']}, {g['metric']}: {g['rel_error']:+.0%}: {g['gap'] or 'not yet explained'}")


def cmd_default(args):
    from ..costs.microbench import microbench
    hw = "skylake-sp-2017"
    frames = [microbench(hw, m, DEFAULT_OPS) for m in DEFAULT_MODES]
    df = pd.concat(frames, ignore_index=True)
    table = df.pivot(index="op", columns="hypervisor", values="cycles").reindex(index=DEFAULT_OPS, columns=DEFAULT_MODES)
    print(f"hvkit {__version__}: cycles per guest operation on {hw} (lower is better)")
    print(table.round(0).astype(int).to_string())
    print("\nTry: hvkit microbench --hardware xgene-armv8-2014 --hypervisor kvm --op hypercall")
    print("     hvkit list hardware | hvkit calibrate | hvkit --help")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hvkit", description="hvkit: a research kit for virtualization costs")
    p.add_argument("--version", action="version", version=f"hvkit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("list", help="list hardware, hypervisors, workloads or ops")
    s.add_argument("what", choices=["hardware", "hypervisors", "workloads", "ops"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("show", help="show a hardware profile or a resolved hypervisor mode")
    s.add_argument("what", choices=["hardware", "hypervisor"])
    s.add_argument("name")
    s.add_argument("--hardware")
    s.add_argument("--set", action="append", metavar="KEY=VALUE")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("microbench", help="cost of guest operations under one or more modes")
    s.add_argument("--hardware", required=True)
    s.add_argument("--hypervisor", "--hypervisors", dest="hypervisor",
                   help="a mode, or several separated by commas")
    s.add_argument("--op", action="append", help="operation(s); repeat or separate by commas")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a mode part (memory=shadow) or a hardware value (hw.exit_roundtrip_cycles=500)")
    s.add_argument("--path", action="store_true", help="print every operation's path")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_microbench)

    s = sub.add_parser("calibrate", help="published microbenchmarks beside the model")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("lab", help="open JupyterLab on the quickstart notebook (other options go to jupyter lab)")
    s.add_argument("notebook", nargs="?", default="notebooks/00-quickstart.ipynb")
    s.set_defaults(func=cmd_lab, jupyter_args=[])

    from .model import register
    register(sub)
    return p


def cmd_lab(args):
    import os
    import subprocess

    from ..inputs.paths import project_root
    nb = project_root() / args.notebook
    if not nb.exists():
        raise HvkitError("no such notebook", field="notebook", value=str(nb),
                         allowed=[str(p.relative_to(project_root())) for p in (project_root() / "notebooks").glob("*.ipynb")])
    cmd = [sys.executable, "-m", "jupyterlab", str(nb.relative_to(project_root())), *args.jupyter_args]
    if os.geteuid() == 0 and "--allow-root" not in cmd:
        cmd.append("--allow-root")
    raise SystemExit(subprocess.call(cmd, cwd=project_root()))


def main(argv=None) -> int:
    try:
        parser = build_parser()
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv[:1] == ["lab"]:  # everything hvkit does not know goes to jupyter lab
            args, extra = parser.parse_known_args(argv)
            args.jupyter_args = extra
        else:
            args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            cmd_default(args)
        else:
            args.func(args)
        return 0
    except HvkitError as exc:
        sys.stderr.write(f"hvkit: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
