"""Calibration report: published microbenchmark values beside the model's.

``data/published/calibration.csv`` holds the published measurements of
``shared/reference/calibration.csv`` with five columns added that say how the
kit reproduces each row: ``hardware``, ``hypervisor``, ``overrides`` (mode
parts, ``key=value`` separated by ``;``), ``op`` and ``compare``:

- ``value``: the operation's modelled cost;
- ``extra_over_native``: the cost minus the same operation on native;
- ``difference``: ``op_a-op_b``, the difference of two operations;
- ``step:<name>``: the cycles of one step of the operation's path;
- ``parameter``: a model constant (batch limits, scheduler constants, walk
  references);
- ``macro``: an application-level result, which is a prediction of the
  system model and is not a calibration target here.
"""
from __future__ import annotations

import math

import pandas as pd

from ..costs.events import PV_BATCH_MAX, CostModel
from ..errors import HvkitError
from ..inputs.hardware import load_hardware
from ..costs.microbench import op_path
from ..inputs.modes import hypervisor
from ..inputs.resolve import resolve_platform
from ..inputs.spec import parse_set, route
from ..inputs.files import data_dir
from ..sim.params import CREDIT

__all__ = ["load_calibration", "calibrate", "summary", "GAPS"]

#: Known gaps: why the model misses some rows by more than 25 percent.
GAPS = {
    ("vmware-workstation-3.2", "lmbench select TCP"): "binary translation's kernel-code penalty is one uniform call density (one call/return per 50 instructions); select's poll loop calls far more often than that",
    ("xen-pv", "lmbench signal handler"): "Xen PV is faster than native in the paper (1.75 vs 2.49 us); the model has no mechanism that makes a PV guest faster than native, and it says so rather than fit one",
    ("xen-pv", "lmbench fork"): "the model validates every entry of each pinned page-table page; Xen 1.0 skipped entries of unmapped ranges and batched pins, which the model does not represent",
    ("vmware-workstation-3.2", "lmbench sh"): "one trace-fault cost serves fork, exec and sh; sh runs more of its PTE writes in batches that Workstation 3.2 absorbed more cheaply than the model assumes",
    ("vmware-workstation-3.2", "lmbench ctxsw 2p/64K"): "the model rebuilds a shadow entry for every page of the 64 KiB array after each switch; Workstation 3.2 evidently prefilled part of them",
    ("xen-pv", "lmbench ctxsw 16p/16K"): "cache pollution by Xen's own data on every switch grows with the number of processes; the model charges no cache footprint for the hypervisor",
    ("vmware-workstation-3.2", "lmbench ctxsw 16p/16K"): "the model's hidden faults per switch depend on pages touched, not on the number of processes; with 16 processes Workstation 3.2 lost more (likely shadow-cache thrashing)",
    ("software-vmm-bt", "PTE modification"): "the model charges the translated INVLPG a VMM callout; the nanobenchmark's 391 cycles may not include an invalidation",
    ("kvm-arm", "mmio_read_user"): "the exit to userspace on Altra is costed with KVM x86's measured path lengths (kvm.user_exit) at the profile's CPI; arm64 KVM's return to the VMM is shorter than x86's of 2012",
    ("kvm-arm", "hvc"): "the VHE exit path (350 instructions) is estimated, not calibrated; the 2024 kernel's measured 306 ns includes run-loop work the model does not list (vcpu requests, pending-exception and timer checks)",
    ("kvm-arm", "mmio_read_vgic"): "the VGIC distributor emulation with VHE is estimated from split-mode KVM's; the measured path also takes the vgic lock and decodes the access in software",
    ("kvm-arm", "eoi"): "a virtual EOI is a fixed 60-cycle estimate in the model; Altra's GICv3 CPU interface completes it in about 40 cycles",
    ("kvm-arm", "ipi"): "the model charges the sender's trap, the handler and the receiver's delivery; the measured round trip also waits for the target vCPU's scheduling and software SGI emulation",
    ("kvm", "vmcall"): "KVM's current exit path is calibrated on Sandy Bridge (Dall et al.: 1,300 cycles); the 2020 Skylake-SP kernel adds Spectre-era mitigations on every exit (IBRS, RSB filling, L1D flush checks) that the model does not add",
}


