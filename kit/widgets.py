"""Widget panels: thin ipywidgets composites over run, compare, microbench and sweep.

Each panel builds a :class:`kit.Spec` (or the arguments of ``compare`` /
``microbench`` / ``sweep``) from its controls, calls the same function the
command line calls, and hands the result to a figure builder from
:mod:`kit.plots`. A run cannot be started twice at once; errors appear in the
panel as a message. A figure is shown as plotly's own output (the
``application/vnd.plotly.v1+json`` bundle JupyterLab and Voila render) in an
``Output`` widget, replaced whole on every run. Plotly's ``FigureWidget`` is not
used: anywidget gives each widget model two seconds to load plotly's 5 MB
front-end module and otherwise drops every later update to that model, which
is what left a dashboard's lower panels with empty axes in Voila.
"""
from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

from . import plots
from .errors import HvkitError
from .inputs.hardware import list_hardware, load_hardware
from .costs.microbench import microbench
from .inputs.modes import PARTS, list_hypervisors
from .costs.ops import list_ops
from .run import compare
from .inputs.spec import Spec
from .inputs.workloads import list_workloads

__all__ = ["ExperimentPanel", "ComparePanel", "MicrobenchPanel", "SweepPanel", "hardware_summary"]

KEEP = "(preset)"


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


class _Panel(W.VBox):
    """Shared machinery: a Run button, a status line, a figure, a table, one run at a time."""

    def __init__(self, controls: list, kind: str):
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(self._on_click)
        self.status = W.HTML()
        self.table = W.Output()
        self.fig_out = W.Output()
        self.last_figure: go.Figure | None = None
        self.busy = False
        self.last_result = None
        super().__init__([*controls, W.HBox([self.button, self.status]), self.fig_out, self.table])
        self.add_class("hvkit-panel")
        self.add_class(f"hvkit-{kind}")  # a handle for the browser test and for styling

    def _on_click(self, _=None):
        self.run()

    def run(self):
        """Run with the current controls (ignored while a run is in progress)."""
        if self.busy:
            self.status.value = "<i>a run is already in progress</i>"
            return None
        self.busy, self.button.disabled = True, True
        self.status.value = "<i>running...</i>"
        try:
            result = self._compute()
            self.last_result = result
            self._render(result)
            self.status.value = self._done_message(result)
            return result
        except HvkitError as exc:
            self.status.value = f"<span style='color:#b30000'>{html.escape(str(exc))}</span>"
        except Exception as exc:  # shown, never lost
            self.status.value = f"<span style='color:#b30000'>{type(exc).__name__}: {html.escape(str(exc))}</span>"
        finally:
            self.busy, self.button.disabled = False, False
        return None

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


def _dd(options, value, description, width="220px"):
    return W.Dropdown(options=options, value=value, description=description, style={"description_width": "initial"},
                      layout=W.Layout(width=width))


class ExperimentPanel(_Panel):
    """Configure one hypervisor mode, run one workload, see where the time goes against native."""

    def __init__(self, hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr"):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.hw_info = W.HTML(hardware_summary(hardware))
        self.hypervisor = _dd(list(list_hypervisors()), hypervisor, "hypervisor")
        self.overrides = {k: _dd([KEEP] + list(PARTS[k]), KEEP, k, "200px")
                          for k in ("memory", "io", "interrupts", "scheduler", "guest_page", "host_page")}
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.params = W.Text(value="", description="workload params", placeholder="mtu=500, direction=rx",
                             style={"description_width": "initial"}, continuous_update=False)
        self.vcpus = W.IntSlider(value=1, min=1, max=16, description="vCPUs", continuous_update=False)
        self.vms = W.IntSlider(value=1, min=1, max=8, description="VMs", continuous_update=False)
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.duration = W.FloatText(value=0.0, description="duration (s, 0 = default)",
                                    style={"description_width": "initial"}, layout=W.Layout(width="260px"))
        self.hardware.observe(lambda ch: setattr(self.hw_info, "value", hardware_summary(ch["new"])), "value")
        controls = [W.HBox([self.hardware, self.hw_info]), W.HBox([self.hypervisor, self.workload, self.params]),
                    W.HBox(list(self.overrides.values())[:3]), W.HBox(list(self.overrides.values())[3:]),
                    W.HBox([self.vcpus, self.vms, self.seed, self.duration])]
        super().__init__(controls, "experiment")

    def spec(self) -> Spec:
        """The spec the controls describe."""
        mode = {k: w.value for k, w in self.overrides.items() if w.value != KEEP}
        params = {}
        for part in filter(None, (p.strip() for p in self.params.value.split(","))):
            k, sep, v = part.partition("=")
            if not sep:
                raise HvkitError("workload params are key=value pairs", field="workload params", value=part)
            params[f"workload.{k.strip()}"] = v.strip()
        spec = Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value, workload=self.workload.value,
                         vcpus=self.vcpus.value, vms=self.vms.value, seed=self.seed.value,
                         duration=self.duration.value or None, mode=mode)
        return spec.with_sets(list(params.items()))

    def _compute(self):
        s = self.spec()
        kw = s.model_dump(exclude={"hardware", "hypervisor", "workload"})
        names = ["native", s.hypervisor] if s.hypervisor != "native" else ["native"]
        r = compare(s.hardware, s.workload, names, **{**kw, "mode": s.mode})
        if r.summary["error"].fillna("").iloc[-1]:
            raise HvkitError(r.summary["error"].iloc[-1])
        return r

    def _render(self, r):
        fig = plots.overhead_breakdown(r.breakdown, r.summary)
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "workload", "metric", "unit", "value", "relative_performance",
                                   "events", "resolutions"]])

    def _done_message(self, r):
        row = r.summary.iloc[-1]
        return (f"{row['hypervisor']}: {row['relative_performance']:.3f} of native "
                f"({row['value']:.4g} {row['unit']})")


