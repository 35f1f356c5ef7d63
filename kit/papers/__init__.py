"""Published data and the model beside it; the blind predictions and their frozen files.

The library: ``published`` loads and validates the published measurements in ``data/published`` (each row fit,
test or revealed); ``calibration`` sets every microbenchmark row beside the model, fit apart from test; ``refit``
refits every fitted parameter without each paper's rows; ``reproduce`` builds each paper's comparison table and
``hvkit validate``'s statistics; ``barham2003`` sets Barham et al.'s Figure 3 and Table 6 beside the frozen
predictions and the current model; ``blind`` registers the frozen prediction files with their digests and sets the
current model beside them. The generators of those files, one module per file, are in ``predictions``.
"""
from .calibration import GAPS, calibrate, summary
from .published import load_published
from .reproduce import (PAPERS, adams_agesen_2006, barham_2003, dall_2016, error_summary, generation_table,
                        kvm_unit_tests, reproduce, validate, vhe_table)

__all__ = ["GAPS", "calibrate", "summary", "load_published", "PAPERS", "adams_agesen_2006", "barham_2003", "dall_2016",
           "error_summary", "generation_table", "kvm_unit_tests", "reproduce", "validate", "vhe_table"]
