# %% [markdown]
# # What would a hardware feature buy?
#
# Sweeps over the hardware profile: a cheaper VM exit, a faster page walk, interrupt virtualization. Every point is
# a full run with its native baseline; bands are 95% confidence intervals from Student's t over replications (with
# two replications t is 12.7, not the normal 1.96: two seeds say little, and the bands show it).

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
from kit.sweep import sweep
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="netperf-rr", duration=0.01)
df = sweep(base, {"hw.exit_roundtrip_cycles": [100, 250, 450, 1000, 2000], "hypervisor": ["kvm", "xen-hvm"]},
           replications=2, workers=1, progress=False)
df.groupby(["set.hypervisor", "set.hw.exit_roundtrip_cycles"])["relative_performance"].mean().unstack(0).round(4)

# %%
plots.sweep_line(df, x="set.hw.exit_roundtrip_cycles", color="set.hypervisor")

# %%
m = df.groupby(["set.hypervisor", "set.hw.exit_roundtrip_cycles"])["relative_performance"].mean().unstack(0)
assert (m.diff().dropna() < 0).all().all()  # every cheaper exit helps both
gain = m.iloc[0] - m.iloc[-1]
assert (gain < 0.25 * (1 - m.iloc[0])).all()  # most of the overhead is not in the exits
print(f"From {m.index[-1]} cycles down to {m.index[0]}, an exit round trip buys kvm {gain['kvm']:+.3f} and xen-hvm "
      f"{gain['xen-hvm']:+.3f} of native on netperf-rr: the exits are a small part of its overhead, the backend "
      "the large one.")

# %% [markdown]
# ## Page-walk latency under nested paging
#
# One unit of random-access is a million updates, tens of milliseconds of work, and the work of a unit varies (a CV
# of 0.3, `kit.sim.drivers.UNIT_WORK_CV`). When a run measured only the units it completed, a short run that
# completed a few of them measured relative performance only to within tens of percent: with 0.2 s per run this
# table once read 0.585, 0.423, 0.398 and 0.447 for nested paging at 5, 10, 20 and 40 cycles per reference, with no
# mechanism behind the rise at 40. The discrete engine now counts the work done by the units still under way when
# the run ends, so a CPU-bound VM that nothing interrupts measures its rate of work, whatever the sizes of its
# units. Here it is over seeds, at 10 cycles, in a simulation of every unit (`engine="discrete"`):

# %%
base = kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm", workload="random-access")
simulated = base.replace(engine="discrete")
noise = pd.concat([sweep(simulated.replace(duration=d), {"hw.walk_ref_cycles": [10]}, replications=6, workers=1,
                         progress=False).assign(duration_s=d) for d in (0.2, 5.0)])
spread = noise.groupby("duration_s").agg(units=("units", "mean"), mean=("relative_performance", "mean"),
                                         sd=("relative_performance", "std"), low=("relative_performance", "min"),
                                         high=("relative_performance", "max"))
spread.round(4)

# %%
assert spread.loc[0.2, "units"] < 10 and spread.loc[5.0, "units"] > 50
# six seeds, a few units or a hundred and seventy: the same relative performance to the last digits
assert (spread["sd"] < 1e-9).all() and abs(spread.loc[0.2, "mean"] - spread.loc[5.0, "mean"]) < 1e-9
print(f"At 0.2 s a run completes {spread.loc[0.2, 'units']:.1f} units and at 5 s {spread.loc[5.0, 'units']:.0f}; "
      f"over six seeds both read {spread.loc[5.0, 'mean']:.4f} of native.")

# %% [markdown]
# The default engine answers from the closed form over the per-unit costs here, with nothing contending and nothing
# waiting (the `engine` column says `analytic`): the value those simulations measure. Each point below still runs 5 s and six replications, with the mean and its 95% interval
# (`kit.stats.mean_ci`), which collapse onto the closed form. Nested paging loses more with every slower reference, since each TLB miss walks more of them
# than natively (the counts are below); shadow paging walks natively and stays flat.

# %%
walk = sweep(base.replace(duration=5.0), {"hw.walk_ref_cycles": [5, 10, 20, 40], "memory": ["nested", "shadow"]},
             replications=6, workers=1, progress=False)
from kit.stats import mean_ci
ci = mean_ci(walk, ["set.memory", "set.hw.walk_ref_cycles"])
table = ci.pivot(index="set.hw.walk_ref_cycles", columns="set.memory", values=["mean", "ci_low", "ci_high"])
table.round(4)

# %%
nested = ci[ci["set.memory"] == "nested"].sort_values("set.hw.walk_ref_cycles")
assert nested["mean"].is_monotonic_decreasing and (nested["ci_high"].iloc[1:].values < nested["ci_low"].iloc[:-1].values).all()
assert (ci[ci["set.memory"] == "shadow"]["mean"] > 0.99).all()
assert ((nested["ci_high"] - nested["ci_low"]) / 2 < 0.03).all()  # holds with a t interval too
closed = walk[(walk["set.memory"] == "nested") & (walk["set.hw.walk_ref_cycles"] == 10)]
assert (closed["engine"] == "analytic").all()
# the closed form is the simulations' value (it and the engine agree to a millionth here)
assert abs(closed["relative_performance"].mean() - spread.loc[5.0, "mean"]) < 1e-4

# %%
from kit.costs import CostModel
hw = kit.load_hardware("skylake-sp-2017")
cm = CostModel(hw, kit.hypervisor("kvm", hw))
print(f"A TLB miss on {hw.id} walks {cm.walk_refs(True)} references under nested paging and {cm.walk_refs(False)} "
      f"natively (4-level tables, the page-walk cache skipping {hw.val('pwc_skip_levels'):.0f} levels of each).")
plots.sweep_line(walk, x="set.hw.walk_ref_cycles", color="set.memory")

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

# %%
c = irq.set_index("cpu")
assert c["exits_per_unit"].is_monotonic_decreasing and c["relative_performance"].is_monotonic_increasing
print(f"APICv removes {c['exits_per_unit'].iloc[0] - c['exits_per_unit'].iloc[1]:.2f} exits per transaction "
      f"(the EOI), posted interrupts {c['exits_per_unit'].iloc[1] - c['exits_per_unit'].iloc[2]:.2f} more (the "
      f"interrupt itself): {c['relative_performance'].iloc[0]:.3f} -> {c['relative_performance'].iloc[2]:.3f} of native.")

# %% [markdown]
# ## The panel
#
# Sweep a hardware knob yourself: pick the parameter, its range, the modes and the workload, press **Run**. The
# panel keeps to what answers in seconds (short runs, a few points); a long sweep belongs in `hvkit sweep`. Run the
# cell (Shift+Enter) to get the live panel.

# %%
from kit.ui.panels import SweepPanel
SweepPanel(hardware="skylake-sp-2017", workload="netperf-rr", workers=1)
