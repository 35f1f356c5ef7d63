"""The storage path by mechanism: the block layer a VM's request crosses twice (the guest's, then the host's or the
driver domain's below its backend), QEMU's one I/O thread that serializes a VM's disk requests, a device whose
parallel servers share one data link, and the round-robin batching of Xen's blkback between frontends."""
from __future__ import annotations

import pytest

import kit
from kit.inputs.spec import Spec
from kit.run import run

# ---- QEMU's I/O thread and the device's link -------------------------------------------------------------

FELTER = "sandybridge-ep-2665-2012"


def _fio(mode: str, **params) -> kit.Result:
    return run(Spec.make(hardware=FELTER, hypervisor=mode, workload="fio-randread", vcpus=32, duration=0.2,
                         seed=1, params={"queue_depth": 128, **params}))


def _busy(res: kit.Result, backend: str) -> float:
    """The share of the run a backend's thread was working (its breakdown without idle time)."""
    row = res.summary[res.summary["hypervisor"] != "native"].iloc[0]
    b = res.breakdown[(res.breakdown["run"] == row["run"]) & (res.breakdown["entity"] == "backend")
                      & (res.breakdown["category"] != "idle")]
    return float(b[b["scope"].str.contains(f".{backend}.")]["seconds"].sum()) / float(row["duration"])


def test_qemu_s_one_thread_bounds_small_random_reads_at_a_deep_queue(monkeypatch):
    """KVM's virtio-blk requests pass through QEMU's one I/O thread, which for each pops the virtqueue, runs QEMU's
    block layer, submits to the host kernel's block layer (io_submit, aio=native) and injects the completion: at
    128 outstanding 4 KiB reads that thread is always busy and caps the VM well below the device, which native
    reaches. Without the host block layer's second pass (HOST_BLOCK_REQUEST_INSTR zero) the thread keeps up."""
    from kit.sim import disk_costs
    kvm = _fio("kvm")
    assert kvm.summary["relative_performance"].iloc[0] < 0.75
    assert _busy(kvm, "qemu") > 0.95
    monkeypatch.setattr(disk_costs, "HOST_BLOCK_REQUEST_INSTR", (0, "absent"))
    lighter = _fio("kvm")
    assert lighter.summary["relative_performance"].iloc[0] > kvm.summary["relative_performance"].iloc[0] + 0.15


def test_a_large_sequential_request_hides_the_per_request_path():
    """1 MiB sequential reads: the device's link (disk_mbps) is the bottleneck natively and in KVM alike, and the
    per-request work of QEMU's thread is a small share of a transfer's time, so the VM keeps pace; a disk's parallel
    servers share that link (16 servers do not move 16 times its bandwidth)."""
    seq = dict(disk_kb=1024, disk_random=False)
    kvm = _fio("kvm", **seq)
    assert kvm.summary["relative_performance"].iloc[0] > 0.98
    native_mbps = kvm.summary["native_value"].iloc[0] * 1024 * 1024 / 1e6
    assert native_mbps == pytest.approx(1600, rel=0.1)
