"""Published data, paper tables, committed predictions (backtest) and the reproduce/validate commands."""
import pytest

from kit.papers import revealed

from kit.errors import HvkitError
from kit.papers.predictions import testbed_2003
from kit.papers.reproduce import PAPERS, error_summary, reproduce, validate
from kit.papers.published import load_published


def test_published_rows_carry_citation_table_testbed_mode_metric_value_unit():
    df = load_published()
    assert len(df) >= 118
    for col in ("source", "table", "testbed", "system", "metric", "value"):
        assert (df[col].str.strip().str.len() > 0).all(), col


def test_loader_rejects_bad_rows(tmp_path, monkeypatch):
    (tmp_path / "data" / "published").mkdir(parents=True)
    good = load_published("microbench_extra")
    bad = good.drop(columns=["file"]).copy()
    bad.loc[0, "unit"] = "furlongs"
    bad.to_csv(tmp_path / "data" / "published" / "x.csv", index=False)
    monkeypatch.setenv("HVKIT_ROOT", str(tmp_path))
    with pytest.raises(HvkitError) as e:
        load_published("x")
    assert "x.csv, row 2" in str(e.value) and "unit" in str(e.value) and "furlongs" in str(e.value)


@pytest.mark.parametrize("name", [n for n in PAPERS if not n.startswith("predictions-") and n != "barham-2003-macro"])
def test_paper_tables(name):
    t = reproduce(name)
    assert {"spec", "published", "model", "rel_error"} <= set(t.columns) and len(t) > 0
    s = error_summary(t)
    assert s["rows"] == len(t)
    big = t[t["rel_error"].abs() > 0.25]
    assert (big["gap"].str.len() > 20).all(), big[["system", "metric"]]


def test_the_first_blind_file_covers_the_2003_testbed_and_sandy_bridge():
    committed = testbed_2003.PREDICTION_SET.read()
    assert set(committed["workload"]) >= {"spec-int", "kernel-build", "osdb-ir", "osdb-oltp", "dbench", "specweb",
                                          "ttcp", "linpack", "stream", "random-access", "netperf-rr"}
    ttcp = committed[committed["workload"] == "ttcp"]
    assert set(ttcp["params"]) == {"direction=tx;mtu=1500", "direction=tx;mtu=500", "direction=rx;mtu=1500",
                                   "direction=rx;mtu=500"}


def test_validate_headline_is_the_test_rows():
    report, stats = validate()
    assert stats["headline"] == "test"
    nothing = report["mode_adds_nothing"]
    assert stats["test"]["rows"] == int(((report["role"] == "test") & ~nothing).sum()) > 50
    assert stats["test_mode_adds_nothing"]["rows"] == int(((report["role"] == "test") & nothing).sum())
    assert stats["fit"]["rows"] == int((report["role"] == "fit").sum())
    revealed_here = int((report["role"] == "revealed").sum())  # Turtles' cpuid exits, microbenchmark values
    assert revealed_here == 2
    assert stats["test"]["rows"] + stats["test_mode_adds_nothing"]["rows"] + stats["fit"]["rows"] + stats[
        "excluded"]["native"] + stats["excluded"]["tautology"] + revealed_here == len(report)
    # Barham et al.'s Figure 3 and Table 6 (20) and the later sets' revealed rows, scored apart
    assert stats["excluded"]["revealed"] == 20 + len(revealed.rows()) + revealed_here
    assert stats["gaps_explained"] and not stats["gaps_unexplained"]


def test_reproduce_and_validate_commands(cli):
    listed = cli("reproduce", "--list").ok()
    assert all(n in listed for n in PAPERS)
    out = cli("reproduce", "adams-agesen-2006-nanobench", "--json").json()
    assert out["summary"]["rows"] == len(out["rows"])
    assert "barham-2003-lmbench" in cli("reproduce", "nope").error()


@pytest.mark.slow  # every paper's rows again; the fast tier keeps validate's numbers (the golden case, the headline)
def test_the_validate_command_reports_test_and_fit_rows_per_family(cli):
    text = cli("validate").ok()
    assert "TEST rows" in text and "fit rows" in text and "per family" in text
