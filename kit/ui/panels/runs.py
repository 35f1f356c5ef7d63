"""Panels of runs: one mode against native (:class:`ExperimentPanel`), several modes side by side
(:class:`ComparePanel`), one operation's cost and path across modes (:class:`MicrobenchPanel`), and one workload on
native, a container, a VM and a nested VM (:class:`LevelsPanel`).
"""
from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from ...costs.microbench import microbench
from ...costs.ops import list_ops
from ...errors import HvkitError
from ...inputs.hardware import list_hardware
from ...inputs.modes import PARTS, list_hypervisors
from ...inputs.spec import Spec, format_value
from ...inputs.workloads import list_workloads
from ...run import compare
from .. import plots
from .base import (KEEP, MAX_DURATION_S, NONE, Panel, dropdown, duration_box, error_html, finite, hardware_summary,
                   replications_box, set_pairs, warnings_html, with_ci, with_pi,
                   model_uncertainty_box)

__all__ = ["ExperimentPanel", "ComparePanel", "MicrobenchPanel", "LevelsPanel"]


class ExperimentPanel(Panel):
    """Configure one hypervisor mode, run one workload, see where the time goes against native.

    Besides the mode and its parts: the host's physical CPUs, a noisy neighbour VM (its workload and vCPUs), the
    VMs' scheduler weights and caps, and any other ``--set`` pair.
    """

    def __init__(self, hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr"):
        wide = {"description_width": "initial"}
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.hw_info = W.HTML(hardware_summary(hardware))
        self.hypervisor = dropdown(list(list_hypervisors()), hypervisor, "hypervisor")
        self.overrides = {k: dropdown([KEEP] + list(PARTS[k]), KEEP, k, "200px")
                          for k in ("memory", "io", "interrupts", "scheduler", "guest_page", "host_page")}
        workloads = [w.id for w in list_workloads()]
        self.workload = dropdown(workloads, workload, "workload")
        self.params = W.Text(value="", description="workload params", placeholder="mtu=500, direction=rx",
                             style=wide, continuous_update=False)
        self.vcpus = W.IntSlider(value=1, min=1, max=16, description="vCPUs", continuous_update=False)
        self.vms = W.IntSlider(value=1, min=1, max=8, description="VMs", continuous_update=False)
        self.pcpus = W.BoundedIntText(value=0, min=0, max=64, description="physical CPUs (0 = the profile's)",
                                      style=wide, layout=W.Layout(width="260px"))
        self.weights = W.Text(value="", description="weights", placeholder="one per VM: 256,512", style=wide,
                              layout=W.Layout(width="220px"), continuous_update=False)
        self.caps = W.Text(value="", description="caps (%)", placeholder="one per VM, 0 = none: 50,0", style=wide,
                           layout=W.Layout(width="220px"), continuous_update=False)
        self.neighbor = dropdown([NONE] + workloads, NONE, "neighbour VM")
        self.neighbor_vcpus = W.BoundedIntText(value=1, min=1, max=16, description="its vCPUs", style=wide,
                                               layout=W.Layout(width="140px"))
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.replications = replications_box()
        self.uncertain = model_uncertainty_box()
        self.duration = duration_box(0.0, f"duration (s, 0 = default, at most {MAX_DURATION_S:g})")
        self.sets = W.Text(value="", description="more --set", placeholder="hw.exit_roundtrip_cycles=300 pin=true",
                           style=wide, layout=W.Layout(width="420px"), continuous_update=False)
        self.hardware.observe(lambda ch: setattr(self.hw_info, "value", hardware_summary(ch["new"])), "value")
        controls = [W.HBox([self.hardware, self.hw_info]), W.HBox([self.hypervisor, self.workload, self.params]),
                    W.HBox(list(self.overrides.values())[:3]), W.HBox(list(self.overrides.values())[3:]),
                    W.HBox([self.vcpus, self.vms, self.pcpus]),
                    W.HBox([self.weights, self.caps, self.neighbor, self.neighbor_vcpus]),
                    W.HBox([self.seed, self.replications, self.duration, self.sets]), self.uncertain]
        super().__init__(controls, "experiment")

    def spec(self) -> Spec:
        """The spec the controls describe (built through the ``--set`` language)."""
        mode = {k: w.value for k, w in self.overrides.items() if w.value != KEEP}
        spec = Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value, workload=self.workload.value,
                         vcpus=self.vcpus.value, vms=self.vms.value, seed=self.seed.value,
                         duration=self.duration.value or None, mode=mode)
        pairs: list[tuple[str, object]] = []
        if self.pcpus.value:
            pairs.append(("pcpus", self.pcpus.value))
        if self.neighbor.value != NONE:
            pairs += [("neighbor", self.neighbor.value), ("neighbor_vcpus", self.neighbor_vcpus.value)]
        for key, control in (("weights", self.weights), ("caps", self.caps)):
            if control.value.strip():
                pairs.append((key, control.value.strip()))
        pairs += set_pairs(self.params.value, "workload.", sep=",") + set_pairs(self.sets.value)
        return spec.with_sets(pairs)

    def apply_spec(self, spec: Spec) -> None:
        """Set every control from ``spec``; hardware overrides and other keys without a control go to ``more --set``."""
        mode = dict(spec.mode)
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.hypervisor, spec.hypervisor, "hypervisor"),
                            (self.workload, spec.workload, "workload"),
                            *((c, mode.get(k, KEEP), k) for k, c in self.overrides.items()),
                            *(((self.neighbor, spec.neighbor, "neighbour VM"),) if spec.neighbor else ()))
        for value, control, what in ((spec.vcpus, self.vcpus, "vcpus"), (spec.vms, self.vms, "vms"),
                                     (spec.pcpus or 0, self.pcpus, "pcpus"),
                                     (spec.neighbor_vcpus, self.neighbor_vcpus, "neighbor_vcpus")):
            if not control.min <= value <= control.max:
                raise HvkitError("more than the panel offers; run it with hvkit run --spec FILE", field=what,
                                 value=value, allowed=f"{control.min} to {control.max}")
        if spec.duration is not None and spec.duration > MAX_DURATION_S:
            raise HvkitError("longer than the panel runs; run it with hvkit run --spec FILE", field="duration",
                             value=spec.duration, allowed=f"at most {MAX_DURATION_S:g} s")
        self.hardware.value, self.hypervisor.value, self.workload.value = spec.hardware, spec.hypervisor, spec.workload
        for k, control in self.overrides.items():
            control.value = mode.pop(k, KEEP)
        extra = [f"{k}={format_value(v)}" for k, v in mode.items()]  # mode switches (shadow_cache)
        extra += [f"hw.{k}={format_value(v)}" for k, v in spec.hw]
        if spec.pin:
            extra.append("pin=true")
        if spec.dom0_vcpus != 1:
            extra.append(f"dom0_vcpus={spec.dom0_vcpus}")
        self.vcpus.value, self.vms.value, self.seed.value = spec.vcpus, spec.vms, spec.seed
        self.duration.value = spec.duration or 0.0
        self.pcpus.value = spec.pcpus or 0
        self.neighbor.value = spec.neighbor or NONE
        self.neighbor_vcpus.value = spec.neighbor_vcpus
        self.weights.value = ",".join(map(str, spec.weights)) if spec.weights else ""
        self.caps.value = ",".join(map(str, spec.caps)) if spec.caps else ""
        self.params.value = ", ".join(f"{k}={format_value(v)}" for k, v in spec.params)
        self.sets.value = " ".join(extra)
        if self.spec() != spec:  # nothing is dropped on the way
            raise HvkitError("the panel cannot show every part of this spec; run it with hvkit run --spec FILE")

    def _compute(self):
        s = self.spec()
        kw = s.model_dump(exclude={"hardware", "hypervisor", "workload"})
        names = ["native", s.hypervisor] if s.hypervisor != "native" else ["native"]
        r = compare(s.hardware, s.workload, names, replications=self.replications.value,
                    model_uncertainty=self.uncertain.value, **{**kw, "mode": s.mode})
        row = r.summary.iloc[-1]
        if row["error"]:
            raise HvkitError(row["error"])
        if not (finite(row["value"]) and finite(row["relative_performance"])):
            raise HvkitError(f"the run measured no {row['metric']} to set against native's: lengthen the duration")
        return r

    def _render(self, r):
        fig = plots.overhead_breakdown(r.breakdown, r.summary)
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "neighbor", "workload", "metric", "unit", "value", "ci_low",
                                   "ci_high", "ci_note", "pi_low", "pi_high", "relative_performance",
                                   "relative_ci_low", "relative_ci_high", "relative_pi_low", "relative_pi_high",
                                   "pi_dominant", "interference", "replications", "events", "resolutions",
                                   "baseline"]])

    def _done_message(self, r):
        row = r.summary.iloc[-1]
        text = html.escape(f"{row['hypervisor']}: {with_ci(row, 'relative_performance', 'relative_ci', '.3f')} of "
                           f"native alone ({with_ci(row, 'value', 'ci', '.4g')} {row['unit']})"
                           + (f"; interference {row['interference']:.3f} beside {row['neighbor']}"
                              if row["neighbor"] else "")
                           + f"; {with_pi(row, 'relative_performance', 'relative_pi', '.3f')}")
        # a short run, a rate above the hardware's peaks, faster than native: said, not hidden (kit.results.validity)
        return text + warnings_html(r.summary["warnings"])


