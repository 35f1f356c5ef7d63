"""Plausible ranges: how far an estimated or fitted value may be off, and why, kept beside its provenance.

Every number says where it comes from (a citation, a datasheet, or "estimated, because ..."). A value that is
*estimated* or *fitted* also says how far it may plausibly be off: a range ``(low, high)`` and the reason for its
width. The ranges are what the model does not know; :mod:`kit.uncertainty` propagates them into prediction
intervals.

One range per value, written where its provenance is:

- a hardware profile's parameter (a ``{value, source}`` mapping) has a ``range`` field beside its ``source``:
  ``kernel_cpi: {value: 0.85, source: "estimated, because ...", range: {low: 0.7, high: 1.1, because: "..."}}``;
  a measured or fitted value with a 95% ``interval`` (``hvkit probe``, ``hvkit profile fit``) has that interval
  as its range unless it gives one;
- a provenance that is a bare string (a code path's or a module constant's ``(value, "source")`` tuple, a
  workload's ``provenance`` entry) ends with a clause of one of two forms, parsed by :func:`parse_clause`:

  - ``"...; plausible LOW-HIGH because WHY"`` in the value's own unit (``plausible 400-900 because ...``), or
    ``"...; plausible LOW-HIGHx because WHY"`` as factors of the value (``plausible 0.5-2x because ...``);
    ``to`` may stand for the dash (``plausible 1e-3 to 5e-3 because ...``);
  - ``"...; fixed because WHY"``: a zero-width range, for a value that is a configuration the experiment states
    or whose uncertainty another parameter's range already carries (it is then not counted twice).

:func:`needs_range` says which provenances must have one (an estimate, a calibration, a fit);
``tests/test_ranges.py`` fails when one has none.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Range", "parse_clause", "needs_range", "range_of_text", "CLAUSE_HELP"]

#: How a missing range is asked for in error messages and the format reference
CLAUSE_HELP = ("end the source with '; plausible LOW-HIGH because WHY' (the value's unit), '; plausible "
               "LOW-HIGHx because WHY' (factors of the value) or '; fixed because WHY'")

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?"
_CLAUSE = re.compile(rf"plausible\s+(?P<lo>{_NUM})\s*(?P<lox>x)?\s*(?:-|–|to)\s*(?P<hi>{_NUM})\s*(?P<hix>x)?"
                     r"(?P<unit>[^;]*?)\s+because\s+(?P<why>.+)$", re.IGNORECASE | re.DOTALL)
_FIXED = re.compile(r"(?:^|;\s*)fixed\s+because\s+(?P<why>.+)$", re.IGNORECASE | re.DOTALL)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class Range:
    """A plausible range of a value: ``low`` and ``high`` in the value's unit, and the reason for its width.

    Attributes
    ----------
    low, high : float
        The bounds (``low <= value <= high``); equal for a fixed value.
    because : str
        Why the range is this wide (or why the value is fixed).
    relative : bool
        True when ``low`` and ``high`` are factors of the value (the form ``0.5-2x``); a value that is a mapping
        of numbers (a constant per device kind) scales every entry by the same factor.
    """

    low: float
    high: float
    because: str
    relative: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"a range's bounds are finite numbers (got {self.low}, {self.high})")
        if self.low > self.high:
            raise ValueError(f"a range's low bound is at most its high bound (got {self.low:g} > {self.high:g})")
        if len(self.because.strip()) < 10:
            raise ValueError("a range says why it is this wide ('because ...', ten characters or more)")
        if self.relative and not self.low > 0:
            raise ValueError("a range of factors starts above zero")

    def bounds(self, value: float) -> tuple[float, float]:
        """``(low, high)`` in the value's unit (factors times ``value`` for a relative range)."""
        if self.relative:
            return value * self.low, value * self.high
        return self.low, self.high

    def fixed(self, value: float) -> bool:
        """Whether the range holds only ``value`` (nothing to propagate)."""
        low, high = self.bounds(value)
        return low == high

    def check(self, value: Any) -> None:
        """Refuse a range that does not hold its value (a ValueError saying so)."""
        if isinstance(value, dict):
            if not self.relative:
                raise ValueError("a mapping of values takes a range of factors ('plausible 0.5-2x because ...')")
            return
        low, high = self.bounds(float(value))
        if not low <= float(value) <= high:
            raise ValueError(f"the range {low:g} to {high:g} does not hold the value {float(value):g}")


def parse_clause(text: str) -> Range | None:
    """The range a provenance string states (its ``plausible ... because ...`` or ``fixed because ...`` clause),
    or None when it states none. A fixed clause is returned as the factors ``1-1x``."""
    m = _CLAUSE.search(text)
    if m is not None:
        relative = bool(m.group("lox") or m.group("hix"))
        return Range(_number(m.group("lo")), _number(m.group("hi")), m.group("why").strip().rstrip("."), relative)
    f = _FIXED.search(text)
    if f is not None:
        return Range(1.0, 1.0, f.group("why").strip().rstrip("."), True)
    return None


def needs_range(source: str) -> bool:
    """Whether a provenance must state a range: an estimate ("estimated, because ..." anywhere in it), a
    calibrated value (fitted to a published row) or a fitted one."""
    low = source.strip().lower()
    return low.startswith(("estimated", "calibrated", "fitted")) or "estimated, because" in low


def range_of_text(source: str, value: Any, where: str = "") -> Range | None:
    """The range stated in ``source`` for ``value``, checked against it (a ValueError naming ``where`` when the
    clause is malformed or does not hold the value); None when the source states none."""
    try:
        r = parse_clause(source)
        if r is not None:
            r.check(value)
        return r
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from None
