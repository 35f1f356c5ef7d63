"""Results: what a run produced and what it may claim.

- ``tables``: :class:`Result`, the tidy tables of one or more runs (summary, breakdown, exits, latency, VMs,
  timeline, replications), and the analysis that reads them (:func:`relative`, :func:`contributors`,
  :func:`latency_stats` with right-censored requests).
- ``validity``: what a run's numbers may claim: the shortest meaningful run (refused before it is simulated), a
  measurement that is not finite or finished no unit (an error), the ``warnings`` column, and the requests under
  way at the end (right-censored latency rows).

The tables' names are re-exported here (``from kit.results import Result``); ``validity`` is imported by its name
(it reads the cost model, which the tables do not need).
"""
from .tables import (BREAKDOWN_COLUMNS, EXIT_COLUMNS, LATENCY_COLUMNS, LATENCY_STATS_COLUMNS, PI_COLUMNS,
                     REPLICA_COLUMNS, SENSITIVITY_COLUMNS, SUMMARY_COLUMNS, TIMELINE_COLUMNS, VM_COLUMNS, Result,
                     contributors, latency_stats, relative)

__all__ = ["Result", "SUMMARY_COLUMNS", "VM_COLUMNS", "TIMELINE_COLUMNS", "BREAKDOWN_COLUMNS", "EXIT_COLUMNS",
           "LATENCY_COLUMNS", "LATENCY_STATS_COLUMNS", "REPLICA_COLUMNS", "PI_COLUMNS", "SENSITIVITY_COLUMNS",
           "relative", "contributors", "latency_stats"]