class ComparePanel(_Panel):
    """Several modes side by side on one workload."""

    def __init__(self, hardware="skylake-sp-2017", workload="netperf-rr",
                 hypervisors=("native", "xen-pv", "xen-hvm", "kvm", "kvm-sriov")):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=6)
        self.view = W.ToggleButtons(options=["relative", "breakdown", "exits", "latency"], value="relative")
        self.view.observe(lambda ch: self.last_result is not None and self._render(self.last_result), "value")
        super().__init__([W.HBox([self.hardware, self.workload]), W.HBox([self.hypervisors, self.view])], "compare")

    def _compute(self):
        names = list(self.hypervisors.value) or ["native"]
        if "native" not in names:
            names = ["native"] + names
        return compare(self.hardware.value, self.workload.value, names)

    def _render(self, r):
        fig = {"relative": lambda: plots.relative_performance(r.summary, x="hypervisor"),
               "breakdown": lambda: plots.overhead_breakdown(r.breakdown, r.summary),
               "exits": lambda: plots.exits_per_second(r.exits, r.summary),
               "latency": lambda: plots.latency_cdf(r.latency)}[self.view.value]()
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "value", "unit", "relative_performance", "error"]])


class MicrobenchPanel(_Panel):
    """One operation across modes, with the path of the selected one."""

    def __init__(self, hardware="xgene-armv8-2014", op="hypercall", hypervisors=("native", "kvm", "xen-hvm")):
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.op = _dd([o.name for o in list_ops()], op, "operation", "280px")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=5)
        self.path_of = _dd(list(list_hypervisors()), hypervisors[1] if len(hypervisors) > 1 else hypervisors[0],
                           "path of")
        super().__init__([W.HBox([self.hardware, self.op]), W.HBox([self.hypervisors, self.path_of])], "microbench")

    def _compute(self):
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


class SweepPanel(_Panel):
    """Pick a parameter and a range, run a sweep with a progress bar, plot it."""

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
        self.steps = W.IntSlider(value=5, min=2, max=12, description="points", continuous_update=False)
        self.reps = W.IntSlider(value=2, min=1, max=8, description="replications", continuous_update=False)
        self.duration = W.FloatText(value=0.01, description="duration (s)", layout=W.Layout(width="200px"))
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
        lo, hi = self.range.value
        vals = sorted({int(round(v)) for v in np.linspace(lo, hi, self.steps.value)})
        return {self.param.value: vals, "hypervisor": list(self.hypervisors.value) or ["kvm"]}

    def _compute(self):
        from .sweep import sweep
        base = Spec.make(hardware=self.hardware.value, hypervisor="kvm", workload=self.workload.value,
                         duration=self.duration.value or None)
        self.progress.clear_output()
        with self.progress:
            return sweep(base, self.grid(), replications=self.reps.value, progress=True, workers=self.workers)

    def _render(self, df):
        fig = plots.sweep_line(df, x=f"set.{self.param.value}", color="set.hypervisor")
        self.show_figure(fig)
        failed = df[df["error"] != ""]
        self.show_table(failed[["point", "error"]] if len(failed) else df.groupby("set.hypervisor")[
            "relative_performance"].describe()[["count", "mean", "min", "max"]])
