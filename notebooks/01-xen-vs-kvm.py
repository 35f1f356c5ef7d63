# %% [markdown]
# # Xen versus KVM, mechanism by mechanism
#
# The long-running debate: a type-1 hypervisor with a driver domain (Xen, dom0) against a hypervisor inside the
# Linux kernel with QEMU as its device model (KVM); paravirtualization against hardware-assisted virtualization;
# SR-IOV; several VMs. Each section isolates one mechanism and shows the numbers behind the claim.

# %%
import kit
from kit import studies
from kit.ui import plots
import pandas as pd
from kit.ui.export import notebook_renderer
notebook_renderer()  # figures as plotly JSON (what nbval checks), plus a PNG for GitHub when committed
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

# %%
cyc = mb.set_index(["hardware", "op", "hypervisor"])["cycles"]
vhe_path = kit.microbench("neoverse-n1-2019", "kvm", ["hypercall"]).iloc[0]["path"]
assert any(st["step"] == "VGIC state save and restore" for st in path)  # split mode switches EL1 worlds
assert not any("EL1 system registers" in st["step"] or "VGIC" in st["step"] for st in vhe_path)  # VHE does not
assert cyc["xgene-armv8-2014", "hypercall", "kvm"] > 10 * cyc["xgene-armv8-2014", "hypercall", "xen-hvm"]
assert cyc["neoverse-n1-2019", "hypercall", "kvm"] < 3 * cyc["neoverse-n1-2019", "hypercall", "xen-hvm"]

# %% [markdown]
# ## 2. CPU virtualization: PV, HVM, PVH on CPU-bound and kernel-heavy work
#
# CPU-bound code runs at native speed under every technique except full emulation, apart from its TLB misses: under
# nested paging each one is a two-dimensional walk (a few percent for SPEC CINT's miss rate), under PV direct paging
# a native walk. System-call-heavy code (hackbench)
# pays under every mode, for different mechanisms: 64-bit PV bounces each system call through Xen (hypervisor time)
# and switches page tables on the way in and out (so its TLB refills more), while PVH, HVM and KVM take system calls
# natively and pay instead for exits on the IPIs that wake the other side of each pipe. This is why PVH exists:
# PV's interfaces without PV's system-call path.

# %%
modes = ["native", "xen-pv", "xen-pvh", "xen-hvm", "kvm", "qemu-tcg"]
# a SPEC CINT unit takes about a second under emulation: 2 s lets every mode finish units (a closed form, no cost);
# each mode's 90% prediction interval comes from the plausible ranges of the parameters it reads (model uncertainty)
cpu = pd.concat([studies.compare_grid("skylake-sp-2017", modes, ["spec-int"], duration=2.0, model_uncertainty=True),
                 studies.compare_grid("skylake-sp-2017", modes, ["hackbench"], duration=0.2, model_uncertainty=True)])
cpu.pivot(index="hypervisor", columns="workload", values="relative_performance")

# %% [markdown]
# Both workloads are closed forms here, exact given the parameters (no sampling noise): the whiskers are the 90%
# prediction intervals from the parameters' plausible ranges, and each bar's hover text says which interval it has.

# %%
plots.relative_performance(cpu, x="workload")

# %%
rel = cpu.pivot(index="hypervisor", columns="workload", values="relative_performance")
assert (rel["spec-int"].drop(["qemu-tcg"]) > 0.95).all() and rel.loc["qemu-tcg", "spec-int"] < 0.5
assert rel.loc["xen-pv", "spec-int"] > rel.loc["xen-hvm", "spec-int"]  # native walks against 2-D walks
assert (rel["hackbench"].drop(["native", "qemu-tcg"]) < 0.95).all()
hb = kit.compare("skylake-sp-2017", "hackbench", ["xen-pv", "xen-pvh"], duration=0.2)
t = hb.breakdown[hb.breakdown["entity"] == "vcpu"].pivot_table(index="category", columns="scenario", values="seconds",
                                                                aggfunc="sum", fill_value=0.0)
assert t.loc["hypervisor", "xen-pv"] > 5 * t.loc["hypervisor", "xen-pvh"]  # the syscall bounce
assert t.loc["page walks", "xen-pv"] > t.loc["page walks", "xen-pvh"]  # PV's page-table switch per system call
assert any(c.startswith("exit: APIC") for c in t.index[t["xen-pvh"] > 0]) and not any(
    c.startswith("exit:") for c in t.index[t["xen-pv"] > 0])
