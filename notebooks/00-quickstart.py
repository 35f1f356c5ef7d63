# %% [markdown]
# # hvkit quickstart
#
# hvkit answers *how much does this hypervisor mode cost for this workload on this CPU, and why*.
# Three inputs make a run:
#
# - a **hardware profile** (`kit.list_hardware()`): what the CPU, memory and devices cost, each value with its source;
# - a **hypervisor mode** (`kit.list_hypervisors()`): a composition of CPU, memory, I/O and interrupt virtualization,
#   architecture type and vCPU scheduler;
# - a **workload** (`kit.list_workloads()`): what the guest does per unit of work, characterized on native.
#
# One frozen `kit.Spec` holds them; `kit.run(spec)` simulates it (and its native baseline) and returns tidy tables.

# %%
import kit
from kit import plots
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.02)
result = kit.run(spec)
result.summary[["hardware", "hypervisor", "workload", "metric", "unit", "value", "native_value", "relative_performance", "events"]]

# %% [markdown]
# `relative_performance` is 1.0 for native and lower when slower, whatever the metric's direction.
# `result.breakdown` says where every vCPU's (and every backend thread's) time went; it adds up to the simulated
# duration for each of them.

# %%
result.breakdown.groupby(["scope", "category"])["seconds"].sum().round(6)

# %% [markdown]
# The exits, by reason, and the request latency distribution:

# %%
result.exits[["reason", "count", "cycles"]].round(1)

# %%
lat = result.latency["latency_us"]
pd.Series({"mean": lat.mean(), "p50": lat.quantile(0.5), "p99": lat.quantile(0.99)}).round(2)

# %% [markdown]
# Comparing modes is one call; figures are pure functions of the result tables.

# %%
cmp = kit.compare("skylake-sp-2017", "netperf-rr", ["native", "xen-pv", "kvm", "kvm-sriov"], duration=0.02)
cmp.summary[["hypervisor", "value", "relative_performance"]]

# %%
plots.overhead_breakdown(cmp.breakdown, cmp.summary)

# %% [markdown]
# ## The panel
#
# The same run behind controls: pick a profile, a mode (and override any part of it), a workload, press **Run**.
# Run the cell (Shift+Enter) to get the live panel; a saved notebook shows only its text form.

# %%
from kit.widgets import ExperimentPanel
panel = ExperimentPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr")
panel
