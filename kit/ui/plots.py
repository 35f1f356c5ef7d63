"""Figure builders: pure functions from result DataFrames to plotly figures.

They display nothing and write no file. Every figure has a title saying what
is compared (``title=`` overrides it) and axes titled in words with units:
:func:`label` turns a column name into words, from :data:`LABELS` or a
readable fallback, and ``labels={column: words}`` lets a caller name its own
columns. Colours are stable across figures: one per hypervisor mode
(:data:`MODE_COLORS`), a deterministic one for any other label
(:func:`mode_colors`), one per breakdown category (:data:`CATEGORY_COLORS`)
and a warm family for exit reasons (:func:`category_colors`); within one
figure no two series share a colour.

The builders live by figure family (:mod:`kit.ui.run_plots`, :mod:`kit.ui.sweep_plots`,
:mod:`kit.ui.migration_plots`, :mod:`kit.ui.consolidation_plots`, :mod:`kit.ui.paper_plots`, with the shared words
and colours in :mod:`kit.ui.style`); this module gathers them, so ``from kit.ui import plots`` reaches every one.
"""
from __future__ import annotations

from .consolidation_plots import REFERENCE_WORDS, cpu_occupancy, isolation_heatmap, per_vm_relative
from .migration_plots import downtime_vs_dirty_rate, migration_rounds, migration_timeline, writable_working_set
from .paper_plots import blind_vs_published, published_vs_model, reliability_diagram
from .run_plots import (exits_per_second, latency_cdf, overhead_breakdown, path_waterfall, relative_performance,
                        vcpu_timeline)
from .style import (CATEGORY_COLORS, EXIT_COLORS, LABELS, METHOD_COLORS, MODE_COLORS, SERIES_MIN_DIFFERENCE, STATE_COLORS,
                    TITLE_LINE, category_color, category_colors, color_difference, label, mode_color, mode_colors)
from .sweep_plots import sweep_heatmap, sweep_line

__all__ = ["MODE_COLORS", "CATEGORY_COLORS", "STATE_COLORS", "LABELS", "label", "mode_color", "mode_colors",
           "category_color", "category_colors", "EXIT_COLORS", "color_difference", "relative_performance",
           "overhead_breakdown", "exits_per_second", "latency_cdf", "path_waterfall", "sweep_line", "sweep_heatmap",
           "vcpu_timeline", "published_vs_model", "migration_timeline", "migration_rounds", "downtime_vs_dirty_rate",
           "writable_working_set", "METHOD_COLORS", "REFERENCE_WORDS", "per_vm_relative", "cpu_occupancy",
           "isolation_heatmap", "reliability_diagram", "blind_vs_published", "TITLE_LINE", "SERIES_MIN_DIFFERENCE"]
