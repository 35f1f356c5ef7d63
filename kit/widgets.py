"""Widget panels: thin ipywidgets composites over run, compare, microbench and sweep.

Each panel builds a :class:`kit.Spec` (or the arguments of ``compare`` /
``microbench`` / ``sweep``) from its controls, through the spec's one ``--set``
language (:meth:`kit.Spec.with_sets`), calls the same function the command line
calls, and hands the result to a figure builder from :mod:`kit.plots`. A run
cannot be started twice at once; errors appear in the panel as a message, and a
panel never reports a number it does not have ("nan of native") or "done" for a
run whose every point failed. Duration and size controls are bounded to what
answers in seconds (:data:`MAX_DURATION_S`, :data:`SWEEP_MAX_RUNS`); longer work
belongs in ``hvkit run`` or a sweep. Under each panel, **Files** saves and loads
the experiment as a spec file (YAML or JSON, what ``hvkit run --spec FILE``
reads) and exports the last result's tables as CSV or Parquet. A figure is shown as plotly's own output (the
``application/vnd.plotly.v1+json`` bundle JupyterLab and Voila render) in an
``Output`` widget, replaced whole on every run. Plotly's ``FigureWidget`` is not
used: anywidget gives each widget model two seconds to load plotly's 5 MB
front-end module and otherwise drops every later update to that model, which
is what left a dashboard's lower panels with empty axes in Voila.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

from . import plots
from .errors import HvkitError
from .export import save_tables
from .inputs.hardware import list_hardware, load_hardware
from .costs.microbench import microbench
from .inputs.modes import PARTS, list_hypervisors
from .costs.ops import list_ops
from .run import compare, report_progress
from .stats import format_ci
from .inputs.spec import Spec, format_value, parse_set
from .inputs.specfile import load_spec, save_spec, spec_from_text, spec_to_text
from .inputs.workloads import list_workloads
from .ui.progress import terminal_bar

__all__ = ["ExperimentPanel", "ComparePanel", "MicrobenchPanel", "SweepPanel", "CrossoverPanel", "hardware_summary",
           "MAX_DURATION_S", "SWEEP_MAX_DURATION_S", "SWEEP_MAX_RUNS"]

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


def _error_html(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, HvkitError) else f"{type(exc).__name__}: {exc}"
    return f"<span style='color:#b30000'>{html.escape(text)}</span>"


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


class _Panel(W.VBox):
    """Shared machinery: a Run button, a status line, a figure, a table, one run at a time, and the Files section
    (the experiment as a spec file, the last result as CSV or Parquet)."""

    #: whether the panel's controls describe a spec that Files can save and load
    has_spec = True

    def __init__(self, controls: list, kind: str):
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(self._on_click)
        self.status = W.HTML()
        #: simulated seconds done over started while a run or compare is under way (hidden otherwise)
        self.bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="", bar_style="info",
                                   layout=W.Layout(visibility="hidden", width="240px"))
        self.table = W.Output()
        self.fig_out = W.Output()
        self.last_figure: go.Figure | None = None
        self.busy = False
        self.last_result = None
        self.files = self._files_section(kind)
        super().__init__([*controls, W.HBox([self.button, self.bar, self.status]), self.fig_out, self.table,
                          self.files])
        self.add_class("hvkit-panel")
        self.add_class(f"hvkit-{kind}")  # a handle for the browser test and for styling

    # -- running ---------------------------------------------------------------------------------
    def _on_click(self, _=None):
        self.run()

    def run(self):
        """Run with the current controls (ignored while a run is in progress)."""
        if self.busy:
            self.status.value = "<i>a run is already in progress</i>"
            return None
        self.busy, self.button.disabled = True, True
        self.status.value = "<i>running...</i>"
        self.bar.value, self.bar.layout.visibility = 0.0, "visible"
        try:
            with report_progress(self._show_progress):
                result = self._compute()
            self.last_result = result
            self._render(result)
            self.status.value = self._done_message(result)
            return result
        except Exception as exc:  # shown, never lost
            self.status.value = _error_html(exc)
        finally:
            self.busy, self.button.disabled = False, False
            self.bar.layout.visibility = "hidden"
        return None

    def _show_progress(self, done: float, total: float, label: str) -> None:
        fraction = done / total if total > 0 else 0.0
        if fraction >= 1.0 or fraction - self.bar.value >= 0.01:  # a widget message per percent, not per report
            self.bar.value = min(fraction, 1.0)
            self.status.value = f"<i>running {html.escape(label)}: {done:.2f} of {total:.2f} simulated s</i>"

    def show_figure(self, fig: go.Figure) -> None:
        """Replace the panel's figure with ``fig`` (the whole figure: nothing of the previous one remains)."""
        self.last_figure = fig
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())
        bundle["text/plain"] = f"<figure: {fig.layout.title.text or 'untitled'}>"
        self.fig_out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def current_figure(self) -> go.Figure | None:
        """The figure on show (None before the first run)."""
        return self.last_figure

    def show_table(self, df: pd.DataFrame) -> None:
        self.table.clear_output(wait=True)
        with self.table:
            display(df)

    def _done_message(self, result) -> str:
        return "done"

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
            self.files_status.value = _error_html(exc)

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


