"""The front ends: what draws the model's numbers for people.

- ``plots``: pure figure builders (DataFrame -> plotly figure).
- ``export``: figure sets as PNG, SVG or PDF, result tables as CSV or Parquet, the notebooks' renderer.
- ``progress``: the bars that draw the progress runs and sweeps report.
- ``panels``: the ipywidgets panels, one base class (``panels.base.Panel``) for all of them.

Everything here is the top of the pipeline (with the command line, ``kit.cli``): no lower layer imports it
(``tests/test_architecture.py``). Importing ``kit.ui`` itself loads nothing; import the module you need
(``from kit.ui import plots``).
"""
