"""The scenario panel: a host with heterogeneous VMs (a VM table: add, remove, pick workloads), run by
:func:`kit.consolidation.run_scenario`: each VM against itself alone and native alone, and which vCPU ran on which
CPU.
"""
from __future__ import annotations

import ipywidgets as W

from ...consolidation import run_scenario
from ...inputs.hardware import list_hardware
from ...inputs.modes import list_hypervisors
from ...inputs.scenario import Scenario
from ...inputs.workloads import list_workloads
from .. import plots
from .base import Panel, dropdown, warnings_html

__all__ = ["ScenarioPanel"]


class _VmRow(W.HBox):
    """One row of the VM table: name, workload, vCPUs, copies, measured, and a button that removes the row."""

    def __init__(self, panel: ScenarioPanel, name: str, workload: str, vcpus: int = 1, count: int = 1,
                 measured: bool = True) -> None:
        self.name = W.Text(value=name, description="VM", layout=W.Layout(width="170px"))
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload", "230px")
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


class ScenarioPanel(Panel):
    """A host with heterogeneous VMs: a table of VMs (add, remove, pick workloads), the host's CPUs and the mode.
    **Run** builds a :class:`kit.Scenario` and runs :func:`kit.consolidation.run_scenario`: bars of each VM against
    itself alone and native alone, which vCPU ran on which CPU, and the per-VM table."""

    has_files = False

    def __init__(self, hardware: str = "skylake-sp-2017", hypervisor: str = "kvm", pcpus: int = 2,
                 vms: tuple[tuple[str, str, int], ...] = (("web", "apache-static", 1), ("batch", "spec-int", 2)),
                 duration: float = 0.1, trace_ms: float = 20.0) -> None:
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.hypervisor = dropdown(list(list_hypervisors()), hypervisor, "hypervisor", "230px")
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
                         "scenario", below_figure=(self.timeline_out,))

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
        self.show_figure(plots.per_vm_relative(r.vms, title=f"{r.scenario.hypervisor} on {r.scenario.hardware}, "
                                                            f"{r.host['pcpus']} CPUs: each VM relative to alone"))
        if len(r.timeline):
            self.show_figure(plots.cpu_occupancy(r.timeline), out=self.timeline_out)
        else:
            self.timeline_out.outputs = ()
        self.show_table(r.vms[["vm", "workload", "vcpus", "measured", "value", "unit", "relative_alone",
                               "relative_native", "latency_p99_us", "warnings"]])

    def _done_message(self, r):
        return (f"{len(r.vms)} VMs on {r.host['pcpus']} CPUs: utilization {r.host['pcpu_util']:.0%}, "
                f"{r.host['vm_switches'] or 0} VM switches, {r.host['lock_holder_preemptions']} lock-holder "
                f"preemptions") + warnings_html(r.warnings)
