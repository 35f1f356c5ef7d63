# %% [markdown]
# # What would a hardware feature buy?
#
# Sweeps over the hardware profile: a cheaper VM exit, a faster page walk, interrupt virtualization. Every point is
# a full run with its native baseline; bands are confidence intervals over replications.

# %%
import kit
from kit import plots, studies
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
from kit.sweep import sweep
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.01)
df = sweep(base, {"hw.exit_roundtrip_cycles": [100, 250, 450, 1000, 2000], "hypervisor": ["kvm", "xen-hvm"]},
           replications=2, workers=1, progress=False)
df.groupby(["set.hypervisor", "set.hw.exit_roundtrip_cycles"])["relative_performance"].mean().unstack(0).round(4)

# %%
plots.sweep_line(df, x="set.hw.exit_roundtrip_cycles", color="set.hypervisor")

# %% [markdown]
# ## Page-walk latency under nested paging

# %%
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access", duration=0.2)
walk = sweep(base, {"hw.walk_ref_cycles": [5, 10, 20, 40], "memory": ["nested", "shadow"]}, workers=1, progress=False)
walk.pivot_table(index="set.hw.walk_ref_cycles", columns="set.memory", values="relative_performance").round(4)

# %% [markdown]
# ## Interrupt virtualization on an older CPU
#
# Sandy Bridge has neither APICv nor posted interrupts: with an assigned NIC every interrupt and EOI exits. Turning
# the features on in the profile shows what Ivy Bridge and later bought.

# %%
cpus = {"Sandy Bridge as is": {},
        "+ APICv": {"hw": {"features.apicv": True}, "mode": {"interrupts": "apicv"}},
        "+ posted interrupts": {"hw": {"features.apicv": True, "features.posted_interrupts": True},
                                "mode": {"interrupts": "posted"}}}
irq = studies.run_variants(cpus, label="cpu", hardware="sandybridge-ep-2012", hypervisor="kvm-sriov",
                           workload="netperf-rr", duration=0.02)
irq[["cpu", "relative_performance", "exits_per_unit"]].rename(columns={"exits_per_unit": "exits per transaction"})
