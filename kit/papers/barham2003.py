"""Barham et al., SOSP 2003, Figure 3 and Table 6: the blind predictions, the current model and the gaps.

The 2003 rows of ``data/predictions/predictions.csv`` were predicted blind; Barham et al.'s results have since
been committed (``data/published/barham-2003-macro.csv``, role ``revealed``), so every number the current model
gives for them is in-sample: the mechanisms added after the reveal (Xen 1.0's drivers in the hypervisor, the
native network stack's per-segment cost, interrupt coalescing and ACKs, the hosted VMM's I/O path of Sugerman
et al.) were chosen knowing which rows missed, even though no workload or mode factor was fitted to a row.
:func:`table` sets the frozen blind value, the current model (mean and 95% interval over seeds) and the published
value side by side, with the mechanism behind each gap above :data:`GAP_PTS` points; :func:`native_table`
compares the model's native values with the published native ones first; :func:`sensitivity` says how much
the I/O rows move when an estimated path length is halved or doubled.
"""
from __future__ import annotations

import pandas as pd

from ..costs.codepaths import SOFTWARE, path_overrides
from ..errors import HvkitError
from ..inputs.spec import Spec
from ..run import run
from .blind import frozen_vs_current
from .predictions.testbed_2003 import prediction_specs
from .published import load_published

__all__ = ["GAP_PTS", "MECHANISMS", "table", "native_table", "summary", "sensitivity", "SENSITIVITY_ESTIMATES",
           "SENSITIVITY_ROWS"]

#: A gap (absolute error in points of relative performance) above this needs its mechanism named.
GAP_PTS = 10.0

_VM = "vmware-bt"
#: Per row (hypervisor, workload, params): the mechanism that fixed a blind miss above GAP_PTS, or the mechanism
#: still missing behind a remaining gap above GAP_PTS.
MECHANISMS = {
    ("xen-pv", "ttcp", "direction=tx;mtu=500"): "fixed: Xen 1.0 drove the NIC in the hypervisor (no dom0 "
        "wake-up per batch, no netback or bridge; per packet only the descriptor and header copy, the VFR rules and, "
        "receiving, the page flip; Barham et al. section 3.3), and native ttcp at MTU 500 is CPU-bound on its "
        "per-segment cost, so Xen's per-packet work is a small share of it",
    ("xen-pv", "ttcp", "direction=rx;mtu=500"): "fixed: as for transmit; receiving, Xen flips one page per packet",
    (_VM, "ttcp", "direction=rx;mtu=1500"): "fixed: the hosted VMM's receive path of Sugerman et al. (host driver, "
        "VMNet and a VMApp read per packet on the host; one world switch per delivered batch; a virtual Lance "
        "interrupt with its register accesses) replaces a flat per-packet host cost",
    (_VM, "ttcp", "direction=rx;mtu=500"): "fixed: as at MTU 1500; the remaining 9.6 points over are within the "
        "estimates' reach (see the sensitivity table)",
    (_VM, "ttcp", "direction=tx;mtu=1500"): "missing: the model's transmit takes Sugerman et al.'s optimized path "
        "(the Lance's register accesses handled in the VMM, one world switch per packet); the published 291 Mb/s "
        "implies about 96 k cycles per packet against the model's 63 k, about three more world-switch round trips "
        "per packet, as in the unoptimized path where more register accesses go to the VMApp. Whether Workstation "
        "3.2 shipped the optimized path is not established from a source here, so the model does not switch paths",
    (_VM, "specweb", ""): "missing: the same per-packet hosted transmit cost as ttcp's (most of a response's "
        "segments are sent), and SPECweb99's score counts conforming connections at a bit rate, not requests per "
        "second: the model's request-throughput ratio is an upper bound on the score's ratio when the server "
        "saturates",
    (_VM, "osdb-ir", ""): "missing: a native characterization of OSDB-IR's kernel crossings. Xen's loss (8 "
        "points) and VMware's (54) are both consistent with a few hundred address-space switches or page faults "
        "per query (each 1.2-1.3 us more under Xen, 11-17 us more under Workstation 3.2, Barham et al. Tables 3-5), "
        "where the model's characterization, without a published profile, has 2 of each; it is not changed to "
        "fit Figure 3",
    (_VM, "osdb-oltp", ""): "missing: the loss (0.116 of native) is about 4.4 ms per transaction beyond native, "
        "the size of one synchronous disk write per transaction that natively (and under Xen, 0.953) is not "
        "waited for; the model's hosted disk path (register accesses in the VMM, a world switch and a host "
        "system call per request) costs tens of microseconds. A synchronous write-through of the virtual disk "
        "by Workstation 3.2, or a characterization with hundreds of context switches per transaction, would "
        "explain it; neither has a source here",
}


