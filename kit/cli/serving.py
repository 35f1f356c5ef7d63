"""What ``hvkit lab`` and ``hvkit dashboard`` share: one policy for who may reach a Jupyter server, and running
it as a child that stops with hvkit.

The policy (:func:`check_policy`), the same for both commands: not as root unless ``--allow-root`` is given; a
token, when one is given, of at least 16 URL-safe characters (never empty: that would turn authentication off);
the options hvkit sets for safety are not overridden by a pass-through option; and a server reachable from other
machines gets the same warning.

The server runs in its own session, so a terminal's Ctrl-C reaches hvkit alone; hvkit then asks the server to
stop (SIGTERM, on which Jupyter and Voila shut their kernels down), waits for it, and kills what is left of its
process group if it does not stop. When hvkit is stopped (SIGINT, SIGTERM, SIGHUP) nothing it started is left
running or listening; when hvkit dies without a word (``kill -9``) the server gets SIGTERM from the kernel (a
parent-death signal, Linux) and its kernels, which watch their parent, exit with it.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import HvkitError

__all__ = ["serve", "check_folder", "check_not_root", "check_token", "check_policy", "exposure_warning",
           "listen_address", "listen_port", "option_value", "is_loopback", "STOP_GRACE_S", "MIN_TOKEN"]

#: How long a stopped server may take to shut its kernels down before its process group is killed
STOP_GRACE_S = 30.0
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
#: Shortest token accepted, and what it may be made of (it travels in a URL)
MIN_TOKEN = 16
_TOKEN = re.compile(r"[A-Za-z0-9._~\-]+")
#: Linux prctl option: the signal a process gets when its parent dies
PR_SET_PDEATHSIG = 1


def check_folder(path: str, what: str) -> Path:
    """A folder the user named: it must exist and be a directory (nothing is created)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise HvkitError("no such folder", field=what, value=str(p))
    if not p.is_dir():
        raise HvkitError("not a folder", field=what, value=str(p), allowed="an existing directory")
    return p.resolve()


def check_not_root(extra: list[str], command: str) -> None:
    """Jupyter refuses to run as root unless told; hvkit never tells it behind the user's back."""
    if os.geteuid() == 0 and "--allow-root" not in extra:
        raise HvkitError("refusing to run a Jupyter server as root; pass --allow-root if you mean it "
                         f"(hvkit {command} --allow-root ...), or run as another user", field="--allow-root")


def check_token(token: str, field: str) -> str:
    """A token a visitor must give: at least :data:`MIN_TOKEN` URL-safe characters (never blank)."""
    if not token or not _TOKEN.fullmatch(token):
        raise HvkitError("not a token: letters, digits and . _ ~ - only, no spaces (an empty one turns "
                         "authentication off)", field=field, allowed=f"at least {MIN_TOKEN} such characters, or leave "
                                                                    "it out for a random one")
    if len(token) < MIN_TOKEN:
        raise HvkitError("too short to protect a server that runs code", field=field,
                         allowed=f"at least {MIN_TOKEN} characters (or leave it out for a random one)")
    return token


def option_value(extra: list[str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """The last ``--name=value`` or ``--name value`` of ``extra`` among ``names``: (name as given, value)."""
    found = None
    for i, arg in enumerate(extra):
        name, eq, value = arg.partition("=")
        if name in names:
            if eq:
                found = (name, value)
            elif i + 1 < len(extra):
                found = (name, extra[i + 1])
            else:
                found = (name, "")
    return found


def check_policy(extra: list[str], command: str, controlled: dict[str, str]) -> None:
    """The one policy of ``hvkit lab`` and ``hvkit dashboard`` for the options passed through to the server.

    Root needs ``--allow-root`` (:func:`check_not_root`); a token given through (``--ServerApp.token``,
    ``--IdentityProvider.token``, ``--token``...) must be one (:func:`check_token`); an option in ``controlled``
    (its prefix -> the hvkit option that sets it) is refused, so that a pass-through never lifts a limit hvkit
    sets (a kernel limit of 100,000, files served without the token).
    """
    check_not_root(extra, command)
    for arg in extra:
        name = arg.partition("=")[0]
        for prefix, instead in controlled.items():
            if name == prefix or name.startswith(prefix + "."):
                raise HvkitError(f"hvkit {command} sets this itself", field=name, value=arg,
                                 allowed=instead)
    token = option_value(extra, ("--token", "--ServerApp.token", "--IdentityProvider.token", "--NotebookApp.token"))
    if token is not None:
        check_token(token[1], token[0])


def exposure_warning(ip: str, port: int | str, command: str) -> str:
    """The warning ``hvkit lab`` and ``hvkit dashboard`` print when the server they start can be reached from other
    machines (empty on a loopback address)."""
    if is_loopback(ip):
        return ""
    return (f"hvkit: WARNING: listening on {ip}: anyone who can reach port {port} and has the token runs code on "
            "this machine, and the token crosses the network in clear text (HTTP). Prefer 127.0.0.1 with an "
            f"SSH tunnel or an HTTPS reverse proxy (hvkit {command}).\n")


def listen_address(extra: list[str], default: str) -> str:
    """The address a Jupyter server told ``extra`` listens on (``--ip``, ``--ServerApp.ip``...), or ``default``."""
    found = option_value(extra, ("--ip", "--ServerApp.ip", "--NotebookApp.ip", "--Voila.ip"))
    return found[1] if found is not None and found[1] else default


def listen_port(extra: list[str], default: str) -> str:
    """The port a Jupyter server told ``extra`` listens on (``--port``, ``--ServerApp.port``), or ``default``."""
    found = option_value(extra, ("--port", "--ServerApp.port", "--NotebookApp.port"))
    return found[1] if found is not None and found[1] else default


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(cmd: list[str], cwd: Path, name: str) -> None:
    """Run ``cmd`` (a Jupyter server) until it exits or hvkit is stopped; raises SystemExit with the status.

    On SIGINT, SIGTERM or SIGHUP the server gets SIGTERM and ``STOP_GRACE_S`` seconds to stop; then its process
    group is killed. The exit status is the server's, or 128 + the signal that stopped hvkit.
    """
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, start_new_session=True, preexec_fn=_dies_with(os.getpid()))
    except OSError as exc:
        raise HvkitError(f"cannot start {name}: {exc.strerror or exc}", value=cmd[0]) from None
    stops: list[int] = []

    def on_signal(signum, frame):
        stops.append(signum)

    old = {s: signal.signal(s, on_signal) for s in _EXIT}
    try:
        asked = None
        while proc.poll() is None:
            if stops and asked is None:
                asked = time.monotonic()
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            if asked is not None and time.monotonic() - asked > STOP_GRACE_S:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of its group that outlived it
        for s, h in old.items():
            signal.signal(s, h)
    if stops:
        sys.stderr.write(f"hvkit: {name} stopped ({signal.Signals(stops[0]).name})\n")
        raise SystemExit(_EXIT[signal.Signals(stops[0])])
    raise SystemExit(proc.returncode)


def _dies_with(parent: int):
    """What the server's process runs before it starts: SIGTERM when hvkit dies, however it dies (Linux's
    parent-death signal, set through ctypes); if hvkit is already gone, exit at once."""
    def setup() -> None:
        if sys.platform.startswith("linux"):
            import ctypes
            with contextlib.suppress(Exception):
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return setup
