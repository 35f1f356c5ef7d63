"""``run`` and ``compare``: one frozen spec in, tidy DataFrames out.

:func:`run` resolves a :class:`~kit.inputs.spec.Spec` (:func:`~kit.inputs.resolve.resolve`), simulates it on a
:class:`~kit.sim.host.Host` and measures the host into a :class:`~kit.results.Result`; with ``baseline`` it also
runs the native baseline of the same spec (:func:`native_spec`) for relative performance.

The rooms: one simulation and its rows (:mod:`~kit.run.simulation`), the native baselines and the same spec alone
(:mod:`~kit.run.baselines`), replications and their intervals (:mod:`~kit.run.replications`), how runs report
their progress (:mod:`~kit.run.reporting`), and :func:`run`, :func:`compare` and a sweep's summary row
(:mod:`~kit.run.runs`). Everything public is importable from ``kit.run``.
"""
from __future__ import annotations

from ..version import __version__
from .baselines import (BASELINE_CACHE_SIZE, NATIVE_KEEPS, Baseline, add_baseline, alone_spec, alone_value,
                        baseline_base, baseline_description, baseline_reads, baseline_stats, baseline_warnings,
                        native_baseline, native_spec, native_value, take_new_baselines)
from .replications import MAX_REPLICATIONS, check_replications, replication_specs
from .reporting import Reporter, check_reporter, report_progress
from .runs import closed_form_metrics, compare, run, summary_row

__all__ = ["run", "compare", "native_spec", "alone_spec", "baseline_description", "native_value", "alone_value",
           "check_replications", "replication_specs", "MAX_REPLICATIONS", "closed_form_metrics", "summary_row",
           "native_baseline", "Baseline", "add_baseline", "take_new_baselines", "baseline_stats", "baseline_base", "baseline_reads",
           "BASELINE_CACHE_SIZE", "report_progress", "check_reporter", "Reporter", "baseline_warnings", "NATIVE_KEEPS",
           "__version__"]
