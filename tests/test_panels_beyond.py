"""The live-migration figures and panels, driven without a browser."""
import pandas as pd
import plotly.graph_objects as go
import pytest

import kit
from kit.ui import plots
from kit.ui.panels import LevelsPanel, MigrationPanel


@pytest.fixture(scope="module")
def mig():
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server")
    return kit.migrate(spec, vm_mib=32, link_gbps=1.0, start_s=0.2, tail_s=0.05)


def test_migration_timeline_figure(mig):
    fig = plots.migration_timeline(mig.timeline)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["guest throughput (relative)", "migration traffic (Mbit/s)"]
    assert list(fig.data[1].y) == pytest.approx(list(mig.timeline["migration_mbps"]))
    assert fig.data[1].yaxis == "y2"
    assert any(s.x0 is not None for s in fig.layout.shapes)  # the phases are drawn as bands


def test_migration_rounds_figure(mig):
    fig = plots.migration_rounds(mig.rounds)
    assert [t.name for t in fig.data] == ["pages sent", "pages dirtied during the round"]
    assert list(fig.data[0].y) == list(mig.rounds["pages"])


def test_downtime_against_dirty_rate_figure():
    df = pd.DataFrame({"method": ["pre-copy", "pre-copy", "post-copy", "post-copy"],
                       "page_writes_per_s": [10.0, 1000.0, 10.0, 1000.0], "downtime_ms": [5.0, 300.0, 2.0, 2.0],
                       "converged": [True, False, True, True]})
    fig = plots.downtime_vs_dirty_rate(df)
    assert [t.name for t in fig.data] == ["pre-copy", "post-copy"]
    assert list(fig.data[0].y) == [5.0, 300.0] and list(fig.data[0].marker.symbol) == ["circle", "circle-open"]
    assert fig.data[1].line.color == plots.METHOD_COLORS["post-copy"] and fig.layout.xaxis.type == "log"


def test_migration_panel_builds_the_spec_and_runs():
    p = MigrationPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server", vm_mib=16)
    p.method.value = "post-copy"
    p.dirty.value = 12
    assert dict(p.spec().params)["writable.pages_per_unit"] == 12
    assert p.options()["method"] == "post-copy"
    m = p.run()
    assert m is not None and m.summary["method"] == "post-copy"
    assert "downtime" in p.status.value
    assert isinstance(p.last_figure, go.Figure) and len(p.last_figure.data) == 2


def test_migration_panel_shows_errors():
    p = MigrationPanel(hypervisor="native", workload="quake3-server", vm_mib=16)
    assert p.run() is None
    assert "nothing to migrate" in p.status.value and not p.busy
    p.busy = True
    assert p.run() is None and "already in progress" in p.status.value


def test_levels_panel_compares_native_container_vm_and_nested():
    p = LevelsPanel(hardware="skylake-sp-2017", workload="netperf-rr", duration=0.005)
    r = p.run()
    s = r.summary.set_index("hypervisor")
    assert list(s.index) == ["native", "container-host", "container-nat", "kvm", "kvm-on-kvm"]
    assert s.loc["kvm-on-kvm", "relative_performance"] < s.loc["kvm", "relative_performance"]
    assert isinstance(p.last_figure, go.Figure)
