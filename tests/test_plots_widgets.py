"""Figure builders (inspected through fig.data and fig.layout) and panels driven without a browser."""
import pandas as pd
import plotly.graph_objects as go
import pytest

import kit
from kit import plots
from kit.inputs.spec import Spec
from kit.sweep import sweep
from kit.widgets import ComparePanel, ExperimentPanel, MicrobenchPanel, SweepPanel


@pytest.fixture(scope="module")
def cmp():
    return kit.compare("skylake-sp-2017", "netperf-rr", ["native", "xen-pv", "kvm"], duration=0.005)


def test_relative_performance_bars(cmp):
    fig = plots.relative_performance(cmp.summary, x="hypervisor")
    assert isinstance(fig, go.Figure) and [t.name for t in fig.data] == ["native", "xen-pv", "kvm"]
    assert fig.data[0].marker.color == plots.MODE_COLORS["native"]
    assert fig.layout.shapes[0].y0 == 1.0  # the native reference line
    assert list(fig.data[1].y) == [pytest.approx(cmp.summary["relative_performance"].iloc[1])]


def test_breakdown_stacks_categories_per_unit(cmp):
    fig = plots.overhead_breakdown(cmp.breakdown, cmp.summary)
    names = {t.name for t in fig.data}
    assert "backend: dom0" in names and any(n.startswith("exit: ") for n in names)
    assert fig.layout.barmode == "stack"
    dom0 = next(t for t in fig.data if t.name == "backend: dom0")
    assert dom0.marker.color == plots.category_color("backend: dom0")
    s = cmp.summary.set_index("hypervisor")
    b = cmp.breakdown[(cmp.breakdown["category"] == "backend: dom0")]
    assert dom0.y[1] == pytest.approx(b["seconds"].sum() / s.loc["xen-pv", "units"] * 1e6)


def test_exits_latency_waterfall_timeline(cmp):
    ex = plots.exits_per_second(cmp.exits, cmp.summary)
    assert ex.layout.barmode == "stack" and len(ex.data) == cmp.exits["reason"].nunique()
    lat = plots.latency_cdf(cmp.latency)
    lines = [t for t in lat.data if t.mode == "lines"]
    assert len(lines) == 3 and lines[0].y[-1] == pytest.approx(1.0)
    p50 = [t for t in lat.data if t.name.endswith("p50")]
    assert len(p50) == 3
    mb = kit.microbench("xgene-armv8-2014", "kvm", ["hypercall"]).iloc[0]
    wf = plots.path_waterfall(mb["path"])
    assert list(wf.data[0].x)[-1] == "total" and sum(wf.data[0].y) == pytest.approx(mb["cycles"])
    r = kit.run(Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.005),
                baseline=False, trace_s=0.0005)
    tl = plots.vcpu_timeline(r.timeline)
    assert {t.name for t in tl.data} <= set(plots.STATE_COLORS) and len(tl.data) >= 2


def test_sweep_figures():
    base = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.003)
    df = sweep(base, {"hw.exit_roundtrip_cycles": [200, 2000], "hypervisor": ["kvm", "xen-hvm"]}, replications=2,
               workers=1, progress=False)
    line = plots.sweep_line(df, x="set.hw.exit_roundtrip_cycles", color="set.hypervisor")
    assert [t.name for t in line.data if t.mode == "lines+markers"] == ["kvm", "xen-hvm"]
    heat = plots.sweep_heatmap(df, x="set.hw.exit_roundtrip_cycles", y="set.hypervisor")
    assert heat.data[0].z.shape == (2, 2)


def test_experiment_panel_builds_the_spec_and_updates_the_figure():
    p = ExperimentPanel(static=False)
    p.duration.value = 0.005
    p.overrides["interrupts"].value = "apicv"
    p.params.value = "clients=2"
    spec = p.spec()
    assert dict(spec.mode) == {"interrupts": "apicv"} and dict(spec.params) == {"clients": 2}
    p.run()
    first = [t.name for t in p.figure.data]
    p.hypervisor.value = "xen-pv"
    p.overrides["interrupts"].value = "(preset)"
    p.run()
    assert "backend: dom0" in [t.name for t in p.figure.data] and first != [t.name for t in p.figure.data]
    assert "xen-pv" in p.status.value


def test_panel_shows_errors_and_refuses_a_second_run():
    p = ExperimentPanel(static=True)
    p.hardware.value = "p4-xeon-2003"
    p.hypervisor.value = "kvm"
    assert p.run() is None and "hardware virtualization" in p.status.value
    p.busy = True
    assert p.run() is None and "already in progress" in p.status.value


def test_compare_microbench_and_sweep_panels():
    c = ComparePanel(hypervisors=("native", "kvm"), static=True)
    c.workload.value = "spec-int"
    r = c.run()
    assert list(r.summary["hypervisor"]) == ["native", "kvm"]
    c.view.value = "breakdown"
    assert c._last_fig.layout.barmode == "stack"
    m = MicrobenchPanel(static=True)
    df = m.run()
    assert set(df["hypervisor"]) == {"native", "kvm", "xen-hvm"}
    assert "VGIC state save and restore" in list(m._last_fig.data[0].x)
    s = SweepPanel(static=True, workers=1)
    s.duration.value = 0.003
    s.steps.value = 2
    s.reps.value = 1
    out = s.run()
    assert isinstance(out, pd.DataFrame) and len(out) == 4
    assert s.grid()["hw.exit_roundtrip_cycles"] == [200, 2000]
