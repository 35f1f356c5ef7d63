# %% [markdown]
# # Barham et al., Xen and the Art of Virtualization (SOSP 2003): Figure 3 and Table 6
#
# The application results of the paper (SPEC INT2000, a Linux build, OSDB-IR and OSDB-OLTP on PostgreSQL,
# dbench, SPECweb99, and ttcp at MTU 1500 and 500) under Xen (`xen-pv`, Xen 1.0: `release=2003`) and VMware
# Workstation 3.2 (`vmware-bt`, `release=2003`, no shadow cache) on the paper's testbed (`p4-xeon-2003`).
#
# Three columns for each row, kept apart:
#
# - **blind (frozen)**: the prediction committed in `data/predictions/predictions.csv` before the published
#   results were in the repository (one seed per row, no interval). The file is never edited; its SHA-256 is
#   checked below.
# - **current model**: the mean over seeds with its 95% interval. It is **post-reveal and in-sample**: the
#   mechanisms added since (Xen 1.0's drivers in the hypervisor, the native network stack's per-segment cost,
#   interrupt coalescing and ACKs, the hosted VMM's I/O path of Sugerman et al.) were chosen knowing which rows
#   missed, although no workload or mode factor was fitted to a row.
# - **published**: Barham et al.'s values (`data/published/barham-2003-macro.csv`, role `revealed`).

# %%
import kit
from kit.papers import barham2003, blind
import pandas as pd
import plotly.graph_objects as go
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)
print("hvkit model version", kit.__version__)

# %% [markdown]
# The blind files are byte-identical to what was committed:

# %%
digests = blind.check_blind_files()
assert digests["unchanged"].all()
digests[["file", "unchanged", "committed"]]

# %% [markdown]
# ## Native first
#
# Before any virtualized comparison, the model's native value against the published native value, where the
# units agree. ttcp's per-segment kernel work is characterized from the native transmit at MTU 500 (CPU-bound);
# the receive direction and MTU 1500 (wire-bound, with Ethernet framing) are checks. The native Linux build runs
# 12% faster in the model than the 263 s published. The other benchmarks are published as scores the model does
# not compute.

# %%
native = barham2003.native_table()
assert abs(native.set_index(["workload", "params"]).loc[("ttcp", "direction=tx;mtu=500"), "rel_error"]) < 0.05
native.round(3)

# %% [markdown]
# ## Blind, now, published

# %%
t = barham2003.table()
show = t[["hypervisor", "workload", "params", "published", "blind_frozen", "blind_error_pts", "current_model",
          "current_ci_low", "current_ci_high", "current_seeds", "current_error_pts"]]
show.round(3)

# %% [markdown]
# Before and after, over the whole table (points of relative performance):

# %%
s = barham2003.summary(t)
blind_row, now_row = s.iloc[0], s.iloc[1]
assert blind_row["above_10_pts"] == 8 and now_row["above_10_pts"] == 4
assert round(blind_row["worst_abs_error_pts"], 1) == 65.3
s.round(2)

# %%
fig = go.Figure()
label = t["hypervisor"].str.replace("vmware-bt", "VMware") + " " + t["workload"] + " " + t["params"].str.replace(
    "direction=", "").str.replace(";mtu=", "/")
fig.add_bar(name="published", x=label, y=t["published"])
fig.add_bar(name="blind (frozen)", x=label, y=t["blind_frozen"])
fig.add_bar(name="current model (in-sample)", x=label, y=t["current_model"],
            error_y=dict(type="data", array=t["current_ci_high"] - t["current_model"],
                         arrayminus=t["current_model"] - t["current_ci_low"]))
fig.update_layout(barmode="group", yaxis_title="relative performance (1.0 = native)", height=450)
fig

# %% [markdown]
# ## Every gap above 10 points, by mechanism
#
# A blind miss above 10 points is either fixed by a cited mechanism (and the whole table is shown above, not
# only the row aimed at), or it remains, with the mechanism the model still lacks:

# %%
big = t[(t["blind_error_pts"].abs() > barham2003.GAP_PTS) | (t["current_error_pts"].abs() > barham2003.GAP_PTS)]
assert t["gap_explained"].all()
for _, r in big.iterrows():
    print(f"{r['hypervisor']} {r['workload']} {r['params']}: blind {r['blind_error_pts']:+.1f}, "
          f"now {r['current_error_pts']:+.1f} points\n    {r['mechanism']}\n")

# %% [markdown]
# ## Which estimates dominate the I/O results
#
# Each I/O row's relative performance with one estimated path length (or the hosted world switch, a hardware
# estimate) halved and doubled, the other estimates unchanged; runs share a seed, so the differences are the
# estimate's effect, and each moved run is compared with native under the same values (native's stack reads the host
# NIC driver's path as its driver share). The 2003 rows and, for comparison, current KVM and Xen paths on Skylake,
# where the backends' own per-packet paths (netback, vhost) move the receive streams most.

# %%
sens = barham2003.sensitivity()
top = sens.sort_values("max_move_pts", ascending=False)
assert top.iloc[0]["estimate"] in ("xen.netback_pkt", "kvm.vhost_pkt", "kvm.host_driver_pkt")
top.head(20).round(3)

# %%
sens.pivot_table(index="estimate", columns="row", values="max_move_pts").round(1)
