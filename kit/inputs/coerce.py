"""One strict coercion of booleans and numbers for every input (files, ``--set``, the Python API, widgets).

A boolean is ``true``/``false`` (or ``yes``/``no``, ``on``/``off``, ``1``/``0``), never any other word. A
number is finite: NaN and infinities are refused wherever a number enters. An integer field refuses booleans
and non-integral values. The pydantic field types :data:`Bool`, :data:`Num` and :data:`Int` apply the same
rules inside validated models; :func:`to_bool` and :func:`to_number` outside them, and :func:`check_finite` refuses
NaN and infinities anywhere in a nested input (a sweep's grid, points and base).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from ..errors import HvkitError

__all__ = ["TRUE", "FALSE", "strict_bool", "strict_number", "strict_int", "to_bool", "to_number", "check_finite",
           "Bool", "Num", "Int"]

TRUE = frozenset({"true", "yes", "on", "1"})
FALSE = frozenset({"false", "no", "off", "0"})


def strict_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
    raise PydanticCustomError("strict_bool", "not a boolean; allowed: true, false")


def strict_number(value: Any) -> float:
    if isinstance(value, bool):
        raise PydanticCustomError("strict_number", "a boolean is not a number; allowed: a finite number")
    if isinstance(value, (int, float)):
        num = float(value)
    elif isinstance(value, str):
        try:
            num = float(value.strip())
        except ValueError:
            raise PydanticCustomError("strict_number", "not a number; allowed: a finite number") from None
    else:
        raise PydanticCustomError("strict_number", "not a number; allowed: a finite number")
    if not math.isfinite(num):
        raise PydanticCustomError("strict_number", "not a finite number; allowed: a finite number")
    return num


#: Most decimal digits an integer given as text may have (Python's own limit on converting text to int is 4300)
MAX_INT_DIGITS = 4000


def _exact_int(text: str) -> int | None:
    """The integer a decimal text stands for exactly (``"9007199254740993"``, ``"1e3"``), never through a float;
    None when it is not a finite decimal. A text of more than :data:`MAX_INT_DIGITS` digits is refused as too
    large (an exponent of a billion would otherwise build a number of a billion digits)."""
    from decimal import Decimal, InvalidOperation
    try:
        d = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    if d.adjusted() > MAX_INT_DIGITS:
        raise PydanticCustomError("strict_int", "too large; allowed: an integer of at most "
                                                f"{MAX_INT_DIGITS} digits")
    if d != d.to_integral_value():
        raise PydanticCustomError("strict_int", "not a whole number; allowed: an integer")
    return int(d)


def strict_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        exact = _exact_int(value)
        if exact is not None:
            return exact
    try:
        num = strict_number(value)
    except PydanticCustomError as exc:
        msg = exc.message().partition("; allowed: ")[0]
        raise PydanticCustomError("strict_int", msg + "; allowed: an integer") from None
    if num != int(num):
        raise PydanticCustomError("strict_int", "not a whole number; allowed: an integer")
    return int(num)


def _keep_int(value: Any) -> Any:
    """Numbers stay what they were given as (an int stays an int), once checked finite."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return strict_number(value)


def _as_error(fn: Callable[[Any], Any], value: Any, where: str | None, field: str | None) -> Any:
    try:
        return fn(value)
    except PydanticCustomError as exc:
        msg, _, allowed = exc.message().partition("; allowed: ")
        raise HvkitError(msg, where=where, field=field, value=_short(value), allowed=allowed or None) from None


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def to_bool(value: Any, *, where: str | None = None, field: str | None = None) -> bool:
    """``value`` as a boolean, or a one-line :class:`HvkitError` naming ``field``."""
    return _as_error(strict_bool, value, where, field)


def to_number(value: Any, *, where: str | None = None, field: str | None = None, integer: bool = False) -> float:
    """``value`` as a finite number (an integer with ``integer``), or a one-line :class:`HvkitError`."""
    return _as_error(strict_int if integer else strict_number, value, where, field)


def _nonfinite(v: Any) -> bool:
    if isinstance(v, numbers.Integral):  # bool, int and NumPy's integers
        return False
    if isinstance(v, numbers.Real):  # float and NumPy's floats
        return not math.isfinite(v)
    if isinstance(v, str):
        try:
            return not math.isfinite(float(v))  # "nan", "inf", "-Infinity" become numbers downstream
        except ValueError:
            return False
    return False


def check_finite(value: Any, field: str, where: str | None = None) -> None:
    """Refuse NaN and infinities anywhere in ``value`` (mappings, lists, a validated model), naming the key."""
    if isinstance(value, BaseModel):
        value = value.model_dump()  # Python form: JSON form would turn NaN into null
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{field}.{k}" if field else str(k), where)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, f"{field}[{i}]", where)
    elif _nonfinite(value):
        raise HvkitError("not a finite number", where=where, field=field, value=value, allowed="finite numbers")


#: pydantic field types with the rules above
Bool = Annotated[bool, BeforeValidator(strict_bool)]
Num = Annotated[float, BeforeValidator(_keep_int)]
Int = Annotated[int, BeforeValidator(strict_int)]