def _params(row) -> str:
    return row if isinstance(row, str) else ""


def table(current: pd.DataFrame | None = None, seeds: int = 5) -> pd.DataFrame:
    """Figure 3 and Table 6: published, the blind prediction (frozen), the current model (mean, 95% interval,
    seeds; in-sample after the reveal), both errors in points, and the mechanism behind each gap above
    :data:`GAP_PTS` points (``current`` is a precomputed :func:`frozen_vs_current` table of rows 0-19)."""
    t = current if current is not None else frozen_vs_current("predictions.csv", rows=list(range(20)), seeds=seeds)
    t = t.copy()
    t["params"] = t["params"].map(_params)
    keys = list(zip(t["hypervisor"], t["workload"], t["params"]))
    t["mechanism"] = [MECHANISMS.get(k, "") for k in keys]
    t["gap_explained"] = [(abs(e) <= GAP_PTS and (abs(b) <= GAP_PTS or m.startswith("fixed")))
                          or (abs(e) > GAP_PTS and m.startswith("missing"))
                          for e, b, m in zip(t["current_error_pts"], t["blind_error_pts"], t["mechanism"])]
    return t


def summary(t: pd.DataFrame) -> pd.DataFrame:
    """Median and worst absolute error (points), blind and now, over the whole table."""
    rows = []
    for col, label in (("blind_error_pts", "blind (frozen, before the reveal)"),
                       ("current_error_pts", "current model (post-reveal, in-sample)")):
        a = t[col].abs()
        rows.append({"predictions": label, "rows": int(len(t)), "median_abs_error_pts": float(a.median()),
                     "worst_abs_error_pts": float(a.max()), "above_10_pts": int((a > GAP_PTS).sum())})
    return pd.DataFrame(rows)


def native_table(duration: float = 0.3, seed: int = 2003) -> pd.DataFrame:
    """The model's native value of each 2003 workload beside the published native value, where the units agree
    (build time in seconds, ttcp in Mb/s); elsewhere the published metric is a score the model does not compute."""
    pub = load_published("barham-2003-macro")
    seen, rows = set(), []
    for _, spec in prediction_specs()[:20]:
        key = (spec.workload, spec.params)
        if key in seen:
            continue
        seen.add(key)
        settings = ";".join(f"workload.{k}={v}" for k, v in spec.params)
        match = pub[(pub["op"] == spec.workload) & pub["overrides"].str.endswith(settings)] if settings else \
            pub[pub["op"] == spec.workload]
        p = match.iloc[0]
        native = spec.replace(hypervisor="native", mode={}, duration=max(duration, 60.0 if spec.workload ==
                                                                          "kernel-build" else duration))
        r = run(native, baseline=False).summary.iloc[0]
        comparable = p["native_unit"] in ("s", "Mb/s")
        rows.append({"workload": spec.workload, "params": ";".join(f"{k}={v}" for k, v in spec.params),
                     "published_native": float(p["native_value"]), "published_unit": p["native_unit"],
                     "model_native": float(r["value"]), "model_unit": r["unit"],
                     "rel_error": (float(r["value"]) / float(p["native_value"]) - 1.0) if comparable else float("nan"),
                     "note": "" if comparable else "published as a score; the model's metric differs"})
    return pd.DataFrame(rows)


#: Path lengths whose estimates the I/O rows depend on (halved and doubled by :func:`sensitivity`)
SENSITIVITY_ESTIMATES = ["xen.vif_tx_pkt", "xen.vif_rx_pkt", "vmware.vlance_port", "vmware.host_net_pkt",
                         "vmware.host_disk_op", "kvm.host_driver_pkt", "kvm.copy_kb", "xen.netback_pkt",
                         "xen.grant_copy_kb", "xen.schedule", "xen.vcpu_restore", "kvm.vhost_pkt", "kvm.thread_wake",
                         "world_switch_cycles"]
