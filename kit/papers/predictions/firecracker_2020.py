"""Blind predictions, sixth set (issue 24, section 1): Agache et al., "Firecracker: Lightweight Virtualization for
Serverless Applications" (NSDI 2020), on its testbed, in ``data/predictions/predictions-firecracker-2020.csv``, and
the generator that computed it (:func:`predict_firecracker`).

The rows, by experiment (:func:`firecracker_rows`):

- boot time to the guest's init, pre-configured and end-to-end, serially and 50 or 100 at a time, median and 99th
  percentile, for Firecracker, QEMU and Cloud Hypervisor; the VMM's memory overhead per microVM for the three. The
  model has no lifecycle and no account of a VMM process's memory yet (issue 24, section 3 adds the lifecycle after
  this file is committed), so these rows are committed as *not modelled* with the reason, not left out.
- iperf3 throughput between the guest and the host, one and ten streams, the guest transmitting and receiving, for
  Firecracker (the kit's ``microvm``), QEMU with vhost-net (``kvm``) and with its user-space virtio-net (``kvm``
  with ``io=virtio``), with the kit's native stream beside them; the paper's reference, the host's loopback device
  (a 64 KiB MTU and no NIC), and Cloud Hypervisor (virtio-pci devices each served by a thread of a Rust VMM, a
  composition the kit's parts do not have) are *not modelled*.
- fio 4 KiB random reads: IOPS with 32 requests outstanding and the 99th-percentile latency of one outstanding,
  for bare metal, Firecracker and QEMU (Cloud Hypervisor *not modelled*).

Every predicted value is a mean over consecutive seeds with a 95% Student's t interval (:func:`kit.stats.t_interval`)
whose half-width is under :data:`MAX_REL_HALF_WIDTH` of the mean; a value relative to native is the mean of the
per-seed ratios (native and the mode share each seed), with its own interval. The seeds' interval is the
simulation's noise only: where the bottleneck runs deterministic work (a saturated VMM thread) it is near zero. What
the model does not know is shown beside it: ``value_paths_half`` and ``value_paths_double`` are the value on the
first seed with the system's estimated backend paths (``sensitivity_paths``) at half and twice their estimate. ``explained_by`` names the categories
whose time per unit of work grew most against native and the utilization of the VM's I/O thread; ``assumptions``
says what was taken where the model or the recalled setup is silent. The published results were not looked up, and
nothing was adjusted after computing: the microVM mode and the ``streams`` parameter of a stream workload were
committed before this generator ran. :data:`PREDICTION_SET` records the file's digest and model commit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...costs.codepaths import SOFTWARE, path_overrides
from ...errors import HvkitError
from ...results.tables import latency_stats
from ...inputs.spec import Spec
from ...run import compare, run
from ...stats import t_interval
from ...version import __version__
from .prediction_set import PredictionSet
from .rows import explained, per_unit

__all__ = ["PREDICTION_SET", "MODEL_COMMIT", "PAPER", "TESTBED_HW", "TESTBED", "NOT_MODELLED", "BLIND", "MAX_REL_HALF_WIDTH", "FcRow", "firecracker_rows",
           "predict_firecracker", "SYSTEMS", "BACKEND_PATHS", "SENSITIVITY"]

#: The model the committed file was computed at (its generator's commit: the microVM mode and the streams parameter
#: on main d1b6de0, no other model change)
MODEL_COMMIT = "a52121c"
PAPER = ("Agache, Brooker, Florescu, Iordache, Liguori, Neugebauer, Piwonka and Popa, Firecracker: Lightweight "
         "Virtualization for Serverless Applications, NSDI 2020")
#: The testbed as recalled: an EC2 m5d.metal (two 24-core Xeon Platinum 8175M at 2.5 GHz, 384 GiB, local NVMe
#: drives, 25 Gbit/s networking): the skylake-sp-2017 profile (a Skylake-SP Xeon) with the instance's clock, cores,
#: memory and last-level cache
TESTBED_HW: tuple[tuple[str, Any], ...] = (("freq_ghz", 2.5), ("cores_per_socket", 24), ("memory_gib", 384),
                                          ("llc_mib", 33))
TESTBED = ("EC2 m5d.metal as recalled (two Xeon Platinum 8175M, 24 cores each at 2.5 GHz, 384 GiB, local NVMe "
           "SSDs, 25 Gbit/s): profile skylake-sp-2017 (Skylake-SP) with hw.freq_ghz=2.5, hw.cores_per_socket=24, "
           "hw.memory_gib=384, hw.llc_mib=33 (AWS's m5d.metal and Intel's 8175M specifications); the NVMe drive "
           "is the profile's estimate (a datacenter NVMe SSD of the P4510 class: 0.08 ms per random 4 KiB read)")
NOT_MODELLED = "not modelled"
BLIND = ("the published results were not looked up (with the search tool, on disk or elsewhere); results of this "
         "paper that may be remembered were not used; nothing was adjusted after computing")
#: Largest accepted 95% half-width of a predicted value, relative to its mean
MAX_REL_HALF_WIDTH = 0.05
#: The systems of the paper, as the kit composes them (None: no composition)
SYSTEMS: dict[str, tuple[str, tuple[tuple[str, Any], ...]] | None] = {
    "Firecracker": ("microvm", ()),
    "QEMU, vhost-net": ("kvm", ()),
    "QEMU, user-space virtio-net": ("kvm", (("io", "virtio"),)),
    "bare metal": ("native", ()),
    "Cloud Hypervisor": None,
}
#: The estimated backend paths each system's I/O runs through (per packet, per disk request), whose plausible range
#: (0.5-2x, their sources say) the sensitivity columns span
BACKEND_PATHS: dict[str, tuple[str, ...]] = {
    "Firecracker": ("firecracker.vmm_virtio_pkt", "firecracker.vmm_blk_op"),
    "QEMU, vhost-net": ("kvm.vhost_pkt", "kvm.qemu_blk_op"),
    "QEMU, user-space virtio-net": ("kvm.qemu_virtio_pkt", "kvm.qemu_blk_op"),
}
#: The factors of the sensitivity columns
SENSITIVITY = (0.5, 2.0)
_CH = ("not modelled: Cloud Hypervisor (a Rust VMM whose virtio-pci devices each have a thread of their own, with "
       "MSI-X interrupts) is a composition the kit's parts do not have: its I/O path would need a per-device user-space "
       "backend over PCI")
_BOOT = ("not modelled: the model has no lifecycle yet (creating the VMM process, the API calls that configure it, "
         "loading the kernel, the guest kernel's boot to init, and what concurrent boots contend for); issue 24, "
         "section 3 adds it after this file is committed")
_MEMORY = ("not modelled: the model has no account of a VMM process's own memory (its binary, heap, thread stacks "
           "and device state) beside the guest's")
_LOOPBACK = ("not modelled: the host's loopback device (a 64 KiB MTU, no NIC, both iperf3 ends on the host's CPUs) "
             "is not a path the kit has; the kit's native stream goes through the host's NIC at a 1500-byte MTU")


@dataclass(frozen=True)
class FcRow:
    """One row: an experiment's configuration under one system; ``params`` and ``duration`` make its runs
    (``status`` not modelled: ``reason`` says why)."""

    experiment: str
    benchmark: str
    configuration: str
    system: str
    metric: str
    unit: str
    workload: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    statistic: str = "value"
    seeds: int = 0
    duration: float = 0.0
    reason: str = ""


def firecracker_rows() -> list[FcRow]:
    """Every row of the file, in order: boot, memory overhead, iperf3, fio."""
    rows: list[FcRow] = []
    for system in ("Firecracker, pre-configured", "Firecracker, end-to-end", "QEMU", "Cloud Hypervisor"):
        for concurrency in ("serially", "50 at a time", "100 at a time"):
            for stat in ("median", "99th percentile"):
                rows.append(FcRow("boot", "boot time to the guest's init", f"{concurrency}, {stat}", system,
                                  f"{stat} boot time to init", "ms", reason=_BOOT))
    for system in ("Firecracker", "QEMU", "Cloud Hypervisor"):
        rows.append(FcRow("memory", "the VMM's memory overhead per microVM", "one microVM", system,
                          "VMM resident memory beyond the guest's", "MiB", reason=_MEMORY))
    for direction, who in (("tx", "guest transmits to the host"), ("rx", "guest receives from the host")):
        for streams in (1, 10):
            conf = f"{streams} stream{'s' if streams > 1 else ''}, {who}"
            params = (("direction", direction), ("streams", streams))
            rows.append(FcRow("iperf3", "iperf3 TCP throughput", conf, "host loopback", "throughput", "Mbit/s",
                              reason=_LOOPBACK))
            for system in ("bare metal", "Firecracker", "QEMU, vhost-net", "QEMU, user-space virtio-net"):
                rows.append(FcRow("iperf3", "iperf3 TCP throughput", conf, system, "throughput", "Mbit/s", "ttcp",
                                  params, seeds=5, duration=0.3))
            rows.append(FcRow("iperf3", "iperf3 TCP throughput", conf, "Cloud Hypervisor", "throughput", "Mbit/s",
                              reason=_CH))
    fio: tuple[tuple[str, tuple[tuple[str, Any], ...], str, str, str, float], ...] = (
        ("32 outstanding", (("queue_depth", 32),), "value", "IOPS", "IOPS", 0.3),
        ("1 outstanding", (("queue_depth", 1),), "p99", "99th-percentile latency", "us", 0.5))
    for conf, fparams, stat, metric, unit, dur in fio:
        for system in ("bare metal", "Firecracker", "QEMU, vhost-net"):
            rows.append(FcRow("fio", "fio 4 KiB random read", conf, system, metric, unit, "fio-randread", fparams,
                              stat, seeds=10, duration=dur))
        rows.append(FcRow("fio", "fio 4 KiB random read", conf, "Cloud Hypervisor", metric, unit, reason=_CH))
    return rows


_ASSUMPTIONS = {
    "iperf3": "iperf3 -P N characterized as the ttcp preset (the same kernel work per 1448-byte segment: both write "
              "large buffers to TCP sockets), N streams each with its own 64 KiB window, in a guest of one vCPU "
              "(Firecracker's default machine configuration; the paper's guest size is not recalled) for every "
              "system; the kit's stream goes through the host's NIC (25 Gbit/s, not reached) where iperf3 talked to "
              "the host over the VM's tap device, and the host's own iperf3 work on the other end is not charged; "
              "QEMU is given both with vhost-net and with its user-space virtio-net, the paper's choice not being "
              "recalled; no segmentation offload (TSO, GRO) on any path (the kit charges per 1500-byte segment)",
    "fio": "fio-randread (direct 4 KiB random reads, one job) in a guest of one vCPU, bare metal on the same drive; "
           "Firecracker's block device serves each request with a blocking read on its backing file in the VMM "
           "thread (before v1.0), taken to miss the host's page cache (a file much larger than memory); QEMU's "
           "virtio-blk through its block layer (the kvm preset's disk path, whatever its network); one drive "
           "of the profile's estimate (the m5d's NVMe drives were not characterized)",
}


def _ci(values: Sequence[float], where: str) -> tuple[float, float]:
    mean, half = t_interval([float(v) for v in values])
    if half is None:
        raise HvkitError("an interval needs at least two seeds", where=where, field="seeds", value=len(values),
                         allowed="2 or more")
    return mean, half


def _stat(res, run_id: int, stat: str) -> float:
    if stat == "p99":
        lat = res.latency[res.latency["run"] == run_id]
        return float(latency_stats(lat).iloc[0]["p99_us"])
    return float(res.summary.loc[res.summary["run"] == run_id, "value"].iloc[0])


def _empty(r: FcRow, model_commit: str) -> dict:
    return {"experiment": r.experiment, "paper": f"{PAPER}; expected in the evaluation ({r.experiment})",
            "testbed": TESTBED, "benchmark": r.benchmark, "configuration": r.configuration, "system": r.system,
            "hardware": "skylake-sp-2017", "hw_overrides": ";".join(f"{k}={v}" for k, v in TESTBED_HW),
            "hypervisor": "", "mode_overrides": "", "workload": r.workload,
            "params": ";".join(f"{k}={v}" for k, v in r.params), "knobs": "", "metric": r.metric, "unit": r.unit,
            "mean": "", "ci_low": "", "ci_high": "", "ci_half_width": "", "native_mean": "",
            "relative_to_native": "", "relative_ci_low": "", "relative_ci_high": "", "sensitivity_paths": "",
            "value_paths_half": "", "value_paths_double": "", "seeds": "", "first_seed": "",
            "duration": "", "explained_by": "", "assumptions": r.reason, "status": NOT_MODELLED,
            "kit_version": __version__, "model_commit": model_commit}


def predict_firecracker(rows: Sequence[FcRow] | None = None, first_seed: int = 2020, model_commit: str = "",
                        require_width: bool = True) -> pd.DataFrame:
    """The file's table: each predicted row's runs under its system and natively on the same seeds (systems of the
    same experiment and configuration share their native runs), and the not-modelled rows with their reasons."""
    rows = list(rows) if rows is not None else firecracker_rows()
    hw = dict(TESTBED_HW)
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        if not r.reason:
            groups.setdefault((r.workload, r.params, r.statistic, r.seeds, r.duration), []).append(i)
    out: dict[int, dict] = {i: _empty(r, model_commit) for i, r in enumerate(rows) if r.reason}
    for (workload, params, stat, seeds, duration), members in groups.items():
        systems = [SYSTEMS[rows[i].system] for i in members]
        virt = [(s, m) for s, m in systems if s != "native"]  # type: ignore[misc]
        got: dict[int, dict[str, list]] = {i: {"v": [], "rel": [], "runs": []} for i in members}
        native_v: list[float] = []
        native_runs: list = []
        util: dict[int, list[str]] = {i: [] for i in members}
        for k in range(seeds):
            kw: dict[str, Any] = dict(seed=first_seed + k, duration=duration, params=dict(params), engine="discrete",
                                      hw=hw)
            by_mode: dict[tuple, tuple] = {}
            for preset, mode in dict.fromkeys(virt):
                res = compare("skylake-sp-2017", workload, ["native", preset], mode=dict(mode), **kw)
                bad = res.summary[res.summary["error"] != ""]
                if len(bad):
                    raise HvkitError("a predicted run failed", where=f"firecracker {workload}", field="hypervisor",
                                     value=bad["hypervisor"].iloc[0], allowed=bad["error"].iloc[0])
                by_mode[(preset, mode)] = (res, int(res.summary["run"].iloc[1]))
                native = (res, int(res.summary["run"].iloc[0]))  # the same seed and inputs every time
            nat_value = _stat(native[0], native[1], stat)
            native_v.append(nat_value)
            native_runs.append(per_unit(*native))
            for i in members:
                preset, mode = SYSTEMS[rows[i].system]  # type: ignore[misc]
                if preset == "native":
                    got[i]["v"].append(nat_value)
                    got[i]["rel"].append(1.0)
                    continue
                res, run_id = by_mode[(preset, mode)]
                v = _stat(res, run_id, stat)
                got[i]["v"].append(v)
                # relative performance: higher is better for throughput, lower for latency
                got[i]["rel"].append(v / nat_value if stat == "value" else nat_value / v)
                got[i]["runs"].append(per_unit(res, run_id))
                srow = res.summary.loc[res.summary["run"] == run_id].iloc[0]
                util[i].append(f"{srow['backend_util'] or 'none'}; the disk busy {srow['disk_util']:.2f}, the NIC "
                               f"transmitting {srow['nic_tx_util']:.2f} and receiving {srow['nic_rx_util']:.2f} of "
                               f"the time")
        nm, _ = _ci(native_v, f"firecracker {workload} native")
        for i in members:
            r = rows[i]
            preset, mode = SYSTEMS[r.system]  # type: ignore[misc]
            where = f"firecracker {r.benchmark} {r.configuration} {r.system}"
            m, h = _ci(got[i]["v"], where)
            rm, rh = _ci(got[i]["rel"], where) if preset != "native" else (1.0, 0.0)
            if require_width and h >= MAX_REL_HALF_WIDTH * abs(m):
                raise HvkitError("confidence interval too wide: raise seeds or duration", where=where, field="seeds",
                                 value=f"{seeds} seeds, half-width {h / abs(m):.1%} of the mean",
                                 allowed=f"under {MAX_REL_HALF_WIDTH:.0%} of the mean")
            if preset == "native":
                why = "bare metal: the reference (relative 1 by definition)"
            else:
                grew = explained(native_runs, got[i]["runs"])
                why = f"grew against native: {grew}; I/O threads' utilization (first seed): {util[i][0]}"
            row = _empty(r, model_commit)
            if preset != "native":
                sens = [_sensitivity(r, factor, first_seed, hw) for factor in SENSITIVITY]
                row.update({"sensitivity_paths": ";".join(BACKEND_PATHS[r.system]),
                            "value_paths_half": _sig(sens[0]), "value_paths_double": _sig(sens[1])})
            row.update({
                "hypervisor": preset, "mode_overrides": ";".join(f"{k}={v}" for k, v in mode),
                "knobs": "vcpus=1", "mean": _sig(m), "ci_low": _sig(m - h), "ci_high": _sig(m + h),
                "ci_half_width": _sig(h), "native_mean": _sig(nm), "relative_to_native": round(rm, 4),
                "relative_ci_low": round(rm - rh, 4), "relative_ci_high": round(rm + rh, 4), "seeds": seeds,
                "first_seed": first_seed, "duration": float(duration), "explained_by": why,
                "assumptions": f"{_ASSUMPTIONS[r.experiment]}; {BLIND}", "status": "predicted"})
            out[i] = row
    return pd.DataFrame([out[i] for i in range(len(rows))])


def _sensitivity(r: FcRow, factor: float, seed: int, hw: dict) -> float:
    """Row ``r``'s value on its first seed with its system's estimated backend paths (:data:`BACKEND_PATHS`) scaled
    by ``factor``: how far the prediction moves across their plausible range."""
    preset, mode = SYSTEMS[r.system]  # type: ignore[misc]
    with path_overrides({k: SOFTWARE[k][0] * factor for k in BACKEND_PATHS[r.system]}):
        res = run(Spec.make(hardware="skylake-sp-2017", hypervisor=preset, workload=r.workload, mode=dict(mode),
                            seed=seed, duration=r.duration, params=dict(r.params), engine="discrete", hw=hw),
                  baseline=False)
    return _stat(res, int(res.summary["run"].iloc[0]), r.statistic)


def _sig(x: float, digits: int = 5) -> float:
    return float(f"{x:.{digits}g}")


PREDICTION_SET = PredictionSet(
    file="predictions-firecracker-2020.csv",
    sha256="d989b38f990391ae1c3bf98595ed15d7f1b8367e93a9d79f53f4e0ba11dde03a",
    model_commit=MODEL_COMMIT, citation=PAPER, generator=lambda: predict_firecracker(model_commit=MODEL_COMMIT),
    committed="committed with its generator's digest, computed at model a52121c (the microVM mode, before any "
              "failure or lifecycle mechanism)")
