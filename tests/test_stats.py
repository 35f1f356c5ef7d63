"""The one t interval (kit.stats.t_interval): what it gives for no value, one, two and a non-finite value, the
table form over a sweep's groups (kit.stats.mean_ci), and that no other module computes its own."""
from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd
import pytest

from kit.stats import mean_ci, t_interval

KIT = Path(__file__).resolve().parent.parent / "kit"
#: t_{0.975, 1}, two-sided 95% with one degree of freedom (NIST/SEMATECH e-Handbook, table 1.3.6.7.2)
T_975_1 = 12.706


def test_no_value_has_no_mean():
    with pytest.raises(ValueError, match="at least one value"):
        t_interval([])


def test_one_value_has_a_mean_and_an_unknown_interval():
    assert t_interval([0.9]) == (0.9, None)


def test_two_values_by_hand():
    # 1 and 3: mean 2, sample sd sqrt(2), half = t_{0.975,1} * sqrt(2) / sqrt(2) = 12.706
    mean, half = t_interval([1.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(T_975_1, abs=1e-3)


def test_two_equal_values_have_no_spread():
    assert t_interval([0.7, 0.7]) == (0.7, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_non_finite_value_is_refused_and_named(bad, n):
    values = [1.0] * (n - 1) + [bad]
    with pytest.raises(ValueError, match=f"value {n - 1} of {n} is {bad}"):
        t_interval(values)


def test_the_table_form_agrees_with_the_list_form_group_by_group():
    df = pd.DataFrame({"g": ["a", "a", "b", "c", "c", "c", "d"], "v": [1.0, 3.0, 0.9, 1.0, 2.0, 3.0, 5.0],
                       "error": ["", "", "", "", "", "", "failed"]})
    ci = mean_ci(df, ["g"], value="v").set_index("g")
    assert list(ci.index) == ["a", "b", "c"]  # the failed row is left out
    assert ci.loc["a", "ci_high"] - ci.loc["a", "mean"] == pytest.approx(T_975_1, abs=1e-3)
    assert ci.loc["b", "mean"] == 0.9 and ci.loc["b", "count"] == 1
    assert math.isnan(ci.loc["b", "ci_low"]) and math.isnan(ci.loc["b", "ci_high"])  # unknown, not zero
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert (ci.loc["c", "mean"], ci.loc["c", "ci_low"], ci.loc["c", "ci_high"]) == (mean, mean - half, mean + half)


def test_the_table_form_refuses_a_non_finite_value():
    df = pd.DataFrame({"g": ["a", "a"], "v": [1.0, math.nan], "error": ""})
    with pytest.raises(ValueError, match="finite"):
        mean_ci(df, ["g"], value="v")


def test_no_other_module_computes_a_t_interval():
    """Every interval over replications or seeds comes from kit.stats: no module but stats asks for a t quantile."""
    callers = []
    for path in KIT.rglob("*.py"):
        if path.name == "stats.py" and path.parent == KIT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name == "t_quantile":
                    callers.append(str(path.relative_to(KIT)))
    assert not callers, callers
