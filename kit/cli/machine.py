"""``hvkit import``, ``hvkit probe`` and ``hvkit profile fit``: the user's own machine.

``import`` reads the outputs of the standard tools into a measurements file; ``probe`` measures exit round trips
through /dev/kvm and writes the measurements, a fitted profile that inherits a shipped one, and the fit's report;
``profile fit`` fits a base profile to a measurements file with a held-out share of its rows.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from ..errors import HvkitError
from .common import RawEpilog, print_json, split, table

IMPORT_EXAMPLES = """examples:
  hvkit import kvm-unit-tests vmexit-1.log vmexit-2.log -o kut.yaml     two runs: means with 95% intervals
  hvkit import perf-stat run.txt --units 200000 -o counts.yaml --workload my-wl.yaml --base netperf-rr
  hvkit import vmstat before.txt after.txt --units 1500 -o vm.yaml
  hvkit import fio randread.json -o fio.yaml --host db1 --cpu "Xeon Gold 6130" --kernel 5.15 --date 2024-03-01"""
PROBE_EXAMPLES = """examples:
  hvkit probe                                   measure here, write probe/measurements.yaml, profile.yaml, fit.csv
  hvkit probe -o mine --base skylake-sp-2017 --replications 20
  hvkit probe --device /dev/kvm --ops cpuid,vmcall --json"""
FIT_EXAMPLES = """examples:
  hvkit profile fit --base zen3-epyc-2021 --measurements probe/measurements.yaml -o mine.yaml
  hvkit profile fit --base skylake-sp-2017 --measurements kut.yaml --test kvm-unit-tests:op.outl_to_kernel"""


def register(sub) -> None:
    s = sub.add_parser("import", help="read a measurement tool's output into a measurements file",
                       description="Read the outputs of kvm-unit-tests, perf kvm stat, perf stat, /proc/vmstat, fio, "
                                   "iperf3 or netperf (several files are replications) into a measurements file; "
                                   "every value says where and when it was measured.",
                       epilog=IMPORT_EXAMPLES, formatter_class=RawEpilog)
    s.add_argument("kind", help="kvm-unit-tests, perf-kvm, perf-stat, vmstat, fio, iperf3 or netperf")
    s.add_argument("files", nargs="+", metavar="FILE", help="the tool's outputs (vmstat: before and after)")
    s.add_argument("-o", "--output", required=True, help="the measurements file to write (.yaml)")
    s.add_argument("--units", help="units of work the native run did (perf-stat, vmstat): per-unit counts")
    s.add_argument("--duration", help="seconds a perf kvm stat record lasted (exit counts to rates)")
    s.add_argument("--column", help="kvm-unit-tests tables of several runs: the column to read")
    s.add_argument("--host", help="the machine's name, when the file comes from another machine")
    s.add_argument("--cpu", help="its CPU model")
    s.add_argument("--kernel", help="its kernel release")
    s.add_argument("--date", help="when the tool ran (YYYY-MM-DD)")
    s.add_argument("--guest", action="store_true", help="that machine was itself a virtual machine")
    s.add_argument("--workload", metavar="OUT", help="also write a workload file (base: --base) with the counts")
    s.add_argument("--base", help="with --workload: the workload it inherits")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("probe", help="measure exit round trips on this machine through /dev/kvm",
                       description="Run a minimal VM through the KVM API (this process, no QEMU) and time CPUID, "
                                   "hypercalls, HLT, port I/O and MMIO to the kernel and to user space, with "
                                   "replications and 95%% intervals; fit a profile that inherits --base to them, "
                                   "with held-out rows.", epilog=PROBE_EXAMPLES, formatter_class=RawEpilog)
    s.add_argument("--device", default="/dev/kvm", help="the KVM device (default /dev/kvm)")
    s.add_argument("--ops", help="operations, separated by commas (default: all for this CPU)")
    s.add_argument("--replications", default="10", help="timed batches per operation (default 10)")
    s.add_argument("--target-ms", default="20", help="least duration of a batch in ms (default 20)")
    s.add_argument("--base", help="the shipped profile the result inherits (default: by CPU vendor)")
    s.add_argument("--id", default="this-machine", help="the written profile's id (default this-machine)")
    s.add_argument("--test-share", default="0.34", help="share of the rows held out of the fit (default 0.34)")
    s.add_argument("--seed", default="0", help="seed of the held-out choice (default 0)")
    s.add_argument("-o", "--output", default="probe", help="folder to write into (default ./probe)")
    s.add_argument("--json", action="store_true", help="print JSON instead of tables")
    s.set_defaults(func=cmd_probe)

    s = sub.add_parser("profile", help="fit a profile to measurements",
                       description="Profiles from measurements.", epilog=FIT_EXAMPLES, formatter_class=RawEpilog)
    psub = s.add_subparsers(dest="profile_command", parser_class=type(s), help="fit: fit a base profile to measurements")
    f = psub.add_parser("fit", help="fit a base profile to a measurements file, with held-out rows",
                        description="Fit the parameters the measured rows determine, holding a share of the rows out "
                                    "of the fit; report which rows were fit and which tested.",
                        epilog=FIT_EXAMPLES, formatter_class=RawEpilog)
    f.add_argument("--base", required=True, help="the profile to start from (id or .yaml path)")
    f.add_argument("--measurements", required=True, help="a measurements file (hvkit import or hvkit probe)")
    f.add_argument("--test-share", default="0.34", help="share of the rows held out (default 0.34)")
    f.add_argument("--test", help="hold out exactly these row ids (separated by commas)")
    f.add_argument("--seed", default="0", help="seed of the held-out choice (default 0)")
    f.add_argument("--id", default="fitted", help="the written profile's id")
    f.add_argument("-o", "--output", help="write the fitted profile (.yaml)")
    f.add_argument("--json", action="store_true", help="print JSON instead of tables")
    f.set_defaults(func=cmd_profile_fit)
    s.set_defaults(func=_profile_needs_subcommand)


def _profile_needs_subcommand(args) -> None:
    raise HvkitError("give a subcommand", field="profile", allowed=["fit"])


def _number(text, field: str, integer: bool = False, positive: bool = True) -> float:
    from ..inputs.coerce import to_number
    v = to_number(text, field=field)
    if integer and v != int(v):
        raise HvkitError("must be a whole number", field=field, value=text, allowed="an integer")
    if positive and not v > 0:
        raise HvkitError("must be positive", field=field, value=text, allowed="a number > 0")
    return v


def _write_yaml(data: dict, path: str | Path, header: str = "") -> None:
    import yaml
    out = Path(path)
    if out.suffix not in (".yaml", ".yml"):
        raise HvkitError("write YAML to a path ending in .yaml", field="--output", value=str(path))
    from ..inputs.files import write_file
    text = (header + yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=120)).encode("utf-8")
    write_file(out, lambda fh: fh.write(text))  # never through a symbolic link


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    return obj


def _machine_from_args(args) -> dict:
    from ..machine.host import host_info
    given = {"hostname": args.host, "cpu_model": args.cpu, "kernel": args.kernel, "date": args.date}
    if any(v is not None for v in given.values()):
        here = {k: v for k, v in given.items() if v is not None}
        return {"hostname": "unknown host", "cpu_model": "unknown CPU", "kernel": "unknown", "date": "unknown date",
                **here, "is_guest": bool(args.guest), "origin": "given on the command line (--host, --cpu, ...)"}
    h = host_info()
    return {**h.as_dict(), "origin": "this machine at import (give --host, --cpu, --kernel, --date when the file "
                                     "comes from another)"}


def cmd_import(args) -> None:
    from ..inputs.importers import KINDS, import_files
    from ..inputs.measurements import Measurements
    if args.kind not in KINDS:
        raise HvkitError("unknown tool output", field="kind", value=args.kind, allowed=list(KINDS))
    units = _number(args.units, "--units") if args.units is not None else None
    duration = _number(args.duration, "--duration") if args.duration is not None else None
    doc = import_files(args.kind, args.files, _machine_from_args(args), units=units, duration=duration,
                       column=args.column)
    Measurements.model_validate(doc)  # what is written is what load_measurements accepts
    _write_yaml(doc, args.output, f"# hvkit import {args.kind}: {len(doc['rows'])} measured values\n")
    if args.workload:
        _write_workload(args, doc)
    print(f"{args.output}: {len(doc['rows'])} values from {len(args.files)} file(s) measured on "
          f"{doc['machine'].get('hostname')} ({doc['machine'].get('cpu_model')})")
    for note in doc.get("notes", []):
        print(f"  note: {note}")


def _write_workload(args, doc: dict) -> None:
    if not args.base:
        raise HvkitError("--workload needs --base (the workload it inherits)", field="--base",
                         allowed="a workload id from 'hvkit list workloads'")
    if not doc.get("per_unit") and not doc.get("params"):
        raise HvkitError("nothing per unit to write: give --units with perf-stat or vmstat, or import fio, iperf3 "
                         "or netperf", field="--workload")
    from ..inputs.workloads import Params, PerUnit
    m = doc["machine"]
    where = f"measured on {m.get('hostname')} ({m.get('cpu_model')}, Linux {m.get('kernel')}, {m.get('date')}) " \
            f"by {doc['tool']}"
    stem = Path(args.workload).stem.lower()
    wid = "".join(c if c.isalnum() or c in ".-" else "-" for c in stem).strip("-.") or "imported"
    per_unit = {k: v for k, v in doc.get("per_unit", {}).items() if k in PerUnit.model_fields}
    params = {k: v for k, v in doc.get("params", {}).items() if k in Params.model_fields}
    data = {"base": args.base, "id": wid, "per_unit": per_unit, "provenance": {k: where for k in {**per_unit, **params}}}
    if params:
        data["params"] = params
    _write_yaml(data, args.workload, f"# inherits {args.base}; the counts below were {where}\n")
    from ..inputs.workloads import load_workload
    load_workload(args.workload)  # validated like any workload file


def _default_base(vendor: str) -> str:
    return {"amd": "zen3-epyc-2021", "intel": "skylake-sp-2017", "arm": "neoverse-n1-2019"}.get(vendor,
                                                                                                 "skylake-sp-2017")


def cmd_probe(args) -> None:
    from ..inputs.files import write_file
    from ..inputs.measurements import Measurements
    from ..machine.probe import measurements_document, probe, profile_document
    from ..papers.profile_fit import fit_profile
    reps = int(_number(args.replications, "--replications", integer=True))
    target = _number(args.target_ms, "--target-ms")
    share = _number(args.test_share, "--test-share", positive=False)
    seed = int(_number(args.seed, "--seed", integer=True, positive=False))
    on_tty = sys.stderr.isatty()

    def show(name: str) -> None:
        sys.stderr.write(f"\rprobing {name:24s}")

    result = probe(args.device, split(args.ops) or None, replications=reps, target_ms=target,
                   progress=show if on_tty else None)
    if on_tty:
        sys.stderr.write("\r" + " " * 40 + "\r")
    doc = measurements_document(result)
    meas = Measurements.model_validate(doc)
    base = args.base or _default_base(result.host.vendor)
    report = fit_profile(base, meas, test_share=share, seed=seed)
    profile = profile_document(result, base, args.id, report.profile_params())
    out = Path(args.output)
    _write_yaml(doc, out / "measurements.yaml", "# hvkit probe: the measured rows (cycles are TSC ticks)\n")
    _write_yaml(profile, out / "profile.yaml", f"# hvkit probe: inherits {base}; fitted to the rows of "
                                               "measurements.yaml (held out: " + ", ".join(report.test_ids) + ")\n")
    write_file(out / "fit.csv", lambda fh: report.rows.to_csv(fh, index=False))
    from ..inputs.hardware import load_hardware
    load_hardware(out / "profile.yaml")  # what is written loads like any profile
    if args.json:
        print_json({"machine": result.host.as_dict(), "tsc_khz": result.tsc_khz, "notes": result.notes,
                    "summary": result.summary().to_dict(orient="records"), "fit": report.summary(),
                    "fit_rows": report.fit_ids, "test_rows": report.test_ids,
                    "params": report.params.drop(columns=["source"]).to_dict(orient="records"),
                    "written": [str(out / n) for n in ("measurements.yaml", "profile.yaml", "fit.csv")]})
        return
    print(f"measured on {result.host.describe()}")
    for note in result.notes:
        print(f"  {note}")
    print(_probe_table(result))
    _print_fit(report)
    print(f"wrote {out / 'measurements.yaml'}, {out / 'profile.yaml'} (base: {base}), {out / 'fit.csv'}")


def _probe_table(result) -> str:
    import pandas as pd

    from ..stats import format_ci
    s = result.summary()
    rows = [{"op": r["op"], "where": r["where"], "n": r["n"], "cycles (95% CI)": format_ci(r["cycles"], r["half"]),
             "us": f"{r['us']:.3g}",
             "monitor user cycles": f"{r['monitor_user_cycles']:.0f}" if r["monitor_user_cycles"] else ""}
            for _, r in s.iterrows()]
    return table(pd.DataFrame(rows))


def _print_fit(report) -> None:
    import pandas as pd
    print(f"fit to {len(report.fit_ids)} rows; held out (never fitted): {', '.join(report.test_ids) or 'none'}")
    p = report.params.copy()
    p["interval"] = [("" if (lo is None or (isinstance(lo, float) and math.isnan(lo))) else f"{lo:.4g} .. {hi:.4g}")
                     for lo, hi in zip(p["low"], p["high"])]
    print(table(p[["parameter", "status", "base", "value", "interval", "rows"]]))
    r = report.rows[report.rows["use"].isin(["fit", "test", "check"])]
    view = pd.DataFrame({"row": r["id"], "use": r["use"], "measured": r["measured"].map(lambda v: f"{v:.4g}"),
                         "model": r["model"].map(lambda v: f"{v:.4g}"),
                         "model 95%": [f"{a:.4g} .. {b:.4g}" for a, b in zip(r["model_low"], r["model_high"])],
                         "error": r["rel_error"].map(lambda v: f"{v:+.0%}"), "inside": r["inside"]})
    print(table(view))
    s = report.summary()
    if s["test"]["rows"]:
        print(f"held-out rows: median |error| {s['test']['median_abs_rel_error']:.0%}, worst "
              f"{s['test']['worst_abs_rel_error']:.0%}, {s['test']['inside_interval']} of {s['test']['rows']} inside "
              "the model's interval")
    for note in report.notes:
        print(f"  note: {note}")


def cmd_profile_fit(args) -> None:
    from ..inputs.measurements import load_measurements
    from ..papers.profile_fit import fit_profile, profile_document
    meas = load_measurements(args.measurements)
    share = _number(args.test_share, "--test-share", positive=False)
    seed = int(_number(args.seed, "--seed", integer=True, positive=False))
    report = fit_profile(args.base, meas, test_share=share, seed=seed, test_ids=split(args.test) or None)
    if args.output:
        doc = profile_document(report, args.id, f"{meas.machine.cpu_model} ({meas.machine.hostname}, fitted)",
                               f"Fitted by hvkit profile fit to {args.measurements}, measured on "
                               f"{meas.machine.describe()} by {meas.tool}. Values not listed under params are "
                               f"inherited from {report.base}.")
        _write_yaml(doc, args.output, f"# hvkit profile fit: inherits {report.base}; held out: "
                                      + ", ".join(report.test_ids) + "\n")
        from ..inputs.hardware import load_hardware
        load_hardware(args.output)
    if args.json:
        print_json({"base": report.base, "fit_rows": report.fit_ids, "test_rows": report.test_ids,
                    "summary": report.summary(), "notes": report.notes,
                    "rows": report.rows.to_dict(orient="records"),
                    "params": report.params.drop(columns=["source"]).to_dict(orient="records")})
        return
    print(f"{report.base} fitted to {args.measurements} (measured on {report.machine})")
    _print_fit(report)
    if args.output:
        print(f"wrote {args.output} (base: {report.base})")