def _dd(options, value, description, width="220px"):
    return W.Dropdown(options=options, value=value, description=description, style={"description_width": "initial"},
                      layout=W.Layout(width=width))


def _duration(value: float, description: str, hi: float = MAX_DURATION_S, width: str = "260px") -> W.BoundedFloatText:
    return W.BoundedFloatText(value=value, min=0.0, max=hi, step=0.01, description=description,
                              style={"description_width": "initial"}, layout=W.Layout(width=width))


def _replications() -> W.BoundedIntText:
    """Runs per mode with derived seeds: the table gives 95% intervals from Student's t (none with one)."""
    return W.BoundedIntText(value=1, min=1, max=MAX_REPLICATIONS, description="replications",
                            style={"description_width": "initial"}, layout=W.Layout(width="160px"))


def _with_ci(row, col: str, ci: str, fmt: str) -> str:
    """A summary number with only the digits its 95% interval supports (``kit.stats.format_ci``)."""
    lo, hi = row[f"{ci}_low"], row[f"{ci}_high"]
    if _finite(lo) and _finite(hi):
        return format_ci(float(row[col]), (float(hi) - float(lo)) / 2)
    return f"{float(row[col]):{fmt}}"


def _pairs(text: str, prefix: str = "", sep: str | None = None) -> list[tuple[str, str]]:
    """``key=value`` items of a text field as ``--set`` pairs (parsed by the spec's own ``parse_set``)."""
    items = [p.strip() for p in (text.split(sep) if sep else text.split())]
    return [(prefix + k, v) for k, v in (parse_set(p) for p in items if p)]


