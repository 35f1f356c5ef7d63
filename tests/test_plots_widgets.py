"""Panels driven without a browser: set control values, press Run, inspect the figure on show.

The figure builders themselves are checked against their data in test_figures.py."""
import pandas as pd
import plotly.graph_objects as go
import pytest

from kit.ui.panels import ComparePanel, ExperimentPanel, MicrobenchPanel, SweepPanel


def _shown(panel):
    """The plotly bundle in the panel's Output, as the front end receives it."""
    (out,) = panel.fig_out.outputs
    return out["data"]["application/vnd.plotly.v1+json"]


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert "VGIC state save and restore" in list(fig.data[0].customdata)  # the steps are rows, full names in hover
    assert fig.layout.title.text.startswith("The path of hypercall under kvm on xgene-armv8-2014: ")
    s = SweepPanel(workers=1)
    s.duration.value = 0.003
    s.steps.value = 2
    s.reps.value = 1
    s.uncertain.value = False  # the grid and its figure are checked here; the failed-points test keeps intervals on
    out = s.run()
    assert isinstance(out, pd.DataFrame) and len(out) == 4
    assert s.grid()["hw.exit_roundtrip_cycles"] == [200, 2000]
    fig = s.current_figure()
    assert [t["name"] for t in _shown(s)["data"] if t.get("mode") == "lines+markers"] == ["kvm", "xen-hvm"]
    assert fig.layout.xaxis.title.text == "VM exit round trip (cycles)"


# ---- every control through the --set language, spec files, exports, errors, limits, failed modes ------------

import json  # noqa: E402
import math  # noqa: E402


from kit import Spec  # noqa: E402
from kit.ui.panels import MAX_DURATION_S, SWEEP_MAX_DURATION_S, SWEEP_MAX_RUNS, CrossoverPanel  # noqa: E402


def _experiment_with_every_control():
    p = ExperimentPanel()
    p.vms.value = 2
    p.pcpus.value = 1
    p.neighbor.value = "hackbench"
    p.neighbor_vcpus.value = 2
    p.weights.value = "256,512"
    p.caps.value = "50,0"
    p.params.value = "clients=2"
    p.sets.value = "hw.exit_roundtrip_cycles=300 pin=true"
    p.overrides["interrupts"].value = "apicv"
    # 20 ms: the first request waits for the neighbour's first CFS slice to end (a tick after the 6 ms latency)
    p.duration.value = 0.02
    return p


def test_experiment_panel_controls_go_through_the_set_language():
    p = _experiment_with_every_control()
    expected = Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", vms=2,
                         duration=0.02).with_sets([
                             ("interrupts", "apicv"), ("pcpus", "1"), ("neighbor", "hackbench"),
                             ("neighbor_vcpus", "2"), ("weights", "256,512"), ("caps", "50,0"),
                             ("workload.clients", "2"), ("hw.exit_roundtrip_cycles", "300"), ("pin", "true")])
    assert p.spec() == expected
    p.uncertain.value = False  # what is checked is the spec the controls make: its intervals would re-run it ~85 times
    r = p.run()
    assert r is not None, p.status.value
    assert "neighbor" in set(r.breakdown["entity"])  # the neighbour VM ran beside the measured ones
    assert r.specs[-1].pcpus == 1 and r.specs[-1].weights == (256, 512) and r.specs[-1].caps == (50, 0)
    p.weights.value = "256"  # one weight for two VMs
    assert p.run() is None and "one value per VM" in p.status.value
    p.weights.value = ""
    p.sets.value = "warp=9"
    assert p.run() is None and "unknown setting" in p.status.value


def test_spec_files_round_trip_through_the_panels(tmp_path):
    p = _experiment_with_every_control()
    for suffix in ("yaml", "json"):
        p.spec_path.value = str(tmp_path / f"exp.{suffix}")
        p.save_button.click()
        assert p.files_status.value.startswith("saved"), p.files_status.value
        assert (tmp_path / f"exp.{suffix}").is_file() and "exit_roundtrip_cycles" in p.spec_text.value
        q = ExperimentPanel(hypervisor="xen-pv", workload="spec-int")
        q.spec_path.value = p.spec_path.value
        q.load_button.click()
        assert q.files_status.value.startswith("loaded") and q.spec() == p.spec()
        assert q.neighbor.value == "hackbench" and q.weights.value == "256,512" and q.pcpus.value == 1
    json.loads((tmp_path / "exp.json").read_text())  # JSON, not YAML that happens to parse
    q = ExperimentPanel()
    q.spec_text.value = "hardware: skylake-sp-2017\nhypervisor: xen-hvm\nworkload: memcached\nvcpus: 2\n"
    q.apply_button.click()
    assert q.hypervisor.value == "xen-hvm" and q.workload.value == "memcached" and q.vcpus.value == 2
    q.spec_text.value = "hardware: skylake-sp-2017\nhypervisor: kvm\nworkload: netperf-rr\nvcpu: 2\n"
    q.apply_button.click()
    assert "unknown key" in q.files_status.value and "vcpus" in q.files_status.value
    q.spec_text.value = "hardware: skylake-sp-2017\nhypervisor: kvm\nworkload: netperf-rr\nduration: 30\n"
    q.apply_button.click()
    assert "hvkit run --spec" in q.files_status.value and q.hypervisor.value == "xen-hvm"  # refused, unchanged
    q.spec_path.value = str(tmp_path / "missing.yaml")
    q.load_button.click()
    assert "no such file" in q.files_status.value
    q.spec_path.value = str(tmp_path / "exp.txt")
    q.save_button.click()
    assert ".yaml, .yml or .json" in q.files_status.value


