"""The fault panel: its component list follows the mode and layout, Run injects the fault into a running scenario
and shows what each VM saw, and a layout the mode cannot have is said in the status line."""
from kit.ui.panels import FaultPanel


def test_the_component_list_follows_the_mode_and_the_layout():
    p = FaultPanel()
    assert "driver-domain" in p.component.options and "vhost" not in p.component.options
    p.hypervisor.value = "kvm"
    assert "split drivers" in p.status.value  # a driver domain under KVM: said, not ignored
    p.driver_domain.value = False
    assert p.status.value == "" and {"host-kernel", "vhost", "vmm"} <= set(p.component.options)


def test_run_injects_the_fault_and_shows_each_vm():
    p = FaultPanel(duration=3.0)
    out = p.run()
    assert out is not None, p.status.value
    v = out["vms"].set_index("vm")
    assert v.loc["batch", "effect"] == "none" and v.loc["web", "effect"] == "io stall"
    assert "noticed nothing" in p.status.value and p.current_figure() is not None
    p.hypervisor.value, p.driver_domain.value = "microvm", False
    p.component.value, p.vm.value = "vmm", "web"
    out = p.run()
    assert list(out["vms"]["effect"]) == ["dies", "none", "none"]


def test_a_per_vm_component_without_its_vm_is_an_error_in_the_status_line():
    p = FaultPanel(hypervisor_name="kvm", driver_domain=False, duration=1.0)
    p.component.value = "vmm"
    assert p.run() is None and "per-VM component" in p.status.value
