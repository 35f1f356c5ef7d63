"""What a reader of notebooks 00-06 and of the five revealed-rows paper notebooks sees in their figures (issue 23,
section 1): each figure as committed is drawn to PNG by kaleido, and checked for plotly's placeholder text ("new
text"), a title, a title on every axis that shows data and on every colour bar, a unit (or a reference such as
"1.0 = native") in the title of every axis of measured numbers, title lines short enough not to be cut off at the
figure's right edge, category labels that fit (long labels on a horizontal axis are angled by plotly and squash the
plot: the revealed rows' figure had 17 of about 40 characters), rows of a categorical vertical axis at least
:data:`MIN_ROW_PX` pixels apart, and no legend inside the plot area."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from kit.ui import plots
from kit.ui.paper_plots import ROW_HEIGHT

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["00-quickstart", "01-xen-vs-kvm", "02-memory-virtualization", "03-io-paths", "04-what-if-hardware",
         "05-consolidation-and-isolation", "06-live-migration", "papers/felter-2015", "papers/turtles-2010",
         "papers/clark-2005", "papers/barham-2003-scalability", "papers/matthews-2007"]
#: The fewest pixels between two rows of a categorical vertical axis that leave its labels legible
MIN_ROW_PX = 18
#: plotly's defaults where a figure sets none: the notebooks' PNG size (kit.ui.export.PNG_SIZE) and margins
_SIZE, _MARGIN = (760, 430), {"t": 100, "b": 80, "l": 80, "r": 80}
#: Words that say what a unitless axis of numbers counts or compares to
_UNITLESS = ("(", "=", "fraction", "share", "per ", "ratio")
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
    found += _measured_axes_without_units(layout, data) + _squashed(layout, data)
    leg = layout.get("legend") or {}
    if layout.get("showlegend", True) and 0 < float(leg.get("x", 1.02)) < 1 and 0 < float(leg.get("y", 1)) < 1:
        found.append("the legend sits inside the plot area, over the data")
    for t in data:
        bar = t.get("colorbar") or (t.get("marker") or {}).get("colorbar")
        shows = t.get("type") in ("heatmap", "contour", "histogram2d") and t.get("showscale", True) \
            or (t.get("marker") or {}).get("showscale")
        if shows and not _title(bar or {}):
            found.append(f"a {t.get('type')} colour bar without a title")
    return found


def _values(data: list[dict], letter: str, ref: str) -> list:
    out = []
    for t in data:
        if t.get(f"{letter}axis", letter) == ref and isinstance(t.get(letter), list):
            out += [v for v in t[letter] if v is not None]
    return out


def _numeric(values: list) -> bool:
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _measured_axes_without_units(layout: dict, data: list[dict]) -> list[str]:
    """Axes of measured numbers (not categories, not whole-number counts) whose title names no unit."""
    found = []
    for key, axis in layout.items():
        if not key.startswith(("xaxis", "yaxis")) or not isinstance(axis, dict) or axis.get("type") == "category":
            continue
        letter, ref = key[0], key[0] + key[5:]
        vals = _values(data, letter, ref)
        counts = all(float(v).is_integer() for v in vals) if _numeric(vals) else True
        title = _title(axis)
        if _numeric(vals) and not counts and title and not any(w in title for w in _UNITLESS):
            found.append(f"{key} {title!r} names no unit")
    return found


def _squashed(layout: dict, data: list[dict]) -> list[str]:
    """Categorical axes whose labels do not fit: angled labels on a horizontal axis, rows too close on a vertical."""
    margin = {**_MARGIN, **(layout.get("margin") or {})}
    width = float(layout.get("width") or _SIZE[0]) - margin["l"] - margin["r"]
    height = float(layout.get("height") or _SIZE[1]) - margin["t"] - margin["b"]
    found = []
    for key in ("xaxis", "yaxis"):
        vals = [str(v) for v in dict.fromkeys(_values(data, key[0], key[0]))]
        if not vals or _numeric(_values(data, key[0], key[0])):
            continue
        if key == "xaxis" and sum(len(v) for v in vals) * 7 > width:
            found.append(f"{len(vals)} x labels of {sum(len(v) for v in vals)} characters do not fit {width:.0f} px: "
                         "plotly angles them and squashes the plot")
        if key == "yaxis" and height / len(vals) < MIN_ROW_PX:
            found.append(f"{len(vals)} rows in {height:.0f} px: fewer than {MIN_ROW_PX} px a row")
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
        height = (fig.get("layout") or {}).get("height") or 440  # a figure that grows with its rows keeps its height
        png = pio.to_image(go.Figure(fig), format="png", width=760, height=height)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def _revealed(ids: list[str], metric: str, unit: str, published: list[float], blind: list[float],
              model: list[float]) -> pd.DataFrame:
    """A table shaped as kit.papers.revealed.table's, by hand."""
    m = pd.Series(model)
    return pd.DataFrame({"id": ids, "row": [i.split(":", 1)[1] for i in ids], "system": "kvm",
                         "metric": [f"{metric} {k}" for k in range(len(ids))], "unit": unit, "published": published,
                         "blind_frozen": blind, "current_model": model, "current_ci_low": m - 0.01,
                         "current_ci_high": m + 0.01, "current_seeds": 3, "error_kind": "points",
                         "blind_error": 1.0, "current_error": 1.0})