assert rel.loc["xen-pvh", "hackbench"] > rel.loc["xen-pv", "hackbench"]
t.loc[[c for c in t.index if c in ("hypervisor", "page walks") or c.startswith("exit:")]].round(4)

# %% [markdown]
# ## 3. Memory: PV direct paging, shadow and nested paging
#
# Random access with 4 KiB guest pages misses the TLB on every update: nested paging pays two-dimensional walks, PV
# and shadow paging walk natively. KVM backs guest memory with transparent huge pages by default, which shortens the
# host dimension of each walk; 2 MiB pages in the guest too shorten both. A kernel build updates page tables and
# switches address spaces constantly: shadow paging exits for each, nested paging does not. Here the table keeps
# 4 KiB pages natively and in every guest (`workload.thp_share=0`: transparent huge pages off for it), to show the
# walks themselves; the default of a Linux of Skylake's era follows.

# %%
paging = {"xen-pv": {"hypervisor": "xen-pv"},
          "kvm nested, 4K host": {"hypervisor": "kvm", "mode": {"host_page": "4K"}},
          "kvm nested": {"hypervisor": "kvm"},
          "kvm shadow": {"hypervisor": "kvm", "mode": {"memory": "shadow"}},
          "kvm nested 2M": {"hypervisor": "kvm", "mode": {"guest_page": "2M", "host_page": "2M"}}}
mem = studies.run_variants(paging, workloads=["random-access", "kernel-build"], label="mode",
                           hardware="skylake-sp-2017", vcpus=2, duration=0.5, params={"thp_share": 0})
mem.pivot(index="mode", columns="workload", values="relative_performance")

# %%
m = mem.pivot(index="mode", columns="workload", values="relative_performance")
assert m.loc["kvm nested", "random-access"] < 0.95 < 0.99 < m.loc[["xen-pv", "kvm shadow"], "random-access"].min()
assert (m.loc["kvm nested, 4K host", "random-access"] < m.loc["kvm nested", "random-access"]
        < m.loc["kvm nested 2M", "random-access"])  # THP shortens the host dimension; 2M guest pages both
assert m.loc["kvm shadow", "kernel-build"] < m.loc["kvm nested", "kernel-build"]

# %% [markdown]
# By default a Linux of 2011 or later backs the table, one large anonymous region, with transparent huge pages:
# natively, so the baseline's walks are short too, and in an HVM guest, whose walk then stops a level early in the
# guest dimension. A Xen PV guest cannot map large pages (Xen hides PSE from it), so it keeps 4 KiB walks against a
# native baseline that no longer has them, and falls behind nested paging.

# %%
thp = studies.run_variants({"xen-pv": {"hypervisor": "xen-pv"}, "kvm nested": {"hypervisor": "kvm"}},
                           label="mode", hardware="skylake-sp-2017", workload="random-access", vcpus=2,
                           duration=0.5).set_index("mode")["relative_performance"]
assert thp["xen-pv"] < thp["kvm nested"] and thp["kvm nested"] > m.loc["kvm nested", "random-access"]
thp.round(3)

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

# %%
cats = io.breakdown.groupby("scenario")["category"].agg(set)
assert not any(c.startswith("backend") for c in cats["kvm-sriov"]) and "backend: dom0" in cats["xen-pv"]
assert "backend: vhost" in cats["kvm"]
r = io.summary.set_index("hypervisor")["relative_performance"]
assert r.drop("native").idxmax() == "kvm-sriov" and r.drop("native").idxmin() == "kvm-emulated"

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

# %%
d = irq.set_index("delivery")
assert d["relative_performance"].is_monotonic_increasing and d["latency_mean_us"].is_monotonic_decreasing

# %% [markdown]
# ## 6. Several VMs: sharing and scalability
#
# Two VMs of two vCPUs each on two physical CPUs, under Xen's credit scheduler and under CFS: each gets about half of
# what one gets alone, and weights of 256 and 768 divide the CPUs about one to three.

# %%
shares = studies.vm_shares("skylake-sp-2017", "spec-int", ["xen-hvm", "kvm"], [(1, None), (2, None), (2, (256, 768))],
                           vcpus=2, pcpus=2, duration=1.0)