def test_a_spec_saved_by_the_cli_loads_into_the_panel(tmp_path):
    from kit.cli.main import main
    path = tmp_path / "cli.yaml"
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "spec-int",
                 "--duration", "0.1", "--set", "memory=shadow", "--set", "hw.walk_ref_cycles=20",
                 "--save-spec", str(path), "--json"]) == 0
    p = ExperimentPanel()
    p.spec_path.value = str(path)
    p.load_button.click()
    assert p.overrides["memory"].value == "shadow" and p.sets.value == "hw.walk_ref_cycles=20"
    assert p.workload.value == "spec-int" and p.duration.value == 0.1


@pytest.mark.slow
def test_results_export_as_csv_and_parquet(tmp_path):
    p = ExperimentPanel()
    p.export_path.value = str(tmp_path / "res")
    p.csv_button.click()
    assert "press Run first" in p.files_status.value
    p.duration.value = 0.005
    r = p.run()
    p.csv_button.click()
    p.parquet_button.click()
    for table in ("summary", "breakdown", "exits", "latency"):
        csv = pd.read_csv(tmp_path / f"res.{table}.csv")
        parquet = pd.read_parquet(tmp_path / f"res.{table}.parquet")
        assert len(csv) == len(parquet) == len(getattr(r, table)) > 0
    back = pd.read_parquet(tmp_path / "res.summary.parquet")
    assert list(back["relative_performance"]) == list(r.summary["relative_performance"])
    m = MicrobenchPanel()
    m.run()
    m.export_path.value = str(tmp_path / "mb")
    m.parquet_button.click()
    paths = json.loads(pd.read_parquet(tmp_path / "mb.parquet")["path"].iloc[-1])  # lists as JSON text
    assert paths and {"step", "kind", "cycles"} <= set(paths[0])


def test_panels_say_what_went_wrong(monkeypatch):
    m = MicrobenchPanel()
    m.hypervisors.value = ()
    assert m.run() is None and "select at least one mode" in m.status.value
    c = ComparePanel()
    c.hypervisors.value = ()
    assert c.run() is None and "select at least one mode" in c.status.value

    # a run that measured nothing never reads "nan of native"
    real = ExperimentPanel._compute.__globals__["compare"]

    def no_value(*a, **kw):
        r = real(*a, **kw)
        r.summary.loc[:, "value"] = math.nan
        r.summary.loc[:, "relative_performance"] = math.nan
        return r
    monkeypatch.setattr("kit.ui.panels.runs.compare", no_value)
    p = ExperimentPanel()
    p.duration.value = 0.003
    assert p.run() is None
    assert "nan" not in p.status.value.lower() and "measured no transaction rate" in p.status.value


def test_sweep_panel_counts_failed_points():
    s = SweepPanel(hardware="p4-xeon-2003", workload="netperf-rr", hypervisors=("kvm",), workers=1)
    s.param.value = "workload.clients"
    s.steps.value, s.reps.value, s.duration.value = 2, 1, 0.003
    assert s.run() is not None
    assert "all 2 points failed" in s.status.value and "done" not in s.status.value
    assert s.current_figure() is None and s.fig_out.outputs == ()
    s.hypervisors.value = ("xen-pv", "kvm")
    df = s.run()
    assert (df["error"] != "").sum() == 2 and "2 of 4 points failed" in s.status.value
    assert [t.name for t in s.current_figure().data if t.mode == "lines+markers"] == ["xen-pv"]


