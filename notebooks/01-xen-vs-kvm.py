# %% [markdown]
# # Xen versus KVM, mechanism by mechanism
#
# The long-running debate: a type-1 hypervisor with a driver domain (Xen, dom0) against a hypervisor inside the
# Linux kernel with QEMU as its device model (KVM); paravirtualization against hardware-assisted virtualization;
# SR-IOV; several VMs. Each section isolates one mechanism and shows the numbers behind the claim.

# %%
import kit
from kit import plots, studies
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
mb = studies.microbench_matrix(["xgene-armv8-2014", "neoverse-n1-2019", "sandybridge-ep-2012", "skylake-sp-2017"],
                              ["kvm", "xen-hvm"], ["hypercall", "irqchip_trap"])
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
cpu = studies.compare_grid("skylake-sp-2017", ["native", "xen-pv", "xen-pvh", "xen-hvm", "kvm", "qemu-tcg"],
                           ["spec-int", "hackbench"], duration=0.2)[["workload", "hypervisor", "relative_performance"]]
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
paging = {"xen-pv": {"hypervisor": "xen-pv"}, "kvm nested": {"hypervisor": "kvm"},
          "kvm shadow": {"hypervisor": "kvm", "mode": {"memory": "shadow"}},
          "kvm nested 2M": {"hypervisor": "kvm", "mode": {"guest_page": "2M", "host_page": "2M"}}}
mem = studies.run_variants(paging, workloads=["random-access", "kernel-build"], label="mode",
                           hardware="skylake-sp-2017", vcpus=2, duration=0.5)
mem.pivot(index="mode", columns="workload", values="relative_performance")

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
delivery = {"exits (injected)": {"mode": {"interrupts": "injected"}},
            "APICv (virtual EOI)": {"mode": {"interrupts": "apicv"}},
            "posted": {"mode": {"interrupts": "posted"}}}
irq = studies.run_variants(delivery, label="delivery", latency=True, hardware="skylake-sp-2017",
                           hypervisor="kvm-sriov", workload="netperf-rr", duration=0.02)
irq[["delivery", "relative_performance", "latency_mean_us"]].rename(columns={"latency_mean_us": "mean latency (us)"})

# %% [markdown]
# ## 6. Several VMs: sharing and scalability
#
# Two VMs of two vCPUs each on two physical CPUs get about half of what one gets alone, under Xen's credit
# scheduler and under CFS; weights divide the CPU in proportion.

# %%
shares = studies.vm_shares("skylake-sp-2017", "spec-int", ["xen-hvm", "kvm"], [(1, None), (2, None), (2, (256, 768))],
                           vcpus=2, pcpus=2, duration=1.0)
shares[["hypervisor", "vms", "weights", "vm", "units"]].round({"units": 2})

# %% [markdown]
# ## 7. On x86 and on ARM
#
# The same I/O-bound comparison on the ARM profiles: KVM/ARM's split mode pays its world switch on every exit;
# VHE removes most of it.

# %%
arm = studies.compare_grid(["xgene-armv8-2014", "neoverse-n1-2019"], ["native", "xen-hvm", "kvm"], "netperf-rr",
                           duration=0.02).set_index("run")
arm["cycles per exit"] = arm["exit_cycles"] / arm["exits"]
arm[["hardware", "hypervisor", "relative_performance", "cycles per exit"]]

# %% [markdown]
# ## 8. Isolation: a latency-sensitive guest next to a noisy neighbour
#
# A netperf-rr guest shares two physical CPUs with a neighbour VM (two vCPUs) running a CPU hog (hackbench), disk
# reads (fio) or a bulk transfer (ttcp). The neighbour is not measured; what it does to the guest's tail latency is.
# Under Xen the neighbour and dom0 compete through the credit scheduler (boost lets the waking guest preempt); under
# KVM through CFS. A request still under way when the run ends is right-censored: it is not in p50 and p99 (which
# are over finished requests), but its elapsed time counts in the max, as a lower bound.

# %%
iso = studies.neighbour_interference("skylake-sp-2017", "netperf-rr", ["xen-hvm", "kvm"],
                                     [None, "hackbench", "fio-randread", "ttcp"], pcpus=2, neighbor_vcpus=2,
                                     duration=0.02)
iso[["hypervisor", "neighbour", "value", "latency_p50_us", "latency_p99_us", "latency_max_us", "latency_censored"]].rename(
    columns={"value": "trans/s", "latency_p50_us": "p50 (us)", "latency_p99_us": "p99 (us)",
             "latency_max_us": "max (us)", "latency_censored": "unfinished at the end"})
