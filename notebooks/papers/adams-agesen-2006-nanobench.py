# %% [markdown]
# # Adams & Agesen, A Comparison of Software and Hardware Techniques for x86 Virtualization (ASPLOS 2006)
#
# The nanobenchmarks on a Pentium 4 with first-generation VT-x (`p4-vtx-2006`): native, the software VMM (binary
# translation, `vmware-bt` release 2006) and the hardware VMM (`vmware-bt` with `cpu=hvm`: VT-x, shadow paging,
# hosted I/O). Binary translation wins where a trap can become a call (in, cr8 write, PTE writes traced in the VMM);
# the hardware VMM wins on system calls and faults that need no VMM at all.

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
table = papers.reproduce("adams-agesen-2006-nanobench")
table[["system", "metric", "unit", "spec", "published", "model", "rel_error"]].round(4)

# %%
# The introduction's claims, in the published column and the model's
for col in ("published", "model"):
    v = table.pivot_table(index="metric", columns="system", values=col)
    bt, hw = v["software-vmm-bt"], v["hardware-vmm-vtx"]
    assert bt["in (port 0x80)"] < hw["in (port 0x80)"] and bt["PTE modification"] < hw["PTE modification"]  # calls
    assert hw["divide by zero"] < bt["divide by zero"]  # a fault the hardware VMM never sees

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
