"""The documentation builds, its generated pages equal their generators, and every recipe runs."""
import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "docs" / "recipes.md"


def test_the_format_reference_is_generated_from_the_validation_models():
    from kit.inputs.format_reference import format_reference
    committed = (ROOT / "docs" / "formats.md").read_text()
    assert committed == format_reference(), "regenerate: python -c \"from kit.inputs.format_reference import format_reference; " \
                                            "open('docs/formats.md', 'w').write(format_reference())\""


def test_every_field_of_every_format_is_documented_with_a_meaning():
    from kit.inputs.hardware import Features, Hardware, Params, Quantity
    from kit.inputs.spec import Spec
    from kit.inputs.workloads import Params as WParams
    from kit.inputs.workloads import PerUnit, Workload
    from kit.inputs.sweepfile import SweepFile
    from kit.inputs.hardware import PARAM_DOCS
    for model in (Features, Hardware, Quantity, Spec, WParams, PerUnit, Workload, SweepFile):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name}"
    assert set(PARAM_DOCS) == set(Params.model_fields)


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """mkdocs with mkdocstrings: the API reference and every page build without a warning."""
    pytest.importorskip("mkdocs")
    # not quiet: "-q" hides the warnings and with them what --strict counts
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "WARNING" not in r.stdout + r.stderr, r.stdout + r.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "with_sets" in api and "compare" in api
    text = html.unescape(re.sub(r"<[^>]+>", " ", api))
    assert not re.findall(r":(?:func|class|data|mod|meth|attr|exc):`", text), "raw Sphinx roles on the API page"
    # each documented default is the signature's (save_figures: width 900, height 520, scale 2.0)
    fig = text[text.index("Width in CSS pixels"):]
    assert re.match(r"Width in CSS pixels\.\s+900\s+height\s+int\s+Height in CSS pixels\.\s+520\s+scale\s+"
                    r"float\s+Raster scale[^.]*\.\s+2\.0", fig), fig[:300]
    # every Spec field described on its own
    spec = text[text.index("knobs of one run"):text.index("Overrides of workload parameters")]
    fields = re.findall(r"\n\s+(\w+)\s+\n\s+(?:str|int|float|bool|tuple)", spec)
    assert {"hardware", "hypervisor", "workload", "vcpus", "seed", "precision", "params"} <= set(fields), fields


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", RECIPES.read_text(), re.S)


def _commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip() and not line.startswith("#")]


#: recipe steps that replicate or sweep take seconds each: left out of the fast tier (the full run runs them all)
def _slow_if(heavy: bool, value):
    return pytest.param(value, marks=pytest.mark.slow) if heavy else value


@pytest.mark.parametrize("command", [_slow_if("--replications" in c, c) for b in _blocks("bash") for c in _commands(b)],
                         ids=lambda c: " ".join(c[1:4]))
def test_every_recipe_command_runs(command, cli):
    assert command[0] == "hvkit"
    cli(*command[1:]).ok()


@pytest.mark.parametrize("block", [_slow_if("sweep(" in b, b) for b in _blocks("python")],
                         ids=lambda b: b.splitlines()[-1][:40])
def test_every_recipe_python_block_runs(block, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out.html"
    code = block.replace('"exit-latency.html"', repr(str(out)))
    exec(compile(code, str(RECIPES), "exec"), {})
