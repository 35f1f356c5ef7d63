"""The revealed rows of the later blind sets: each names its frozen prediction, and the table keeps blind, current
and published apart, with every gap's mechanism checked against the code."""
import math

import pandas as pd
import pytest

from kit.errors import HvkitError
from kit.papers import revealed
from kit.papers.blind import BLIND_FILES, frozen
from kit.papers.calibration import Gap
from kit.papers.published import load_published


def test_every_revealed_row_names_its_frozen_prediction():
    rv = revealed.rows()
    assert len(rv) >= 25 and set(rv["role"]) == {"revealed"}
    for _, r in rv.iterrows():
        assert r["blind_file"] in BLIND_FILES, r["id"]
        blind = frozen(r["blind_file"])
        value = blind.iloc[int(r["blind_row"])][r["blind_column"]]
        assert float(value) == pytest.approx(float(r["blind_prediction"]), abs=1e-9), r["id"]
    # each paper's rows, and only those, by id
    assert sum(len(revealed.rows(p)) for p in revealed.PAPERS) == len(rv)


def test_the_revealed_file_keeps_native_rows_as_inputs():
    pub = load_published(revealed.REVEALED)
    assert (pub[pub["system"] == "native"]["role"] == "native").all()
    cpuid = pub[pub["op"] == "cpuid"].set_index("hypervisor")["value"].astype(float)
    assert list(cpuid[["native", "kvm", "kvm-on-kvm"]]) == [100.0, 2600.0, 58000.0]


def test_an_unknown_paper_is_refused():
    with pytest.raises(HvkitError, match="unknown paper"):
        revealed.rows("smith-2099")


def _fake_current(rv, value):
    return pd.DataFrame({"value": [value] * len(rv), "ci_low": [value - 0.01] * len(rv),
                         "ci_high": [value + 0.01] * len(rv), "seeds": [3] * len(rv)})


def test_errors_are_points_for_relative_rows_and_factors_for_the_rest():
    rv = revealed.rows("clark-2005")
    cur = pd.DataFrame({"value": [420.0, 71.0, 9.0, 480.0], "ci_low": [400.0, 70.0, 9.0, 470.0],
                        "ci_high": [440.0, 72.0, 9.0, 490.0], "seeds": [3] * 4})
    t = revealed.table("clark-2005", cur=cur).set_index("id")
    assert t.loc["clark2005:xen-pv:specweb-downtime", "current_error"] == pytest.approx(2.0)  # 420 / 210
    assert t.loc["clark2005:xen-pv:specweb-mib-sent", "current_error"] == pytest.approx(2.0)  # 960 / 480
    assert t.loc["clark2005:xen-pv:specweb-total", "current_error"] == pytest.approx(1.0)
    assert (t["error_kind"] == "factor").all() and len(rv) == 4
    assert list(t["gap"]) == [True, False, False, True]
    b = revealed.rows("barham-2003-scalability")
    t = revealed.table("barham-2003-scalability", cur=_fake_current(b, 0.90)).iloc[0]
    assert t["error_kind"] == "points" and t["current_error"] == pytest.approx((0.90 - 0.925) * 100)
    assert t["blind_error"] == pytest.approx((0.97288 - 0.925) * 100, abs=0.01)
    assert not t["gap"]  # 2.5 points


def test_a_gap_is_explained_only_by_a_mechanism_that_exists(monkeypatch):
    rv = revealed.rows("barham-2003-scalability")
    cur = _fake_current(rv, 0.80)  # 12.5 points under
    rid = rv["id"].iloc[0]
    monkeypatch.setattr(revealed, "MECHANISMS", {})
    assert not revealed.table("barham-2003-scalability", cur=cur)["explained"].iloc[0]
    monkeypatch.setattr(revealed, "MECHANISMS", {rid: Gap("xen.no_such_path", "a story")})
    assert not revealed.table("barham-2003-scalability", cur=cur)["explained"].iloc[0]
    monkeypatch.setattr(revealed, "MECHANISMS", {rid: Gap("xen.schedule", "the scheduler's path")})
    assert revealed.table("barham-2003-scalability", cur=cur)["explained"].iloc[0]


def test_the_named_mechanisms_exist():
    from kit.papers.calibration import mechanism_exists
    ids = set(revealed.rows()["id"])
    for rid, gap in revealed.MECHANISMS.items():
        assert rid in ids and mechanism_exists(gap.mechanism), rid


def test_a_non_finite_current_value_is_refused():
    rv = revealed.rows("barham-2003-scalability")
    with pytest.raises(HvkitError, match="not finite"):
        revealed.table("barham-2003-scalability", cur=_fake_current(rv, math.nan))


def test_the_current_model_comes_from_the_blind_files_generator():
    """Clark et al.'s migration recomputed by its generator: each column from the same runs, with an interval."""
    rv = revealed.rows("clark-2005")
    cur = revealed.current(rv, seeds=2)
    assert list(cur["seeds"]) == [2] * 4
    assert (cur["ci_low"] <= cur["value"]).all() and (cur["value"] <= cur["ci_high"]).all()
    assert cur["value"].iloc[3] > 800.0  # an 800 MiB VM sends at least its memory
    with pytest.raises(HvkitError, match="interval"):
        revealed.current(rv, seeds=1)


def test_the_summary_keeps_points_and_factors_apart():
    cur = pd.DataFrame({"value": [420.0, 71.0, 9.0, 480.0], "ci_low": [400.0, 70.0, 9.0, 470.0],
                        "ci_high": [440.0, 72.0, 9.0, 490.0], "seeds": [3] * 4})
    s = revealed.summary(revealed.table("clark-2005", cur=cur))
    assert list(s["rows"]) == ["factor (4)", "factor (4)"]
    now = s[s["predictions"].str.startswith("current")].iloc[0]
    assert now["worst"] == pytest.approx(2.0) and now["gaps"] == 2


def test_a_report_holds_what_a_paper_notebook_shows(monkeypatch):
    """The five notebooks' one template as a library call: tables by short row name, gaps in words, refusals."""
    cur = pd.DataFrame({"value": [420.0, 71.0, 9.0, 900.0], "ci_low": [400.0, 70.0, 9.0, 890.0],
                        "ci_high": [440.0, 72.0, 9.0, 910.0], "seeds": [3] * 4})
    monkeypatch.setattr(revealed, "current", lambda rv, seeds: cur)
    r = revealed.report("clark-2005")
    assert list(r.comparison.index) == ["xen-pv:specweb-downtime", "xen-pv:specweb-total", "xen-pv:specweb-rounds",
                                        "xen-pv:specweb-mib-sent"]
    assert r.comparison["name"].iloc[0] == "xen-pv: SPECweb99 800 MB live migration downtime"
    assert r.title.startswith("Clark et al., Live Migration of Virtual Machines: ")
    assert r.digests["unchanged"].all() and len(r.rows) == 4
    # downtime: 420 ms against the published 210, a factor of 2, the one gap; its mechanism is named in words
    assert list(r.gaps["row"]) == ["xen-pv:specweb-downtime"] and r.gaps["current_error"].iloc[0] == 2.0
    assert r.gap_text().startswith("xen-pv:specweb-downtime: blind +3.55, now +2.00 (factor)\n    kit.sim.")
    # a data sent off by 2x has no mechanism named: the report refuses rather than show an unexplained gap
    monkeypatch.setattr(revealed, "current", lambda rv, seeds: cur.assign(value=[420.0, 71.0, 9.0, 480.0]))
    with pytest.raises(HvkitError, match="no mechanism"):
        revealed.report("clark-2005")
