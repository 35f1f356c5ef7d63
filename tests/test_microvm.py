"""The microVM mode (issue 24, section 1): KVM with a minimal VMM in user space, virtio-mmio net and block devices
without PCI served by one VMM thread per microVM, with a synchronous block engine. Each difference from ``kvm`` is a
mechanism with its effect, and its absence where the mechanism is absent."""
import pytest

import kit
from kit.costs.io_events import VIRTIO_MMIO_ISR_ACCESSES
from kit.costs.model import CostModel
from kit.errors import HvkitError
from kit.inputs.parts import BACKENDS, FAMILY, IO

HW = "skylake-sp-2017"


def _path(mode: str, event: str, hw: str = HW):
    h = kit.load_hardware(hw)
    return CostModel(h, kit.hypervisor(mode, h)).path(event)


def test_the_microvm_preset_is_a_composition_of_parts():
    m = kit.hypervisor("microvm", HW)
    assert (m.family, m.cpu, m.memory, m.io, m.arch, m.scheduler) == ("firecracker", "hvm", "nested", "virtio-mmio",
                                                                      "in-kernel", "cfs")
    assert m.io_part.virtio and m.io_part.mmio_transport and not m.io_part.kernel_backend
    # one VMM thread per microVM serves both its devices, and it blocks on the disk
    assert m.backend("net") is m.backend("disk") is BACKENDS["vmm"]
    assert not BACKENDS["vmm"].shared and BACKENDS["vmm"].blocks_on_disk
    assert not any(b.blocks_on_disk for name, b in BACKENDS.items() if name != "vmm")
    # KVM underneath: halt polling, the host kernel's exits; Firecracker asks for no huge pages
    assert m.halt_polls and FAMILY["firecracker"].exits_to_host_kernel
    assert m.host_page == "4K" and any("#2139" in r for r in m.resolutions)
    assert kit.hypervisor("kvm", HW).host_page == "2M"


@pytest.mark.parametrize("overrides,field", [({"io": "vhost"}, "io"), ({"io": "sriov"}, "io"), ({"cpu": "pv"}, "cpu"),
                                             ({"arch": "type2-hosted"}, "arch")])
def test_a_microvm_refuses_what_its_vmm_does_not_have(overrides, field):
    with pytest.raises(HvkitError, match=f"field '{field}'"):
        kit.hypervisor("microvm", HW, **overrides)


def test_virtio_mmio_needs_a_microvm_vmm_and_kvm_needs_hardware():
    with pytest.raises(HvkitError, match="virtio-mmio devices are served by a microVM's VMM"):
        kit.hypervisor("kvm", HW, io="virtio-mmio")
    with pytest.raises(HvkitError, match="allowed: native, qemu-tcg, vmware-bt, xen-pv"):
        kit.hypervisor("microvm", "p4-xeon-2003")
    # on ARM it is KVM/ARM: split mode or VHE, the GIC's virtual CPU interface
    arm = kit.hypervisor("microvm", "neoverse-n1-2019")
    assert arm.el2_host and arm.interrupts == "vgic"


def test_a_virtio_mmio_interrupt_costs_two_register_exits_to_the_vmm():
    """Effect: the guest's handler reads the interrupt status and acknowledges it, each an MMIO exit returned to the
    VMM's vCPU thread. Absence: virtio-pci with vhost (kvm) completes an interrupt without touching a register."""
    reasons = [s.reason for s in _path("microvm", "io_notify") if s.is_exit]
    assert reasons == [f"virtio-mmio {w}" for w in VIRTIO_MMIO_ISR_ACCESSES[0]]
    assert not [s for s in _path("kvm", "io_notify") if s.is_exit]
    mmio = sum(s.cycles for s in _path("microvm", "io_notify") if s.reason.startswith("virtio-mmio"))
    h = kit.load_hardware(HW)
    # each access pays at least the exit round trip and a return to user space (two system calls)
    assert mmio > 2 * (h.val("exit_roundtrip_cycles") + 2 * h.val("syscall_cycles"))


def test_a_virtio_mmio_kick_is_an_ioeventfd_like_vhost_and_not_a_user_exit():
    micro = _path("microvm", "io_kick")
    assert [s.reason for s in micro if s.is_exit] == ["MMIO/PIO kick (ioeventfd)"]
    assert not [s for s in micro if "KVM_RUN returns" in s.step]
    assert any("VMM thread woken" in s.step for s in micro)
    # the virtio backend in QEMU (io=virtio) is reached by an exit to user space instead
    qemu = kit.hypervisor("kvm", HW, io="virtio")
    assert any("KVM_RUN returns" in s.step for s in CostModel(kit.load_hardware(HW), qemu).path("io_kick"))


def _iops(mode: str, qd: int, seed: int = 3) -> float:
    r = kit.run(kit.Spec.make(hardware=HW, hypervisor=mode, workload="fio-randread", params={"queue_depth": qd},
                              duration=0.1, seed=seed, engine="discrete"))
    return float(r.summary["value"].iloc[0])


def test_the_blocking_block_engine_serves_one_request_at_a_time():
    """Effect: the VMM's thread waits for the disk in its system call, so with 32 reads outstanding the device
    still serves one at a time: no more IOPS than one over its mean service time. Absence: QEMU's virtio-blk (kvm)
    keeps the device's queue full, far above that bound."""
    one_at_a_time = 1.0 / (kit.load_hardware(HW).val("disk_service_ms") / 1000.0)
    assert _iops("microvm", 32) < 1.05 * one_at_a_time
    kvm = _iops("kvm", 32)
    assert kvm > 4 * one_at_a_time
    assert kvm > 4 * _iops("kvm", 1)


def test_the_breakdown_names_the_vmm_and_its_exits():
    r = kit.run(kit.Spec.make(hardware=HW, hypervisor="microvm", workload="fio-randread", duration=0.05, seed=1,
                              engine="discrete"))
    cats = set(r.breakdown["category"])
    assert "backend: vmm" in cats and "exit: virtio-mmio interrupt status read" in cats
    ex = r.exits.set_index("reason")["count"]
    # one completion interrupt per read, each acknowledged with an exit
    assert ex["virtio-mmio interrupt acknowledge write"] == pytest.approx(float(r.summary["units"].iloc[0]), rel=0.1)
    assert "virtio-mmio interrupt status read" not in set(kit.run(kit.Spec.make(
        hardware=HW, hypervisor="kvm", workload="fio-randread", duration=0.05, seed=1, engine="discrete")).exits["reason"])


def test_the_part_tables_list_the_new_values():
    assert "virtio-mmio" in IO and "firecracker" in FAMILY and "microvm" in kit.list_hypervisors()
