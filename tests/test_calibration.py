"""Fit apart from test: every published row has a role, every fitted parameter names its rows, and the headline
error is computed over test rows only."""
import pandas as pd
import pytest

from kit.costs.codepaths import FITTED_TO, SOFTWARE, instructions, path_overrides
from kit.errors import HvkitError
from kit.papers.calibration import (GAPS, HARDWARE_FITTED_TO, IN_VIEW, Gap, calibrate, fitted_parameters,
                                   gap_sensitivity, gaps_explained, joint_groups, load_calibration,
                                   mechanism_exists, summary)
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
    named = {i for table in (FITTED_TO, HARDWARE_FITTED_TO, IN_VIEW) for rows in table.values() for i in rows}
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
    assert s["fit"]["rows"] == len(fit)
    scored = test[~test["mode_adds_nothing"]]
    assert s["test"]["median_abs_rel_error"] == pytest.approx(scored["rel_error"].abs().median())
    assert s["fitted_parameters"] == len(fitted_parameters()) == len(joint_groups()) + len(IN_VIEW) + len(
        HARDWARE_FITTED_TO)
    assert sum(f["fit_rows"] for f in s["by_family"].values()) == len(fit)
    # the headline's test rows leave out those whose mode adds nothing to native; they are scored apart
    nothing = test[test["mode_adds_nothing"]]
    assert s["test"]["rows"] == len(test) - len(nothing) and s["test_mode_adds_nothing"]["rows"] == len(nothing)
    assert sum(f["test_rows"] for f in s["by_family"].values()) == len(test) - len(nothing)


def test_fit_rows_are_fitted(report):
    # a calibrated parameter that misses the rows it names is a bug, not a finding
    fit = report[report["role"] == "fit"]
    assert fit["rel_error"].abs().median() <= 0.10
    assert (fit["ratio"] <= 1.5).all(), fit[fit["ratio"] > 1.5][["id", "model", "published"]]


def test_every_scored_gap_above_25_percent_is_explained_by_a_mechanism_that_moves_it(report):
    big = gaps_explained(report)
    assert len(big) >= 10 and big["explained"].all(), big[~big["explained"]][["id", "gap_mechanism"]]
    assert (big["gap"].str.len() > 20).all()
    for _, r in big.iterrows():
        assert mechanism_exists(r["gap_mechanism"]) and r["gap_sensitivity"] > 0, r["id"]


def test_a_gap_note_alone_explains_nothing(report):
    """A note naming no mechanism of the code, or one the row does not depend on, leaves the gap unexplained."""
    big = gaps_explained(report)
    row = big.iloc[0]
    for mechanism in ("a plausible story", "xen.no_such_path", "kit.costs.paths:NO_SUCH_CONSTANT"):
        assert not mechanism_exists(mechanism)
    unrelated = "vmware.bt_cr8" if not row["gap_mechanism"].startswith("vmware") else "xen.cr3"
    pub = load_published().set_index("id", drop=False)
    assert gap_sensitivity(pub.loc[row["id"]], unrelated) == 0.0
    broken = report.copy()
    i = broken.index[broken["id"] == row["id"]][0]
    broken.loc[i, "gap_mechanism"], broken.loc[i, "gap_sensitivity"] = unrelated, 0.0
    assert not gaps_explained(broken).set_index("id").loc[row["id"], "explained"]


def test_every_gap_names_a_mechanism_of_the_code():
    pub = load_published().set_index("id", drop=False)
    for rid, gap in GAPS.items():
        assert isinstance(gap, Gap) and rid in pub.index, rid
        assert mechanism_exists(gap.mechanism, pub.loc[rid, "hardware"]), (rid, gap.mechanism)


def test_a_constant_doubled_for_a_sensitivity_is_put_back():
    from kit.costs import interrupt_events
    before = interrupt_events.EOI_CYCLES
    row = load_published().set_index("id", drop=False).loc["ananta2024:kvm-arm:eoi"]
    assert gap_sensitivity(row, "kit.costs.interrupt_events:EOI_CYCLES") > 0.5
    assert interrupt_events.EOI_CYCLES is before


def test_rows_where_the_mode_adds_nothing_are_those_equal_to_native(report):
    nothing = report[report["mode_adds_nothing"]]
    assert len(nothing) >= 5
    # Xen PV's system call goes straight to the guest kernel (Barham et al.); a VM exit is never native-equal
    assert report.set_index("id").loc["barham2003:xen-pv:lmbench.null_call", "mode_adds_nothing"]
    assert not report.set_index("id").loc["li2020:kvm:vmcall", "mode_adds_nothing"]
    assert (nothing["compare"] == "value").all() and (nothing["family"] != "native").all()


def test_estimates_chosen_with_a_row_in_view_make_it_a_fit_row(published):
    by_id = published.set_index("id")
    assert by_id.loc["li2020:kvm:vmcall", "role"] == by_id.loc["dall2016:xen-x86:hypercall", "role"] == "fit"
    for key in IN_VIEW:
        assert mechanism_exists(key), key
        assert key not in FITTED_TO  # an estimate in view was chosen, not searched


def test_parameters_one_row_cannot_separate_are_one_group():
    groups = joint_groups()
    assert ("vmware.exit_dispatch", "vmware.shadow_pf") in groups
    assert ("vmware.emulate", "vmware.shadow_update") in groups
    assert sum(len(g) for g in groups) == len(FITTED_TO)
    for g in groups:
        assert len({tuple(sorted(FITTED_TO[p])) for p in g}) == 1


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
