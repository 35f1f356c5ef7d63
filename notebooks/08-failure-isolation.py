# %% [markdown]
# # Failure isolation, the trusted computing base, and the VM lifecycle
#
# The Xen-versus-KVM argument is not only about speed. Its central claim is about isolation: with a type-1
# hypervisor and the drivers in a domain of their own, a fault stays where it happens; with the hypervisor inside
# Linux, a driver's fault is the host kernel's, and every VM on the host goes with it. This notebook asks the
# questions that claim raises, mechanism by mechanism: *if the network driver crashes, which VMs notice, for how
# long, and what is lost*, under Xen with a driver domain, Xen with its drivers in dom0, KVM and a Firecracker-style
# microVM; how available each VM is over a year of component failures; how much code each guest relies on; and
# what each step of a VM's life costs.
#
# Everything comes from the mode's parts (`kit.inputs.parts`): who schedules the vCPUs, whether a VM's vCPUs are
# threads of a host process, which entity serves each I/O path, where the host's drivers run. No rule names a
# hypervisor.

# %%
import kit
import kit.failures as failures
import kit.lifecycle as lifecycle
from kit.sim.failures import FailureDomains, HostSetup, client_outage, plan
from kit.ui import failure_plots, lifecycle_plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
pd.set_option("display.precision", 4)
pd.set_option("display.width", 140)
pd.set_option("display.max_colwidth", 60)

# %% [markdown]
# ## 1. Failure domains
#
# A host is protection domains (the hypervisor, the host kernel, dom0, a driver domain, a VM's VMM process, a
# guest) and components in them. A crash takes its domain down: a driver's oops panics the kernel it runs in, a
# VMM's crash ends its process and the VM whose vCPUs are its threads. Here are the components of a host with three
# VMs under each configuration, the domain each runs in, and whose I/O passes through it.

# %%
domains = failures.failure_domains()
domains[domains["vm"].isin(["", "vm0"])][["configuration", "component", "vm", "domain", "domain_kind", "io_of"]]

# %%
d = domains.set_index(["configuration", "component"])
assert d.loc[("Xen, driver domain", "nic-driver"), "domain"] == "driver domain"
assert d.loc[("Xen, drivers in dom0", "nic-driver"), "domain"] == "dom0"
assert d.loc[("KVM", "nic-driver"), "domain"] == d.loc[("microVM", "nic-driver"), "domain"] == "host kernel"

# %% [markdown]
# ## 2. A NIC driver crash under each configuration
#
# The same host (four CPUs) runs a web server (`netperf-rr`, two clients with 20 ms think time), a CPU-bound batch
# VM (`spec-int`) and a disk reader (`fio-randread`, one request at a time on a slow disk so the run stays short).
# Two seconds in, the NIC driver crashes. Each configuration runs with the fault and without it, on the same seed.
#
# - **Xen with a driver domain**: the crash is the driver domain's. It is destroyed, built and booted again, its NIC
#   reset and its link renegotiated, and the frontends reconnect one after another. The web and disk VMs' I/O
#   stalls meanwhile: TCP resends the web requests on its doubling timer, blkfront reissues the disk request. The
#   batch VM's CPU work is untouched.
# - **Xen with its drivers in dom0**: the crash is dom0's. The VMs keep computing, their I/O stopped, until Xen
#   restarts the machine five seconds later (`hwdom_shutdown`).
# - **KVM** and the **microVM**: the crash is the host kernel's. Every VM ends at once.

# %%
BASE = dict(name="a NIC driver crash", hardware="skylake-sp-2017", duration=9.0, seed=1, hw={"disk_service_ms": 2.0},
            vms=[{"name": "web", "workload": "netperf-rr", "params": {"clients": 2, "think_us": 20000}},
                 {"name": "batch", "workload": "spec-int"},
                 {"name": "disk", "workload": "fio-randread", "params": {"queue_depth": 1}}],
            faults=[{"time_s": 2.0, "component": "nic-driver", "mode": "crash"}])
runs = {}
for name, (hv, _, setup) in failures.CONFIGURATIONS.items():
    scn = kit.Scenario.make(**BASE, hypervisor=hv, host={"pcpus": 4, "driver_domain": setup.driver_domain})
    runs[name] = failures.inject(scn)
