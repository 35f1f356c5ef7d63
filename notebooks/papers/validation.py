# %% [markdown]
# # Validation that cannot flatter itself
#
# Every published row in `data/published` has a role. A **fit** row set a parameter (the parameter names it:
# `kit.costs.codepaths.FITTED_TO`); a **test** row set nothing; **native** rows characterize operations and
# workloads; **tautologies** read a constant back; **revealed** rows are the targets of blind predictions whose
# results have since been committed (see `barham-2003-macro`). Only test rows are evidence, so the headline is
# the test figure, and fit rows are reported apart.

# %%
import kit
from kit.papers import calibration, refit, validate
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)
print("hvkit model version", kit.__version__)

# %%
report, stats = validate()
assert stats["headline"] == "test" and stats["gaps_explained"]
pd.DataFrame({k: stats[k] for k in ("test", "fit")}).T[["rows", "median_abs_rel_error", "worst_abs_rel_error",
                                                        "worst_row", "within_25pct", "beyond_2x"]]

# %% [markdown]
# Per hypervisor family: how many parameters were fitted, to how many rows, and how the test rows fare.

# %%
print(f"{stats['fitted_parameters']} fitted parameters; not scored: {stats['excluded']}")
pd.DataFrame(stats["by_family"]).T

# %% [markdown]
# The fitted parameters and the rows each names:

# %%
calibration.fitted_parameters()

# %% [markdown]
# ## Leave one paper out
#
# Every fitted path length refitted by least squares without one paper's rows, and that paper's rows scored with
# the refit. A parameter whose rows all come from the left-out paper cannot be refitted; the release-less entry
# or the fallback family's path stands in for it where one exists, and its rows are otherwise not predictable
# without the paper. The first row refits on every paper: how close least squares comes to the hand calibration.

# %%
lopo = refit.leave_one_paper_out()
assert lopo.iloc[0]["left_out"] == "(none)"
lopo.round(3)

# %% [markdown]
# ## Macro rows beside model runs
#
# ELI's exitless interrupts on an assigned NIC (Gordon et al., ASPLOS 2012) and VMware's gains from EPT and RVI
# over shadow paging (2009 white papers): the model's mean over five seeds with its 95% interval, and the
# mechanism behind each miss above 25%.

# %%
macro = calibration.macro_report(kit.papers.load_published().query("role != 'revealed'"))
# five seeds pin every macro figure to within a few points, narrow beside the misses they are compared to
assert (macro["ci_high"] - macro["ci_low"] < 5).all()
macro[["id", "published", "unit", "model", "ci_low", "ci_high", "rel_error"]].round(2)

# %%
for _, r in macro[macro["rel_error"].abs() > 0.25].iterrows():
    print(f"{r['id']} ({r['rel_error']:+.0%}): {r['gap']}\n")
assert (macro[macro["rel_error"].abs() > 0.25]["gap"].str.len() > 20).all()

# %% [markdown]
# ## How sure is the model? The calibration of its prediction intervals
#
# Every estimated or fitted parameter states a plausible range, and the model's 90% prediction interval of a
# row is what those ranges give when carried through the model (`kit.uncertainty`). An interval is useful only if
# it is right about as often as it says: below, for every scored row (microbenchmarks and the macro rows), the
# share of published values inside the model's 50, 80, 90 and 95% intervals, and the intervals' median width
# relative to the model's value. Two failure modes: **overconfident** (the published values fall inside far
# less often than the nominal level) and **vacuous** (they fall inside, but only because the intervals span
# everything). Fit rows are shown apart: their parameters were set to them.

# %%
from kit.papers import coverage
from kit.ui import plots
intervals, rel = coverage.coverage(macro=True)
head = coverage.headline(rel)
print(head)
rel.assign(observed=rel["observed"].round(3), median_width=rel["median_width"].round(3))

# %%
plots.reliability_diagram(rel)

# %% [markdown]
# The test microbenchmarks sit well below the diagonal: at the 90% level about 60% of the published values fall
# inside intervals whose median width is about half the value. The intervals are **overconfident**, and the
# misses are the rows whose gaps are structural (a mechanism the model lacks, listed with its reason in
# `calibration.GAPS`), which no plausible value of an existing parameter reaches. The fit rows are near the
# diagonal, as they should be: their parameters' ranges come from those rows. The four macro test rows are too
# few to judge. All four fall inside their 90% intervals, which are wide: the VMware gains' (from about 6% to
# 55-60%) because the workloads' counts, user instructions and page faults above all, are estimates; ELI's (about
# 50 to 115% of native) because the NIC's interrupt coalescing, the host driver's per-packet path and the kernel's
# CPI are. VMware's 48% gain from EPT lies above its 50% interval.

# %%
micro_test = rel[(rel["role"] == "test") & (rel["kind"] == "micro")].set_index("nominal")
assert micro_test.loc[0.9, "verdict"] == "overconfident" and micro_test.loc[0.9, "observed"] < 0.75
assert (micro_test["observed"].diff().dropna() >= 0).all()  # wider intervals never cover less
fit = rel[(rel["role"] == "fit") & (rel["kind"] == "micro")].set_index("nominal")
assert fit.loc[0.9, "observed"] > micro_test.loc[0.9, "observed"]
macro_test = rel[(rel["role"] == "test") & (rel["kind"] == "macro")].set_index("nominal")
assert macro_test.loc[0.9, "rows"] == 4 and macro_test.loc[0.9, "observed"] == 1.0
ept = intervals.set_index("id").loc["vmware2009-ept:ept-gain"]
assert ept["high_50"] < 48 < ept["high_90"]

# %% [markdown]
# Which parameters make the intervals wide? The dominant parameter of each scored row (the largest total Sobol'
# index), counted over the test rows:

# %%
top = intervals[intervals["role"] == "test"]["dominant"].str.split(" ").str[0]
top.value_counts().head(8)