def load_calibration() -> pd.DataFrame:
    """The published rows with the columns that map them onto the model."""
    path = data_dir() / "published" / "calibration.csv"
    if not path.exists():
        raise HvkitError("published calibration data is missing", where=str(path))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = {"source", "table", "testbed", "system", "metric", "value", "unit", "provenance",
                "hardware", "hypervisor", "overrides", "op", "compare"}
    missing = required - set(df.columns)
    if missing:
        raise HvkitError("missing columns", where=str(path), value=sorted(missing), allowed=sorted(required))
    return df


def _parse_overrides(text: str) -> dict:
    """A row's ``overrides`` (``key=value`` pairs separated by ``;``) in the ``--set`` language: mode parts."""
    pairs = [parse_set(p) for p in text.split(";") if p.strip()]
    return route([(f"mode.{k}", v) for k, v in pairs]).mode


def _cycles(op, hw, mode):
    return sum(s.cycles for s in op_path(op, hw, mode))


def _parameter(name: str):
    if name == "pv_batch_max":
        return PV_BATCH_MAX[0]
    if name == "nested_walk_refs_4x4":
        hw = load_hardware("skylake-sp-2017").with_overrides({"pwc_skip_levels": 0})
        return CostModel(hw, hypervisor("kvm", hw)).walk_refs(nested=True)
    if name == "credit_weight":
        return CREDIT["weight"][0]
    if name == "credit_slice_ms":
        return CREDIT["slice_ms"][0]
    if name == "credit_tick_ms":
        return CREDIT["tick_ms"][0]
    raise HvkitError("unknown model parameter", field="op", value=name)


def model_value(row) -> float:
    """The model's value for one mapped row (cycles, us or the parameter's unit)."""
    cmp = row["compare"]
    if cmp == "parameter":
        return float(_parameter(row["op"]))
    hw, mode = resolve_platform(row["hardware"], row["hypervisor"], mode_overrides=_parse_overrides(row["overrides"]))
    if cmp == "value":
        cycles = _cycles(row["op"], hw, mode)
    elif cmp == "extra_over_native":
        cycles = _cycles(row["op"], hw, mode) - _cycles(row["op"], hw, hypervisor("native", hw))
    elif cmp == "difference":
        a, b = row["op"].split("-")
        cycles = _cycles(a, hw, mode) - _cycles(b, hw, mode)
    elif cmp.startswith("step:"):
        name = cmp[5:]
        cycles = sum(s.cycles for s in op_path(row["op"], hw, mode) if s.step == name)
    else:
        raise HvkitError("unknown comparison", field="compare", value=cmp,
                         allowed=["value", "extra_over_native", "difference", "step:<name>", "parameter", "macro"])
    if row["unit"] == "us":
        return cycles / (hw.val("freq_ghz") * 1000.0)
    return cycles


def calibrate(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published row the kit covers, with the model's value and relative error.

    ``rows`` defaults to ``data/published/calibration.csv`` (the calibration
    targets); pass :func:`kit.published.load_published` for every published row.
    ``rel_error`` is ``model / published - 1``; ``ratio`` is the larger of
    ``model/published`` and its inverse. Rows whose native value is an input
    to the operation's characterization are flagged ``native_input``.
    """
    df = load_calibration() if rows is None else rows
    df = df[df["compare"] != "macro"].copy()
    df["published"] = df["value"].astype(float)
    df["model"] = [model_value(r) for _, r in df.iterrows()]
    df["rel_error"] = df["model"] / df["published"] - 1.0
    df["ratio"] = [max(m / p, p / m) if m > 0 and p > 0 else math.inf
                   for m, p in zip(df["model"], df["published"])]
    df["native_input"] = (df["system"] == "native") & df["op"].str.startswith(("lmbench.", "call/ret", "pgfault", "divzero"))
    df["gap"] = [GAPS.get((s, m), "") for s, m in zip(df["system"], df["metric"])]
    cols = ["source", "table", "system", "metric", "unit", "hardware", "hypervisor", "overrides", "op", "compare",
            "published", "model", "rel_error", "ratio", "native_input", "gap"]
    return df[cols].reset_index(drop=True)


def summary(report: pd.DataFrame) -> dict:
    """Median and worst relative error, over all rows and over virtualized rows only."""
    def stats(d):
        a = d["rel_error"].abs()
        return {"rows": int(len(d)), "median_abs_rel_error": float(a.median()),
                "worst_ratio": float(d["ratio"].max()), "within_25pct": int((a <= 0.25).sum()),
                "beyond_2x": int((d["ratio"] > 2.0).sum())}
    virt = report[~report["native_input"] & (report["compare"] != "parameter")]
    return {"all": stats(report), "virtualized_only": stats(virt)}
