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
from kit import studies
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
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
table

# %%
w = table.set_index(["guest page", "host page"])["worst case (no caches)"]
assert w[("4K", "4K")] == (4 + 1) * (4 + 1) - 1 == 24  # (n+1)(m+1)-1 for 4-level tables
assert w[("2M", "2M")] == 15

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
# A Linux of Skylake's era backs large anonymous regions (STREAM's arrays, RandomAccess's table, HPL's matrix) with
# transparent huge pages, natively and in an HVM guest alike; a Xen PV guest cannot map large pages (Xen hides PSE
# from it), so on those workloads PV direct paging walks 4 KiB tables against a native baseline that no longer
# does, and falls behind both: RandomAccess, a TLB miss per update, most. On the other workloads it is never the
# last of the three.

# %%
w = mem.pivot(index="workload", columns="paging", values="relative_performance")
nested_ahead = list(w.index[w["nested"] > w["shadow"]])
shadow_ahead = list(w.index[w["shadow"] > w["nested"]])
assert nested_ahead and shadow_ahead  # which wins depends on the workload
thp = [wl for wl in w.index if kit.load_workload(wl).thp_share > 0]  # large anonymous regions: THP-backed
assert set(thp) == {"random-access", "stream", "linpack"}
rest = w.drop(index=thp)
assert (rest["pv direct"] >= rest[["nested", "shadow"]].min(axis=1)).all()
assert w.loc["random-access", "pv direct"] < w.loc["random-access", ["nested", "shadow"]].min() - 0.1
print(f"Nested paging is ahead on {', '.join(nested_ahead)}; shadow paging on {', '.join(shadow_ahead)}.")

# %% [markdown]
# ## The crossover
#
# The database query workload (osdb-ir) with its TLB misses per kilo-instruction and its page-table writes per
# query swept: nested paging wins where page-table updates (each an exit under shadow paging) dominate, shadow paging
# where TLB misses (each a 2-D walk under nested paging) dominate.

# %%
from kit.sweep import sweep
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="osdb-ir", duration=0.2)
grid = {"workload.tlb_mpki": [0.1, 0.5, 2, 5], "workload.pte_writes": [0, 20, 60, 200, 500],
        "memory": ["nested", "shadow"]}
df = sweep(base, grid, workers=1, progress=False)
t = df.pivot_table(index=["set.workload.pte_writes", "set.workload.tlb_mpki"], columns="set.memory",
                   values="relative_performance")
t["nested - shadow"] = t["nested"] - t["shadow"]
t.round(3)

# %%
plots.sweep_heatmap(t.reset_index().assign(error="", d=t["nested - shadow"].values), x="set.workload.tlb_mpki",
                    y="set.workload.pte_writes", z="d",
                    labels={"d": "nested minus shadow (relative performance; > 0: nested paging wins)",
                            "set.workload.pte_writes": "page-table writes per query",
                            "set.workload.tlb_mpki": "TLB misses per 1,000 instructions"})

# %%
d = t["nested - shadow"].unstack("set.workload.tlb_mpki")  # rows: PTE writes per query, columns: TLB MPKI
assert d.iloc[-1, 0] > 0 > d.iloc[0, -1]  # a crossover inside the grid
assert (d.iloc[-1] > d.iloc[0]).all()  # more page-table writes favour nested paging at every miss rate
assert (d.iloc[:, 0] > d.iloc[:, -1]).all()  # more TLB misses favour shadow paging at every write rate
first = {mpki: d.index[d[mpki] > 0].min() for mpki in d.columns}  # fewest PTE writes where nested is ahead
assert all(pd.notna(v) for v in first.values()) and pd.Series(first).is_monotonic_increasing
print("Positive cells: nested paging is ahead. " + "; ".join(
    f"At {m:g} TLB misses per kilo-instruction it is ahead from {n:g} PTE writes per query" if i == 0 else
    f"at {m:g}, from {n:g}" for i, (m, n) in enumerate(first.items())) + ".")

# %% [markdown]
# Address-space switches move the line too: under shadow paging every CR3 load exits (and misses KVM's cache of
# previous shadow roots once more address spaces take turns), while under nested paging it costs the TLB refill,
# whose walks the nested TLB and KVM's huge host pages keep short.

# %%
cr3 = {f"{mem}, {n} CR3 loads": {"mode": {"memory": mem}, "params": {"cr3_loads": n, "tlb_mpki": 0.5}}
       for mem in ("nested", "shadow") for n in (0, 300)}
c = studies.run_variants(cr3, label="variant", hardware="skylake-sp-2017", hypervisor="kvm", workload="osdb-ir",
                         duration=0.2).set_index("variant")["relative_performance"]
gap = {n: c[f"nested, {n} CR3 loads"] - c[f"shadow, {n} CR3 loads"] for n in (0, 300)}
assert gap[300] > gap[0] + 0.05, gap  # CR3 loads favour nested paging
c.round(3)

# %% [markdown]
# Large pages shrink nested paging's side of the trade: with 2 MiB guest and host pages the walk shrinks to 15
# references and the TLB reaches 512 times further.

# %%
pages = {g: {"mode": {"guest_page": g, "host_page": g}} for g in ["4K", "2M"]}
big = studies.run_variants(pages, label="pages", hardware="skylake-sp-2017", hypervisor="kvm",
                           workload="random-access", duration=0.3,
                           params={"thp_share": 0})[["pages", "relative_performance"]]  # 4K: no THP for the table
big

# %%
p = big.set_index("pages")["relative_performance"]
assert p["2M"] > p["4K"] + 0.1

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

# %% [markdown]
# ## The panel
#
# Find the crossover for another workload, CPU or pair of techniques: pick two parameters and their values, the mode
# part and its two values, press **Run**; the heatmap is the first minus the second. The panel keeps to what answers
# in seconds (at most 60 short runs); a larger grid belongs in `hvkit sweep`. Run the cell (Shift+Enter) to get the
# live panel.

# %%
from kit.ui.panels import CrossoverPanel
CrossoverPanel(hardware="skylake-sp-2017", workload="osdb-ir", part="memory", first="nested", second="shadow",
               x="workload.tlb_mpki", xs="0.1, 0.5, 2, 5", y="workload.pte_writes", ys="0, 20, 60, 200", workers=1)

