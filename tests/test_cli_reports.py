"""What the command line reports says what it means (issue 23, section 2): request latency with its tail (p99.9 and
max beside the mean and p99, and a note when a few slow requests dominate the mean: kvm with a spec-int neighbour
reported a mean above its p99 unexplained); ``show workload`` lists only the parameters the workload's kind reads;
the noisy-neighbour table names the vCPU scheduler."""
import pandas as pd
import pytest

from kit.cli import main
from kit.cli.run import _tail_note
from kit.results import latency_stats


def _latency(values):
    return pd.DataFrame({"scenario": "kvm", "latency_us": values, "censored": False})


def test_a_tail_of_five_slow_requests_in_a_thousand():
    st = latency_stats(_latency([10.0] * 995 + [10000.0] * 5)).iloc[0]
    # by hand: the p99 falls among the fast ones, the p99.9 among the slow ones; the 5 slow requests hold
    # 50,000 of 59,950 us summed
    assert st["p99_us"] == pytest.approx(10.0) and st["p999_us"] == pytest.approx(10000.0)
    assert st["mean_us"] == pytest.approx(59.95) and st["max_us"] == 10000.0
    assert st["tail_share"] == pytest.approx(50000 / 59950)
    note = _tail_note(st)
    assert "83%" in note and "dominates the mean" in note and "above the p99" in note


def test_no_note_without_a_dominant_tail():
    st = latency_stats(_latency([float(v) for v in range(1, 1001)])).iloc[0]
    assert st["mean_us"] < st["p99_us"] and st["tail_share"] < 0.5
    assert _tail_note(st) == ""


@pytest.mark.parametrize(("workload", "shown", "not_shown"), [
    ("kernel-build", [], ["mtu", "clients", "queue_depth"]),
    ("netperf-rr", ["mtu=", "clients=", "think_us="], ["queue_depth", "window_kb", "direction"]),
    ("fio-randread", ["queue_depth="], ["mtu", "clients"])])
def test_show_workload_lists_only_the_parameters_its_kind_reads(workload, shown, not_shown, capsys):
    assert main(["show", "workload", workload]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("parameters"))
    assert all(s in line for s in shown) and not any(n in line for n in not_shown), line
    assert shown or line.endswith("none")


def test_the_noisy_neighbour_table_names_the_scheduler(capsys):
    assert main(["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--hypervisors",
                 "kvm,xen-hvm", "--set", "pcpus=1", "--neighbors", "none,spec-int", "--duration", "0.01",
                 "--no-model-uncertainty"]) == 0  # the table's scheduler column, not its intervals
    lines = capsys.readouterr().out.splitlines()
    head = next(x for x in lines if x.lstrip().startswith("hypervisor"))
    assert "vCPU scheduler" in head
    rows = {x.split()[0] + " " + x.split()[1]: x.split() for x in lines[lines.index(head) + 1:][:4]}
    assert "cfs" in rows["kvm spec-int"] and "credit" in rows["xen-hvm spec-int"]


def _contributor_cells(out: str) -> dict[str, str]:
    lines = out.splitlines()
    head = next(x for x in lines if x.lstrip().startswith("hypervisor"))
    at = len(head[:head.index("top contributors")].rstrip())  # columns are right-aligned: the previous one ends here
    rows = lines[lines.index(head) + 1:]
    rows = rows[:next((i for i, x in enumerate(rows) if x.startswith("model uncertainty")), len(rows))]
    return {" ".join(x.split()[:2]): x[at:].strip() for x in rows}


def test_the_noisy_neighbour_table_names_the_top_contributors(capsys):
    """Without native among the modes the column was "-" on every row (no native breakdown to compare with)."""
    assert main(["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--hypervisors",
                 "kvm,xen-hvm", "--set", "pcpus=1", "--neighbors", "none,spec-int", "--duration", "0.01",
                 "--no-model-uncertainty"]) == 0
    cells = _contributor_cells(capsys.readouterr().out)
    assert len(cells) == 4 and all("%" in c for c in cells.values()), cells
    assert cells["xen-hvm none"].startswith("backend: dom0") and cells["kvm none"].startswith("backend: vhost")
    # beside a CPU-bound neighbour the time lost waiting for a CPU leads
    assert cells["xen-hvm spec-int"].startswith("queueing"), cells


def test_contributors_compare_with_native_alone_not_native_beside_a_neighbour(capsys):
    """With native listed and its neighbour row first, the modes were compared with native beside the neighbour."""
    argv = ["compare", "--hardware", "skylake-sp-2017", "--workload", "netperf-rr", "--set", "pcpus=1",
            "--duration", "0.01", "--no-model-uncertainty"]
    assert main(argv + ["--hypervisors", "native,kvm", "--neighbors", "spec-int,none"]) == 0
    cells = _contributor_cells(capsys.readouterr().out)
    assert cells["native none"] == "(the baseline)" and "queueing" in cells["native spec-int"]
    assert main(argv + ["--hypervisors", "native,kvm"]) == 0  # kvm alone against native alone, no neighbours
    alone = capsys.readouterr().out
    assert cells["kvm none"] in alone, (cells["kvm none"], alone)