shares[["hypervisor", "vms", "weights", "vm", "units"]].round({"units": 2})

# %%
for hv, g in shares.groupby("hypervisor"):
    alone = g[g["vms"] == 1]["units"].iloc[0]
    even = g[(g["vms"] == 2) & g["weights"].isna()]["units"]
    w = g[g["weights"].notna()].set_index("vm")["units"]
    assert ((even / (alone / 2) - 1).abs() < 0.1).all(), (hv, even.tolist(), alone)
    assert 2.5 < w[1] / w[0] < 3.5, (hv, w.tolist())
    print(f"{hv}: alone {alone:.1f} units; two VMs {even.iloc[0]:.1f} and {even.iloc[1]:.1f}; "
          f"weights 256:768 give 1:{w[1] / w[0]:.2f}")

# %% [markdown]
# ## 7. On x86 and on ARM
#
# The same I/O-bound comparison on the ARM profiles: KVM/ARM's split mode pays its world switch on every trap (its
# notification of the backend, its interrupts); VHE removes most of it. Xen on ARM traps cheaply, but a guest vCPU
# that waits for its reply blocks (WFI), and Xen switches the physical CPU to dom0 or the idle vCPU and back, with a
# VM's full EL1, VGIC and timer state each way: halting is Xen's expensive exit, the traps are KVM's.

# %%
rows = []
for hw in ["xgene-armv8-2014", "neoverse-n1-2019"]:
    r = kit.compare(hw, "netperf-rr", ["native", "xen-hvm", "kvm"], duration=0.02)
    for _, s in r.summary.iterrows():
        e = r.exits[r.exits["run"] == s["run"]]
        halt = e["reason"].isin(["WFI", "HLT"])
        rows.append({"hardware": hw, "hypervisor": s["hypervisor"], "relative": s["relative_performance"],
                     "cycles per trap": e[~halt]["cycles"].sum() / max(e[~halt]["count"].sum(), 1e-12),
                     "cycles per halt": e[halt]["cycles"].sum() / max(e[halt]["count"].sum(), 1e-12)})
arm = pd.DataFrame(rows)
arm[arm["hypervisor"] != "native"].round(3)

# %%
cpt = arm.set_index(["hardware", "hypervisor"])["cycles per trap"]
cph = arm.set_index(["hardware", "hypervisor"])["cycles per halt"]
assert cpt["xgene-armv8-2014", "kvm"] > 4 * cpt["xgene-armv8-2014", "xen-hvm"]  # the world switch on every trap
assert cpt["neoverse-n1-2019", "kvm"] < cpt["xgene-armv8-2014", "kvm"] / 5  # VHE removes most of it
assert cph["xgene-armv8-2014", "xen-hvm"] > cph["xgene-armv8-2014", "kvm"]  # Xen switches VMs when a vCPU blocks

# %% [markdown]
# ## 8. Isolation: a latency-sensitive guest next to a noisy neighbour
#
# A netperf-rr guest shares two physical CPUs with a neighbour VM (two vCPUs) running a CPU hog (hackbench), disk
# reads (fio) or a bulk transfer (ttcp). The neighbour is not measured; what it does to the guest's tail latency is.
# Under Xen the neighbour and dom0 compete through the credit scheduler: boost puts the waking guest first, but
# credit's rate limit (`sched_ratelimit_us`, 1 ms by default since Xen 4.2) lets a vCPU that has run less than a
# millisecond keep its CPU, so a request that arrives while the hog runs waits for the rest of that millisecond,
# and the guest's p99 approaches a millisecond. Under KVM, CFS's wake-up preemption lets the guest run at once: a
# CPU hog does not make it queue, but every such wake-up is a switch between VMs (the host's switch path and the
# reload of the guest's caches and TLB), a few microseconds per request. The sentences below the table are
# computed from it. A request still under way when the run ends
# is right-censored: it is not in p50 and p99 (which are over finished requests), but its elapsed time counts in the
# max, as a lower bound.

# %%
iso = studies.neighbour_interference("skylake-sp-2017", "netperf-rr", ["xen-hvm", "kvm"],
                                     [None, "hackbench", "fio-randread", "ttcp"], pcpus=2, neighbor_vcpus=2,
                                     duration=0.02)
