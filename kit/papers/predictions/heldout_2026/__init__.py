"""Blind predictions, fifth set (issue 19, section 1): held-out experiments of five papers whose other results the
model has been compared with, each in its own file under ``data/predictions/``.

- Matthews et al. (ExpCS 2007): the isolation suite for VMware Workstation 5.5 and OpenVZ, on the testbed and in the
  configuration of the Xen column of ``predictions-consolidation-2003-2007.csv`` (:func:`predict_matthews`).
- Clark et al. (NSDI 2005): the Apache web server in an 800 MB VM at full load and the MMuncher diabolical workload
  in a 512 MB VM, migrated as the SPECweb99 and Quake 3 servers of ``predictions-clark-2005-migration.csv``
  (:func:`predict_clark`).
- Barham et al. (SOSP 2003): Figure 4 (SPECweb99 in 1 to 16 domains on two CPUs against as many instances on native
  Linux) and the UDP round-trip latency to a domain beside 128 CPU-bound ones (:func:`predict_barham`).
- Ben-Yehuda et al. (OSDI 2010, Turtles): kernbench and SPECjbb with direct VMCS reads and writes by L1 (DRW) and
  with VMware Server as L1, beside the rows of ``predictions-turtles-2010-nested.csv`` (:func:`predict_turtles`).
- Felter et al. (ISPASS 2015): Redis GET at 10, 50 and 100 connections for native, Docker (host and NAT networking)
  and KVM, and fio random writes and 70/30 mixed requests at 4 KiB and 128 outstanding for KVM and a Docker volume
  (:func:`predict_felter`).

Every prediction is the mean over consecutive seeds with a 95% Student's t interval (:func:`kit.stats.t_interval`);
``seeds``, ``first_seed`` and ``duration`` say how it was computed, ``explained_by`` which mechanisms it comes from and
``assumptions`` what was taken where the model or the recalled setup is silent. The published results of these
experiments were not looked up, and nothing was adjusted after a prediction was computed: the inputs (three workload
presets characterized on native: ``mmuncher``, ``fio-randwrite``, ``fio-randrw``) were committed before any file
was computed. :data:`MODEL_COMMIT` is the model the files were computed with, :data:`SHA256` their digests as
committed (the files are never edited).

This package (one module per paper, what they share in ``common``) is self-contained: it uses the kit's public layers (runs, scenarios, migrations, statistics), not the
other prediction generators.
"""
from __future__ import annotations

import pandas as pd

from ....errors import HvkitError
from ....inputs.files import data_dir
from ..prediction_set import PredictionSet
from .barham import BARHAM_INSTANCES, UDP_THINK_US, predict_barham
from .clark import CLARK_RUNS, ClarkRun, predict_clark
from .common import CSV, MAX_HALF_WIDTH, MAX_REL_HALF_WIDTH, MODEL_COMMIT, NOT_MODELLED, PAPERS, SHA256
from .felter import FelterRow, felter_rows, predict_felter
from .matthews import HOGS, ISOLATION, ISOLATION_DURATION, MATTHEWS_SYSTEMS, predict_matthews
from .turtles import TurtlesRow, predict_turtles, turtles_rows

__all__ = ["MODEL_COMMIT", "CSV", "SHA256", "PAPERS", "NOT_MODELLED", "MAX_HALF_WIDTH", "MAX_REL_HALF_WIDTH",
           "MATTHEWS_SYSTEMS", "HOGS", "ISOLATION", "ISOLATION_DURATION", "CLARK_RUNS", "ClarkRun", "BARHAM_INSTANCES",
           "UDP_THINK_US", "TurtlesRow", "turtles_rows", "FelterRow", "felter_rows", "predict_matthews",
           "predict_clark", "predict_barham", "predict_turtles", "predict_felter", "committed", "checksum", "PREDICTION_SETS"]

# ---- the committed files ------------------------------------------------------------------------------------------

def committed(name: str) -> pd.DataFrame:
    """Committed file ``name`` (a key of :data:`CSV`)."""
    if name not in CSV:
        raise HvkitError("not a file of this set", field="name", value=name, allowed=sorted(CSV))
    return pd.read_csv(data_dir() / CSV[name], keep_default_na=False)


def checksum(name: str) -> str:
    """SHA-256 of committed file ``name``."""
    import hashlib
    if name not in CSV:
        raise HvkitError("not a file of this set", field="name", value=name, allowed=sorted(CSV))
    return hashlib.sha256((data_dir() / CSV[name]).read_bytes()).hexdigest()


def _generator(name: str):
    return {"matthews": lambda: predict_matthews(), "clark": lambda: predict_clark(),
            "barham": lambda: predict_barham(), "turtles": lambda: predict_turtles(),
            "felter": lambda: predict_felter()}[name]


#: The five files as prediction sets (registered in :data:`kit.papers.blind.BLIND_FILES`)
PREDICTION_SETS = tuple(
    PredictionSet(file=CSV[name].split("/", 1)[1], sha256=SHA256[name], model_commit=MODEL_COMMIT,
                  citation=PAPERS[name], generator=_generator(name),
                  committed=f"committed at 6e7eba0, computed at model {MODEL_COMMIT} (main 1999d70 and new inputs)")
    for name in ("matthews", "clark", "barham", "turtles", "felter"))

