# %% [markdown]
# # hvkit dashboard
#
# Serve with `hvkit dashboard`: Voila on 127.0.0.1 with a token and a limit on kernels (plain `voila` serves
# without a token). Each panel runs the same `kit.run` / `kit.compare` / `kit.microbench` / `kit.sweep` the command
# line runs.

# %%
from kit.ui.panels import ExperimentPanel, ComparePanel, MicrobenchPanel, SweepPanel
experiment = ExperimentPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr")
experiment

# %%
ComparePanel(hardware="skylake-sp-2017", workload="netperf-rr")

# %%
MicrobenchPanel(hardware="xgene-armv8-2014", op="hypercall")

# %%
SweepPanel(hardware="skylake-sp-2017", workload="netperf-rr", workers=1)
