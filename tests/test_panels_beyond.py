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


def _reader_checks(fig):
    """What a reader sees: a title, every axis titled, no annotation without its own text (plotly's "new text")."""
    assert fig.layout.title.text
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.title.text
    assert all(a.text and a.text != "new text" for a in fig.layout.annotations)


def test_migration_timeline_figure(mig):
    fig = plots.migration_timeline(mig.timeline, rounds=mig.rounds)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names[-1] == "migration traffic (Mbit/s)" and fig.data[-1].yaxis == "y2"
    assert "guest throughput (relative), simulated" in names and "95% interval of a bin's throughput" in names
    assert "guest throughput (relative), round model" in names  # the rounds after the probe
    traffic = [v for v in fig.data[-1].y if v is not None]
    assert set(traffic) == set(mig.timeline["migration_mbps"])
    # every round and the stop-and-copy is a band, the stop-and-copy named even where it is narrow
    assert len(fig.layout.shapes) >= len(mig.rounds)
    assert "stop-and-copy" in [a.text for a in fig.layout.annotations]
    _reader_checks(fig)
    assert fig.layout.yaxis2.title.text == "migration traffic (Mbit/s)"


def test_migration_timeline_without_rounds_names_no_band_without_text():
    tl = pd.DataFrame({"t_s": [0.1, 0.2, 0.3, 0.4], "bin_s": [0.1] * 4, "phase": ["before", "round 1", "round 2", "after"],
                       "source": ["simulated"] * 4, "relative_throughput": [1.0, 0.9, 0.95, 1.0],
                       "relative_low": [0.9, 0.8, 0.85, 0.9], "relative_high": [1.1, 1.0, 1.05, 1.1],
                       "migration_mbps": [0.0, 900.0, 800.0, 0.0]})
    fig = plots.migration_timeline(tl)
    assert [a.text for a in fig.layout.annotations] == ["r1", "r2"]
    _reader_checks(fig)


def test_migration_rounds_figure(mig):
    fig = plots.migration_rounds(mig.rounds)
    assert [t.name for t in fig.data] == ["pages sent", "pages dirtied during the round"]
    assert list(fig.data[0].y) == list(mig.rounds["pages"])
    _reader_checks(fig)


def test_writable_working_set_figure():
    from kit.live_migration import writable_working_set
    curves = pd.concat([writable_working_set(w, 1000.0).assign(workload=w) for w in ("specweb", "quake3-server")])
    fig = plots.writable_working_set(curves)
    assert [t.name for t in fig.data] == ["specweb", "quake3-server"]
    assert fig.data[0].line.color != fig.data[1].line.color and fig.layout.xaxis.type == "log"
    _reader_checks(fig)


def test_downtime_against_dirty_rate_figure():
    df = pd.DataFrame({"method": ["pre-copy", "pre-copy", "post-copy", "post-copy"],
                       "page_writes_per_s": [10.0, 1000.0, 10.0, 1000.0], "downtime_ms": [5.0, 300.0, 2.0, 2.0],
                       "converged": [True, False, True, True]})
    fig = plots.downtime_vs_dirty_rate(df)
    assert [t.name for t in fig.data] == ["pre-copy", "post-copy"]
    assert list(fig.data[0].y) == [5.0, 300.0] and list(fig.data[0].marker.symbol) == ["circle", "circle-open"]
    assert fig.data[1].line.color == plots.METHOD_COLORS["post-copy"] and fig.layout.xaxis.type == "log"
    _reader_checks(fig)
    assert fig.layout.yaxis.title.text == "downtime (ms)"  # words with the unit, not the column's name


def test_migration_panel_builds_the_spec_and_runs():
    p = MigrationPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="quake3-server", vm_mib=16)
    p.method.value = "post-copy"
    p.dirty.value = 12
    assert dict(p.spec().params)["writable.pages_per_unit"] == 12
    assert p.options()["method"] == "post-copy"
    m = p.run()
    assert m is not None and m.summary["method"] == "post-copy"
    assert "downtime" in p.status.value
    assert isinstance(p.last_figure, go.Figure)
    assert [t.name for t in p.last_figure.data][-1] == "migration traffic (Mbit/s)"


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
