"""User-facing errors.

Every error a user can cause (a bad name, a bad value, a bad file) is an
:class:`HvkitError` whose message names where the problem is (file and field),
what was given and what is allowed. The command line turns it into one line on
stderr and exit status 2; library callers catch it like any exception.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["HvkitError", "format_validation_error", "clip"]


def clip(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and "..." (a message never quotes a whole input)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


class HvkitError(ValueError):
    """A problem with user input, with a message meant to be read by a person."""

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None,
                 value: object = None, allowed: object = None) -> None:
        parts = []
        if where:
            parts.append(clip(str(where), 200))
        if field:
            parts.append(f"field '{clip(str(field), 80)}'")
        head = ": ".join(parts)
        text = f"{head}: {message}" if head else message
        if value is not None:
            text += f" (got {clip(repr(value), 80)})"
        if allowed is not None:
            if isinstance(allowed, (list, tuple, set, frozenset)):
                allowed = ", ".join(sorted(map(str, allowed)))
            text += f"; allowed: {allowed}"
        super().__init__(text)
        self.where, self.field, self.value, self.allowed = where, field, value, allowed


def format_validation_error(exc: Any, where: str, model: Any = None) -> HvkitError:
    """Turn a pydantic ``ValidationError`` into one readable :class:`HvkitError`.

    Only the first problem is reported, with its dotted field path, a short excerpt of the bad value and what
    is allowed. ``model`` (the pydantic class validated) lets an unknown key be answered with the known ones.
    """
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return HvkitError("unknown key", where=where, field=loc, value=_excerpt(err.get("input")),
                          allowed=_allowed_keys(model, err["loc"]))
    if kind == "missing":
        return HvkitError("required key is missing", where=where, field=loc)
    msg = err.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    msg, _, allowed = msg.partition("; allowed: ")
    ctx = err.get("ctx") or {}
    if not allowed and "expected" in ctx:
        allowed = ctx["expected"]
    return HvkitError(msg[0].lower() + msg[1:], where=where, field=loc, value=_excerpt(err.get("input")),
                      allowed=allowed or None)


def _excerpt(value: object, limit: int = 60) -> object:
    """The bad value, or a short excerpt of it (a message never quotes a whole file)."""
    text = repr(value)
    if len(text) <= limit:
        return value
    return _Excerpt(text[:limit - 3] + "...")


class _Excerpt(str):
    """An excerpt already in quoted form: shown as it is, not quoted again."""

    def __repr__(self) -> str:
        return str(self)


def _allowed_keys(model: Any, loc: Sequence[Any]) -> list[str] | None:
    """Best effort: the keys the model at that location accepts."""
    if model is None:
        return None
    node = model
    for part in loc[:-1]:
        fields = getattr(node, "model_fields", None)
        if not fields or part not in fields:
            return None
        node = fields[part].annotation
    fields = getattr(node, "model_fields", None)
    return sorted(fields) if fields else None
