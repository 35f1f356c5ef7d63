"""The fault panel: a host with a web server, a CPU-bound VM and a disk reader, a component that fails while it runs,
and what each VM saw (:func:`kit.failures.inject`): the requests around the fault with the recovery's phases, and
per VM its effect, how long it was unavailable, what its clients waited and the requests delayed or lost.
"""
from __future__ import annotations

import ipywidgets as W

from ...failures import inject
from ...inputs.hardware import list_hardware, load_hardware
from ...inputs.modes import hypervisor, list_hypervisors
from ...inputs.scenario import Scenario
from ...sim.failures import FAULT_MODES, FailureDomains, HostSetup
from ..failure_plots import fault_timeline
from .base import Panel, dropdown

__all__ = ["FaultPanel", "FAULT_VMS"]

#: The panel's VMs: (name, workload, parameters); the disk reader's device is slowed so a run stays short
FAULT_VMS: tuple[tuple[str, str, dict[str, float]], ...] = (
    ("web", "netperf-rr", {"clients": 2, "think_us": 20000}), ("batch", "spec-int", {}),
    ("disk", "fio-randread", {"queue_depth": 1}))
_NO_VM = "(host)"


class FaultPanel(Panel):
    """A fault injected into a running scenario. Pick the hardware, the mode and the host's layout (drivers in a
    driver domain, a warm spare), the component that fails (the list follows the mode's components), how (crash
    or hang), in which VM for a per-VM component, and when. **Run** runs the scenario with and without the fault
    (same seed) and shows the requests around it with the recovery's phases, and each VM's outcome."""

    has_files = False

    def __init__(self, hardware: str = "skylake-sp-2017", hypervisor_name: str = "xen-hvm",
                 driver_domain: bool = True, component: str = "nic-driver", fault: str = "crash",
                 at_s: float = 1.0, duration: float = 6.0) -> None:
        wide = {"description_width": "initial"}
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.hypervisor = dropdown(list(list_hypervisors()), hypervisor_name, "hypervisor", "230px")
        self.driver_domain = W.Checkbox(value=driver_domain, description="drivers in a driver domain")
        self.spare = W.Checkbox(value=False, description="warm spare driver domain")
        self.component = dropdown([component], component, "component", "230px")
        self.fault = W.ToggleButtons(options=list(FAULT_MODES), value=fault, description="fails by", style=wide)
        self.vm = dropdown([_NO_VM] + [n for n, _, _ in FAULT_VMS], _NO_VM, "in VM", "200px")
        self.at = W.BoundedFloatText(value=at_s, min=0.0, max=60.0, description="at (s)", style=wide,
                                     layout=W.Layout(width="160px"))
        self.duration = W.BoundedFloatText(value=duration, min=0.5, max=30.0, description="duration (s)", style=wide,
                                           layout=W.Layout(width="200px"))
        self.seed = W.IntText(value=1, description="seed", layout=W.Layout(width="150px"))
        for w in (self.hardware, self.hypervisor, self.driver_domain, self.spare):
            w.observe(lambda _=None: self._offer_components(), names="value")
        super().__init__([W.HBox([self.hardware, self.hypervisor, self.driver_domain, self.spare]),
                          W.HBox([self.component, self.fault, self.vm, self.at]),
                          W.HBox([self.duration, self.seed])], "faults")
        self._offer_components()

    def _offer_components(self) -> None:
        """The components the chosen mode and layout have (an impossible layout says so in the status line)."""
        try:
            hw = load_hardware(self.hardware.value)
            fd = FailureDomains(hypervisor(self.hypervisor.value, hw), hw, [n for n, _, _ in FAULT_VMS],
                                HostSetup(self.driver_domain.value, self.spare.value))
        except Exception as exc:  # shown, never lost
            from .base import error_html
            self.status.value = error_html(exc)
            return
        ids = list(dict.fromkeys(c.id for c in fd.components))
        keep = self.component.value if self.component.value in ids else ids[0]
        self.component.options = ids
        self.component.value = keep
        self.status.value = ""

    def scenario(self) -> Scenario:
        """The scenario the controls describe."""
        fault = {"time_s": self.at.value, "component": self.component.value, "mode": self.fault.value}
        if self.vm.value != _NO_VM:
            fault["vm"] = self.vm.value
        return Scenario.make(name="fault panel", hardware=self.hardware.value, hypervisor=self.hypervisor.value,
                             duration=self.duration.value, seed=self.seed.value, hw={"disk_service_ms": 2.0},
                             host={"pcpus": 4, "driver_domain": self.driver_domain.value,
                                   "spare_driver_domain": self.spare.value},
                             vms=[{"name": n, "workload": w, "params": p} for n, w, p in FAULT_VMS],
                             faults=[fault])

    def _compute(self):
        return inject(self.scenario())

    def _render(self, out):
        s = self.scenario()
        self.show_figure(fault_timeline(out["latency"], out["plans"],
                                        title=f"{s.faults[0].component} {s.faults[0].mode} at {s.faults[0].time_s:g} s "
                                              f"under {s.hypervisor}"))
        self.show_table(out["vms"][["vm", "effect", "survived", "unavailable_s", "client_outage_s", "units",
                                    "units_without", "vcpu_busy_s", "vcpu_busy_s_without", "requests_delayed",
                                    "requests_lost", "cause"]])

    def _done_message(self, out):
        v = out["vms"]
        return (f"{int((v['effect'] == 'dies').sum())} VMs ended, {int((v['effect'] == 'io stall').sum())} saw their "
                f"I/O stall, {int((v['effect'] == 'none').sum())} noticed nothing")
