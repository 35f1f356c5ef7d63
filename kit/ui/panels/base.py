"""The panels' one base class and what they share: the controls' builders, the limits of what a panel runs, and
the error line.

A :class:`Panel` builds its arguments from its controls, calls the same function the command line calls, and hands
the result to a figure builder from :mod:`kit.ui.plots`. It has a Run button, a status line, a progress bar (shown
while runs report their simulated seconds), a figure and a table; a run cannot be started twice at once; an error
appears in the status line, never lost, and a panel never reports a number it does not have ("nan of native") or
"done" for a run whose every point failed. Under most panels, **Files** saves and loads the experiment as a spec
file (YAML or JSON, what ``hvkit run --spec FILE`` reads) and exports the last result's tables as CSV or Parquet.

A figure is shown as plotly's own output (the ``application/vnd.plotly.v1+json`` bundle JupyterLab and Voila render)
in an ``Output`` widget, replaced whole on every run. Plotly's ``FigureWidget`` is not used: anywidget gives each
widget model two seconds to load plotly's 5 MB front-end module and otherwise drops every later update to that
model, which is what left a dashboard's lower panels with empty axes in Voila.
"""
from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

from ...errors import HvkitError
from ...inputs.hardware import load_hardware
from ...inputs.spec import Spec, parse_set
from ...inputs.specfile import load_spec, save_spec, spec_from_text, spec_to_text
from ...run import report_progress
from ...stats import format_ci
from ..export import save_tables

__all__ = ["Panel", "formatted_table", "hardware_summary", "error_html", "warnings_html", "finite", "dropdown", "duration_box", "replications_box",
           "with_pi", "model_uncertainty_box",
           "with_ci", "set_pairs", "KEEP", "NONE", "MAX_DURATION_S", "MAX_REPLICATIONS", "SWEEP_MAX_DURATION_S",
           "SWEEP_MAX_RUNS"]

KEEP = "(preset)"
NONE = "(none)"
#: Longest simulated run a panel starts: the busiest workloads (memcached, redis: about 1.3 million events per
#: simulated second) take about 15 s for it with their native baseline on one core of this kind of machine
MAX_DURATION_S = 1.0
#: Most replications a panel runs per mode (each a run of up to MAX_DURATION_S)
MAX_REPLICATIONS = 10
#: Longest simulated run of one sweep point in a panel, and most runs (points x modes x replications) per sweep
SWEEP_MAX_DURATION_S = 0.1
SWEEP_MAX_RUNS = 60


def hardware_summary(hw_id: str) -> str:
    """One line of a profile's virtualization features."""
    hw = load_hardware(hw_id)
    f = hw.features
    feats = [f.hw_virt.upper() if f.hw_virt != "none" else "no HW virtualization"]
    for name, label in (("nested_paging", "EPT/NPT/stage-2"), ("tagged_tlb", "VPID/ASID"), ("apicv", "APICv/AVIC/vGIC"),
                        ("posted_interrupts", "posted interrupts"), ("vhe", "VHE"), ("sriov", "SR-IOV")):
        if getattr(f, name):
            feats.append(label)
    return (f"<b>{html.escape(hw.name)}</b> ({hw.year}, {hw.pcpus} CPUs at {hw.val('freq_ghz')} GHz): "
            + ", ".join(feats) + f"; exit round trip {hw.val('exit_roundtrip_cycles'):.0f} cycles")


def warnings_html(texts: Any, label: str = "") -> str:
    """The result-level warnings of a result (kit.results.validity) for the status line, after what it says: empty
    when there is none. ``texts`` is a list or a column of ``; ``-separated warnings (rows without any are
    skipped); ``label`` says whose they are."""
    found = [str(t) for t in (texts.fillna("") if hasattr(texts, "fillna") else texts) if t]
    if not found:
        return ""
    text = "; ".join(dict.fromkeys(found))
    return f" <span style='color:#b36b00'>warning{' (' + label + ')' if label else ''}: {html.escape(text)}</span>"


