"""End to end in a real browser: Voila serves the dashboard on loopback, headless Chromium (Debian's) driven by
Playwright presses Run on the Experiment panel, changes its mode and runs again, then runs the Sweep panel; each
time it waits until the figure on the page holds the new data. Screenshots go to tests/output/.

Synchronization is on events, never on fixed sleeps: the Run buttons of all four panels rendered (the kernel is
up and its widgets are on the page), then the panel's figure data as the browser holds it. Every wait is bounded;
the bounds are generous because a loaded 2-core machine can take minutes to start a kernel and run a panel. The
page load is retried once at most (Voila starts a fresh kernel for each load). Phase timings are written to
tests/output/browser_timings.json.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a Voila server, a kernel and a browser: minutes on a loaded machine

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
OUT = ROOT / "tests" / "output"
PANELS = ("experiment", "compare", "microbench", "sweep")
SERVER_S = 180  # Voila listening
LOAD_MS = 240_000  # page load until every panel's Run button is on the page (kernel start + notebook execution)
RUN_MS = 240_000  # one panel run until its figure holds the new data

# The data of the figure in one panel as plotly.js drew it: [[trace name, [y...]], ...], or null. _fullData holds
# the decoded arrays (data keeps numpy arrays as the base64 objects they arrived as).
FIGURE_DATA = """(panel) => {
    const el = document.querySelector(`.hvkit-${panel} .js-plotly-plot`);
    if (!el || !el._fullData) return null;
    return el._fullData.map(t => [t.name === undefined ? null : t.name, t.y ? Array.from(t.y) : []]);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with open(log_path, "wb") as log:  # a file, not a pipe nobody drains: a full pipe would stall Voila
        proc = subprocess.Popen([sys.executable, "-m", "voila", str(ROOT / "notebooks" / "dashboard.ipynb"),
                                 "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_S
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=30).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("voila exited: " + log_path.read_text(errors="replace")[-2000:])
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not answer within {SERVER_S} s: "
                                + log_path.read_text(errors="replace")[-2000:])
                time.sleep(0.25)  # polling the port; the page itself is awaited on events
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _open_dashboard(browser, url, timings):
    """A page with every panel's widgets rendered; one retry of the load at most."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in (1, 2):
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        t = time.monotonic()
        try:
            page.goto(url, timeout=LOAD_MS, wait_until="domcontentloaded")
            for kind in PANELS:
                page.locator(f".hvkit-{kind}").get_by_role("button", name="Run").wait_for(
                    state="visible", timeout=LOAD_MS)
            timings[f"page load (attempt {attempt})"] = round(time.monotonic() - t, 1)
            return page
        except PlaywrightTimeout:
            timings[f"page load (attempt {attempt}, timed out)"] = round(time.monotonic() - t, 1)
            page.close()
            if attempt == 2:
                raise


def _run_and_wait(page, panel, predicate, before, timings, name):
    """Press the panel's Run button and wait until its figure's data satisfies ``predicate`` (a JS function body
    of ``data`` and ``before``)."""
    t = time.monotonic()
    page.locator(f".hvkit-{panel}").get_by_role("button", name="Run").click()
    page.wait_for_function(f"""([panel, before]) => {{
        const data = ({FIGURE_DATA})(panel);
        if (data === null || data.length === 0) return false;
        {predicate}
    }}""", arg=[panel, before], timeout=RUN_MS, polling=250)
    timings[name] = round(time.monotonic() - t, 1)
    return page.evaluate(FIGURE_DATA, panel)


def test_dashboard_panels_draw_their_figures(voila_url, tmp_path):
    from playwright.sync_api import sync_playwright
    timings = {}
    OUT.mkdir(exist_ok=True)
    start = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = _open_dashboard(browser, voila_url, timings)
            first = _run_and_wait(page, "experiment", "return true;", None, timings, "experiment run")
            page.locator(".hvkit-experiment .widget-dropdown", has_text="hypervisor").locator("select").select_option(
                "xen-pv")
            second = _run_and_wait(page, "experiment",
                                   "return JSON.stringify(data) !== JSON.stringify(before)"
                                   " && data.some(t => t[0] === 'backend: dom0');",
                                   first, timings, "experiment run, xen-pv")
            # the Sweep panel: lines with finite means (in Voila its figure used to stay empty)
            swept = _run_and_wait(page, "sweep",
                                  "return data.filter(t => t[0] === 'kvm' || t[0] === 'xen-hvm')"
                                  ".every(t => t[1].length > 0 && t[1].every(Number.isFinite))"
                                  " && data.some(t => t[0] === 'kvm') && data.some(t => t[0] === 'xen-hvm');",
                                  None, timings, "sweep run")
            for target in (tmp_path, OUT):
                page.screenshot(path=str(target / "dashboard.png"), full_page=True)
                page.locator(".hvkit-sweep").screenshot(path=str(target / "dashboard-sweep.png"))
        finally:
            browser.close()
            timings["total"] = round(time.monotonic() - start, 1)
            (OUT / "browser_timings.json").write_text(json.dumps(timings, indent=1))
    names_first = [t[0] for t in first]
    names_second = [t[0] for t in second]
    assert "backend: dom0" in names_second and "backend: dom0" not in names_first
    for _, ys in first + second:
        assert all(isinstance(y, (int, float)) for y in ys)
    lines = {name: ys for name, ys in swept if name in ("kvm", "xen-hvm")}
    assert set(lines) == {"kvm", "xen-hvm"} and all(0 < y <= 1.5 for ys in lines.values() for y in ys)
