"""Panels of sweeps, bounded to what answers in seconds: one parameter over a range for several modes
(:class:`SweepPanel`), and where one value of a mode part overtakes another over two workload parameters
(:class:`CrossoverPanel`). A larger sweep belongs in ``hvkit sweep``.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import pandas as pd

from ...errors import HvkitError
from ...inputs.hardware import list_hardware
from ...inputs.modes import PARTS, list_hypervisors
from ...inputs.spec import Spec
from ...inputs.workloads import list_workloads
from .. import plots
from ..progress import terminal_bar
from .base import (SWEEP_MAX_DURATION_S, SWEEP_MAX_RUNS, Panel, dropdown, duration_box, error_html,
                   model_uncertainty_box, warnings_html)

__all__ = ["SweepPanel", "CrossoverPanel", "sweep_report"]


def sweep_report(df: pd.DataFrame, done: str = "done") -> str:
    """``done`` (HTML), or how many points failed (an error when all did); and the points' warnings
    (kit.results.validity), counted."""
    failed = df[df["error"].fillna("") != ""]
    if len(failed) == len(df):
        return error_html(HvkitError(f"all {len(df)} points failed: {failed['error'].iloc[0]}"))
    warned = df["warnings"].fillna("") if "warnings" in df else pd.Series(dtype=str)
    n = int((warned != "").sum())
    note = warnings_html([w for w in warned if w], f"{n} of {len(df)} points") if n else ""
    if len(failed):
        return html.escape(f"{len(failed)} of {len(df)} points failed (see the table)") + note
    return done + note


class SweepPanel(Panel):
    """Pick a parameter and a range, run a sweep with a progress bar, plot it.

    Bounded to what answers in seconds: at most :data:`SWEEP_MAX_DURATION_S` simulated seconds per point and
    :data:`SWEEP_MAX_RUNS` runs; a larger sweep belongs in ``hvkit sweep``. Its spec file is the sweep's base.
    """

    PARAMS = {"hw.exit_roundtrip_cycles": (200, 2000), "hw.walk_ref_cycles": (5, 60),
              "hw.world_switch_cycles": (500, 5000), "vcpus": (1, 8), "workload.clients": (1, 32)}

    def __init__(self, hardware="skylake-sp-2017", workload="netperf-rr", hypervisors=("kvm", "xen-hvm"),
                 workers=None):
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload")
        self.hypervisors = W.SelectMultiple(options=list(list_hypervisors()), value=tuple(hypervisors),
                                            description="modes", rows=4)
        self.param = dropdown(list(self.PARAMS), "hw.exit_roundtrip_cycles", "parameter", "300px")
        lo, hi = self.PARAMS["hw.exit_roundtrip_cycles"]
        self.range = W.IntRangeSlider(value=(lo, hi), min=0, max=hi * 2, description="range", continuous_update=False)
        self.steps = W.IntSlider(value=5, min=2, max=10, description="points", continuous_update=False)
        self.reps = W.IntSlider(value=2, min=1, max=5, description="replications", continuous_update=False)
        self.uncertain = model_uncertainty_box()
        self.duration = duration_box(0.01, f"duration (s, at most {SWEEP_MAX_DURATION_S:g})", SWEEP_MAX_DURATION_S,
                                  "240px")
        self.progress = W.Output()
        self.workers = workers
        self.param.observe(self._param_changed, "value")
        super().__init__([W.HBox([self.hardware, self.workload, self.hypervisors]),
                          W.HBox([self.param, self.range]), W.HBox([self.steps, self.reps, self.duration]),
                          self.uncertain, self.progress], "sweep")

    def _param_changed(self, ch):
        lo, hi = self.PARAMS[ch["new"]]
        self.range.max = max(hi * 2, 2)
        self.range.value = (lo, hi)

    def grid(self) -> dict:
        import numpy as np
        if not self.hypervisors.value:
            raise HvkitError("select at least one mode", field="modes")
        lo, hi = self.range.value
        vals = sorted({int(round(v)) for v in np.linspace(lo, hi, self.steps.value)})
        return {self.param.value: vals, "hypervisor": list(self.hypervisors.value)}

    def runs(self) -> int:
        """Points x modes x replications of the sweep the controls describe."""
        g = self.grid()
        return len(g[self.param.value]) * len(g["hypervisor"]) * self.reps.value

    def spec(self) -> Spec:
        if not self.duration.value:
            raise HvkitError("a sweep point needs a duration", field="duration",
                             allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        return Spec.make(hardware=self.hardware.value, hypervisor=(list(self.hypervisors.value) or ["kvm"])[0],
                         workload=self.workload.value, duration=self.duration.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration")}
        if extra:
            raise HvkitError("the Sweep panel's base takes hardware, workload, mode and duration only; put this "
                             "spec in a sweep file's base", field=sorted(extra)[0])
        if spec.duration is None or spec.duration > SWEEP_MAX_DURATION_S:
            raise HvkitError("a sweep point in the panel runs at most the panel's duration", field="duration",
                             value=spec.duration, allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisors, spec.hypervisor, "modes"))
        self.hardware.value, self.workload.value = spec.hardware, spec.workload
        if spec.hypervisor not in self.hypervisors.value:
            self.hypervisors.value = (spec.hypervisor, *self.hypervisors.value)
        self.duration.value = spec.duration

    def _compute(self):
        from ...sweep import sweep
        base, grid, n = self.spec(), self.grid(), self.runs()
        if n > SWEEP_MAX_RUNS:
            raise HvkitError(f"{n} runs: more than the {SWEEP_MAX_RUNS} a panel runs; fewer points, modes or "
                             "replications, or hvkit sweep for the full grid", field="points x modes x replications")
        self.progress.clear_output()
        with self.progress, terminal_bar("points") as bar:
            return sweep(base, grid, replications=self.reps.value, progress=bar, workers=self.workers,
                         model_uncertainty=self.uncertain.value)

    def _render(self, df):
        ok = df[df["error"].fillna("") == ""]
        failed = df[df["error"].fillna("") != ""]
        if len(ok):
            self.show_figure(plots.sweep_line(ok, x=f"set.{self.param.value}", color="set.hypervisor"))
        else:
            self.clear_figure()
        self.show_table(failed[["point", "error"]] if len(failed) else df.groupby("set.hypervisor")[
            "relative_performance"].describe()[["count", "mean", "min", "max"]])

    def _done_message(self, df):
        return sweep_report(df)


class CrossoverPanel(Panel):
    """Where does one memory technique overtake another? Two workload parameters swept for two values of a mode
    part; the heatmap shows the first minus the second (positive: the first is ahead).

    Bounded like :class:`SweepPanel`. Its spec file is the sweep's base.
    """

    PARAMS = ("workload.tlb_mpki", "workload.pte_writes", "workload.cr3_loads", "workload.pagefaults",
              "workload.syscalls", "hw.walk_ref_cycles", "hw.exit_roundtrip_cycles")

    def __init__(self, hardware="skylake-sp-2017", workload="osdb-ir", hypervisor="kvm", part="memory",
                 first="nested", second="shadow", x="workload.tlb_mpki", xs="0.1, 0.5, 2, 5",
                 y="workload.pte_writes", ys="0, 20, 60, 200", workers=None):
        wide = {"description_width": "initial"}
        self.hardware = dropdown(list_hardware(), hardware, "hardware", "260px")
        self.workload = dropdown([w.id for w in list_workloads()], workload, "workload")
        self.hypervisor = dropdown(list(list_hypervisors()), hypervisor, "hypervisor")
        self.part = dropdown(sorted(PARTS), part, "mode part", "200px")
        self.first = dropdown(list(PARTS[part]), first, "first", "180px")
        self.second = dropdown(list(PARTS[part]), second, "minus", "180px")
        self.x = dropdown(list(self.PARAMS), x, "x", "260px")
        self.xs = W.Text(value=xs, description="values", style=wide, continuous_update=False)
        self.y = dropdown(list(self.PARAMS), y, "y", "260px")
        self.ys = W.Text(value=ys, description="values", style=wide, continuous_update=False)
        self.duration = duration_box(0.05, f"duration (s, at most {SWEEP_MAX_DURATION_S:g})", SWEEP_MAX_DURATION_S,
                                  "240px")
        self.workers = workers
        self.part.observe(self._part_changed, "value")
        super().__init__([W.HBox([self.hardware, self.workload, self.hypervisor]),
                          W.HBox([self.part, self.first, self.second]), W.HBox([self.x, self.xs]),
                          W.HBox([self.y, self.ys]), self.duration], "crossover")

    def _part_changed(self, ch):
        options = list(PARTS[ch["new"]])
        self.first.options, self.second.options = options, options
        self.first.value, self.second.value = options[0], options[-1]

    @staticmethod
    def _values(text: str, name: str) -> list[float]:
        out = []
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            try:
                v = float(item)
            except ValueError:
                raise HvkitError("values are numbers separated by commas", field=name, value=item) from None
            if not math.isfinite(v):
                raise HvkitError("values must be finite", field=name, value=item)
            out.append(int(v) if v.is_integer() else v)
        if not out:
            raise HvkitError("give at least one value", field=name)
        return sorted(set(out))

    def grid(self) -> dict:
        if self.x.value == self.y.value:
            raise HvkitError("x and y are the same parameter", field="y", value=self.y.value)
        if self.first.value == self.second.value:
            raise HvkitError("the two values of the mode part are the same", field="minus", value=self.second.value)
        return {self.x.value: self._values(self.xs.value, "x values"),
                self.y.value: self._values(self.ys.value, "y values"),
                self.part.value: [self.first.value, self.second.value]}

    def runs(self) -> int:
        g = self.grid()
        return len(g[self.x.value]) * len(g[self.y.value]) * 2

    def spec(self) -> Spec:
        if not self.duration.value:
            raise HvkitError("a sweep point needs a duration", field="duration",
                             allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        return Spec.make(hardware=self.hardware.value, hypervisor=self.hypervisor.value, workload=self.workload.value,
                         duration=self.duration.value)

    def apply_spec(self, spec: Spec) -> None:
        extra = {k: v for k, v in spec.model_dump(exclude_defaults=True).items()
                 if k not in ("hardware", "hypervisor", "workload", "duration")}
        if extra:
            raise HvkitError("the Crossover panel's base takes hardware, mode, workload and duration only; put this "
                             "spec in a sweep file's base", field=sorted(extra)[0])
        if spec.duration is None or spec.duration > SWEEP_MAX_DURATION_S:
            raise HvkitError("a sweep point in the panel runs at most the panel's duration", field="duration",
                             value=spec.duration, allowed=f"0 < duration <= {SWEEP_MAX_DURATION_S:g} s")
        self._check_options((self.hardware, spec.hardware, "hardware"), (self.workload, spec.workload, "workload"),
                            (self.hypervisor, spec.hypervisor, "hypervisor"))
        self.hardware.value, self.hypervisor.value, self.workload.value = spec.hardware, spec.hypervisor, spec.workload
        self.duration.value = spec.duration

    def _compute(self):
        from ...sweep import sweep
        base, grid, n = self.spec(), self.grid(), self.runs()
        if n > SWEEP_MAX_RUNS:
            raise HvkitError(f"{n} runs: more than the {SWEEP_MAX_RUNS} a panel runs; fewer values, or hvkit sweep "
                             "for the full grid", field="x values x y values x 2")
        return sweep(base, grid, progress=False, workers=self.workers)

    def difference(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per (x, y): the first value's relative performance minus the second's, as ``d``."""
        ok = df[df["error"].fillna("") == ""]
        x, y, part = (f"set.{k}" for k in (self.x.value, self.y.value, self.part.value))
        t = ok.pivot_table(index=[y, x], columns=part, values="relative_performance")
        if self.first.value not in t or self.second.value not in t:
            return pd.DataFrame(columns=[x, y, "d", "error"])
        d = (t[self.first.value] - t[self.second.value]).dropna()
        return d.rename("d").reset_index().assign(error="")

    def _render(self, df):
        d = self.difference(df)
        failed = df[df["error"].fillna("") != ""]
        if len(d):
            x, y = f"set.{self.x.value}", f"set.{self.y.value}"
            label = f"{self.first.value} minus {self.second.value} (relative performance)"
            self.show_figure(plots.sweep_heatmap(d, x=x, y=y, z="d", labels={"d": label}))
            self.show_table(d.pivot(index=y, columns=x, values="d").round(3) if not len(failed)
                            else failed[["point", "error"]])
        else:
            self.clear_figure()
            self.show_table(failed[["point", "error"]])

    def _done_message(self, df):
        d = self.difference(df)
        done = "done"
        if len(d):
            ahead = int((d["d"] > 0).sum())
            done = html.escape(f"done: {self.first.value} is ahead in {ahead} of {len(d)} cells")
        return sweep_report(df, done)
