"""What a reader of notebooks 00-05 sees in their figures (issue 23, section 1): each figure as committed is drawn
to PNG by kaleido, and checked for plotly's placeholder text ("new text"), a title, a title on every axis that
shows data and on every colour bar, and title lines short enough not to be cut off at the figure's right edge."""
from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from kit.ui import plots

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["00-quickstart", "01-xen-vs-kvm", "02-memory-virtualization", "03-io-paths", "04-what-if-hardware",
         "05-consolidation-and-isolation"]
PLACEHOLDERS = ("new text", "click to enter", "trace 0")


def figures(name: str) -> list[tuple[int, dict]]:
    """Every plotly figure a notebook's committed outputs hold, with its cell's index."""
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    return [(i, o["data"]["application/vnd.plotly.v1+json"]) for i, c in enumerate(cells)
            for o in c.get("outputs", []) if "application/vnd.plotly.v1+json" in o.get("data", {})]


def _texts(layout: dict) -> list[str]:
    out = [str((layout.get("title") or {}).get("text") or "")]
    out += [str(a.get("text") or "") for a in layout.get("annotations", [])]
    out += [str((v.get("title") or {}).get("text") or "") for k, v in layout.items()
            if k.startswith(("xaxis", "yaxis")) and isinstance(v, dict)]
    return out


def _title(obj: dict) -> str:
    t = obj.get("title") or {}
    return str(t.get("text") or "") if isinstance(t, dict) else str(t)


def problems(fig: dict) -> list[str]:
    """What a reader would miss or misread in ``fig`` (an empty list when nothing)."""
    layout, data = fig.get("layout", {}), fig.get("data", [])
    found = [f"placeholder text {t!r}" for t in _texts(layout) if any(p in t.lower() for p in PLACEHOLDERS)]
    title = _title(layout)
    if not title:
        found.append("no title")
    found += [f"title line of {len(line)} characters is cut off: {line!r}" for line in title.split("<br>")
              if len(line) > plots.TITLE_LINE + 6]
    used = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in data if t.get("type", "scatter") not in ("pie",)
            and not t.get("type", "").endswith(("polar", "geo", "3d"))}
    for xa, ya in used:
        for ref, letter in ((xa, "x"), (ya, "y")):
            axis = layout.get(f"{letter}axis{ref[1:]}", {})
            if axis.get("visible", True) and not _title(axis):
                found.append(f"{letter}axis{ref[1:]} without a title")
    for t in data:
        bar = t.get("colorbar") or (t.get("marker") or {}).get("colorbar")
        shows = t.get("type") in ("heatmap", "contour", "histogram2d") and t.get("showscale", True) \
            or (t.get("marker") or {}).get("showscale")
        if shows and not _title(bar or {}):
            found.append(f"a {t.get('type')} colour bar without a title")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_committed_figure_reads_as_it_should(name):
    figs = figures(name)
    assert figs, f"{name} has no figure"
    bad = {cell: problems(fig) for cell, fig in figs if problems(fig)}
    assert not bad, f"{name}: {bad}"


def test_the_checks_catch_what_issue_23_found():
    fig = go.Figure(go.Heatmap(z=[[1, -1]]))
    fig.add_annotation(text="new text", x=0, y=0)
    found = problems(json.loads(fig.to_json()))
    assert any("placeholder" in p for p in found) and "no title" in found
    assert any("colour bar without a title" in p for p in found) and any("xaxis without" in p for p in found)
    long = go.Figure(go.Bar(x=[1], y=[1]), layout={"title": "x" * 120, "xaxis_title": "a", "yaxis_title": "b"})
    assert any("cut off" in p for p in problems(json.loads(long.to_json())))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_committed_figure_draws_to_png(name):
    for _, fig in figures(name):
        png = pio.to_image(go.Figure(fig), format="png", width=760, height=440)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
