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
  hvkit run --hardware skylake-sp-2017 --hypervisor kvm --workload netperf-rr --no-model-uncertainty  # faster

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
                        "t, with only the digits the interval supports (default 1: the interval is unknown; a "
                        "closed form is exact given the parameters)")
    s.add_argument("--no-model-uncertainty", dest="model_uncertainty", action="store_false",
                   help="skip the 90%% prediction interval from the plausible ranges of the estimated and fitted "
                        "parameters (model uncertainty), computed by default")
    if several:
        s.add_argument("--neighbors", default=None, metavar="LIST",
                       help="neighbour workloads separated by commas, 'none' for alone: every mode runs beside "
                            "each (default: the spec's neighbor, set with --set neighbor=W)")


def _ci(mean, low, high, unit: str = "", fmt: str = ".4g", note: str | None = None) -> str:
    """A number with only the digits its interval supports; the interval said unknown when there is none, and a
    closed form (``note`` is :data:`kit.uncertainty.EXACT_NOTE`) said exact rather than printed as ``± 0``."""
    import math

    from ..stats import format_ci
    from ..uncertainty import EXACT_NOTE
    if note == EXACT_NOTE:
        return f"{mean:{fmt}}" + (f" {unit}" if unit else "") + " (exact)"
    half = None
    if low is not None and high is not None and math.isfinite(float(low)) and math.isfinite(float(high)):
        half = (float(high) - float(low)) / 2
    if half is None:
        return f"{mean:{fmt}}" + (f" {unit}" if unit else "")
    return format_ci(float(mean), half, unit)


def _scheduler(hardware: str, mode: str, proto) -> str:
    """The vCPU scheduler ``mode`` resolves to on ``hardware`` under the spec's overrides (what a neighbour's
    interference depends on), or "-" when the mode does not resolve."""
    from ..inputs.resolve import resolve_platform
    try:
        return resolve_platform(hardware, mode, dict(proto.hw), dict(proto.mode))[1].scheduler
    except HvkitError:
        return "-"


def _print_table(result, proto=None) -> None:
    """The rows of a comparison, each mode's error in its row; then warnings and request latency. With neighbours
    each row names the vCPU scheduler that shared the CPUs (given ``proto``, the spec compared)."""
    import pandas as pd

    from ..results import contributors
    s = result.summary
    ok = s[s["error"].fillna("") == ""]
    if not len(ok):
        raise HvkitError(f"no mode could run; {s['hypervisor'].iloc[0]}: {s['error'].iloc[0]}",
                         field="--hypervisors")
    cons = contributors(result, native=_native_alone(result, proto))
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
        row.update({"value": _ci(r["value"], r["ci_low"], r["ci_high"], note=r["ci_note"]),
                    "relative": _ci(r["relative_performance"], r["relative_ci_low"], r["relative_ci_high"], fmt=".3f",
                                    note=r["ci_note"])})
        if any_neighbor:
            row["interference"] = _ci(r["interference"], r["interference_ci_low"], r["interference_ci_high"],
                                      fmt=".3f", note=r["ci_note"])
            if proto is not None:
                row["vCPU scheduler"] = _scheduler(r["hardware"], r["hypervisor"], proto)
        if r["pi_method"]:
            row["90% PI (relative)"] = _pi(r, "relative_pi_low", "relative_pi_high", r["value"]) if r[
                "relative_pi_low"] is not None else f"value {_pi(r, 'pi_low', 'pi_high', r['value'])}"
        baseline = r["hypervisor"] == "native" and not r["neighbor"]
        row["top contributors to overhead"] = top or ("(the baseline)" if baseline else "-")
        rows.append(row)
    first = ok.iloc[0]
    direction = "higher" if first["higher_is_better"] else "lower"
    print(f"{first['workload']} on {first['hardware']}: {first['metric']} in {first['unit']} ({direction} is "
          f"better); relative performance 1.0 = native alone" + (
              "; interference 1.0 = as fast as the same mode alone" if any_neighbor else ""))
    print(_noise_line(ok))
    shown = ok[ok["hypervisor"] != "native"]
    print("native baseline: " + str((shown if len(shown) else ok).iloc[0]["baseline"]))
    with pd.option_context("display.max_colwidth", 120, "display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
    _print_model_uncertainty(ok)
    for _, r in ok.iterrows():
        if r["warnings"]:
            print(f"warning: {r['hypervisor']}: {r['warnings']}")
    _print_latency(result.latency)


def _native_alone(result, proto):
    """Native alone as the comparison's first replication ran it, when the comparison did not list native (its
    breakdown is what each row's top contributors are measured against); None when the result has it."""
    from ..run import native_spec, replication_specs, run
    s = result.summary
    if proto is None or ((s["hypervisor"] == "native") & s["neighbor"].isna()).any():
        return None
    n = int(s["replications"].max()) if s["replications"].notna().any() else 1
    return run(replication_specs(native_spec(proto), n)[0], baseline=False, scenario="native")


def _noise_line(rows) -> str:
    """What the table's ± intervals are: simulation noise over replications, exact, or unknown."""
    from ..uncertainty import EXACT_NOTE
    notes = list(dict.fromkeys(str(x) for x in rows["ci_note"]))
    exact = [n for n in notes if n == EXACT_NOTE]
    other = [n for n in notes if n != EXACT_NOTE]
    parts = [f"simulation noise: {n}" for n in other] + (
        [f"rows marked (exact) are closed forms, {EXACT_NOTE}"] if exact else [])
    return "; ".join(parts)


def _pi(r, lo: str, hi: str, like: float) -> str:
    """A prediction interval as ``low-high`` with the digits that tell its ends apart."""
    import math
    a, b = float(r[lo]), float(r[hi])
    span = abs(b - a) or abs(like) or 1.0
    digits = max(0, 2 - math.floor(math.log10(span))) if span > 0 else 3
    return f"{a:.{digits}f}-{b:.{digits}f}" if abs(like) < 1e4 else f"{a:,.0f}-{b:,.0f}"


def _print_model_uncertainty(rows) -> None:
    """Model uncertainty: each row's 90% prediction interval and the parameters that dominate it."""
    done = rows[rows["pi_method"].fillna("") != ""]
    if not len(done):
        first = rows.iloc[0]
        print(f"model uncertainty: {first['pi_note']}")
        return
    print("model uncertainty: 90% prediction intervals from the plausible ranges of the estimated and fitted "
          "parameters each run reads; dominant parameters with their first-order/total Sobol' indices:")
    for _, r in done.iterrows():
        print(f"  {r['scenario']}: {r['pi_dominant'] or 'none'} ({r['pi_method']})")


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
                                "p99_us": "p99", "p999_us": "p99.9", "max_us": "max"}).drop(
        columns=["max_censored", "tail_share"])
    print(show.round(1).to_string())
    for key, row in st.iterrows():
        if _tail_note(row):
            print(f"{key}: {_tail_note(row)}")


