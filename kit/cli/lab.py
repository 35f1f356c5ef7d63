"""``hvkit lab``: JupyterLab on the project's notebooks."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from ..errors import HvkitError
from .common import RawEpilog
from .serving import check_folder, check_policy, exposure_warning, listen_address, listen_port, serve

QUICKSTART = "00-quickstart.ipynb"


def register(sub) -> None:
    s = sub.add_parser("lab", help="JupyterLab on the project's notebooks folder, opening the quickstart; options "
                                   "hvkit does not know (--no-browser, --ip=127.0.0.1, --port=..., --allow-root) "
                                   "pass through to JupyterLab",
                       description="Open JupyterLab on the project's notebooks. Every option hvkit does not know "
                                   "passes through to jupyter lab; stopping hvkit lab stops the server and its "
                                   "kernels.",
                       epilog="examples:\n  hvkit lab\n  hvkit lab --no-browser --ip=127.0.0.1 --port=8888\n"
                              "  hvkit lab 01-xen-vs-kvm.ipynb\n  hvkit lab --dir ~/my-notebooks",
                       formatter_class=RawEpilog)
    s.add_argument("notebook", nargs="?", default=None,
                   help="a notebook to open, relative to the folder served (default: the quickstart)")
    s.add_argument("--dir", dest="folder", default=None,
                   help="serve this existing folder instead of the project's notebooks/")
    # JupyterLab's options that take a value, known here so that "--port 8899" is not read as a notebook's name
    s.add_argument("--ip", default=None, help="address to listen on, passed to JupyterLab (its default: localhost); "
                                              "another than a loopback address is warned about, as in hvkit dashboard")
    s.add_argument("--port", type=int, default=None, help="port, passed to JupyterLab (its default: 8888)")
    s.set_defaults(func=cmd_lab, jupyter_args=[])


def lab_command(args) -> tuple[list[str], Path]:
    """The JupyterLab command line ``hvkit lab`` runs, and the folder it serves (checked, nothing started)."""
    from ..inputs.files import project_root
    folder = check_folder(args.folder, "--dir") if args.folder else (project_root() / "notebooks").resolve()
    if not folder.is_dir():
        raise HvkitError("the project's notebooks folder is missing", field="--dir", value=str(folder),
                         allowed="an existing folder (hvkit lab --dir PATH)")
    name = args.notebook or (QUICKSTART if not args.folder else None)
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}"]
    if name:
        nb = (folder / name).resolve()
        if not nb.is_relative_to(folder) or not nb.is_file():
            raise HvkitError("no such notebook in the folder served", field="notebook", value=name,
                             allowed=sorted(p.name for p in folder.glob("*.ipynb")))
        cmd.append(str(nb))
        # the URL JupyterLab prints (and a browser opens) is the notebook's, not the Launcher's
        cmd.append(f"--LabApp.default_url=/lab/tree/{quote(nb.relative_to(folder).as_posix())}")
    check_policy(args.jupyter_args, "lab", {})  # the dashboard's policy: root, tokens
    own = [f"--ip={args.ip}"] * (args.ip is not None) + [f"--port={args.port}"] * (args.port is not None)
    return cmd + own + list(args.jupyter_args), folder


def cmd_lab(args) -> None:
    """JupyterLab until it exits or hvkit is stopped (SIGINT, SIGTERM, SIGHUP stop the server and its kernels)."""
    cmd, folder = lab_command(args)
    ip = listen_address(args.jupyter_args, args.ip or "localhost")  # JupyterLab's default
    sys.stderr.write(exposure_warning(ip, listen_port(args.jupyter_args, args.port or "8888"), "lab"))
    serve(cmd, folder, "JupyterLab")
