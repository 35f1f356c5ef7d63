# %% [markdown]
# # Barham et al., Xen and the Art of Virtualization (SOSP 2003), Tables 3-5
#
# lmbench on the paper's testbed (`p4-xeon-2003`: Dell PowerEdge 2650, 2.4 GHz Xeon, Linux 2.4.21): native, Xen
# (`xen-pv`) and VMware Workstation 3.2 (`vmware-bt` with the 2003 release's paths and no shadow cache).
# The native column characterizes each operation (its kernel work); the Xen and VMware columns are the model's.

# %%
import kit
from kit import papers
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 160)
print("hvkit model version", kit.__version__)

# %% [markdown]
# The comparison table: each row's spec (profile / mode [overrides] / operation), the published value, the model's, and the relative error (model / published - 1).

# %%
table = papers.reproduce("barham-2003-lmbench")
table[["system", "metric", "unit", "spec", "published", "model", "rel_error"]].round(4)

# %% [markdown]
# Error summary: median and worst relative error over the rows.

# %%
pd.Series(papers.error_summary(table))

# %%
plots.published_vs_model(table)

# %% [markdown]
# Every gap above 25% and the mechanism the model lacks or simplifies:

# %%
gaps = table[table["rel_error"].abs() > 0.25][["system", "metric", "rel_error", "gap"]]
for _, g in gaps.iterrows():
    print(f"{g['system']}, {g['metric']} ({g['rel_error']:+.0%}): {g['gap']}")
print(f"{len(gaps)} gaps above 25%")

# %% [markdown]
# Native against the two hypervisors, per table, as the paper shows them (microseconds):

# %%
wide = table.pivot_table(index="metric", columns="system", values=["published", "model"], sort=False)
wide.round(2)