def _tail_note(st) -> str:
    """A note when a few slow requests dominate the mean: a mean above the p99 (otherwise read as an error), or
    more than half of the summed latency in the slowest 1% of the requests."""
    share = st["tail_share"]
    if share is None or share != share or not (st["mean_us"] > st["p99_us"] or share > 0.5):
        return ""
    what = "dominates the mean" + (", pulling it above the p99" if st["mean_us"] > st["p99_us"] else "") \
        if share > 0.5 else "pulls the mean above the p99"
    return (f"the slowest 1% of the finished requests (above the p99, up to the max) account for {share:.0%} of "
            f"their summed latency: that tail {what}")


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
        result = run(spec_from_args(args), replications=n, progress=bar, model_uncertainty=args.model_uncertainty)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records()[0], indent=1) + "\n")
        return
    _print_single(result)


def _print_single(result) -> None:
    r = result.summary.iloc[0]
    note = r["ci_note"]
    print(f"{r['workload']} under {r['hypervisor']} on {r['hardware']}: {r['metric']} "
          f"{_ci(r['value'], r['ci_low'], r['ci_high'], r['unit'], note=note)} (native alone "
          f"{r['native_value']:.4g}); relative performance "
          f"{_ci(r['relative_performance'], r['relative_ci_low'], r['relative_ci_high'], fmt='.3f', note=note)}")
    print(f"simulation noise: {note}")
    if r["neighbor"]:
        print(f"beside {r['neighbor']}: interference "
              f"{_ci(r['interference'], r['interference_ci_low'], r['interference_ci_high'], fmt='.3f', note=note)}"
              f" (against the same VM alone, {r['alone_value']:.4g} {r['unit']}); against native beside the same "
              f"neighbour {_ci(r['relative_vs_native_with_neighbor'], r['relative_vs_native_with_neighbor_ci_low'], r['relative_vs_native_with_neighbor_ci_high'], fmt='.3f', note=note)}")
    if r["pi_method"]:
        print(f"model uncertainty (90% prediction interval): {r['metric']} {_pi(r, 'pi_low', 'pi_high', r['value'])} "
              f"{r['unit']}" + (f"; relative performance {_pi(r, 'relative_pi_low', 'relative_pi_high', 1.0)}"
                                if r["relative_pi_low"] is not None else "")
              + (f"; interference {_pi(r, 'interference_pi_low', 'interference_pi_high', 1.0)}"
                 if r["interference_pi_low"] is not None else ""))
        print(f"  dominated by (first-order/total Sobol' index): {r['pi_dominant'] or 'none'}")
        print(f"  {r['pi_note']}")
    else:
        print(f"model uncertainty: {r['pi_note']}")
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
                f"p99.9 {_us(st['p999_us'])} us, " if st["count"] else "")
        print(f"latency: {done}max {bound}{_us(st['max_us'])} us ({st['count']} requests finished; {st['censored']} "
              f"still under way at the end, right-censored: their elapsed time counts in the max as a lower bound)")
        if st["count"] and _tail_note(st):
            print(f"note: {_tail_note(st)}")
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
    if len(r.faults):
        print("faults: what each VM saw (unavailable: its I/O paths down or the VM ended; client outage: with TCP's "
              "retransmissions)")
        fcols = ["vm", "effect", "survived", "unavailable_s", "client_outage_s", "requests_delayed", "retransmitted",
                 "reissued", "requests_lost", "cause"]
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
            print(r.faults[fcols].round(3).to_string(index=False))
    if len(r.lifecycle):
        print("lifecycle: each VM's operations, phase by phase (hvkit lifecycle --scenario FILE --vm NAME for one)")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(r.lifecycle[["vm", "op", "phase", "resource", "start_s", "end_s"]].round(4).to_string(index=False))
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
                         progress=bar, model_uncertainty=args.model_uncertainty, **kw)
    if args.json:
        sys.stdout.write(json.dumps(result.to_records(), indent=1) + "\n")
        return
    _print_table(result, proto)
