"""Every notebook is a jupytext py:percent source paired with its .ipynb, and the two hold the same cells.

The .py is what people and tools read and edit; the .ipynb keeps the outputs nbval checks. JupyterLab (with
jupytext) and tools/execute_notebooks.sh keep them in sync; these tests fail when a commit leaves them apart.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in NOTEBOOKS.rglob(pattern) if ".ipynb_checkpoints" not in p.parts)


IPYNB = _files("*.ipynb")
SOURCES = _files("*.py")


def _id(p: Path) -> str:
    return str(p.relative_to(NOTEBOOKS))


def cell_differences(source: Path, ipynb: Path) -> list[str]:
    """What differs between a py:percent source and its .ipynb: cell types and sources, not outputs or metadata."""
    a = [(c.cell_type, c.source) for c in jupytext.read(source).cells]
    b = [(c.cell_type, c.source) for c in jupytext.read(ipynb).cells]
    out = [f"cell {i}: {ca[0]} {ca[1][:60]!r} in {source.name}, {cb[0]} {cb[1][:60]!r} in {ipynb.name}"
           for i, (ca, cb) in enumerate(zip(a, b)) if ca != cb]
    if len(a) != len(b):
        out.append(f"{len(a)} cells in {source.name}, {len(b)} in {ipynb.name}")
    return out


def test_there_are_notebooks():
    assert len(IPYNB) >= 11 and len(SOURCES) == len(IPYNB)


@pytest.mark.parametrize("ipynb", IPYNB, ids=_id)
def test_every_ipynb_has_its_source(ipynb):
    assert ipynb.with_suffix(".py").is_file(), f"{_id(ipynb)} has no py:percent source; run jupytext --sync on it"


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_every_source_is_a_paired_notebook(source):
    assert source.read_text().lstrip().startswith("# %%"), f"{_id(source)} is not a py:percent notebook"
    assert source.with_suffix(".ipynb").is_file(), (
        f"{_id(source)} has no .ipynb; create and execute it with tools/execute_notebooks.sh {_id(source)}")


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_source_and_ipynb_hold_the_same_cells(source):
    ipynb = source.with_suffix(".ipynb")
    if not ipynb.is_file():
        pytest.fail(f"{_id(source)} has no .ipynb")
    diff = cell_differences(source, ipynb)
    assert not diff, (f"{_id(source)} and its .ipynb disagree (sync with tools/execute_notebooks.sh "
                      f"{_id(source)}, or jupytext --sync):\n" + "\n".join(diff))


def test_the_check_sees_an_edit_made_on_one_side(tmp_path):
    src = NOTEBOOKS / "00-quickstart.py"
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(src.with_suffix(".ipynb"), tmp_path / "00-quickstart.ipynb")
    py, ipynb = tmp_path / src.name, tmp_path / "00-quickstart.ipynb"
    assert cell_differences(py, ipynb) == []

    nb = nbformat.read(ipynb, as_version=4)
    k = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[k].source += "\nextra = 1"  # an edit made in JupyterLab without jupytext
    nbformat.write(nb, ipynb)
    diff = cell_differences(py, ipynb)
    assert len(diff) == 1 and diff[0].startswith(f"cell {k}:")

    nb.cells[k].source = nb.cells[k].source.removesuffix("\nextra = 1")
    nb.cells.append(nbformat.v4.new_markdown_cell("a cell only the .ipynb has"))
    nbformat.write(nb, ipynb)
    assert cell_differences(py, ipynb) == [f"{len(nb.cells) - 1} cells in {py.name}, {len(nb.cells)} in {ipynb.name}"]


def test_markdown_cells_stay_markdown_in_the_source():
    text = (NOTEBOOKS / "01-xen-vs-kvm.py").read_text()
    nb = jupytext.read(NOTEBOOKS / "01-xen-vs-kvm.ipynb")
    assert text.count("# %% [markdown]") == sum(c.cell_type == "markdown" for c in nb.cells)


def test_pairing_is_configured_for_jupyterlab_and_the_command_line():
    # The config file sits in notebooks/ because `hvkit lab` serves that folder and jupytext's contents manager
    # looks for its configuration only inside the served tree.
    path = find_jupytext_configuration_file(str(NOTEBOOKS / "papers"))
    assert path is not None and Path(path).parent == NOTEBOOKS
    config = load_jupytext_configuration_file(path)
    for nb in (NOTEBOOKS / "01-xen-vs-kvm.ipynb", NOTEBOOKS / "papers" / "dall-2016-arm.py"):
        assert set(config.default_formats(str(nb)).split(",")) == {"ipynb", "py:percent"}
