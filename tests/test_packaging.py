"""The install routes agree, and CI runs the README's own test command."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> tuple[str, str]:
    name = re.split(r"[<>=!~ ]", req, maxsplit=1)[0].strip().lower()
    return name, req[len(name):].replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = dict(_norm(r) for r in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_norm(d) for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip")))
    assert conda == wanted
    assert "conda-forge" in env["channels"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    commands = [line for b in blocks for line in b.splitlines() if "pytest" in line and not line.startswith("#")]
    assert commands, "README has no test command"
    assert any(cmd.strip() in ci for cmd in commands)
    assert "passed" in ci  # fails when no test ran


def test_console_script_declared():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["project"]["scripts"]["hvkit"] == "kit.cli:main"
    assert py["project"]["name"] == "hvkit"


def test_library_code_does_not_print_and_has_no_unused_names():
    """ruff: T20 (no print outside the command-line modules and notebooks) and pyflakes' F rules."""
    import shutil
    import subprocess
    import sys
    import pytest
    if shutil.which("ruff") is None:
        try:
            import ruff  # noqa: F401
        except ImportError:
            pytest.skip("ruff is not installed")
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "kit", "tests", "bench", "tools", "notebooks"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
