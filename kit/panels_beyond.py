"""Panels for what lies beyond one VM on one host: live migration (and, through its mode choices, nested guests
and containers).

:class:`MigrationPanel` builds a :class:`kit.Spec` and the options of :func:`kit.migrate` from its controls, runs
the migration, and shows its timeline (:func:`kit.plots.migration_timeline`), its rounds and its summary. Nested
guests and containers are modes (``kvm-on-kvm``, ``container-nat``, ``container-host``, or ``--set nested=kvm``),
so :class:`kit.widgets.ExperimentPanel` and :class:`kit.widgets.ComparePanel` already run them; the panel here
offers the nested and container presets beside the VM modes for the comparison it makes (:class:`LevelsPanel`).
Like every panel, a run cannot start twice at once and errors appear in the panel.
"""
from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display

from . import plots
from .errors import HvkitError
from .inputs.hardware import list_hardware
from .inputs.modes import list_hypervisors
from .inputs.spec import Spec
from .inputs.workloads import list_workloads
from .migrations import METHODS, POLICIES, migrate
from .run import compare

__all__ = ["MigrationPanel", "LevelsPanel"]

TRACKING_CHOICES = ("auto", "log-dirty-shadow", "write-protect", "ad-bits", "pml", "softmmu")


def _dd(options, value, description, width="230px"):
    return W.Dropdown(options=options, value=value, description=description, style={"description_width": "initial"},
                      layout=W.Layout(width=width))


class _RunPanel(W.VBox):
    """A Run button, a status line, a figure and a table; one run at a time; errors shown, never lost."""

    def __init__(self, controls: list) -> None:
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(lambda _=None: self.run())
        self.status = W.HTML()
        self.fig_out = W.Output()
        self.table = W.Output()
        self.busy = False
        self.last_result = None
        self.last_figure: go.Figure | None = None
        super().__init__([*controls, W.HBox([self.button, self.status]), self.fig_out, self.table])

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
            fig, df, message = self._render(result)
            self.last_figure = fig
            self.fig_out.clear_output(wait=True)
            with self.fig_out:
                display(fig)
            self.table.clear_output(wait=True)
            with self.table:
                display(df)
            self.status.value = message
            return result
        except HvkitError as exc:
            self.status.value = f"<span style='color:#b30000'>{html.escape(str(exc))}</span>"
        except Exception as exc:  # shown, never lost
            self.status.value = f"<span style='color:#b30000'>{type(exc).__name__}: {html.escape(str(exc))}</span>"
        finally:
            self.busy, self.button.disabled = False, False
        return None

    def _compute(self):
        raise NotImplementedError

    def _render(self, result) -> tuple[go.Figure, pd.DataFrame, str]:
        raise NotImplementedError


class MigrationPanel(_RunPanel):
    """Migrate a VM while its workload runs: pre-copy or post-copy, the link, the VM size, the dirty rate."""

    def __init__(self, hardware: str = "skylake-sp-2017", hypervisor: str = "kvm", workload: str = "quake3-server",
                 method: str = "pre-copy", vm_mib: float = 128.0, link_gbps: float = 1.0) -> None:
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.hypervisor = _dd(list(list_hypervisors()), hypervisor, "hypervisor")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.method = W.ToggleButtons(options=list(METHODS), value=method, description="method")
        self.policy = _dd(list(POLICIES), "auto", "pre-copy policy")
        self.tracking = _dd(list(TRACKING_CHOICES), "auto", "dirty tracking")
        self.vm_mib = W.FloatText(value=vm_mib, description="VM memory (MiB)", style={"description_width": "initial"},
                                  layout=W.Layout(width="220px"))
        self.link_gbps = W.FloatText(value=link_gbps, description="link (Gbit/s)",
                                     style={"description_width": "initial"}, layout=W.Layout(width="200px"))
        self.dirty = W.FloatText(value=0.0, description="pages written per unit (0 = the workload's)",
                                 style={"description_width": "initial"}, layout=W.Layout(width="360px"))
        self.zero_pages = W.Checkbox(value=False, description="zero-page elision")
        self.compression = W.Checkbox(value=False, description="compression")
        self.shared = W.Checkbox(value=True, description="link shared with the workload")
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        controls = [W.HBox([self.hardware, self.hypervisor, self.workload]), self.method,
                    W.HBox([self.policy, self.tracking, self.vm_mib, self.link_gbps]),
                    W.HBox([self.dirty, self.zero_pages, self.compression, self.shared, self.seed])]
        super().__init__(controls)

    def spec(self) -> Spec:
        """The spec the controls describe."""
        spec = Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value,
                         workload=self.workload.value, seed=self.seed.value)
        if self.dirty.value:
            spec = spec.with_sets([("workload.writable.pages_per_unit", self.dirty.value)])
        return spec

    def options(self) -> dict:
        """The keyword arguments of :func:`kit.migrate` the controls describe."""
        return {"method": self.method.value, "policy": self.policy.value, "tracking": self.tracking.value,
                "vm_mib": self.vm_mib.value, "link_gbps": self.link_gbps.value, "zero_pages": self.zero_pages.value,
                "compression": self.compression.value, "shared_link": self.shared.value}

    def _compute(self):
        return migrate(self.spec(), **self.options())

    def _render(self, m):
        s = m.summary
        fig = plots.migration_timeline(m.timeline, title=f"{s['method']} migration of {s['workload']} under "
                                                         f"{s['hypervisor']} on {s['hardware']}")
        keys = ["total_s", "downtime_ms", "rounds", "bytes_sent", "tracking", "source_cpu_s", "target_cpu_s",
                "tracking_cpu_s", "postcopy_faults", "relative_throughput_during", "stop_reason"]
        df = pd.DataFrame({"value": [s[k] for k in keys]}, index=keys)
        msg = f"total {s['total_s']:.3f} s, downtime {s['downtime_ms']:.1f} ms, {s['rounds']} rounds"
        return fig, df, msg


class LevelsPanel(_RunPanel):
    """One workload on native, a container, a VM and a nested VM: what each level of isolation costs."""

    def __init__(self, hardware: str = "skylake-sp-2017", workload: str = "netperf-rr",
                 hypervisors: tuple[str, ...] = ("native", "container-host", "container-nat", "kvm", "kvm-on-kvm"),
                 duration: float = 0.05) -> None:
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=8)
        self.duration = W.FloatText(value=duration, description="duration (s)", layout=W.Layout(width="200px"))
        super().__init__([W.HBox([self.hardware, self.workload, self.duration]), self.hypervisors])

    def _compute(self):
        return compare(self.hardware.value, self.workload.value, list(self.hypervisors.value),
                       duration=self.duration.value)

    def _render(self, result):
        s = result.summary
        fig = plots.relative_performance(s.assign(error=s["error"].fillna("")))
        df = s[["hypervisor", "value", "relative_performance", "error"]]
        return fig, df, "done"
