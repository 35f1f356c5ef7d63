"""Command-line commands of the system model (run, compare); filled by kit.model."""
from __future__ import annotations


def add_commands(sub) -> None:
    """Register model commands on the ``hvkit`` parser (none until the model exists)."""
    try:
        from .model_cli import register
    except ImportError:
        return
    register(sub)
