"""Fit apart from test: every published row has a role, every fitted parameter names its rows, and the headline
error is computed over test rows only."""
import pandas as pd
import pytest

from kit.costs.codepaths import FITTED_TO, SOFTWARE, instructions, path_overrides
from kit.errors import HvkitError
from kit.papers.calibration import HARDWARE_FITTED_TO, calibrate, fitted_parameters, load_calibration, summary
from kit.papers.published import ROLES, load_published


@pytest.fixture(scope="module")
def published():
    return load_published()


@pytest.fixture(scope="module")
def report(published):
    return calibrate(published)


def test_published_rows_are_complete_and_cited():
    df = load_calibration()
    assert len(df) >= 100
    for col in ("source", "table", "testbed", "system", "metric", "value", "id", "role"):
        assert (df[col].str.len() > 0).all(), col


def test_every_row_has_a_role_and_fitted_parameters_name_their_rows(published):
    assert set(published["role"]) <= set(ROLES)
    by_id = published.set_index("id")
    named = {i for rows in FITTED_TO.values() for i in rows} | {i for rows in HARDWARE_FITTED_TO.values()
                                                                 for i in rows}
    for i in named:
        assert i in by_id.index, f"a parameter names a row that does not exist: {i}"
        assert by_id.loc[i, "role"] in ("fit", "tautology"), i
    # a fit row is one some parameter was fitted to, and nothing else is
    assert set(published[published["role"] == "fit"]["id"]) == {i for i in named if by_id.loc[i, "role"] == "fit"}
    # every "calibrated" path names its rows; no estimate claims any
    calibrated = {k for k, (_, src) in SOFTWARE.items() if src.startswith("calibrated")}
    assert calibrated == set(FITTED_TO)
    # tautologies are parameters read back or steps equal to one calibrated value
    taut = published[published["role"] == "tautology"]
    assert set(taut["compare"].map(lambda c: "step" if c.startswith("step:") else c)) == {"parameter", "step"}
    assert (published[published["system"] == "native"]["role"] == "native").all()


def test_summary_scores_test_and_fit_apart(report):
    s = summary(report)
    assert s["headline"] == "test"
    test, fit = report[report["role"] == "test"], report[report["role"] == "fit"]
    assert s["test"]["rows"] == len(test) and s["fit"]["rows"] == len(fit)
    assert s["test"]["median_abs_rel_error"] == pytest.approx(test["rel_error"].abs().median())
    assert s["fitted_parameters"] == len(fitted_parameters()) == len(FITTED_TO) + len(HARDWARE_FITTED_TO)
    assert sum(f["fit_rows"] for f in s["by_family"].values()) == len(fit)
    assert sum(f["test_rows"] for f in s["by_family"].values()) == len(test)
    assert sum(f["fitted_parameters"] for f in s["by_family"].values()) == len(FITTED_TO)


def test_fit_rows_are_fitted(report):
    # a calibrated parameter that misses the rows it names is a bug, not a finding
    fit = report[report["role"] == "fit"]
    assert fit["rel_error"].abs().median() <= 0.10
    assert (fit["ratio"] <= 1.5).all(), fit[fit["ratio"] > 1.5][["id", "model", "published"]]


def test_every_scored_gap_above_25_percent_is_explained(report):
    big = report[(report["rel_error"].abs() > 0.25) & report["role"].isin(["test", "fit"])]
    assert (big["gap"].str.len() > 20).all(), big[["id", "rel_error"]]


def test_report_covers_each_paper(report):
    for paper in ("barham2003", "adams2006", "kut2012", "dall2016", "ananta2024"):
        assert (report["paper"] == paper).any(), paper
    assert isinstance(report, pd.DataFrame)


def test_path_overrides_are_scoped_and_checked():
    base = instructions("xen", "current", "trap_bounce")
    with path_overrides({"xen.trap_bounce": 2 * base}):
        assert instructions("xen", "current", "trap_bounce") == 2 * base
    assert instructions("xen", "current", "trap_bounce") == base
    # a path given as None is absent: the release-less entry stands in for a release's
    with path_overrides({"vmware@2003.bt_fault_reflect": None}):
        assert instructions("vmware", "2003", "bt_fault_reflect") == SOFTWARE["vmware.bt_fault_reflect"][0]
    with pytest.raises(HvkitError):
        with path_overrides({"xen.no_such_path": 1.0}):
            pass
