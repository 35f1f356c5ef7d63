"""The install routes agree, and CI runs the README's own test command."""
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> tuple[str, str]:
    name = re.split(r"[<>=!~ ]", req, maxsplit=1)[0].strip().lower()
    return name, req[len(name):].replace(" ", "")


#: conda-forge names of the packages whose PyPI name differs (kaleido 1.x is python-kaleido there)
CONDA_NAMES = {"python-kaleido": "kaleido"}


def test_environment_yml_agrees_with_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = dict(_norm(r) for r in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {CONDA_NAMES.get(n, n): v for n, v in (_norm(d) for d in env["dependencies"] if isinstance(d, str))
             if n not in ("python", "pip")}
    assert conda == wanted
    assert "conda-forge" in env["channels"]


def test_ci_runs_the_readme_test_command():
    """.ci/run runs the README's full test command, everything; the README's fast tier is the same pytest command
    with ``-m "not slow"``."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines()
                if "pytest" in line and not line.startswith("#")]
    full = [cmd for cmd in commands if "-m " not in cmd.split("pytest", 1)[1]]
    fast = [cmd for cmd in commands if cmd not in full]
    assert len(full) == 1, f"README has no single full test command: {commands}"
    assert full[0] in ci
    assert "not slow" not in ci  # CI runs everything
    pytest_part = full[0].split("&&")[-1].strip()
    assert fast == [f'{pytest_part} -m "not slow"'], fast
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
    if shutil.which("ruff") is None:
        try:
            import ruff  # noqa: F401
        except ImportError:
            pytest.skip("ruff is not installed")
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "kit", "tests", "bench", "tools", "notebooks"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_a_wheel_carries_the_catalogues_and_runs_from_elsewhere(tmp_path, cli):
    """pip install of the built wheel (not editable): the profiles, workloads and published data travel inside the
    package and are found through it, from a directory that is not the checkout."""
    import os
    import subprocess
    import sys
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    wheel = next(wheels.glob("hvkit-*.whl"))
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (site / "kit" / "_data" / "hw_profiles" / "skylake-sp-2017.yaml").exists()
    assert (site / "kit" / "_data" / "examples" / "my-cpu.yaml").exists()  # the recipes' example paths
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HVKIT_ROOT")}
    env["PYTHONPATH"] = str(site)
    probe = ("import kit, sys; from kit.inputs.files import project_root; "
             "sys.stdout.write(kit.__file__ + '\\n' + str(project_root()) + '\\n')")
    r = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True)
    kit_file, root = r.stdout.split()
    assert kit_file.startswith(str(site)) and root == str(site / "kit" / "_data"), r.stdout + r.stderr
    cli.process("examples", "ex", cwd=elsewhere, env=env).ok()
    cli.process("show", "hardware", "ex/my-cpu.yaml", cwd=elsewhere, env=env).ok()
    for argv in (["validate"], ["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload",
                                "spec-int", "--duration", "0.1", "--json"]):
        cli.process(*argv, cwd=elsewhere, env=env).ok()


@pytest.mark.slow
def test_the_type_checker_passes():
    """mypy (pydantic plugin) over kit/, strict on the public API (see [tool.mypy] in pyproject.toml)."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def test_hvkit_examples_copies_the_example_files_and_never_replaces_silently(tmp_path, capsys):
    from kit.cli import main
    assert main(["examples", str(tmp_path / "ex")]) == 0
    copied = sorted(p.name for p in (tmp_path / "ex").iterdir())
    assert copied == sorted(p.name for p in (ROOT / "examples").glob("*.yaml")) and "my-cpu.yaml" in copied
    assert (tmp_path / "ex" / "my-cpu.yaml").read_bytes() == (ROOT / "examples" / "my-cpu.yaml").read_bytes()
    assert main(["show", "hardware", str(tmp_path / "ex" / "my-cpu.yaml")]) == 0
    capsys.readouterr()
    assert main(["examples", str(tmp_path / "ex")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--force" in err
    assert main(["examples", str(tmp_path / "ex"), "--force"]) == 0
    assert 'examples" = "kit/_data/examples"' in (ROOT / "pyproject.toml").read_text()  # shipped in the wheel
