# %% [markdown]
# # Blind predictions: the 2003 testbed and Sandy Bridge KVM
#
# `data/predictions/predictions.csv` holds the relative performance (1.0 = native) predicted for Xen PV and
# VMware Workstation 3.2 on `p4-xeon-2003` (the application benchmarks of Barham et al.'s Figure 3 and the ttcp
# runs of Table 6) and for KVM on `sandybridge-ep-2012` (linpack, stream, random-access, netperf-rr). It was
# computed only from calibrated operation costs and the workloads' native characterization, one seed per row,
# and committed before the published results were in the repository. The file is frozen: it is checked by its
# SHA-256 and never recomputed. Beside it, the **current** model's value as a statistic (mean over seeds, 95%
# interval): for the 2003 rows, whose results have since been revealed (`data/published/barham-2003-macro.csv`),
# the current model is post-reveal and in-sample; the Sandy Bridge rows are still blind. See the
# `barham-2003-macro` notebook for the gaps and their mechanisms.

# %%
import kit
from kit.papers import blind
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 180)
print("hvkit model version", kit.__version__)

# %%
digests = blind.check_blind_files()
assert digests["unchanged"].all()
digests[["file", "recorded_sha256", "unchanged"]]

# %%
t = blind.frozen_vs_current("predictions.csv")
assert (t["status"].iloc[:20] == blind.STATUS_REVEALED).all() and (t["status"].iloc[20:] == blind.STATUS_BLIND).all()
t[["hardware", "hypervisor", "workload", "params", "blind_frozen", "current_model", "current_ci_low",
   "current_ci_high", "current_seeds", "published", "status"]].round(4)

# %% [markdown]
# What explains each current value: the categories whose time per unit of work grew most against native.

# %%
t[["hypervisor", "workload", "params", "explained_by"]]
