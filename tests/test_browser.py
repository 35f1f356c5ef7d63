"""End to end in a real browser: Voila serves the dashboard on loopback, headless Chromium (Debian's) driven by
Playwright changes a control, presses Run, and the figure's data changes. A screenshot is saved."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
OUT = ROOT / "tests" / "output"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(ROOT / "notebooks" / "dashboard.ipynb"),
                             "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except Exception:
            if proc.poll() is not None:
                pytest.fail("voila exited: " + proc.stdout.read().decode(errors="replace")[-2000:])
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _figure_data(page):
    return page.evaluate("""() => {
        const el = document.querySelector('.js-plotly-plot');
        return el && el.data ? JSON.stringify(el.data.map(t => [t.name, t.y ? Array.from(t.y) : null])) : null;
    }""")


def test_dashboard_run_changes_the_figure(voila_url, tmp_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(voila_url, timeout=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=180_000)
        run_button = page.get_by_role("button", name="Run").first
        run_button.click()
        page.wait_for_function("() => { const el = document.querySelector('.js-plotly-plot');"
                               " return el && el.data && el.data.length > 0; }", timeout=120_000)
        first = _figure_data(page)
        page.locator(".widget-dropdown", has_text="hypervisor").first.locator("select").select_option("xen-pv")
        run_button.click()
        # the figure is rebuilt in place: wait for the new traces, not an intermediate empty state
        page.wait_for_function("(before) => { const el = document.querySelector('.js-plotly-plot');"
                               " if (!el || !el.data || el.data.length === 0) return false;"
                               " const now = JSON.stringify(el.data.map(t => [t.name, t.y ? Array.from(t.y) : null]));"
                               " return now !== before && now.includes('backend: dom0'); }",
                               arg=first, timeout=120_000)
        second = _figure_data(page)
        OUT.mkdir(exist_ok=True)
        for target in (tmp_path / "dashboard.png", OUT / "dashboard.png"):
            page.screenshot(path=str(target), full_page=True)
        browser.close()
    assert first != second
    assert "backend: dom0" in second and "backend: dom0" not in first
