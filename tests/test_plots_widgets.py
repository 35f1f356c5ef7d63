"""Panels driven without a browser: set control values, press Run, inspect the figure on show.

The figure builders themselves are checked against their data in test_figures.py."""
import pandas as pd
import plotly.graph_objects as go

from kit.widgets import ComparePanel, ExperimentPanel, MicrobenchPanel, SweepPanel


def _shown(panel):
    """The plotly bundle in the panel's Output, as the front end receives it."""
    (out,) = panel.fig_out.outputs
    return out["data"]["application/vnd.plotly.v1+json"]


def test_experiment_panel_builds_the_spec_and_replaces_the_figure():
    p = ExperimentPanel()
    assert p.current_figure() is None and p.fig_out.outputs == ()
    p.duration.value = 0.005
    p.overrides["interrupts"].value = "apicv"
    p.params.value = "clients=2"
    spec = p.spec()
    assert dict(spec.mode) == {"interrupts": "apicv"} and dict(spec.params) == {"clients": 2}
    p.run()
    first = [t["name"] for t in _shown(p)["data"]]
    assert first == [t.name for t in p.current_figure().data]
    p.hypervisor.value = "xen-pv"
    p.overrides["interrupts"].value = "(preset)"
    p.run()
    second = [t["name"] for t in _shown(p)["data"]]
    assert "backend: dom0" in second and "backend: dom0" not in first
    assert len(p.fig_out.outputs) == 1 and "xen-pv" in p.status.value
    assert isinstance(p.current_figure(), go.Figure)
    assert _shown(p)["layout"]["title"]["text"] == p.current_figure().layout.title.text
    assert "hvkit-experiment" in p._dom_classes


def test_panel_shows_errors_and_refuses_a_second_run():
    p = ExperimentPanel()
    p.hardware.value = "p4-xeon-2003"
    p.hypervisor.value = "kvm"
    assert p.run() is None and "hardware virtualization" in p.status.value
    p.busy = True
    assert p.run() is None and "already in progress" in p.status.value


def test_compare_panel_draws_the_native_line_on_the_relative_view_only():
    c = ComparePanel(hypervisors=("native", "kvm"))
    c.workload.value = "spec-int"
    r = c.run()
    assert list(r.summary["hypervisor"]) == ["native", "kvm"]
    views = {}
    for view in ["breakdown", "exits", "latency", "relative"]:
        c.view.value = view
        fig = c.current_figure()
        views[view] = ([s.y0 for s in fig.layout.shapes], [a.text for a in fig.layout.annotations])
        assert _shown(c)["layout"].get("shapes", []) == [s.to_plotly_json() for s in fig.layout.shapes]
    assert views["relative"][0] == [1.0] and "native = 1" in views["relative"][1]
    for view in ["breakdown", "exits", "latency"]:
        assert views[view][0] == [] and "native = 1" not in views[view][1], view
    c.view.value = "breakdown"
    assert c.current_figure().layout.barmode == "stack"


def test_microbench_and_sweep_panels():
    m = MicrobenchPanel()
    df = m.run()
    assert set(df["hypervisor"]) == {"native", "kvm", "xen-hvm"}
    fig = m.current_figure()
    assert "VGIC state save and restore" in list(fig.data[0].x)
    assert fig.layout.title.text.startswith("The path of hypercall under kvm on xgene-armv8-2014: ")
    s = SweepPanel(workers=1)
    s.duration.value = 0.003
    s.steps.value = 2
    s.reps.value = 1
    out = s.run()
    assert isinstance(out, pd.DataFrame) and len(out) == 4
    assert s.grid()["hw.exit_roundtrip_cycles"] == [200, 2000]
    fig = s.current_figure()
    assert [t["name"] for t in _shown(s)["data"] if t.get("mode") == "lines+markers"] == ["kvm", "xen-hvm"]
    assert fig.layout.xaxis.title.text == "VM exit round trip (cycles)"
