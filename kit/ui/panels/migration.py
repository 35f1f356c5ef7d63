"""The live-migration panel: a :class:`kit.Spec` and the options of :func:`kit.migrate` from its controls, the
migration's timeline (:func:`kit.ui.plots.migration_timeline`), and its summary.
"""
from __future__ import annotations

import ipywidgets as W
import pandas as pd

from ...inputs.hardware import list_hardware
from ...inputs.modes import list_hypervisors
from ...inputs.spec import Spec
from ...inputs.workloads import list_workloads
from ...live_migration import METHODS, POLICIES, migrate
from .. import plots
from .base import Panel, dropdown

__all__ = ["MigrationPanel", "TRACKING_CHOICES"]

TRACKING_CHOICES = ("auto", "log-dirty-shadow", "write-protect", "ad-bits", "pml", "softmmu")


class MigrationPanel(Panel):
    """Migrate a VM while its workload runs: pre-copy or post-copy, the link, the VM size, the dirty rate."""

    has_files = False

    def __init__(self, hardware: str = "skylake-sp-2017", hypervisor: str = "kvm", workload: str = "quake3-server",
                 method: str = "pre-copy", vm_mib: float = 128.0, link_gbps: float = 1.0) -> None:
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.hypervisor = dropdown(list(list_hypervisors()), hypervisor, "hypervisor", "230px")
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload", "230px")
        self.method = W.ToggleButtons(options=list(METHODS), value=method, description="method")
        self.policy = dropdown(list(POLICIES), "auto", "pre-copy policy", "230px")
        self.tracking = dropdown(list(TRACKING_CHOICES), "auto", "dirty tracking", "230px")
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
        super().__init__(controls, "migration")

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
        self.show_figure(plots.migration_timeline(m.timeline, rounds=m.rounds,
                                                  title=f"{s['method']} migration of {s['workload']} under "
                                                        f"{s['hypervisor']} on {s['hardware']}"))
        keys = ["total_s", "downtime_ms", "rounds", "bytes_sent", "tracking", "source_cpu_s", "target_cpu_s",
                "tracking_cpu_s", "postcopy_faults", "relative_throughput_during", "stop_reason", "engine"]
        self.show_table(pd.DataFrame({"value": [s[k] for k in keys]}, index=keys))

    def _done_message(self, m):
        s = m.summary
        return f"total {s['total_s']:.3f} s, downtime {s['downtime_ms']:.1f} ms, {s['rounds']} rounds"