class ExperimentPanel(_Panel):
    """Configure one hypervisor mode, run one workload, see where the time goes against native.

    Besides the mode and its parts: the host's physical CPUs, a noisy neighbour VM (its workload and vCPUs), the
    VMs' scheduler weights and caps, and any other ``--set`` pair.
    """

    def __init__(self, hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr"):
        wide = {"description_width": "initial"}
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.hw_info = W.HTML(hardware_summary(hardware))
        self.hypervisor = _dd(list(list_hypervisors()), hypervisor, "hypervisor")
        self.overrides = {k: _dd([KEEP] + list(PARTS[k]), KEEP, k, "200px")
                          for k in ("memory", "io", "interrupts", "scheduler", "guest_page", "host_page")}
        workloads = [w.id for w in list_workloads()]
        self.workload = _dd(workloads, workload, "workload")
        self.params = W.Text(value="", description="workload params", placeholder="mtu=500, direction=rx",
                             style=wide, continuous_update=False)
        self.vcpus = W.IntSlider(value=1, min=1, max=16, description="vCPUs", continuous_update=False)
        self.vms = W.IntSlider(value=1, min=1, max=8, description="VMs", continuous_update=False)
        self.pcpus = W.BoundedIntText(value=0, min=0, max=64, description="physical CPUs (0 = the profile's)",
                                      style=wide, layout=W.Layout(width="260px"))
        self.weights = W.Text(value="", description="weights", placeholder="one per VM: 256,512", style=wide,
                              layout=W.Layout(width="220px"), continuous_update=False)
        self.caps = W.Text(value="", description="caps (%)", placeholder="one per VM, 0 = none: 50,0", style=wide,
                           layout=W.Layout(width="220px"), continuous_update=False)
        self.neighbor = _dd([NONE] + workloads, NONE, "neighbour VM")
        self.neighbor_vcpus = W.BoundedIntText(value=1, min=1, max=16, description="its vCPUs", style=wide,
                                               layout=W.Layout(width="140px"))
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.replications = _replications()
        self.duration = _duration(0.0, f"duration (s, 0 = default, at most {MAX_DURATION_S:g})")
        self.sets = W.Text(value="", description="more --set", placeholder="hw.exit_roundtrip_cycles=300 pin=true",
                           style=wide, layout=W.Layout(width="420px"), continuous_update=False)
        self.hardware.observe(lambda ch: setattr(self.hw_info, "value", hardware_summary(ch["new"])), "value")
        controls = [W.HBox([self.hardware, self.hw_info]), W.HBox([self.hypervisor, self.workload, self.params]),
                    W.HBox(list(self.overrides.values())[:3]), W.HBox(list(self.overrides.values())[3:]),
                    W.HBox([self.vcpus, self.vms, self.pcpus]),
                    W.HBox([self.weights, self.caps, self.neighbor, self.neighbor_vcpus]),
                    W.HBox([self.seed, self.replications, self.duration, self.sets])]
        super().__init__(controls, "experiment")

    def spec(self) -> Spec:
        """The spec the controls describe (built through the ``--set`` language)."""
        mode = {k: w.value for k, w in self.overrides.items() if w.value != KEEP}
        spec = Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value, workload=self.workload.value,
                         vcpus=self.vcpus.value, vms=self.vms.value, seed=self.seed.value,
                         duration=self.duration.value or None, mode=mode)
        pairs: list[tuple[str, object]] = []
        if self.pcpus.value:
            pairs.append(("pcpus", self.pcpus.value))
        if self.neighbor.value != NONE:
            pairs += [("neighbor", self.neighbor.value), ("neighbor_vcpus", self.neighbor_vcpus.value)]
        for key, control in (("weights", self.weights), ("caps", self.caps)):
            if control.value.strip():
                pairs.append((key, control.value.strip()))
        pairs += _pairs(self.params.value, "workload.", sep=",") + _pairs(self.sets.value)
        return spec.with_sets(pairs)

    def apply_spec(self, spec: Spec) -> None:
        """Set every control from ``spec``; hardware overrides and other keys without a control go to ``more --set``."""
        mode = dict(spec.mode)
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.hypervisor, spec.hypervisor, "hypervisor"),
                            (self.workload, spec.workload, "workload"),
                            *((c, mode.get(k, KEEP), k) for k, c in self.overrides.items()),
                            *(((self.neighbor, spec.neighbor, "neighbour VM"),) if spec.neighbor else ()))
        for value, control, what in ((spec.vcpus, self.vcpus, "vcpus"), (spec.vms, self.vms, "vms"),
                                     (spec.pcpus or 0, self.pcpus, "pcpus"),
                                     (spec.neighbor_vcpus, self.neighbor_vcpus, "neighbor_vcpus")):
            if not control.min <= value <= control.max:
                raise HvkitError("more than the panel offers; run it with hvkit run --spec FILE", field=what,
                                 value=value, allowed=f"{control.min} to {control.max}")
        if spec.duration is not None and spec.duration > MAX_DURATION_S:
            raise HvkitError("longer than the panel runs; run it with hvkit run --spec FILE", field="duration",
                             value=spec.duration, allowed=f"at most {MAX_DURATION_S:g} s")
        self.hardware.value, self.hypervisor.value, self.workload.value = spec.hardware, spec.hypervisor, spec.workload
        for k, control in self.overrides.items():
            control.value = mode.pop(k, KEEP)
        extra = [f"{k}={format_value(v)}" for k, v in mode.items()]  # mode switches (shadow_cache)
        extra += [f"hw.{k}={format_value(v)}" for k, v in spec.hw]
        if spec.pin:
            extra.append("pin=true")
        if spec.dom0_vcpus != 1:
            extra.append(f"dom0_vcpus={spec.dom0_vcpus}")
        self.vcpus.value, self.vms.value, self.seed.value = spec.vcpus, spec.vms, spec.seed
        self.duration.value = spec.duration or 0.0
        self.pcpus.value = spec.pcpus or 0
        self.neighbor.value = spec.neighbor or NONE
        self.neighbor_vcpus.value = spec.neighbor_vcpus
        self.weights.value = ",".join(map(str, spec.weights)) if spec.weights else ""
        self.caps.value = ",".join(map(str, spec.caps)) if spec.caps else ""
        self.params.value = ", ".join(f"{k}={format_value(v)}" for k, v in spec.params)
        self.sets.value = " ".join(extra)
        if self.spec() != spec:  # nothing is dropped on the way
            raise HvkitError("the panel cannot show every part of this spec; run it with hvkit run --spec FILE")

    def _compute(self):
        s = self.spec()
        kw = s.model_dump(exclude={"hardware", "hypervisor", "workload"})
        names = ["native", s.hypervisor] if s.hypervisor != "native" else ["native"]
        r = compare(s.hardware, s.workload, names, replications=self.replications.value, **{**kw, "mode": s.mode})
        row = r.summary.iloc[-1]
        if row["error"]:
            raise HvkitError(row["error"])
        if not (_finite(row["value"]) and _finite(row["relative_performance"])):
            raise HvkitError(f"the run measured no {row['metric']} to set against native's: lengthen the duration")
        return r

    def _render(self, r):
        fig = plots.overhead_breakdown(r.breakdown, r.summary)
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "neighbor", "workload", "metric", "unit", "value", "ci_low",
                                   "ci_high", "relative_performance", "relative_ci_low", "relative_ci_high",
                                   "interference", "replications", "events", "resolutions", "baseline"]])

    def _done_message(self, r):
        row = r.summary.iloc[-1]
        text = html.escape(f"{row['hypervisor']}: {_with_ci(row, 'relative_performance', 'relative_ci', '.3f')} of "
                           f"native alone ({_with_ci(row, 'value', 'ci', '.4g')} {row['unit']})"
                           + (f"; interference {row['interference']:.3f} beside {row['neighbor']}"
                              if row["neighbor"] else ""))
        warnings = " ".join(w for w in r.summary["warnings"].fillna("") if w)
        if warnings:  # a short run or a rate above the hardware's peak: said, not hidden (kit.results.validity)
            text += f" <span style='color:#b36b00'>warning: {html.escape(warnings)}</span>"
        return text


