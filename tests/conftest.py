"""Shared test machinery: the hypothesis profiles, the ``slow`` marker on notebooks, and the ``cli`` fixture.

``python3 -m pytest -m "not slow"`` runs the fast tier (every area, each by its quick tests); the full command
(``python3 -m pytest``, what ``.ci/run`` runs) runs everything.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config, items):
    """Notebooks (nbval's items, one per cell) start a kernel and run a study each: they are ``slow``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@dataclass(frozen=True)
class Ran:
    """What one ``hvkit`` command gave: its exit status, its standard output and its standard error."""

    code: int
    out: str
    err: str

    def ok(self) -> str:
        """Standard output of a command that succeeded (exit status 0)."""
        assert self.code == 0, self.err
        return self.out

    def json(self):
        """Standard output of a command that succeeded, read as JSON."""
        return json.loads(self.ok())

    def error(self) -> str:
        """The one-line error of a refused command: exit status 2, nothing on stdout, one line on stderr."""
        assert self.code == 2, (self.code, self.out, self.err)
        assert self.out == "" and len(self.err.splitlines()) == 1, self.err
        assert self.err.startswith("hvkit: error: ") and "Traceback" not in self.err, self.err
        return self.err


def run_cli(*argv: str) -> Ran:
    """``hvkit ARGV`` in this process, through :func:`kit.cli.main` (the entry point's function)."""
    from kit.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Ran(code, out.getvalue(), err.getvalue())


class Cli:
    """``cli(*argv)`` runs a command in this process; ``cli.process(*argv)`` runs ``python -m kit.cli`` as a
    process of its own, for a test that needs a real exit status, a fresh interpreter or another directory."""

    def __call__(self, *argv: str) -> Ran:
        return run_cli(*argv)

    def process(self, *argv: str, cwd: str | Path | None = None, env: dict | None = None,
                timeout: float = 300) -> Ran:
        r = subprocess.run([sys.executable, "-m", "kit.cli", *argv], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=timeout)
        return Ran(r.returncode, r.stdout, r.stderr)


@pytest.fixture
def cli() -> Cli:
    """Run ``hvkit`` commands: ``cli("run", "--hardware", ...)`` in process, ``cli.process(...)`` as a process."""
    return Cli()
