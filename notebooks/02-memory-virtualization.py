# %% [markdown]
# # Memory virtualization: shadow, nested and PV direct paging
#
# Nested paging makes TLB misses cost a two-dimensional walk, up to (n+1)(m+1)-1 = 24 references for 4-level guest
# and host tables, and makes page-table updates free. Shadow paging makes misses native and updates (and CR3 loads)
# exit. Which wins depends on the workload's TLB-miss rate against its page-table-update rate.

# %%
import kit
from kit import plots, studies
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %%
hw = kit.load_hardware("skylake-sp-2017")
from kit.costs import CostModel
refs = []
for g, h in [("4K", "4K"), ("2M", "4K"), ("4K", "2M"), ("2M", "2M"), ("1G", "1G")]:
    m = kit.hypervisor("kvm", hw, guest_page=g, host_page=h)
    cm = CostModel(hw.with_overrides({"pwc_skip_levels": 0}), m)
    refs.append({"guest page": g, "host page": h, "native refs": cm.walk_refs(False), "nested refs": cm.walk_refs(True)})
pd.DataFrame(refs)

# %% [markdown]
# ## Across workloads

# %%
paging = {"pv direct": {"hypervisor": "xen-pv"}, "nested": {"hypervisor": "kvm"},
          "shadow": {"hypervisor": "kvm", "mode": {"memory": "shadow"}}}
workloads = ["random-access", "stream", "linpack", "osdb-ir", "kernel-build", "hackbench"]
mem = studies.run_variants(paging, workloads=workloads, label="paging", hardware="skylake-sp-2017", duration=0.3)
mem.pivot(index="workload", columns="paging", values="relative_performance")

# %% [markdown]
# ## The crossover
#
# A synthetic workload whose TLB misses per kilo-instruction and context switches per unit are swept: nested paging
# wins where switches (and so shadow-paging exits) dominate, shadow paging where misses dominate.

# %%
from kit.sweep import sweep
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="osdb-ir", duration=0.2)
grid = {"workload.tlb_mpki": [0.5, 2, 5, 10, 20], "workload.cr3_loads": [0, 5, 20, 60], "memory": ["nested", "shadow"]}
df = sweep(base, grid, workers=1, progress=False)
t = df.pivot_table(index=["set.workload.cr3_loads", "set.workload.tlb_mpki"], columns="set.memory", values="relative_performance")
t["nested - shadow"] = t["nested"] - t["shadow"]
t.round(3)

# %%
plots.sweep_heatmap(t.reset_index().assign(error="", d=t["nested - shadow"].values), x="set.workload.tlb_mpki",
                    y="set.workload.cr3_loads", z="d",
                    labels={"d": "nested minus shadow (relative performance)"})

# %% [markdown]
# Positive cells: nested paging is ahead. Large pages move the line: with 2 MiB guest and host pages the walk shrinks
# to 15 references and the TLB reaches 512 times further.

# %%
pages = {g: {"mode": {"guest_page": g, "host_page": g}} for g in ["4K", "2M"]}
studies.run_variants(pages, label="pages", hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access",
                     duration=0.3)[["pages", "relative_performance"]]
