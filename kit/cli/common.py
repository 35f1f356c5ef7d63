"""What every command shares: the parser class, JSON and table output, and reading specs from arguments."""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from ..errors import HvkitError

__all__ = ["RawEpilog", "Parser", "print_json", "table", "split", "platform_overrides", "add_spec_args", "spec_from_args"]


class RawEpilog(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of a command's examples."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2 (no usage dump)."""

    def error(self, message):
        # argparse quotes what it was given; a long argument is shown as an excerpt
        message = re.sub(r"'([^']{60})[^']+'", r"'\1...'", message)
        raise HvkitError(f"{self.prog}: {message}")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=1, default=_json_default) + "\n")


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(type(o).__name__)


def table(df) -> str:
    import pandas as pd
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500,
                           "display.max_colwidth", 60):
        return df.to_string(index=False)


def split(s: str | None) -> list[str]:
    """A comma-separated list."""
    return [x.strip() for x in s.split(",") if x.strip()] if s else []


def platform_overrides(items: list[str] | None, command: str) -> tuple[dict, dict]:
    """``--set`` arguments of a command that uses only a CPU and a mode: (hardware, mode) overrides."""
    from ..inputs.spec import parse_sets, route
    ov = route(parse_sets(items))
    unused = sorted(ov.top) + [f"workload.{k}" for k in ov.params]
    if unused:
        raise HvkitError(f"not used by {command} (it needs only a CPU and a mode)", field="--set",
                         value=unused[0], allowed="hw.<parameter>, hw.features.<name>, mode parts")
    return ov.hw, ov.mode


def add_spec_args(s: argparse.ArgumentParser, several: bool = False) -> None:
    s.add_argument("--spec", metavar="FILE", default=None,
                   help="a spec file, YAML or JSON (the mapping of a sweep file's base; the panels' Save writes "
                        "one); options given here replace its values and --set applies last")
    s.add_argument("--hardware", default=None,
                   help="a profile id (hvkit list hardware) or a .yaml path (required without --spec)")
    if several:
        s.add_argument("--hypervisors", default=None,
                       help="modes separated by commas (hvkit list hypervisors); with --spec the default is "
                            "native and the file's mode")
    else:
        s.add_argument("--hypervisor", default=None,
                       help="a mode preset (hvkit list hypervisors) (required without --spec)")
    s.add_argument("--workload", default=None,
                   help="a workload id (hvkit list workloads) or a .yaml path (required without --spec)")
    s.add_argument("--vcpus", default=None, help="vCPUs per VM (default 1)")
    s.add_argument("--vms", default=None, help="identical VMs on the host (default 1)")
    s.add_argument("--duration", default=None, help="simulated seconds (default: the workload's)")
    s.add_argument("--seed", default=None, help="seed of every random stream (default 0)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any part of the spec, repeatable: guest_page=2M, interrupts=posted, "
                        "hw.exit_roundtrip_cycles=500, workload.mtu=500, pcpus=2, weights=256,512")
    if not several:
        s.add_argument("--save-spec", metavar="FILE", default=None,
                       help="also write the spec to FILE (.yaml or .json), to run again with --spec FILE")
    s.add_argument("--json", action="store_true", help="print JSON instead of tables")


def spec_from_args(args, hypervisor: str | None = None):
    """The spec the arguments describe (validated like every spec): the ``--spec`` file if given, the options
    given on the command line over it, then ``--set``. ``hypervisor`` replaces the mode (``compare`` passes
    ``native``)."""
    from ..inputs.spec import Spec, parse_sets
    data: dict[str, Any] = {}
    if getattr(args, "spec", None):
        from ..inputs.specfile import load_spec
        data = load_spec(args.spec).model_dump()
    given = {"hardware": args.hardware, "hypervisor": hypervisor or getattr(args, "hypervisor", None),
             "workload": args.workload, "vcpus": args.vcpus, "vms": args.vms, "duration": args.duration,
             "seed": args.seed}
    data.update({k: v for k, v in given.items() if v is not None})
    for name in ("hardware", "hypervisor", "workload"):
        if data.get(name) is None:
            raise HvkitError("required (or a --spec FILE that names it)", field=f"--{name}")
    spec = Spec.make(**data).with_sets(parse_sets(args.set))
    path = getattr(args, "save_spec", None)
    if path:
        from ..inputs.specfile import save_spec
        save_spec(spec, path)
    return spec