crash = pd.concat({k: r["vms"].set_index("vm") for k, r in runs.items()}, names=["configuration", "vm"])
crash[["effect", "survived", "unavailable_s", "client_outage_s", "units", "units_without", "vcpu_busy_s",
       "vcpu_busy_s_without", "requests_delayed", "retransmitted", "reissued", "requests_lost"]]

# %%
dd = crash.loc["Xen, driver domain"]
assert dd["survived"].all() and dd.loc["batch", "effect"] == "none"
# the batch VM's CPU work is untouched: its vCPU was busy as long as without the fault (the whole run), never paused
assert abs(dd.loc["batch", "vcpu_busy_s"] - dd.loc["batch", "vcpu_busy_s_without"]) < 1e-9
assert dd.loc["batch", "vcpu_paused_s"] == 0.0
# only the I/O that depends on the driver domain stalled: the web requests were resent, the disk request reissued
assert dd.loc["web", "retransmitted"] > 0 and dd.loc["disk", "reissued"] > 0
assert (dd["requests_lost"] == 0).all()
dom0 = crash.loc["Xen, drivers in dom0"]
assert not dom0["survived"].any() and (dom0["died_at_s"] == 2.0 + 5.0).all()  # Xen restarts the machine 5 s later
for name in ("KVM", "microVM"):
    assert not crash.loc[name, "survived"].any() and (crash.loc[name, "died_at_s"] == 2.0).all()

# %%
failure_plots.fault_timeline(runs["Xen, driver domain"]["latency"], runs["Xen, driver domain"]["plans"],
                             title="Xen, driver domain: the NIC driver crashes at 2 s; requests and recovery")

# %% [markdown]
# Each point is the longest wait of the requests a VM began in 50 ms; a gap is a time when it began none. The disk
# VM's request in flight at the crash is reissued once the frontends reconnect. The web VM's clients wait longer
# than the driver domain is down, because the NIC's link renegotiates after the reconnection: a request lost at the
# crash is resent 0.2, 0.6, 1.4, 3.0 and 6.2 s after it was first sent (Linux's 200 ms minimum, doubled each time,
# RFC 6298), and the first resend after the path is back, at 8.2 s, gets through (the point near 2 s at 6.2 s).

# %%
assert dd.loc["web", "client_outage_s"] > dd.loc["web", "unavailable_s"]
web = runs["Xen, driver domain"]["latency"].query("vm == 'web'")
assert abs(web["latency_us"].max() / 1e6 - dd.loc["web", "client_outage_s"]) < 0.01  # the resent request's wait
runs["Xen, driver domain"]["plans"]

# %% [markdown]
# ## 3. The blast radius of every component
#
# Every component of each configuration, crashing and hanging, on a host of three VMs that each use their network
# and their disk: how many VMs end, how many see their I/O stall, how many notice nothing, and the longest a VM's
# service is unavailable. A hang is found by its watchdog (a NIC driver's netdev watchdog resets the adapter in
# every configuration; a stuck kernel is panicked by its lockup detector) or by a health check.

# %%
blast = failures.blast_radius()
blast[["configuration", "component", "fault", "vms_end", "vms_io_stall", "vms_untouched", "max_unavailable_s",
       "max_client_outage_s"]]

# %%
b = blast.set_index(["configuration", "component", "fault"])
assert b.loc[("Xen, driver domain", "nic-driver", "crash"), "vms_end"] == 0
assert b.loc[("Xen, driver domain", "nic-driver", "crash"), "vms_io_stall"] == 3
for name in ("Xen, drivers in dom0", "KVM", "microVM"):
    assert b.loc[(name, "nic-driver", "crash"), "vms_end"] == 3
# a hang of the NIC driver is contained everywhere: its watchdog resets the NIC and nobody ends
assert (blast[(blast["component"] == "nic-driver") & (blast["fault"] == "hang")]["vms_end"] == 0).all()
# a VMM's crash ends its own VM only; the toolstack takes no VM with it
assert b.loc[("microVM", "vmm", "crash"), "vms_end"] == b.loc[("KVM", "vmm", "crash"), "vms_end"] == 1
assert (blast[blast["component"] == "toolstack"]["vms_untouched"] == 3).all()
failure_plots.blast_radius_heatmap(blast)

