"""What a result's two intervals say about themselves, light enough for every run to import.

``ci_note`` says what the noise interval (``ci_*``) is: Student's t over replications, a batch-means interval of
one run that stopped at its precision, unknown with one replication, or none at all for a closed form, which is
"exact given the parameters: no sampling noise" (:data:`EXACT_NOTE`). :func:`not_computed` fills the
model-uncertainty columns (``pi_*``) of a result whose prediction interval was not asked for, saying so.
"""
from __future__ import annotations

from typing import Any

__all__ = ["EXACT_NOTE", "LEVEL", "noise_note", "not_computed", "PI_SUMMARY_COLUMNS"]

#: The noise interval of a result that is a closed form (its replications are identical)
EXACT_NOTE = "exact given the parameters: no sampling noise"
#: The prediction interval's level
LEVEL = 0.9
#: The summary's model-uncertainty columns (each quantity's low and high bounds, then how and why)
PI_SUMMARY_COLUMNS = ("pi_low", "pi_high", "relative_pi_low", "relative_pi_high", "interference_pi_low",
                      "interference_pi_high", "relative_vs_native_with_neighbor_pi_low",
                      "relative_vs_native_with_neighbor_pi_high")


def noise_note(engine: str, replications: int, early: bool = False) -> str:
    """What a result's ``ci_*`` interval is."""
    if engine == "analytic":
        return EXACT_NOTE
    if replications > 1:
        return f"95% interval over {replications} replications (Student's t)"
    if early:
        return "95% batch-means interval of one run that stopped at its requested precision"
    return "one replication: the 95% interval is unknown (--replications N gives it)"


def not_computed(why: str) -> dict:
    """The summary's model-uncertainty columns of a result whose interval was not computed, and why."""
    out: dict[str, Any] = {c: None for c in PI_SUMMARY_COLUMNS}
    out.update(pi_level=None, pi_dominant="", pi_method="", pi_note=f"not computed: {why}")
    return out
