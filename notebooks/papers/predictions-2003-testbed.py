# %% [markdown]
# # Blind predictions: the 2003 testbed and Sandy Bridge KVM
#
# Predicted relative performance (1.0 = native) of Xen PV and VMware Workstation 3.2 on `p4-xeon-2003` for the
# application benchmarks of Barham et al.'s Figure 3 and the ttcp runs, and of KVM on `sandybridge-ep-2012` for
# linpack, stream, random-access and netperf-rr. Computed **only** from calibrated operation costs and the
# workloads' native characterization; the published application results were not looked up or fitted. The table is
# committed as `data/predictions/predictions.csv`, and CI checks that this notebook recomputes it exactly.

# %%
import kit
from kit import plots, papers
import pandas as pd
from kit.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 160)
print("hvkit model version", kit.__version__)

# %%
pred = papers.predict_2003_testbed()
committed = papers.committed_predictions()
assert (pred["relative_performance"].round(6).values == committed["relative_performance"].values).all()
pred[["hardware", "hypervisor", "workload", "params", "native_value", "value", "unit", "relative_performance"]]

# %% [markdown]
# What explains each prediction: the categories whose time per unit of work grew most against native.

# %%
pred[['hypervisor', 'workload', 'params', 'explained_by']]

# %%
label = pred["workload"] + pred["params"].str.replace("direction=", " ").str.replace(";mtu=", "/")
plots.relative_performance(pred.assign(workload=label, error=""), x="workload")
