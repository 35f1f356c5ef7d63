#!/usr/bin/env bash
# Execute every notebook in place (outputs are committed and checked by nbval).
set -euo pipefail
cd "$(dirname "$0")/../notebooks"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(*.ipynb papers/*.ipynb); fi
for nb in "${files[@]}"; do
  [ -f "$nb" ] || continue
  echo "executing $nb"
  jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 \
    --ExecutePreprocessor.store_widget_state=False "$nb"
done