# %% [markdown]
# ### Recovering a driver domain, with and without a warm spare
#
# Le et al. (NCA 2009) measured the outage a network client sees per NIC driver failure in a Xen driver domain,
# restarted or replaced by a warm spare. The blind file `predictions-le-2009-driver-recovery.csv` could not say: the
# model had no failures then. Now it can, from the recovery's costs (their published results were not looked up).

# %%
hw = kit.load_hardware("skylake-sp-2017")
le = []
for label, spare in (("driver domain restarted", False), ("warm spare driver domain", True)):
    fd = FailureDomains(kit.hypervisor("xen-pv", hw), hw, ["guest"],
                        HostSetup(driver_domain=True, spare_driver_domain=spare), uses={0: ["net"]})
    w = plan(fd, "nic-driver", "crash").vms[0].windows
    le.append({"configuration": label, "network down (s)": max(x.end for x in w), "client outage (s)": client_outage(w)})
le = pd.DataFrame(le).set_index("configuration")
le

# %%
assert le.loc["warm spare driver domain", "network down (s)"] < le.loc["driver domain restarted",
                                                                       "network down (s)"] / 10

# %% [markdown]
# ## 4. Availability over a year
#
# Components fail in proportion to the code they run (`data/tcb.yaml`), drivers five times as often per line as the
# rest (Chou et al., SOSP 2001), a share of the failures as hangs. A Monte Carlo draws the rates, every code size
# and every recovery cost from its plausible range, then each component's failures over a year, with the same draws
# for every configuration; each VM is charged the time its service is unavailable. The guest's own failures are
# left out: the comparison is of what the host adds.

# %%
avail, course = failures.availability(replications=200, seed=24)
pct = {c: avail[c].map("{:.5%}".format) for c in ("availability", "ci_low", "ci_high", "p2_5")}
avail.assign(**pct)[["configuration", "availability", "ci_low", "ci_high", "p2_5", "downtime_min_per_year",
                     "failures_per_year", "vm_ends_per_year", "io_stalls_per_year"]]

# %%
a = avail.set_index("configuration")
assert (a["availability"] > 0.9999).all()
# a driver domain turns the host restarts a driver's failures cause into I/O stalls
assert a.loc["Xen, driver domain", "vm_ends_per_year"] < a.loc["Xen, drivers in dom0", "vm_ends_per_year"]
assert a.loc["Xen, driver domain", "downtime_min_per_year"] < a.loc["Xen, drivers in dom0", "downtime_min_per_year"]
# the microVM's small VMM fails least often of the four
assert a["failures_per_year"].idxmin() == "microVM"
failure_plots.availability_over_time(course)

# %% [markdown]
# ## 5. The trusted computing base
#
# What a guest relies on: the code beneath it (the hypervisor, the host kernel, dom0, which can map any guest's
# memory, and the guest's own VMM), the code on its I/O paths (a driver domain sees its I/O, not its memory), and
# the code that manages it. Sizes are estimates with ranges (`data/tcb.yaml` says where each comes from); Hyper-V's
# and VMware's own code is not published and carries no size.

# %%
tcb = failures.tcb()
tcb[["configuration", "component", "relation", "software", "kloc", "kloc_low", "kloc_high"]]

# %%
totals = failures.tcb_totals(tcb)
t = totals.set_index(["configuration", "relation"])["kloc"]
assert t[("microVM", "beneath")] < t[("KVM", "beneath")] < t[("Xen, drivers in dom0", "beneath")]
assert t[("Xen, driver domain", "beneath")] < t[("Xen, drivers in dom0", "beneath")]  # the drivers moved out
failure_plots.tcb_bars(totals)

# %% [markdown]
# ## 6. The lifecycle
#
# Each operation of a VM's life is phases, each on a resource of the host: the toolstack's CPU (dom0's vCPUs under
# Xen, a host thread otherwise), the guest's own vCPU, the disk, the NIC. The phases follow from the parts: QEMU's
# guest runs SeaBIOS and decompresses its bzImage, Firecracker enters an uncompressed kernel directly; PCI
# enumeration against virtio-mmio devices named on the command line; an emulated UART whose every console byte
# exits to the device model; memory built with a Xen domain, or backed on first touch under KVM.

# %%
boot = lifecycle.boot_time("skylake-sp-2017", ["xen-pv", "xen-hvm", "kvm", "microvm"], memory_mib=512)
boot