class ComparePanel(_Panel):
    """Several modes side by side on one workload.

    Its spec file holds the hardware, workload, duration, seed and the first selected mode other than native
    (what ``hvkit compare --spec FILE`` compares against native).
    """

    VIEWS = ("relative", "breakdown", "exits", "latency")

    def __init__(self, hardware="skylake-sp-2017", workload="netperf-rr",
                 hypervisors=("native", "xen-pv", "xen-hvm", "kvm", "kvm-sriov"), view="relative"):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=6)
        self.duration = _duration(0.0, f"duration (s, 0 = default, at most {MAX_DURATION_S:g})")
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.replications = _replications()
        self.neighbors = W.SelectMultiple(options=[NONE] + [w.id for w in list_workloads()], value=(NONE,),
                                          description="neighbours", rows=6)
        self.view = W.ToggleButtons(options=list(self.VIEWS), value=view)
        self.view.observe(lambda ch: self.last_result is not None and self._render(self.last_result), "value")
        super().__init__([W.HBox([self.hardware, self.workload]), W.HBox([self.duration, self.seed, self.replications]),
                          W.HBox([self.hypervisors, self.neighbors, self.view])], "compare")

    def names(self) -> list[str]:
        names = list(self.hypervisors.value)
        if not names:
            raise HvkitError("select at least one mode", field="modes")
        return names if "native" in names else ["native"] + names

    def spec(self) -> Spec:
        others = [n for n in self.names() if n != "native"]
        return Spec.make(hardware=self.hardware.value, hypervisor=others[0] if others else "native",
                         workload=self.workload.value, duration=self.duration.value or None, seed=self.seed.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration", "seed")}
        if extra:
            raise HvkitError("the Compare panel takes hardware, workload, mode, duration and seed only; run this "
                             "spec with hvkit compare --spec FILE", field=sorted(extra)[0])
        if spec.duration is not None and spec.duration > MAX_DURATION_S:
            raise HvkitError("longer than the panel runs", field="duration", value=spec.duration,
                             allowed=f"at most {MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisors, spec.hypervisor, "modes"))
        self.hardware.value, self.workload.value = spec.hardware, spec.workload
        self.hypervisors.value = tuple(dict.fromkeys(["native", spec.hypervisor]))
        self.duration.value, self.seed.value = spec.duration or 0.0, spec.seed

    def _compute(self):
        neighbors = [None if n == NONE else n for n in self.neighbors.value] or [None]
        return compare(self.hardware.value, self.workload.value, self.names(), replications=self.replications.value,
                       neighbors=neighbors, duration=self.duration.value or None, seed=self.seed.value)

    def _render(self, r):
        several = r.summary["neighbor"].fillna(NONE).nunique() > 1  # one bar per mode and neighbour
        fig = {"relative": lambda: plots.relative_performance(r.summary, x="scenario" if several else "hypervisor"),
               "breakdown": lambda: plots.overhead_breakdown(r.breakdown, r.summary),
               "exits": lambda: plots.exits_per_second(r.exits, r.summary),
               "latency": lambda: plots.latency_cdf(r.latency)}[self.view.value]()
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "neighbor", "value", "ci_low", "ci_high", "unit",
                                   "relative_performance", "relative_ci_low", "relative_ci_high", "interference",
                                   "replications", "error"]])

    def _done_message(self, r):
        failed = r.summary[r.summary["error"].fillna("") != ""]
        ok = len(r.summary) - len(failed)
        if ok <= 1 and len(failed):  # native alone is not a comparison
            return _error_html(HvkitError(f"every mode failed: {failed['error'].iloc[0]}"))
        if len(failed):
            return html.escape(f"{len(failed)} of {len(r.summary)} modes failed "
                               f"({', '.join(failed['hypervisor'])}; see the table)")
        return "done"