class ComparePanel(Panel):
    """Several modes side by side on one workload.

    Its spec file holds the hardware, workload, duration, seed and the first selected mode other than native
    (what ``hvkit compare --spec FILE`` compares against native).
    """

    VIEWS = ("relative", "breakdown", "exits", "latency")

    def __init__(self, hardware="skylake-sp-2017", workload="netperf-rr",
                 hypervisors=("native", "xen-pv", "xen-hvm", "kvm", "kvm-sriov"), view="relative"):
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=6)
        self.duration = duration_box(0.0, f"duration (s, 0 = default, at most {MAX_DURATION_S:g})")
        self.seed = W.IntText(value=0, description="seed", layout=W.Layout(width="160px"))
        self.replications = replications_box()
        self.uncertain = model_uncertainty_box()
        self.neighbors = W.SelectMultiple(options=[NONE] + [w.id for w in list_workloads()], value=(NONE,),
                                          description="neighbours", rows=6)
        self.view = W.ToggleButtons(options=list(self.VIEWS), value=view)
        self.view.observe(lambda ch: self.last_result is not None and self._render(self.last_result), "value")
        super().__init__([W.HBox([self.hardware, self.workload]), W.HBox([self.duration, self.seed, self.replications,
                                                                           self.uncertain]),
                          W.HBox([self.hypervisors, self.neighbors, self.view])], "compare")

    def names(self) -> list[str]:
        names = list(self.hypervisors.value)
        if not names:
            raise HvkitError("select at least one mode", field="modes")
        return names if "native" in names else ["native"] + names

    def spec(self) -> Spec:
        others = [n for n in self.names() if n != "native"]
        return Spec.make(hardware=self.hardware.value, hypervisor=others[0] if others else "native",
                         workload=self.workload.value, duration=self.duration.value or None, seed=self.seed.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration", "seed")}
        if extra:
            raise HvkitError("the Compare panel takes hardware, workload, mode, duration and seed only; run this "
                             "spec with hvkit compare --spec FILE", field=sorted(extra)[0])
        if spec.duration is not None and spec.duration > MAX_DURATION_S:
            raise HvkitError("longer than the panel runs", field="duration", value=spec.duration,
                             allowed=f"at most {MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisors, spec.hypervisor, "modes"))
        self.hardware.value, self.workload.value = spec.hardware, spec.workload
        self.hypervisors.value = tuple(dict.fromkeys(["native", spec.hypervisor]))
        self.duration.value, self.seed.value = spec.duration or 0.0, spec.seed

    def _compute(self):
        neighbors = [None if n == NONE else n for n in self.neighbors.value] or [None]
        return compare(self.hardware.value, self.workload.value, self.names(), replications=self.replications.value,
                       neighbors=neighbors, duration=self.duration.value or None, seed=self.seed.value,
                       model_uncertainty=self.uncertain.value)

    def _render(self, r):
        several = r.summary["neighbor"].fillna(NONE).nunique() > 1  # one bar per mode and neighbour
        fig = {"relative": lambda: plots.relative_performance(r.summary, x="scenario" if several else "hypervisor"),
               "breakdown": lambda: plots.overhead_breakdown(r.breakdown, r.summary),
               "exits": lambda: plots.exits_per_second(r.exits, r.summary),
               "latency": lambda: plots.latency_cdf(r.latency)}[self.view.value]()
        self.show_figure(fig)
        self.show_table(r.summary[["hypervisor", "neighbor", "value", "ci_low", "ci_high", "ci_note", "unit",
                                   "relative_performance", "relative_ci_low", "relative_ci_high", "relative_pi_low",
                                   "relative_pi_high", "pi_dominant", "interference", "interference_pi_low",
                                   "interference_pi_high", "replications", "error", "warnings"]])

    def _done_message(self, r):
        failed = r.summary[r.summary["error"].fillna("") != ""]
        ok = len(r.summary) - len(failed)
        if ok <= 1 and len(failed):  # native alone is not a comparison
            return error_html(HvkitError(f"every mode failed: {failed['error'].iloc[0]}"))
        ok_rows = r.summary[r.summary["error"].fillna("") == ""]
        warned = [f"{h}: {w}" for h, w in zip(ok_rows["hypervisor"], ok_rows["warnings"].fillna("")) if w]
        if len(failed):
            return html.escape(f"{len(failed)} of {len(r.summary)} modes failed "
                               f"({', '.join(failed['hypervisor'])}; see the table)") + warnings_html(warned)
        return "done" + warnings_html(warned)


class MicrobenchPanel(Panel):
    """One operation across modes, with the path of the selected one."""

    has_spec = False

    def __init__(self, hardware="xgene-armv8-2014", op="hypercall", hypervisors=("native", "kvm", "xen-hvm")):
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.op = dropdown([o.name for o in list_ops()], op, "operation", "280px")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=5)
        self.path_of = dropdown(list(list_hypervisors()), hypervisors[1] if len(hypervisors) > 1 else hypervisors[0],
                           "path of")
        super().__init__([W.HBox([self.hardware, self.op]), W.HBox([self.hypervisors, self.path_of])], "microbench")

    def _compute(self):
        if not self.hypervisors.value:
            raise HvkitError("select at least one mode", field="modes")
        frames = [microbench(self.hardware.value, m, [self.op.value]) for m in self.hypervisors.value]
        return pd.concat(frames, ignore_index=True)

    def _render(self, df):
        row = df[df["hypervisor"] == self.path_of.value]
        if row.empty:
            row = df.iloc[[-1]]
        r = row.iloc[0]
        fig = plots.path_waterfall(r["path"], title=f"The path of {r['op']} under {r['hypervisor']} on "
                                                    f"{r['hardware']}: {r['cycles']:,.0f} cycles")
        self.show_figure(fig)
        self.show_table(df[["op", "hypervisor", "cycles", "us"]])

    def _done_message(self, df):
        if self.path_of.value not in set(df["hypervisor"]):
            return html.escape(f"done; {self.path_of.value} is not among the modes, so the path shown is "
                               f"{df['hypervisor'].iloc[-1]}'s")
        return "done"


class LevelsPanel(Panel):
    """One workload on native, a container, a VM and a nested VM: what each level of isolation costs.

    Nested guests and containers are modes (``kvm-on-kvm``, ``container-nat``, ``container-host``, or ``--set
    nested=kvm``), so :class:`ExperimentPanel` and :class:`ComparePanel` run them too; this panel offers their presets
    beside the VM modes for the comparison it makes.
    """

    has_files = False

    def __init__(self, hardware: str = "skylake-sp-2017", workload: str = "netperf-rr",
                 hypervisors: tuple[str, ...] = ("native", "container-host", "container-nat", "kvm", "kvm-on-kvm"),
                 duration: float = 0.05) -> None:
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload", "230px")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=8)
        self.duration = W.FloatText(value=duration, description="duration (s)", layout=W.Layout(width="200px"))
        super().__init__([W.HBox([self.hardware, self.workload, self.duration]), self.hypervisors], "levels")

    def _compute(self):
        return compare(self.hardware.value, self.workload.value, list(self.hypervisors.value),
                       duration=self.duration.value)

    def _render(self, result):
        s = result.summary
        self.show_figure(plots.relative_performance(s.assign(error=s["error"].fillna(""))))
        self.show_table(s[["hypervisor", "value", "relative_performance", "error", "warnings"]])

    def _done_message(self, result):
        s = result.summary
        ok = s[s["error"].fillna("") == ""]
        return "done" + warnings_html([f"{h}: {w}" for h, w in zip(ok["hypervisor"], ok["warnings"].fillna("")) if w])
