"""Panels for what lies beyond one VM on one host: live migration (and, through its mode choices, nested guests
and containers).

:class:`MigrationPanel` builds a :class:`kit.Spec` and the options of :func:`kit.migrate` from its controls, runs
the migration, and shows its timeline (:func:`kit.plots.migration_timeline`), its rounds and its summary. Nested
guests and containers are modes (``kvm-on-kvm``, ``container-nat``, ``container-host``, or ``--set nested=kvm``),
so :class:`kit.widgets.ExperimentPanel` and :class:`kit.widgets.ComparePanel` already run them; the panel here
offers the nested and container presets beside the VM modes for the comparison it makes (:class:`LevelsPanel`).
:class:`ScenarioPanel` is a host with heterogeneous VMs (a VM table: add, remove, pick workloads) run by
:func:`kit.consolidation.run_scenario`.
Like every panel, a run cannot start twice at once and errors appear in the panel.
"""
from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
from IPython.display import display

from . import plots
from .consolidation import run_scenario
from .errors import HvkitError
from .inputs.hardware import list_hardware
from .inputs.modes import list_hypervisors
from .inputs.scenario import Scenario
from .inputs.spec import Spec
from .inputs.workloads import list_workloads
from .live_migration import METHODS, POLICIES, migrate
from .run import compare

__all__ = ["MigrationPanel", "LevelsPanel", "ScenarioPanel"]

TRACKING_CHOICES = ("auto", "log-dirty-shadow", "write-protect", "ad-bits", "pml", "softmmu")


def _dd(options, value, description, width="230px"):
    return W.Dropdown(options=options, value=value, description=description, style={"description_width": "initial"},
                      layout=W.Layout(width=width))


class _RunPanel(W.VBox):
    """A Run button, a status line, a figure and a table; one run at a time; errors shown, never lost."""

    def __init__(self, controls: list, below_figure: tuple = ()) -> None:
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(lambda _=None: self.run())
        self.status = W.HTML()
        self.fig_out = W.Output()
        self.table = W.Output()
        self.busy = False
        self.last_result = None
        self.last_figure: go.Figure | None = None
        super().__init__([*controls, W.HBox([self.button, self.status]), self.fig_out, *below_figure, self.table])

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


class _VmRow(W.HBox):
    """One row of the VM table: name, workload, vCPUs, copies, measured, and a button that removes the row."""

    def __init__(self, panel: ScenarioPanel, name: str, workload: str, vcpus: int = 1, count: int = 1,
                 measured: bool = True) -> None:
        self.name = W.Text(value=name, description="VM", layout=W.Layout(width="170px"))
        self.workload = _dd([w.id for w in list_workloads()], workload, "workload")
        self.vcpus = W.BoundedIntText(value=vcpus, min=1, max=64, description="vCPUs", layout=W.Layout(width="140px"))
        self.count = W.BoundedIntText(value=count, min=1, max=256, description="copies",
                                      layout=W.Layout(width="140px"))
        self.measured = W.Checkbox(value=measured, description="measured", layout=W.Layout(width="120px"))
        self.remove = W.Button(description="remove", icon="trash", layout=W.Layout(width="100px"))
        self.remove.on_click(lambda _=None: panel.remove_vm(self))
        super().__init__([self.name, self.workload, self.vcpus, self.count, self.measured, self.remove])

    def entry(self) -> dict:
        return {"name": self.name.value.strip(), "workload": self.workload.value, "vcpus": self.vcpus.value,
                "count": self.count.value, "measured": self.measured.value}


class ScenarioPanel(_RunPanel):
    """A host with heterogeneous VMs: a table of VMs (add, remove, pick workloads), the host's CPUs and the mode.
    **Run** builds a :class:`kit.Scenario` and runs :func:`kit.consolidation.run_scenario`: bars of each VM against
    itself alone and native alone, which vCPU ran on which CPU, and the per-VM table."""

    def __init__(self, hardware: str = "skylake-sp-2017", hypervisor: str = "kvm", pcpus: int = 2,
                 vms: tuple[tuple[str, str, int], ...] = (("web", "apache-static", 1), ("batch", "spec-int", 2)),
                 duration: float = 0.1, trace_ms: float = 20.0) -> None:
        self.hardware = _dd(list_hardware(), hardware, "hardware", "260px")
        self.hypervisor = _dd(list(list_hypervisors()), hypervisor, "hypervisor")
        self.pcpus = W.BoundedIntText(value=pcpus, min=1, max=1024, description="host CPUs",
                                      layout=W.Layout(width="160px"))
        self.duration = W.BoundedFloatText(value=duration, min=0.001, max=60.0, description="duration (s)",
                                           layout=W.Layout(width="200px"))
        self.trace_ms = W.BoundedFloatText(value=trace_ms, min=0.0, max=1000.0, description="timeline (ms)",
                                           layout=W.Layout(width="200px"))
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.rows = W.VBox([_VmRow(self, n, w, v) for n, w, v in vms])
        self.add = W.Button(description="add VM", icon="plus")
        self.add.on_click(lambda _=None: self.add_vm())
        self.timeline_out = W.Output()
        super().__init__([W.HBox([self.hardware, self.hypervisor, self.pcpus]),
                          W.HBox([self.duration, self.trace_ms, self.seed]), self.rows, self.add],
                         below_figure=(self.timeline_out,))

    def add_vm(self, workload: str = "spec-int", vcpus: int = 1) -> None:
        """A new row with a fresh name."""
        taken = {r.name.value for r in self.rows.children}
        k = len(self.rows.children)
        while f"vm{k}" in taken:
            k += 1
        self.rows.children = (*self.rows.children, _VmRow(self, f"vm{k}", workload, vcpus))

    def remove_vm(self, row: _VmRow) -> None:
        """Remove ``row`` (the last VM stays: a scenario has at least one)."""
        if len(self.rows.children) > 1:
            self.rows.children = tuple(r for r in self.rows.children if r is not row)

    def scenario(self) -> Scenario:
        """The scenario the controls describe."""
        return Scenario.make(name="panel", hardware=self.hardware.value, hypervisor=self.hypervisor.value,
                             duration=self.duration.value, seed=self.seed.value, host={"pcpus": self.pcpus.value},
                             vms=[r.entry() for r in self.rows.children])

    def _compute(self):
        scn = self.scenario()
        return run_scenario(scn, trace_s=min(self.trace_ms.value / 1e3, float(scn.duration or 0.0)))

    def _render(self, r):
        fig = plots.per_vm_relative(r.vms, title=f"{r.scenario.hypervisor} on {r.scenario.hardware}, "
                                                 f"{r.host['pcpus']} CPUs: each VM relative to alone")
        self.timeline_out.clear_output(wait=True)
        if len(r.timeline):
            with self.timeline_out:
                display(plots.cpu_occupancy(r.timeline))
        df = r.vms[["vm", "workload", "vcpus", "measured", "value", "unit", "relative_alone", "relative_native",
                    "latency_p99_us"]]
        msg = (f"{len(r.vms)} VMs on {r.host['pcpus']} CPUs: utilization {r.host['pcpu_util']:.0%}, "
               f"{r.host['vm_switches'] or 0} VM switches, {r.host['lock_holder_preemptions']} lock-holder "
               f"preemptions")
        return fig, df, msg
