# %% [markdown]
# # Xen versus KVM, mechanism by mechanism
#
# The long-running debate: a type-1 hypervisor with a driver domain (Xen, dom0) against a hypervisor inside the
# Linux kernel with QEMU as its device model (KVM); paravirtualization against hardware-assisted virtualization;
# SR-IOV; several VMs. Each section isolates one mechanism and shows the numbers behind the claim.

# %%
import kit
from kit import plots
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # figures as data: JupyterLab renders them, the notebook stays small
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# %% [markdown]
# ## 1. Architecture: where an exit is handled
#
# A null hypercall on ARMv8.0 without VHE (X-Gene): KVM's host kernel runs at EL1, so every exit switches EL1
# worlds and saves and restores the VGIC; Xen answers at EL2. With VHE (Neoverse N1) KVM's host runs at EL2.

# %%
rows = []
for hw in ["xgene-armv8-2014", "neoverse-n1-2019", "sandybridge-ep-2012", "skylake-sp-2017"]:
    for hv in ["kvm", "xen-hvm"]:
        rows.append(kit.microbench(hw, hv, ["hypercall", "irqchip_trap"]))
mb = pd.concat(rows)
mb.pivot_table(index=["hardware", "op"], columns="hypervisor", values="cycles")

# %%
path = kit.microbench("xgene-armv8-2014", "kvm", ["hypercall"]).iloc[0]["path"]
plots.path_waterfall(path, title="KVM/ARM hypercall without VHE: the world switch")

# %% [markdown]
# ## 2. CPU virtualization: PV, HVM, PVH on CPU-bound and kernel-heavy work
#
# CPU-bound code runs natively under every technique except full emulation; system-call-heavy code pays for
# 64-bit PV's syscall bounce through Xen, which is why PVH exists.

# %%
out = []
for wl in ["spec-int", "hackbench"]:
    r = kit.compare("skylake-sp-2017", wl, ["native", "xen-pv", "xen-pvh", "xen-hvm", "kvm", "qemu-tcg"], duration=0.2)
    out.append(r.summary[["workload", "hypervisor", "relative_performance"]])
cpu = pd.concat(out)
cpu.pivot(index="hypervisor", columns="workload", values="relative_performance")

# %%
plots.relative_performance(cpu.assign(error=""), x="workload")

# %% [markdown]
# ## 3. Memory: PV direct paging, shadow and nested paging
#
# Random access with 4 KiB pages misses the TLB on every update: nested paging pays two-dimensional walks, PV and
# shadow paging walk natively. A kernel build updates page tables and switches address spaces constantly: shadow
# paging exits for each, nested paging does not.

# %%
rows = []
for wl in ["random-access", "kernel-build"]:
    for label, hv, mode in [("xen-pv", "xen-pv", {}), ("kvm nested", "kvm", {}), ("kvm shadow", "kvm", {"memory": "shadow"}),
                            ("kvm nested 2M", "kvm", {"guest_page": "2M", "host_page": "2M"})]:
        s = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor=hv, workload=wl, mode=mode, vcpus=2, duration=0.5)).summary
        rows.append({"workload": wl, "mode": label, "relative_performance": s["relative_performance"].iloc[0]})
pd.DataFrame(rows).pivot(index="mode", columns="workload", values="relative_performance")

# %% [markdown]
# ## 4. I/O: split drivers through dom0 against virtio/vhost, and SR-IOV
#
# Request/response networking: every packet crosses the backend (dom0's netback, KVM's vhost worker) unless a
# virtual function is assigned; the breakdown shows the backend's CPU time per transaction.

# %%
io = kit.compare("skylake-sp-2017", "netperf-rr", ["native", "xen-pv", "xen-hvm", "kvm", "kvm-emulated", "kvm-sriov"], duration=0.02)
io.summary[["hypervisor", "value", "relative_performance"]]

# %%
plots.overhead_breakdown(io.breakdown, io.summary)

# %%
plots.latency_cdf(io.latency)

# %% [markdown]
# ## 5. Interrupt delivery
#
# With an assigned NIC, what remains is interrupt delivery: exits for every external interrupt and EOI, or posted
# interrupts with none (ELI's argument, Gordon et al., ASPLOS 2012).

# %%
rows = []
for label, mode in [("exits (injected)", {"interrupts": "injected"}), ("APICv (virtual EOI)", {"interrupts": "apicv"}),
                    ("posted", {"interrupts": "posted"})]:
    r = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor="kvm-sriov", workload="netperf-rr", mode=mode, duration=0.02))
    rows.append({"delivery": label, "relative_performance": r.summary["relative_performance"].iloc[0],
                 "mean latency (us)": r.latency["latency_us"].mean()})
pd.DataFrame(rows)

# %% [markdown]
# ## 6. Several VMs: sharing and scalability
#
# Two VMs of two vCPUs each on two physical CPUs get about half of what one gets alone, under Xen's credit
# scheduler and under CFS; weights divide the CPU in proportion.

# %%
rows = []
for hv in ["xen-hvm", "kvm"]:
    for vms, weights in [(1, None), (2, None), (2, (256, 768))]:
        r = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor=hv, workload="spec-int", vcpus=2, vms=vms,
                                  pcpus=2, weights=weights, duration=1.0), baseline=False)
        for _, v in r.vms.iterrows():
            rows.append({"hypervisor": hv, "vms": vms, "weights": str(weights), "vm": v["vm"], "units": round(v["units"], 2)})
pd.DataFrame(rows)

# %% [markdown]
# ## 7. On x86 and on ARM
#
# The same I/O-bound comparison on the ARM profiles: KVM/ARM's split mode pays its world switch on every exit;
# VHE removes most of it.

# %%
rows = []
for hw in ["xgene-armv8-2014", "neoverse-n1-2019"]:
    r = kit.compare(hw, "netperf-rr", ["native", "xen-hvm", "kvm"], duration=0.02)
    e = r.exits.groupby("run")[["count", "cycles"]].sum()
    s = r.summary.set_index("run")
    s["cycles per exit"] = e["cycles"] / e["count"]
    rows.append(s[["hardware", "hypervisor", "relative_performance", "cycles per exit"]])
pd.concat(rows)

# %% [markdown]
# ## 8. Isolation: a latency-sensitive guest next to a noisy neighbour
#
# A netperf-rr guest shares two physical CPUs with a neighbour VM (two vCPUs) running a CPU hog (hackbench), disk
# reads (fio) or a bulk transfer (ttcp). The neighbour is not measured; what it does to the guest's tail latency is.
# Under Xen the neighbour and dom0 compete through the credit scheduler (boost lets the waking guest preempt); under
# KVM through CFS.

# %%
rows = []
for hv in ["xen-hvm", "kvm"]:
    for nb in [None, "hackbench", "fio-randread", "ttcp"]:
        r = kit.run(kit.Spec.make(hardware="skylake-sp-2017", hypervisor=hv, workload="netperf-rr", pcpus=2,
                                  neighbor=nb, neighbor_vcpus=2, duration=0.02), baseline=False)
        lat = r.latency["latency_us"]
        rows.append({"hypervisor": hv, "neighbour": nb or "(none)", "trans/s": r.summary["value"].iloc[0],
                     "p50 (us)": lat.quantile(0.5), "p99 (us)": lat.quantile(0.99)})
pd.DataFrame(rows)