# %%
bt = boot.set_index("hypervisor")
assert bt["boot_to_init_s"].idxmin() == "microvm"
assert bt.loc["microvm", "firmware"] == bt.loc["microvm", "decompression"] == 0.0
# the microVM's boot is mostly its console: every byte of the boot log exits to the VMM
assert bt.loc["microvm", "console"] > 0.5 * bt.loc["microvm", "boot_to_init_s"]
lifecycle_plots.boot_phases(boot)

# %% [markdown]
# The microVM's boot rests on a few estimates; each at the low and high end of its range (largest swing first):

# %%
sens = lifecycle.sensitivity("skylake-sp-2017", "microvm", memory_mib=512)
assert sens["constant"].iloc[0] == "CONSOLE_KB"
lifecycle_plots.sensitivity_bars(sens)

# %% [markdown]
# One VM's life under KVM, phase by phase (what `hvkit lifecycle --hardware skylake-sp-2017 --hypervisor kvm` prints):

# %%
life = lifecycle.timeline("skylake-sp-2017", "kvm", ["create", "boot", "pause", "unpause", "snapshot", "restore",
                                                     "shutdown"], memory_mib=512)
lifecycle_plots.lifecycle_timeline(life, by="op", title="A KVM guest's life, by operation")

# %% [markdown]
# ### Operations beside running neighbours
#
# A web server on two CPUs beside a VM created and booted at 1 s and a disk reader paused, snapshotted to disk and
# destroyed (the scenario of `examples/scenario-lifecycle.yaml`, which `hvkit lifecycle --scenario ... --vm fresh`
# prints). Against the same host without the operations, where both other VMs run all along, the web server does
# about as well (its neighbours exist for less of the run); what each operation costs it shows in the latency of
# its requests that began during the operation, against those that began outside every operation. The booting
# guest and the toolstack's host thread take CPU time, but under KVM the web server's vCPU wakes with less virtual
# runtime than either and preempts it (CFS's wake-up preemption), so its requests barely wait.

# %%
scn = kit.Scenario.make(
    name="lifecycle beside a web server", hardware="skylake-sp-2017", hypervisor="kvm", duration=4.0, seed=1,
    host={"pcpus": 2},
    vms=[{"name": "web", "workload": "netperf-rr", "params": {"clients": 4, "think_us": 5000}},
         {"name": "fresh", "workload": "spec-int", "memory_mib": 512},
         {"name": "old", "workload": "fio-randread", "memory_mib": 512, "params": {"queue_depth": 1}}],
    lifecycle=[{"time_s": 1.0, "vm": "fresh", "op": "create"}, {"time_s": 1.0, "vm": "fresh", "op": "boot"},
               {"time_s": 2.0, "vm": "old", "op": "pause"}, {"time_s": 2.5, "vm": "old", "op": "snapshot"},
               {"time_s": 3.0, "vm": "old", "op": "destroy"}])
ops = lifecycle.run_lifecycle(scn)
ops["vms"][["vm", "own_operations", "value", "value_without", "relative_to_without", "latency_p99_us",
            "latency_p99_us_without"]]

# %%
v = ops["vms"].set_index("vm")
assert v.loc["fresh", "relative_to_without"] < 0.8  # it did not exist until its boot was over
assert v.loc["old", "relative_to_without"] < 0.8  # paused at 2 s, then destroyed
near = ops["neighbours"]
near[near["neighbour"] == "web"]

# %%
boot_web = near[(near["op"] == "boot") & (near["neighbour"] == "web")].iloc[0]
# CFS's wake-up preemption: a request during the boot waits little more than one outside it
assert abs(boot_web["p50_during_us"] - boot_web["p50_outside_us"]) <= 0.25 * boot_web["p50_outside_us"]
lifecycle_plots.lifecycle_timeline(ops["timeline"], title="Lifecycle beside a web server (KVM, two CPUs)")

# %% [markdown]
# ## The panel
#
# A fault injected into a running scenario from controls: the platform, the mode, the drivers in a driver domain or
# not (and a warm spare), the component (the list follows the mode's components), crash or hang, the VM of a per-VM
# component, and when. **Run** shows the requests around the fault with the recovery's phases, and each VM's outcome.

# %%
from kit.ui.panels import FaultPanel
FaultPanel(hardware="skylake-sp-2017", hypervisor_name="xen-hvm", driver_domain=True, component="nic-driver")
