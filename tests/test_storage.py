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


def _fio(mode: str, duration: float = 0.2, **params) -> kit.Result:
    return run(Spec.make(hardware=FELTER, hypervisor=mode, workload="fio-randread", vcpus=32, duration=duration,
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
    kvm = _fio("kvm", duration=0.05)  # 50 ms: some 3,000 reads, no short-run warning; the thread is saturated from the start
    assert kvm.summary["relative_performance"].iloc[0] < 0.75 and not kvm.summary["warnings"].iloc[0]
    assert _busy(kvm, "qemu") > 0.95
    monkeypatch.setattr(disk_costs, "HOST_BLOCK_REQUEST_INSTR", (0, "absent"))
    lighter = _fio("kvm", duration=0.05)
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


# ---- blkback's turns between frontends ---------------------------------------------------------------------

def _blkback_host(hog_depth: int, hogs: int, monkeypatch=None, pending: int | None = None, duration: float = 2.0):
    """A Xen PV host on the 2008 testbed: a victim VM reading at random, one request at a time, beside ``hogs`` VMs
    whose disk hogs keep ``hog_depth`` requests each in flight. Returns the host after the run."""
    from kit.consolidation import _simulate
    from kit.inputs.scenario import Scenario
    from kit.sim import devices
    if pending is not None:
        monkeypatch.setattr(devices, "BLKBACK_MAX_PENDING", (pending, "test"))
    vms = [{"name": "victim", "workload": "fio-randread", "params": {"queue_depth": 1}}]
    vms += [{"name": f"hog{k}", "workload": "disk-hog", "params": {"queue_depth": hog_depth}, "measured": False}
            for k in range(hogs)]
    scn = Scenario.make(hardware="core2-2008", hypervisor="xen-pv", duration=duration, seed=5, vms=vms)
    host, _, _ = _simulate(scn)
    return host


def _victim_reads(host) -> int:
    vm, _, _ = host.latencies.columns()
    return int((vm == 0).sum())


def test_blkback_serves_frontends_in_turns_once_its_pool_binds(monkeypatch):
    """Three hogs keep 64 requests each queued in blkback's rings: the 64 requests blkback lets below itself bind,
    and once fewer than half are in flight blkio_schedule takes up to 16 from each frontend with requests in turn,
    so the victim's read waits for the pool to drain and for a batch of each hog, not for everything they queued
    before it. With a pool that never binds (every request straight to the disk's one queue, first come first
    served) the victim waits behind all 192 and completes far fewer reads."""
    turns = _blkback_host(64, 3, duration=20.0)
    assert turns.disk_dispatch is not None and turns.disk_dispatch.held > 0
    fcfs = _blkback_host(64, 3, monkeypatch, pending=10**9, duration=20.0)
    assert fcfs.disk_dispatch.held == 0
    assert _victim_reads(turns) > 1.3 * _victim_reads(fcfs)


def test_a_hog_with_a_few_requests_in_flight_never_waits_for_its_turn():
    """Matthews et al.'s disk hog as the kit takes it (8 requests in flight, workloads/disk-hog.yaml): below half
    of blkback's pool, so every request goes to the disk at once and the disk's queue is first come first served;
    KVM has no blkback (its disk is QEMU's)."""
    assert _blkback_host(8, 1).disk_dispatch.held == 0
    from kit.inputs.resolve import resolve
    from kit.sim.host import Host
    kvm = Host(resolve(Spec.make(hardware="core2-2008", hypervisor="kvm", workload="disk-hog", duration=0.01)))
    assert kvm.disk_dispatch is None