class MicrobenchPanel(_Panel):
    """One operation across modes, with the path of the selected one."""

    has_spec = False

    def __init__(self, hardware="xgene-armv8-2014", op="hypercall", hypervisors=("native", "kvm", "xen-hvm")):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.op = _dd([o.name for o in list_ops()], op, "operation", "280px")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=5)
        self.path_of = _dd(list(list_hypervisors()), hypervisors[1] if len(hypervisors) > 1 else hypervisors[0],
                           "path of")
        super().__init__([W.HBox([self.hardware, self.op]), W.HBox([self.hypervisors, self.path_of])], "microbench")

    def _compute(self):
        if not self.hypervisors.value:
            raise HvkitError("select at least one mode", field="modes")
        frames = [microbench(self.hardware.value, m, [self.op.value]) for m in self.hypervisors.value]
        return pd.concat(frames, ignore_index=True)

    def _render(self, df):
        row = df[df["hypervisor"] == self.path_of.value]
        if row.empty:
            row = df.iloc[[-1]]
        r = row.iloc[0]
        fig = plots.path_waterfall(r["path"], title=f"The path of {r['op']} under {r['hypervisor']} on "
                                                    f"{r['hardware']}: {r['cycles']:,.0f} cycles")
        self.show_figure(fig)
        self.show_table(df[["op", "hypervisor", "cycles", "us"]])

    def _done_message(self, df):
        if self.path_of.value not in set(df["hypervisor"]):
            return html.escape(f"done; {self.path_of.value} is not among the modes, so the path shown is "
                               f"{df['hypervisor'].iloc[-1]}'s")
        return "done"


