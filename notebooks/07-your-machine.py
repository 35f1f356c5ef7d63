# %% [markdown]
# # Your machine: probe, fit, predict and check
#
# Every profile shipped with hvkit comes from papers. This notebook closes the loop on the machine it runs on:
#
# 1. **probe**: a minimal VM through `/dev/kvm` (this process, no QEMU) times CPUID, hypercalls, HLT, port I/O
#    and MMIO to the kernel and to user space, with replications and 95% intervals (`hvkit probe`);
# 2. **fit**: the parameters those rows determine (the VM exit round trip, the hypervisor's cycles per
#    instruction), with a share of the rows **held out** and never fitted (`hvkit profile fit`);
# 3. **predict and check**: the held-out microbenchmarks, and a unit of work whose native part was timed
#    natively, set beside their measurements.
#
# Where `/dev/kvm` is missing or unusable, the live part says so and the notebook uses the committed example
# (`data/machines/amd-epyc-pvm-guest/`). The live cells' numbers depend on the machine, so nbval checks their
# structure only; the committed example's numbers are checked to the digit.

# %%
from pathlib import Path

import pandas as pd

from kit.inputs.files import data_dir
from kit.inputs.measurements import Measurements, load_measurements
from kit.machine.kvm import KvmUnavailable
from kit.machine.probe import measurements_document, probe
from kit.papers.profile_fit import fit_profile
from kit.stats import format_ci

pd.set_option("display.width", 140)
pd.set_option("display.max_colwidth", 60)
EXAMPLE = data_dir() / "machines" / "amd-epyc-pvm-guest"


def side_by_side(report):
    """Prediction, its interval and the measurement with its interval, for the rows the fit did not use."""
    r = report.rows[report.rows["use"].isin(["test", "check"])]
    return pd.DataFrame({
        "row": r["id"], "use": r["use"],
        "predicted": [f"{m:,.0f}" for m in r["model"]],
        "predicted 95%": [f"{lo:,.0f} .. {hi:,.0f}" for lo, hi in zip(r["model_low"], r["model_high"])],
        "measured": [format_ci(m, (hi - lo) / 2) for m, lo, hi in zip(r["measured"], r["ci_low"], r["ci_high"])],
        "error": [f"{e:+.0%}" for e in r["rel_error"]], "inside": r["inside"]}).reset_index(drop=True)


# %% [markdown]
# ## 1. Probe this machine
#
# Ten timed batches of at least 10 ms per operation; the machine's identity (and whether it is itself a virtual
# machine, from the CPUID hypervisor bit) is part of the result.

# %%
# NBVAL_IGNORE_OUTPUT
try:
    live = probe(replications=10, target_ms=10)
except KvmUnavailable as exc:
    live = None
    print(f"No live probe here ({exc}); the committed example below stands in for it.")
if live is not None:
    print(f"measured on {live.host.describe()}")
    for note in live.notes:
        print(" ", note)
    s = live.summary()
    display(pd.DataFrame({"op": s["op"], "where": s["where"],  # noqa: F821 - IPython's display
                          "cycles (95% CI)": [format_ci(m, h) for m, h in zip(s["cycles"], s["half"])],
                          "us": s["us"].round(3)}))

# %% [markdown]
# ## 2. Fit, with rows held out
#
# The fit starts from the shipped profile of the same vendor and moves only the parameters the fit rows
# determine; a third of the microbenchmark rows is held out (a seeded choice, reported).

# %%
# NBVAL_IGNORE_OUTPUT
if live is not None:
    live_meas = Measurements.model_validate(measurements_document(live))
    base = {"amd": "zen3-epyc-2021", "intel": "skylake-sp-2017"}.get(live.host.vendor, "skylake-sp-2017")
    live_fit = fit_profile(base, live_meas, test_share=0.34, seed=0)
    print(f"fit rows: {', '.join(live_fit.fit_ids)}\nheld out: {', '.join(live_fit.test_ids)}")
    display(live_fit.params[["parameter", "status", "base", "value", "low", "high"]])  # noqa: F821
    display(side_by_side(live_fit))  # noqa: F821

# %%
if live is not None:  # the structure of a live run, whatever the machine
    assert set(live_fit.fit_ids).isdisjoint(live_fit.test_ids) and live_fit.test_ids
    assert all(r.ci95 is None or r.ci95[0] <= r.value <= r.ci95[1] for r in live_meas.rows)
    assert (live_fit.rows.loc[live_fit.rows["use"] == "check", "id"] == "probe:kick_loop").any()
    assert live.host.is_guest == ("hypervisor" in Path("/proc/cpuinfo").read_text().split())
    assert set(live_fit.params["status"]) <= {"fitted", "measured natively", "not determined"}

# %% [markdown]
# ## 3. The committed example: the same loop on the project's machine
#
# Measured on 2026-12-07 with `hvkit probe --replications 30 --target-ms 20` (see the dataset's README). That
# machine is itself a KVM guest, and its `/dev/kvm` is **PVM**, a software-based KVM (the guest runs in ring 3 and
# a switcher takes its exits; no AMD-V underneath): every number includes PVM and the outer hypervisor.

# %%
example = load_measurements(EXAMPLE / "measurements.yaml")
report = fit_profile("zen3-epyc-2021", example, test_share=0.34, seed=0)
print(f"measured on {example.machine.describe()}")
print(f"fit rows: {', '.join(report.fit_ids)}\nheld out: {', '.join(report.test_ids)}")
report.params[["parameter", "status", "base", "value", "low", "high"]].round(3)

# %%
side_by_side(report)

# %%
rows = report.rows.set_index("id")
assert report.test_ids == ["probe:inl_from_kernel", "probe:inl_from_user"]
assert round(rows.loc["probe:inl_from_kernel", "rel_error"], 2) == 1.54
assert round(rows.loc["probe:inl_from_user", "rel_error"], 2) == 0.44
assert rows.loc[report.test_ids, "inside"].all()
assert round(rows.loc["probe:kick_loop", "rel_error"], 2) == -0.39 and rows.loc["probe:kick_loop", "inside"]
fitted = report.params.set_index("parameter")
assert fitted.loc["exit_roundtrip_cycles", "status"] == "fitted"
assert fitted.loc["exit_roundtrip_cycles", "high"] / fitted.loc["exit_roundtrip_cycles", "low"] > 100

# %% [markdown]
# **What the example says.** The two held-out microbenchmarks are predicted within their intervals, but not
# closely: a read of the in-kernel PIC's port 2.5 times its measurement, and a read that exits to this monitor 44%
# above. The intervals are wide: the fit rows barely tell the exit round trip from the hypervisor's cycles per
# instruction (the exit's interval spans more than a factor of 100; its best value is a few cycles, which puts
# every exit's cost in its path length at about 70 cycles an instruction), because under PVM every exit costs
# tens of thousands of cycles and the model's paths differ between the rows by a few thousand instructions only.
# Charged by path length, the PIC read is overcharged: on the base profile the model's read costs 4,120 cycles,
# two and a half times its port write's 1,640, where PVM measures the two about alike (125,000 and 133,000).
#
# The unit of work (`probe:kick_loop`: 405 instructions timed natively, then one write to an in-kernel device
# port) is predicted at about three fifths of its measured cost, just inside the wide interval. The model's KVM
# completes an OUT to an in-kernel device on its fast port-I/O path, without emulating the instruction; PVM
# emulates it (its `outl_to_kernel` costs 4.8 times its hypercall). That is a mechanism the model does not have
# for this kind of KVM, and the check says so rather than a fit absorbing it. On a machine with VT-x or AMD-V,
# run this notebook there: the live cells above repeat the loop on it.
