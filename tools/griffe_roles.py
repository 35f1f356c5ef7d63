"""A griffe extension for the API reference (mkdocs.yml): the docstrings' Sphinx cross-reference roles
(``:func:`~kit.run.run```, ``:class:`Spec```) become code spans, which mkdocstrings renders, instead of raw text.

A role with ``~`` keeps the last component (``run``), as Sphinx shows it; ``text <target>`` keeps the text.
"""
from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|data|mod|meth|attr|exc|obj|const|ref|term):`([^`]+)`")


def plain(text: str) -> str:
    """``text`` with each role replaced by a code span of what Sphinx would show."""
    def shown(m: re.Match) -> str:
        target = m.group(1)
        labelled = re.fullmatch(r"(.+?)\s*<[^>]+>", target)
        if labelled:
            return f"`{labelled.group(1)}`"
        if target.startswith("~"):
            return f"`{target[1:].rsplit('.', 1)[-1]}`"
        return f"`{target}`"
    return ROLE.sub(shown, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002 (griffe's hook signature)
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
