# %% [markdown]
# # Memory virtualization: shadow, nested and PV direct paging
#
# Nested paging makes TLB misses cost a two-dimensional walk, up to (n+1)(m+1)-1 = 24 references for 4-level guest
# and host tables, and makes page-table updates free. Shadow paging makes misses native and updates (and CR3 loads)
# exit. Which wins depends on the workload's TLB-miss rate against its page-table-update rate.
#
# The worst case is rare: paging-structure caches skip upper levels in each dimension, and a nested TLB caches
# the guest-physical translations of the guest's page-table pages (Bhargava et al., ASPLOS 2008), so most of a
# walk's host-dimension walks never happen. Host huge pages are KVM's default (transparent huge pages) and Xen's
# (superpage population), which shortens the host dimension further.

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
    cold = CostModel(hw.with_overrides({"pwc_skip_levels": 0}), m)
    cm = CostModel(hw, m)
    refs.append({"guest page": g, "host page": h, "worst case (no caches)": cold.walk_refs_worst(True),
                 "native refs (Skylake)": cm.walk_refs(False), "nested refs, mean (Skylake)": round(cm.walk_refs(True), 2)})
table = pd.DataFrame(refs)
assert table.iloc[0]["worst case (no caches)"] == 24
table

# %% [markdown]
# The distribution of references per nested walk on Skylake (two upper levels skipped per dimension, 70% of the
# guest-physical lookups hitting the nested TLB), with 4 KiB host pages and with KVM's default 2 MiB host pages:

# %%
dist = []
for h in ["4K", "2M"]:
    cm = CostModel(hw, kit.hypervisor("kvm", hw, host_page=h))
    dist += [{"host page": h, "references": r, "probability": round(p, 4)} for r, p in cm.walk_distribution(True)]
dist = pd.DataFrame(dist)
assert abs(dist.groupby("host page")["probability"].sum() - 1).max() < 1e-9
dist.pivot(index="references", columns="host page", values="probability").fillna(0)

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
                    y="set.workload.cr3_loads", z="d")

# %% [markdown]
# Positive cells: nested paging is ahead. Large pages move the line: with 2 MiB guest and host pages the
# worst-case walk shrinks to 15 references and the TLB reaches 512 times further.

# %%
pages = {g: {"mode": {"guest_page": g, "host_page": g}} for g in ["4K", "2M"]}
studies.run_variants(pages, label="pages", hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access",
                     duration=0.3)[["pages", "relative_performance"]]

# %% [markdown]
# ## Do two earlier findings survive?
#
# A review of an earlier version of the model found classic Xen PV faster than PVH and HVM on every workload on
# Skylake (walks four times native under nested paging), and binary translation beating EPT on a kernel build.
# With the nested TLB, host huge pages, and 64-bit PV's page-table switch on every system call, neither holds:

# %%
import kit
rows = []
for wl in [w.id for w in kit.list_workloads()]:
    s = kit.compare("skylake-sp-2017", wl, ["native", "xen-pv", "xen-pvh", "xen-hvm", "kvm", "vmware-bt"], seed=3).summary
    rows.append({"workload": wl, **dict(zip(s["hypervisor"], s["relative_performance"].round(3)))})
survey = pd.DataFrame(rows).set_index("workload")
pv_wins = int((survey["xen-pv"] > survey[["xen-pvh", "xen-hvm"]].max(axis=1)).sum())
print(f"Xen PV ahead of both PVH and HVM on {pv_wins} of {len(survey)} workloads; on kernel-build binary "
      f"translation {survey.loc['kernel-build', 'vmware-bt']:.3f} against KVM with EPT {survey.loc['kernel-build', 'kvm']:.3f}")
assert pv_wins < len(survey) and survey.loc["kernel-build", "vmware-bt"] < survey.loc["kernel-build", "kvm"]
survey