iso[["hypervisor", "neighbour", "value", "latency_p50_us", "latency_p99_us", "latency_max_us", "latency_censored"]].rename(
    columns={"value": "trans/s", "latency_p50_us": "p50 (us)", "latency_p99_us": "p99 (us)",
             "latency_max_us": "max (us)", "latency_censored": "unfinished at the end"})

# %%
base_p99 = iso[iso["neighbour"] == "(none)"].set_index("hypervisor")["latency_p99_us"]
for hv, g in iso[iso["neighbour"] != "(none)"].groupby("hypervisor", sort=False):
    g = g.assign(ratio=g["latency_p99_us"] / base_p99[hv])
    worst = g.loc[g["ratio"].idxmax()]
    print(f"{hv}: the worst neighbour is {worst['neighbour']} (p99 {worst['latency_p99_us']:.0f} us, "
          f"{worst['ratio']:.1f}x alone); a hackbench neighbour changes p99 by "
          f"{g.set_index('neighbour').loc['hackbench', 'ratio'] - 1:+.0%}")
    hog = g.set_index("neighbour").loc["hackbench"]
    if hv == "kvm":  # CFS's wake-up preemption: no queueing behind the hog, a VM switch and a reload per wake-up
        assert 1.0 < hog["ratio"] < 1.3
    else:  # credit's 1 ms rate limit: the waking guest waits for the hog's current millisecond
        assert 300 < hog["latency_p99_us"] < 1000 + 2 * base_p99[hv]


# %% [markdown]
# ## 9. Containers as the reference point
#
# Felter et al. (ISPASS 2015) asked what a VM costs against a container, on a two-socket Sandy Bridge server. A
# container runs on the native CPU and memory paths, so CPU- and memory-bound work runs as on bare metal; what it
# adds is on its network path: a veth pair and the host's bridge, and with Docker's port mapping conntrack and NAT
# on every packet. Host networking (`--net=host`) removes all of it.

# %%
levels = studies.compare_grid("sandybridge-ep-2665-2012", ["native", "container-host", "container-nat", "kvm"],
                              ["random-access", "netperf-rr", "redis"], duration=0.05)
levels.pivot(index="hypervisor", columns="workload", values="relative_performance").loc[
    ["native", "container-host", "container-nat", "kvm"]]

# %%
rel = levels.set_index(["hypervisor", "workload"])["relative_performance"]
assert rel["container-host", "netperf-rr"] == rel["container-nat", "random-access"] == 1.0
assert rel["kvm", "netperf-rr"] < rel["container-nat", "netperf-rr"] < 1.0
plots.relative_performance(levels.assign(error=""), x="workload")

# %% [markdown]
# ## 10. A hypervisor inside a VM
#
# Nested virtualization (the Turtles project, OSDI 2010): a guest hypervisor (L1) runs its guest (L2) through the
# real one (L0). Every exit of L2 goes to L0, which reflects it into L1; L1's handler then traps to L0 on each
# VMREAD and VMWRITE unless the CPU shadows the VMCS (Haswell onwards), and on its VMRESUME. A CPUID costs a
# handful of exits instead of one.

# %%
nest = studies.microbench_matrix(["sandybridge-ep-2012", "skylake-sp-2017"], ["kvm", "kvm-on-kvm"], ["cpuid", "ipi"])
nest.pivot_table(index=["hardware", "op"], columns="hypervisor", values="cycles")

# %%
plots.path_waterfall(kit.microbench("sandybridge-ep-2012", "kvm-on-kvm", "cpuid").iloc[0]["path"],
                     title="CPUID in a nested guest on Sandy Bridge: reflected, with L1's VMCS accesses trapping")

# %%
nested = studies.compare_grid("sandybridge-ep-2012", ["native", "kvm", "kvm-on-kvm"], ["specjbb", "netperf-rr"],
                              duration=0.05)
nested.pivot(index="hypervisor", columns="workload", values="relative_performance")

# %% [markdown]
# ## The panel
#
# The comparisons above behind controls: pick a profile, a workload and the modes, press **Run**, and switch between
# relative performance, the time breakdown, exits and latency. Run the cell (Shift+Enter) to get the live panel; a
# saved notebook shows only its text form.

# %%
from kit.ui.panels import ComparePanel
ComparePanel(hardware="skylake-sp-2017", workload="netperf-rr", hypervisors=("native", "xen-pv", "xen-hvm", "kvm"))
