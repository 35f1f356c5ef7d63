"""Widget panels: thin ipywidgets composites over run, compare, microbench, sweep, migrate and run_scenario.

Every panel is a :class:`~kit.ui.panels.base.Panel` (``base``: one run at a time, errors in its status line, a
progress bar, the figure and table, the Files section); they are grouped by what they run: runs (``runs``:
:class:`ExperimentPanel`, :class:`ComparePanel`, :class:`MicrobenchPanel`, :class:`LevelsPanel`), sweeps
(``sweeps``: :class:`SweepPanel`, :class:`CrossoverPanel`), a live migration (``migration``:
:class:`MigrationPanel`), a host with heterogeneous VMs (``scenario``: :class:`ScenarioPanel`) and a fault injected
into a running scenario (``faults``: :class:`FaultPanel`). Each builds a
:class:`kit.Spec` (or the arguments of the function it calls) from its controls, through the spec's one ``--set``
language, calls the same function the command line calls, and hands the result to a figure builder from
:mod:`kit.ui.plots`. Duration and size controls are bounded to what answers in seconds (:data:`MAX_DURATION_S`,
:data:`SWEEP_MAX_RUNS`); longer work belongs in ``hvkit run`` or a sweep.
"""
from .base import MAX_DURATION_S, SWEEP_MAX_DURATION_S, SWEEP_MAX_RUNS, Panel, hardware_summary
from .faults import FaultPanel
from .migration import MigrationPanel
from .runs import ComparePanel, ExperimentPanel, LevelsPanel, MicrobenchPanel
from .scenario import ScenarioPanel
from .sweeps import CrossoverPanel, SweepPanel

__all__ = ["Panel", "ExperimentPanel", "ComparePanel", "MicrobenchPanel", "LevelsPanel", "SweepPanel",
           "CrossoverPanel", "MigrationPanel", "ScenarioPanel", "FaultPanel", "hardware_summary", "MAX_DURATION_S",
           "SWEEP_MAX_DURATION_S", "SWEEP_MAX_RUNS"]
