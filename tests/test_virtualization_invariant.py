"""Lowering a cost that only virtualization pays never makes a neighbour-free VM faster than native.

A path length the VM's run reads and native's does not (a virtualization cost: an exit's handler, a backend's
per-packet path, a wake-up) is scaled down; the VM's relative performance, against native run under the same
values, stays at or below 1 within the run's noise. And a run made under other path lengths is never answered from
a cache filled under the model's own (the defect behind "KVM's ttcp receive at 1.37x native" when
``kvm.host_driver_pkt`` was halved: the unit cache and the native baseline cache ignored the override, so a VM
costed under the halved path was compared with a native costed under the full one).
"""
from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.costs.codepaths import SOFTWARE, overrides_in_force, path_overrides, path_reads
from kit.inputs.spec import Spec
from kit.run import run

#: Workloads and modes on one profile: a request-response, a transmit stream, a receive stream behind a driver
#: domain, a CPU-bound build under PV paging
CASES = {
    "kvm netperf-rr": dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.05),
    "kvm ttcp tx": dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="ttcp", duration=0.05),
    "xen-hvm ttcp rx": dict(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="ttcp",
                            params={"direction": "rx"}, duration=0.05),
    "xen-pv kernel-build": dict(hardware="skylake-sp-2017", hypervisor="xen-pv", workload="kernel-build",
                                duration=0.3),
}
#: Relative performance a neighbour-free VM may show above 1: the seed's noise between two simulations of the same
#: work (two seeds of KVM's ttcp receive differ by 1.8 points); a mechanism that lets a VM beat native moves it by more
NOISE = 0.02


@functools.cache
def _virtualization_paths(case: str) -> tuple[str, ...]:
    """The path lengths the VM of ``case`` reads and its native baseline does not."""
    spec = Spec.make(seed=5, **CASES[case])
    with path_reads() as vm:
        run(spec, baseline=False)
    with path_reads() as native:
        run(spec.replace(hypervisor="native", mode={}), baseline=False)
    return tuple(sorted(set(vm) - set(native)))


def _relative(spec: Spec, values: dict | None = None) -> float:
    with path_overrides(values or {}):
        return float(run(spec).summary["relative_performance"].iloc[0])


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(case=st.sampled_from(sorted(CASES)), pick=st.integers(0, 10 ** 6), factor=st.floats(0.02, 1.0))
def test_lowering_a_virtualization_cost_never_beats_native(case, pick, factor):
    paths = _virtualization_paths(case)
    assert paths, f"{case}: the VM reads no path native does not"
    path = paths[pick % len(paths)]
    spec = Spec.make(seed=5, **CASES[case])
    rel = _relative(spec, {path: SOFTWARE[path][0] * factor})
    assert rel <= 1.0 + NOISE, f"{case}: {path} x{factor:.3g} makes the VM {rel:.4f} of native"


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="a one-vCPU VM is compared with a one-CPU native: native runs a receive's "
                                       "driver, GRO, protocol and copy on its one CPU, while KVM's host runs the "
                                       "driver, GRO and vhost's copy on a CPU beside the guest's, so with vhost's "
                                       "path cut to 5% KVM's receive pipelines past native (1.036). Giving native an "
                                       "interrupt CPU of its own fixes this but moves Barham et al.'s native ttcp "
                                       "RX at MTU 500 from 600 to 660 Mb/s against the published 544 (a one-CPU "
                                       "native), so the comparison's semantics, not a cost, decides it")
def test_kvm_receive_stream_with_a_cheap_vhost_never_beats_native():
    spec = Spec.make(seed=5, hardware="skylake-sp-2017", hypervisor="kvm", workload="ttcp",
                     params={"direction": "rx"}, duration=0.05)
    assert _relative(spec, {"kvm.vhost_pkt": SOFTWARE["kvm.vhost_pkt"][0] * 0.05}) <= 1.0 + NOISE


def test_a_run_under_other_path_lengths_is_not_answered_from_the_caches():
    """The same VM and its native baseline, run first under the model's own path lengths and then with the host
    driver's halved, give what a process that only ever ran the halved ones gives: native reads the path too (its
    stack's driver share), so both sides move and the VM stays below native."""
    spec = Spec.make(seed=11, hardware="skylake-sp-2017", hypervisor="kvm", workload="ttcp",
                     params={"direction": "rx"}, duration=0.05)
    before = run(spec).summary.iloc[0]
    halved = {"kvm.host_driver_pkt": SOFTWARE["kvm.host_driver_pkt"][0] * 0.5}
    with path_overrides(halved):
        assert overrides_in_force()
        after = run(spec).summary.iloc[0]
        native_alone = float(run(spec.replace(hypervisor="native", mode={}), baseline=False).summary["value"].iloc[0])
    assert overrides_in_force() == ""
    assert float(after["native_value"]) == pytest.approx(native_alone, rel=1e-12)
    assert float(after["native_value"]) > float(before["native_value"]) * 1.1  # native's driver share is cheaper
    assert float(after["relative_performance"]) <= 1.0 + NOISE
    assert float(run(spec).summary["native_value"].iloc[0]) == float(before["native_value"])  # and back again


def test_a_run_under_a_replaced_constant_is_not_answered_from_the_caches():
    """A module constant replaced for model uncertainty (here GRO's per-frame work, which native's receive reads)
    reaches the cached native baseline and the cached unit as a path length does."""
    from kit.uncertainty.overrides import constants_replaced
    spec = Spec.make(seed=11, hardware="skylake-sp-2017", hypervisor="kvm", workload="ttcp",
                     params={"direction": "rx"}, duration=0.05)
    before = float(run(spec).summary["native_value"].iloc[0])
    with constants_replaced({"const.GRO_FRAME_INSTR": 4.0 * 300}):
        assert "GRO_FRAME_INSTR" in overrides_in_force()
        during = float(run(spec).summary["native_value"].iloc[0])
    assert during < before * 0.97  # native merges every received frame: four times GRO's work is slower
    assert float(run(spec).summary["native_value"].iloc[0]) == before