def _sweep_report(df: pd.DataFrame) -> str:
    """"done", or how many points failed (an error when all did)."""
    failed = df[df["error"].fillna("") != ""]
    if len(failed) == len(df):
        return _error_html(HvkitError(f"all {len(df)} points failed: {failed['error'].iloc[0]}"))
    if len(failed):
        return html.escape(f"{len(failed)} of {len(df)} points failed (see the table)")
    return "done"


class SweepPanel(_Panel):
    """Pick a parameter and a range, run a sweep with a progress bar, plot it.

    Bounded to what answers in seconds: at most :data:`SWEEP_MAX_DURATION_S` simulated seconds per point and
    :data:`SWEEP_MAX_RUNS` runs; a larger sweep belongs in ``hvkit sweep``. Its spec file is the sweep's base.
    """

    PARAMS = {"hw.exit_roundtrip_cycles": (200, 2000), "hw.walk_ref_cycles": (5, 60),
              "hw.world_switch_cycles": (500, 5000), "vcpus": (1, 8), "workload.clients": (1, 32)}

    def __init__(self, hardware="skylake-sp-2017", workload="netperf-rr", hypervisors=("kvm", "xen-hvm"),
                 workers=None):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=4)
        self.param = _dd(list(self.PARAMS), "hw.exit_roundtrip_cycles", "parameter", "300px")
        lo, hi = self.PARAMS["hw.exit_roundtrip_cycles"]
        self.range = W.IntRangeSlider(value=(lo, hi), min=0, max=hi * 2, description="range", continuous_update=False)
        self.steps = W.IntSlider(value=5, min=2, max=10, description="points", continuous_update=False)
        self.reps = W.IntSlider(value=2, min=1, max=5, description="replications", continuous_update=False)
        self.duration = _duration(0.01, f"duration (s, at most {SWEEP_MAX_DURATION_S:g})", SWEEP_MAX_DURATION_S,
                                  "240px")
        self.progress = W.Output()
        self.workers = workers
        self.param.observe(self._param_changed, "value")
        super().__init__([W.HBox([self.hardware, self.workload, self.hypervisors]),
                          W.HBox([self.param, self.range]), W.HBox([self.steps, self.reps, self.duration]),
                          self.progress], "sweep")

    def _param_changed(self, ch):
        lo, hi = self.PARAMS[ch["new"]]
        self.range.max = max(hi * 2, 2)
        self.range.value = (lo, hi)

    def grid(self) -> dict:
        import numpy as np
        if not self.hypervisors.value:
            raise HvkitError("select at least one mode", field="modes")
        lo, hi = self.range.value
        vals = sorted({int(round(v)) for v in np.linspace(lo, hi, self.steps.value)})
        return {self.param.value: vals, "hypervisor": list(self.hypervisors.value)}

    def runs(self) -> int:
        """Points x modes x replications of the sweep the controls describe."""
        g = self.grid()
        return len(g[self.param.value]) * len(g["hypervisor"]) * self.reps.value

    def spec(self) -> Spec:
        if not self.duration.value:
            raise HvkitError("a sweep point needs a duration", field="duration",
                             allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        return Spec.make(hardware=self.hardware.value, hypervisor=(list(self.hypervisors.value) or ["kvm"])[0],
                         workload=self.workload.value, duration=self.duration.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration")}
        if extra:
            raise HvkitError("the Sweep panel's base takes hardware, workload, mode and duration only; put this "
                             "spec in a sweep file's base", field=sorted(extra)[0])
        if spec.duration is None or spec.duration > SWEEP_MAX_DURATION_S:
            raise HvkitError("a sweep point in the panel runs at most the panel's duration", field="duration",
                             value=spec.duration, allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisors, spec.hypervisor, "modes"))
        self.hardware.value, self.workload.value = spec.hardware, spec.workload
        if spec.hypervisor not in self.hypervisors.value:
            self.hypervisors.value = (spec.hypervisor, *self.hypervisors.value)
        self.duration.value = spec.duration

    def _compute(self):
        from .sweep import sweep
        base, grid, n = self.spec(), self.grid(), self.runs()
        if n > SWEEP_MAX_RUNS:
            raise HvkitError(f"{n} runs: more than the {SWEEP_MAX_RUNS} a panel runs; fewer points, modes or "
                             "replications, or hvkit sweep for the full grid", field="points x modes x replications")
        self.progress.clear_output()
        with self.progress, terminal_bar("points") as bar:
            return sweep(base, grid, replications=self.reps.value, progress=bar, workers=self.workers)

    def _render(self, df):
        ok = df[df["error"].fillna("") == ""]
        failed = df[df["error"].fillna("") != ""]
        if len(ok):
            self.show_figure(plots.sweep_line(ok, x=f"set.{self.param.value}", color="set.hypervisor"))
        else:
            self.last_figure = None
            self.fig_out.outputs = ()
        self.show_table(failed[["point", "error"]] if len(failed) else df.groupby("set.hypervisor")[
            "relative_performance"].describe()[["count", "mean", "min", "max"]])

    def _done_message(self, df):
        return _sweep_report(df)


class CrossoverPanel(_Panel):
    """Where does one memory technique overtake another? Two workload parameters swept for two values of a mode
    part; the heatmap shows the first minus the second (positive: the first is ahead).

    Bounded like :class:`SweepPanel`. Its spec file is the sweep's base.
    """

    PARAMS = ("workload.tlb_mpki", "workload.pte_writes", "workload.cr3_loads", "workload.pagefaults",
              "workload.syscalls", "hw.walk_ref_cycles", "hw.exit_roundtrip_cycles")

    def __init__(self, hardware="skylake-sp-2017", workload="osdb-ir", hypervisor="kvm", part="memory",
                 first="nested", second="shadow", x="workload.tlb_mpki", xs="0.1, 0.5, 2, 5",
                 y="workload.pte_writes", ys="0, 20, 60, 200", workers=None):
        wide = {"description_width": "initial"}
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.hypervisor = _dd(list(list_hypervisors()), hypervisor, "hypervisor")
        self.part = _dd(sorted(PARTS), part, "mode part", "200px")
        self.first = _dd(list(PARTS[part]), first, "first", "180px")
        self.second = _dd(list(PARTS[part]), second, "minus", "180px")
        self.x = _dd(list(self.PARAMS), x, "x", "260px")
        self.xs = W.Text(value=xs, description="values", style=wide, continuous_update=False)
        self.y = _dd(list(self.PARAMS), y, "y", "260px")
        self.ys = W.Text(value=ys, description="values", style=wide, continuous_update=False)
        self.duration = _duration(0.05, f"duration (s, at most {SWEEP_MAX_DURATION_S:g})", SWEEP_MAX_DURATION_S,
                                  "240px")
        self.workers = workers
        self.part.observe(self._part_changed, "value")
        super().__init__([W.HBox([self.hardware, self.workload, self.hypervisor]),
                          W.HBox([self.part, self.first, self.second]), W.HBox([self.x, self.xs]),
                          W.HBox([self.y, self.ys]), self.duration], "crossover")

    def _part_changed(self, ch):
        options = list(PARTS[ch["new"]])
        self.first.options, self.second.options = options, options
        self.first.value, self.second.value = options[0], options[-1]

    @staticmethod
    def _values(text: str, name: str) -> list[float]:
        out = []
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            try:
                v = float(item)
            except ValueError:
                raise HvkitError("values are numbers separated by commas", field=name, value=item) from None
            if not math.isfinite(v):
                raise HvkitError("values must be finite", field=name, value=item)
            out.append(int(v) if v.is_integer() else v)
        if not out:
            raise HvkitError("give at least one value", field=name)
        return sorted(set(out))

    def grid(self) -> dict:
        if self.x.value == self.y.value:
            raise HvkitError("x and y are the same parameter", field="y", value=self.y.value)
        if self.first.value == self.second.value:
            raise HvkitError("the two values of the mode part are the same", field="minus", value=self.second.value)
        return {self.x.value: self._values(self.xs.value, "x values"),
                self.y.value: self._values(self.ys.value, "y values"),
                self.part.value: [self.first.value, self.second.value]}

    def runs(self) -> int:
        g = self.grid()
        return len(g[self.x.value]) * len(g[self.y.value]) * 2

    def spec(self) -> Spec:
        if not self.duration.value:
            raise HvkitError("a sweep point needs a duration", field="duration",
                             allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        return Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value, workload=self.workload.value,
                         duration=self.duration.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration")}
        if extra:
            raise HvkitError("the Crossover panel's base takes hardware, mode, workload and duration only; put this "
                             "spec in a sweep file's base", field=sorted(extra)[0])
        if spec.duration is None or spec.duration > SWEEP_MAX_DURATION_S:
            raise HvkitError("a sweep point in the panel runs at most the panel's duration", field="duration",
                             value=spec.duration, allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisor, spec.hypervisor, "hypervisor"))
        self.hardware.value, self.hypervisor.value, self.workload.value = spec.hardware, spec.hypervisor, spec.workload
        self.duration.value = spec.duration

    def _compute(self):
        from .sweep import sweep
        base, grid, n = self.spec(), self.grid(), self.runs()
        if n > SWEEP_MAX_RUNS:
            raise HvkitError(f"{n} runs: more than the {SWEEP_MAX_RUNS} a panel runs; fewer values, or hvkit sweep "
                             "for the full grid", field="x values x y values x 2")
        return sweep(base, grid, progress=False, workers=self.workers)

    def difference(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per (x, y): the first value's relative performance minus the second's, as ``d``."""
        ok = df[df["error"].fillna("") == ""]
        x, y, part = (f"set.{k}" for k in (self.x.value, self.y.value, self.part.value))
        t = ok.pivot_table(index=[y, x], columns=part, values="relative_performance")
        if self.first.value not in t or self.second.value not in t:
            return pd.DataFrame(columns=[x, y, "d", "error"])
        d = (t[self.first.value] - t[self.second.value]).dropna()
        return d.rename("d").reset_index().assign(error="")

    def _render(self, df):
        d = self.difference(df)
        failed = df[df["error"].fillna("") != ""]
        if len(d):
            x, y = f"set.{self.x.value}", f"set.{self.y.value}"
            label = f"{self.first.value} minus {self.second.value} (relative performance)"
            self.show_figure(plots.sweep_heatmap(d, x=x, y=y, z="d", labels={"d": label}))
            self.show_table(d.pivot(index=y, columns=x, values="d").round(3) if not len(failed)
                            else failed[["point", "error"]])
        else:
            self.last_figure = None
            self.fig_out.outputs = ()
            self.show_table(failed[["point", "error"]])

    def _done_message(self, df):
        msg = _sweep_report(df)
        d = self.difference(df)
        if msg == "done" and len(d):
            ahead = int((d["d"] > 0).sum())
            msg = html.escape(f"done: {self.first.value} is ahead in {ahead} of {len(d)} cells")
        return msg
