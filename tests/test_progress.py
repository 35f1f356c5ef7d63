"""Long work shows progress: a run or compare reports simulated seconds done over started, to a
callable, a tqdm bar on a terminal, or a panel's progress bar, and reporting never changes a number."""
from __future__ import annotations

import importlib

import pytest

import kit

R = importlib.import_module("kit.run")


def _reports(**kw):
    seen: list[tuple[float, float, str]] = []
    result = kit.compare("skylake-sp-2017", "netperf-rr", ["kvm", "xen-hvm"], duration=0.2, seed=11,
                         engine="discrete", progress=lambda d, t, label: seen.append((d, t, label)), **kw)
    return result, seen


@pytest.mark.slow
def test_a_compare_reports_every_simulation_to_the_end():
    result, seen = _reports()
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and all(d <= t + 1e-12 for d, t, _ in seen)
    # native, kvm and xen-hvm: three simulations of 0.2 s each, then the total is done
    assert seen[-1][0] == seen[-1][1] and abs(seen[-1][1] - 0.6) < 1e-9
    labels = [label for _, _, label in seen]
    assert labels[0] == "native" and "kvm" in labels and labels[-1] == "xen-hvm"
    # the host reports while it runs, not only at the start and the end of each simulation
    assert len(seen) > 3 * 2 + 5


@pytest.mark.slow
def test_reporting_progress_changes_no_number():
    with_bar, _ = _reports()
    plain = kit.compare("skylake-sp-2017", "netperf-rr", ["kvm", "xen-hvm"], duration=0.2, seed=11,
                        engine="discrete")
    cols = ["value", "native_value", "relative_performance", "events", "units"]
    assert with_bar.summary[cols].equals(plain.summary[cols])


@pytest.mark.slow
def test_nested_blocks_report_to_the_outermost():
    outer: list[float] = []
    with R.report_progress(lambda d, t, label: outer.append(t)):
        kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.1,
                              seed=5, engine="discrete"), progress=lambda d, t, label: None)
    assert outer and outer[-1] >= 0.1


def test_no_bar_when_standard_error_is_not_a_terminal(capsys):
    from kit.cli import main
    assert main(["run", "--hardware", "skylake-sp-2017", "--hypervisor", "kvm", "--workload", "netperf-rr",
                 "--duration", "0.05"]) == 0
    assert "simulated s" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_panel_shows_a_bar_while_it_runs_and_hides_it_after():
    from kit.ui.panels import ComparePanel
    panel = ComparePanel()
    values: list[float] = []
    panel.bar.observe(lambda change: values.append(change["new"]), "value")
    panel.run()
    assert values and values[-1] == 1.0 and values == sorted(values)
    assert panel.bar.layout.visibility == "hidden"


def test_the_library_reports_and_a_front_end_draws(capsys):
    import pytest

    from kit.ui.progress import terminal_bar
    spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.01)
    with pytest.raises(kit.HvkitError, match="not a progress reporter"):
        kit.run(spec, progress=True)
    with terminal_bar("points") as bar:
        bar(1, 2, "sweep")
        bar(2, 2, "sweep")
    assert "2/2" in capsys.readouterr().err
