# %% [markdown]
# # Blind predictions, second file: Felter et al. 2015, Dall et al. 2016, Adams & Agesen 2006
#
# `data/predictions/predictions-2015-2016.csv` was committed (at model `ca4e7c6`) before anything else of the
# fidelity work changed the model, and before any of its results are in the repository. Every row is a mean over
# seeds with a 95% interval. The file is frozen: its SHA-256 is checked, and it is never recomputed.
#
# The published results of these papers have **not** been looked up: these rows are still blind tests. Beside
# the frozen values, the current model's value (mean, interval, seeds) shows how far the model has moved since;
# it is no prediction of record. Here the current model is computed for the rows that are quick to simulate (CPU
# and memory workloads); `hvkit reproduce predictions-2015-2016` computes every row (several minutes).

# %%
import kit
from kit.papers import blind
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 50)
pd.set_option("display.width", 200)
print("hvkit model version", kit.__version__)

# %%
digests = blind.check_blind_files()
assert digests["unchanged"].all()
frozen = blind.frozen("predictions-2015-2016.csv")
frozen[["testbed", "benchmark", "hypervisor", "mode_overrides", "relative_performance", "ci_low", "ci_high", "seeds"]]

# %%
quick = [i for i, w in enumerate(frozen["workload"]) if w in ("kernel-build", "hackbench", "specjvm", "spec-int",
                                                               "linpack", "pxz")]
now = blind.frozen_vs_current("predictions-2015-2016.csv", rows=quick)
assert (now["status"] == blind.STATUS_BLIND).all() and now["published"].isna().all()
now[["hardware", "hypervisor", "workload", "mode_overrides", "blind_frozen", "blind_ci_half_width", "current_model",
     "current_ci_low", "current_ci_high", "current_seeds"]].round(4)
