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
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
spec = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.02)
result = kit.run(spec)
result.summary[["hardware", "hypervisor", "workload", "metric", "unit", "value", "native_value", "relative_performance", "events"]]

# %% [markdown]
# `relative_performance` is the run's metric against native's on the same hardware: 1.0 for native and lower when
# slower, whatever the metric's direction. `result.breakdown` says where every vCPU's (and every backend thread's)
# time went; it adds up to the simulated duration for each of them.

# %%
result.breakdown.groupby(["scope", "category"])["seconds"].sum().round(6)

# %%
row = result.summary.iloc[0]
assert abs(row["relative_performance"] - row["value"] / row["native_value"]) < 1e-12  # higher is better here
per_scope = result.breakdown.groupby("scope")["seconds"].sum()
assert ((per_scope - row["duration"]).abs() < 1e-9 * row["duration"]).all(), per_scope

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

# %%
rel = cmp.summary.set_index("hypervisor")["relative_performance"]
assert rel["native"] == 1.0 and (rel.drop("native") < 1.0).all()
best = rel.drop("native").idxmax()
print(f"Closest to native: {best} at {rel[best]:.2f}; furthest: {rel.idxmin()} at {rel.min():.2f}.")

# %% [markdown]
# ## What each vCPU is doing
#
# `kit.run(spec, trace_s=...)` records every vCPU's and backend thread's state over the first `trace_s` seconds
# (running guest code, exiting to the hypervisor, waiting for a CPU, idle), and `plots.vcpu_timeline` draws it.
# Here, 200 µs of the KVM run above: the vCPU halts between requests while the vhost thread moves the packets.

# %%
traced = kit.run(spec, trace_s=200e-6)
plots.vcpu_timeline(traced.timeline)

# %%
states = traced.timeline.groupby("scope")["state"].agg(set)
vcpu, vhost = "host.vm0.vcpu0", "host.vm0.vhost.thread0"
assert {"running", "idle"} <= states[vcpu] and {"backend", "idle"} <= states[vhost], states
assert traced.timeline["end_s"].max() <= 200e-6

# %% [markdown]
# ## The panel
#
# The same run behind controls: pick a profile, a mode (and override any part of it), a workload, press **Run**.
# Run the cell (Shift+Enter) to get the live panel; a saved notebook shows only its text form.

# %%
from kit.ui.panels import ExperimentPanel
panel = ExperimentPanel(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr")
panel
