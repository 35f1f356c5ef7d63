"""What the five generators of the held-out set share: the model commit, the files and their digests, the
papers, and the statistics every row is computed with."""
from __future__ import annotations

import math
from collections.abc import Sequence


from ....errors import HvkitError
from ....stats import t_interval


#: The model the committed files were computed with (the HEAD they ran on: main 1999d70 plus this generator and
#: the new workload presets, no model change).
MODEL_COMMIT = "ee75110"
#: The committed files, under ``data/``
CSV = {"matthews": "predictions/predictions-heldout-matthews-2007-vmware-openvz.csv",
       "clark": "predictions/predictions-heldout-clark-2005-apache-mmuncher.csv",
       "barham": "predictions/predictions-heldout-barham-2003-fig4-udp.csv",
       "turtles": "predictions/predictions-heldout-turtles-2010-drw-vmware.csv",
       "felter": "predictions/predictions-heldout-felter-2015-redis-fio.csv"}
#: SHA-256 of each committed file (tests/test_predictions_heldout_2026.py checks them)
SHA256: dict[str, str] = {
    "matthews": "7f3bfad0279193623975894b91b8213ff22b12fb884a7506d3c717ce37053120",
    "clark": "9123da6386662735561c6120747448b94a9057f6c1e198264b26300888200635",
    "barham": "bf7704127d7b9b943cadaf3823f72a3a562f0beb8f967fd6cd14fbd98d73dca6",
    "turtles": "e7d7f6e3f2cae80068dbac8f5430f588d76a01f91b1de906a62b1005889505c2",
    "felter": "8e2ec1d3f5e9b1b326db6ef7ba4a116448be9e2b8a831bb1a131c6cb48ff0f28"}

PAPERS = {
    "matthews": "Matthews, Hu, Hamilton, Brabec, Hunter and Yang, Quantifying the Performance Isolation Properties of "
                "Virtualization Systems, ExpCS 2007",
    "clark": "Clark, Fraser, Hand, Hansen, Jul, Limpach, Pratt and Warfield, Live Migration of Virtual Machines, "
             "NSDI 2005",
    "barham": "Barham, Dragovic, Fraser, Hand, Harris, Ho, Neugebauer, Pratt and Warfield, Xen and the Art of "
              "Virtualization, SOSP 2003",
    "turtles": "Ben-Yehuda, Day, Dubitzky, Factor, Har'El, Gordon, Liguori, Wasserman and Yassour, The Turtles "
               "Project: Design and Implementation of Nested Virtualization, OSDI 2010",
    "felter": "Felter, Ferreira, Rajamony and Rubio, An Updated Performance Comparison of Virtual Machines and Linux "
              "Containers, ISPASS 2015",
}
#: What every file says about the published results
BLIND = ("the published results of this experiment were not looked up (the issue that asked for it quotes other "
         "rows' published values, which were not used); results of these papers that may be remembered were not "
         "used; nothing was adjusted after computing")
#: The ``status`` of a row the model cannot compute
NOT_MODELLED = "not modelled"
#: Largest accepted 95% half-width of a relative performance or an overhead (one point), where a file holds to it
MAX_HALF_WIDTH = 0.01
#: Largest accepted 95% half-width of a migration time, relative to its mean
MAX_REL_HALF_WIDTH = 0.05


# ---- statistics -------------------------------------------------------------------------------------------------

def _ci(values: Sequence[float], where: str) -> tuple[float, float]:
    """Mean and 95% half-width (Student's t, kit.stats.t_interval) of finite values over at least two seeds."""
    vals = [float(v) for v in values]
    if not all(math.isfinite(v) for v in vals):
        raise HvkitError("a prediction is not finite", where=where, value=vals, allowed="finite numbers")
    mean, half = t_interval(vals)
    if half is None:
        raise HvkitError("an interval needs at least two seeds", where=where, field="seeds", value=len(vals),
                         allowed="2 or more")
    return mean, half


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def _sig(x: float, digits: int = 5) -> float:
    return float(f"{x:.{digits}g}")


def _commit(model_commit: str | None) -> str:
    return MODEL_COMMIT if model_commit is None else model_commit