#: The rows :func:`sensitivity` runs: the 2003 I/O rows of Figure 3 and Table 6, and current I/O paths on Skylake
SENSITIVITY_ROWS: list[tuple[str, dict]] = [
    ("2003 xen-pv ttcp tx/500", dict(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="ttcp",
                                     mode={"release": "2003"}, params={"mtu": 500})),
    ("2003 xen-pv ttcp rx/500", dict(hardware="p4-xeon-2003", hypervisor="xen-pv", workload="ttcp",
                                     mode={"release": "2003"}, params={"mtu": 500, "direction": "rx"})),
    ("2003 vmware ttcp tx/1500", dict(hardware="p4-xeon-2003", hypervisor=_VM, workload="ttcp",
                                      mode={"release": "2003", "shadow_cache": False})),
    ("2003 vmware ttcp rx/1500", dict(hardware="p4-xeon-2003", hypervisor=_VM, workload="ttcp",
                                      mode={"release": "2003", "shadow_cache": False}, params={"direction": "rx"})),
    ("2003 vmware specweb", dict(hardware="p4-xeon-2003", hypervisor=_VM, workload="specweb",
                                 mode={"release": "2003", "shadow_cache": False})),
    ("2003 vmware dbench", dict(hardware="p4-xeon-2003", hypervisor=_VM, workload="dbench",
                                mode={"release": "2003", "shadow_cache": False}, duration=0.5)),
    ("skylake kvm netperf-rr", dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr")),
    ("skylake xen-hvm netperf-rr", dict(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="netperf-rr")),
    ("skylake kvm ttcp rx", dict(hardware="skylake-sp-2017", hypervisor="kvm", workload="ttcp",
                                 params={"direction": "rx"})),
    ("skylake xen-hvm ttcp rx", dict(hardware="skylake-sp-2017", hypervisor="xen-hvm", workload="ttcp",
                                     params={"direction": "rx"})),
]


def _relevant(estimate: str, spec: Spec) -> bool:
    """Whether a path estimate can touch a row: its family's own paths, KVM's shared ones (host driver,
    copies, thread wake-ups) everywhere, and the world switch only where a hosted VMM runs."""
    if estimate == "world_switch_cycles":
        return spec.hypervisor == _VM
    family = estimate.split(".")[0]
    mode_family = {"xen-pv": "xen", "xen-hvm": "xen", _VM: "vmware"}.get(spec.hypervisor, "kvm")
    return family in (mode_family, "kvm")


def sensitivity(estimates: list[str] | None = None, rows: list[tuple[str, dict]] | None = None,
                factors: tuple[float, float] = (0.5, 2.0), seed: int = 11, duration: float = 0.15) -> pd.DataFrame:
    """How much each I/O row's relative performance moves (points) when an estimated path length (or the
    hosted world switch, a hardware estimate) is multiplied by each factor. Runs share the seed, so a difference
    is the estimate's effect, not noise. Each moved run is compared with native under the same values: native reads
    path estimates too (its stack's driver share is ``kvm.host_driver_pkt``; the world switch it does not read), so a
    native run made under the model's own values would credit the VM with a saving native shares."""
    estimates = SENSITIVITY_ESTIMATES if estimates is None else estimates
    rows = SENSITIVITY_ROWS if rows is None else rows
    for e in estimates:
        if e != "world_switch_cycles" and e not in SOFTWARE:
            raise HvkitError("not an estimated path", field="estimates", value=e, allowed=SENSITIVITY_ESTIMATES)
    out = []
    for label, kw in rows:
        spec = Spec.make(seed=seed, **{"duration": duration, **kw})
        rel0 = float(run(spec).summary["relative_performance"].iloc[0])
        for e in estimates:
            if not _relevant(e, spec):
                continue
            moved = []
            for f in factors:
                if e == "world_switch_cycles":
                    from ..inputs.hardware import load_hardware
                    ws = load_hardware(spec.hardware).val("world_switch_cycles")
                    s = run(spec.replace(hw={**dict(spec.hw), "world_switch_cycles": ws * f}))
                else:
                    with path_overrides({e: SOFTWARE[e][0] * f}):
                        s = run(spec)
                moved.append(float(s.summary["relative_performance"].iloc[0]))
            move = max(abs(m - rel0) for m in moved) * 100
            if move >= 0.05:  # the estimate is on this row's path
                out.append({"row": label, "estimate": e, "base": rel0,
                            **{f"x{f:g}": m for f, m in zip(factors, moved)}, "max_move_pts": move})
    return pd.DataFrame(out)