def error_html(exc: BaseException) -> str:
    """An error for the status line: a kit error's one line as it is, anything else with its type."""
    text = str(exc) if isinstance(exc, HvkitError) else f"{type(exc).__name__}: {exc}"
    return f"<span style='color:#b30000'>{html.escape(text)}</span>"


def finite(x: Any) -> bool:
    """Whether ``x`` is a finite number (False for missing values and text)."""
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False



def formatted_table(df: pd.DataFrame) -> Any:
    """A result table as a reader wants it: columns holding nothing left out, empty cells blank (never "None" or
    "nan"), numbers with at most four significant decimals and thousands separated, no positional index."""
    shown = df.loc[:, [c for c in df.columns if not df[c].isna().all()]]
    styler = shown.style.format(na_rep="", precision=4, thousands=",")
    if isinstance(shown.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    return styler

class Panel(W.VBox):
    """A panel: its controls, a Run button, a status line, a progress bar, a figure and a table; one run at a time.

    A subclass builds its controls, calls ``super().__init__(controls, kind)`` and defines ``_compute()`` (the
    work, from the controls), ``_render(result)`` (its figure and table, through :meth:`show_figure` and
    :meth:`show_table`) and, if it has more to say than "done", ``_done_message(result)``. ``kind`` names the panel
    in its CSS classes (``hvkit-panel hvkit-<kind>``: a handle for the browser test and for styling) and in the
    default file names of its Files section.
    """

    #: whether the panel's controls describe a spec that Files can save and load
    has_spec = True
    #: whether the panel has a Files section (exporting the last result; saving and loading with ``has_spec``)
    has_files = True

    def __init__(self, controls: list, kind: str, below_figure: tuple = ()) -> None:
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(self._on_click)
        self.status = W.HTML()
        #: simulated seconds done over started while runs report them (hidden otherwise)
        self.bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="", bar_style="info",
                                   layout=W.Layout(visibility="hidden", width="240px"))
        self.table = W.Output(layout=W.Layout(overflow="auto"))  # a wide table scrolls instead of being cut off
        self.fig_out = W.Output()
        self.last_figure: go.Figure | None = None
        self.busy = False
        self.last_result: Any = None
        rows = [*controls, W.HBox([self.button, self.bar, self.status]), self.fig_out, *below_figure, self.table]
        if self.has_files:
            self.files = self._files_section(kind)
            rows.append(self.files)
        super().__init__(rows)
        self.add_class("hvkit-panel")
        self.add_class(f"hvkit-{kind}")

    # -- running ---------------------------------------------------------------------------------
    def _on_click(self, _: Any = None) -> None:
        self.run()

    def run(self) -> Any:
        """Run with the current controls (ignored while a run is in progress); the result, or None on an error."""
        if self.busy:
            self.status.value = "<i>a run is already in progress</i>"
            return None
        self.busy, self.button.disabled = True, True
        self.status.value = "<i>running...</i>"
        self.bar.value = 0.0
        try:
            with report_progress(self._show_progress):
                result = self._compute()
            self.last_result = result
            self._render(result)
            self.status.value = self._done_message(result)
            return result
        except Exception as exc:  # shown, never lost
            self.status.value = error_html(exc)
        finally:
            self.busy, self.button.disabled = False, False
            self.bar.layout.visibility = "hidden"
        return None

    def _show_progress(self, done: float, total: float, label: str) -> None:
        self.bar.layout.visibility = "visible"
        fraction = done / total if total > 0 else 0.0
        if fraction >= 1.0 or fraction - self.bar.value >= 0.01:  # a widget message per percent, not per report
            self.bar.value = min(fraction, 1.0)
            self.status.value = f"<i>running {html.escape(label)}: {done:.2f} of {total:.2f} simulated s</i>"

    def _compute(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} computes nothing")

    def _render(self, result: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} shows nothing")

    def _done_message(self, result: Any) -> str:
        return "done"

    # -- showing ---------------------------------------------------------------------------------
    def show_figure(self, fig: go.Figure, out: W.Output | None = None) -> None:
        """Replace the panel's figure (or the figure in ``out``) with ``fig``: the whole figure, nothing of the
        previous one remains."""
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())
        bundle["text/plain"] = f"<figure: {fig.layout.title.text or 'untitled'}>"
        if out is None:
            self.last_figure, out = fig, self.fig_out
        out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def clear_figure(self) -> None:
        """Show no figure (a run with nothing to draw)."""
        self.last_figure = None
        self.fig_out.outputs = ()

    def current_figure(self) -> go.Figure | None:
        """The figure on show (None before the first run)."""
        return self.last_figure

    def show_table(self, df: pd.DataFrame) -> None:
        """Show ``df`` as a formatted table (:func:`formatted_table`), scrolling sideways when it is wide."""
        self.table.clear_output(wait=True)
        with self.table:
            display(formatted_table(df))

    # -- files -----------------------------------------------------------------------------------
    def _files_section(self, kind: str) -> W.Accordion:
        wide = {"description_width": "initial"}
        self.spec_path = W.Text(value=f"{kind}.yaml", description="spec file (.yaml or .json)", style=wide,
                                layout=W.Layout(width="360px"))
        self.save_button = W.Button(description="Save spec", icon="save", tooltip="write the spec to the file")
        self.load_button = W.Button(description="Load spec", icon="folder-open", tooltip="set the controls from the file")
        self.spec_text = W.Textarea(value="", placeholder="the spec as YAML or JSON: Save fills it, Apply text reads it",
                                    layout=W.Layout(width="600px", height="140px"))
        self.apply_button = W.Button(description="Apply text", icon="check", tooltip="set the controls from the text")
        self.export_path = W.Text(value=f"hvkit-{kind}", description="results file stem", style=wide,
                                  layout=W.Layout(width="360px"))
        self.csv_button = W.Button(description="Export CSV", icon="download")
        self.parquet_button = W.Button(description="Export Parquet", icon="download")
        self.files_status = W.HTML()
        self.save_button.on_click(lambda _: self._guard(self.save_spec))
        self.load_button.on_click(lambda _: self._guard(self.load_spec))
        self.apply_button.on_click(lambda _: self._guard(self.apply_text))
        self.csv_button.on_click(lambda _: self._guard(lambda: self.export("csv")))
        self.parquet_button.on_click(lambda _: self._guard(lambda: self.export("parquet")))
        rows = []
        if self.has_spec:
            rows += [W.HBox([self.spec_path, self.save_button, self.load_button]),
                     W.HBox([self.spec_text, self.apply_button])]
        rows += [W.HBox([self.export_path, self.csv_button, self.parquet_button]), self.files_status]
        acc = W.Accordion(children=[W.VBox(rows)])
        acc.set_title(0, "Files: save or load the experiment, export results" if self.has_spec else
                      "Files: export results")
        acc.selected_index = None
        return acc

    def _guard(self, action):
        try:
            self.files_status.value = html.escape(action())
        except Exception as exc:  # shown, never lost
            self.files_status.value = error_html(exc)

    def spec(self) -> Spec:
        """The spec the controls describe."""
        raise NotImplementedError(f"{type(self).__name__} has no spec")

    def apply_spec(self, spec: Spec) -> None:
        """Set the controls from ``spec``."""
        raise NotImplementedError(f"{type(self).__name__} has no spec")

    def save_spec(self) -> str:
        """Write the controls' spec to the path in ``spec_path`` and show it in ``spec_text``."""
        spec = self.spec()
        path = save_spec(spec, self.spec_path.value.strip())
        self.spec_text.value = spec_to_text(spec, "json" if path.suffix.lower() == ".json" else "yaml")
        return f"saved {path}"

    def load_spec(self) -> str:
        """Set the controls from the spec file at ``spec_path``."""
        path = self.spec_path.value.strip()
        spec = load_spec(path)
        self.apply_spec(spec)
        self.spec_text.value = spec_to_text(spec)
        return f"loaded {path}"

    def apply_text(self) -> str:
        """Set the controls from the YAML or JSON in ``spec_text``."""
        if not self.spec_text.value.strip():
            raise HvkitError("the text is empty", where="spec text", allowed="a spec as YAML or JSON")
        self.apply_spec(spec_from_text(self.spec_text.value))
        return "applied the text"

    def export(self, fmt: str) -> str:
        """Write the last result's tables as ``<stem>.<table>.<fmt>``; returns what was written."""
        if self.last_result is None:
            raise HvkitError("nothing to export yet: press Run first")
        paths = save_tables(self.last_result, self.export_path.value.strip() or "hvkit-results", fmt)
        return "wrote " + ", ".join(str(p) for p in paths)

    @staticmethod
    def _check_options(*checks) -> None:
        """``(control, value, what)`` triples: an error unless every value is offered (nothing is set)."""
        for control, value, what in checks:
            if value not in control.options:
                raise HvkitError(f"not offered by the panel's {what} list", field=what, value=value,
                                 allowed=list(control.options))


