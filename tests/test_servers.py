"""``hvkit lab`` and ``hvkit dashboard``: what they serve, on which address, with which limits, and that stopping
hvkit stops everything it started (servers are real, on 127.0.0.1 and a free port)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from kit import cli
from kit.cli import dashboard as dashboard_mod
from kit.cli import lab as lab_mod
from kit.inputs.files import project_root

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = (project_root() / "notebooks").resolve()
#: bounded waits for a server to come up or go down on a loaded 2-core machine (never a pass/fail criterion)
START_S, STOP_S = 180.0, 90.0


# --- what the commands would run (nothing started) ---------------------------------------------------------

def _captured(monkeypatch, module):
    seen = {}

    def fake_serve(cmd, cwd, name):
        seen.update(cmd=cmd, cwd=cwd, name=name)
        raise SystemExit(0)
    monkeypatch.setattr(module, "serve", fake_serve)
    return seen


@pytest.mark.parametrize("uid", [0, 1000])
def test_lab_serves_the_notebooks_folder_and_never_adds_allow_root(uid, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    seen = _captured(monkeypatch, lab_mod)
    code = cli.main(["lab", "--no-browser"])
    if uid == 0:  # root: refused with how to pass the flag, nothing started
        assert code == 2 and not seen
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "pass --allow-root if you mean it" in err
        assert cli.main(["lab", "--no-browser", "--allow-root"]) == 0
        assert seen["cmd"].count("--allow-root") == 1  # the user's own
    else:
        assert code == 0 and "--allow-root" not in seen["cmd"]
    assert f"--ServerApp.root_dir={NOTEBOOKS}" in seen["cmd"] and seen["cwd"] == NOTEBOOKS
    assert str(NOTEBOOKS / "00-quickstart.ipynb") in seen["cmd"] and "--no-browser" in seen["cmd"]


@pytest.mark.parametrize("argv", [["lab", "--port", "8899"], ["lab", "--port=8899"],
                                  ["lab", "--port", "8899", "--ip", "127.0.0.1", "01-xen-vs-kvm.ipynb"]])
def test_lab_takes_port_and_ip_as_options_and_prints_the_notebook_s_url(argv, monkeypatch):
    """``hvkit lab --port 8899`` was read as a notebook named 8899; the URL JupyterLab printed opened the Launcher."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    seen = _captured(monkeypatch, lab_mod)
    assert cli.main(argv) == 0
    assert "--port=8899" in seen["cmd"] and "8899" not in seen["cmd"]
    name = argv[-1] if argv[-1].endswith(".ipynb") else "00-quickstart.ipynb"
    assert f"--LabApp.default_url=/lab/tree/{name}" in seen["cmd"]
    assert ("--ip=127.0.0.1" in seen["cmd"]) == ("--ip" in argv)


