"""Published data and the model beside it.

``published`` loads and validates the published measurements in ``data/published``; ``calibration`` sets every
microbenchmark row beside the model; ``reproduce`` builds each paper's comparison table, ``hvkit validate``'s
statistics and the blind predictions.
"""
from .calibration import GAPS, calibrate, summary
from .published import load_published
from .reproduce import (PAPERS, PREDICTIONS_CSV, adams_agesen_2006, barham_2003, committed_predictions, dall_2016,
                        error_summary, generation_table, kvm_unit_tests, predict_2003_testbed, prediction_specs,
                        reproduce, validate, vhe_table)

__all__ = ["GAPS", "calibrate", "summary", "load_published", "PAPERS", "PREDICTIONS_CSV", "adams_agesen_2006",
           "barham_2003", "committed_predictions", "dall_2016", "error_summary", "generation_table", "kvm_unit_tests",
           "predict_2003_testbed", "prediction_specs", "reproduce", "validate", "vhe_table"]
