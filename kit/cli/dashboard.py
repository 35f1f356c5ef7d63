"""``hvkit dashboard``: the panels as a web page (Voila), safe by default.

Voila alone serves without a token on every page load's own kernel with no limit. This command serves on
127.0.0.1 with a token (generated unless given), at most ``--max-kernels`` kernels at once (a page beyond that
gets HTTP 503), idle kernels culled, no file of the served folder (Voila serves allow-listed media without asking
for the token), and says how to share the page safely. Options hvkit does not know pass through to Voila, except
those that would undo the above; the policy is ``hvkit lab``'s (:func:`kit.cli.serving.check_policy`).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import HvkitError
from .common import RawEpilog
from .serving import check_policy, check_token, exposure_warning, is_loopback, serve

#: Most dashboards open at once by default: each kernel runs simulations on this machine's cores
DEFAULT_MAX_KERNELS = 4
MAX_KERNELS_LIMIT = 64
#: An idle kernel of a page nobody uses any more is shut down after this long
CULL_IDLE_S = 900
#: Voila options hvkit sets itself, which a pass-through option may not change (prefix -> what to use instead)
CONTROLLED = {
    "--LimitedKernelManager": "--max-kernels N",
    "--VoilaConfiguration.multi_kernel_manager_class": "--max-kernels N (the kernel limit is hvkit's)",
    "--MappingKernelManager.cull_idle_timeout": f"nothing: idle kernels stop after {CULL_IDLE_S} s",
    "--MappingKernelManager.cull_interval": f"nothing: idle kernels stop after {CULL_IDLE_S} s",
    "--VoilaConfiguration.file_allowlist": "nothing: the dashboard serves no file (Voila would serve them without "
                                           "the token)",
    "--VoilaConfiguration.file_whitelist": "nothing: the dashboard serves no file",
    "--Voila.ip": "--ip ADDRESS", "--Voila.port": "--port N", "--Voila.token": "--token TOKEN",
    "--ServerApp.token": "--token TOKEN", "--IdentityProvider.token": "--token TOKEN", "--ServerApp.ip": "--ip ADDRESS",
}


def register(sub) -> None:
    s = sub.add_parser("dashboard", help="serve the dashboard notebook with Voila on 127.0.0.1, with a token and a "
                                         "limit on kernels; options hvkit does not know pass through to Voila",
                       description="Serve the panels as a web page (Voila), on this machine only unless told, with "
                                   "a token and a limit on kernels.",
                       epilog="examples:\n  hvkit dashboard\n  hvkit dashboard --port 8900 --max-kernels 2\n"
                              "  hvkit dashboard --ip 0.0.0.0 --token SECRET   (share it: say who may reach it)",
                       formatter_class=RawEpilog)
    s.add_argument("notebook", nargs="?", default=None,
                   help="the notebook to serve (default: the project's notebooks/dashboard.ipynb)")
    s.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", default=8866, type=int, help="port (default 8866)")
    s.add_argument("--token", default=None, help="the token a visitor needs (default: a new random one)")
    s.add_argument("--max-kernels", default=DEFAULT_MAX_KERNELS, type=int,
                   help=f"most dashboards open at once (default {DEFAULT_MAX_KERNELS}); one more gets HTTP 503")
    s.set_defaults(func=cmd_dashboard, jupyter_args=[])


def dashboard_command(args) -> tuple[list[str], Path, str]:
    """The Voila command line, the folder it runs in and the URL to open (checked, nothing started)."""
    import secrets

    from ..inputs.files import project_root
    nb = Path(args.notebook).expanduser() if args.notebook else project_root() / "notebooks" / "dashboard.ipynb"
    if not nb.is_file() or nb.suffix != ".ipynb":
        raise HvkitError("no such notebook", field="notebook", value=str(nb), allowed="an existing .ipynb file")
    if not 1 <= args.port <= 65535:
        raise HvkitError("out of range", field="--port", value=args.port, allowed="1 to 65535")
    if not 1 <= args.max_kernels <= MAX_KERNELS_LIMIT:
        raise HvkitError("out of range", field="--max-kernels", value=args.max_kernels,
                         allowed=f"1 to {MAX_KERNELS_LIMIT}")
    token = check_token(args.token, "--token") if args.token is not None else secrets.token_urlsafe(24)
    check_policy(args.jupyter_args, "dashboard", CONTROLLED)
    extra = [a for a in args.jupyter_args if a != "--allow-root"]  # hvkit's flag: Voila has none
    cmd = [sys.executable, "-m", "voila", str(nb.resolve()), f"--Voila.ip={args.ip}", f"--port={args.port}",
           f"--token={token}", "--no-browser",
           "--VoilaConfiguration.multi_kernel_manager_class=kit.cli.kernel_limit.LimitedKernelManager",
           f"--LimitedKernelManager.max_kernels={args.max_kernels}",
           f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}", "--MappingKernelManager.cull_interval=60",
           "--VoilaConfiguration.file_allowlist=[]", *extra]
    host = f"[{args.ip}]" if ":" in args.ip else args.ip
    return cmd, nb.resolve().parent, f"http://{host}:{args.port}/?token={token}"


def cmd_dashboard(args) -> None:
    cmd, folder, url = dashboard_command(args)
    sys.stderr.write(f"hvkit dashboard: open {url}\n  at most {args.max_kernels} dashboards at once (each runs "
                     f"simulations here); idle ones stop after {CULL_IDLE_S // 60} minutes.\n")
    if is_loopback(args.ip):
        sys.stderr.write("  Only this machine can connect. To share it, keep it on 127.0.0.1 and forward the port "
                         f"(ssh -L {args.port}:127.0.0.1:{args.port} THIS-HOST), or put it behind an HTTPS reverse "
                         "proxy; anyone with the URL runs code here.\n")
    sys.stderr.write(exposure_warning(args.ip, args.port, "dashboard"))
    serve(cmd, folder, "Voila")
