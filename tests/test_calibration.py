"""The calibration targets, and that every big gap is explained."""
import pandas as pd

from kit.papers.calibration import calibrate, load_calibration, summary


def test_published_rows_are_complete_and_cited():
    df = load_calibration()
    assert len(df) >= 100
    for col in ("source", "table", "testbed", "system", "metric", "value", "unit"):
        assert (df[col].str.len() > 0).all() or col == "unit"


def test_calibration_target_met():
    report = calibrate()
    stats = summary(report)["all"]
    assert stats["median_abs_rel_error"] <= 0.15
    assert stats["beyond_2x"] == 0
    assert report["ratio"].max() <= 2.0


def test_virtualized_rows_alone_meet_the_median_target():
    assert summary(calibrate())["virtualized_only"]["median_abs_rel_error"] <= 0.15


def test_every_gap_above_25_percent_is_explained():
    report = calibrate()
    big = report[report["rel_error"].abs() > 0.25]
    assert (big["gap"].str.len() > 20).all(), big[["system", "metric"]]


def test_report_covers_each_paper():
    report = calibrate()
    for paper in ("Barham", "Adams", "kvm-unit-tests", "Dall"):
        assert report["source"].str.startswith(paper).any(), paper
    assert isinstance(report, pd.DataFrame)