def dropdown(options, value, description, width="220px"):
    return W.Dropdown(options=options, value=value, description=description, style={"description_width": "initial"},
                      layout=W.Layout(width=width))


def duration_box(value: float, description: str, hi: float = MAX_DURATION_S, width: str = "260px") -> W.BoundedFloatText:
    return W.BoundedFloatText(value=value, min=0.0, max=hi, step=0.01, description=description,
                              style={"description_width": "initial"}, layout=W.Layout(width=width))


def replications_box() -> W.BoundedIntText:
    """Runs per mode with derived seeds: the table gives 95% intervals from Student's t (none with one)."""
    return W.BoundedIntText(value=1, min=1, max=MAX_REPLICATIONS, description="replications",
                            style={"description_width": "initial"}, layout=W.Layout(width="160px"))


def with_ci(row, col: str, ci: str, fmt: str) -> str:
    """A summary number with only the digits its 95% interval supports (``kit.stats.format_ci``); a closed form's
    is said exact, not printed as ``± 0``."""
    from ...uncertainty import EXACT_NOTE
    lo, hi = row[f"{ci}_low"], row[f"{ci}_high"]
    if row.get("ci_note") == EXACT_NOTE:
        return f"{float(row[col]):{fmt}} (exact given the parameters)"
    if finite(lo) and finite(hi):
        return format_ci(float(row[col]), (float(hi) - float(lo)) / 2)
    return f"{float(row[col]):{fmt}}"


def with_pi(row, col: str, pi: str, fmt: str) -> str:
    """A summary number's 90% prediction interval (model uncertainty) and its dominant parameters, or why it has
    none."""
    lo, hi = row.get(f"{pi}_low"), row.get(f"{pi}_high")
    if finite(lo) and finite(hi):
        return (f"90% prediction interval {float(lo):{fmt}} to {float(hi):{fmt}} (model uncertainty; dominant: "
                f"{row.get('pi_dominant') or 'none'})")
    return f"model uncertainty {row.get('pi_note') or 'not computed'}"


def model_uncertainty_box() -> W.Checkbox:
    """Whether a panel's runs give their 90% prediction intervals (model uncertainty, :mod:`kit.uncertainty`)."""
    return W.Checkbox(value=True, description="model uncertainty (90% interval)", indent=False,
                      layout=W.Layout(width="260px"))


def set_pairs(text: str, prefix: str = "", sep: str | None = None) -> list[tuple[str, str]]:
    """``key=value`` items of a text field as ``--set`` pairs (parsed by the spec's own ``parse_set``)."""
    items = [p.strip() for p in (text.split(sep) if sep else text.split())]
    return [(prefix + k, v) for k, v in (parse_set(p) for p in items if p)]
