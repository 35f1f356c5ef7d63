# %% [markdown]
# # kvm-unit-tests x86 vmexit across CPU generations
#
# The `vmexit` operations quoted in kvm-unit-tests commit messages (a 2012 Intel machine, here `sandybridge-ep-2012`
# with KVM's 2012 exit path; Haswell-EP for the TSC-deadline timer) and on the KVM list (Skylake-SP), then the
# model's view of the same operations on every x86 generation.

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
table = papers.reproduce("kvm-unit-tests-vmexit")
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
# KVM's vmexit operations on each x86 profile (cycles): the exit round trip falls by generation, the handler paths run at each CPU's kernel CPI, and APICv and posted interrupts remove the EOI exits.

# %%
gen = papers.generation_table()
gen.round(0)

# %%
intel = ["p4-vtx-2006", "core2-2008", "sandybridge-ep-2012", "haswell-ep-2014", "skylake-sp-2017", "icelake-sp-2021"]
assert gen.loc["vmcall", intel].is_monotonic_decreasing  # the exit round trip falls by generation
apicv = [h for h in gen.columns if kit.load_hardware(h).features.apicv]
assert "haswell-ep-2014" in apicv and "sandybridge-ep-2012" not in apicv
drop = gen.loc[:, "sandybridge-ep-2012"] - gen.loc[:, "haswell-ep-2014"]
assert drop["ipi"] > 10 * drop["vmcall"]  # APICv removes the EOI exit, far more than a faster round trip gives