def test_panels_are_bounded_to_interactive_work():
    p = ExperimentPanel()
    p.duration.value = 30.0
    assert p.duration.value == MAX_DURATION_S  # the control clamps
    s = SweepPanel(workers=1)
    s.duration.value = 5.0
    assert s.duration.value == SWEEP_MAX_DURATION_S
    s.steps.value, s.reps.value = s.steps.max, s.reps.max
    s.hypervisors.value = ("kvm", "xen-hvm")
    assert s.runs() > SWEEP_MAX_RUNS
    assert s.run() is None and f"more than the {SWEEP_MAX_RUNS} a panel runs" in s.status.value
    s.duration.value = 0.0
    s.steps.value, s.reps.value = 2, 1
    assert s.run() is None and "needs a duration" in s.status.value


def test_compare_panel_duration_seed_and_failed_modes():
    c = ComparePanel(hardware="p4-xeon-2003", workload="spec-int", hypervisors=("native", "xen-pv", "kvm"))
    c.duration.value, c.seed.value = 0.2, 3
    r = c.run()
    assert set(r.summary["duration"].dropna()) == {0.2} and set(r.summary["seed"].dropna()) == {3}
    assert "1 of 3 modes failed (kvm" in c.status.value
    c.hypervisors.value = ("kvm",)
    c.run()
    assert "every mode failed" in c.status.value
    assert c.spec() == Spec.make(hardware="p4-xeon-2003", hypervisor="kvm", workload="spec-int", duration=0.2,
                                 seed=3)
    c2 = ComparePanel(view="latency")
    c2.apply_spec(Spec.make(hardware="xgene-armv8-2014", hypervisor="xen-hvm", workload="memcached", duration=0.01))
    assert c2.hypervisors.value == ("native", "xen-hvm") and c2.hardware.value == "xgene-armv8-2014"
    assert c2.view.value == "latency"
    with pytest.raises(Exception, match="hvkit compare --spec"):
        c2.apply_spec(Spec.make(hardware="xgene-armv8-2014", hypervisor="kvm", workload="memcached", vcpus=2))


def test_crossover_panel_heatmap_is_the_difference_of_its_runs():
    c = CrossoverPanel(workers=1)
    c.xs.value, c.ys.value, c.duration.value = "0.1, 5", "0, 500", 0.02
    df = c.run()
    assert df is not None, c.status.value
    t = df.pivot_table(index=["set.workload.pte_writes", "set.workload.tlb_mpki"], columns="set.memory",
                       values="relative_performance")
    expected = (t["nested"] - t["shadow"]).unstack("set.workload.tlb_mpki")
    heat = c.current_figure().data[0]
    assert list(heat.x) == ["0.1", "5.0"] and list(heat.y) == ["0", "500"]
    assert [list(row) for row in heat.z] == [list(expected.loc[y]) for y in expected.index]
    ahead = int((expected.to_numpy() > 0).sum())
    assert 0 < ahead < 4 and f"nested is ahead in {ahead} of 4 cells" in c.status.value
    c.xs.value = ", ".join(str(v) for v in range(SWEEP_MAX_RUNS))
    assert c.run() is None and f"more than the {SWEEP_MAX_RUNS} a panel runs" in c.status.value
    c.xs.value = "0.1, 5"
    c.part.value = "interrupts"
    assert c.first.value != c.second.value and c.first.options == c.second.options
    c.y.value = c.x.value
    assert c.run() is None and "same parameter" in c.status.value
    c.y.value = "workload.pte_writes"
    c.ys.value = "0, lots"
    assert c.run() is None and "numbers separated by commas" in c.status.value


def test_every_panel_is_one_base_class_with_one_run_guard():
    import inspect

    from kit.ui import panels
    classes = [getattr(panels, n) for n in panels.__all__ if n.endswith("Panel") and n != "Panel"]
    assert len(classes) == 9 and all(issubclass(c, panels.Panel) for c in classes)
    # the guard (one run at a time, errors shown) is the base's alone
    assert not [c.__name__ for c in classes if "run" in vars(c)]
    assert "already in progress" in inspect.getsource(panels.Panel.run)


def test_a_panel_s_table_is_formatted_without_none_cells():
    """The dashboard's table was a raw DataFrame: "None" cells, every digit, a positional index, cut off."""
    import pandas as pd

    from kit.ui.panels.base import formatted_table
    df = pd.DataFrame({"hypervisor": ["native", "kvm"], "neighbor": [None, None], "value": [123456.789012, 0.5],
                       "ci_low": [float("nan"), 0.49], "error": ["", None]})
    html = formatted_table(df).to_html()
    assert "None" not in html and "nan" not in html and "neighbor" not in html  # a column of nothing is left out
    assert "123,456.7890" in html and "0.4900" in html
    assert ">0<" not in html  # no positional index
