"""Leave one paper out: refitting without a paper's rows, and what the model then says about that paper."""
import math

import pytest

from kit.costs.codepaths import FITTED_TO, SOFTWARE
from kit.papers.calibration import paper_of
from kit.papers.published import load_published
from kit.papers.refit import evaluate, leave_one_paper_out, refit


@pytest.fixture(scope="module")
def table():
    return leave_one_paper_out()


def test_refit_on_one_paper_identifies_exactly_its_parameters_and_reproduces_its_rows():
    """Dall et al.'s five fit rows: the parameters fitted to them are refitted, every other one is left unknown."""
    pub = load_published()
    fit = pub[pub["role"] == "fit"]
    dall = fit[[paper_of(i) == "dall2016" for i in fit["id"]]]
    values = refit(dall)
    named = {p for p, ids in FITTED_TO.items() if any(paper_of(i) == "dall2016" for i in ids)}
    assert named and {p for p, v in values.items() if v is not None} == named
    assert evaluate(dall, values)["rel_error"].abs().max() < 0.05


@pytest.mark.slow
def test_refit_on_every_paper_reproduces_the_fit_rows():
    pub = load_published()
    fit = pub[pub["role"] == "fit"]
    values = refit(fit)
    assert all(v is not None for v in values.values())
    ev = evaluate(fit, values)
    assert ev["rel_error"].abs().median() < 0.05


@pytest.mark.slow
def test_a_paper_left_out_leaves_its_own_parameters_unidentified(table):
    papers = {paper_of(i) for i in load_published()["id"]}
    assert table.iloc[0]["left_out"] == "(none)" and set(table["left_out"][1:]) <= papers
    for _, row in table.iloc[1:].iterrows():
        for p in filter(None, row["unidentified"].split(", ")):
            assert p in FITTED_TO and any(paper_of(i) == row["left_out"] for i in FITTED_TO[p]), (row["left_out"], p)
        assert row["refitted"] + len(list(filter(None, row["unidentified"].split(", ")))) <= len(FITTED_TO)
    # kvm-unit-tests 2017 alone sets KVM's timer paths, and nothing else can stand in for them
    kut17 = table[table["left_out"] == "kut2017"].iloc[0]
    assert set(kut17["unidentified"].split(", ")) == {"kvm.timer_arm", "kvm.timer_arm_hrtimer", "kvm.timer_fire"}
    assert kut17["not_predictable"] == kut17["rows"]
    # a paper nothing was fitted to (a pure test) is scored the same with or without it
    ananta = table[table["left_out"] == "ananta2024"].iloc[0]
    assert ananta["fit_rows"] == 0 and ananta["median_left_out"] == pytest.approx(ananta["median_in_sample"], abs=0.02)


@pytest.mark.slow
def test_a_release_specific_path_falls_back_to_the_release_less_one(table):
    # without Barham et al., VMware Workstation 3.2's fault reflection is the 2006 VMM's (no longer unknown)
    pub = load_published()
    rest = pub[(pub["role"] == "fit") & ~pub["id"].str.startswith("barham2003")]
    values = refit(rest)
    assert values["vmware@2003.bt_fault_reflect"] is None and values["vmware.bt_fault_reflect"] is not None
    row = pub[pub["id"] == "barham2003:vmware-workstation-3.2:lmbench.prot_fault"]
    err = evaluate(row, values)["rel_error"].iloc[0]
    assert math.isfinite(err) and err < -0.3  # the 2006 VMM reflected faults far faster than Workstation 3.2
    assert SOFTWARE["vmware@2003.bt_fault_reflect"][0] > SOFTWARE["vmware.bt_fault_reflect"][0]