def test_lab_serves_a_folder_named_explicitly_only_if_it_exists(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    seen = _captured(monkeypatch, lab_mod)
    assert cli.main(["lab", "--dir", str(tmp_path)]) == 0
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in seen["cmd"] and seen["cwd"] == tmp_path.resolve()
    seen.clear()
    (tmp_path / "f.txt").write_text("x")
    for argv, fragment in ((["lab", "--dir", str(tmp_path / "nope")], "no such folder"),
                           (["lab", "--dir", str(tmp_path / "f.txt")], "not a folder"),
                           (["lab", "../../../etc/passwd"], "no such notebook in the folder served"),
                           (["lab", "nope.ipynb"], "no such notebook in the folder served")):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and fragment in err
    assert not seen and not (tmp_path / "nope").exists()


def test_dashboard_listens_on_loopback_with_a_token_and_a_kernel_limit(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # root is the policy's own test
    seen = _captured(monkeypatch, dashboard_mod)
    assert cli.main(["dashboard", "--Voila.theme=dark"]) == 0
    cmd = seen["cmd"]
    assert cmd[:4] == [sys.executable, "-m", "voila", str(NOTEBOOKS / "dashboard.ipynb")]
    assert "--Voila.ip=127.0.0.1" in cmd and "--no-browser" in cmd and cmd[-1] == "--Voila.theme=dark"
    token = next(a.split("=", 1)[1] for a in cmd if a.startswith("--token="))
    assert len(token) >= 24
    assert "--VoilaConfiguration.multi_kernel_manager_class=kit.cli.kernel_limit.LimitedKernelManager" in cmd
    assert f"--LimitedKernelManager.max_kernels={dashboard_mod.DEFAULT_MAX_KERNELS}" in cmd
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:8866/?token={token}" in err and "ssh -L 8866:127.0.0.1:8866" in err
    assert "WARNING" not in err
    cli.main(["dashboard", "--ip", "0.0.0.0", "--token", "x" * 20])
    assert "hvkit: WARNING: listening on 0.0.0.0" in capsys.readouterr().err


@pytest.mark.parametrize("argv,fragment", [
    (["dashboard", "--max-kernels", "0"], "'--max-kernels': out of range"),
    (["dashboard", "--max-kernels", "1000"], "'--max-kernels': out of range"),
    (["dashboard", "--port", "70000"], "'--port': out of range"),
    (["dashboard", "--token", "short"], "'--token': too short"),
    (["dashboard", "no-such.ipynb"], "no such notebook"),
    (["dashboard", "README.md"], "no such notebook"),
])
def test_dashboard_refuses_bad_options(argv, fragment, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    seen = _captured(monkeypatch, dashboard_mod)
    monkeypatch.chdir(ROOT)
    assert cli.main(argv) == 2 and not seen
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and fragment in err


# --- real servers ------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc, so that kernels in their own sessions are found too)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.update(kids)
        todo.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(argv, tmp_path, port):
    env = dict(os.environ, PYTHONPATH=str(ROOT), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "kit.cli", *argv], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + START_S
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not come up: {proc.communicate()[0][-3000:]}")
        time.sleep(0.5)
    return proc


def _stop(proc, sig):
    below = _descendants(proc.pid)
    assert below, "the server runs as a child of hvkit"
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("hvkit did not stop")
    return proc.returncode, out, below


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect (to a login page) is the answer, not something to follow


def _get(url):
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace") + str(e.headers.get("Location", ""))


def _root_flag():
    return ["--allow-root"] if os.geteuid() == 0 else []


@pytest.mark.slow
@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopping_hvkit_lab_stops_jupyterlab_and_its_kernels(sig, code, tmp_path):
    port, token = _free_port(), "t" * 32
    proc = _start(["lab", "--dir", str(tmp_path), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   f"--ServerApp.token={token}", *_root_flag()], tmp_path, port)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernels?token={token}", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        kernel = json.loads(r.read())["id"]
    assert _get(f"http://127.0.0.1:{port}/api/kernels")[0] == 403  # the token is required
    rc, out, below = _stop(proc, sig)
    assert rc == code, out[-2000:]
    assert f"JupyterLab stopped ({sig.name})" in out
    assert not _listening(port)
    assert not [p for p in below if _alive(p)], "a server or kernel process outlived hvkit"
    assert kernel in out  # the kernel that was running was shut down by the server (its log names it)


@pytest.mark.slow
def test_the_dashboard_needs_its_token_and_refuses_kernels_beyond_the_limit(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('dash' + 'board')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    port, token = _free_port(), "d" * 32
    proc = _start(["dashboard", str(tmp_path / "tiny.ipynb"), "--port", str(port), "--token", token,
                   "--max-kernels", "1", *_root_flag()], tmp_path, port)
    status, body = _get(f"http://127.0.0.1:{port}/")
    assert status in (302, 401, 403) and "dashboard" not in body, status  # no token, no page (a login form)
    status, body = _get(f"http://127.0.0.1:{port}/?token={token}")
    assert status == 200 and "dashboard" in body  # the executed output; its kernel stays up for the page
    status, body = _get(f"http://127.0.0.1:{port}/?token={token}")
    assert status == 503 and "at most 1 at once" in body
    rc, out, below = _stop(proc, signal.SIGTERM)
    assert rc == 143, out[-2000:]
    assert "Voila stopped (SIGTERM)" in out and f"?token={token}" in out
    assert not _listening(port)
    assert not [p for p in below if _alive(p)], "a server or kernel process outlived hvkit"


def test_the_dashboard_page_says_to_serve_it_with_hvkit_dashboard():
    """The page said "Serve with `voila notebooks/dashboard.ipynb`", the tokenless way the README warns against."""
    text = (NOTEBOOKS / "dashboard.py").read_text()
    assert "`voila notebooks/" not in text and "`hvkit dashboard`" in text


def _gone(pids, port, timeout=STOP_S):
    """Wait until every process of ``pids`` is dead and nothing listens on ``port``; the survivors otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left and not _listening(port):
            return []
        time.sleep(0.5)
    return [p for p in pids if _alive(p)] or ["port still listening"]


@pytest.mark.slow
def test_kill_9_of_hvkit_lab_leaves_no_server_or_kernel(tmp_path):
    port, token = _free_port(), "k" * 32
    proc = _start(["lab", "--dir", str(tmp_path), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   f"--ServerApp.token={token}", *_root_flag()], tmp_path, port)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernels?token={token}", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert json.loads(r.read())["id"]
    below = _descendants(proc.pid)
    assert len(below) >= 2, "the server and a kernel run below hvkit"
    proc.kill()  # kill -9: hvkit says nothing, stops nothing
    proc.communicate()
    assert _gone(below, port) == [], "a server or kernel outlived hvkit's kill -9"


@pytest.mark.slow
def test_kill_9_of_hvkit_dashboard_leaves_no_server_or_kernel_and_serves_no_file(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('dash' + 'board')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"secret" * 10)
    port, token = _free_port(), "f" * 32
    proc = _start(["dashboard", str(tmp_path / "tiny.ipynb"), "--port", str(port), "--token", token,
                   "--max-kernels", "2", *_root_flag()], tmp_path, port)
    for url in (f"http://127.0.0.1:{port}/voila/files/pic.png", f"http://127.0.0.1:{port}/voila/files/pic.png"
                f"?token={token}"):
        status, body = _get(url)
        assert status in (302, 401, 403, 404) and "secret" not in body, (url, status)
    status, body = _get(f"http://127.0.0.1:{port}/?token={token}")
    assert status == 200 and "dashboard" in body  # a kernel is up for the page
    below = _descendants(proc.pid)
    assert len(below) >= 2, "Voila and a kernel run below hvkit"
    proc.kill()
    proc.communicate()
    assert _gone(below, port) == [], "Voila or a kernel outlived hvkit's kill -9"
