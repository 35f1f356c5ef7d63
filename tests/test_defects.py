"""Defects found in review, each with a test that failed before its fix."""
import pandas as pd
import pytest

import kit
from kit.errors import HvkitError
from kit.inputs.spec import Spec
from kit.results import Result


def _steps(hw, mode, op, **mode_overrides):
    df = kit.microbench(hw, mode, [op], mode_overrides=mode_overrides)
    return [s["step"] for s in df["path"].iloc[0]]


def test_full_emulation_with_vhost_takes_no_hardware_exit():
    """QEMU TCG runs without VT-x: a vhost interrupt reaches the emulated CPU without a VM exit."""
    steps = _steps("skylake-sp-2017", "qemu-tcg", "io_latency_in", io="vhost")
    assert not any(s.startswith(("VM exit", "trap to EL2")) for s in steps), steps
    # the same path under KVM (hardware-assisted, no posted interrupts on Sandy Bridge) does exit
    kvm = _steps("sandybridge-ep-2012", "kvm", "io_latency_in")
    assert any(s.startswith("VM exit") for s in kvm), kvm
