#!/usr/bin/env bash
# Sync each notebook's py:percent source with its .ipynb, then execute the .ipynb in place: the outputs are
# committed and checked by nbval. Arguments name notebooks (.py or .ipynb, relative to notebooks/ or to the
# repository root); the default is every notebook. A source without an .ipynb gets one.
set -euo pipefail
# Committed notebooks carry a PNG beside each figure's plotly JSON, for GitHub and nbviewer (kit.ui.export.notebook_renderer;
# kaleido draws it with the Chromium on PATH). nbval skips image/png, so a test run without this variable still passes.
export HVKIT_NOTEBOOK_PNG=1
cd "$(dirname "$0")/../notebooks"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(*.py papers/*.py); fi
for f in "${files[@]}"; do
  base="${f#notebooks/}"
  base="${base%.*}"
  if [ -f "$base.py" ]; then pair="$base.py"; elif [ -f "$base.ipynb" ]; then pair="$base.ipynb"; else
    echo "no notebook $f (looked for notebooks/$base.py and .ipynb)" >&2
    exit 2
  fi
  # jupytext's pairing rule, as in JupyterLab: inputs from whichever file of the pair was saved last, outputs
  # from the .ipynb; a missing .ipynb is created from the source (notebooks/jupytext.toml pairs them).
  jupytext --sync "$pair"
  echo "executing $base.ipynb"
  jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 \
    --ExecutePreprocessor.store_widget_state=False "$base.ipynb"
done
