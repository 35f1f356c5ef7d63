"""``hvkit lab``: JupyterLab on the project's notebooks."""
from __future__ import annotations

import sys

from ..errors import HvkitError
from .common import RawEpilog


def register(sub) -> None:
    s = sub.add_parser("lab", help="open JupyterLab on the quickstart notebook; options hvkit does not know "
                                   "(--no-browser, --ip=127.0.0.1, --port=...) pass through to JupyterLab",
                       description="Open JupyterLab on the project's notebooks. Every option hvkit does not know "
                                   "passes through to jupyter lab.",
                       epilog="examples:\n  hvkit lab\n  hvkit lab --no-browser --ip=127.0.0.1 --port=8888\n"
                              "  hvkit lab notebooks/01-xen-vs-kvm.ipynb",
                       formatter_class=RawEpilog)
    s.add_argument("notebook", nargs="?", default="notebooks/00-quickstart.ipynb",
                   help="a notebook path relative to the project (default: the quickstart)")
    s.set_defaults(func=cmd_lab, jupyter_args=[])


def cmd_lab(args) -> None:
    import os
    import subprocess

    from ..inputs.files import project_root
    root = project_root()
    nb = root / args.notebook
    if not nb.exists():
        raise HvkitError("no such notebook", field="notebook", value=str(nb),
                         allowed=[str(p.relative_to(root)) for p in (root / "notebooks").glob("*.ipynb")])
    cmd = [sys.executable, "-m", "jupyterlab", str(nb.relative_to(root)), *args.jupyter_args]
    if os.geteuid() == 0 and "--allow-root" not in cmd:
        cmd.append("--allow-root")
    raise SystemExit(subprocess.call(cmd, cwd=root))
