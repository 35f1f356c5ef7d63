"""The ``hvkit`` command line: one parser, one module per command group.

Every command calls the same library functions a notebook calls, and prints what they return. A user error
(a bad name or value) prints one line on stderr that names it and what is allowed, and exits with status 2;
Ctrl-C prints one line and exits with status 130.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from ..version import __version__
from ..errors import HvkitError
from . import catalog, dashboard, lab, lifecycle, machine, micro, migrate, papers, run, sweep
from .common import Parser

__all__ = ["main", "build_parser"]

GROUPS = (catalog, micro, run, migrate, lifecycle, sweep, papers, machine, lab, dashboard)


def build_parser() -> Parser:
    p = Parser(prog="hvkit", description="hvkit: a research kit for virtualization costs")
    p.add_argument("--version", action="version", version=f"hvkit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``hvkit`` command; returns the exit status."""
    try:
        parser = build_parser()
        args_list = list(sys.argv[1:] if argv is None else argv)
        if args_list[:1] in (["lab"], ["dashboard"]):  # what hvkit does not know goes to JupyterLab or Voila
            args, extra = parser.parse_known_args(args_list)
            args.jupyter_args = extra
        else:
            args = parser.parse_args(args_list)
        if not getattr(args, "command", None):
            micro.cmd_default(args)
        else:
            args.func(args)
        return 0
    except HvkitError as exc:
        sys.stderr.write(f"hvkit: error: {exc}\n")
        return 2
    except SystemExit as exc:  # a command that chose its own exit status (after its own one-line message)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("hvkit: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