@pytest.mark.parametrize("kind", ["relative", "degradation", "times"])
def test_the_revealed_rows_figure_reads_as_it_should(kind):
    """The figure of the five revealed-rows notebooks angled 17 labels of about 40 characters under the plot, cut off
    its vertical axis's title and laid its legend over the data; now: one row a line, short names, legend above."""
    n = 17 if kind == "relative" else 4
    ids = [f"felter2015:docker-nat:a-long-benchmark-name-{k}" for k in range(n)]
    if kind == "relative":
        t = _revealed(ids, "fio 4 KiB random read QD128 IOPS relative to native", "relative", [0.5] * n, [0.6] * n,
                      [0.55] * n)
    elif kind == "degradation":
        t = _revealed(ids, "well-behaved VMs' degradation beside a hog (fraction)", "relative", [0.0] * n,
                      [0.03] * n, [0.01] * n)
    else:
        t = _revealed(ids, "live migration downtime", "ms", [210.0] * n, [746.0] * n, [81.6] * n)
    fig = plots.blind_vs_published(t, title="Felter et al., An Updated Performance Comparison of Virtual Machines "
                                            "and Linux Containers: published, blind (frozen) and the current model")
    d = json.loads(fig.to_json())
    assert problems(d) == []
    layout = d["layout"]
    rows = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    assert rows / n >= ROW_HEIGHT - 1  # every row keeps its height, however many rows
    assert layout["legend"]["y"] >= 1 and layout["legend"]["yanchor"] == "bottom"  # above the plot, off the data
    words = {"relative": "1.0 = native", "degradation": "fraction", "times": "1 = published"}[kind]
    assert words in layout["xaxis"]["title"]["text"]
    assert all(tr["y"] == list(t["row"]) for tr in d["data"])  # short names on the axis ...
    assert all(f"kvm: {m}" in h for tr in d["data"] for m, h in zip(t["metric"], tr["hovertemplate"]))  # full in hover
    assert {tr["name"].split(",")[0] for tr in d["data"]} == {"published", "blind (frozen)", "current model"}


def test_the_checks_catch_the_revealed_figure_as_it_was():
    names = [f"docker (NAT): nuttcp bulk TCP, container receives {k}" for k in range(17)]
    old = go.Figure(layout={"title": "Blind, current and published", "xaxis_title": "revealed row",
                            "yaxis_title": "value as published", "height": 480,
                            "legend": {"orientation": "h", "y": 0.2, "x": 0.1}})
    old.add_bar(x=names, y=[0.5] * 17, name="published")
    found = problems(json.loads(old.to_json()))
    assert any("x labels" in p for p in found) and any("legend" in p for p in found), found
    assert any("names no unit" in p for p in found), found
