"""What ``hvkit lab`` and ``hvkit dashboard`` share: running a Jupyter server as a child and stopping it cleanly.

The server runs in its own session, so a terminal's Ctrl-C reaches hvkit alone; hvkit then asks the server to
stop (SIGTERM, on which Jupyter and Voila shut their kernels down), waits for it, and kills what is left of its
process group if it does not stop. When hvkit is stopped (SIGINT, SIGTERM, SIGHUP) nothing it started is left
running or listening.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import HvkitError

__all__ = ["serve", "check_folder", "check_not_root", "is_loopback", "STOP_GRACE_S"]

#: How long a stopped server may take to shut its kernels down before its process group is killed
STOP_GRACE_S = 30.0
_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


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
        proc = subprocess.Popen(cmd, cwd=cwd, start_new_session=True)
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
