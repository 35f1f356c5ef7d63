"""Figures and tables out of the kit: image files for a paper, result tables as CSV or Parquet, and the
renderer the notebooks use.

Static images come from plotly's ``write_image``, which needs kaleido (a dependency). Kaleido 1.x draws with a
Chrome or Chromium it finds on ``PATH`` (Debian's ``chromium`` package, the browser the browser test already uses)
or at ``$BROWSER_PATH``; it downloads nothing. A committed notebook carries each figure twice: plotly's JSON (what
JupyterLab and Voila draw, and what nbval compares) and a PNG for viewers that cannot run plotly.js (GitHub,
nbviewer). nbval skips ``image/png`` outputs, so the PNG is there for readers and the JSON stays the checked truth.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..errors import HvkitError
from ..inputs.files import check_writable, write_file

__all__ = ["IMAGE_FORMATS", "TABLE_FORMATS", "STATIC_ENV", "PNG_SIZE", "save_figures", "result_tables",
           "save_tables", "notebook_renderer", "PNG_RENDERER"]

#: Image formats :func:`save_figures` writes
IMAGE_FORMATS = ("png", "svg", "pdf", "jpeg", "webp")
#: Table formats :func:`save_tables` writes
TABLE_FORMATS = ("csv", "parquet")
#: Set to 1 to give a notebook's figures a PNG beside their JSON (``tools/execute_notebooks.sh`` sets it)
STATIC_ENV = "HVKIT_NOTEBOOK_PNG"
#: Pixel size of a notebook's static PNG (scale 1): about 30-80 KB for the kit's figures
PNG_SIZE = (760, 430)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return s[:80] or "figure"


def save_figures(figures: Mapping[str, go.Figure] | Sequence[go.Figure], folder: str | os.PathLike,
                 formats: Iterable[str] = ("png", "svg", "pdf"), width: int = 900, height: int = 520,
                 scale: float = 2.0) -> list[Path]:
    """Write a figure set for a paper: every figure in every format, in one browser session.

    Parameters
    ----------
    figures : mapping of name to figure, or a sequence of figures
        A sequence is named after each figure's title (``figure-1`` when untitled).
    folder : path
        Created when missing; files are ``<folder>/<name>.<format>``.
    formats : iterable of str
        Any of :data:`IMAGE_FORMATS`.
    width : int
        Width in CSS pixels.
    height : int
        Height in CSS pixels.
    scale : float
        Raster scale (PNG, JPEG, WebP; SVG and PDF are vector).

    Returns
    -------
    list of Path
        The files written, in the order of ``figures`` then ``formats``.
    """
    fmts = [f.lower().lstrip(".") for f in formats]
    bad = [f for f in fmts if f not in IMAGE_FORMATS]
    if bad or not fmts:
        raise HvkitError("unknown image format", field="formats", value=bad[0] if bad else "", allowed=IMAGE_FORMATS)
    if isinstance(figures, Mapping):
        named = [(_slug(str(k)), f) for k, f in figures.items()]
    else:
        named = []
        for i, f in enumerate(figures, 1):
            title = f.layout.title.text if f.layout.title and f.layout.title.text else f"figure-{i}"
            named.append((_slug(title), f))
    names = [n for n, _ in named]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise HvkitError("two figures would get the same file name", field="figures", value=dup[0],
                         allowed="distinct names (pass a mapping of name to figure)")
    for _, f in named:
        if not isinstance(f, go.Figure):
            raise HvkitError("not a plotly figure", field="figures", value=type(f).__name__, allowed="go.Figure")
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HvkitError(f"cannot create the folder: {exc.strerror}", where=str(out)) from None
    paths = [check_writable(out / f"{n}.{fmt}") for n, _ in named for fmt in fmts]  # never through a link
    figs = [f for _, f in named for _ in fmts]
    # kaleido writes fresh temporary names of the same format, renamed over the targets (a link planted at a
    # target meanwhile is replaced, not followed)
    tmps = [p.with_name(f".{secrets.token_hex(8)}.{p.name}") for p in paths]
    try:
        pio.write_images(figs, tmps, width=width, height=height, scale=scale)
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    except (ImportError, ValueError, RuntimeError) as exc:
        raise HvkitError(f"static export failed: {' '.join(str(exc).split())[:300]}", where=str(out),
                         allowed="pip install kaleido, and Chrome or Chromium on PATH or at $BROWSER_PATH") from None
    except OSError as exc:
        raise HvkitError(f"cannot write: {exc.strerror}", where=str(out)) from None
    finally:
        for tmp in tmps:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return paths


def result_tables(result: Any) -> dict[str, pd.DataFrame]:
    """The tables of a result (a :class:`~kit.results.Result`, or one DataFrame such as a sweep's) by name."""
    if isinstance(result, pd.DataFrame):
        return {"table": result}
    names = ("summary", "breakdown", "exits", "latency", "vms", "timeline")
    tables = {n: getattr(result, n) for n in names if isinstance(getattr(result, n, None), pd.DataFrame)}
    if not tables:
        raise HvkitError("nothing to export", value=type(result).__name__, allowed="a Result or a DataFrame")
    return {n: t for n, t in tables.items() if n == "summary" or len(t)}


def _portable(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding lists or dicts (a microbenchmark's path) as JSON text, so Parquet and CSV agree."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, (list, dict, tuple))).any():
            out[c] = out[c].map(lambda v: json.dumps(v, default=str) if isinstance(v, (list, dict, tuple)) else v)
    return out


def save_tables(result: Any, stem: str | os.PathLike, fmt: str = "csv") -> list[Path]:
    """Write a result's tables as ``<stem>.<table>.<fmt>`` (one DataFrame: ``<stem>.<fmt>``).

    ``fmt`` is ``csv`` or ``parquet``. Returns the files written.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise HvkitError("unknown table format", field="format", value=fmt, allowed=TABLE_FORMATS)
    stem = Path(stem)
    if stem.suffix.lower().lstrip(".") in TABLE_FORMATS:
        stem = stem.with_suffix("")
    tables = result_tables(result)
    paths = [stem.parent / (f"{stem.name}.{fmt}" if name == "table" else f"{stem.name}.{name}.{fmt}")
             for name in tables]
    for path in paths:  # every target checked before any is written
        check_writable(path)
    for path, df in zip(paths, tables.values()):
        portable = _portable(df)
        def writer(fh: Any, d: pd.DataFrame = portable) -> None:
            if fmt == "csv":
                d.to_csv(fh, index=False)
            else:
                d.to_parquet(fh, index=False)
        write_file(path, writer)
    return paths


class _SizedPng(pio.base_renderers.PngRenderer):
    """plotly's PNG renderer at :data:`PNG_SIZE`, except that a figure which sets its own height (one that grows
    with its rows, :func:`kit.ui.plots.blind_vs_published`) is drawn at that height rather than squashed."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        own = (fig_dict.get("layout") or {}).get("height")
        sized = type(self)(width=self.width, height=int(own) if own else self.height, scale=self.scale)
        return pio.base_renderers.PngRenderer.to_mimebundle(sized, fig_dict)


#: The renderer name of :class:`_SizedPng`
PNG_RENDERER = "hvkit_png"


def notebook_renderer(static: bool | None = None) -> str:
    """Set plotly's default renderer for a notebook and return its name.

    Figures go out as plotly's JSON (JupyterLab, Voila and nbval read it). With ``static`` (default: the
    environment variable :data:`STATIC_ENV` is ``1``) each also carries a PNG of :data:`PNG_SIZE` (or of the
    figure's own height, when it sets one), so a committed notebook shows its figures where plotly.js does not run
    (GitHub, nbviewer).
    """
    if static is None:
        static = os.environ.get(STATIC_ENV, "") == "1"
    name = "plotly_mimetype"
    if static:
        pio.renderers[PNG_RENDERER] = _SizedPng(width=PNG_SIZE[0], height=PNG_SIZE[1], scale=1)
        name = f"plotly_mimetype+{PNG_RENDERER}"
    pio.renderers.default = name
    return name
