"""Every estimated or fitted value states how far it may be off (its plausible range) beside its provenance.

The first test is the one that catches a merge adding an estimate without a range: a hardware profile's value
without ``range:``, a path length, module constant or workload count whose "estimated, because ..." source has no
"; plausible LOW-HIGH because ..." (or "; fixed because ...") clause.
"""
from __future__ import annotations

import math

import pytest

from kit.costs import codepaths
from kit.errors import HvkitError
from kit.inputs.hardware import load_hardware
from kit.inputs.ranges import Range, needs_range, parse_clause, range_of_text
from kit.uncertainty import parameters
from kit.uncertainty.parameters import Parameter, constant_parameters, missing_ranges, path_parameters


def test_every_estimated_or_fitted_value_states_a_range():
    missing = missing_ranges()
    assert not missing, "estimated or fitted values without a plausible range:\n" + "\n".join(missing)


def test_a_path_length_estimated_without_a_range_is_caught(monkeypatch):
    monkeypatch.setitem(codepaths.SOFTWARE, "kvm.new_path", (500, "estimated, because it is new"))
    assert "kit/costs/codepaths.py: kvm.new_path" in missing_ranges()
    monkeypatch.setitem(codepaths.SOFTWARE, "kvm.new_path",
                        (500, "estimated, because it is new; plausible 250-1000 because nobody measured it yet"))
    assert not any("kvm.new_path" in m for m in missing_ranges())


def test_a_hardware_value_estimated_without_a_range_is_caught(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("base: skylake-sp-2017\nid: mine\nparams:\n"
                 "  irq_cycles: {value: 800, source: \"estimated, because I think so\"}\n")
    q = load_hardware(p).params.irq_cycles
    assert q.needs_range() and q.plausible() is None
    p.write_text("base: skylake-sp-2017\nid: mine\nparams:\n"
                 "  irq_cycles: {value: 800, source: \"estimated, because I think so\", "
                 "range: {low: 600, high: 1000, because: \"a guess within a quarter\"}}\n")
    r = load_hardware(p).params.irq_cycles.plausible()
    assert (r.low, r.high) == (600, 1000)


def test_a_hardware_range_must_hold_its_value(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("base: skylake-sp-2017\nid: bad\nparams:\n"
                 "  irq_cycles: {value: 800, source: \"estimated, because I think so\", "
                 "range: {low: 900, high: 1000, because: \"a guess within a quarter\"}}\n")
    with pytest.raises(HvkitError, match="irq_cycles"):
        load_hardware(p)


def test_a_fitted_value_takes_its_interval_as_its_range():
    hw = load_hardware("data/machines/amd-epyc-pvm-guest/profile.yaml")
    r = hw.params.cpuid_cycles.plausible()
    assert (r.low, r.high) == tuple(hw.params.cpuid_cycles.interval)


@pytest.mark.parametrize("text, value, want", [
    ("estimated, because x; plausible 400-900 because reading code", 600, (400, 900, False)),
    ("estimated, because x; plausible 0.5-2x because a factor of two", 600, (0.5, 2.0, True)),
    ("estimated, because x; plausible 1e-3 to 5e-3 because a few milliseconds", 3e-3, (1e-3, 5e-3, False)),
    ("estimated, because x; plausible 1,500-3,000 because a few thousand", 2000, (1500, 3000, False)),
    ("estimated, because x; fixed because a configuration the experiment states", 2, (1.0, 1.0, True)),
])
def test_the_clause_is_parsed(text, value, want):
    r = range_of_text(text, value)
    assert (r.low, r.high, r.relative) == want
    assert r.because and "because" not in r.because[:8]


def test_a_clause_that_does_not_hold_its_value_is_refused():
    with pytest.raises(ValueError, match="does not hold the value 100"):
        range_of_text("estimated, because x; plausible 400-900 because reading code", 100, "somewhere")
    with pytest.raises(ValueError, match="low bound"):
        parse_clause("estimated, because x; plausible 900-400 because reading code")


def test_which_provenances_need_a_range():
    assert needs_range("estimated, because the manual says nothing")
    assert needs_range("calibrated: Dall et al., ISCA 2016")
    assert needs_range("fitted to the probe's rows")
    assert needs_range("Intel ark: UPI at 10.4 GT/s; estimated, because boards connect two links")
    assert not needs_range("Intel ark: Xeon Gold 6130, 2.10 GHz base")


def test_calibrated_ranges_are_the_profile_of_their_fit():
    """The ranges written in codepaths.py are what kit.papers.fit_ranges computes (rounded outward to two
    significant digits); a refit that moves a calibrated value, or its rows, fails here until they are rewritten."""
    from kit.papers.fit_ranges import fit_ranges
    t = fit_ranges()
    for _, r in t.iterrows():
        assert r["stated_low"] <= r["low"] * (1 + 1e-9) and r["low"] <= r["stated_low"] * 1.11 + 1e-9, r["path"]
        assert r["stated_high"] >= r["high"] * (1 - 1e-9) and r["high"] >= r["stated_high"] / 1.11 - 1e-9, r["path"]
        assert r["stated_low"] <= r["value"] <= r["stated_high"]


def test_parameters_are_sampled_log_uniformly_within_their_bounds():
    p = Parameter("path.x", 600.0, Range(300.0, 1200.0, "a factor of two either way"), "estimated, because x")
    assert p.at(0.0) == pytest.approx(300.0) and p.at(1.0) == pytest.approx(1200.0)
    assert p.at(0.5) == pytest.approx(600.0)  # the geometric middle: half is as plausible as double
    fixed = Parameter("hw.sockets", 2.0, Range(2.0, 2.0, "a configuration of the testbed"), "estimated, because x")
    assert not fixed.varies
    count = Parameter("const.X", 2, Range(1.0, 3.0, "one to three accesses"), "estimated, because x")
    assert count.integral and {float(count.at(u)) for u in (0.0, 0.4, 0.99)} <= {1.0, 2.0, 3.0}


def test_names_are_unique_and_every_constant_range_holds_its_value():
    names = [p.name for p in path_parameters() + constant_parameters()]
    assert len(names) == len(set(names))
    for p in constant_parameters():
        low, high = p.bounds
        if not isinstance(p.value, dict):
            assert low <= p.value <= high, p.name
        assert math.isfinite(low) and math.isfinite(high)
    assert any(c.name == "const.QEMU_POLICY.max_rounds" for c in parameters.constants())
