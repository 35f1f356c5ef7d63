"""``hvkit migrate``: live-migrate a VM while its workload runs (pre-copy or post-copy)."""
from __future__ import annotations

import json
import sys

from ..errors import HvkitError
from .common import RawEpilog, add_spec_args, spec_from_args, table

#: The options of :func:`kit.live_migration.migrate` as the command line spells them
_OPTIONS = {"start_s": "--start", "tail_s": "--tail", "vm_mib": "--vm-mib", "used_mib": "--used-mib",
            "link_gbps": "--link-gbps", "max_mbps": "--max-mbps", "downtime_limit_ms": "--downtime-limit-ms",
            "method": "--method", "policy": "--policy", "tracking": "--tracking", "compression": "--compression",
            "zero_pages": "--zero-pages", "engine": "--engine"}
#: Columns of the rounds table printed without --json
_ROUND_VIEW = ["round", "kind", "start_s", "end_s", "pages", "skipped", "rate_mbps", "dirtied"]


def register(sub) -> None:
    s = sub.add_parser("migrate", help="live-migrate a VM while its workload runs (pre-copy or post-copy)",
                       description="Run a workload on a VM and live-migrate it: total time, downtime, rounds, "
                                   "bytes sent, and the guest's throughput over time.",
                       epilog="examples:\n"
                              "  hvkit migrate --hardware skylake-sp-2017 --hypervisor kvm --workload quake3-server "
                              "--vm-mib 128 --link-gbps 1\n"
                              "  hvkit migrate --hardware p4-xeon-2003 --hypervisor xen-pv --workload specweb "
                              "--set release=2003 --method post-copy --json",
                       formatter_class=RawEpilog)
    add_spec_args(s)
    s.add_argument("--method", default="pre-copy", help="pre-copy (default) or post-copy")
    s.add_argument("--link-gbps", default=None, help="migration link rate (default: the profile's NIC, shared "
                                                     "with the workload)")
    s.add_argument("--vm-mib", default=None, help="VM memory (default: footprint plus guest OS, a power of two)")
    s.add_argument("--used-mib", default=None, help="memory holding data when migration starts (default: all)")
    s.add_argument("--policy", default="auto", help="pre-copy policy: auto, xen (Xen's save tool), clark (as Clark "
                                                    "et al. describe it) or qemu")
    s.add_argument("--tracking", default="auto",
                   help="dirty tracking: auto, log-dirty-shadow, write-protect, ad-bits, pml, softmmu")
    s.add_argument("--compression", default="false", help="compress pages (true/false)")
    s.add_argument("--zero-pages", default=None, help="send zero pages as headers (default: on under qemu's policy)")
    s.add_argument("--dedicated-link", action="store_true", help="migrate over a link of its own, not the NIC")
    s.add_argument("--start", default=None, help="simulated seconds of workload before the migration starts "
                                                 "(the run lasts until the migration is over: no --duration)")
    s.add_argument("--tail", default="0.2", help="simulated seconds of workload after the migration (default 0.2)")
    s.add_argument("--engine", default="auto", help="auto, rounds (pre-copy's round model) or events (page by page)")
    s.add_argument("--max-mbps", default=None, help="override the policy's maximum rate (Mbit/s)")
    s.add_argument("--downtime-limit-ms", default=None, help="QEMU's downtime limit (ms)")
    s.set_defaults(func=cmd_migrate)


def cmd_migrate(args) -> None:
    from ..live_migration import migrate
    if args.duration is not None:
        raise HvkitError("a migration runs until it is over, plus its tail: --duration is not used",
                         field="--duration", value=args.duration, allowed="--start (the warm-up) and --tail")
    spec = spec_from_args(args, args.hypervisor)
    try:
        m = migrate(spec, method=args.method, link_gbps=args.link_gbps, vm_mib=args.vm_mib, used_mib=args.used_mib,
                    policy=args.policy, tracking=args.tracking, compression=args.compression,
                    zero_pages=args.zero_pages, shared_link=not args.dedicated_link, start_s=args.start,
                    tail_s=args.tail, max_mbps=args.max_mbps, downtime_limit_ms=args.downtime_limit_ms,
                    engine=args.engine)
    except HvkitError as exc:  # name the option as the command line spells it
        if exc.field in _OPTIONS:
            raise exc.renamed(_OPTIONS[exc.field], exc.where) from None
        raise
    if args.json:
        sys.stdout.write(json.dumps(m.to_record(), indent=1, allow_nan=False) + "\n")
        return
    s = m.summary
    print(f"{s['method']} migration of {s['workload']} under {s['hypervisor']} on {s['hardware']}: "
          f"{s['vm_mib']:.0f} MiB over {s['link_gbps']:g} Gbit/s ({'shared with' if s['shared_link'] else 'apart from'} "
          f"the workload's traffic), tracking {s['tracking']}, policy {s['policy']}; engine {s['engine']} "
          f"({s['engine_reason']})")
    parts = ", ".join(f"{k} {v:.2f}" for k, v in s["downtime_parts_ms"].items())
    print(f"total {s['total_s']:.3f} s, downtime {s['downtime_ms']:.1f} ms ({parts} ms), {s['rounds']} rounds, "
          f"{s['bytes_sent'] / 2**20:.1f} MiB sent ({s['memory_factor']:.2f}x memory), stopped: "
          f"{s['stop_reason'] or 'all pages pushed'}")
    print(f"migration threads: source {s['source_cpu_s']:.3f} CPU s, target {s['target_cpu_s']:.3f} CPU s; "
          f"guest: tracking {s['tracking_cpu_s']:.4f} CPU s ({s['first_writes']:.0f} first writes, "
          f"{s['tracking_exits']:.0f} exits), post-copy faults {s['postcopy_faults']}")
    print(f"guest throughput during the migration: {s['relative_throughput_during']:.3f} of the same run without it")
    for w in s["warnings"]:
        print(f"warning: {w}")
    if len(m.rounds):
        print(table(m.rounds[_ROUND_VIEW].round(4)))
