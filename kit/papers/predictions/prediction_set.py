"""A set of blind predictions: one frozen file under ``data/predictions/`` and what made it.

A :class:`PredictionSet` names the file, the SHA-256 it was committed with, the model commit it was computed at,
the papers it predicts and the generator that computed it. Each generator module declares its set once, as
``PREDICTION_SET``; :data:`kit.papers.blind.BLIND_FILES` registers every set (one line each), and everything else
(the digest check, the frozen table, the ``model_commit`` column a generator writes) reads it from there.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import HvkitError
from ...inputs.files import data_dir

__all__ = ["PredictionSet"]


@dataclass(frozen=True)
class PredictionSet:
    """One committed file of blind predictions.

    Attributes
    ----------
    file : str
        Its name under ``data/predictions/``.
    sha256 : str
        The SHA-256 of its content as committed (before any of its results were revealed).
    model_commit : str
        The model commit it was computed at: what its rows' ``model_commit`` column says, where it has one.
    citation : str
        The papers whose results it predicts.
    generator : callable
        The function that computed the table. At a later model it computes a new table, never a new version of
        the file (a file rewritten after its comparison exists would no longer be blind).
    committed : str
        When it was committed, in words (the commit, the model, what was known then).
    revealed_in : str
        The ``data/published`` file holding the revealed results, if any.
    """

    file: str
    sha256: str
    model_commit: str
    citation: str
    generator: Callable[[], pd.DataFrame]
    committed: str
    revealed_in: str = ""

    @property
    def path(self) -> Path:
        """Where the file is (under the project's ``data/``)."""
        return data_dir() / "predictions" / self.file

    def digest(self) -> str:
        """The SHA-256 of the file as it is on disk."""
        if not self.path.exists():
            raise HvkitError("blind prediction file is missing", where=str(self.path))
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def read(self) -> pd.DataFrame:
        """The committed table."""
        return pd.read_csv(self.path, keep_default_na=False)
