"""Where the project's data files are."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_dir"]


def project_root() -> Path:
    """The checkout that holds ``hw_profiles/`` and ``data/`` (``$HVKIT_ROOT`` overrides)."""
    env = os.environ.get("HVKIT_ROOT")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent


def data_dir() -> Path:
    return project_root() / "data"
