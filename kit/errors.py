"""User-facing errors.

Every error a user can cause (a bad name, a bad value, a bad file) is an
:class:`HvkitError` whose message names where the problem is (file and field),
what was given and what is allowed. The command line turns it into one line on
stderr and exit status 2; library callers catch it like any exception.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["HvkitError", "format_validation_error", "suggestion", "clip"]


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
        guess = None
        if isinstance(allowed, (list, tuple, set, frozenset)):
            choices = sorted(map(str, allowed))
            guess = suggestion(value, choices) if "unknown" in message else None  # a misspelt name
            allowed = ", ".join(choices)
        if value is not None:
            text += f" (got {clip(repr(value), 80)}" + (f", did you mean '{guess}'?)" if guess else ")")
        if allowed is not None:
            text += f"; allowed: {allowed}"
        super().__init__(text)
        self.message, self.where, self.field, self.value, self.allowed = message, where, field, value, allowed

    def renamed(self, field: str | None, where: str | None = None) -> HvkitError:
        """The same error about ``field`` as the user spelt it (a ``--set`` key, not the file's inner path)."""
        return HvkitError(self.message, where=where, field=field, value=self.value, allowed=self.allowed)


def suggestion(value: object, choices: Sequence[str]) -> str | None:
    """The allowed name closest to a misspelt one (``kmv`` -> ``kvm``), or None."""
    if not isinstance(value, str) or not value or value in choices:
        return None
    import difflib
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lower), n=1, cutoff=0.6)
    return lower[close[0]] if close else None


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
    bounds = {"greater_than_equal": ("too small", ">= {ge}"), "greater_than": ("too small", "> {gt}"),
              "less_than_equal": ("too large", "<= {le}"), "less_than": ("too large", "< {lt}")}
    if kind == "literal_error":
        msg, allowed = "not one of the allowed values", ctx.get("expected", "")
    elif kind in bounds:
        msg, template = bounds[kind]
        allowed = template.format(**ctx)
    elif not allowed and "expected" in ctx:
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
